"""The data home (THIDUA_HOME): made on first use, so `thidua init` can say it made it."""

from __future__ import annotations

from pathlib import Path

from bot.core.db import sqlite_path
from bot.core.settings import Settings

_created: set[Path] = set()


def prepare(settings: Settings) -> bool:
    """Make the data home and the SQLite file's folder if missing; True if the home was
    missing or empty before (this process made it)."""
    home = settings.home
    fresh = not home.exists() or not any(home.iterdir())
    home.mkdir(parents=True, exist_ok=True)
    database = sqlite_path(settings.database_url)
    if database is not None and database.parent.is_relative_to(home):
        database.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        _created.add(home)
    return home in _created


def created(settings: Settings) -> bool:
    """Was the data home made by this process?"""
    return settings.home in _created

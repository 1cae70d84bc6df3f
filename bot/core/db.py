"""The database: one engine per URL, short sessions, Alembic migrations run from the package."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

from bot.core import sqlite_writes
from bot.core.settings import get_settings

log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we ship)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return normalise_url(url).startswith("sqlite")


def shown(url: str) -> str:
    """The URL as a log line or a person may see it: no password."""
    return sa.make_url(normalise_url(url)).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The SQLite file of `url` (None: PostgreSQL, or in memory)."""
    made = sa.make_url(normalise_url(url))
    if not made.drivername.startswith("sqlite") or made.database in (None, "", ":memory:"):
        return None
    return Path(made.database)


@cache
def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # The process's writers queue for one lock instead of SQLite's sleeping busy handler.
        factory = sqlite_writes.connection_class(sqlite_writes.WriterLock(sqlite_path(url)))
        args = {"timeout": 30, "check_same_thread": False, "factory": factory}
        eng = sa.create_engine(url, connect_args=args)

        @sa.event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crash of the bot loses nothing committed; only a power cut may
            # lose the last transactions, never corrupt the file. Saves an fsync per turn.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return eng
    return sa.create_engine(url, pool_pre_ping=True)


def engine() -> Engine:
    settings = get_settings()
    if settings.database_url not in _announced:
        # Once per store and process: which database and data home this command works on.
        _announced.add(settings.database_url)
        log.info("database %s (data home %s)", shown(settings.database_url), settings.home)
    return engine_for(settings.database_url)


_announced: set[str] = set()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    with Session(engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("bot.core").joinpath("migrations")))
    cfg.attributes["url"] = normalise_url(url or get_settings().database_url)
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(url), "head")

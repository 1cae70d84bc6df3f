"""Settings fail fast with one line naming the variable; the clock honours THIDUA_NOW."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from bot.core import clock
from bot.core.settings import SettingsError, get_settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("THIDUA_NOW", "hôm qua"),
        ("THIDUA_LANG", "fr"),
        ("THIDUA_LISTEN", "no-port"),
        ("TELEGRAM_RATE", "-1"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line(name, value):
    env = {**os.environ, name: value}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "calendar"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{name}: "), done.stderr


def test_settings_error_names_the_variable(monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "x")
    with pytest.raises(SettingsError, match=r"^THIDUA_NOW: "):
        get_settings()


def test_thidua_now_starts_the_clock_and_it_runs_on(monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-07-14T07:59:00")  # no offset: Vietnam time
    start = get_settings().now
    assert start == dt.datetime(2022, 7, 14, 0, 59, tzinfo=dt.UTC)
    clock.start_at(start)
    first = clock.now()
    assert first.tzinfo is not None and dt.timedelta(0) <= first - start < dt.timedelta(seconds=5)
    assert clock.today() == dt.date(2022, 7, 14)
    assert clock.now() >= first


def test_tokens_are_secret(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:SECRET")
    settings = get_settings()
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings.model_dump())
    assert settings.telegram_bot_token.get_secret_value() == "123:SECRET"

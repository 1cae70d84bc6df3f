"""Logging for every `thidua` command: text or one JSON object a line, the level from settings,
third-party chatter (APScheduler's job list, HTTP request lines) only at DEBUG, and every
registered token redacted from what is written."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TextIO

from bot.core.redact import redact
from bot.core.settings import Settings

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Loggers of libraries whose INFO lines say nothing an office needs (APScheduler lists every
#: job it adds, httpx every request): shown with THIDUA_LOG_LEVEL=DEBUG only.
CHATTY = ("apscheduler", "httpx", "httpcore", "alembic.runtime", "aiohttp.access")


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: at (UTC, ISO 8601), level, logger, message[, exc]."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


#: A secret ballot's button data (handlers/ballot.py): a library's DEBUG line (the Telegram
#: library logs every request and update) that carries it also names the voter's chat.
SECRET_DATA = "flow:ballot:"


def no_ballots(record: logging.LogRecord) -> bool:
    """Drop a line that would show a ballot question or answer with its chat."""
    return SECRET_DATA not in record.getMessage()


class _Ours(logging.StreamHandler):
    """The handler `configure` installs (so a second call replaces, never doubles, it)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.addFilter(no_ballots)


def configure(settings: Settings) -> None:
    """Set the root logger up from THIDUA_LOG_FORMAT and THIDUA_LOG_LEVEL.

    Like `logging.basicConfig`, a host that already has handlers on the root (pytest) keeps
    them; only the chatty loggers are quieted then."""
    level = logging.getLevelName(settings.log_level.upper())
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _Ours)]
    if ours or not root.handlers:
        handler = ours[0] if ours else _Ours(sys.stderr)
        handler.setFormatter(
            JsonFormatter() if settings.log_format == "json" else TextFormatter(TEXT)
        )
        if not ours:
            root.addHandler(handler)
        root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )

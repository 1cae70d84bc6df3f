"""What every channel runner offers the app, and how sending can fail.

A runner receives updates (polling or webhook), turns them into `Incoming`, awaits the
handlers and renders the replies. For pushes it offers `send(chat_id, text)`, which raises one
of the `SendError`s below so the delivery worker can decide: wait, retry, or give up.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from aiohttp import web


class SendError(Exception):
    """Sending failed; subclasses say what to do about it."""


class RetryAfter(SendError):
    """Rate limited: try again after `seconds` (Telegram 429 retry_after)."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {seconds}s")
        self.seconds = seconds


class Transient(SendError):
    """5xx, network: retry with backoff."""


class Unreachable(SendError):
    """The person blocked the bot or the chat does not exist: do not retry."""


class Paused(SendError):
    """The channel cannot send until `until` (Zalo's monthly quota used up)."""

    def __init__(self, until: dt.datetime, detail: str = "") -> None:
        super().__init__(detail or f"paused until {until.isoformat()}")
        self.until = until


class Runner(Protocol):
    name: str

    async def start(self, web_app: web.Application | None) -> None:
        """Begin receiving: add webhook routes to `web_app`, or start polling."""

    async def stop(self) -> None:
        """Finish the update in hand and stop."""

    async def send(self, chat_id: str, text: str) -> None:
        """Send one plain-text push; raise a `SendError` on failure."""

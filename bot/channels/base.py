"""What every channel runner offers the app, and how sending can fail.

A runner receives updates (polling or webhook), turns them into `Incoming`, awaits the
handlers and renders the replies. For pushes it offers `send(chat_id, text)`, which raises one
of the `SendError`s below so the delivery worker can decide: wait, retry, or give up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from aiohttp import web

T = TypeVar("T")

# The handlers are synchronous (database work). Two threads run them for every channel: enough
# that a slow turn (a big export) does not stop the others, few enough that turns do not fight
# over the GIL and SQLite's single writer (4-6 threads cost about a third more CPU per update:
# benchmarks/README.md, "Telegram inbound").
_HANDLER_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="thidua-handler")


async def in_handler_thread(work: Callable[..., T], *args: object) -> T:
    """Run blocking handler work off the event loop, on the handlers' threads."""
    return await asyncio.get_running_loop().run_in_executor(_HANDLER_THREADS, work, *args)


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
    """The person blocked the bot or the chat does not exist: do not retry. `reason` is what
    the clerk sees on the identity ("blocked"; by default the platform's words)."""

    def __init__(self, detail: str, reason: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason or detail


class Paused(SendError):
    """The channel cannot send until `until` (Zalo's monthly quota used up)."""

    def __init__(self, until: dt.datetime, detail: str = "") -> None:
        super().__init__(detail or f"paused until {until.isoformat()}")
        self.until = until


class Runner(Protocol):
    name: str

    async def start(self, web_app: web.Application | None, *, poll: bool = True) -> None:
        """Begin receiving: add webhook routes to `web_app`, or start polling if `poll`."""

    async def start_polling(self) -> None:
        """Poll from now on (this process became the one that polls); no-op by webhook."""

    async def stop_polling(self) -> None:
        """Stop polling (another process polls now)."""

    async def stop(self) -> None:
        """Finish the update in hand and stop."""

    async def start_sending(self) -> None:
        """Only send, not receive (the delivery process): open what `send` needs."""

    async def stop_sending(self) -> None:
        """Close what `start_sending` opened."""

    async def send(self, chat_id: str, text: str) -> None:
        """Send one plain-text push; raise a `SendError` on failure."""


def webhook_secret(token: str) -> str:
    """The webhook secret when none is configured: derived from the bot token, so every process
    behind a load balancer registers and checks the same one (a random one each would let the
    last to start refuse the others' requests). Whoever knows it knows the token already."""
    return hmac.new(token.encode(), b"thidua webhook secret", hashlib.sha256).hexdigest()

"""Pacing: how fast a channel may send, and the slots that keep a worker to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from bot.core.settings import Settings

ZALO_RATE = 5.0  # msg/s: Zalo publishes no rate; it is quota-bound, so stay gentle
DEFAULT_RATE = 10.0
#: What is left of a channel's global rate for replies to people (see bot/delivery/worker.py):
#: 1 % of it, at least 3 msg/s (three people writing at once, each answered at once), at most a
#: quarter. Telegram at 30/s: pushes go at 27/s; at 300/s (paid broadcasts allow up to 1,000)
#: at 297/s. More would waste what pushes need (a 10,000-person push at 27/s takes six
#: minutes); less would let a busy conversation hit the limit, and wait out a 429.
REPLY_SHARE = 0.01
REPLY_MIN = 3.0
REPLY_MAX_SHARE = 0.25
CATCH_UP = 0.1  # s of missed slots the pacer may still use


def channel_rate(channel: str, settings: Settings) -> float:
    return {"telegram": settings.telegram_rate, "zalo": ZALO_RATE}.get(channel, DEFAULT_RATE)


class Pacer:
    """Sending slots at `rate` a second: evenly spaced, and never more than `rate` in any one
    second (a stalled loop that catches up must not burst: the platforms count sliding one-second
    windows). `hold` stops the slots a while; `refund` gives back the slot of an attempt the
    platform refused (a 429 or a 5xx delivers nothing, and is not counted against the limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.limit = max(1, int(rate))
        self._next = 0.0
        self._hold_until = 0.0
        self._window: deque[float] = deque()  # when the slots of the last second were taken

    async def acquire(self) -> float:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            # Slots missed while every send was busy may be caught up a little (the window
            # below still caps any second at `rate`); beyond CATCH_UP they are gone.
            slot = max(now - CATCH_UP, self._next, self._hold_until)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
                now = loop.time()
            if now < self._hold_until:
                continue
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.limit:
                self._next = max(self._next, self._window[0] + 1.0)
                continue
            self._window.append(now)
            return now

    def refund(self, taken: float) -> None:
        with contextlib.suppress(ValueError):
            self._window.remove(taken)
            self._next -= self.interval

    def hold(self, seconds: float) -> None:
        self._hold_until = max(self._hold_until, asyncio.get_running_loop().time() + seconds)


def broadcast_rate(rate: float) -> float:
    """The share of a channel's rate the outbox may use: the rest is the replies' reserve."""
    return rate - min(rate * REPLY_MAX_SHARE, max(rate * REPLY_SHARE, REPLY_MIN))

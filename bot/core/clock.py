"""The one clock every part of the bot reads.

With THIDUA_NOW set, time starts at that instant when the process starts and runs on from
there, so a demo or a test can live on 14/07/2022 at 07:59 and watch the 08:00 push go out.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from bot.core.settings import TIMEZONE

LOCAL = ZoneInfo(TIMEZONE)

#: Where the clock started: (that instant, `time.monotonic()` then). The monotonic clock is the
#: machine's, so a child process given the origin reads the very same time.
Origin = tuple[dt.datetime, float]
_origin: Origin | None = None


def start_at(instant: dt.datetime | None) -> None:
    """Make the clock start at `instant` (None: the real time)."""
    global _origin
    _origin = (instant.astimezone(dt.UTC), time.monotonic()) if instant else None


def origin() -> Origin | None:
    """This process's clock, to hand to a child process (None: the real time)."""
    return _origin


def resume(given: Origin | None) -> None:
    """Run on the clock of the process that gave `given` (see `origin`)."""
    global _origin
    _origin = given


def now() -> dt.datetime:
    """The current instant, UTC, timezone-aware."""
    if _origin is None:
        return dt.datetime.now(dt.UTC)
    start, mono = _origin
    return start + dt.timedelta(seconds=time.monotonic() - mono)


def local_now() -> dt.datetime:
    return now().astimezone(LOCAL)


def today() -> dt.date:
    """Today's date in Vietnam."""
    return local_now().date()

"""The scheduler: turns the campaign calendar into outbox rows on time, once.

`Scheduler(settings, channels, wake=..., lead=..., follow=...)` is built by the app
(bot/app.py), which hands it what delivery offers: `wake` (rows were just queued), `lead` (this
process became the pushes leader) and `follow` (it lost the lock). How rows are sent is not the
scheduler's business. At start-up it:

1. takes the leader lock (PostgreSQL: `pg_try_advisory_lock` on a connection of its own, so of
   several `thidua run` on one database, on any number of machines, exactly one expands and
   sends pushes; the lock ends with that connection: at once when the process dies, within
   `KEEPALIVE` seconds when its machine does. Each follower's tick tries it again, so a new
   leader is there within a tick. SQLite: a lock file next to the database, and a second
   process is told, in the log, that SQLite means one process);
2. catches up: a push due in the past is expanded late if it is within `THIDUA_PUSH_GRACE` (and
   the day it announces has not ended), otherwise recorded as skipped, with a log line;
3. starts APScheduler (AsyncIOScheduler, Asia/Ho_Chi_Minh) with one DateTrigger job per future
   push (job id = the push key) and a periodic tick.

Jobs carry ids only and do nothing harmful when run twice: the `push_run` table, not the
scheduler's memory, says what was expanded, so a job that fires again, a restart, or a second
process finds the row and moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import col, select

from bot.core import clock
from bot.core import models as m
from bot.core.db import engine, normalise_url, session_scope
from bot.core.settings import Settings
from bot.core.store import NoCampaign, active_campaign
from schedules import outbox

log = logging.getLogger(__name__)

#: The periodic tick. The DateTrigger jobs fire pushes on the second; the tick is the safety
#: net: it retries the leader lock (a leader that died is replaced within a tick), catches
#: what a job could not do (the store was down), and picks up a campaign file loaded while
#: running. The store decides what is due, so a tick that finds nothing does nothing.
TICK_SECONDS = 15.0
ADVISORY_KEY = 0x7468696475610001  # "thidua" + 1: the pushes leader
LATE = dt.timedelta(minutes=1)  # later than this is logged as a late push
#: The leader's connection asks the server to probe it (TCP keepalives: idle 5 s, then every
#: 2 s, 3 misses): a leader whose machine vanishes without closing the connection loses the
#: lock in ~11 s, not the hours of the system's default, and a follower takes over.
KEEPALIVE = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 3}


class LeaderLock:
    """Who expands pushes: one process per database."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.sqlite = self.url.startswith("sqlite")
        self._fd: int | None = None
        self._conn: sa.Connection | None = None

    @property
    def path(self) -> Path | None:
        database = sa.make_url(self.url).database
        if not self.sqlite or not database or database == ":memory:":
            return None
        return Path(f"{database}.pushes.lock")

    @property
    def held(self) -> bool:
        return self._fd is not None or self._conn is not None

    def acquire(self) -> bool:
        if self.held:
            return True
        if self.sqlite:
            if self.path is None:
                self._fd = -1  # an in-memory database is one process by nature
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return True
        conn = engine().connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            for name, value in KEEPALIVE.items():  # ignored on a Unix socket
                conn.execute(sa.text(f"SET {name} = {int(value)}"))
            got = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def check(self) -> bool:
        """Still the leader? (A PostgreSQL session that dropped has lost its lock.)"""
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
            except Exception:
                log.warning("pushes: lost the leader connection to the database")
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None
        return self.held

    def release(self) -> None:
        if self._fd is not None:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._conn.close()
            self._conn = None


def _real_now() -> dt.datetime:
    """The machine's clock, which APScheduler runs on (bot.core.clock may run from THIDUA_NOW)."""
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)


async def _nothing() -> None:
    return None


class Scheduler:
    """The calendar's pushes for `channels`: expanded into outbox rows when due, once."""

    def __init__(
        self,
        settings: Settings,
        channels: tuple[str, ...],
        *,
        wake: Callable[[], None] = lambda: None,
        lead: Callable[[], Awaitable[None]] = _nothing,
        follow: Callable[[], Awaitable[None]] = _nothing,
        tick: float = TICK_SECONDS,
    ) -> None:
        self.settings = settings
        self.channels = tuple(c for c in channels if c in outbox.PUSH_CHANNELS)
        self.wake = wake
        self.lead = lead
        self.follow = follow
        self.tick_seconds = tick
        self.lock = LeaderLock(settings.database_url)
        self.scheduler: AsyncIOScheduler | None = None
        self._due_at: dict[str, dt.datetime] = {}
        self._expanding = asyncio.Lock()
        self._warned = False

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.channels:
            log.info("pushes: no push channel (Telegram, Zalo) configured; nothing to schedule")
            return
        await self._lead(tell=False)
        if self.lock.held:
            await self.run_due()
        self.scheduler = AsyncIOScheduler(timezone=clock.LOCAL)
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.tick_seconds, timezone=clock.LOCAL),
            id="pushes:tick",
            replace_existing=True,
            misfire_grace_time=int(self.tick_seconds) + 1,
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start()
        await self._schedule_jobs()
        if self.lock.held:
            # Delivery starts after the due pushes are queued: a worker whose claim waited on
            # that long first transaction would stamp its rows with a claim time from before.
            await self.lead()
        log.info(
            "pushes: %s on %s; %s",
            "leader" if self.lock.held else "follower",
            ", ".join(self.channels),
            f"{len(self._due_at)} pushes scheduled" if self.lock.held else "not scheduling",
        )

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await asyncio.to_thread(self.lock.release)

    async def _lead(self, *, tell: bool = True) -> None:
        """Take (or check) the leader lock; tell delivery when this process becomes leader."""
        was = self.lock.held
        held = await asyncio.to_thread(self.lock.check if was else self.lock.acquire)
        if held and not was:
            if tell:
                await self.lead()
            if self._warned or tell:
                log.info("pushes: this process now schedules the pushes (leader)")
        if was and not held:
            log.warning("pushes: lost the leader lock; another process may take over")
            await self.follow()
        if not held and self.lock.sqlite and not self._warned:
            self._warned = True
            log.warning(
                "pushes: another thidua process is running on this SQLite database (%s is "
                "locked). SQLite supports one process: this one answers people but leaves "
                "pushes to the other. Stop one of them, or use PostgreSQL to run several.",
                self.lock.path,
            )

    # ---- what is due ----------------------------------------------------------------------

    async def tick(self) -> None:
        await self._lead()
        if self.lock.held:
            await self.run_due()
            await self._schedule_jobs()

    async def _fire(self, key: str) -> None:
        """A DateTrigger job: the push `key` is due (the wall clock and bot.core.clock may differ
        by a little, so wait until bot.core.clock agrees)."""
        due = self._due_at.pop(key, None)
        if due is not None:
            wait = (due - clock.now()).total_seconds()
            if 0 < wait < 60:
                await asyncio.sleep(wait)
        await self.tick()

    async def run_due(self) -> int:
        """Expand every push that is due and was never expanded or skipped; rows queued."""
        async with self._expanding:
            queued = await asyncio.to_thread(self._run_due, clock.now())
        if queued:
            self.wake()
        return queued

    def _plan(self) -> tuple[int, list[outbox.Push], set[str]] | None:
        try:
            with session_scope() as session:
                row, campaign = active_campaign(session=session)
                done = set(
                    session.exec(select(m.PushRun.key).where(col(m.PushRun.campaign_id) == row.id))
                )
        except NoCampaign:
            log.warning("pushes: no campaign loaded (run `thidua init`)")
            return None
        assert row.id is not None
        return row.id, outbox.pushes(campaign), done

    def _run_due(self, now: dt.datetime) -> int:
        plan = self._plan()
        if plan is None:
            return 0
        campaign_id, found, done = plan
        queued = 0
        for push in found:
            if push.key in done or push.at > now:
                continue
            last = outbox.expires_at(push, self.settings.push_grace)
            with session_scope() as session:
                if now > last:
                    if outbox.record_skipped(
                        push, session=session, campaign_id=campaign_id, now=now
                    ):
                        log.warning(
                            "push %s skipped: due %s, missed beyond its grace (until %s)",
                            push.key,
                            push.at.isoformat(),
                            last.astimezone(clock.LOCAL).isoformat(),
                        )
                    continue
                n = outbox.expand(
                    push,
                    session=session,
                    campaign_id=campaign_id,
                    channels=self.channels,
                    now=now,
                )
            if n is None:
                continue
            queued += n
            late = now - push.at
            if late > LATE:
                log.warning(
                    "push %s sent late (due %s, %s late): %d messages queued",
                    push.key,
                    push.at.isoformat(),
                    str(late).split(".")[0],
                    n,
                )
            else:
                log.info("push %s: %d messages queued", push.key, n)
        return queued

    async def _schedule_jobs(self) -> None:
        """One DateTrigger job per future push not yet expanded (id = the push key)."""
        if self.scheduler is None or not self.lock.held:
            return
        plan = await asyncio.to_thread(self._plan)
        if plan is None:
            return
        _campaign_id, found, done = plan
        now = clock.now()
        offset = (
            now - _real_now()
        )  # THIDUA_NOW shifts bot.core.clock; APScheduler runs on real time
        grace = int(self.settings.push_grace.total_seconds())
        for push in found:
            if push.key in done or push.at <= now or push.key in self._due_at:
                continue
            self._due_at[push.key] = push.at
            self.scheduler.add_job(
                self._fire,
                DateTrigger(run_date=push.at - offset, timezone=clock.LOCAL),
                args=[push.key],
                id=push.key,
                replace_existing=True,
                misfire_grace_time=max(1, grace),
                coalesce=True,
            )

    def jobs(self) -> list[dict[str, Any]]:
        """The scheduled jobs (for a look from tests or a debugger)."""
        if self.scheduler is None:
            return []
        return [{"id": j.id, "next_run_time": j.next_run_time} for j in self.scheduler.get_jobs()]

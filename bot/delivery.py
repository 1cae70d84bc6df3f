"""Delivery: one worker per channel drains the outbox within the platform's limits.

A worker claims due rows in small batches (status pending/deferred → sending, `claimed_at`
set; on PostgreSQL through `FOR UPDATE SKIP LOCKED`, so workers in several processes never
take the same row; on SQLite one conditional UPDATE does the same) and sends them paced:

- a global rate per channel (Telegram `TELEGRAM_RATE`, default 30/s; Zalo `ZALO_RATE`), of
  which `REPLY_RESERVE` is left unused: replies to people go out from the channel adapters
  directly, never through the outbox, and this headroom is what keeps them from queueing
  behind a broadcast (or being answered 429 because of one);
- at most one message a second to a private chat, one every three seconds to a group;
- 429 (`RetryAfter`): the row waits `retry_after`; when 429s are more than a tenth of the last
  second's sends, the limit is the bot's, not the chat's, and the whole channel holds too;
- 5xx and network errors (`Transient`): exponential backoff with jitter, then `failed`;
- blocked / chat not found (`Unreachable`): `failed` at once, the identity marked unreachable
  (the clerk sees it) and its other waiting rows failed with it;
- `Paused(until)` (Zalo's monthly quota): every waiting row of the channel is deferred until
  then, the pause kept in `channel_state`, and sending resumes with a single probe.

A row is marked sent after the platform accepted it (in batches, every `FLUSH_EVERY`). A crash
leaves the rows it had claimed in `sending`; they are sent again after `sending_timeout`
(at once on SQLite, where one process owns delivery): those, and only those, can arrive twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import col, select

from bot import clock
from bot import models as m
from bot.channels.base import Paused, RetryAfter, Runner, SendError, Transient, Unreachable
from bot.db import session_scope
from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

ZALO_RATE = 5.0  # msg/s: Zalo publishes no rate; it is quota-bound, so stay gentle
DEFAULT_RATE = 10.0
#: Share of a channel's global rate left for replies to people (see the module docstring).
#: A broadcast runs at 97 % of TELEGRAM_RATE: the reserve covers a few conversations at once,
#: and more would waste what the pushes need (a 10,000-person push at 30/s takes 6 minutes).
REPLY_RESERVE = 0.03
PRIVATE_INTERVAL = 1.0  # s between two messages to one private chat
GROUP_INTERVAL = 3.0  # groups: 20 a minute
CLAIM_SECONDS = 0.25  # claim this many seconds of sending at a time: what a crash can repeat
MAX_ATTEMPTS = 10  # transient failures before a row is given up (~13 minutes of backoff)
MAX_RATE_LIMITED = 30  # 429s before a row is given up
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0
SENDING_TIMEOUT = dt.timedelta(minutes=5)
IDLE_POLL = 2.0  # s between looks at an empty outbox (a local push wakes the worker at once)
FLUSH_EVERY = 0.1  # s between batched "sent" marks
RECLAIM_EVERY = 30.0
GLOBAL_429_SHARE = 0.1
WAITING = ("pending", "deferred")


def channel_rate(channel: str, settings: Settings) -> float:
    return {"telegram": settings.telegram_rate, "zalo": ZALO_RATE}.get(channel, DEFAULT_RATE)


@dataclass(frozen=True)
class Claimed:
    id: int
    identity_id: int
    chat_id: str
    text: str
    attempts: int
    priority: int


# --- the store side: sync, short sessions, run in the worker's own thread --------------------


def claim(channel: str, limit: int, now: dt.datetime) -> list[Claimed]:
    """Take up to `limit` due rows of `channel` for sending (highest priority, oldest first)."""
    outbox = m.Outbox
    due = (
        select(outbox.id)
        .where(
            col(outbox.channel) == channel,
            col(outbox.status).in_(WAITING),
            col(outbox.next_attempt_at) <= now,
        )
        .order_by(col(outbox.priority).desc(), col(outbox.next_attempt_at), col(outbox.id))
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
    )
    stmt = (
        sa.update(outbox)
        .where(col(outbox.id).in_(due.scalar_subquery()))
        .values(status="sending", claimed_at=now)
        .returning(
            outbox.id,
            outbox.identity_id,
            outbox.chat_id,
            outbox.text,
            outbox.attempts,
            outbox.priority,
        )
    )
    with session_scope() as session:
        rows = [Claimed(*row) for row in session.exec(stmt)]  # type: ignore[call-overload]
    rows.sort(key=lambda r: (-r.priority, r.id))
    return rows


def mark_sent(ids: list[int], now: dt.datetime) -> None:
    with session_scope() as session:
        session.exec(
            sa.update(m.Outbox)
            .where(col(m.Outbox.id).in_(ids))
            .values(
                status="sent",
                sent_at=now,
                claimed_at=None,
                attempts=col(m.Outbox.attempts) + 1,
                last_error=None,
            )
        )


def release(ids: list[int], status: str = "pending", at: dt.datetime | None = None) -> None:
    """Put claimed rows back, unsent (a stop, a pause)."""
    values: dict[str, Any] = {"status": status, "claimed_at": None}
    if at is not None:
        values["next_attempt_at"] = at
    with session_scope() as session:
        session.exec(sa.update(m.Outbox).where(col(m.Outbox.id).in_(ids)).values(**values))


def retry_later(row_id: int, attempts: int, at: dt.datetime, error: str) -> None:
    with session_scope() as session:
        session.exec(
            sa.update(m.Outbox)
            .where(col(m.Outbox.id) == row_id)
            .values(
                status="pending",
                attempts=attempts,
                next_attempt_at=at,
                claimed_at=None,
                last_error=error[:500],
            )
        )


def fail(row: Claimed, attempts: int, error: str, *, unreachable: bool = False) -> int:
    """Give the row up; if the chat is gone, mark the identity and fail its waiting rows too.

    Returns how many rows failed."""
    error = error[:500]
    with session_scope() as session:
        failed = sa.update(m.Outbox).values(status="failed", claimed_at=None, last_error=error)
        session.exec(failed.where(col(m.Outbox.id) == row.id).values(attempts=attempts))
        if not unreachable:
            return 1
        session.exec(
            sa.update(m.Identity)
            .where(col(m.Identity.id) == row.identity_id)
            .values(reachable=False, unreachable_reason=error[:200])
        )
        others = session.exec(
            failed.where(
                col(m.Outbox.identity_id) == row.identity_id, col(m.Outbox.status).in_(WAITING)
            )
        ).rowcount
        return 1 + others


def defer_channel(channel: str, until: dt.datetime, reason: str) -> int:
    """The channel cannot send until `until`: every waiting row waits for it, and so do we."""
    with session_scope() as session:
        state = session.get(m.ChannelState, channel)
        if state is None:
            try:
                with session.begin_nested():
                    session.add(m.ChannelState(channel=channel, paused_until=until, reason=reason))
            except sa.exc.IntegrityError:  # the runner created it at the same moment
                state = session.get(m.ChannelState, channel)
        if state is not None and (state.paused_until is None or state.paused_until < until):
            state.paused_until, state.reason = until, reason[:200]
            session.add(state)
        return session.exec(
            sa.update(m.Outbox)
            .where(
                col(m.Outbox.channel) == channel,
                col(m.Outbox.status).in_(WAITING),
                col(m.Outbox.next_attempt_at) < until,
            )
            .values(status="deferred", next_attempt_at=until)
        ).rowcount


def paused_until(channel: str, now: dt.datetime) -> dt.datetime | None:
    with session_scope() as session:
        state = session.get(m.ChannelState, channel)
        if state is not None and state.paused_until is not None and state.paused_until > now:
            return state.paused_until
    return None


def reclaim_stuck(channel: str | None, claimed_before: dt.datetime | None) -> int:
    """Rows left in `sending` by a process that died: due again (None: all of them)."""
    stmt = sa.update(m.Outbox).where(col(m.Outbox.status) == "sending")
    if channel is not None:
        stmt = stmt.where(col(m.Outbox.channel) == channel)
    if claimed_before is not None:
        stmt = stmt.where(col(m.Outbox.claimed_at) < claimed_before)
    with session_scope() as session:
        return session.exec(stmt.values(status="pending", claimed_at=None)).rowcount


# --- pacing -----------------------------------------------------------------------------------


class Pacer:
    """Evenly spaced slots at `rate` a second, handed out in order; `hold` stops them a while.

    No burst allowance: the platforms count in sliding one-second windows."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._hold_until = 0.0

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            slot = max(now, self._next, self._hold_until)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if loop.time() >= self._hold_until:
                return

    def hold(self, seconds: float) -> None:
        self._hold_until = max(self._hold_until, asyncio.get_running_loop().time() + seconds)


class _Stopping(Exception):
    """A claimed row was not sent because the worker is stopping or the channel paused."""


# --- the worker -------------------------------------------------------------------------------


class Worker:
    """Drains one channel's outbox through `runner.send` until stopped."""

    def __init__(
        self,
        runner: Runner,
        *,
        rate: float,
        sending_timeout: dt.timedelta = SENDING_TIMEOUT,
        idle_poll: float = IDLE_POLL,
    ) -> None:
        self.runner = runner
        self.channel = runner.name
        self.rate = rate * (1 - REPLY_RESERVE)
        self.window = max(4, int(self.rate * CLAIM_SECONDS))
        self.sending_timeout = sending_timeout
        self.idle_poll = idle_poll
        self.stats: Counter[str] = Counter()
        self._pacer = Pacer(self.rate)
        # Its own thread: the store calls of a 300/s push never wait behind (nor hold up) the
        # threads the channel adapters use to answer people.
        self._db = ThreadPoolExecutor(1, thread_name_prefix=f"delivery-{self.channel}")
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: set[asyncio.Task[None]] = set()  # claimed, not yet handed to the runner
        self._sent: list[int] = []
        self._unclaimed: list[int] = []
        self._chat_next: dict[str, float] = {}
        self._recent: deque[tuple[float, bool]] = deque()  # (when, was it a 429)
        self._wake = asyncio.Event()
        self._stopping = False
        self._paused_until: dt.datetime | None = None
        self._probe = False
        self._main: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name=f"delivery-{self.channel}")
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"flush-{self.channel}")

    def wake(self) -> None:
        """New rows may be due (a push was just expanded)."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, put back what waits for its turn, let sends under way finish."""
        self._stopping = True
        self._wake.set()
        if self._main is not None:
            await asyncio.gather(self._main, return_exceptions=True)
        for task in self._waiting:
            task.cancel()
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=timeout)
            for task in late:  # left in `sending`: reclaimed after a restart
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self._flush()
        self._db.shutdown(wait=True)

    async def _pause_wait(self, seconds: float) -> None:
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, seconds))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._step()
            except Exception:
                log.exception("delivery %s: error; trying again shortly", self.channel)
                await self._pause_wait(self.idle_poll)

    async def _step(self) -> None:
        self._wake.clear()  # before looking: a wake-up during the look is not lost
        now = clock.now()
        # The store is the truth about a pause: `thidua outbox retry` lifts it from outside.
        self._paused_until = await self._call(paused_until, self.channel, now)
        if self._paused_until is not None:
            self._probe = True
            await self._pause_wait((self._paused_until - now).total_seconds())
            return
        busy = len(self._tasks)
        if busy > self.window // 2:
            await asyncio.wait(self._tasks, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            return
        # After a pause, one message first: is the channel open again?
        limit = 1 if self._probe else self.window - busy
        rows = await self._call(claim, self.channel, limit, clock.now())
        if not rows:
            self._probe = False
            await self._pause_wait(self.idle_poll)
            return
        tasks = [self._spawn(row) for row in rows]
        if self._probe:
            await asyncio.gather(*tasks, return_exceptions=True)
            self._probe = self._paused_until is not None

    def _spawn(self, row: Claimed) -> asyncio.Task[None]:
        task = asyncio.create_task(self._deliver(row))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _turn(self, row: Claimed) -> None:
        """Wait for the channel's next slot at a moment the chat may take a message."""
        loop = asyncio.get_running_loop()
        while True:
            wait = self._chat_next.get(row.chat_id, 0.0) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            await self._pacer.acquire()
            if self._chat_next.get(row.chat_id, 0.0) <= loop.time():
                break  # else another message to this chat went first: wait again
        interval = GROUP_INTERVAL if row.chat_id.startswith("-") else PRIVATE_INTERVAL
        self._chat_next[row.chat_id] = loop.time() + interval
        if self._stopping or self._paused_until is not None:
            raise _Stopping

    async def _deliver(self, row: Claimed) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            await self._turn(row)
        except (_Stopping, asyncio.CancelledError):
            if self._paused_until is not None:
                await self._call(release, [row.id], "deferred", self._paused_until)
            else:
                self._unclaimed.append(row.id)
            return
        finally:
            self._waiting.discard(task)
        try:
            await self.runner.send(row.chat_id, row.text)
        except SendError as exc:
            await self._failed(row, exc)
        except Exception as exc:  # a bug or an unexpected library error: never log its text,
            # which could hold a URL with the bot token in it
            await self._failed(row, Transient(type(exc).__name__))
        else:
            self._note(was_429=False)
            self._sent.append(row.id)
            self.stats["sent"] += 1

    def _note(self, *, was_429: bool) -> bool:
        """Record an outcome; True if 429s are a tenth of the last second's attempts."""
        now = asyncio.get_running_loop().time()
        self._recent.append((now, was_429))
        while self._recent and self._recent[0][0] < now - 1.0:
            self._recent.popleft()
        limited = sum(1 for _t, hit in self._recent if hit)
        return was_429 and limited >= 3 and limited >= GLOBAL_429_SHARE * len(self._recent)

    async def _failed(self, row: Claimed, exc: SendError) -> None:
        attempts = row.attempts + 1
        now = clock.now()
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, RetryAfter):  # nothing reached the chat: it is free again
            self._chat_next[row.chat_id] = asyncio.get_running_loop().time()
        if isinstance(exc, RetryAfter):
            self.stats["rate_limited"] += 1
            if self._note(was_429=True):
                log.warning(
                    "delivery %s: many 429s, holding the channel %.1fs", self.channel, exc.seconds
                )
                self._pacer.hold(exc.seconds)
            loop = asyncio.get_running_loop()
            self._chat_next[row.chat_id] = max(
                self._chat_next.get(row.chat_id, 0.0), loop.time() + exc.seconds
            )
            if attempts < MAX_RATE_LIMITED:
                at = now + dt.timedelta(seconds=exc.seconds)
                await self._call(retry_later, row.id, attempts, at, reason)
                return
        elif isinstance(exc, Paused):
            log.warning(
                "delivery %s: paused until %s (%s)", self.channel, exc.until.isoformat(), exc
            )
            self._paused_until = max(self._paused_until or exc.until, exc.until)
            self._probe = True
            await self._call(release, [row.id], "deferred", exc.until)
            await self._call(defer_channel, self.channel, exc.until, str(exc))
            self.wake()
            return
        elif isinstance(exc, Unreachable):
            self._note(was_429=False)
            n = await self._call(lambda: fail(row, attempts, reason, unreachable=True))
            self.stats["failed"] += n
            log.info("delivery %s: row %s unreachable: %s", self.channel, row.id, exc)
            return
        else:
            self._note(was_429=False)
            self.stats["retried"] += 1
            if attempts < MAX_ATTEMPTS:
                backoff = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
                at = now + dt.timedelta(seconds=backoff * random.uniform(0.5, 1.5))
                await self._call(retry_later, row.id, attempts, at, reason)
                return
        log.warning(
            "delivery %s: row %s failed after %d attempts: %s",
            self.channel,
            row.id,
            attempts,
            reason,
        )
        await self._call(lambda: fail(row, attempts, reason))
        self.stats["failed"] += 1

    async def _flush(self) -> None:
        # Copies, removed only once stored: a failed write is tried again at the next flush.
        sent = self._sent[:]
        if sent:
            await self._call(mark_sent, sent, clock.now())
            del self._sent[: len(sent)]
        unclaimed = self._unclaimed[:]
        if unclaimed:
            await self._call(release, unclaimed)
            del self._unclaimed[: len(unclaimed)]

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time() + RECLAIM_EVERY
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await self._flush()
                if loop.time() >= next_reclaim:
                    next_reclaim = loop.time() + RECLAIM_EVERY
                    await self._reclaim()
            except Exception:
                log.exception("delivery %s: could not record sends; retrying", self.channel)

    async def _reclaim(self) -> None:
        n = await self._call(reclaim_stuck, self.channel, clock.now() - self.sending_timeout)
        if n:
            log.warning("delivery %s: %d rows stuck in sending are due again", self.channel, n)
            self.wake()
        horizon = asyncio.get_running_loop().time()
        for chat in [c for c, t in self._chat_next.items() if t < horizon]:
            del self._chat_next[chat]

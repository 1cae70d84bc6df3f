"""Delivery: one worker per channel drains the outbox within the platform's limits.

A worker claims due rows in small batches (status pending/deferred → sending, `claimed_at`
set; on PostgreSQL through `FOR UPDATE SKIP LOCKED`, so workers in several processes never
take the same row; on SQLite one conditional UPDATE does the same) and sends them paced:

- a global rate per channel (Telegram `TELEGRAM_RATE`, default 30/s; Zalo `ZALO_RATE`), of
  which a reserve is left unused (`broadcast_rate`): replies to people go out from the channel
  adapters directly, never through the outbox, and this headroom is what keeps them from
  queueing behind a broadcast (or being answered 429 because of one);
- at most one message a second to a private chat, one every three seconds to a group;
- 429 (`RetryAfter`): the row waits `retry_after`; when 429s are more than a tenth of the last
  second's sends, the limit is the bot's, not the chat's, and the whole channel holds too;
- 5xx and network errors (`Transient`): exponential backoff with jitter, then `failed`;
- blocked / chat not found (`Unreachable`): `failed` at once, the identity marked unreachable
  (the clerk sees it) and its other waiting rows failed with it;
- `Paused(until)` (Zalo's monthly quota): every waiting row of the channel is deferred until
  then, the pause kept in `channel_state`, and sending resumes with a single probe.

A row is marked sent after the platform accepted it (in batches, every `FLUSH_EVERY`). A crash
leaves the rows it had claimed in `sending`, each naming this process (`claimed_by`); the
process's lease (bot/core/leases.py, renewed here while it runs) runs out `leases.TTL` later,
and the next look (`RECLAIM_EVERY`) of whichever process delivers makes them due again (at
once on SQLite, where one process owns delivery): those, and only those, can arrive twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import random
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from bot.channels.base import Paused, RetryAfter, Runner, SendError, Transient, Unreachable
from bot.channels.pacer import Pacer, broadcast_rate
from bot.core import clock, leases
from bot.delivery.claims import (
    Claimed,
    claim,
    defer_channel,
    fail,
    mark_sent,
    next_due,
    reclaim_stuck,
    release,
    retry_later,
)
from schedules.outbox import paused_until

log = logging.getLogger(__name__)

T = TypeVar("T")

PRIVATE_INTERVAL = 1.0  # s between two messages to one private chat
GROUP_INTERVAL = 3.0  # groups: 20 a minute
#: Sends under way at once, per channel: four round trips at a time carry far more than
#: 300 msg/s to a nearby server, and stay well inside the runner's HTTP pool.
MAX_IN_FLIGHT = 4
#: Claim about this many seconds of sending at a time, again when half is left: the claim's
#: round trip to the store must never leave the dispatcher without rows (at 0.25 s, 100 ms
#: gaps showed at 300 msg/s). Rows claimed by a process that dies wait `sending_timeout`.
CLAIM_SECONDS = 0.5
MAX_ATTEMPTS = 10  # transient failures before a row is given up (~8 minutes of backoff)
MAX_RATE_LIMITED = 30  # 429s before a row is given up
#: A 5xx or a network error: the first retry after 0.25–0.75 s (most are one-off), doubling.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 300.0
#: Rows claimed before leases (no `claimed_by`) left `sending` this long: a dead process's.
SENDING_TIMEOUT = dt.timedelta(minutes=5)
#: While a channel is paused, look at the store this often: `thidua outbox retry`, run from
#: another process, lifts the pause there, and the rows must go out then, not at the old end.
PAUSE_RECHECK = 5.0
IDLE_POLL = 2.0  # s between looks at an empty outbox (a local push wakes the worker at once)
FLUSH_EVERY = 0.1  # s between batched "sent" marks
RECLAIM_EVERY = 5.0  # s between looks for rows of a process whose lease ran out
STORM_SHARE = 0.1  # failures among the last second's tries that mean the channel, not a chat


class Worker:
    """Drains one channel's outbox through `runner.send` until stopped.

    Two coroutines: the feeder keeps about `window` claimed rows in hand (claiming again when
    half are gone); the dispatcher hands them out one slot at a time: the chat free, a send
    free (`MAX_IN_FLIGHT`), the channel's next slot (`Pacer`). One dispatcher means sends start
    in slot order, never in a burst, and nothing waits in a task of its own.
    """

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
        # A runner may hold pushes back to keep messages for replies (Zalo's monthly quota).
        self._pushes_allowed: Callable[[], bool] | None = getattr(runner, "pushes_allowed", None)
        self.rate = broadcast_rate(rate)
        self.window = max(4, int(self.rate * CLAIM_SECONDS))
        self.sending_timeout = sending_timeout
        self.idle_poll = idle_poll
        self.stats: Counter[str] = Counter()
        self._pacer = Pacer(self.rate)
        self._sending = asyncio.Semaphore(MAX_IN_FLIGHT)
        # Its own thread: the store calls of a 300/s push never wait behind (nor hold up) the
        # threads the channel adapters use to answer people.
        self._db = ThreadPoolExecutor(1, thread_name_prefix=f"delivery-{self.channel}")
        self._ready: deque[Claimed] = deque()  # claimed, in order
        self._later: list[tuple[float, int, Claimed]] = []  # heap: when its chat is free
        self._inflight: set[asyncio.Task[None]] = set()
        self._sent: list[int] = []
        self._unclaimed: list[int] = []
        self._chat_next: dict[str, float] = {}
        self._recent: deque[tuple[float, bool]] = deque()  # (when, did it fail)
        self._failures = 0  # failed tries in `_recent`
        self._wake = asyncio.Event()  # from outside: rows may be due
        self._fed = asyncio.Event()  # the feeder brought rows
        self._hungry = asyncio.Event()  # the dispatcher runs low
        self._probed = asyncio.Event()  # the probe after a pause has an outcome
        self._stopping = False
        self._paused_until: dt.datetime | None = None
        self._probe = False
        self._loops: list[asyncio.Task[None]] = []

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._feed(), name=f"feed-{self.channel}"),
            asyncio.create_task(self._dispatch(), name=f"dispatch-{self.channel}"),
            asyncio.create_task(self._flush_loop(), name=f"flush-{self.channel}"),
        ]

    def wake(self) -> None:
        """New rows may be due (a push was just expanded)."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking rows, put back those in hand, let the sends under way finish."""
        self._stopping = True
        for event in (self._wake, self._fed, self._hungry, self._probed):
            event.set()
        feed, dispatch, flush = self._loops or (None, None, None)
        await asyncio.gather(*(t for t in (feed, dispatch) if t), return_exceptions=True)
        self._unclaimed += [r.id for r in self._ready] + [r.id for _t, _i, r in self._later]
        self._ready.clear()
        self._later.clear()
        if self._inflight:
            _done, late = await asyncio.wait(self._inflight, timeout=timeout)
            for task in late:  # left in `sending`: reclaimed after a restart
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if flush is not None:
            flush.cancel()
            await asyncio.gather(flush, return_exceptions=True)
        await self._flush()
        self._db.shutdown(wait=True)

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, seconds))

    def _held(self) -> int:
        """Claimed and not yet done: in hand or being sent (the feeder refills at half)."""
        return len(self._ready) + len(self._later) + len(self._inflight)

    # ---- the feeder -----------------------------------------------------------------------

    async def _feed(self) -> None:
        while not self._stopping:
            try:
                await self._feed_once()
            except Exception:
                log.exception("delivery %s: could not claim rows; trying again", self.channel)
                await self._wait(self._wake, self.idle_poll)

    async def _feed_once(self) -> None:
        now = clock.now()
        # The store is the truth about a pause: `thidua outbox retry` lifts it from outside.
        self._wake.clear()  # before looking: a wake-up during the look is not lost
        until = await self._call(paused_until, self.channel, now)
        self._paused_until = until
        if until is not None:
            self._probe = True
            await self._wait(self._wake, min((until - now).total_seconds(), PAUSE_RECHECK))
            return
        held = self._held()
        if held > self.window // 2:
            self._hungry.clear()
            await self._wait(self._hungry, 1.0)
            return
        # After a pause, one message first: is the channel open again?
        limit = 1 if self._probe else self.window - held
        allowed = self._pushes_allowed
        pushes = True if allowed is None else await self._call(allowed)
        rows = await self._call(partial(claim, pushes=pushes), self.channel, limit, clock.now())
        if not rows:
            self._probe = False
            # a retry soon: look again then
            due = await self._call(partial(next_due, pushes=pushes), self.channel)
            soon = (due - clock.now()).total_seconds() if due is not None else self.idle_poll
            await self._wait(self._wake, min(self.idle_poll, max(0.05, soon)))
            return
        self._ready.extend(rows)
        self._fed.set()
        if self._probe:
            self._probed.clear()
            await self._wait(self._probed, 60.0)
            self._probe = self._paused_until is not None

    # ---- the dispatcher -------------------------------------------------------------------

    def _next_row(self, now: float) -> Claimed | None:
        """The first row in hand whose chat may take a message now (others wait aside)."""
        while self._later and self._later[0][0] <= now:
            self._ready.appendleft(heapq.heappop(self._later)[2])
        while self._ready:
            row = self._ready.popleft()
            free = self._chat_next.get(row.chat_id, 0.0)
            if free <= now:
                return row
            heapq.heappush(self._later, (free, row.id, row))
        return None

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if self._held() <= self.window // 2:
                self._hungry.set()
            row = self._next_row(loop.time())
            if row is None:
                self._fed.clear()
                soon = self._later[0][0] - loop.time() if self._later else 1.0
                await self._wait(self._fed, min(soon, 1.0))
                continue
            taken = await self._pacer.acquire()
            await self._sending.acquire()
            if self._stopping or self._paused_until is not None:
                self._pacer.refund(taken)
                self._sending.release()
                if self._paused_until is not None:
                    await self._call(release, [row.id], "deferred", self._paused_until)
                else:
                    self._unclaimed.append(row.id)
                continue
            interval = GROUP_INTERVAL if row.chat_id.startswith("-") else PRIVATE_INTERVAL
            self._chat_next[row.chat_id] = loop.time() + interval
            task = asyncio.create_task(self._send(row, taken))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _send(self, row: Claimed, taken: float) -> None:
        try:
            await self.runner.send(row.chat_id, row.text)
        except SendError as exc:
            await self._failed(row, exc, taken)
        except Exception as exc:  # a bug or an unexpected library error: never log its text,
            # which could hold a URL with the bot token in it
            await self._failed(row, Transient(type(exc).__name__), taken)
        else:
            self._note(failed=False)
            self._sent.append(row.id)
            self.stats["sent"] += 1
        finally:
            self._sending.release()
            self._probed.set()

    def _note(self, *, failed: bool) -> bool:
        """Record an outcome; True if failures are a tenth (and 3+) of the last second's tries:
        then it is the channel that is limited or failing, not one chat."""
        now = asyncio.get_running_loop().time()
        self._recent.append((now, failed))
        self._failures += failed
        while self._recent and self._recent[0][0] < now - 1.0:
            self._failures -= self._recent.popleft()[1]
        return failed and self._failures >= max(3, STORM_SHARE * len(self._recent))

    async def _pause(self, until: dt.datetime, reason: str, row: Claimed) -> None:
        """The channel is paused: this row and every one in hand wait, deferred, until then."""
        log.warning("delivery %s: paused until %s (%s)", self.channel, until.isoformat(), reason)
        self._paused_until = max(self._paused_until or until, until)
        self._probe = True
        held = [row.id] + [r.id for r in self._ready] + [r.id for _t, _i, r in self._later]
        self._ready.clear()
        self._later.clear()
        await self._call(release, held, "deferred", until)
        await self._call(defer_channel, self.channel, until, reason)
        self.wake()

    async def _failed(self, row: Claimed, exc: SendError, taken: float) -> None:
        attempts = row.attempts + 1
        now = clock.now()
        reason = f"{type(exc).__name__}: {exc}"
        loop = asyncio.get_running_loop()
        storm = self._note(failed=True)
        if isinstance(exc, RetryAfter | Transient) and not storm:
            self._pacer.refund(taken)  # a one-off refusal delivered nothing: not a slot used
        if not isinstance(exc, RetryAfter):  # nothing reached the chat: it is free again
            self._chat_next[row.chat_id] = loop.time()
        if isinstance(exc, RetryAfter):
            self.stats["rate_limited"] += 1
            if storm:
                log.warning(
                    "delivery %s: many 429s, holding the channel %.1fs", self.channel, exc.seconds
                )
                self._pacer.hold(exc.seconds)
            self._chat_next[row.chat_id] = max(
                self._chat_next.get(row.chat_id, 0.0), loop.time() + exc.seconds
            )
            if attempts < MAX_RATE_LIMITED:
                at = now + dt.timedelta(seconds=exc.seconds)
                await self._call(retry_later, row.id, attempts, at, reason)
                return
        elif isinstance(exc, Paused):
            await self._pause(exc.until, str(exc), row)
            return
        elif isinstance(exc, Unreachable):
            n = await self._call(lambda: fail(row, attempts, reason, unreachable=True))
            self.stats["failed"] += n
            log.info("delivery %s: row %s unreachable: %s", self.channel, row.id, exc)
            return
        else:
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
                await self._call(leases.renew_if_due)  # the rows in hand are still ours
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

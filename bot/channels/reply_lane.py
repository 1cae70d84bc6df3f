"""The reply lane: a channel's replies to people, from the outbox, at once and in order.

A turn writes its replies as outbox rows (`schedules.outbox.replies`) in its own transaction.
When the chat had no reply waiting they are written already claimed and the inbox hands them
over (`hand`); otherwise it wakes this lane, which claims them. Each chat's go in order,
different chats at once (`CONCURRENCY`), paced at the platform's rate. The pushes' worker keeps
a reserve of that rate free for this lane (bot/channels/pacer.py, `broadcast_rate`), so a
broadcast does not hold replies up. A reply that fails is tried again (429: after
`retry_after`; 5xx and network: backing off up to `BACKOFF_MAX`), the chat's later replies
waiting behind it, for as long as THIDUA_REPLY_RETRY_MINUTES says; then it is failed, and the
clerk sees it in `thidua outbox`. While the channel is paused (Zalo's quota) replies wait;
`thidua outbox retry` lifts the pause in the store, and the lane, which looks every
`PAUSE_RECHECK` seconds, sends them then.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.channels.base import Paused, RetryAfter, SendError, Unreachable
from bot.channels.inbox import Outage
from bot.channels.pacer import Pacer
from bot.core import clock, leases, people
from bot.core.db import is_sqlite, session_scope
from bot.core.settings import get_settings
from handlers.journal import reply_files, reply_of
from handlers.types import Reply
from schedules.outbox import paused_until
from schedules.outbox.replies import (
    ReplyRow,
    claim_replies,
    next_reply_due,
    reclaim_replies,
    replies_failed,
    replies_later,
    replies_sent,
)

log = logging.getLogger(__name__)

Deliver = Callable[[str, Reply], Awaitable[None]]

CONCURRENCY = 16  # chats being answered at once
BATCH = 200  # replies claimed at a time
BACKOFF_BASE, BACKOFF_MAX = 0.5, 15.0  # s; a person is waiting, so never long
PAUSE_RECHECK = 1.0  # s between looks at a pause (lifted from outside by `outbox retry`)
IDLE_POLL = 2.0
#: s between looks for replies a dead process left `sending` (its lease ran out: several
#: processes may share the outbox on PostgreSQL; on SQLite one owns it and takes all at start),
#: and between renewals of this process's lease while it holds replies.
RECLAIM_EVERY = 5.0
#: Replies claimed before leases (no `claimed_by`) left `sending` this long: a dead process's.
STUCK_AFTER = dt.timedelta(minutes=2)


class ReplyLane:
    def __init__(
        self,
        channel: str,
        deliver: Deliver,
        *,
        rate: float,
        retry_for: dt.timedelta,
        outage: Outage,
    ) -> None:
        self.channel = channel
        self._deliver = deliver
        self._pacer = Pacer(rate)
        self._retry_for = retry_for
        self.outage = outage
        self.stats: Counter[str] = Counter()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._wake = asyncio.Event()
        self._stopping = False
        self._closing = False  # stopping once nothing more is due
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._paused: dt.datetime | None = None  # the pause as the loop last saw it
        # Replies may wait to be claimed (behind a chat's reply being sent): a send that ends
        # wakes the loop for them. Off, a send wakes nothing: the usual turn costs no look.
        self._behind = False
        self._started = clock.now()
        self._unmarked: list[ReplyRow] = []  # sent, not yet marked so in the store
        self._marking: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._started = clock.now()  # what turns claim from now on is not reclaimed at start
        self._loop_task = asyncio.create_task(self._loop(), name=f"replies-{self.channel}")

    def wake(self) -> None:
        self._wake.set()

    def hand(self, rows: list[ReplyRow]) -> None:
        """A turn's replies: sent now if they came claimed, else claimed by the loop."""
        if not rows:  # queued behind a reply of the chat: the loop claims them
            self._behind = True
            self.wake()
            return
        held = self._paused if self._paused and self._paused > clock.now() else None
        if held or self._stopping:  # back to waiting: sent when the pause ends, or next start
            ids = [r.id for r in rows]
            self._spawn(asyncio.to_thread(replies_later, ids, held or clock.now(), None))
            return
        self._spawn(self._send_chat(rows))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, timeout: float = 10.0) -> None:
        """Send what is due now (the last turns' replies), then stop claiming and let the
        chats being answered finish. What is left waits in the outbox; replies left
        `sending` are taken again at the next start."""
        self._closing = True
        self._wake.set()
        if self._loop_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._loop_task), timeout)
            except TimeoutError:
                self._stopping = True
                self._wake.set()
                await asyncio.gather(self._loop_task, return_exceptions=True)
        self._stopping = True
        if self._tasks:
            _done, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._marking is not None:  # what was sent is marked so before the store closes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._marking), timeout)

    async def _wait(self, seconds: float) -> None:
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.01, seconds))

    async def _loop(self) -> None:
        # At start on SQLite every `sending` reply is ours from before a crash; elsewhere,
        # and later on, only those whose claimant's lease ran out.
        first = is_sqlite(get_settings().database_url)
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        while not self._stopping:
            self._wake.clear()  # before looking: a wake-up during the look is not lost
            self._behind = False  # set again below if replies wait, or by `hand` meanwhile
            try:
                if loop.time() >= next_reclaim:
                    before = self._started if first else clock.now() - STUCK_AFTER
                    await asyncio.to_thread(leases.renew_if_due)  # the replies in hand are ours
                    if await asyncio.to_thread(reclaim_replies, self.channel, before, every=first):
                        self._wake.set()
                    first, next_reclaim = False, loop.time() + RECLAIM_EVERY
                until = await asyncio.to_thread(paused_until, self.channel, clock.now())
                self._paused = until
                if until is not None:
                    if self._closing:
                        return
                    left = (until - clock.now()).total_seconds()
                    await self._wait(min(left, PAUSE_RECHECK))
                    continue
                rows = await asyncio.to_thread(claim_replies, self.channel, BATCH, clock.now())
                if not rows and self._closing:
                    busy = set(self._tasks)  # their chats' next replies, once marked
                    if self._marking is not None and not self._marking.done():
                        busy.add(self._marking)
                    if not busy:
                        return
                    await asyncio.wait(busy)
                    continue
                if not rows:
                    # Replies due but not claimable wait for their chat's send to end, which
                    # wakes this loop; otherwise look again when the next one falls due.
                    waiting, due = await asyncio.to_thread(
                        next_reply_due, self.channel, clock.now()
                    )
                    self._behind = self._behind or waiting
                    soon = (due - clock.now()).total_seconds() if due else IDLE_POLL
                    await self._wait(min(IDLE_POLL, soon))
                    continue
            except Exception as exc:  # the store is down: try again, quietly
                self.outage.failed(exc)
                await self._wait(IDLE_POLL)
                continue
            self._behind = True  # the claimed chats' next replies may follow
            for chat_rows in _by_chat(rows):
                self._spawn(self._send_chat(chat_rows))

    async def _send_chat(self, rows: list[ReplyRow]) -> None:
        """One chat's claimed replies, in order; on a failure the rest wait behind it."""
        sent: list[ReplyRow] = []
        try:
            async with self._slots:
                for n, row in enumerate(rows):
                    try:
                        reply = (  # a file is read on a thread; the rest is no work at all
                            await asyncio.to_thread(reply_of, row.text, row.payload)
                            if reply_files(row.payload)
                            else reply_of(row.text, row.payload)
                        )
                    except OSError as exc:  # its file is gone: nothing to send
                        await asyncio.to_thread(replies_failed, [row.id], f"file: {exc}")
                        continue
                    taken = await self._pacer.acquire()
                    try:
                        await self._deliver(row.chat_id, reply)
                    except SendError as exc:
                        if isinstance(exc, RetryAfter | Paused):
                            self._pacer.refund(taken)
                        await self._failed(row, rows[n + 1 :], exc)
                        return
                    except Exception as exc:  # never log its text: it may hold the token
                        await self._failed(row, rows[n + 1 :], SendError(type(exc).__name__))
                        return
                    sent.append(row)
                    self.stats["sent"] += 1
        finally:
            if sent:
                self._mark_sent(sent)  # wakes the loop for the chat's next replies
            if len(sent) < len(rows):  # a retry's time to look at
                self.wake()

    def _mark_sent(self, rows: list[ReplyRow]) -> None:
        """Mark replies sent, with those other chats' sends ended while the last mark was
        being written: one commit for all of them (a group commit), not one per reply."""
        self._unmarked.extend(rows)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_all(), name=f"marks-{self.channel}")

    async def _mark_all(self) -> None:
        delay = BACKOFF_BASE
        while self._unmarked:
            rows = self._unmarked
            self._unmarked = []
            try:
                await asyncio.to_thread(replies_sent, [r.id for r in rows], clock.now())
            except Exception as exc:  # the store is down: they stay `sending`; try again
                self.outage.failed(exc)
                self._unmarked[:0] = rows
                if self._stopping:  # taken again at the next start (sent twice, then)
                    return
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX, delay * 2)
                continue
            if any(reply_files(r.payload) for r in rows):
                await asyncio.to_thread(_remove_files, rows)
            if self._behind:  # the chats' next replies can be claimed now
                self.wake()

    async def _failed(self, row: ReplyRow, rest: list[ReplyRow], exc: SendError) -> None:
        now = clock.now()
        reason = f"{type(exc).__name__}: {exc}"
        later = [r.id for r in rest]
        if isinstance(exc, Unreachable):
            log.info("replies %s: chat unreachable (%s)", self.channel, exc)
            self.stats["failed"] += 1 + len(rest)
            await asyncio.to_thread(replies_failed, [row.id, *later], reason)
            await asyncio.to_thread(_unreachable, self.channel, row.chat_id, exc.reason)
            await asyncio.to_thread(_remove_files, [row, *rest])
            return
        if isinstance(exc, Paused):
            self.stats["deferred"] += 1
            await asyncio.to_thread(replies_later, [row.id, *later], exc.until, reason, tried=1)
            return
        if now - row.created_at > self._retry_for:
            log.warning(
                "replies %s: row %s given up after %d attempts: %s",
                self.channel,
                row.id,
                row.attempts + 1,
                reason,
            )
            self.stats["failed"] += 1
            await asyncio.to_thread(replies_failed, [row.id], reason)
            await asyncio.to_thread(_remove_files, [row])
            await asyncio.to_thread(replies_later, later, now, None)
            return
        if isinstance(exc, RetryAfter):
            self.stats["rate_limited"] += 1
            wait = exc.seconds
        else:
            self.stats["retried"] += 1
            wait = min(BACKOFF_MAX, BACKOFF_BASE * 2**row.attempts) * random.uniform(0.75, 1.25)
        at = now + dt.timedelta(seconds=wait)
        await asyncio.to_thread(replies_later, [row.id, *later], at, reason, tried=1)


def _by_chat(rows: list[ReplyRow]) -> list[list[ReplyRow]]:
    chats: dict[str, list[ReplyRow]] = {}
    for row in rows:
        chats.setdefault(row.chat_id, []).append(row)
    return list(chats.values())


def _unreachable(channel: str, chat_id: str, reason: str) -> None:
    """The person blocked the bot (or the chat is gone): the clerk sees it."""
    with session_scope() as session:
        people.mark_unreachable(session=session, channel=channel, chat_id=chat_id, reason=reason)


def _remove_files(rows: list[ReplyRow]) -> None:
    for row in rows:
        for path in reply_files(row.payload):
            path.unlink(missing_ok=True)

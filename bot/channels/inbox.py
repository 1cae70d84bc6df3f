"""Handling journalled updates: one chat's in order, different chats at once.

A channel hands each update to its `Inbox` (`receive`), which journals it and, when the chat has
nothing waiting, takes its turn in the same transaction (`handlers.journal.receive`). Otherwise
the inbox runs `take_turn` for that chat on the handlers' threads until none is left waiting,
handing each turn's replies to the reply lane (already claimed, when the chat had none
waiting). It also looks at the journal every `SCAN_EVERY` seconds, so what a crashed process
left waiting (or another process journalled) is handled too.

When the store is unreachable a turn cannot be taken: the update stays journalled (or, if even
the journal failed, unacknowledged at the platform), the person gets one apology sent directly,
the log says so once a minute, and the inbox tries again, backing off, until the store is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.channels.base import in_handler_thread
from bot.core.redact import redact
from handlers import journal
from handlers.types import Incoming, Respond
from schedules.outbox.replies import ReplyRow

log = logging.getLogger(__name__)

SCAN_EVERY = 2.0  # s between looks at the journal for rows nobody woke us for
PRUNE_EVERY = 6 * 3600.0  # s between clearing out handled updates a week old
WORKING_EVERY = 4.5  # s: Telegram shows a chat action ("sending a file…") for 5 s
OUTAGE_LOG_EVERY = 60.0
RETRY_FIRST, RETRY_MAX = 1.0, 30.0


def _one_line(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {detail[0] if detail else ''}")[:300]


class Outage:
    """The store is down: a log line a minute, not a traceback per update."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.down = False
        self._logged_at = float("-inf")
        self._since_log = 0

    def failed(self, exc: BaseException) -> None:
        self.down = True
        now = time.monotonic()
        if now - self._logged_at < OUTAGE_LOG_EVERY:
            self._since_log += 1
            return
        log.error(
            "%s: the database is unreachable (%s); %d more failure(s) since the last line; "
            "updates are kept and handled when it is back",
            self.channel,
            _one_line(exc),
            self._since_log,
        )
        self._logged_at, self._since_log = now, 0

    def ok(self) -> None:
        if self.down:
            log.warning("%s: the database is reachable again", self.channel)
            self.down, self._logged_at, self._since_log = False, float("-inf"), 0


class Inbox:
    """Takes the channel's journalled updates, one chat at a time per chat."""

    def __init__(
        self,
        channel: str,
        respond: Respond,
        *,
        replies_queued: Callable[[list[ReplyRow]], None],
        apologise: Callable[[str], Awaitable[None]],
        outage: Outage,
        show_working: Callable[[str], Awaitable[None]] | None = None,
        redelivers: bool = False,
    ) -> None:
        self.channel = channel
        self._redelivers = redelivers
        self._respond = respond
        self._show_working = show_working
        self._replies_queued = replies_queued
        self._apologise = apologise
        self.outage = outage
        self._busy: set[str] = set()
        self._dirty: set[str] = set()  # woken while busy: look once more before leaving
        self._apologised: set[str] = set()  # chats told of the outage (until it ends)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._scan_loop(), name=f"inbox-{self.channel}")

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop looking; let the turns under way finish (their rows are otherwise kept)."""
        self._stopping = True
        self._stopped.set()
        if self._loop_task is not None:
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._tasks:
            _done, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:
                task.cancel()

    async def receive(self, update_id: str, incoming: Incoming) -> bool:
        """Journal an update and, if its chat is not being answered here, take its turn in
        the same transaction (`journal.receive`); the chat's later updates, and updates of a
        chat being answered, are taken by `_take_all` in order. False for a redelivery.

        Only on a channel that `redelivers` an update it was not told was received (Telegram:
        the offset, the webhook's answer): a crash mid-turn then loses nothing. Elsewhere
        (Zalo, which takes no acknowledgement) the update is journalled in a commit of its
        own before its turn.

        Raises the store's error: the channel must then not acknowledge the update.
        """
        chat_id = incoming.chat_id
        if self._stopping or chat_id in self._busy or not self._redelivers:
            return await self._record(update_id, incoming)
        self._busy.add(chat_id)
        self._dirty.discard(chat_id)
        try:
            got = await in_handler_thread(
                journal.receive, self.channel, update_id, incoming, self._respond, True
            )
        except Exception:  # the turn failed (the store, or a bug): journalled alone, as before,
            self._busy.discard(chat_id)  # the turn is tried again by `_take_all`
            if chat_id in self._dirty:
                self._drain(chat_id)
            return await self._record(update_id, incoming)
        if got.turn is not None and got.turn.replies:
            self._replies_queued(got.turn.claimed)
        if (got.new and (got.turn is None or got.turn.more)) or chat_id in self._dirty:
            self._take_soon(chat_id)  # the chat stays busy
        else:
            self._busy.discard(chat_id)
        return got.new

    async def _record(self, update_id: str, incoming: Incoming) -> bool:
        new = await asyncio.to_thread(journal.record, self.channel, update_id, incoming)
        if new:
            self.wake(incoming.chat_id)
        return new

    def wake(self, chat_id: str) -> None:
        """An update of `chat_id` was journalled."""
        if self._stopping:
            return
        if chat_id in self._busy:
            self._dirty.add(chat_id)
        else:
            self._drain(chat_id)

    def _drain(self, chat_id: str) -> None:
        self._busy.add(chat_id)
        self._take_soon(chat_id)

    def _take_soon(self, chat_id: str) -> None:
        task = asyncio.create_task(self._take_all(chat_id), name=f"inbox-{self.channel}-chat")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take_all(self, chat_id: str) -> None:
        delay = RETRY_FIRST
        try:
            while not self._stopping:
                self._dirty.discard(chat_id)
                try:
                    turn = await self._take(chat_id)
                except Exception as exc:  # the store failed: the update stays journalled
                    self.outage.failed(exc)
                    if chat_id not in self._apologised:
                        self._apologised.add(chat_id)
                        await self._apologise(chat_id)
                    await self._sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                self.outage.ok()
                self._apologised.discard(chat_id)
                delay = RETRY_FIRST
                if turn is not None:
                    if turn.replies:
                        self._replies_queued(turn.claimed)
                    if turn.more:
                        continue
                if chat_id not in self._dirty:
                    return
        finally:
            self._busy.discard(chat_id)

    async def _take(self, chat_id: str) -> journal.Turn | None:
        """One turn of the chat; "working…" kept up meanwhile if it is long work."""
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        shown: list[asyncio.Task[None]] = []

        def working() -> None:  # called from the handler's thread
            if self._show_working is not None:
                loop.call_soon_threadsafe(
                    lambda: shown.append(asyncio.create_task(self._keep_up(chat_id, done)))
                )

        try:
            return await in_handler_thread(
                journal.take_turn, self.channel, chat_id, self._respond, working, True
            )
        finally:
            done.set()
            await asyncio.gather(*shown, return_exceptions=True)

    async def _keep_up(self, chat_id: str, done: asyncio.Event) -> None:
        assert self._show_working is not None
        while not done.is_set():
            await self._show_working(chat_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), WORKING_EVERY)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _scan_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_prune = loop.time()
        while not self._stopping:
            try:
                if loop.time() >= next_prune:
                    await asyncio.to_thread(journal.prune, self.channel)
                    next_prune = loop.time() + PRUNE_EVERY
                chats = await asyncio.to_thread(journal.waiting_chats, self.channel)
            except Exception as exc:
                self.outage.failed(exc)
                chats = []
            for chat_id in chats:
                if chat_id not in self._busy:
                    self._drain(chat_id)
            await self._sleep(SCAN_EVERY)

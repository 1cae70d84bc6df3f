"""Who sends this process's outbox rows: workers on this event loop, or a child process.

The app builds one `Delivery` and hands its `wake` and `lead` to the scheduler, which knows
nothing of how rows are sent. On SQLite one process owns the database, so only the pushes
leader sends, and when it becomes leader the rows a dead process left in `sending` are due at
once; on PostgreSQL every process sends (rows are claimed with SKIP LOCKED) from the start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.channels.base import Runner
from bot.channels.pacer import channel_rate
from bot.core.db import is_sqlite
from bot.core.settings import Settings
from bot.delivery import worker
from bot.delivery.claims import reclaim_stuck
from bot.delivery.process import DeliveryProcess

log = logging.getLogger(__name__)


class Delivery:
    """`start`, `lead`, `wake`, `stop` for the workers of `runners` (one per channel)."""

    def __init__(
        self,
        settings: Settings,
        runners: dict[str, Runner],
        *,
        own_process: bool,
        sending_timeout: dt.timedelta = worker.SENDING_TIMEOUT,
        idle_poll: float = worker.IDLE_POLL,
    ) -> None:
        self.settings = settings
        self.runners = runners
        self.own_process = own_process
        self.sole_sender = is_sqlite(settings.database_url)
        self.sending_timeout = sending_timeout
        self.idle_poll = idle_poll
        self.workers: dict[str, worker.Worker | DeliveryProcess] = {}

    async def start(self) -> None:
        """Start sending now, unless only the pushes leader may (SQLite)."""
        if self.runners and not self.sole_sender:
            self._start_workers()

    async def lead(self) -> None:
        """This process just became the pushes leader."""
        if not self.sole_sender:
            return
        # One process per SQLite database: rows in `sending` belong to a process that died
        # (a crash, kill -9); the leader lock proves it is gone, so they are due now.
        n = await asyncio.to_thread(reclaim_stuck, None, None)
        if n:
            log.warning("pushes: %d messages left in sending by a stopped process", n)
        self._start_workers()

    def wake(self) -> None:
        """Rows may be due now (a push was just expanded)."""
        for sender in self._senders():
            sender.wake()

    async def stop(self) -> None:
        for sender in self._senders():
            await sender.stop()
        self.workers.clear()

    def _senders(self) -> list[worker.Worker | DeliveryProcess]:
        """Each sender once: a delivery process serves every channel."""
        return list({id(w): w for w in self.workers.values()}.values())

    def _start_workers(self) -> None:
        if self.workers:
            return
        if self.own_process:
            process = DeliveryProcess(
                tuple(self.runners),
                sending_timeout=self.sending_timeout,
                idle_poll=self.idle_poll,
                sole_sender=self.sole_sender,
            )
            process.start()
            self.workers = dict.fromkeys(self.runners, process)
            return
        for name, runner in self.runners.items():
            sender = worker.Worker(
                runner,
                rate=channel_rate(name, self.settings),
                sending_timeout=self.sending_timeout,
                idle_poll=self.idle_poll,
            )
            sender.start()
            self.workers[name] = sender

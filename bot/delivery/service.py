"""Who sends this process's outbox rows: workers on this event loop, or a child process.

The app builds one `Delivery` and hands its `lead` and `follow` to the scheduler, which knows
nothing of how rows are sent. Only the pushes leader delivers pushes, on every database:

- SQLite: one process owns the database; when it becomes leader the rows a dead process left
  in `sending` are due at once (the lock proves that process gone);
- PostgreSQL, several `thidua run` on one database, on one machine or many: one sender means
  one pacer, so the platform's rate holds for all of them together, exactly, with no shared
  budget to keep in the store (a round trip per slot) nor clocks to agree on. One process
  already sends at the platform's limit (benchmarks/README.md, "Scale-out"): more senders
  would only share it. Rows a dead process held are due once its lease runs out
  (bot/core/leases.py); a leader that loses its lock stops sending (`follow`).
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
    """`lead`, `follow`, `wake`, `stop` for the workers of `runners` (one per channel)."""

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

    async def lead(self) -> None:
        """This process just became the pushes leader: start sending."""
        if not self.runners:
            return
        if self.sole_sender:
            # One process per SQLite database: rows in `sending` belong to a process that died
            # (a crash, kill -9); the leader lock proves it is gone, so they are due now.
            n = await asyncio.to_thread(reclaim_stuck, None, None)
            if n:
                log.warning("pushes: %d messages left in sending by a stopped process", n)
        self._start_workers()

    async def follow(self) -> None:
        """This process is no longer the leader (its lock was lost): stop sending."""
        if self.workers:
            log.warning("pushes: not the leader any more; delivery stops here")
        await self.stop()

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

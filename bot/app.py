"""The composition root: what `thidua run` starts, readable top to bottom.

settings → handlers (`handlers.router.respond`; every command in `handlers.registry`) → channels
(Telegram, Zalo: `bot.channels.factory`) → one web server on THIDUA_LISTEN for their
webhooks, if any, /healthz, /readyz, /metrics (`bot.channels.health`) and the web desk
(`bot.channels.web`, under /web) →
delivery (in a child process) and the scheduler that feeds it, unless `--no-deliver`. With no
channel token, the console demo (`bot.channels.console_demo`) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.base import Runner
from bot.channels.console_demo import console_demo
from bot.channels.factory import build_runners
from bot.channels.health import Health, instrument
from bot.channels.web.desk import Desk
from bot.core import leases
from bot.core.db import is_sqlite
from bot.core.settings import Settings, get_settings
from bot.delivery import worker
from bot.delivery.service import Delivery
from handlers.router import handle, respond
from schedules.outbox import PUSH_CHANNELS
from schedules.scheduler import TICK_SECONDS, LeaderLock, Scheduler

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


def main(*, deliver: bool = True) -> None:
    settings = get_settings()
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        console_demo(settings, handle)
        return
    asyncio.run(serve(settings, deliver=deliver))


class Pushes:
    """The pushes of this process: the scheduler queues them, delivery sends them.

    The scheduler is handed delivery's `wake` (rows were queued), and `lead` / `follow` (this
    process is, or is no longer, the pushes leader); it never learns whether delivery runs
    here or in a child process. The leader also polls the `polling` runners (PostgreSQL:
    of several processes only one may poll a platform).
    """

    def __init__(
        self,
        settings: Settings,
        runners: dict[str, Runner],
        *,
        own_process: bool = False,
        polling: Sequence[Runner] = (),
        tick: float = TICK_SECONDS,
        sending_timeout: dt.timedelta = worker.SENDING_TIMEOUT,
        idle_poll: float = worker.IDLE_POLL,
    ) -> None:
        self.polling = tuple(polling)
        self.delivery = Delivery(
            settings,
            {n: r for n, r in runners.items() if n in PUSH_CHANNELS},
            own_process=own_process,
            sending_timeout=sending_timeout,
            idle_poll=idle_poll,
        )
        self.schedule = Scheduler(
            settings,
            tuple(self.delivery.runners),
            wake=self.delivery.wake,
            lead=self._lead,
            follow=self._follow,
            tick=tick,
        )
        self.lock = self.schedule.lock
        self.tick, self.run_due = self.schedule.tick, self.schedule.run_due

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        return self.schedule.scheduler

    @property
    def workers(self) -> dict[str, object]:
        return dict(self.delivery.workers)

    async def start(self) -> None:
        await self.schedule.start()  # it starts delivery once the due pushes are queued

    async def _lead(self) -> None:
        await self.delivery.lead()
        for runner in self.polling:
            await runner.start_polling()

    async def _follow(self) -> None:
        await self.delivery.follow()
        for runner in self.polling:
            await runner.stop_polling()

    async def stop(self) -> None:
        await self.schedule.stop()
        await self.delivery.stop()


async def serve(settings: Settings, *, deliver: bool = True) -> None:
    """Run the channels (and, if `deliver`, the pushes) until SIGTERM or SIGINT.

    On PostgreSQL several of these may share the database, on one machine or many: every one
    answers the webhooks it is sent and the updates any of them journalled; the pushes leader
    alone schedules and sends pushes and polls the platforms that are not on a webhook.
    `deliver=False` (`thidua run --no-deliver`) never leads: a web tier that only answers.
    """
    ours = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    child_metrics = _delivery_metrics_dir()
    runners = build_runners(settings, instrument(respond))  # turns counted for /metrics
    webhooks = bool(settings.telegram_webhook_url or settings.zalo_webhook_url)
    sole = is_sqlite(settings.database_url)  # one process per database: it polls from the start
    web_app = web.Application()  # webhooks, if any, and /healthz, /readyz, /metrics
    held: list[Pushes] = []
    watcher = LeaderLock(settings.database_url)  # never taken: who leads, for /readyz

    def leader() -> LeaderLock | None:
        if not deliver:
            return watcher
        return held[0].lock if held and held[0].schedule.channels else None

    Health(
        settings, tuple(r.name for r in runners), leader=leader, child_metrics=child_metrics
    ).mount(web_app)
    Desk(settings).mount(web_app)  # the web desk, under /web
    # The lease first: a turn may write its replies claimed by this process at once.
    await asyncio.to_thread(leases.renew)
    for runner in runners:
        await runner.start(web_app, poll=sole)
    host, port = settings.listen.rsplit(":", 1)
    # Paths carry no token, but keep request logs out of the bot's log all the same.
    site: web.AppRunner = web.AppRunner(web_app, access_log=None)
    await site.setup()
    site_runner: web.AppRunner | None = site
    try:
        await web.TCPSite(site, host or "0.0.0.0", int(port)).start()
        log.info("listening on %s (/healthz, /readyz, /metrics, /web)", settings.listen)
    except OSError as exc:
        if webhooks:
            raise
        # Polling works without it: a health port taken must not stop the bot.
        log.warning("health endpoints: cannot listen on %s (%s)", settings.listen, exc)
        await site.cleanup()
        site_runner = None
    if deliver:
        pushes = Pushes(
            settings,
            {r.name: r for r in runners},
            own_process=True,
            polling=() if sole else runners,
        )
        held.append(pushes)
        await pushes.start()
    else:
        log.info("--no-deliver: answering people only; pushes are another process's")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    freeze_startup_objects()
    log.info("thidua running: %s", ", ".join(r.name for r in runners))
    await stop.wait()
    log.info("stopping")
    for pushes in held:
        await pushes.stop()
    for runner in runners:
        await runner.stop()
    with contextlib.suppress(Exception):  # the store is gone: the lease runs out by itself
        await asyncio.to_thread(leases.end)
    if site_runner is not None:
        await site_runner.cleanup()
    if ours:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(child_metrics, ignore_errors=True)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, the campaign, catalogs, templates, the ORM's
    mappings: most of the process's objects, living as long as it does) out of the garbage
    collector's full passes (`gc.freeze`). Those passes scanned them all: a pause of about
    150 ms every few dozen desk pages (benchmarks/README.md, "Web desk"), 1.5 ms once frozen.
    """
    gc.collect()
    gc.freeze()


def _delivery_metrics_dir() -> str:
    """The folder the delivery process counts its sends in (prometheus-client reads
    PROMETHEUS_MULTIPROC_DIR when a process first imports it: the child, not us): the
    operator's, or a fresh one (removed at stop)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        return given
    folder = tempfile.mkdtemp(prefix="thidua-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder

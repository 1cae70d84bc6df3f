"""`GET /healthz`, `/readyz` and `/metrics` on THIDUA_LISTEN, in every mode (polling too).

- `/healthz`: the process answers (200).
- `/readyz`: 200 when the database answers, each channel received recently (a polling channel:
  a good poll within THIDUA_READY_POLL_AGE, or no poll ended yet in a process younger than
  that; a webhook channel: its webhook registered or a request received), the
  pushes leader is known (this process or another), and the failed outbox rows to people still
  reachable are at most THIDUA_READY_MAX_FAILED; else 503. The body says which check failed.
- `/metrics`: Prometheus text: this process's counters (bot.core.metrics), the delivery
  process's (multiprocess files), and figures read from the store on each scrape.

Nothing here names a person, a chat or a token: labels are channels, commands and statuses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlmodel import Session, col, func, select

from bot.core import clock, metrics
from bot.core import models as m
from bot.core.db import engine, session_scope
from bot.core.settings import Settings
from bot.core.store import NoCampaign, active_campaign
from handlers import registry
from handlers.types import Incoming, Reply, Respond
from schedules import outbox
from schedules.scheduler import ADVISORY_KEY, LeaderLock

log = logging.getLogger(__name__)

# ---- turns ----------------------------------------------------------------------------------

_turn = threading.local()


class _ErrorSeen(logging.Filter):
    """The router logs a failed turn at ERROR on the thread that handles it: note it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            _turn.failed = True
        return True


_ERRORS = _ErrorSeen()


def command_label(incoming: Incoming) -> str:
    """The command's own name (aliases folded), or what kind of message it was."""
    if incoming.command is not None:
        found = registry.BY_NAME.get(incoming.command.lower())
        return found.name if found is not None else "unknown"
    if incoming.choice is not None:
        return "choice"
    if incoming.attachment is not None:
        return "attachment"
    return "text"


def instrument(respond: Respond) -> Respond:
    """`respond`, counted: turns and errors by channel and command, and how long each took."""
    router = logging.getLogger(getattr(respond, "__module__", "handlers.router"))
    if _ERRORS not in router.filters:
        router.addFilter(_ERRORS)

    def counted(session: Session, incoming: Incoming) -> list[Reply]:
        label, channel = command_label(incoming), incoming.channel
        _turn.failed = False
        start = time.perf_counter()
        try:
            return respond(session, incoming)
        except BaseException:
            _turn.failed = True
            raise
        finally:
            metrics.TURN_SECONDS.labels(channel).observe(time.perf_counter() - start)
            metrics.TURNS.labels(channel, label).inc()
            if _turn.failed:
                metrics.TURN_ERRORS.labels(channel, label).inc()

    return counted


# ---- what the store says --------------------------------------------------------------------


def _leader_elsewhere(lock: LeaderLock) -> bool:
    """Does another process hold the pushes leader lock?"""
    if lock.sqlite:
        path = lock.path
        if path is None or not path.exists():
            return False
        try:
            pid = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, another user's
            return True
        return True
    high, low = (ADVISORY_KEY >> 32) & 0xFFFFFFFF, ADVISORY_KEY & 0xFFFFFFFF
    with engine().connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"high": high, "low": low},
        ).scalar_one()
    return bool(found)


def failed_to_reachable() -> int:
    """Failed outbox rows to people the bot can still reach (a block is not a fault)."""
    with session_scope() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(m.Outbox)
                .join(m.Identity, col(m.Identity.id) == col(m.Outbox.identity_id))
                .where(col(m.Outbox.status) == "failed", col(m.Identity.reachable))
            ).one()
        )


def next_push_at() -> float | None:
    """When the next push of the active campaign is due (Unix time), if any."""
    now = clock.now()
    try:
        with session_scope() as session:
            row, campaign = active_campaign(session=session)
            done = set(
                session.exec(select(m.PushRun.key).where(col(m.PushRun.campaign_id) == row.id))
            )
    except NoCampaign:
        return None
    due = [p.at for p in outbox.pushes(campaign) if p.key not in done and p.at > now]
    return min(due).timestamp() if due else None


class StoreCollector(Collector):
    """Figures read from the store at each scrape: the truth whichever process sends."""

    def __init__(self, leader: Callable[[], LeaderLock | None]) -> None:
        self.leader = leader

    def collect(self) -> Iterator[Metric]:
        rows = GaugeMetricFamily(
            "thidua_outbox_rows",
            "Outbox rows by channel and status.",
            labels=["channel", "status"],
        )
        retries = GaugeMetricFamily(
            "thidua_outbox_retries",
            "Send attempts beyond the first, over the outbox, by channel.",
            labels=["channel"],
        )
        with session_scope() as session:
            for channel, by_status in outbox.counts(session=session).items():
                for status, n in by_status.items():
                    rows.add_metric([channel, status], n)
            extra = func.sum(col(m.Outbox.attempts) - 1)
            for channel, n in session.exec(
                select(m.Outbox.channel, extra)
                .where(col(m.Outbox.attempts) > 1)
                .group_by(col(m.Outbox.channel))
            ):
                retries.add_metric([channel], float(n or 0))
        yield rows
        yield retries
        at = next_push_at()
        nxt = GaugeMetricFamily(
            "thidua_next_push_timestamp_seconds", "When the next push is due (Unix time)."
        )
        if at is not None:
            nxt.add_metric([], at)
        yield nxt
        lock = self.leader()
        yield GaugeMetricFamily(
            "thidua_pushes_leader",
            "1 if this process schedules the pushes.",
            value=1.0 if lock is not None and lock.held else 0.0,
        )
        received = GaugeMetricFamily(
            "thidua_channel_last_received_timestamp_seconds",
            "When each channel last received (a good poll, a webhook request or registration).",
            labels=["channel"],
        )
        for channel, when in sorted(metrics.LAST_RECEIVED.items()):
            received.add_metric([channel], when)
        yield received


class Combined(Collector):
    """Sums the samples of several collectors (this process and the delivery process)."""

    def __init__(self, sources: Callable[[], Iterable[Collector]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for source in self.sources():
            for family in source.collect():
                if family.name not in families:
                    families[family.name] = Metric(family.name, family.documentation, family.type)
                    values[family.name] = {}
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    values[family.name][key] = values[family.name].get(key, 0.0) + sample.value
        for name, family in families.items():
            for (sample_name, labels), value in values[name].items():
                family.add_sample(sample_name, dict(labels), value)
            yield family


# ---- the endpoints --------------------------------------------------------------------------


class Health:
    """The three endpoints of one `thidua run`."""

    def __init__(
        self,
        settings: Settings,
        channels: tuple[str, ...],
        *,
        leader: Callable[[], LeaderLock | None] = lambda: None,
        child_metrics: str | None = None,
    ) -> None:
        self.settings = settings
        self.channels = channels
        self.leader = leader
        self.child_metrics = child_metrics
        self.webhooks = {
            channel: urlsplit(url).path or "/"
            for channel, url in (
                ("telegram", settings.telegram_webhook_url),
                ("zalo", settings.zalo_webhook_url),
            )
            if url and channel in channels
        }
        self.store = StoreCollector(leader)
        self.started = time.time()

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        app.middlewares.append(self.webhook_seen)

    @web.middleware
    async def webhook_seen(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if request.method == "POST" and 200 <= response.status < 300:
            for channel, path in self.webhooks.items():
                if request.path == path:
                    metrics.mark_received(channel)
        return response

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(self, _request: web.Request) -> web.Response:
        ready, checks = await asyncio.to_thread(self.readiness)
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(self.exposition)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    def exposition(self) -> bytes:
        out = CollectorRegistry(auto_describe=False)
        out.register(Combined(self._sources))
        out.register(self.store)
        return generate_latest(out)

    def _sources(self) -> list[Collector]:
        sources: list[Collector] = [] if metrics.MULTIPROCESS else [metrics.REGISTRY]
        if self.child_metrics and Path(self.child_metrics).is_dir():
            sources.append(MultiProcessCollector(None, path=self.child_metrics))
        return sources

    def readiness(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        checks: dict[str, dict[str, Any]] = {}
        try:
            with engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            checks["database"] = {"ok": True}
        except Exception as exc:  # any failure to reach it: not ready
            checks["database"] = {"ok": False, "error": type(exc).__name__}
            return False, checks
        now, limit = time.time(), self.settings.ready_poll_age.total_seconds()
        for channel in self.channels:
            when = metrics.LAST_RECEIVED.get(channel)
            if channel in self.webhooks:
                checks[channel] = {"ok": when is not None, "mode": "webhook"}
            elif when is None:
                # A long poll takes up to 30 s to end when nobody writes: a channel that has
                # not finished its first one is ready while it is young.
                checks[channel] = {
                    "ok": now - self.started <= limit,
                    "mode": "polling",
                    "last_poll_age_s": None,
                }
            else:
                age = round(now - when, 1)
                checks[channel] = {"ok": age <= limit, "mode": "polling", "last_poll_age_s": age}
        lock = self.leader()
        if lock is None:
            checks["scheduler"] = {"ok": True, "leader": "none needed"}
        elif lock.held:
            checks["scheduler"] = {"ok": True, "leader": "this process"}
        else:
            elsewhere = _leader_elsewhere(lock)
            checks["scheduler"] = {
                "ok": elsewhere,
                "leader": "another process" if elsewhere else "unknown",
            }
        failed = failed_to_reachable()
        limit_failed = self.settings.ready_max_failed
        checks["outbox"] = {"ok": failed <= limit_failed, "failed": failed, "max": limit_failed}
        return all(c["ok"] for c in checks.values()), checks

"""/healthz, /readyz and /metrics of a real `thidua run` (polling, against FakeTelegram), read
over HTTP after real turns and a real push; and the turn counter around the real router."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bot.channels.health import instrument
from bot.core import clock, metrics
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.store import active_campaign
from handlers import router
from handlers.types import Incoming
from schedules import outbox
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.pushes_helpers import add_people, local, push_of, rows, wait_until
from tests.telegram_helpers import Person, telegram_settings

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock, signals")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


async def test_health_readiness_and_metrics_of_a_running_bot(ready, monkeypatch, tmp_path):
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        port = free_port()
        telegram_settings(
            monkeypatch,
            tg,
            THIDUA_LISTEN=f"127.0.0.1:{port}",
            THIDUA_READY_MAX_FAILED="0",
            ZALO_BOT_TOKEN=zalo.token,
            ZALO_BASE_URL=zalo.root,
        )
        for n in (1001, 1002):
            tg.user(n, f"Người {n}")
        add_people(2, start=1001)
        push = push_of("anniversary", ref="sinh-nhat-bac-ho")
        tg.fail_next("sendMessage", 429, retry_after=1)  # the push's first send
        log = tmp_path / "bot.log"
        env = {**os.environ, "THIDUA_NOW": local(push, seconds=-3), "PYTHONPATH": str(ROOT)}
        with log.open("w") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", env=env, stdout=out, stderr=out
            )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_until(lambda: "thidua running" in log.read_text(), timeout=60)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                alive = await http.get("/healthz")
                assert alive.status_code == 200 and alive.json() == {"alive": True}

                await wait_until(lambda: {r.status for r in rows()} == {"sent"}, timeout=30)
                lan = Person(tg, tg.user(1001, "Người 1001"))
                await lan.say("/huongdan", timeout=30)  # the Vietnamese alias of /help
                await lan.say("/khongco", timeout=30)  # no such command

                ready_now = await http.get("/readyz")
                assert ready_now.status_code == 200, ready_now.text
                checks = ready_now.json()["checks"]
                assert checks["database"]["ok"] and checks["telegram"]["mode"] == "polling"
                assert checks["telegram"]["last_poll_age_s"] < 60
                # Zalo's first long poll (30 s) has not ended: ready, as a young process.
                assert checks["zalo"]["ok"] and checks["zalo"]["mode"] == "polling"
                assert checks["scheduler"] == {"ok": True, "leader": "this process"}
                assert checks["outbox"] == {"ok": True, "failed": 0, "max": 0}

                # the push and both answers (the reply lane may still be sending the last)
                await tg.wait_for(lambda: len(tg.sent(1001)) == 3, timeout=10)
                sent = len(tg.sent(1001)) + len(tg.sent(1002))
                # The fake records a message before it answers; the bot counts on the answer.
                for _ in range(50):
                    body = (await http.get("/metrics")).text
                    found = samples(body)
                    ok = value(found, "thidua_sends_total", channel="telegram", outcome="ok")
                    marked = value(found, "thidua_outbox_rows", channel="telegram", status="sent")
                    if ok == sent and marked == 4:  # a reply is marked just after it is sent
                        break
                    await asyncio.sleep(0.1)
                assert value(found, "thidua_turns_total", channel="telegram", command="help") == 1
                assert (
                    value(found, "thidua_turns_total", channel="telegram", command="unknown") == 1
                )
                assert value(found, "thidua_turn_seconds_count", channel="telegram") == 2
                assert (value(found, "thidua_turn_seconds_sum", channel="telegram") or 0) > 0
                # The two pushes went from the delivery process, the answers from this one.
                assert value(found, "thidua_sends_total", channel="telegram", outcome="ok") == sent
                assert sent == 4
                assert (
                    value(found, "thidua_sends_total", channel="telegram", outcome="rate_limited")
                    == 1
                )
                assert value(found, "thidua_rate_limited_total", channel="telegram") == 1
                # the two pushes and the two answers (replies go through the outbox too)
                assert value(found, "thidua_outbox_rows", channel="telegram", status="sent") == 4
                assert value(found, "thidua_outbox_retries", channel="telegram") == 1
                assert value(found, "thidua_pushes_leader") == 1
                assert value(
                    found, "thidua_channel_last_received_timestamp_seconds", channel="telegram"
                )
                with session_scope() as session:
                    campaign = active_campaign(session=session)[1]
                after = min(p.at for p in outbox.pushes(campaign) if p.at > push.at)
                assert value(found, "thidua_next_push_timestamp_seconds") == after.timestamp()
                # Nothing names a person, a chat or a token.
                secrets = (tg.token, tg.token.split(":")[1], zalo.token, "Người", "1001", "1002")
                for secret in secrets:
                    assert secret not in body

                with session_scope() as session:
                    session.exec(
                        sa.update(m.Outbox)
                        .where(m.Outbox.id == rows()[0].id)
                        .values(status="failed")
                    )
                not_ready = await http.get("/readyz")
                assert not_ready.status_code == 503
                assert not_ready.json()["checks"]["outbox"] == {"ok": False, "failed": 1, "max": 0}
                assert "Người" not in not_ready.text and tg.token not in not_ready.text
        finally:
            bot.terminate()
            assert await asyncio.wait_for(bot.wait(), 60) == 0, log.read_text()[-2000:]


async def test_a_busy_health_port_does_not_stop_a_polling_bot(ready, monkeypatch, tmp_path):
    async with FakeTelegram() as tg:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            telegram_settings(monkeypatch, tg, THIDUA_LISTEN=f"127.0.0.1:{port}")
            log = tmp_path / "bot.log"
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            with log.open("w") as out:
                bot = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot.cli", "run", env=env, stdout=out, stderr=out
                )
            try:
                await wait_until(lambda: "thidua running" in log.read_text(), timeout=60)
                assert f"127.0.0.1:{port}" in log.read_text()  # the warning names it
            finally:
                bot.terminate()
                assert await asyncio.wait_for(bot.wait(), 60) == 0


def test_a_failed_turn_is_counted_as_an_error(people, chat_as, monkeypatch):
    person = people.add()
    counted = instrument(router.respond)
    labels = {"channel": "test", "command": "report"}
    before = metrics.REGISTRY.get_sample_value("thidua_turn_errors_total", labels) or 0
    monkeypatch.setattr(router, "_turn", lambda *a: 1 / 0)
    incoming = Incoming.parse(
        channel="test", chat_id=person.user_id, user_id=person.user_id, text="/baocao"
    )
    with session_scope() as session:
        session.add(m.AuditEvent(at=clock.now(), action="probe"))  # a write first, as the
        session.flush()  # journal's turn does
        assert len(counted(session, incoming.cleaned())) == 1  # the apology, with its number
    assert metrics.REGISTRY.get_sample_value("thidua_turn_errors_total", labels) == before + 1
    assert metrics.REGISTRY.get_sample_value("thidua_turns_total", labels) >= 1


def test_the_leader_in_another_process_is_known(ready, tmp_path):
    from bot.channels.health import Health
    from bot.core.settings import get_settings
    from schedules.scheduler import LeaderLock

    settings = get_settings()
    hold = (
        "import sys, time; from schedules.scheduler import LeaderLock; "
        "lock = LeaderLock(sys.argv[1]); assert lock.acquire(); print('ok', flush=True); "
        "time.sleep(60)"
    )
    leader = subprocess.Popen(
        [sys.executable, "-c", hold, settings.database_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    health = Health(settings, (), leader=lambda: LeaderLock(settings.database_url))
    try:
        assert leader.stdout is not None and leader.stdout.readline().strip() == b"ok"
        ready_now, checks = health.readiness()
        assert ready_now and checks["scheduler"] == {"ok": True, "leader": "another process"}
    finally:
        leader.kill()
        leader.wait()
        assert leader.stdout is not None
        leader.stdout.close()
    ready_now, checks = health.readiness()
    assert not ready_now and checks["scheduler"] == {"ok": False, "leader": "unknown"}


def test_a_stale_poll_is_not_ready(ready, monkeypatch):
    import time

    from bot.channels.health import Health
    from bot.core.settings import get_settings

    health = Health(get_settings(), ("telegram", "zalo"))
    health.started = time.time() - 1000  # the process is old...
    monkeypatch.setitem(metrics.LAST_RECEIVED, "telegram", time.time() - 1000)  # ...polls stale
    monkeypatch.delitem(metrics.LAST_RECEIVED, "zalo", raising=False)
    ready_now, checks = health.readiness()
    assert not ready_now
    assert checks["telegram"] == {"ok": False, "mode": "polling", "last_poll_age_s": 1000.0}
    assert checks["zalo"] == {"ok": False, "mode": "polling", "last_poll_age_s": None}


async def test_a_webhook_channel_is_ready_once_a_webhook_request_came(ready, monkeypatch):
    from aiohttp import web

    from bot.channels.health import Health
    from bot.core.settings import get_settings

    monkeypatch.setenv("ZALO_WEBHOOK_URL", "https://bot.example.gov.vn/zalo/webhook")
    get_settings.cache_clear()
    monkeypatch.delitem(metrics.LAST_RECEIVED, "zalo", raising=False)
    served = web.Application()
    Health(get_settings(), ("zalo",)).mount(served)

    async def webhook(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    served.router.add_post("/zalo/webhook", webhook)
    runner = web.AppRunner(served)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            before = await http.get("/readyz")
            assert before.status_code == 503
            assert before.json()["checks"]["zalo"] == {"ok": False, "mode": "webhook"}
            assert (await http.post("/zalo/webhook", json={})).status_code == 200
            after = await http.get("/readyz")
            assert after.status_code == 200, after.text
    finally:
        await runner.cleanup()

"""Several `thidua run` on one PostgreSQL behave as one bot (issue 17, item 7): real processes
against FakeTelegram, which answers 429 over its global limit and 409 to a second poller.

- a broadcast is delivered once to each person, never faster than the limit in any second;
- a person writing is answered once (only the leader polls; every process takes turns);
- `--no-deliver` never leads; kill -9 of the leader: another leads within 30 s, and the rows
  the dead one held are sent once its lease runs out, nobody lost.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.telegram import SECRET_HEADER
from bot.core import leases
from tests.conftest import PG_URL
from tests.fakes.telegram_api import FakeTelegram
from tests.pushes_helpers import wait_until
from tests.scaleout_helpers import (
    Cluster,
    CountingTelegram,
    add_audience,
    queue_broadcast,
    statuses,
)
from tests.telegram_helpers import Person, start_runner, telegram_settings

several_processes = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL, /proc"),
    pytest.mark.skipif(
        not PG_URL,
        reason="several processes share a database on PostgreSQL only "
        "(set THIDUA_TEST_DATABASE_URL)",
    ),
]

RATE = 60  # msg/s: the platform's global limit here
AUDIENCE = range(5000, 5600)


def delivered(tg: CountingTelegram) -> bool:
    return all(tg.got[chat] for chat in AUDIENCE)


@several_processes[0]
@several_processes[1]
async def test_three_processes_send_once_within_the_limit_and_outlive_their_leader(
    ready, tmp_path
):
    async with CountingTelegram(
        tag="Kiểm tra lần 1", rate_limit_per_s=RATE, chat_rate_limit_per_s=1
    ) as tg:
        add_audience(tg, AUDIENCE)
        cluster = Cluster(tg, tmp_path, RATE)
        senders = cluster.start(3)
        (web,) = cluster.start(1, "--no-deliver")
        try:
            await cluster.ready(120)
            first = await cluster.leader(30)

            # 1. a broadcast, all three running: once each, at the limit at most
            assert queue_broadcast("Kiểm tra lần 1", "scaleout-1") == len(AUDIENCE)
            await wait_until(lambda: delivered(tg), timeout=60)
            once = dict(tg.got)
            busiest, refused = tg.busiest_second(), tg.refused

            # 2. a person writes: answered once (polled by the leader, handled by one)
            lan = Person(tg, tg.user(4999, "Lan"))
            await lan.say("/help", timeout=30)
            await wait_until(lambda: statuses()["sending"] == 0, timeout=10)
            await asyncio.sleep(1.0)  # a second answer, if any, would come now
            answers = [r["plain_text"] for r in lan.sent]

            # 3. kill -9 of the leader in the middle of a broadcast
            tg.forget()
            tg.tag = "Kiểm tra lần 2"
            queue_broadcast("Kiểm tra lần 2", "scaleout-2")
            await wait_until(lambda: len(tg.times) >= len(AUDIENCE) // 4, timeout=60)
            Cluster.kill(first)
            killed = time.monotonic()
            in_flight = statuses()["sending"]
            others = [b for b in senders if b is not first]
            second = await cluster.leader(30, among=others)
            took_over = time.monotonic() - killed
            await wait_until(lambda: delivered(tg), timeout=90)
            await wait_until(lambda: set(statuses()) == {"sent"}, timeout=30)
        finally:
            await cluster.stop()
    assert set(once) == set(AUDIENCE) and set(once.values()) == {1}
    assert busiest <= RATE and refused == 0, (busiest, refused)
    assert len(answers) == 1 and "/start" in answers[0]  # she is not registered: welcomed
    assert took_over < 30, took_over
    assert in_flight > 0  # killed with rows claimed
    duplicated = sum(n - 1 for n in tg.got.values())
    assert set(tg.got) == set(AUDIENCE) and duplicated <= in_flight, (duplicated, in_flight)
    assert "due again" in second.text()  # the dead one's rows, once its lease ran out
    logs = "".join(b.text() for b in cluster.bots)
    assert "Conflict" not in logs and "Traceback" not in logs
    assert not web.leads() and "--no-deliver" in web.text()
    assert leases.TTL.total_seconds() <= 15


async def test_processes_behind_a_load_balancer_agree_on_the_webhook_secret(ready, monkeypatch):
    """No TELEGRAM_WEBHOOK_SECRET set: each process registers the webhook at its start, so
    each must register (and check) the same secret, or the last one would refuse the others'
    requests."""
    async with FakeTelegram() as tg:
        settings = telegram_settings(
            monkeypatch, tg, TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram"
        )
        first, second = web.Application(), web.Application()
        a = await start_runner(settings, web_app=first)
        secret = (tg.webhook() or {})["secret_token"]
        b = await start_runner(settings, web_app=second)
        try:
            assert secret and (tg.webhook() or {})["secret_token"] == secret
            assert tg.token not in secret
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 7, "type": "private"},
                    "from": {"id": 7, "is_bot": False, "first_name": "Lan"},
                    "text": "/help",
                },
            }
            async with TestClient(TestServer(first)) as client:  # the first one checks it too
                right = await client.post(
                    "/telegram", json=update, headers={SECRET_HEADER: secret}
                )
                wrong = await client.post("/telegram", json=update, headers={SECRET_HEADER: "x"})
            assert right.status == 200 and wrong.status != 200
        finally:
            await a.stop()
            await b.stop()

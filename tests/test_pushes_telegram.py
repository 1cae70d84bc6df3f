"""A calendar push through the real TelegramRunner (python-telegram-bot) against FakeTelegram:
a 429 with retry_after is waited out, a blocked user (403) is marked unreachable."""

from __future__ import annotations

import pytest

from handlers.router import handle
from tests.conftest import at
from tests.fakes.telegram_api import FakeTelegram
from tests.pushes_helpers import (
    add_people,
    identity,
    local,
    push_of,
    rows,
    started_pushes,
    wait_until,
)
from tests.telegram_helpers import start_runner, telegram_settings


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server


async def test_a_push_through_telegram_honours_429_and_marks_blocked_users(ready, monkeypatch, tg):
    settings = telegram_settings(monkeypatch, tg, TELEGRAM_RATE="50")
    for n in (1001, 1002, 1003):
        tg.user(n, f"Người {n}")
    add_people(3, start=1001)
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    at(local(push, seconds=5))
    tg.fail_next("sendMessage", 429, retry_after=1)
    tg.block(1002)
    runner = await start_runner(settings, handle)
    try:
        async with started_pushes() as make:
            await make(runner)
            await tg.wait_for(lambda: tg.sent(1001) and tg.sent(1003), timeout=6)
            await wait_until(lambda: {r.status for r in rows()} == {"sent", "failed"})
    finally:
        await runner.stop()
    assert [r["plain_text"] for r in tg.sent(1001)] == [push.event.text]
    assert [r["plain_text"] for r in tg.sent(1003)] == [push.event.text]
    calls = [c for c in tg.calls_to("sendMessage") if str(c["params"]["chat_id"]) == "1001"]
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["time"] - calls[0]["time"] >= 1.0  # retry_after honoured
    assert tg.sent(1002) == []
    (failed,) = rows(status="failed")
    assert failed.chat_id == "1002" and "blocked by the user" in failed.last_error
    assert not identity("1002").reachable

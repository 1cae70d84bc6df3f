"""Replies go through the outbox: a platform outage or a quota pause delays them, never loses
them. The real runners against FakeTelegram and FakeZalo on 127.0.0.1, the real handlers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import models as m
from bot.core.db import session_scope
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.telegram_helpers import Person, invite_code, start_runner, telegram_settings

HOW_TO_REGISTER = "mã mời"  # in the reply to someone not registered


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def replies(**where: object) -> list[m.Outbox]:
    with session_scope() as session:
        query = select(m.Outbox).where(col(m.Outbox.priority) >= m.REPLY_LANE)
        for name, value in where.items():
            query = query.where(getattr(m.Outbox, name) == value)
        return list(session.exec(query.order_by(col(m.Outbox.id))))


async def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return result


async def test_telegram_down_for_10_s_then_back_every_reply_arrives_once(ready, tg, monkeypatch):
    runner = await start_runner(telegram_settings(monkeypatch, tg))
    try:
        lan = Person(tg, tg.user(5001, "Lan"))
        await lan.say(f"/start {invite_code()}")
        await until(tg.polling, 10, "the next long poll")
        tg.fail_next("*", 502, times=100_000)  # every call, polling too, for 10 seconds
        await lan.user.send_text("/help")  # handed to the poll under way: answered in the outage
        await asyncio.sleep(10)
        assert len(tg.sent(lan.id)) == 1  # only the greeting: nothing got through
        tg.clear_faults()
        await lan.user.send_text("/my")  # written while Telegram was down
        await tg.wait_sent(lan.id, 3, timeout=30)
    finally:
        await runner.stop()
    texts = [r["plain_text"] for r in tg.sent(lan.id)]
    assert len(texts) == 3 and "/baocao" in texts[1]  # /help, once, then /my, in order
    rows = replies()
    assert [r.status for r in rows] == ["sent"] * 3
    assert rows[1].attempts > 1 and rows[1].last_error is None


async def test_the_first_reply_failing_holds_the_chats_next_ones_behind_it(ready, tg, monkeypatch):
    runner = await start_runner(telegram_settings(monkeypatch, tg))
    try:
        lan = Person(tg, tg.user(5001, "Lan"))
        await lan.say(f"/start {invite_code()}")
        tg.fail_next("sendMessage", 502)
        await lan.user.send_text("/help")
        await lan.user.send_text("/lang")
        await tg.wait_sent(lan.id, 3, timeout=15)
    finally:
        await runner.stop()
    first, second = tg.sent(lan.id)[1:]
    assert "/baocao" in first["plain_text"]  # /help's answer, retried, still first
    assert first["reply_markup"] is None and second["reply_markup"] is not None  # /lang's menu


async def test_a_reply_given_up_after_the_setting_shows_in_the_outbox(ready, tg, monkeypatch):
    settings = telegram_settings(monkeypatch, tg, THIDUA_REPLY_RETRY_MINUTES="0.02")
    runner = await start_runner(settings)
    try:
        tg.fail_next("sendMessage", 502, times=100_000)
        stranger = Person(tg, tg.user(5002, "Người lạ"))
        await stranger.user.send_text("xin chào")
        await until(lambda: replies(status="failed"), 10, "the reply to fail")
    finally:
        await runner.stop()
        tg.clear_faults()
    (row,) = replies()
    assert row.identity_id is None and row.person_id is None and row.attempts >= 2
    assert HOW_TO_REGISTER in row.text
    shown = CliRunner().invoke(app, ["outbox", "--json"])
    assert shown.exit_code == 0, shown.output
    assert f'"id": {row.id}' in shown.output and "Transient" in shown.output


async def test_zalo_quota_429_while_a_stranger_writes_then_outbox_retry_sends_it_at_once(
    ready, monkeypatch
):
    from bot.channels.zalo import ZaloRunner
    from bot.core.settings import get_settings
    from handlers.router import respond

    async with FakeZalo() as zl:
        monkeypatch.setenv("ZALO_BOT_TOKEN", zl.token)
        monkeypatch.setenv("ZALO_BASE_URL", zl.root)
        get_settings.cache_clear()
        runner = ZaloRunner(get_settings(), respond, poll_timeout=1, poll_interval=0.05)
        await runner.start(None)
        try:
            zl.quota_exhausted = True
            await zl.send_text("z-stranger", "xin chào")
            await until(lambda: replies(attempts=1), 10, "the reply held by the quota")
            (held,) = replies()
            assert held.identity_id is None and held.status == "pending"
            assert zl.sent_texts("z-stranger") == []
            zl.quota_exhausted = False
            retried = CliRunner().invoke(app, ["outbox", "retry"])
            assert retried.exit_code == 0, retried.output
            started = time.monotonic()
            await zl.wait_sent("z-stranger", 1, timeout=10)
            took = time.monotonic() - started
        finally:
            await runner.stop()
    assert took < 3.0  # at once: the lane looks at the pause every second
    (text,) = zl.sent_texts("z-stranger")
    assert HOW_TO_REGISTER in (text or "")
    assert [r.status for r in replies()] == ["sent"]

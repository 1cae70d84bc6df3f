"""Delivery: rate limits, 429 retry_after, backoff, unreachable chats, paused channels, crash
recovery; driven through `Pushes` with an in-memory runner that injects the send errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import time

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.channels import pacer
from bot.channels.base import Paused, RetryAfter, Transient, Unreachable
from bot.cli.main import app
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.settings import get_settings
from bot.delivery import worker as delivery
from schedules.scheduler import LeaderLock
from tests.cli_table import table_rows
from tests.conftest import People, at
from tests.pushes_helpers import (
    FakeRunner,
    add_people,
    channel_env,
    identity,
    local,
    push_of,
    rows,
    wait_until,
)


@pytest.fixture
def anniversary(ready, monkeypatch):
    """Three people on Telegram, the clock 5 s after the 19/05 anniversary push was due."""
    channel_env(monkeypatch)
    add_people(3, start=1)
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    at(local(push, seconds=5))
    return push


async def test_429_retry_after_is_honoured(anniversary, pushes):
    tg = FakeRunner()
    tg.faults["1"].append(RetryAfter(1.0))
    await pushes(tg)
    await wait_until(lambda: tg.chats() == {"1", "2", "3"}, timeout=4)
    first, second = tg.attempts["1"]
    assert second - first >= 1.0
    assert tg.sent[-1][0] == "1"  # the others did not wait for it
    (row,) = [r for r in rows(push_key=anniversary.key) if r.chat_id == "1"]
    await wait_until(lambda: rows(id=row.id)[0].status == "sent")
    assert rows(id=row.id)[0].attempts == 2


async def test_403_marks_the_identity_unreachable_and_the_clerk_sees_it(
    anniversary, pushes, monkeypatch
):
    tg = FakeRunner()
    tg.faults["2"].append(Unreachable("Forbidden: bot was blocked by the user"))
    p = await pushes(tg)
    await wait_until(lambda: tg.chats() == {"1", "3"})
    await wait_until(lambda: rows(chat_id="2")[0].status == "failed")
    (row,) = rows(chat_id="2")
    assert row.attempts == 1 and "blocked by the user" in row.last_error
    blocked = identity("2")
    assert not blocked.reachable and "blocked by the user" in blocked.unreachable_reason
    assert len(tg.attempts["2"]) == 1  # permanent: not tried again
    await p.stop()  # (the CLI sets the clock from THIDUA_NOW, unset here)
    result = CliRunner().invoke(app, ["outbox"])
    assert result.exit_code == 0, result.output
    shown = table_rows(result.output)
    assert ["Kênh", "chờ gửi", "đang gửi", "đã gửi", "lỗi", "tạm hoãn"] in shown
    assert ["telegram", "0", "0", "2", "1", "0"] in shown
    failed = next(r for r in shown if r[1] == "Người 2")
    assert failed[2:4] == ["QLCN", "telegram"]
    assert failed[4].startswith("Unreachable: Forbidden: bot was blocked")
    # The next push leaves the blocked chat out.
    later = push_of("anniversary_reminder", ref="thanh-lap-tp-ha-tinh")
    at(local(later, seconds=5))
    await pushes(tg)
    await wait_until(lambda: len(tg.sent) == 4)
    assert {r.chat_id for r in rows(push_key=later.key)} == {"1", "3"}


async def test_transient_errors_back_off_then_give_up(anniversary, pushes, monkeypatch):
    monkeypatch.setattr(delivery, "BACKOFF_BASE", 0.05)
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 4)
    tg = FakeRunner()
    tg.faults["1"].append(Transient("Bad Gateway"))
    tg.fail_all = lambda chat: Transient("Internal Server Error") if chat == "3" else None
    await pushes(tg)
    await wait_until(lambda: rows(chat_id="3")[0].status == "failed", timeout=6)
    tries = tg.attempts["3"]
    assert len(tries) == 4
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[0] >= 0.025 and gaps[2] >= 0.1  # 0.05, 0.1, 0.2 s, each ×0.5–1.5
    assert tg.to("1") and len(tg.attempts["1"]) == 2
    assert rows(chat_id="3")[0].last_error == "Transient: Internal Server Error"
    assert identity("3").reachable  # a server error says nothing about the person


async def test_a_paused_channel_defers_every_message_then_resumes(ready, monkeypatch, pushes):
    channel_env(monkeypatch, ZALO_BOT_TOKEN="zalo-token")
    monkeypatch.setattr(pacer, "ZALO_RATE", 50.0)
    add_people(6, channel="zalo", start=1)
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    at(local(push, seconds=5))
    zalo = FakeRunner("zalo")
    until, resume = clock.now() + dt.timedelta(seconds=1), time.monotonic() + 1
    # Like Zalo: once the quota is used up, every send answers "paused" until `until`.
    zalo.fail_all = lambda chat: (
        Paused(until, "zalo quota used up") if clock.now() < until else None
    )
    await pushes(zalo)
    await wait_until(lambda: {r.status for r in rows(push_key=push.key)} == {"deferred"})
    with session_scope() as session:
        state = session.get(m.ChannelState, "zalo")
        assert state.paused_until == until and "quota" in state.reason
    assert all(r.next_attempt_at == until for r in rows(push_key=push.key))
    assert zalo.sent == []
    await wait_until(lambda: len(zalo.sent) == 6, timeout=5)
    tries = sorted(t for times in zalo.attempts.values() for t in times)
    before = [t for t in tries if t < resume - 0.05]
    assert len(tries) == len(before) + 6  # after the pause: one try each, nothing lost
    assert sorted(zalo.chats()) == ["1", "2", "3", "4", "5", "6"]


async def test_outbox_retry_from_another_process_lifts_a_pause_at_once(ready, monkeypatch, pushes):
    """The quota pause runs to midnight; the admin's `thidua outbox retry` (another process,
    which can only write the store) gets the waiting messages out within seconds."""
    channel_env(monkeypatch, ZALO_BOT_TOKEN="zalo-token")
    monkeypatch.setattr(pacer, "ZALO_RATE", 50.0)
    monkeypatch.setattr(delivery, "PAUSE_RECHECK", 0.3)
    add_people(3, channel="zalo", start=1)
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    at(local(push, seconds=5))
    zalo = FakeRunner("zalo")
    until = clock.now() + dt.timedelta(hours=10)
    quota = {"used up": True}
    zalo.fail_all = lambda chat: Paused(until, "zalo quota used up") if quota["used up"] else None
    await pushes(zalo)
    await wait_until(lambda: {r.status for r in rows(push_key=push.key)} == {"deferred"})
    await asyncio.sleep(0.5)  # the worker is asleep in the pause now
    quota["used up"] = False  # a paid plan, or the quota was wrong: the admin says go
    done = CliRunner().invoke(app, ["outbox", "retry"])
    assert done.exit_code == 0, done.output
    await wait_until(lambda: len(zalo.sent) == 3, timeout=5)
    await wait_until(lambda: {r.status for r in rows(push_key=push.key)} == {"sent"})


async def test_global_and_per_chat_limits(ready, monkeypatch, pushes):
    """16 people at TELEGRAM_RATE=10: never more than 10 a second; the clerk's two messages
    (the deadline and the digest, due at once) a second apart."""
    from bot.core.campaign_loader import load_campaign
    from bot.core.store import load_into_store

    bundled = load_campaign()  # the deadline day made a personal lead day: everyone gets it
    every_day = bundled.push.model_copy(update={"personal_lead_days": [0]})
    with session_scope() as session:
        load_into_store(
            session=session, campaign=bundled.model_copy(update={"push": every_day}), source="t"
        )
    channel_env(monkeypatch, TELEGRAM_RATE="10")
    add_people(16, start=1)
    deadline = push_of("deadline", phase=1)
    at(local(deadline, seconds=5))
    clerk = People(channel="telegram").add("clerk", "VP", "Văn thư", user_id="clerk")
    tg = FakeRunner()
    await pushes(tg)
    await wait_until(lambda: len(tg.sent) == 18, timeout=6)
    times = sorted(t for _c, _x, t in tg.sent)
    most = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert most <= 10
    to_clerk = [t for c, _x, t in tg.sent if c == clerk.user_id]
    assert len(to_clerk) == 2 and to_clerk[1] - to_clerk[0] >= 1.0


async def test_rows_left_sending_by_a_dead_process_are_sent_again(
    anniversary, pushes, monkeypatch, caplog
):
    """kill -9 leaves claimed rows in `sending`: on SQLite the next leader sends them at once
    (the lock proves their owner is gone); with other databases, after `sending_timeout`."""
    tg = FakeRunner()
    p = await pushes(tg)
    await wait_until(lambda: len(tg.sent) == 3)
    await p.stop()
    with session_scope() as session:
        for row in session.exec(select(m.Outbox)):
            row.status, row.claimed_at = "sending", clock.now()
            session.add(row)
    tg.sent.clear()
    with caplog.at_level(logging.WARNING):
        p = await pushes(tg, sending_timeout=dt.timedelta(seconds=0.5))
        if not p.lock.sqlite:  # PostgreSQL: nobody can tell a dead claimant from a slow one
            monkeypatch.setattr(delivery, "RECLAIM_EVERY", 0.2)
            await p.stop()
            p = await pushes(tg, sending_timeout=dt.timedelta(seconds=0.5))
        await wait_until(lambda: len(tg.sent) == 3, timeout=5)
    assert "sending" in caplog.text
    await wait_until(lambda: {r.status for r in rows()} == {"sent"})


async def test_a_second_process_neither_expands_nor_doubles(anniversary, pushes, caplog):
    """Another process holds the leader lock: this one expands nothing and leaves delivery to
    the other (on SQLite it also says so); once the other is gone it takes over."""
    other = LeaderLock(get_settings().database_url)
    assert other.acquire()
    tg = FakeRunner()
    try:
        with caplog.at_level(logging.WARNING):
            p = await pushes(tg)
        assert not p.lock.held and rows() == [] and p.workers == {}
        if p.lock.sqlite:
            assert "another thidua process is running on this SQLite database" in caplog.text
        else:
            assert "SQLite" not in caplog.text
        await asyncio.sleep(0.5)
        assert tg.sent == [] and rows() == []
    finally:
        other.release()
    await wait_until(lambda: len(tg.sent) == 3, timeout=5)
    assert p.lock.held and len(rows()) == 3

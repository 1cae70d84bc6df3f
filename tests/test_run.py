"""`thidua run` as a user runs it, against FakeTelegram (and FakeZalo): people are answered by
the main process, pushes are sent by the delivery process it starts; SIGTERM stops both,
kill -9 takes both."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.core import models as m
from bot.core.clock import now
from bot.core.db import session_scope
from bot.core.settings import get_settings
from schedules.outbox import queue_message
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.pushes_helpers import add_people, local, push_of, rows, wait_until
from tests.telegram_helpers import Person, telegram_settings

THIDUA = [sys.executable, "-m", "bot.cli", "run"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


async def start_bot(now: str, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "THIDUA_NOW": now, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        return await asyncio.create_subprocess_exec(*THIDUA, env=env, stdout=out, stderr=out)


async def stop(bot: asyncio.subprocess.Process, log: Path) -> None:
    """SIGTERM, as systemd or Ctrl-C would send it: the bot must end cleanly."""
    bot.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(bot.wait(), 60)
    assert code == 0, log.read_text()[-2000:]


def all_sent() -> bool:
    return {r.status for r in rows()} == {"sent"}


async def delivery_child(
    bot: asyncio.subprocess.Process, log: Path, channels: str = "telegram"
) -> int:
    found = await wait_until(
        lambda: re.search(r"delivery: own process (\d+)", log.read_text()), timeout=60
    )
    child = int(found[1])
    assert child in children(bot.pid)
    await wait_until(lambda: f"delivery: sending for {channels}" in log.read_text(), timeout=60)
    return child


def two_people_and_a_push(monkeypatch, tg: FakeTelegram):
    """Staff 1001 and 1002 on Telegram, and the push `thidua run` will send them."""
    telegram_settings(monkeypatch, tg)
    for n in (1001, 1002):
        tg.user(n, f"Người {n}")
    add_people(2, start=1001)
    return push_of("anniversary", ref="sinh-nhat-bac-ho")


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


async def test_run_answers_people_and_sends_pushes_from_its_delivery_process(
    ready, monkeypatch, tg, tmp_path
):
    push = two_people_and_a_push(monkeypatch, tg)
    log = tmp_path / "bot.log"
    bot = await start_bot(local(push, seconds=-4), log)
    try:
        child = await delivery_child(bot, log)
        lan = Person(tg, tg.user(1001, "Người 1001"))
        await lan.say("/help", timeout=30)  # answered by the main process
        assert "/baocao" in lan.text
        await tg.wait_for(lambda: len(tg.sent(1001)) == 2 and tg.sent(1002), timeout=30)
        await wait_until(all_sent, timeout=10)
    finally:
        await stop(bot, log)
    assert not alive(child)
    assert tg.sent(1002)[0]["plain_text"] == push.event.text
    assert push.event.text in [r["plain_text"] for r in tg.sent(1001)]
    assert len(rows()) == 2
    text = log.read_text()
    assert "delivery: stopped" in text and "Traceback" not in text
    assert tg.token not in text and tg.token.split(":")[1] not in text


async def test_kill_9_of_run_takes_its_delivery_process_with_it(ready, monkeypatch, tg, tmp_path):
    """A sender left behind would keep sending the rows the next start reclaims: twice."""
    telegram_settings(monkeypatch, tg)
    log = tmp_path / "bot.log"
    bot = await start_bot("2022-05-10T09:00:00+07:00", log)
    child = await delivery_child(bot, log)
    assert alive(child)
    bot.kill()
    await bot.wait()
    await wait_until(lambda: not alive(child), timeout=10)
    assert "delivery: stopped" not in log.read_text()  # killed with it, not left to wind down


async def test_run_sends_a_push_on_telegram_and_zalo_from_one_delivery_process(
    ready, monkeypatch, tg, tmp_path
):
    telegram_settings(monkeypatch, tg)
    tg.user(1001, "Người 1001")
    add_people(1, start=1001)
    add_people(1, start=2001, channel="zalo")
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    log = tmp_path / "bot.log"
    async with FakeZalo() as zl:
        monkeypatch.setenv("ZALO_BOT_TOKEN", zl.token)
        monkeypatch.setenv("ZALO_BASE_URL", zl.root)
        # Zalo by webhook: a stop need not wait out a long poll in flight (up to 20 s).
        port = free_port()
        monkeypatch.setenv("THIDUA_LISTEN", f"127.0.0.1:{port}")
        monkeypatch.setenv("ZALO_WEBHOOK_URL", f"http://127.0.0.1:{port}/zalo")
        monkeypatch.setenv("ZALO_WEBHOOK_SECRET", "webhook-secret-for-tests")
        bot = await start_bot(local(push, seconds=-4), log)
        try:
            child = await delivery_child(bot, log, "telegram, zalo")
            [zalo] = await zl.wait_sent("2001", timeout=30)
            await tg.wait_for(lambda: tg.sent(1001), timeout=30)
            await wait_until(all_sent, timeout=10)
        finally:
            await stop(bot, log)
    assert not alive(child)
    assert zalo.text == tg.sent(1001)[0]["plain_text"] == push.event.text
    assert sorted(r.channel for r in rows()) == ["telegram", "zalo"]
    assert zl.token.partition(":")[2] not in log.read_text()


async def test_a_delivery_process_that_dies_is_started_again(ready, monkeypatch, tg, tmp_path):
    """The child is killed on its own (the OOM killer, a crash): the parent starts another,
    which sends the next push; on SQLite also what the dead child had claimed, at once."""
    push = two_people_and_a_push(monkeypatch, tg)
    log = tmp_path / "bot.log"
    bot = await start_bot(local(push, seconds=-6), log)
    try:
        first = await delivery_child(bot, log)
        with session_scope() as session:  # a message the child had claimed when it died
            lan = session.exec(select(m.Identity).where(m.Identity.chat_id == "1001")).one()
            queue_message(session=session, key="claimed", identity=lan, text="Đã nhận", now=now())
            session.execute(
                sa.update(m.Outbox).where(m.Outbox.key == "claimed").values(status="sending")
            )
        os.kill(first, signal.SIGKILL)
        found = await wait_until(
            lambda: re.findall(r"delivery: own process (\d+)", log.read_text())[1:], timeout=30
        )
        second = int(found[0])
        assert second != first and second in children(bot.pid)
        assert "delivery: the process exited (code -9)" in log.read_text()
        await tg.wait_for(lambda: tg.sent(1002), timeout=30)
        if get_settings().database_url.startswith("sqlite"):
            await wait_until(lambda: rows(key="claimed")[0].status == "sent", timeout=10)
            assert "Đã nhận" in [r["plain_text"] for r in tg.sent(1001)]
        else:  # PostgreSQL: no lease names it (a row from before leases): sending_timeout
            assert rows(key="claimed")[0].status == "sending"
    finally:
        await stop(bot, log)
    assert not alive(first) and not alive(second)
    assert [r["plain_text"] for r in tg.sent(1002)] == [push.event.text]


async def test_the_delivery_process_logs_json_like_its_parent(ready, monkeypatch, tg, tmp_path):
    """THIDUA_LOG_FORMAT=json: every line of both processes is one JSON object."""
    telegram_settings(monkeypatch, tg)
    monkeypatch.setenv("THIDUA_LOG_FORMAT", "json")
    log = tmp_path / "bot.log"
    bot = await start_bot("2022-05-10T09:00:00+07:00", log)
    try:
        child = await delivery_child(bot, log)
    finally:
        await stop(bot, log)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    by_child = [e for e in entries if e["logger"] == "bot.delivery.process"]
    messages = [e["message"] for e in by_child]
    assert f"delivery: own process {child} for telegram" in messages  # the parent's line
    assert "delivery: sending for telegram" in messages and "delivery: stopped" in messages
    assert all({"at", "level", "logger", "message"} <= set(e) for e in entries)

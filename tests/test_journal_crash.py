"""kill -9 in the middle of a turn, then a restart: the message is handled once and answered
once. `thidua run` in a process of its own against FakeTelegram / FakeZalo on 127.0.0.1, by
polling and by webhook, on the test's database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from bot.channels.text import split_text
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.settings import get_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kill -9, /proc")

ROOT = Path(__file__).resolve().parent.parent
NOW = "2022-05-10T09:00:00+07:00"
REPORTS = 20_000  # enough for /xuat to take a second or more: long enough to be killed in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bot:
    """`thidua run` as a service manager runs it; kill -9 and start again."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "THIDUA_NOW": NOW, "PYTHONPATH": str(ROOT)}
        with self.log.open("a") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", env=env, stdout=out, stderr=out
            )
        starts = self.log.read_text().count("thidua running")
        await until(lambda: self.log.read_text().count("thidua running") > starts, 60, "start")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 60)


async def until(check, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)
    return result


def journal() -> list[m.Inbound]:
    with session_scope() as session:
        return list(session.exec(select(m.Inbound).order_by(col(m.Inbound.id))))


def replies_to(chat_id: str) -> list[m.Outbox]:
    with session_scope() as session:
        return list(
            session.exec(
                select(m.Outbox)
                .where(col(m.Outbox.chat_id) == chat_id, col(m.Outbox.priority) >= m.REPLY_LANE)
                .order_by(col(m.Outbox.id))
            )
        )


def person(channel: str, user_id: str, role: str) -> int:
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        row = m.Person(
            full_name="Trần Văn Thư", unit_id=unit.id, role=role, created_at=clock.now()
        )
        session.add(row)
        session.flush()
        session.add(
            m.Identity(
                person_id=row.id,
                channel=channel,
                user_id=user_id,
                chat_id=user_id,
                created_at=clock.now(),
            )
        )
        assert row.id is not None
        return row.id


def many_reports(person_id: int) -> None:
    now = clock.now()
    with session_scope() as session:
        campaign = session.exec(select(m.Campaign)).one()
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        session.connection().execute(
            sa.insert(m.Report),
            [
                {
                    "campaign_id": campaign.id,
                    "receipt": f"BC-2022-{n:06d}",
                    "person_id": person_id,
                    "unit_id": unit.id,
                    "phase": 1,
                    "scope": "personal",
                    "area": "chuyen-mon",
                    "title": f"Sáng kiến số {n}",
                    "detail": "Cải tiến quy trình tiếp nhận hồ sơ " * 5,
                    "status": "submitted",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(REPORTS)
            ],
        )


def documents(tg: FakeTelegram) -> list[dict]:
    return [r for r in tg.sent(7001) if r["method"] == "sendDocument"]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    # Webhook deliveries retried for about 30 s: long enough to outlive a restart.
    async with FakeTelegram(webhook_attempts=8, webhook_retry_delay=0.25) as server:
        yield server


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_telegram_kill_9_mid_turn_then_restart(ready, tg, monkeypatch, tmp_path, mode):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", tg.token)
    monkeypatch.setenv("TELEGRAM_BASE_URL", tg.root)
    if mode == "webhook":
        port = free_port()
        monkeypatch.setenv("THIDUA_LISTEN", f"127.0.0.1:{port}")
        monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", f"http://127.0.0.1:{port}/telegram")
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-for-the-test")
    get_settings.cache_clear()
    many_reports(person("telegram", "7001", "clerk"))
    clerk = tg.user(7001, "Thư")
    bot = Bot(tmp_path / "bot.log")
    await bot.start()
    try:
        await clerk.send_text("/xuat xlsx all")
        # The answer ("Building the file…") is committed; the file is work of its own,
        # journalled with it: kill -9 while it is being built.
        await until(lambda: len(journal()) == 2, 30, "the file's work journalled", every=0.01)
        await asyncio.sleep(0.5)
        assert [r.status for r in journal()] == ["handled", "pending"] and not documents(tg)
        await bot.kill()
        await bot.start()
        await tg.wait_for(lambda: documents(tg), timeout=90)
        await asyncio.sleep(1.0)  # anything more (a second answer) would come now
    finally:
        await bot.stop()
    assert [r.status for r in journal()] == ["handled", "handled"]
    building = [r for r in tg.sent(7001) if r.get("plain_text") == "Đang tạo tệp…"]
    assert len(building) == 1
    (document,) = documents(tg)
    assert document["filename"].endswith(".xlsx") and document["document"][:2] == b"PK"
    assert [r.status for r in replies_to("7001")] == ["sent"] * len(tg.sent(7001))


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_zalo_kill_9_mid_turn_then_restart(ready, monkeypatch, tmp_path, mode):
    async with FakeZalo() as zl:
        monkeypatch.setenv("ZALO_BOT_TOKEN", zl.token)
        monkeypatch.setenv("ZALO_BASE_URL", zl.root)
        if mode == "webhook":
            port = free_port()
            monkeypatch.setenv("THIDUA_LISTEN", f"127.0.0.1:{port}")
            monkeypatch.setenv("ZALO_WEBHOOK_URL", f"http://127.0.0.1:{port}/zalo")
            monkeypatch.setenv("ZALO_WEBHOOK_SECRET", "s3cret-for-the-test")
        get_settings.cache_clear()
        person("zalo", "z-lan", "staff")
        bot = Bot(tmp_path / "bot.log")
        await bot.start()
        try:
            if mode == "webhook":
                await until(lambda: zl.webhook_url, 30, "setWebhook")
            # Killed as soon as the update is journalled: its turn is under way (or about
            # to be), not committed. A turn takes milliseconds, so a try may come too late:
            # then the next message is tried, up to five.
            sent = 0
            for _ in range(5):
                sent += 1
                await zl.send_text("z-lan", "/help")
                await until(lambda n=sent: len(journal()) == n, 30, "the journal", every=0.002)
                await bot.kill()
                if journal()[-1].status == "pending":
                    break
                await bot.start()
            assert journal()[-1].status == "pending", "every kill came after the commit"
            await bot.start()
            await until(lambda: len(replies_to("z-lan")) == sent, 60, "the answers queued")
            pieces = [p for r in replies_to("z-lan") for p in split_text(r.text, 2000)]
            await zl.wait_sent("z-lan", len(pieces), timeout=60)
            await asyncio.sleep(1.0)  # anything more (a second answer) would come now
        finally:
            await bot.stop()
        assert [r.status for r in journal()] == ["handled"] * sent
        # The message killed mid-turn is answered once after the restart. A try whose kill
        # came after the commit may have had its answer in flight: sent again (at most once).
        per_answer, late = len(pieces) // sent, sent - 1
        texts = zl.sent_texts("z-lan")
        assert len(pieces) <= len(texts) <= len(pieces) + late * per_answer
        assert texts[-per_answer:] == pieces[-per_answer:]
        assert [r.status for r in replies_to("z-lan")] == ["sent"] * sent

"""The database goes away while the bot runs: every channel apologises once, the log says so
once (not a traceback per update), and when the database is back the messages written in the
outage are answered. The real runners against FakeTelegram and FakeZalo, on SQLite (the store
"goes away" by its file being moved aside)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import pytest
from sqlmodel import select

from bot.channels.zalo import ZaloRunner
from bot.core import clock
from bot.core import models as m
from bot.core.db import engine, session_scope
from bot.core.settings import get_settings
from handlers.router import respond
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.telegram_helpers import Person, start_runner, telegram_settings

SORRY = "cơ sở dữ liệu của bot đang gián đoạn"

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("THIDUA_TEST_DATABASE_URL")), reason="moves the SQLite file aside"
)


def register(channel: str, user_id: str) -> None:
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        person = m.Person(
            full_name="Lê Thị Lan", unit_id=unit.id, role="staff", created_at=clock.now()
        )
        session.add(person)
        session.flush()
        session.add(
            m.Identity(
                person_id=person.id,
                channel=channel,
                user_id=user_id,
                chat_id=user_id,
                created_at=clock.now(),
            )
        )


class Store:
    """The SQLite file and its WAL, moved aside and back."""

    def __init__(self) -> None:
        self.path = Path(get_settings().database_url.removeprefix("sqlite:///"))

    def _files(self, path: Path) -> list[Path]:
        return [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")]

    def away(self) -> None:
        engine().dispose()
        for f in self._files(self.path):
            if f.exists():
                f.rename(f.with_name(f.name + ".away"))

    def back(self) -> None:
        engine().dispose()
        for f in self._files(self.path):
            f.unlink(missing_ok=True)  # the empty file a connection made meanwhile
            moved = f.with_name(f.name + ".away")
            if moved.exists():
                moved.rename(f)
        engine().dispose()


async def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return result


async def test_an_outage_mid_run_apologises_once_and_answers_when_back(ready, monkeypatch, caplog):
    register("telegram", "5001")
    register("zalo", "z-lan")
    store = Store()
    async with FakeTelegram() as tg, FakeZalo() as zl:
        telegram = await start_runner(telegram_settings(monkeypatch, tg))
        monkeypatch.setenv("ZALO_BOT_TOKEN", zl.token)
        monkeypatch.setenv("ZALO_BASE_URL", zl.root)
        get_settings.cache_clear()
        zalo = ZaloRunner(get_settings(), respond, poll_timeout=1, poll_interval=0.05)
        await zalo.start(None)
        lan = Person(tg, tg.user(5001, "Lan", language_code="vi"))
        try:
            with caplog.at_level(logging.INFO):
                store.away()
                await lan.user.send_text("/help")
                await zl.send_text("z-lan", "/help")
                await tg.wait_sent(5001, 1, timeout=10)
                await zl.wait_sent("z-lan", 1, timeout=10)
                await asyncio.sleep(3)  # retries meanwhile: no second apology, no log flood
                during = [r for r in caplog.records if r.levelno >= logging.WARNING]
                store.back()
                await tg.wait_sent(5001, 2, timeout=40)
                await zl.wait_sent("z-lan", 2, timeout=40)
        finally:
            await telegram.stop()
            await zalo.stop()
    (tg_sorry, tg_answer) = [r["plain_text"] for r in tg.sent(5001)]
    assert SORRY in tg_sorry and "/baocao" in tg_answer
    z_texts = zl.sent_texts("z-lan")
    assert SORRY in (z_texts[0] or "") and "/baocao" in "".join(t or "" for t in z_texts[1:])
    down = [r for r in during if "database is unreachable" in r.getMessage()]
    assert sorted(r.getMessage().split(":")[0] for r in down) == ["telegram", "zalo"]
    assert not any(r.exc_info for r in during)  # no traceback
    assert any("reachable again" in r.getMessage() for r in caplog.records)

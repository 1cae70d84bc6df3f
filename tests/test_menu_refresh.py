"""A person's Telegram menu follows a role change, a deactivation, a reactivation or a move at
once, though the change is made in another process (`thidua people …`) or another person's
chat (`/nhansu`): the change queues a menu refresh in the outbox, the running bot's reply lane
calls setMyCommands for that chat. Against FakeTelegram, with the real runner and store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import models as m
from bot.core.db import session_scope
from tests.conftest import Chat
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import start_runner, telegram_settings

OFFICE_ONLY = {"tonghop", "xuat", "duyet", "dondoc", "nhansu"}


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def runner(ready, tg, monkeypatch):
    running = await start_runner(telegram_settings(monkeypatch, tg))
    yield running
    await running.stop()


async def cli(*args: str) -> str:
    """A `thidua` command line, run beside the running bot (as from another terminal)."""
    # The CLI quiets some loggers for good; leave them as found for the tests that follow.
    names = ("httpx", "httpcore", "apscheduler.executors", "alembic.runtime")
    noisy = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in noisy]
    try:
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    finally:
        for logger, level in zip(noisy, levels, strict=True):
            logger.setLevel(level)
    assert result.exit_code == 0, result.output
    return result.stdout


def menu(tg: FakeTelegram, chat_id: int) -> set[str]:
    return {c["command"] for c in tg.commands({"type": "chat", "chat_id": chat_id})}


async def eventually(check, timeout: float = 8.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
    return result


def queued_menu_rows() -> list[m.Outbox]:
    with session_scope() as session:
        rows = session.exec(select(m.Outbox).where(m.Outbox.text == "")).all()
        return [r for r in rows if (r.payload or {}).get("commands_changed")]


async def test_cli_role_deactivate_reactivate_move_refresh_the_menu(runner, tg, people):
    lan = people.add("staff", "QLCN", "Trần Thị Lan", "telegram", "7301")
    assert menu(tg, 7301) == set()  # staff: the default menu

    assert "→ clerk" in await cli("people", "role", f"#{lan.id}", "clerk")
    await eventually(lambda: menu(tg, 7301) >= OFFICE_ONLY)
    assert next(c["command"] for c in tg.commands({"type": "chat", "chat_id": 7301})) == "baocao"

    await cli("people", "deactivate", f"#{lan.id}")
    await eventually(lambda: menu(tg, 7301) == {"start"})  # every other command is refused

    await cli("people", "reactivate", f"#{lan.id}")
    await eventually(lambda: menu(tg, 7301) >= OFFICE_ONLY)

    calls = len(tg.calls_to("setMyCommands"))
    await cli("people", "move", f"#{lan.id}", "--unit", "TTRA")
    await eventually(lambda: len(tg.calls_to("setMyCommands")) > calls)
    assert menu(tg, 7301) >= OFFICE_ONLY

    await cli("people", "role", f"#{lan.id}", "staff")
    await eventually(lambda: not OFFICE_ONLY & menu(tg, 7301))
    assert "baocao" in menu(tg, 7301)
    # Nothing was said to her: the refreshes are menus only, and all were sent.
    assert tg.sent(7301) == []
    await eventually(lambda: all(r.status == "sent" for r in queued_menu_rows()))
    assert len(queued_menu_rows()) == 5


async def test_no_refresh_when_nothing_changed_or_not_on_telegram(runner, tg, people):
    lan = people.add("staff", "QLCN", "Trần Thị Lan", "telegram", "7311")
    zalo = people.add("staff", "QLCN", "Lê Văn Zalo", "zalo", "z1")
    await cli("people", "role", f"#{lan.id}", "staff")  # the role it has
    await cli("people", "reactivate", f"#{lan.id}")  # active already
    await cli("people", "role", f"#{zalo.id}", "head")  # Zalo has no per-chat menu
    assert queued_menu_rows() == []


async def test_nhansu_in_the_clerks_chat_refreshes_the_other_persons_menu(runner, tg, people):
    clerk = people.add("clerk", "VP", "Đỗ Văn Thư")  # on the test channel
    people.add("staff", "QLCN", "Phạm Thị Bình", "telegram", "7321")
    chat = Chat(clerk.user_id, "test", clerk.name)
    chat.say("/nhansu")
    chat.press("Đổi vai trò")
    chat.say("Phạm Thị Bình")
    chat.press("trưởng đơn vị")
    assert queued_menu_rows() == []  # nothing before the confirmation
    chat.press("Xác nhận")
    assert chat.text == "Phạm Thị Bình: cán bộ → trưởng đơn vị."
    await eventually(lambda: "tonghop" in menu(tg, 7321))
    assert "nhansu" not in menu(tg, 7321)  # a head's menu, not the office's

    chat.say("/nhansu")
    chat.press("Có người nghỉ việc (ngừng hoạt động)")
    chat.say("Phạm Thị Bình")
    chat.press("Xác nhận")
    await eventually(lambda: menu(tg, 7321) == {"start"})

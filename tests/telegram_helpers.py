"""Helpers for the Telegram channel tests: a running FakeTelegram, the real TelegramRunner
against it, and a `Person` that types, presses buttons and reads what the bot sent."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from bot.channels.telegram import TelegramRunner
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import issue_invites
from bot.core.settings import get_settings
from handlers.router import handle, respond
from handlers.types import Handle, Respond
from tests.fakes.telegram_api import FakeTelegram, SimUser

JSON = dict[str, Any]


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x00\x80\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def invite_code(unit: str = "QLCN", role: str = "staff") -> str:
    with session_scope() as session:
        found = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
        return issue_invites(session=session, unit=found, role=role, count=1, now=clock.now())[
            0
        ].code


def telegram_settings(monkeypatch, tg: FakeTelegram, **env: str):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", tg.token)
    monkeypatch.setenv("TELEGRAM_BASE_URL", tg.root)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def responder(handler: Handle) -> Respond:
    """A runner's `respond` from a test's handler: the router itself, or a stand-in that
    answers without the store (called inside the journal's transaction, so it must not open
    a session of its own)."""
    if handler is handle:
        return respond
    return lambda session, incoming: handler(incoming)


async def start_runner(settings, handler: Handle = handle, web_app=None) -> TelegramRunner:
    runner = TelegramRunner(settings, responder(handler))
    await runner.start(web_app)
    return runner


@dataclass
class Person:
    """A simulated Telegram user talking to the bot in its private chat."""

    tg: FakeTelegram
    user: SimUser
    seen: int = 0  # messages of the bot already read
    last: list[JSON] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def sent(self) -> list[JSON]:
        return self.tg.sent(self.id)

    async def _read(self, expect: int, timeout: float) -> list[JSON]:
        await self.tg.wait_sent(self.id, self.seen + expect, timeout=timeout)
        self.last = self.sent[self.seen :]
        self.seen = len(self.sent)
        return self.last

    async def say(self, text: str, expect: int = 1, timeout: float = 5.0) -> list[JSON]:
        await self.user.send_text(text)
        return await self._read(expect, timeout)

    async def send_photo(self, data: bytes, expect: int = 1, caption: str | None = None):
        await self.user.send_photo(data, caption)
        return await self._read(expect, 5.0)

    def button(self, label: str) -> tuple[JSON, str]:
        """The newest bot message with a button `label`, and that button's data."""
        for record in reversed(self.sent):
            for row in (record["reply_markup"] or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return record, button["callback_data"]
        raise AssertionError(f"no button {label!r}; buttons: {self.labels}")

    async def press(self, label: str, expect: int = 1) -> list[JSON]:
        record, data = self.button(label)
        answered = len(self.tg.callback_answers)
        await self.user.press(record, data)
        await self.tg.wait_for(lambda: len(self.tg.callback_answers) > answered)
        return await self._read(expect, 5.0)

    async def press_data(self, record: JSON, data: str, expect: int = 1) -> list[JSON]:
        answered = len(self.tg.callback_answers)
        await self.user.press(record, data)
        await self.tg.wait_for(lambda: len(self.tg.callback_answers) > answered)
        return await self._read(expect, 5.0)

    @property
    def text(self) -> str:
        """What the last turn's messages read as (entities parsed: what a person sees)."""
        return "\n\n".join(r.get("plain_text") or r["message"].get("text", "") for r in self.last)

    @property
    def labels(self) -> list[str]:
        return [
            button["text"]
            for record in self.last
            for row in (record["reply_markup"] or {}).get("inline_keyboard", [])
            for button in row
        ]


async def at_evidence(tg: FakeTelegram, user_id: int = 5001) -> Person:
    """A registered person in a report, at the evidence question."""
    lan = Person(tg, tg.user(user_id, "Lan"))
    await lan.say(f"/start {invite_code('QLCN', 'staff')}")
    await lan.say("/report")
    await lan.press("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    await lan.say("Khánh thành nhà văn hoá")
    await lan.say("Ảnh lễ khánh thành ngày 15/07/2022.")
    return lan

"""Helpers for the pushes tests: an in-memory Runner, people in bulk, waiting, and the rows."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlmodel import col, select

from bot.app import Pushes
from bot.channels.base import SendError
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from schedules import outbox

TOKEN = "123456789:AAF-thidua-offline-test-token_0123456789"


class FakeRunner:
    """A channel that records every push and raises the errors a test queues for a chat."""

    def __init__(self, name: str = "telegram", delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.sent: list[tuple[str, str, float]] = []  # chat, text, monotonic time
        self.attempts: defaultdict[str, list[float]] = defaultdict(list)
        self.faults: defaultdict[str, list[SendError]] = defaultdict(list)
        self.fail_all: Callable[[str], SendError | None] | None = None

    async def start(self, web_app: Any) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, chat_id: str, text: str) -> None:
        self.attempts[chat_id].append(time.monotonic())
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.faults[chat_id]:
            raise self.faults[chat_id].pop(0)
        if self.fail_all is not None and (error := self.fail_all(chat_id)) is not None:
            raise error
        self.sent.append((chat_id, text, time.monotonic()))

    def to(self, chat_id: str) -> list[str]:
        return [text for chat, text, _t in self.sent if chat == chat_id]

    def chats(self) -> set[str]:
        return {chat for chat, _text, _t in self.sent}


def channel_env(monkeypatch, **env: str) -> None:
    """Telegram configured (as for `thidua run`), plus other variables; settings read again."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    env.setdefault("TELEGRAM_RATE", "100")  # tests need not wait for Telegram's 30/s
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


async def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def add_people(
    n: int, *, unit: str = "QLCN", channel: str = "telegram", start: int = 1000
) -> None:
    """`n` staff with an identity each (chat ids start..start+n-1), in one transaction."""
    with session_scope() as session:
        unit_row = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
        people = [
            m.Person(
                full_name=f"Người {i}", unit_id=unit_row.id, role="staff", created_at=clock.now()
            )
            for i in range(start, start + n)
        ]
        session.add_all(people)
        session.flush()
        session.add_all(
            m.Identity(
                person_id=p.id,
                channel=channel,
                user_id=str(i),
                chat_id=str(i),
                created_at=clock.now(),
            )
            for i, p in zip(range(start, start + n), people, strict=True)
        )


def rows(**where: Any) -> list[m.Outbox]:
    """The pushes' outbox rows (replies to people, the reply lane's, are left out)."""
    with session_scope() as session:
        query = select(m.Outbox).where(col(m.Outbox.priority) < m.REPLY_LANE)
        query = query.order_by(col(m.Outbox.id))
        for name, value in where.items():
            query = query.where(getattr(m.Outbox, name) == value)
        return list(session.exec(query))


def runs() -> dict[str, m.PushRun]:
    with session_scope() as session:
        return {r.key: r for r in session.exec(select(m.PushRun))}


def identity(user_id: str) -> m.Identity:
    with session_scope() as session:
        return session.exec(select(m.Identity).where(m.Identity.user_id == user_id)).one()


def set_lang(user_id: str, lang: str) -> None:
    with session_scope() as session:
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == user_id)).one()
        person = session.get(m.Person, ident.person_id)
        person.lang = lang
        session.add(person)


def push_of(kind: str, *, phase: int | None = None, days_before: int | None = None, ref=None):
    with session_scope() as session:
        campaign = active_campaign(session=session)[1]
    return next(
        p
        for p in outbox.pushes(campaign)
        if p.kind == kind
        and (phase is None or p.phase == phase)
        and (days_before is None or (p.event and p.event.days_before == days_before))
        and (ref is None or (p.event and p.event.ref == ref))
    )


def local(push: outbox.Push, **delta: float) -> str:
    return (push.at + dt.timedelta(**delta)).isoformat()


@contextlib.asynccontextmanager
async def started_pushes() -> AsyncIterator[Callable[..., Awaitable[Pushes]]]:
    """`make(runner, ...)` → a started `Pushes`; every one is stopped on the way out."""
    started: list[Pushes] = []

    async def make(*runners: FakeRunner, tick: float = 0.2, **kw: Any) -> Pushes:
        p = Pushes(get_settings(), {r.name: r for r in runners}, tick=tick, idle_poll=0.1, **kw)
        await p.start()
        started.append(p)
        return p

    try:
        yield make
    finally:
        for p in started:
            await p.stop()

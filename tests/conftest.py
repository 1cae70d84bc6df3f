"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when
THIDUA_TEST_DATABASE_URL is set), the bundled campaign loaded, a controllable clock, and
`people`/`chat` helpers that drive the handlers through their public seam."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.core import clock
from bot.core import models as m
from bot.core.db import engine_for, migrate, session_scope
from bot.core.i18n import set_default_language
from bot.core.settings import get_settings
from bot.core.store import forget_cached_campaign

PG_URL = os.environ.get("THIDUA_TEST_DATABASE_URL")
QUIETED_LOGGERS = ("", "httpx", "httpcore", "apscheduler.executors", "alembic.runtime")


def _reset_postgres(url: str) -> None:
    eng = engine_for(url)
    with eng.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))


@pytest.fixture(autouse=True)
def database(tmp_path, monkeypatch) -> Iterator[str]:
    """Every test gets its own empty database and default settings."""
    for name in list(os.environ):
        if (
            name.startswith(("THIDUA_", "TELEGRAM_", "ZALO_"))
            and name != "THIDUA_TEST_DATABASE_URL"
        ):
            monkeypatch.delenv(name)
    url = PG_URL or f"sqlite:///{tmp_path / 'thidua.db'}"
    if PG_URL:
        _reset_postgres(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("THIDUA_ATTACHMENTS", str(tmp_path / "attachments"))
    monkeypatch.setenv("THIDUA_HOME", str(tmp_path / "home"))  # never the real user folder
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    forget_cached_campaign()  # PostgreSQL keeps one URL for every test
    set_default_language("vi")
    clock.start_at(None)
    levels = {name: logging.getLogger(name).level for name in QUIETED_LOGGERS}
    yield url
    for name, level in levels.items():  # the CLI quiets these for the whole process
        logging.getLogger(name).setLevel(level)
    clock.start_at(None)
    get_settings.cache_clear()
    if not PG_URL:
        engine_for(url).dispose()
        engine_for.cache_clear()


@pytest.fixture
def ready(database) -> str:
    """Migrated, with the bundled 2022 campaign loaded; the clock on 10/05/2022 09:00."""
    from bot.core.campaign_loader import load_campaign
    from bot.core.store import load_into_store

    migrate(database)
    with session_scope() as session:
        load_into_store(session=session, campaign=load_campaign(), source="bundled")
    at("2022-05-10T09:00:00+07:00")
    return database


def at(instant: str) -> None:
    """Set the clock (it runs on from there)."""
    clock.start_at(dt.datetime.fromisoformat(instant))


@dataclass
class Person:
    id: int
    user_id: str
    name: str
    unit: str
    role: str


class People:
    """Creates registered people (person + identity) straight in the store."""

    def __init__(self, channel: str = "test") -> None:
        self.channel = channel
        self.count = 0

    def add(
        self,
        role: str = "staff",
        unit: str = "QLCN",
        name: str | None = None,
        channel: str | None = None,
        user_id: str | None = None,
    ) -> Person:
        self.count += 1
        name = name or f"Nguyễn Văn {chr(64 + self.count)}"
        user_id = user_id or f"u{self.count}"
        with session_scope() as session:
            unit_row = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
            person = m.Person(
                full_name=name, unit_id=unit_row.id, role=role, created_at=clock.now()
            )
            session.add(person)
            session.flush()
            session.add(
                m.Identity(
                    person_id=person.id,
                    channel=channel or self.channel,
                    user_id=user_id,
                    chat_id=user_id,
                    display_name=name,
                    created_at=clock.now(),
                )
            )
            return Person(person.id, user_id, name, unit, role)


@pytest.fixture
def people(ready) -> People:
    return People()


class Chat:
    """Talk to the handlers as one chat: `chat.say("/report")` returns the replies."""

    def __init__(self, user_id: str, channel: str = "test", name: str = "Người thử") -> None:
        self.user_id, self.channel, self.name = user_id, channel, name
        self.last = []
        self.hold = False  # True: leave `Reply.later` for the test to run

    def send(self, **fields):
        from handlers.router import handle
        from handlers.types import Incoming

        incoming = Incoming(
            channel=self.channel,
            chat_id=self.user_id,
            user_id=self.user_id,
            display_name=self.name,
            **fields,
        )
        self.last = self.settle(handle(incoming))
        return self.last

    def settle(self, replies):
        """Run each reply's `later` at once (as the console does); `hold=True` keeps them."""
        from handlers.types import settle

        return replies if self.hold else settle(replies)

    def say(self, text: str):
        from handlers.router import handle
        from handlers.types import Incoming

        incoming = Incoming.parse(
            channel=self.channel,
            chat_id=self.user_id,
            user_id=self.user_id,
            display_name=self.name,
            text=text,
        )
        self.last = self.settle(handle(incoming))
        return self.last

    def press(self, label: str):
        """Press the option with this label in the last replies (like a button)."""
        for reply in reversed(self.last):
            for option in reply.options:
                if option.label == label:
                    return self.send(choice=option.data)
        raise AssertionError(
            f"no option {label!r} in {[o.label for r in self.last for o in r.options]}"
        )

    @property
    def text(self) -> str:
        return "\n\n".join(r.text for r in self.last)

    @property
    def labels(self) -> list[str]:
        """The answers the last question offers (its Hủy option apart: see `cancel_offered`)."""
        return [o.label for r in self.last for o in r.options if not o.cancels]

    @property
    def cancel_offered(self) -> bool:
        """The last question offers its Hủy option (a button; "0. Hủy" where typed)."""
        return any(o.cancels for r in self.last for o in r.options)


@pytest.fixture
def chat_as():
    """`chat_as(person)` → a Chat for that registered person."""
    return lambda person, channel="test": Chat(person.user_id, channel, person.name)


@pytest.fixture
async def pushes():
    """`await pushes(*runners)` → started `Pushes` (tests/pushes_helpers.py), stopped after."""
    from tests.pushes_helpers import started_pushes

    async with started_pushes() as make:
        yield make

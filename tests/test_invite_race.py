"""A single-use invite registers one person, however many chats send `/start CODE` at the same
moment (SQLite here, PostgreSQL in CI); the losers are told the code was used, and the race is
not counted against them as a wrong guess."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import col, func, select

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import issue_invites
from handlers.router import handle
from handlers.types import Incoming

INVITES, RACERS = 20, 3
USED = "Mã mời này đã được dùng"


def _codes(n: int) -> list[str]:
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        invites = issue_invites(session=session, unit=unit, role="clerk", count=n, now=clock.now())
        return [i.code for i in invites]


def _count(query) -> int:
    with session_scope() as session:
        return session.exec(query).one()


def test_racing_registrations_on_one_code_register_exactly_one(ready):
    codes = _codes(INVITES)
    barrier = threading.Barrier(RACERS)

    def race(code: str, racer: int) -> str:
        user = f"{code}-{racer}"
        incoming = Incoming.parse(
            channel="telegram",
            chat_id=user,
            user_id=user,
            display_name="Ai đó",
            text=f"/start {code}",
        )
        barrier.wait()
        return handle(incoming)[0].text

    with ThreadPoolExecutor(RACERS) as pool:
        answers = []
        for code in codes:
            answers.append(list(pool.map(race, [code] * RACERS, range(RACERS))))
    for code, texts in zip(codes, answers, strict=True):
        won = [t for t in texts if "Xin chào" in t]
        lost = [t for t in texts if USED in t]
        assert len(won) == 1 and len(lost) == RACERS - 1, (code, texts)
    assert _count(select(func.count()).select_from(m.Identity)) == INVITES
    assert _count(select(func.count()).select_from(m.Person)) == INVITES
    failed = select(func.count()).where(col(m.AuditEvent.action) == "register.failed")
    assert _count(failed) == 0  # nobody is nearer a lockout for having lost a race

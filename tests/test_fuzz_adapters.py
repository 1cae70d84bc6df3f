"""Random texts through the real Zalo adapter (polling FakeZalo, the journal, the reply lane):
20 people at once each file 10 reports whose titles and texts are random (Vietnamese, emoji,
HTML, control characters, NUL), answering by number as on a phone. Every report reaches its
confirmation and is saved, cleaned; no turn fails."""

from __future__ import annotations

import asyncio
import random

from sqlmodel import select

from bot.channels.zalo import ZaloRunner
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.reports import DETAIL_MAX, TITLE_MAX
from bot.core.settings import get_settings
from bot.core.text import clean_text
from handlers.router import respond
from tests.fakes.zalo_api import FakeZalo

PEOPLE, REPORTS = 20, 10
POOL = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyỳỹ ÁÀẢÃẠẮẰẲẴẶẤẦẨẪẬÉÈẺẼẸỀỂỄỆỐỒỔỖỘỚỜỞỠỢ"
    "<b>&</b>=+-@'\"\\/%{}[]*_`~#|😀🇻🇳‍♀\t\x00\x01\x1b\u200b\u0301"
)
SORRY = "đã có lỗi xảy ra"


def noise(rng: random.Random, longest: int) -> str:
    """A random text with at least one letter that survives cleaning."""
    body = "".join(rng.choice(POOL) for _ in range(rng.randint(0, longest - 1)))
    return rng.choice("ĐLHTNQ") + body


def register(n: int) -> str:
    user_id = f"z-fuzz-{n}"
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        person = m.Person(
            full_name=f"Người {n}", unit_id=unit.id, role="staff", created_at=clock.now()
        )
        session.add(person)
        session.flush()
        session.add(
            m.Identity(
                person_id=person.id,
                channel="zalo",
                user_id=user_id,
                chat_id=user_id,
                created_at=clock.now(),
            )
        )
    return user_id


async def test_random_reports_through_the_zalo_adapter(ready, monkeypatch):
    users = [register(n) for n in range(PEOPLE)]
    sent: dict[str, list[tuple[str, str]]] = {u: [] for u in users}
    async with FakeZalo() as zl:
        monkeypatch.setenv("ZALO_BOT_TOKEN", zl.token)
        monkeypatch.setenv("ZALO_BASE_URL", zl.root)
        get_settings.cache_clear()
        runner = ZaloRunner(get_settings(), respond, poll_timeout=1, poll_interval=0.05)
        await runner.start(None)

        async def person(user: str, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(REPORTS):
                title = noise(rng, TITLE_MAX // 2)
                detail = noise(rng, 600)
                # /baocao, an area, the title, the text, skip the evidence, confirm
                for text in ("/baocao", str(rng.randint(1, 3)), title, detail, "1", "1"):
                    before = len(zl.sent_texts(user))
                    await zl.send_text(user, text)
                    await zl.wait_sent(user, before + 1, timeout=30)
                    await asyncio.sleep(0.05)  # a long answer may come in two pieces
                sent[user].append((title, detail))

        try:
            await asyncio.gather(*(person(u, n) for n, u in enumerate(users)))
        finally:
            await runner.stop()
        texts = {u: zl.sent_texts(u) for u in users}
    with session_scope() as session:
        stored = session.exec(
            select(m.Report, m.Identity)
            .join(m.Identity, m.Identity.person_id == m.Report.person_id)
            .order_by(m.Report.id)  # filed in this order, each person's in turn
        ).all()
    assert len(stored) == PEOPLE * REPORTS
    for user in users:
        assert not any(SORRY in (t or "") for t in texts[user]), user
        mine = [(r.title, r.detail) for r, ident in stored if ident.user_id == user]
        expected = [
            (clean_text(t).strip()[:TITLE_MAX], clean_text(d).strip()[:DETAIL_MAX])
            for t, d in sent[user]
        ]
        assert len(mine) == REPORTS
        for (title, detail), (want_title, want_detail) in zip(mine, expected, strict=True):
            assert "\x00" not in title + detail and "\x1b" not in title + detail
            assert title.split()[0] == want_title.split()[0]  # the same text, cleaned
            assert detail.split()[0] == want_detail.split()[0]
            assert len(title) <= TITLE_MAX and len(detail) <= DETAIL_MAX

"""Random texts through the real Telegram adapter (python-telegram-bot against FakeTelegram,
the journal, the reply lane): 10 people at once each file 4 reports and 10 nominations by pressing
the buttons a phone shows and typing random texts (Vietnamese, emoji, HTML, control
characters, NUL). The nomination flow is walked by what it asks, not by a fixed script, so a
new question does not break the test. Every flow reaches its receipt; what is stored is the
typed text, cleaned; HTML comes back as text; no turn apologises."""

from __future__ import annotations

import asyncio
import random
import re

from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from bot.core.reports import TITLE_MAX
from bot.core.text import clean_text
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import Person, invite_code, start_runner, telegram_settings
from tests.test_fuzz_adapters import SORRY, noise

PEOPLE, REPORTS, NOMINATIONS = 10, 4, 10
SAVED = "Đã lưu. Số biên nhận"
CONFIRM, CANCEL, EDIT = "Xác nhận", "Hủy", "Sửa một mục"
ALREADY = ("Đã có đề nghị này", "đã được đề nghị")  # at the summary; at the title


async def settle(someone: Person, quiet: float = 0.15) -> None:
    """Wait until the bot has stopped sending to this person (a long answer comes in pieces),
    then take everything since the last read as the turn's messages."""
    start = someone.seen - len(someone.last)
    count = -1
    while count != len(someone.sent):
        count = len(someone.sent)
        await asyncio.sleep(quiet)
    someone.last = someone.sent[start:]
    someone.seen = len(someone.sent)


async def act(someone: Person, rng: random.Random, typed: list[str]) -> None:
    """One answer to whatever the bot asked last: confirm a summary, press one of its
    buttons, pick from a numbered list, or type a random text where it asks for text."""
    labels = someone.labels
    if CONFIRM in labels:
        await someone.press(CONFIRM)
    elif options := [label for label in labels if label not in (CANCEL, EDIT)]:
        await someone.press(rng.choice(options))
    elif numbers := re.findall(r"^(\d+)\. ", someone.text, re.MULTILINE):
        # a list to pick several from, by typing their numbers ("1, 3"), or "không"
        picked = rng.sample(numbers, rng.randint(0, min(2, len(numbers))))
        await someone.say(", ".join(picked) or "không")
    else:
        text = noise(rng, 200)
        typed.append(text)
        await someone.say(text)
    await settle(someone)


async def walk(someone: Person, command: str, rng: random.Random) -> list[str]:
    """Run `command` to its receipt; the texts typed on the way. Where the bot says it is
    already nominated, as often as there are choices, the nomination is cancelled, as the bot
    asks, and made afresh (another nominee or title)."""
    typed: list[str] = []
    refused = 0
    await someone.say(command)
    await settle(someone)
    for _ in range(60):
        assert SORRY not in someone.text.lower(), someone.text
        if SAVED in someone.text:
            return typed
        refused += any(words in someone.text for words in ALREADY)
        if refused > 3 and CANCEL in someone.labels:
            await someone.press(CANCEL)
            typed.clear()
            refused = 0
            await someone.say(command)
            await settle(someone)
            continue
        await act(someone, rng, typed)
    raise AssertionError(f"{command} did not finish; last: {someone.text!r}")


async def test_random_reports_and_nominations_through_the_telegram_adapter(ready, monkeypatch):
    async with FakeTelegram() as tg:
        runner = await start_runner(telegram_settings(monkeypatch, tg))
        people = [Person(tg, tg.user(7000 + n, f"Người {n}")) for n in range(PEOPLE)]
        typed: dict[int, dict[str, list[list[str]]]] = {}

        async def one(someone: Person, seed: int) -> None:
            rng = random.Random(seed)
            await someone.say(f"/start {invite_code('QLCN', 'staff')}")
            mine: dict[str, list[list[str]]] = {"reports": [], "nominations": []}
            for _ in range(REPORTS):
                mine["reports"].append(await walk(someone, "/baocao", rng))
            for _ in range(NOMINATIONS):
                mine["nominations"].append(await walk(someone, "/denghi", rng))
            typed[someone.id] = mine

        try:
            await asyncio.gather(*(one(p, n) for n, p in enumerate(people)))
        finally:
            await runner.stop()
        seen = {
            p.id: [r.get("plain_text") or r["message"].get("text", "") for r in p.sent]
            for p in people
        }

    with session_scope() as session:
        owner = {
            ident.person_id: int(ident.user_id)
            for ident in session.exec(select(m.Identity).where(m.Identity.channel == "telegram"))
        }
        reports = session.exec(select(m.Report).order_by(m.Report.id)).all()
        nominations = session.exec(select(m.Nomination).order_by(m.Nomination.id)).all()
    assert len(reports) == PEOPLE * REPORTS
    assert len(nominations) == PEOPLE * NOMINATIONS
    for someone in people:
        assert not any(SORRY in text.lower() for text in seen[someone.id])
        titles = [r.title for r in reports if owner[r.person_id] == someone.id]
        for title, answers in zip(titles, typed[someone.id]["reports"], strict=True):
            assert "\x00" not in title and "\x1b" not in title and len(title) <= TITLE_MAX
            # typed, then cleaned (a text over the limit was refused and typed again)
            assert any(title.split()[0] == clean_text(t).split()[0] for t in answers)
            # the summary showed the title as text: HTML escaped, not parsed away
            assert any(title[:20] in text for text in seen[someone.id])
        bases = [n.basis for n in nominations if owner[n.proposer_id] == someone.id]
        assert len(bases) == NOMINATIONS
        for basis, answers in zip(bases, typed[someone.id]["nominations"], strict=True):
            assert "\x00" not in basis and basis.strip()
            assert any(basis.split()[0] == clean_text(t).split()[0] for t in answers)

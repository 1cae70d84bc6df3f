"""Words that hold: the glossary's one word for each thing, and one definition of "units that
owe a report" for /tonghop, the digest, the nudges and the exports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlmodel import select

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import language
from bot.core.store import active_campaign
from bot.core.summary import compile_summary
from bot.core.unit_status import owing, unit_statuses
from schedules.outbox.messages import digest_text
from tests.clerk_seed import seed
from tests.evidence_helpers import attach

ROOT = Path(__file__).resolve().parents[1]

#: Words the glossary replaced: none may come back into a Vietnamese message.
RETIRED = [
    "số tiếp nhận",
    "báo cáo đợt",
    "nộp",
    "đơn vị đã đề nghị",
    "trưởng đơn vị đề nghị",
    "người (tập thể)",
    "/doncoc",
]


def vietnamese_messages() -> list[tuple[str, str]]:
    found = []
    for po in sorted((ROOT / "locales" / "vi" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fp:
            for message in read_po(fp):
                if message.id and isinstance(message.string, str) and message.string:
                    found.append((po.name, message.string))
    return found


def test_the_glossary_names_each_term_in_both_languages():
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\| [a-z]", line)]
    assert len(rows) >= 30
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 4 and cells[1] and cells[2], line
    for word in ("số biên nhận", "báo cáo tổng kết đợt", "xác nhận", "tiếp nhận", "gửi"):
        assert word in text


@pytest.mark.parametrize("retired", RETIRED)
def test_no_retired_word_in_a_vietnamese_message(retired):
    bad = [(f, s) for f, s in vietnamese_messages() if retired in s.casefold()]
    assert bad == []


@pytest.fixture
def desk(people):
    return seed(people)


def test_the_nominee_question_names_what_was_chosen(desk, chat_as):
    chat = chat_as(desk.head)
    chat.say("/denghi")
    chat.press("Cá nhân")
    assert chat.text == "Chọn cá nhân được đề nghị:"
    chat.say("/huy")
    chat.say("/denghi")
    chat.press("Tập thể")
    assert chat.text == "Chọn tập thể được đề nghị:"


def test_the_review_screen_names_the_evidence_in_words(desk, chat_as):
    attach("BC-2022-0001", "document", None)
    chat = chat_as(desk.clerk)
    chat.say("/duyet BC-2022-0001")
    assert "Minh chứng kèm theo: tài liệu" in chat.text
    assert "document" not in chat.text


def test_the_receipt_has_one_name(desk, chat_as):
    chat = chat_as(desk.staff2)
    chat.say("/baocao")
    chat.say("1")
    chat.say("Tiêu đề")
    chat.say("Chi tiết")
    chat.press("Bỏ qua")
    chat.press("Xác nhận")
    assert "Số biên nhận: BC-2022-" in chat.text


def test_summary_digest_and_nudges_count_the_same_units(desk, chat_as):
    """The office (VP) compiles; it owes no phase report, even when it files one."""
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        status = unit_statuses(session=session, campaign_id=row.id, phase=1)
        today = clock.now().astimezone(clock.LOCAL).date()
        figures = compile_summary(
            session=session, campaign_row=row, campaign=campaign, today=today
        )
        owed = {s.unit.code for s in owing(status)}
        assert owed == {u.unit.code for u in figures.not_filed}
        assert "VP" not in owed and "QLCN" not in owed
        with language("vi"):
            digest = digest_text(phase=campaign.phase(1), status=status, today=today)
    expected = len(figures.expected)
    assert f"1/{expected} đơn vị đã gửi" in digest
    clerk = chat_as(desk.clerk)
    clerk.say("/tonghop")
    assert f"đã gửi 1/{expected}." in clerk.text


def test_namesakes_in_one_unit_are_told_apart_in_the_nominee_list(desk, chat_as):
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        for position in ("Chuyên viên", "Phó trưởng phòng"):
            session.add(m.Person(full_name="Trần Thị Giống", unit_id=unit.id, role="staff",
                                 position=position, created_at=clock.now()))  # fmt: skip
    chat = chat_as(desk.head)
    chat.say("/denghi")
    chat.press("Cá nhân")
    assert "Trần Thị Giống (Chuyên viên)" in chat.labels
    assert "Trần Thị Giống (Phó trưởng phòng)" in chat.labels
    assert "Nguyễn Thị Bình" in chat.labels  # a unique name is shown as it is

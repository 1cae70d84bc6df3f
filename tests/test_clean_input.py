"""Every text field is cleaned once at the seam: a NUL, a control character or a lone surrogate
in a name, a command's arguments or an answer is never stored as it came, and never breaks a
turn (PostgreSQL refuses NUL; SQLite cannot encode a lone surrogate)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import issue_invites
from handlers.types import Incoming
from tests.conftest import Chat

DIRTY = ["A\x00B", "A\x07B\x1b", "A\ud800B", "A\u200bB\u202e"]


def _invite(role: str = "staff") -> str:
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        return issue_invites(session=session, unit=unit, role=role, count=1, now=clock.now())[
            0
        ].code


def _stored(model) -> list:
    with session_scope() as session:
        return session.exec(select(model)).all()


@pytest.mark.parametrize("name", DIRTY)
def test_a_dirty_display_name_registers_cleaned(ready, name):
    chat = Chat("u-dirty", name=name)
    chat.say(f"/start {_invite()}")
    assert "Xin chào" in chat.text, chat.text
    (person,) = _stored(m.Person)
    (identity,) = _stored(m.Identity)
    assert person.full_name == identity.display_name == "AB"


@pytest.mark.parametrize("dirt", ["\x00", "\x01", "\ud800", "\x7f"])
def test_dirty_command_arguments_get_an_answer_not_an_apology(people, chat_as, dirt):
    clerk = chat_as(people.add(role="clerk"))
    text = clerk.say(f"/tonghop QLCN{dirt}")[0].text
    assert "Xin lỗi" not in text and "QLCN" in text


@pytest.mark.parametrize("dirt", ["\x00", "\ud800\udfff\ud800", "\x1b[2J"])
def test_a_dirty_answer_is_saved_cleaned(people, chat_as, dirt):
    chat = chat_as(people.add())
    chat.say("/baocao")
    if "Nội dung thi đua nào?" not in chat.text:
        chat.press(chat.labels[0])
    chat.press("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    chat.say(f"Đề án{dirt} trước hạn")
    chat.say(f"Trình{dirt} UBND tỉnh")
    chat.press("Bỏ qua")
    chat.press("Xác nhận")
    assert "Số biên nhận" in chat.text, chat.text
    (report,) = _stored(m.Report)
    assert "\x00" not in report.title + report.detail
    assert all(not 0xD800 <= ord(c) <= 0xDFFF for c in report.title + report.detail)
    assert report.title.startswith("Đề án") and report.detail.startswith("Trình")


def test_a_pressed_option_with_dirt_is_a_passed_question_not_an_error(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/baocao")
    assert "Xin lỗi" not in chat.send(choice="flow:report:x\x00\ud800")[0].text


def test_cleaning_is_nfc_and_keeps_vietnamese():
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Hoa\u0300"  # "Nguyễn Thị Hoà", combining marks
    incoming = Incoming(channel="t", chat_id="1", user_id="1", display_name=decomposed)
    assert incoming.cleaned().display_name == "Nguyễn Thị Hoà"
    long = Incoming(channel="t", chat_id="1", user_id="1", display_name="x" * 1000, args="y" * 999)
    assert len(long.cleaned().display_name) == 256 and len(long.cleaned().args) == 256

"""Personal invites and the unit invite that binds to an imported person, on Telegram (the real
runner against the fake Bot API server) and through the handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import issue_invites
from tests.conftest import Chat
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import Person, invite_code, start_runner, telegram_settings


def add_person(name: str, unit: str = "QLCN", role: str = "staff") -> int:
    with session_scope() as session:
        unit_row = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
        person = m.Person(full_name=name, unit_id=unit_row.id, role=role, created_at=clock.now())
        session.add(person)
        session.flush()
        assert person.id is not None
        return person.id


def personal_code(pid: int) -> str:
    with session_scope() as session:
        person = session.get(m.Person, pid)
        unit = session.get(m.Unit, person.unit_id)
        (invite,) = issue_invites(
            session=session, unit=unit, role=person.role, count=1, now=clock.now(), person=person
        )
        return invite.code


def bound(pid: int) -> list[tuple[str, str]]:
    with session_scope() as session:
        rows = session.exec(select(m.Identity).where(m.Identity.person_id == pid)).all()
        return [(i.channel, i.user_id) for i in rows]


def count_people() -> int:
    with session_scope() as session:
        return len(session.exec(select(m.Person)).all())


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def runner(ready, tg, monkeypatch):
    running = await start_runner(telegram_settings(monkeypatch, tg))
    yield running
    await running.stop()


async def test_a_personal_invite_on_telegram(runner, tg):
    pid = add_person("Hoàng Thị Mai", role="head")
    mai = Person(tg, tg.user(6001, "Mai"))
    await mai.say(f"/start {personal_code(pid)}")
    assert "Xin chào Hoàng Thị Mai!" in mai.text
    assert bound(pid) == [("telegram", "6001")] and count_people() == 1


async def test_a_unit_invite_offers_the_imported_person_of_that_name(runner, tg):
    pid = add_person("Nguyễn Văn Bình")
    add_person("Nguyễn Văn Bình", unit="QLTM")  # a namesake elsewhere: not offered
    binh = Person(tg, tg.user(6002, "Nguyễn Văn", last_name="Bình"))
    await binh.say(f"/start {invite_code('QLCN')}")
    assert binh.text == (
        "Danh sách cán bộ của cơ quan có Nguyễn Văn Bình (Phòng Quản lý Công nghiệp). "
        "Đó có phải là bạn không?"
    )
    assert binh.labels == ["Đúng, đó là tôi", "Không, tôi là người khác", "Hủy"]
    await binh.press("Đúng, đó là tôi")
    assert "Xin chào Nguyễn Văn Bình!" in binh.text
    assert bound(pid) == [("telegram", "6002")] and count_people() == 2  # no duplicate


def test_someone_else_registers_as_a_new_person(ready):
    pid = add_person("Lê Thị Hoa")
    chat = Chat("t-1", name="lê thị  hoa")  # case and spacing do not matter
    chat.say(f"/start {invite_code('QLCN')}")
    assert "Lê Thị Hoa (Phòng Quản lý Công nghiệp)" in chat.text
    chat.press("Không, tôi là người khác")
    assert "Xin chào lê thị hoa!" in chat.text
    assert bound(pid) == [] and count_people() == 2


@pytest.mark.parametrize("cancel", ["/huy", "huỷ", "0", "<button>"])
def test_the_question_at_registration_can_be_cancelled(ready, cancel):
    add_person("Lê Thị Hoa")
    code = invite_code("QLCN")
    chat = Chat("t-1", name="Lê Thị Hoa")
    chat.say(f"/start {code}")
    assert chat.cancel_offered
    chat.press("Hủy") if cancel == "<button>" else chat.say(cancel)
    assert chat.text.startswith("Đã hủy: đăng ký bằng mã mời (/start).")
    assert count_people() == 1
    chat.say(f"/start {code}")  # the code was not used up
    chat.press("Đúng, đó là tôi")
    assert "Xin chào Lê Thị Hoa!" in chat.text


def test_a_deactivated_persons_code_no_longer_works(ready):
    pid = add_person("Trần Văn Đi")
    code = personal_code(pid)
    from bot.core.personnel import deactivate

    with session_scope() as session:
        deactivate(session=session, person=session.get(m.Person, pid), now=clock.now(), by="t")
    chat = Chat("t-9", name="Đi")
    chat.say(f"/start {code}")
    assert "hết hạn" in chat.text and bound(pid) == []


def test_cancel_words_from_a_stranger_point_to_registration(ready):
    chat = Chat("t-2", name="Ai Đó")
    for text in ("/huy", "hủy", "báo cáo"):
        chat.say(text)
        assert "/start" in chat.text, text

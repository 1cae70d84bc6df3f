"""A person over the year: deactivated, moved, given another role, away; the call list;
export and forget. What each does to pushes, commands, /tonghop and the percentages."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import language
from bot.core.personnel import unreachable
from bot.core.reports import record_report
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from bot.core.unit_status import unit_statuses
from schedules import outbox
from schedules.outbox.messages import digest_text
from tests.conftest import Chat, at
from tests.evidence_helpers import attach, files_of
from tests.pushes_helpers import channel_env


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def person(pid: int) -> m.Person:
    with session_scope() as session:
        found = session.get(m.Person, pid)
        assert found is not None
        return found


def audits(action: str) -> list[m.AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(m.AuditEvent).where(m.AuditEvent.action == action)))


def launch_chats() -> set[str]:
    """Who the launch push would reach now (on Telegram)."""
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        outbox.launch(
            session=session,
            campaign_id=row.id,
            campaign=campaign,
            channels=["telegram"],
            now=clock.now(),
        )
        rows = session.exec(select(m.Outbox).where(m.Outbox.priority < m.REPLY_LANE)).all()
        chats = {r.chat_id for r in rows}
        for r in rows:
            session.delete(r)
        for r in session.exec(select(m.PushRun)):
            session.delete(r)
    return chats


def report(pid: int, when: str) -> str:
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        saved = record_report(
            session=session,
            campaign=row,
            person=session.get(m.Person, pid),
            phase=1,
            area=campaign.areas[0].code,
            title="Thành tích",
            detail="Chi tiết",
            now=dt.datetime.fromisoformat(when),
        )
        return saved.receipt


NOW = "2022-05-10T09:00:00+07:00"  # the `ready` clock; the CLI starts its clock there too


@pytest.fixture
def office(people, monkeypatch):
    channel_env(monkeypatch, THIDUA_NOW=NOW)
    return {
        "clerk": people.add("clerk", "VP", "Đỗ Văn Thư"),
        "head": people.add("head", "QLCN", "Lê Văn Trưởng", "telegram", "h"),
        "an": people.add("staff", "QLCN", "Trần Văn An", "telegram", "an"),
        "binh": people.add("staff", "QLCN", "Phạm Thị Bình", "telegram", "binh"),
    }


def test_deactivate_stops_pushes_and_commands_and_keeps_the_records(office, chat_as):
    an = office["an"]
    receipt = report(an.id, "2022-05-02T09:00:00+07:00")
    assert "an" in launch_chats()
    result = run("people", "deactivate", f"#{an.id}")
    assert result.exit_code == 0 and "Đã ngừng hoạt động: Trần Văn An." in result.stdout
    assert "đã ngừng hoạt động từ trước" in run("people", "deactivate", f"#{an.id}").stdout
    assert "an" not in launch_chats()
    chat = Chat("an", "telegram", an.name)
    chat.say("/baocao")
    assert chat.text.startswith("Tài khoản của bạn đã ngừng hoạt động")
    chat.say("báo cáo")
    assert chat.text.startswith("Tài khoản của bạn đã ngừng hoạt động")
    with session_scope() as session:
        kept = session.exec(select(m.Report).where(m.Report.receipt == receipt)).one()
        assert kept.person_id == an.id  # the record stays, and still counts where filed
    clerk = chat_as(office["clerk"])
    clerk.say("/tonghop QLCN")
    assert "Báo cáo thành tích cá nhân: 1" in clerk.text
    summary = json.loads(run("summary", "--json").stdout)
    assert summary["people"] == 3  # the clerk, the head, Bình: active people only
    assert audits("person.deactivate")[0].person_id == an.id
    assert run("people", "reactivate", f"#{an.id}").exit_code == 0
    assert "an" in launch_chats()


def test_move_from_a_date_keeps_earlier_reports_with_the_old_unit(office):
    an = office["an"]
    early = report(an.id, "2022-04-01T09:00:00+07:00")
    late = report(an.id, "2022-05-05T09:00:00+07:00")
    result = run("people", "move", "Trần Văn An", "--unit", "KHTC", "--from", "01/05/2022")
    assert result.exit_code == 0, result.output
    assert "Đã chuyển Trần Văn An sang KHTC; 1 báo cáo" in result.stdout
    with session_scope() as session:
        units = {u.id: u.code for u in session.exec(select(m.Unit))}
        by = {r.receipt: units[r.unit_id] for r in session.exec(select(m.Report))}
    assert by == {early: "QLCN", late: "KHTC"}
    assert units[person(an.id).unit_id] == "KHTC"
    (event,) = audits("person.move")
    assert event.detail["records_moved"] == 1
    assert run("people", "move", "Trần Văn An", "--unit", "NOPE").exit_code == 1
    assert run("people", "move", "Trần Văn An", "--unit", "QLCN", "--from", "32/13").exit_code == 2


def test_role_change_changes_the_commands(office):
    binh = office["binh"]
    chat = Chat("binh", "telegram", binh.name)
    chat.say("/tonghop")
    assert chat.text.startswith("Xin lỗi, lệnh /tonghop không dành")
    result = run("people", "role", "Phạm Thị Bình", "head")
    assert result.exit_code == 0 and "cán bộ" not in result.stderr
    chat.say("/tonghop")
    assert "Xin lỗi" not in chat.text
    assert "/tonghop" in chat.say("/huongdan")[0].text
    assert run("people", "role", "Phạm Thị Bình", "boss").exit_code == 2
    assert audits("person.role")[0].detail == {"from": "staff", "to": "head"}


def test_an_ambiguous_or_unknown_key(office, people):
    people.add("staff", "QLTM", "Trần Văn An")
    result = run("people", "deactivate", "Trần Văn An")
    assert result.exit_code == 1 and "ứng với 2 người" in result.stderr
    assert run("people", "deactivate", "Không Ai").exit_code == 1


# --- away -----------------------------------------------------------------------------------


def test_away_until_a_date_no_reminders_then_back_by_itself(office, chat_as):
    an = Chat("an", "telegram", "Trần Văn An")
    an.say("/vang 20/05 nghỉ phép")
    assert an.text.startswith("Đã ghi: bạn vắng mặt đến hết ngày 20/05/2022")
    assert "Lý do: nghỉ phép" in an.text
    assert person(office["an"].id).away_until == dt.date(2022, 5, 20)
    assert "an" not in launch_chats()
    clerk = chat_as(office["clerk"])
    clerk.say("/tonghop")
    assert (
        "Đang vắng: 1" in clerk.text
        and "Trần Văn An (QLCN): đến hết ngày 20/05/2022" in clerk.text
    )
    head = Chat("h", "telegram", "Lê Văn Trưởng")
    head.say("/tonghop")
    assert "Trần Văn An (QLCN)" in head.text
    at("2022-05-20T09:00:00+07:00")
    assert "an" not in launch_chats()  # the last day away
    at("2022-05-21T09:00:00+07:00")
    assert "an" in launch_chats()  # over by itself
    clerk.say("/tonghop")
    assert "Đang vắng" not in clerk.text


def test_a_head_away_is_not_nudged(office, chat_as):
    clerk = chat_as(office["clerk"])
    clerk.say("/dondoc")
    assert "• Phòng Quản lý Công nghiệp: Lê Văn Trưởng" in clerk.text
    clerk.say("/huy")
    Chat("h", "telegram", "Lê Văn Trưởng").say("/vang 30/05")
    clerk.say("/dondoc")
    reached, unreached = clerk.text.split("Không liên lạc được trưởng đơn vị")
    assert "Lê Văn Trưởng" not in reached and "• Phòng Quản lý Công nghiệp" in unreached


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hôm qua", "Vui lòng nhập ngày cuối cùng vắng mặt"),
        ("31/02", "không phải là ngày hợp lệ"),
        ("01/05/2022", "Ngày đó đã qua"),
        ("01/05/2025", "trong vòng một năm tới"),
    ],
)
def test_away_bad_dates_are_asked_again(office, typed, expected):
    an = Chat("an", "telegram", "Trần Văn An")
    an.say("/vang")
    assert an.text.startswith("Bạn vắng mặt đến hết ngày nào?")
    an.say(typed)
    assert expected in an.text and "Bạn vắng mặt đến hết ngày nào?" in an.text
    an.say("25/05")
    assert an.text.startswith("Đã ghi")


def test_away_ended_early_and_words(office):
    an = Chat("an", "telegram", "Trần Văn An")
    an.say("/away 25/05")
    an.say("vắng")
    assert "đang vắng đến hết ngày 25/05/2022" in an.text
    an.say("về")
    assert an.text == "Chào mừng bạn trở lại: bot sẽ gửi nhắc nhở như thường."
    assert person(office["an"].id).away_until is None
    an.say("/vang ve")
    assert an.text == "Bạn không được ghi là đang vắng."


# --- the call list -------------------------------------------------------------------------


def test_the_call_list(office, monkeypatch):
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLTM")).one()
        session.add(m.Person(full_name="Chưa Đăng Ký", unit_id=unit.id, role="staff",
                             phone="0912345678", created_at=clock.now()))  # fmt: skip
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == "binh")).one()
        ident.reachable, ident.unreachable_reason = False, "blocked"
        session.add(ident)
    assert run("invite", "--person", "Chưa Đăng Ký").exit_code == 0
    monkeypatch.setenv("THIDUA_NOW", "2022-05-13T10:00:00+07:00")
    get_settings.cache_clear()
    rows = json.loads(run("people", "unreachable", "--json").stdout)
    by = {r["name"]: r for r in rows}
    assert set(by) == {"Chưa Đăng Ký", "Phạm Thị Bình"}
    assert by["Chưa Đăng Ký"]["why"] == "never_registered"
    assert by["Chưa Đăng Ký"]["invited_days_ago"] == 3
    assert by["Phạm Thị Bình"]["why"] == "blocked" and by["Phạm Thị Bình"]["detail"] == "blocked"
    text = run("people", "unreachable").stdout
    assert "chưa đăng ký (đã mời 3 ngày trước)" in text
    assert "đã chặn bot hoặc không liên lạc được" in text


# --- personal data -------------------------------------------------------------------------


def test_export_and_forget(office, chat_as, tmp_path):
    an = office["an"]
    evidence = tmp_path / "evidence.jpg"
    evidence.write_bytes(b"\xff\xd8photo")
    receipt = report(an.id, "2022-05-02T09:00:00+07:00")
    attach(receipt, "photo", evidence)
    exported = json.loads(run("people", "export", "--person", f"#{an.id}").stdout)
    assert exported["person"]["full_name"] == "Trần Văn An"
    assert [i["user_id"] for i in exported["identities"]] == ["an"]
    assert [r["receipt"] for r in exported["reports"]] == [receipt]

    assert run("people", "forget", f"#{an.id}", input="n\n").exit_code == 1
    assert person(an.id).full_name == "Trần Văn An"
    result = run("people", "forget", f"#{an.id}", "--yes")
    assert result.exit_code == 0 and "đã xóa 1 tệp minh chứng" in result.stdout
    gone = person(an.id)
    assert gone.full_name == f"Người #{an.id} (đã xóa dữ liệu)" and gone.phone is None
    assert not gone.active and gone.forgotten_at is not None
    assert not evidence.exists()
    with session_scope() as session:
        assert session.exec(select(m.Identity).where(m.Identity.person_id == an.id)).all() == []
        kept = session.exec(select(m.Report).where(m.Report.receipt == receipt)).one()
        assert kept.person_id == an.id  # the figure stays
    assert files_of(receipt) == []
    clerk = chat_as(office["clerk"])
    clerk.say("/tonghop QLCN")
    assert "Báo cáo thành tích cá nhân: 1" in clerk.text
    after = json.loads(run("people", "export", "--person", f"#{an.id}").stdout)
    assert "Trần Văn An" not in json.dumps(after, ensure_ascii=False)
    chat = Chat("an", "telegram", "Trần Văn An")
    chat.say("/baocao")
    assert "/start" in chat.text  # no longer known: asked for an invite code


def test_the_deadline_digest_names_whom_to_call(office):
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLTM")).one()
        session.add(m.Person(full_name="Chưa Đăng Ký", unit_id=unit.id, role="staff",
                             phone="0912345678", created_at=clock.now()))  # fmt: skip
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == "binh")).one()
        ident.reachable, ident.unreachable_reason = False, "blocked"
        session.add(ident)
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        calls = unreachable(session=session, now=clock.now())
        status = unit_statuses(session=session, campaign_id=row.id, phase=1)
        with language("vi"):
            text = digest_text(
                phase=campaign.phase(1), status=status, today=dt.date(2022, 7, 15), calls=calls
            )
    lines = text.split("Cần gọi điện (2)")[1].splitlines()
    assert "• Chưa Đăng Ký (QLTM), 0912345678: chưa đăng ký" in lines
    assert "• Phạm Thị Bình (QLCN): đã chặn bot hoặc không liên lạc được" in lines


# --- /nhansu in chat -----------------------------------------------------------------------


def test_nhansu_deactivates_with_a_preview_and_a_confirmation(office, chat_as):
    clerk = chat_as(office["clerk"])
    clerk.say("/nhansu")
    assert clerk.text == "Thay đổi gì?"
    clerk.press("Có người nghỉ việc (ngừng hoạt động)")
    clerk.say("Không Có Ai")
    assert clerk.text.startswith("Không tìm thấy ai ứng với “Không Có Ai”.")
    clerk.say("Đỗ Văn Thư")
    assert clerk.text.startswith("Bạn không thể tự thay đổi")
    clerk.say("trần văn an")
    assert clerk.text.startswith("Ngừng hoạt động Trần Văn An (QLCN, cán bộ)?")
    assert person(office["an"].id).active  # nothing before the confirmation
    clerk.press("Xác nhận")
    assert clerk.text == "Đã ngừng hoạt động: Trần Văn An."
    assert not person(office["an"].id).active
    assert audits("person.deactivate")[0].subject == f"chat:{office['clerk'].id}"


def test_nhansu_moves_and_changes_a_role(office, chat_as):
    clerk = chat_as(office["clerk"])
    clerk.say("/nhansu")
    clerk.press("Chuyển sang đơn vị khác")
    clerk.say("Phạm Thị Bình")
    assert "Phòng Quản lý Công nghiệp" not in clerk.labels  # not the unit she is in
    clerk.press("Thanh tra Sở")
    assert clerk.text.startswith("Chuyển Phạm Thị Bình (QLCN, cán bộ) sang Thanh tra Sở")
    clerk.press("Xác nhận")
    assert clerk.text == "Đã chuyển Phạm Thị Bình sang Thanh tra Sở."
    clerk.say("nhân sự")
    clerk.press("Đổi vai trò")
    clerk.say(f"#{office['binh'].id}")
    clerk.press("trưởng đơn vị")
    clerk.press("Xác nhận")
    assert clerk.text == "Phạm Thị Bình: cán bộ → trưởng đơn vị."
    assert person(office["binh"].id).role == "head"


def test_nhansu_is_for_the_office(office):
    an = Chat("an", "telegram", "Trần Văn An")
    an.say("/nhansu")
    assert an.text.startswith("Xin lỗi, lệnh /nhansu không dành")

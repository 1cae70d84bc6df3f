"""Registration (đăng ký thi đua), the eligibility pre-check, and one achievement, one award:
user stories through the chat seam, the scheduler's pushes and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import eligibility
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.nominations import record_nomination
from bot.core.store import active_campaign, load_into_store
from tests.conftest import Chat, at
from tests.pushes_helpers import FakeRunner, channel_env, local, push_of, wait_until

IN_WINDOW = "2022-03-10T09:00:00+07:00"  # the bundled plan registers 01/03–31/03/2022
INDIVIDUAL = ["Lao động tiên tiến", "Chiến sĩ thi đua cơ sở", "Chiến sĩ thi đua cấp tỉnh"]


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def rows(model, **where):
    with session_scope() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(session.exec(query))


def audits(action: str) -> list[m.AuditEvent]:
    return rows(m.AuditEvent, action=action)


def register(chat: Chat, numbers: str, unit: bool = False) -> str:
    chat.say("/dangky")
    if unit:
        chat.press(next(label for label in chat.labels if label.startswith("Cho đơn vị")))
    elif "Cho bản thân" in chat.labels:
        chat.press("Cho bản thân")
    chat.say(numbers)
    chat.press("Xác nhận")
    return chat.text


def set_registration(**changes) -> None:
    """Reload the active campaign with its registration window changed."""
    with session_scope() as session:
        _row, campaign = active_campaign(session=session)
        assert campaign.registration is not None
        window = campaign.registration.model_copy(update=changes)
        load_into_store(
            session=session,
            campaign=campaign.model_copy(update={"registration": window}),
            source="test",
        )


# --- registration --------------------------------------------------------------------------


def test_staff_registers_in_the_window_edits_and_is_refused_after(people, chat_as):
    at(IN_WINDOW)
    staff = chat_as(people.add(name="Trần Văn Bình"))
    staff.say("/dangky")
    assert "Năm nay bạn đăng ký phấn đấu danh hiệu nào?" in staff.text
    assert all(f"{i}. {name}" in staff.text for i, name in enumerate(INDIVIDUAL, start=1))
    assert "Tập thể lao động tiên tiến" not in staff.text  # collective titles: the head's
    assert "Bằng khen" not in staff.text  # award forms are not registered
    assert staff.cancel_offered
    staff.say("2, 1")
    assert "Vui lòng kiểm tra bản đăng ký thi đua năm 2022:" in staff.text
    assert "- Lao động tiên tiến\n- Chiến sĩ thi đua cơ sở" in staff.text
    staff.press("Xác nhận")
    assert "Đã đăng ký. Số biên nhận: DK-2022-0001." in staff.text
    assert "Có thể sửa bằng /dangky đến hết ngày 31/03/2022." in staff.text
    (saved,) = rows(m.Registration)
    assert (saved.audience, saved.titles) == ("individual", ["LDTT", "CSTD-CS"])

    staff.say("/register_titles")
    assert "Đã đăng ký: Lao động tiên tiến, Chiến sĩ thi đua cơ sở." in staff.text
    staff.say("1")
    staff.press("Xác nhận")
    assert "Đã sửa đăng ký (DK-2022-0001)." in staff.text
    (saved,) = rows(m.Registration)
    assert saved.titles == ["LDTT"] and saved.receipt == "DK-2022-0001"
    assert [a.detail["titles"] for a in audits("registration.save")] == [["LDTT", "CSTD-CS"]]
    (edit,) = audits("registration.edit")
    assert edit.detail == {"titles": ["LDTT"], "old": ["LDTT", "CSTD-CS"]}

    at("2022-04-01T08:00:00+07:00")
    staff.say("/dangky")
    assert staff.text == (
        "Đăng ký thi đua đã kết thúc ngày 31/03/2022: không thể đăng ký hoặc sửa nữa. "
        "Nếu cần thay đổi, vui lòng liên hệ Văn phòng."
    )
    assert rows(m.Registration)[0].titles == ["LDTT"]


def test_before_the_window_and_a_close_mid_flow(people, chat_as):
    at("2022-02-20T09:00:00+07:00")
    staff = chat_as(people.add())
    staff.say("/dangky")
    assert staff.text == (
        "Đăng ký thi đua mở từ ngày 01/03/2022. Trước ngày đó chưa đăng ký được."
    )
    at("2022-03-31T23:59:00+07:00")
    staff.say("/dangky")
    staff.say("1")
    at("2022-04-01T00:00:30+07:00")
    staff.press("Xác nhận")
    assert "Đăng ký thi đua đã kết thúc ngày 31/03/2022" in staff.text
    assert rows(m.Registration) == []


def test_the_head_registers_the_units_collective_titles(people, chat_as):
    at(IN_WINDOW)
    head = chat_as(people.add(role="head", name="Lê Thị Hoa"))
    head.say("/dangky")
    assert head.labels == ["Cho bản thân", "Cho đơn vị: Phòng Quản lý Công nghiệp"]
    head.press("Cho đơn vị: Phòng Quản lý Công nghiệp")
    assert "Năm nay đơn vị đăng ký phấn đấu danh hiệu nào?" in head.text
    assert "1. Tập thể lao động tiên tiến" in head.text
    assert "Lao động tiên tiến\n" not in head.text.replace("Tập thể lao động tiên tiến", "")
    head.say("1 2")
    assert "Tập thể: Phòng Quản lý Công nghiệp" in head.text
    head.press("Xác nhận")
    assert "DK-2022-0001" in head.text
    (saved,) = rows(m.Registration)
    unit = rows(m.Unit, code="QLCN")[0]
    assert (saved.subject, saved.titles) == (f"unit:{unit.id}", ["TTLDTT", "TTLDXS"])
    # The head registers for themselves too: a second receipt.
    assert "DK-2022-0002" in register(head, "1")


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("abc", "Vui lòng nhập số thứ tự các lựa chọn, cách nhau bằng dấu phẩy"),
        ("7", "Vui lòng dùng các số từ 1 đến 3."),
        ("🏆", "Vui lòng nhập số thứ tự các lựa chọn"),
        ("<b>1</b>", "Vui lòng nhập số thứ tự các lựa chọn"),
        ("1" * 201, "tối đa 200"),
    ],
)
def test_bad_answers_are_asked_again(people, chat_as, typed, answer):
    at(IN_WINDOW)
    staff = chat_as(people.add())
    staff.say("/dangky")
    staff.say(typed)
    assert answer in staff.text
    assert "Năm nay bạn đăng ký phấn đấu danh hiệu nào?" in staff.text  # asked again
    assert rows(m.Registration) == []


def test_cancel_and_a_command_mid_flow_and_strangers(people, chat_as):
    at(IN_WINDOW)
    staff = chat_as(people.add())
    staff.say("/dangky")
    staff.say("0")
    assert rows(m.Registration) == [] and "Năm nay" not in staff.text
    staff.say("/dangky")
    staff.say("1")
    staff.say("/baocao")
    assert staff.text.startswith("Bạn chưa làm xong: đăng ký danh hiệu thi đua năm nay (/dangky).")
    stranger = Chat("nobody")
    stranger.say("/dangky")
    assert "mã mời" in stranger.text
    assert rows(m.Registration) == []


def test_no_window_in_the_file(people, chat_as):
    with session_scope() as session:
        _row, campaign = active_campaign(session=session)
        load_into_store(
            session=session,
            campaign=campaign.model_copy(update={"registration": None}),
            source="t",
        )
    staff = chat_as(people.add())
    staff.say("/dangky")
    assert staff.text == "Phong trào này không có đăng ký thi đua."


@pytest.fixture
def units(people, monkeypatch):
    """Heads of QLCN (which registers) and of QLTM (which does not), and staff, on Telegram."""
    channel_env(monkeypatch)
    at(IN_WINDOW)
    folks = {
        "a": people.add("staff", "QLTM", "Trần Thị A", "telegram", "a"),
        "h1": people.add("head", "QLCN", "Lê Văn H1", "telegram", "h1"),
        "h3": people.add("head", "QLTM", "Hồ H3", "telegram", "h3"),
    }
    register(Chat("h1", "telegram"), "1", unit=True)
    register(Chat("a", "telegram"), "1")
    return folks


async def test_heads_of_units_that_have_not_registered_are_nudged(units, pushes):
    push = push_of("registration_reminder", days_before=7)
    assert push.at.isoformat() == "2022-03-24T08:00:00+07:00"
    at(local(push, seconds=5))
    tg = FakeRunner("telegram")
    await pushes(tg)
    await wait_until(lambda: tg.to("h3"))
    (text,) = tg.to("h3")
    assert text.splitlines() == [
        "Phòng Quản lý Thương mại chưa đăng ký thi đua danh hiệu tập thể năm nay.",
        "Hạn đăng ký: 31/03/2022, còn 7 ngày.",
        "Đã có 1/2 cá nhân của đơn vị đăng ký.",
        "Đăng ký danh hiệu của đơn vị bằng /dangky.",
    ]
    assert tg.to("h1") == [] and tg.to("a") == []  # QLCN registered; staff are not nudged


def test_the_window_opening_is_pushed_to_everyone(ready):
    opening = push_of("registration_open")
    assert opening.at.isoformat() == "2022-03-01T08:00:00+07:00"
    assert opening.event is not None
    assert "Đã mở đăng ký thi đua năm 2022, đến hết ngày 31/03/2022." in opening.event.text
    days = sorted(p.at.date().isoformat() for p in _reminders())
    assert days == ["2022-03-24", "2022-03-28", "2022-03-30"]  # T-7, T-3, T-1: work days


def _reminders():
    from schedules import outbox

    with session_scope() as session:
        campaign = active_campaign(session=session)[1]
    return [p for p in outbox.pushes(campaign) if p.kind == "registration_reminder"]


def test_the_clerk_sees_registrations_against_the_targets(units, people, chat_as, tmp_path):
    for i in range(3):
        register(chat_as(people.add(name=f"Người {i}")), "1, 2")
    clerk = chat_as(people.add(role="clerk", unit="VP"))
    clerk.say("/tonghop")
    assert "Đăng ký thi đua:" in clerk.text
    assert "- Chiến sĩ thi đua cơ sở: 3 đăng ký / chỉ tiêu 9" in clerk.text
    assert "- Tập thể lao động tiên tiến: 1 đăng ký / chỉ tiêu 6" in clerk.text  # 100% of 6

    summary = json.loads(cli("summary", "--json").stdout)
    tally = {t["code"]: (t["registered"], t["target"]) for t in summary["registrations"]}
    assert tally["CSTD-CS"] == (3, 9) and tally["LDTT"] == (4, 7)  # 100% of the 7 people
    listed = json.loads(cli("registrations", "--unit", "QLCN", "--json").stdout)
    assert [r["receipt"] for r in listed["registrations"]] == [
        "DK-2022-0001",
        "DK-2022-0003",
        "DK-2022-0004",
        "DK-2022-0005",
    ]
    out = tmp_path / "dang-ky.docx"
    result = cli("registrations", "--unit", "QLCN", "--out", str(out))
    assert result.exit_code == 0, result.output
    doc = docx.Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "BẢN ĐĂNG KÝ THI ĐUA NĂM 2022" in text
    assert "- Lao động tiên tiến (DK-2022-0001)".replace("Lao", "Tập thể lao") in text
    heading = doc.tables[0].rows[0].cells
    assert "PHÒNG QUẢN LÝ CÔNG NGHIỆP" in heading[0].text and "CỘNG HÒA" in heading[1].text
    table = doc.tables[1]
    assert [c.text for c in table.rows[0].cells] == [
        "TT",
        "Họ tên",
        "Chức vụ",
        "Danh hiệu đăng ký",
    ]
    assert [table.rows[1].cells[1].text, table.rows[1].cells[3].text] == [
        "Người 0",
        "Lao động tiên tiến, Chiến sĩ thi đua cơ sở",
    ]
    assert "THỦ TRƯỞNG ĐƠN VỊ" in doc.tables[2].rows[0].cells[1].text
    assert cli("registrations", "--out", str(out)).exit_code == 2  # one unit's sheet
    assert cli("registrations", "--unit", "NOPE").exit_code == 1


# --- nominations against registration ------------------------------------------------------


def nominate(chat: Chat, who: str, title: str, reports: str | None = None) -> str:
    chat.say("/denghi")
    chat.press("Cá nhân")
    chat.press(who)
    chat.press(title)
    if reports is not None:
        chat.say(reports)
    return chat.text


def test_an_unregistered_title_is_warned_of_or_refused(people, chat_as):
    at(IN_WINDOW)
    people.add(name="Trần Văn Bình", user_id="binh")
    head = chat_as(people.add(role="head", name="Lê Thị Hoa"))
    nominate(head, "Trần Văn Bình", "Lao động tiên tiến")
    head.say("Hoàn thành tốt nhiệm vụ.")
    assert "⚠ Chưa đăng ký thi đua danh hiệu này." in head.text
    head.press("Hủy")

    set_registration(required="refuse")
    text = nominate(head, "Trần Văn Bình", "Lao động tiên tiến")
    assert "Trần Văn Bình chưa đăng ký thi đua Lao động tiên tiến" in text
    assert "Lao động tiên tiến" in head.labels  # still at the title question
    head.press("Bằng khen của Chủ tịch UBND tỉnh")  # an award form: never registered
    assert "Đề nghị dựa trên" not in head.text and "căn cứ" in head.text.lower()
    head.say("0")

    register(Chat("binh"), "1")
    nominate(head, "Trần Văn Bình", "Lao động tiên tiến")
    head.say("Hoàn thành tốt nhiệm vụ.")
    assert "Chưa đăng ký" not in head.text
    head.press("Xác nhận")
    assert "DN-2022-0001" in head.text


# --- the pre-check -------------------------------------------------------------------------


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def nomination(person, title: str, *, status: str = "endorsed", unit: str = "QLCN"):
    """A nomination saved straight in the store (the head's: endorsed)."""
    with session_scope() as session:
        row, _campaign = active_campaign(session=session)
        proposer = session.exec(select(m.Person).where(m.Person.role == "clerk")).first()
        target_unit = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
        saved = record_nomination(
            session=session,
            campaign=row,
            proposer=proposer,
            unit_id=target_unit.id,
            audience="individual" if person is not None else "collective",
            nominee_name=person.name if person is not None else target_unit.name,
            nominee_person_id=person.id if person is not None else None,
            nominee_unit_id=None if person is not None else target_unit.id,
            title_code=title,
            basis="Thành tích",
            now=row.loaded_at,
        )
        saved.status = status
        session.add(saved)
        return saved.receipt


def check(receipt: str) -> dict[str, tuple[str, str]]:
    result = cli("eligibility", "show", receipt, "--json")
    assert result.exit_code == 0, result.output
    return {c["key"]: (c["outcome"], c["why"]) for c in json.loads(result.stdout)["checks"]}


def same_in_bulk() -> int:
    """Every stored nomination's pre-check, read for it alone and from `known` (what an
    export reads once for all of them), is the same; how many were compared."""
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        assert row.id is not None
        bulk = eligibility.known(session, row.id)
        stored = session.exec(select(m.Nomination)).all()
        for n in stored:
            assert eligibility.precheck(session, n, bulk) == eligibility.precheck(session, n)
        return len(stored)


@pytest.fixture
def staff(people):
    people.add(role="clerk", unit="VP", name="Đỗ Văn Thư")
    return {
        "an": people.add(name="Nguyễn Văn An"),
        "binh": people.add(name="Trần Văn Bình"),
        "chi": people.add(name="Lê Thị Chi"),
    }


def test_every_condition_unknown_before_anything_is_imported(staff):
    receipt = nomination(staff["an"], "CSTD-CS")
    assert check(receipt) == {
        "title:LDTT:1": ("missing", "chưa có đề nghị"),
        "initiative": ("unknown", "chưa nhập danh sách sáng kiến của năm"),
        "no_discipline": ("unknown", "chưa nhập"),
    }
    lda = nomination(staff["an"], "LDTT")
    assert check(lda)["rating"] == ("unknown", "chưa nhập xếp loại")
    assert check(receipt)["title:LDTT:1"] == (
        "unknown",
        f"đã đề nghị ({lda}), chưa tiếp nhận",
    )


def test_ratings_and_initiatives_make_conditions_met_or_missing(staff, tmp_path):
    ratings = write_csv(
        tmp_path / "xep-loai.csv",
        [
            "Họ và tên,Đơn vị,Xếp loại,Kỷ luật",
            "Nguyễn Văn An,QLCN,Hoàn thành xuất sắc nhiệm vụ,không",
            "Trần Văn Bình,QLCN,HTNV,Khiển trách",
            "Lê Thị Chi,QLCN,httnv,",
        ],
    )
    result = cli("ratings", "import", str(ratings))
    assert result.exit_code == 0, result.output
    assert "Đã nhập 3 dòng (3 cá nhân, 0 đơn vị)." in result.stdout
    initiatives = write_csv(
        tmp_path / "sang-kien.csv",
        ["Họ và tên,Đơn vị,Sáng kiến,Số quyết định", "Nguyễn Văn An,QLCN,Số hóa hồ sơ,12/QĐ-SCT"],
    )
    assert cli("initiatives", "import", str(initiatives)).exit_code == 0
    an, binh = nomination(staff["an"], "LDTT"), nomination(staff["binh"], "LDTT")
    assert check(an) == {
        "rating": ("met", "Hoàn thành xuất sắc nhiệm vụ"),
        "no_discipline": ("met", "không có"),
    }
    assert check(binh) == {
        "rating": ("missing", "Hoàn thành nhiệm vụ"),
        "no_discipline": ("missing", "bị kỷ luật"),
    }
    with session_scope() as session:
        found = session.exec(select(m.Nomination).where(m.Nomination.receipt == an)).one()
        found.status = "accepted"
        session.add(found)
    cs_an, cs_binh = nomination(staff["an"], "CSTD-CS"), nomination(staff["binh"], "CSTD-CS")
    assert check(cs_an)["initiative"] == ("met", "Số hóa hồ sơ")
    assert check(cs_an)["title:LDTT:1"] == ("met", f"đã tiếp nhận ({an})")
    assert check(cs_binh)["initiative"] == ("missing", "không có trong danh sách đã nhập")
    # A rating import without the discipline column leaves discipline as it was.
    again = write_csv(
        tmp_path / "lai.csv", ["Họ và tên,Đơn vị,Xếp loại", "Trần Văn Bình,QLCN,tốt"]
    )
    assert cli("ratings", "import", str(again)).exit_code == 0
    assert check(binh) == {
        "rating": ("met", "Hoàn thành tốt nhiệm vụ"),
        "no_discipline": ("missing", "bị kỷ luật"),
    }
    assert same_in_bulk() >= 1


def test_years_running_read_earlier_years_records(staff, tmp_path):
    cs = nomination(staff["an"], "CSTD-CS", status="accepted")
    tinh = nomination(staff["an"], "CSTD-TINH")
    key = "title:CSTD-CS:3"
    assert check(tinh)[key] == ("unknown", "chưa nhập dữ liệu năm 2021")
    history = write_csv(
        tmp_path / "lich-su.csv",
        ["Họ và tên,Đơn vị,Năm,Danh hiệu", "Nguyễn Văn An,QLCN,2021,LDTT; CSTD-CS"],
    )
    assert cli("ratings", "import", str(history)).exit_code == 0
    assert check(tinh)[key] == ("unknown", "chưa nhập dữ liệu năm 2020")
    older = write_csv(
        tmp_path / "2020.csv", ["Họ và tên,Đơn vị,Danh hiệu", "Nguyễn Văn An,QLCN,LDTT"]
    )
    assert cli("ratings", "import", str(older), "--year", "2020").exit_code == 0
    assert check(tinh)[key] == ("missing", "năm 2020 không đạt")
    fixed = write_csv(
        tmp_path / "2020b.csv", ["Họ và tên,Đơn vị,Danh hiệu", "Nguyễn Văn An,QLCN,CSTD-CS"]
    )
    assert cli("ratings", "import", str(fixed), "--year", "2020").exit_code == 0
    assert check(tinh)[key] == ("met", "đạt đủ các năm")
    assert cs  # this year's, accepted: the first of the three
    assert same_in_bulk() >= 1


def test_a_collective_title_reads_the_members(staff, tmp_path):
    ttl = nomination(None, "TTLDTT")
    checks = check(ttl)
    assert checks["member_share:LDTT"] == ("missing", "0/3 (0%)")
    assert checks["no_discipline"] == ("unknown", "chưa nhập 3/3 người")
    nomination(staff["an"], "LDTT")  # endorsed: counts for the share
    nomination(staff["binh"], "LDTT")
    assert check(ttl)["member_share:LDTT"] == ("met", "2/3 (66,67%)")
    ratings = write_csv(
        tmp_path / "x.csv",
        [
            "Họ và tên,Đơn vị,Xếp loại,Kỷ luật",
            ",QLCN,Hoàn thành tốt nhiệm vụ,",
            "Nguyễn Văn An,QLCN,tốt,",
            "Trần Văn Bình,QLCN,tốt,",
            "Lê Thị Chi,QLCN,tốt,",
        ],
    )
    result = cli("ratings", "import", str(ratings))
    assert "(3 cá nhân, 1 đơn vị)" in result.stdout
    assert check(ttl)["rating"][0] == "met" and check(ttl)["no_discipline"] == ("met", "không có")
    typed = nomination(None, "TTLDTT", unit="QLTM")
    assert check(typed)["member_share:LDTT"] == (
        "unknown",
        "đơn vị chưa có cán bộ nào trong hệ thống",
    )
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        draft = m.Nomination(
            campaign_id=row.id,
            receipt="",
            proposer_id=1,
            unit_id=1,
            audience="collective",
            nominee_name="Công đoàn",
            nominee_key="collective:cong doan",
            title_code="TTLDTT",
            basis="",
        )
        found = eligibility.precheck(session, draft)
    assert {c.outcome for c in found.checks} == {"unknown"}  # a typed name: not in the store
    assert same_in_bulk() >= 1


def test_the_clerk_overrides_a_condition_and_it_is_audited(staff):
    receipt = nomination(staff["an"], "LDTT")
    result = cli(
        "eligibility", "override", receipt, "rating", "--as", "met", "--note", "Biên bản 3/2022"
    )
    assert result.exit_code == 0, result.output
    assert "✅ Xếp loại năm 2022: từ Hoàn thành tốt nhiệm vụ trở lên" in result.stdout
    assert "(Văn phòng xác định: Biên bản 3/2022)" in result.stdout
    (event,) = audits("eligibility.override")
    assert (event.subject, event.detail["condition"], event.detail["outcome"]) == (
        receipt,
        "rating",
        "met",
    )
    assert cli("eligibility", "override", receipt, "rating", "--as", "unknown", "--note", "x")
    assert check(receipt)["rating"][0] == "unknown"  # back to what the data say
    bad = cli("eligibility", "override", receipt, "initiative", "--as", "met", "--note", "x")
    assert bad.exit_code == 1 and "Các điều kiện: rating, no_discipline." in bad.output
    assert (
        cli("eligibility", "override", receipt, "rating", "--as", "met", "--note", " ").exit_code
        == 2
    )
    assert cli("eligibility", "show", "DN-2022-9999").exit_code == 1
    assert same_in_bulk() >= 1


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["Họ và tên,Đơn vị,Xếp loại", "Nguyễn Văn An,QLCN,giỏi"], "“giỏi” không phải"),
        (["Họ và tên,Đơn vị,Xếp loại", "Không Ai,QLCN,tốt"], "không có ai tên “Không Ai”"),
        (["Họ và tên,Đơn vị,Xếp loại", "Nguyễn Văn An,XX,tốt"], "không có đơn vị “XX”"),
        (["Họ và tên,Đơn vị,Ghi chú", "Nguyễn Văn An,QLCN,x"], "tệp không có cột nào"),
        (["Họ và tên,Đơn vị,Danh hiệu", "Nguyễn Văn An,QLCN,ABC"], "không có danh hiệu “ABC”"),
        (["Họ và tên,Đơn vị,Năm,Xếp loại", "Nguyễn Văn An,QLCN,hai,tốt"], "không phải một năm"),
    ],
)
def test_a_bad_ratings_file_writes_nothing(staff, tmp_path, lines, problem):
    path = write_csv(tmp_path / "bad.csv", [*lines, "Trần Văn Bình,QLCN,tốt"][: len(lines)])
    result = cli("ratings", "import", str(path))
    assert result.exit_code == 1 and problem in result.output
    assert rows(m.YearRecord) == []


def test_a_bad_initiatives_file_writes_nothing(staff, tmp_path):
    path = write_csv(tmp_path / "sk.csv", ["Họ và tên,Đơn vị,Sáng kiến", ",QLCN,Số hóa"])
    result = cli("initiatives", "import", str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"] == [
        "dòng 2: sáng kiến là của cá nhân: hãy ghi họ tên"
    ]
    assert cli("initiatives", "import", str(tmp_path / "none.xlsx")).exit_code == 1
    assert rows(m.Initiative) == []


def test_an_xlsx_ratings_file(staff, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Họ và tên", "Đơn vị", "Xếp loại"])
    wb.active.append(["Lê Thị Chi", "QLCN", "Hoàn thành xuất sắc nhiệm vụ"])
    wb.save(tmp_path / "x.xlsx")
    assert cli("ratings", "import", str(tmp_path / "x.xlsx")).exit_code == 0
    (record,) = rows(m.YearRecord)
    assert (record.year, record.rating, record.disciplined) == (2022, "xuat-sac", None)


# --- in chat: the pre-check and one achievement, one award ---------------------------------


def file_report(chat: Chat, title: str) -> None:
    chat.say("/baocao")
    if "Nội dung thi đua nào?" not in chat.text:
        chat.press(chat.labels[0])
    chat.press("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    chat.say(title)
    chat.say("Chi tiết thành tích.")
    chat.press("Bỏ qua")
    chat.press("Xác nhận")


@pytest.fixture
def office(people, chat_as):
    staff = people.add(name="Trần Văn Bình")
    binh = chat_as(staff)
    file_report(binh, "Đề án công nghiệp hỗ trợ")  # BC-2022-0001
    file_report(binh, "Số hóa hồ sơ")  # BC-2022-0002
    return {
        "head": chat_as(people.add(role="head", name="Lê Thị Hoa")),
        "clerk": chat_as(people.add(role="clerk", unit="VP", name="Đỗ Văn Thư")),
    }


def test_a_nomination_cites_reports_and_shows_its_precheck(office):
    head = office["head"]
    text = nominate(head, "Trần Văn Bình", "Lao động tiên tiến")
    assert "Đề nghị dựa trên báo cáo nào?" in text
    assert "1. BC-2022-0002 · Số hóa hồ sơ\n2. BC-2022-0001 · Đề án công nghiệp hỗ trợ" in text
    head.say("abc")
    assert "Vui lòng nhập số thứ tự" in head.text
    head.say("5")
    assert "Vui lòng dùng các số từ 1 đến 2." in head.text
    head.say("2")
    head.say("Hoàn thành tốt nhiệm vụ.")
    assert "Báo cáo làm căn cứ: BC-2022-0001" in head.text
    assert "Kiểm tra điều kiện: chưa rõ" in head.text
    assert "❔ Xếp loại năm 2022: từ Hoàn thành tốt nhiệm vụ trở lên: chưa nhập xếp loại" in (
        head.text
    )
    head.press("Xác nhận")
    assert "Số biên nhận: DN-2022-0001" in head.text and "Kiểm tra điều kiện" in head.text
    (link,) = rows(m.NominationReport)
    assert link.report_id == rows(m.Report, receipt="BC-2022-0001")[0].id

    clerk = office["clerk"]
    clerk.say("/duyet DN-2022-0001")
    assert "Báo cáo làm căn cứ: BC-2022-0001" in clerk.text
    assert "❔ Không bị kỷ luật năm 2022: chưa nhập" in clerk.text


def test_one_achievement_one_award(office):
    head, clerk = office["head"], office["clerk"]
    nominate(head, "Trần Văn Bình", "Lao động tiên tiến", reports="2")
    head.say("Hoàn thành tốt nhiệm vụ.")
    head.press("Xác nhận")  # DN-2022-0001 cites BC-2022-0001
    nominate(head, "Trần Văn Bình", "Bằng khen của Chủ tịch UBND tỉnh", reports="1, 2")
    head.say("Có thành tích xuất sắc.")
    head.press("Xác nhận")  # DN-2022-0002 cites both: allowed while nothing is accepted
    clerk.say("/duyet DN-2022-0001")
    clerk.press("Tiếp nhận")
    clerk.press("Xác nhận")
    assert rows(m.Nomination, receipt="DN-2022-0001")[0].status == "accepted"

    clerk.say("/duyet DN-2022-0002")
    clerk.press("Tiếp nhận")
    clerk.press("Xác nhận")
    assert (
        "BC-2022-0001 đã là căn cứ của một đề nghị đã tiếp nhận: DN-2022-0001 "
        "(Trần Văn Bình, Lao động tiên tiến)." in clerk.text
    )
    assert "Một thành tích chỉ khen thưởng một lần" in clerk.text
    assert rows(m.Nomination, receipt="DN-2022-0002")[0].status == "endorsed"

    nominate(head, "Trần Văn Bình", "Bằng khen của Bộ trưởng Bộ Công Thương", reports="2")
    assert "DN-2022-0001 (Trần Văn Bình, Lao động tiên tiến)" in head.text
    assert "Đề nghị dựa trên báo cáo nào?" in head.text  # asked again
    head.say("1")
    head.say("Căn cứ khác.")
    head.press("Xác nhận")
    assert "DN-2022-0003" in head.text


def test_the_export_has_the_registrations_and_the_prechecks(office, tmp_path):
    nominate(office["head"], "Trần Văn Bình", "Lao động tiên tiến", reports="không")
    office["head"].say("Hoàn thành tốt nhiệm vụ.")
    office["head"].press("Xác nhận")
    out = tmp_path / "tong-hop.xlsx"
    assert cli("export", "--format", "xlsx", "--out", str(out)).exit_code == 0
    wb = openpyxl.load_workbook(out)
    sheet = wb["Kiểm tra điều kiện"]
    values = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert values[0][:3] == ["DN-2022-0001", "Trần Văn Bình", "Lao động tiên tiến"]
    assert {v[4] for v in values} == {"chưa rõ"}
    assert "Đăng ký thi đua" in wb.sheetnames


def test_the_clerk_records_a_finding_in_chat(office):
    nominate(office["head"], "Trần Văn Bình", "Lao động tiên tiến", reports="không")
    office["head"].say("Hoàn thành tốt nhiệm vụ.")
    office["head"].press("Xác nhận")
    clerk = office["clerk"]
    clerk.say("/duyet DN-2022-0001")
    clerk.press("Ghi nhận kết quả kiểm tra điều kiện")
    assert clerk.text == "Điều kiện nào?"
    clerk.press("❔ Không bị kỷ luật năm 2022")
    clerk.press("Đạt")
    clerk.say("")
    assert clerk.text.startswith("Câu trả lời đang trống. Vui lòng nhập lại.")
    clerk.say("Xác nhận của Chi bộ ngày 05/05/2022")
    assert clerk.text == (
        "DN-2022-0001, ❔ Không bị kỷ luật năm 2022: Đạt?\n"
        "Lý do: Xác nhận của Chi bộ ngày 05/05/2022"
    )
    clerk.press("Xác nhận")
    assert "Đã ghi nhận cho DN-2022-0001." in clerk.text
    assert (
        "✅ Không bị kỷ luật năm 2022: chưa nhập (Văn phòng xác định: Xác nhận của Chi bộ ngày "
        "05/05/2022)" in clerk.text
    )
    (event,) = audits("eligibility.override")
    assert event.person_id is not None and event.detail["condition"] == "no_discipline"
    assert rows(m.Nomination)[0].status == "endorsed"  # the finding is not a decision


def test_the_window_and_the_conditions_move_to_another_year(database, tmp_path):
    import datetime as dt

    from bot.core.campaign_loader import load_campaign

    assert cli("init").exit_code == 0
    path = tmp_path / "2023.toml"
    cli("campaign", "new", str(path), "--from", "cong-thuong-ha-tinh-2022", "--year", "2023")
    c = load_campaign(path)
    assert c.registration is not None
    assert (c.registration.opens, c.registration.closes) == (
        dt.date(2023, 3, 1),
        dt.date(2023, 3, 31),
    )
    assert c.titles_by_code["CSTD-TINH"].conditions[0].years == 3


def test_bad_conditions_and_windows_are_checked(tmp_path):
    from bot.core.campaign_loader import bundled_path

    bundled = bundled_path().read_text(encoding="utf-8")
    cases = [
        (
            ('title = "CSTD-CS", years = 3', 'title = "CSTD-XX", years = 3'),
            "điều kiện ghi danh hiệu không có “CSTD-XX”",
        ),
        (
            (
                '{ kind = "rating", at_least = "tot", basis = "hoàn thành tốt',
                '{ kind = "rating", basis = "',
            ),
            "điều kiện rating cần có at_least",
        ),
        (("closes = 2022-03-31", "closes = 2022-02-01"), "closes trước opens"),
        (('required = "warn"', 'required = "maybe"'), "registration.required"),
    ]
    for (old, new), problem in cases:
        assert old in bundled, old
        path = tmp_path / "plan.toml"
        path.write_text(bundled.replace(old, new, 1), encoding="utf-8")
        result = cli("campaign", "check", str(path))
        assert result.exit_code == 1 and problem in result.output, (problem, result.output)


def test_numbered_answers_on_the_console_and_english(people):
    at(IN_WINDOW)
    people.add(role="head", channel="console", user_id="c1")
    head = Chat("c1", "console")
    head.say("/dangky")
    head.say("2")  # Cho đơn vị: …
    head.say("1")
    head.say("1")  # Xác nhận
    assert "Đã đăng ký. Số biên nhận: DK-2022-0001." in head.text
    assert rows(m.Registration)[0].audience == "collective"

    people.add(user_id="en1")
    with session_scope() as session:
        person = session.exec(
            select(m.Person).join(m.Identity).where(m.Identity.user_id == "en1")
        ).one()
        person.lang = "en"
        session.add(person)
    english = Chat("en1")
    english.say("/register_titles")
    assert "Which titles do you aim for this year?" in english.text
    english.say("1")
    english.press("Confirm")
    assert "Registered. Receipt number: DK-2022-0002." in english.text
    assert "You may change it with /register_titles until 31/03/2022." in english.text


def test_the_shorthands_of_older_files_are_conditions_too():
    from bot.core.campaign import Title

    title = Title.model_validate(
        {
            "code": "CSTD-CS",
            "name": "Chiến sĩ thi đua cơ sở",
            "kind": "title",
            "for": ["individual"],
            "level": "co-so",
            "requires": ["LDTT"],
            "needs_initiative": True,
        }
    )
    assert [c.key for c in title.all_conditions] == ["title:LDTT:1", "initiative"]
    assert title.registrable

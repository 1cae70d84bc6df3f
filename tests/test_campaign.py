"""The seed plan's facts, read back through the CLI as a user would."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli.main import app

THEME = "Đoàn kết, đổi mới, thi đua hoàn thành vượt mức các chỉ tiêu, nhiệm vụ năm 2022"

# (date, ordinal, name as the plan words it after "N năm")
ANNIVERSARIES_2022 = [
    ("2022-02-03", 92, "Ngày thành lập Đảng Cộng sản Việt Nam", 1),
    ("2022-04-30", 47, "Ngày giải phóng miền Nam, thống nhất đất nước", 1),
    ("2022-05-14", 71, "truyền thống ngành Công Thương Việt Nam", 1),
    ("2022-05-07", 68, "Ngày Chiến thắng Điện Biên Phủ", 1),
    ("2022-05-19", 132, "Ngày sinh Chủ tịch Hồ Chí Minh", 1),
    ("2022-04-07", 115, "Ngày sinh Tổng Bí thư Lê Duẩn", 1),
    ("2022-06-15", 65, "Ngày Bác Hồ về thăm Hà Tĩnh", 1),
    ("2022-05-28", 15, "thành lập thành phố Hà Tĩnh", 1),
    ("2022-08-19", 77, "Ngày Cách mạng tháng Tám thành công", 2),
    ("2022-09-02", 77, "Ngày Quốc khánh nước Cộng hòa xã hội chủ nghĩa Việt Nam", 2),
    ("2022-07-27", 75, "Ngày Thương binh Liệt sỹ", 2),
    ("2022-06-06", 175, "ngày sinh Đình nguyên Tiến sỹ Phan Đình Phùng", 2),
    ("2022-09-12", 92, "Xô Viết Nghệ Tĩnh", 2),
    ("2022-11-18", 92, "Ngày thành lập Mặt trận Dân tộc thống nhất Việt Nam", 2),
]

TARGETS = [
    (
        "collective",
        "Tập thể cơ quan Sở Công Thương hoàn thành xuất sắc nhiệm vụ, được UBND tỉnh "
        "tặng Cờ thi đua hoặc Bằng khen.",
        1,
        None,
    ),
    (
        "collective",
        "100% phòng chuyên môn, đơn vị trực thuộc đạt danh hiệu tập thể lao động tiên tiến",
        None,
        100,
    ),
    ("collective", "trong đó có 02 tập thể đạt danh hiệu tập thể lao động xuất sắc.", 2, None),
    ("collective", "Có 02 tập thể được Bộ Công Thương, UBND tỉnh tặng Bằng khen.", 2, None),
    ("collective", "Tổ chức Công đoàn, Đoàn Thanh niên hoàn thành xuất sắc nhiệm vụ.", 2, None),
    ("individual", "Phấn đấu 100% CBCC, VC hoàn thành tốt nhiệm vụ trở lên.", None, 100),
    ("individual", "100% CBCC, VC đạt danh hiệu lao động tiên tiến", None, 100),
    ("individual", "09 cá nhân đạt chiến sỹ thi đua cơ sở", 9, None),
    ("individual", "01 cá nhân đạt chiến sỹ thi đua cấp tỉnh", 1, None),
    ("individual", "01 cá nhân tặng thưởng Huân chương lao động hạng nhì", 1, None),
    ("individual", "06 cá nhân được Bộ Công Thương, UBND tỉnh tặng Bằng khen.", 6, None),
    ("individual", "Có 01 đến 02 cá nhân được Thủ tướng Chính phủ tặng Bằng khen.", 1, None),
]


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def shown() -> dict:
    return json.loads(cli("campaign", "show", "--json"))


@pytest.fixture
def calendar_2022() -> list[dict]:
    return json.loads(cli("calendar", "--year", "2022", "--json"))


def test_theme_word_for_word(shown):
    assert shown["theme"] == THEME


def test_phases_and_deadlines(shown):
    phases = [(p["number"], p["start"], p["end"], p["deadline"]) for p in shown["phases"]]
    assert phases == [
        (1, "2022-01-01", "2022-06-30", "2022-07-15"),
        (2, "2022-07-01", "2022-12-31", "2022-12-31"),
    ]


def test_fourteen_anniversaries_with_plan_grouping_and_ordinals(shown):
    found = [
        (a["date"], a["ordinal"], a["name"], p["number"])
        for p in shown["phases"]
        for a in p["anniversaries"]
    ]
    assert sorted(found) == sorted(ANNIVERSARIES_2022)
    assert len(found) == 14
    assert all("ordinal" not in a for a in _raw_anniversaries())


def _raw_anniversaries():
    import tomllib

    from bot.core.campaign_loader import bundled_path

    raw = tomllib.loads(bundled_path().read_text(encoding="utf-8"))
    return [a for p in raw["phases"] for a in p["anniversaries"]]


def test_every_target_line_with_its_number(shown):
    found = [(t["for"], t["text"], t["count"], t["percent"]) for t in shown["targets"]]
    assert found == TARGETS
    assert shown["targets"][-1]["count_max"] == 2


def test_plan_particulars_and_duties(shown):
    plan = shown["plan"]
    assert plan["signer"] == {"position": "GIÁM ĐỐC", "name": "Hoàng Văn Quảng"}
    assert plan["legal_basis"][0].startswith("Chỉ thị số 34/2014/CT-TW ngày 07/04/2014")
    assert len(plan["legal_basis"]) == 3
    assert plan["place"] == "Hà Tĩnh" and plan["issued"] == "2022-03"
    assert len(shown["duties"]["units"]) == 4
    assert shown["duties"]["office"][0].startswith("Tổng hợp, theo dõi, đôn đốc")
    assert {u["code"] for u in shown["units"]} >= {"VP", "TTKC"}


def test_calendar_anniversaries_carry_the_plan_wording(calendar_2022):
    party = [
        e
        for e in calendar_2022
        if e["kind"] == "anniversary" and e["ordinal"] == 92 and e["date"] == "2022-02-03"
    ]
    assert len(party) == 1
    assert (
        "Thi đua lập thành tích chào mừng kỷ niệm 92 năm Ngày thành lập Đảng Cộng sản "
        "Việt Nam (03/02/1930 – 03/02/2022)"
    ) in party[0]["text"]
    days = {(e["date"], e["ordinal"]) for e in calendar_2022 if e["kind"] == "anniversary"}
    assert days == {(d, o) for d, o, _n, _p in ANNIVERSARIES_2022}


def test_calendar_sorted_with_offsets(calendar_2022):
    ats = [e["at"] for e in calendar_2022]
    assert ats == sorted(ats)
    assert all(at.endswith("+07:00") and "T08:00:00" in at for at in ats)
    assert {e["kind"] for e in calendar_2022} == {
        "launch",
        "registration_open",
        "registration_reminder",
        "phase_start",
        "anniversary_reminder",
        "anniversary",
        "deadline_reminder",
        "deadline",
    }


def test_deadline_reminders_at_default_lead_days(calendar_2022):
    phase1 = sorted(
        (e["days_before"], e["kind"])
        for e in calendar_2022
        if e["phase"] == 1 and e["kind"] in ("deadline_reminder", "deadline")
    )
    assert phase1 == [
        (0, "deadline"),
        (1, "deadline_reminder"),
        (3, "deadline_reminder"),
        (7, "deadline_reminder"),
        (14, "deadline_reminder"),
    ]
    assert all(
        e["date"] == "2022-07-15"
        for e in calendar_2022
        if e["phase"] == 1 and e["kind"].startswith("deadline")
    )


def test_weekend_pushes_move_to_friday_but_the_date_stays(calendar_2022):
    # 30/4/2022 is a Saturday; 15/7/2022 - 1 day = 14/7 (Thursday) stays.
    liberation = next(
        e for e in calendar_2022 if e["kind"] == "anniversary" and e["date"] == "2022-04-30"
    )
    assert liberation["at"] == "2022-04-29T08:00:00+07:00"
    # 31/12/2022 is a Saturday: the phase-2 deadline push goes out on Friday 30/12.
    deadline2 = next(e for e in calendar_2022 if e["kind"] == "deadline" and e["phase"] == 2)
    assert (deadline2["date"], deadline2["at"]) == ("2022-12-31", "2022-12-30T08:00:00+07:00")
    t1 = next(
        e
        for e in calendar_2022
        if e["kind"] == "deadline_reminder" and e["phase"] == 1 and e["days_before"] == 1
    )
    assert t1["at"] == "2022-07-14T08:00:00+07:00"


def test_year_2023_recomputes_every_ordinal_and_date():
    events = json.loads(cli("calendar", "--year", "2023", "--json"))
    anniversaries = {(e["date"][5:], e["ordinal"]) for e in events if e["kind"] == "anniversary"}
    assert anniversaries == {(d[5:], o + 1) for d, o, _n, _p in ANNIVERSARIES_2022}
    assert ("02-03", 93) in anniversaries and ("04-30", 48) in anniversaries
    assert all(e["date"].startswith("2023-") for e in events)
    party = next(e for e in events if e["kind"] == "anniversary" and e["date"] == "2023-02-03")
    assert (
        "93 năm Ngày thành lập Đảng Cộng sản Việt Nam (03/02/1930 – 03/02/2023)" in party["text"]
    )


def test_campaign_check_warns_about_phan_dinh_phung_and_what_precedes_the_issue(tmp_path):
    from bot.core.campaign_loader import bundled_path

    out = cli("campaign", "check", str(bundled_path()))
    assert "Phan Đình Phùng" in out and "cảnh báo" in out
    # The plan is issued in March: 3/2 comes before it (it is listed, not pushed).
    assert out.count("cảnh báo") == 2
    assert "toml:92: cảnh báo: “Ngày thành lập Đảng Cộng sản Việt Nam” (03/02/2022)" in out


def test_table_output_for_people():
    out = cli("calendar")
    # 3/2/2022 is a day of the Tết holiday: the push would go on Friday 28/01, before the
    # plan was issued, so it is listed and marked.
    assert "28/01/2022 08:00" in out and "92 năm Ngày thành lập Đảng" in out
    assert "trước ngày ban hành, không gửi" in out

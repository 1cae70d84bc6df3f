"""Other offices' plans, as their clerks would write them, read back event by event through
`thidua calendar --json` and `thidua campaign show|check` (tests/data/plans/)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import holidays
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import models as m
from bot.core.campaign_loader import bundled_path, load_campaign
from bot.core.db import session_scope
from schedules.outbox.plan import pushes

PLANS = Path(__file__).parent / "data" / "plans"
RETRO = PLANS / "ubnd-tinh-2020.toml"
SCHOOL = PLANS / "mam-non-2021-2022.toml"
WEEKDAYS_VI = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def calendar(path: Path, *more: str) -> list[dict]:
    return json.loads(cli("calendar", "--campaign", str(path), "--json", *more))


def by_kind(events: list[dict], kind: str) -> list[tuple]:
    return [
        (e["ref"], e["date"], e["at"][:10], e["before_issue"]) for e in events if e["kind"] == kind
    ]


# --- a retroactive plan: three overlapping phases without deadlines --------------------------


def test_retroactive_plan_lists_but_never_pushes_what_precedes_its_issue_date():
    events = calendar(RETRO)
    assert by_kind(events, "phase_start") == [
        ("phase-1", "2020-01-01", "2019-12-31", True),  # Wednesday 1/1 is a holiday
        ("phase-2", "2020-05-01", "2020-04-29", False),  # 30/4 and 1/5 are holidays
        ("phase-3", "2020-10-01", "2020-10-01", False),
    ]
    assert by_kind(events, "anniversary") == [
        ("thanh-lap-dang", "2020-02-03", "2020-02-03", True),
        ("1-5", "2020-05-01", "2020-04-29", False),
        ("30-4", "2020-04-30", "2020-04-29", False),
        ("sinh-nhat-bac", "2020-05-19", "2020-05-19", False),
        ("quoc-khanh", "2020-09-02", "2020-09-01", False),
    ]
    before = {e["key"] for e in events if e["before_issue"]}
    assert all(e["at"] < "2020-02-14" for e in events if e["before_issue"])
    assert all(e["at"] >= "2020-02-14" for e in events if not e["before_issue"])
    sent = {p.key for p in pushes(load_campaign(RETRO))}
    assert before and not (before & sent)


def test_phases_without_deadlines_push_no_deadline_and_never_say_one():
    events = calendar(RETRO)
    assert not [e for e in events if e["kind"] in ("deadline", "deadline_reminder")]
    start = next(e for e in events if e["kind"] == "phase_start" and e["phase"] == 2)
    assert start["text"].startswith("Bắt đầu Đợt hai (01/05/2020 – 02/09/2020).")
    assert "tổng kết trước" not in start["text"]
    shown = json.loads(cli("campaign", "show", "--campaign", str(RETRO), "--json"))
    assert [p["deadline"] for p in shown["phases"]] == [None, None, None]
    assert "không có hạn tổng kết" in cli("campaign", "show", "--campaign", str(RETRO))


def test_occasions_without_founding_years_and_with_stated_ordinals():
    events = [e for e in calendar(RETRO) if e["kind"] == "anniversary"]
    named = {e["ref"]: (e["ordinal"], e["name"]) for e in events}
    assert named["30-4"] == (None, "Ngày giải phóng miền Nam, thống nhất đất nước")
    assert named["1-5"] == (None, "Ngày Quốc tế Lao động")
    assert named["quoc-khanh"] == (75, "75 năm Ngày Quốc khánh")
    # The plan says 131 (the founding date gives 130): the plan's word is printed, check warns.
    assert named["sinh-nhat-bac"] == (131, "131 năm Ngày sinh Chủ tịch Hồ Chí Minh")
    labour = next(e for e in events if e["ref"] == "1-5")
    assert "năm" not in labour["text"].split("(")[0]
    assert "Thứ Sáu, 01/05/2020" in labour["text"]


def test_check_warns_with_lines_in_vietnamese():
    out = cli("campaign", "check", str(RETRO))
    lines = RETRO.read_text(encoding="utf-8").splitlines()
    warnings = [w for w in out.splitlines() if "cảnh báo" in w]
    assert len(warnings) == 4, out
    found = {}
    for w in warnings:
        match = re.match(rf"{re.escape(str(RETRO))}:(\d+): cảnh báo: (.*)", w)
        assert match, w
        found[match.group(2)] = lines[int(match.group(1)) - 1]
    overlap = "đợt 2 bắt đầu ngày 01/05/2020, trước khi đợt 1 kết thúc (31/05/2020)"
    assert found[overlap] == "start = 2020-05-01"
    assert found["không có đợt nào từ 03/09/2020 đến 30/09/2020"] == "start = 2020-10-01"
    ordinal = next(k for k in found if "131 năm" in k)
    assert "130 năm" in ordinal and found[ordinal] == "ordinal = 131"
    early = next(k for k in found if "trước ngày ban hành" in k)
    assert "03/02/2020" in early and found[early] == "[[phases.anniversaries]]"


# --- a school-year plan, Tết, a dateless event, deadlines after the phase ---------------------


def test_school_year_dates_each_anniversary_inside_the_span():
    events = calendar(SCHOOL)
    assert by_kind(events, "anniversary") == [
        ("nha-giao", "2021-11-20", "2021-11-19", False),
        ("tet", "2022-02-01", "2022-01-28", False),  # lunar 1/1 Nhâm Dần; the Tết week is off
        ("thanh-lap-dang", "2022-02-03", "2022-01-28", False),
        ("8-3", "2022-03-08", "2022-03-08", False),  # the thematic campaign's own occasion
    ]
    ordinals = {e["ref"]: e["ordinal"] for e in events if e["kind"] == "anniversary"}
    assert ordinals == {"nha-giao": 39, "tet": None, "thanh-lap-dang": 92, "8-3": 112}
    party = next(e for e in events if e["ref"] == "thanh-lap-dang" and e["kind"] == "anniversary")
    assert (
        "92 năm Ngày thành lập Đảng Cộng sản Việt Nam (03/02/1930 – 03/02/2022)" in party["text"]
    )


def test_thematic_campaign_with_its_theme_occasion_and_no_deadline():
    events = calendar(SCHOOL)
    start = next(e for e in events if e["kind"] == "thematic_start")
    assert (start["ref"], start["date"], start["at"][:10]) == (
        "chuyen-de-8-3",
        "2022-02-21",
        "2022-02-21",
    )
    assert not [e for e in events if e["kind"] == "thematic_deadline"]
    women = next(e for e in events if e["ref"] == "8-3" and e["kind"] == "anniversary")
    assert women["phase"] is None and women["name"] == "112 năm Ngày Quốc tế Phụ nữ"
    shown = cli("campaign", "show", "--campaign", str(SCHOOL))
    assert "Đợt thi đua chào mừng Ngày Quốc tế Phụ nữ: 21/02/2022 – 10/03/2022" in shown
    assert "“Giỏi việc trường, đảm việc nhà”" in shown


def test_dateless_event_is_listed_never_pushed_and_its_phase_has_no_deadline_yet():
    events = calendar(SCHOOL)
    undated = [e for e in events if e["kind"] == "undated"]
    assert [(e["ref"], e["date"], e["at"], e["phase"]) for e in undated] == [
        ("dai-hoi", None, None, 2)
    ]
    # Phase 1 ends on 15/01/2022: "P15D" is 30/01 (a Sunday), pushed on Friday 28/01.
    deadlines = [(e["phase"], e["date"], e["at"][:10]) for e in events if e["kind"] == "deadline"]
    assert deadlines == [(1, "2022-01-30", "2022-01-28")]
    assert "dai-hoi" not in {p.event.ref for p in pushes(load_campaign(SCHOOL)) if p.event}


def test_event_set_dates_the_event_audited_and_the_phase_follows(database):
    cli("init", "--campaign", str(SCHOOL))
    cli("event", "set", "dai-hoi", "2022-03-18")
    events = json.loads(cli("calendar", "--json"))
    assert not [e for e in events if e["kind"] == "undated"]
    assert by_kind(events, "anniversary")[-1] == ("dai-hoi", "2022-03-18", "2022-03-18", False)
    # Đợt 2 ends at the Đại hội; its deadline is 15 days later: 02/04/2022 (Saturday).
    deadline2 = next(e for e in events if e["kind"] == "deadline" and e["phase"] == 2)
    assert (deadline2["date"], deadline2["at"][:10]) == ("2022-04-02", "2022-04-01")
    assert deadline2["text"].startswith("Thứ Bảy, 02/04/2022 là hạn tổng kết Đợt 2 (còn 1 ngày).")
    with session_scope() as session:
        audit = session.exec(select(m.AuditEvent).where(m.AuditEvent.action == "event.set")).one()
        phase2 = session.exec(select(m.Phase).where(m.Phase.number == 2)).one()
    assert audit.subject == "dai-hoi" and audit.detail["day"] == "2022-03-18"
    assert (phase2.end, phase2.deadline) == (dt.date(2022, 3, 18), dt.date(2022, 4, 2))


def test_event_set_refuses_an_unknown_event(database):
    cli("init", "--campaign", str(SCHOOL))
    result = CliRunner().invoke(app, ["event", "set", "khong-co", "2022-03-18"])
    assert result.exit_code == 1 and "khong-co" in result.stderr


def test_calendar_year_shifts_a_school_year_span():
    events = calendar(SCHOOL, "--year", "2022")
    assert by_kind(events, "anniversary") == [
        ("nha-giao", "2022-11-20", "2022-11-18", False),
        ("tet", "2023-01-22", "2023-01-19", False),  # lunar 1/1 Quý Mão; 20–26/01 off
        ("thanh-lap-dang", "2023-02-03", "2023-02-03", False),
        ("8-3", "2023-03-08", "2023-03-08", False),
    ]
    ordinals = {e["ref"]: e["ordinal"] for e in events if e["kind"] == "anniversary"}
    assert ordinals == {"nha-giao": 40, "tet": None, "thanh-lap-dang": 93, "8-3": 113}


# --- targets as plans write them ---------------------------------------------------------------


def test_targets_combined_decimal_per_unit_and_per_phase():
    shown = json.loads(cli("campaign", "show", "--campaign", str(SCHOOL), "--json"))
    both, kpi, per_unit, thematic = shown["targets"]
    assert (thematic["thematic"], thematic["count"]) == ("chuyen-de-8-3", 2)
    assert (both["count"], both["percent"]) == (3, 100)
    assert kpi["percent"] == 99.82 and kpi["text"] == "Tỷ lệ trẻ chuyên cần đạt 99,82 %"
    assert (per_unit["phase"], per_unit["units"]) == (1, {"LA": 2, "CHOI": 1})
    text = cli("campaign", "show", "--campaign", str(SCHOOL))
    assert "cho đợt 1" in text and "LA: 2" in text


# --- defaults and the starter file ---------------------------------------------------------------


def test_optional_fields_have_their_defaults():
    c = load_campaign(RETRO)
    assert c.plan.title == c.theme and c.plan.signer is None
    assert [a.code for a in c.areas] == ["chung"]
    assert {"LDTT", "CSTD-CS", "TTLDTT", "HTXSNV"} <= set(c.titles_by_code)


def test_campaign_new_writes_a_file_that_checks(tmp_path):
    path = tmp_path / "moi.toml"
    cli("campaign", "new", str(path), "--code", "so-moi-2025", "--year", "2025")
    text = path.read_text(encoding="utf-8")
    assert "(bắt buộc)" in text and "docs/campaign-file.md" in text
    assert "hợp lệ (so-moi-2025, 2025)" in cli("campaign", "check", str(path))
    again = CliRunner().invoke(app, ["campaign", "new", str(path)])
    assert again.exit_code == 1


def test_campaign_schema_is_the_models_json_schema():
    schema = json.loads(cli("campaign", "schema"))
    assert set(schema["required"]) == {"code", "year", "theme", "plan", "phases"}
    phase = schema["$defs"]["Phase"]["properties"]
    assert "deadline" in phase and "ends_with" in phase


# --- work days -----------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2022, 2023, 2024])
def test_no_push_on_a_weekend_or_public_holiday_and_texts_name_the_day(year):
    off = holidays.country_holidays("VN", years=[year - 1, year])
    for e in calendar(bundled_path(), "--year", str(year)):
        sent = dt.date.fromisoformat(e["at"][:10])
        assert sent.weekday() < 5 and sent not in off, e["key"]
        day = dt.date.fromisoformat(e["date"])
        assert e["days_ahead"] == (day - sent).days
        if e["kind"] in ("deadline", "deadline_reminder"):
            assert f"{WEEKDAYS_VI[day.weekday()]}, {day:%d/%m/%Y}" in e["text"], e["text"]
            if e["days_ahead"]:
                assert f"Còn {e['days_ahead']} ngày" in e["text"] or (
                    f"còn {e['days_ahead']} ngày" in e["text"]
                ), e["text"]


def test_deadline_on_a_saturday_is_named_and_counted_from_friday():
    events = calendar(bundled_path())
    deadline2 = next(e for e in events if e["kind"] == "deadline" and e["phase"] == 2)
    assert deadline2["at"].startswith("2022-12-30")
    assert deadline2["text"].startswith(
        "Thứ Bảy, 31/12/2022 là hạn tổng kết Đợt thi đua thứ hai (còn 1 ngày)."
    )


def test_days_off_from_the_file_move_pushes(tmp_path):
    text = RETRO.read_text(encoding="utf-8") + "\n[push]\ndays_off = [2020-10-01]\n"
    path = tmp_path / "nghi.toml"
    path.write_text(text, encoding="utf-8")
    start3 = next(e for e in calendar(path) if e["ref"] == "phase-3")
    assert start3["at"].startswith("2020-09-30")


# --- no English in Vietnamese output ---------------------------------------------------------

ENGLISH = re.compile(
    r"\b(years?|deadline|phase|warning|before|after|issue[d]?|undated|anniversary|reminder|"
    r"launch|start|Theme|Targets|Units|the|of|and|not|pushed)\b"
)


@pytest.mark.parametrize("plan", [RETRO, SCHOOL, bundled_path()])
def test_no_english_word_in_vietnamese_show_check_calendar(plan):
    outputs = [
        cli("campaign", "show", "--campaign", str(plan)),
        cli("campaign", "check", str(plan)).replace(str(plan), ""),
        cli("calendar", "--campaign", str(plan)),
    ]
    for out in outputs:
        assert not ENGLISH.findall(out), (ENGLISH.findall(out), out)


# --- progress per unit and per đợt; a phase without a deadline in the summary ------------------


def _load(path: Path) -> None:
    from bot.core.db import migrate
    from bot.core.store import load_into_store

    migrate()
    with session_scope() as session:
        load_into_store(session=session, campaign=load_campaign(path), source=str(path))


def test_summary_shows_each_units_progress_against_its_allocation(database, monkeypatch):
    from bot.core.nominations import record_nomination
    from bot.core.store import active_campaign

    monkeypatch.setenv("THIDUA_NOW", "2021-12-10T09:00:00+07:00")
    _load(SCHOOL)
    now = dt.datetime(2021, 12, 10, 2, tzinfo=dt.UTC)
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        units = {u.code: u for u in session.exec(select(m.Unit))}
        head = m.Person(full_name="Cô Hạnh", unit_id=units["LA"].id, role="head", created_at=now)
        session.add(head)
        session.flush()
        for name, phase in (("Cô An", 1), ("Cô Bình", 1), ("Cô Cúc", 2)):
            record_nomination(
                session=session,
                campaign=row,
                proposer=head,
                unit_id=units["LA"].id,
                audience="individual",
                nominee_name=name,
                title_code="GK",
                basis="Hoàn thành xuất sắc nhiệm vụ",
                now=now,
                phase=phase,
            )
    data = json.loads(cli("summary", "--phase", "1", "--json"))
    per_unit = next(t for t in data["targets"] if t["by_unit"])
    assert (per_unit["phase"], per_unit["goal"], per_unit["achieved"]) == (1, 3, 2)
    assert [(u["code"], u["allocated"], u["achieved"]) for u in per_unit["by_unit"]] == [
        ("LA", 2, 2),
        ("CHOI", 1, 0),
    ]
    kpi = next(t for t in data["targets"] if t["text"].startswith("Tỷ lệ trẻ"))
    assert kpi["percent"] == 99.82
    text = cli("summary", "--phase", "1")
    assert "(đợt 1)" in text and "Tổ Lá: 2/2" in text and "Tổ Chồi: 0/1" in text
    assert "99,82 %" in text


def test_summary_of_a_phase_without_deadline_says_so(database, monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2020-03-10T09:00:00+07:00")
    _load(RETRO)
    data = json.loads(cli("summary", "--json"))
    assert data["phase"]["deadline"] is None and data["phase"]["days_left"] is None
    text = cli("summary")
    assert "Đợt này không có hạn tổng kết" in text
    assert "hạn tổng kết:" not in text.lower()


# --- several campaigns in one database ---------------------------------------------------------


def test_a_second_campaign_becomes_active_and_the_first_stays_reachable(database, monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2020-03-10T09:00:00+07:00")
    cli("init", "--campaign", str(RETRO))
    cli("init", "--campaign", str(SCHOOL))
    assert json.loads(cli("summary", "--json"))["campaign"] == "mam-non-hoa-sen-2021"
    earlier = json.loads(cli("summary", "--campaign", "ubnd-tinh-2020", "--json"))
    assert earlier["campaign"] == "ubnd-tinh-2020" and earlier["phase"]["number"] == 1
    wrong = CliRunner().invoke(app, ["summary", "--campaign", "khong-co"])
    assert wrong.exit_code == 1 and "ubnd-tinh-2020, mam-non-hoa-sen-2021" in wrong.stderr


def test_campaign_new_from_a_stored_campaign_moves_the_dates(database, tmp_path):
    cli("init")
    path = tmp_path / "2023.toml"
    cli("campaign", "new", str(path), "--from", "cong-thuong-ha-tinh-2022", "--year", "2023")
    c = load_campaign(path)
    assert (c.code, c.year, c.plan.issued) == ("cong-thuong-ha-tinh-2023", 2023, "2023-03")
    assert [(p.start, p.end, p.deadline) for p in c.phases] == [
        (dt.date(2023, 1, 1), dt.date(2023, 6, 30), dt.date(2023, 7, 15)),
        (dt.date(2023, 7, 1), dt.date(2023, 12, 31), dt.date(2023, 12, 31)),
    ]
    party = c.event("thanh-lap-dang")
    assert party is not None and party.founded == dt.date(1930, 2, 3)
    assert c.ordinal_of(party) == 93


def test_the_bundled_plan_pushes_nothing_before_its_issue_date_and_its_launch_says_what_passed():
    events = calendar(bundled_path())
    early = [(e["kind"], e["ref"]) for e in events if e["before_issue"]]
    assert early == [
        ("phase_start", "phase-1"),  # 01/01/2022, pushed on 31/12/2021
        ("anniversary_reminder", "thanh-lap-dang"),  # 27/01
        ("anniversary", "thanh-lap-dang"),  # 03/02 (a Tết holiday): 28/01
    ]
    sent = {p.key for p in pushes(load_campaign())}
    assert not sent & {e["key"] for e in events if e["before_issue"]}
    launch = next(e for e in events if e["kind"] == "launch")
    assert (launch["at"], launch["before_issue"]) == ("2022-03-01T08:00:00+07:00", False)
    assert "Đã diễn ra trong đợt:\n• 03/02/2022: 92 năm Ngày thành lập Đảng" in launch["text"]


def test_a_nudge_for_a_phase_without_deadline_invents_none():
    from bot.core.unit_status import UnitRef
    from schedules.outbox.messages import nudge_text

    phase = load_campaign(RETRO).phase(1)
    text = nudge_text(phase=phase, unit=UnitRef(1, "LA", "Tổ Lá"), today=dt.date(2020, 3, 10))
    assert "không có hạn tổng kết; kết thúc ngày 31/05/2020" in text
    assert "Hạn:" not in text

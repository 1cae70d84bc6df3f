"""The council's secret vote (bình xét) through the handlers (the console's seam): a council of
9 votes on 12 candidates; thresholds, a member who does not vote, a second and a late vote
refused, results to the clerk and to the unit heads; the dossier read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.core import models as m
from bot.core.db import session_scope
from tests.council_seed import seed

AGREE, DISAGREE = "Đồng ý", "Không đồng ý"
#: How many of the 8 voters agree with each candidate (voter k agrees iff k < count).
YES_OF_8 = [8, 5, 4, 0, 7, 6, 6, 5, 8, 5, 3, 4]


def vote(chat, agree: list[bool]) -> None:
    """Cast a whole ballot by buttons: /phieu, one press per candidate, confirm."""
    chat.say("/phieu")
    assert "Phiếu kín, ứng viên 1/12" in chat.text
    for yes in agree:
        chat.press(AGREE if yes else DISAGREE)
    assert "Phiếu của bạn:" in chat.text
    chat.press("Xác nhận")
    assert "Đã nhận phiếu của bạn" in chat.text, chat.text


def open_session(clerk_chat) -> None:
    clerk_chat.say("/binhxet")
    assert "Bỏ phiếu kín các đề nghị đã duyệt của:" in clerk_chat.text
    clerk_chat.press("Đợt thi đua thứ nhất")
    assert "12 ứng viên" in clerk_chat.text and "9 thành viên" in clerk_chat.text
    clerk_chat.press("Xác nhận")
    assert "Đã mở phiên bình xét số 1" in clerk_chat.text


def close_session(clerk_chat) -> str:
    clerk_chat.say("/binhxet")
    clerk_chat.press("Đóng phiên và kiểm phiếu")
    assert "Đóng phiên ngay?" in clerk_chat.text
    clerk_chat.press("Xác nhận")
    return clerk_chat.text


def outcomes() -> list[tuple[int, int, int, bool]]:
    with session_scope() as session:
        row = session.exec(select(m.BallotSession)).one()
        return [(o["yes"], o["no"], o["base"], o["passed"]) for o in row.result["outcomes"]]


@pytest.fixture
def council(people):
    return seed(people)


def test_nine_members_vote_on_twelve_candidates(council, chat_as, tmp_path: Path):
    clerk = chat_as(council.clerk)
    open_session(clerk)
    with session_scope() as session:  # every member got the ballot's invitation, pushed
        invited = session.exec(
            select(m.Outbox).where(col(m.Outbox.key).startswith("council:1:ballot:"))
        ).all()
        assert len(invited) == 0  # members here are on the test channel: not reachable
    assert "Không liên lạc được qua tin nhắn" in clerk.text

    members = [chat_as(p) for p in council.members]
    for k, member in enumerate(members[:8]):  # the ninth never votes
        vote(member, [k < n for n in YES_OF_8])

    # a second vote is refused at once
    members[0].say("/phieu")
    assert "Bạn đã bỏ phiếu trong phiên này" in members[0].text

    # someone not on the council has no ballot
    chat_as(council.head_ttra).say("/phieu")
    assert "không phải thành viên Hội đồng" in chat_as(council.head_ttra).say("/phieu")[0].text

    # the clerk sees who has voted (never how)
    clerk.say("/binhxet")
    assert "8/9 thành viên đã bỏ phiếu cho 12 ứng viên" in clerk.text
    clerk.press("Ai đã bỏ phiếu")
    assert "✓ Hồ Trưởng Phòng" in clerk.text and "· Thành Viên 8" in clerk.text

    # the ninth starts a ballot, the clerk closes, the ninth's confirm comes too late
    late = members[8]
    late.say("/phieu")
    for _n in YES_OF_8:
        late.press(AGREE)
    text = close_session(clerk)
    late.press("Xác nhận")
    assert "Phiên bình xét đã đóng: phiếu của bạn không được tính" in late.text

    assert "Đã bỏ phiếu: 8/9 thành viên" in text
    assert "Chiến sĩ thi đua cơ sở (cần từ 2/3 trở lên):" in text
    assert "Lao động tiên tiến (cần trên 1/2):" in text
    assert "- Cao Văn Một (Phòng Quản lý Công nghiệp): 8 đồng ý, 0 không đồng ý trên 8" in text
    found = outcomes()
    assert [f[0] for f in found] == YES_OF_8
    assert all(f[0] + f[1] == 8 and f[2] == 8 for f in found)
    # > 1/2: 5 of 8 carried, 4 of 8 (exactly half) not; >= 2/3: 6 of 8 carried, 5 of 8 not
    assert [f[3] for f in found] == [
        True, True, False, False, True, True,  # LDTT
        True, False, True,  # CSTD-CS
        True, False,  # TTLDTT
        False,  # BK-UBND
    ]  # fmt: skip
    with session_scope() as session:
        ballots = session.exec(select(m.Ballot)).all()
        assert len(ballots) == 8
        assert session.exec(select(m.BallotTurnout)).all().__len__() == 8
        assert session.exec(select(m.BallotSession)).one().box == []
        # QLCN's head (on the test channel) cannot be reached: no result row; the audit
        # says who voted, never how
        casts = session.exec(select(m.AuditEvent).where(m.AuditEvent.action == "ballot.cast"))
        assert sorted(e.person_id for e in casts) == sorted(p.id for p in council.members[:8])
        assert all(e.detail == {} for e in casts)
        actions = {e.action for e in session.exec(select(m.AuditEvent))}
        assert {"ballot.open", "ballot.close", "council.add"} <= actions

    # the dossier, through the CLI, read back
    from bot.cli.main import app

    out = tmp_path / "dossier"
    result = CliRunner().invoke(app, ["dossier", "--session", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    check_dossier(out)


def check_dossier(out: Path) -> None:
    minutes = Document(str(out / "bien-ban-hop-hoi-dong.docx"))
    text = "\n".join(p.text for p in minutes.paragraphs)
    assert "BIÊN BẢN" in text
    assert "Họp Hội đồng Thi đua – Khen thưởng bình xét đợt thi đua thứ nhất năm 2022" in text
    assert "Số thành viên: 9; dự họp (đã bỏ phiếu): 8; vắng: 1" in text
    assert "- Thành Viên 8" in text  # absent (named in the absent list)
    assert "Kết quả: 7/12 ứng viên đạt tỷ lệ phiếu" in text
    table = minutes.tables[-2]  # the votes (the last is the signatures)
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0][:5] == [
        "TT",
        "Họ và tên",
        "Đơn vị",
        "Danh hiệu, hình thức khen thưởng",
        "Đồng ý",
    ]
    assert rows[1] == [
        "1", "Cao Văn Một", "Phòng Quản lý Công nghiệp", "Lao động tiên tiến", "8", "0",
        "100%", "đạt",
    ]  # fmt: skip
    assert rows[3][4:] == ["4", "4", "50%", "không đạt"]
    assert len(rows) == 13

    proposal = "\n".join(p.text for p in Document(str(out / "to-trinh-binh-xet.docx")).paragraphs)
    assert "TỜ TRÌNH" in proposal and "Kính gửi: Giám đốc Sở Công Thương" in proposal
    assert "đề nghị khen thưởng 1 tập thể và 6 cá nhân" in proposal
    assert "- Lao động tiên tiến: 4 cá nhân;" in proposal

    listing = Document(str(out / "danh-sach-binh-xet.docx"))
    rows = [[c.text for c in r.cells] for r in listing.tables[1].rows]
    assert len(rows) == 8 and rows[1][2] == "Cao Văn Một" and rows[1][3] == "Chuyên viên"

    sheet = load_workbook(out / "ho-so-chuyen-tinh.xlsx").active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0] == [
        "TT", "Họ và tên", "Chức vụ", "Đơn vị", "Danh hiệu, hình thức khen thưởng",
        "Thành tích chủ yếu",
        "Tỷ lệ phiếu", "Loại",
    ]  # fmt: skip
    assert len(values) == 8
    assert values[1][1:5] == [
        "Cao Văn Một", "Chuyên viên", "Phòng Quản lý Công nghiệp", "Lao động tiên tiến",
    ]  # fmt: skip
    assert values[1][6] == "100%"
    collective = next(v for v in values if v[7] == "Tập thể")
    assert collective[4] == "Tập thể lao động tiên tiến"
    results = load_workbook(out / "ket-qua-bo-phieu.xlsx").active
    assert results.max_row == 13
    evidence = sorted(p.name for p in (out / "minh-chung").iterdir())
    assert len(evidence) == 6  # the six individuals carried, one report each


# ---- bad input, roles, the CLI, the campaign file -----------------------------------------


def test_who_may_open_and_what_a_ballot_refuses(council, chat_as, people):
    staff = chat_as(people.add(unit="QLCN", name="Trần Nhân Viên"))
    staff.say("/binhxet")
    assert "không dành cho vai trò của bạn" in staff.text
    assert "Không có phiên bình xét nào đang mở" in staff.say("/phieu")[0].text

    clerk = chat_as(council.clerk)
    clerk.say("/binhxet")
    clerk.press("Đợt thi đua thứ hai")  # no accepted nomination in phase 2
    assert "Không có đề nghị đã duyệt nào" in clerk.text
    clerk.press("Đợt thi đua thứ nhất")
    clerk.press("Xác nhận")

    member = chat_as(council.members[1])
    member.say("/phieu")
    for bad in ("🎉🎉", "<b>x</b>", "7", ""):
        member.say(bad)
        assert "Phiếu kín, ứng viên 1/12" in member.text  # asked again, politely
    member.say("2")  # typed as its number: Không đồng ý
    assert "Phiếu kín, ứng viên 2/12" in member.text
    member.say("/baocao")  # another command mid-ballot: asked first
    assert "Bạn chưa làm xong: bỏ phiếu kín (thành viên Hội đồng) (/phieu)" in member.text
    member.press("Không, làm tiếp")
    member.say("hủy")
    assert "Đã hủy" in member.text
    with session_scope() as session:
        assert session.exec(select(m.BallotTurnout)).all() == []
        assert session.exec(select(m.Conversation)).all() == []

    # a whole ballot, one answer changed on the summary
    vote_with_an_edit(member)
    with session_scope() as session:
        row = session.exec(select(m.BallotSession)).one()
        (ballot,) = row.box
        assert ballot[str(council.candidates[2])] == "no"
        assert sum(v == "yes" for v in ballot.values()) == 11


def vote_with_an_edit(member) -> None:
    member.say("/phieu")
    for _n in range(12):
        member.press(AGREE)
    member.press("Sửa một mục")
    member.press("Ứng viên 3")
    member.press(DISAGREE)
    assert "3. Hà Văn Ba (Lao động tiên tiến): Không đồng ý" in member.text
    member.press("Xác nhận")
    assert "Đã nhận phiếu của bạn" in member.text


def test_council_from_the_command_line(ready, people):
    from bot.cli.main import app

    head = people.add(role="head", unit="QLCN", name="Hồ Trưởng Phòng")
    runner = CliRunner()
    result = runner.invoke(app, ["council", "add", f"#{head.id}", "Hồ Trưởng Phòng"])
    assert result.exit_code == 0, result.output
    assert "Hồ Trưởng Phòng vào Hội đồng." in result.output
    assert "Hồ Trưởng Phòng đã là thành viên Hội đồng." in result.output
    listed = runner.invoke(app, ["council", "list", "--json"])
    assert '"role": "head"' in listed.output  # a seat on the council, the role kept
    assert runner.invoke(app, ["council", "add", "Không Ai"]).exit_code == 1
    result = runner.invoke(app, ["council", "remove", f"#{head.id}"])
    assert "rời Hội đồng" in result.output
    assert runner.invoke(app, ["council", "list", "--json"]).output.strip() == "[]"
    result = runner.invoke(app, ["dossier", "--session", "4", "--out", "x"])
    assert result.exit_code == 1 and "Không có phiên bình xét số 4" in result.output
    with session_scope() as session:
        actions = [e.action for e in session.exec(select(m.AuditEvent))]
        assert actions.count("council.add") == 1 and actions.count("council.remove") == 1


def test_share_rules_of_the_campaign_file():
    from bot.core.campaign import ShareRule

    half, two_thirds = ShareRule.parse("> 1/2"), ShareRule.parse(">= 2/3")
    assert not half.met(4, 8) and half.met(5, 9) and half.met(5, 8)
    assert two_thirds.met(6, 9) and not two_thirds.met(5, 8) and two_thirds.met(6, 8)
    assert ShareRule.parse(">= 70%").met(7, 10) and not ShareRule.parse(">= 70%").met(6, 9)
    assert not half.met(0, 0)
    for bad in ("1/2", "= 1/2", "> 3/2", "> 0/5", ">= 0%", "> x"):
        with pytest.raises(ValueError):
            ShareRule.parse(bad)


def test_a_bad_threshold_in_the_campaign_file_names_its_line():
    from bot.core.campaign_loader import CampaignError, bundled_path, parse_campaign

    text = bundled_path().read_text(encoding="utf-8")
    text = text.replace('vote_threshold = ">= 2/3"', 'vote_threshold = "2/3"', 1)
    with pytest.raises(CampaignError) as caught:
        parse_campaign(text, "plan.toml")
    assert "vote_threshold" in str(caught.value.problems[0])
    text = text.replace('quorum = ">= 2/3"', 'quorum = "most"')
    with pytest.raises(CampaignError):
        parse_campaign(text, "plan.toml")


def test_the_log_drops_a_line_with_a_ballots_button_data(monkeypatch, capsys):
    """At THIDUA_LOG_LEVEL=DEBUG the Telegram library logs each request and update; our
    handler drops the lines that carry a ballot's button data (and so its chat)."""
    import logging

    from bot.core import logs
    from bot.core.settings import get_settings

    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers = []
    try:
        monkeypatch.setenv("THIDUA_LOG_LEVEL", "DEBUG")
        get_settings.cache_clear()
        logs.configure(get_settings())
        log = logging.getLogger("telegram.Bot")
        log.debug("Exiting: get_updates: {'callback_query': {'data': 'flow:ballot:c0:ab12:yes'}}")
        log.debug("Exiting: get_updates: []")
        err = capsys.readouterr().err
    finally:
        for handler in root.handlers:
            root.removeHandler(handler)
        root.handlers = kept
    assert "get_updates: []" in err and "flow:ballot" not in err

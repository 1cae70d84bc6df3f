"""The council's secret vote over Telegram: the real TelegramRunner against FakeTelegram, the
real handlers and database. Nine members vote on twelve candidates by buttons; a share of
exactly 2/3 carries a "từ 2/3 trở lên" title, exactly half does not carry "trên 1/2"; a second
vote and a vote after the close are refused; and the store and the log keep the vote secret."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select

from bot.core import models as m
from bot.core.db import session_scope
from tests.council_seed import seed
from tests.fakes.telegram_api import FakeTelegram
from tests.secrecy import assert_chats_forgotten, assert_secret
from tests.telegram_helpers import Person, start_runner, telegram_settings

#: Of the 9 voters, how many agree with each candidate (voter k agrees iff k < count).
YES_OF_9 = [9, 5, 4, 6, 0, 7, 6, 5, 8, 5, 4, 9]
CARRIED = [True, True, False, True, False, True, True, False, True, True, False, True]
MEMBER_IDS = [8001 + k for k in range(9)]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def ballot(member: Person, agree: list[bool]) -> None:
    await member.say("/phieu")
    assert "Phiếu kín, ứng viên 1/12" in member.text
    for yes in agree:
        await member.press("Đồng ý" if yes else "Không đồng ý")
    assert "Phiếu của bạn:" in member.text
    await member.press("Xác nhận")
    assert "Đã nhận phiếu của bạn" in member.text


async def test_nine_members_vote_over_telegram_and_the_vote_stays_secret(
    people, tg, monkeypatch, caplog, pushes
):
    caplog.set_level(logging.INFO)  # the default THIDUA_LOG_LEVEL; our own code at DEBUG
    for name in ("bot", "handlers", "schedules"):
        caplog.set_level(logging.DEBUG, logger=name)
    council = seed(
        people, channel="telegram", user_ids=[str(u) for u in MEMBER_IDS], clerk_id="8000"
    )
    settings = telegram_settings(monkeypatch, tg)
    runner = await start_runner(settings)
    try:
        await pushes(runner)
        clerk = Person(tg, tg.user(8000, "Văn Thư"))
        members = [Person(tg, tg.user(u, f"TV{k}")) for k, u in enumerate(MEMBER_IDS)]

        await clerk.say("/binhxet")
        await clerk.press("Đợt thi đua thứ nhất")
        assert "12 ứng viên" in clerk.text
        await clerk.press("Xác nhận")
        assert "Đã mở phiên bình xét số 1" in clerk.text
        for member in members:  # the invitation is pushed to each member's private chat
            await tg.wait_sent(member.id, 1, timeout=10)
            member.seen = len(member.sent)
            assert "Gửi /phieu để bỏ phiếu" in member.sent[-1]["message"]["text"]

        ballots = {}
        for k, member in enumerate(members):
            agree = [k < n for n in YES_OF_9]
            await ballot(member, agree)
            ballots[council.members[k].id] = {
                str(nid): "yes" if yes else "no"
                for nid, yes in zip(council.candidates, agree, strict=True)
            }
            if k == 1:  # two have voted, the session is open: their chats are clean already
                assert_chats_forgotten({p.id: (p.user_id,) for p in council.members[:2]})
        await members[3].say("/phieu")
        assert "Bạn đã bỏ phiếu trong phiên này" in members[3].text

        await clerk.say("/binhxet")
        assert "9/9 thành viên đã bỏ phiếu" in clerk.text
        await clerk.press("Đóng phiên và kiểm phiếu")
        await clerk.press("Xác nhận")
        text = clerk.text
        assert "Đã bỏ phiếu: 9/9 thành viên" in text
        assert "6 đồng ý, 3 không đồng ý trên 9 (66,67%): đạt" in text  # CSTĐ at 2/3
        assert "4 đồng ý, 5 không đồng ý trên 9 (44,44%): không đạt" in text

        await members[8].say("/phieu")  # after the close
        assert "Không có phiên bình xét nào đang mở" in members[8].text

        # QLCN's head (a member, keeping the role head) gets QLCN's candidates' results
        head = members[0]
        await tg.wait_for(
            lambda: any("Kết quả phiên" in (r["message"].get("text") or "") for r in head.sent),
            timeout=10,
        )
        told = next(
            r["message"]["text"]
            for r in head.sent
            if "Kết quả phiên" in (r["message"].get("text") or "")
        )
        assert "Phòng Quản lý Công nghiệp" in told and "Thanh tra" not in told
    finally:
        await runner.stop()

    with session_scope() as session:
        row = session.exec(select(m.BallotSession)).one()
        assert [o["passed"] for o in row.result["outcomes"]] == CARRIED
        assert [o["yes"] for o in row.result["outcomes"]] == YES_OF_9
        journal = session.exec(
            select(m.Inbound).where(col(m.Inbound.chat_id) == str(MEMBER_IDS[5]))
        ).all()
        assert len(journal) >= 14  # the presses are still known (no redelivery twice)...
    voters = {p.id: (p.user_id,) for p in council.members}
    assert_secret(voters, ballots, caplog.records)  # ...but hold nothing of the ballot

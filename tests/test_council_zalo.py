"""The council's secret vote over Zalo: FakeZalo, the real ZaloRunner (polling, the journal,
the reply lane), the real handlers. Choices answered by number. Only 5 of the 9 members vote,
so the quorum (từ 2/3 trở lên) is not reached and nobody is carried; a member whose confirm
comes after the close is refused; the typed answers do not stay in the journal."""

from __future__ import annotations

from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from tests import test_zalo_channel as zalo_tests
from tests.council_seed import seed
from tests.fakes.zalo_api import FakeZalo
from tests.secrecy import assert_secret
from tests.test_zalo_channel import Runners, User

# the Zalo channel tests' fixtures: a FakeZalo, and the runners against it
fakes, runners, zl = zalo_tests.fakes, zalo_tests.runners, zalo_tests.zl

MEMBER_IDS = [f"zalo-member-{k}" for k in range(9)]


async def ballot(member: User, agree: list[bool], confirm: bool = True) -> str:
    text = await member.say("/phieu")
    assert "Phiếu kín, ứng viên 1/12" in text and "1. Đồng ý" in text and "0. Hủy" in text
    for yes in agree:
        text = await member.say("1" if yes else "2")
    assert "Phiếu của bạn:" in text and "1. Xác nhận" in text
    return await member.say("1") if confirm else text


async def test_five_of_nine_vote_over_zalo_and_the_quorum_is_not_reached(
    people, zl: FakeZalo, runners: Runners, caplog
):
    council = seed(people, channel="zalo", user_ids=MEMBER_IDS, clerk_id="zalo-clerk")
    await runners.polling(zl)
    clerk = User(zl, "zalo-clerk", "Văn Thư")
    members = [User(zl, uid, f"TV{k}") for k, uid in enumerate(MEMBER_IDS)]

    text = await clerk.say("/binhxet")
    assert "1. Đợt thi đua thứ nhất" in text
    assert "12 ứng viên" in await clerk.say("1")
    assert "Đã mở phiên bình xét số 1" in await clerk.say("1")

    ballots = {}
    for k, member in enumerate(members[:5]):
        agree = [(c + k) % 2 == 0 for c in range(12)]  # two kinds of ballot
        assert "Đã nhận phiếu của bạn" in await ballot(member, agree)
        ballots[council.members[k].id] = {
            str(nid): "yes" if yes else "no"
            for nid, yes in zip(council.candidates, agree, strict=True)
        }
    assert "Bạn đã bỏ phiếu trong phiên này" in await members[1].say("/phieu")
    late = members[5]
    await ballot(late, [True] * 12, confirm=False)  # ready to confirm, and then...

    text = await clerk.say("/binhxet")
    assert "5/9 thành viên đã bỏ phiếu" in text
    await clerk.say("1")
    text = await clerk.say("1")
    assert "Đã bỏ phiếu: 5/9 thành viên (tối thiểu: từ 2/3 trở lên)." in text
    assert "Không đủ số thành viên bỏ phiếu: không ứng viên nào đạt." in text
    assert ": đạt" not in text

    text = await late.say("1")  # the confirm, after the close
    assert "Phiên bình xét đã đóng: phiếu của bạn không được tính" in text
    assert "Không có phiên bình xét nào đang mở" in await members[6].say("/phieu")

    with session_scope() as session:
        row = session.exec(select(m.BallotSession)).one()
        assert row.result["quorum_met"] is False
        assert not any(o["passed"] for o in row.result["outcomes"])
        assert [o["yes"] for o in row.result["outcomes"]][:2] == [3, 2]
        assert len(session.exec(select(m.Ballot)).all()) == 5
    voters = {p.id: (p.user_id,) for p in council.members}
    assert_secret(voters, ballots, caplog.records)

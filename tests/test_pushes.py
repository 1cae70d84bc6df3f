"""The calendar's pushes: the right outbox rows, for the right people, at the right time, once.

Driven through `schedules.scheduler.Pushes` (what `thidua run` starts) with THIDUA_NOW-style
clock moves and an in-memory runner; assertions on what each person received and on the rows.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from bot.core.reports import record_report
from bot.core.store import active_campaign
from schedules import outbox
from tests.conftest import at
from tests.pushes_helpers import (
    FakeRunner,
    channel_env,
    local,
    push_of,
    rows,
    runs,
    set_lang,
    wait_until,
)


@pytest.fixture
def office(people, monkeypatch):
    """A small office: staff (vi, en), heads of a unit that filed and of two that did not,
    a clerk, an admin on Zalo, and three people no push may reach."""
    channel_env(monkeypatch)
    folks = {
        "a": people.add("staff", "QLCN", "Trần Thị A", "telegram", "a"),
        "b": people.add("staff", "QLCN", "John B", "telegram", "b"),
        "h1": people.add("head", "QLCN", "Lê Văn H1", "telegram", "h1"),
        "h2": people.add("head", "QLNL", "Phạm H2", "telegram", "h2"),
        "h3": people.add("head", "QLTM", "Hồ H3", "telegram", "h3"),
        "h4": people.add("head", "QLTM", "Vũ H4", "telegram", "h4"),
        "c": people.add("clerk", "VP", "Đỗ Văn C", "telegram", "c"),
        "d": people.add("admin", "VP", "Ngô D", "zalo", "d"),
        "e": people.add("staff", "QLCN", "Console E", "console", "e"),
        "f": people.add("staff", "QLCN", "Blocked F", "telegram", "f"),
        "g": people.add("staff", "QLCN", "Gone G", "telegram", "g"),
    }
    set_lang("b", "en")
    with session_scope() as session:
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == "f")).one()
        ident.reachable, ident.unreachable_reason = False, "blocked"
        gone = session.get(m.Person, folks["g"].id)
        gone.active = False
        row, campaign = active_campaign(session=session)
        record_report(
            session=session,
            campaign=row,
            person=session.get(m.Person, folks["h2"].id),
            phase=1,
            area=campaign.areas[0].code,
            title="Báo cáo tổng kết đợt 1",
            detail="Đơn vị đã hoàn thành các chỉ tiêu.",
            now=row.loaded_at,
            scope="unit",
        )
    return folks


REACHED = {"a", "b", "h1", "h2", "h3", "h4", "c"}  # on Telegram; "d" is on Zalo


@pytest.mark.parametrize(
    ("kind", "select_by", "vi", "en"),
    [
        ("launch", {}, "Phát động phong trào thi đua năm 2022", "Launch of the 2022 emulation"),
        ("phase_start", {"phase": 2}, "Bắt đầu Đợt thi đua thứ hai", "thứ hai starts (01/07"),
        (
            "anniversary_reminder",
            {"ref": "sinh-nhat-bac-ho"},
            "Còn 7 ngày nữa đến kỷ niệm 132 năm Ngày sinh Chủ tịch Hồ Chí Minh (19/05/1890",
            "In 7 days: the 132 years of Ngày sinh Chủ tịch Hồ Chí Minh",
        ),
        (
            "anniversary",
            {"ref": "sinh-nhat-bac-ho"},
            "chào mừng kỷ niệm 132 năm Ngày sinh Chủ tịch Hồ Chí Minh (19/05/1890 – 19/05/2022)",
            "Achieve results to celebrate the 132 years",
        ),
    ],
)
async def test_everyone_pushes_reach_every_registered_person_once(
    office, pushes, kind, select_by, vi, en
):
    push = push_of(kind, **select_by)
    at(local(push, seconds=5))
    tg, zalo = FakeRunner("telegram"), FakeRunner("zalo")
    await pushes(tg, zalo)
    await wait_until(lambda: tg.chats() == REACHED and zalo.chats() == {"d"})
    assert push.event is not None
    assert tg.to("a") == [push.event.text]  # the calendar's own wording
    assert vi in tg.to("a")[0] and vi in zalo.to("d")[0]
    assert en in tg.to("b")[0] and "Báo cáo" not in tg.to("b")[0]
    queued = rows(push_key=push.key)
    assert len(queued) == len(REACHED) + 1
    assert {r.key for r in queued} == {
        outbox.outbox_key(push.key, office[who].id, "zalo" if who == "d" else "telegram")
        for who in [*REACHED, "d"]
    }
    assert runs()[push.key].status == "expanded" and runs()[push.key].recipients == 8
    await wait_until(lambda: all(r.status == "sent" for r in rows(push_key=push.key)))
    assert len(tg.sent) == len(REACHED)


async def test_deadline_reminder_nudges_heads_of_units_without_their_report(office, pushes):
    """T-7, a personal lead day: heads of units that owe the report get a nudge; people who
    filed nothing get the reminder; h2, who filed the unit's report, gets nothing."""
    push = push_of("deadline_reminder", phase=1, days_before=7)
    at(local(push, seconds=5))
    tg, zalo = FakeRunner("telegram"), FakeRunner("zalo")
    await pushes(tg, zalo)
    await wait_until(lambda: tg.chats() == REACHED - {"h2"} and zalo.chats() == {"d"})
    everyone = push.event.text
    assert "Còn 7 ngày đến hạn tổng kết Đợt thi đua thứ nhất (hạn Thứ Sáu, 15/07/2022)" in everyone
    assert tg.to("h2") == []
    for who in ("a", "c"):  # staff and the clerk, who filed nothing
        assert tg.to(who) == [everyone]
    assert zalo.to("d") == [everyone]
    for who, unit in (("h1", "Phòng Quản lý Công nghiệp"), ("h3", "Phòng Quản lý Thương mại")):
        (text,) = tg.to(who)
        assert text.startswith(f"{unit} chưa gửi báo cáo tổng kết Đợt thi đua thứ nhất.")
        assert "Hạn: 15/07/2022, còn 7 ngày." in text and text.endswith(everyone)
    assert tg.to("h4") == tg.to("h3")  # both heads of the unit, one message each
    (english,) = tg.to("b")
    assert "7 days left to sum up" in english
    assert len(rows(push_key=push.key)) == 7


async def test_a_personal_reminder_skips_those_who_filed_and_days_not_named(office, pushes):
    """T-14 is not a personal lead day: only the heads of units that owe the report."""
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        record_report(
            session=session,
            campaign=row,
            person=session.get(m.Person, office["a"].id),
            phase=1,
            area=campaign.areas[0].code,
            title="Sáng kiến",
            detail="Áp dụng tại phòng.",
            now=row.loaded_at,
        )

    def reached(push: outbox.Push) -> set[str]:
        return {
            who
            for who in office
            for r in rows(push_key=push.key)
            if r.key.startswith(outbox.outbox_key(push.key, office[who].id, ""))
        }

    push = push_of("deadline_reminder", phase=1, days_before=14)  # with phase 2's start
    at(local(push, seconds=5))
    p = await pushes(FakeRunner("telegram"), FakeRunner("zalo"))
    await wait_until(lambda: runs().get(push.key) and runs()[push.key].status == "expanded")
    assert reached(push) == {"h1", "h3", "h4"}
    await p.stop()
    one_day = push_of("deadline_reminder", phase=1, days_before=1)
    at(local(one_day, seconds=5))
    await pushes(FakeRunner("telegram"), FakeRunner("zalo"))
    await wait_until(lambda: runs().get(one_day.key) and runs()[one_day.key].status == "expanded")
    assert reached(one_day) == {"b", "c", "d", "h1", "h3", "h4"}  # not "a", who filed


async def test_the_day_after_the_deadline_the_office_gets_the_late_list(office, pushes):
    with session_scope() as session:
        h1 = session.get(m.Person, office["h1"].id)
        h1.phone = "0912 345 678"
        session.add(h1)
    push = push_of("escalation", phase=1)
    assert push.at.isoformat() == "2022-07-18T08:00:00+07:00"  # Monday after Friday 15/07
    at(local(push, seconds=5))
    tg, zalo = FakeRunner("telegram"), FakeRunner("zalo")
    await pushes(tg, zalo)
    await wait_until(lambda: tg.chats() == {"c", "h1", "h3", "h4"} and zalo.chats() == {"d"})
    (late,) = tg.to("c")
    assert late.startswith("Hạn tổng kết Đợt thi đua thứ nhất là Thứ Sáu, 15/07/2022.")
    assert "• Phòng Quản lý Công nghiệp: Lê Văn H1 (0912 345 678)" in late
    assert "• Phòng Quản lý Thương mại: Hồ H3; Vũ H4" in late
    assert "Thanh tra Sở: chưa có trưởng đơn vị đăng ký" in late
    assert "Năng lượng" not in late  # QLNL filed
    assert zalo.to("d") == [late]
    (nudge,) = tg.to("h3")
    assert "đơn vị chưa gửi báo cáo tổng kết đợt" in nudge and "/baocao" in nudge


async def test_deadline_day_sends_the_clerks_digest(office, pushes):
    push = push_of("deadline", phase=1)
    at(local(push, seconds=5))
    tg, zalo = FakeRunner("telegram"), FakeRunner("zalo")
    await pushes(tg, zalo)
    await wait_until(lambda: len(tg.to("c")) == 1 and len(zalo.to("d")) == 1)
    digest_key = push.key.replace(":deadline.", ":digest.")
    assert {r.key for r in rows(push_key=digest_key)} == {
        outbox.outbox_key(digest_key, office["c"].id, "telegram"),
        outbox.outbox_key(digest_key, office["d"].id, "zalo"),
    }
    (digest,) = tg.to("c")  # the deadline day is no personal lead day: the digest only
    # the office (VP) compiles, it owes no phase report: 1 of 6, as /tonghop counts
    assert digest.startswith("Báo cáo tổng kết Đợt thi đua thứ nhất (hạn 15/07/2022): 1/6 đơn vị")
    missing, filed = digest.split("Chưa gửi:")[1].split("Đã gửi:")
    assert "Phòng Quản lý Thương mại (Hồ H3, Vũ H4)" in missing
    assert "Phòng Quản lý Công nghiệp (Lê Văn H1)" in missing
    assert "Thanh tra Sở (chưa có trưởng đơn vị đăng ký)" in missing
    assert "Phòng Quản lý Năng lượng" in filed and "Năng lượng" not in missing
    assert "/dondoc" in digest
    assert zalo.to("d") == [digest]
    (head,) = tg.to("h1")
    assert "Hạn: hôm nay, 15/07/2022." in head
    assert tg.to("a") == []  # staff: no digest, and no reminder on the deadline day


async def test_a_push_fires_on_time_and_a_second_run_adds_nothing(office, pushes, caplog):
    caplog.set_level(logging.INFO, logger="schedules.scheduler")
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    at(local(push, seconds=-1.5))
    tg = FakeRunner("telegram")
    p = await pushes(tg, FakeRunner("zalo"), tick=60)  # only the DateTrigger job can fire it
    job = p.scheduler.get_job(push.key)
    assert job is not None and job.trigger.run_date is not None
    assert push.key not in runs()
    await asyncio.sleep(0.5)
    assert tg.sent == []
    await wait_until(lambda: tg.chats() == REACHED, timeout=4)
    assert f"push {push.key}: 8 messages queued" in caplog.text  # and Zalo
    before = len(rows())
    assert await p.run_due() == 0 and await p.tick() is None
    await asyncio.sleep(0.3)
    assert len(rows()) == before and len(tg.sent) == len(REACHED)


async def test_restart_before_during_and_after_a_push(people, monkeypatch, pushes):
    """Stopped just before 08:00, restarted after it; stopped mid-push; restarted when done:
    every person gets the push exactly once."""
    channel_env(monkeypatch, TELEGRAM_RATE="40")
    for n in range(60):
        people.add("staff", "QLCN", None, "telegram", f"p{n}")
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    at(local(push, seconds=-1))
    tg = FakeRunner("telegram")
    first = await pushes(tg)
    await first.stop()  # before the push
    assert tg.sent == [] and push.key not in runs()
    at(local(push, seconds=30))
    second = await pushes(tg)  # during: 60 messages at 40/s take 1.5 s; stop halfway
    await wait_until(lambda: len(tg.sent) >= 20)
    await second.stop()
    sent_before = len(tg.sent)
    assert 20 <= sent_before < 60
    statuses = [r.status for r in rows(push_key=push.key)]
    assert statuses.count("sent") == sent_before and "sending" not in statuses
    third = await pushes(tg)
    await wait_until(lambda: len(tg.sent) == 60)
    await third.stop()
    fourth = await pushes(tg)  # after: nothing more
    await asyncio.sleep(0.4)
    await fourth.stop()
    assert sorted(tg.chats()) == sorted(f"p{n}" for n in range(60)) and len(tg.sent) == 60
    assert runs()[push.key].recipients == 60


async def test_missed_by_three_hours_is_sent_late(office, pushes, caplog):
    push = push_of("anniversary_reminder", ref="sinh-nhat-bac-ho")
    at(local(push, hours=3))
    tg = FakeRunner("telegram")
    with caplog.at_level(logging.WARNING):
        await pushes(tg, FakeRunner("zalo"))
        await wait_until(lambda: tg.chats() == REACHED)
    assert f"push {push.key} sent late" in caplog.text and "3:00:00 late" in caplog.text


async def test_missed_by_three_days_is_skipped_with_a_log_line(office, pushes, caplog):
    push = push_of("anniversary_reminder", ref="sinh-nhat-bac-ho")
    at(local(push, days=3))
    tg = FakeRunner("telegram")
    with caplog.at_level(logging.WARNING):
        p = await pushes(tg, FakeRunner("zalo"))
    assert f"push {push.key} skipped" in caplog.text
    assert runs()[push.key].status == "skipped" and rows(push_key=push.key) == []
    await p.tick()
    await asyncio.sleep(0.2)
    assert tg.sent == []


async def test_never_after_the_day_it_announces(office, pushes, monkeypatch):
    """With a two-day grace, a deadline push missed by 17 h is still skipped: the deadline
    day is over; the T-1 reminder missed by as much still goes out, before the deadline."""
    channel_env(monkeypatch, THIDUA_PUSH_GRACE="P2D")
    deadline = push_of("deadline", phase=1)
    reminder = push_of("deadline_reminder", phase=1, days_before=1)
    at(local(reminder, hours=17))
    tg = FakeRunner("telegram")
    p = await pushes(tg, FakeRunner("zalo"))
    await wait_until(lambda: tg.chats() == REACHED - {"h2"})  # h2 filed
    assert runs()[reminder.key].status == "expanded"
    await p.stop()
    at(local(deadline, hours=17))
    await pushes(tg, FakeRunner("zalo"))
    assert runs()[deadline.key].status == "skipped"
    assert runs()[deadline.key.replace(":deadline.", ":digest.")].status == "skipped"


def test_a_reminder_at_the_same_minute_as_its_deadline_is_left_out(ready):
    """Phase 2's deadline is a Saturday: T-1 and T-0 both move to Friday 08:00; one push."""
    with session_scope() as session:
        campaign = active_campaign(session=session)[1]
    found = [p for p in outbox.pushes(campaign) if p.phase == 2 and "deadline" in p.kind]
    assert [(p.kind, p.event.days_before, p.at.day) for p in found] == [
        ("deadline_reminder", 14, 16),
        ("deadline_reminder", 7, 23),
        ("deadline_reminder", 3, 28),
        ("deadline", 0, 30),
    ]

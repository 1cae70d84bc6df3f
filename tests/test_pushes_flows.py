"""`/remind` (`/dondoc`), `/broadcast`, `thidua launch`, `thidua outbox [--json]` and
`thidua outbox retry [--failed]`, through the chat seam and the command line."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.core import models as m
from bot.core.db import session_scope
from bot.core.reports import record_report
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from tests.cli_table import table_rows
from tests.conftest import at
from tests.pushes_helpers import (
    FakeRunner,
    channel_env,
    identity,
    rows,
    set_lang,
    wait_until,
)


@pytest.fixture
def office(people, monkeypatch):
    """Saturday 09/07/2022: phase 1 (deadline 15/07) and phase 2 are both open (no calendar
    push is due today); QLNL has filed its phase 1 report."""
    channel_env(monkeypatch)
    at("2022-07-09T09:00:00+07:00")
    folks = {
        "clerk": people.add("clerk", "VP", "Đỗ Văn C"),  # chats on the "test" channel
        "a": people.add("staff", "QLCN", "Trần Thị A", "telegram", "a"),
        "b": people.add("staff", "QLTM", "John B", "telegram", "b"),
        "h1": people.add("head", "QLCN", "Lê Văn H1", "telegram", "h1"),
        "h2": people.add("head", "QLNL", "Phạm H2", "telegram", "h2"),
        "h3": people.add("head", "QLTM", "Hồ H3", "telegram", "h3"),
        "h4": people.add("head", "QLTM", "Vũ H4", "telegram", "h4"),
        "h5": people.add("head", "KHTC", "Console H5", "console", "h5"),
    }
    set_lang("b", "en")
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        record_report(
            session=session,
            campaign=row,
            person=session.get(m.Person, folks["h2"].id),
            phase=1,
            area=campaign.areas[0].code,
            title="Tổng kết đợt 1",
            detail="Hoàn thành.",
            now=row.loaded_at,
            scope="unit",
        )
    return folks


async def test_remind_previews_then_nudges_the_heads_of_units_without_their_report(
    office, chat_as, pushes
):
    clerk = chat_as(office["clerk"])
    clerk.say("/doncoc")
    assert clerk.text == "Đợt nào?"
    assert clerk.labels == [
        "Đợt thi đua thứ nhất (hạn 15/07/2022)",
        "Đợt thi đua thứ hai (hạn 31/12/2022)",
    ]
    clerk.press("Đợt thi đua thứ nhất (hạn 15/07/2022)")
    preview = clerk.text
    assert preview.startswith("Đôn đốc tổng kết Đợt thi đua thứ nhất (hạn 15/07/2022).")
    reached, rest = preview.split("Không liên lạc được trưởng đơn vị")
    assert "• Phòng Quản lý Công nghiệp: Lê Văn H1" in reached
    assert "• Phòng Quản lý Thương mại: Hồ H3, Vũ H4" in reached
    assert "Năng lượng" not in preview  # it has filed
    assert "• Phòng Kế hoạch - Tài chính - Tổng hợp" in rest  # its head is on the console only
    assert "• Thanh tra Sở" in rest  # no head at all
    assert "Nội dung (tổng cộng 3 tin nhắn):" in rest
    assert "Hạn: 15/07/2022, còn 6 ngày." in rest
    assert clerk.labels == ["Xác nhận", "Hủy"]
    assert rows() == []
    confirm = next(o.data for r in clerk.last for o in r.options if o.label == "Xác nhận")
    clerk.press("Xác nhận")
    assert clerk.text == (
        "Đã đưa 3 tin nhắn tới trưởng 2 đơn vị vào hàng đợi; tin sẽ được gửi đi trong vòng "
        "một phút."
    )
    queued = rows()
    assert {r.chat_id for r in queued} == {"h1", "h3", "h4"}
    key = queued[0].push_key
    assert key.startswith("push:cong-thuong-ha-tinh-2022:remind.") and key.endswith(":2022-07-09")
    assert all(r.key == f"outbox:{key}:{r.person_id}:telegram" for r in queued)
    tg = FakeRunner()
    await pushes(tg)
    await wait_until(lambda: tg.chats() == {"h1", "h3", "h4"})
    (nudge,) = tg.to("h1")
    assert nudge.startswith("Phòng Quản lý Công nghiệp chưa gửi báo cáo tổng kết Đợt thi đua")
    assert "/baocao" in nudge
    assert tg.to("h3")[0].startswith("Phòng Quản lý Thương mại chưa gửi")
    clerk.send(choice=confirm)  # the same button again: nothing more is queued
    assert len(rows()) == 3


def test_remind_is_for_the_office_and_says_when_nobody_is_late(office, chat_as, people):
    staff = chat_as(office["a"], "telegram")
    staff.say("/remind")
    assert "không dành cho vai trò của bạn" in staff.text
    at("2022-12-20T09:00:00+07:00")  # only phase 2 is open; every unit files its report
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        for unit in session.exec(select(m.Unit)):
            person = m.Person(full_name=f"TĐV {unit.code}", unit_id=unit.id, role="head")
            person.created_at = row.loaded_at
            session.add(person)
            session.flush()
            record_report(
                session=session,
                campaign=row,
                person=person,
                phase=2,
                area=campaign.areas[0].code,
                title="Tổng kết",
                detail="Xong.",
                now=row.loaded_at,
                scope="unit",
            )
    clerk = chat_as(office["clerk"])
    clerk.say("/remind")
    assert clerk.text == (
        "Tất cả đơn vị đã gửi báo cáo tổng kết Đợt thi đua thứ hai: không cần đôn đốc ai."
    )
    assert rows() == []


async def test_broadcast_to_chosen_units_with_preview(office, chat_as, pushes):
    clerk = chat_as(office["clerk"])
    clerk.say("/broadcast")
    assert clerk.text == "Nhập nội dung thông báo (tối đa 1500 ký tự)."
    clerk.say("Họp giao ban lúc 14 giờ chiều nay tại phòng họp số 2.")
    assert clerk.text == "Gửi cho ai?" and clerk.labels == ["Mọi người", "Một số đơn vị"]
    clerk.press("Một số đơn vị")
    assert "QLCN: Phòng Quản lý Công nghiệp" in clerk.text
    clerk.say("qlcn, XYZ")
    assert clerk.text.startswith("Không có mã đơn vị: XYZ.")
    clerk.say("qlcn; QLTM")
    assert clerk.text.startswith(
        "Thông báo gửi Phòng Quản lý Công nghiệp (QLCN), Phòng Quản lý Thương mại (QLTM): "
        "5 người, 5 tin nhắn."
    )
    assert "Thông báo của SỞ CÔNG THƯƠNG:\n\nHọp giao ban lúc 14 giờ" in clerk.text
    clerk.press("Xác nhận")
    assert clerk.text == "Đã đưa 5 tin nhắn vào hàng đợi; tin sẽ được gửi đi trong ít phút tới."
    tg = FakeRunner()
    await pushes(tg)
    await wait_until(lambda: tg.chats() == {"a", "b", "h1", "h3", "h4"})
    assert tg.to("b") == [
        "Announcement from SỞ CÔNG THƯƠNG:\n\n"
        "Họp giao ban lúc 14 giờ chiều nay tại phòng họp số 2."
    ]
    assert tg.to("a")[0].startswith("Thông báo của SỞ CÔNG THƯƠNG:")
    assert all(r.priority == 0 for r in rows())


def test_broadcast_to_everyone_and_not_for_heads(office, chat_as):
    head = chat_as(office["h1"], "telegram")
    head.say("/broadcast")
    assert "không dành cho vai trò của bạn" in head.text
    clerk = chat_as(office["clerk"])
    clerk.say("/broadcast")
    clerk.say("Nghỉ lễ 02/9.")
    clerk.press("Mọi người")
    assert clerk.text.startswith("Thông báo gửi mọi người: 6 người, 6 tin nhắn.")
    clerk.press("Hủy")
    assert rows() == []


def cli(*args: str):
    from bot.cli.main import app

    result = CliRunner().invoke(app, list(args))
    return result


def test_launch_queues_once_and_later_only_newcomers(office, people, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.setenv("THIDUA_NOW", "2022-02-25T10:00:00+07:00")
    get_settings.cache_clear()
    result = cli("launch")
    assert result.exit_code == 1
    assert "Chưa có kênh để gửi: hãy đặt TELEGRAM_BOT_TOKEN hoặc ZALO_BOT_TOKEN." in result.output
    channel_env(monkeypatch, THIDUA_NOW="2022-02-25T10:00:00+07:00")
    result = cli("launch")
    key = "push:cong-thuong-ha-tinh-2022:launch.campaign:2022-03-01"  # the plan's launch day
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{key}: đã đưa 6 tin nhắn vào hàng đợi (tổng cộng 6).")
    assert len(rows(push_key=key)) == 6
    assert cli("launch").output.startswith(f"{key}: đã đưa 0 tin nhắn vào hàng đợi (tổng cộng 6).")
    people.add("staff", "TTKC", "Người mới", "telegram", "new")
    assert cli("launch").output.startswith(f"{key}: đã đưa 1 tin nhắn vào hàng đợi (tổng cộng 7).")
    (row,) = rows(chat_id="b")
    assert row.text.startswith("Launch of the 2022 emulation movement")


def test_outbox_lists_counts_and_failures_and_retries(office, monkeypatch):
    channel_env(monkeypatch, THIDUA_NOW="2022-07-08T09:00:00+07:00")
    assert cli("outbox").output == "Hàng đợi tin nhắn trống.\n"
    cli("launch")
    with session_scope() as session:
        for row in session.exec(select(m.Outbox)):
            if row.chat_id == "h1":
                row.status, row.last_error, row.attempts = "failed", "Unreachable: blocked", 1
                ident = session.get(m.Identity, row.identity_id)
                ident.reachable, ident.unreachable_reason = False, "blocked"
                session.add(ident)
            elif row.chat_id == "a":
                row.status = "sent"
            session.add(row)
    shown = json.loads(cli("outbox", "--json").output)
    assert shown["counts"] == {
        "telegram": {"pending": 4, "sending": 0, "sent": 1, "failed": 1, "deferred": 0}
    }
    (failed,) = shown["failed"]
    assert failed["person"] == "Lê Văn H1" and failed["unit"] == "QLCN"
    assert failed["error"] == "Unreachable: blocked"
    text = cli("outbox").output
    shown = table_rows(text)
    assert ["telegram", "4", "0", "1", "1", "0"] in shown
    assert "Gửi không được (1):" in text
    failed = next(r for r in shown if r[1] == "Lê Văn H1")
    assert failed[2:4] == ["QLCN", "telegram"] and failed[4].startswith("Unreachable")
    channel_env(monkeypatch, THIDUA_NOW="2022-07-08T10:00:00+07:00")  # an hour on
    result = cli("outbox", "retry")
    assert result.output == (
        "0 tin nhắn đang chờ sẽ được gửi ngay; 0 tin nhắn lỗi được đưa lại vào hàng đợi.\n"
    )
    assert rows(chat_id="h1")[0].status == "failed"
    result = cli("outbox", "retry", "--failed")
    assert "1 tin nhắn lỗi được đưa lại vào hàng đợi" in result.output
    (row,) = rows(chat_id="h1")
    assert row.status == "pending" and row.attempts == 0 and row.last_error is None
    assert identity("h1").reachable

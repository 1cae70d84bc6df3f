"""`/review` (`/duyet`): the office accepts or returns items; the person gets the reason."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from tests.clerk_seed import seed


@pytest.fixture
def desk(people):
    return seed(people)


def row(model, receipt: str):
    with session_scope() as session:
        return session.exec(select(model).where(model.receipt == receipt)).one()


def outbox(prefix: str) -> list[m.Outbox]:
    with session_scope() as session:
        return list(
            session.exec(
                select(m.Outbox).where(m.Outbox.key.startswith(prefix)).order_by(m.Outbox.id)
            )
        )


def audits(action: str) -> list[m.AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(m.AuditEvent).where(m.AuditEvent.action == action)))


def test_return_a_report_with_a_reason(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/review BC-2022-0001")
    assert chat.text.splitlines()[:3] == [
        "Báo cáo BC-2022-0001 · Đã gửi · 10/05/2022",
        "Người báo cáo: Nguyễn Văn An (Phòng Quản lý Công nghiệp)",
        "Loại: cá nhân",
    ]
    assert chat.labels == ["Tiếp nhận", "Trả lại kèm lý do", "Đóng"]
    chat.press("Trả lại kèm lý do")
    assert chat.text.startswith("Lý do trả lại?")
    chat.say("Chưa có số liệu cụ thể, đề nghị bổ sung")
    assert chat.text.startswith("Trả lại BC-2022-0001 cho Nguyễn Văn An với lý do sau?")
    chat.press("Xác nhận")
    assert chat.text == (
        "Đã trả lại BC-2022-0001 cho Nguyễn Văn An.\n"
        "Lý do đang được gửi tới Nguyễn Văn An qua Telegram."
    )
    report = row(m.Report, "BC-2022-0001")
    assert report.status == "returned"
    assert report.review_note == "Chưa có số liệu cụ thể, đề nghị bổ sung"
    (queued,) = outbox("review:BC-2022-0001:")
    assert queued.key == "review:BC-2022-0001:1"
    assert (queued.status, queued.channel, queued.person_id) == (
        "pending",
        "telegram",
        desk.staff.id,
    )
    assert queued.text.splitlines() == [
        "Văn phòng Sở đã trả lại báo cáo BC-2022-0001 (“Thành tích staff chuyen-mon”) "
        "của đồng chí.",
        "Lý do: Chưa có số liệu cụ thể, đề nghị bổ sung",
        "",
        "Đề nghị chỉnh sửa qua /cuatoi; sau khi sửa, hồ sơ được gửi lại Văn phòng.",
    ]
    (event,) = audits("report.return")
    assert event.subject == "BC-2022-0001" and event.person_id == desk.clerk.id
    assert event.detail == {"reason": "Chưa có số liệu cụ thể, đề nghị bổ sung"}

    # Nothing left to review on it until the person fixes it; then a second return is :2.
    chat.say("/duyet BC-2022-0001")
    assert chat.text == "BC-2022-0001 ở trạng thái “Trả lại”: không có gì cần xem xét."
    with session_scope() as session:
        fixed = session.get(m.Report, report.id)
        fixed.status = "submitted"
        session.add(fixed)
    chat.say("/duyet BC-2022-0001")
    chat.press("Trả lại kèm lý do")
    chat.say("Vẫn thiếu minh chứng")
    chat.press("Xác nhận")
    assert [o.key for o in outbox("review:BC-2022-0001:")] == [
        "review:BC-2022-0001:1",
        "review:BC-2022-0001:2",
    ]


def test_accept_a_nomination_and_it_still_counts(desk, chat_as):
    chat = chat_as(desk.admin)
    chat.say("/duyet dn-2022-0003")
    assert chat.text.splitlines()[:4] == [
        "Đề nghị DN-2022-0003 · Đơn vị đã xác nhận · 10/05/2022",
        "Người đề nghị: Hồ Trưởng Phòng (Phòng Quản lý Công nghiệp)",
        "Đề nghị cho: Nguyễn Văn An",
        "Danh hiệu, hình thức khen thưởng: Chiến sĩ thi đua cơ sở",
    ]
    chat.press("Tiếp nhận")
    assert chat.text == "Tiếp nhận DN-2022-0003 của Hồ Trưởng Phòng?"
    chat.press("Xác nhận")
    assert chat.text == "Đã tiếp nhận DN-2022-0003 của Hồ Trưởng Phòng."
    assert row(m.Nomination, "DN-2022-0003").status == "accepted"
    assert [e.subject for e in audits("nomination.accept")] == ["DN-2022-0003"]
    assert outbox("review:") == []
    chat.say("/summary")
    assert "- Chiến sĩ thi đua cơ sở: 1/9" in chat.text.splitlines()
    assert "Chờ Văn phòng xem xét: 6 báo cáo, 5 đề nghị (/duyet)." in chat.text.splitlines()


def test_the_waiting_list_and_its_limits(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/review")
    assert chat.text == "Hồ sơ chờ Văn phòng xem xét, cũ nhất trước. Chọn một hồ sơ:"
    labels = chat.labels
    assert labels[0] == "BC-2022-0001 · Thành tích staff chuyen-mon · Đã gửi"
    assert "DN-2022-0008 · Phạm Văn Cường · Đề xuất" in labels  # a staff proposal
    assert not any(
        label.startswith(("BC-2022-0004", "DN-2022-0004", "DN-2022-0009")) for label in labels
    )
    chat.press(labels[0])
    chat.press("Đóng")
    assert chat.text == "Đã đóng."
    assert row(m.Report, "BC-2022-0001").status == "submitted"
    chat.say("/review BC-2099-0001")
    assert chat.text == "Không có báo cáo hay đề nghị nào số BC-2099-0001."
    chat.say("/review BC-2022-0004")
    assert chat.text == "BC-2022-0004 ở trạng thái “Đã rút”: không có gì cần xem xét."


def test_returning_to_someone_unreachable(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/review DN-2022-0008")
    chat.press("Trả lại kèm lý do")
    chat.say("Chưa qua bình xét của đơn vị")
    chat.press("Xác nhận")
    assert chat.text.splitlines()[1] == (
        "Không liên lạc được với Phạm Văn Cường qua kênh nào: đề nghị báo lý do trực tiếp cho "
        "người này."
    )
    assert row(m.Nomination, "DN-2022-0008").status == "returned"
    assert outbox("review:") == []


def test_an_item_reviewed_meanwhile_is_not_changed(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/review BC-2022-0002")
    chat.press("Tiếp nhận")
    # meanwhile the person withdraws it
    with session_scope() as session:
        report = session.exec(select(m.Report).where(m.Report.receipt == "BC-2022-0002")).one()
        report.status = "withdrawn"
        session.add(report)
    chat.press("Xác nhận")
    assert chat.text.startswith("BC-2022-0002 hiện ở trạng thái “Đã rút”: không có gì thay đổi.")
    assert row(m.Report, "BC-2022-0002").status == "withdrawn"


def test_the_reason_goes_in_the_persons_language(desk, chat_as):
    with session_scope() as session:
        person = session.get(m.Person, desk.staff.id)
        person.lang = "en"
        session.add(person)
    chat = chat_as(desk.clerk)
    chat.say("/review BC-2022-0002")
    chat.press("Trả lại kèm lý do")
    chat.say("Số liệu chưa khớp")
    chat.press("Xác nhận")
    (queued,) = outbox("review:BC-2022-0002:")
    assert queued.text.startswith("The office returned your report BC-2022-0002")
    assert "Reason: Số liệu chưa khớp" in queued.text


@pytest.mark.parametrize("who", ["head", "staff2"])
def test_review_is_for_the_office_only(desk, chat_as, who):
    chat = chat_as(getattr(desk, who))
    chat.say("/review BC-2022-0001")
    assert chat.text.startswith("Xin lỗi, lệnh /review không dành cho vai trò của bạn")
    assert row(m.Report, "BC-2022-0001").status == "submitted"

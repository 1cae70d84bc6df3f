"""User stories through the public seam: an `Incoming` in, replies and stored rows out."""

from __future__ import annotations

import threading

from sqlmodel import select

from bot.core import clock, store
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import issue_invites
from handlers import basics
from handlers.types import Attachment
from tests.conftest import Chat, at


def rows(model, **where):
    with session_scope() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.exec(query).all()


def invite(unit: str = "QLCN", role: str = "staff") -> str:
    with session_scope() as session:
        unit_row = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
        return issue_invites(session=session, unit=unit_row, role=role, count=1, now=clock.now())[
            0
        ].code


def file_report(chat: Chat, title: str = "Hoàn thành đề án CN hỗ trợ") -> str:
    chat.say("/baocao")
    if "Nội dung thi đua nào?" not in chat.text:
        chat.press(chat.labels[0])
    chat.press("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    chat.say(title)
    chat.say("Trình UBND tỉnh đề án trước hạn 10 ngày.")
    chat.press("Bỏ qua")
    chat.press("Xác nhận")
    return chat.text


def test_register_report_my_edit_withdraw(ready):
    chat = Chat("tg-1", name="Lê Thị Hoa")
    assert "/start" in chat.say("xin chào")[0].text
    chat.say(f"/start {invite()}")
    assert "Xin chào Lê Thị Hoa!" in chat.text
    assert (
        "“Đoàn kết, đổi mới, thi đua hoàn thành vượt mức các chỉ tiêu, nhiệm vụ năm 2022”"
        in chat.text
    )
    assert "/baocao (/report)" in chat.text and "trợ lý tự động" in chat.text

    chat.say("/baocao")  # 10/05/2022: only phase 1 is open, so the phase is not asked
    assert "Nội dung thi đua nào?" in chat.text
    assert chat.labels == [
        "Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn",
        "Thi đua thực hiện có hiệu quả công tác cải cách hành chính",
        "Các phong trào thi đua khác",
    ]
    chat.say("2")
    chat.say("Rút ngắn thời gian cấp phép")
    chat.say("Giảm 30% thời gian giải quyết thủ tục.")
    chat.press("Bỏ qua")
    assert "Vui lòng kiểm tra báo cáo:" in chat.text
    assert "Đợt thi đua: Đợt thi đua thứ nhất" in chat.text
    assert rows(m.Report) == []  # nothing before the confirmation
    chat.press("Xác nhận")
    assert "Số biên nhận: BC-2022-0001 (ngày 10/05/2022)" in chat.text
    (report,) = rows(m.Report)
    assert (report.phase, report.area, report.title, report.status) == (
        1,
        "cai-cach-hanh-chinh",
        "Rút ngắn thời gian cấp phép",
        "submitted",
    )

    chat.say("/cuatoi")
    assert "BC-2022-0001 · Rút ngắn thời gian cấp phép · đã gửi" in chat.labels
    chat.press("BC-2022-0001 · Rút ngắn thời gian cấp phép · đã gửi")
    assert "Giảm 30% thời gian giải quyết thủ tục." in chat.text
    chat.press("Sửa")
    chat.press("Tiêu đề")
    chat.say("Rút ngắn 30% thời gian cấp phép")
    chat.press("Xác nhận")
    assert "Đã cập nhật BC-2022-0001." in chat.text
    assert rows(m.Report)[0].title == "Rút ngắn 30% thời gian cấp phép"

    chat.say("/my")
    chat.press(chat.labels[0])
    chat.press("Rút lại")
    chat.press("Xác nhận")
    assert "Đã rút BC-2022-0001." in chat.text
    assert rows(m.Report)[0].status == "withdrawn"
    actions = {a.action for a in rows(m.AuditEvent)}
    assert {"register", "report.save", "report.edit", "report.withdraw"} <= actions

    chat.say("/my")
    chat.press(chat.labels[0])
    assert "Sửa" not in chat.labels and "Rút lại" not in chat.labels  # a withdrawn item

    file_report(chat, "Báo cáo thứ hai")
    assert "BC-2022-0002" in chat.text  # numbers are never reused


def test_edit_a_field_from_the_summary(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("1")
    chat.say("Tiêu đề cũ")
    chat.say("Nội dung")
    chat.say("bỏ qua")
    chat.press("Sửa một mục")
    assert chat.labels == [
        "Nội dung thi đua",
        "Tiêu đề",
        "Thành tích",
        "Minh chứng",
        "Quay lại bản tóm tắt",
    ]
    chat.press("Tiêu đề")
    chat.say("Tiêu đề mới")
    assert "Tiêu đề: Tiêu đề mới" in chat.text and "Vui lòng kiểm tra báo cáo" in chat.text
    chat.press("Xác nhận")
    assert rows(m.Report)[0].title == "Tiêu đề mới"


def test_evidence_photo_is_stored_with_the_report(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("1")
    chat.say("Có ảnh")
    chat.say("Nội dung")
    chat.send(attachment=Attachment("photo", "file-123", "", "image/jpeg", "att/p.jpg"))
    assert "Minh chứng: ảnh" in chat.text
    chat.press("Xác nhận")
    (report,) = rows(m.Report)
    assert (report.evidence_kind, report.evidence_ref, report.evidence_path) == (
        "photo",
        "file-123",
        "att/p.jpg",
    )


def test_two_open_phases_are_asked_and_a_closed_one_refused(people, chat_as):
    at("2022-07-15T23:50:00+07:00")  # phase 1 takes reports until 15/07, phase 2 has begun
    chat = chat_as(people.add())
    chat.say("/report")
    assert chat.labels == [
        "Đợt thi đua thứ nhất (hạn 15/07/2022)",
        "Đợt thi đua thứ hai (hạn 31/12/2022)",
    ]
    chat.say("1")
    chat.say("1")
    chat.say("Tiêu đề")
    chat.say("Nội dung")
    chat.say("1")
    at("2022-07-16T00:01:00+07:00")  # the deadline passed while the summary was open
    chat.press("Xác nhận")
    assert "Đợt thi đua thứ nhất đã hết hạn nhận báo cáo ngày 15/07/2022" in chat.text
    assert rows(m.Report) == []
    chat.press("Hủy")
    assert rows(m.Conversation) == []
    at("2023-01-02T09:00:00+07:00")
    chat.say("/report")
    assert "hết hạn nhận báo cáo (hạn cuối là ngày 31/12/2022)" in chat.text


def test_head_files_the_unit_phase_report(people, chat_as):
    chat = chat_as(people.add(role="head"))
    chat.say("/report")
    assert chat.labels == [
        "Thành tích cá nhân",
        "Báo cáo thành tích đơn vị theo đợt (Phòng Quản lý Công nghiệp)",
    ]
    chat.say("2")
    chat.say("1")
    chat.say("Báo cáo đợt 1")
    chat.say("Đơn vị hoàn thành 100% nhiệm vụ.")
    chat.say("1")
    assert "báo cáo theo đợt của Phòng Quản lý Công nghiệp" in chat.text
    chat.press("Xác nhận")
    assert rows(m.Report)[0].scope == "unit"


def test_head_nominates_and_it_counts(people, chat_as):
    staff = people.add(name="Trần Văn Bình")
    chat = chat_as(people.add(role="head", name="Lê Thị Hoa"))
    chat.say("/denghi")
    chat.press("Cá nhân")
    assert chat.labels == ["Lê Thị Hoa", "Trần Văn Bình", "Người khác (nhập họ tên)"]
    chat.press("Trần Văn Bình")
    assert (
        "Chiến sĩ thi đua cơ sở" in chat.labels and "Tập thể lao động tiên tiến" not in chat.labels
    )
    chat.press("Chiến sĩ thi đua cơ sở")
    chat.say("Hoàn thành xuất sắc nhiệm vụ hai năm liền.")
    assert "Sáng kiến đã được công nhận" in chat.text
    chat.say("Sáng kiến số hóa hồ sơ, QĐ số 12/QĐ-SCT ngày 01/03/2022")
    assert "❌ Lao động tiên tiến năm 2022: chưa có đề nghị" in chat.text  # the pre-check
    chat.press("Xác nhận")
    assert "Số biên nhận: DN-2022-0001" in chat.text
    (n,) = rows(m.Nomination)
    assert (n.status, n.nominee_person_id, n.title_code, n.audience) == (
        "endorsed",
        staff.id,
        "CSTD-CS",
        "individual",
    )
    assert n.initiative.startswith("Sáng kiến số hóa")


def test_staff_proposes_and_the_head_endorses(people, chat_as):
    staff = chat_as(people.add(name="Trần Văn Bình"))
    head = chat_as(people.add(role="head", name="Lê Thị Hoa"))
    staff.say("/nominate")
    staff.press("Tập thể")
    assert staff.labels == ["Phòng Quản lý Công nghiệp", "Tập thể khác (nhập tên)"]
    staff.press("Phòng Quản lý Công nghiệp")
    staff.press("Tập thể lao động tiên tiến")
    staff.say("Hoàn thành 100% chỉ tiêu.")
    assert "trưởng đơn vị xác nhận thì mới được tính" in staff.text
    staff.press("Xác nhận")
    assert "Trưởng đơn vị sẽ xem xét" in staff.text
    assert rows(m.Nomination)[0].status == "proposed"

    head.say("/cuatoi")
    label = next(x for x in head.labels if x.startswith("DN-2022-0001"))
    head.press(label)
    head.press("Đơn vị xác nhận")
    head.press("Xác nhận")
    assert "Đơn vị đã xác nhận DN-2022-0001." in head.text
    (n,) = rows(m.Nomination)
    assert n.status == "endorsed" and n.endorsed_by == head_id(head)


def head_id(chat: Chat) -> int:
    with session_scope() as session:
        return (
            session.exec(select(m.Identity).where(m.Identity.user_id == chat.user_id))
            .one()
            .person_id
        )


def test_the_same_nominee_and_title_twice_is_refused(people, chat_as):
    people.add(name="Trần Văn Bình")
    head = chat_as(people.add(role="head"))
    for _ in range(2):
        head.say("/nominate")
        head.press("Cá nhân")
        head.press("Trần Văn Bình")
        head.press("Lao động tiên tiến")
    assert "Trần Văn Bình đã được đề nghị Lao động tiên tiến: DN-2022-0001" not in head.text
    head.say("Căn cứ")
    head.press("Xác nhận")
    head.say("/nominate")
    head.press("Cá nhân")
    head.press("Trần Văn Bình")
    head.press("Lao động tiên tiến")
    assert "Trần Văn Bình đã được đề nghị Lao động tiên tiến: DN-2022-0001" in head.text
    assert "Lao động tiên tiến" in head.labels  # still at the title question
    assert len(rows(m.Nomination)) == 1


def test_clerk_nominates_for_any_unit_and_types_a_name(people, chat_as):
    clerk = chat_as(people.add(role="clerk", unit="VP"))
    clerk.say("/nominate")
    clerk.press("Tập thể")
    assert "Trung tâm Khuyến công và Xúc tiến thương mại" in clerk.labels
    clerk.press("Trung tâm Khuyến công và Xúc tiến thương mại")
    clerk.press("Tập thể khác (nhập tên)")
    clerk.say("Công đoàn ngành Công Thương")
    clerk.press("Hoàn thành xuất sắc nhiệm vụ")
    clerk.say("Tổ chức tốt các hoạt động.")
    clerk.press("Xác nhận")
    (n,) = rows(m.Nomination)
    assert (n.nominee_name, n.status, n.nominee_unit_id) == (
        "Công đoàn ngành Công Thương",
        "endorsed",
        None,
    )


def test_language_is_per_person(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/lang")
    chat.press("English")
    assert chat.text == "Language set: English."
    chat.say("/report")
    assert "Which content area?" in chat.text
    chat.say("/cancel")
    assert chat.text == "Cancelled: report an achievement (/report). Nothing was saved."
    chat.say("/lang vi")
    assert chat.text == "Đã chọn ngôn ngữ: Tiếng Việt."


def test_a_second_channel_binds_to_the_same_person(people, chat_as):
    person = people.add()
    telegram = chat_as(person)
    telegram.say("/my")
    telegram.press("Kết nối ứng dụng khác (Telegram hoặc Zalo)")
    telegram.press("Xác nhận")
    code = telegram.text.split("/start ")[-1].strip()
    zalo = Chat("zalo-abc", channel="zalo", name="Hoa Zalo")
    zalo.say(f"/start {code}")
    assert "Ứng dụng này đã được kết nối với tài khoản của bạn." in zalo.text
    identities = rows(m.Identity, person_id=person.id)
    assert sorted(i.channel for i in identities) == ["test", "zalo"]


def test_receipts_are_unique_under_concurrent_saves(people):
    from bot.core.reports import record_report
    from bot.core.store import active_campaign

    person_ids = [people.add().id for _ in range(8)]
    errors: list[BaseException] = []

    def save(pid: int) -> None:
        try:
            for _ in range(5):
                with session_scope() as session:
                    row, _c = active_campaign(session=session)
                    person = session.get(m.Person, pid)
                    record_report(
                        session=session,
                        campaign=row,
                        person=person,
                        phase=1,
                        area="chuyen-mon",
                        title="t",
                        detail="d",
                        now=clock.now(),
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(pid,)) for pid in person_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    receipts = sorted(r.receipt for r in rows(m.Report))
    assert receipts == [f"BC-2022-{n:04d}" for n in range(1, 41)]


def test_open_thematic_campaigns_are_content_areas(database):
    from pathlib import Path

    from bot.core.campaign_loader import load_campaign
    from bot.core.db import migrate
    from bot.core.store import load_into_store
    from tests.conftest import People

    migrate(database)
    with session_scope() as session:
        load_into_store(
            session=session,
            source="test",
            campaign=load_campaign(Path(__file__).parent / "data" / "so-giao-duc-2023.toml"),
        )
    at("2023-03-15T09:00:00+07:00")
    person = People().add(unit="GDTH")
    chat = Chat(person.user_id, name=person.name)
    chat.say("/report")
    assert chat.labels == ["Đổi mới phương pháp dạy học", "Đợt thi đua chuyên đề STEM"]
    chat.say("2")
    chat.say("STEM")
    chat.say("Hai câu lạc bộ")
    chat.say("1")
    chat.press("Xác nhận")
    assert "BC-2023-0001" in chat.text
    assert rows(m.Report)[0].area == "chuyen-de-stem"
    at("2023-04-20T09:00:00+07:00")
    chat.say("/report")
    assert chat.labels == ["Đổi mới phương pháp dạy học"]


def test_a_failed_turn_leaves_the_cached_campaign_usable(people, chat_as, monkeypatch):
    """The first turn loads the campaign into the process's cache and then fails: its rollback
    must not spoil the cached copy for every later turn (it did, until a restart)."""
    chat = chat_as(people.add())
    real_help = basics.help_text

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(basics, "help_text", broken)
    assert chat.say("/help")[0].text.startswith("Xin lỗi")
    monkeypatch.setattr(basics, "help_text", real_help)
    assert "Số biên nhận: BC-2022-0001" in file_report(chat)
    monkeypatch.setattr(store, "CAMPAIGN_TTL", 0.0)  # the cache's refresh is due
    assert "/baocao (/report)" in chat.say("/help")[0].text

"""A staff proposal is told to the unit's heads (through the outbox, on their channel and in
their language); a head's own nomination, or a head out of reach, queues nothing."""

from __future__ import annotations

from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope


def outbox() -> list[m.Outbox]:
    with session_scope() as session:
        return list(session.exec(select(m.Outbox).order_by(m.Outbox.id)))


def propose(chat) -> None:
    chat.say("/nominate")
    chat.press("Tập thể")
    chat.press("Phòng Quản lý Công nghiệp")
    chat.press("Tập thể lao động tiên tiến")
    chat.say("Hoàn thành 100% chỉ tiêu.")
    chat.press("Xác nhận")


def test_heads_are_told_of_a_staff_proposal(people, chat_as):
    staff = chat_as(people.add(name="Trần Văn Bình"))
    hoa = people.add(role="head", name="Lê Thị Hoa", channel="telegram", user_id="tg-hoa")
    people.add(role="head", name="Ngô Văn Xa", channel="test")  # no channel the worker sends on
    people.add(role="head", unit="KHTC", name="Đặng Khác", channel="telegram", user_id="tg-k")
    propose(staff)
    (row,) = outbox()
    assert row.key == f"proposal:DN-2022-0001:{hoa.id}"
    assert row.channel == "telegram" and row.chat_id == "tg-hoa"
    assert row.text == (
        "Trần Văn Bình đề nghị khen thưởng Phòng Quản lý Công nghiệp: “Tập thể lao động tiên "
        "tiến” (DN-2022-0001). Sau khi đơn vị bình xét, anh/chị xác nhận đề nghị tại /cuatoi."
    )


def test_a_heads_own_nomination_tells_nobody(people, chat_as):
    people.add(role="head", name="Lê Thị Hoa", channel="telegram", user_id="tg-hoa")
    head = chat_as(people.add(role="head", name="Phó Trưởng Phòng"))
    propose(head)
    assert outbox() == []


def test_a_head_returns_a_proposal_with_a_reason(people, chat_as):
    binh = people.add(name="Trần Văn Bình", channel="zalo", user_id="zl-binh")
    staff = chat_as(binh, channel="zalo")
    head = chat_as(people.add(role="head", name="Lê Thị Hoa"))
    propose(staff)
    head.say("/cuatoi")
    head.press(next(x for x in head.labels if x.startswith("DN-2022-0001")))
    assert "Trả lại kèm lý do" in head.labels
    head.press("Trả lại kèm lý do")
    assert head.text.startswith("Lý do trả lại?")
    head.say("Cần bổ sung số liệu cả năm.")
    assert head.text == (
        "Trả lại DN-2022-0001 cho Trần Văn Bình với lý do sau?\nCần bổ sung số liệu cả năm."
    )
    head.press("Xác nhận")
    assert head.text == "Đã trả lại DN-2022-0001.\nLý do đang được gửi tới Trần Văn Bình qua Zalo."
    with session_scope() as session:
        (n,) = session.exec(select(m.Nomination))
        assert (n.status, n.review_note) == ("returned", "Cần bổ sung số liệu cả năm.")
    (row,) = outbox()
    assert row.key == "head-return:DN-2022-0001:1" and row.chat_id == "zl-binh"
    assert row.text.startswith(
        "Lê Thị Hoa, trưởng đơn vị của bạn, đã trả lại đề nghị DN-2022-0001 (Phòng Quản lý Công "
        "nghiệp).\nLý do: Cần bổ sung số liệu cả năm."
    )

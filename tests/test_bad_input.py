"""Bad input gets a short polite message, the flow stays where it was, nothing partial is saved."""

from __future__ import annotations

import unicodedata

import pytest
from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from handlers import registry
from handlers.types import Attachment
from tests.conftest import Chat, at


def stored(model) -> list:
    with session_scope() as session:
        return session.exec(select(model)).all()


def state() -> tuple[str, str] | None:
    rows = stored(m.Conversation)
    return (rows[0].flow, rows[0].step) if rows else None


@pytest.fixture
def at_title(people, chat_as) -> Chat:
    """A staff member at the title question of /report."""
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("1")
    assert state() == ("report", "title")
    return chat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   ", "Câu trả lời đang trống. Vui lòng nhập lại."),
        ("x" * 10_000, "Nội dung dài 10000 ký tự; tối đa 120 ký tự. Vui lòng rút gọn."),
    ],
)
def test_text_that_cannot_be_taken(at_title, text, expected):
    replies = at_title.send(text=text)
    assert replies[0].text.startswith(expected)
    assert "Tiêu đề ngắn (tối đa 120 ký tự):" in replies[0].text  # asked again
    assert state() == ("report", "title")


def test_empty_text(at_title):
    at_title.send(text="")
    assert "Câu trả lời đang trống" in at_title.text
    assert state() == ("report", "title")


@pytest.mark.parametrize(
    "title",
    [
        "Hoàn thành 🎉🚀 xuất sắc",
        "<b>Đậm</b> & <script>alert(1)</script> *markdown* _x_ [a](b)",
    ],
)
def test_emoji_html_and_markdown_are_kept_as_typed(at_title, title):
    at_title.say(title)
    at_title.say("Chi tiết")
    at_title.say("1")
    assert f"Tiêu đề: {title}" in at_title.text
    at_title.press("Xác nhận")
    assert stored(m.Report)[0].title == title


def test_combining_marks_are_normalised_to_nfc(at_title):
    decomposed = unicodedata.normalize("NFD", "Cải cách hành chính")
    assert decomposed != "Cải cách hành chính"
    at_title.say(decomposed)
    at_title.say("Chi tiết")
    at_title.say("1")
    at_title.press("Xác nhận")
    assert stored(m.Report)[0].title == "Cải cách hành chính"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("7", "Vui lòng trả lời bằng một số từ 1 đến 3."),
        ("4", "Vui lòng trả lời bằng một số từ 1 đến 3."),
        ("chuyên môn", "Vui lòng chọn một phương án (trả lời bằng số thứ tự)."),
    ],
)
def test_wrong_choices(people, chat_as, answer, expected):
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say(answer)
    assert chat.text.startswith(expected)
    assert len(chat.labels) == 3 and state() == ("report", "area")


def test_a_choice_typed_as_its_text(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("  các phong trào THI ĐUA khác ")
    assert state() == ("report", "title")


def test_a_photo_where_text_is_asked(at_title):
    at_title.send(attachment=Attachment("photo", "f1"))
    assert at_title.text.startswith("Vui lòng nhập câu trả lời bằng chữ.")
    assert state() == ("report", "title")


def test_a_sticker_is_told_what_can_be_read_and_the_question_stands(people, chat_as, at_title):
    at_title.send()  # no text, no file: a sticker, a voice note
    assert at_title.text.startswith("Chỉ đọc được tin nhắn chữ")
    assert "Tiêu đề ngắn" in at_title.text  # the question is asked again
    assert state() == ("report", "title")
    idle = chat_as(people.add())
    idle.send()
    assert idle.text.startswith("Chỉ đọc được tin nhắn chữ")


def test_text_where_evidence_is_asked(at_title):
    at_title.say("Tiêu đề")
    at_title.say("Chi tiết")
    at_title.say("đây là minh chứng")
    assert at_title.text.startswith("Vui lòng gửi ảnh hoặc tài liệu, hoặc chọn Bỏ qua.")
    assert state() == ("report", "evidence")


def test_a_button_from_an_old_message(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/report")
    old = chat.last
    chat.say("1")
    chat.last = old
    chat.press("Các phong trào thi đua khác")
    assert chat.text.startswith("Câu hỏi đó đã qua.")
    assert "Tiêu đề ngắn" in chat.text
    assert state() == ("report", "title")
    chat.say("/cancel")
    chat.last = old
    chat.press("Các phong trào thi đua khác")
    assert chat.text.startswith("Câu hỏi đó đã qua.")


def test_commands_in_the_middle_of_a_flow(at_title):
    at_title.say("/help")
    assert "Các lệnh" in at_title.text and "Tiêu đề ngắn" in at_title.text
    assert state() == ("report", "title")
    at_title.say("/khongco")
    assert "Không có lệnh /khongco" in at_title.text and state() == ("report", "title")
    at_title.say("/denghi")
    assert (
        "Bạn chưa làm xong: báo cáo thành tích (/baocao). Bỏ dở để chạy /denghi?" in at_title.text
    )
    at_title.press("Không, làm tiếp")
    assert "Tiêu đề ngắn" in at_title.text and state() == ("report", "title")
    at_title.say("/nominate")
    at_title.press("Có, bỏ dở")
    assert "Đề nghị khen thưởng cho ai?" in at_title.text
    assert state() == ("nominate", "audience")
    at_title.say("/huy")
    assert at_title.text == "Đã hủy: đề nghị khen thưởng (/denghi). Chưa có gì được lưu."
    assert state() is None
    at_title.say("/huy")
    assert at_title.text == "Không có thao tác nào để hủy."


def test_a_flow_idle_for_a_day_expires(at_title):
    at("2022-05-11T09:01:00+07:00")
    at_title.say("Tiêu đề muộn")
    assert "Đã quá một ngày không trả lời nên đã bỏ: báo cáo thành tích (/baocao)" in at_title.text
    assert "Tôi chưa hiểu" in at_title.text
    assert state() is None and stored(m.Report) == []


def test_an_unregistered_person_gets_how_to_register(ready):
    chat = Chat("stranger")
    for text in ["/report", "xin chào", "/start", "/tonghop", "1"]:
        chat.say(text)
        assert "/start MÃ" in chat.text, text
    chat.send(choice="flow:report:area:abcd:chuyen-mon")
    assert "/start MÃ" in chat.text
    assert stored(m.Identity) == [] and stored(m.Conversation) == []


def test_wrong_codes_then_lockout_message(ready):
    chat = Chat("stranger")
    for _ in range(4):
        chat.say("/start SAIMA12345")
        assert "Mã mời không đúng" in chat.text
    chat.say("/start SAIMA12345")
    assert "thử lại sau một giờ" in chat.text


def test_a_withdrawn_item_cannot_be_edited(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("1")
    chat.say("T")
    chat.say("D")
    chat.say("1")
    chat.press("Xác nhận")
    chat.say("/my")
    chat.press(chat.labels[0])
    before = chat.last
    chat.press("Rút lại")
    chat.press("Xác nhận")
    chat.last = before
    chat.press("Sửa")  # the old keyboard of the item
    assert chat.text.startswith("Câu hỏi đó đã qua.")
    assert stored(m.Report)[0].status == "withdrawn"


def test_edits_after_the_phase_closed_are_refused(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("1")
    chat.say("T")
    chat.say("D")
    chat.say("1")
    chat.press("Xác nhận")
    at("2022-07-16T09:00:00+07:00")
    chat.say("/my")
    chat.press(chat.labels[0])
    assert "không sửa được nữa" in chat.text
    assert chat.labels == ["Đóng"]


ROLES = ["staff", "head", "clerk", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_every_command_for_every_role(people, chat_as, role):
    chat = chat_as(people.add(role=role, unit="VP" if role in ("clerk", "admin") else "QLCN"))
    for command in registry.COMMANDS:
        for name in filter(None, (command.name, command.alias)):
            chat.say("/cancel")
            chat.say(f"/{name}")
            refused = "không dành cho vai trò của bạn" in chat.text
            assert refused == (role not in command.roles), (role, name, chat.text)
            assert "Xin lỗi, đã có lỗi" not in chat.text, (role, name, chat.text)

"""Vietnamese first: command words without a slash, every cancel spelling at every step of
every flow, a Hủy option on every question, commands named as the person typed them, and a
menu with nothing typed into it left silently."""

from __future__ import annotations

import unicodedata

import pytest
from sqlmodel import select

from bot.channels.text import render_reply
from bot.core import models as m
from bot.core.db import session_scope
from tests.clerk_seed import seed
from tests.conftest import Chat
from tests.pushes_helpers import channel_env


def stored(model) -> list:
    with session_scope() as session:
        return session.exec(select(model)).all()


def state() -> tuple[str, str] | None:
    rows = stored(m.Conversation)
    return (rows[0].flow, rows[0].step) if rows else None


def nfd(text: str) -> str:
    out = unicodedata.normalize("NFD", text)
    assert out != text
    return out


#: Every way of saying "cancel" that must cancel whatever question is pending.
CANCEL_SPELLINGS = [
    "/huy",
    "/HUY",
    "/huỷ",
    "/hủy",
    "/cancel",
    "hủy",
    "huỷ",
    "HỦY",
    "Huỷ",
    nfd("hủy"),
    nfd("huỷ"),
    nfd("/huỷ"),
    "hủy bỏ",
    "cancel",
    "0",
    "<button>",  # the Hủy option pressed
]


def cancel(chat: Chat, spelling: str) -> None:
    if spelling == "<button>":
        chat.press("Hủy")
    else:
        chat.say(spelling)


# --- the walk through every flow ---------------------------------------------------------------

#: (role, command) for every flow: the office's flows run as the clerk.
FLOWS = [
    ("staff", "/baocao"),
    ("staff", "/denghi"),
    ("staff", "/cuatoi"),
    ("staff", "/lang"),
    ("staff", "/vang"),
    ("clerk", "/xuat"),
    ("clerk", "/duyet"),
    ("clerk", "/dondoc"),
    ("clerk", "/broadcast"),
    ("clerk", "/nhansu"),
]


#: At least this many questions each flow asks on the walk (the confirmation included).
DEPTH = {
    "/baocao": 5,
    "/denghi": 5,
    "/cuatoi": 2,
    "/lang": 1,
    "/vang": 1,
    "/xuat": 1,
    "/duyet": 2,
    "/dondoc": 1,
    "/broadcast": 2,
    "/nhansu": 2,
}


def _next_answer(chat: Chat) -> str | None:
    """A plausible answer to the question on screen; None at a confirmation (not confirmed:
    nothing may be saved) or when the flow is over."""
    if state() is None:
        return None
    labels = chat.labels
    if "Xác nhận" in labels:
        return None
    if "Bỏ qua" in labels:
        return "Bỏ qua"
    if labels:
        return labels[0]
    return "Nội dung thử"


def _replay(chat: Chat, command: str, path: list[str]) -> None:
    chat.say(command)
    for answer in path:
        if answer in chat.labels:
            chat.press(answer)
        else:
            chat.say(answer)


def _walk(chat: Chat, command: str) -> list[list[str]]:
    """The answers leading to each question of the flow, first question first."""
    paths: list[list[str]] = []
    path: list[str] = []
    _replay(chat, command, [])
    while state() is not None and len(paths) < 8:
        paths.append(list(path))
        answer = _next_answer(chat)
        if answer is None:
            break
        path.append(answer)
        _replay(chat, command, path)
    chat.say("/huy")
    return paths


@pytest.fixture
def office(people, monkeypatch):
    channel_env(monkeypatch)  # /dondoc and /broadcast need a channel to send on
    return seed(people)


@pytest.mark.parametrize(("role", "command"), FLOWS)
def test_every_cancel_spelling_cancels_at_every_step(office, chat_as, role, command):
    person = office.clerk if role == "clerk" else office.staff2
    chat = chat_as(person)
    before = (len(stored(m.Report)), len(stored(m.Nomination)), len(stored(m.Outbox)))
    paths = _walk(chat, command)
    assert len(paths) >= DEPTH[command], f"{command} asked only {paths}"
    for path in paths:
        for spelling in CANCEL_SPELLINGS:
            _replay(chat, command, path)
            step = state()
            assert step is not None
            if step[1] != "_confirm":
                assert chat.cancel_offered, f"no Hủy at {step}"
                assert "\n0. Hủy" in render_reply(chat.last[-1])
            cancel(chat, spelling)
            assert state() is None, f"{spelling!r} did not cancel {command} at {step}"
            assert "Hủy" in chat.text or "hủy" in chat.text, (spelling, step, chat.text)
    after = (len(stored(m.Report)), len(stored(m.Nomination)), len(stored(m.Outbox)))
    assert after == before  # nothing saved, nothing sent


def test_cancel_words_are_not_taken_as_answers(people, chat_as):
    """The slip in the issue: "huỷ" became a report's title, "/huỷ" its achievement text."""
    chat = chat_as(people.add())
    chat.say("/baocao")
    chat.say("1")
    chat.say("huỷ")
    assert chat.text == "Đã hủy: báo cáo thành tích (/baocao). Chưa có gì được lưu."
    chat.say("/baocao")
    chat.say("1")
    chat.say("Tiêu đề")
    chat.say("/huỷ")
    assert chat.text.startswith("Đã hủy")
    assert stored(m.Report) == [] and state() is None


def test_huy_without_diacritics_is_an_answer_while_a_question_is_pending(people, chat_as):
    """Huy is a name: typed as an answer, it is the answer; with no question, it is /huy."""
    chat = chat_as(people.add())
    chat.say("/baocao")
    chat.say("1")
    chat.say("Huy")
    assert state() == ("report", "detail")
    chat.say("/huy")
    chat.say("huy")
    assert chat.text == "Không có thao tác nào để hủy."


def test_cancel_at_the_leave_it_question(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/baocao")
    chat.say("1")
    chat.say("/denghi")
    assert chat.text.startswith("Bạn chưa làm xong")
    assert chat.cancel_offered
    chat.say("huỷ")
    assert state() is None and chat.text.startswith("Đã hủy: báo cáo thành tích")


# --- command words without a slash -----------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        "báo cáo",
        "Báo cáo",
        "BÁO CÁO",
        "bao cao",
        "baocao",
        nfd("báo cáo"),
        "  báo   cáo ",
        "báo cáo thành tích",
        "report",
    ],
)
def test_report_words_without_a_slash(people, chat_as, words):
    chat = chat_as(people.add())
    chat.say(words)
    assert chat.text == "Nội dung thi đua nào?"
    assert state() == ("report", "area")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("hướng dẫn", "Các lệnh:"),
        ("huong dan", "Các lệnh:"),
        ("đề nghị", "Đề nghị khen thưởng cho ai?"),
        ("de nghi", "Đề nghị khen thưởng cho ai?"),
        ("hủy", "Không có thao tác nào để hủy."),
        ("huỷ", "Không có thao tác nào để hủy."),
        ("huy", "Không có thao tác nào để hủy."),
        ("ngôn ngữ", "Chọn ngôn ngữ:"),
    ],
)
def test_other_words_without_a_slash(people, chat_as, words, expected):
    chat = chat_as(people.add())
    chat.say(words)
    assert chat.text.startswith(expected)


def test_summary_words_name_the_command_when_refused(people, chat_as):
    chat = chat_as(people.add())
    chat.say("tổng hợp")
    assert chat.text.startswith("Xin lỗi, lệnh /tonghop không dành cho vai trò của bạn")
    chat.say("/tonghop")
    assert chat.text.startswith("Xin lỗi, lệnh /tonghop không dành")
    chat.say("/summary")
    assert chat.text.startswith("Xin lỗi, lệnh /summary không dành")


def test_tong_hop_words_for_a_head(people, chat_as):
    chat = chat_as(people.add(role="head"))
    chat.say("Tổng hợp")
    assert "Xin lỗi" not in chat.text and "Tôi chưa hiểu" not in chat.text


def test_words_while_a_question_is_pending_are_the_answer(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/baocao")
    chat.say("1")
    chat.say("báo cáo")  # a title that happens to be a command's words
    assert state() == ("report", "detail")


def test_unknown_slash_command_named_as_typed(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/xyzw")
    assert chat.text.startswith("Không có lệnh /xyzw.")
    chat.say("/bàocáo")
    assert chat.text == "Nội dung thi đua nào?"


def test_dondoc_and_doncoc_both_work(people, chat_as):
    chat = chat_as(people.add(role="clerk"))
    for name in ("/dondoc", "/doncoc", "/remind", "đôn đốc"):
        chat.say("/huy")
        chat.say(name)
        assert "Không có lệnh" not in chat.text and "Tôi chưa hiểu" not in chat.text, name
    help_text = chat.say("/huongdan")[0].text
    assert "/dondoc (/remind)" in help_text and "doncoc" not in help_text


# --- help in the person's language -----------------------------------------------------------


def test_help_lists_the_persons_language_first(people, chat_as):
    chat = chat_as(people.add())
    text = chat.say("/huongdan")[0].text
    assert "/baocao (/report): báo cáo thành tích" in text
    assert "/huy (/cancel)" in text
    chat.say("/lang en")
    text = chat.say("/help")[0].text
    assert "/report (/baocao): report an achievement" in text
    assert "/cancel (/huy)" in text


# --- menus left open -----------------------------------------------------------------------


@pytest.mark.parametrize("menu", ["/cuatoi", "/lang"])
def test_an_untouched_menu_is_left_silently(people, chat_as, menu):
    chat = chat_as(people.add())
    chat.say(menu)
    assert state() is not None
    chat.say("/baocao")
    assert chat.text == "Nội dung thi đua nào?"
    assert state() == ("report", "area")


def test_a_flow_with_typed_answers_asks_before_it_is_left(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/baocao")
    chat.say("1")
    chat.say("Tiêu đề đã gõ")
    chat.say("/cuatoi")
    assert chat.text.startswith("Bạn chưa làm xong: báo cáo thành tích (/baocao).")
    assert "/cuatoi" in chat.text


def test_a_flow_just_started_is_left_silently(people, chat_as):
    chat = chat_as(people.add())
    chat.say("/baocao")
    chat.say("/denghi")
    assert chat.text == "Đề nghị khen thưởng cho ai?"

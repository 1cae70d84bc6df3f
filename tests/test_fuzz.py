"""Thousands of random inputs at every flow step: no exception escapes, every row stays valid."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from bot.core.nominations import BASIS_MAX
from bot.core.reports import DETAIL_MAX, TITLE_MAX
from handlers.router import handle
from handlers.types import Attachment, Incoming

COMMANDS = [
    "/report",
    "/baocao",
    "/nominate",
    "/my",
    "/help",
    "/cancel",
    "/lang",
    "/start",
    "/start XYZ",
    "/huy",
    "/denghi",
    "/cuatoi",
    "/summary",
    "/xyz",
]

messages = st.one_of(
    st.sampled_from(COMMANDS),
    st.sampled_from(["1", "2", "3", "9", "0", "-1", "bỏ qua", "Xác nhận", "Hủy", ""]),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=3000),
    st.builds(lambda s: {"choice": s}, st.text(max_size=70)),
    st.builds(lambda s: {"choice": f"flow:report:area:{s}:chuyen-mon"}, st.text(max_size=6)),
    st.just({"attachment": Attachment("photo", "f", "a.jpg")}),
)

ERROR = "Xin lỗi, đã có lỗi"


def _send(user: str, message: object) -> list:
    fields = message if isinstance(message, dict) else None
    if fields is None:
        incoming = Incoming.parse(
            channel="fuzz", chat_id=user, user_id=user, display_name="Fuzz", text=str(message)
        )
    else:
        incoming = Incoming(
            channel="fuzz", chat_id=user, user_id=user, display_name="Fuzz", **fields
        )
    return handle(incoming)


def test_random_conversations(people):
    users = [
        people.add(role=role, channel="fuzz").user_id
        for role in ("staff", "head", "clerk", "admin")
    ]

    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.sampled_from(users), st.lists(messages, min_size=1, max_size=12))
    def run(user, script):
        for message in script:
            replies = _send(user, message)
            assert replies, message
            assert all(reply.text for reply in replies)
            assert not any(ERROR in reply.text for reply in replies), (message, replies)

    run()
    with session_scope() as session:
        for report in session.exec(select(m.Report)):
            assert 0 < len(report.title) <= TITLE_MAX and 0 < len(report.detail) <= DETAIL_MAX
            assert report.receipt.startswith("BC-2022-") and report.phase in (1, 2)
        for nomination in session.exec(select(m.Nomination)):
            assert 0 < len(nomination.basis) <= BASIS_MAX and nomination.nominee_name
            assert nomination.receipt.startswith("DN-2022-")

"""`journal.receive`: an update journalled and, when its chat has nothing waiting, handled in
the same commit (Telegram, which gives an unconfirmed update again). A failure leaves nothing
behind; an update behind another of its chat waits its turn; a redelivery does nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.core import models as m
from bot.core.db import session_scope
from handlers import journal
from handlers.types import Incoming, Reply

CHAT = "5001"


def incoming(text: str, chat: str = CHAT) -> Incoming:
    return Incoming(channel="telegram", chat_id=chat, user_id=chat, display_name="Lan", text=text)


def echo(session: Session, message: Incoming) -> list[Reply]:
    return [Reply(f"đã nhận: {message.text}")]


def rows() -> list[tuple[str, str]]:
    with session_scope() as session:
        found = session.exec(select(m.Inbound).order_by(m.Inbound.id)).all()
        return [(r.update_id, r.status) for r in found]


def replies() -> list[tuple[str, str]]:
    with session_scope() as session:
        found = session.exec(select(m.Outbox).order_by(m.Outbox.id)).all()
        return [(r.text, r.status) for r in found]


def test_an_update_of_an_idle_chat_is_journalled_and_answered_in_one_commit(ready):
    got = journal.receive("telegram", "1", incoming("xin chào"), echo, claim=True)
    assert got.new and got.turn is not None and not got.turn.more
    assert rows() == [("1", "handled")]
    assert replies() == [("đã nhận: xin chào", "sending")]  # claimed: the lane sends it now
    assert [r.text for r in got.turn.claimed] == ["đã nhận: xin chào"]


def test_a_redelivered_update_does_nothing(ready):
    journal.receive("telegram", "1", incoming("xin chào"), echo)
    called: list[Incoming] = []

    def counting(session: Session, message: Incoming) -> list[Reply]:
        called.append(message)
        return []

    got = journal.receive("telegram", "1", incoming("xin chào"), counting)
    assert not got.new and got.turn is None and called == []
    assert rows() == [("1", "handled")] and len(replies()) == 1


def test_an_update_behind_a_waiting_one_of_its_chat_waits_its_turn(ready):
    assert journal.record("telegram", "1", incoming("thứ nhất"))
    got = journal.receive("telegram", "2", incoming("thứ hai"), echo)
    assert got.new and got.turn is None
    assert rows() == [("1", "pending"), ("2", "pending")] and replies() == []
    # The inbox then takes them in order.
    assert journal.take_turn("telegram", CHAT, echo) is not None
    assert journal.take_turn("telegram", CHAT, echo) is not None
    assert [text for text, _status in replies()] == ["đã nhận: thứ nhất", "đã nhận: thứ hai"]


def test_another_chat_waiting_does_not_hold_this_one(ready):
    assert journal.record("telegram", "1", incoming("thứ nhất", chat="6002"))
    got = journal.receive("telegram", "2", incoming("xin chào"), echo)
    assert got.turn is not None
    assert rows() == [("1", "pending"), ("2", "handled")]


def test_a_store_failure_mid_turn_leaves_nothing_journalled(ready):
    """Nothing is committed: the channel does not confirm the update, Telegram gives it
    again, and it is answered then."""

    def store_gone(session: Session, message: Incoming) -> list[Reply]:
        session.connection().execute(sa.text("SELECT 1"))
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))

    with pytest.raises(sa.exc.OperationalError):
        journal.receive("telegram", "1", incoming("xin chào"), store_gone)
    assert rows() == [] and replies() == []
    got = journal.receive("telegram", "1", incoming("xin chào"), echo)
    assert got.new and rows() == [("1", "handled")]
    assert replies() == [("đã nhận: xin chào", "pending")]


def test_a_handler_bug_is_answered_with_the_apology(ready):
    def broken(session: Session, message: Incoming) -> list[Reply]:
        raise RuntimeError("a bug")

    got = journal.receive("telegram", "1", incoming("xin chào"), broken)
    assert got.turn is not None and got.turn.replies == 1
    assert rows() == [("1", "handled")]
    ((text, _status),) = replies()
    assert text.startswith("Xin lỗi")

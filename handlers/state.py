"""A chat's place in a flow: its row of the `conversation` table, keyed by (channel, chat).

Read and written with Core statements on the table, not as an ORM object flushed by the unit
of work: every turn reads the state and most write it, and the ORM's get + flush made a
/report turn cost 2.5 ms of CPU against 1.7 ms with these statements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from bot.core import models as m

Answers = dict[str, object]
IDLE_EXPIRY = dt.timedelta(days=1)

CONVERSATION = m.Conversation.__table__
_KEY = sa.and_(
    CONVERSATION.c.channel == sa.bindparam("key_channel"),
    CONVERSATION.c.chat_id == sa.bindparam("key_chat_id"),
)
_LOAD = sa.select(CONVERSATION).where(_KEY)
_INSERT = CONVERSATION.insert()
_UPDATE = CONVERSATION.update().where(_KEY)  # SET: the columns named in the parameters
_DELETE = CONVERSATION.delete().where(_KEY)


@dataclass
class State:
    """A chat's row of the `conversation` table, as this turn sees it."""

    channel: str
    chat_id: str
    flow: str
    step: str
    token: str
    answers: Answers
    updated_at: dt.datetime
    stored: bool = False  # the row is in the table
    moved: bool = False  # changed by this turn, not stored yet


class Conflict(Exception):
    """Another turn of the same chat ended the flow while this one was answering it."""


def load(session: Session, channel: str, chat_id: str) -> State | None:
    row = session.connection().execute(_LOAD, _key(channel, chat_id)).first()
    return None if row is None else State(**row._asdict(), stored=True)


def delete(session: Session, state: State) -> None:
    if state.stored:
        session.connection().execute(_DELETE, _key(state.channel, state.chat_id))
    state.stored = state.moved = False


def store(session: Session, state: State) -> None:
    """Write the state if this turn moved it."""
    if not state.moved:
        return
    values = {
        "flow": state.flow,
        "step": state.step,
        "token": state.token,
        "answers": state.answers,
        "updated_at": state.updated_at,
    }
    conn = session.connection()
    if not state.stored:
        conn.execute(_INSERT, {"channel": state.channel, "chat_id": state.chat_id, **values})
    elif conn.execute(_UPDATE, {**_key(state.channel, state.chat_id), **values}).rowcount != 1:
        raise Conflict(f"{state.channel}:{state.chat_id}")
    state.stored, state.moved = True, False


def is_expired(state: State, now: dt.datetime) -> bool:
    return now - state.updated_at > IDLE_EXPIRY


def _key(channel: str, chat_id: str) -> dict[str, str]:
    return {"key_channel": channel, "key_chat_id": chat_id}

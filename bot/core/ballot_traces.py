"""What a secret ballot leaves in a voter's chat rows, and clearing it.

A ballot is answered in chat, so until it is cast the voter's choices sit in three places
that name the chat: the inbound journal (each answer, as it came in), the outbox (the bot's
questions, and the summary with every choice), and the conversation state (the answers so
far). `forget_chat` empties them (bot/core/council.py calls it at the close, the ballot flow
at the cast); the journal's rows stay, so a redelivered update is still known.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session

from bot.core import models as m
from bot.core.i18n import _

_INBOUND = m.Inbound.__table__
_OUTBOX = m.Outbox.__table__
_CONVERSATION = m.Conversation.__table__
BALLOT_FLOW = "ballot"
#: What a ballot in progress keeps once its session closed (handlers/ballot.py):
#: which session, since when, how many candidates; and that it closed.
BALLOT_KEPT, CLOSED = ("session", "since", "n"), "closed"


def forget_chat(
    *,
    session: Session,
    channel: str,
    chat_id: str,
    since: dt.datetime,
    waiting_too: bool = True,
) -> None:
    """Clear what a chat's rows say since `since`: the answers journalled (kept as rows, so a
    redelivery is still known, but emptied), the bot's replies (questions and the summary,
    emptied; with `waiting_too`, those not sent yet as well). Without `waiting_too` (at the
    close), a ballot left in progress loses its answers and is marked closed."""
    conn = session.connection()
    i = _INBOUND.c
    conn.execute(
        _INBOUND.update()
        .where(
            i.channel == channel,
            i.chat_id == chat_id,
            i.status == "handled",
            i.received_at >= since,
        )
        .values(payload={"channel": channel, "chat_id": chat_id, "user_id": ""})
    )
    o = _OUTBOX.c
    replies = _OUTBOX.update().where(
        o.channel == channel,
        o.chat_id == chat_id,
        o.priority >= m.REPLY_LANE,
        o.created_at >= since,
    )
    if not waiting_too:
        replies = replies.where(o.status.in_(("sent", "failed")))
    conn.execute(replies.values(text=_("(cleared after the vote)"), payload=None))
    if waiting_too:
        return
    c = _CONVERSATION.c  # a ballot left in progress: its answers go, a late answer is refused
    found = conn.execute(
        sa.select(c.answers).where(
            c.channel == channel, c.chat_id == chat_id, c.flow == BALLOT_FLOW
        )
    ).first()
    if found is not None:
        kept = {k: v for k, v in found.answers.items() if k in BALLOT_KEPT}
        conn.execute(
            _CONVERSATION.update()
            .where(c.channel == channel, c.chat_id == chat_id, c.flow == BALLOT_FLOW)
            .values(answers={**kept, CLOSED: True})
        )

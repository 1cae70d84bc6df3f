"""Replies to people in the outbox: written in the turn's transaction, sent by the reply lane.

A reply row has priority `REPLY_LANE` (the pushes' worker leaves it alone), may be for someone
not registered (no identity), and carries in `payload` what plain text cannot (buttons, a file,
a menu change). The lane takes a chat's replies in order: a reply is only claimed when no
earlier reply of its chat is being sent or waits for a retry, so one that failed is never
overtaken by the next. Core statements, one short transaction each, as in bot/delivery/claims.

The usual case, a chat with nothing else waiting, takes no claim of its own: the turn writes
its replies already claimed and hands them to the lane in memory, so a person's answer costs
the journal's commit and the turn's, not a third. A crash before they are sent leaves them
`sending`, naming this process, and `reclaim_replies` makes them due again once its lease runs
out, as for any claimed row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.core import leases
from bot.core import models as m
from bot.core.db import engine

OUTBOX = m.Outbox.__table__
WAITING = ("pending", "deferred")


@dataclass(frozen=True)
class Queued:
    """What a turn queued: how many rows, and those written already claimed (to send now)."""

    count: int
    claimed: list[ReplyRow]


@dataclass(frozen=True)
class ReplyRow:
    id: int
    identity_id: int | None
    chat_id: str
    text: str
    payload: dict[str, Any] | None
    attempts: int
    created_at: dt.datetime


def queue_replies(
    *,
    session: Session,
    key: str,
    channel: str,
    chat_id: str,
    identity_id: int | None,
    person_id: int | None,
    messages: list[tuple[str, dict[str, Any] | None]],
    now: dt.datetime,
    claim: bool = False,
) -> Queued:
    """The turn's replies (text, payload), keys `<key>:<n>`. With `claim`, and no earlier
    reply of the chat unsent, they go in claimed and come back for the lane to send."""
    claim = claim and bool(messages) and not _unsent(session, channel, chat_id)
    rows = [
        {
            "key": f"{key}:{n}"[:200],
            "person_id": person_id,
            "identity_id": identity_id,
            "channel": channel,
            "chat_id": chat_id,
            "text": text,
            "payload": payload,
            "priority": m.REPLY_LANE,
            "status": "sending" if claim else "pending",
            "claimed_at": now if claim else None,
            "claimed_by": leases.holder() if claim else None,  # its lease: the lane renews it
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n, (text, payload) in enumerate(messages)
    ]
    if not rows:
        return Queued(0, [])
    found = session.connection().execute(_insert_rows(session.get_bind().dialect.name), rows)
    written = sorted((ReplyRow(*row) for row in found), key=lambda r: r.id)
    return Queued(len(written), written if claim else [])


_T, _B = OUTBOX.c, sa.bindparam
_UNSENT = (
    sa.select(_T.id)
    .where(_T.channel == _B("channel"), _T.chat_id == _B("chat_id"))
    .where(_T.priority >= m.REPLY_LANE, _T.status.in_((*WAITING, "sending")))
    .limit(1)
)


@cache
def _insert_rows(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row, built once per dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(OUTBOX)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(
            _T.id, _T.identity_id, _T.chat_id, _T.text, _T.payload, _T.attempts, _T.created_at
        )
    )


def _unsent(session: Session, channel: str, chat_id: str) -> bool:
    """Does a reply of this chat wait or go out now (the new ones must queue behind it)?"""
    params = {"channel": channel, "chat_id": chat_id}
    return session.connection().execute(_UNSENT, params).first() is not None


def claim_replies(channel: str, limit: int, now: dt.datetime) -> list[ReplyRow]:
    """Due replies of `channel`, oldest first, none ahead of an earlier one of its chat."""
    t = OUTBOX.c
    earlier = OUTBOX.alias("earlier")
    e = earlier.c
    blocked = sa.exists().where(
        e.channel == t.channel,
        e.chat_id == t.chat_id,
        e.priority >= m.REPLY_LANE,
        e.id < t.id,
        sa.or_(e.status == "sending", sa.and_(e.status.in_(WAITING), e.next_attempt_at > now)),
    )
    due = (
        sa.select(t.id)
        .where(
            t.channel == channel,
            t.priority >= m.REPLY_LANE,
            t.status.in_(WAITING),
            t.next_attempt_at <= now,
            ~blocked,
        )
        .order_by(t.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    leases.renew_if_due()  # first: a row must never name a holder with no live lease
    stmt = (
        OUTBOX.update()
        .where(t.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_at=now, claimed_by=leases.holder())
        .returning(t.id, t.identity_id, t.chat_id, t.text, t.payload, t.attempts, t.created_at)
    )
    with engine().begin() as conn:
        rows = [ReplyRow(*row) for row in conn.execute(stmt)]
    return sorted(rows, key=lambda r: r.id)


def next_reply_due(channel: str, now: dt.datetime) -> tuple[bool, dt.datetime | None]:
    """Whether replies of `channel` wait at all, and when the next one not yet due falls due
    (those due now but not claimable wait for their chat's reply being sent)."""
    t = OUTBOX.c
    with engine().connect() as conn:
        count, due = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(t.next_attempt_at).filter(t.next_attempt_at > now),
            ).where(t.channel == channel, t.priority >= m.REPLY_LANE, t.status.in_(WAITING))
        ).one()
    return count > 0, due


def _update(ids: list[int], **values: Any) -> None:
    if ids:
        with engine().begin() as conn:
            conn.execute(OUTBOX.update().where(OUTBOX.c.id.in_(ids)).values(**values))


_SENT = (
    OUTBOX.update()
    .where(_T.id.in_(_B("ids", expanding=True)))
    .values(
        status="sent",
        sent_at=_B("at"),
        claimed_at=None,
        claimed_by=None,
        attempts=_T.attempts + 1,
        last_error=None,
    )
)


def replies_sent(ids: list[int], now: dt.datetime) -> None:
    """Sent: one statement for all of `ids` (the lane marks the replies of many chats at once)."""
    if ids:
        with engine().begin() as conn:
            conn.execute(_SENT, {"ids": ids, "at": now})


def replies_later(ids: list[int], at: dt.datetime, error: str | None, *, tried: int = 0) -> None:
    """Back to waiting until `at`: the first `tried` of `ids` (in order) count an attempt."""
    t = OUTBOX.c
    for n, row_id in enumerate(ids):
        values: dict[str, Any] = {
            "status": "pending",
            "claimed_at": None,
            "claimed_by": None,
            "next_attempt_at": at,
        }
        if n < tried:
            values["attempts"] = t.attempts + 1
            values["last_error"] = (error or "")[:500]
        _update([row_id], **values)


def replies_failed(ids: list[int], error: str) -> None:
    """Given up (the clerk sees them in `thidua outbox`)."""
    t = OUTBOX.c
    _update(
        ids,
        status="failed",
        claimed_at=None,
        claimed_by=None,
        attempts=t.attempts + 1,
        last_error=error[:500],
    )


def reclaim_replies(channel: str, claimed_before: dt.datetime, *, every: bool = False) -> int:
    """Replies left `sending` by a process that died (its lease ran out): due again. With
    `every` (SQLite at start, one process per database), all those claimed before
    `claimed_before` (the lane's start: the replies its turns claim since are its own)."""
    t = OUTBOX.c
    where = [t.channel == channel, t.priority >= m.REPLY_LANE, t.status == "sending"]
    if every:
        where.append(sa.or_(t.claimed_at.is_(None), t.claimed_at < claimed_before))
    else:
        where.append(leases.stale(t.claimed_by, t.claimed_at, claimed_before))
    with engine().begin() as conn:
        return conn.execute(
            OUTBOX.update()
            .where(*where)
            .values(status="pending", claimed_at=None, claimed_by=None)
        ).rowcount


#: Channels with a command menu of their own per chat (Telegram's setMyCommands).
MENU_CHANNELS = ("telegram",)


def queue_menu_refresh(*, session: Session, person_id: int, now: dt.datetime) -> int:
    """After a role change, a deactivation, a reactivation or a move made elsewhere (the CLI,
    another person's chat): a reply row with no text and a menu change for each of the
    person's chats that has a menu, so the running bot sets that chat's menu at once. Written
    in the caller's transaction: the change and its refresh commit together."""
    idents = session.exec(
        select(m.Identity.id, m.Identity.channel, m.Identity.chat_id).where(
            m.Identity.person_id == person_id, col(m.Identity.channel).in_(MENU_CHANNELS)
        )
    ).all()
    added = 0
    for ident_id, channel, chat_id in idents:
        added += queue_replies(
            session=session,
            key=f"menu:{person_id}:{ident_id}:{uuid.uuid4().hex}",
            channel=channel,
            chat_id=chat_id,
            identity_id=ident_id,
            person_id=person_id,
            messages=[("", {"commands_changed": True})],
            now=now,
        ).count
    return added

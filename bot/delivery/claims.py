"""The outbox rows' side of delivery: claim, mark sent, retry, fail, defer, reclaim.

A claimed row names this process (`claimed_by`, its lease in bot/core/leases.py): when the
process dies its lease runs out and `reclaim_stuck` makes its rows due again.

Sync, one short transaction each, run in the worker's own thread. Core statements on the table,
not ORM ones: at 300 messages a second the ORM's bulk-update bookkeeping was a fifth of the
process's CPU, and every millisecond this thread holds the GIL is one the event loop (and the
replies it carries) waits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.core import leases
from bot.core import models as m
from bot.core.db import engine, session_scope

WAITING = ("pending", "deferred")
#: The claim names the statuses as literals, not parameters: only then may SQLite read the
#: partial index `ix_outbox_claim` (its WHERE must be seen in the query's), which holds the
#: waiting rows in the claim's order; otherwise it sorts every waiting row (7 ms at 10,000,
#: with the write lock held) at each claim.
_WAITING_LITERALS: list[sa.ColumnElement[str]] = [
    sa.literal_column(f"'{status}'") for status in WAITING
]
OUTBOX = m.Outbox.__table__


@dataclass(frozen=True)
class Claimed:
    id: int
    identity_id: int | None
    chat_id: str
    text: str
    attempts: int
    priority: int


def claim(channel: str, limit: int, now: dt.datetime, *, pushes: bool = True) -> list[Claimed]:
    """Take up to `limit` due rows of `channel` for sending (highest priority, oldest first);
    with `pushes=False` only replies to people (rows of no push)."""
    t = OUTBOX.c
    due = (
        sa.select(t.id)
        .where(
            t.channel == channel,
            t.status.in_(_WAITING_LITERALS),  # as literals: ix_outbox_claim's condition
            t.next_attempt_at <= now,
            t.priority < m.REPLY_LANE,  # replies are the reply lane's
        )
        .where(sa.true() if pushes else t.push_key.is_(None))
        .order_by(t.priority.desc(), t.next_attempt_at, t.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
    )
    leases.renew_if_due()  # first: a row must never name a holder with no live lease
    holder = leases.holder()
    take = (
        OUTBOX.update()
        .where(t.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_at=now, claimed_by=holder)
    )
    # The rows are read after the commit, not returned by the UPDATE: Python's sqlite3 lets
    # go of the GIL for each row it steps through, and with the event loop sending beside it
    # each row cost a wait for the GIL with SQLite's only write lock held (a person's turn
    # waited behind a claim of 74 rows for 9 ms). This claim's rows are the ones naming this
    # process and this `now`: one feeder claims a channel's rows at a time.
    with engine().begin() as conn:
        conn.execute(take)
    taken = (
        sa.select(t.id, t.identity_id, t.chat_id, t.text, t.attempts, t.priority)
        .where(t.channel == channel, t.status == "sending", t.priority < m.REPLY_LANE)
        .where(t.claimed_by == holder, t.claimed_at == now)
        .order_by(t.priority.desc(), t.id)
    )
    with engine().connect() as conn:
        return [Claimed(*row) for row in conn.execute(taken)]


def _update(where: Any, **values: Any) -> int:
    with engine().begin() as conn:
        return conn.execute(OUTBOX.update().where(where).values(**values)).rowcount


def mark_sent(ids: list[int], now: dt.datetime) -> None:
    t = OUTBOX.c
    _update(
        t.id.in_(ids),
        status="sent",
        sent_at=now,
        claimed_at=None,
        claimed_by=None,
        attempts=t.attempts + 1,
        last_error=None,
    )


def release(ids: list[int], status: str = "pending", at: dt.datetime | None = None) -> None:
    """Put claimed rows back, unsent (a stop, a pause)."""
    values: dict[str, Any] = {"status": status, "claimed_at": None, "claimed_by": None}
    if at is not None:
        values["next_attempt_at"] = at
    _update(OUTBOX.c.id.in_(ids), **values)


def retry_later(row_id: int, attempts: int, at: dt.datetime, error: str) -> None:
    _update(
        OUTBOX.c.id == row_id,
        status="pending",
        attempts=attempts,
        next_attempt_at=at,
        claimed_at=None,
        claimed_by=None,
        last_error=error[:500],
    )


def fail(row: Claimed, attempts: int, error: str, *, unreachable: bool = False) -> int:
    """Give the row up; if the chat is gone, mark the identity and fail its waiting rows too.

    Returns how many rows failed."""
    t, error = OUTBOX.c, error[:500]
    with engine().begin() as conn:
        failed = OUTBOX.update().values(
            status="failed", claimed_at=None, claimed_by=None, last_error=error
        )
        conn.execute(failed.where(t.id == row.id).values(attempts=attempts))
        if not unreachable or row.identity_id is None:
            return 1
        identity = m.Identity.__table__
        conn.execute(
            identity.update()
            .where(identity.c.id == row.identity_id)
            .values(reachable=False, unreachable_reason=error[:200])
        )
        others = conn.execute(
            failed.where(t.identity_id == row.identity_id, t.status.in_(WAITING))
        ).rowcount
        return 1 + others


def defer_channel(channel: str, until: dt.datetime, reason: str) -> int:
    """The channel cannot send until `until`: every waiting row waits for it, and so do we."""
    with session_scope() as session:
        state = session.get(m.ChannelState, channel)
        if state is None:
            try:
                with session.begin_nested():
                    session.add(m.ChannelState(channel=channel, paused_until=until, reason=reason))
            except sa.exc.IntegrityError:  # the runner created it at the same moment
                state = session.get(m.ChannelState, channel)
        if state is not None and (state.paused_until is None or state.paused_until < until):
            state.paused_until, state.reason = until, reason[:200]
            session.add(state)
        t = OUTBOX.c
        return session.exec(
            OUTBOX.update()
            .where(t.channel == channel, t.status.in_(WAITING), t.next_attempt_at < until)
            .values(status="deferred", next_attempt_at=until)
        ).rowcount


def next_due(channel: str, *, pushes: bool = True) -> dt.datetime | None:
    """When the next waiting row of `channel` is due (a retry, a deferred row)."""
    t = OUTBOX.c
    with engine().connect() as conn:
        return conn.execute(
            sa.select(sa.func.min(t.next_attempt_at))
            .where(t.channel == channel, t.status.in_(WAITING), t.priority < m.REPLY_LANE)
            .where(sa.true() if pushes else t.push_key.is_(None))
        ).scalar()


def reclaim_stuck(channel: str | None, claimed_before: dt.datetime | None) -> int:
    """Rows left in `sending` by a process that died: due again. `claimed_before` None (SQLite,
    where the leader lock proves every other process gone): all of them; else those whose
    claimant's lease ran out (or, claimed before leases, claimed before `claimed_before`)."""
    t = OUTBOX.c
    where = [t.status == "sending", t.priority < m.REPLY_LANE]  # replies: the reply lane's
    if channel is not None:
        where.append(t.channel == channel)
    if claimed_before is not None:
        where.append(leases.stale(t.claimed_by, t.claimed_at, claimed_before))
    return _update(sa.and_(*where), status="pending", claimed_at=None, claimed_by=None)

"""Looking at the outbox, for the clerk and the admin: counts, failures, pauses, retry."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.core import models as m
from bot.core.db import engine

STATUSES = ("pending", "sending", "sent", "failed", "deferred")


def counts(*, session: Session) -> dict[str, dict[str, int]]:
    """{channel: {status: n}} over the whole outbox."""
    found: dict[str, dict[str, int]] = {}
    for channel, status, n in session.exec(
        select(m.Outbox.channel, m.Outbox.status, func.count()).group_by(
            col(m.Outbox.channel), col(m.Outbox.status)
        )
    ):
        found.setdefault(channel, dict.fromkeys(STATUSES, 0))[status] = n
    return dict(sorted(found.items()))


def failed(*, session: Session, limit: int = 200) -> list[dict[str, object]]:
    """The rows that failed for good, newest first, with who and why."""
    rows = session.exec(
        select(m.Outbox, m.Person, m.Unit)
        .join(m.Person, col(m.Person.id) == col(m.Outbox.person_id), isouter=True)
        .join(m.Unit, col(m.Unit.id) == col(m.Person.unit_id), isouter=True)
        .where(col(m.Outbox.status) == "failed")
        .order_by(col(m.Outbox.id).desc())
        .limit(limit)
    )
    return [
        {
            "id": o.id,
            "key": o.key,
            "push": o.push_key,
            "channel": o.channel,
            "person": p.full_name if p else None,
            "unit": u.code if u else None,
            "attempts": o.attempts,
            "error": o.last_error,
        }
        for o, p, u in rows
    ]


def channel_states(*, session: Session) -> list[m.ChannelState]:
    return list(session.exec(select(m.ChannelState).order_by(col(m.ChannelState.channel))))


def retry(*, session: Session, now: dt.datetime, include_failed: bool = False) -> dict[str, int]:
    """Make waiting rows due now (and lift channel pauses); with `include_failed`, also give the
    failed rows another go, their identities marked reachable again so new pushes reach them."""
    waiting = session.exec(
        sa.update(m.Outbox)
        .where(
            col(m.Outbox.status).in_(("pending", "deferred")), col(m.Outbox.next_attempt_at) > now
        )
        .values(status="pending", next_attempt_at=now)
    ).rowcount
    deferred = session.exec(
        sa.update(m.Outbox)
        .where(col(m.Outbox.status) == "deferred")
        .values(status="pending", next_attempt_at=now)
    ).rowcount
    session.exec(sa.update(m.ChannelState).values(paused_until=None, reason=None))
    retried = 0
    if include_failed:
        ids = select(m.Outbox.identity_id).where(col(m.Outbox.status) == "failed")
        session.exec(
            sa.update(m.Identity)
            .where(col(m.Identity.id).in_(ids), col(m.Identity.reachable).is_(False))
            .values(reachable=True, unreachable_reason=None)
        )
        retried = session.exec(
            sa.update(m.Outbox)
            .where(col(m.Outbox.status) == "failed")
            .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
        ).rowcount
    return {"waiting": waiting + deferred, "failed": retried}


def paused_until(channel: str, now: dt.datetime) -> dt.datetime | None:
    """Until when `channel` may not send (a quota pause in `channel_state`), if still ahead."""
    state = m.ChannelState.__table__
    with engine().connect() as conn:
        until = conn.execute(
            sa.select(state.c.paused_until).where(state.c.channel == channel)
        ).scalar()
    return until if until is not None and until > now else None

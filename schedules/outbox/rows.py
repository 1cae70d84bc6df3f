"""Writing outbox rows: a push expanded once into one row per person and channel.

Expanding a push records one `PushRun` (key `push:<campaign>:<event>:<yyyy-mm-dd>`) and one
`Outbox` row per person and channel (key `outbox:<push>:<person>:<channel>`), both inserted with
ON CONFLICT DO NOTHING, so expanding twice adds nothing, even from two processes at once. The
delivery worker (`bot.delivery`) sends the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from schedules.outbox.messages import messages_for
from schedules.outbox.plan import Push, launch_push
from schedules.outbox.recipients import Recipient

#: Calendar pushes and nudges go before broadcasts; alerts to the office first (10); replies to
#: people are not pushes at all (`REPLY_LANE`, the reply lane sends them).
PRIORITY = {"remind": 2, "broadcast": 0}
CHUNK = 500  # rows per INSERT (SQLite allows 32,766 bound values per statement)


def insert_ignore(session: Session, table: sa.Table, rows: list[dict], index: list[str]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); how many rows went in."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    added = 0
    for start in range(0, len(rows), CHUNK):
        stmt = (
            insert(table)
            .values(rows[start : start + CHUNK])
            .on_conflict_do_nothing(index_elements=index)
            .returning(table.c[index[0]])
        )
        # RETURNING, not rowcount: psycopg reports -1 for a multi-row INSERT here
        added += len(session.exec(stmt).all())
    return added


def outbox_key(push_key: str, person_id: int, channel: str) -> str:
    return f"outbox:{push_key}:{person_id}:{channel}"


def _record_run(
    session: Session,
    *,
    key: str,
    campaign_id: int,
    kind: str,
    due_at: dt.datetime,
    status: str,
    now: dt.datetime,
) -> bool:
    """Insert the push's `PushRun`; False if it was recorded before (by us or another process).

    It is the first statement of the transaction, so on SQLite the write lock is taken before
    anything is read, and on PostgreSQL a second expander waits on the key and then skips it.
    """
    row = {
        "key": key,
        "campaign_id": campaign_id,
        "kind": kind,
        "due_at": due_at,
        "status": status,
        "recipients": 0,
        "created_at": now,
    }
    return insert_ignore(session, m.PushRun.__table__, [row], ["key"]) == 1


def _queue(
    session: Session,
    *,
    push_key: str,
    messages: list[tuple[Recipient, str]],
    now: dt.datetime,
    priority: int = 1,
) -> int:
    rows = [
        {
            "key": outbox_key(push_key, r.person_id, r.channel),
            "push_key": push_key,
            "person_id": r.person_id,
            "identity_id": r.identity_id,
            "channel": r.channel,
            "chat_id": r.chat_id,
            "text": text,
            "priority": priority,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for r, text in messages
    ]
    return insert_ignore(session, m.Outbox.__table__, rows, ["key"])


def _count_run(session: Session, key: str) -> int:
    total = session.exec(
        select(func.count()).select_from(m.Outbox).where(col(m.Outbox.push_key) == key)
    ).one()
    session.exec(sa.update(m.PushRun).where(col(m.PushRun.key) == key).values(recipients=total))
    return int(total)


def expand(
    push: Push,
    *,
    session: Session,
    campaign_id: int,
    channels: Iterable[str],
    now: dt.datetime,
) -> int | None:
    """Record `push` and queue its messages; None if it was recorded before (nothing added)."""
    if not _record_run(
        session,
        key=push.key,
        campaign_id=campaign_id,
        kind=push.kind,
        due_at=push.at,
        status="expanded",
        now=now,
    ):
        return None
    messages = messages_for(
        push, session=session, campaign_id=campaign_id, channels=channels, now=now
    )
    _queue(session, push_key=push.key, messages=messages, now=now)
    return _count_run(session, push.key)


def record_skipped(push: Push, *, session: Session, campaign_id: int, now: dt.datetime) -> bool:
    """Note that `push` was missed beyond its grace: it will never be sent."""
    return _record_run(
        session,
        key=push.key,
        campaign_id=campaign_id,
        kind=push.kind,
        due_at=push.at,
        status="skipped",
        now=now,
    )


def launch(
    *,
    session: Session,
    campaign_id: int,
    campaign: Campaign,
    channels: Iterable[str],
    now: dt.datetime,
) -> tuple[str, int, int]:
    """Queue the launch for every registered person now: (push key, rows added, rows in all).

    Running it again adds only people registered since (and makes a launch the scheduler had
    skipped as missed go out after all).
    """
    push = launch_push(campaign, now.astimezone(LOCAL).date())
    if not _record_run(
        session,
        key=push.key,
        campaign_id=campaign_id,
        kind=push.kind,
        due_at=now,
        status="expanded",
        now=now,
    ):
        session.exec(
            sa.update(m.PushRun)
            .where(col(m.PushRun.key) == push.key)
            .values(status="expanded", due_at=now)
        )
    messages = messages_for(
        push, session=session, campaign_id=campaign_id, channels=channels, now=now
    )
    added = _queue(session, push_key=push.key, messages=messages, now=now)
    return push.key, added, _count_run(session, push.key)


def queue_message(
    *,
    session: Session,
    key: str,
    identity: m.Identity,
    text: str,
    now: dt.datetime,
    at: dt.datetime | None = None,
    priority: int = 1,
) -> bool:
    """One message to one identity, sent by the delivery worker from `at` (default: now).

    For what is not a calendar push: a reply kept back by a quota, an alert, a clerk's note.
    False if a row with `key` is there already (the caller tried before).
    """
    row = {
        "key": key[:200],
        "person_id": identity.person_id,
        "identity_id": identity.id,
        "channel": identity.channel,
        "chat_id": identity.chat_id,
        "text": text,
        "priority": priority,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at or now,
        "created_at": now,
    }
    return insert_ignore(session, m.Outbox.__table__, [row], ["key"]) == 1


def queue_custom(
    *,
    session: Session,
    campaign_id: int,
    campaign_code: str,
    kind: str,
    ref: str,
    messages: list[tuple[Recipient, str]],
    now: dt.datetime,
) -> tuple[str, int]:
    """Queue a `/remind` or `/broadcast` under its own push key: (key, rows added)."""
    key = f"push:{campaign_code}:{kind}.{ref}:{now.astimezone(LOCAL).date().isoformat()}"
    _record_run(
        session,
        key=key,
        campaign_id=campaign_id,
        kind=kind,
        due_at=now,
        status="expanded",
        now=now,
    )
    added = _queue(
        session, push_key=key, messages=messages, now=now, priority=PRIORITY.get(kind, 1)
    )
    _count_run(session, key)
    return key, added

"""What the Zalo channel keeps in the database (sync; the runner calls these in a thread).

- `processed_update`: message ids already taken, so a redelivery or a restart handles each once;
- `channel_state` for "zalo": the quota pause and the count of messages sent this month;
- `outbox`: replies that could not go out now (quota, Zalo down) wait there for the delivery
  worker, and the clerk and admin hear of a quota pause on their other channel;
- `identity.reachable`: a chat Zalo refuses to deliver to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select, update

from bot.core import clock, people
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _, format_day, language
from bot.core.roles import OFFICE_ROLES
from schedules.outbox import paused_until as channel_paused_until
from schedules.outbox import queue_message

log = logging.getLogger(__name__)

CHANNEL = "zalo"
KEEP_PROCESSED = dt.timedelta(days=7)
#: Outbox priority of a reply held back: above pushes (0), so it goes out first on resume.
REPLY_PRIORITY = 10


def update_key(message_id: str) -> str:
    """The `processed_update.update_id` for a Zalo message id (fits the 64-character column)."""
    if len(message_id) <= 64:
        return message_id
    return hashlib.sha256(message_id.encode()).hexdigest()


def claim(message_id: str) -> bool:
    """Remember `message_id` as taken; False if it was taken before (a redelivery)."""
    try:
        with session_scope() as session:
            session.add(
                m.ProcessedUpdate(
                    channel=CHANNEL, update_id=update_key(message_id), at=clock.now()
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def prune(keep: dt.timedelta = KEEP_PROCESSED) -> None:
    """Forget processed ids older than `keep` (Zalo does not redeliver that late)."""
    with session_scope() as session:
        session.exec(
            delete(m.ProcessedUpdate).where(
                col(m.ProcessedUpdate.channel) == CHANNEL,
                col(m.ProcessedUpdate.at) < clock.now() - keep,
            )
        )


def next_local_midnight(now: dt.datetime) -> dt.datetime:
    """The next 00:00 in Vietnam, as UTC: when a quota pause ends and a probe is tried."""
    tomorrow = now.astimezone(clock.LOCAL).date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=clock.LOCAL).astimezone(dt.UTC)


def paused_until() -> dt.datetime | None:
    """When sending resumes, if Zalo sending is paused now."""
    return channel_paused_until(CHANNEL, clock.now())


def _state(session: Session) -> m.ChannelState:
    state = session.get(m.ChannelState, CHANNEL)
    if state is None:
        state = m.ChannelState(channel=CHANNEL)
        session.add(state)
        session.flush()
    return state


def _ensure_state() -> None:
    # IntegrityError: another thread created it at the same moment.
    with contextlib.suppress(sa.exc.IntegrityError), session_scope() as session:
        _state(session)


def pause(until: dt.datetime) -> bool:
    """Pause Zalo sending until `until` (quota); True if it was not paused already.

    A new pause tells the clerks and admins on their other channel (once a month).
    """
    _ensure_state()
    with session_scope() as session:
        state = _state(session)
        now = clock.now()
        fresh = state.paused_until is None or state.paused_until <= now
        state.paused_until, state.reason = until, "quota"
        session.add(state)
        if fresh:
            month = clock.local_now().strftime("%Y-%m")
            _alert_quota(session, until, state.sent_this_month if state.month == month else 0)
    return fresh


def count_sent() -> bool:
    """Count one message sent this (Vietnam) month; lift a pause whose time has come.

    True if a pause was lifted (the probe after a quota pause went through).
    """
    month = clock.local_now().strftime("%Y-%m")
    counted, lifted = _count(month)
    if not counted:  # the channel's first message ever: its row is made, then counted
        _ensure_state()
        counted, lifted = _count(month)
    return lifted


def _count(month: str) -> tuple[bool, bool]:
    """(counted, pause lifted): one UPDATE each, so two replies sent at once both count."""
    table = m.ChannelState
    with session_scope() as session:
        counted = session.exec(
            update(table)
            .where(col(table.channel) == CHANNEL)
            .values(
                sent_this_month=sa.case(
                    (col(table.month) == month, col(table.sent_this_month) + 1), else_=1
                ),
                month=month,
            )
        )
        lifted = session.exec(
            update(table)
            .where(col(table.channel) == CHANNEL, col(table.paused_until) <= clock.now())
            .values(paused_until=None, reason=None)
        )
        return bool(counted.rowcount), bool(lifted.rowcount)


def sent_this_month() -> int:
    with session_scope() as session:
        state = session.get(m.ChannelState, CHANNEL)
        month = clock.local_now().strftime("%Y-%m")
        return state.sent_this_month if state is not None and state.month == month else 0


def queue_reply(
    *,
    user_id: str,
    chat_id: str,
    message_id: str,
    pieces: list[str],
    first: int,
    at: dt.datetime,
) -> int:
    """Put reply pieces `first`, `first+1`, ... in the outbox, due `at`; how many were queued.

    Keys `reply:zalo:<chat>:<message>:<n>` make a second attempt add nothing. A reply to a
    person not registered (no identity) cannot be queued: it is logged and dropped.
    """
    with session_scope() as session:
        ident = session.exec(
            select(m.Identity).where(m.Identity.channel == CHANNEL, m.Identity.user_id == user_id)
        ).first()
        if ident is None:
            log.warning(
                "zalo: %d reply message(s) to an unregistered chat could not be sent or queued",
                len(pieces),
            )
            return 0
        queued = 0
        for n, text in enumerate(pieces, start=first):
            key = f"reply:{CHANNEL}:{chat_id}:{message_id}:{n}"
            queued += queue_message(
                session=session,
                key=key,
                identity=ident,
                text=text,
                now=clock.now(),
                at=at,
                priority=REPLY_PRIORITY,
            )
        return queued


def mark_unreachable(chat_id: str, reason: str) -> None:
    """Zalo refused the chat: the clerk sees the person as not reachable on Zalo."""
    with session_scope() as session:
        people.mark_unreachable(session=session, channel=CHANNEL, chat_id=chat_id, reason=reason)


def language_of(user_id: str) -> str | None:
    """The language of the person behind a Zalo user, if registered."""
    with session_scope() as session:
        ident = session.exec(
            select(m.Identity).where(m.Identity.channel == CHANNEL, m.Identity.user_id == user_id)
        ).first()
        person = session.get(m.Person, ident.person_id) if ident is not None else None
        return person.lang if person is not None else None


def _alert_quota(session: Session, until: dt.datetime, sent: int) -> None:
    """Outbox rows telling clerks and admins, on a channel other than Zalo, of the pause."""
    month = until.astimezone(clock.LOCAL).strftime("%Y-%m")
    rows = session.exec(
        select(m.Identity, m.Person)
        .join(m.Person, col(m.Person.id) == col(m.Identity.person_id))
        .where(
            col(m.Person.role).in_(OFFICE_ROLES),
            col(m.Person.active).is_(True),
            col(m.Identity.channel).not_in((CHANNEL, "console")),
            col(m.Identity.reachable).is_(True),
        )
    ).all()
    log.warning(
        "zalo: monthly message quota used up (HTTP 429) after %d sent this month; sending on "
        "Zalo paused until %s; %d clerk/admin alert(s) queued",
        sent,
        until.isoformat(),
        len(rows),
    )
    for ident, person in rows:
        with language(person.lang):
            text = _(
                "Zalo: the bot's monthly message quota is used up ({n} messages sent this "
                "month). Sending on Zalo is paused until {day}; nothing is lost, the messages "
                "wait and go out then. A paid Zalo Bot plan raises the quota."
            ).format(n=sent, day=format_day(until.astimezone(clock.LOCAL).date()))
        queue_message(
            session=session,
            key=f"alert:{CHANNEL}:quota:{month}:{ident.id}",
            identity=ident,
            text=text,
            now=clock.now(),
            priority=REPLY_PRIORITY,
        )

"""What the Zalo channel keeps in the database (sync; the runner calls these in a thread).

- `channel_state` for "zalo": the quota pause and the count of messages sent this month;
- `outbox`: the clerk and admin hear of a quota pause on their other channel;
- `identity.reachable`: a chat Zalo refuses to deliver to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

import sqlalchemy as sa
from sqlmodel import Session, col, select, update

from bot.core import clock, people
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _, format_day, language
from bot.core.roles import OFFICE_ROLES
from schedules.outbox import paused_until as channel_paused_until
from schedules.outbox import queue_message

log = logging.getLogger(__name__)

CHANNEL = "zalo"
#: Outbox priority of the quota alert: above pushes (0), so it goes out first.
ALERT_PRIORITY = 10


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


def mark_unreachable(chat_id: str, reason: str) -> None:
    """Zalo refused the chat: the clerk sees the person as not reachable on Zalo."""
    with session_scope() as session:
        people.mark_unreachable(session=session, channel=CHANNEL, chat_id=chat_id, reason=reason)


def language_of_chat(chat_id: str) -> str | None:
    """The language of the person behind a Zalo chat, if registered."""
    with session_scope() as session:
        ident = session.exec(
            select(m.Identity).where(m.Identity.channel == CHANNEL, m.Identity.chat_id == chat_id)
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
            priority=ALERT_PRIORITY,
        )

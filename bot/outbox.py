"""Pushes into outbox rows: who gets what, in their own language, queued exactly once.

A push is a calendar event (`schedules.calendar`), the clerk's digest on a phase deadline, a
`/remind` or a `/broadcast`. Expanding it records one `PushRun` (key `push:<campaign>:<event>:
<yyyy-mm-dd>`) and one `Outbox` row per person and channel (key `outbox:<push>:<person>:
<channel>`), both inserted with ON CONFLICT DO NOTHING, so expanding twice adds nothing, even
from two processes at once. The delivery worker (`bot.delivery`) sends the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot import models as m
from bot.campaign import Campaign, Phase
from bot.clock import LOCAL
from bot.i18n import language, render
from bot.settings import Settings
from schedules.calendar import Event, events

log = logging.getLogger(__name__)

#: Channels a push can go to (a runner sends them); console identities are never pushed.
PUSH_CHANNELS = ("telegram", "zalo")
#: Kinds whose unit heads of units without a phase report get a nudge naming what is missing.
DEADLINE_KINDS = frozenset({"deadline_reminder", "deadline"})
#: Kinds that announce a day: never sent after that day has ended, however late the bot is.
DATED_KINDS = frozenset(
    {"deadline_reminder", "deadline", "anniversary_reminder", "anniversary", "thematic_deadline"}
)
OFFICE_ROLES = ("clerk", "admin")
STATUSES = ("pending", "sending", "sent", "failed", "deferred")
#: Calendar pushes and nudges go before broadcasts; channel replies held back go first (10).
PRIORITY = {"remind": 2, "broadcast": 0}
CHUNK = 500  # rows per INSERT (SQLite allows 32,766 bound values per statement)


@dataclass(frozen=True)
class Push:
    """Something to push at `at`: a calendar event, or one derived from it (the digest)."""

    key: str
    kind: str
    at: dt.datetime
    date: dt.date  # the day it announces
    campaign: Campaign = field(repr=False, compare=False)
    event: Event | None = field(default=None, compare=False)
    phase: int | None = None

    @property
    def event_id(self) -> str:
        return self.key.split(":")[2]


def configured_channels(settings: Settings) -> tuple[str, ...]:
    """The push channels with a token set: the ones `thidua run` starts a runner for."""
    tokens = {"telegram": settings.telegram_bot_token, "zalo": settings.zalo_bot_token}
    return tuple(c for c in PUSH_CHANNELS if tokens[c] is not None)


def pushes(campaign: Campaign) -> list[Push]:
    """Every calendar event of the campaign as a push, plus a clerk's digest per phase deadline.

    A deadline reminder that falls at the same minute as its deadline push (a Saturday deadline
    moves both to Friday) is left out: people would get the same news twice at once.
    """
    found: list[Push] = []
    calendar = events(campaign)
    deadlines = {(e.phase, e.at) for e in calendar if e.kind == "deadline"}
    for e in calendar:
        if e.kind == "deadline_reminder" and (e.phase, e.at) in deadlines:
            continue
        found.append(Push(e.key, e.kind, e.at, e.date, campaign, e, e.phase))
        if e.kind == "deadline":
            key = f"push:{e.campaign}:digest.{e.ref}:{e.date.isoformat()}"
            found.append(Push(key, "digest", e.at, e.date, campaign, e, e.phase))
    return found


def launch_push(campaign: Campaign, today: dt.date) -> Push:
    """The launch push: the calendar's launch event, or one dated today if the file has none."""
    if campaign.push.launch is None:
        campaign = campaign.model_copy(
            update={"push": campaign.push.model_copy(update={"launch": today})}
        )
    found = next(p for p in pushes(campaign) if p.kind == "launch")
    return found


def expires_at(push: Push, grace: dt.timedelta) -> dt.datetime:
    """The last moment a missed push still goes out: `grace` after it was due, and for a push
    that announces a day (a deadline, an anniversary) never after the end of that day."""
    latest = push.at + grace
    if push.kind in DATED_KINDS or push.kind == "digest":
        end_of_day = dt.datetime.combine(push.date + dt.timedelta(days=1), dt.time(), LOCAL)
        latest = min(latest, end_of_day)
    return latest


# --- who is reached, and where ----------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    person_id: int
    name: str
    role: str
    unit_id: int
    lang: str
    identity_id: int
    channel: str
    chat_id: str


def recipients(
    *,
    session: Session,
    channels: Iterable[str],
    unit_ids: Iterable[int] | None = None,
    roles: Iterable[str] | None = None,
) -> list[Recipient]:
    """Every active person's reachable identity on `channels`, one per person and channel
    (the one seen last when a person has two accounts on a channel)."""
    query = (
        select(m.Identity, m.Person)
        .join(m.Person, col(m.Person.id) == col(m.Identity.person_id))
        .where(
            col(m.Person.active).is_(True),
            col(m.Identity.reachable).is_(True),
            col(m.Identity.channel).in_(tuple(channels)),
        )
        .order_by(col(m.Person.id), col(m.Identity.channel), col(m.Identity.last_seen_at).desc())
    )
    if unit_ids is not None:
        query = query.where(col(m.Person.unit_id).in_(tuple(unit_ids)))
    if roles is not None:
        query = query.where(col(m.Person.role).in_(tuple(roles)))
    found: dict[tuple[int, str], Recipient] = {}
    for ident, person in session.exec(query):
        assert person.id is not None and ident.id is not None
        found.setdefault(
            (person.id, ident.channel),
            Recipient(
                person.id,
                person.full_name,
                person.role,
                person.unit_id,
                person.lang,
                ident.id,
                ident.channel,
                ident.chat_id,
            ),
        )
    return list(found.values())


# --- where the units stand on a phase ---------------------------------------------------------


@dataclass
class UnitStatus:
    unit: m.Unit
    filed: bool
    heads: list[m.Person]
    personal: int  # personal reports of the unit's people for the phase

    @property
    def head_names(self) -> str:
        return ", ".join(p.full_name for p in self.heads)


def phase_status(*, session: Session, campaign_id: int, phase: int) -> list[UnitStatus]:
    """Every active unit: has it filed its phase report (scope "unit", not withdrawn)?"""
    live = col(m.Report.status) != "withdrawn"
    of_phase = (col(m.Report.campaign_id) == campaign_id, col(m.Report.phase) == phase, live)
    filed = set(
        session.exec(
            select(m.Report.unit_id).where(*of_phase, col(m.Report.scope) == "unit").distinct()
        )
    )
    personal = dict(
        session.exec(  # type: ignore[call-overload]
            select(m.Report.unit_id, func.count())
            .where(*of_phase, col(m.Report.scope) == "personal")
            .group_by(col(m.Report.unit_id))
        ).all()
    )
    heads: dict[int, list[m.Person]] = defaultdict(list)
    for person in session.exec(
        select(m.Person)
        .where(col(m.Person.role) == "head", col(m.Person.active).is_(True))
        .order_by(col(m.Person.full_name))
    ):
        heads[person.unit_id].append(person)
    units = session.exec(
        select(m.Unit).where(col(m.Unit.active).is_(True)).order_by(col(m.Unit.name))
    )
    return [
        UnitStatus(u, u.id in filed, heads.get(u.id or 0, []), personal.get(u.id, 0))
        for u in units
    ]


def days_left(phase: Phase, today: dt.date) -> int:
    return (phase.deadline - today).days


def nudge_text(*, phase: Phase, unit: m.Unit, today: dt.date, everyone: str | None = None) -> str:
    """What the head of a unit without its phase report reads (in the current language)."""
    return render(
        "push/unit_nudge.txt.j2",
        phase=phase,
        unit=unit,
        left=days_left(phase, today),
        everyone=everyone,
    )


def digest_text(*, phase: Phase, status: list[UnitStatus], today: dt.date) -> str:
    return render(
        "push/digest.txt.j2",
        phase=phase,
        filed=[s for s in status if s.filed],
        missing=[s for s in status if not s.filed],
        left=days_left(phase, today),
    )


def broadcast_text(*, campaign: Campaign, text: str) -> str:
    return render("push/broadcast.txt.j2", office=campaign.plan.issuing_body, text=text)


# --- writing rows -----------------------------------------------------------------------------


def _insert_ignore(session: Session, table: sa.Table, rows: list[dict], index: list[str]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); how many rows went in."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    added = 0
    for start in range(0, len(rows), CHUNK):
        stmt = insert(table).values(rows[start : start + CHUNK])
        stmt = stmt.on_conflict_do_nothing(index_elements=index).returning(table.c[index[0]])
        # RETURNING, not rowcount: psycopg reports -1 for a multi-row INSERT here
        added += len(session.exec(stmt).all())  # type: ignore[call-overload]
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
    return _insert_ignore(session, m.PushRun.__table__, [row], ["key"]) == 1  # type: ignore[arg-type]


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
    return _insert_ignore(session, m.Outbox.__table__, rows, ["key"])  # type: ignore[arg-type]


def _count_run(session: Session, key: str) -> int:
    total = session.exec(
        select(func.count()).select_from(m.Outbox).where(col(m.Outbox.push_key) == key)
    ).one()
    session.exec(sa.update(m.PushRun).where(col(m.PushRun.key) == key).values(recipients=total))
    return int(total)


class _Texts:
    """Renders each distinct text once per language (10,000 recipients, a handful of texts)."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str] = {}
        self._events: dict[tuple[int, str], dict[str, str]] = {}

    def get(self, lang: str, key: tuple, make: Callable[[], str]) -> str:
        if (lang, *key) not in self._cache:
            with language(lang):
                self._cache[(lang, *key)] = make()
        return self._cache[(lang, *key)]

    def event(self, push: Push, lang: str) -> str:
        """The calendar's own text of the event (bot/templates/events/), in `lang`."""
        assert push.event is not None
        cache = (id(push.campaign), lang)
        if cache not in self._events:
            with language(lang):
                self._events[cache] = {e.key: e.text for e in events(push.campaign)}
        return self._events[cache][push.event.key]


def messages_for(
    push: Push, *, session: Session, campaign_id: int, channels: Iterable[str], now: dt.datetime
) -> list[tuple[Recipient, str]]:
    """Who gets `push` and what each reads, in their own language."""
    texts = _Texts()
    today = now.astimezone(LOCAL).date()
    if push.kind == "digest":
        assert push.phase is not None
        phase = push.campaign.phase(push.phase)
        status = phase_status(session=session, campaign_id=campaign_id, phase=push.phase)

        def digest() -> str:
            return digest_text(phase=phase, status=status, today=today)

        return [
            (r, texts.get(r.lang, ("digest",), digest))
            for r in recipients(session=session, channels=channels, roles=OFFICE_ROLES)
        ]
    everyone = recipients(session=session, channels=channels)
    if push.kind not in DEADLINE_KINDS:
        return [(r, texts.event(push, r.lang)) for r in everyone]
    assert push.phase is not None
    phase = push.campaign.phase(push.phase)
    missing = {
        s.unit.id: s.unit
        for s in phase_status(session=session, campaign_id=campaign_id, phase=push.phase)
        if not s.filed
    }
    found = []
    for r in everyone:
        text = texts.event(push, r.lang)
        unit = missing.get(r.unit_id) if r.role == "head" else None
        if unit is not None:
            text = texts.get(
                r.lang,
                ("nudge", unit.id),
                lambda u=unit, t=text: nudge_text(phase=phase, unit=u, today=today, everyone=t),
            )
        found.append((r, text))
    return found


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
    return _insert_ignore(session, m.Outbox.__table__, [row], ["key"]) == 1  # type: ignore[arg-type]


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


# --- looking at the outbox --------------------------------------------------------------------


def counts(*, session: Session) -> dict[str, dict[str, int]]:
    """{channel: {status: n}} over the whole outbox."""
    found: dict[str, dict[str, int]] = {}
    for channel, status, n in session.exec(  # type: ignore[call-overload]
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

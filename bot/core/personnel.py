"""A person over a year: found by a key, invited personally, deactivated, moved, given another
role, away for a while, listed when unreachable, exported and forgotten. Every change is
audited; records (reports, nominations) are kept and stay with the unit they were filed for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from bot.core import models as m
from bot.core.clock import LOCAL
from bot.core.i18n import _
from bot.core.people import issue_invites
from bot.core.roles import ROLES
from bot.core.store import audit
from bot.core.text import name_key


class PersonError(Exception):
    """A key that finds nobody, or more than one person; an impossible change."""


def find_person(*, session: Session, key: str) -> m.Person:
    """The person `key` names: an id (#12 or 12), a staff number, a phone number, or a full
    name that only one person has."""
    key = key.strip()
    digits = key.removeprefix("#")
    if digits.isdigit() and key.startswith("#"):
        found = session.get(m.Person, int(digits))
        if found is not None:
            return found
    people = list(session.exec(select(m.Person).where(col(m.Person.forgotten_at).is_(None))))
    for match in (
        lambda p: bool(p.staff_no) and p.staff_no.casefold() == key.casefold(),
        lambda p: digits.isdigit() and p.id == int(digits),
        lambda p: bool(p.phone) and _digits(p.phone) == _digits(key) and len(_digits(key)) >= 8,
        lambda p: name_key(p.full_name) == name_key(key),
    ):
        hits = [p for p in people if match(p)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise PersonError(
                _("“{key}” names {n} people; use the id or the staff number: {ids}").format(
                    key=key, n=len(hits), ids=", ".join(f"#{p.id}" for p in hits)
                )
            )
    raise PersonError(_("Nobody found for “{key}”.").format(key=key))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def is_registered(session: Session, person: m.Person) -> bool:
    return (
        session.exec(select(m.Identity.id).where(m.Identity.person_id == person.id)).first()
        is not None
    )


# --- personal invites -------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalInvite:
    person: m.Person
    unit: m.Unit
    invite: m.Invite
    new: bool  # issued now (else a live one issued before, handed out again)


def personal_invites(
    *, session: Session, people: list[m.Person], now: dt.datetime, days: int
) -> list[PersonalInvite]:
    """One personal code for each of `people` not registered yet and active: a live one
    issued before, else a new one. Registered or inactive people are left out."""
    out = []
    for person in people:
        if not person.active or person.forgotten_at or is_registered(session, person):
            continue
        unit = session.get(m.Unit, person.unit_id)
        assert unit is not None  # a foreign key
        live = session.exec(
            select(m.Invite)
            .where(
                m.Invite.person_id == person.id,
                col(m.Invite.used_at).is_(None),
                m.Invite.expires_at > now,
            )
            .order_by(col(m.Invite.expires_at).desc())
        ).first()
        if live is not None:
            out.append(PersonalInvite(person, unit, live, new=False))
            continue
        (issued,) = issue_invites(
            session=session, unit=unit, role=person.role, count=1, now=now, days=days,
            person=person,
        )  # fmt: skip
        out.append(PersonalInvite(person, unit, issued, new=True))
    return out


def pending_people(*, session: Session, unit: m.Unit) -> list[m.Person]:
    """The unit's active people who have not registered on any channel, by name."""
    registered = select(m.Identity.person_id)
    return list(
        session.exec(
            select(m.Person)
            .where(
                m.Person.unit_id == unit.id,
                col(m.Person.active),
                col(m.Person.forgotten_at).is_(None),
                col(m.Person.id).not_in(registered),
            )
            .order_by(col(m.Person.full_name))
        )
    )


# --- leavers, movers, roles -------------------------------------------------------------------


def deactivate(*, session: Session, person: m.Person, now: dt.datetime, by: str) -> bool:
    """No pushes, no commands; records kept. False if already inactive."""
    if not person.active:
        return False
    person.active, person.left_at = False, now
    session.add(person)
    for invite in session.exec(
        select(m.Invite).where(m.Invite.person_id == person.id, col(m.Invite.used_at).is_(None))
    ):
        invite.expires_at = min(invite.expires_at, now)  # a leaver's code no longer works
        session.add(invite)
    audit(session=session, action="person.deactivate", person_id=person.id, subject=by)
    return True


def reactivate(*, session: Session, person: m.Person, by: str) -> bool:
    if person.active or person.forgotten_at:
        return False
    person.active, person.left_at = True, None
    session.add(person)
    audit(session=session, action="person.reactivate", person_id=person.id, subject=by)
    return True


def move(
    *,
    session: Session,
    person: m.Person,
    unit: m.Unit,
    since: dt.date | None,
    now: dt.datetime,
    by: str,
) -> int:
    """Move to `unit` from `since` (default today): the person's reports and nominations filed
    on or after that day go with them; earlier ones stay with the old unit. The number moved."""
    assert unit.id is not None  # stored
    old = person.unit_id
    person.unit_id = unit.id
    session.add(person)
    moved = 0
    if since is not None and since < now.astimezone(LOCAL).date():
        start = dt.datetime.combine(since, dt.time(), LOCAL).astimezone(dt.UTC)
        for table, who in (("report", "person_id"), ("nomination", "proposer_id")):
            when = sa.column("created_at", m.UTCDateTime())
            t = sa.table(table, sa.column(who), sa.column("unit_id"), when)
            result = session.connection().execute(
                sa.update(t)
                .where(t.c[who] == person.id, t.c.unit_id == old, t.c.created_at >= start)
                .values(unit_id=unit.id)
            )
            moved += result.rowcount
    audit(
        session=session,
        action="person.move",
        person_id=person.id,
        subject=by,
        detail={"from": old, "to": unit.id, "since": since.isoformat() if since else None,
                "records_moved": moved},
    )  # fmt: skip
    return moved


def change_role(*, session: Session, person: m.Person, role: str, by: str) -> str:
    """The old role."""
    if role not in ROLES:
        raise PersonError(_("--role must be one of: {roles}").format(roles=", ".join(ROLES)))
    old = person.role
    person.role = role
    session.add(person)
    audit(
        session=session,
        action="person.role",
        person_id=person.id,
        subject=by,
        detail={"from": old, "to": role},
    )
    return old


# --- away ---------------------------------------------------------------------------------


def set_away(
    *, session: Session, person: m.Person, until: dt.date | None, reason: str | None
) -> None:
    """Away up to and including `until` (None: back now)."""
    person.away_until, person.away_reason = until, (reason or None) if until else None
    session.add(person)
    audit(
        session=session,
        action="person.away",
        person_id=person.id,
        detail={"until": until.isoformat() if until else None},
    )


def is_away(person: m.Person, today: dt.date) -> bool:
    return person.away_until is not None and today <= person.away_until


def away_condition(today: dt.date) -> sa.ColumnElement[bool]:
    """SQL: the person is not away on `today` (pushes are not sent to those away)."""
    return sa.or_(col(m.Person.away_until).is_(None), col(m.Person.away_until) < today)


# --- call list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreachable:
    person: m.Person
    unit: m.Unit
    why: str  # never_registered | blocked | quota
    since: dt.datetime | None  # the invite's date (never registered), else None
    detail: str = ""

    def to_json(self, now: dt.datetime) -> dict[str, object]:
        days = (now - self.since).days if self.since else None
        return {
            "id": self.person.id,
            "name": self.person.full_name,
            "unit": self.unit.code,
            "phone": self.person.phone,
            "email": self.person.email,
            "why": self.why,
            "invited_days_ago": days,
            "detail": self.detail,
        }


def unreachable(
    *, session: Session, now: dt.datetime, spent: frozenset[str] = frozenset()
) -> list[Unreachable]:
    """Whom the clerk should call: active people invited but never registered, those whose
    every channel refused the bot (blocked, gone), and those registered only on a channel
    whose quota is spent (`spent`). By unit code and name."""
    out: list[Unreachable] = []
    # Only the people without a reachable identity on a channel that still sends: the
    # others (most people) are never loaded.
    reached = sa.exists().where(
        col(m.Identity.person_id) == col(m.Person.id),
        col(m.Identity.reachable),
        col(m.Identity.channel).not_in(tuple(spent)),
    )
    rows = session.exec(
        select(m.Person, m.Unit)
        .join(m.Unit, col(m.Unit.id) == m.Person.unit_id)
        .where(col(m.Person.active), col(m.Person.forgotten_at).is_(None), ~reached)
        .order_by(col(m.Unit.code), col(m.Person.full_name))
    ).all()
    idents: dict[int, list[m.Identity]] = {}
    ids = [p.id for p, _u in rows]
    for ident in session.exec(select(m.Identity).where(col(m.Identity.person_id).in_(ids))):
        idents.setdefault(ident.person_id, []).append(ident)
    invited: dict[int, dt.datetime] = {}
    for pid, first in session.exec(
        select(m.Invite.person_id, sa.func.min(m.Invite.created_at))
        .where(col(m.Invite.person_id).is_not(None))
        .group_by(col(m.Invite.person_id))
    ):
        if pid is not None and first is not None:
            invited[pid] = _aware(first)
    for person, unit in rows:
        assert person.id is not None  # stored
        own = idents.get(person.id, [])
        if not own:
            out.append(Unreachable(person, unit, "never_registered", invited.get(person.id)))
            continue
        reachable = [i for i in own if i.reachable]
        if not reachable:
            reasons = sorted({i.unreachable_reason or "unreachable" for i in own})
            out.append(Unreachable(person, unit, "blocked", None, ", ".join(reasons)))
        elif all(i.channel in spent for i in reachable):
            channels = ", ".join(sorted({i.channel for i in reachable}))
            out.append(Unreachable(person, unit, "quota", None, channels))
    return out


def _aware(value: dt.datetime | str) -> dt.datetime:
    """min() over a timestamp comes back as text on SQLite: aware UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def spent_channels(*, session: Session, now: dt.datetime) -> frozenset[str]:
    """Channels paused (a monthly quota spent) now."""
    return frozenset(
        s.channel
        for s in session.exec(select(m.ChannelState))
        if s.paused_until is not None and s.paused_until > now
    )


# --- personal data ------------------------------------------------------------------------


def export_person(*, session: Session, person: m.Person) -> dict[str, object]:
    """Everything stored about the person (Nghị định 13/2023/NĐ-CP: the right to see it)."""

    def rows(model: type[SQLModel], where: sa.ColumnElement[bool]) -> list[dict[str, object]]:
        found: list[SQLModel] = list(session.exec(select(model).where(where)))
        return [r.model_dump(mode="json") for r in found]

    pid = person.id
    return {
        "person": person.model_dump(mode="json"),
        "identities": rows(m.Identity, col(m.Identity.person_id) == pid),
        "invites": rows(m.Invite, col(m.Invite.person_id) == pid),
        "reports": rows(m.Report, col(m.Report.person_id) == pid),
        "nominations_proposed": rows(m.Nomination, col(m.Nomination.proposer_id) == pid),
        "nominations_of": rows(m.Nomination, col(m.Nomination.nominee_person_id) == pid),
        "audit": rows(m.AuditEvent, col(m.AuditEvent.person_id) == pid),
    }


def forget(*, session: Session, person: m.Person, now: dt.datetime, by: str) -> list[Path]:
    """Remove the person's identifying data (name, phone, email, staff number, chat ids,
    attachments) and keep their records, anonymised, so the figures still add up. The files
    to delete once the transaction commits."""
    pid = person.id
    label = _("Person #{id} (data removed)").format(id=pid)
    person.full_name, person.phone, person.email = label, None, None
    person.staff_no = person.position = person.away_reason = None
    person.active, person.forgotten_at = False, now
    person.left_at = person.left_at or now
    session.add(person)
    for ident in session.exec(select(m.Identity).where(m.Identity.person_id == pid)):
        session.exec(
            sa.delete(m.Conversation).where(
                col(m.Conversation.channel) == ident.channel,
                col(m.Conversation.chat_id) == ident.chat_id,
            )
        )
    session.exec(sa.delete(m.Identity).where(col(m.Identity.person_id) == pid))
    session.exec(sa.update(m.Invite).where(col(m.Invite.person_id) == pid).values(full_name=None))
    files: list[Path] = []
    for report in session.exec(select(m.Report).where(m.Report.person_id == pid)):
        if report.evidence_path:
            files.append(Path(report.evidence_path))
        report.evidence_path = report.evidence_ref = None
        session.add(report)
    session.exec(
        sa.update(m.Nomination)
        .where(col(m.Nomination.nominee_person_id) == pid)
        .values(nominee_name=label, nominee_key=f"person:{pid}")
    )
    session.exec(
        sa.update(m.AuditEvent)
        .where(col(m.AuditEvent.person_id) == pid)
        .values(chat_id=None, detail={})
    )
    audit(session=session, action="person.forget", person_id=pid, subject=by)
    return files

"""Registration (đăng ký thi đua): the titles each person and each unit aims for this year.

A person registers individual titles for themselves; a unit head (or the office) registers the
collective ones for their unit. One row per registrant, edited until the window closes; its
receipt (DK-2022-0001) stays. The clerk sees the registrations against the targets
(`tally`); a nomination for a title its nominee did not register is warned of or refused, as
the campaign file says (`registered_for`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.campaign import Audience, Campaign, Title
from bot.core.i18n import _
from bot.core.store import audit, next_receipt

KIND = "DK"


class WindowClosed(Exception):
    """Registrations are taken only inside the campaign's window."""


def registrable(campaign: Campaign, audience: str) -> list[Title]:
    """The titles one registers for `audience` (danh hiệu thi đua; not award forms)."""
    return [t for t in campaign.titles if t.registrable and audience in t.for_]


def subject_for(*, audience: str, person_id: int | None, unit_id: int | None) -> str:
    return f"person:{person_id}" if audience == "individual" else f"unit:{unit_id}"


def find(*, session: Session, campaign_id: int, subject: str) -> m.Registration | None:
    return session.exec(
        select(m.Registration).where(
            m.Registration.campaign_id == campaign_id, m.Registration.subject == subject
        )
    ).first()


def registered_for(*, session: Session, campaign_id: int, subject: str | None) -> list[str]:
    """The title codes `subject` (a nominee key) registered; none for a typed name."""
    if subject is None:
        return []
    found = find(session=session, campaign_id=campaign_id, subject=subject)
    return list(found.titles) if found else []


def save(
    *,
    session: Session,
    campaign_row: m.Campaign,
    campaign: Campaign,
    registrant: m.Person,
    audience: Audience,
    unit_id: int,
    titles: list[str],
    now: dt.datetime,
    local_day: dt.date,
) -> tuple[m.Registration, bool]:
    """Register (or change the registration of) `titles`: (the row, whether it is new)."""
    window = campaign.registration
    if window is None or not window.open_on(local_day):
        raise WindowClosed
    assert campaign_row.id is not None and registrant.id is not None  # stored rows
    person_id = registrant.id if audience == "individual" else None
    subject = subject_for(audience=audience, person_id=person_id, unit_id=unit_id)
    row = find(session=session, campaign_id=campaign_row.id, subject=subject)
    new = row is None
    if row is None:
        _ensure_counter(session, campaign_row)
        row = m.Registration(
            campaign_id=campaign_row.id,
            receipt=next_receipt(session=session, campaign=campaign_row, kind=KIND),
            subject=subject,
            audience=audience,
            unit_id=unit_id,
            nominee_person_id=person_id,
            nominee_unit_id=unit_id if audience == "collective" else None,
            created_at=now,
            updated_at=now,
        )
    old = list(row.titles or [])
    row.titles, row.person_id, row.updated_at = list(titles), registrant.id, now
    session.add(row)
    session.flush()
    audit(
        session=session,
        action="registration.save" if new else "registration.edit",
        person_id=registrant.id,
        subject=row.receipt,
        detail={"titles": list(titles), **({} if new else {"old": old})},
    )
    return row, new


def _ensure_counter(session: Session, campaign_row: m.Campaign) -> None:
    """Campaigns stored before registration existed have no DK counter yet."""
    assert campaign_row.id is not None  # a stored row
    if session.get(m.Counter, (campaign_row.id, KIND)) is None:
        session.add(m.Counter(campaign_id=campaign_row.id, kind=KIND, value=0))
        session.flush()


def registrations(
    *, session: Session, campaign_id: int, unit_id: int | None = None
) -> list[m.Registration]:
    query = select(m.Registration).where(m.Registration.campaign_id == campaign_id)
    if unit_id is not None:
        query = query.where(m.Registration.unit_id == unit_id)
    return [r for r in session.exec(query.order_by(col(m.Registration.receipt))) if r.titles]


def units_without(*, session: Session, campaign_id: int) -> list[m.Unit]:
    """Active units (not the office) with no collective registration."""
    done = {
        r.unit_id
        for r in registrations(session=session, campaign_id=campaign_id)
        if r.audience == "collective"
    }
    units = session.exec(
        select(m.Unit)
        .where(col(m.Unit.active).is_(True), col(m.Unit.office).is_(False))
        .order_by(m.Unit.name)
    )
    return [u for u in units if u.id not in done]


@dataclass(frozen=True)
class TallyLine:
    """A title's registrations against its target: "CSTĐ cơ sở: 11 registered / target 9"."""

    code: str
    name: str
    audience: str
    registered: int
    target: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "for": self.audience,
            "registered": self.registered,
            "target": self.target,
        }


def tally(
    *, session: Session, campaign_id: int, campaign: Campaign, unit_id: int | None = None
) -> list[TallyLine]:
    """Each registrable title that has registrations or a target of its own (nothing while
    nobody has registered); with `unit_id`, that unit's registrations against its own share of
    the targets when the file gives one."""
    counts: Counter[str] = Counter()
    for r in registrations(session=session, campaign_id=campaign_id, unit_id=unit_id):
        counts.update(set(r.titles))
    people = _count(session, m.Person, unit_id)
    units = _count(session, m.Unit, unit_id)
    lines: list[TallyLine] = []
    if not counts:  # nobody has registered: nothing to set against the targets yet
        return lines
    for title in campaign.titles:
        if not title.registrable:
            continue
        audience = title.for_[0]
        target = _target(
            campaign, title.code, unit_id, people=people, units=units, session=session
        )
        if counts[title.code] or target is not None:
            lines.append(TallyLine(title.code, title.name, audience, counts[title.code], target))
    return lines


def _count(session: Session, model: type[m.Person] | type[m.Unit], unit_id: int | None) -> int:
    if model is m.Person:
        query = select(m.Person.id).where(col(m.Person.active).is_(True))
        if unit_id is not None:
            query = query.where(m.Person.unit_id == unit_id)
    else:
        query = select(m.Unit.id).where(
            col(m.Unit.active).is_(True), col(m.Unit.office).is_(False)
        )
        if unit_id is not None:
            query = query.where(m.Unit.id == unit_id)
    return len(list(session.exec(query)))


def _target(
    campaign: Campaign,
    code: str,
    unit_id: int | None,
    *,
    people: int,
    units: int,
    session: Session,
) -> int | None:
    """The year's target for the title alone (a line naming only this title); a percentage
    is of the staff (individual) or of the units (collective), rounded up."""
    unit_code = None
    if unit_id is not None:
        unit = session.get(m.Unit, unit_id)
        unit_code = unit.code if unit else None
    total = None
    for t in campaign.targets:
        if t.titles != [code] or t.phase is not None or t.thematic is not None:
            continue
        if unit_code is not None:
            if unit_code in t.units:
                goal: int | None = t.units[unit_code]
            elif t.percent is not None:
                goal = math.ceil(
                    float(t.percent) * (people if t.for_ == "individual" else units) / 100
                )
            else:
                continue
        elif t.count is not None:
            goal = t.count
        elif t.percent is not None:
            base = people if t.for_ == "individual" else units
            goal = math.ceil(float(t.percent) * base / 100)
        elif t.units:
            goal = sum(t.units.values())
        else:
            goal = None
        if goal is not None:
            total = (total or 0) + goal
    return total


def tally_line(t: TallyLine) -> str:
    """ "CSTĐ cơ sở: 11 registered / target 9" (the target left out when there is none)."""
    if t.target is None:
        return _("{title}: {n} registered").format(title=t.name, n=t.registered)
    return _("{title}: {n} registered / target {target}").format(
        title=t.name, n=t.registered, target=t.target
    )


def tally_text(lines: list[TallyLine]) -> str:
    """The clerk's block: a heading and one line per title ("" when there is nothing)."""
    if not lines:
        return ""
    return "\n".join(
        [_("Registrations (đăng ký thi đua):"), *(f"- {tally_line(t)}" for t in lines)]
    )

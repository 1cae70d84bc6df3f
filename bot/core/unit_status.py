"""Where each unit stands in a phase, computed by SQL aggregation: its phase report filed or
not, its personal reports by area, its people and the unreachable among them, its heads.

`tally_reports` is the one answer to "has the unit filed its phase report?": `/tonghop`, the
exports, the deadline digest and `/remind` all read it. `compile_summary` (bot/core/summary.py)
folds these tallies into a `Summary`; `unit_statuses` is what the digest and the nudges read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from bot.core import models as m
from bot.core.clock import LOCAL
from bot.core.roles import Role

LIST_MAX = 30  # unreachable people named in a summary (the count is always exact)
REVIEW_REPORTS = ("submitted",)  # what waits for the office's accept / return


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    office: bool = False

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name}


@dataclass
class UnitStatus:
    unit: UnitRef
    filed: bool = False
    receipt: str | None = None  # the unit's phase report (the first, if several)
    filed_at: dt.datetime | None = None
    personal: int = 0
    by_area: dict[str, int] = field(default_factory=dict)
    people: int = 0
    unreachable: int = 0
    heads: list[str] = field(default_factory=list)  # the unit heads' names (pushes name them)

    @property
    def head_names(self) -> str:
        return ", ".join(self.heads)

    @property
    def expected(self) -> bool:
        """Units file a phase report; the office (Văn phòng Sở) compiles them instead."""
        return not self.unit.office

    @property
    def filed_on(self) -> dt.date | None:
        return self.filed_at.astimezone(LOCAL).date() if self.filed_at else None


def expected_units(statuses: list[UnitStatus]) -> list[UnitStatus]:
    """The units expected to file a phase report: every active unit but the office."""
    return [s for s in statuses if s.expected]


def owing(statuses: list[UnitStatus]) -> list[UnitStatus]:
    """The one definition of "units that owe a report": expected to file the phase report
    (active, not the office) and not filed yet. `/tonghop`, the deadline digest, the nudges,
    `/remind` and the exports all read it."""
    return [s for s in expected_units(statuses) if not s.filed]


def unit_table(session: Session, *, unit_id: int | None, by: Mapped[Any]) -> dict[int, UnitStatus]:
    """Every active unit (or the one unit, active or not) in `by` order, none counted yet."""
    which = col(m.Unit.active) if unit_id is None else col(m.Unit.id) == unit_id
    units_q = select(col(m.Unit.id), col(m.Unit.code), col(m.Unit.name), col(m.Unit.office))
    status: dict[int, UnitStatus] = {}
    for key, code, name, office in session.exec(units_q.where(which).order_by(by)):
        assert key is not None  # a primary key
        status[key] = UnitStatus(unit=UnitRef(key, code, name, office))
    return status


# --- the phase's reports ----------------------------------------------------------------------


def _phase_reports(
    campaign_id: int, phase: int, unit_id: int | None
) -> list[sa.ColumnElement[bool]]:
    cond = [col(m.Report.campaign_id) == campaign_id, col(m.Report.phase) == phase]
    if unit_id is not None:
        cond.append(col(m.Report.unit_id) == unit_id)
    return cond


def tally_reports(
    session: Session,
    *,
    campaign_id: int,
    phase: int,
    unit_id: int | None,
    status: dict[int, UnitStatus],
    by_area: dict[str, int],
) -> int:
    """Fold the phase's reports into `status` (filed, receipts, personal counts by area) and
    `by_area`; the number of reports waiting for review.

    Personal reports are read as counts from `report_tally` (kept by triggers, migration
    0023): a few hundred rows where the reports are tens of thousands. Unit reports (one or
    two a unit) are read from `report`, grouped, for their first receipt and time.
    """
    pending = 0
    t = m.ReportTally
    tally_q = select(col(t.area), col(t.status), col(t.unit_id), col(t.n)).where(
        col(t.campaign_id) == campaign_id, col(t.phase) == phase, col(t.n) > 0
    )
    if unit_id is not None:
        tally_q = tally_q.where(col(t.unit_id) == unit_id)
    for area, state, unit, n in session.exec(tally_q):
        if state == "withdrawn":
            continue
        if state in REVIEW_REPORTS:
            pending += n
        by_area[area] = by_area.get(area, 0) + n
        if unit in status:
            status[unit].personal += n
            status[unit].by_area[area] = status[unit].by_area.get(area, 0) + n
    # sqlmodel's select() is typed up to four columns; for more it builds this Select.
    units_q: Select[str, int, int, str, dt.datetime | str | None] = Select(
        col(m.Report.status),
        col(m.Report.unit_id),
        func.count(),
        func.min(m.Report.receipt),
        func.min(m.Report.created_at),
    )
    units_q = units_q.where(
        *_phase_reports(campaign_id, phase, unit_id), col(m.Report.scope) == "unit"
    ).group_by(  # in the order of ix_report_tally, so it is read from that index alone
        col(m.Report.area), col(m.Report.status), col(m.Report.unit_id)
    )
    for state, unit, n, receipt, at in session.exec(units_q):
        if state == "withdrawn":
            continue
        if state in REVIEW_REPORTS:
            pending += n
        if unit in status:
            _filed(status[unit], receipt, _aware(at))
    return pending


def _filed(s: UnitStatus, receipt: str, at: dt.datetime | None) -> None:
    """Note a unit phase report; the first receipt and the earliest time win."""
    if not s.filed or receipt < (s.receipt or ""):
        s.receipt = receipt
    s.filed_at = min(s.filed_at, at) if s.filed_at and at else (s.filed_at or at)
    s.filed = True


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """min() over a timestamp column comes back as text on SQLite; make it aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- people -----------------------------------------------------------------------------------


def _reachable_elsewhere() -> sa.Exists:
    return sa.exists().where(
        col(m.Identity.person_id) == col(m.Person.id), col(m.Identity.reachable)
    )


def tally_people(
    session: Session, *, unit_id: int | None, status: dict[int, UnitStatus]
) -> tuple[int, int]:
    """Fold active people and the unreachable among them (no reachable identity) into
    `status`, by unit; the two totals."""
    people_q = select(col(m.Person.unit_id), func.count()).where(col(m.Person.active))
    unreach_q = select(col(m.Person.unit_id), func.count()).where(
        col(m.Person.active), ~_reachable_elsewhere()
    )
    if unit_id is not None:
        people_q = people_q.where(col(m.Person.unit_id) == unit_id)
        unreach_q = unreach_q.where(col(m.Person.unit_id) == unit_id)
    people = 0
    for unit, n in session.exec(people_q.group_by(col(m.Person.unit_id))):
        people += n
        if unit in status:
            status[unit].people = n
    unreachable = 0
    for unit, n in session.exec(unreach_q.group_by(col(m.Person.unit_id))):
        unreachable += n
        if unit in status:
            status[unit].unreachable = n
    return people, unreachable


def unreachable_people(
    session: Session, *, unit_id: int | None, status: dict[int, UnitStatus]
) -> list[tuple[str, UnitRef]]:
    """The first LIST_MAX unreachable people, by unit and name, of the units in `status`."""
    named_q = (
        select(col(m.Person.full_name), col(m.Person.unit_id))
        .where(col(m.Person.active), ~_reachable_elsewhere())
        .order_by(col(m.Person.unit_id), col(m.Person.full_name))
        .limit(LIST_MAX)
    )
    if unit_id is not None:
        named_q = named_q.where(col(m.Person.unit_id) == unit_id)
    return [(name, status[unit].unit) for name, unit in session.exec(named_q) if unit in status]


def people_who_filed(*, session: Session, campaign_id: int, phase: int) -> set[int]:
    """The people with a report in the phase (of any scope, not withdrawn): a personal
    reminder is for the others only."""
    query = (
        select(col(m.Report.person_id))
        .where(*_phase_reports(campaign_id, phase, None), col(m.Report.status) != "withdrawn")
        .distinct()
    )
    return set(session.exec(query))


def head_contacts(*, session: Session, unit_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    """Each unit's active heads as (name, phone or ""), for the clerk's late list."""
    query = (
        select(col(m.Person.unit_id), col(m.Person.full_name), col(m.Person.phone))
        .where(
            col(m.Person.role) == Role.HEAD,
            col(m.Person.active),
            col(m.Person.unit_id).in_(tuple(unit_ids)),
        )
        .order_by(col(m.Person.full_name))
    )
    found: dict[int, list[tuple[str, str]]] = {}
    for unit, name, phone in session.exec(query):
        found.setdefault(unit, []).append((name, phone or ""))
    return found


def away_people(
    session: Session, *, unit_id: int | None, status: dict[int, UnitStatus], today: dt.date
) -> list[tuple[str, UnitRef, dt.date]]:
    """The active people away (/vang) today, with the day they are back after, by unit and
    name (at most LIST_MAX)."""
    q = (
        select(col(m.Person.full_name), col(m.Person.unit_id), col(m.Person.away_until))
        .where(col(m.Person.active), col(m.Person.away_until) >= today)
        .order_by(col(m.Person.unit_id), col(m.Person.full_name))
        .limit(LIST_MAX)
    )
    if unit_id is not None:
        q = q.where(col(m.Person.unit_id) == unit_id)
    return [
        (name, status[unit].unit, until)
        for name, unit, until in session.exec(q)
        if unit in status and until is not None
    ]


def unit_statuses(*, session: Session, campaign_id: int, phase: int) -> list[UnitStatus]:
    """Every active unit, by name, with its phase report filed or not, its personal reports and
    its active heads' names: what the deadline digest and the nudges are written from."""
    status = unit_table(session, unit_id=None, by=col(m.Unit.name))
    tally_reports(
        session, campaign_id=campaign_id, phase=phase, unit_id=None, status=status, by_area={}
    )
    heads_q = (
        select(col(m.Person.unit_id), col(m.Person.full_name))
        .where(col(m.Person.role) == Role.HEAD, col(m.Person.active))
        .order_by(col(m.Person.full_name))
    )
    for unit, name in session.exec(heads_q):
        if unit in status:
            status[unit].heads.append(name)
    return list(status.values())

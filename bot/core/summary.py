"""Where the campaign stands: the clerk's figures, every one computed by SQL aggregation.

`compile_summary` runs a handful of GROUP BY queries (unit phase reports, personal reports by
unit and area, people and unreachable people by unit, nominations by audience and title) and
folds their few result rows into a `Summary`; no report or nomination row is loaded to count.
The chat text, the chart, the JSON of `thidua summary` and the exports all read a `Summary`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, func, select

from bot.core import models as m
from bot.core.campaign import Campaign, Phase, Target
from bot.core.clock import LOCAL
from bot.core.i18n import _, format_day
from bot.core.nominations import COUNTING
from bot.core.roles import Role

LIST_MAX = 30  # unreachable people named in a summary (the count is always exact)
REVIEW_REPORTS = ("submitted",)  # what waits for the office's accept / return
REVIEW_NOMINATIONS = ("proposed", "endorsed")
PENDING_NOMINATIONS = ("endorsed",)  # endorsed by the head: the office's turn


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    office: bool = False

    def to_json(self) -> dict:
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


@dataclass(frozen=True)
class AreaCount:
    code: str
    name: str
    reports: int


@dataclass(frozen=True)
class TargetLine:
    target: Target
    label: str  # the titles' names
    achieved: int  # nominations that count (endorsed or accepted)
    base: int  # people (individual) or non-office units (collective) for a percentage

    @property
    def audience(self) -> str:
        return self.target.for_

    @property
    def achieved_percent(self) -> int | None:
        if self.target.percent is None or self.base <= 0:
            return None
        return (self.achieved * 100 + self.base // 2) // self.base

    @property
    def met(self) -> bool:
        if self.target.percent is not None:
            return (self.achieved_percent or 0) >= self.target.percent
        return self.achieved >= (self.target.count or 0)

    def figure(self) -> str:
        """'7/9', '1/1–2', or '84 % (target 100 %)'."""
        t = self.target
        if t.percent is not None:
            return _("{pct} % (target {target} %)").format(
                pct=self.achieved_percent if self.achieved_percent is not None else 0,
                target=t.percent,
            )
        goal = f"{t.count}–{t.count_max}" if t.count_max else f"{t.count}"
        return f"{self.achieved}/{goal}"

    def to_json(self) -> dict:
        t = self.target
        return {
            "for": t.for_,
            "text": t.text,
            "titles": list(t.titles),
            "label": self.label,
            "count": t.count,
            "count_max": t.count_max,
            "percent": t.percent,
            "achieved": self.achieved,
            "base": self.base if t.percent is not None else None,
            "achieved_percent": self.achieved_percent,
            "met": self.met,
            "figure": self.figure(),
        }


@dataclass
class Summary:
    campaign_code: str
    year: int
    phase: Phase
    today: dt.date
    unit: UnitRef | None  # a one-unit summary (a head's, or /summary <unit>)
    units: list[UnitStatus]
    areas: list[AreaCount]
    targets: list[TargetLine]
    unreachable: list[tuple[str, UnitRef]]  # at most LIST_MAX, by unit
    unreachable_count: int
    pending_reports: int
    pending_nominations: int
    people: int

    @property
    def days_left(self) -> int:
        return (self.phase.deadline - self.today).days

    @property
    def expected(self) -> list[UnitStatus]:
        return [u for u in self.units if u.expected]

    @property
    def filed(self) -> list[UnitStatus]:
        return [u for u in self.units if u.filed]

    @property
    def not_filed(self) -> list[UnitStatus]:
        return [u for u in self.expected if not u.filed]

    @property
    def personal_total(self) -> int:
        return sum(u.personal for u in self.units)

    def deadline_text(self) -> str:
        left = self.days_left
        if left > 0:
            return _("{n} days left").format(n=left)
        if left == 0:
            return _("the deadline is today")
        return _("{n} days past the deadline").format(n=-left)

    def to_json(self) -> dict:
        p = self.phase
        return {
            "campaign": self.campaign_code,
            "year": self.year,
            "as_of": self.today.isoformat(),
            "phase": {
                "number": p.number,
                "name": p.name,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "deadline": p.deadline.isoformat(),
                "days_left": self.days_left,
            },
            "unit": self.unit.to_json() if self.unit else None,
            "units": [
                {
                    **u.unit.to_json(),
                    "office": u.unit.office,
                    "expected": u.expected,
                    "filed": u.filed,
                    "receipt": u.receipt,
                    "filed_on": u.filed_on.isoformat() if u.filed_on else None,
                    "personal_reports": u.personal,
                    "by_area": dict(u.by_area),
                    "people": u.people,
                    "unreachable": u.unreachable,
                }
                for u in self.units
            ],
            "filed": [u.unit.to_json() for u in self.filed],
            "not_filed": [u.unit.to_json() for u in self.not_filed],
            "personal_reports": self.personal_total,
            "areas": [{"code": a.code, "name": a.name, "reports": a.reports} for a in self.areas],
            "targets": [t.to_json() for t in self.targets],
            "people": self.people,
            "unreachable": {
                "count": self.unreachable_count,
                "people": [{"name": n, "unit": u.to_json()} for n, u in self.unreachable],
            },
            "pending_review": {
                "reports": self.pending_reports,
                "nominations": self.pending_nominations,
            },
        }


# --- choosing what to compile -----------------------------------------------------------------


def current_phase(campaign: Campaign, today: dt.date) -> Phase:
    """The open phase (two open: the one due first); else the last closed; else the first."""
    open_now = [p for p in campaign.phases if p.open_for_reports(today)]
    if open_now:
        return min(open_now, key=lambda p: p.deadline)
    closed = [p for p in campaign.phases if p.deadline < today]
    if closed:
        return max(closed, key=lambda p: p.deadline)
    return min(campaign.phases, key=lambda p: p.start)


def find_unit(*, session: Session, code: str) -> m.Unit | None:
    return session.exec(
        select(m.Unit).where(func.upper(m.Unit.code) == code.strip().upper())
    ).first()


def unit_ref(unit: m.Unit) -> UnitRef:
    return UnitRef(unit.id, unit.code, unit.name, unit.office)


# --- the queries ------------------------------------------------------------------------------


def _phase_reports(campaign_id: int, phase: int, unit_id: int | None) -> list:
    cond = [m.Report.campaign_id == campaign_id, m.Report.phase == phase]
    if unit_id is not None:
        cond.append(m.Report.unit_id == unit_id)
    return cond


def _reachable_elsewhere() -> sa.Exists:
    return sa.exists().where(m.Identity.person_id == m.Person.id, m.Identity.reachable)


def counting_nominations(campaign_id: int, phase: int, unit_id: int | None) -> list:
    """Nominations that count, up to this phase (the targets are the year's)."""
    cond = [
        m.Nomination.campaign_id == campaign_id,
        m.Nomination.status.in_(COUNTING),  # type: ignore[attr-defined]
        sa.or_(m.Nomination.phase.is_(None), m.Nomination.phase <= phase),  # type: ignore[union-attr]
    ]
    if unit_id is not None:
        cond.append(m.Nomination.unit_id == unit_id)
    return cond


def _tally_reports(
    session: Session,
    *,
    campaign_id: int | None,
    phase: int,
    unit_id: int | None,
    status: dict[int, UnitStatus],
    by_area: dict[str, int],
) -> int:
    """Fold the phase's reports into `status` (filed, receipts, personal counts by area) and
    `by_area`; the number of reports waiting for review.

    This is the one answer to "has the unit filed its phase report?": `/tonghop`, the exports,
    the deadline digest and `/remind` all read it. One pass over the phase's reports, grouped by
    (scope, area, status, unit): grouping by unit first makes SQLite walk the unit index row by
    row; this order lets it read the phase's rows once, 3x faster at 100k.
    """
    pending = 0
    reports_q = (
        select(
            m.Report.scope,
            m.Report.area,
            m.Report.status,
            m.Report.unit_id,
            func.count(),
            func.min(m.Report.receipt),
            func.min(m.Report.created_at),
        )
        .where(*_phase_reports(campaign_id, phase, unit_id))
        .group_by(m.Report.scope, m.Report.area, m.Report.status, m.Report.unit_id)
    )
    for scope, area, state, unit, n, receipt, at in session.exec(reports_q):
        if state == "withdrawn":
            continue
        if state in REVIEW_REPORTS:
            pending += n
        if scope == "unit":
            if unit in status:
                _filed(status[unit], receipt, _aware(at))
            continue
        by_area[area] = by_area.get(area, 0) + n
        if unit in status:
            status[unit].personal += n
            status[unit].by_area[area] = status[unit].by_area.get(area, 0) + n
    return pending


def _filed(s: UnitStatus, receipt: str, at: dt.datetime | None) -> None:
    """Note a unit phase report; the first receipt and the earliest time win."""
    if not s.filed or receipt < (s.receipt or ""):
        s.receipt = receipt
    s.filed_at = min(s.filed_at, at) if s.filed_at and at else (s.filed_at or at)
    s.filed = True


def unit_statuses(*, session: Session, campaign_id: int, phase: int) -> list[UnitStatus]:
    """Every active unit, by name, with its phase report filed or not, its personal reports and
    its active heads' names: what the deadline digest and the nudges are written from."""
    units_q = select(m.Unit.id, m.Unit.code, m.Unit.name, m.Unit.office).where(m.Unit.active)
    refs = [UnitRef(*row) for row in session.exec(units_q.order_by(m.Unit.name))]
    status = {r.id: UnitStatus(unit=r) for r in refs}
    _tally_reports(
        session, campaign_id=campaign_id, phase=phase, unit_id=None, status=status, by_area={}
    )
    heads_q = (
        select(m.Person.unit_id, m.Person.full_name)
        .where(m.Person.role == Role.HEAD, m.Person.active)
        .order_by(m.Person.full_name)
    )
    for unit, name in session.exec(heads_q):
        if unit in status:
            status[unit].heads.append(name)
    return list(status.values())


def compile_summary(
    *,
    session: Session,
    campaign_row: m.Campaign,
    campaign: Campaign,
    today: dt.date,
    phase: int | None = None,
    unit: m.Unit | None = None,
) -> Summary:
    """The figures for one phase (default: the current one), all units or one."""
    ph = campaign.phase(phase) if phase is not None else current_phase(campaign, today)
    cid = campaign_row.id
    uid = unit.id if unit is not None else None

    units_q = select(m.Unit.id, m.Unit.code, m.Unit.name, m.Unit.office).where(m.Unit.active)
    if uid is not None:
        units_q = select(m.Unit.id, m.Unit.code, m.Unit.name, m.Unit.office).where(
            m.Unit.id == uid
        )
    refs = [UnitRef(*row) for row in session.exec(units_q.order_by(m.Unit.id))]
    status = {r.id: UnitStatus(unit=r) for r in refs}
    names = campaign.area_names
    by_area: dict[str, int] = {a.code: 0 for a in campaign.areas}  # thematic ones if used
    pending_r = _tally_reports(
        session, campaign_id=cid, phase=ph.number, unit_id=uid, status=status, by_area=by_area
    )

    people_q = select(m.Person.unit_id, func.count()).where(m.Person.active)
    unreach_q = select(m.Person.unit_id, func.count()).where(
        m.Person.active, ~_reachable_elsewhere()
    )
    if uid is not None:
        people_q = people_q.where(m.Person.unit_id == uid)
        unreach_q = unreach_q.where(m.Person.unit_id == uid)
    people = 0
    for unit_id, n in session.exec(people_q.group_by(m.Person.unit_id)):
        people += n
        if unit_id in status:
            status[unit_id].people = n
    unreachable_count = 0
    for unit_id, n in session.exec(unreach_q.group_by(m.Person.unit_id)):
        unreachable_count += n
        if unit_id in status:
            status[unit_id].unreachable = n
    named_q = (
        select(m.Person.full_name, m.Person.unit_id)
        .where(m.Person.active, ~_reachable_elsewhere())
        .order_by(m.Person.unit_id, m.Person.full_name)
        .limit(LIST_MAX)
    )
    if uid is not None:
        named_q = named_q.where(m.Person.unit_id == uid)
    unreachable = [
        (name, status[unit_id].unit)
        for name, unit_id in session.exec(named_q)
        if unit_id in status
    ]

    counts: dict[tuple[str, str], int] = {}
    nom_q = (
        select(m.Nomination.audience, m.Nomination.title_code, func.count())
        .where(*counting_nominations(cid, ph.number, uid))
        .group_by(m.Nomination.audience, m.Nomination.title_code)
    )
    for audience, title_code, n in session.exec(nom_q):
        counts[(audience, title_code)] = n
    collective_base = sum(1 for r in refs if not r.office)
    targets = [
        TargetLine(
            target=t,
            label=" / ".join(
                campaign.titles_by_code[c].name if c in campaign.titles_by_code else c
                for c in t.titles
            ),
            achieved=sum(counts.get((t.for_, code), 0) for code in t.titles),
            base=people if t.for_ == "individual" else collective_base,
        )
        for t in campaign.targets
    ]

    pend_n_cond = [
        m.Nomination.campaign_id == cid,
        m.Nomination.status.in_(PENDING_NOMINATIONS),  # type: ignore[attr-defined]
    ]
    if uid is not None:
        pend_n_cond.append(m.Nomination.unit_id == uid)
    pending_n = session.exec(select(func.count()).where(*pend_n_cond)).one()

    return Summary(
        campaign_code=campaign.code,
        year=campaign.year,
        phase=ph,
        today=today,
        unit=unit_ref(unit) if unit is not None else None,
        units=list(status.values()),
        areas=[AreaCount(code, names.get(code, code), n) for code, n in by_area.items()],
        targets=targets,
        unreachable=unreachable,
        unreachable_count=unreachable_count,
        pending_reports=pending_r,
        pending_nominations=pending_n,
        people=people,
    )


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """min() over a timestamp column comes back as text on SQLite; make it aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- labels shared by the text, the chart and the files ---------------------------------------


def status_labels() -> dict[str, str]:
    return {
        "submitted": _("Submitted"),
        "accepted": _("Accepted"),
        "returned": _("Returned"),
        "withdrawn": _("Withdrawn"),
        "proposed": _("Proposed"),
        "endorsed": _("Endorsed"),
    }


def audience_labels() -> dict[str, str]:
    return {"collective": _("Collectives"), "individual": _("Individuals")}  # the plan's order


def phase_label(phase: Phase) -> str:
    return _("{name} ({start} – {end})").format(
        name=phase.name, start=format_day(phase.start), end=format_day(phase.end)
    )


# --- the text -----------------------------------------------------------------------------


def render_text(summary: Summary, limit: int | None = None, *, office: bool = True) -> str:
    """The summary as one message; shortened (codes, no names) when over `limit` characters.

    `office`: the reader can act on what waits for review (/review is the office's).
    """
    from bot.core.i18n import render

    example = next((u.unit.code for u in summary.expected), "VP")
    context = {
        "s": summary,
        "phase_label": phase_label(summary.phase),
        "audiences": audience_labels(),
        "office": office,
    }
    full_pointer = _("Detail for one unit: /summary <unit code>, e.g. /summary {code}.")
    short_pointer = _(
        "Shortened to fit this chat. Detail for one unit: /summary <unit code>, "
        "e.g. /summary {code}."
    )
    one_unit = summary.unit is not None
    text = render(
        "clerk/summary.txt.j2",
        compact=False,
        pointer="" if one_unit else full_pointer.format(code=example),
        **context,
    )
    if limit is None or len(text) <= limit:
        return text
    pointer = "" if one_unit else short_pointer.format(code=example)
    text = render("clerk/summary.txt.j2", compact=True, pointer=pointer, **context)
    if len(text) <= limit:
        return text
    tail = "\n…" + (f"\n\n{pointer}" if pointer else "")
    return text[: max(0, limit - len(tail))].rsplit("\n", 1)[0] + tail

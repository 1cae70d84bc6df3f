"""Where the campaign stands: the clerk's figures, every one computed by SQL aggregation.

`compile_summary` runs a handful of GROUP BY queries (unit phase reports, personal reports by
unit and area, people and unreachable people by unit, nominations by audience and title) and
folds their few result rows into a `Summary`; no report or nomination row is loaded to count.
The units' side (phase reports, people) is tallied in bot/core/unit_status.py.
The chat text, the chart, the JSON of `thidua summary` and the exports all read a `Summary`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.core import models as m
from bot.core.campaign import Campaign, Phase, Target
from bot.core.i18n import _, format_day, format_percent, render
from bot.core.nominations import COUNTING
from bot.core.unit_status import (
    UnitRef,
    UnitStatus,
    away_people,
    expected_units,
    owing,
    tally_people,
    tally_reports,
    unit_table,
    unreachable_people,
)

REVIEW_NOMINATIONS = ("proposed", "endorsed")
PENDING_NOMINATIONS = ("endorsed",)  # endorsed by the head: the office's turn


@dataclass(frozen=True)
class AreaCount:
    code: str
    name: str
    reports: int


@dataclass(frozen=True)
class UnitShare:
    """One unit's figure against its own allocation of a target."""

    unit: UnitRef
    allocated: int
    achieved: int

    def to_json(self) -> dict:
        return {**self.unit.to_json(), "allocated": self.allocated, "achieved": self.achieved}


@dataclass(frozen=True)
class TargetLine:
    target: Target
    label: str  # the titles' names
    achieved: int  # nominations that count (endorsed or accepted)
    base: int  # people (individual) or non-office units (collective) for a percentage
    by_unit: tuple[UnitShare, ...] = ()  # a target allocated per unit

    @property
    def audience(self) -> str:
        return self.target.for_

    @property
    def goal(self) -> int | None:
        """The count to reach: the plan's, or the sum of the units' allocations."""
        t = self.target
        if t.count is not None:
            return t.count
        return sum(t.units.values()) if t.units else None

    @property
    def achieved_percent(self) -> int | None:
        if self.target.percent is None or self.base <= 0:
            return None
        return (self.achieved * 100 + self.base // 2) // self.base

    @property
    def met(self) -> bool:
        t = self.target
        ok = True
        if t.percent is not None:
            ok = (self.achieved_percent or 0) >= t.percent
        if self.goal is not None:
            ok = ok and self.achieved >= self.goal
        if self.by_unit:
            ok = ok and all(u.achieved >= u.allocated for u in self.by_unit)
        return ok

    def figure(self) -> str:
        """'7/9', '1/1–2', '84% (target 100%)', or both: '2/3; 84% (target 100%)'."""
        t = self.target
        parts = []
        if self.goal is not None:
            goal = f"{self.goal}–{t.count_max}" if t.count_max else f"{self.goal}"
            parts.append(f"{self.achieved}/{goal}")
        if t.percent is not None:
            parts.append(
                _("{pct} (target {target})").format(  # Babel's percentages: "27%"
                    pct=format_percent(self.achieved_percent or 0),
                    target=format_percent(float(t.percent)),
                )
            )
        if not parts:
            parts.append(str(self.achieved))
        return "; ".join(parts)

    def to_json(self) -> dict:
        t = self.target
        return {
            "for": t.for_,
            "text": t.text,
            "titles": list(t.titles),
            "label": self.label,
            "count": t.count,
            "count_max": t.count_max,
            "percent": float(t.percent) if t.percent is not None else None,
            "phase": t.phase,
            "goal": self.goal,
            "achieved": self.achieved,
            "base": self.base if t.percent is not None else None,
            "achieved_percent": self.achieved_percent,
            "met": self.met,
            "figure": self.figure(),
            "by_unit": [u.to_json() for u in self.by_unit],
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
    unreachable: list[tuple[str, UnitRef]]  # at most unit_status.LIST_MAX, by unit
    unreachable_count: int
    pending_reports: int
    pending_nominations: int
    people: int
    away: list[tuple[str, UnitRef, dt.date]] = field(default_factory=list)  # (name, unit, until)

    @property
    def days_left(self) -> int | None:
        """Days to the summing-up deadline; None when the phase has none."""
        deadline = self.phase.deadline
        return None if deadline is None else (deadline - self.today).days

    @property
    def expected(self) -> list[UnitStatus]:
        return expected_units(self.units)

    @property
    def filed(self) -> list[UnitStatus]:
        return [u for u in self.expected if u.filed]

    @property
    def not_filed(self) -> list[UnitStatus]:
        return owing(self.units)

    @property
    def personal_total(self) -> int:
        return sum(u.personal for u in self.units)

    def deadline_text(self) -> str:
        left = self.days_left
        if left is None:
            return _("no summing-up deadline")
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
                "deadline": p.deadline.isoformat() if p.deadline else None,
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
            "away": [
                {"name": n, "unit": u.to_json(), "until": d.isoformat()} for n, u, d in self.away
            ],
        }


# --- choosing what to compile -----------------------------------------------------------------


def current_phase(campaign: Campaign, today: dt.date) -> Phase:
    """The open phase (two open: the one due first); else the last closed; else the first."""
    open_now = [p for p in campaign.phases if p.open_for_reports(today)]
    if open_now:
        return min(open_now, key=lambda p: p.last_report_day)
    closed = [p for p in campaign.phases if p.last_report_day < today]
    if closed:
        return max(closed, key=lambda p: p.last_report_day)
    return min(campaign.phases, key=lambda p: p.start)


def find_unit(*, session: Session, code: str) -> m.Unit | None:
    return session.exec(
        select(m.Unit).where(func.upper(m.Unit.code) == code.strip().upper())
    ).first()


def unit_ref(unit: m.Unit) -> UnitRef:
    assert unit.id is not None  # a stored unit
    return UnitRef(unit.id, unit.code, unit.name, unit.office)


# --- the queries ------------------------------------------------------------------------------


def counting_nominations(
    campaign_id: int, phase: int, unit_id: int | None
) -> list[sa.ColumnElement[bool]]:
    """Nominations that count, up to this phase (the targets are the year's)."""
    cond = [
        col(m.Nomination.campaign_id) == campaign_id,
        col(m.Nomination.status).in_(COUNTING),
        sa.or_(col(m.Nomination.phase).is_(None), col(m.Nomination.phase) <= phase),
    ]
    if unit_id is not None:
        cond.append(col(m.Nomination.unit_id) == unit_id)
    return cond


def _targets(
    session: Session,
    campaign: Campaign,
    counting: list[sa.ColumnElement[bool]],
    *,
    people: int,
    collective_base: int,
    units: dict[str, UnitRef],
) -> list[TargetLine]:
    """The plan's targets against the `counting` nominations, by audience and title, per
    unit for a target allocated per unit, and only the đợt's for a target of one đợt."""
    counts: dict[tuple[int, int | None, str, str], int] = {}
    nom_q = (  # five columns: past sqlmodel's typed select, so Core
        sa.select(
            col(m.Nomination.unit_id),
            col(m.Nomination.phase),
            col(m.Nomination.audience),
            col(m.Nomination.title_code),
            func.count(),
        )
        .where(*counting)
        .group_by(
            col(m.Nomination.unit_id),
            col(m.Nomination.phase),
            col(m.Nomination.audience),
            col(m.Nomination.title_code),
        )
    )
    session.flush()  # Core below does not autoflush
    for unit_id, phase, audience, title_code, n in session.connection().execute(nom_q):
        counts[(unit_id, phase, audience, title_code)] = n

    def achieved(t: Target, unit_id: int | None = None) -> int:
        return sum(
            n
            for (uid, phase, audience, code), n in counts.items()
            if audience == t.for_
            and code in t.titles
            and (t.phase is None or phase == t.phase)
            and (unit_id is None or uid == unit_id)
        )

    return [
        TargetLine(
            target=t,
            label=" / ".join(
                campaign.titles_by_code[c].name if c in campaign.titles_by_code else c
                for c in t.titles
            )
            or t.text,
            achieved=achieved(t),
            base=people if t.for_ == "individual" else collective_base,
            by_unit=tuple(
                UnitShare(units[code], allocated, achieved(t, units[code].id))
                for code, allocated in t.units.items()
                if code in units
            ),
        )
        for t in campaign.targets
    ]


def _pending_nominations(session: Session, campaign_id: int, unit_id: int | None) -> int:
    """Nominations endorsed by a head, waiting for the office."""
    cond = [
        col(m.Nomination.campaign_id) == campaign_id,
        col(m.Nomination.status).in_(PENDING_NOMINATIONS),
    ]
    if unit_id is not None:
        cond.append(col(m.Nomination.unit_id) == unit_id)
    return session.exec(select(func.count()).where(*cond)).one()


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
    assert cid is not None  # a stored campaign
    uid = unit.id if unit is not None else None

    status = unit_table(session, unit_id=uid, by=col(m.Unit.id))
    by_area: dict[str, int] = {a.code: 0 for a in campaign.areas}  # thematic ones if used
    pending_r = tally_reports(
        session, campaign_id=cid, phase=ph.number, unit_id=uid, status=status, by_area=by_area
    )
    people, unreachable_count = tally_people(session, unit_id=uid, status=status)
    unreachable = unreachable_people(session, unit_id=uid, status=status)
    targets = _targets(
        session,
        campaign,
        counting_nominations(cid, ph.number, uid),
        people=people,
        collective_base=sum(1 for s in status.values() if not s.unit.office),
        units={s.unit.code: s.unit for s in status.values()},
    )
    pending_n = _pending_nominations(session, cid, uid)
    names = campaign.area_names
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
        away=away_people(session, unit_id=uid, status=status, today=today),
    )


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


HEADING = "\x02"  # the template's mark on a heading line, taken off by `render_parts`


def render_text(summary: Summary, limit: int | None = None, *, office: bool = True) -> str:
    """The summary as one message; shortened (codes, no names) when over `limit` characters.

    `office`: the reader can act on what waits for review (/review is the office's).
    """
    return render_parts(summary, limit, office=office)[0]


def render_parts(
    summary: Summary, limit: int | None = None, *, office: bool = True
) -> tuple[str, tuple[str, ...]]:
    """`render_text`, and the lines of it that head a part (a chat may set them in bold)."""
    text = _render(summary, limit, office=office)
    headings = tuple(
        line.removeprefix(HEADING).strip() for line in text.split("\n") if line.startswith(HEADING)
    )
    return text.replace(HEADING, ""), headings


def _render(summary: Summary, limit: int | None, *, office: bool) -> str:
    example = next((u.unit.code for u in summary.expected), "VP")
    context = {
        "s": summary,
        "phase_label": phase_label(summary.phase),
        "audiences": audience_labels(),
        "office": office,
        "H": HEADING,
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

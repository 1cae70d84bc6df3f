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
from bot.core.i18n import _, format_day, render
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
    unreachable: list[tuple[str, UnitRef]]  # at most unit_status.LIST_MAX, by unit
    unreachable_count: int
    pending_reports: int
    pending_nominations: int
    people: int
    away: list[tuple[str, UnitRef, dt.date]] = field(default_factory=list)  # (name, unit, until)

    @property
    def days_left(self) -> int:
        return (self.phase.deadline - self.today).days

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
            "away": [
                {"name": n, "unit": u.to_json(), "until": d.isoformat()} for n, u, d in self.away
            ],
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
) -> list[TargetLine]:
    """The plan's targets against the `counting` nominations, by audience and title."""
    counts: dict[tuple[str, str], int] = {}
    nom_q = (
        select(col(m.Nomination.audience), col(m.Nomination.title_code), func.count())
        .where(*counting)
        .group_by(col(m.Nomination.audience), col(m.Nomination.title_code))
    )
    for audience, title_code, n in session.exec(nom_q):
        counts[(audience, title_code)] = n
    return [
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


def render_text(summary: Summary, limit: int | None = None, *, office: bool = True) -> str:
    """The summary as one message; shortened (codes, no names) when over `limit` characters.

    `office`: the reader can act on what waits for review (/review is the office's).
    """
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

"""The tables every export writes: units' status, reports, nominations, targets.

Report and nomination rows are streamed from the database (`yield_per`), so a file of 100,000
rows is written in bounded memory; the small tables come from `Summary` values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from bot.core.i18n import _
from bot.core.summary import Summary, audience_labels, compile_summary, status_labels

BATCH = 2000


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 14
    kind: Literal["text", "int", "date", "percent"] = "text"


@dataclass(frozen=True)
class Percent:
    """A percentage in points (27 is 27 %): a number in XLSX, Babel's form in CSV and text."""

    points: float


@dataclass
class Table:
    key: str  # units | reports | nominations | targets
    name: str  # the sheet's name
    columns: list[Column]
    rows: Iterable[tuple]


@dataclass(frozen=True)
class Scope:
    """What an export covers: one phase, or (phase None) the whole campaign so far."""

    session: Session
    campaign_row: m.Campaign
    campaign: Campaign
    today: dt.date
    phase: int | None = None

    @property
    def phases(self) -> list[int]:
        if self.phase is not None:
            return [self.phase]
        return [p.number for p in self.campaign.phases if p.start <= self.today] or [
            self.campaign.phases[0].number
        ]

    def summaries(self) -> list[Summary]:
        return [
            compile_summary(
                session=self.session,
                campaign_row=self.campaign_row,
                campaign=self.campaign,
                today=self.today,
                phase=n,
            )
            for n in self.phases
        ]


def _local_day(value: dt.datetime | None) -> dt.date | None:
    return value.astimezone(LOCAL).date() if value is not None else None


def units_table(summaries: list[Summary]) -> Table:
    columns = [
        Column(_("Code"), 10),
        Column(_("Unit"), 40),
        Column(_("Office"), 10),
        Column(_("People"), 10, "int"),
        Column(_("Not reachable"), 14, "int"),
    ]
    for s in summaries:
        n = s.phase.number
        columns += [
            Column(_("Phase {n}: unit report").format(n=n), 22),
            Column(_("Phase {n}: receipt").format(n=n), 18),
            Column(_("Phase {n}: filed on").format(n=n), 16, "date"),
            Column(_("Phase {n}: personal reports").format(n=n), 18, "int"),
        ]
    yes, filed, missing = _("Yes"), _("Filed"), _("Not filed")
    rows = []
    first = summaries[0]
    for i, u in enumerate(first.units):
        row: list = [u.unit.code, u.unit.name, yes if u.unit.office else "", u.people]
        row.append(u.unreachable)
        for s in summaries:
            us = s.units[i]
            state = filed if us.filed else (missing if us.expected else "")
            row += [state, us.receipt, us.filed_on, us.personal]
        rows.append(tuple(row))
    return Table("units", _("Units"), columns, rows)


def targets_table(summary: Summary) -> Table:
    columns = [
        Column(_("For"), 12),
        Column(_("Target in the plan"), 60),
        Column(_("Titles"), 40),
        Column(_("Target"), 10),
        Column(_("Target %"), 10, "percent"),
        Column(_("Nominations"), 13, "int"),
        Column(_("Achieved %"), 12, "percent"),
        Column(_("Base"), 10, "int"),
        Column(_("Met"), 8),
    ]
    audiences = audience_labels()
    rows = []
    for t in summary.targets:
        goal = t.target
        # a count is a number, a range ("1–2") text, a percentage a percentage; a plan may
        # give both
        target: int | str | None = None
        if t.goal is not None:
            target = f"{t.goal}–{goal.count_max}" if goal.count_max else t.goal
        share = None if goal.percent is None else Percent(float(goal.percent))
        rows.append(
            (
                audiences.get(t.audience, t.audience),
                goal.text,
                t.label,
                target,
                share,
                t.achieved,
                None if t.achieved_percent is None else Percent(t.achieved_percent),
                t.base if goal.percent is not None else None,
                _("Yes") if t.met else _("No"),
            )
        )
        for part in t.by_unit:  # each unit against its own allocation
            rows.append(
                (
                    audiences.get(t.audience, t.audience),
                    f"  {part.unit.code}: {part.unit.name}",
                    t.label,
                    part.allocated,
                    None,
                    part.achieved,
                    None,
                    None,
                    _("Yes") if part.achieved >= part.allocated else _("No"),
                )
            )
    return Table("targets", _("Targets"), columns, rows)


def reports_table(scope: Scope) -> Table:
    columns = [
        Column(_("Receipt"), 16),
        Column(_("Phase"), 7, "int"),
        Column(_("Unit code"), 10),
        Column(_("Unit"), 34),
        Column(_("Reported by"), 24),
        Column(_("Kind"), 12),
        Column(_("Content area"), 36),
        Column(_("Title"), 36),
        Column(_("Achievement"), 60),
        Column(_("Evidence"), 12),
        Column(_("Status"), 12),
        Column(_("Office note"), 30),
        Column(_("Sent on"), 12, "date"),
        Column(_("Updated on"), 12, "date"),
    ]
    return Table("reports", _("Reports"), columns, _report_rows(scope))


def _report_rows(scope: Scope) -> Iterator[tuple]:
    """The reports table's rows, streamed; long only by its fourteen columns, each named once."""
    areas = scope.campaign.area_names
    statuses = status_labels()
    kinds = {"personal": _("Personal"), "unit": _("Unit report")}
    photo, document = _("Photo"), _("Document")
    r = m.Report
    # sqlmodel's select() is typed up to four columns; for more it builds this Select.
    columns: Select[
        str,
        int,
        str,
        str,
        str,
        str,
        str,
        str,
        str,
        int,
        int,
        str,
        str | None,
        dt.datetime,
        dt.datetime,
    ] = Select(
        col(r.receipt),
        col(r.phase),
        col(m.Unit.code),
        col(m.Unit.name),
        col(m.Person.full_name),
        col(r.scope),
        col(r.area),
        col(r.title),
        col(r.detail),
        _files_of_kind("photo"),
        _files_of_kind("document"),
        col(r.status),
        col(r.review_note),
        col(r.created_at),
        col(r.updated_at),
    )
    stmt = (
        columns.join(m.Unit, col(m.Unit.id) == r.unit_id)
        .join(m.Person, col(m.Person.id) == r.person_id)
        .where(r.campaign_id == scope.campaign_row.id, r.status != "withdrawn")
        .order_by(col(r.id))
    )
    if scope.phase is not None:
        stmt = stmt.where(r.phase == scope.phase)
    result = scope.session.exec(stmt.execution_options(yield_per=BATCH))
    for row in result:
        (receipt, phase, code, unit, person, kind, area, title, detail) = row[:9]
        photos, documents, status, note = row[9:13]
        yield (
            receipt,
            phase,
            code,
            unit,
            person,
            kinds.get(kind, kind),
            areas.get(area, area),
            title,
            detail,
            _files_cell(((photo, photos), (document, documents))),
            statuses.get(status, status),
            note,
            _local_day(row[13]),
            _local_day(row[14]),
        )


def _files_of_kind(kind: str) -> sa.ScalarSelect[int]:
    """SQL: how many evidence files of `kind` the report holds."""
    e = m.ReportEvidence
    return (
        sa.select(sa.func.count())
        .where(col(e.report_id) == m.Report.id, col(e.kind) == kind)
        .scalar_subquery()
    )


def _files_cell(counts: tuple[tuple[str, int], ...]) -> str | None:
    """ "Ảnh (2), Tài liệu" for two photos and a document; None for none."""
    parts = [label if n == 1 else f"{label} ({n})" for label, n in counts if n]
    return ", ".join(parts) or None


def nominations_table(scope: Scope) -> Table:
    columns = [
        Column(_("Receipt"), 16),
        Column(_("Phase"), 7, "int"),
        Column(_("Unit code"), 10),
        Column(_("Proposing unit"), 34),
        Column(_("For"), 12),
        Column(_("Nominee"), 30),
        Column(_("Title or award"), 36),
        Column(_("Form"), 20),
        Column(_("Basis"), 60),
        Column(_("Initiative"), 30),
        Column(_("Status"), 12),
        Column(_("Proposed by"), 24),
        Column(_("Office note"), 30),
        Column(_("Sent on"), 12, "date"),
    ]
    return Table("nominations", _("Nominations"), columns, _nomination_rows(scope))


def _nomination_rows(scope: Scope) -> Iterator[tuple]:
    """The nominations table's rows, streamed; long only by its columns, each named once."""
    titles = scope.campaign.titles_by_code
    statuses = status_labels()
    audiences = {"individual": _("Individual"), "collective": _("Collective")}
    forms = {"title": _("Emulation title"), "award": _("Award"), "rating": _("Rating")}
    n = m.Nomination
    proposer = aliased(m.Person)
    # sqlmodel's select() is typed up to four columns; for more it builds this Select.
    columns: Select[
        str,
        int | None,
        str,
        str,
        str,
        str,
        str,
        str,
        str | None,
        str,
        str,
        str | None,
        dt.datetime,
    ] = Select(
        col(n.receipt),
        col(n.phase),
        col(m.Unit.code),
        col(m.Unit.name),
        col(n.audience),
        col(n.nominee_name),
        col(n.title_code),
        col(n.basis),
        col(n.initiative),
        col(n.status),
        col(proposer.full_name),
        col(n.review_note),
        col(n.created_at),
    )
    stmt = (
        columns.join(m.Unit, col(m.Unit.id) == n.unit_id)
        .join(proposer, col(proposer.id) == n.proposer_id)
        .where(n.campaign_id == scope.campaign_row.id, n.status != "withdrawn")
        .order_by(col(n.id))
    )
    if scope.phase is not None:  # as in the summary: the year's nominations up to this phase
        stmt = stmt.where(col(n.phase).is_(None) | (col(n.phase) <= scope.phase))
    result = scope.session.exec(stmt.execution_options(yield_per=BATCH))
    for row in result:
        (receipt, phase, code, unit, audience, nominee, title_code) = row[:7]
        title = titles.get(title_code)
        yield (
            receipt,
            phase,
            code,
            unit,
            audiences.get(audience, audience),
            nominee,
            title.name if title else title_code,
            forms.get(title.kind, title.kind) if title else None,
            row[7],
            row[8],
            statuses.get(row[9], row[9]),
            row[10],
            row[11],
            _local_day(row[12]),
        )


def row_count(scope: Scope) -> int:
    """How many report and nomination rows `all_tables` will stream (for a progress bar)."""
    r, n = m.Report, m.Nomination
    reports = select(func.count()).where(
        r.campaign_id == scope.campaign_row.id, r.status != "withdrawn"
    )
    nominations = select(func.count()).where(
        n.campaign_id == scope.campaign_row.id, n.status != "withdrawn"
    )
    if scope.phase is not None:
        reports = reports.where(r.phase == scope.phase)
        nominations = nominations.where(col(n.phase).is_(None) | (col(n.phase) <= scope.phase))
    return scope.session.exec(reports).one() + scope.session.exec(nominations).one()


def all_tables(scope: Scope) -> list[Table]:
    summaries = scope.summaries()
    return [
        units_table(summaries),
        reports_table(scope),
        nominations_table(scope),
        targets_table(summaries[-1]),
    ]


def table(scope: Scope, key: str) -> Table:
    if key == "reports":
        return reports_table(scope)
    if key == "nominations":
        return nominations_table(scope)
    summaries = scope.summaries()
    return units_table(summaries) if key == "units" else targets_table(summaries[-1])

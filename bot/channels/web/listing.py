"""The desk's tables of reports and nominations: filters, folded search, keyset pages.

A page is the PAGE rows after a given id, newest first (`id < after`): each page costs the
same at row 100,000 as at row 1, where an OFFSET would read every row before it. The search
reads `report.search` (receipt, title and detail folded), so "bao cao" finds "báo cáo" with
one LIKE on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.core import models as m
from bot.core.text import fold

PAGE = 50
SEARCH_MAX = 100


@dataclass(frozen=True)
class Filters:
    """What the table is narrowed to (None: any). `unit_id` is forced for a unit head."""

    phase: int | None = None
    unit_id: int | None = None
    area: str | None = None
    status: str | None = None
    search: str = ""
    after: int | None = None


@dataclass
class Page:
    rows: list[tuple] = field(default_factory=list)
    total: int = 0
    next_after: int | None = None  # the `after` of the next page, if there is one


#: Matches of a search few enough to be read through the search index (see `reports`).
RARE = 1000


def _like(text: str) -> str:
    """The folded words as a LIKE pattern, with LIKE's own characters taken literally."""
    words = fold(text[:SEARCH_MAX])
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def report_conditions(campaign_id: int, f: Filters) -> list[sa.ColumnElement[bool]]:
    r = m.Report
    cond = [col(r.campaign_id) == campaign_id]
    if f.phase is not None:
        cond.append(col(r.phase) == f.phase)
    if f.unit_id is not None:
        cond.append(col(r.unit_id) == f.unit_id)
    if f.area:
        cond.append(col(r.area) == f.area)
    if f.status:
        cond.append(col(r.status) == f.status)
    if f.search.strip():
        cond.append(col(r.search).like(_like(f.search), escape="\\"))
    return cond


def reports(session: Session, campaign_id: int, f: Filters) -> Page:
    """One page of reports with their person's name and unit code, and how many match."""
    r, p, u = m.Report, m.Person, m.Unit
    cond = report_conditions(campaign_id, f)
    total: int | None = None
    matching: list[sa.ColumnElement[bool]] = cond
    if f.search.strip():
        # Counted first, from the search index alone. Few matches (rare words): the page
        # takes them from that count's index too; reading the reports newest first until
        # 51 match would look up every report on the way (three times slower at 100,000).
        total = session.exec(select(func.count()).select_from(r).where(*cond)).one()
        if total <= RARE:
            matching = [col(r.id).in_(sa.select(col(r.id)).where(*cond))]
    query = (
        sa.select(
            col(r.id),
            col(r.receipt),
            col(r.created_at),
            col(r.phase),
            col(r.area),
            col(r.scope),
            col(r.title),
            col(r.status),
            col(p.full_name),
            col(u.code),
        )
        .join(p, col(p.id) == col(r.person_id))
        .join(u, col(u.id) == col(r.unit_id))
        .where(*matching)
    )
    if f.after is not None:
        query = query.where(col(r.id) < f.after)
    rows = list(session.connection().execute(query.order_by(col(r.id).desc()).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    if total is None:
        if more or f.after is not None:
            total = session.exec(select(func.count()).select_from(r).where(*cond)).one()
        else:  # all of it is on this page
            total = len(rows)
    return Page(
        rows=[tuple(row) for row in rows],
        total=int(total),
        next_after=rows[-1][0] if more and rows else None,
    )


def nominations(session: Session, campaign_id: int, f: Filters) -> Page:
    """One page of nominations with their proposer's name and unit code."""
    n, p, u = m.Nomination, m.Person, m.Unit
    cond: list[sa.ColumnElement[bool]] = [col(n.campaign_id) == campaign_id]
    if f.phase is not None:
        cond.append(sa.or_(col(n.phase).is_(None), col(n.phase) == f.phase))
    if f.unit_id is not None:
        cond.append(col(n.unit_id) == f.unit_id)
    if f.status:
        cond.append(col(n.status) == f.status)
    total = session.exec(select(func.count()).select_from(n).where(*cond)).one()
    query = (
        select(n, col(p.full_name), col(u.code))
        .join(p, col(p.id) == col(n.proposer_id))
        .join(u, col(u.id) == col(n.unit_id))
        .where(*cond)
    )
    if f.after is not None:
        query = query.where(col(n.id) < f.after)
    rows = list(session.exec(query.order_by(col(n.id).desc()).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return Page(
        rows=[tuple(row) for row in rows],
        total=int(total),
        next_after=rows[-1][0].id if more and rows else None,
    )

"""What each page of the desk shows, read from the store: plain functions of a session, the
reader and the query, returning the template and its context. `desk.py` serves them.

A unit head reads their own unit only: every query is narrowed to it, and an item of another
unit is "not found" (`NotFound`), by URL too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, col, func, select

from bot.channels.web import listing
from bot.channels.web.checks import prechecks, prechecks_for
from bot.core import clock, personnel
from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from bot.core.i18n import _
from bot.core.reports import evidence_of, file_label
from bot.core.roles import OFFICE_ROLES
from bot.core.store import active_campaign
from bot.core.summary import (
    REVIEW_NOMINATIONS,
    audience_labels,
    compile_summary,
    current_phase,
    status_labels,
)
from bot.core.unit_status import REVIEW_REPORTS
from schedules import outbox

RECENT_PUSHES = 8
REPORT_STATUSES = ("submitted", "accepted", "returned", "withdrawn")
NOMINATION_STATUSES = ("proposed", "endorsed", "accepted", "returned", "withdrawn")


class NotFound(Exception):
    """No such page, or none this reader may see (a head asking for another unit's)."""


class Forbidden(Exception):
    """The page exists, but is the office's."""


@dataclass(frozen=True)
class Viewer:
    """Who reads the page: from their browser session."""

    person_id: int
    name: str
    role: str
    unit_id: int
    unit_code: str
    lang: str
    csrf: str
    session_id: int

    @property
    def office(self) -> bool:
        return self.role in OFFICE_ROLES

    def own_unit(self) -> int | None:
        """The unit every query is narrowed to: a head's own, the office none."""
        return None if self.office else self.unit_id


@dataclass(frozen=True)
class Store:
    """The turn's session, the active campaign and today's date."""

    session: Session
    row: m.Campaign
    campaign: Campaign
    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(LOCAL).date()

    @property
    def campaign_id(self) -> int:
        assert self.row.id is not None  # a stored campaign
        return self.row.id


def open_store(session: Session) -> Store:
    row, campaign = active_campaign(session=session)
    return Store(session, row, campaign, clock.now())


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() else None


def _phase(store: Store, value: str | None) -> int:
    """The phase asked for, or the current one."""
    asked = _int(value)
    numbers = {p.number for p in store.campaign.phases}
    if asked in numbers:
        assert asked is not None
        return asked
    return current_phase(store.campaign, store.today).number


def _units(store: Store, viewer: Viewer) -> list[m.Unit]:
    query = select(m.Unit).where(col(m.Unit.active)).order_by(col(m.Unit.code))
    if not viewer.office:
        query = select(m.Unit).where(col(m.Unit.id) == viewer.unit_id)
    return list(store.session.exec(query))


def _unit_asked(store: Store, viewer: Viewer, code: str | None) -> m.Unit | None:
    """The unit a filter names; a head naming another unit gets `NotFound`."""
    if not code:
        return None
    unit = store.session.exec(select(m.Unit).where(col(m.Unit.code) == code.upper())).first()
    if unit is None or (not viewer.office and unit.id != viewer.unit_id):
        raise NotFound
    return unit


# ---- the campaign -------------------------------------------------------------------------


def campaign_page(store: Store, viewer: Viewer) -> tuple[str, dict[str, Any]]:
    campaign, today = store.campaign, store.today
    now_phase = current_phase(campaign, today)
    phases = [
        {
            "phase": p,
            "open": p.open_for_reports(today),
            "current": p.number == now_phase.number,
            "days_left": (p.deadline - today).days if p.deadline else None,
        }
        for p in campaign.phases
    ]
    runs = list(
        store.session.exec(
            select(m.PushRun)
            .where(col(m.PushRun.campaign_id) == store.campaign_id)
            .order_by(col(m.PushRun.due_at).desc())
            .limit(RECENT_PUSHES)
        )
    )
    planned = _planned(campaign)
    by_key = {p.key: p for p in planned}
    done = set(
        store.session.exec(
            select(m.PushRun.key).where(col(m.PushRun.campaign_id) == store.campaign_id)
        )
    )
    upcoming = sorted(
        (p for p in planned if p.key not in done and p.at > store.now), key=lambda p: p.at
    )[:RECENT_PUSHES]
    waiting = _waiting_counts(store, viewer)
    return "campaign.html.j2", {
        "campaign": campaign,
        "phases": phases,
        "pushed": [{"run": r, "label": push_label(by_key.get(r.key), r.kind)} for r in runs],
        "upcoming": [{"push": p, "label": push_label(p, p.kind)} for p in upcoming],
        "waiting": waiting,
        "today": today,
    }


_PLANNED: list[tuple[Campaign, list[outbox.Push]]] = []


def _planned(campaign: Campaign) -> list[outbox.Push]:
    """The campaign's pushes, computed once per campaign value (the store caches the value;
    the calendar takes tens of milliseconds to compute)."""
    if not _PLANNED or _PLANNED[0][0] is not campaign:
        _PLANNED[:] = [(campaign, outbox.pushes(campaign))]
    return _PLANNED[0][1]


def push_label(push: outbox.Push | None, kind: str) -> str:
    """What a push is about, as the calendar names it."""
    if push is not None and push.event is not None:
        if push.kind == "digest":
            return _("Digest for the office: {name}").format(name=push.event.name)
        return push.event.name
    others = {
        "remind": _("Reminder from the office"),
        "broadcast": _("Message to everyone"),
        "launch": _("Campaign launch"),
    }
    return others.get(kind, kind)


def _waiting_counts(store: Store, viewer: Viewer) -> dict[str, int]:
    r, n = m.Report, m.Nomination
    rq = select(func.count()).where(
        col(r.campaign_id) == store.campaign_id, col(r.status).in_(REVIEW_REPORTS)
    )
    nq = select(func.count()).where(
        col(n.campaign_id) == store.campaign_id, col(n.status).in_(REVIEW_NOMINATIONS)
    )
    unit = viewer.own_unit()
    if unit is not None:
        rq, nq = rq.where(col(r.unit_id) == unit), nq.where(col(n.unit_id) == unit)
    return {
        "reports": store.session.exec(rq).one(),
        "nominations": store.session.exec(nq).one(),
    }


# ---- units --------------------------------------------------------------------------------


def units_page(store: Store, viewer: Viewer, query: dict[str, str]) -> tuple[str, dict[str, Any]]:
    phase = _phase(store, query.get("phase"))
    unit = _unit_asked(store, viewer, query.get("unit"))
    if unit is None and not viewer.office:
        unit = store.session.get(m.Unit, viewer.unit_id)
    summary = compile_summary(
        session=store.session,
        campaign_row=store.row,
        campaign=store.campaign,
        today=store.today,
        phase=phase,
        unit=unit,
    )
    spent = personnel.spent_channels(session=store.session, now=store.now)
    calls = [
        c
        for c in personnel.unreachable(session=store.session, now=store.now, spent=spent)
        if unit is None or c.unit.id == unit.id
    ]
    area_names = store.campaign.area_names
    return "units.html.j2", {
        "summary": summary,
        "unit": unit,
        "phase": store.campaign.phase(phase),
        "phases": store.campaign.phases,
        "areas": [(code, area_names.get(code, code)) for code in area_names],
        "audiences": audience_labels(),
        "calls": calls,
        "why": {
            "never_registered": _("never registered"),
            "blocked": _("blocked the bot or unreachable"),
            "quota": _("only on a channel whose quota is spent"),
        },
        "can_remind": viewer.office and store.campaign.phase(phase).open_for_reports(store.today),
        "reminded": query.get("reminded"),
        "sent": _int(query.get("sent")),
    }


# ---- reports ------------------------------------------------------------------------------


def report_filters(store: Store, viewer: Viewer, query: dict[str, str]) -> listing.Filters:
    unit = _unit_asked(store, viewer, query.get("unit"))
    phase = _int(query.get("phase"))
    area = query.get("area") or None
    status = query.get("status") or None
    return listing.Filters(
        phase=phase if phase in {p.number for p in store.campaign.phases} else None,
        unit_id=unit.id if unit is not None else viewer.own_unit(),
        area=area if area in store.campaign.area_names else None,
        status=status if status in REPORT_STATUSES else None,
        search=(query.get("q") or "")[: listing.SEARCH_MAX],
        after=_int(query.get("after")),
    )


def reports_page(
    store: Store, viewer: Viewer, query: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    filters = report_filters(store, viewer, query)
    found = listing.reports(store.session, store.campaign_id, filters)
    kept = {k: v for k, v in query.items() if k != "after" and v}
    return "reports.html.j2", {
        "page": found,
        "query": kept,
        "paged": "after" in query,
        "units": _units(store, viewer),
        "phases": store.campaign.phases,
        "areas": store.campaign.area_names,
        "statuses": REPORT_STATUSES,
        "labels": status_labels(),
    }


Row = TypeVar("Row", m.Report, m.Nomination)


def item(store: Store, viewer: Viewer, kind: type[Row], receipt: str) -> Row:
    """The campaign's report or nomination by its receipt, if this viewer may see it (a head:
    their own unit's only; NotFound otherwise, as for one that does not exist)."""
    row = store.session.exec(
        select(kind).where(
            col(kind.campaign_id) == store.campaign_id, col(kind.receipt) == receipt.upper()
        )
    ).first()
    if row is None or (not viewer.office and row.unit_id != viewer.unit_id):
        raise NotFound
    return row


def report_page(
    store: Store, viewer: Viewer, receipt: str, query: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    row = item(store, viewer, m.Report, receipt)
    owner = store.session.get(m.Person, row.person_id)
    unit = store.session.get(m.Unit, row.unit_id)
    return "report.html.j2", {
        "row": row,
        "owner": owner,
        "unit": unit,
        "phase": store.campaign.phase(row.phase),
        "area": store.campaign.area_name(row.area),
        "labels": status_labels(),
        "evidence": _evidence_list(store, row),
        "can_review": viewer.office and row.status in REVIEW_REPORTS,
        "done": query.get("done"),
        "told": query.get("told"),
    }


def _evidence_list(store: Store, row: m.Report) -> list[tuple[int, str, bool]]:
    """The report's files, in the order sent: number (from 1), name, kept on this server."""
    assert row.id is not None  # a stored report
    files = evidence_of(store.session, [row.id]).get(row.id, [])
    return [
        (n, file_label(f.kind, f.name), _on_disk(f) is not None)
        for n, f in enumerate(files, start=1)
    ]


def _on_disk(item: m.ReportEvidence) -> Path | None:
    path = Path(item.path) if item.path else None
    return path if path is not None and path.is_file() else None


def report_evidence(store: Store, viewer: Viewer, receipt: str, number: str) -> tuple[Path, str]:
    """The report's file number `number` (from 1), and the name to download it as."""
    row = item(store, viewer, m.Report, receipt)
    assert row.id is not None  # a stored report
    files = evidence_of(store.session, [row.id]).get(row.id, [])
    n = int(number) if number.isdigit() else 0
    path = _on_disk(files[n - 1]) if 0 < n <= len(files) else None
    if path is None:
        raise NotFound
    return path, f"{row.receipt}-{n}{path.suffix.lower()}"


# ---- nominations --------------------------------------------------------------------------


def nominations_page(
    store: Store, viewer: Viewer, query: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    unit = _unit_asked(store, viewer, query.get("unit"))
    phase = _int(query.get("phase"))
    status = query.get("status") or None
    filters = listing.Filters(
        phase=phase if phase in {p.number for p in store.campaign.phases} else None,
        unit_id=unit.id if unit is not None else viewer.own_unit(),
        status=status if status in NOMINATION_STATUSES else None,
        after=_int(query.get("after")),
    )
    found = listing.nominations(store.session, store.campaign_id, filters)
    titles = store.campaign.titles_by_code
    checks = prechecks_for(store.session, store.campaign, [row for row, *_rest in found.rows])
    rows = [
        {
            "row": row,
            "proposer": proposer,
            "unit": code,
            "title": titles[row.title_code].name if row.title_code in titles else row.title_code,
            "checks": checks[row.id],
        }
        for row, proposer, code in found.rows
    ]
    return "nominations.html.j2", {
        "page": found,
        "rows": rows,
        "query": {k: v for k, v in query.items() if k != "after" and v},
        "paged": "after" in query,
        "units": _units(store, viewer),
        "phases": store.campaign.phases,
        "statuses": NOMINATION_STATUSES,
        "labels": status_labels(),
        "audiences": audience_labels(),
    }


def nomination_page(
    store: Store, viewer: Viewer, receipt: str, query: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    row = item(store, viewer, m.Nomination, receipt)
    titles = store.campaign.titles_by_code
    return "nomination.html.j2", {
        "row": row,
        "proposer": store.session.get(m.Person, row.proposer_id),
        "unit": store.session.get(m.Unit, row.unit_id),
        "title": titles[row.title_code].name if row.title_code in titles else row.title_code,
        "audiences": audience_labels(),
        "labels": status_labels(),
        "checks": prechecks(store.session, store.campaign, row),
        "can_review": viewer.office and row.status in REVIEW_NOMINATIONS,
        "done": query.get("done"),
        "told": query.get("told"),
    }


# ---- downloads ----------------------------------------------------------------------------


def downloads_page(store: Store, viewer: Viewer) -> tuple[str, dict[str, Any]]:
    if not viewer.office:
        raise Forbidden
    return "downloads.html.j2", {
        "phases": store.campaign.phases,
        "current": current_phase(store.campaign, store.today).number,
    }

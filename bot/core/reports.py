"""Achievement reports (báo cáo thành tích): record, edit, withdraw."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.core import models as m
from bot.core.store import audit, next_receipt

TITLE_MAX = 120
DETAIL_MAX = 1500
EDITABLE = ("submitted", "returned")


def record_report(
    *,
    session: Session,
    campaign: m.Campaign,
    person: m.Person,
    phase: int,
    area: str,
    title: str,
    detail: str,
    now: dt.datetime,
    scope: str = "personal",
    evidence: dict | None = None,
) -> m.Report:
    assert campaign.id is not None and person.id is not None  # both rows are stored
    report = m.Report(
        campaign_id=campaign.id,
        receipt=next_receipt(session=session, campaign=campaign, kind="BC"),
        person_id=person.id,
        unit_id=person.unit_id,
        phase=phase,
        scope=scope,
        area=area,
        title=title[:TITLE_MAX],
        detail=detail[:DETAIL_MAX],
        evidence_kind=(evidence or {}).get("kind"),
        evidence_ref=(evidence or {}).get("ref"),
        evidence_path=(evidence or {}).get("path"),
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    session.flush()
    audit(
        session=session,
        action="report.save",
        person_id=person.id,
        subject=report.receipt,
        detail={"phase": phase, "area": area, "scope": scope},
    )
    return report


def edit_report(
    *,
    session: Session,
    report: m.Report,
    person: m.Person,
    field: str,
    value: str,
    now: dt.datetime,
) -> m.Report:
    limit = {"title": TITLE_MAX, "detail": DETAIL_MAX}[field]
    old = getattr(report, field)
    setattr(report, field, value[:limit])
    report.updated_at = now
    if report.status == "returned":
        report.status = "submitted"
    session.add(report)
    audit(
        session=session,
        action="report.edit",
        person_id=person.id,
        subject=report.receipt,
        detail={"field": field, "old": old[:200]},
    )
    return report


def withdraw_report(
    *, session: Session, report: m.Report, person: m.Person, now: dt.datetime
) -> m.Report:
    report.status, report.updated_at = "withdrawn", now
    session.add(report)
    audit(session=session, action="report.withdraw", person_id=person.id, subject=report.receipt)
    return report

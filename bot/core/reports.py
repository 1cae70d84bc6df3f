"""Achievement reports (báo cáo thành tích): record, edit, withdraw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.i18n import _
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
    evidence: Sequence[dict[str, Any]] = (),
) -> m.Report:
    """Save a report with its evidence files (`kind`, `ref`, `path`, `name` each), in order."""
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
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    session.flush()
    assert report.id is not None  # flushed
    for position, file in enumerate(evidence):
        session.add(
            m.ReportEvidence(
                report_id=report.id,
                position=position,
                kind=str(file.get("kind") or "document"),
                ref=file.get("ref"),
                path=file.get("path"),
                name=str(file.get("name") or "")[:120],
                created_at=now,
            )
        )
    audit(
        session=session,
        action="report.save",
        person_id=person.id,
        subject=report.receipt,
        detail={"phase": phase, "area": area, "scope": scope, "files": len(evidence)},
    )
    return report


def evidence_of(session: Session, report_ids: Iterable[int]) -> dict[int, list[m.ReportEvidence]]:
    """Each report's evidence files, in the order sent (reports without any are left out)."""
    ids = list(report_ids)
    found: dict[int, list[m.ReportEvidence]] = {}
    for start in range(0, len(ids), 500):  # bound parameters per statement
        rows = session.exec(
            select(m.ReportEvidence)
            .where(col(m.ReportEvidence.report_id).in_(ids[start : start + 500]))
            .order_by(col(m.ReportEvidence.report_id), col(m.ReportEvidence.position))
        )
        for row in rows:
            found.setdefault(row.report_id, []).append(row)
    return found


def file_label(kind: str, name: str = "") -> str:
    """How one evidence file is named to a person: its own name, else "photo" or "document"."""
    return name or (_("photo") if kind == "photo" else _("document"))


def files_label(files: Sequence[m.ReportEvidence] | Sequence[dict[str, Any]]) -> str:
    """Several files in a line: "photo, bao-cao.pdf, photo"."""
    return ", ".join(
        file_label(f["kind"], f.get("name") or "")
        if isinstance(f, dict)
        else file_label(f.kind, f.name)
        for f in files
    )


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

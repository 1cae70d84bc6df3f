"""One achievement, one award: the reports a nomination cites, and the guard that a report an
accepted award rests on is not cited again for another award in the same campaign."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.i18n import _

#: A report cited by a nomination in one of these states is taken.
TAKEN = ("accepted",)
CITABLE = ("submitted", "accepted")
LIST_MAX = 20


def citable_reports(
    *,
    session: Session,
    campaign_id: int,
    person_id: int | None,
    unit_id: int | None,
) -> list[m.Report]:
    """The nominee's reports a nomination may cite: a person's own, or a unit's (newest
    first, at most LIST_MAX); none for a nominee typed by name."""
    query = select(m.Report).where(
        m.Report.campaign_id == campaign_id, col(m.Report.status).in_(CITABLE)
    )
    if person_id is not None:
        query = query.where(m.Report.person_id == person_id, m.Report.scope == "personal")
    elif unit_id is not None:
        query = query.where(m.Report.unit_id == unit_id)
    else:
        return []
    return list(session.exec(query.order_by(col(m.Report.id).desc()).limit(LIST_MAX)))


def cited(*, session: Session, nomination_id: int) -> list[m.Report]:
    return list(
        session.exec(
            select(m.Report)
            .join(m.NominationReport, col(m.NominationReport.report_id) == col(m.Report.id))
            .where(m.NominationReport.nomination_id == nomination_id)
            .order_by(col(m.Report.receipt))
        )
    )


def taken_by(
    *,
    session: Session,
    campaign_id: int,
    report_ids: Iterable[int],
    other_than: int | None = None,
) -> list[tuple[m.Report, m.Nomination]]:
    """Each of `report_ids` already cited by an accepted nomination (not `other_than`)."""
    ids = list(report_ids)
    if not ids:
        return []
    query = (
        select(m.Report, m.Nomination)
        .join(m.NominationReport, col(m.NominationReport.report_id) == col(m.Report.id))
        .join(m.Nomination, col(m.Nomination.id) == col(m.NominationReport.nomination_id))
        .where(
            col(m.Report.id).in_(ids),
            m.Nomination.campaign_id == campaign_id,
            col(m.Nomination.status).in_(TAKEN),
        )
        .order_by(col(m.Report.receipt))
    )
    if other_than is not None:
        query = query.where(m.Nomination.id != other_than)
    return [(r, n) for r, n in session.exec(query)]


def taken_text(campaign: Campaign, found: list[tuple[m.Report, m.Nomination]]) -> str:
    """Names the earlier award of each report: the one-achievement-one-award refusal."""
    lines = []
    for report, nomination in found:
        title = campaign.titles_by_code.get(nomination.title_code)
        lines.append(
            _(
                "{report} already supports an accepted award: {receipt} ({nominee}, {title})."
            ).format(
                report=report.receipt,
                receipt=nomination.receipt,
                nominee=nomination.nominee_name,
                title=title.name if title else nomination.title_code,
            )
        )
    lines.append(_("One achievement, one award: cite other reports."))
    return "\n".join(lines)


def cited_text(reports: list[m.Report]) -> str:
    return _("Reports cited: {receipts}").format(
        receipts=", ".join(r.receipt for r in reports) or _("none")
    )


def conflicts(*, session: Session, campaign: Campaign, nomination: m.Nomination) -> str | None:
    """Why `nomination` cannot be accepted (a cited report backs another accepted award)."""
    assert nomination.id is not None  # a stored nomination
    taken = taken_by(
        session=session,
        campaign_id=nomination.campaign_id,
        report_ids=[r.id for r in cited(session=session, nomination_id=nomination.id) if r.id],
        other_than=nomination.id,
    )
    return taken_text(campaign, taken) if taken else None


def held_text(receipts: list[str]) -> str:
    return _(
        "Not accepted, as a report they cite backs another accepted award: {receipts}."
    ).format(receipts=", ".join(receipts))


def cite(*, session: Session, nomination: m.Nomination, reports: Iterable[m.Report]) -> None:
    assert nomination.id is not None  # a stored nomination
    for report in reports:
        assert report.id is not None
        if session.get(m.NominationReport, (nomination.id, report.id)) is None:
            session.add(m.NominationReport(nomination_id=nomination.id, report_id=report.id))
    session.flush()

"""Award nominations (đề nghị khen thưởng): record, endorse, withdraw, and the plan's rules."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.roles import UNIT_LEADS
from bot.core.store import audit, next_receipt
from bot.core.text import name_key

BASIS_MAX = 1500
INITIATIVE_MAX = 300
COUNTING = ("endorsed", "accepted")  # what counts for the unit and against the targets
LIVE = ("proposed", "endorsed", "accepted", "returned")


class Duplicate(Exception):
    def __init__(self, existing: m.Nomination) -> None:
        super().__init__(existing.receipt)
        self.existing = existing


def nominee_key(*, audience: str, person_id: int | None, unit_id: int | None, name: str) -> str:
    if person_id is not None:
        return f"person:{person_id}"
    if unit_id is not None:
        return f"unit:{unit_id}"
    return f"{audience}:{name_key(name)}"


def find_duplicate(
    *, session: Session, campaign_id: int, key: str, title_code: str
) -> m.Nomination | None:
    return session.exec(
        select(m.Nomination).where(
            m.Nomination.campaign_id == campaign_id,
            m.Nomination.nominee_key == key,
            m.Nomination.title_code == title_code,
            col(m.Nomination.status).in_(LIVE),
        )
    ).first()


def record_nomination(
    *,
    session: Session,
    campaign: m.Campaign,
    proposer: m.Person,
    unit_id: int,
    audience: str,
    nominee_name: str,
    title_code: str,
    basis: str,
    now: dt.datetime,
    nominee_person_id: int | None = None,
    nominee_unit_id: int | None = None,
    initiative: str | None = None,
    phase: int | None = None,
) -> m.Nomination:
    """Save a nomination; a head's or the office's counts at once, staff's is a proposal."""
    assert campaign.id is not None and proposer.id is not None  # both rows are stored
    key = nominee_key(
        audience=audience, person_id=nominee_person_id, unit_id=nominee_unit_id, name=nominee_name
    )
    existing = find_duplicate(
        session=session, campaign_id=campaign.id, key=key, title_code=title_code
    )
    if existing is not None:
        raise Duplicate(existing)
    counts = proposer.role in UNIT_LEADS
    nomination = m.Nomination(
        campaign_id=campaign.id,
        receipt=next_receipt(session=session, campaign=campaign, kind="DN"),
        proposer_id=proposer.id,
        unit_id=unit_id,
        audience=audience,
        nominee_person_id=nominee_person_id,
        nominee_unit_id=nominee_unit_id,
        nominee_name=nominee_name,
        nominee_key=key,
        title_code=title_code,
        basis=basis[:BASIS_MAX],
        initiative=(initiative or None) and initiative[:INITIATIVE_MAX],
        phase=phase,
        status="endorsed" if counts else "proposed",
        endorsed_by=proposer.id if counts else None,
        created_at=now,
        updated_at=now,
    )
    session.add(nomination)
    session.flush()
    audit(
        session=session,
        action="nomination.save",
        person_id=proposer.id,
        subject=nomination.receipt,
        detail={"title": title_code, "status": nomination.status},
    )
    return nomination


def endorse(
    *, session: Session, nomination: m.Nomination, head: m.Person, now: dt.datetime
) -> m.Nomination:
    nomination.status, nomination.endorsed_by, nomination.updated_at = "endorsed", head.id, now
    session.add(nomination)
    audit(
        session=session, action="nomination.endorse", person_id=head.id, subject=nomination.receipt
    )
    return nomination


def return_to_proposer(
    *,
    session: Session,
    nomination: m.Nomination,
    head: m.Person,
    reason: str,
    now: dt.datetime,
) -> m.Nomination:
    """A head sends a staff proposal back, with the reason; the proposer may fix it in /my."""
    nomination.status, nomination.review_note, nomination.updated_at = "returned", reason, now
    session.add(nomination)
    audit(
        session=session,
        action="nomination.head_return",
        person_id=head.id,
        subject=nomination.receipt,
        detail={"reason": reason},
    )
    return nomination


def edit_basis(
    *, session: Session, nomination: m.Nomination, person: m.Person, value: str, now: dt.datetime
) -> m.Nomination:
    old = nomination.basis
    nomination.basis, nomination.updated_at = value[:BASIS_MAX], now
    if nomination.status == "returned":
        nomination.status = "proposed"
    session.add(nomination)
    audit(
        session=session,
        action="nomination.edit",
        person_id=person.id,
        subject=nomination.receipt,
        detail={"field": "basis", "old": old[:200]},
    )
    return nomination


def withdraw_nomination(
    *, session: Session, nomination: m.Nomination, person: m.Person, now: dt.datetime
) -> m.Nomination:
    nomination.status, nomination.updated_at = "withdrawn", now
    session.add(nomination)
    audit(
        session=session,
        action="nomination.withdraw",
        person_id=person.id,
        subject=nomination.receipt,
    )
    return nomination

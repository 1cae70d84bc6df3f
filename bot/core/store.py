"""The campaign in the store, receipts and the audit log: the services everything else uses."""

from __future__ import annotations

import datetime as dt
import time
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import clock
from bot.core import models as m
from bot.core.campaign import Campaign

RECEIPT_KINDS = ("BC", "DN", "DK")  # báo cáo, đề nghị, đăng ký


class NoCampaign(Exception):
    """No campaign has been loaded (`thidua init` not run)."""


def load_into_store(*, session: Session, campaign: Campaign, source: str) -> m.Campaign:
    """Store (or refresh) a campaign with its phases and units; make it the active one."""
    now = clock.now()
    row = session.exec(select(m.Campaign).where(m.Campaign.code == campaign.code)).first()
    data = campaign.model_dump(mode="json", by_alias=True)
    if row is None:
        row = m.Campaign(
            code=campaign.code,
            year=campaign.year,
            theme=campaign.theme,
            data=data,
            source=source,
            loaded_at=now,
        )
        session.add(row)
    else:
        row.year, row.theme, row.data, row.source = campaign.year, campaign.theme, data, source
        row.loaded_at = now
    session.exec(
        sa.update(m.Campaign).where(col(m.Campaign.code) != campaign.code).values(active=False)
    )
    row.active = True
    session.flush()
    assert row.id is not None  # the flush gave a new row its id
    _store_phases(
        session=session, campaign_id=row.id, campaign=_with_dates(session, row.id, campaign)
    )
    for kind in RECEIPT_KINDS:
        if session.get(m.Counter, (row.id, kind)) is None:
            session.add(m.Counter(campaign_id=row.id, kind=kind, value=0))
    units = {u.code: u for u in session.exec(select(m.Unit))}
    for u in campaign.units:
        unit = units.get(u.code) or m.Unit(code=u.code, name=u.name)
        unit.name, unit.office = u.name, u.office
        session.add(unit)
    audit(
        session=session, action="campaign.load", subject=campaign.code, detail={"source": source}
    )
    forget_cached_campaign()
    return row


class UnknownEvent(Exception):
    """`thidua event set` named an event the active campaign does not have."""


def set_event_date(*, session: Session, code: str, day: dt.date) -> Campaign:
    """Give an event of the active campaign its date (audited); the pushes follow from it."""
    row = active_campaign_row(session=session)
    assert row.id is not None
    campaign = Campaign.model_validate(row.data)
    if campaign.event(code) is None:
        raise UnknownEvent(code)
    found = session.get(m.EventDate, (row.id, code))
    before = found.day.isoformat() if found else None
    if found is None:
        found = m.EventDate(campaign_id=row.id, code=code, day=day, set_at=clock.now())
    found.day, found.set_at = day, clock.now()
    session.add(found)
    session.flush()
    dated = _with_dates(session, row.id, campaign)
    _store_phases(session=session, campaign_id=row.id, campaign=dated)
    row.loaded_at = clock.now()  # other processes re-read the campaign
    session.add(row)
    audit(
        session=session,
        action="event.set",
        subject=code,
        detail={"campaign": row.code, "day": day.isoformat(), "before": before},
    )
    _cached.clear()
    return dated


def _with_dates(session: Session, campaign_id: int, campaign: Campaign) -> Campaign:
    rows = session.exec(select(m.EventDate).where(m.EventDate.campaign_id == campaign_id))
    return campaign.with_event_dates({r.code: r.day for r in rows})


def _store_phases(*, session: Session, campaign_id: int, campaign: Campaign) -> None:
    phases = {
        p.number: p
        for p in session.exec(select(m.Phase).where(m.Phase.campaign_id == campaign_id))
    }
    for p in campaign.phases:
        ph = phases.get(p.number) or m.Phase(
            campaign_id=campaign_id,
            number=p.number,
            name=p.name,
            start=p.start,
            end=p.end,
            deadline=p.deadline,
        )
        ph.name, ph.start, ph.end, ph.deadline = p.name, p.start, p.end, p.deadline
        session.add(ph)


def active_campaign_row(*, session: Session) -> m.Campaign:
    row = session.exec(select(m.Campaign).where(m.Campaign.active)).first()
    if row is None:
        raise NoCampaign
    return row


# Every turn needs the campaign; it changes only when `thidua init` loads one. Each process
# keeps it for a few seconds: a load by another process is seen within CAMPAIGN_TTL.
CAMPAIGN_TTL = 30.0
_cached: dict[str, tuple[float, m.Campaign, Campaign]] = {}


def campaign_by_code(*, session: Session, code: str) -> tuple[m.Campaign, Campaign]:
    """Any stored campaign, active or earlier, by its code (NoCampaign if there is none)."""
    row = session.exec(select(m.Campaign).where(m.Campaign.code == code)).first()
    if row is None or row.id is None:
        raise NoCampaign(code)
    return row, _with_dates(session, row.id, Campaign.model_validate(row.data))


def stored_campaigns(*, session: Session) -> list[m.Campaign]:
    return list(session.exec(select(m.Campaign).order_by(col(m.Campaign.id))))


def forget_cached_campaign() -> None:
    """Drop every process-wide cached campaign (a database that was emptied and refilled
    under the same URL, as the tests' PostgreSQL is)."""
    _cached.clear()


def active_campaign(*, session: Session) -> tuple[m.Campaign, Campaign]:
    """The active campaign's row (read-only: id, code, year) and its parsed plan."""
    url = str(cast(Engine, session.get_bind()).url)  # sessions are bound to an engine
    hit = _cached.get(url)
    if hit is not None and time.monotonic() - hit[0] < CAMPAIGN_TTL:
        return hit[1], hit[2]
    row = active_campaign_row(session=session)
    # Kept across sessions, so out of this one: were this turn to fail, its rollback would
    # expire the row, and every later turn would fail on it (DetachedInstanceError).
    session.expunge(row)
    parsed = (
        hit[2]
        if hit and (hit[1].id, hit[1].loaded_at) == (row.id, row.loaded_at)
        else _with_dates(session, row.id, Campaign.model_validate(row.data))
        if row.id is not None
        else Campaign.model_validate(row.data)
    )
    _cached[url] = (time.monotonic(), row, parsed)
    return row, parsed


_COUNTER = m.Counter.__table__.c
_NEXT_RECEIPT = (  # built once, run as Core: half the cost of the ORM statement built per call
    m.Counter.__table__.update()
    .where(_COUNTER.campaign_id == sa.bindparam("of_campaign"))
    .where(_COUNTER.kind == sa.bindparam("of_kind"))
    .values(value=_COUNTER.value + 1)
    .returning(_COUNTER.value)
)


def next_receipt(*, session: Session, campaign: m.Campaign, kind: str) -> str:
    """`BC-2022-0001`: the campaign's next number of `kind`, never reused.

    One UPDATE ... RETURNING holds the row lock until commit, so concurrent saves queue on it
    (SQLite serialises writers anyway) and a rolled-back save leaves no gap-filling reuse.
    """
    params = {"of_campaign": campaign.id, "of_kind": kind}
    value = session.connection().execute(_NEXT_RECEIPT, params).scalar_one()
    return f"{kind}-{campaign.year}-{value:04d}"


def audit(
    *,
    session: Session,
    action: str,
    person_id: int | None = None,
    channel: str | None = None,
    chat_id: str | None = None,
    subject: str | None = None,
    detail: dict | None = None,
) -> None:
    session.add(
        m.AuditEvent(
            at=clock.now(),
            action=action,
            person_id=person_id,
            channel=channel,
            chat_id=chat_id,
            subject=subject,
            detail=detail or {},
        )
    )

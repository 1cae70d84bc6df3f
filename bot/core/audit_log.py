"""Reading the audit log (`thidua audit`): who did what, when, filtered."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, or_, select

from bot.core import clock
from bot.core import models as m


def parse_since(text: str) -> dt.datetime:
    """`2022-05-10` (from that day's start, Vietnam time), an ISO instant, or `7d` / `12h`."""
    text = text.strip()
    if text[-1:] in ("d", "h") and text[:-1].isdigit():
        amount = int(text[:-1])
        delta = dt.timedelta(days=amount) if text[-1] == "d" else dt.timedelta(hours=amount)
        return clock.now() - delta
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        return dt.datetime.combine(day, dt.time(), clock.LOCAL)
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=clock.LOCAL)


def events(
    *,
    session: Session,
    since: dt.datetime | None = None,
    person: str | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Audit events, oldest first (the newest `limit`). `person`: an id or part of a name;
    `kind`: an action (`report.save`) or its area (`report`)."""
    query = select(m.AuditEvent, m.Person).join(
        m.Person, col(m.Person.id) == col(m.AuditEvent.person_id), isouter=True
    )
    if since is not None:
        query = query.where(col(m.AuditEvent.at) >= since)
    if kind:
        query = query.where(
            or_(col(m.AuditEvent.action) == kind, col(m.AuditEvent.action).startswith(f"{kind}."))
        )
    if person:
        if person.isdigit():
            query = query.where(col(m.AuditEvent.person_id) == int(person))
        else:
            query = query.where(col(m.Person.full_name).icontains(person))
    query = query.order_by(col(m.AuditEvent.at).desc(), col(m.AuditEvent.id).desc()).limit(limit)
    found = [
        {
            "id": event.id,
            "at": event.at.isoformat(),
            "action": event.action,
            "person_id": event.person_id,
            "person": who.full_name if who is not None else None,
            "channel": event.channel,
            "subject": event.subject,
            "detail": event.detail,
        }
        for event, who in session.exec(query)
    ]
    return found[::-1]

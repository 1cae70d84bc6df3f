"""Registration reminders: before the window closes, each head of a unit that has not
registered its collective titles is told, with how many of the unit's people have registered."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, func, select

from bot.core import models as m
from bot.core.i18n import language, render
from bot.core.registration import registrations, units_without
from schedules.outbox.plan import Push
from schedules.outbox.recipients import Recipient


def nudge_text(*, unit: m.Unit, closes: dt.date, today: dt.date, people: int, done: int) -> str:
    return render(
        "awards/registration_nudge.txt.j2",
        unit=unit.name,
        closes=closes,
        left=(closes - today).days,
        people=people,
        done=done,
    )


def registration_nudges(
    push: Push,
    *,
    session: Session,
    campaign_id: int,
    heads: list[Recipient],
    today: dt.date,
) -> list[tuple[Recipient, str]]:
    window = push.campaign.registration
    if window is None:
        return []
    missing = {u.id: u for u in units_without(session=session, campaign_id=campaign_id)}
    done: dict[int, int] = {}
    for r in registrations(session=session, campaign_id=campaign_id):
        if r.audience == "individual":
            done[r.unit_id] = done.get(r.unit_id, 0) + 1
    found = []
    for head in heads:
        unit = missing.get(head.unit_id)
        if unit is None:
            continue
        people = session.exec(
            select(func.count())
            .select_from(m.Person)
            .where(m.Person.unit_id == unit.id, col(m.Person.active).is_(True))
        ).one()
        with language(head.lang):
            text = nudge_text(
                unit=unit,
                closes=window.closes,
                today=today,
                people=int(people),
                done=done.get(unit.id or 0, 0),
            )
        found.append((head, text))
    return found

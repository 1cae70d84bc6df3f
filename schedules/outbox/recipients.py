"""Who is reached, and where: each active person's reachable identity on the push channels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.personnel import away_condition as not_away


@dataclass(frozen=True)
class Recipient:
    person_id: int
    name: str
    role: str
    unit_id: int
    lang: str
    identity_id: int
    channel: str
    chat_id: str


def recipients(
    *,
    session: Session,
    channels: Iterable[str],
    unit_ids: Iterable[int] | None = None,
    roles: Iterable[str] | None = None,
    present_on: dt.date | None = None,
) -> list[Recipient]:
    """Every active person's reachable identity on `channels`, one per person and channel
    (the one seen last when a person has two accounts on a channel); with `present_on`, not
    those away (/vang) that day: reminders and nudges wait until they are back."""
    query = (
        select(m.Identity, m.Person)
        .join(m.Person, col(m.Person.id) == col(m.Identity.person_id))
        .where(
            col(m.Person.active).is_(True),
            col(m.Identity.reachable).is_(True),
            col(m.Identity.channel).in_(tuple(channels)),
        )
        .order_by(col(m.Person.id), col(m.Identity.channel), col(m.Identity.last_seen_at).desc())
    )
    if unit_ids is not None:
        query = query.where(col(m.Person.unit_id).in_(tuple(unit_ids)))
    if roles is not None:
        query = query.where(col(m.Person.role).in_(tuple(roles)))
    if present_on is not None:
        query = query.where(not_away(present_on))
    found: dict[tuple[int, str], Recipient] = {}
    for ident, person in session.exec(query):
        assert person.id is not None and ident.id is not None
        found.setdefault(
            (person.id, ident.channel),
            Recipient(
                person.id,
                person.full_name,
                person.role,
                person.unit_id,
                person.lang,
                ident.id,
                ident.channel,
                ident.chat_id,
            ),
        )
    return list(found.values())

"""Signing in to the web desk from the chat: one-time links and browser sessions.

`/web` asks `issue_link` for a link token (valid LINK_TTL, once); opening the link trades it
for a session key (`redeem_link`), which the browser keeps in a cookie for SESSION_TTL (a
working day). The store keeps only the SHA-256 of each token and key: a copy of the database
signs nobody in. Nobody has a password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.roles import UNIT_LEADS
from bot.core.store import audit

LINK_TTL = dt.timedelta(minutes=10)
SESSION_TTL = dt.timedelta(hours=10)  # a working day, with the lunch break
#: Who may open the desk: the office sees every unit, a unit head their own.
DESK_ROLES = UNIT_LEADS


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_link(*, session: Session, person: m.Person, now: dt.datetime) -> str:
    """A new one-time link token for `person` (returned once; only its hash is stored)."""
    assert person.id is not None  # a stored person
    token = secrets.token_urlsafe(32)
    session.add(
        m.WebLink(
            token_hash=digest(token),
            person_id=person.id,
            created_at=now,
            expires_at=now + LINK_TTL,
        )
    )
    audit(session=session, action="web.link", person_id=person.id)
    return token


@dataclass(frozen=True)
class Signed:
    """A session just started: the cookie's key (shown once) and the person."""

    key: str
    person: m.Person
    expires_at: dt.datetime


def redeem_link(*, session: Session, token: str, now: dt.datetime) -> Signed | None:
    """Trade a link token for a session; None if the token is unknown, used or expired.

    The link is marked used by one conditional UPDATE, so two browsers opening it at once
    cannot both sign in.
    """
    hashed = digest(token)
    session.flush()  # the Core UPDATE below does not autoflush
    used = (
        session.connection()
        .execute(
            sa.update(m.WebLink)
            .where(
                col(m.WebLink.token_hash) == hashed,
                col(m.WebLink.used_at).is_(None),
                col(m.WebLink.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(m.WebLink.person_id))
        )
        .first()
    )
    if used is None:
        return None
    person = session.get(m.Person, used[0])
    if person is None or not person.active or person.role not in DESK_ROLES:
        return None
    key = secrets.token_urlsafe(32)
    expires = now + SESSION_TTL
    session.add(
        m.WebSession(
            key_hash=digest(key),
            person_id=used[0],
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=expires,
        )
    )
    audit(session=session, action="web.sign_in", person_id=person.id)
    return Signed(key, person, expires)


def session_of(
    *, session: Session, key: str, now: dt.datetime
) -> tuple[m.WebSession, m.Person] | None:
    """The live session behind a cookie's key and its person (still active, still allowed)."""
    found = session.exec(
        select(m.WebSession, m.Person)
        .join(m.Person, col(m.Person.id) == col(m.WebSession.person_id))
        .where(
            col(m.WebSession.key_hash) == digest(key),
            col(m.WebSession.ended_at).is_(None),
            col(m.WebSession.expires_at) > now,
        )
    ).first()
    if found is None:
        return None
    web_session, person = found
    if not person.active or person.role not in DESK_ROLES:
        return None
    return web_session, person


def sign_out(*, session: Session, web_session: m.WebSession, now: dt.datetime) -> None:
    web_session.ended_at = now
    session.add(web_session)
    audit(session=session, action="web.sign_out", person_id=web_session.person_id)

"""Units, people, invites and registration."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import zipfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.core import models as m
from bot.core.errors import os_reason
from bot.core.i18n import _, default_language
from bot.core.roles import ROLES
from bot.core.store import audit
from bot.core.text import clean_text, name_key

INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
INVITE_LENGTH = 10
INVITE_DAYS = 30
LOCKOUT_ATTEMPTS = 5
LOCKOUT_WINDOW = dt.timedelta(hours=1)
NAME_MAX = 120


# --- import -------------------------------------------------------------------------------


class ImportError_(Exception):
    """A file that cannot be imported; nothing of it was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_HEADERS = {
    "code": ("code", "ma", "mã", "ma_don_vi", "mã đơn vị", "unit_code"),
    "name": ("name", "ten", "tên", "ho_ten", "họ tên", "họ và tên", "full_name"),
    "unit": ("unit", "unit_code", "don_vi", "đơn vị", "ma_don_vi", "mã đơn vị"),
    "role": ("role", "vai_tro", "vai trò"),
    "phone": ("phone", "sdt", "so_dien_thoai", "số điện thoại", "điện thoại"),
    "office": ("office", "van_phong", "văn phòng"),
    "email": ("email", "e-mail", "thư điện tử"),
    "position": ("position", "chuc_vu", "chức vụ"),
    "staff_no": (
        "staff_no",
        "staff number",
        "staff_number",
        "ma_can_bo",
        "mã cán bộ",
        "mã nhân viên",
        "số hiệu",
        "mã số",
    ),
}


def read_rows(path: Path, required: tuple[str, ...] = ()) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file as (row number, {column: value}), header normalised."""
    return read_table(path, required)[1]


def read_table(
    path: Path,
    required: tuple[str, ...] = (),
    extra: dict[str, tuple[str, ...]] | None = None,
) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
    """The columns a CSV or XLSX file has (normalised) and its rows; a file that cannot be
    read, or lacks a `required` column, is one problem naming why. `extra`: more columns a
    caller reads (key: the header spellings it accepts, casefolded)."""
    try:
        rows = _raw_rows(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(
            [_("cannot read the file: {reason}").format(reason=os_reason(exc))]
        ) from exc
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ImportError_([_("not a CSV or XLSX file the import can read")]) from exc
    if not rows:
        return set(), []
    header = [_column(h, extra or {}) for h in rows[0]]
    missing = [key for key in required if key not in header]
    if missing:
        labels = {"code": _("“code”"), "name": _("“name”"), "unit": _("“unit”")}
        found = ", ".join(f"“{h.strip()}”" for h in rows[0] if h.strip()) or "–"
        raise ImportError_(
            [
                _("the header row has no column {missing} (columns found: {found})").format(
                    missing=", ".join(labels.get(key, key) for key in missing), found=found
                )
            ]
        )
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        out.append((number, {h: clean_text(v) for h, v in zip(header, row, strict=False) if h}))
    return {h for h in header if h}, out


def _raw_rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = [
            ["" if v is None else str(v) for v in row]
            for row in wb.active.iter_rows(values_only=True)
        ]
        wb.close()
        return rows
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t") if text.strip() else None
    except csv.Error:  # one column: nothing to tell the delimiter by
        dialect = None
    return list(csv.reader(io.StringIO(text), dialect or csv.excel))


def _column(header: str, extra: dict[str, tuple[str, ...]]) -> str | None:
    wanted = clean_text(header).casefold()
    for key, names in (*extra.items(), *_HEADERS.items()):
        if wanted in names:
            return key
    return None


def import_units(*, session: Session, path: Path) -> int:
    rows = read_rows(path, required=("code", "name"))
    problems: list[str] = []
    seen: set[str] = set()
    for number, row in rows:
        code, name = row.get("code", "").upper(), row.get("name", "")
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{0,15}", code):
            problems.append(
                _(
                    "row {n}: unit code “{code}” is not valid (letters and digits, at most 16)"
                ).format(n=number, code=code)
            )
        elif code in seen:
            problems.append(
                _("row {n}: unit code “{code}” appears twice").format(n=number, code=code)
            )
        if not name or len(name) > NAME_MAX:
            problems.append(_("row {n}: the unit name is missing or too long").format(n=number))
        seen.add(code)
    if problems or not rows:
        raise ImportError_(problems or [_("the file has no rows")])
    existing = {u.code: u for u in session.exec(select(m.Unit))}
    for _number, row in rows:
        code = row["code"].upper()
        unit = existing.get(code) or m.Unit(code=code, name=row["name"])
        unit.name = row["name"]
        unit.office = row.get("office", "").casefold() in ("1", "x", "yes", "true", "có")
        session.add(unit)
    audit(session=session, action="units.import", subject=path.name, detail={"rows": len(rows)})
    return len(rows)


# --- invites ------------------------------------------------------------------------------


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalise_code(code: str) -> str:
    return re.sub(r"[\s\-_]", "", code).upper()


def issue_invites(
    *,
    session: Session,
    unit: m.Unit,
    role: str,
    count: int,
    now: dt.datetime,
    days: int = INVITE_DAYS,
    person: m.Person | None = None,
) -> list[m.Invite]:
    if role not in ROLES:
        raise ValueError(role)
    assert unit.id is not None  # a stored unit
    invites = [
        m.Invite(
            code=new_invite_code(),
            unit_id=unit.id,
            role=role,
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
            person_id=person.id if person else None,
            full_name=person.full_name if person else None,
        )
        for _ in range(count)
    ]
    session.add_all(invites)
    audit(
        session=session,
        action="invite.issue",
        subject=unit.code,
        detail={"role": role, "count": count, "person_id": person.id if person else None},
    )
    return invites


# --- registration -------------------------------------------------------------------------


class Outcome(Enum):
    REGISTERED = "registered"
    LINKED = "linked"  # a second channel for a known person
    ALREADY = "already"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    LOCKED = "locked"


@dataclass(frozen=True)
class Registration:
    outcome: Outcome
    person: m.Person | None = None
    unit: m.Unit | None = None


def reachable_identity(
    *, session: Session, person_id: int | None, channels: tuple[str, ...]
) -> m.Identity | None:
    """The person's identity on `channels` they used last that still reaches them, if any."""
    return session.exec(
        select(m.Identity)
        .where(
            m.Identity.person_id == person_id,
            m.Identity.reachable,
            col(m.Identity.channel).in_(channels),
        )
        .order_by(col(m.Identity.last_seen_at).desc().nulls_last(), col(m.Identity.id).desc())
    ).first()


def identity_of(*, session: Session, channel: str, user_id: str) -> m.Identity | None:
    return session.exec(
        select(m.Identity).where(m.Identity.channel == channel, m.Identity.user_id == user_id)
    ).first()


# Built once: constructing this select on every turn cost about 0.45 ms of CPU (coercions and
# cache-key generation), more than running it.
_WHO = (
    select(m.Identity, m.Person, m.Unit)
    .join(m.Person, col(m.Person.id) == col(m.Identity.person_id))
    .join(m.Unit, col(m.Unit.id) == col(m.Person.unit_id))
    .where(col(m.Identity.channel) == sa.bindparam("channel"))
    .where(col(m.Identity.user_id) == sa.bindparam("user_id"))
)


def who(
    *, session: Session, channel: str, user_id: str
) -> tuple[m.Identity, m.Person, m.Unit] | None:
    """The identity writing, with its person and unit, in one query (every turn asks)."""
    return session.exec(_WHO, params={"channel": channel, "user_id": user_id}).first()


def mark_unreachable(*, session: Session, channel: str, chat_id: str, reason: str) -> None:
    """The platform refused the chat (blocked, gone): the clerk sees the person unreachable."""
    for ident in session.exec(
        select(m.Identity).where(m.Identity.channel == channel, m.Identity.chat_id == chat_id)
    ):
        ident.reachable, ident.unreachable_reason = False, reason[:200]
        session.add(ident)


def is_locked(*, session: Session, channel: str, chat_id: str, now: dt.datetime) -> bool:
    failures = session.exec(
        select(func.count())
        .select_from(m.AuditEvent)
        .where(
            m.AuditEvent.action == "register.failed",
            m.AuditEvent.channel == channel,
            m.AuditEvent.chat_id == chat_id,
            m.AuditEvent.at > now - LOCKOUT_WINDOW,
        )
    ).one()
    return failures >= LOCKOUT_ATTEMPTS


def bind_candidate(
    *, session: Session, code: str, display_name: str, now: dt.datetime
) -> m.Person | None:
    """For a valid unit invite: the one active person of its unit not registered yet whose
    name is the chat's display name (an imported roster row), whom registering may bind to."""
    invite = session.exec(select(m.Invite).where(m.Invite.code == normalise_code(code))).first()
    if invite is None or invite.person_id is not None or _invite_failure(invite, now):
        return None
    wanted = name_key(display_name)
    if not wanted:
        return None
    found = [
        p
        for p in session.exec(
            select(m.Person).where(
                m.Person.unit_id == invite.unit_id,
                col(m.Person.active),
                col(m.Person.forgotten_at).is_(None),
            )
        )
        if name_key(p.full_name) == wanted and not _has_identity(session, p)
    ]
    return found[0] if len(found) == 1 else None


def register(
    *,
    session: Session,
    channel: str,
    user_id: str,
    chat_id: str,
    display_name: str,
    code: str,
    now: dt.datetime,
    bind_to: int | None = None,
) -> Registration:
    """Bind a chat identity to an invite's unit and role (or to the invite's person; or, for
    a unit invite, to `bind_to`: the person the chat said it is, see `bind_candidate`)."""
    known = identity_of(session=session, channel=channel, user_id=user_id)
    if known is not None:
        return _already(session, known)
    if is_locked(session=session, channel=channel, chat_id=chat_id, now=now):
        return Registration(Outcome.LOCKED)
    invite = session.exec(select(m.Invite).where(m.Invite.code == normalise_code(code))).first()
    failure = _invite_failure(invite, now)
    if failure is not None:
        return _refused(session, failure, channel=channel, chat_id=chat_id, code=code, now=now)
    assert invite is not None
    if not _claim(session, invite, now):
        # Another chat took the code between our read and now: a race, not a wrong guess, so
        # it is not counted towards the lockout.
        return Registration(Outcome.USED)
    if bind_to is not None and invite.person_id is None:
        chosen = session.get(m.Person, bind_to)
        if (
            chosen is not None
            and chosen.unit_id == invite.unit_id
            and chosen.active
            and not _has_identity(session, chosen)
        ):
            invite.person_id = chosen.id  # the unit code now names the person it bound
    person, outcome = _person_of(
        session, invite, display_name=display_name, user_id=user_id, now=now
    )
    assert person.id is not None  # stored
    identity = m.Identity(
        person_id=person.id,
        channel=channel,
        user_id=user_id,
        chat_id=chat_id,
        display_name=display_name[:128],
        created_at=now,
        last_seen_at=now,
    )
    session.add(identity)
    session.flush()
    invite.used_at, invite.used_by = now, identity.id
    session.add(invite)
    audit(
        session=session,
        action="register",
        person_id=person.id,
        channel=channel,
        chat_id=chat_id,
        subject=invite.code,
        detail={"outcome": outcome.value},
    )
    return Registration(outcome, person, session.get(m.Unit, person.unit_id))


def _claim(session: Session, invite: m.Invite, now: dt.datetime) -> bool:
    """Consume the invite, once: a conditional UPDATE that only one of two chats racing for the
    code can win (PostgreSQL re-checks the condition after the winner commits; on SQLite the
    UPDATE starts the write transaction, so it sees the winner's commit)."""
    claimed = session.exec(
        sa.update(m.Invite)
        .where(col(m.Invite.id) == invite.id, col(m.Invite.used_at).is_(None))
        .values(used_at=now)
    ).rowcount
    return claimed == 1


def _already(session: Session, known: m.Identity) -> Registration:
    """The identity is registered: its person and unit."""
    person = session.get(m.Person, known.person_id)
    assert person is not None  # identity.person_id is a foreign key
    return Registration(Outcome.ALREADY, person, session.get(m.Unit, person.unit_id))


def _invite_failure(invite: m.Invite | None, now: dt.datetime) -> Outcome | None:
    """Why the invite cannot be used (unknown, used, expired); None when it can."""
    if invite is None:
        return Outcome.UNKNOWN
    if invite.used_at is not None:
        return Outcome.USED
    if invite.expires_at <= now:
        return Outcome.EXPIRED
    return None


def _refused(
    session: Session, failure: Outcome, *, channel: str, chat_id: str, code: str, now: dt.datetime
) -> Registration:
    """Audit the failed attempt; the failure, or LOCKED when it was one too many.

    A code that exists but was used is no guess (whoever sends it holds a real code, often one
    that a colleague racing them has just taken): it is audited, not counted towards the lockout.
    """
    audit(
        session=session,
        action="register.used" if failure is Outcome.USED else "register.failed",
        channel=channel,
        chat_id=chat_id,
        detail={"reason": failure.value, "code": code[:32]},
    )
    session.flush()
    if is_locked(session=session, channel=channel, chat_id=chat_id, now=now):
        audit(
            session=session,
            action="register.locked",
            channel=channel,
            chat_id=chat_id,
            detail={"until": (now + LOCKOUT_WINDOW).isoformat()},
        )
        return Registration(Outcome.LOCKED)
    return Registration(failure)


def _person_of(
    session: Session, invite: m.Invite, *, display_name: str, user_id: str, now: dt.datetime
) -> tuple[m.Person, Outcome]:
    """The invite's person (LINKED if they already have an identity: a second channel), or a
    new person of the invite's unit and role, stored (REGISTERED)."""
    if invite.person_id is not None:
        person = session.get(m.Person, invite.person_id)
        assert person is not None  # invite.person_id is a foreign key
        return person, Outcome.LINKED if _has_identity(session, person) else Outcome.REGISTERED
    person = m.Person(
        full_name=clean_text(invite.full_name or display_name)[:NAME_MAX] or user_id,
        unit_id=invite.unit_id,
        role=invite.role,
        created_at=now,
        lang=default_language(),
    )
    session.add(person)
    session.flush()
    return person, Outcome.REGISTERED


def _has_identity(session: Session, person: m.Person) -> bool:
    return (
        session.exec(select(m.Identity).where(m.Identity.person_id == person.id)).first()
        is not None
    )

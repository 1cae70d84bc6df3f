"""The inbound journal: an update is stored before it is acknowledged, then handled once.

A channel `record`s each update (keyed by channel and the platform's update id; a redelivery
adds nothing) and only then answers the webhook or confirms the polling offset. `take_turn`
handles the oldest waiting update of a chat: the turn's effects, its replies (outbox rows, sent
by the channel's reply lane) and the journal row's "handled" mark commit in one transaction.
A crash before that commit leaves the update waiting, to be handled after a restart; after it,
nothing is redone. So each update is handled exactly once in effect, and answered once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.core import clock
from bot.core import models as m
from bot.core.db import engine, session_scope
from bot.core.settings import get_settings
from handlers import export
from handlers.router import apology, respond
from handlers.types import Attachment, File, Incoming, Option, Reply, Respond
from schedules.outbox.replies import Queued, ReplyRow, queue_replies
from schedules.outbox.rows import insert_ignore

log = logging.getLogger(__name__)

INBOUND = m.Inbound.__table__
KEEP_HANDLED = dt.timedelta(days=7)  # platforms do not redeliver later than this


def update_key(update_id: str) -> str:
    """The journal's `update_id` for a platform id (fits the 64-character column)."""
    return update_id if len(update_id) <= 64 else hashlib.sha256(update_id.encode()).hexdigest()


def record(channel: str, update_id: str, incoming: Incoming) -> bool:
    """Journal one update; False if it was journalled before (a redelivery).

    Raises the store's error if the store is unreachable: the caller must then not
    acknowledge the update, so the platform delivers it again.
    """
    with engine().begin() as conn:
        row = _journal_row(channel, update_id, incoming)
        return conn.execute(_journal_insert(conn.dialect.name), row).first() is not None


@dataclass(frozen=True)
class Received:
    """What `receive` did: `new` False for a redelivery (nothing done); `turn` the update's
    turn, or None when it was left waiting behind an earlier update of its chat."""

    new: bool
    turn: Turn | None = None


def receive(
    channel: str,
    update_id: str,
    incoming: Incoming,
    respond: Respond = respond,
    claim: bool = False,
) -> Received:
    """Journal one update and, when no earlier update of its chat waits, take its turn in the
    same transaction: one commit where `record` then `take_turn` make two. A crash before the
    commit leaves nothing, so the platform, never told, delivers the update again; after it,
    the update is journalled and handled, as `take_turn` would have. Raises the store's error
    as `record` does (the caller must then not acknowledge the update)."""
    row = _journal_row(channel, update_id, incoming)
    with session_scope() as session:
        conn = session.connection()
        found = conn.execute(_journal_insert(conn.dialect.name), row).first()
        if found is None:
            return Received(new=False)
        params = {"channel": channel, "chat_id": row["chat_id"], "before": found.id}
        if conn.execute(_EARLIER, params).first() is not None:
            return Received(new=True)  # the inbox takes the chat's updates in order
        _mark(session, found.id)
        turn = _handle(
            session,
            channel,
            row["chat_id"],
            found.id,
            row["update_id"],
            row["payload"],
            respond,
            claim,
        )
        return Received(new=True, turn=turn)


def _journal_row(channel: str, update_id: str, incoming: Incoming) -> dict[str, Any]:
    return {
        "channel": channel,
        "update_id": update_key(update_id),
        "chat_id": incoming.chat_id[:64],
        "payload": dataclasses.asdict(incoming.cleaned()),
        "status": "pending",
        "received_at": clock.now(),
    }


@cache
def _journal_insert(dialect: str) -> Any:
    """INSERT … ON CONFLICT (channel, update_id) DO NOTHING RETURNING id, built once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(INBOUND)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(INBOUND.c.id)
    )


def waiting_chats(channel: str, limit: int = 500) -> list[str]:
    """Chats with updates waiting, the longest-waiting first."""
    t = INBOUND.c
    with engine().connect() as conn:
        rows = conn.execute(
            sa.select(t.chat_id)
            .where(t.channel == channel, t.status == "pending")
            .group_by(t.chat_id)
            .order_by(sa.func.min(t.id))
            .limit(limit)
        )
        return [chat for (chat,) in rows]


@dataclass(frozen=True)
class Turn:
    """A handled update: how many replies it queued, those queued already claimed (for the
    reply lane to send at once), and whether another update of the chat waits."""

    update_id: str
    replies: int
    claimed: list[ReplyRow] = field(default_factory=list)
    more: bool = True


#: Long work a reply may leave (`Reply.later`): the run method of one of these dataclasses.
#: Their fields (str, int, None, dates) go into the journal, so work a crash interrupted is
#: done after the restart.
LATER_KINDS: dict[str, type] = {"export": export.Job}


def take_turn(
    channel: str,
    chat_id: str,
    respond: Respond = respond,
    working: Callable[[], None] | None = None,
    claim: bool = False,
) -> Turn | None:
    """Handle the oldest waiting update of one chat; None if none waits.

    A message: its row is marked with an UPDATE that holds the row's lock until commit, so
    another process that tries the same row waits, then finds it handled (PostgreSQL
    re-checks the condition; SQLite has one writer anyway). Long work a reply left (building
    a file) is a row of its own, done outside any transaction (`working` is called first:
    the channel shows "sending a file…"), its result committed with its mark. A store that
    fails raises: the row stays waiting. With `claim` the replies go in claimed when their
    chat has none waiting (`queue_replies`): the caller sends them.
    """
    with engine().connect() as conn:
        row = conn.execute(_OLDEST, {"channel": channel, "chat_id": chat_id}).first()
    if row is None:
        return None
    if "later" in row.payload:
        if working is not None:
            working()
        return _finish_later(channel, chat_id, row.id, row.update_id, row.payload, claim)
    with session_scope() as session:
        if not _mark(session, row.id):
            return Turn(update_id=row.update_id, replies=0)  # another process took it
        return _handle(
            session, channel, chat_id, row.id, row.update_id, row.payload, respond, claim
        )


def _handle(
    session: Session,
    channel: str,
    chat_id: str,
    row_id: int,
    update_id: str,
    payload: dict[str, Any],
    respond: Respond,
    claim: bool,
) -> Turn:
    """The turn of a journal row already marked handled in `session`: the person's replies
    queued, long work left as rows of its own, all committed with the mark."""
    incoming = _incoming(payload)
    try:
        replies = respond(session, incoming)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise  # the store is gone: the row stays waiting
    except Exception:  # `router.respond` catches its own; another `respond` may not
        replies = [apology(incoming)]
    found = (
        session.connection()
        .execute(_WHO_IDS, {"channel": incoming.channel, "user_id": incoming.user_id})
        .first()
    )
    identity_id, person_id = found if found else (None, None)
    key = f"reply:{channel}:{update_id}"
    try:
        messages = [_message(reply, key, n) for n, reply in enumerate(replies)]
    except OSError:  # a file could not be written (a full disk): say sorry instead
        messages = [(apology(incoming).text, None)]
    queued = _queue(session, channel, chat_id, key, (identity_id, person_id), messages, claim)
    more = False
    for n, reply in enumerate(replies):
        if reply.later is None:
            continue
        try:
            later = {"later": _job(reply.later), "who": [identity_id, person_id]}
        except TypeError:  # a handler's bug: the work cannot be kept, so it is not done
            log.exception("reply.later dropped in chat %s", chat_id)
            continue
        _add(session, channel, f"{update_id}:later:{n}", chat_id, later)
        more = True
    more = more or _waiting(session, channel, chat_id, after=row_id)
    return Turn(update_id, queued.count, queued.claimed, more)


# The statements of every turn, built once: building them anew each time (coercions, cache
# keys) cost more CPU than running them.
_T, _B = INBOUND.c, sa.bindparam
_OLDEST = (
    sa.select(_T.id, _T.update_id, _T.payload)
    .where(_T.channel == _B("channel"), _T.chat_id == _B("chat_id"), _T.status == "pending")
    .order_by(_T.id)
    .limit(1)
)
_LATER = (
    sa.select(_T.id)
    .where(_T.channel == _B("channel"), _T.chat_id == _B("chat_id"), _T.status == "pending")
    .where(_T.id > _B("after"))
    .limit(1)
)
_EARLIER = (
    sa.select(_T.id)
    .where(_T.channel == _B("channel"), _T.chat_id == _B("chat_id"), _T.status == "pending")
    .where(_T.id < _B("before"))
    .limit(1)
)
_MARK = (
    INBOUND.update()
    .where(_T.id == _B("row"), _T.status == "pending")
    .values(status="handled", handled_at=_B("at"))
    .returning(_T.id)
)
_I = m.Identity.__table__.c
_WHO_IDS = sa.select(_I.id, _I.person_id).where(
    _I.channel == _B("channel"), _I.user_id == _B("user_id")
)


def _waiting(session: Session, channel: str, chat_id: str, *, after: int) -> bool:
    params = {"channel": channel, "chat_id": chat_id, "after": after}
    return session.connection().execute(_LATER, params).first() is not None


def _mark(session: Session, row_id: int) -> bool:
    marked = session.connection().execute(_MARK, {"row": row_id, "at": clock.now()}).first()
    return marked is not None


def _add(session: Session, channel: str, update_id: str, chat_id: str, payload: dict) -> None:
    row = {
        "channel": channel,
        "update_id": update_key(update_id),
        "chat_id": chat_id,
        "payload": payload,
        "status": "pending",
        "received_at": clock.now(),
    }
    insert_ignore(session, INBOUND, [row], ["channel", "update_id"])


def _finish_later(
    channel: str, chat_id: str, row_id: int, update_id: str, payload: dict[str, Any], claim: bool
) -> Turn:
    """Do a reply's long work, then queue its replies with the row's mark, in one commit."""
    try:
        replies = _run_job(payload["later"])
    except Exception:  # a bug in the work: say sorry, do not try again forever
        replies = [apology(Incoming(channel=channel, chat_id=chat_id, user_id=""))]
    identity_id, person_id = payload.get("who") or (None, None)
    key = f"reply:{channel}:{update_id}"
    with session_scope() as session:
        if not _mark(session, row_id):
            return Turn(update_id=update_id, replies=0)
        messages = [_message(reply, key, n) for n, reply in enumerate(replies)]
        queued = _queue(session, channel, chat_id, key, (identity_id, person_id), messages, claim)
        return Turn(update_id, queued.count, queued.claimed)


def _queue(
    session: Session,
    channel: str,
    chat_id: str,
    key: str,
    who: tuple[int | None, int | None],
    messages: list[tuple[str, dict[str, Any] | None]],
    claim: bool,
) -> Queued:
    """A turn's replies into the outbox, for the identity and person `who` (either None)."""
    identity_id, person_id = who
    return queue_replies(
        session=session,
        key=key,
        channel=channel,
        chat_id=chat_id,
        identity_id=identity_id,
        person_id=person_id,
        messages=messages,
        now=clock.now(),
        claim=claim,
    )


def _job(work: Callable[[], list[Reply]]) -> dict[str, Any]:
    job = getattr(work, "__self__", None)
    kinds = {cls: name for name, cls in LATER_KINDS.items()}
    if job is None or type(job) not in kinds or getattr(work, "__name__", "") != "run":
        raise TypeError("Reply.later must be the run method of a job in journal.LATER_KINDS")
    fields = {}
    for f in dataclasses.fields(job):
        value = getattr(job, f.name)
        if isinstance(value, dt.datetime):
            value = {"datetime": value.isoformat()}
        elif isinstance(value, dt.date):
            value = {"date": value.isoformat()}
        fields[f.name] = value
    return {"kind": kinds[type(job)], "fields": fields}


def _run_job(spec: dict[str, Any]) -> list[Reply]:
    def value(raw: Any) -> Any:
        if isinstance(raw, dict) and "datetime" in raw:
            return dt.datetime.fromisoformat(raw["datetime"])
        if isinstance(raw, dict) and "date" in raw:
            return dt.date.fromisoformat(raw["date"])
        return raw

    job = LATER_KINDS[spec["kind"]](**{k: value(v) for k, v in spec["fields"].items()})
    return job.run()


def prune(channel: str, keep: dt.timedelta = KEEP_HANDLED) -> int:
    """Forget handled updates older than `keep`."""
    t = INBOUND.c
    with session_scope() as session:
        return session.exec(
            INBOUND.delete().where(
                t.channel == channel, t.status == "handled", t.received_at < clock.now() - keep
            )
        ).rowcount


# ---- (de)serialising ---------------------------------------------------------------------


def _incoming(payload: dict[str, Any]) -> Incoming:
    data = dict(payload)
    attachment = data.pop("attachment", None)
    return Incoming(**data, attachment=Attachment(**attachment) if attachment else None)


def _message(reply: Reply, key: str, n: int) -> tuple[str, dict[str, Any] | None]:
    """A reply as an outbox row's (text, payload); a file goes to the outbox's folder."""
    payload: dict[str, Any] = {}
    if reply.options:
        payload["options"] = [[o.label, o.data] for o in reply.options]
    if reply.commands_changed:
        payload["commands_changed"] = True
    if reply.headings:
        payload["headings"] = list(reply.headings)
    for kind, file in (("document", reply.document), ("image", reply.image)):
        if file is not None:
            payload[kind] = _store_file(file, key, n)
    return reply.text, payload or None


def _store_file(file: File, key: str, n: int) -> dict[str, str]:
    folder = Path(get_settings().attachments_dir) / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(f"{key}:{n}".encode()).hexdigest()[:16] + "-" + uuid.uuid4().hex[:8]
    path = folder / name
    path.write_bytes(file.content)
    return {"path": str(path), "filename": file.filename, "mime": file.mime}


def reply_of(text: str, payload: dict[str, Any] | None) -> Reply:
    """An outbox row back as the `Reply` the handlers made (for the channel's renderer)."""
    payload = payload or {}

    def file(kind: str) -> File | None:
        spec = payload.get(kind)
        if not spec:
            return None
        content = Path(spec["path"]).read_bytes()
        return File(filename=spec["filename"], content=content, mime=spec["mime"])

    return Reply(
        text=text,
        options=tuple(Option(label, data) for label, data in payload.get("options", [])),
        document=file("document"),
        image=file("image"),
        commands_changed=bool(payload.get("commands_changed")),
        headings=tuple(payload.get("headings", ())),
    )


def reply_files(payload: dict[str, Any] | None) -> list[Path]:
    """The files a sent (or given up) reply leaves in the outbox's folder."""
    specs = [(payload or {}).get(kind) for kind in ("document", "image")]
    return [Path(spec["path"]) for spec in specs if spec]

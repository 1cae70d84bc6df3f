"""The store's tables (SQLModel). Times are UTC, timezone-aware; people see Vietnam time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and gives them back aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def _when(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    year: int
    theme: str
    data: dict = Field(sa_column=Column(JSON, nullable=False))
    source: str = ""
    loaded_at: dt.datetime = _when()
    active: bool = True


class Phase(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("campaign_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    number: int
    name: str
    start: dt.date
    end: dt.date
    deadline: dt.date | None = None  # plans may set no summing-up deadline


class EventDate(SQLModel, table=True):
    """A date given later to an event the plan left undated (`thidua event set`)."""

    __tablename__ = "event_date"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    code: str = Field(primary_key=True, max_length=64)
    day: dt.date
    set_at: dt.datetime = _when()


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=16)
    name: str
    office: bool = False
    active: bool = True


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=120)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(max_length=8)  # staff | head | clerk | admin
    phone: str | None = Field(default=None, max_length=20)
    lang: str = Field(default="vi", max_length=5)
    active: bool = True
    created_at: dt.datetime = _when()
    # the roster's stable key and its other columns (bot/core/roster.py)
    staff_no: str | None = Field(default=None, max_length=32, index=True)
    email: str | None = Field(default=None, max_length=120)
    position: str | None = Field(default=None, max_length=120)
    # away (/vang): no reminders up to and including this local date
    away_until: dt.date | None = None
    away_reason: str | None = Field(default=None, max_length=200)
    left_at: dt.datetime | None = _when(default=None)  # deactivated (records kept)
    forgotten_at: dt.datetime | None = _when(default=None)  # identifying data removed


class Identity(SQLModel, table=True):
    """A person's account on one channel (a Telegram user, a Zalo user, the console)."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    __table_args__ = (sa.UniqueConstraint("channel", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=128)
    reachable: bool = True
    unreachable_reason: str | None = None
    created_at: dt.datetime = _when()
    last_seen_at: dt.datetime | None = _when(default=None)


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    unit_id: int = Field(foreign_key="unit.id")
    role: str = Field(max_length=8)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    full_name: str | None = Field(default=None, max_length=120)
    created_at: dt.datetime = _when()
    expires_at: dt.datetime = _when()
    used_at: dt.datetime | None = _when(default=None)
    used_by: int | None = Field(default=None, foreign_key="identity.id")


class Counter(SQLModel, table=True):
    """Receipt sequences (BC-2022-0001): incremented in place so concurrent saves never clash."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    kind: str = Field(primary_key=True, max_length=8)
    value: int = 0


class Report(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    receipt: str = Field(unique=True, max_length=20)
    person_id: int = Field(foreign_key="person.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    phase: int = Field(index=True)
    scope: str = Field(default="personal", max_length=8)  # personal | unit
    area: str = Field(max_length=64)
    title: str = Field(max_length=120)
    detail: str = Field(max_length=1500)
    evidence_kind: str | None = Field(default=None, max_length=16)  # photo | document
    evidence_ref: str | None = None  # channel file id
    evidence_path: str | None = None  # file in the attachment store
    status: str = Field(default="submitted", max_length=12, index=True)
    # submitted | accepted | returned | withdrawn
    review_note: str | None = None
    created_at: dt.datetime = _when()
    updated_at: dt.datetime = _when()


class Nomination(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    receipt: str = Field(unique=True, max_length=20)
    proposer_id: int = Field(foreign_key="person.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)  # the unit that proposes
    audience: str = Field(max_length=12)  # individual | collective
    nominee_person_id: int | None = Field(default=None, foreign_key="person.id")
    nominee_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    nominee_name: str = Field(max_length=120)
    nominee_key: str = Field(max_length=140)  # normalised nominee, for the duplicate rule
    title_code: str = Field(max_length=32, index=True)
    basis: str = Field(max_length=1500)
    initiative: str | None = Field(default=None, max_length=300)
    phase: int | None = None
    status: str = Field(default="proposed", max_length=12, index=True)
    # proposed | endorsed | accepted | returned | withdrawn
    endorsed_by: int | None = Field(default=None, foreign_key="person.id")
    review_note: str | None = None
    created_at: dt.datetime = _when()
    updated_at: dt.datetime = _when()


class Conversation(SQLModel, table=True):
    """Where a chat stands in a flow: survives restarts, shared by processes."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    token: str = Field(max_length=8)
    answers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = _when()


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = _when(index=True)
    action: str = Field(max_length=32, index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel: str | None = Field(default=None, max_length=16)
    chat_id: str | None = Field(default=None, max_length=64, index=True)
    subject: str | None = Field(default=None, max_length=64)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PushRun(SQLModel, table=True):
    """One calendar event's push, expanded (or skipped) once: the key is the event's key."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    key: str = Field(primary_key=True, max_length=160)
    campaign_id: int = Field(foreign_key="campaign.id")
    kind: str = Field(max_length=32)
    due_at: dt.datetime = _when()
    status: str = Field(max_length=12)  # expanded | skipped
    recipients: int = 0
    created_at: dt.datetime = _when()


#: Outbox rows at this priority or above are replies to people: the channel's reply lane sends
#: them at once, in order per chat; the delivery worker (pushes) leaves them alone.
REPLY_LANE = 100


class Outbox(SQLModel, table=True):
    """One message to one chat; `key` makes expanding a push twice add nothing.

    A reply to a person (priority `REPLY_LANE` and above) may be to someone not registered
    (no identity); its `payload` holds what plain text cannot: buttons, a file, a menu change.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    __table_args__ = (
        sa.Index("ix_outbox_due", "channel", "status", "next_attempt_at"),
        sa.Index("ix_outbox_chat", "channel", "chat_id", "status"),  # a chat's unsent replies
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    push_key: str | None = Field(default=None, max_length=160, index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    identity_id: int | None = Field(default=None, foreign_key="identity.id")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    text: str
    payload: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    priority: int = 0  # higher goes first
    status: str = Field(default="pending", max_length=12)
    # pending | sending | sent | failed | deferred
    attempts: int = 0
    next_attempt_at: dt.datetime = _when()
    claimed_at: dt.datetime | None = _when(default=None)
    # The process that claimed it (`Lease.holder`): its rows are due again once its lease ends.
    claimed_by: str | None = Field(default=None, max_length=80)
    last_error: str | None = None
    created_at: dt.datetime = _when()
    sent_at: dt.datetime | None = _when(default=None)


class Inbound(SQLModel, table=True):
    """The inbound journal: every update, written before the platform is told it arrived.

    Keyed by (channel, the platform's update id), so a redelivery adds nothing. A turn reads
    its row, and marks it handled in the turn's own transaction: a crash anywhere before that
    commit leaves the row pending, to be handled (once) after a restart.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    __table_args__ = (
        sa.UniqueConstraint("channel", "update_id"),
        sa.Index("ix_inbound_waiting", "channel", "status", "chat_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    payload: dict = Field(sa_column=Column(JSON, nullable=False))  # the `Incoming`
    status: str = Field(default="pending", max_length=12)  # pending | handled
    received_at: dt.datetime = _when()
    handled_at: dt.datetime | None = _when(default=None)


class ChannelState(SQLModel, table=True):
    """A channel's sending state, e.g. Zalo paused until tomorrow after a quota 429."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    channel: str = Field(primary_key=True, max_length=16)
    paused_until: dt.datetime | None = _when(default=None)
    reason: str | None = None
    sent_this_month: int = 0
    month: str | None = Field(default=None, max_length=7)


class Lease(SQLModel, table=True):
    """A running process that may hold outbox rows in `sending`, alive until `expires_at`.

    Each process renews its row every few seconds (bot/core/leases.py); rows claimed by a
    holder whose lease has run out belong to a process that died, and are due again.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    holder: str = Field(primary_key=True, max_length=80)  # host:pid:random
    host: str = Field(max_length=64)
    pid: int
    started_at: dt.datetime = _when()
    expires_at: dt.datetime = _when()

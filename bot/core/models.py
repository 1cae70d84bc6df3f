"""The store's tables (SQLModel). Times are UTC, timezone-aware; people see Vietnam time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel

from bot.core.text import fold


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
    __table_args__ = (  # the web desk's (bot/channels/web): its pages at 100,000 reports
        sa.Index("ix_report_campaign_id_id", "campaign_id", "id"),
        sa.Index("ix_report_campaign_unit", "campaign_id", "unit_id", "id"),
        sa.Index("ix_report_campaign_status", "campaign_id", "status"),
        sa.Index(  # covers `unit_status.tally_reports`: the phase's rows read from the index
            "ix_report_tally",
            "campaign_id", "phase", "scope", "area", "status", "unit_id", "receipt", "created_at",
        ),
    )  # fmt: skip
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
    status: str = Field(default="submitted", max_length=12, index=True)
    # submitted | accepted | returned | withdrawn
    review_note: str | None = None
    created_at: dt.datetime = _when()
    updated_at: dt.datetime = _when()
    #: receipt, title and detail folded (`bot.core.text.fold`): the web desk's search, where
    #: "bao cao" finds "báo cáo" on SQLite and PostgreSQL alike. Kept by `_fold_search` below.
    #: On SQLite, migration 0020 indexes it (ix_report_campaign_search), so a search scans
    #: that index rather than the table; PostgreSQL's B-tree entries are capped near 2.7 kB.
    search: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})


class ReportTally(SQLModel, table=True):
    """Personal reports counted by (campaign, phase, unit, area, status), kept exact by
    triggers on `report` (migration 0023): what the units page, /tonghop and the digests
    count, read from a few hundred rows rather than every report of the phase. A count
    that fell to 0 keeps its row."""

    __tablename__ = "report_tally"
    campaign_id: int = Field(primary_key=True)
    phase: int = Field(primary_key=True)
    unit_id: int = Field(primary_key=True)
    area: str = Field(primary_key=True, max_length=64)
    status: str = Field(primary_key=True, max_length=12)
    n: int


class Nomination(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_nomination_campaign_status", "campaign_id", "status"),
        sa.Index(  # covers `summary._targets`: the counting nominations read from the index
            "ix_nomination_tally",
            "campaign_id", "status", "unit_id", "phase", "audience", "title_code",
        ),
    )  # fmt: skip
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
        sa.Index(  # the delivery's claim: the waiting rows, already in the order it takes them
            "ix_outbox_claim",
            "channel", sa.text("priority DESC"), "next_attempt_at", "id",
            sqlite_where=sa.text("status IN ('pending', 'deferred')"),
            postgresql_where=sa.text("status IN ('pending', 'deferred')"),
        ),
    )  # fmt: skip
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


# --- awards: registration (đăng ký thi đua), the year's ratings and initiatives, pre-checks ---


class Registration(SQLModel, table=True):
    """The titles a person (for themselves) or a unit head (for the unit) aims for this year.

    One row per campaign and registrant (`subject`: `person:<id>` or `unit:<id>`); editing it
    replaces `titles` and keeps the receipt (DK-2022-0001)."""

    __table_args__ = (sa.UniqueConstraint("campaign_id", "subject"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    receipt: str = Field(unique=True, max_length=20)
    subject: str = Field(max_length=32)
    audience: str = Field(max_length=12)  # individual | collective
    person_id: int | None = Field(default=None, foreign_key="person.id")  # who registers
    unit_id: int = Field(foreign_key="unit.id", index=True)
    nominee_person_id: int | None = Field(default=None, foreign_key="person.id")
    nominee_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    titles: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = _when()
    updated_at: dt.datetime = _when()


class YearRecord(SQLModel, table=True):
    """What the office knows of a person's or a unit's year: the performance rating (xếp
    loại), whether they were disciplined, and the titles conferred (for "N years running").
    None is "not known" (nothing imported), never "no"."""

    __tablename__ = "year_record"
    __table_args__ = (sa.UniqueConstraint("year", "subject"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    subject: str = Field(max_length=32)  # person:<id> | unit:<id>
    rating: str | None = Field(default=None, max_length=16)
    disciplined: bool | None = None
    titles: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    imported_at: dt.datetime = _when()


class Initiative(SQLModel, table=True):
    """A recognised initiative (sáng kiến) of a person, imported by the clerk."""

    __table_args__ = (sa.UniqueConstraint("year", "person_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    name: str = Field(max_length=300)
    decision: str | None = Field(default=None, max_length=120)  # the recognising decision
    accepted: bool = True
    imported_at: dt.datetime = _when()


class PrecheckOverride(SQLModel, table=True):
    """The clerk's own finding on one condition of a nomination's pre-check (audited)."""

    __tablename__ = "precheck_override"
    nomination_id: int = Field(foreign_key="nomination.id", primary_key=True)
    condition: str = Field(primary_key=True, max_length=48)
    outcome: str = Field(max_length=8)  # met | missing
    note: str = Field(max_length=300)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    at: dt.datetime = _when()


class NominationReport(SQLModel, table=True):
    """A report a nomination cites as its basis (one achievement, one award)."""

    __tablename__ = "nomination_report"
    nomination_id: int = Field(foreign_key="nomination.id", primary_key=True)
    report_id: int = Field(foreign_key="report.id", primary_key=True, index=True)


# --- the council and its secret vote (bình xét) -----------------------------------------------


class CouncilMember(SQLModel, table=True):
    """A seat on a campaign's Hội đồng Thi đua – Khen thưởng; the person keeps their own role."""

    __tablename__ = "council_member"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    added_at: dt.datetime = _when()


class BallotSession(SQLModel, table=True):
    """A phiên bình xét: the candidates (accepted nominations) the council votes on.

    While it is open, `box` holds the ballots cast so far as one list, shuffled at every cast
    and written whole, so no row, id or position says which came first. At the close the
    ballots become `ballot` rows, inserted in one batch in random order, and `box` is emptied.
    """

    __tablename__ = "ballot_session"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    phase: int | None = None  # None: the year
    status: str = Field(default="open", max_length=8)  # open | closed
    candidates: list = Field(sa_column=Column(JSON, nullable=False))  # nomination ids
    members: int = 0  # seats on the council when it opened
    box: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_by: int = Field(foreign_key="person.id")
    opened_at: dt.datetime = _when()
    closed_at: dt.datetime | None = _when(default=None)


class BallotTurnout(SQLModel, table=True):
    """Who has voted in a session (for the turnout and the one-vote rule): never how."""

    __tablename__ = "ballot_turnout"
    session_id: int = Field(foreign_key="ballot_session.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)


class Ballot(SQLModel, table=True):
    """One cast ballot: a random id, its session, and a choice per candidate; no voter, no time."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    id: str = Field(primary_key=True, max_length=32)  # uuid4 hex
    session_id: int = Field(foreign_key="ballot_session.id", index=True)
    choices: dict = Field(sa_column=Column(JSON, nullable=False))  # nomination id -> yes | no


# ---- the web desk (bot/channels/web): sign-in links and sessions ----------------------------


def report_search_text(receipt: str, title: str, detail: str) -> str:
    """What the web desk's search reads for a report: its words without diacritics."""
    return fold(f"{receipt} {title} {detail}")


@sa.event.listens_for(Report, "before_insert")
@sa.event.listens_for(Report, "before_update")
def _fold_search(_mapper: Any, _connection: Any, target: Report) -> None:
    target.search = report_search_text(target.receipt, target.title, target.detail)


class WebLink(SQLModel, table=True):
    """A one-time sign-in link sent by `/web`: only the token's SHA-256 is kept."""

    __tablename__ = "web_link"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: dt.datetime = _when()
    expires_at: dt.datetime = _when()
    used_at: dt.datetime | None = _when(default=None)


class WebSession(SQLModel, table=True):
    """A browser signed in from a link; the cookie holds the key, the store its SHA-256."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf: str = Field(max_length=64)  # the forms' token (not a secret kept from the store)
    created_at: dt.datetime = _when()
    expires_at: dt.datetime = _when()
    ended_at: dt.datetime | None = _when(default=None)


class ReportEvidence(SQLModel, table=True):
    """One evidence file of a report (a report holds up to THIDUA_EVIDENCE_PER_REPORT), in the
    order the person sent them."""

    __tablename__ = "report_evidence"
    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[sa.Table]

    __table_args__ = (sa.UniqueConstraint("report_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    position: int = 0  # 0, 1, … in the order sent
    kind: str = Field(max_length=16)  # photo | document
    ref: str | None = None  # the channel's file id
    path: str | None = None  # the file in the attachment store (None: not downloaded)
    name: str = Field(default="", max_length=120)  # as the sender named it
    created_at: dt.datetime = _when()


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

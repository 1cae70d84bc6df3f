"""the web desk: a folded search column on reports, sign-in links and browser sessions

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 05:30:00

`report.search` holds the receipt, title and detail without diacritics, so the desk's search
is one LIKE on SQLite and PostgreSQL alike ("bao cao" finds "báo cáo"); the reports already
stored are folded here. `web_link` holds the SHA-256 of each one-time sign-in link `/web`
sends, `web_session` that of each browser session's key.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models
from bot.core.models import report_search_text

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BATCH = 2000
#: SQLite only: PostgreSQL caps a B-tree entry near 2.7 kB, which a long detail may pass.
SEARCH_INDEX = "ix_report_campaign_search"
#: The desk's pages at 100,000 reports: listing by campaign and by unit newest first, counting
#: what waits, the folded search read from an index, and the phase tally read from one.
REPORT_INDEXES = {
    "ix_report_campaign_id_id": ["campaign_id", "id"],
    "ix_report_campaign_unit": ["campaign_id", "unit_id", "id"],
    "ix_report_campaign_status": ["campaign_id", "status"],
    "ix_report_tally": [
        "campaign_id", "phase", "scope", "area", "status", "unit_id", "receipt", "created_at"
    ],
}  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search", sa.Text(), nullable=False, server_default=""))
    _fold_stored_reports()
    for name, columns in REPORT_INDEXES.items():
        op.create_index(name, "report", columns, unique=False)
    if op.get_bind().dialect.name == "sqlite":  # a search reads this index, not the table
        op.create_index(SEARCH_INDEX, "report", ["campaign_id", "search"], unique=False)
    op.create_index(
        "ix_nomination_campaign_status", "nomination", ["campaign_id", "status"], unique=False
    )
    op.create_table(
        "web_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", bot.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_link_person_id", "web_link", ["person_id"], unique=False)
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bot.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_web_session_person_id", "web_session", ["person_id"], unique=False)


def _fold_stored_reports() -> None:
    conn = op.get_bind()
    report = sa.table(
        "report",
        sa.column("id", sa.Integer),
        sa.column("receipt", sa.String),
        sa.column("title", sa.String),
        sa.column("detail", sa.String),
        sa.column("search", sa.Text),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(report.c.id, report.c.receipt, report.c.title, report.c.detail)
            .where(report.c.id > last)
            .order_by(report.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            report.update().where(report.c.id == sa.bindparam("rid")),
            [{"rid": r.id, "search": report_search_text(r.receipt, r.title, r.detail)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_web_session_person_id", table_name="web_session")
    op.drop_table("web_session")
    op.drop_index("ix_web_link_person_id", table_name="web_link")
    op.drop_table("web_link")
    op.drop_index("ix_nomination_campaign_status", table_name="nomination")
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(SEARCH_INDEX, table_name="report")
    for name in REPORT_INDEXES:
        op.drop_index(name, table_name="report")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("search")

"""the web desk: a folded search column on reports, sign-in links and browser sessions

Revision ID: 0020
Revises: 0015
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
down_revision = "0015"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index("ix_report_campaign_id_id", ["campaign_id", "id"], unique=False)
    _fold_stored_reports()
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
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_campaign_id_id")
        batch_op.drop_column("search")

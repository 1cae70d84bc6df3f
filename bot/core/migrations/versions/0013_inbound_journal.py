"""inbound journal; replies through the outbox

Revision ID: 0013
Revises: 0001
Create Date: 2026-12-01 23:50:00

`inbound` replaces `processed_update`: every update is journalled before it is acknowledged.
Outbox rows may now be replies to people not registered (no identity) and carry a payload.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0013"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("update_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("received_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", bot.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "update_id"),
    )
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_waiting", ["channel", "status", "chat_id", "id"], unique=False
        )
    op.drop_table("processedupdate")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("identity_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("payload")
        batch_op.alter_column("identity_id", existing_type=sa.Integer(), nullable=False)
    op.create_table(
        "processedupdate",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("update_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id"),
    )
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_waiting")
    op.drop_table("inbound")

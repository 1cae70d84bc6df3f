"""leases: which process holds an outbox row, and until when it is alive

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-02 05:40:00

An outbox row in `sending` names the process that claimed it (`claimed_by`); each running
process keeps a `lease` row alive with a heartbeat. Rows of a process whose lease ran out
(it died, or its machine did) are due again within seconds, not after five minutes.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0021"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lease",
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
    op.drop_table("lease")

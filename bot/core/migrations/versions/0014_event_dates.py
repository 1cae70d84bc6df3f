"""event dates given later; phases without a summing-up deadline

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-01 23:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0014"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_date",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("set_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("campaign_id", "code"),
    )
    with op.batch_alter_table("phase") as batch_op:
        batch_op.alter_column("deadline", existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("phase") as batch_op:
        batch_op.alter_column("deadline", existing_type=sa.Date(), nullable=False)
    op.drop_table("event_date")

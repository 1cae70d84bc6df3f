"""people for a whole year: roster keys and contact fields, away, leaving, forgetting

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:40:00

A person gets the roster's stable key (staff number) and its other columns (email, position),
the dates of an absence (away until, with an optional reason), when they left (deactivated)
and when their identifying data was removed (forgotten).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("staff_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(
            sa.Column("position", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(sa.Column("away_until", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("away_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("left_at", bot.core.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("forgotten_at", bot.core.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_person_staff_no"), ["staff_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_staff_no"))
        for column in (
            "forgotten_at",
            "left_at",
            "away_reason",
            "away_until",
            "position",
            "email",
            "staff_no",
        ):
            batch_op.drop_column(column)

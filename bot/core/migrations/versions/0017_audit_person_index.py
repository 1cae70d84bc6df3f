"""audit log: index on person_id (`thidua audit --person`)

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-01 23:30:00
"""

from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auditevent_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditevent_person_id"))

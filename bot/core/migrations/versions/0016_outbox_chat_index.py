"""outbox: index on (channel, chat_id, status), for a chat's waiting replies

The reply lane asks, for every reply, whether an earlier one of its chat is still unsent.
During a broadcast the channel has thousands of waiting push rows; without this index that
question read them all.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 06:00:00
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_chat", ["channel", "chat_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat")

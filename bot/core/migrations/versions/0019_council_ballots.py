"""the council and its secret vote: members, ballot sessions, turnout, ballots

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 05:40:00

A campaign's council (its members keep their own roles), the ballot sessions (phiên bình xét)
with their candidates and, while open, their shuffled ballot box, who has voted in each, and
the ballots: random ids, no voter and no time (see bot/core/council.py).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "council_member",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("added_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("campaign_id", "person_id"),
    )
    op.create_table(
        "ballot_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("opened_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", bot.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["opened_by"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_ballot_session_campaign_id"), "ballot_session", ["campaign_id"], unique=False
    )
    op.create_table(
        "ballot_turnout",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["ballot_session.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("session_id", "person_id"),
    )
    op.create_table(
        "ballot",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["ballot_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ballot_session_id"), "ballot", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ballot_session_id"), table_name="ballot")
    op.drop_table("ballot")
    op.drop_table("ballot_turnout")
    op.drop_index(op.f("ix_ballot_session_campaign_id"), table_name="ballot_session")
    op.drop_table("ballot_session")
    op.drop_table("council_member")

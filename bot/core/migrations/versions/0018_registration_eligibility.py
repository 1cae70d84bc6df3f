"""awards: registration (đăng ký thi đua), the year's ratings and initiatives, pre-checks

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02 05:40:00

Registrations of the titles people and units aim for; what the office knows of each one's
year (rating, discipline, titles conferred); recognised initiatives; the clerk's overrides of
a nomination's pre-check; the reports a nomination cites.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_WHEN = bot.core.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("receipt", _S(length=20), nullable=False),
        sa.Column("subject", _S(length=32), nullable=False),
        sa.Column("audience", _S(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("nominee_person_id", sa.Integer(), nullable=True),
        sa.Column("nominee_unit_id", sa.Integer(), nullable=True),
        sa.Column("titles", sa.JSON(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["nominee_person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["nominee_unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt"),
        sa.UniqueConstraint("campaign_id", "subject"),
    )
    op.create_index("ix_registration_campaign_id", "registration", ["campaign_id"])
    op.create_index("ix_registration_unit_id", "registration", ["unit_id"])
    op.create_table(
        "year_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("subject", _S(length=32), nullable=False),
        sa.Column("rating", _S(length=16), nullable=True),
        sa.Column("disciplined", sa.Boolean(), nullable=True),
        sa.Column("titles", sa.JSON(), nullable=True),
        sa.Column("imported_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "subject"),
    )
    op.create_index("ix_year_record_year", "year_record", ["year"])
    op.create_table(
        "initiative",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", _S(length=300), nullable=False),
        sa.Column("decision", _S(length=120), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("imported_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "person_id", "name"),
    )
    op.create_index("ix_initiative_year", "initiative", ["year"])
    op.create_index("ix_initiative_person_id", "initiative", ["person_id"])
    op.create_table(
        "precheck_override",
        sa.Column("nomination_id", sa.Integer(), nullable=False),
        sa.Column("condition", _S(length=48), nullable=False),
        sa.Column("outcome", _S(length=8), nullable=False),
        sa.Column("note", _S(length=300), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["nomination_id"], ["nomination.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("nomination_id", "condition"),
    )
    op.create_table(
        "nomination_report",
        sa.Column("nomination_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["nomination_id"], ["nomination.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("nomination_id", "report_id"),
    )
    op.create_index("ix_nomination_report_report_id", "nomination_report", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_nomination_report_report_id", table_name="nomination_report")
    op.drop_table("nomination_report")
    op.drop_table("precheck_override")
    op.drop_index("ix_initiative_person_id", table_name="initiative")
    op.drop_index("ix_initiative_year", table_name="initiative")
    op.drop_table("initiative")
    op.drop_index("ix_year_record_year", table_name="year_record")
    op.drop_table("year_record")
    op.drop_index("ix_registration_unit_id", table_name="registration")
    op.drop_index("ix_registration_campaign_id", table_name="registration")
    op.drop_table("registration")

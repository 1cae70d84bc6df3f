"""a report holds several evidence files: the report_evidence table

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-02 05:45:00

A report's one evidence file (report.evidence_kind, evidence_ref, evidence_path) becomes the
first row of `report_evidence`, which holds every file of a report in the order sent. The old
columns go. The rows are read before the columns are dropped and written after the new table
exists: SQLite rebuilds `report` to drop columns, which it could not do with rows of another
table pointing at it (foreign keys are on).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.core.models

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

OLD = ("evidence_kind", "evidence_ref", "evidence_path")


def _evidence_table() -> sa.Table:
    return sa.table(
        "report_evidence",
        sa.column("report_id", sa.Integer()),
        sa.column("position", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("ref", sa.String()),
        sa.column("path", sa.String()),
        sa.column("name", sa.String()),
        sa.column("created_at", bot.core.models.UTCDateTime(timezone=True)),
    )


def upgrade() -> None:
    report = sa.table(
        "report",
        sa.column("id", sa.Integer()),
        sa.column("created_at", bot.core.models.UTCDateTime(timezone=True)),
        *(sa.column(name, sa.String()) for name in OLD),
    )
    c = report.c
    rows = [
        {
            "report_id": row.id,
            "position": 0,
            "kind": row.evidence_kind or "photo",
            "ref": row.evidence_ref,
            "path": row.evidence_path,
            "name": "",
            "created_at": row.created_at,
        }
        for row in op.get_bind().execute(
            sa.select(c.id, c.created_at, *(c[name] for name in OLD))
            .where(
                sa.or_(
                    c.evidence_kind.is_not(None),
                    c.evidence_ref.is_not(None),
                    c.evidence_path.is_not(None),
                )
            )
            .order_by(c.id)
        )
    ]
    with op.batch_alter_table("report", schema=None) as batch_op:
        for name in OLD:
            batch_op.drop_column(name)
    op.create_table(
        "report_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", bot.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "position"),
    )
    with op.batch_alter_table("report_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_evidence_report_id"), ["report_id"])
    if rows:
        op.bulk_insert(_evidence_table(), rows)


def downgrade() -> None:
    """Back to one file a report: the first of each report's files is kept."""
    evidence = _evidence_table()
    e = evidence.c
    first = [
        dict(row._mapping)
        for row in op.get_bind().execute(
            sa.select(e.report_id, e.kind, e.ref, e.path).where(e.position == 0)
        )
    ]
    with op.batch_alter_table("report_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_evidence_report_id"))
    op.drop_table("report_evidence")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evidence_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("evidence_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("evidence_path", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    report = sa.table("report", sa.column("id", sa.Integer()), *(sa.column(n) for n in OLD))
    for row in first:
        op.execute(
            report.update()
            .where(report.c.id == row["report_id"])
            .values(evidence_kind=row["kind"], evidence_ref=row["ref"], evidence_path=row["path"])
        )

"""A report's evidence files in the store, read and written for tests."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope


def files_of(receipt: str | None = None) -> list[m.ReportEvidence]:
    """The evidence files of the report `receipt` (None: the only report), in order."""
    with session_scope() as session:
        query = select(m.Report)
        if receipt is not None:
            query = query.where(m.Report.receipt == receipt)
        report = session.exec(query).one()
        return list(
            session.exec(
                select(m.ReportEvidence)
                .where(m.ReportEvidence.report_id == report.id)
                .order_by(col(m.ReportEvidence.position))
            )
        )


def attach(receipt: str, kind: str, path: Path | None, name: str = "") -> None:
    """One more evidence file for the report `receipt`, as if sent with it."""
    with session_scope() as session:
        report = session.exec(select(m.Report).where(m.Report.receipt == receipt)).one()
        assert report.id is not None
        position = len(
            session.exec(
                select(m.ReportEvidence.id).where(m.ReportEvidence.report_id == report.id)
            ).all()
        )
        session.add(
            m.ReportEvidence(
                report_id=report.id,
                position=position,
                kind=kind,
                path=str(path) if path else None,
                name=name,
                created_at=clock.now(),
            )
        )

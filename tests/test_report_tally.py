"""`report_tally` (migration 0023's triggers) stays equal to the count of the personal
reports, whatever is done to them: filed, reviewed, withdrawn, moved, rescoped, deleted;
and the figures read from it are those a count over the reports gives."""

from __future__ import annotations

import random

import sqlalchemy as sa
from sqlmodel import select

from bot.core import clock
from bot.core import models as m
from bot.core.db import engine, session_scope
from bot.core.store import active_campaign
from bot.core.summary import compile_summary
from tests.clerk_seed import seed

STATUSES = ("submitted", "accepted", "returned", "withdrawn")
AREAS = ("chuyen-mon", "cai-cach-hanh-chinh", "chuyen-doi-so")

COUNTED = sa.text(
    "SELECT campaign_id, phase, unit_id, area, status, count(*) FROM report "
    "WHERE scope = 'personal' GROUP BY campaign_id, phase, unit_id, area, status"
)
TALLIED = sa.text(
    "SELECT campaign_id, phase, unit_id, area, status, n FROM report_tally WHERE n > 0"
)


def counts(statement: sa.TextClause) -> dict[tuple, int]:
    with engine().connect() as conn:
        return {tuple(row[:5]): row[5] for row in conn.execute(statement)}


def test_the_tally_follows_every_change_to_the_reports(people):
    rng = random.Random(2022)
    with session_scope() as session:
        row, _campaign = active_campaign(session=session)
        campaign_id = row.id
        units = session.exec(select(m.Unit).where(m.Unit.code.in_(("QLCN", "VP")))).all()
        unit_ids = [u.id for u in units]
    person = people.add(role="staff", unit="QLCN")
    receipts = iter(range(1, 10_000))
    for step in range(300):
        with session_scope() as session:
            reports = session.exec(select(m.Report)).all()
            action = rng.choice(["add", "add", "status", "move", "scope", "delete"])
            if action == "add" or not reports:
                session.add(
                    m.Report(
                        campaign_id=campaign_id,
                        receipt=f"BC-T-{next(receipts):05d}",
                        person_id=person.id,
                        unit_id=rng.choice(unit_ids),
                        phase=rng.choice((1, 2)),
                        scope=rng.choice(("personal", "personal", "unit")),
                        area=rng.choice(AREAS),
                        title="Số hoá hồ sơ",
                        detail="Số hoá 1.200 hồ sơ.",
                        status="submitted",
                        created_at=clock.now(),
                        updated_at=clock.now(),
                    )
                )
                continue
            report = rng.choice(reports)
            if action == "status":
                report.status = rng.choice(STATUSES)
            elif action == "move":
                report.unit_id = rng.choice(unit_ids)
                report.phase, report.area = rng.choice((1, 2)), rng.choice(AREAS)
            elif action == "scope":
                report.scope = "unit" if report.scope == "personal" else "personal"
            else:
                session.delete(report)
                continue
            report.title = f"Sửa lần {step}"  # a change of an uncounted column too
            session.add(report)
        if step % 50 == 0:
            assert counts(TALLIED) == counts(COUNTED), f"after step {step}"
    assert counts(TALLIED) == counts(COUNTED)
    with engine().begin() as conn:  # a bulk change in one statement, as a script would
        conn.execute(sa.text("UPDATE report SET status = 'accepted' WHERE phase = 1"))
        conn.execute(sa.text("DELETE FROM report WHERE area = 'chuyen-doi-so'"))
    assert counts(TALLIED) == counts(COUNTED)
    assert sum(counts(COUNTED).values()) > 10  # the walk kept reports to count


def test_the_summary_read_from_the_tally_matches_a_count_of_the_reports(people):
    seed(people)
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        summary = compile_summary(
            session=session, campaign_row=row, campaign=campaign, today=clock.today()
        )
        phase = summary.phase.number
        personal = session.exec(
            select(m.Report.unit_id, m.Report.area).where(
                m.Report.phase == phase,
                m.Report.scope == "personal",
                m.Report.status != "withdrawn",
            )
        ).all()
    assert personal  # the seed has personal reports in the phase
    for unit in summary.units:
        mine = [area for unit_id, area in personal if unit_id == unit.unit.id]
        assert unit.personal == len(mine), unit.unit.code
        for area in set(mine):
            assert unit.by_area[area] == mine.count(area)
    assert sum(a.reports for a in summary.areas) == len(personal)

"""Benchmark the clerk's desk on a generated store: summary and XLSX export at scale.

    python benchmarks/compile.py                  # SQLite in a temporary directory
    DATABASE_URL=postgresql://... python benchmarks/compile.py   # PostgreSQL (own schemas)

Builds two stores (50 units, 2,000 people; 10,000 reports + 1,000 nominations, and 100,000
reports + 10,000 nominations), bulk-inserted with executemany, then prints in one run:
  1. summary time ÷ the same GROUP BY queries as raw SQL on the same database (goal ≤ 2)
  2. summary time at 100k ÷ at 10k (goal ≤ 10)
  3. XLSX export time (xlsxwriter, constant_memory) ÷ openpyxl write-only appending the same
     report and nomination rows from raw SQL (goal ≤ 0.5)
  4. the export's peak RSS, measured in a child process (goal ≤ 150 MB)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import models as m  # noqa: E402
from bot.core.campaign_loader import load_campaign  # noqa: E402
from bot.core.db import engine_for, migrate, normalise_url  # noqa: E402
from bot.core.store import active_campaign, load_into_store  # noqa: E402

TODAY = dt.date(2022, 7, 10)  # both phases open: the busiest day for the office
NOW = dt.datetime(2022, 7, 10, 2, 0, tzinfo=dt.UTC)
UNITS, PEOPLE_PER_UNIT = 50, 40
STATUSES_R = ["submitted"] * 6 + ["accepted"] * 3 + ["returned", "withdrawn"]
STATUSES_N = ["proposed", "endorsed", "endorsed", "accepted", "accepted", "returned", "withdrawn"]
REPEAT = 5


# --- the store --------------------------------------------------------------------------------


def store_url(base: str | None, name: str, tmp: Path) -> str:
    """A fresh database: a SQLite file, or a PostgreSQL schema of its own."""
    if not base or base.startswith("sqlite"):
        return f"sqlite:///{tmp / f'{name}.db'}"
    url = normalise_url(base)
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    eng.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}"


def drop_schema(base: str | None, name: str, url: str) -> None:
    engine_for(url).dispose()
    if base and not base.startswith("sqlite"):
        eng = sa.create_engine(normalise_url(base))
        with eng.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        eng.dispose()


def build(url: str, reports: int, nominations: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    migrate(url)
    eng = engine_for(url)
    with Session(eng) as session:
        row = load_into_store(session=session, campaign=load_campaign(), source="benchmark")
        session.flush()
        campaign = load_campaign()
        have = len(campaign.units)
        session.execute(
            sa.insert(m.Unit.__table__),
            [{"code": f"U{i:02d}", "name": f"Đơn vị số {i:02d}", "office": False, "active": True}
             for i in range(UNITS - have)],
        )  # fmt: skip
        unit_ids = list(session.exec(select(m.Unit.id).order_by(m.Unit.id)))
        session.execute(
            sa.insert(m.Person.__table__),
            [
                {
                    "full_name": f"Cán bộ {u}-{k}",
                    "unit_id": u,
                    "role": "head" if k == 0 else "staff",
                    "lang": "vi",
                    "active": True,
                    "created_at": NOW,
                }
                for u in unit_ids
                for k in range(PEOPLE_PER_UNIT)
            ],
        )
        people = list(session.exec(select(m.Person.id, m.Person.unit_id)))
        session.execute(
            sa.insert(m.Identity.__table__),
            [
                {
                    "person_id": p,
                    "channel": "telegram" if p % 3 else "zalo",
                    "user_id": str(p),
                    "chat_id": str(p),
                    "display_name": "",
                    "reachable": p % 17 != 0,
                    "created_at": NOW,
                }
                for p, _u in people
                if p % 23 != 0
            ],
        )
        areas = [a.code for a in campaign.areas]
        heads = {u: p for p, u in people if (p - 1) % PEOPLE_PER_UNIT == 0}
        rows = []
        for i in range(reports):
            unit_report = i % 97 == 0
            person, unit = people[rnd.randrange(len(people))]
            if unit_report:
                person = heads[unit]
            created = NOW - dt.timedelta(minutes=rnd.randrange(200_000))
            rows.append(
                {
                    "campaign_id": row.id,
                    "receipt": f"BC-2022-{i + 1:06d}",
                    "person_id": person,
                    "unit_id": unit,
                    "phase": 1 if i % 3 else 2,
                    "scope": "unit" if unit_report else "personal",
                    "area": areas[i % len(areas)],
                    "title": f"Thành tích số {i}",
                    "detail": "Hoàn thành vượt mức chỉ tiêu được giao, " * 4,
                    "status": rnd.choice(STATUSES_R),
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if len(rows) == 10_000:
                session.execute(sa.insert(m.Report.__table__), rows)
                rows = []
        if rows:
            session.execute(sa.insert(m.Report.__table__), rows)
        # a quarter of the reports hold evidence: one file, or a photo and a document
        for position, where in ((0, "id % 4 = 0"), (1, "id % 8 = 0")):
            session.execute(
                sa.text(
                    "INSERT INTO report_evidence (report_id, position, kind, name, created_at) "
                    f"SELECT id, {position}, CASE WHEN {position} = 1 THEN 'document' "
                    f"ELSE 'photo' END, '', created_at FROM report WHERE {where}"
                )
            )
        titles = [t for t in campaign.titles]
        rows = []
        for i in range(nominations):
            title = titles[i % len(titles)]
            collective = "individual" not in title.for_ or (
                "collective" in title.for_ and i % 5 == 0
            )
            person, unit = people[rnd.randrange(len(people))]
            rows.append(
                {
                    "campaign_id": row.id,
                    "receipt": f"DN-2022-{i + 1:06d}",
                    "proposer_id": heads[unit],
                    "unit_id": unit,
                    "audience": "collective" if collective else "individual",
                    "nominee_person_id": None if collective else person,
                    "nominee_unit_id": unit if collective else None,
                    "nominee_name": f"Đơn vị {unit}" if collective else f"Cán bộ {person}",
                    "nominee_key": f"n{i}",
                    "title_code": title.code,
                    "basis": "Hoàn thành xuất sắc nhiệm vụ năm 2022",
                    "phase": 1 if i % 2 else 2,
                    "status": rnd.choice(STATUSES_N),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        session.execute(sa.insert(m.Nomination.__table__), rows)
        session.commit()
    with eng.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


# --- what is measured -------------------------------------------------------------------------


def summary_once(url: str) -> float:
    from bot.core.summary import compile_summary, render_text

    started = time.perf_counter()
    with Session(engine_for(url)) as session:
        row, campaign = active_campaign(session=session)
        figures = compile_summary(
            session=session, campaign_row=row, campaign=campaign, today=TODAY
        )
        render_text(figures, 4096)
    return time.perf_counter() - started


RAW_SQL = [
    # the same queries compile_summary runs, as literal SQL through the driver
    "SELECT id, code, name, office FROM unit WHERE active ORDER BY id",
    "SELECT scope, area, status, unit_id, count(*), min(receipt), min(created_at) "
    "FROM report WHERE campaign_id = {c} AND phase = 1 GROUP BY scope, area, status, unit_id",
    "SELECT unit_id, count(*) FROM person WHERE active GROUP BY unit_id",
    "SELECT unit_id, count(*) FROM person WHERE active AND NOT EXISTS (SELECT 1 FROM identity "
    "WHERE identity.person_id = person.id AND identity.reachable) GROUP BY unit_id",
    "SELECT full_name, unit_id FROM person WHERE active AND NOT EXISTS (SELECT 1 FROM identity "
    "WHERE identity.person_id = person.id AND identity.reachable) "
    "ORDER BY unit_id, full_name LIMIT 30",
    "SELECT audience, title_code, count(*) FROM nomination WHERE campaign_id = {c} "
    "AND status IN ('endorsed', 'accepted') AND (phase IS NULL OR phase <= 1) "
    "GROUP BY audience, title_code",
    "SELECT count(*) FROM nomination WHERE campaign_id = {c} AND status IN ('endorsed')",
]


def raw_once(url: str) -> float:
    eng = engine_for(url)
    started = time.perf_counter()
    with eng.connect() as conn:
        for sql in RAW_SQL:
            conn.exec_driver_sql(sql.format(c=1)).fetchall()
    return time.perf_counter() - started


def export_once(url: str, out: Path) -> float:
    from bot.core.exports import xlsx
    from bot.core.exports.rows import Scope

    started = time.perf_counter()
    with Session(engine_for(url)) as session:
        row, campaign = active_campaign(session=session)
        scope = Scope(session=session, campaign_row=row, campaign=campaign, today=TODAY)
        xlsx.export(scope, out)
    return time.perf_counter() - started


def baseline_once(url: str, out: Path) -> float:
    """openpyxl write-only with the same report and nomination rows, straight from the driver."""
    from openpyxl import Workbook

    started = time.perf_counter()
    wb = Workbook(write_only=True)
    eng = engine_for(url)
    with eng.connect() as conn:
        for title, sql in (
            (
                "reports",
                "SELECT r.receipt, r.phase, u.code, u.name, p.full_name, r.scope, r.area, "
                "r.title, r.detail, "
                "(SELECT count(*) FROM report_evidence e WHERE e.report_id = r.id "
                "AND e.kind = 'photo'), "
                "(SELECT count(*) FROM report_evidence e WHERE e.report_id = r.id "
                "AND e.kind = 'document'), "
                "r.status, r.review_note, r.created_at, "
                "r.updated_at FROM report r JOIN unit u ON u.id = r.unit_id "
                "JOIN person p ON p.id = r.person_id "
                "WHERE r.campaign_id = 1 AND r.status != 'withdrawn' ORDER BY r.id",
            ),
            (
                "nominations",
                "SELECT n.receipt, n.phase, u.code, u.name, n.audience, n.nominee_name, "
                "n.title_code, n.basis, n.initiative, n.status, p.full_name, n.review_note, "
                "n.created_at FROM nomination n JOIN unit u ON u.id = n.unit_id "
                "JOIN person p ON p.id = n.proposer_id "
                "WHERE n.campaign_id = 1 AND n.status != 'withdrawn' ORDER BY n.id",
            ),
        ):
            ws = wb.create_sheet(title)
            result = conn.execution_options(stream_results=True).exec_driver_sql(sql)
            for batch in iter(lambda r=result: r.fetchmany(2000), []):
                for values in batch:
                    # PostgreSQL gives aware timestamps, which Excel cannot hold
                    ws.append(
                        tuple(
                            v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v
                            for v in values
                        )
                    )
    wb.save(out)
    return time.perf_counter() - started


def best(fn, *args, repeat: int = REPEAT, warm: bool = True) -> float:  # type: ignore[no-untyped-def]
    """The fastest of `repeat` runs (the least disturbed by other work on the machine)."""
    if warm:
        fn(*args)  # caches, the campaign parse, imports
    return min(fn(*args) for _ in range(repeat))


def peak_rss_mb(url: str, out: Path) -> float:
    """Run one export in a child process; its peak resident set size (ru_maxrss is in KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, __file__, "--child-export", url, str(out)], check=True, cwd=ROOT
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        print("  (peak RSS: an earlier child was bigger; the figure is an upper bound)")
    return after / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--nominations", type=int, default=10_000)
    parser.add_argument("--child-export", nargs=2, metavar=("URL", "OUT"))
    args = parser.parse_args()
    if args.child_export:
        url, out = args.child_export
        export_once(url, Path(out))
        engine_for(url).dispose()
        return

    base = os.environ.get("DATABASE_URL")
    kind = "PostgreSQL" if base and base.startswith("postgres") else "SQLite"
    small = (args.reports // 10, args.nominations // 10)
    big = (args.reports, args.nominations)
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp_name:
        tmp = Path(tmp_name)
        urls = {}
        for label, (n_r, n_n) in (("small", small), ("big", big)):
            name = f"thidua_bench_{label}"
            urls[label] = store_url(base, name, tmp)
            started = time.perf_counter()
            build(urls[label], n_r, n_n)
            print(
                f"{kind} store {label}: {UNITS} units, {UNITS * PEOPLE_PER_UNIT} people, "
                f"{n_r:,} reports, {n_n:,} nominations "
                f"(built in {time.perf_counter() - started:.1f} s)"
            )
        try:
            rss = peak_rss_mb(urls["big"], tmp / "child.xlsx")  # first child: a clean reading
            t_small = best(summary_once, urls["small"])
            t_big = best(summary_once, urls["big"])
            t_raw = best(raw_once, urls["big"])
            t_export, t_base = float("inf"), float("inf")
            for _ in range(2):  # interleaved, so both see the same machine
                t_export = min(t_export, export_once(urls["big"], tmp / "export.xlsx"))
                t_base = min(t_base, baseline_once(urls["big"], tmp / "baseline.xlsx"))
            size = (tmp / "export.xlsx").stat().st_size / 1e6
        finally:
            for label, url in urls.items():
                drop_schema(base, f"thidua_bench_{label}", url)

    def verdict(value: float, goal: float) -> str:
        return "ok" if value <= goal else "OVER GOAL"

    print(f"summary at {big[0]:,} reports:      {t_big * 1000:8.1f} ms")
    print(f"raw GROUP BY queries:           {t_raw * 1000:8.1f} ms")
    print(f"summary at {small[0]:,} reports:       {t_small * 1000:8.1f} ms")
    print(f"XLSX export ({size:.1f} MB):         {t_export:8.2f} s")
    print(f"openpyxl write-only, raw rows:  {t_base:8.2f} s")
    print("---")
    r1, r2, r3 = t_big / t_raw, t_big / t_small, t_export / t_base
    print(f"summary / raw SQL:              {r1:6.2f}  (goal <= 2)    {verdict(r1, 2)}")
    print(f"summary 100k / 10k:             {r2:6.2f}  (goal <= 10)   {verdict(r2, 10)}")
    print(f"XLSX export / openpyxl:         {r3:6.2f}  (goal <= 0.5)  {verdict(r3, 0.5)}")
    print(f"export peak RSS:                {rss:6.0f} MB (goal <= 150) {verdict(rss, 150)}")


if __name__ == "__main__":
    main()

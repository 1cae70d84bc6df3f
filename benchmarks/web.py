"""Benchmark the web desk's pages on a 100,000-report SQLite store.

    .venv/bin/python benchmarks/web.py            # from the repository root
    .venv/bin/python benchmarks/web.py --reports 10000 --repeat 10   # a quicker look

Builds the store `benchmarks/compile.py` builds (50 units, 2,000 people, 100,000 reports,
10,000 nominations; the reports' folded search column filled as the desk's migration does),
signs a clerk in, serves the desk as `thidua run` does (aiohttp on a local port, in this
process) and asks each page REPEAT times over HTTP after a warm-up. Beside each page's p95 it
prints the time of the page's own SQL sent as literal SQL through the sqlite3 driver (the
yardstick: what the database alone costs). Goal: every page p95 <= 150 ms.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.compile import NOW, build  # noqa: E402
from bot.app import freeze_startup_objects  # noqa: E402
from bot.channels.web.desk import COOKIE  # noqa: E402
from bot.core import clock  # noqa: E402
from bot.core import models as m  # noqa: E402
from bot.core.db import engine_for  # noqa: E402
from bot.core.settings import get_settings  # noqa: E402
from bot.core.store import forget_cached_campaign  # noqa: E402
from bot.core.web_auth import issue_link, redeem_link  # noqa: E402
from tests.web_helpers import free_port, serving  # noqa: E402

GOAL_MS = 150.0


def fold_search(url: str) -> None:
    """Fill `report.search` for the bulk-inserted rows, as migration 0020 does."""
    eng = engine_for(url)
    with eng.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, receipt, title, detail FROM report")).all()
        conn.execute(
            sa.text("UPDATE report SET search = :s WHERE id = :i"),
            [{"s": m.report_search_text(r[1], r[2], r[3]), "i": r[0]} for r in rows],
        )


def sign_in_clerk(url: str) -> str:
    """A clerk of the office, signed in: the session cookie's key."""
    with Session(engine_for(url)) as session:
        office = session.exec(select(m.Unit).where(m.Unit.office)).first()
        assert office is not None and office.id is not None
        clerk = m.Person(full_name="Lê Văn Thư", unit_id=office.id, role="clerk", created_at=NOW)
        session.add(clerk)
        session.flush()
        token = issue_link(session=session, person=clerk, now=NOW)
        signed = redeem_link(session=session, token=token, now=NOW)
        assert signed is not None
        session.commit()
        return signed.key


def pages(url: str) -> list[tuple[str, str, list[str]]]:
    """(name, path, the page's SQL as literal statements) for each page measured."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        unit_id, code = db.execute("SELECT id, code FROM unit WHERE code = 'U07'").fetchone()
        (total,) = db.execute("SELECT count(*) FROM report").fetchone()
        (middle,) = db.execute(  # page 1,000 of 2,000 at 100k
            "SELECT id FROM report ORDER BY id LIMIT 1 OFFSET ?", (total // 2,)
        ).fetchone()
    listing = (
        "SELECT r.id, r.receipt, r.created_at, r.phase, r.area, r.scope, r.title, r.status, "
        "p.full_name, u.code FROM report r JOIN person p ON p.id = r.person_id "
        "JOIN unit u ON u.id = r.unit_id WHERE r.campaign_id = 1 {where} "
        "ORDER BY r.id DESC LIMIT 51"
    )
    count = "SELECT count(*) FROM report r WHERE r.campaign_id = 1 {where}"

    def table(where: str = "") -> list[str]:
        return [count.format(where=where), listing.format(where=where)]

    search = "AND r.search LIKE '%so 99999%' ESCAPE '\\'"
    common = "AND r.search LIKE '%vuot muc%' ESCAPE '\\'"
    filtered = f"AND r.phase = 1 AND r.unit_id = {unit_id} AND r.status = 'submitted'"
    tally = (
        "SELECT scope, area, status, unit_id, count(*), min(receipt), min(created_at) "
        "FROM report WHERE campaign_id = 1 AND phase = 1 GROUP BY scope, area, status, unit_id"
    )
    nominations = (
        "SELECT n.*, p.full_name, u.code FROM nomination n JOIN person p ON p.id = n.proposer_id "
        "JOIN unit u ON u.id = n.unit_id WHERE n.campaign_id = 1 ORDER BY n.id DESC LIMIT 51"
    )
    return [
        ("campaign", "/web/", [
            "SELECT count(*) FROM report WHERE campaign_id = 1 AND status = 'submitted'",
            "SELECT count(*) FROM nomination WHERE campaign_id = 1 "
            "AND status IN ('proposed', 'endorsed')",
            "SELECT * FROM pushrun WHERE campaign_id = 1 ORDER BY due_at DESC LIMIT 8",
        ]),
        ("units", "/web/units?phase=1", [
            tally,
            "SELECT unit_id, count(*) FROM person WHERE active GROUP BY unit_id",
        ]),
        ("reports", "/web/reports", table()),
        ("reports, filtered", f"/web/reports?phase=1&unit={code}&status=submitted",
         table(filtered)),
        ("reports, page 1000", f"/web/reports?after={middle}", [
            count.format(where=""), listing.format(where=f"AND r.id < {middle}")]),
        ("search, rare words", "/web/reports?q=so+99999", [  # few matches: through the index
            count.format(where=search),
            listing.format(where="AND r.id IN (SELECT id FROM report r WHERE r.campaign_id = 1 "
                           f"{search})"),
        ]),
        ("search, common words", "/web/reports?q=v%C6%B0%E1%BB%A3t+m%E1%BB%A9c", table(common)),
        ("report", f"/web/reports/BC-2022-{total // 2:06d}", [
            f"SELECT * FROM report WHERE campaign_id = 1 AND receipt = 'BC-2022-{total // 2:06d}'",
        ]),
        ("nominations", "/web/nominations", [
            "SELECT count(*) FROM nomination WHERE campaign_id = 1", nominations,
        ]),
        ("nomination", f"/web/nominations/DN-2022-{total // 20:06d}", [
            "SELECT * FROM nomination WHERE campaign_id = 1 "
            f"AND receipt = 'DN-2022-{total // 20:06d}'",
        ]),
    ]  # fmt: skip


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def raw_ms(path: str, statements: list[str], repeat: int) -> float:
    """p95 of the page's statements, run back to back on one sqlite3 connection."""
    with sqlite3.connect(path) as db:
        for sql in statements:  # warm the page cache as the page's warm-up does
            db.execute(sql).fetchall()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            for sql in statements:
                db.execute(sql).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return p95(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'web.db'}"
        started = time.perf_counter()
        build(url, args.reports, args.reports // 10)
        fold_search(url)
        key = sign_in_clerk(url)
        print(f"store: {args.reports:,} reports built in {time.perf_counter() - started:.0f} s")
        os.environ["DATABASE_URL"] = url
        os.environ["THIDUA_HOME"] = tmp
        get_settings.cache_clear()
        forget_cached_campaign()
        clock.start_at(NOW)
        port = free_port()
        failed = []
        print(f"{'page':<24}{'p50 ms':>9}{'p95 ms':>9}{'raw SQL p95':>13}   goal p95 <= 150 ms")
        with (
            serving(port),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies={COOKIE: key}) as client,
        ):
            freeze_startup_objects()  # as `thidua run` does once started
            for name, path, statements in pages(url):
                for _ in range(3):  # warm-up: caches, the campaign, templates
                    assert client.get(path).status_code == 200, path
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    answer = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                page_p95 = p95(times)
                raw = raw_ms(url.removeprefix("sqlite:///"), statements, args.repeat)
                ok = page_p95 <= GOAL_MS
                failed += [] if ok else [name]
                print(
                    f"{name:<24}{statistics.median(times):>9.1f}{page_p95:>9.1f}{raw:>13.1f}"
                    f"   {'ok' if ok else 'OVER'}"
                )
        engine_for(url).dispose()
    load = os.getloadavg()
    print(f"load average while measuring: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

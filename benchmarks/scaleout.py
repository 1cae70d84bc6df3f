"""Three `thidua run` on one PostgreSQL against the fake Telegram server: one bot, not three.

    DATABASE_URL=postgresql+psycopg://user@host/db .venv/bin/python benchmarks/scaleout.py \
        [--recipients 10000] [--rate 300]

The database named in DATABASE_URL is only used to create a throwaway one next to it
(`thidua_scaleout_<pid>`, dropped at the end). FakeTelegram (tests/fakes) serves the Bot API in
this process with a global limit of `--rate` messages a second and one a second per chat (429
above either, like Telegram). The bots are real `thidua run` processes (polling; TELEGRAM_RATE
= `--rate`), started from tests/scaleout_helpers.py.

1. one process sends a `--recipients` broadcast;
2. three processes send another;
3. the three again, and the leader is killed (SIGKILL) once a third is delivered: how long
   until another leads, and whether anything is lost or sent twice (goal: no more duplicates
   than rows in `sending` at the kill, which the dead process may have handed to the server).

Printed: each run's delivered rate ÷ limit (first to last message accepted; goal 0.9–1.02 with
three), the busiest second, 429s, lost, duplicated; the takeover in seconds (goal < 30).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="thidua-scaleout-"))
SERVER_URL = os.environ.get("DATABASE_URL", "")
NAME = f"thidua_scaleout_{os.getpid()}"


def throwaway_database() -> str:
    """A new, empty database on the server of DATABASE_URL (before the store is imported)."""
    if not SERVER_URL.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database (postgresql+psycopg://…)")
    with sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{NAME}"'))
    return sa.make_url(SERVER_URL).set(database=NAME).render_as_string(hide_password=False)


def drop_database() -> None:
    with sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))


os.environ["DATABASE_URL"] = throwaway_database()

from bot.core.campaign_loader import load_campaign  # noqa: E402
from bot.core.db import engine, migrate, session_scope  # noqa: E402
from bot.core.store import load_into_store  # noqa: E402
from tests.scaleout_helpers import (  # noqa: E402
    Cluster,
    CountingTelegram,
    add_audience,
    queue_broadcast,
    statuses,
)

FIRST = 100_000
TEXT = "Kiểm tra hệ thống, lần {n}: thông báo thử nghiệm gửi tới toàn cơ quan."


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


async def broadcast(tg: CountingTelegram, n: int, recipients: int, rate: int) -> None:
    tg.forget()
    tg.tag = TEXT.format(n=n)
    queue_broadcast(tg.tag, f"scaleout-{n}")
    deadline = time.monotonic() + recipients / rate * 3 + 90
    while len(tg.got) < recipients and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # a late duplicate would show up now


def figures(tg: CountingTelegram, audience: range, rate: int) -> tuple[float, int, int]:
    """Print one run's figures; (rate ÷ limit, lost, duplicated)."""
    times = sorted(tg.times)
    span = times[-1] - times[0]
    lost = sum(1 for chat in audience if tg.got[chat] == 0)
    duplicated = sum(n - 1 for n in tg.got.values() if n > 1)
    print(f"  delivered:           {len(times)} in {span:.2f} s = {len(times) / span:.1f} msg/s")
    print(f"  busiest second:      {tg.busiest_second()} (limit {rate}); 429s: {tg.refused}")
    print(f"  lost, duplicated:    {lost}, {duplicated}")
    return len(times) / span / rate, lost, duplicated


async def main(recipients: int, rate: int) -> int:
    migrate()
    with session_scope() as session:
        load_into_store(session=session, campaign=load_campaign(), source="bundled")
    audience = range(FIRST, FIRST + recipients)
    tg = CountingTelegram(tag="-", rate_limit_per_s=rate, chat_rate_limit_per_s=1)
    await tg.start()
    add_audience(tg, audience)
    gc.freeze()  # the fake's own collections of 10,000 users paused it (see broadcast.py)
    print(f"recipients: {recipients}; global limit {rate} msg/s, 1 msg/s per chat")
    try:
        one = Cluster(tg, WORK, rate)
        one.start(1)
        await one.ready(120)
        await one.leader(30)
        await broadcast(tg, 1, recipients, rate)
        print("1 process:")
        single, _lost, _dup = figures(tg, audience, rate)
        await one.stop()

        three = Cluster(tg, WORK / "three", rate)
        (WORK / "three").mkdir()
        three.start(3)
        await three.ready(120)
        leader = await three.leader(30)
        await broadcast(tg, 2, recipients, rate)
        print("3 processes:")
        combined, lost, duplicated = figures(tg, audience, rate)

        tg.forget()
        tg.tag = TEXT.format(n=3)
        queue_broadcast(tg.tag, "scaleout-3")
        while len(tg.times) < recipients // 3:
            await asyncio.sleep(0.05)
        Cluster.kill(leader)
        killed = time.monotonic()
        in_flight = statuses()["sending"]
        others = [b for b in three.bots if b is not leader]
        await three.leader(60, among=others)
        takeover = time.monotonic() - killed
        deadline = time.monotonic() + recipients / rate * 3 + 90
        while len(tg.got) < recipients and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        done = time.monotonic() - killed
        await asyncio.sleep(3)
        print(f"3 processes, kill -9 of the leader at {recipients // 3} delivered:")
        _r, killed_lost, killed_dup = figures(tg, audience, rate)
        print(f"  in sending at kill:  {in_flight}")
        print(
            f"  new leader after:    {takeover:.1f} s; all delivered {done:.1f} s after the kill"
        )
        await three.stop()
    finally:
        await tg.stop()
        engine().dispose()
        drop_database()
    print("---")
    print(f"rate/limit, 1 process:     {single:.3f}")
    ok = 0.9 <= combined <= 1.02
    print(f"rate/limit, 3 processes:   {combined:.3f}  (goal 0.9-1.02)  {verdict(ok)}")
    ok = lost == duplicated == 0
    print(f"lost, duplicated (3):      {lost}, {duplicated}  (goal 0, 0)  {verdict(ok)}")
    print(f"takeover:                  {takeover:.1f} s  (goal < 30)  {verdict(takeover < 30)}")
    print(f"lost after the kill:       {killed_lost}  (goal 0)  {verdict(killed_lost == 0)}")
    ok = killed_dup <= in_flight
    print(
        f"duplicated after the kill: {killed_dup}  (goal <= {in_flight} in flight)  {verdict(ok)}"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=300)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.recipients, args.rate)))

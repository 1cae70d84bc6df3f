"""Real processes: kill -9 in the middle of a 2,000-recipient push, then a restart; two
processes on one database. The database is whatever the suite runs on (SQLite file, or
PostgreSQL when THIDUA_TEST_DATABASE_URL is set); the assertions say what each one promises.

The processes run this module as a driver (`python -m tests.test_pushes_process drive FILE`):
`Pushes` with a runner that appends each accepted message to FILE (an O_APPEND write, so what
the "platform" accepted survives a SIGKILL of the sender).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlmodel import col, func, select

from bot.core import models as m
from bot.core.db import session_scope
from tests.pushes_helpers import TOKEN, add_people, local, push_of, rows

ROOT = Path(__file__).resolve().parent.parent


class FileRunner:
    """Accepts a message after a short 'network' delay and records it in a file."""

    name = "telegram"

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def start(self, web_app: object) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, chat_id: str, text: str) -> None:
        await asyncio.sleep(0.002)
        os.write(self.fd, f"{chat_id}\n".encode())


async def _drive(path: str) -> None:
    from bot.app import Pushes
    from bot.core import clock
    from bot.core.settings import get_settings
    from bot.delivery import worker as delivery

    settings = get_settings()
    clock.start_at(settings.now)
    delivery.RECLAIM_EVERY = 0.3
    timeout = dt.timedelta(seconds=float(os.environ.get("PUSHES_SENDING_TIMEOUT", "300")))
    pushes = Pushes(
        settings, {"telegram": FileRunner(path)}, tick=0.2, idle_poll=0.1, sending_timeout=timeout
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await pushes.start()
    print("started", flush=True)
    await stop.wait()
    await pushes.stop()


def drive(name: str, path: Path, tmp: Path, **env: str) -> subprocess.Popen:
    """Start a driver process with the test's database and `env`."""
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        **env,
    }
    with (tmp / f"{name}.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.test_pushes_process", "drive", str(path)],
            cwd=tmp,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.02)


def all_sent(n: int) -> bool:
    with session_scope() as session:
        return (
            session.exec(
                select(func.count()).select_from(m.Outbox).where(col(m.Outbox.status) == "sent")
            ).one()
            == n
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_in_the_middle_of_a_2000_recipient_push(ready, tmp_path):
    add_people(2000, start=1)
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    sent = tmp_path / "sent.txt"
    env = {"TELEGRAM_RATE": "2000", "PUSHES_SENDING_TIMEOUT": "1"}
    first = drive("first", sent, tmp_path, THIDUA_NOW=local(push, seconds=1), **env)
    try:
        wait_for(lambda: len(lines(sent)) >= 300, 30, "the first process sending")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    accepted = len(lines(sent))
    statuses = Counter(r.status for r in rows(push_key=push.key))
    in_flight = statuses["sending"]
    assert sum(statuses.values()) == 2000 and 0 < accepted < 2000
    assert in_flight > 0  # killed mid-push: claimed rows were not marked
    second = drive("second", sent, tmp_path, THIDUA_NOW=local(push, seconds=30), **env)
    try:
        wait_for(lambda: all_sent(2000), 30, "the restarted process finishing the push")
    finally:
        stop(second)
    got = Counter(lines(sent))
    duplicated = sum(n - 1 for n in got.values())
    assert set(got) == {str(i) for i in range(1, 2001)}  # every recipient got it
    assert duplicated <= in_flight, (duplicated, in_flight)
    with session_scope() as session:
        run = session.get(m.PushRun, push.key)
        assert run.status == "expanded" and run.recipients == 2000  # not expanded again


def test_two_processes_on_one_database_send_each_message_once(ready, tmp_path, database):
    add_people(300, start=1)
    push = push_of("anniversary", ref="sinh-nhat-bac-ho")
    before = {"THIDUA_NOW": local(push, seconds=-0.5), "TELEGRAM_RATE": "300"}
    a_sent, b_sent = tmp_path / "a.txt", tmp_path / "b.txt"
    a = drive("a", a_sent, tmp_path, **before)
    b = drive("b", b_sent, tmp_path, **before)
    try:
        wait_for(lambda: all_sent(300), 30, "the push delivered")
        time.sleep(0.5)  # a second sender, if any, would show up now
    finally:
        stop(a)
        stop(b)
    got = Counter(lines(a_sent) + lines(b_sent))
    assert set(got) == {str(i) for i in range(1, 301)} and set(got.values()) == {1}
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert logs.count("pushes: leader") == 1 and logs.count("pushes: follower") == 1
    assert not lines(a_sent) or not lines(b_sent)  # the follower sent nothing: one pacer
    if database.startswith("sqlite"):
        assert logs.count("another thidua process is running on this SQLite database") == 1
    else:
        assert "SQLite" not in logs


if __name__ == "__main__" and sys.argv[1:2] == ["drive"]:
    import logging

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(_drive(sys.argv[2]))

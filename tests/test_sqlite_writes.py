"""SQLite: the process's writers queue for one lock (bot/core/sqlite_writes.py), so a write
starts as soon as the one before it ends, and nothing is lost or left locked. On a SQLite file
of its own, whatever store the other tests use."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core import sqlite_writes
from bot.core.db import engine_for

ROOT = Path(__file__).resolve().parent.parent
NOTES = sa.table("note", sa.column("id", sa.Integer), sa.column("text", sa.String))


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    with engine_for(url).begin() as conn:
        conn.execute(sa.text("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"))
    return url


@pytest.fixture
def store(url) -> sa.Engine:
    return engine_for(url)


def count(store: sa.Engine) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one()


def test_many_threads_writing_at_once_all_commit(store):
    def write(n: int) -> None:
        for i in range(25):
            with store.begin() as conn:
                conn.execute(NOTES.insert().values(text=f"{n}-{i}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(store) == 200


def test_a_writer_waits_for_the_open_write_then_goes(store, monkeypatch):
    monkeypatch.setattr(sqlite_writes, "WAIT", 0.2)
    first = store.connect()
    first.begin()
    first.execute(NOTES.insert().values(text="đang ghi"))  # holds the write, not committed
    with store.connect() as reader:  # reads never wait for it
        assert reader.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one() == 0
    began = time.monotonic()
    locked = pytest.raises(sa.exc.OperationalError, match="database is locked")
    with locked, store.begin() as conn:
        conn.execute(NOTES.insert().values(text="chen ngang"))
    assert time.monotonic() - began < 10  # queued in the process: not SQLite's 30 s busy wait
    first.commit()
    first.close()
    with store.begin() as conn:
        conn.execute(NOTES.insert().values(text="sau"))
    assert count(store) == 2


def test_a_failed_or_rolled_back_write_hands_the_lock_on(store, monkeypatch):
    monkeypatch.setattr(sqlite_writes, "WAIT", 0.5)
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        conn.execute(NOTES.insert().values(id=1, text="một"))
        conn.execute(NOTES.insert().values(id=1, text="trùng"))
    with store.connect() as conn:  # a connection closed mid-write, never committed
        conn.execute(NOTES.insert().values(text="bỏ dở"))
    with store.begin() as conn:  # would wait and fail if either had kept the lock
        conn.execute(NOTES.insert().values(text="tiếp"))
    assert count(store) == 1


def test_another_process_writing_is_waited_for_not_failed(store, url, tmp_path):
    """The bot's delivery process (or the CLI) writes beside it: each queues for the other."""
    script = (
        "import sys, sqlalchemy as sa\n"
        "from bot.core.db import engine_for\n"
        "eng = engine_for(sys.argv[1])\n"
        "for i in range(150):\n"
        "    with eng.begin() as conn:\n"
        "        conn.execute(sa.text('INSERT INTO note (text) VALUES (:t)'), {'t': f'p{i}'})\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT)
    for i in range(150):
        with store.begin() as conn:
            conn.execute(NOTES.insert().values(text=f"t{i}"))
    assert child.wait(60) == 0
    assert count(store) == 300
    assert (tmp_path / "notes.db.writer.lock").exists()  # the processes' queue

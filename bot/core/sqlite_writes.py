"""One writer at a time on a SQLite file, queued in the process instead of in SQLite's sleep.

SQLite lets one transaction write at a time. A connection that finds the write lock taken
calls its busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms before trying again, however
soon the lock is free: with the bot's threads writing at once (a turn, a reply marked sent) and
its delivery process beside it (a broadcast's claims and marks), most of a short write's time
went in those sleeps, and a person's reply waited behind them. So writers queue first: the
threads of a process for a lock of the process (handed on at once), the processes for an
advisory lock on `<database>.writer.lock` (`flock`, looked at every `POLL` seconds), both
taken before the statement that opens a write transaction and given back at its commit or
rollback. A program that does not take them (the sqlite3 shell) still meets SQLite's own lock
and busy handler, as before.

The lock is taken exactly where Python's sqlite3 opens a transaction (its legacy mode, which
SQLAlchemy uses): before an INSERT, UPDATE, DELETE or REPLACE outside one; reads, DDL and
autocommit connections never take it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Self

WAIT = 30.0  # s, as the busy timeout: then "database is locked", as SQLite would say
POLL = 0.001  # s between looks at another process's write: SQLite's busy handler sleeps 1–100
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriterLock:
    """One writer at a time: this process's threads, then the processes of `path` (None: an
    in-memory database, which one process has)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd = -1
        self._pid = 0  # a forked child opens its own: a shared descriptor shares the lock

    def acquire(self) -> bool:
        deadline = time.monotonic() + WAIT
        if not self._threads.acquire(timeout=WAIT):
            return False
        if self.path is None:
            return True
        try:
            got = self._other_processes(deadline)
        except BaseException:
            self._threads.release()
            raise
        if not got:
            self._threads.release()
        return got

    def _other_processes(self, deadline: float) -> bool:
        fd = self._descriptor()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL)

    def release(self) -> None:
        if self.path is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _descriptor(self) -> int:
        if self._pid != os.getpid():
            assert self.path is not None
            self._fd = os.open(f"{self.path}.writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        return self._fd


def _opens_transaction(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_DML)


def connection_class(lock: WriterLock) -> type[sqlite3.Connection]:
    """A `sqlite3.Connection` (pass as `factory`) whose write transactions hold `lock`."""

    class Cursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> Self:
            self.connection._before(sql)  # type: ignore[attr-defined]
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> Self:
            self.connection._before(sql)  # type: ignore[attr-defined]
            return super().executemany(sql, parameters)

    class Connection(sqlite3.Connection):
        _holding = False

        def cursor(self, factory: Any = Cursor) -> sqlite3.Cursor:  # type: ignore[override]
            return super().cursor(factory)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            return self.cursor().executemany(sql, parameters)

        def _before(self, sql: str) -> None:
            if self._holding or self.in_transaction or self.isolation_level is None:
                return
            if _opens_transaction(sql):
                if not lock.acquire():
                    raise sqlite3.OperationalError("database is locked")
                self._holding = True

        def _release(self) -> None:
            if self._holding:
                self._holding = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                if not self.in_transaction:
                    self._release()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release()

    return Connection

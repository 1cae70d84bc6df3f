"""One writer at a time on a SQLite file, queued in the process instead of in SQLite's sleep.

SQLite lets one transaction write at a time. A connection that finds the write lock taken
calls its busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms before trying again, however
soon the lock is free: with the bot's threads writing at once (a turn, a reply marked sent, a
broadcast's claim) most of a short write's time went in those sleeps, and a person's reply
waited behind them. So the connections of one engine queue for a lock of the process before
the statement that opens their write transaction, and hand it on at commit or rollback: the
next writer starts at once. Another process (the CLI beside the bot) still meets SQLite's own
lock and busy handler, as before.

The lock is taken exactly where Python's sqlite3 opens a transaction (its legacy mode, which
SQLAlchemy uses): before an INSERT, UPDATE, DELETE or REPLACE outside one; reads, DDL and
autocommit connections never take it.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Self

WAIT = 30.0  # s, as the busy timeout: then "database is locked", as SQLite would say
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _opens_transaction(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_DML)


def connection_class(lock: threading.Lock) -> type[sqlite3.Connection]:
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
                if not lock.acquire(timeout=WAIT):
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

"""This process's lease: how other processes on the same database tell it is alive.

Several `thidua run` (on one machine or many) share the outbox on PostgreSQL. A row being sent
names its claimant (`outbox.claimed_by` = `holder()`); each process that claims rows renews its
`lease` row every `RENEW_EVERY` seconds for `TTL`. A process that dies (kill -9, a machine
that vanishes) stops renewing: `TTL` later its rows are due again (`stale`), and another
process sends them. A process that is alive keeps its rows however long a send takes.

Lease times are the machine's real clock, not `bot.core.clock` (THIDUA_NOW shifts that one,
per process): the hosts sharing a database keep their clocks in step (NTP), and `TTL` leaves
seconds of slack for what they do not.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.core import models as m
from bot.core.db import engine

LEASE = m.Lease.__table__
TTL = dt.timedelta(seconds=15)
RENEW_EVERY = 5.0  # s: three renewals fit in a lease, so one slow one does not end it
FORGET_AFTER = dt.timedelta(days=1)  # leases of processes gone that long are deleted


@dataclass
class _Me:
    pid: int
    holder: str
    host: str
    started: dt.datetime
    renewed: float = float("-inf")  # time.monotonic() of the last renewal


_lock = threading.Lock()
_me: _Me | None = None  # per process: a child process (another pid) gets its own


def real_now() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)


def _this_process() -> _Me:
    global _me
    with _lock:
        if _me is None or _me.pid != os.getpid():
            host, pid = socket.gethostname()[:40], os.getpid()
            _me = _Me(pid, f"{host}:{pid}:{secrets.token_hex(4)}", host, real_now())
        return _me


def holder() -> str:
    """This process's name in `claimed_by`: host, pid and a random part (pids are reused)."""
    return _this_process().holder


def renew() -> None:
    """Keep this process's lease alive for another `TTL` (and forget long-dead ones)."""
    me = _this_process()
    now = real_now()
    row = {
        "holder": me.holder,
        "host": me.host,
        "pid": me.pid,
        "started_at": me.started,
        "expires_at": now + TTL,
    }
    with engine().begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(LEASE).values(row)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["holder"], set_={"expires_at": stmt.excluded.expires_at}
            )
        )
        conn.execute(LEASE.delete().where(LEASE.c.expires_at < now - FORGET_AFTER))
    me.renewed = time.monotonic()


def renew_if_due() -> bool:
    """`renew` when the last renewal is `RENEW_EVERY` old; True if it renewed."""
    due = time.monotonic() - _this_process().renewed >= RENEW_EVERY
    if due:
        renew()
    return due


def end() -> None:
    """A clean stop: the lease ends now (whatever is left in `sending` is due at once)."""
    me = _this_process()
    with engine().begin() as conn:
        conn.execute(LEASE.delete().where(LEASE.c.holder == me.holder))
    me.renewed = float("-inf")


def live() -> sa.Select:
    """The holders whose lease has not run out."""
    return sa.select(LEASE.c.holder).where(LEASE.c.expires_at > real_now())


def stale(
    claimed_by: sa.ColumnElement, claimed_at: sa.ColumnElement, before: dt.datetime
) -> sa.ColumnElement[bool]:
    """Rows in `sending` whose claimant is gone: its lease ran out; rows of no claimant
    (claimed before leases existed) once claimed before `before`."""
    return sa.or_(
        sa.and_(claimed_by.is_(None), claimed_at < before),
        sa.and_(claimed_by.is_not(None), claimed_by.not_in(live())),
    )

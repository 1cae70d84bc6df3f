"""Delivery in a process of its own, so pushes never slow the answers to people.

`thidua run` answers people on one event loop. A 10,000-person push at a few hundred messages a
second, on that same loop, made every answer wait behind the push's callbacks (reply p95 ×1.6–17
during a broadcast, benchmarks/README.md "Broadcast"). Here the delivery workers
(`bot.delivery.worker.Worker`, one per channel) run in a child process with their own event loop,
interpreter, core and a lower CPU priority; the outbox in the database is the only thing the
two share, as it already is between several `thidua run` on PostgreSQL.

The parent holds the child by a pipe: a byte ``w`` wakes the workers (a push was just queued),
``s`` or the pipe's end stops them: they finish the sends in flight, record them, and put the
rest back. On Linux the child also dies with the parent (``PR_SET_PDEATHSIG``): a ``kill -9``
of `thidua run` must not leave a sender behind, whose rows the next start would reclaim and send
a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import logging
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import Connection

from bot.channels.factory import build_senders
from bot.channels.pacer import channel_rate
from bot.core import clock, leases, logs
from bot.core.settings import get_settings
from bot.delivery import worker as delivery
from bot.delivery.claims import reclaim_stuck

log = logging.getLogger(__name__)

WAKE, STOP = b"w", b"s"
#: The child's CPU priority below the parent's: pushes are background work. With another
#: program keeping one core busy, a 300 msg/s push left answers at p95 ×1.2 of idle at nice 10,
#: ×2.0 at nice 0. With both cores taken by others, the child still sent 92 msg/s: three times
#: what Telegram allows a bot (benchmarks/README.md, "Broadcast").
NICE = 10
RESTART_FIRST, RESTART_MAX = 1.0, 60.0  # s before a child that died is started again
STOP_TIMEOUT = 20.0  # s: the workers' own stop takes at most 10 s of sends in flight
_PR_SET_PDEATHSIG = 1


class DeliveryProcess:
    """The parent's handle on the child: `start`, `wake`, `stop` (the `Worker` interface).

    The parent also keeps the child alive: if it exits on its own (a crash, the OOM killer,
    a kill), it is started again, after 1 s, doubling up to a minute while it keeps dying.
    `sole_sender` (SQLite, where this process holds the one leader lock): the rows the dead
    child had claimed are due again at once, since no other process can be sending them; on
    PostgreSQL once the child's lease runs out (`leases.TTL`), like those of any process that
    died.
    """

    def __init__(
        self,
        channels: tuple[str, ...],
        *,
        sending_timeout: dt.timedelta = delivery.SENDING_TIMEOUT,
        idle_poll: float = delivery.IDLE_POLL,
        sole_sender: bool = False,
    ) -> None:
        self.channels = channels
        self.sole_sender = sole_sender
        self._args = (sending_timeout.total_seconds(), idle_poll)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._spawn()
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name="delivery-supervisor"
        )

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a running event loop
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_child,
            args=(os.getpid(), child, self.channels, clock.origin(), *self._args),
            name="thidua-delivery",
            daemon=False,
        )
        self._process.start()
        child.close()
        self._conn = parent
        log.info("delivery: own process %s for %s", self._process.pid, ", ".join(self.channels))

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_FIRST
        while self._process is not None:
            started = loop.time()
            await _exited(self._process)
            if self._stopping:
                return
            code = self._drop()
            if loop.time() - started > RESTART_MAX:
                delay = RESTART_FIRST  # it had been running well: a one-off
            log.error(
                "delivery: the process exited (code %s); starting it again in %.0f s", code, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX)
            if self.sole_sender:
                n = await asyncio.to_thread(reclaim_stuck, None, None)
                if n:
                    log.warning("delivery: %d message(s) it had claimed are due again", n)
            self._spawn()

    def _drop(self) -> int | None:
        """Reap the child that ended and close its pipe; its exit code."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is None:
            return None
        self._process.join()  # it has ended: this only reaps it
        return self._process.exitcode

    def wake(self) -> None:
        """Rows may be due now (a push was just expanded)."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send_bytes(WAKE)

    async def stop(self) -> None:
        """Let the child finish what it has in flight and exit (killed if it will not)."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None:
            return
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send_bytes(STOP)
        await asyncio.to_thread(process.join, STOP_TIMEOUT)
        if process.is_alive():
            log.warning("delivery: the process did not stop in %.0f s; killed", STOP_TIMEOUT)
            process.kill()
            await asyncio.to_thread(process.join)
        if conn is not None:
            conn.close()


async def _exited(process: multiprocessing.process.BaseProcess) -> None:
    """Wait, without a thread, until `process` has ended (its sentinel becomes readable)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(process.sentinel, settle)
    try:
        await ended
    finally:
        loop.remove_reader(process.sentinel)


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # it died while we were starting: nobody to send for
        os._exit(0)


def _child(
    parent: int,
    conn: Connection,
    channels: tuple[str, ...],
    origin: clock.Origin | None,
    sending_timeout: float,
    idle_poll: float,
) -> None:
    _die_with_parent(parent)
    with contextlib.suppress(OSError):
        os.nice(NICE)  # when the cores are busy, a person's answer goes before a push
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    clock.resume(origin)  # the parent's clock, THIDUA_NOW included
    logs.configure(get_settings())  # as the parent: THIDUA_LOG_FORMAT, THIDUA_LOG_LEVEL, redacted
    asyncio.run(_serve(conn, channels, dt.timedelta(seconds=sending_timeout), idle_poll))


async def _serve(
    conn: Connection, channels: tuple[str, ...], sending_timeout: dt.timedelta, idle_poll: float
) -> None:
    settings = get_settings()
    runners = build_senders(settings, channels)
    workers = []
    for runner in runners:
        await runner.start_sending()
        worker = delivery.Worker(
            runner,
            rate=channel_rate(runner.name, settings),
            sending_timeout=sending_timeout,
            idle_poll=idle_poll,
        )
        worker.start()
        workers.append(worker)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def on_message() -> None:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):  # the parent is gone
            message = STOP
        if message == STOP:
            loop.remove_reader(conn.fileno())
            stop.set()
        for worker in workers:
            worker.wake()

    loop.add_reader(conn.fileno(), on_message)
    log.info("delivery: sending for %s", ", ".join(r.name for r in runners))
    await stop.wait()
    for worker in workers:
        await worker.stop()
    for runner in runners:
        await runner.stop_sending()
    with contextlib.suppress(Exception):  # the store is gone: the lease runs out by itself
        await asyncio.to_thread(leases.end)
    log.info("delivery: stopped")

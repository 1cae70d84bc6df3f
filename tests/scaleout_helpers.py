"""Several real `thidua run` on one PostgreSQL against one FakeTelegram (the scale-out test and
benchmarks/scaleout.py): people on Telegram in bulk, a broadcast queued, processes started,
the leader found by its log, killed with SIGKILL, and what the "platform" accepted counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.store import active_campaign
from schedules import outbox
from tests.fakes.telegram_api import ApiError, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
THIDUA = [sys.executable, "-m", "bot.cli", "run"]
LEADS = ("pushes: leader on", "now schedules the pushes (leader)")


class CountingTelegram(FakeTelegram):
    """Counts the broadcast messages it accepts (per chat, with their times) and its 429s."""

    def __init__(self, *args: Any, tag: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tag = tag
        self.got: Counter[int] = Counter()
        self.times: list[float] = []
        self.refused = 0  # 429s answered

    async def _m_sendMessage(self, bot, p):  # type: ignore[no-untyped-def,override]
        try:
            result = await super()._m_sendMessage(bot, p)
        except ApiError as exc:
            self.refused += exc.status == 429
            raise
        if self.tag in (result.get("text") or ""):
            chat = int(p.data.get("chat_id", 0))
            self.got[chat] += 1
            self.times.append(self.sent(chat, token=bot.token)[-1]["time"])  # as the server saw it
        return result

    def forget(self) -> None:
        self.got.clear()
        self.times.clear()
        self.refused = 0

    def busiest_second(self) -> int:
        """The most broadcast messages accepted in any one-second window."""
        times, most, start = sorted(self.times), 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most


def add_audience(tg: FakeTelegram, chats: range) -> None:
    """Staff members in the store, one per chat id, each reachable on Telegram (bulk)."""
    now = clock.now()
    with session_scope() as session:
        unit = session.exec(sa.select(m.Unit.id).where(m.Unit.code == "QLCN")).first()
        assert unit is not None
        names = [f"Người {c}" for c in chats]
        people = session.exec(  # type: ignore[call-overload]
            sa.insert(m.Person.__table__).returning(m.Person.__table__.c.id),
            params=[
                {"full_name": n, "unit_id": unit[0], "role": "staff", "created_at": now}
                for n in names
            ],
        ).all()
        session.exec(  # type: ignore[call-overload]
            sa.insert(m.Identity.__table__),
            params=[
                {
                    "person_id": pid,
                    "channel": "telegram",
                    "user_id": str(chat),
                    "chat_id": str(chat),
                    "display_name": "",
                    "reachable": True,
                    "created_at": now,
                }
                for (pid,), chat in zip(people, chats, strict=True)
            ],
        )
    for chat in chats:
        tg.user(chat, f"Người {chat}")


def queue_broadcast(text: str, ref: str) -> int:
    """What `/broadcast` queues: one row per person reachable on Telegram."""
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        assert row.id is not None
        found = outbox.recipients(session=session, channels=["telegram"])
        _key, added = outbox.queue_custom(
            session=session,
            campaign_id=row.id,
            campaign_code=campaign.code,
            kind="broadcast",
            ref=ref,
            messages=[(r, outbox.broadcast_text(campaign=campaign, text=text)) for r in found],
            now=clock.now(),
        )
    return added


def statuses() -> Counter[str]:
    with session_scope() as session:
        t = m.Outbox.__table__.c
        return Counter(
            dict(session.execute(sa.select(t.status, sa.func.count()).group_by(t.status)).all())
        )


@dataclass
class Bot:
    name: str
    proc: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def leads(self) -> bool:
        return self.proc.poll() is None and any(line in self.text() for line in LEADS)


class Cluster:
    """`thidua run` processes sharing the database of DATABASE_URL, on `tg`."""

    def __init__(self, tg: FakeTelegram, work: Path, rate: int, **env: str) -> None:
        self.work = work
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_BASE_URL": tg.root,
            "TELEGRAM_RATE": str(rate),
            "THIDUA_LISTEN": "127.0.0.1:0",  # health endpoints: any free port each
            **env,
        }
        self.bots: list[Bot] = []

    def start(self, n: int, *args: str) -> list[Bot]:
        started = []
        for _ in range(n):
            name = f"bot{len(self.bots) + 1}"
            log = self.work / f"{name}.log"
            with log.open("w") as out:
                proc = subprocess.Popen(
                    [*THIDUA, *args],
                    cwd=self.work,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            bot = Bot(name, proc, log)
            self.bots.append(bot)
            started.append(bot)
        return started

    def alive(self) -> list[Bot]:
        return [b for b in self.bots if b.proc.poll() is None]

    async def leader(self, timeout: float, *, among: list[Bot] | None = None) -> Bot:
        """The one process (of `among`) that leads, once it does; fails past `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            leading = [b for b in (among or self.alive()) if b.leads()]
            if leading:
                assert len(leading) == 1, [b.name for b in leading]
                return leading[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no leader within {timeout}s")
            await asyncio.sleep(0.1)

    async def ready(self, timeout: float) -> None:
        """Every process started: its delivery decided (leader) or its follower line logged."""
        deadline = time.monotonic() + timeout
        while not all("thidua running" in b.text() for b in self.alive()):
            if time.monotonic() > deadline:
                raise AssertionError("the processes did not start: " + self.bots[0].text()[-800:])
            await asyncio.sleep(0.1)

    @staticmethod
    def kill(bot: Bot) -> None:
        bot.proc.send_signal(signal.SIGKILL)
        bot.proc.wait(timeout=10)

    async def stop(self) -> None:
        for bot in self.alive():
            bot.proc.send_signal(signal.SIGTERM)
        for bot in self.bots:
            try:
                await asyncio.to_thread(bot.proc.wait, 60)
            except subprocess.TimeoutExpired:
                bot.proc.kill()
                bot.proc.wait()

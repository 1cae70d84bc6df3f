"""Inbound Telegram throughput: bare python-telegram-bot echo vs thidua, same server, same run.

    /work/venv/bin/python benchmarks/telegram_inbound.py [--updates 2000] [--users 50]

FakeTelegram (tests/fakes) serves the Bot API on 127.0.0.1, in this process. Every bot polls
it. `--users` simulated people write at once; each sends its next update as soon as the bot
answered the previous one, until `--updates` updates were sent to that bot. The figure is updates
per second from the first update enqueued to the last reply recorded by the server; CPU ms per
update (all threads of the process, server included) is printed too, as it varies less when the
machine is busy.

(a) echo: an `Application` with one MessageHandler that answers `reply_text(text)`, PTB's
    defaults otherwise.
(b) thidua: the real `TelegramRunner` with `handlers.router.handle` on a SQLite database in a
    temporary folder; every person runs /report to the end, again and again: /report, choose a
    content area, type a title, type the achievement, choose Skip, choose Confirm (six updates,
    each reading and writing the conversation state; Confirm saves a report). Choices are
    answered by typing their number, so every update is one message in and one out, as in (a).
(c) the same, choices by pressing the buttons: a press costs three Bot API calls
    (answerCallbackQuery, editMessageText to show the choice, sendMessage).
(d) the TelegramRunner with a handler that answers at once: the adapter's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import logging
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from tests.fakes.telegram_api import FakeTelegram, SimUser  # noqa: E402

JSON = dict


class Driver:
    """Simulated people: each answers the bot's last message with its next step."""

    def __init__(
        self,
        tg: FakeTelegram,
        users: list[SimUser],
        total: int,
        step: Callable[[SimUser, int, dict], Awaitable[None]],
    ) -> None:
        self.tg, self.users, self.total, self.step = tg, users, total, step
        self.sent_updates = 0
        self.seen = {u.id: len(tg.sent(u.id)) for u in users}
        self.turn = {u.id: 0 for u in users}

    async def _next(self, user: SimUser, last: dict | None) -> None:
        if self.sent_updates >= self.total:
            return
        self.sent_updates += 1
        await self.step(user, self.turn[user.id], last or {})
        self.turn[user.id] += 1

    async def run(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process, all threads) until the last reply."""
        start, cpu = time.perf_counter(), time.process_time()
        for user in self.users:
            await self._next(user, None)
        answered = 0
        while answered < self.total:
            fresh = await self.tg.wait_for(self._fresh, timeout=60)
            for user, record in fresh:
                answered += 1
                await self._next(user, record)
        return time.perf_counter() - start, time.process_time() - cpu

    def _fresh(self) -> list[tuple[SimUser, dict]]:
        found = []
        for user in self.users:
            sent = self.tg.sent(user.id)
            if len(sent) > self.seen[user.id]:
                # One reply per update in both bots; the newest message carries the buttons.
                for record in sent[self.seen[user.id] :]:
                    found.append((user, record))
                self.seen[user.id] = len(sent)
        return found


# ---- (a) the bare echo bot ---------------------------------------------------------------


async def run_echo(tg: FakeTelegram, users: list[SimUser], total: int) -> tuple[float, float]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=30)

    async def step(user: SimUser, turn: int, last: dict) -> None:
        await tg.send_text(user, f"tin nhắn số {turn}")

    try:
        return await Driver(tg, users, total, step).run()
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ---- (b) thidua ---------------------------------------------------------------------------


def prepare_database(folder: Path, tg: FakeTelegram, users: list[SimUser]) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'thidua.db'}"
    os.environ["TELEGRAM_BOT_TOKEN"] = tg.token
    os.environ["TELEGRAM_BASE_URL"] = tg.root
    os.environ["THIDUA_ATTACHMENTS"] = str(folder / "attachments")
    from sqlmodel import select

    from bot import clock
    from bot import models as m
    from bot.campaign_loader import load_campaign
    from bot.db import migrate, session_scope
    from bot.settings import get_settings
    from bot.store import load_into_store

    get_settings.cache_clear()
    migrate()
    clock.start_at(dt.datetime.fromisoformat("2022-05-10T09:00:00+07:00"))  # phase 1 open
    with session_scope() as session:
        load_into_store(session=session, campaign=load_campaign(), source="bundled")
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        for user in users:
            person = m.Person(
                full_name=user.first_name, unit_id=unit.id, role="staff", created_at=clock.now()
            )
            session.add(person)
            session.flush()
            session.add(
                m.Identity(
                    person_id=person.id,
                    channel="telegram",
                    user_id=str(user.id),
                    chat_id=str(user.id),
                    display_name=user.first_name,
                    created_at=clock.now(),
                )
            )


def _button(record: dict, index: int) -> str:
    rows = (record.get("reply_markup") or {}).get("inline_keyboard") or []
    if not rows:
        raise RuntimeError(f"expected buttons, got {record.get('plain_text')!r}")
    return rows[index][0]["callback_data"]


async def run_thidua(
    tg: FakeTelegram, users: list[SimUser], total: int, presses: bool
) -> tuple[float, float]:
    from bot.channels.telegram import TelegramRunner
    from bot.settings import get_settings
    from handlers.router import handle

    runner = TelegramRunner(get_settings(), handle)
    await runner.start(None)

    async def choose_first(user: SimUser, last: dict) -> None:
        if presses:
            await tg.press(user, last, _button(last, 0))
        else:
            _button(last, 0)  # the question has buttons; answer it by typing the number
            await tg.send_text(user, "1")

    async def step(user: SimUser, turn: int, last: dict) -> None:
        n = turn % 6
        if n == 0:
            await tg.send_text(user, "/report")
        elif n == 2:
            await tg.send_text(user, f"Tiêu đề {turn // 6}")
        elif n == 3:
            await tg.send_text(user, "Số hoá 1.200 hồ sơ trong quý II.")
        else:  # 1: the first content area, 4: Skip (no evidence), 5: Confirm
            await choose_first(user, last)

    try:
        return await Driver(tg, users, total, step).run()
    finally:
        await runner.stop()


async def run_adapter_only(
    tg: FakeTelegram, users: list[SimUser], total: int
) -> tuple[float, float]:
    """The TelegramRunner with a handler that answers at once: the adapter's own cost."""
    from bot.channels.telegram import TelegramRunner
    from bot.settings import get_settings
    from handlers.types import Incoming, Option, Reply

    def constant(incoming: Incoming) -> list[Reply]:
        return [Reply("Nội dung thi đua nào?", (Option("Chuyên môn", "flow:report:area:0:x"),))]

    runner = TelegramRunner(get_settings(), constant)
    await runner.start(None)

    async def step(user: SimUser, turn: int, last: dict) -> None:
        await tg.send_text(user, f"tin nhắn số {turn}")

    try:
        return await Driver(tg, users, total, step).run()
    finally:
        await runner.stop()


async def main(total: int, n_users: int, profile: str | None, only: str | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    async with FakeTelegram() as tg:
        echo_users = [tg.user(10_000 + i, f"Echo {i}") for i in range(n_users)]
        typing_users = [tg.user(20_000 + i, f"Người {i}") for i in range(n_users)]
        pressing_users = [tg.user(30_000 + i, f"Người {i}") for i in range(n_users)]
        adapter_users = [tg.user(40_000 + i, f"Người {i}") for i in range(n_users)]
        with tempfile.TemporaryDirectory() as folder:
            prepare_database(Path(folder), tg, typing_users + pressing_users)
            took: dict[str, tuple[float, float]] = {}
            if only in (None, "echo"):
                took["echo"] = await run_echo(tg, echo_users, total)
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            if only in (None, "thidua", "typed"):
                took["typed"] = await run_thidua(tg, typing_users, total, presses=False)
            if only in (None, "thidua", "pressed"):
                took["pressed"] = await run_thidua(tg, pressing_users, total, presses=True)
            if only in (None, "adapter"):
                took["adapter"] = await run_adapter_only(tg, adapter_users, total)
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
                pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            from sqlmodel import func, select

            from bot import models as m
            from bot.db import session_scope

            with session_scope() as session:
                reports = session.exec(select(func.count()).select_from(m.Report)).one()
    print(f"{total} updates per bot, {n_users} people writing at once, {reports} reports saved")
    names = {
        "echo": "(a) bare PTB echo",
        "typed": "(b) thidua /report, choices typed",
        "pressed": "(c) thidua /report, choices pressed",
        "adapter": "(d) TelegramRunner, constant handler",
    }
    for key, (wall, cpu) in took.items():
        line = f"{names[key]:37} {total / wall:6.1f} updates/s"
        line += f"  {1000 * cpu / total:5.2f} ms CPU/update"
        if key != "echo" and "echo" in took:
            line += f"  ratio to (a) {took['echo'][0] / wall:.2f}"
        print(line)
    print("goal: (b) and (c) >= 0.5 x (a)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the thidua run into FILE")
    parser.add_argument(
        "--only",
        choices=("echo", "thidua", "typed", "pressed", "adapter"),
        help="run part (profiling)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.users, args.profile, args.only))

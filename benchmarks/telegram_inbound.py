"""Inbound Telegram throughput: bare python-telegram-bot echo vs thidua, same server, same run.

    /work/venv/bin/python benchmarks/telegram_inbound.py [--updates 2000] [--users 50] [--rounds 4]

FakeTelegram (tests/fakes) serves the Bot API on 127.0.0.1, in this process. Every bot polls
it. `--users` simulated people write at once; each sends its next update as soon as the bot
answered the previous one, until `--updates` updates were sent to that bot. The figure is updates
per second from the first update enqueued to the last reply recorded by the server; CPU ms per
update (all threads of the process, server included) is printed too, as it varies less when the
machine is busy. The bots take turns in `--rounds` rounds (each bot started, driven for its share
of the updates, stopped), so a change in the machine's load mid-run touches them all alike.

(a) echo: an `Application` with one MessageHandler that answers `reply_text(text)`, PTB's
    defaults otherwise.
(b) thidua: the real `TelegramRunner` with `handlers.router.respond` on a SQLite database in a
    temporary folder; every person runs /report to the end, again and again: /report, choose a
    content area, type a title, type the achievement, choose Skip, choose Confirm (six updates,
    each reading and writing the conversation state; Confirm saves a report). Choices are
    answered by typing their number, so every update is one message in and one out, as in (a).
(c) the same, choices by pressing the buttons: a press costs three Bot API calls
    (answerCallbackQuery, editMessageText to show the choice, sendMessage).
(d) the TelegramRunner with a handler that answers at once: the adapter's own cost.
(e) (a) on the HTTP transport thidua gives python-telegram-bot (`bot.channels.telegram_http`,
    aiohttp instead of httpx): how much of thidua's lead over (a) is the transport.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from tests.fakes.telegram_api import FakeTelegram, SimUser  # noqa: E402

Step = Callable[[SimUser, int, dict], Awaitable[None]]


class Driver:
    """Simulated people: each answers the bot's last message with its next step.

    `turns` (user id -> steps taken) is kept across rounds, so a flow goes on where it stopped.
    """

    def __init__(
        self, tg: FakeTelegram, users: list[SimUser], total: int, step: Step, turns: dict
    ) -> None:
        self.tg, self.users, self.total, self.step, self.turns = tg, users, total, step, turns
        self.sent_updates = 0
        self.seen = {u.id: len(tg.sent(u.id)) for u in users}

    async def _next(self, user: SimUser, last: dict) -> None:
        if self.sent_updates >= self.total:
            return
        self.sent_updates += 1
        turn = self.turns.get(user.id, 0)
        self.turns[user.id] = turn + 1
        await self.step(user, turn, last)

    async def run(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process, all threads) until the last reply."""
        start, cpu = time.perf_counter(), time.process_time()
        for user in self.users:
            sent = self.tg.sent(user.id)
            await self._next(user, sent[-1] if sent else {})
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
            # Every bot here sends one message per update; the newest carries the buttons.
            found += [(user, record) for record in sent[self.seen[user.id] :]]
            self.seen[user.id] = len(sent)
        return found


def _button(record: dict, index: int) -> str:
    rows = (record.get("reply_markup") or {}).get("inline_keyboard") or []
    if not rows:
        raise RuntimeError(f"expected buttons, got {record.get('plain_text')!r}")
    return rows[index][0]["callback_data"]


# ---- the bots --------------------------------------------------------------------------------


@asynccontextmanager
async def echo_bot(tg: FakeTelegram, aiohttp: bool = False) -> AsyncIterator[None]:
    """(a) A bare PTB Application that echoes text; (e) the same on thidua's transport."""
    from bot.channels.telegram_http import AiohttpRequest

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    builder = Application.builder().token(tg.token)
    builder = builder.base_url(tg.base_url).base_file_url(tg.base_file_url)
    if aiohttp:
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=30)
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@asynccontextmanager
async def thidua_bot(constant: bool = False) -> AsyncIterator[None]:
    """(b, c) The TelegramRunner on the real handlers; (d) with a handler that answers at once."""
    from bot.channels.telegram import TelegramRunner
    from bot.core.settings import get_settings
    from handlers.router import respond
    from handlers.types import Incoming, Option, Reply

    def at_once(session: object, incoming: Incoming) -> list[Reply]:
        return [Reply("Nội dung thi đua nào?", (Option("Chuyên môn", "flow:report:area:0:x"),))]

    runner = TelegramRunner(get_settings(), at_once if constant else respond)
    await runner.start(None)
    try:
        yield
    finally:
        await runner.stop()


def chatting(tg: FakeTelegram) -> Step:
    async def step(user: SimUser, turn: int, last: dict) -> None:
        await tg.send_text(user, f"tin nhắn số {turn}")

    return step


def reporting(tg: FakeTelegram, presses: bool) -> Step:
    """/report, content area, title, achievement, Skip, Confirm; again and again."""

    async def choose_first(user: SimUser, last: dict) -> None:
        data = _button(last, 0)
        if presses:
            await tg.press(user, last, data)
        else:
            await tg.send_text(user, "1")  # a typed number answers a choice

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

    return step


def prepare(folder: Path, tg: FakeTelegram, users: list[SimUser]) -> None:
    """A migrated SQLite database with the bundled campaign and `users` registered as staff."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'thidua.db'}"
    os.environ["THIDUA_ATTACHMENTS"] = str(folder / "attachments")
    os.environ["TELEGRAM_BOT_TOKEN"] = tg.token
    os.environ["TELEGRAM_BASE_URL"] = tg.root
    # Replies now leave through the reply lane, paced at the platform's limit (30 msg/s on the
    # real Telegram). The bare echo knows no limit and this server sets none, so the lane is
    # let run free too: what is measured is the work per update, not the limit.
    os.environ["TELEGRAM_RATE"] = "100000"
    from sqlmodel import select

    from bot.core import clock
    from bot.core import models as m
    from bot.core.campaign_loader import load_campaign
    from bot.core.db import migrate, session_scope
    from bot.core.settings import get_settings
    from bot.core.store import load_into_store

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


def count_reports() -> int:
    from sqlmodel import func, select

    from bot.core import models as m
    from bot.core.db import session_scope

    with session_scope() as session:
        return session.exec(select(func.count()).select_from(m.Report)).one()


NAMES = {
    "echo": "(a) bare PTB echo",
    "typed": "(b) thidua /report, choices typed",
    "pressed": "(c) thidua /report, choices pressed",
    "adapter": "(d) TelegramRunner, constant handler",
    "echo-aiohttp": "(e) bare PTB echo, thidua's transport",
}


async def main(total: int, n_users: int, rounds: int, only: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    async with FakeTelegram() as tg:
        users = {
            key: [tg.user(base + i, f"Người {i}") for i in range(n_users)]
            for key, base in zip(NAMES, (10_000, 20_000, 30_000, 40_000, 50_000), strict=True)
        }
        bots = {
            "echo": (lambda: echo_bot(tg), chatting(tg)),
            "typed": (thidua_bot, reporting(tg, presses=False)),
            "pressed": (thidua_bot, reporting(tg, presses=True)),
            "adapter": (lambda: thidua_bot(constant=True), chatting(tg)),
            "echo-aiohttp": (lambda: echo_bot(tg, aiohttp=True), chatting(tg)),
        }
        took = {key: [0.0, 0.0] for key in only}
        turns: dict[str, dict] = {key: {} for key in only}
        with tempfile.TemporaryDirectory() as folder:
            prepare(Path(folder), tg, users["typed"] + users["pressed"])
            for n in range(rounds):
                share = total // rounds + (1 if n < total % rounds else 0)
                for key in only:
                    start_bot, step = bots[key]
                    async with start_bot():
                        driver = Driver(tg, users[key], share, step, turns[key])
                        wall, cpu = await driver.run()
                    took[key][0] += wall
                    took[key][1] += cpu
            reports = count_reports()
    print(f"{total} updates per bot in {rounds} rounds, {n_users} people writing at once")
    for key, (wall, cpu) in took.items():
        line = f"{NAMES[key]:37} {total / wall:6.1f} updates/s"
        line += f"  {1000 * cpu / total:5.2f} ms CPU/update"
        for base, label in (("echo", "a"), ("echo-aiohttp", "e")):
            if key in ("typed", "pressed", "adapter") and base in took:
                line += f"  ratio to ({label}) {took[base][0] / wall:.2f}"
        print(line)
    print(f"reports saved: {reports}; goal: (b) and (c) >= 0.5 x (a)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000, help="per bot")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--only", nargs="+", choices=tuple(NAMES), default=list(NAMES), help="some bots only"
    )
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.users, args.rounds, args.only))

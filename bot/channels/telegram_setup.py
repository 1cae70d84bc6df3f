"""Building the python-telegram-bot Application (the bot and its HTTP pools; updates are
received by bot/channels/telegram.py itself), the command menus, and the bot's @username."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

from sqlmodel import col, select
from telegram import Bot, BotCommand
from telegram.error import TelegramError
from telegram.ext import Application

from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_inbound import CHANNEL
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import language
from bot.core.redact import protect, redact
from bot.core.roles import Role
from bot.core.settings import Settings, get_settings
from handlers import registry
from handlers.context import shown_name

log = logging.getLogger(__name__)

#: Bot API calls under way at once: replies to 16 chats (the reply lane), pushes, presses.
CONNECTIONS = 24


def token_of(settings: Settings) -> str:
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return settings.telegram_bot_token.get_secret_value()


def build_application(settings: Settings) -> Application:
    base = settings.telegram_base_url
    builder = (
        Application.builder()
        .token(token_of(settings))
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .request(
            AiohttpRequest(
                CONNECTIONS,
                pool_timeout=30.0,
                connect_timeout=10.0,
                read_timeout=20.0,
                write_timeout=60.0,
            )
        )
        .get_updates_request(AiohttpRequest(1, read_timeout=20.0, connect_timeout=10.0))
        .job_queue(None)
    )
    return builder.updater(None).build()


def command_menu(role: str | None, lang: str) -> list[BotCommand]:
    """The menu in `lang`: Vietnamese names (/baocao) in Vietnamese, English ones in English."""
    with language(lang):
        return [
            BotCommand(shown_name(c).removeprefix("/"), c.describe())
            for c in registry.allowed_commands(role)
        ]


def privileged_chats() -> list[tuple[str, str, str]]:
    """(chat id, role, language) of registered Telegram users whose menu differs from staff's."""
    base = [c.name for c in registry.allowed_commands(Role.STAFF)]
    with session_scope() as session:
        rows = session.exec(
            select(m.Identity.chat_id, m.Person.role, m.Person.lang)
            .join(m.Person, col(m.Person.id) == m.Identity.person_id)
            .where(m.Identity.channel == CHANNEL, m.Person.active, m.Person.role != Role.STAFF)
        ).all()
    return [
        (chat_id, role, lang)
        for chat_id, role, lang in rows
        if [c.name for c in registry.allowed_commands(role)] != base
    ]


def chat_menu(chat_id: str) -> list[BotCommand] | None:
    """The menu this Telegram chat should show: its person's commands in their language; for
    someone deactivated only /start (every other command is refused); None for a chat
    nobody registered from (it keeps the default menu)."""
    with session_scope() as session:
        found = session.exec(
            select(m.Person.role, m.Person.lang, m.Person.active)
            .join(m.Identity, col(m.Identity.person_id) == m.Person.id)
            .where(m.Identity.channel == CHANNEL, m.Identity.chat_id == chat_id)
        ).first()
    if found is None:
        return None
    role, lang, active = found
    if active:
        return command_menu(role, lang)
    with language(lang):
        start = registry.BY_NAME["start"]
        return [BotCommand(start.name, start.describe())]


async def _get_username(settings: Settings) -> str | None:
    base = settings.telegram_base_url
    bot = Bot(token_of(settings), base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    async with bot:
        return bot.username


def use_timedeltas() -> None:
    """Opt in to python-telegram-bot's coming timedelta attributes (`RetryAfter.retry_after`),
    which it reads from the environment each time it builds one; without it every 429 warns.
    Called when a runner or a Bot is made, so that importing this module changes nothing."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def bot_username() -> str | None:
    """The bot's @username from getMe (for t.me deep links), or None if it cannot be read."""
    settings = get_settings()
    if settings.telegram_bot_token is None:
        return None
    protect(token_of(settings))
    use_timedeltas()
    runner: Callable[[Coroutine[Any, Any, str | None]], str | None]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner = asyncio.run
    else:  # called from async code: ask from a thread of its own

        def in_thread(coro: Coroutine[Any, Any, str | None]) -> str | None:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, coro).result()

        runner = in_thread
    try:
        return runner(_get_username(settings))
    except (TelegramError, OSError) as exc:
        log.warning("telegram: could not read the bot's username: %s", redact(str(exc)))
        return None

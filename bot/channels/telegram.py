"""The Telegram channel: python-telegram-bot v22 between Telegram and `handlers.router.handle`.

Polling by default; a webhook on the shared aiohttp app when TELEGRAM_WEBHOOK_URL is set
(requests must carry TELEGRAM_WEBHOOK_SECRET in ``X-Telegram-Bot-Api-Secret-Token``).
TELEGRAM_BASE_URL is the Bot API server's root; the bot appends ``/bot<token>/…`` and
``/file/bot<token>/…``. Updates of different chats are handled concurrently, those of one chat
in order. The token never reaches a log line (see `bot.redact`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import (
    Bot,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.error import RetryAfter as TgRetryAfter
from telegram.ext import ContextTypes, TypeHandler

from bot.channels.base import (
    RetryAfter,
    SendError,
    Transient,
    Unreachable,
    in_handler_thread,
)
from bot.channels.telegram_inbound import CHANNEL, from_callback, from_message
from bot.channels.telegram_render import escape, pressed_label, send_reply, split, with_choice
from bot.channels.telegram_setup import (
    bot_username,
    build_application,
    chat_role,
    command_menu,
    privileged_chats,
    token_of,
    use_timedeltas,
)
from bot.core.db import session_scope
from bot.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, language
from bot.core.people import mark_unreachable
from bot.core.redact import protect, redact
from bot.core.roles import Role
from bot.core.settings import Settings
from handlers.types import Handle, Incoming, Reply

__all__ = ["TelegramRunner", "bot_username"]

log = logging.getLogger(__name__)


ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = dt.timedelta(seconds=30)
ATTEMPTS = 4  # per API call in the reply path: RetryAfter waits, network errors back off
MAX_WAIT = 30.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_GONE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")


def _retry_seconds(exc: TgRetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def call_with_retries(make: Callable[[], Awaitable[Any]]) -> Any:
    """One Bot API call in the reply path: wait out 429s, back off on network errors."""
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        try:
            return await make()
        except TgRetryAfter as exc:
            if last:
                raise
            await asyncio.sleep(min(_retry_seconds(exc), MAX_WAIT))
        except BadRequest:
            raise
        except NetworkError as exc:  # includes TimedOut and 5xx
            if last:
                raise
            log.warning("telegram call failed (%s), retrying", redact(str(exc)))
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def mark_blocked(chat_id: str) -> None:
    """The person blocked the bot: the clerk sees the identity as unreachable."""
    with session_scope() as session:
        mark_unreachable(session=session, channel=CHANNEL, chat_id=chat_id, reason="blocked")


class TelegramRunner:
    """Receives Telegram updates, runs them through `handle`, renders the replies."""

    name = CHANNEL

    def __init__(self, settings: Settings, handle: Handle) -> None:
        use_timedeltas()
        self._settings, self._handle = settings, handle
        self._webhook_url = settings.telegram_webhook_url
        given = settings.telegram_webhook_secret
        self._secret = given.get_secret_value() if given else secrets.token_urlsafe(32)
        protect(token_of(settings), self._secret)
        self._store = Path(settings.attachments_dir)
        self._accepting = False
        self.application = build_application(settings, webhook=bool(self._webhook_url))
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def bot(self) -> Bot:
        return self.application.bot

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self, web_app: web.Application | None) -> None:
        app = self.application
        await app.initialize()
        await self.set_commands()
        if self._webhook_url:
            if web_app is None:
                raise RuntimeError("TELEGRAM_WEBHOOK_URL is set but there is no web app")
            web_app.router.add_post(urlparse(self._webhook_url).path or "/", self._on_webhook)
            await app.start()
            self._accepting = True
            await self.bot.set_webhook(
                self._webhook_url,
                secret_token=self._secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            log.info("telegram: webhook set (@%s)", self.bot.username)
            return
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            timeout=POLL_TIMEOUT,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            error_callback=self._on_poll_error,
        )
        self._accepting = True
        log.info("telegram: polling (@%s)", self.bot.username)

    async def stop(self) -> None:
        """Stop fetching, finish every update already fetched, close the connections."""
        self._accepting = False
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def start_sending(self) -> None:
        await self.bot.initialize()

    async def stop_sending(self) -> None:
        await self.bot.shutdown()

    async def set_commands(self) -> None:
        """The command menu: the default language's for any client and each language's for
        clients in it (vi: /baocao …, en: /report …), per chat for office roles."""
        try:
            for code, lang in [(None, DEFAULT_LANGUAGE), *((lang, lang) for lang in LANGUAGES)]:
                await self.bot.set_my_commands(
                    command_menu(Role.STAFF, lang),
                    scope=BotCommandScopeDefault(),
                    language_code=code,
                )
            for chat_id, role, lang in await asyncio.to_thread(privileged_chats):
                await self.bot.set_my_commands(
                    command_menu(role, lang), scope=BotCommandScopeChat(int(chat_id))
                )
        except TelegramError as exc:
            log.warning("telegram: could not set the command menu: %s", redact(str(exc)))

    # ---- inbound ------------------------------------------------------------------------

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("telegram webhook: request without the right secret refused")
            return web.Response(status=401)
        if not self._accepting:
            return web.Response(status=503)  # Telegram delivers it again later
        try:
            update = Update.de_json(await request.json(), self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400)
        await self.application.update_queue.put(update)
        return web.Response()

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if update.callback_query is not None:
            await self._on_press(update, update.callback_query)
        elif update.message is not None:
            if chat.type != ChatType.PRIVATE:
                await self._group_hint(update.message)
                return
            incoming = await from_message(update, self._store, self._settings)
            if incoming is not None:
                await self._turn(chat.id, incoming)

    async def _on_press(self, update: Update, query: CallbackQuery) -> None:
        incoming = from_callback(update)
        private = update.effective_chat and update.effective_chat.type == ChatType.PRIVATE
        if incoming is None or not private:
            await self._acknowledge(query)
            return
        _acked, replies = await asyncio.gather(
            self._acknowledge(query), in_handler_thread(self._handle, incoming)
        )
        await self._deliver(int(incoming.chat_id), replies)

    async def _acknowledge(self, query: CallbackQuery) -> None:
        """Answer the press (stops the spinner) and swap the keyboard for the chosen label."""
        try:
            await query.answer()
        except TelegramError as exc:
            log.warning("telegram: could not answer a button press: %s", redact(str(exc)))
        message = query.message
        if not isinstance(message, Message) or message.reply_markup is None:
            return
        edited = with_choice(message, pressed_label(message, query.data or ""))
        try:
            if edited is None:
                await message.edit_reply_markup(reply_markup=None)
            elif edited[1]:
                await message.edit_caption(edited[0], parse_mode=ParseMode.HTML)
            else:
                await message.edit_text(edited[0], parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # e.g. "message is not modified" on a double press
            log.info("telegram: could not edit a pressed keyboard: %s", redact(str(exc)))

    async def _turn(self, chat_id: int, incoming: Incoming) -> None:
        replies = await in_handler_thread(self._handle, incoming)
        await self._deliver(chat_id, replies)

    async def _deliver(self, chat_id: int, replies: list[Reply]) -> None:
        try:
            for reply in replies:
                await send_reply(self.bot, chat_id, reply, call_with_retries)
        except Forbidden:
            log.info("telegram: chat %s blocked the bot; marked unreachable", chat_id)
            await asyncio.to_thread(mark_blocked, str(chat_id))
            return
        if any(reply.commands_changed for reply in replies):
            await self._refresh_menu(chat_id)

    async def _refresh_menu(self, chat_id: int) -> None:
        """A registration or /lang: this chat's menu shows the person's commands, in their
        language (start-up sets the menus of the office's roles; this keeps them current)."""
        found = await asyncio.to_thread(chat_role, str(chat_id))
        if found is None:
            return
        role, lang = found
        try:
            await self.bot.set_my_commands(
                command_menu(role, lang), scope=BotCommandScopeChat(chat_id)
            )
        except TelegramError as exc:
            log.warning("telegram: could not set a chat's command menu: %s", redact(str(exc)))

    async def _group_hint(self, message: Message) -> None:
        """The bot works in private chats only; a command in a group gets a pointer there."""
        if not (message.text or "").startswith("/"):
            return
        user = message.from_user
        with language(user.language_code if user else None):
            text = _("I work in private chats only. Write to me at https://t.me/{bot}").format(
                bot=self.bot.username
            )
        await call_with_retries(
            lambda: message.reply_text(escape(text), parse_mode=ParseMode.HTML)
        )

    # ---- errors -------------------------------------------------------------------------

    def _on_poll_error(self, error: TelegramError) -> None:
        log.warning("telegram: polling failed, retrying: %s", redact(str(error)))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A failure in the adapter: log it with a reference; tell the person that number."""
        ref = secrets.token_hex(3).upper()
        error = context.error
        chat = update.effective_chat if isinstance(update, Update) else None
        log.error(
            "telegram error ref=%s chat=%s",
            ref,
            chat.id if chat else None,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )
        if chat is None or chat.type != ChatType.PRIVATE or isinstance(error, Forbidden):
            return
        user = update.effective_user if isinstance(update, Update) else None
        with language(user.language_code if user else None):
            text = _(
                "Sorry, I could not process that (ref. {ref}). Please try again; if it keeps "
                "happening, tell the office this number."
            ).format(ref=ref)
        try:
            await self.bot.send_message(chat.id, escape(text), parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("telegram: could not send the apology ref=%s: %s", ref, redact(str(exc)))

    # ---- pushes -------------------------------------------------------------------------

    async def send(self, chat_id: str, text: str) -> None:
        """One plain-text push (split if long); failures become `SendError`s."""
        target: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        try:
            for piece in split(text):
                await self.bot.send_message(target, escape(piece), parse_mode=ParseMode.HTML)
        except TgRetryAfter as exc:
            raise RetryAfter(_retry_seconds(exc)) from None
        except Forbidden as exc:
            raise Unreachable(redact(str(exc))) from None
        except BadRequest as exc:
            detail = redact(str(exc))
            if any(gone in detail.lower() for gone in _GONE):
                raise Unreachable(detail) from None
            raise SendError(detail) from None
        except NetworkError as exc:  # TimedOut, 5xx, connection errors
            raise Transient(redact(str(exc))) from None
        except TelegramError as exc:
            raise SendError(redact(str(exc))) from None

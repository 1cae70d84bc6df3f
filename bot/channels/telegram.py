"""The Telegram channel: python-telegram-bot v22 between Telegram and the inbound journal.

Polling by default: our own `getUpdates` loop, so the offset that confirms updates to Telegram
moves only past updates already journalled (python-telegram-bot's `Updater` confirms them
before they are handled). A webhook on the shared aiohttp app when TELEGRAM_WEBHOOK_URL is set
(requests must carry TELEGRAM_WEBHOOK_SECRET in ``X-Telegram-Bot-Api-Secret-Token``), answered
200 only once the update is journalled. The `Inbox` then handles each chat's updates in order,
different chats at once; the replies leave through the `ReplyLane`. TELEGRAM_BASE_URL is the
Bot API server's root; the bot appends ``/bot<token>/…`` and ``/file/bot<token>/…``. The token
never reaches a log line (see `bot.redact`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
from collections.abc import Awaitable, Callable
from functools import partial
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
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.error import RetryAfter as TgRetryAfter

from bot.channels.base import RetryAfter, SendError, Transient, Unreachable, webhook_secret
from bot.channels.inbox import Inbox, Outage
from bot.channels.reply_lane import ReplyLane
from bot.channels.telegram_inbound import CHANNEL, from_callback, from_message
from bot.channels.telegram_render import (
    escape,
    post,
    pressed_label,
    send_reply,
    split,
    with_choice,
)
from bot.channels.telegram_setup import (
    bot_username,
    build_application,
    chat_menu,
    command_menu,
    privileged_chats,
    token_of,
    use_timedeltas,
)
from bot.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, language
from bot.core.redact import protect, redact
from bot.core.roles import Role
from bot.core.settings import Settings
from handlers.types import Incoming, Reply, Respond

__all__ = ["TelegramRunner", "bot_username"]

log = logging.getLogger(__name__)


ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = dt.timedelta(seconds=30)
ATTEMPTS = 4  # per API call outside the outbox (a group's hint): 429s waited, errors backed off
MAX_WAIT = 30.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_BACKOFF_MAX = 30.0
_GONE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")


def _retry_seconds(exc: TgRetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def send_error(exc: TelegramError) -> SendError:
    """What a failed Bot API call means for the outbox: wait, retry, or give up."""
    if isinstance(exc, TgRetryAfter):
        return RetryAfter(_retry_seconds(exc))
    if isinstance(exc, Forbidden):
        return Unreachable(redact(str(exc)), reason="blocked")
    if isinstance(exc, BadRequest):
        detail = redact(str(exc))
        if any(gone in detail.lower() for gone in _GONE):
            return Unreachable(detail)
        return SendError(detail)
    if isinstance(exc, NetworkError):  # TimedOut, 5xx, connection errors
        return Transient(redact(str(exc)))
    return SendError(redact(str(exc)))


async def call_with_retries(make: Callable[[], Awaitable[Any]]) -> Any:
    """One Bot API call outside the outbox: wait out 429s, back off on network errors."""
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


async def call_once(make: Callable[[], Awaitable[Any]]) -> Any:
    """One Bot API call of a reply: a failure is the reply lane's to retry."""
    try:
        return await make()
    except TelegramError as exc:
        raise send_error(exc) from None


class TelegramRunner:
    """Receives Telegram updates into the journal; its inbox and reply lane do the rest."""

    name = CHANNEL

    def __init__(self, settings: Settings, respond: Respond) -> None:
        use_timedeltas()
        self._settings = settings
        self._webhook_url = settings.telegram_webhook_url
        given = settings.telegram_webhook_secret
        self._secret = given.get_secret_value() if given else webhook_secret(token_of(settings))
        protect(token_of(settings), self._secret)
        self._store = Path(settings.attachments_dir)
        self._accepting = False
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._offset: int | None = None  # past the last update journalled
        self._batch: asyncio.Task[bool] | None = None  # the last getUpdates' updates
        self._acks: set[asyncio.Task[None]] = set()
        self._apologised: set[int] = set()  # updates told of an outage, not yet journalled
        self.application = build_application(settings)
        outage = Outage(CHANNEL)
        self.replies = ReplyLane(
            CHANNEL,
            self.deliver,
            rate=settings.telegram_rate,
            retry_for=dt.timedelta(minutes=settings.reply_retry_minutes),
            outage=outage,
        )
        self.inbox = Inbox(
            CHANNEL,
            respond,
            replies_queued=self.replies.hand,
            apologise=self._apologise,
            outage=outage,
            show_working=self._sending_a_file,
            redelivers=True,  # an update not confirmed (offset, webhook answer) comes again
        )

    @property
    def bot(self) -> Bot:
        return self.application.bot

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self, web_app: web.Application | None, *, poll: bool = True) -> None:
        """Webhook routes on `web_app` if TELEGRAM_WEBHOOK_URL is set; else polling, now if
        `poll` (several processes on one database: only the pushes leader polls, since
        Telegram answers a second poller 409 Conflict; see `start_polling`)."""
        await self.application.initialize()
        await self.set_commands()
        self.replies.start()
        self.inbox.start()
        if self._webhook_url:
            if web_app is None:
                raise RuntimeError("TELEGRAM_WEBHOOK_URL is set but there is no web app")
            web_app.router.add_post(urlparse(self._webhook_url).path or "/", self._on_webhook)
            self._accepting = True
            await self.bot.set_webhook(
                self._webhook_url,
                secret_token=self._secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            log.info("telegram: webhook set (@%s)", self.bot.username)
            return
        self._accepting = True
        if poll:
            await self.start_polling()
        else:
            log.info("telegram: polling is another process's; answering what it journals")

    async def start_polling(self) -> None:
        """Fetch updates with getUpdates from now on (nothing by webhook, or already)."""
        if self._webhook_url or self._poller is not None or self._stopping.is_set():
            return
        await call_with_retries(lambda: self.bot.delete_webhook(drop_pending_updates=False))
        self._poller = asyncio.create_task(self._poll_loop(), name="telegram-poll")
        log.info("telegram: polling (@%s)", self.bot.username)

    async def stop_polling(self) -> None:
        """Stop fetching (another process polls now); what was journalled is confirmed."""
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            if self._batch is not None:
                await asyncio.gather(self._batch, return_exceptions=True)
            await self._confirm()
            log.info("telegram: polling stopped")

    async def stop(self) -> None:
        """Stop fetching (a poll in flight confirmed nothing), finish the turns under way and
        the replies being sent, close the connections. What is left waits in the store."""
        self._accepting = False
        self._stopping.set()
        await self.stop_polling()
        await self.inbox.stop()
        await self.replies.stop()
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)
        await self.application.shutdown()

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

    async def _poll_loop(self) -> None:
        """getUpdates with our own offset: it confirms only updates already journalled."""
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                updates = await self.bot.get_updates(
                    offset=self._offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                )
            except TelegramError as exc:
                backoff = min(max(backoff * 2, 1.0), POLL_BACKOFF_MAX)
                log.warning(
                    "telegram: polling failed (%s); again in %.0f s", redact(str(exc)), backoff
                )
                await self._sleep(backoff)
                continue
            # Not cancelled by `stop_polling`, which waits for it: turns under way finish
            # and their replies are handed to the lane.
            self._batch = asyncio.create_task(self._receive_all(updates))
            if await asyncio.shield(self._batch):
                backoff = 0.0
            else:
                backoff = min(max(backoff * 2, 1.0), POLL_BACKOFF_MAX)
                await self._sleep(backoff)

    async def _receive_all(self, updates: tuple[Update, ...]) -> bool:
        """`_receive` each update of a batch: different chats' at once, one chat's in order
        (after a failure, that chat's later ones are left for Telegram to give again). The
        offset moves past those received before the first failure; False if there was one."""
        by_chat: dict[int | None, list[int]] = {}
        for n, update in enumerate(updates):
            chat = update.effective_chat
            by_chat.setdefault(chat.id if chat else None, []).append(n)
        received = [False] * len(updates)

        async def one_chat(indexes: list[int]) -> None:
            for n in indexes:
                received[n] = await self._receive(updates[n])
                if not received[n]:
                    return

        await asyncio.gather(*(one_chat(indexes) for indexes in by_chat.values()))
        for update, ok in zip(updates, received, strict=True):
            if not ok:
                return False  # not confirmed: Telegram gives it again
            self._offset = update.update_id + 1
        return True

    async def _confirm(self) -> None:
        """Tell Telegram what is journalled (the next poll would have): a restart is then
        not handed those updates again (they would be dropped, but cost a round trip)."""
        if self._offset is None:
            return
        try:
            await self.bot.get_updates(offset=self._offset, timeout=0, limit=1)
        except TelegramError as exc:
            log.info("telegram: could not confirm the last updates: %s", redact(str(exc)))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

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
        if not await self._receive(update):
            return web.Response(status=503)  # not journalled: Telegram delivers it again
        return web.Response()

    async def _receive(self, update: Update) -> bool:
        """Journal one update (True), or say the store failed (False: do not confirm it)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return True
        incoming: Incoming | None = None
        if update.callback_query is not None:
            self._acknowledge_soon(update.callback_query)
            if chat.type == ChatType.PRIVATE:
                incoming = from_callback(update)
        elif update.message is not None:
            if chat.type != ChatType.PRIVATE:
                await self._group_hint(update.message)
                return True
            incoming = await from_message(update, self._store, self._settings)
        if incoming is None:
            return True
        try:
            await self.inbox.receive(str(update.update_id), incoming)
        except Exception as exc:
            self.inbox.outage.failed(exc)
            if update.update_id not in self._apologised:
                self._apologised.add(update.update_id)
                await self._apologise(incoming.chat_id, incoming.language_code)
            return False
        self.inbox.outage.ok()
        self._apologised.discard(update.update_id)
        return True

    def _acknowledge_soon(self, query: CallbackQuery) -> None:
        task = asyncio.create_task(self._acknowledge(query))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

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
        which = {"chat_id": message.chat_id, "message_id": message.message_id}
        try:
            if edited is None:
                await post(self.bot, "editMessageReplyMarkup", **which)
            elif edited[1]:
                await post(
                    self.bot,
                    "editMessageCaption",
                    caption=edited[0],
                    parse_mode=ParseMode.HTML,
                    **which,
                )
            else:
                await post(
                    self.bot, "editMessageText", text=edited[0], parse_mode=ParseMode.HTML, **which
                )
        except TelegramError as exc:  # e.g. "message is not modified" on a double press
            log.info("telegram: could not edit a pressed keyboard: %s", redact(str(exc)))

    async def _sending_a_file(self, chat_id: str) -> None:
        try:
            await self.bot.send_chat_action(int(chat_id), ChatAction.UPLOAD_DOCUMENT)
        except (TelegramError, ValueError) as exc:
            log.info("telegram: chat action not sent: %s", redact(str(exc)))

    async def _apologise(self, chat_id: str, lang: str | None = None) -> None:
        """The store is down: say so at once, directly (the message is kept, and answered
        when the store is back)."""
        with language(lang):
            text = _(
                "Sorry, I cannot answer right now: the bot's database is unavailable. Your "
                "message is kept and will be answered as soon as it is back."
            )
        try:
            await self.bot.send_message(int(chat_id), escape(text), parse_mode=ParseMode.HTML)
        except (TelegramError, ValueError) as exc:
            log.warning("telegram: could not send the outage apology: %s", redact(str(exc)))

    async def _group_hint(self, message: Message) -> None:
        """The bot works in private chats only; a command in a group gets a pointer there."""
        if not (message.text or "").startswith("/"):
            return
        user = message.from_user
        with language(user.language_code if user else None):
            text = _("I work in private chats only. Write to me at https://t.me/{bot}").format(
                bot=self.bot.username
            )
        try:
            await call_with_retries(
                lambda: message.reply_text(escape(text), parse_mode=ParseMode.HTML)
            )
        except TelegramError as exc:
            log.warning("telegram: could not answer in a group: %s", redact(str(exc)))

    # ---- outbound -----------------------------------------------------------------------

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send one reply from the outbox; a failure raises a `SendError` (the lane retries)."""
        await send_reply(self.bot, _target(chat_id), reply, call_once)
        if reply.commands_changed:
            await self._refresh_menu(chat_id)

    async def _refresh_menu(self, chat_id: str) -> None:
        """A registration, /lang, or a role change, deactivation or move queued by the CLI or
        /nhansu: this chat's menu shows the person's commands, in their language (start-up
        sets the menus of the office's roles; this keeps them current)."""
        menu = await asyncio.to_thread(chat_menu, chat_id)
        if menu is None:
            return
        try:
            await self.bot.set_my_commands(menu, scope=BotCommandScopeChat(int(chat_id)))
        except TelegramError as exc:
            log.warning("telegram: could not set a chat's command menu: %s", redact(str(exc)))

    async def send(self, chat_id: str, text: str) -> None:
        """One plain-text push (split if long); failures become `SendError`s."""
        target = _target(chat_id)
        for piece in split(text):
            await call_once(
                partial(
                    post,
                    self.bot,
                    "sendMessage",
                    chat_id=target,
                    text=escape(piece),
                    parse_mode=ParseMode.HTML,
                )
            )


def _target(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id

"""The Zalo channel: Zalo Bot API updates into the journal, plain-text replies out
(see ZALO_BOT_API.md).

Updates arrive by long polling (`getUpdates`, one update per call, HTTP 408 when empty) or, when
ZALO_WEBHOOK_URL is set, as POSTs to that URL's path on the shared web app. Either way an update
becomes an `Incoming` (bot/channels/zalo_inbound.py) and is journalled, keyed by its message id
(Zalo hands updates out again; the key drops the replays), before the webhook is answered or
the next poll goes out. The `Inbox` handles each chat's updates in order, different chats at
once; the replies leave through the `ReplyLane`: options as numbered lines, long text split at
2,000 characters.

Zalo's monthly quota ends in HTTP 429. Then sending pauses until the next local midnight (a
`channel_state` row); replies and pushes wait in the outbox, and the first send after the pause
is its probe. The bot token is only ever in the client's URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.channels import zalo_state as state
from bot.channels.base import Paused, SendError, Transient, Unreachable, webhook_secret
from bot.channels.inbox import Inbox, Outage
from bot.channels.reply_lane import ReplyLane
from bot.channels.text import render_reply, split_text
from bot.channels.zalo_client import MAX_TEXT_LENGTH, ZaloClient, ZaloError, ZaloMalformedUpdate
from bot.channels.zalo_inbound import Photos, to_incoming
from bot.channels.zalo_update import ZaloUpdate
from bot.core import clock
from bot.core.i18n import _, language
from bot.core.redact import protect
from bot.core.settings import Settings
from handlers.types import Incoming, Reply, Respond

log = logging.getLogger(__name__)

CHANNEL = state.CHANNEL
SECRET_HEADER = "X-Bot-Api-Secret-Token"
#: Long-poll length in seconds. Zalo takes no acknowledgement: an update it hands to a poll
#: whose process has died (kill -9, a power cut) is lost. A short poll bounds that loss to the
#: messages sent within a few seconds of a crash, about what a restart takes (the webhook,
#: which Zalo advises for production, loses nothing). A poll in flight is finished on stop.
POLL_TIMEOUT = 3
#: Pause after an empty poll, an error or an update seen before: while updates are pending Zalo
#: answers at once (~12 requests/s) and may hand out the same one again. After a new update
#: the next poll goes at once, or 30 people writing together would wait 30 s for answers.
POLL_INTERVAL = 1.0
RECENT_UPDATES = 1000  # message ids the poll loop remembers, to tell a new update from a replay
BACKOFF_MAX = 60.0
#: Zalo publishes no rate. Pushes go gently (bot/channels/pacer.py, ZALO_RATE); replies, a
#: message or two per person who wrote, may go faster: 30 people writing at once are all
#: answered within about a second.
REPLY_RATE = 30.0


class ZaloRunner:
    """The Zalo channel for `thidua run` (the `Runner` protocol of bot/channels/base.py)."""

    name = CHANNEL

    def __init__(
        self,
        settings: Settings,
        respond: Respond,
        *,
        poll_timeout: int = POLL_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        if settings.zalo_bot_token is None:
            raise ValueError("ZALO_BOT_TOKEN is not set")
        self._settings = settings
        self._client = ZaloClient(
            settings.zalo_bot_token.get_secret_value(), base_url=settings.zalo_base_url
        )
        self._poll_timeout = poll_timeout
        self._poll_interval = poll_interval
        configured = settings.zalo_webhook_secret
        # No secret configured: one derived from the token, the same in every process (we
        # register it ourselves).
        token = settings.zalo_bot_token.get_secret_value() if settings.zalo_bot_token else ""
        self._secret = configured.get_secret_value() if configured else webhook_secret(token)
        protect(self._secret)  # never in a log line
        self._recent: dict[str, None] = {}  # insertion-ordered: the poll loop's last ids
        self._apologised: set[str] = set()  # updates told of an outage, not yet journalled
        self._background: asyncio.Task[None] | None = None
        self._polling = False  # cleared to end the poll loop after the poll in flight
        self._stopping = asyncio.Event()
        self._photos = Photos(settings)
        outage = Outage(CHANNEL)
        self.replies = ReplyLane(
            CHANNEL,
            self.deliver,
            rate=REPLY_RATE,
            retry_for=dt.timedelta(minutes=settings.reply_retry_minutes),
            outage=outage,
        )
        self.inbox = Inbox(
            CHANNEL,
            respond,
            replies_queued=self.replies.hand,
            apologise=self._apologise,
            outage=outage,
        )

    def pushes_allowed(self) -> bool:
        """False while less than ZALO_PUSH_RESERVE of the month's quota is left: the rest is
        kept for replies to people (the delivery worker then sends replies only)."""
        quota = self._settings.zalo_monthly_quota
        if quota is None:
            return True
        left = quota - state.sent_this_month()
        return left > quota * self._settings.zalo_push_reserve

    # ------------------------------------------------------------------ lifecycle

    async def start(self, web_app: web.Application | None, *, poll: bool = True) -> None:
        """Webhook routes on `web_app` if ZALO_WEBHOOK_URL is set; else long polling, now if
        `poll` (several processes on one database: only the pushes leader polls, or two
        would take each other's updates; see `start_polling`)."""
        self.replies.start()
        self.inbox.start()
        url = self._settings.zalo_webhook_url
        if url:
            if web_app is None:
                raise RuntimeError("ZALO_WEBHOOK_URL is set but there is no web app to serve it")
            if not 8 <= len(self._secret) <= 256:
                raise ValueError("ZALO_WEBHOOK_SECRET must be 8 to 256 characters")
            path = urlsplit(url).path or "/"
            web_app.router.add_post(path, self._on_webhook)
            self._background = asyncio.create_task(self._register_webhook(url), name="zalo-hook")
            log.info("zalo: receiving by webhook on path %s", path)
        elif poll:
            await self.start_polling()
        else:
            log.info("zalo: polling is another process's; answering what it journals")

    async def start_polling(self) -> None:
        """Long-poll from now on (nothing by webhook, or already)."""
        if self._settings.zalo_webhook_url or self._background is not None:
            return
        if self._stopping.is_set():
            return
        self._polling = True
        self._background = asyncio.create_task(self._poll_loop(), name="zalo-poll")
        log.info("zalo: receiving by long polling")

    async def stop_polling(self) -> None:
        """Stop long-polling (another process polls now), after the poll in flight: Zalo takes
        no acknowledgement, so an update it handed us must be journalled first."""
        if self._settings.zalo_webhook_url or self._background is None:
            return
        self._polling = False
        background, self._background = self._background, None
        with contextlib.suppress(TimeoutError):  # then wait_for cancelled it
            await asyncio.wait_for(background, self._poll_timeout + 15.0)
        log.info("zalo: polling stopped")

    async def start_sending(self) -> None:
        """Nothing to open: the client connects on its first call."""

    async def stop_sending(self) -> None:
        await self._client.aclose()

    async def stop(self) -> None:
        """Finish the poll in flight (its update is journalled), the turns and the replies
        under way, then close. What is left waits in the store."""
        self._stopping.set()
        if self._background is not None:
            grace = self._poll_timeout + 15.0
            try:
                await asyncio.wait_for(asyncio.shield(self._background), grace)
            except TimeoutError:
                self._background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._background
            except Exception:
                log.exception("zalo: the receiving loop had failed")
        await self.inbox.stop()
        await self.replies.stop()
        await self._client.aclose()
        await self._photos.aclose()
        log.info("zalo: stopped")

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when stopping."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[object]]) -> bool:
        """Await `call()` until it succeeds (backing off) or we stop; True on success."""
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                await call()
                return True
            except ZaloError as exc:
                # A refusal (bad token, bad URL) needs a person; a hiccup only patience.
                level = logging.WARNING if exc.is_transient else logging.ERROR
                log.log(level, "zalo: %s failed (%s); retrying in %.0f s", what, exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        return False

    # ------------------------------------------------------------------ receiving

    async def _register_webhook(self, url: str) -> None:
        if await self._retrying("setWebhook", lambda: self._client.set_webhook(url, self._secret)):
            log.info("zalo: webhook registered")

    async def _poll_loop(self) -> None:
        # getUpdates does not work while a webhook is set.
        if not await self._retrying("deleteWebhook", self._client.delete_webhook):
            return
        backoff = 0.0
        while not self._stopping.is_set() and self._polling:
            try:
                update = await self._client.get_updates(timeout=self._poll_timeout)
            except ZaloMalformedUpdate as exc:
                log.warning("zalo: skipped a malformed update (%s)", exc.description)
                update = None
            except ZaloError as exc:
                backoff = min(max(backoff * 2, 1.0), BACKOFF_MAX)
                level = logging.WARNING if exc.is_transient else logging.ERROR
                log.log(level, "zalo: getUpdates failed (%s); next poll in %.0f s", exc, backoff)
                await self._sleep(backoff)
                continue
            except Exception:  # a bug must not end receiving for good
                backoff = min(max(backoff * 2, 1.0), BACKOFF_MAX)
                log.exception("zalo: polling failed; next poll in %.0f s", backoff)
                await self._sleep(backoff)
                continue
            backoff = 0.0
            if update is not None and update.message_id not in self._recent:
                await self._journal_until_stored(update)
                self._recent[update.message_id] = None
                if len(self._recent) > RECENT_UPDATES:
                    del self._recent[next(iter(self._recent))]  # the oldest
                continue  # more may be waiting: ask at once
            await self._sleep(self._poll_interval)

    async def _journal_until_stored(self, update: ZaloUpdate) -> None:
        """Zalo takes no acknowledgement: a polled update lives only here until journalled,
        so a store outage is waited out (no poll meanwhile, nothing dropped)."""
        delay = 1.0
        while not await self._receive(update) and not self._stopping.is_set():
            await self._sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _on_webhook(self, request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret.encode()):
            log.warning("zalo webhook: refused a request without the right secret token")
            return web.json_response({"ok": False}, status=401)
        if self._stopping.is_set():
            return web.json_response({"ok": False}, status=503)  # Zalo may deliver it again
        try:
            update = ZaloUpdate.from_json(await request.json())
        except ValueError as exc:  # bad JSON, bad encoding, or not an update
            log.warning("zalo webhook: malformed body refused (%s)", exc)
            return web.json_response({"ok": False}, status=400)
        if not await self._receive(update):
            return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True})

    async def _receive(self, update: ZaloUpdate) -> bool:
        """Journal one update (True), or say the store failed (False)."""
        if update.chat_type != "PRIVATE":  # groups are "coming soon"; we serve private chats
            log.info("zalo: ignored a %s chat update", update.chat_type)
            return True
        incoming = await to_incoming(update, self._photos) or Incoming(
            # what we cannot read (a sticker, a voice note): the router says what we can
            channel=CHANNEL,
            chat_id=update.chat_id,
            user_id=update.user_id,
            display_name=update.display_name or "",
        )
        try:
            await self.inbox.receive(update.message_id, incoming)
        except Exception as exc:
            self.inbox.outage.failed(exc)
            if update.message_id not in self._apologised:
                self._apologised.add(update.message_id)
                await self._apologise(update.chat_id)
            return False
        self.inbox.outage.ok()
        self._apologised.discard(update.message_id)
        return True

    async def _apologise(self, chat_id: str) -> None:
        """The store is down: say so at once, directly (the message is kept)."""
        with language(None):
            text = _(
                "Sorry, I cannot answer right now: the bot's database is unavailable. Your "
                "message is kept and will be answered as soon as it is back."
            )
        try:
            await self._client.send_message(chat_id, text)
        except ZaloError as exc:
            log.warning("zalo: could not send the outage apology (%s)", exc)

    # ------------------------------------------------------------------ sending

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send one reply from the outbox (split at 2,000 characters); a `SendError` on
        failure, for the reply lane to retry."""
        lang = None
        if reply.document is not None or reply.image is not None:
            lang = await asyncio.to_thread(state.language_of_chat, chat_id)
        with language(lang):
            text = render(reply)
        for piece in split_text(text, MAX_TEXT_LENGTH):
            await self._send_piece(chat_id, piece)

    async def send(self, chat_id: str, text: str) -> None:
        """Send a push (split at 2,000 characters); raise a `SendError` on failure.

        `Paused(until)` while the quota pause lasts or on a 429 (which starts one),
        `Transient` for 5xx, network and Zalo's "403 internal", `Unreachable` for a 400/404
        (the chat's identity is then marked not reachable).
        """
        for piece in split_text(text, MAX_TEXT_LENGTH):
            await self._send_piece(chat_id, piece)

    async def _send_piece(self, chat_id: str, text: str) -> None:
        until = await asyncio.to_thread(state.paused_until)
        if until is not None:
            raise Paused(until)
        try:
            await self._client.send_message(chat_id, text)
        except ZaloError as exc:
            failure = exc
        else:
            if await asyncio.to_thread(state.count_sent):
                log.info("zalo: sending resumed after the quota pause")
            return
        raise await self._send_error(chat_id, failure)

    async def _send_error(self, chat_id: str, exc: ZaloError) -> SendError:
        """What a failed send means for the caller (and the pause/identity it implies)."""
        if exc.is_quota:
            until = state.next_local_midnight(clock.now())
            await asyncio.to_thread(state.pause, until)
            return Paused(until, f"zalo quota used up: {exc.description}")
        if exc.is_transient:
            return Transient(f"zalo: {exc}")
        if exc.is_auth:
            log.error("zalo: the bot token was refused (401); check ZALO_BOT_TOKEN")
            return Transient(f"zalo: {exc}")
        if exc.code in (400, 404) or exc.http_status in (400, 404):
            reason = f"zalo {exc.code}: {exc.description}"
            await asyncio.to_thread(state.mark_unreachable, chat_id, reason)
            return Unreachable(reason)
        return Transient(f"zalo: {exc}")


def render(reply: Reply) -> str:
    """A reply as Zalo text: numbered options as on the console; files cannot be sent."""
    text = render_reply(dataclasses.replace(reply, document=None, image=None))
    notes = []
    if reply.document is not None:
        notes.append(
            _(
                "The file {name} cannot be sent on Zalo. It is available on Telegram or from "
                "the office."
            ).format(name=reply.document.filename)
        )
    if reply.image is not None:
        notes.append(
            _(
                "The picture {name} cannot be shown on Zalo. It is available on Telegram or "
                "from the office."
            ).format(name=reply.image.filename)
        )
    return "\n\n".join([text, *notes]) if notes else text

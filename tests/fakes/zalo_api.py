"""Fake Zalo Bot API server (aiohttp) for offline tests.

Mimics what /work/shared/ZALO_BOT_API.md says about the Bot Platform: ``/bot{token}/{method}``
routes, case-sensitive methods, one update per ``getUpdates`` (no offset), HTTP 408 on an empty
poll, webhook delivery with ``X-Bot-Api-Secret-Token``, 2000-character text limit, 429 on quota.

Usage::

    async with FakeZalo() as zl:
        client = ZaloClient(zl.token, base_url=zl.root)
        await zl.send_text("6ede9afa66b88fe6d6a9", "Xin chào")
        update = await client.get_updates(timeout=1)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout, web

MAX_TEXT = 2000
BASIC_MONTHLY_QUOTA = 3000
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SEND_METHODS = {"sendMessage", "sendPhoto", "sendSticker"}


@dataclass(frozen=True)
class Call:
    """One API call as the fake received it (the token is never recorded)."""

    method: str
    params: dict[str, Any]
    time: float


@dataclass(frozen=True)
class Sent:
    """One message the bot sent. ``text`` is the caption for photos, ``None`` for stickers."""

    chat_id: str
    text: str | None
    time: float
    message_id: str
    kind: str = "text"  # text | photo | sticker
    photo: str | None = None
    sticker: str | None = None


@dataclass
class WebhookDelivery:
    update: dict[str, Any]
    status: int | None  # None when the POST failed
    error: str | None = None


@dataclass
class _Fault:
    status: int
    body: dict[str, Any] | str | None
    remaining: int


@dataclass
class _State:
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    consumed: list[dict[str, Any]] = field(default_factory=list)
    redelivered: set[str] = field(default_factory=set)
    malformed: int = 0


def _envelope_error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


def _ok(result: Any = None, *, with_result: bool = True) -> web.Response:
    body: dict[str, Any] = {"ok": True}
    if with_result:
        body["result"] = result
    return web.json_response(body)


def _now_ms() -> int:
    return int(time.time() * 1000)


class FakeZalo:
    """In-process fake of ``https://bot-api.zaloplatforms.com``.

    Options:
      token: the valid bot token (random ``<digits>:<hex>`` by default).
      redeliver: hand every consumed update out once more (measured quirk: dedupe by
        ``message_id``). With a webhook set, each update is POSTed twice instead.
      envelope: webhook body is ``{"ok": true, "result": update}`` instead of the bare update.
      monthly_quota: answer 429 to sends once this many messages went out this month.
      known_chats_only: reject sends to chat ids that never wrote to the bot (400).
      allow_http_loopback: accept ``http://127.0.0.1|localhost`` webhook URLs (tests cannot
        serve HTTPS easily); any other URL must be ``https://``.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        redeliver: bool = False,
        envelope: bool = False,
        monthly_quota: int | None = None,
        known_chats_only: bool = False,
        allow_http_loopback: bool = True,
        bot_name: str = "Bot Thi Dua",
    ) -> None:
        self.token = token or f"{secrets.randbelow(10**12):012d}:{secrets.token_hex(16)}"
        self.bot_id = secrets.token_hex(10)
        self.bot_name = bot_name
        self.redeliver = redeliver
        self.envelope = envelope
        self.monthly_quota = monthly_quota
        self.known_chats_only = known_chats_only
        self.allow_http_loopback = allow_http_loopback
        self.quota_exhausted = False
        self.calls: list[Call] = []
        self.files_served: list[str] = []  # names of hosted files the bot fetched
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_updated_at: int | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.monthly_counter: Counter[str] = Counter()
        self._sent: list[Sent] = []
        self._known_chats: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._state = _State()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._cond: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._port: int | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def root(self) -> str:
        """Base URL to give the client, e.g. ``http://127.0.0.1:54321``."""
        if self._port is None:
            raise RuntimeError("FakeZalo is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        self._cond = asyncio.Condition()
        self._closing = False
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/files/{name}", self._serve_file)
        # access_log=None: the access log would contain the token-bearing path.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._session = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        self._closing = True
        if self._cond is not None:
            async with self._cond:
                self._cond.notify_all()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ accessors

    def sent(self, chat_id: str | None = None) -> list[Sent]:
        """Messages the bot sent (to ``chat_id``, or all), oldest first."""
        return [s for s in self._sent if chat_id is None or s.chat_id == chat_id]

    def sent_texts(self, chat_id: str | None = None) -> list[str | None]:
        return [s.text for s in self.sent(chat_id)]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_sent(self, chat_id: str, count: int = 1, timeout: float = 5) -> list[Sent]:
        """Wait until at least ``count`` messages went to ``chat_id``; return them."""
        assert self._cond is not None, "FakeZalo is not started"

        async def _wait() -> None:
            async with self._cond:
                await self._cond.wait_for(lambda: len(self.sent(chat_id)) >= count)

        try:
            await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            got = len(self.sent(chat_id))
            raise AssertionError(
                f"expected {count} message(s) to {chat_id} within {timeout}s, got {got}: "
                f"{self.sent_texts(chat_id)!r}"
            ) from None
        return self.sent(chat_id)

    def messages_this_month(self) -> int:
        return self.monthly_counter[self._month()]

    @staticmethod
    def _month() -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m")

    @property
    def pending_updates(self) -> int:
        return len(self._state.pending)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self, method: str, status: int, body: dict[str, Any] | str | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` and ``body``.

        ``body``: a dict (sent as JSON), a string (sent as an HTML page), or ``None`` for the
        Zalo envelope ``{"ok": false, "error_code": status, "description": ...}``.
        """
        self._faults.setdefault(method, deque()).append(_Fault(status, body, times))

    def malformed_next_update(self) -> None:
        """The next ``getUpdates`` answers ok with a result that is not a valid update."""
        self._state.malformed += 1

    # ------------------------------------------------------------------ hosted files

    def host_file(self, content: bytes, content_type: str = "image/jpeg") -> str:
        """Serve ``content`` like Zalo's CDN serves a user's photo; returns its URL."""
        name = secrets.token_hex(8)
        self._files[name] = (content, content_type)
        return f"{self.root}/files/{name}"

    async def _serve_file(self, request: web.Request) -> web.Response:
        self.files_served.append(request.match_info["name"])
        found = self._files.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    # ------------------------------------------------------------------ simulated users

    async def send_text(
        self, user_id: str, text: str, *, display_name: str = "Người dùng thử"
    ) -> dict[str, Any]:
        return await self._inbound("message.text.received", user_id, display_name, {"text": text})

    async def send_image(
        self,
        user_id: str,
        photo_url: str,
        caption: str | None = None,
        *,
        display_name: str = "Người dùng thử",
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {"photo_url": photo_url}
        if caption is not None:
            extra["caption"] = caption
        return await self._inbound("message.image.received", user_id, display_name, extra)

    async def send_sticker(
        self,
        user_id: str,
        sticker: str = "bfe458bf64fa8da4d4eb",
        *,
        display_name: str = "Người dùng thử",
    ) -> dict[str, Any]:
        extra = {
            "sticker": sticker,
            "url": f"https://zalo-api.zadn.vn/api/emoticon/sticker/{sticker}",
        }
        return await self._inbound("message.sticker.received", user_id, display_name, extra)

    async def send_unsupported(
        self, user_id: str, *, display_name: str = "Người dùng thử"
    ) -> dict[str, Any]:
        return await self._inbound("message.unsupported.received", user_id, display_name, {})

    async def push_update(self, update: dict[str, Any]) -> None:
        """Queue (or POST to the webhook) an arbitrary update, e.g. a hand-made odd one."""
        await self._dispatch(update)

    async def _inbound(
        self, event_name: str, user_id: str, display_name: str, extra: dict[str, Any]
    ) -> dict[str, Any]:
        self._known_chats.add(user_id)
        update = {
            "event_name": event_name,
            "message": {
                "from": {"id": user_id, "display_name": display_name, "is_bot": False},
                "chat": {"id": user_id, "chat_type": "PRIVATE"},
                "message_id": secrets.token_hex(10),
                "date": _now_ms(),
                **extra,
            },
        }
        await self._dispatch(update)
        return update

    async def _dispatch(self, update: dict[str, Any]) -> None:
        assert self._cond is not None, "FakeZalo is not started"
        if self.webhook_url:
            await self._post_webhook(update)
            if self.redeliver:
                await self._post_webhook(update)
            return
        async with self._cond:
            self._state.pending.append(update)
            self._cond.notify_all()

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        assert self._session is not None and self.webhook_url and self.webhook_secret
        body = {"ok": True, "result": update} if self.envelope else update
        headers = {"X-Bot-Api-Secret-Token": self.webhook_secret}
        try:
            async with self._session.post(self.webhook_url, json=body, headers=headers) as resp:
                await resp.read()
                self.webhook_deliveries.append(WebhookDelivery(update, resp.status))
        except Exception as exc:  # a dead bot endpoint is an observable outcome, not a crash
            self.webhook_deliveries.append(WebhookDelivery(update, None, repr(exc)))

    # ------------------------------------------------------------------ HTTP side

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        data = None
                    if not isinstance(data, dict):
                        raise ValueError("body is not a JSON object")
                    params.update(data)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                params.update({k: v for k, v in (await request.post()).items()})
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _envelope_error(401, "Unauthorized")
        method = request.match_info["method"]
        handler = self._methods().get(method)
        if handler is None:
            return _envelope_error(404, "Not Found")
        try:
            params = await self._params(request)
        except ValueError:
            return _envelope_error(400, "Bad Request")
        self.calls.append(Call(method, params, time.time()))
        faults = self._faults.get(method)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.popleft()
            return self._fault_response(fault)
        if method in _SEND_METHODS and self._over_quota():
            return _envelope_error(429, "Quota exceeded")
        return await handler(params)

    @staticmethod
    def _fault_response(fault: _Fault) -> web.Response:
        if fault.body is None:
            return _envelope_error(fault.status, f"Injected error {fault.status}")
        if isinstance(fault.body, str):
            return web.Response(status=fault.status, text=fault.body, content_type="text/html")
        return web.json_response(fault.body, status=fault.status)

    def _over_quota(self) -> bool:
        if self.quota_exhausted:
            return True
        return self.monthly_quota is not None and self.messages_this_month() >= self.monthly_quota

    def _methods(self) -> dict[str, Any]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    async def _get_me(self, params: dict[str, Any]) -> web.Response:
        return _ok(
            {
                "id": self.bot_id,
                "account_name": self.bot_name,
                "account_type": "BASIC",
                "can_join_groups": False,
            }
        )

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return _envelope_error(400, "Webhook is set; getUpdates is not available")
        try:
            wait = float(params.get("timeout", 30))
        except (TypeError, ValueError):
            return _envelope_error(400, "Bad Request")
        state = self._state
        if state.malformed:
            state.malformed -= 1
            return _ok({"event_name": "message.text.received", "message": {"text": "?"}})
        assert self._cond is not None
        async with self._cond:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._cond.wait_for(lambda: bool(state.pending) or self._closing),
                    max(wait, 0),
                )
            if not state.pending:
                return _envelope_error(408, "Request timeout")
            update = state.pending.popleft()
            message_id = update.get("message", {}).get("message_id", "")
            if self.redeliver and message_id not in state.redelivered:
                state.redelivered.add(message_id)
                state.pending.appendleft(update)
            state.consumed.append(update)
        return _ok(update)

    async def _set_webhook(self, params: dict[str, Any]) -> web.Response:
        url = params.get("url")
        secret = params.get("secret_token")
        if not isinstance(url, str) or not self._webhook_url_ok(url):
            return _envelope_error(400, "Bad Request: invalid url")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return _envelope_error(400, "Bad Request: invalid secret_token")
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = _now_ms()
        return _ok({"url": url, "updated_at": self.webhook_updated_at})

    def _webhook_url_ok(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        if parts.scheme == "https":
            return True
        return parts.scheme == "http" and self.allow_http_loopback and parts.hostname in _LOOPBACK

    async def _delete_webhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = self.webhook_secret = None
        self.webhook_updated_at = _now_ms()
        return _ok({"url": "", "updated_at": self.webhook_updated_at})

    async def _get_webhook_info(self, params: dict[str, Any]) -> web.Response:
        if not self.webhook_url:
            return _envelope_error(404, "Not Found")
        return _ok({"url": self.webhook_url, "updated_at": self.webhook_updated_at})

    def _check_chat(self, params: dict[str, Any]) -> str | None:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str | int) or isinstance(chat_id, bool) or chat_id == "":
            return None
        chat_id = str(chat_id)
        if self.known_chats_only and chat_id not in self._known_chats:
            return None
        return chat_id

    async def _record(self, chat_id: str, **kwargs: Any) -> web.Response:
        message_id = secrets.token_hex(10)
        now = time.time()
        assert self._cond is not None
        async with self._cond:
            self._sent.append(Sent(chat_id=chat_id, time=now, message_id=message_id, **kwargs))
            self.monthly_counter[self._month()] += 1
            self._cond.notify_all()
        return _ok({"message_id": message_id, "date": int(now * 1000)})

    async def _send_message(self, params: dict[str, Any]) -> web.Response:
        chat_id = self._check_chat(params)
        text = params.get("text")
        if chat_id is None or not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            return _envelope_error(400, "Bad Request")
        return await self._record(chat_id, text=text)

    async def _send_photo(self, params: dict[str, Any]) -> web.Response:
        chat_id = self._check_chat(params)
        photo = params.get("photo")
        caption = params.get("caption")
        if chat_id is None or not isinstance(photo, str) or not photo:
            return _envelope_error(400, "Bad Request")
        if caption is not None and (
            not isinstance(caption, str) or not 1 <= len(caption) <= MAX_TEXT
        ):
            return _envelope_error(400, "Bad Request")
        return await self._record(chat_id, text=caption, kind="photo", photo=photo)

    async def _send_sticker(self, params: dict[str, Any]) -> web.Response:
        chat_id = self._check_chat(params)
        sticker = params.get("sticker")
        if chat_id is None or not isinstance(sticker, str) or not sticker:
            return _envelope_error(400, "Bad Request")
        return await self._record(chat_id, text=None, kind="sticker", sticker=sticker)

    async def _send_chat_action(self, params: dict[str, Any]) -> web.Response:
        chat_id = self._check_chat(params)
        action = params.get("action")
        if chat_id is None or action != "typing":
            return _envelope_error(400, "Bad Request")
        self.chat_actions.append((chat_id, action))
        return _ok(with_result=False)

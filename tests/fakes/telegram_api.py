"""A fake Telegram Bot API server for offline tests.

python-telegram-bot talks to it unmodified::

    async with FakeTelegram() as tg:
        app = (
            Application.builder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )

Tests play the users through a Python API (``tg.user(...)``, ``tg.send_text``, ``tg.press``)
and assert on what the bot did (``tg.sent``, ``tg.calls``, ``tg.edits``, ``tg.callback_answers``).
The server follows the Bot API's shapes and error texts where they matter to a client: ``ok`` /
``result`` envelopes, ``error_code`` + ``description`` (+ ``parameters.retry_after``) errors,
dates in seconds, ``getUpdates`` long polling where only an ``offset`` confirms updates, 409 while
a webhook is set, HTML entity validation, inline keyboard validation, "message is not modified".

Everything runs on the event loop of the test; the server is not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import mimetypes
import re
import socket
import struct
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlparse

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, web

JSON = dict[str, Any]

DEFAULT_TOKEN = "123456789:AAF-thidua-offline-test-token_0123456789"
TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,100}$")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_UPLOAD = 50 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status, ``description`` and optional ``parameters``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return _json_response(body, status=self.status)


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


def _utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


# --------------------------------------------------------------------------------------------
# Formatted text: HTML parsing with Telegram's error texts (after tdlib); the bot sends HTML.
# --------------------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_PLAIN_RUN = re.compile(r"[^<&]+")
_TAG_NAME = re.compile(r"[A-Za-z0-9-]*")


def _entity_error(message: str) -> ApiError:
    return _bad(f"can't parse entities: {message}")


def _decode_html_entity(text: str, i: int) -> tuple[str | None, int]:
    """Decode ``&name;`` at ``text[i]``; Telegram knows only lt, gt, amp, quot and numbers."""
    end = text.find(";", i + 1, i + 12)
    if end == -1:
        return None, i
    name = text[i + 1 : end]
    if name in _HTML_NAMED:
        return _HTML_NAMED[name], end + 1
    if name.startswith("#") and len(name) > 1:
        digits, base = (name[2:], 16) if name[1] in "xX" else (name[1:], 10)
        try:
            code = int(digits, base)
        except ValueError:
            return None, i
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return None, i


def _html_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse ``name="value"`` pairs up to the closing ``>``; returns them and the index after."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _entity_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            return attrs, i + 1
        name_end = _TAG_NAME.match(text, i).end()  # type: ignore[union-attr]
        name = text[i:name_end].lower()
        if not name:
            raise _entity_error(
                f'Empty attribute name in the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        i = name_end
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            raise _entity_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] in "\"'":
            close = text.find(text[i], i + 1)
            if close == -1:
                raise _entity_error(
                    f"Unclosed end of attribute value at byte offset {_byte_offset(text, begin)}"
                )
            raw, i = text[i + 1 : close], close + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            raw = text[start:i]
        attrs[name] = _unescape_html(raw)


def _unescape_html(raw: str) -> str:
    if "&" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "&":
            decoded, j = _decode_html_entity(raw, i)
            if decoded is not None:
                out.append(decoded)
                i = j
                continue
        out.append(raw[i])
        i += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Return the plain text and entities of Telegram-HTML ``text``, or raise 400 like Telegram."""
    out: list[str] = []
    pos = 0  # UTF-16 length of ``out``
    entities: list[JSON] = []
    stack: list[tuple[str, int, dict[str, str]]] = []  # tag, start, attributes
    i, n = 0, len(text)
    while i < n:
        run = _HTML_PLAIN_RUN.match(text, i)
        if run:
            chunk = run.group()
            out.append(chunk)
            pos += _utf16_len(chunk)
            i = run.end()
            continue
        if text[i] == "&":
            decoded, j = _decode_html_entity(text, i)
            chunk, i = (decoded, j) if decoded is not None else ("&", i + 1)
            out.append(chunk)
            pos += _utf16_len(chunk)
            continue
        begin = i  # text[i] == "<"
        if i + 1 < n and text[i + 1] == "/":
            name_end = _TAG_NAME.match(text, i + 2).end()  # type: ignore[union-attr]
            name = text[i + 2 : name_end].lower()
            i = name_end
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise _entity_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            if not stack:
                raise _entity_error(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            tag, start, attrs = stack.pop()
            if name != tag:
                raise _entity_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            _close_html_entity(entities, stack, tag, start, pos, attrs)
            continue
        name_end = _TAG_NAME.match(text, i + 1).end()  # type: ignore[union-attr]
        tag = text[i + 1 : name_end].lower()
        if tag not in _HTML_TAGS:
            raise _entity_error(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs, i = _html_attributes(text, name_end, tag, begin)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _entity_error('Tag "span" must have class "tg-spoiler"')
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise _entity_error("Custom emoji entity must contain a tag emoji-id")
        stack.append((tag, pos, attrs))
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_html_entity(
    entities: list[JSON],
    stack: list[tuple[str, int, dict[str, str]]],
    tag: str,
    start: int,
    end: int,
    attrs: dict[str, str],
) -> None:
    if end <= start:
        return
    entity: JSON = {"type": _HTML_TAGS[tag], "offset": start, "length": end - start}
    if tag == "a":
        if not attrs.get("href"):
            return
        entity["url"] = attrs["href"]
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "code" and attrs.get("class", "").startswith("language-") and stack:
        # <pre><code class="language-x"> is one pre entity with a language.
        if stack[-1][0] == "pre" and stack[-1][1] == start:
            stack[-1][2]["language"] = attrs["class"].removeprefix("language-")
            return
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    entities.append(entity)


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Plain text and entities of ``text`` sent with ``parse_mode`` (None: text as is)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return parse_html(text)
    raise _bad("unsupported parse_mode")


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips surrounding whitespace from texts and captions; shift entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str | None
    data: bytes = field(repr=False)


class Params:
    """Request parameters from query, JSON, form or multipart, with Bot API type coercion.

    Form and multipart values are strings (PTB sends JSON-encoded objects as strings); JSON
    bodies carry native values. The getters accept both.
    """

    def __init__(self, data: dict[str, Any], files: dict[str, Upload]) -> None:
        self.data = data
        self.files = files

    def get_str(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.data.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise _bad("can't parse reply keyboard markup JSON object") from None
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    def get_file(self, name: str) -> Upload | str | None:
        """An uploaded file, or a file_id / URL string, as Telegram's InputFile rules allow."""
        if name in self.files:
            return self.files[name]
        value = self.get_str(name)
        if value and value.startswith("attach://"):
            upload = self.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(f"file {value} not found")
            return upload
        return value or None


# --------------------------------------------------------------------------------------------
# Simulated people and chats
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class SimChat:
    """A group or supergroup the simulated users write in."""

    id: int
    title: str
    type: str = "group"
    username: str | None = None

    def to_dict(self) -> JSON:
        chat: JSON = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass(eq=False)
class SimUser:
    """A simulated Telegram user; its private chat with the bot has ``chat.id == user.id``."""

    tg: FakeTelegram = field(repr=False)
    id: int
    first_name: str
    language_code: str | None = "vi"
    username: str | None = None
    last_name: str | None = None

    def to_dict(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user

    def chat_dict(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    async def send_text(self, text: str, **kwargs: Any) -> JSON:
        return await self.tg.send_text(self, text, **kwargs)

    async def send_photo(self, data: bytes, caption: str | None = None, **kwargs: Any) -> JSON:
        return await self.tg.send_photo(self, data, caption, **kwargs)

    async def send_document(self, data: bytes, filename: str, **kwargs: Any) -> JSON:
        return await self.tg.send_document(self, data, filename, **kwargs)

    async def press(self, message: JSON | int, data: str, **kwargs: Any) -> JSON:
        return await self.tg.press(self, message, data, **kwargs)

    def sent(self, token: str | None = None) -> list[JSON]:
        """What the bot sent to this user's private chat."""
        return self.tg.sent(self.id, token=token)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.data or b"")


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    body: str | None
    times: int


class _BotState:
    """Everything Telegram keeps per bot token."""

    def __init__(self, token: str, username: str, first_name: str) -> None:
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.pending: deque[JSON] = deque()  # delivered or not, until an offset confirms them
        self.update_ids = itertools.count(1)
        self.pollers: list[asyncio.Future[str]] = []
        self.update_event: asyncio.Event | None = None  # wakes the webhook worker
        self.webhook: JSON | None = None
        self.webhook_task: asyncio.Task[None] | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.message_ids: dict[int, itertools.count[int]] = {}
        self.messages: dict[tuple[int, int], JSON] = {}  # current state, both directions
        self.sent: defaultdict[int, list[JSON]] = defaultdict(list)
        self.send_times: defaultdict[int, list[float]] = defaultdict(list)
        self.global_window: deque[float] = deque()
        self.chat_windows: defaultdict[int, deque[float]] = defaultdict(deque)
        self.blocked: set[int] = set()
        self.open_queries: dict[str, JSON] = {}

    def user_dict(self) -> JSON:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def next_message_id(self, chat_id: int) -> int:
        # Inbound and outbound messages of a chat share one sequence, as in a private chat.
        counter = self.message_ids.get(chat_id)
        if counter is None:
            counter = self.message_ids[chat_id] = itertools.count(1)
        return next(counter)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegram:
    """The fake Bot API server plus the Python API tests use to play users and inspect output."""

    def __init__(
        self,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        *,
        bot_username: str = "thidua_test_bot",
        bot_first_name: str = "Thi đua (test)",
        rate_limit_per_s: float | None = None,
        chat_rate_limit_per_s: float | None = None,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        self._bots: dict[str, _BotState] = {}
        self._changed: asyncio.Event | None = None
        self.rate_limit_per_s = rate_limit_per_s
        self.chat_rate_limit_per_s = chat_rate_limit_per_s
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay

        self.calls: list[JSON] = []
        self.edits: list[JSON] = []
        self.callback_answers: list[JSON] = []
        self.deleted: list[JSON] = []
        self.chat_actions: list[JSON] = []
        self.webhook_deliveries: list[JSON] = []

        self._users: dict[int, SimUser] = {}
        self._groups: dict[int, SimChat] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(4_611_686_018_427_387_904)
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._port = 0
        self._methods: dict[str, tuple[str, Callable[[_BotState, Params], Any]]] = {
            name.lower(): (name, getattr(self, f"_m_{name}"))
            for name in (
                "getMe",
                "logOut",
                "close",
                "getUpdates",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "sendMessage",
                "sendDocument",
                "sendPhoto",
                "sendChatAction",
                "editMessageText",
                "editMessageCaption",
                "editMessageReplyMarkup",
                "deleteMessage",
                "answerCallbackQuery",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "getFile",
            )
        }

        base = bot_username.removesuffix("_bot")
        for index, token in enumerate(tokens):
            name = bot_username if index == 0 else f"{base}{index}_bot"
            self.add_bot(token, username=name, first_name=bot_first_name)
        if not self._bots:
            raise ValueError("FakeTelegram needs at least one bot token")

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1 at a free port."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._changed = asyncio.Event()
        for bot in self._bots.values():
            bot.update_event = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._session = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        """Stop serving; pending long polls answer with no updates."""
        self._closing = True
        for bot in self._bots.values():
            self._wake_pollers(bot, "closed")
            if bot.webhook_task:
                bot.webhook_task.cancel()
                await asyncio.gather(bot.webhook_task, return_exceptions=True)
                bot.webhook_task = None
        if self._session:
            await self._session.close()
            self._session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder.base_url`` / ``Bot(base_url=...)``."""
        return f"{self.root}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.root}/file/bot"

    @property
    def token(self) -> str:
        """The first (default) bot token."""
        return next(iter(self._bots))

    def add_bot(self, token: str, *, username: str, first_name: str = "Thi đua (test)") -> str:
        if not TOKEN_RE.match(token):
            raise ValueError(f"malformed bot token {token!r}; expected digits:chars")
        self._bots[token] = _BotState(token, username, first_name)
        if self._changed is not None:
            self._bots[token].update_event = asyncio.Event()
        return token

    def _bot(self, token: str | None) -> _BotState:
        return self._bots[token or self.token]

    # ---- HTTP plumbing ----------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        bot = self._bots.get(token)
        if bot is None:
            return ApiError(401, "Unauthorized").response()
        record: JSON = {
            "method": request.match_info["method"],
            "params": {},
            "token": token,
            "time": time.monotonic(),
            "status": 200,
        }
        self.calls.append(record)
        self._notify()  # a waiter may be watching for this call to arrive
        try:
            entry = self._methods.get(record["method"].lower())
            if entry is None:
                raise ApiError(404, "Not Found")
            record["method"], handler = entry
            params = await self._read_params(request)
            record["params"] = params.data if not params.files else {**params.data, **params.files}
            fault = self._take_fault(record["method"])
            if fault is not None:
                record["status"] = fault.status
                return fault
            result = await handler(bot, params)
        except ApiError as error:
            record["status"] = error.status
            return error.response()
        finally:
            self._notify()
        body: JSON = {"ok": True, "result": result}
        if isinstance(result, _Described):
            body = {"ok": True, "result": result.result, "description": result.description}
        return _json_response(body)

    async def _read_params(self, request: web.Request) -> Params:
        data: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.method != "POST" or not request.body_exists:
            return Params(data, files)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("parameters must be a JSON object")
            data.update(body)
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    content = bytes(await part.read())
                    files[part.name] = Upload(
                        part.filename, part.headers.get("Content-Type"), content
                    )
                else:
                    data[part.name] = await part.text()
        else:
            data.update(await request.post())
        return Params(data, files)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] not in self._bots:
            return ApiError(401, "Unauthorized").response()
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None or stored.data is None:
            return ApiError(404, "Not Found").response()
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _take_fault(self, method: str) -> web.Response | None:
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if not queue:
                continue
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            if fault.body is not None:
                return web.Response(status=fault.status, text=fault.body, content_type="text/html")
            params = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return ApiError(fault.status, fault.description, params).response()
        return None

    def _notify(self) -> None:
        """Wake ``wait_for`` callers: something the bot did may now satisfy their predicate."""
        if self._changed is not None:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    # ---- updates ------------------------------------------------------------------------

    def _enqueue(self, bot: _BotState, body: JSON) -> JSON:
        # One event loop thread and an itertools counter: ids are unique and increasing
        # however many coroutines enqueue at once.
        update = {"update_id": next(bot.update_ids), **body}
        bot.pending.append(update)
        self._wake_pollers(bot, "update")
        if bot.update_event is not None:
            bot.update_event.set()
        return update

    @staticmethod
    def _wake_pollers(bot: _BotState, reason: str) -> None:
        for future in bot.pollers:
            if not future.done():
                future.set_result(reason)
        bot.pollers.clear()

    async def _m_getUpdates(self, bot: _BotState, p: Params) -> list[JSON]:
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get_int("offset", 0) or 0
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        timeout = min(max(p.get_int("timeout", 0) or 0, 0), 50)
        # A newer getUpdates ends an older one still waiting, as on Telegram.
        self._wake_pollers(bot, "conflict")
        if offset > 0:
            while bot.pending and bot.pending[0]["update_id"] < offset:
                bot.pending.popleft()
        elif offset < 0:
            while len(bot.pending) > -offset:
                bot.pending.popleft()
        if not bot.pending and timeout and not self._closing:
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            bot.pollers.append(future)
            try:
                reason = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                reason = "timeout"
            if reason == "conflict" and bot.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if reason == "conflict":
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        return list(itertools.islice(bot.pending, limit))

    async def enqueue(self, update: JSON, *, token: str | None = None) -> JSON:
        """Enqueue a raw update body (without ``update_id``); returns the full update."""
        return self._enqueue(self._bot(token), dict(update))

    def polling(self, *, token: str | None = None) -> bool:
        """Is a getUpdates long poll waiting (an update sent now is handed to it)?"""
        return any(not future.done() for future in self._bot(token).pollers)

    def pending_updates(self, *, token: str | None = None) -> list[JSON]:
        """Updates not yet confirmed by an offset (or not yet accepted by the webhook)."""
        return list(self._bot(token).pending)

    # ---- webhooks -----------------------------------------------------------------------

    async def _m_setWebhook(self, bot: _BotState, p: Params) -> _Described:
        url = p.get_str("url") or ""
        if not url:
            return await self._m_deleteWebhook(bot, p)
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        if p.get_bool("drop_pending_updates"):
            bot.pending.clear()
        already = bot.webhook is not None and bot.webhook["url"] == url
        bot.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": p.get_json("allowed_updates"),
            "max_connections": p.get_int("max_connections", 40),
            "last_error_date": None,
            "last_error_message": None,
        }
        self._wake_pollers(bot, "conflict")
        if bot.webhook_task is None or bot.webhook_task.done():
            bot.webhook_task = asyncio.create_task(self._webhook_worker(bot))
        if bot.update_event is not None:
            bot.update_event.set()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    async def _m_deleteWebhook(self, bot: _BotState, p: Params) -> _Described:
        if p.get_bool("drop_pending_updates"):
            bot.pending.clear()
        had = bot.webhook is not None
        bot.webhook = None
        if bot.update_event is not None:
            bot.update_event.set()  # the worker sees no webhook and exits
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def _m_getWebhookInfo(self, bot: _BotState, p: Params) -> JSON:
        info: JSON = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.pending),
        }
        if bot.webhook is not None:
            hook = bot.webhook
            info.update(url=hook["url"], max_connections=hook["max_connections"])
            info["ip_address"] = "127.0.0.1"
            if hook["allowed_updates"] is not None:
                info["allowed_updates"] = hook["allowed_updates"]
            if hook["last_error_date"] is not None:
                info["last_error_date"] = hook["last_error_date"]
                info["last_error_message"] = hook["last_error_message"]
        return info

    async def _webhook_worker(self, bot: _BotState) -> None:
        """Deliver pending updates one at a time, in order, while a webhook is set."""
        assert bot.update_event is not None
        while bot.webhook is not None and not self._closing:
            if not bot.pending:
                bot.update_event.clear()
                await bot.update_event.wait()
                continue
            update = bot.pending[0]
            await self._deliver(bot, bot.webhook, update)
            if bot.pending and bot.pending[0] is update:
                bot.pending.popleft()

    async def _deliver(self, bot: _BotState, hook: JSON, update: JSON) -> bool:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt in range(self.webhook_attempts):
            if bot.webhook is not hook:
                return False
            record: JSON = {"token": bot.token, "url": hook["url"], "update": update}
            try:
                async with self._session.post(hook["url"], data=body, headers=headers) as resp:
                    await resp.read()
                    record["status"] = resp.status
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (TimeoutError, ClientError, OSError) as exc:
                record["status"] = None
                error = f"Connection error: {exc.__class__.__name__}"
            self.webhook_deliveries.append(record)
            self._notify()
            if record["status"] is not None and 200 <= record["status"] < 300:
                return True
            hook["last_error_date"] = int(time.time())
            hook["last_error_message"] = error
            if attempt + 1 < self.webhook_attempts:
                await asyncio.sleep(self.webhook_retry_delay * 2**attempt)
        return False

    # ---- chats, messages, limits --------------------------------------------------------

    def _chat_dict(self, chat_id: int) -> JSON:
        user = self._users.get(chat_id)
        return user.chat_dict() if user else self._groups[chat_id].to_dict()

    def _target_chat(self, bot: _BotState, p: Params) -> int:
        raw = p.data.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            found = [g.id for g in self._groups.values() if g.username == raw[1:]]
            if not found:
                raise _bad("chat not found")
            chat_id = found[0]
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
        if chat_id not in self._users and chat_id not in self._groups:
            raise _bad("chat not found")
        if chat_id in bot.blocked:
            if chat_id in self._users:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat_id

    def _check_rate(self, bot: _BotState, chat_id: int) -> None:
        """Sliding one-second windows, global and per chat; over the limit answers 429."""
        now = time.monotonic()
        checks = []
        if self.rate_limit_per_s:
            checks.append((bot.global_window, self.rate_limit_per_s))
        if self.chat_rate_limit_per_s:
            checks.append((bot.chat_windows[chat_id], self.chat_rate_limit_per_s))
        for window, limit in checks:
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                retry = max(1, math.ceil(window[0] + 1.0 - now))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                )
        for window, _ in checks:
            window.append(now)

    def _new_message(
        self, bot: _BotState, chat_id: int, sender: JSON, content: JSON, date: int | None = None
    ) -> JSON:
        message_id = bot.next_message_id(chat_id)
        message: JSON = {
            "message_id": message_id,
            "from": sender,
            "chat": self._chat_dict(chat_id),
            "date": date or int(time.time()),
            **{key: value for key, value in content.items() if value is not None},
        }
        bot.messages[(chat_id, message_id)] = message
        return message

    def _reply_to(self, bot: _BotState, chat_id: int, p: Params) -> JSON | None:
        target = p.get_int("reply_to_message_id")
        allow_missing = p.get_bool("allow_sending_without_reply")
        reply_parameters = p.get_json("reply_parameters")
        if isinstance(reply_parameters, dict):
            target = reply_parameters.get("message_id")
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
        if target is None:
            return None
        message = bot.messages.get((chat_id, int(target)))
        if message is None and not allow_missing:
            raise _bad("message to be replied not found")
        return message and {k: v for k, v in message.items() if k != "reply_to_message"}

    def _formatted(
        self, p: Params, key: str, entities_key: str, limit: int, too_long: str
    ) -> tuple[str | None, list[JSON]]:
        text = p.get_str(key)
        if text is None:
            return None, []
        explicit = p.get_json(entities_key)
        if explicit:
            plain, entities = text, list(explicit)
        else:
            plain, entities = parse_formatted(text, p.get_str("parse_mode"))
        plain, entities = _trim(plain, entities)
        if len(plain) > limit:
            raise _bad(too_long)
        return plain, entities

    def _record_send(
        self, bot: _BotState, method: str, chat_id: int, message: JSON, p: Params, **extra: Any
    ) -> None:
        record: JSON = {
            "method": method,
            "token": bot.token,
            "chat_id": chat_id,
            "message_id": message["message_id"],
            "text": None,
            "parse_mode": p.get_str("parse_mode"),
            "reply_markup": None,
            "document": None,
            "filename": None,
            "mime_type": None,
            "photo": None,
            "caption": None,
            "params": p.data,
            "message": dict(message),
            "date": message["date"],
            "time": time.monotonic(),
            **extra,
        }
        bot.sent[chat_id].append(record)
        bot.send_times[chat_id].append(record["time"])

    async def _m_sendMessage(self, bot: _BotState, p: Params) -> JSON:
        chat_id = self._target_chat(bot, p)
        raw = p.get_str("text")
        if not raw:
            raise _bad("message text is empty")
        plain, entities = self._formatted(p, "text", "entities", MAX_TEXT, "message is too long")
        if not plain:
            raise _bad("message text is empty")
        markup = _validate_markup(p.get_json("reply_markup"))
        reply_to = self._reply_to(bot, chat_id, p)
        self._check_rate(bot, chat_id)
        content = {
            "reply_to_message": reply_to,
            "text": plain,
            "entities": entities or None,
            "link_preview_options": p.get_json("link_preview_options"),
            "reply_markup": _inline_only(markup),
        }
        message = self._new_message(bot, chat_id, bot.user_dict(), content)
        self._record_send(
            bot, "sendMessage", chat_id, message, p, text=raw, reply_markup=markup,
            plain_text=plain, entities=entities,
        )  # fmt: skip
        return message

    async def _send_media(self, bot: _BotState, p: Params, kind: str) -> JSON:
        chat_id = self._target_chat(bot, p)
        source = p.get_file(kind)
        if source is None:
            raise _bad(f"there is no {kind} in the request")
        caption, caption_entities = self._formatted(
            p, "caption", "caption_entities", MAX_CAPTION, "message caption is too long"
        )
        markup = _validate_markup(p.get_json("reply_markup"))
        reply_to = self._reply_to(bot, chat_id, p)
        if isinstance(source, Upload):
            if not source.data:
                raise _bad("file must be non-empty")
            if kind == "photo" and _image_size(source.data) is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            stored = self._store_file(
                source.data, "photos" if kind == "photo" else "documents", source.filename,
                source.content_type,
            )  # fmt: skip
        elif source in self._files:
            stored = self._files[source]
        elif source.startswith(("http://", "https://")):
            name = urlparse(source).path.rpartition("/")[2] or "file"
            stored = self._store_file(None, f"{kind}s", name, None)
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        self._check_rate(bot, chat_id)
        media: Any = self._photo_sizes(stored) if kind == "photo" else _document_dict(stored)
        content = {
            "reply_to_message": reply_to,
            kind: media,
            "caption": caption or None,
            "caption_entities": caption_entities or None,
            "reply_markup": _inline_only(markup),
        }
        message = self._new_message(bot, chat_id, bot.user_dict(), content)
        extra: JSON = {kind: stored.data, "file_id": stored.file_id}
        if kind == "document":
            extra.update(filename=stored.file_name, mime_type=stored.mime_type)
        self._record_send(
            bot, f"send{kind.title()}", chat_id, message, p, caption=p.get_str("caption"),
            reply_markup=markup, source=source if isinstance(source, str) else None, **extra,
        )  # fmt: skip
        return message

    async def _m_sendDocument(self, bot: _BotState, p: Params) -> JSON:
        return await self._send_media(bot, p, "document")

    async def _m_sendPhoto(self, bot: _BotState, p: Params) -> JSON:
        return await self._send_media(bot, p, "photo")

    async def _m_sendChatAction(self, bot: _BotState, p: Params) -> bool:
        chat_id = self._target_chat(bot, p)
        action = p.get_str("action")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append({"token": bot.token, "chat_id": chat_id, "action": action})
        return True

    def _editable(self, bot: _BotState, p: Params) -> JSON:
        if p.get_str("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id = self._target_chat(bot, p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = bot.messages.get((chat_id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != bot.id:
            raise _bad("message can't be edited")
        return message

    def _apply_edit(
        self, bot: _BotState, method: str, message: JSON, p: Params, changes: JSON
    ) -> JSON:
        if all(message.get(key) == value for key, value in changes.items()):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        self.edits.append(
            {
                "method": method,
                "token": bot.token,
                "chat_id": message["chat"]["id"],
                "message_id": message["message_id"],
                "text": p.get_str("text"),
                "caption": p.get_str("caption"),
                "parse_mode": p.get_str("parse_mode"),
                "reply_markup": p.get_json("reply_markup"),
                "message": dict(message),
                "time": time.monotonic(),
            }
        )
        return message

    async def _m_editMessageText(self, bot: _BotState, p: Params) -> JSON:
        message = self._editable(bot, p)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        if not p.get_str("text"):
            raise _bad("message text is empty")
        plain, entities = self._formatted(p, "text", "entities", MAX_TEXT, "message is too long")
        if not plain:
            raise _bad("message text is empty")
        markup = _inline_only(_validate_markup(p.get_json("reply_markup")))
        changes = {"text": plain, "entities": entities or None, "reply_markup": markup}
        return self._apply_edit(bot, "editMessageText", message, p, changes)

    async def _m_editMessageCaption(self, bot: _BotState, p: Params) -> JSON:
        message = self._editable(bot, p)
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._formatted(
            p, "caption", "caption_entities", MAX_CAPTION, "message caption is too long"
        )
        markup = _inline_only(_validate_markup(p.get_json("reply_markup")))
        changes = {
            "caption": caption or None,
            "caption_entities": entities or None,
            "reply_markup": markup,
        }
        return self._apply_edit(bot, "editMessageCaption", message, p, changes)

    async def _m_editMessageReplyMarkup(self, bot: _BotState, p: Params) -> JSON:
        message = self._editable(bot, p)
        markup = _inline_only(_validate_markup(p.get_json("reply_markup")))
        return self._apply_edit(
            bot, "editMessageReplyMarkup", message, p, {"reply_markup": markup}
        )

    async def _m_deleteMessage(self, bot: _BotState, p: Params) -> bool:
        chat_id = self._target_chat(bot, p)
        message_id = p.get_int("message_id")
        if message_id is None or bot.messages.pop((chat_id, message_id), None) is None:
            raise _bad("message to delete not found")
        self.deleted.append({"token": bot.token, "chat_id": chat_id, "message_id": message_id})
        return True

    async def _m_answerCallbackQuery(self, bot: _BotState, p: Params) -> bool:
        query = bot.open_queries.pop(p.get_str("callback_query_id") or "", None)
        if query is None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = p.get_str("text")
        if text and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            {
                "token": bot.token,
                "callback_query_id": query["id"],
                "data": query.get("data"),
                "user_id": query["from"]["id"],
                "text": text,
                "show_alert": p.get_bool("show_alert"),
                "url": p.get_str("url"),
                "cache_time": p.get_int("cache_time"),
            }
        )
        return True

    # ---- commands, files, misc ----------------------------------------------------------

    @staticmethod
    def _command_key(p: Params) -> tuple[str, str]:
        scope = p.get_json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
            raise _bad("can't parse BotCommandScope JSON object")
        if scope["type"].startswith("chat") and "chat_id" not in scope:
            raise _bad("chat_id is empty")
        language = p.get_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _m_setMyCommands(self, bot: _BotState, p: Params) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._command_key(p)
        if commands:
            bot.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            bot.commands.pop(key, None)
        return True

    async def _m_getMyCommands(self, bot: _BotState, p: Params) -> list[JSON]:
        return bot.commands.get(self._command_key(p), [])

    async def _m_deleteMyCommands(self, bot: _BotState, p: Params) -> bool:
        bot.commands.pop(self._command_key(p), None)
        return True

    async def _m_getFile(self, bot: _BotState, p: Params) -> JSON:
        stored = self._files.get(p.get_str("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _m_getMe(self, bot: _BotState, p: Params) -> JSON:
        return {
            **bot.user_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_logOut(self, bot: _BotState, p: Params) -> bool:
        return True

    async def _m_close(self, bot: _BotState, p: Params) -> bool:
        return True

    def _store_file(
        self, data: bytes | None, folder: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        number = next(self._file_seq)
        prefix = {"photos": "AgACAgIAAxkBAAI", "documents": "BQACAgIAAxkBAAI"}.get(folder, "CAAC")
        extension = (file_name or "").rpartition(".")[2] if "." in (file_name or "") else "jpg"
        digest = hashlib.blake2b(data or (file_name or "").encode(), digest_size=8)
        if mime_type in (None, "application/octet-stream") and file_name:
            mime_type = mimetypes.guess_type(file_name)[0] or mime_type
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{digest.hexdigest()[:10]}",
            file_unique_id=f"AQAD{digest.hexdigest()[:12]}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
            file_name=file_name,
            mime_type=mime_type or ("image/jpeg" if folder == "photos" else None),
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, stored: StoredFile) -> list[JSON]:
        """Telegram offers a photo in several sizes; all of ours serve the original bytes."""
        width, height = _image_size(stored.data or b"") or (800, 600)
        sizes = []
        for edge in (90, 320, 800, 1280):
            if max(width, height) > edge:
                scale = edge / max(width, height)
                sizes.append((round(width * scale) or 1, round(height * scale) or 1, edge))
        sizes.append((width, height, None))
        result = []
        for w, h, edge in sizes:
            if edge is None:
                file_id = stored.file_id
                unique = stored.file_unique_id
            else:
                file_id, unique = f"{stored.file_id}_{edge}", f"{stored.file_unique_id}{edge}"
                alias = StoredFile(file_id, unique, stored.file_path, stored.data)
                alias.mime_type = stored.mime_type
                self._files.setdefault(file_id, alias)
            result.append(
                {"file_id": file_id, "file_unique_id": unique, "file_size": stored.size}
                | {"width": w, "height": h}
            )
        return result

    # ---- the Python API of simulated users ------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str,
        language_code: str | None = "vi",
        username: str | None = None,
        last_name: str | None = None,
    ) -> SimUser:
        """Register (or replace) a simulated user; its private chat now exists."""
        user = SimUser(self, id, first_name, language_code, username, last_name)
        self._users[id] = user
        return user

    def group(
        self,
        id: int,
        title: str,
        type: str = "group",
        username: str | None = None,
    ) -> SimChat:
        """Register a group (negative id) the bot is a member of."""
        chat = SimChat(id, title, type, username)
        self._groups[id] = chat
        return chat

    def _user_message(
        self, bot: _BotState, user: SimUser, chat: SimChat | None, content: JSON
    ) -> JSON:
        chat_id = chat.id if chat else user.id
        if chat is None and user.id not in self._users:
            self._users[user.id] = user
        return self._new_message(bot, chat_id, user.to_dict(), content)

    async def send_text(
        self,
        user: SimUser,
        text: str,
        *,
        chat: SimChat | None = None,
        reply_to: int | None = None,
        token: str | None = None,
    ) -> JSON:
        """The user writes ``text``; commands get a ``bot_command`` entity. Returns the update."""
        bot = self._bot(token)
        content: JSON = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?(?![^\s])", text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group())}
            ]
        chat_id = chat.id if chat else user.id
        if reply_to is not None:
            content = {"reply_to_message": bot.messages[(chat_id, reply_to)], **content}
        return self._enqueue(bot, {"message": self._user_message(bot, user, chat, content)})

    async def send_photo(
        self,
        user: SimUser,
        data: bytes,
        caption: str | None = None,
        *,
        chat: SimChat | None = None,
        token: str | None = None,
    ) -> JSON:
        """The user sends a photo (stored for getFile). Returns the update."""
        bot = self._bot(token)
        stored = self._store_file(data, "photos", None, "image/jpeg")
        content = {"photo": self._photo_sizes(stored), "caption": caption}
        return self._enqueue(bot, {"message": self._user_message(bot, user, chat, content)})

    async def send_document(
        self,
        user: SimUser,
        data: bytes,
        filename: str,
        mime: str | None = None,
        caption: str | None = None,
        *,
        chat: SimChat | None = None,
        token: str | None = None,
    ) -> JSON:
        """The user sends a file (stored for getFile). Returns the update."""
        bot = self._bot(token)
        stored = self._store_file(data, "documents", filename, mime)
        content = {"document": _document_dict(stored), "caption": caption}
        return self._enqueue(bot, {"message": self._user_message(bot, user, chat, content)})

    async def press(
        self, user: SimUser, message: JSON | int, data: str, *, token: str | None = None
    ) -> JSON:
        """The user presses an inline button with ``data`` under ``message``.

        ``message`` is a record from :meth:`sent`, a Telegram message dict, or a message id
        in the user's private chat. Returns the update.
        """
        bot = self._bot(token)
        if isinstance(message, int):
            chat_id, message_id = user.id, message
        elif "chat_id" in message:
            chat_id, message_id = message["chat_id"], message["message_id"]
        else:
            chat_id, message_id = message["chat"]["id"], message["message_id"]
        current = bot.messages.get((chat_id, message_id))
        if current is None:
            raise ValueError(f"no message {message_id} in chat {chat_id} (deleted?)")
        query = {
            "id": str(next(self._query_seq)),
            "from": user.to_dict(),
            "message": dict(current),
            "chat_instance": str((bot.id * 1_000_003 + chat_id) & 0x7FFF_FFFF_FFFF_FFFF),
            "data": data,
        }
        bot.open_queries[query["id"]] = query
        return self._enqueue(bot, {"callback_query": query})

    # ---- what the bot did -------------------------------------------------------------------

    def sent(self, chat_id: int, *, token: str | None = None) -> list[JSON]:
        """Records of messages the bot sent to ``chat_id``, in order (the live list)."""
        return self._bot(token).sent.get(chat_id, [])

    def message(self, chat_id: int, message_id: int, *, token: str | None = None) -> JSON | None:
        """The current state of a message (after edits), or None once deleted."""
        return self._bot(token).messages.get((chat_id, message_id))

    def send_times(self, chat_id: int, *, token: str | None = None) -> list[float]:
        """``time.monotonic()`` of every message the bot sent to ``chat_id``."""
        return self._bot(token).send_times.get(chat_id, [])

    def max_sends_per_window(
        self, chat_id: int | None = None, window: float = 1.0, *, token: str | None = None
    ) -> int:
        """The most messages sent within any ``window`` seconds, to one chat or all chats."""
        bot = self._bot(token)
        if chat_id is None:
            times = sorted(t for chat_times in bot.send_times.values() for t in chat_times)
        else:
            times = bot.send_times.get(chat_id, [])
        best = start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def commands(
        self, scope: JSON | None = None, language_code: str = "", *, token: str | None = None
    ) -> list[JSON]:
        """Commands set for ``scope`` (default scope when None) and ``language_code``."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return self._bot(token).commands.get(key, [])

    def webhook(self, *, token: str | None = None) -> JSON | None:
        """The webhook settings (url, secret_token, ...), or None."""
        return self._bot(token).webhook

    def calls_to(self, method: str) -> list[JSON]:
        """The recorded calls of one Bot API method."""
        return [call for call in self.calls if call["method"].lower() == method.lower()]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every API call); return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0 or self._changed is None:
                recent = ", ".join(f"{c['method']}:{c['status']}" for c in self.calls[-8:])
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {recent}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_sent(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, *, token: str | None = None
    ) -> list[JSON]:
        """Wait until the bot has sent at least ``count`` messages to ``chat_id``."""
        await self.wait_for(lambda: len(self.sent(chat_id, token=token)) >= count, timeout)
        return self.sent(chat_id, token=token)

    # ---- fault injection ----------------------------------------------------------------

    def clear_faults(self) -> None:
        """End every queued fault: the server is healthy again (an outage is over)."""
        self._faults.clear()

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        html: bool | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" for any) with an error.

        429 defaults to ``retry_after=1``; 502 and 504 answer an nginx HTML page (as Telegram's
        front does) unless ``html=False``.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request",
                403: "Forbidden: bot was blocked by the user",
                429: f"Too Many Requests: retry after {retry_after}",
            }.get(status) or HTTPStatus(status).phrase
        if html is None:
            html = status in (502, 504)
        body = _BAD_GATEWAY_HTML.replace("502 Bad Gateway", f"{status} {description}")
        fault = _Fault(status, description, retry_after, body if html else None, times)
        self._faults[method.lower()].append(fault)

    def block(self, chat_id: int, *, token: str | None = None) -> None:
        """Sends to ``chat_id`` answer 403 from now on (the user blocked the bot)."""
        self._bot(token).blocked.add(chat_id)

    def unblock(self, chat_id: int, *, token: str | None = None) -> None:
        self._bot(token).blocked.discard(chat_id)

    def clear_records(self) -> None:
        """Forget recorded calls and output (not chats, messages or pending updates)."""
        self.calls.clear()
        self.edits.clear()
        self.callback_answers.clear()
        self.deleted.clear()
        self.chat_actions.clear()
        self.webhook_deliveries.clear()
        for bot in self._bots.values():
            bot.sent.clear()
            bot.send_times.clear()


@dataclass(frozen=True)
class _Described:
    """A result that Telegram answers with a ``description`` too (setWebhook and friends)."""

    result: Any
    description: str


def _inline_only(markup: JSON | None) -> JSON | None:
    """Messages carry their reply_markup only when it is an inline keyboard."""
    return markup if markup and "inline_keyboard" in markup else None


def _validate_markup(markup: Any) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("object expected as reply markup")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: field \"inline_keyboard\" must be "
                       "an Array of Arrays")  # fmt: skip
        for button in itertools.chain.from_iterable(rows):
            _validate_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('can\'t parse keyboard button: field "keyboard" must be an Array of Arrays')
        for button in itertools.chain.from_iterable(rows):
            text = button if isinstance(button, str) else (button or {}).get("text")
            if not isinstance(text, str) or not text:
                raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"].strip():
        raise _bad("BUTTON_TEXT_INVALID")
    if not any(key in button for key in BUTTON_ACTIONS):
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        parsed = urlparse(str(button["url"]))
        if parsed.scheme not in ("http", "https", "tg") or not (parsed.netloc or parsed.path):
            raise _bad("BUTTON_URL_INVALID")


def _document_dict(stored: StoredFile) -> JSON:
    document: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG; a guess for WebP/BMP; None if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in _JPEG_SOF:
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
                i += 2 if marker != 0xFF else 1
                continue
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        return 800, 600
    if (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[:2] == b"BM":
        return 512, 512
    return None

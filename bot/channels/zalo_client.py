"""Small async client for the Zalo Bot API (Bot Platform, Telegram-like HTTP).

Protocol layer only: no retries, no message splitting, no user-facing text. See
/work/shared/ZALO_BOT_API.md for the facts (and their confidence) this module relies on. The
updates it returns are parsed in bot/channels/zalo_update.py.

The bot token sits in the URL path (``/bot<TOKEN>/<method>``), so this module never logs
URLs, redacts the token from every exception message, and installs a redacting filter on
the ``httpx`` / ``httpcore.*`` loggers (httpx logs every request URL at INFO).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from bot.channels.zalo_update import ZaloUpdate, opt_int, opt_str
from bot.core import metrics
from bot.core.redact import REDACTED, protect, redact

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_TEXT_LENGTH",
    "SentMessage",
    "ZaloBotInfo",
    "ZaloClient",
    "ZaloError",
    "ZaloMalformedUpdate",
    "ZaloNetworkError",
    "ZaloUpdate",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
#: Documented limit for ``sendMessage`` text and ``sendPhoto`` caption. The counting unit is
#: not documented; we count Python characters (code points).
MAX_TEXT_LENGTH = 2000
#: Margin added to the long-poll ``timeout`` for the HTTP read timeout (S4 uses +10 s).
POLL_READ_MARGIN = 10.0

# --------------------------------------------------------------------------- errors


class ZaloError(Exception):
    """An error answer from the Zalo Bot API (or a transport failure, see subclasses).

    ``code`` is Zalo's ``error_code`` when the body is a Zalo envelope, otherwise the HTTP
    status; ``http_status`` is the HTTP status (0 when no response was received).
    """

    def __init__(self, code: int, description: str, http_status: int) -> None:
        self.code = code
        self.description = description
        self.http_status = http_status
        super().__init__(f"Zalo API error {code} (HTTP {http_status}): {description}")

    @property
    def is_quota(self) -> bool:
        """Quota exceeded (429): the monthly plan budget is used up; do not retry fast."""
        return self.code == 429 or self.http_status == 429

    @property
    def is_timeout(self) -> bool:
        return self.code == 408 or self.http_status == 408

    @property
    def is_auth(self) -> bool:
        """Token expired or invalid (401)."""
        return self.code == 401 or self.http_status == 401

    @property
    def is_transient(self) -> bool:
        """Worth retrying later with backoff.

        5xx (Zalo code or HTTP status) is transient. 403 is the odd case: Zalo's error table
        labels code 403 "Internal server error" (sic), so a 403 *whose description says so*
        is treated as a server-side hiccup and transient; any other 403 (e.g. a proxy's
        "Forbidden" page) is a refusal and retrying it would not help. 429 is deliberately
        not transient: it means the monthly quota is exhausted (see ``is_quota``).
        """
        if 500 <= self.code < 600 or 500 <= self.http_status < 600:
            return True
        return self.code == 403 and "internal" in self.description.lower()


class ZaloNetworkError(ZaloError):
    """No usable HTTP response (connect/read failure, timeout, broken encoding). Code 0."""

    def __init__(self, description: str) -> None:
        super().__init__(0, description, 0)

    @property
    def is_transient(self) -> bool:
        return True


class ZaloMalformedUpdate(ZaloError, ValueError):
    """``getUpdates`` answered ok but its result is not a usable update.

    Subclasses both ``ZaloError`` (so a polling loop's error handling catches it) and
    ``ValueError`` (what ``ZaloUpdate.from_json`` raises). ``raw`` holds the result; it may
    contain personal data, so it is not part of the message.
    """

    def __init__(self, description: str, raw: Any, http_status: int = 200) -> None:
        super().__init__(0, description, http_status)
        self.raw = raw


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ZaloBotInfo:
    id: str
    account_name: str
    account_type: str
    can_join_groups: bool


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str
    date: int | None  # Unix milliseconds as returned by Zalo, if present


# --------------------------------------------------------------------------- client


def _check_text(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"{what} is {len(value)} characters; the limit is {MAX_TEXT_LENGTH}")


def _error_code(value: Any, fallback: int) -> int:
    code = opt_int(value)
    return code if code is not None and code != 0 else fallback


class ZaloClient:
    """Async Zalo Bot API client. POSTs JSON to ``{base_url}/bot{token}/{method}``.

    Pass ``client`` to share an ``httpx.AsyncClient``; it is then not closed by ``aclose``.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(token, str) or not token or any(c in token for c in "/?# \t\r\n"):
            # Never echo the token itself.
            raise ValueError("invalid Zalo bot token format")
        self._token = token
        protect(token)
        self._base = f"{base_url.rstrip('/')}/bot{token}/"
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False)

    def __repr__(self) -> str:
        return f"<ZaloClient token={REDACTED}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ----------------------------------------------------------------- transport

    async def _call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> tuple[int, Any]:
        """POST one call; return ``(http_status, parsed JSON or None)``.

        Transport failures become ``ZaloNetworkError`` raised outside the ``except`` block,
        so no httpx exception (whose text may include the URL) is chained onto it.
        """
        timeout = httpx.Timeout(self._timeout, read=read_timeout or self._timeout)
        failure: ZaloNetworkError | None = None
        try:
            response = await self._client.post(
                self._base + method, json=dict(params or {}), timeout=timeout
            )
        except httpx.HTTPError as exc:
            detail = redact(str(exc)) or "no detail"
            failure = ZaloNetworkError(f"{method}: {type(exc).__name__}: {detail}")
        if failure is not None:
            logger.debug("zalo %s failed: %s", method, failure.description)
            metrics.api_call("zalo", method, 0)
            raise failure
        metrics.api_call("zalo", method, response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def _error_from(self, method: str, status: int, body: Any) -> ZaloError:
        if isinstance(body, Mapping) and "ok" in body:
            code = _error_code(body.get("error_code"), status)
            description = opt_str(body.get("description")) or f"HTTP {status}"
        else:
            code = status
            description = f"unexpected non-envelope response body (HTTP {status})"
        return ZaloError(code, redact(f"{method}: {description}"), status)

    async def _request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> Any:
        """Call ``method`` and return its ``result`` (``None`` if absent), or raise ZaloError."""
        status, body = await self._call(method, params, read_timeout=read_timeout)
        if isinstance(body, Mapping) and body.get("ok") is True and status < 400:
            return body.get("result")
        raise self._error_from(method, status, body)

    # ----------------------------------------------------------------- methods

    async def get_me(self) -> ZaloBotInfo:
        result = await self._request("getMe")
        if not isinstance(result, Mapping):
            raise ZaloError(0, "getMe: result is not an object", 200)
        return ZaloBotInfo(
            id=opt_str(result.get("id")) or "",
            account_name=opt_str(result.get("account_name")) or "",
            account_type=opt_str(result.get("account_type")) or "",
            can_join_groups=bool(result.get("can_join_groups", False)),
        )

    async def get_updates(self, timeout: int = 30) -> ZaloUpdate | None:
        """Long-poll for ONE update; ``None`` when the poll ends empty.

        Zalo has no offset/ack and may hand out a consumed update again: callers must
        deduplicate by ``message_id`` and keep >= 1 s between polls. An empty poll is HTTP 408
        or an ``ok:false`` body with ``error_code`` 408 (seen with HTTP 200 too).
        """
        status, body = await self._call(
            "getUpdates", {"timeout": timeout}, read_timeout=timeout + POLL_READ_MARGIN
        )
        envelope = isinstance(body, Mapping) and "ok" in body
        if envelope and body.get("ok") is True and status < 400:
            result = body.get("result")
            if result is None or result == {} or result == []:
                return None
            if isinstance(result, list):  # not documented; tolerate a one-element list
                if len(result) != 1:
                    raise ZaloMalformedUpdate("getUpdates: result list of unexpected size", result)
                result = result[0]
            try:
                return ZaloUpdate.from_json(result)
            except ValueError as exc:
                failure = ZaloMalformedUpdate(f"getUpdates: {exc}", result, status)
            raise failure
        if envelope and body.get("ok") is False and _error_code(body.get("error_code"), 0) == 408:
            return None
        if status == 408:
            return None
        raise self._error_from("getUpdates", status, body)

    async def set_webhook(self, url: str, secret_token: str) -> None:
        """Register ``url`` (HTTPS); Zalo sends ``secret_token`` in ``X-Bot-Api-Secret-Token``."""
        if not 8 <= len(secret_token) <= 256:
            raise ValueError("secret_token must be 8..256 characters")
        await self._request("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self._request("deleteWebhook")

    async def get_webhook_info(self) -> str | None:
        """The webhook URL, or ``None`` when none is set (Zalo answers 404 then)."""
        status, body = await self._call("getWebhookInfo")
        if isinstance(body, Mapping) and body.get("ok") is True and status < 400:
            result = body.get("result")
            url = opt_str(result.get("url")) if isinstance(result, Mapping) else None
            return url or None
        if status == 404 or (
            isinstance(body, Mapping) and _error_code(body.get("error_code"), 0) == 404
        ):
            return None
        raise self._error_from("getWebhookInfo", status, body)

    async def send_message(self, chat_id: str, text: str) -> SentMessage:
        """Send plain text (1..2000 characters; splitting longer text is the caller's job)."""
        _check_text(text, "text")
        result = await self._request("sendMessage", {"chat_id": chat_id, "text": text})
        return self._sent(result)

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None
    ) -> SentMessage:
        if not photo_url:
            raise ValueError("photo_url must be non-empty")
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            _check_text(caption, "caption")
            params["caption"] = caption
        return self._sent(await self._request("sendPhoto", params))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self._request("sendChatAction", {"chat_id": chat_id, "action": action})

    @staticmethod
    def _sent(result: Any) -> SentMessage:
        if not isinstance(result, Mapping):
            result = {}
        return SentMessage(
            message_id=opt_str(result.get("message_id")) or "",
            date=opt_int(result.get("date")),
        )

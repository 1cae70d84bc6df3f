"""Keep bot tokens and webhook secrets (Telegram and Zalo) out of every log line.

Both Bot APIs put the token in every URL (``/bot<TOKEN>/sendMessage``): httpx logs request URLs
at INFO, and python-telegram-bot puts the token in some exception texts (``InvalidToken``). A
filter attached to a logger only sees records logged *on that logger* (not those propagating
from its children), so it is attached to each logger of those libraries by name. Tracebacks are
rendered and redacted in the filter too, since a formatter would otherwise render them later
from the live exception.
"""

from __future__ import annotations

import logging
import threading
import traceback
from urllib.parse import quote

REDACTED = "<redacted>"
_PREFIXES = ("httpx", "httpcore", "telegram", "bot.channels")
_KNOWN = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "telegram",
    "telegram.ext",
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Application",
    "telegram.ext.Updater",
    "telegram.ext.BaseRequest",
    "telegram.ext.HTTPXRequest",
    "telegram.request",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
    "bot.channels.telegram",
    "bot.channels.telegram_inbound",
    "bot.channels.telegram_render",
    "bot.channels.telegram_setup",
    "bot.channels.zalo",
    "bot.channels.zalo_client",
    "bot.channels.zalo_inbound",
    "bot.channels.zalo_update",
    "bot.channels.zalo_state",
)


class TokenFilter(logging.Filter):
    """Replaces every registered secret in a record's message, arguments and traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        with self._lock:
            found = set(self._secrets) | secret_forms(secret)
            # Longest first, so the whole token goes before its secret half.
            self._secrets = tuple(sorted(found, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def secret_forms(secret: str) -> set[str]:
    """How a token may appear in text: raw, percent-encoded, and its part after the colon."""
    forms = {secret, quote(secret), quote(secret, safe="")}
    _bot_id, colon, rest = secret.partition(":")
    if colon and len(rest) >= 8:
        forms |= {rest, quote(rest, safe="")}
    return {form for form in forms if len(form) >= 8}


FILTER = TokenFilter()


def protect(*secrets: str | None) -> None:
    """Register secrets and attach the filter to every logger that may print them."""
    for secret in secrets:
        if secret:
            FILTER.add(secret)
    names = set(_KNOWN)
    names |= {
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name == p or name.startswith(p + ".") for p in _PREFIXES)
    }
    for name in names:
        logger = logging.getLogger(name)
        if FILTER not in logger.filters:
            logger.addFilter(FILTER)


def redact(text: str) -> str:
    return FILTER.redact(text)

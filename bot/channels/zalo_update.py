"""One inbound Zalo Bot API event, parsed leniently from its JSON (see ZALO_BOT_API.md).

`ZaloUpdate.from_json` takes a bare update (a webhook's body) or getUpdates' envelope; ids
and numbers may come as text or numbers. `opt_str` and `opt_int` are the lenient readers the
client's results use too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class ZaloUpdate:
    """One inbound event. ``date_ms`` is Unix milliseconds. ``raw`` is the bare update."""

    event_name: str
    message_id: str
    chat_id: str
    chat_type: str
    user_id: str
    display_name: str | None
    text: str | None
    photo_url: str | None
    caption: str | None
    date_ms: int | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)

    @classmethod
    def from_json(cls, obj: Any) -> ZaloUpdate:
        """Parse a bare update or a ``{"ok": true, "result": update}`` envelope.

        Raises ``ValueError`` when the message, chat, chat id or message id is missing.
        """
        if not isinstance(obj, Mapping):
            raise ValueError("update is not a JSON object")
        if "result" in obj and "message" not in obj:
            if obj.get("ok") is False:
                raise ValueError("update envelope has ok=false")
            obj = obj["result"]
            if not isinstance(obj, Mapping):
                raise ValueError("update envelope result is not a JSON object")
        event_name = obj.get("event_name")
        if not isinstance(event_name, str) or not event_name:
            raise ValueError("update has no event_name")
        message = obj.get("message")
        if not isinstance(message, Mapping):
            raise ValueError("update has no message object")
        chat = message.get("chat")
        if not isinstance(chat, Mapping):
            raise ValueError("update message has no chat object")
        chat_id = opt_str(chat.get("id"))
        if not chat_id:
            raise ValueError("update chat has no id")
        message_id = opt_str(message.get("message_id"))
        if not message_id:
            raise ValueError("update message has no message_id")
        chat_type = opt_str(chat.get("chat_type")) or "PRIVATE"
        sender = message.get("from")
        sender = sender if isinstance(sender, Mapping) else {}
        user_id = opt_str(sender.get("id"))
        if not user_id:
            # In a private chat chat.id == from.id (doc); in a group we cannot guess.
            if chat_type == "GROUP":
                raise ValueError("group update has no sender id")
            user_id = chat_id
        display_name = None
        for key in ("display_name", "first_name", "name"):
            display_name = opt_str(sender.get(key))
            if display_name:
                break
        photo_url = opt_str(message.get("photo_url")) or opt_str(message.get("photo"))
        return cls(
            event_name=event_name,
            message_id=message_id,
            chat_id=chat_id,
            chat_type=chat_type,
            user_id=user_id,
            display_name=display_name or None,
            text=opt_str(message.get("text")),
            photo_url=photo_url or None,
            caption=opt_str(message.get("caption")),
            date_ms=opt_int(message.get("date")),
            raw=obj,
        )

"""The seam between channels and handlers: `Incoming` in, `Reply` values out.

Channel adapters only convert to and from these; no conversation logic lives in an adapter.
Reply text is plain text (user-supplied strings unescaped): Telegram escapes it for HTML,
Zalo and the console print it as it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session

from bot.core.text import clean_line, clean_text

#: How long a field of a message may be once cleaned: more than any platform sends (Telegram
#: 4,096 characters, Zalo 2,000), so a too-long answer is still told its length.
TEXT_MAX, LINE_MAX, DATA_MAX = 10_000, 256, 64

_COMMAND = re.compile(r"^/([A-Za-z_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Attachment:
    """A photo or document a person sent; `path` is set once the adapter stored the file."""

    kind: Literal["photo", "document"]
    ref: str
    name: str = ""
    mime: str = ""
    path: str | None = None
    #: Why the adapter did not store the file: "too_big" or "too_many" (the caps), else None.
    refused: str | None = None


@dataclass(frozen=True)
class Incoming:
    channel: str
    chat_id: str
    user_id: str
    display_name: str = ""
    text: str | None = None
    command: str | None = None
    args: str = ""
    choice: str | None = None
    attachment: Attachment | None = None
    language_code: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        channel: str,
        chat_id: str,
        user_id: str,
        display_name: str = "",
        text: str | None = None,
        attachment: Attachment | None = None,
        language_code: str | None = None,
    ) -> Incoming:
        """Build from a typed message: `/start ABC` (or `/start@bot ABC`) becomes a command."""
        command, args = None, ""
        match = _COMMAND.match((text or "").strip())
        if match:
            command, args = match.group(1).lower(), (match.group(2) or "").strip()
            text = None
        return cls(
            channel=channel,
            chat_id=chat_id,
            user_id=user_id,
            display_name=display_name,
            text=text,
            command=command,
            args=args,
            attachment=attachment,
            language_code=language_code,
        )

    def cleaned(self) -> Incoming:
        """Every text field as the store may take it: NFC, no NUL or other control character,
        no lone surrogate, capped. The router applies it once, before anything reads them."""
        attachment = self.attachment
        if attachment is not None:
            attachment = dataclasses.replace(
                attachment,
                name=clean_line(attachment.name, LINE_MAX),
                mime=clean_line(attachment.mime, LINE_MAX),
            )
        return dataclasses.replace(
            self,
            display_name=clean_line(self.display_name, LINE_MAX),
            text=None if self.text is None else clean_text(self.text)[:TEXT_MAX],
            args=clean_line(self.args, LINE_MAX),
            choice=None if self.choice is None else clean_line(self.choice, DATA_MAX),
            attachment=attachment,
        )


#: The value of the cancel option a flow's question carries (see `Option.cancels`).
CANCEL_VALUE = "_cancel"


@dataclass(frozen=True)
class Option:
    """A choice: `data` is namespaced (`flow:report:area:<token>:<value>`, ≤ 64 bytes)."""

    label: str
    data: str

    @property
    def cancels(self) -> bool:
        """The Hủy option: text channels number it 0 and show it last."""
        return self.data.endswith(":" + CANCEL_VALUE)


@dataclass(frozen=True)
class File:
    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class Reply:
    """What to send. `commands_changed`: the person's commands or language just changed (a
    registration, /lang), so a channel with a command menu should refresh this chat's.
    `later`: long work (building a file): the channel sends this reply at once, then runs
    `later` off its event loop (Telegram keeps "sending a file…" up meanwhile) and sends the
    replies it returns; `later` opens its own database session."""

    text: str
    options: tuple[Option, ...] = field(default_factory=tuple)
    document: File | None = None
    image: File | None = None
    commands_changed: bool = False
    later: Callable[[], list[Reply]] | None = None
    headings: tuple[str, ...] = ()  # lines of `text` a channel that can shows in bold


def settle(replies: list[Reply]) -> list[Reply]:
    """The replies with every `later` run here and now, in order: for a channel (the console,
    a test) that has no background to run it in."""
    found: list[Reply] = []
    for reply in replies:
        found.append(reply)
        if reply.later is not None:
            found += settle(reply.later())
    return found


#: What the console hands each message to: the router's `handle` (a session of its own).
Handle = Callable[[Incoming], list[Reply]]

#: What a channel's journal runs each update through, inside the transaction that marks it
#: handled and queues its replies: the router's `respond`.
Respond = Callable[[Session, Incoming], list[Reply]]

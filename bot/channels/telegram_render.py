"""`Reply` → Telegram messages: HTML-escaped text, inline keyboards, long texts split.

`Reply.text` is plain text. Every piece is escaped for HTML parse mode, so a title such as
``<b>Tổ 1 & 2</b>`` reaches the person exactly as typed and nothing in it is read as markup;
the lines `Reply.headings` names are set in bold by this module, not by the text.
Texts over 4,096 characters are split on paragraph, then line, then word boundaries; the
keyboard goes under the last piece. A document or photo goes with the text as its caption when
the text fits in 1,024 characters, else after the text.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode
from telegram.warnings import PTBUserWarning

from bot.channels.text import split_text
from handlers.types import Option, Reply

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
LABEL_LIMIT = 60  # longer labels are cut at a word and get "…"
CHOSEN_MARK = "→"

Call = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]

# PTB warns when `do_api_request` is asked for a method it has a method of its own for: `post`
# does that on purpose, for the calls whose answer nobody reads.
POSTED = r"send(Message|Document|Photo)|editMessage(Text|Caption|ReplyMarkup)"
warnings.filterwarnings("ignore", rf"Please use 'Bot\.({POSTED})'", PTBUserWarning)


async def post(bot: Bot, method: str, **params: Any) -> None:
    """One Bot API call whose answer is not needed, through PTB's `do_api_request`.

    `Bot.send_message` turns the answered message into PTB objects: a third of the call's CPU
    (0.35 of 1.0 ms against the test server), for an answer the reply lane never reads.
    Parameters are as the Bot API names them; files go as `InputFile`s, which PTB uploads
    (with its longer write timeout) as for its own methods, and errors are PTB's as for them
    (`BadRequest`, `RetryAfter`, `Forbidden`…). PTB leaves out parameters given as None.
    """
    await bot.do_api_request(method, api_kwargs=params)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Plain-text pieces that each fit Telegram's limit (in UTF-16 units)."""
    size = limit
    while True:
        pieces = split_text(text, size)
        if all(utf16_len(p) <= limit for p in pieces) or size <= 64:
            return pieces
        size -= size // 8


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def marked(text: str, headings: tuple[str, ...] = ()) -> str:
    """`text` escaped, its heading lines in bold."""
    if not headings:
        return escape(text)
    bold = set(headings)
    return "\n".join(
        f"<b>{escape(line)}</b>" if line.strip() in bold else escape(line)
        for line in text.split("\n")
    )


def short_label(label: str, limit: int = LABEL_LIMIT) -> str:
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    cut = label[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def keyboard(options: tuple[Option, ...]) -> dict[str, Any] | None:
    """An inline keyboard as the Bot API takes it, one button a row, so long Vietnamese labels
    stay readable on a phone."""
    if not options:
        return None
    rows = [[{"text": short_label(o.label), "callback_data": o.data}] for o in options]
    return {"inline_keyboard": rows}


def pressed_label(message: Message, data: str) -> str | None:
    """The label of the button with `data` under `message`, if it is still there."""
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def with_choice(message: Message, label: str | None) -> tuple[str, bool] | None:
    """The pressed message's new HTML text/caption (choice appended) and whether it is a caption.

    None when the message has neither, or the result would be too long: then only the keyboard
    is removed.
    """
    is_caption = message.text is None
    body = message.caption_html if is_caption else message.text_html
    plain = message.caption if is_caption else message.text
    if body is None or plain is None:
        return None
    if label is None:
        return None
    suffix = f"\n\n{CHOSEN_MARK} {label}"
    if utf16_len(plain + suffix) > (CAPTION_LIMIT if is_caption else TEXT_LIMIT):
        return None
    return body + escape(suffix), is_caption


async def send_reply(bot: Bot, chat_id: int | str, reply: Reply, call: Call) -> None:
    """Send one reply; `call` wraps each API call (retries)."""
    markup = keyboard(reply.options)
    file = reply.document or reply.image
    text = reply.text.strip()
    caption: str | None = None
    pieces = split(text) if text else []
    if file is not None and utf16_len(text) <= CAPTION_LIMIT:
        caption, pieces = (marked(text, reply.headings) if text else None), []
    for n, piece in enumerate(pieces, start=1):
        last = n == len(pieces) and file is None
        await call(
            partial(
                post,
                bot,
                "sendMessage",
                chat_id=chat_id,
                text=marked(piece, reply.headings),
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
            )
        )
    files = [(f, kind) for f, kind in ((reply.document, "document"), (reply.image, "photo")) if f]
    for n, (item, kind) in enumerate(files, start=1):
        method = "sendDocument" if kind == "document" else "sendPhoto"
        await call(
            partial(
                post,
                bot,
                method,
                chat_id=chat_id,
                **{kind: InputFile(item.content, filename=item.filename)},
                caption=caption if n == 1 else None,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if n == len(files) else None,
            )
        )

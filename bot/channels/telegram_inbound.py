"""Telegram updates → `Incoming`: texts, commands, button presses, photos and documents.

Photos and documents are downloaded (getFile, then the file URL) into the attachment store,
``<THIDUA_ATTACHMENTS>/telegram/<user id>/<file unique id>-<name>``; the Telegram file id goes
along as the attachment's `ref`, so it can be sent again without uploading.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from telegram import Message, Update, User
from telegram.error import TelegramError

from handlers.types import Attachment, Incoming

log = logging.getLogger(__name__)

CHANNEL = "telegram"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def display_name(user: User | None) -> str:
    return user.full_name if user is not None else ""


def from_callback(update: Update) -> Incoming | None:
    """A button press: its data is the choice."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None or not query.data:
        return None
    return Incoming(
        channel=CHANNEL,
        chat_id=str(chat.id),
        user_id=str(user.id),
        display_name=display_name(user),
        choice=query.data,
        language_code=user.language_code,
    )


def attachment_of(message: Message) -> Attachment | None:
    """The photo (largest size) or document of a message, not yet downloaded."""
    if message.photo:
        photo = message.photo[-1]
        return Attachment(
            kind="photo",
            ref=photo.file_id,
            name="",  # the summary then says "photo" in the person's language
            mime="image/jpeg",
        )
    if message.document is not None:
        doc = message.document
        return Attachment(
            kind="document",
            ref=doc.file_id,
            name=doc.file_name or f"document-{doc.file_unique_id}",
            mime=doc.mime_type or "application/octet-stream",
        )
    return None


def safe_name(name: str) -> str:
    """A file name that is safe on any disk: ASCII letters, digits, dot, dash, underscore."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", folded).strip("._") or "file"
    stem, dot, ext = cleaned.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{stem[:80]}.{ext}"
    return cleaned[:90]


async def download(message: Message, attachment: Attachment, store: Path) -> Attachment:
    """Fetch the file into the store; on failure keep the file id only (and log why)."""
    user = message.from_user
    unique = (
        message.photo[-1].file_unique_id
        if message.photo
        else (message.document.file_unique_id if message.document else "file")
    )
    folder = store / CHANNEL / str(user.id if user else message.chat.id)
    fallback = "photo.jpg" if attachment.kind == "photo" else "file"
    target = folder / f"{unique}-{safe_name(attachment.name or fallback)}"
    try:
        tg_file = await message.get_bot().get_file(attachment.ref)
        folder.mkdir(parents=True, exist_ok=True)
        await tg_file.download_to_drive(target)
    except (TelegramError, OSError) as exc:
        log.warning(
            "could not download %s from chat %s: %s", attachment.kind, message.chat.id, exc
        )
        return attachment
    return Attachment(
        kind=attachment.kind,
        ref=attachment.ref,
        name=attachment.name,
        mime=attachment.mime,
        path=str(target),
    )


async def from_message(update: Update, store: Path) -> Incoming | None:
    """A message in a private chat: text (a `/command` becomes one), or a file with caption."""
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return None
    attachment = attachment_of(message)
    if attachment is not None:
        attachment = await download(message, attachment, store)
    return Incoming.parse(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        user_id=str(user.id),
        display_name=display_name(user),
        text=message.text if message.text is not None else message.caption,
        attachment=attachment,
        language_code=user.language_code,
    )

"""Telegram updates → `Incoming`: texts, commands, button presses, photos and documents.

Photos and documents are downloaded (getFile, then the file URL) into the attachment store,
``<THIDUA_ATTACHMENTS>/telegram/<user id>/<yyyymmdd-hhmmss>-<random>.<ext>``: a name the bot
makes, with no string from the platform in it. Only a registered person's file, sent when a
question asks for evidence, is fetched, and only within the caps (THIDUA_UPLOAD_MAX_MB per file,
THIDUA_UPLOADS_PER_DAY per person) and with room left on the disk. The Telegram file id goes
along as the attachment's `ref`, so it can be sent again without uploading.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from telegram import Message, Update, User
from telegram.error import TelegramError

from bot.channels.attachments import room_for, stored_path, stored_today
from bot.channels.base import in_handler_thread
from bot.core import clock
from bot.core.settings import Settings
from handlers.types import Attachment, Incoming
from handlers.uploads import evidence_expected

log = logging.getLogger(__name__)

CHANNEL = "telegram"


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


def _size(message: Message) -> int | None:
    if message.photo:
        return message.photo[-1].file_size
    return message.document.file_size if message.document else None


async def admit(
    message: Message, attachment: Attachment, store: Path, settings: Settings
) -> Attachment:
    """Download the file if it is wanted and within the caps; else say why not (or not at all,
    for a file nobody asked for: the handlers answer that as they answer any message)."""
    user = message.from_user
    user_id = str(user.id if user else message.chat.id)
    wanted = await in_handler_thread(
        lambda: evidence_expected(channel=CHANNEL, chat_id=str(message.chat.id), user_id=user_id)
    )
    if not wanted:
        return attachment
    size, limit = _size(message), int(settings.upload_max_mb * 1024 * 1024)
    if size is not None and size > limit:
        return dataclasses.replace(attachment, refused="too_big")
    folder, now = store / CHANNEL / user_id, clock.now()
    if stored_today(folder, now.astimezone(clock.LOCAL).date()) >= settings.uploads_per_day:
        return dataclasses.replace(attachment, refused="too_many")
    if not room_for(folder, size or limit):
        return attachment
    fallback = "photo.jpg" if attachment.kind == "photo" else "file"
    return await download(
        message, attachment, stored_path(folder, attachment.name or fallback, now)
    )


async def download(message: Message, attachment: Attachment, target: Path) -> Attachment:
    """Fetch the file to `target`; on failure keep the file id only (and log why)."""
    try:
        tg_file = await message.get_bot().get_file(attachment.ref)
        target.parent.mkdir(parents=True, exist_ok=True)
        await tg_file.download_to_drive(target)
    except (TelegramError, OSError) as exc:
        log.warning(
            "could not download %s from chat %s: %s", attachment.kind, message.chat.id, exc
        )
        return attachment
    return dataclasses.replace(attachment, path=str(target))


async def from_message(update: Update, store: Path, settings: Settings) -> Incoming | None:
    """A message in a private chat: text (a `/command` becomes one), or a file with caption."""
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return None
    attachment = attachment_of(message)
    if attachment is not None:
        attachment = await admit(message, attachment, store, settings)
    return Incoming.parse(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        user_id=str(user.id),
        display_name=display_name(user),
        text=message.text if message.text is not None else message.caption,
        attachment=attachment,
        language_code=user.language_code,
    )

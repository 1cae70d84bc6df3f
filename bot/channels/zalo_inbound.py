"""Zalo updates → `Incoming`: texts, and photos downloaded into the attachment store.

Only a registered person's photo, sent when a question asks for evidence, is fetched: from
Zalo's own hosts only, with no redirect followed, at most THIDUA_UPLOADS_PER_DAY a day. It is
stored as ``<THIDUA_ATTACHMENTS>/zalo/<user key>/<time>-<random>.<ext>`` (the user key a hash
of Zalo's id, so no platform string is in the path); its Zalo URL goes along as the
attachment's `ref`. The download is best effort: a photo that cannot be fetched or stored
still arrives, as evidence without a file.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bot.channels.attachments import opaque_folder, room_for, stored_path, stored_today
from bot.channels.zalo_state import CHANNEL
from bot.channels.zalo_update import ZaloUpdate
from bot.core import clock
from bot.core.settings import Settings
from handlers.types import Attachment, Incoming
from handlers.uploads import evidence_expected

log = logging.getLogger(__name__)

TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
PHOTO_MAX_BYTES = 10 * 1024 * 1024


#: Where Zalo serves users' photos (its CDNs); the Bot API server's own host is allowed too.
ZALO_PHOTO_HOSTS = ("zdn.vn", "zadn.vn", "zaloapp.com", "zalo.me", "zaloplatforms.com")


def platform_host(url: str, api_base: str) -> bool:
    """Is `url` on one of Zalo's own hosts (or the Bot API server's, e.g. a local one)?"""
    host = (urlsplit(url).hostname or "").lower()
    if urlsplit(url).scheme not in ("http", "https") or not host:
        return False
    if host == (urlsplit(api_base).hostname or "").lower():
        return True
    return any(host == h or host.endswith("." + h) for h in ZALO_PHOTO_HOSTS)


class Photos:
    """Downloads photos into `<attachments_dir>/zalo`; its HTTP client opens on first use."""

    def __init__(self, settings: Settings) -> None:
        self._dir = settings.attachments_dir
        self._api = settings.zalo_base_url
        self._per_day = settings.uploads_per_day
        self._client: httpx.AsyncClient | None = None

    def folder(self, user_id: str) -> Path:
        return Path(self._dir) / CHANNEL / opaque_folder(user_id)

    def full_today(self, user_id: str) -> bool:
        """This person stored THIDUA_UPLOADS_PER_DAY files today already."""
        today = clock.now().astimezone(clock.LOCAL).date()
        return stored_today(self.folder(user_id), today) >= self._per_day

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def download(self, update: ZaloUpdate) -> tuple[str | None, str]:
        """Store the photo under THIDUA_ATTACHMENTS/zalo; best effort: (None, "") on failure."""
        assert update.photo_url is not None
        if not platform_host(update.photo_url, self._api):
            log.warning("zalo: photo of %s not fetched: not a Zalo address", update.message_id)
            return None, ""
        if self._client is None:
            # No redirects: the photo is fetched from the address Zalo gave, never from
            # wherever that address would send us.
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(20.0), trust_env=False, follow_redirects=False
            )
        try:
            async with self._client.stream("GET", update.photo_url) as response:
                response.raise_for_status()
                mime = response.headers.get("content-type", "").split(";")[0].strip()
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > PHOTO_MAX_BYTES:
                        raise ValueError("photo larger than the limit")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("zalo: photo of %s not downloaded (%s)", update.message_id, exc)
            return None, ""
        suffix = mimetypes.guess_extension(mime) or Path(urlsplit(update.photo_url).path).suffix
        folder = self.folder(update.user_id)
        path = stored_path(folder, f"photo{suffix or '.jpg'}", clock.now())
        if not room_for(folder, len(content)):
            return None, mime
        try:
            await asyncio.to_thread(_write, path, bytes(content))
        except OSError as exc:
            log.warning("zalo: photo of %s not stored (%s)", update.message_id, exc)
            return None, mime
        return str(path), mime


async def to_incoming(update: ZaloUpdate, photos: Photos) -> Incoming | None:
    """The update as the handlers see it; None for what Zalo sends that we cannot read."""
    display_name = update.display_name or ""
    if update.event_name == IMAGE_EVENT and update.photo_url:
        wanted = await asyncio.to_thread(
            evidence_expected, channel=CHANNEL, chat_id=update.chat_id, user_id=update.user_id
        )
        full = wanted and photos.full_today(update.user_id)
        path, mime = await photos.download(update) if wanted and not full else (None, "")
        attachment = Attachment(
            kind="photo",
            ref=update.photo_url,
            name="",  # Zalo gives a photo no name; the stored one is the bot's own
            mime=mime,
            path=path,
            refused="too_many" if full else None,
        )
        return Incoming.parse(
            channel=CHANNEL,
            chat_id=update.chat_id,
            user_id=update.user_id,
            display_name=display_name,
            text=update.caption or None,
            attachment=attachment,
        )
    if update.event_name == TEXT_EVENT and update.text and update.text.strip():
        return Incoming.parse(
            channel=CHANNEL,
            chat_id=update.chat_id,
            user_id=update.user_id,
            display_name=display_name,
            text=update.text,
        )
    return None


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)

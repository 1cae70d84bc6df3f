"""The attachment store: names the bot makes, the daily count, room on the disk."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import shutil
from pathlib import Path

from bot.core import clock

log = logging.getLogger(__name__)

_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,10}$")
DISK_RESERVE = 100 * 1024 * 1024  # bytes left free on the disk after any download


def stored_path(folder: Path, name: str, now: dt.datetime) -> Path:
    """Where a file goes: the time, a random part and the extension of `name` if it has a
    plain one; nothing else of what the sender or the platform said."""
    ext = name.rpartition(".")[2] if "." in name else ""
    suffix = f".{ext.lower()}" if _EXTENSION.match(ext) else ""
    local = now.astimezone(clock.LOCAL)
    return folder / f"{local:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}{suffix}"


def stored_today(folder: Path, today: dt.date) -> int:
    """Files stored in `folder` on `today` (local time)."""
    if not folder.is_dir():
        return 0
    stamp = f"{today:%Y%m%d}-"
    return sum(1 for p in folder.iterdir() if p.name.startswith(stamp))


def room_for(folder: Path, size: int) -> bool:
    """Whether `size` bytes fit on the disk of `folder` and leave the reserve (else logged)."""
    free = shutil.disk_usage(_existing(folder)).free
    if free - size < DISK_RESERVE:
        log.error("attachments: the disk is nearly full (%d MB free); file not stored", free >> 20)
        return False
    return True


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def opaque_folder(platform_id: str) -> str:
    """A folder name for a person from a platform's opaque id string, safe on any disk."""
    return hashlib.blake2b(platform_id.encode(), digest_size=8).hexdigest()

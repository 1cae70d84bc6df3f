"""The console channel: one message per line on stdin, replies on stdout.

Options print as numbered lines and are answered by their number, as on Zalo. Output is
flushed after every turn, so it works interactively and with piped input. A line that names
an existing file (`./anh-khen-thuong.jpg`) sends that file, as a photo or a document would be
sent on a chat: it is copied into the attachment store under a name the bot makes.
"""

from __future__ import annotations

import mimetypes
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TextIO

from bot.channels.attachments import stored_path
from bot.channels.text import render_reply
from bot.core import clock
from handlers.types import Attachment, Incoming, Reply, settle

CHANNEL = "console"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic")
MAX_BYTES = 20 * 1024 * 1024  # THIDUA_UPLOAD_MAX_MB's default


def as_attachment(text: str, store: Path | None, max_bytes: int = MAX_BYTES) -> Attachment | None:
    """The file `text` names, copied into `store`, as an attachment; None if it names none."""
    if store is None or len(text) > 4096:
        return None
    source = Path(text.strip().strip("'\"")).expanduser()
    try:
        if not source.is_file():
            return None
        size = source.stat().st_size
    except OSError:
        return None
    kind: Literal["photo", "document"] = (
        "photo" if source.suffix.lower() in PHOTO_SUFFIXES else "document"
    )
    mime = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
    if size > max_bytes:
        return Attachment(
            kind=kind, ref=str(source), name=source.name, mime=mime, refused="too_big"
        )
    folder = store / CHANNEL
    folder.mkdir(parents=True, exist_ok=True)
    target = stored_path(folder, source.name, clock.now())
    shutil.copyfile(source, target)
    return Attachment(kind=kind, ref=str(source), name=source.name, mime=mime, path=str(target))


def serve(
    handle: Callable[[Incoming], list[Reply]],
    *,
    user_id: str,
    name: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    prompt: bool = False,
    attachments: Path | None = None,
    max_bytes: int = MAX_BYTES,
) -> None:
    """Read lines until end of input; each non-empty line is one message (a file's path sends
    the file, copied into `attachments`, when that is given)."""
    while True:
        if prompt:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        if not text.strip():
            continue
        attachment = as_attachment(text, attachments, max_bytes)
        incoming = Incoming.parse(
            channel=CHANNEL,
            chat_id=user_id,
            user_id=user_id,
            display_name=name,
            text=None if attachment else text,
            attachment=attachment,
        )
        for reply in settle(handle(incoming)):
            stdout.write(render_reply(reply) + "\n\n")
        stdout.flush()

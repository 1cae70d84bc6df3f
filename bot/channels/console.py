"""The console channel: one message per line on stdin, replies on stdout.

Options print as numbered lines and are answered by their number, as on Zalo. Output is
flushed after every turn, so it works interactively and with piped input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot.channels.text import render_reply
from handlers.types import Incoming, Reply, settle

CHANNEL = "console"


def serve(
    handle: Callable[[Incoming], list[Reply]],
    *,
    user_id: str,
    name: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    prompt: bool = False,
) -> None:
    """Read lines until end of input; each non-empty line is one message."""
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
        incoming = Incoming.parse(
            channel=CHANNEL, chat_id=user_id, user_id=user_id, display_name=name, text=text
        )
        for reply in settle(handle(incoming)):
            stdout.write(render_reply(reply) + "\n\n")
        stdout.flush()

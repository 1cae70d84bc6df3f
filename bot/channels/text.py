"""Plain-text helpers shared by the channels: a reply as plain text, and a long message split
for a platform's limit.

Zalo takes 2,000 characters per message, Telegram 4,096. A long reply is cut on a paragraph
boundary if one falls in the second half of the window, else on a line, else on a word, so no
piece is needlessly short (on Zalo every piece counts against the monthly quota).
"""

from __future__ import annotations

import unicodedata

from handlers.types import Reply

# Boundaries in order of preference, with what to drop at the cut.
_BOUNDARIES = ("\n\n", "\n", " ")


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters that, joined back, read as `text`.

    Whitespace at a cut is dropped; pieces are never empty. An empty or blank text gives [].
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut(rest, limit)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut(text: str, limit: int) -> int:
    """Where to cut `text` (longer than `limit`): an index in 1..limit."""
    # A boundary *at* index `limit` still leaves `limit` characters before it.
    window = text[: limit + 1]
    best = 0
    for sep in _BOUNDARIES:
        pos = window.rfind(sep, 1)
        if pos >= limit // 2:
            return pos
        best = max(best, pos)
    if best > 0:
        return best
    # No whitespace at all: cut hard, but not between a letter and its combining mark
    # (Vietnamese typed in decomposed form carries its tone marks as separate characters).
    cut = limit
    while cut > 1 and unicodedata.combining(text[cut]):
        cut -= 1
    return cut


def render_reply(reply: Reply) -> str:
    """Plain text with numbered options: the form Zalo and the terminal share."""
    lines = [reply.text]
    if reply.options:
        lines.append("")
        numbered = [o for o in reply.options if not o.cancels]
        lines += [f"{n}. {option.label}" for n, option in enumerate(numbered, start=1)]
        lines += [f"0. {option.label}" for option in reply.options if option.cancels]
    if reply.document is not None:
        lines.append(f"[{reply.document.filename}]")
    if reply.image is not None:
        lines.append(f"[{reply.image.filename}]")
    return "\n".join(lines)

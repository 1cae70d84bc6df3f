"""Text as people type it, made safe to store and compare."""

from __future__ import annotations

import unicodedata


def clean_text(text: str) -> str:
    """NFC, no control characters, single spaces: what every typed string is stored as."""
    clean = text.isprintable() and "  " not in text and text == text.strip()
    if clean and unicodedata.is_normalized("NFC", text):  # most messages: nothing to do
        return text
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [" ".join(line.split()) for line in text.replace("\t", " ").splitlines()]
    return "\n".join(lines).strip()


def name_key(name: str) -> str:
    """A person's name folded for comparisons (case, spacing)."""
    return " ".join(clean_text(name).casefold().split())


def clean_line(text: str, limit: int) -> str:
    """`clean_text` on one line (a name, a command's arguments), at most `limit` characters."""
    return " ".join(clean_text(text).split())[:limit]

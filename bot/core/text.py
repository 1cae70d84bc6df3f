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


def fold(text: str) -> str:
    """Text folded for matching words a person types: NFC, lower case, no diacritics (so both
    tone-mark placements, "hủy" and "huỷ", and the unaccented "huy" fold alike), đ as d,
    single spaces."""
    decomposed = unicodedata.normalize("NFD", clean_text(text).casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.replace("đ", "d").split())


def tone_key(text: str) -> str:
    """Text folded for matching with its diacritics kept, but either tone-mark placement
    ("hủy"/"huỷ", "hoà"/"hòa") taken as one: the tone mark moved to the word's end."""
    words = []
    for word in clean_text(text).casefold().split():
        decomposed = unicodedata.normalize("NFD", word)
        tones = "".join(ch for ch in decomposed if ch in _TONES)
        rest = "".join(ch for ch in decomposed if ch not in _TONES)
        words.append(unicodedata.normalize("NFC", rest + tones))
    return " ".join(words)


# The five Vietnamese tone marks as combining characters: grave, acute, hook, tilde, dot below.
_TONES = frozenset("\u0300\u0301\u0309\u0303\u0323")

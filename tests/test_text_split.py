"""split_text: long replies cut for a channel's limit on paragraph, line, then word boundaries."""

from __future__ import annotations

import unicodedata

import pytest

from bot.channels.text import split_text


def _words(text: str) -> list[str]:
    return text.split()


def test_short_text_is_one_piece() -> None:
    assert split_text("Xin chào", 2000) == ["Xin chào"]
    assert split_text("x" * 2000, 2000) == ["x" * 2000]
    assert split_text("  \n\n ", 2000) == []
    assert split_text("", 10) == []


def test_cuts_on_paragraph_boundaries() -> None:
    paragraphs = [f"Đoạn {n}: " + "chữ " * 300 for n in range(6)]  # ~1,209 chars each
    text = "\n\n".join(p.strip() for p in paragraphs)
    pieces = split_text(text, 2000)
    assert [len(p) <= 2000 for p in pieces] == [True] * len(pieces)
    assert pieces == [p.strip() for p in paragraphs]  # too long to pair: one per piece


def test_packs_paragraphs_and_uses_few_pieces() -> None:
    text = "\n\n".join(["a" * 900, "b" * 900, "c" * 900, "d" * 900])
    pieces = split_text(text, 2000)
    assert pieces == ["a" * 900 + "\n\n" + "b" * 900, "c" * 900 + "\n\n" + "d" * 900]


def test_prefers_a_line_when_the_last_paragraph_break_is_too_early() -> None:
    text = "intro\n\n" + "\n".join(f"dòng {n:04d} " + "x" * 40 for n in range(100))
    pieces = split_text(text, 2000)
    assert all(len(p) <= 2000 for p in pieces)
    assert len(pieces[0]) > 1000  # not cut right after "intro"
    assert all(p.startswith("dòng") for p in pieces[1:])  # every cut on a line boundary
    assert "\n".join(pieces) == text


def test_falls_back_to_words_then_hard_cut() -> None:
    text = " ".join(f"từ{n}" for n in range(2000))
    pieces = split_text(text, 500)
    assert all(len(p) <= 500 for p in pieces)
    assert _words(" ".join(pieces)) == _words(text)  # no word broken
    assert split_text("y" * 2500, 1000) == ["y" * 1000, "y" * 1000, "y" * 500]


def test_hard_cut_keeps_combining_marks_with_their_letter() -> None:
    decomposed = unicodedata.normalize("NFD", "ộ") * 10  # o + two combining marks, x10
    pieces = split_text(decomposed, 4)
    assert all(len(p) <= 4 for p in pieces)
    assert "".join(pieces) == decomposed
    assert all(not unicodedata.combining(p[0]) for p in pieces)


def test_five_thousand_characters_at_the_zalo_limit_make_three_messages() -> None:
    text = "\n\n".join(f"Mục {n}. " + "nội dung " * 49 + "hết." for n in range(11))
    assert 4900 <= len(text) <= 5600
    pieces = split_text(text, 2000)
    assert len(pieces) == 3 and all(len(p) <= 2000 for p in pieces)
    assert "\n\n".join(pieces) == text


def test_telegram_limit() -> None:
    text = "\n".join("x" * 99 for _ in range(100))  # 9,999 characters
    pieces = split_text(text, 4096)
    assert [len(p) for p in pieces] == [3999, 3999, 1999]  # 40 + 40 + 20 whole lines
    assert all(len(p) <= 4096 for p in pieces) and "\n".join(pieces) == text


def test_bad_limit() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0)

"""Picking several items of a numbered list by typing their numbers ("1, 3" or "1 3")."""

from __future__ import annotations

import re

from bot.core.i18n import _
from bot.core.text import fold
from handlers.engine import Invalid

#: Typed to pick none where none may be picked (folded). Matching data, not text shown.
NONE_WORDS = frozenset(fold(w) for w in ("không", "bỏ qua", "none", "skip", "-"))


def numbered(labels: list[str]) -> str:
    return "\n".join(f"{i}. {label}" for i, label in enumerate(labels, start=1))


def parse_numbers(text: str, count: int, *, allow_none: bool = False) -> list[int]:
    """The 0-based positions typed ("1, 3"), each once, in list order; else Invalid."""
    if allow_none and fold(text.strip()) in NONE_WORDS:
        return []
    parts = [p for p in re.split(r"[\s,;.]+", text.strip()) if p]
    if not parts or not all(re.fullmatch(r"[0-9]{1,3}", p) for p in parts):
        raise Invalid(
            _("Please type the numbers of your choices, separated by commas (e.g. 1, 3).")
        )
    picked = sorted({int(p) for p in parts})
    if picked[0] < 1 or picked[-1] > count:
        raise Invalid(_("Please use numbers from 1 to {n}.").format(n=count))
    return [n - 1 for n in picked]

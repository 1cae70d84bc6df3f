"""Every message has a Vietnamese and an English translation, and the shipped .mo match."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bot.core.i18n import language, translations

ROOT = Path(__file__).resolve().parent.parent


def _catalogs():
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "tools" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_is_translated_and_compiled():
    assert _catalogs().problems() == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("vi", "Đã hủy. Chưa có gì được lưu."), ("en", "Cancelled. Nothing was saved.")],
)
def test_installed_catalogs_translate(lang, expected):
    from bot.core.i18n import _

    with language(lang):
        assert _("Cancelled. Nothing was saved.") == expected
    assert translations(lang).gettext("Skip") in ("Bỏ qua", "Skip")


def test_unknown_language_falls_back_to_vietnamese():
    from bot.core.i18n import _

    with language("fr-FR"):
        assert _("Skip") == "Bỏ qua"

"""Translations (Babel catalogs in `locales/`), the current language, and Vietnamese formats.

The language is a context variable: a handler sets it to the person's language for the turn
and every `_()` and template in that turn follows. Catalogs are split by domain (one `.mo` per
area of the bot); all domains of a language are merged into one `Translations`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path

from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, StrictUndefined

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_current: ContextVar[str] = ContextVar("thidua_lang", default=DEFAULT_LANGUAGE)
_default = DEFAULT_LANGUAGE  # THIDUA_LANG, set at start-up


def locales_dir() -> Path:
    return Path(str(resources.files("locales")))


@cache
def translations(lang: str) -> NullTranslations:
    """Every domain's catalog for `lang`, merged; an unknown language gets the msgids."""
    folder = locales_dir() / lang / "LC_MESSAGES"
    merged: Translations | None = None
    for mo in sorted(folder.glob("*.mo")) if folder.is_dir() else []:
        with mo.open("rb") as fp:
            catalog = Translations(fp, domain=mo.stem)
        if merged is None:
            merged = catalog
        else:
            merged.merge(catalog)
    return merged or NullTranslations()


def normalize_language(code: str | None) -> str:
    """'en-US' -> 'en'; anything we do not speak (or None) -> the configured default."""
    short = (code or "").split("-")[0].split("_")[0].lower()
    return short if short in LANGUAGES else _default


def current_language() -> str:
    return _current.get()


def default_language() -> str:
    return _default


def set_default_language(lang: str) -> None:
    global _default
    _default = DEFAULT_LANGUAGE  # so that an unknown value falls back to Vietnamese
    _default = normalize_language(lang)
    _current.set(_default)


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    token = _current.set(normalize_language(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def format_day(day: dt.date) -> str:
    """15/07/2022: the short form people and chats use."""
    return day.strftime("%d/%m/%Y")


def weekday_name(day: dt.date) -> str:
    """'Thứ Bảy' in Vietnamese, 'Saturday' in English (from the catalog, not the locale)."""
    names = (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )
    return names[day.weekday()]


def format_weekday(day: dt.date) -> str:
    """'Thứ Bảy, 31/12/2022': a day with its weekday, as a push names the day it is about."""
    return _("{weekday}, {day}").format(weekday=weekday_name(day), day=format_day(day))


def format_long_day(day: dt.date) -> str:
    """'ngày 15 tháng 7 năm 2022' in Vietnamese; '15 July 2022' in English."""
    if _current.get() == "vi":
        return f"ngày {day.day} tháng {day.month} năm {day.year}"
    return f"{day.day} {day.strftime('%B')} {day.year}"


def format_number(value: float | Decimal) -> str:
    return format_decimal(value, locale=_current.get())


def format_percent(points: float) -> str:
    """27 -> '27%', 99.82 -> '99,82%' (Babel's form for the current language; a plan's
    decimal KPI keeps its decimals)."""
    return babel_percent(float(points) / 100, "#,##0.##%", locale=_current.get())


@cache
def templates() -> Environment:
    """Jinja2 environment over `bot/templates`, translated through the current language."""
    env = Environment(
        loader=PackageLoader("bot.core", "templates"),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: _(s), lambda s, p, n: ngettext(s, p, n), newstyle=True
    )
    env.filters["day"] = format_day
    env.filters["long_day"] = format_long_day
    env.filters["weekday_day"] = format_weekday
    env.filters["number"] = format_number
    env.filters["percent"] = format_percent
    return env


@cache
def document_templates() -> Environment:
    """The environment of the office's Word templates (exports/docx_template.py): the same
    translation and filters, sandboxed (the templates are files an office edits, not code)."""
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(extensions=["jinja2.ext.i18n"], undefined=StrictUndefined)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: _(s), lambda s, p, n: ngettext(s, p, n), newstyle=True
    )
    env.filters.update(templates().filters)
    return env


def render(template: str, **context: object) -> str:
    """Render `bot/templates/<template>` in the current language; trailing space trimmed."""
    return templates().get_template(template).render(**context).strip()

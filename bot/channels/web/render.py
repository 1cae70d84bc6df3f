"""The desk's HTML: Jinja2 templates under `bot/channels/web/templates`, HTML-escaped, through
the same catalogs as the chat (the reader's language for the request)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.core.clock import LOCAL
from bot.core.i18n import (
    _,
    current_language,
    format_day,
    format_number,
    format_percent,
    ngettext,
)


def local_time(value: dt.datetime | None) -> str:
    """15/07/2022 14:05, Vietnam time."""
    if value is None:
        return ""
    return value.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M")


def local_day(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(LOCAL).date()
    return format_day(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.channels.web", "templates"),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: _(s),
        lambda s, p, n: ngettext(s, p, n),
        newstyle=True,
    )
    env.filters["day"] = local_day
    env.filters["time"] = local_time
    env.filters["number"] = format_number
    env.filters["percent"] = format_percent
    env.globals["lang"] = current_language
    return env


def page(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)

"""Library errors in the user's language: a pydantic validation error, an OS error.

Neither pydantic's nor the OS's English wording reaches a Vietnamese clerk; what the check
wanted (a pattern, a bound, a type) is said in the catalog's words instead.
"""

from __future__ import annotations

import errno
from typing import Any

from bot.core.i18n import _, format_number


def validation_message(err: Any) -> str:
    """One pydantic `ErrorDetails` as a short phrase: what the value should be."""
    kind: str = err.get("type", "")
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return _("the value is missing")
    if kind == "string_pattern_mismatch":
        return _("“{value}” is not in the expected form ({pattern})").format(
            value=value, pattern=ctx.get("pattern", "")
        )
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": _("must be greater than {limit}"),
            "greater_than_equal": _("must be at least {limit}"),
            "less_than": _("must be less than {limit}"),
            "less_than_equal": _("must be at most {limit}"),
        }
        limit = next(iter(ctx.values()), "")
        if isinstance(limit, int | float):
            limit = format_number(limit)
        return words[kind].format(limit=limit)
    if kind in ("string_too_short", "too_short"):
        return _("too short (at least {n})").format(n=ctx.get("min_length", 1))
    if kind in ("string_too_long", "too_long"):
        return _("too long (at most {n})").format(n=ctx.get("max_length", ""))
    if kind.startswith(("int_", "float_", "decimal_")):
        return _("“{value}” is not a number").format(value=value)
    if kind.startswith(("date", "datetime", "time")):
        return _("“{value}” is not a date or time (ISO 8601, e.g. 2022-07-15)").format(value=value)
    if kind.startswith("timedelta"):
        return _("“{value}” is not a duration (ISO 8601, e.g. PT12H)").format(value=value)
    if kind.startswith("bool"):
        return _("“{value}” is not yes or no (true, false)").format(value=value)
    if kind in ("literal_error", "enum"):
        return _("“{value}” is not one of: {allowed}").format(
            value=value, allowed=ctx.get("expected", "")
        )
    if kind == "extra_forbidden":
        return _("unknown field")
    if kind.endswith("_type"):
        return _("the value has the wrong type")
    return _("the value is not valid")


def os_reason(exc: OSError | UnicodeDecodeError) -> str:
    """Why a file could not be read or written, in the user's language."""
    if isinstance(exc, UnicodeDecodeError):
        return _("it is not UTF-8 text")
    if isinstance(exc, FileNotFoundError):
        return _("there is no such file")
    if isinstance(exc, IsADirectoryError):
        return _("it is a folder, not a file")
    if isinstance(exc, FileExistsError):
        return _("a file of that name is already there")
    if isinstance(exc, NotADirectoryError):
        return _("a part of the path is a file, not a folder")
    if isinstance(exc, PermissionError):
        return _("permission denied")
    if exc.errno == errno.ENOSPC:
        return _("the disk is full")
    return _("the system refused it (error {n})").format(n=exc.errno)

"""CSV export: one table, UTF-8 with a byte-order mark so Excel reads Vietnamese correctly.

Safe cells (OWASP's rule for CSV injection): a text that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return gets a leading `'`, so a spreadsheet shows it as text and never runs it
as a formula. A list item such as "- Hoàn thành" then reads "'- Hoàn thành".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import BinaryIO

from bot.core.exports.rows import Percent, Scope, Table, table
from bot.core.i18n import format_day, format_percent

MIME = "text/csv"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(text: str) -> str:
    """`text` as a spreadsheet must show it: with a `'` before a formula's first character."""
    return "'" + text if text.startswith(DANGEROUS) else text


def cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dt.date):
        return format_day(value)
    if isinstance(value, Percent):
        return format_percent(value.points)
    return value


def write_table(data: Table, out: Path | BinaryIO, delimiter: str = ",") -> None:
    if isinstance(out, Path):
        with out.open("wb") as fp:
            write_table(data, fp, delimiter)
        return
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text, delimiter=delimiter)
        writer.writerow([safe(c.header) for c in data.columns])
        for row in data.rows:
            writer.writerow([cell(v) for v in row])
        text.flush()
    finally:
        text.detach()  # leave `out` open for the caller


def export(scope: Scope, out: Path | BinaryIO, key: str = "reports", delimiter: str = ",") -> None:
    """One table of `scope` (reports by default) as CSV."""
    write_table(table(scope, key), out, delimiter)

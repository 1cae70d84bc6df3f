"""CSV export: one table, UTF-8 with a byte-order mark so Excel reads Vietnamese correctly."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import BinaryIO

from bot.core.exports.rows import Scope, Table, table
from bot.core.i18n import format_day

MIME = "text/csv"


def write_table(data: Table, out: Path | BinaryIO) -> None:
    if isinstance(out, Path):
        with out.open("wb") as fp:
            write_table(data, fp)
        return
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow([c.header for c in data.columns])
        for row in data.rows:
            writer.writerow(
                [
                    format_day(v) if isinstance(v, dt.date) else ("" if v is None else v)
                    for v in row
                ]
            )
        text.flush()
    finally:
        text.detach()  # leave `out` open for the caller


def export(scope: Scope, out: Path | BinaryIO, key: str = "reports") -> None:
    """One table of `scope` (reports by default) as CSV."""
    write_table(table(scope, key), out)

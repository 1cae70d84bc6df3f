"""XLSX export (xlsxwriter, `constant_memory`): one sheet per table, rows streamed to the file.

Every sheet has a bold, frozen header row, an autofilter over its rows, set column widths,
wrapped long text, real dates (dd/mm/yyyy), numbers as numbers and percentages as percentages,
so the office can sort and filter without retyping. It prints: landscape A4, one page wide,
the header row on every page.

Safe cells: whatever a person typed is written as a string, never as a formula or a link
(`strings_to_formulas` and `strings_to_urls` off, and `write_string` for every text), so a
report titled `=HYPERLINK(...)` shows as that text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bot.core.exports.rows import Percent, Scope, Table, all_tables
from bot.core.i18n import _

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "dd/mm/yyyy"
PERCENT_FORMAT = "0%"
WRAP_FROM = 24  # columns at least this wide wrap their text
A4 = 9  # xlsxwriter's paper code
Progress = Callable[[int], None]


def _options() -> dict[str, Any]:
    return {
        "constant_memory": True,  # rows go to disk as written: flat memory at any row count
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": DATE_FORMAT,
        "remove_timezone": True,
    }


def _print_setup(ws: Worksheet) -> None:
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as it takes
    ws.repeat_rows(0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C&P / &N")


def _write_table(
    wb: xlsxwriter.Workbook, table: Table, formats: dict[str, Format], progress: Progress | None
) -> None:
    ws = wb.add_worksheet(table.name[:31])
    for i, column in enumerate(table.columns):
        if column.kind == "date":
            fmt: Format | None = formats["date"]
        elif column.kind == "percent":
            fmt = formats["percent"]
        elif column.width >= WRAP_FROM:
            fmt = formats["wrap"]
        else:
            fmt = formats["top"]
        ws.set_column(i, i, column.width, fmt)
    ws.freeze_panes(1, 0)
    _print_setup(ws)
    for i, column in enumerate(table.columns):
        ws.write_string(0, i, column.header, formats["header"])
    text, number, when = ws.write_string, ws.write_number, ws.write_datetime
    percent = formats["percent"]
    r = 0
    for r, row in enumerate(table.rows, start=1):
        for c, value in enumerate(row):
            # the common types first: this loop is the export's time
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                if value:
                    text(r, c, value)
            elif kind is int or kind is float:
                number(r, c, value)
            elif kind is dt.date or kind is dt.datetime:
                when(r, c, value)
            elif kind is Percent:
                number(r, c, value.points / 100, percent)
            elif kind is bool:
                number(r, c, int(value))
            else:  # anything else is shown as its text, never interpreted
                text(r, c, str(value))
        if progress is not None and r % 1000 == 0:
            progress(1000)
    if progress is not None and r % 1000:
        progress(r % 1000)
    ws.autofilter(0, 0, r, len(table.columns) - 1)


def write_tables(
    tables: list[Table],
    out: Path | BinaryIO,
    progress: Progress | None = None,
    *,
    office: str = "",
    title: str = "",
) -> None:
    """`progress(n)` is told of every n rows written (by the thousand); the file's properties
    name `office` as its author, not the library."""
    wb = xlsxwriter.Workbook(str(out) if isinstance(out, Path) else out, _options())
    wb.set_properties({"title": title, "author": office, "company": office})
    formats = {
        "header": wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "vcenter"}
        ),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "top": wb.add_format({"valign": "top"}),
        "date": wb.add_format({"num_format": DATE_FORMAT, "valign": "top"}),
        "percent": wb.add_format({"num_format": PERCENT_FORMAT, "valign": "top"}),
    }
    for table in tables:
        _write_table(wb, table, formats, progress)
    wb.close()


def export(scope: Scope, out: Path | BinaryIO, progress: Progress | None = None) -> None:
    """Units' status, reports, nominations and targets of `scope` as one workbook."""
    title = _("Emulation campaign {year}: compiled figures").format(year=scope.campaign.year)
    write_tables(
        all_tables(scope), out, progress, office=scope.campaign.plan.issuing_body, title=title
    )

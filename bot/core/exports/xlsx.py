"""XLSX export (rustpy-xlsxwriter: rust_xlsxwriter in constant-memory mode): one sheet per
table, rows streamed from the database to the file.

Every sheet has a bold, frozen header row, an autofilter over its rows, set column widths,
wrapped long text, real dates (dd/mm/yyyy), numbers as numbers and percentages as percentages,
so the office can sort and filter without retyping. It prints: landscape A4, one page wide,
the header row on every page, page numbers in the footer.

Safe cells: whatever a person typed is written as a string cell, never as a formula or a link
(the writer makes formulas only from `formula_columns`, links only from `url_columns`, and
this module asks for neither), so a report titled `=HYPERLINK(...)` shows as that text.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from rustpy_xlsxwriter import Format, write_worksheets

from bot.core.exports.registration_rows import prechecks_table, registrations_table
from bot.core.exports.rows import Percent, Scope, Table, all_tables

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "dd/mm/yyyy"
PERCENT_FORMAT = "0%"
WRAP_FROM = 24  # columns at least this wide wrap their text
A4 = 9  # Excel's paper code
TICK = 1000  # rows between two progress reports
STREAMED = ("reports", "nominations")
Progress = Callable[[int], None]


def _column_format(kind: str, width: float) -> Format:
    fmt = Format().set_align("top")
    if kind == "date":
        return fmt.set_num_format(DATE_FORMAT)
    if kind == "percent":
        return fmt.set_num_format(PERCENT_FORMAT)
    return fmt.set_text_wrap() if width >= WRAP_FROM else fmt


def _records(table: Table, progress: Progress | None) -> Iterator[dict[str, Any]]:
    """The table's rows as the writer takes them: {header: value}; a percentage as a fraction.
    An empty table is one empty record, so that its sheet still has its header row."""
    headers = [c.header for c in table.columns]
    assert len(set(headers)) == len(headers), f"{table.key}: headers must differ"
    percents = [i for i, c in enumerate(table.columns) if c.kind == "percent"]
    rows: Iterable[tuple] = table.rows
    first = next(iter_rows := iter(rows), None)
    if first is None:
        yield dict.fromkeys(headers)
        return
    count = 0
    for row in itertools.chain((first,), iter_rows):
        if percents:
            values = list(row)
            for i in percents:
                value = values[i]
                if isinstance(value, Percent):
                    values[i] = value.points / 100
            row = tuple(values)
        yield dict(zip(headers, row, strict=True))
        count += 1
        if progress is not None and count % TICK == 0:
            progress(TICK)
    if progress is not None and count % TICK:
        progress(count % TICK)


def write_tables(
    tables: list[Table], out: Path | BinaryIO, progress: Progress | None = None
) -> None:
    """`progress(n)`, when given, is told every time n more rows are written."""
    names = [t.name[:31] for t in tables]
    sheets = list(zip(names, tables, strict=True))
    header = (
        Format().set_bold().set_background_color("#DDEBF7").set_text_wrap().set_align("vcenter")
    )
    print_setup = {
        "landscape": True,
        "paper_size": A4,
        "fit_to_pages": (1, 0),  # one page wide, as many tall as it takes
        "repeat_rows": 0,
        "margins": {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6},
        "footer": "&C&P / &N",
    }
    write_worksheets(
        # the bar counts the streamed rows (`rows.row_count`); the small tables are instant
        [(name, _records(t, progress if t.key in STREAMED else None)) for name, t in sheets],
        str(out) if isinstance(out, Path) else out,
        freeze_panes={"general": {"row": 1, "col": 0}},
        autofilter={"general": True},
        header_format={"general": header},
        column_widths={
            n: [c.width for c in t.columns] for n, t in zip(names, tables, strict=True)
        },
        column_formats={
            n: [_column_format(c.kind, c.width) for c in t.columns]
            for n, t in zip(names, tables, strict=True)
        },
        page_setup={"general": print_setup},
    )


def export(scope: Scope, out: Path | BinaryIO, progress: Progress | None = None) -> None:
    """Units' status, reports, nominations, targets, registrations and pre-checks of `scope`
    as one workbook."""
    tables = [*all_tables(scope), registrations_table(scope), prechecks_table(scope)]
    write_tables(tables, out, progress)

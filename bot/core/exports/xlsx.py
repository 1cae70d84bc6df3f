"""XLSX export (openpyxl write-only): one sheet per table, rows streamed to the file.

Every sheet has a bold, frozen header row, an autofilter over its rows, set column widths,
and real dates (dd/mm/yyyy), so the office can sort and filter without retyping.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.core.exports.rows import Scope, Table, all_tables

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "DD/MM/YYYY"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGN = Alignment(vertical="center", wrap_text=True)


def write_tables(tables: list[Table], out: Path | BinaryIO) -> None:
    wb = Workbook(write_only=True)
    for table in tables:
        ws = wb.create_sheet(title=table.name[:31])
        last = get_column_letter(len(table.columns))
        for i, column in enumerate(table.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.freeze_panes = "A2"
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(ws, value=column.header)
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGN
            header.append(cell)
        ws.append(header)
        # One styled cell per date column, reused: a write-only row is serialised on append.
        dates = {}
        for i, column in enumerate(table.columns):
            if column.kind == "date":
                dates[i] = WriteOnlyCell(ws)
                dates[i].number_format = DATE_FORMAT
        count = 0
        for row in table.rows:
            if dates:
                values = list(row)
                for i, cell in dates.items():
                    if values[i] is not None:
                        cell.value = values[i]
                        values[i] = cell
                ws.append(values)
            else:
                ws.append(row)
            count += 1
        ws.auto_filter.ref = f"A1:{last}{count + 1}"
    wb.save(out)


def export(scope: Scope, out: Path | BinaryIO) -> None:
    """Units' status, reports, nominations and targets of `scope` as one workbook."""
    write_tables(all_tables(scope), out)

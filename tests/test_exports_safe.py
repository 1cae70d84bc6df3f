"""Safe, printable exports: formulas typed by people stay text in XLSX and CSV; sheets print."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import clock
from bot.core.db import session_scope
from bot.core.reports import record_report
from bot.core.settings import get_settings
from bot.core.store import active_campaign

DANGEROUS = [
    '=HYPERLINK("http://example.invalid","Bấm")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
    "- Hoàn thành vượt mức kế hoạch",
]


@pytest.fixture(autouse=True)
def cli_clock(monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-05-10T09:00:00+07:00")
    get_settings.cache_clear()


@pytest.fixture
def planted(people):
    person = people.add(unit="QLCN", name="=1+1")
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        from bot.core import models as m

        who = session.get(m.Person, person.id)
        for text in DANGEROUS:
            record_report(
                session=session,
                campaign=row,
                person=who,
                phase=1,
                area="chuyen-mon",
                title=text,
                detail=text,
                now=clock.now(),
            )
    return person


def ooxml(value):
    """A string as Excel reads it: OOXML writes a control character as `_x000D_`."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def run(tmp_path, *args: str) -> bytes:
    out = tmp_path / "out.bin"
    result = CliRunner().invoke(app, ["export", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_xlsx_keeps_every_formula_as_text(planted, tmp_path):
    wb = load_workbook(io.BytesIO(run(tmp_path, "--format", "xlsx")))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    rows = list(wb["Báo cáo"].iter_rows(min_row=2, values_only=True))
    assert [ooxml(r[7]) for r in rows] == DANGEROUS  # the title, exactly as typed
    assert [ooxml(r[8]) for r in rows] == DANGEROUS  # the achievement
    assert {r[4] for r in rows} == {"=1+1"}  # the person's name


def test_csv_quotes_every_dangerous_start(planted, tmp_path):
    raw = run(tmp_path, "--format", "csv")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))[1:]
    assert [r[7] for r in rows] == ["'" + t for t in DANGEROUS]
    assert [r[8] for r in rows] == ["'" + t for t in DANGEROUS]
    assert {r[4] for r in rows} == {"'=1+1"}
    assert rows[-1][7] == "'- Hoàn thành vượt mức kế hoạch"  # still reads as the text
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_csv_delimiter(planted, tmp_path):
    raw = run(tmp_path, "--format", "csv", "--delimiter", ";")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:3] == ["Số biên nhận", "Đợt thi đua", "Mã đơn vị"]
    assert rows[1][7] == "'" + DANGEROUS[0]


def test_xlsx_prints_landscape_one_page_wide(planted, tmp_path):
    wb = load_workbook(io.BytesIO(run(tmp_path, "--format", "xlsx")))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert str(ws.page_setup.paperSize) == "9"  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1, "1")  # absent means 1 (ECMA-376)
        assert ws.page_setup.fitToHeight in (0, "0")
        assert ws.print_title_rows.replace("$", "") == "1:1"
        assert ws["A1"].alignment.wrap_text
    reports = wb["Báo cáo"]
    assert reports["I2"].alignment.wrap_text  # the achievement wraps
    assert reports["A2"].data_type == "s" and reports["B2"].data_type == "n"
    assert not wb.properties.creator  # no library named as the author


def test_the_progress_bar_counts_the_streamed_rows(planted, tmp_path):
    from bot.core.exports import xlsx
    from bot.core.exports.rows import Scope, row_count

    ticks: list[int] = []
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        scope = Scope(session=session, campaign_row=row, campaign=campaign, today=clock.today())
        xlsx.export(scope, tmp_path / "x.xlsx", ticks.append)
        assert sum(ticks) == row_count(scope) == len(DANGEROUS)

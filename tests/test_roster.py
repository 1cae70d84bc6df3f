"""The staff list imported twice, by a stable key, never duplicating; bad files write nothing;
personal invites (CLI, printable sheets) that bind a chat to the imported person."""

from __future__ import annotations

import csv
import json
import unicodedata
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import models as m
from bot.core.db import session_scope
from tests.conftest import Chat

UNITS = ["QLCN", "QLTM", "QLNL", "KHTC", "TTRA", "TTKC"]
HEADER = ["Họ và tên", "Mã đơn vị", "Vai trò", "Số điện thoại", "Email", "Chức vụ", "Mã cán bộ"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def people() -> list[m.Person]:
    with session_scope() as session:
        return list(session.exec(select(m.Person).order_by(m.Person.id)))


def roster(n: int = 300) -> list[list[str]]:
    return [
        [
            f"Nguyễn Văn {i:03d}",
            UNITS[i % len(UNITS)],
            "head" if i % 50 == 0 else "staff",
            f"09{i:08d}",
            f"nv{i}@sct.hatinh.gov.vn",
            "Chuyên viên",
            f"CB{i:04d}",
        ]
        for i in range(n)
    ]


def write_csv(path, rows, header=HEADER) -> str:
    with path.open("w", encoding="utf-8", newline="") as fp:
        writer = csv.writer(fp)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def import_json(path: str, *extra: str) -> dict:
    result = run("people", "import", path, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_300_person_roster_imported_twice(tmp_path, ready):
    first = import_json(write_csv(tmp_path / "a.csv", roster()))
    assert (len(first["added"]), len(first["changed"]), first["unchanged"]) == (300, 0, 0)
    again = import_json(write_csv(tmp_path / "a.csv", roster()))
    assert (len(again["added"]), len(again["changed"]), again["unchanged"]) == (0, 0, 300)

    rows = roster()
    moved = {5, 17, 42, 101, 250}
    for i in moved:
        rows[i][1] = "KHTC" if rows[i][1] != "KHTC" else "QLCN"
    left = {3, 77, 199}
    rows = [r for i, r in enumerate(rows) if i not in left]
    rows += [
        ["Trần Thị Mới", "QLCN", "staff", "", "", "", "CB9001"],
        ["Lê Văn Mới", "TTRA", "", "0977 000 111", "", "", ""],
    ]
    second = import_json(write_csv(tmp_path / "b.csv", rows))
    assert sorted(p["name"] for p in second["added"]) == ["Lê Văn Mới", "Trần Thị Mới"]
    assert sorted(c["name"] for c in second["changed"]) == sorted(
        f"Nguyễn Văn {i:03d}" for i in moved
    )
    assert all(c["fields"] == ["unit_id"] for c in second["changed"])
    assert second["unchanged"] == 300 - 5 - 3
    assert sorted(p["name"] for p in second["missing"]) == sorted(
        f"Nguyễn Văn {i:03d}" for i in left
    )
    stored = people()
    assert len(stored) == 302  # no duplicate
    assert len({p.staff_no for p in stored if p.staff_no}) == 301
    assert all(p.active for p in stored)  # the missing are reported, not deactivated

    third = import_json(write_csv(tmp_path / "b.csv", rows), "--deactivate-missing")
    assert third["deactivated"] and len(third["missing"]) == 3
    inactive = [p for p in people() if not p.active]
    assert sorted(p.full_name for p in inactive) == sorted(f"Nguyễn Văn {i:03d}" for i in left)
    assert all(p.left_at is not None for p in inactive)


def test_the_text_report_says_what_changed(tmp_path, ready):
    path = write_csv(tmp_path / "a.csv", roster(4))
    assert "Thêm mới 4, thay đổi 0, giữ nguyên 0." in run("people", "import", path).stdout
    rows = roster(3)
    rows[1][2] = "head"
    out = run("people", "import", write_csv(tmp_path / "b.csv", rows)).stdout
    assert "Thêm mới 0, thay đổi 1, giữ nguyên 2." in out
    assert "thay đổi: Nguyễn Văn 001 (QLTM): role" in out
    assert "Không có trong tệp (1)" in out and "Nguyễn Văn 003 (KHTC)" in out


def test_without_staff_numbers_the_key_is_name_and_unit_and_a_mover_is_found(tmp_path, ready):
    header = ["name", "unit", "role"]
    rows = [["Phan Văn Nam", "QLCN", "staff"], ["Lê Thị Hoa", "QLTM", "head"]]
    import_json(write_csv(tmp_path / "a.csv", rows, header))
    rows[0][1] = "KHTC"  # moved; the name is unique, so it is the same person
    again = import_json(write_csv(tmp_path / "a.csv", rows, header))
    assert again["added"] == [] and [c["fields"] for c in again["changed"]] == [["unit_id"]]
    assert len(people()) == 2


def test_nfd_names_and_the_same_name_in_two_units(tmp_path, ready):
    header = ["name", "unit"]
    rows = [[unicodedata.normalize("NFD", "Nguyễn Thị Lan"), "QLCN"], ["Nguyễn Thị Lan", "QLTM"]]
    first = import_json(write_csv(tmp_path / "a.csv", rows, header))
    assert len(first["added"]) == 2
    rows[0][0] = "Nguyễn Thị Lan"  # NFC now: still the same person
    again = import_json(write_csv(tmp_path / "a.csv", rows, header))
    assert again["added"] == [] and again["unchanged"] == 2
    assert all(unicodedata.is_normalized("NFC", p.full_name) for p in people())


def test_xlsx_roster(tmp_path, ready):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in roster(5):
        ws.append(row)
    wb.save(tmp_path / "r.xlsx")
    assert len(import_json(str(tmp_path / "r.xlsx"))["added"]) == 5
    assert len(import_json(str(tmp_path / "r.xlsx"))["added"]) == 0


@pytest.mark.parametrize(
    ("header", "rows", "expected"),
    [
        (["Họ tên", "Vai trò"], [["A", "staff"]], "tệp không có cột “Đơn vị”"),
        (["Đơn vị"], [["QLCN"]], "tệp không có cột “Họ tên”"),
        (["name", "unit"], [["A", "QLCN"], ["B", "NOPE"]], "dòng 3: không có đơn vị mã “NOPE”"),
        (
            ["name", "unit", "staff_no"],
            [["A", "QLCN", "CB1"], ["B", "QLTM", "cb1"]],
            "dòng 3: trùng người với dòng 2",
        ),
        (["name", "unit"], [["A", "QLCN"], ["a", "qlcn"]], "dòng 3: trùng người với dòng 2"),
        (
            ["name", "unit", "phone"],
            [["A", "QLCN", "0912 345 678"], ["B", "QLTM", "0912.345.678"]],
            "dòng 3: trùng người với dòng 2",
        ),
        (["name", "unit", "email"], [["A", "QLCN", "không-phải-email"]], "không phải địa chỉ"),
        (["name", "unit"], [], "tệp không có dòng dữ liệu nào"),
    ],
)
def test_a_bad_roster_is_named_and_nothing_is_written(tmp_path, ready, header, rows, expected):
    good = [["Người Tốt", "QLCN"] + [""] * (len(header) - 2)] if len(header) >= 2 else []
    path = write_csv(tmp_path / "bad.csv", [*rows, *good] if rows else rows, header)
    result = run("people", "import", path)
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr
    assert people() == []


# --- personal invites ---------------------------------------------------------------------


def imported(tmp_path, n: int = 3) -> None:
    import_json(write_csv(tmp_path / "r.csv", roster(n)))


def test_invite_person_binds_the_chat_to_that_person(tmp_path, ready):
    imported(tmp_path)
    result = run("invite", "--person", "CB0001", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["name"] == "Nguyễn Văn 001" and row["unit"] == "QLTM" and row["new"]
    again = json.loads(run("invite", "--person", "CB0001", "--json").stdout)
    assert again[0]["code"] == row["code"] and not again[0]["new"]  # one code per person
    chat = Chat("zalo-7", channel="zalo", name="Văn 001")
    chat.say(f"/start {row['code']}")
    assert "Xin chào Nguyễn Văn 001!" in chat.text
    stored = people()
    assert len(stored) == 3  # bound, not a new person
    with session_scope() as session:
        ident = session.exec(select(m.Identity)).one()
        assert ident.person_id == stored[1].id
    after = run("invite", "--person", "CB0001", "--json")
    assert json.loads(after.stdout) == [] and "đã đăng ký" in after.stderr


def test_invite_unit_pending_and_printable_sheets(tmp_path, ready):
    imported(tmp_path, 12)  # QLCN: 000, 006
    result = run("invite", "--unit", "QLCN", "--pending", "--json")
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["Nguyễn Văn 000", "Nguyễn Văn 006"]
    Chat("t1").say(f"/start {rows[0]['code']}")
    left = json.loads(run("invite", "--unit", "QLCN", "--pending", "--json").stdout)
    assert [r["name"] for r in left] == ["Nguyễn Văn 006"] and left[0]["code"] == rows[1]["code"]

    xlsx = tmp_path / "moi.xlsx"
    out = run("invite", "--unit", "QLCN", "--pending", "--format", "xlsx", "--out", str(xlsx))
    assert out.exit_code == 0, out.output
    ws = load_workbook(xlsx).active
    header = [c.value for c in ws[1]][:5]
    assert header == ["Họ tên", "Đơn vị", "Mã mời", "Đường dẫn", "Hiệu lực đến"]
    assert ws["A2"].value == "Nguyễn Văn 006" and ws["C2"].value == rows[1]["code"]
    assert ws["D2"].value == f"/start {rows[1]['code']}"  # no Telegram token: what to send
    with zipfile.ZipFile(xlsx) as z:
        assert any(n.startswith("xl/media/") for n in z.namelist())  # the QR image

    pdf = tmp_path / "moi.pdf"
    out = run("invite", "--unit", "QLCN", "--pending", "--format", "pdf", "--out", str(pdf))
    assert out.exit_code == 0, out.output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/Image" in data


def test_invite_options_that_do_not_go_together(ready):
    assert run("invite").exit_code == 2
    assert run("invite", "--pending", "--person", "x").exit_code == 2
    result = run("invite", "--person", "Không Có Ai")
    assert result.exit_code == 1 and "Không tìm thấy ai" in result.stderr

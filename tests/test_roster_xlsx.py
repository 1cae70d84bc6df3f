"""The staff list as an office keeps it: an Excel file of 500 people across every unit, with
Vietnamese names (diacritics, some typed in NFD), blank lines, phone numbers written several
ways, some people with a staff number, some with a phone only, some with a name only. Imported,
imported again unchanged, then with movers, leavers, newcomers and a role change; a file with a
person twice is refused whole. Asserted on what is stored and on the report printed."""

from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter
from pathlib import Path

from openpyxl import Workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import models as m
from bot.core.db import session_scope

HEADER = ["STT", "Họ và tên", "Mã đơn vị", "Chức vụ", "Vai trò", "Số điện thoại", "Email",
          "Mã cán bộ"]  # fmt: skip
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]  # fmt: skip
MIDDLES = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hằng", "Hiếu", "Hoa", "Huệ",
         "Hùng", "Hương", "Khánh", "Lan", "Linh", "Loan", "Long", "Mai", "Nam", "Nga", "Ngân",
         "Nhung", "Phúc", "Phương", "Quân", "Quyên", "Sơn", "Tâm", "Thảo", "Thắng", "Thủy",
         "Trang", "Tuấn", "Tùng", "Uyên", "Việt", "Yến"]  # fmt: skip
N = 500


def units() -> list[str]:
    with session_scope() as session:
        return [u.code for u in session.exec(select(m.Unit).order_by(m.Unit.id))]


def person_row(i: int, codes: list[str]) -> list[object]:
    """Person i: a name unique in the file (the index picks surname, middle and given name so
    no two of the 500 share one), a unit, and a key of one of three kinds."""
    name = (
        f"{SURNAMES[i % 16]} {MIDDLES[(i // 16) % 10]} {GIVEN[(i // 160 + i) % len(GIVEN)]}"
        f"{' ' + GIVEN[(i * 7) % len(GIVEN)] if i >= 160 * 3 else ''}"
    )
    code = codes[i % len(codes)]
    head = i < len(codes)  # the first of each unit leads it
    kind = i % 20
    staff_no = f"HT{i:05d}" if kind < 12 else ""  # 60 % have a staff number
    phone, digits = "", f"09{i:08d}"
    if 12 <= kind < 17:  # 25 % a phone only, written as people write them
        phone = [digits, f"{digits[:4]} {digits[4:7]} {digits[7:]}", f"+84 {digits[1:]}"][i % 3]
    return [
        i + 1,
        name,
        code.lower() if i % 9 == 0 else code,  # "qlcn" as well as "QLCN"
        "Trưởng phòng" if head else "Chuyên viên",
        "head" if head else "",
        phone,
        f"cb{i}@sct.hatinh.gov.vn" if i % 4 == 0 else "",
        staff_no,
    ]


def write_xlsx(path: Path, rows: list[list[object]], blank_every: int = 37) -> str:
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách cán bộ"
    ws.append(HEADER)
    for n, row in enumerate(rows):
        if n and n % blank_every == 0:
            ws.append([])  # a blank line between groups, as offices leave them
            ws.append([None, "", "   ", None])  # and one that only looks blank
        ws.append(row)
    wb.save(path)
    return str(path)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def file_row(n: int, blank_every: int = 37) -> int:
    """The spreadsheet row of data row `n` (the header is row 1; two blank rows every
    `blank_every`)."""
    return 2 + n + 2 * (n // blank_every)


def stored() -> list[m.Person]:
    with session_scope() as session:
        return list(session.exec(select(m.Person).order_by(m.Person.id)))


def test_a_500_person_xlsx_roster_over_a_year(ready, tmp_path):
    codes = units()
    assert len(codes) >= 7
    rows = [person_row(i, codes) for i in range(N)]
    names = [str(r[1]) for r in rows]
    assert len(set(names)) == N  # the generator gives each a name of their own
    rows[7][1] = unicodedata.normalize("NFD", str(rows[7][1]))  # typed on another keyboard

    # A person twice in the file: the whole file is refused, naming both rows.
    twice = [*rows, list(rows[120])]
    twice[-1][0] = N + 1
    code, out = run("people", "import", write_xlsx(tmp_path / "twice.xlsx", twice))
    assert code == 1
    assert f"dòng {file_row(N)}: trùng người với dòng {file_row(120)}" in out
    assert stored() == []  # nothing half-imported

    path = write_xlsx(tmp_path / "ds-can-bo.xlsx", rows)
    started = time.monotonic()
    code, out = run("people", "import", path)
    took = time.monotonic() - started
    assert code == 0, out
    assert out.splitlines()[0] == f"Thêm mới {N}, thay đổi 0, giữ nguyên 0."
    assert took < 30, f"500 rows took {took:.1f} s"
    people = stored()
    assert len(people) == N
    assert {p.full_name for p in people} == {unicodedata.normalize("NFC", n) for n in names}
    assert all(unicodedata.is_normalized("NFC", p.full_name) for p in people)
    by_unit = Counter(p.unit_id for p in people)
    assert len(by_unit) == len(codes)  # every unit has its people
    assert max(by_unit.values()) - min(by_unit.values()) <= 1
    heads = [p for p in people if p.role == "head"]
    assert len(heads) == len(codes) and {p.unit_id for p in heads} == set(by_unit)
    assert sum(1 for p in people if p.staff_no) == sum(1 for r in rows if r[7])
    assert sum(1 for p in people if p.phone) == sum(1 for r in rows if r[5])
    first = {p.full_name: p.id for p in people}

    # The same file again: nothing changes.
    code, out = run("people", "import", path)
    assert out.splitlines()[0] == f"Thêm mới 0, thay đổi 0, giữ nguyên {N}."

    # A year on: five moved (by staff number, by phone and by name alone), three left, two
    # joined, one became a unit head.
    later = [list(r) for r in rows]
    by_kind = {
        "staff_no": [i for i in range(N) if later[i][7] and i >= len(codes)][:2],
        "phone": [i for i in range(N) if later[i][5] and not later[i][7]][:2],
        "name": [i for i in range(N) if not later[i][5] and not later[i][7] and i > 20][:1],
    }
    moved = [i for found in by_kind.values() for i in found]
    assert len(moved) == 5
    for i in moved:
        current = str(later[i][2]).upper()
        later[i][2] = next(c for c in codes if c != current)
    promoted = 300
    later[promoted][4] = "head"
    left = {33, 250, 499}
    later = [r for i, r in enumerate(later) if i not in left]
    later += [
        [N + 1, "Đinh Thị Ngọc Ánh", codes[1], "Chuyên viên", "", "", "", "HT90001"],
        [N + 2, "Lương Văn Khôi", codes[2], "Chuyên viên", "", "0988 123 456", "", ""],
    ]
    code, out = run("people", "import", write_xlsx(tmp_path / "ds-2023.xlsx", later, 50))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"Thêm mới 2, thay đổi 6, giữ nguyên {N - 3 - 6}."
    changed = [line for line in lines if line.startswith("thay đổi: ")]
    assert len(changed) == 6
    for i in moved:
        lead = f"thay đổi: {names[i]} ("
        assert any(line.startswith(lead) and "unit_id" in line for line in changed)
    assert any(names[promoted] in line and line.endswith(": role") for line in changed)
    assert "Không có trong tệp (3)" in out
    for i in left:
        assert any(line.strip().startswith(f"#{first[names[i]]} {names[i]}") for line in lines)

    people = stored()
    assert len(people) == N + 2  # no one twice
    assert len({p.full_name for p in people}) == N + 2
    unit_in_file = {unicodedata.normalize("NFC", str(r[1])): r[2] for r in later}
    with session_scope() as session:
        code_of = {u.id: u.code for u in session.exec(select(m.Unit))}
    for i in moved:
        person = next(p for p in people if p.id == first[names[i]])
        assert code_of[person.unit_id] == unit_in_file[names[i]]
    assert all(p.active for p in people)  # the leavers are reported, not deactivated

    result = CliRunner().invoke(
        app, ["people", "import", write_xlsx(tmp_path / "ds-2023.xlsx", later), "--json",
              "--deactivate-missing"],
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["deactivated"] and len(report["missing"]) == 3
    assert (len(report["added"]), len(report["changed"]), report["unchanged"]) == (0, 0, N - 1)
    gone = {p.full_name for p in stored() if not p.active}
    assert gone == {names[i] for i in left}

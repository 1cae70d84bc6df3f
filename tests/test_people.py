"""Importing units and people (CSV, XLSX), invites: single use, expiry, lockout."""

from __future__ import annotations

import datetime as dt
import json

from openpyxl import Workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import INVITE_ALPHABET, Outcome, issue_invites, register
from tests.conftest import at


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def count(model) -> int:
    with session_scope() as session:
        return len(session.exec(select(model)).all())


def test_units_csv_then_people_xlsx(tmp_path, ready):
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name\nKTAT,Phòng Kỹ thuật An toàn\nQLCN,Phòng Quản lý Công nghiệp\n",
        encoding="utf-8",
    )
    assert run("units", "import", str(units)).exit_code == 0
    listed = json.loads(run("units", "list", "--json").stdout)
    assert {"code": "KTAT", "name": "Phòng Kỹ thuật An toàn", "office": False} in listed
    wb = Workbook()
    ws = wb.active
    ws.append(["Họ tên", "Đơn vị", "Vai trò", "Số điện thoại"])
    ws.append(["Lê Thị Hoa", "KTAT", "head", "0912 345 678"])
    ws.append(["Phan Văn Nam", "QLCN", "staff", None])
    wb.save(tmp_path / "people.xlsx")
    result = run("people", "import", str(tmp_path / "people.xlsx"))
    assert result.exit_code == 0, result.output
    people = json.loads(run("people", "list", "--json").stdout)
    assert [(p["name"], p["unit"], p["role"], p["phone"]) for p in people] == [
        ("Lê Thị Hoa", "KTAT", "head", "0912 345 678"),
        ("Phan Văn Nam", "QLCN", "staff", None),
    ]


def test_a_bad_row_is_named_and_nothing_is_written(tmp_path, ready):
    path = tmp_path / "people.csv"
    path.write_text(
        "name,unit,role\nLê Thị Hoa,QLCN,staff\nTrần Văn B,XXX,staff\n"
        ",QLCN,staff\nPhan C,QLCN,boss\n",
        encoding="utf-8",
    )
    result = run("people", "import", str(path))
    assert result.exit_code == 1
    assert "dòng 3: không có đơn vị mã “XXX”" in result.stderr
    assert "dòng 4: thiếu họ tên" in result.stderr
    assert "dòng 5: vai trò “boss” không hợp lệ" in result.stderr
    assert count(m.Person) == 0


def test_bad_unit_rows(tmp_path, ready):
    path = tmp_path / "units.csv"
    path.write_text("code,name\nA B,Phòng X\nKT,Phòng Y\nKT,Phòng Z\n", encoding="utf-8")
    result = run("units", "import", str(path))
    assert result.exit_code == 1
    assert "dòng 2: mã đơn vị “A B” không hợp lệ" in result.stderr
    assert "dòng 4: mã đơn vị “KT” xuất hiện hai lần" in result.stderr
    assert count(m.Unit) == 7


def test_invite_codes_are_unambiguous_single_use_and_expire(ready):
    result = run("invite", "--unit", "qlcn", "--role", "head", "--count", "3", "--json")
    assert result.exit_code == 0, result.output
    codes = json.loads(result.stdout)
    assert len({c["code"] for c in codes}) == 3
    assert all(len(c["code"]) >= 8 and set(c["code"]) <= set(INVITE_ALPHABET) for c in codes)
    assert codes[0]["unit"] == "QLCN" and codes[0]["role"] == "head"
    assert codes[0]["expires_at"].endswith("+07:00")
    code = codes[0]["code"]
    with session_scope() as session:
        first = register(
            session=session,
            channel="test",
            user_id="a",
            chat_id="a",
            display_name="Hoa",
            code=code.lower(),
            now=clock.now(),
        )
        assert first.outcome is Outcome.REGISTERED and first.person.role == "head"
        again = register(
            session=session,
            channel="test",
            user_id="b",
            chat_id="b",
            display_name="Nam",
            code=code,
            now=clock.now(),
        )
        assert again.outcome is Outcome.USED
        late = register(
            session=session,
            channel="test",
            user_id="c",
            chat_id="c",
            display_name="Lan",
            code=codes[1]["code"],
            now=clock.now() + dt.timedelta(days=31),
        )
        assert late.outcome is Outcome.EXPIRED


def test_invite_rejects_unknown_unit_and_role(ready):
    assert run("invite", "--unit", "NOPE").exit_code == 1
    assert run("invite", "--unit", "QLCN", "--role", "boss").exit_code == 2


def attempt(code: str) -> Outcome:
    """One registration try from chat "x", in its own unit of work."""
    with session_scope() as session:
        return register(
            session=session,
            channel="test",
            user_id="x",
            chat_id="x",
            display_name="X",
            code=code,
            now=clock.now(),
        ).outcome


def test_five_wrong_codes_lock_for_an_hour(ready):
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        good = issue_invites(session=session, unit=unit, role="staff", count=1, now=clock.now())[
            0
        ].code
    assert [attempt("WRONGCODE1") for _ in range(5)] == [Outcome.UNKNOWN] * 4 + [Outcome.LOCKED]
    assert attempt(good) is Outcome.LOCKED
    with session_scope() as session:
        audit = session.exec(
            select(m.AuditEvent).where(m.AuditEvent.action == "register.locked")
        ).all()
        assert len(audit) == 1 and audit[0].chat_id == "x"
    at("2022-05-10T10:01:00+07:00")
    assert attempt(good) is Outcome.REGISTERED

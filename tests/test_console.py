"""The console channel through the installed command, with piped stdin, as a newcomer runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.core import clock
from bot.core import models as m
from bot.core.db import engine_for, session_scope
from bot.core.people import issue_invites
from bot.core.settings import get_settings

THIDUA = [sys.executable, "-m", "bot.cli"]


def thidua(*args: str, stdin: str = "", now: str | None = None) -> str:
    env = dict(os.environ)
    if now:
        env["THIDUA_NOW"] = now
    done = subprocess.run(
        [*THIDUA, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_run_without_tokens_lands_in_a_working_conversation(database):
    out = thidua("run", stdin="/baocao\n1\nTập huấn chuyển đổi số\nTổ chức 3 lớp.\n1\n1\n")
    assert "Chưa đặt TELEGRAM_BOT_TOKEN hay ZALO_BOT_TOKEN" in out
    assert "1. Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn" in out
    assert "1. Xác nhận\n2. Sửa một mục\n3. Hủy" in out
    assert "Đã lưu. Số biên nhận: BC-2022-0001" in out


def test_chat_registers_and_resumes_after_a_restart(ready):
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "TTKC")).one()
        code = issue_invites(session=session, unit=unit, role="staff", count=1, now=clock.now())[
            0
        ].code
    now = "2022-05-10T09:00:00+07:00"
    first = thidua(
        "chat",
        "--user",
        "lan",
        "--name",
        "Nguyễn Thị Lan",
        stdin=f"/start {code}\n/report\n2\nTiêu đề trước khi khởi động lại\n",
        now=now,
    )
    assert "Xin chào Nguyễn Thị Lan!" in first
    assert "Thành tích đạt được?" in first  # stopped at the detail question
    second = thidua(
        "chat", "--user", "lan", stdin="Nội dung sau khi khởi động lại\n1\n1\n", now=now
    )
    assert "Tiêu đề: Tiêu đề trước khi khởi động lại" in second
    assert "Số biên nhận: BC-2022-0001" in second
    with session_scope() as session:
        (report,) = session.exec(select(m.Report)).all()
        assert report.area == "cai-cach-hanh-chinh"
        assert report.detail == "Nội dung sau khi khởi động lại"


def test_the_demo_never_seeds_a_live_database(people):
    people.add(channel="telegram", user_id="111")
    out = thidua("run", stdin="/baocao\n")
    assert "Chưa đặt TELEGRAM_BOT_TOKEN hay ZALO_BOT_TOKEN" in out  # the demo runs...
    with session_scope() as session:  # ...but the office's database has no demo unit
        assert session.exec(select(m.Unit).where(m.Unit.code == "DEMO")).first() is None
    demo = get_settings().demo_database_url
    assert demo != get_settings().database_url
    with engine_for(demo).connect() as conn:  # its own, in the data home
        units = conn.execute(sa.text("SELECT code FROM unit")).scalars().all()
    engine_for(demo).dispose()
    assert "DEMO" in units


def test_a_file_path_on_the_console_sends_the_file_as_evidence(database, tmp_path):
    photo = tmp_path / "anh khen thuong.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    out = thidua(
        "run",
        stdin=f"/baocao\n1\nTập huấn chuyển đổi số\nTổ chức 3 lớp.\n{photo}\nxong\n1\n",
    )
    assert re.search(r"BC-\d{4}-0001", out), out  # saved, with its receipt
    demo = engine_for(get_settings().demo_database_url)  # the demo keeps its own store
    with Session(demo) as session:
        (file,) = session.exec(select(m.ReportEvidence))
    demo.dispose()
    assert file.kind == "photo"
    stored = tmp_path / "attachments" / "console"
    (copied,) = list(stored.iterdir())
    assert str(copied) == file.path and copied.read_bytes() == photo.read_bytes()
    assert "anh khen thuong" not in copied.name  # a name the bot makes

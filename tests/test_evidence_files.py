"""A report holds several evidence files: sent one by one or as an album until "Xong", up to
THIDUA_EVIDENCE_PER_REPORT, each counted in THIDUA_UPLOADS_PER_DAY; the receipt, /cuatoi,
/duyet, the XLSX, the zip and `people export` show every one of them; the migration moves a
report's single file into the new table."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import models as m
from bot.core.db import alembic_config, engine_for, session_scope
from handlers.types import Attachment
from tests.clerk_seed import seed
from tests.evidence_helpers import attach, files_of
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import (
    at_evidence as telegram_at_evidence,
)
from tests.telegram_helpers import (
    start_runner,
    telegram_settings,
    tiny_png,
)


def photo(n: int) -> Attachment:
    return Attachment("photo", f"file-{n}", "", "image/jpeg", f"att/p{n}.jpg")


def at_evidence(chat) -> None:
    chat.say("/report")
    chat.say("1")
    chat.say("Hội nghị tổng kết")
    chat.say("Tổ chức hội nghị ngày 02/05/2022.")
    assert chat.text.startswith("Minh chứng: gửi ảnh hoặc tài liệu (tối đa 5 tệp)")
    assert chat.labels == ["Bỏ qua"]


# ---- the flow ------------------------------------------------------------------------------


def test_several_files_until_done_and_the_receipt_names_them(people, chat_as):
    chat = chat_as(people.add())
    at_evidence(chat)
    chat.send(attachment=photo(1))
    assert chat.text == "Đã nhận 1 tệp. Gửi thêm (tối đa 5 tệp), hoặc chọn Xong."
    assert chat.labels == ["Xong"]
    chat.send(attachment=photo(2))
    doc = Attachment("document", "file-3", "Biên bản.pdf", "application/pdf", "att/b.pdf")
    chat.send(attachment=doc)
    assert chat.text.startswith("Đã nhận 3 tệp.")
    chat.say("xong")  # typed, as on Zalo and the console
    assert "Minh chứng: ảnh, ảnh, Biên bản.pdf" in chat.text
    chat.press("Xác nhận")
    assert "Minh chứng đã lưu: 3 tệp (ảnh, ảnh, Biên bản.pdf)." in chat.text
    stored = files_of()
    assert [(f.position, f.kind, f.ref, f.path) for f in stored] == [
        (0, "photo", "file-1", "att/p1.jpg"),
        (1, "photo", "file-2", "att/p2.jpg"),
        (2, "document", "file-3", "att/b.pdf"),
    ]
    assert stored[2].name == "Biên bản.pdf"


def test_skip_with_no_file_and_a_report_without_evidence(people, chat_as):
    chat = chat_as(people.add())
    at_evidence(chat)
    chat.say("bỏ qua")
    assert "Minh chứng: không có" in chat.text
    chat.press("Xác nhận")
    assert "Minh chứng đã lưu" not in chat.text
    assert files_of() == []


def test_past_the_limit_a_clear_message_and_the_files_kept(people, chat_as, monkeypatch):
    monkeypatch.setenv("THIDUA_EVIDENCE_PER_REPORT", "2")
    from bot.core.settings import get_settings

    get_settings.cache_clear()
    chat = chat_as(people.add())
    chat.say("/report")
    chat.say("1")
    chat.say("Tiêu đề")
    chat.say("Nội dung")
    chat.send(attachment=photo(1))
    chat.send(attachment=photo(2))
    chat.send(attachment=photo(3))
    assert chat.text.startswith(
        "Mỗi báo cáo có tối đa 2 tệp; tệp vừa gửi không được thêm. Chọn Xong để tiếp tục."
    )
    assert chat.labels == ["Xong"]
    chat.press("Xong")
    chat.press("Xác nhận")
    assert [f.ref for f in files_of()] == ["file-1", "file-2"]


def test_bad_input_between_files(people, chat_as):
    chat = chat_as(people.add())
    at_evidence(chat)
    chat.send(attachment=photo(1))
    chat.say("ảnh nữa đây")  # text where a file or Xong is asked
    assert chat.text.startswith("Vui lòng gửi thêm tệp, hoặc chọn Xong.")
    chat.say("<b>xong</b>")
    assert chat.text.startswith("Vui lòng gửi thêm tệp")
    chat.say("/cuatoi")  # another command mid-flow asks before throwing the files away
    assert "Bạn chưa làm xong" in chat.text
    chat.press("Không, làm tiếp")
    assert chat.text.startswith("Đã nhận 1 tệp.")
    chat.say("huỷ")
    assert chat.text.startswith("Đã hủy: báo cáo thành tích (/baocao). Chưa có gì được lưu.")
    with session_scope() as session:
        assert session.exec(select(m.Report)).all() == []


def test_editing_the_evidence_asks_for_the_files_again(people, chat_as):
    chat = chat_as(people.add())
    at_evidence(chat)
    chat.send(attachment=photo(1))
    chat.send(attachment=photo(2))
    chat.press("Xong")
    chat.press("Sửa một mục")
    chat.press("Minh chứng")
    assert chat.labels[0] == "Bỏ qua"  # starts again from none
    chat.send(attachment=photo(3))
    chat.press("Xong")
    assert chat.text.startswith("Vui lòng kiểm tra báo cáo")
    chat.press("Xác nhận")
    assert [f.ref for f in files_of()] == ["file-3"]


# ---- what the office sees ------------------------------------------------------------------


@pytest.fixture
def desk(people, monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-05-10T09:00:00+07:00")
    return seed(people)


@pytest.fixture
def three_files(tmp_path) -> list[Path]:
    one, two, pdf = tmp_path / "20220510-a.jpg", tmp_path / "20220510-b.jpg", tmp_path / "c.pdf"
    one.write_bytes(b"\xff\xd8 one")
    two.write_bytes(b"\xff\xd8 two")
    pdf.write_bytes(b"%PDF-1.4 three")
    attach("BC-2022-0001", "photo", one)
    attach("BC-2022-0001", "photo", two)
    attach("BC-2022-0001", "document", pdf, "Biên bản.pdf")
    return [one, two, pdf]


def test_duyet_sends_every_file_then_the_question(desk, chat_as, three_files):
    chat = chat_as(desk.clerk)
    first, second, item = chat.say("/duyet BC-2022-0001")
    assert first.image is not None and first.image.filename == "BC-2022-0001-1.jpg"
    assert first.text == "" and not first.options
    assert second.image is not None and second.image.content == b"\xff\xd8 two"
    assert item.document is not None and item.document.filename == "BC-2022-0001-3.pdf"
    assert "Minh chứng kèm theo: ảnh, ảnh, Biên bản.pdf" in item.text
    assert [o.label for o in item.options][:2] == ["Tiếp nhận", "Trả lại kèm lý do"]


def test_cuatoi_lists_the_files(desk, chat_as, three_files):
    chat = chat_as(desk.staff, "telegram")
    chat.say("/cuatoi")
    chat.press(next(label for label in chat.labels if "BC-2022-0001" in label))
    assert "Minh chứng: ảnh, ảnh, Biên bản.pdf" in chat.text


def test_exports_and_people_export_show_all_files(desk, three_files, tmp_path):
    def export(*args: str) -> bytes:
        out = tmp_path / "out.bin"
        result = CliRunner().invoke(app, ["export", *args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        return out.read_bytes()

    sheet = load_workbook(io.BytesIO(export("--format", "xlsx")))["Báo cáo"]
    header = [c.value for c in sheet[1]]
    column = header.index("Minh chứng")
    cells = {row[0].value: row[column].value for row in sheet.iter_rows(min_row=2)}
    assert cells["BC-2022-0001"] == "Ảnh (2), Tài liệu"
    assert cells["BC-2022-0002"] is None
    table = export("--format", "csv", "--table", "reports").decode("utf-8-sig")
    (line,) = [row for row in table.splitlines() if row.startswith("BC-2022-0001")]
    assert '"Ảnh (2), Tài liệu"' in line

    archive = zipfile.ZipFile(io.BytesIO(export("--format", "zip", "--phase", "1")))
    shipped = sorted(n for n in archive.namelist() if n.startswith("minh-chung/"))
    assert shipped == [
        "minh-chung/QLCN/BC-2022-0001-1.jpg",
        "minh-chung/QLCN/BC-2022-0001-2.jpg",
        "minh-chung/QLCN/BC-2022-0001-3.pdf",
    ]
    assert archive.read("minh-chung/QLCN/BC-2022-0001-2.jpg") == b"\xff\xd8 two"

    result = CliRunner().invoke(app, ["people", "export", "--person", f"#{desk.staff.id}"])
    data = json.loads(result.stdout)
    assert [e["path"] for e in data["evidence"]] == [str(p) for p in three_files]

    result = CliRunner().invoke(app, ["people", "forget", f"#{desk.staff.id}", "--yes"])
    assert "đã xóa 3 tệp minh chứng" in result.stdout
    assert not any(p.exists() for p in three_files)


# ---- Telegram: an album and a document, the caps -------------------------------------------


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def test_telegram_two_photos_and_a_document(ready, tg, monkeypatch):
    runner = await start_runner(telegram_settings(monkeypatch, tg))
    try:
        lan = await telegram_at_evidence(tg)
        await lan.send_photo(tiny_png(4, 3))
        await lan.send_photo(tiny_png(5, 3))
        await lan.user.send_document(b"%PDF-1.4 bien ban", "Biên bản.pdf")
        await lan._read(1, 5.0)
        assert lan.text.startswith("Đã nhận 3 tệp.")
        await lan.press("Xong")
        await lan.press("Xác nhận")
        assert "Minh chứng đã lưu: 3 tệp (ảnh, ảnh, Biên bản.pdf)." in lan.text
    finally:
        await runner.stop()
    stored = files_of()
    assert [f.kind for f in stored] == ["photo", "photo", "document"]
    assert all(f.path and Path(f.path).is_file() for f in stored)
    assert Path(stored[2].path or "").read_bytes() == b"%PDF-1.4 bien ban"
    assert len(tg.calls_to("getFile")) == 3


async def test_telegram_past_the_limit_is_not_downloaded(ready, tg, monkeypatch):
    runner = await start_runner(telegram_settings(monkeypatch, tg, THIDUA_EVIDENCE_PER_REPORT="2"))
    try:
        lan = await telegram_at_evidence(tg)
        for size in (3, 4, 5):
            await lan.send_photo(tiny_png(size, 3))
        assert lan.text.startswith("Mỗi báo cáo có tối đa 2 tệp")
    finally:
        await runner.stop()
    assert len(tg.calls_to("getFile")) == 2  # the third never fetched


async def test_telegram_each_file_counts_in_the_day(ready, tg, monkeypatch):
    runner = await start_runner(telegram_settings(monkeypatch, tg, THIDUA_UPLOADS_PER_DAY="2"))
    try:
        lan = await telegram_at_evidence(tg)
        for size in (3, 4, 5):
            await lan.send_photo(tiny_png(size, 3))
        assert "đủ số tệp cho phép trong một ngày. Vui lòng chọn Xong." in lan.text
        await lan.press("Xong")
        await lan.press("Xác nhận")
    finally:
        await runner.stop()
    assert len(files_of()) == 2


# ---- the migration -------------------------------------------------------------------------


def test_the_migration_moves_a_single_file_into_the_new_table(people, chat_as):
    """Down to 0015 (one file a report: the first is kept), and up again (it moves back)."""
    chat = chat_as(people.add())
    at_evidence(chat)
    chat.send(attachment=photo(1))
    chat.send(attachment=photo(2))
    chat.press("Xong")
    chat.press("Xác nhận")
    config = alembic_config()
    db = engine_for(str(config.attributes["url"]))
    command.downgrade(config, "0015")
    with db.connect() as conn:
        one = conn.execute(
            sa.text("SELECT evidence_kind, evidence_ref, evidence_path FROM report")
        ).all()
        assert "report_evidence" not in sa.inspect(conn).get_table_names()
    assert [tuple(r) for r in one] == [("photo", "file-1", "att/p1.jpg")]
    command.upgrade(config, "head")
    with db.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("report")}
    assert not {"evidence_kind", "evidence_ref", "evidence_path"} & columns
    assert [(f.position, f.kind, f.ref, f.path) for f in files_of()] == [
        (0, "photo", "file-1", "att/p1.jpg")
    ]

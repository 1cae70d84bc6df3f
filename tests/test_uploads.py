"""Files are fetched only for a registered person at an evidence step, within the caps, under a
name the bot makes; a stranger's or an unasked-for file costs no download and no disk."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.attachments import stored_path
from bot.core import clock
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import (
    Person,
    at_evidence,
    invite_code,
    start_runner,
    telegram_settings,
    tiny_png,
)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def _run(monkeypatch, tg: FakeTelegram, **env: str):
    return await start_runner(telegram_settings(monkeypatch, tg, **env))


def _files(settings_dir: str) -> list[Path]:
    root = Path(settings_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_a_strangers_files_are_never_downloaded(ready, tg, monkeypatch):
    runner = await _run(monkeypatch, tg)
    try:
        stranger = Person(tg, tg.user(6001, "Lạ"))
        for _ in range(3):
            await stranger.send_photo(tiny_png())
            assert "/start" in stranger.text  # told how to register, nothing more
        await stranger.user.send_document(b"x" * 1000, "big.pdf")
        await stranger._read(1, 5.0)
    finally:
        await runner.stop()
    assert tg.calls_to("getFile") == []
    assert _files(str(Path("attachments"))) == []


async def test_a_file_outside_an_evidence_step_is_not_downloaded(ready, tg, monkeypatch):
    runner = await _run(monkeypatch, tg)
    try:
        lan = Person(tg, tg.user(5001, "Lan"))
        await lan.say(f"/start {invite_code('QLCN', 'staff')}")
        await lan.send_photo(tiny_png())  # no question asked for it
        await lan.say("/report")
        await lan.send_photo(tiny_png())  # the question is the content area, not evidence
    finally:
        await runner.stop()
    assert tg.calls_to("getFile") == []


async def test_evidence_is_stored_under_a_name_the_bot_makes(ready, tg, monkeypatch, tmp_path):
    runner = await _run(monkeypatch, tg)
    try:
        lan = await at_evidence(tg)
        await lan.user.send_document(b"%PDF-1.4 bien ban", "../../../../etc/Biên bản.PDF")
        await lan._read(1, 5.0)
    finally:
        await runner.stop()
    (stored,) = _files(str(tmp_path / "attachments"))
    assert stored.read_bytes() == b"%PDF-1.4 bien ban"
    assert stored.parent == tmp_path / "attachments" / "telegram" / str(lan.id)
    assert stored.suffix == ".pdf" and "bien" not in stored.name.lower()


async def test_an_oversized_file_is_refused_before_download(ready, tg, monkeypatch):
    runner = await _run(monkeypatch, tg, THIDUA_UPLOAD_MAX_MB="0.001")  # about 1 kB
    try:
        lan = await at_evidence(tg)
        await lan.user.send_document(b"x" * 5000, "bao-cao.docx")
        await lan._read(1, 5.0)
        assert "quá lớn" in lan.text and "0.001 MB" in lan.text
        await lan.press("Bỏ qua")  # the flow goes on without it
        assert "Xác nhận" in lan.labels
    finally:
        await runner.stop()
    assert tg.calls_to("getFile") == []


async def test_the_daily_cap_holds(ready, tg, monkeypatch, tmp_path):
    runner = await _run(monkeypatch, tg, THIDUA_UPLOADS_PER_DAY="1")
    try:
        lan = await at_evidence(tg)
        folder = tmp_path / "attachments" / "telegram" / str(lan.id)
        folder.mkdir(parents=True)
        stored_path(folder, "a.jpg", clock.now()).write_bytes(b"earlier today")
        await lan.send_photo(tiny_png())
        assert "đủ số tệp" in lan.text
    finally:
        await runner.stop()
    assert tg.calls_to("getFile") == []


def test_stored_names_hold_nothing_of_the_sender():
    now = dt.datetime(2022, 7, 15, 2, 0, tzinfo=dt.UTC)
    folder = Path("/store/telegram/5001")
    for name in ("../../../../x", "a/b/c.JPG", "x.tar.gz", "\x00.sh", "no-extension", ".."):
        path = stored_path(folder, name, now)
        assert path.parent == folder and path.name.startswith("20220715-090000-")
        assert ".." not in path.name and "/" not in path.name
    assert stored_path(folder, "a/b/c.JPG", now).suffix == ".jpg"

"""/export builds its file after answering: one at a time per chat, within the platform's
size limit (zipped, then split), and on Telegram with "sending a file…" shown meanwhile."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook

from bot.core.settings import get_settings
from handlers import export
from tests.clerk_seed import seed
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import Person, start_runner, telegram_settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"


@pytest.fixture
def desk(people):
    return seed(people)


def test_the_answer_comes_first_and_a_second_export_waits(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.hold = True  # the channel's background, by hand
    (building,) = chat.say("/xuat xlsx tatca")
    assert building.text == "Đang tạo tệp…" and building.later is not None
    (busy,) = chat.say("/xuat csv 1")
    assert busy.text == "Tệp trước của bạn vẫn đang được tạo, sẽ gửi ngay khi xong."
    assert busy.later is None
    (sent,) = building.later()
    assert sent.document.mime == XLSX
    assert load_workbook(io.BytesIO(sent.document.content))["Báo cáo"].max_row == 1 + 7
    (again,) = chat.say("/xuat csv 1")  # the first is done: a new one may start
    assert again.later is not None
    (csv_file,) = again.later()
    assert csv_file.document.filename.endswith(".csv")


def limit(monkeypatch, size: int) -> None:
    monkeypatch.setenv("THIDUA_SEND_MAX_MB", str(size / 1024 / 1024))
    get_settings.cache_clear()


def test_a_file_over_the_limit_is_zipped_then_split(desk, chat_as, monkeypatch):
    chat = chat_as(desk.clerk)
    _building, whole = chat.say("/xuat csv tatca")
    size = len(whole.document.content)
    name = whole.document.filename

    limit(monkeypatch, size - 1)  # CSV zips well: one zip under the limit
    _building, zipped = chat.say("/xuat csv tatca")
    assert zipped.text == f"Tệp lớn hơn 0 MB nên đã được nén: {name}.zip."
    assert zipped.document.filename == f"{name}.zip" and zipped.document.mime == ZIP
    assert len(zipped.document.content) < size
    assert zipfile.ZipFile(io.BytesIO(zipped.document.content)).read(name) == (
        whole.document.content
    )

    limit(monkeypatch, 300)  # even zipped: in numbered parts
    _building, note, *parts = chat.say("/xuat csv tatca")
    assert note.document is None
    n = len(parts)
    assert note.text.startswith(f"Tệp vẫn lớn hơn 0 MB sau khi nén nên được chia thành {n} phần")
    assert len(parts) >= 2
    assert [p.document.filename for p in parts] == [
        f"{name}.zip.{k:03d}" for k in range(1, len(parts) + 1)
    ]
    assert parts[0].text == f"Phần 1/{n}."
    assert all(len(p.document.content) <= 300 for p in parts)
    joined = b"".join(p.document.content for p in parts)
    assert zipfile.ZipFile(io.BytesIO(joined)).read(name) == whole.document.content


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def test_telegram_keeps_the_chat_action_up_while_the_file_is_built(
    ready, people, tg, monkeypatch
):
    settings = telegram_settings(monkeypatch, tg)
    people.add(role="clerk", channel="telegram", user_id="5001", name="Lan")
    release = threading.Event()

    def build(fmt: str, scope) -> tuple[bytes, str]:
        release.wait(5)
        return b"a\n1\n", "text/csv"

    monkeypatch.setattr(export, "build", build)
    running = await start_runner(settings)
    try:
        lan = Person(tg, tg.user(5001, "Lan", language_code="vi"))
        (first,) = await lan.say("/xuat csv all")
        assert first["plain_text"] == "Đang tạo tệp…"  # at once, before the file
        for _ in range(100):
            if tg.chat_actions:
                break
            await asyncio.sleep(0.02)
        assert tg.chat_actions[0]["action"] == "upload_document"
        assert tg.chat_actions[0]["chat_id"] == 5001
        release.set()
        await tg.wait_sent(5001, 2)
    finally:
        await running.stop()
    document = tg.sent(5001)[1]
    assert document["method"] == "sendDocument" and document["document"] == b"a\n1\n"

"""The Telegram channel end to end: the real TelegramRunner (python-telegram-bot, unmodified)
against FakeTelegram, a Bot API server on 127.0.0.1, with the real handlers and database."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select
from typer.testing import CliRunner

from bot.channels.base import RetryAfter, SendError, Transient, Unreachable
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.settings import get_settings
from handlers import registry
from handlers.router import handle
from handlers.types import File, Incoming, Option, Reply
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import (
    Person,
    invite_code,
    start_runner,
    telegram_settings,
    tiny_png,
)

PASSED_VI = "Câu hỏi đó đã qua"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def settings(ready, tg, monkeypatch):
    return telegram_settings(monkeypatch, tg)


@pytest.fixture
async def runner(settings):
    running = await start_runner(settings)
    yield running
    await running.stop()


def person(tg: FakeTelegram, user_id: int = 5001, name: str = "Lan", lang: str = "vi") -> Person:
    return Person(tg, tg.user(user_id, name, language_code=lang))


async def registered(tg: FakeTelegram, user_id: int = 5001, role: str = "staff") -> Person:
    someone = person(tg, user_id)
    await someone.say(f"/start {invite_code('QLCN', role)}")
    assert "Xin chào Lan" in someone.text
    return someone


def identity(user_id: int) -> m.Identity:
    with session_scope() as session:
        return session.exec(
            select(m.Identity).where(
                m.Identity.channel == "telegram", m.Identity.user_id == str(user_id)
            )
        ).one()


async def eventually(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
    return result


# ---- stories ------------------------------------------------------------------------------


async def test_deep_link_registers_at_once(runner, tg):
    code = invite_code("QLCN", "staff")
    lan = person(tg)
    await lan.say(f"/start {code}")  # what the t.me/<bot>?start=<code> link sends
    assert lan.text.startswith("Xin chào Lan!")
    assert "Phòng Quản lý Công nghiệp" in lan.text
    ident = identity(lan.id)
    assert ident.chat_id == str(lan.id) and ident.display_name == "Lan"
    with session_scope() as session:
        invite = session.exec(select(m.Invite).where(m.Invite.code == code)).one()
        assert invite.used_by == ident.id


async def test_full_report_by_buttons(runner, tg):
    lan = await registered(tg)
    await lan.say("/report")
    assert lan.text == "Nội dung thi đua nào?"
    assert lan.labels[0] == "Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn"
    question = lan.last[0]
    await lan.press("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    # the press was answered and the keyboard replaced by the choice
    assert tg.callback_answers[-1]["data"].startswith("flow:report:area:")
    pressed = tg.message(lan.id, question["message_id"])
    assert "reply_markup" not in pressed
    assert pressed["text"] == (
        "Nội dung thi đua nào?\n\n→ Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn"
    )
    assert lan.text.startswith("Tiêu đề ngắn")
    assert lan.labels == ["Hủy"]  # a typed question has its Hủy button too
    await lan.say("Số hoá hồ sơ cấp phép")
    await lan.say("Số hoá 1.200 hồ sơ trong quý II.")
    assert lan.labels == ["Bỏ qua", "Hủy"]
    await lan.press("Bỏ qua")
    assert lan.text.startswith("Vui lòng kiểm tra báo cáo:")
    assert ": Số hoá hồ sơ cấp phép\n" in lan.text
    assert lan.labels == ["Xác nhận", "Sửa một mục", "Hủy"]
    await lan.press("Xác nhận")
    assert lan.text.startswith("Đã lưu. Số biên nhận: BC-2022-0001")
    assert len(tg.callback_answers) == 3
    with session_scope() as session:
        report = session.exec(select(m.Report)).one()
        assert (report.receipt, report.title, report.area) == (
            "BC-2022-0001",
            "Số hoá hồ sơ cấp phép",
            "chuyen-mon",
        )
        assert report.detail == "Số hoá 1.200 hồ sơ trong quý II."
        assert session.exec(select(m.ReportEvidence)).all() == []


async def test_press_on_an_old_keyboard(runner, tg):
    lan = await registered(tg)
    await lan.say("/report")
    old, data = lan.button("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    await lan.say("/cancel")
    await lan.say("/report")
    answers = len(tg.callback_answers)
    await lan.press_data(old, data.replace("chuyen-mon", "phong-trao-khac"))
    assert len(tg.callback_answers) == answers + 1  # still answered: no endless spinner
    assert lan.text.startswith(PASSED_VI)
    assert lan.labels[0] == "Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn"  # asked again
    assert "reply_markup" not in tg.message(lan.id, old["message_id"])


async def test_html_in_a_title_comes_back_escaped(runner, tg):
    lan = await registered(tg)
    await lan.say("/report")
    await lan.press("Các phong trào thi đua khác")
    await lan.say("<b>Tổ 1 & 2</b> <script>")
    await lan.say("Chi tiết <i>không</i> in nghiêng")
    await lan.press("Bỏ qua")
    summary = lan.last[-1]
    assert summary["parse_mode"] == "HTML"
    assert "&lt;b&gt;Tổ 1 &amp; 2&lt;/b&gt; &lt;script&gt;" in summary["text"]
    # The server parsed it as HTML (no error) and the person reads exactly what was typed.
    assert ": <b>Tổ 1 & 2</b> <script>\n" in summary["plain_text"]
    assert ": Chi tiết <i>không</i> in nghiêng\n" in summary["plain_text"]
    assert summary["entities"] == []
    await lan.press("Xác nhận")
    with session_scope() as session:
        assert session.exec(select(m.Report)).one().title == "<b>Tổ 1 & 2</b> <script>"


async def test_long_text_arrives_in_two_messages(ready, tg, settings):
    paragraphs = [f"Đoạn {n}: " + " ".join(["thi đua yêu nước"] * 20) for n in range(1, 19)]
    long_text = "\n\n".join(paragraphs)
    assert 6000 < len(long_text) < 6400

    def summary_handler(incoming: Incoming) -> list[Reply]:
        return [Reply(long_text, (Option("Tải về", "flow:x:y:0000:dl"),))]

    running = await start_runner(settings, summary_handler)
    try:
        lan = person(tg)
        first, second = await lan.say("/summary", expect=2)
    finally:
        await running.stop()
    assert len(tg.sent(lan.id)) == 2
    assert all(len(r["plain_text"]) <= 4096 for r in (first, second))
    assert first["plain_text"].endswith("yêu nước")
    assert second["plain_text"].startswith("Đoạn ")  # cut on a paragraph boundary
    assert f"{first['plain_text']}\n\n{second['plain_text']}" == long_text
    assert first["reply_markup"] is None
    assert second["reply_markup"]["inline_keyboard"][0][0]["text"] == "Tải về"


async def test_photo_as_evidence(runner, tg, settings):
    lan = await registered(tg)
    await lan.say("/report")
    await lan.press("Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn")
    await lan.say("Khánh thành nhà văn hoá")
    await lan.say("Ảnh lễ khánh thành ngày 15/07/2022.")
    png = tiny_png()
    await lan.send_photo(png)
    assert lan.text.startswith("Đã nhận 1 tệp.")
    await lan.press("Xong")
    assert lan.text.splitlines()[-1].endswith(": ảnh")  # the summary's evidence line
    await lan.press("Xác nhận")
    with session_scope() as session:
        (file,) = session.exec(select(m.ReportEvidence)).all()
    assert file.kind == "photo"
    assert file.ref  # the Telegram file id
    assert file.path is not None
    stored = Path(file.path)
    assert stored.read_bytes() == png
    attachments = Path(settings.attachments_dir).resolve()
    assert stored.resolve().is_relative_to(attachments / "telegram" / str(lan.id))


async def test_webhook_refuses_a_wrong_secret(ready, tg, monkeypatch):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/telegram/hook"
    settings = telegram_settings(
        monkeypatch, tg, TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET="s3cret_Value-1"
    )
    web_app = web.Application()
    running = await start_runner(settings, web_app=web_app)
    site = web.AppRunner(web_app, access_log=None)
    await site.setup()
    await web.SockSite(site, sock).start()
    try:
        assert tg.webhook()["url"] == url
        assert tg.webhook()["secret_token"] == "s3cret_Value-1"
        code = invite_code()
        forged = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 1652148000,
                "chat": {"id": 6001, "type": "private", "first_name": "Mallory"},
                "from": {"id": 6001, "is_bot": False, "first_name": "Mallory"},
                "text": f"/start {code}",
            },
        }
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=forged, headers=headers) as resp:
                    assert resp.status == 401
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_Value-1"}
            async with http.post(url, data=b"not json", headers=right) as resp:
                assert resp.status == 400
        await asyncio.sleep(0.2)
        with session_scope() as session:
            assert session.exec(select(m.Identity)).all() == []
            assert session.exec(select(m.Invite)).one().used_at is None
        # The real server's deliveries carry the secret and are processed.
        lan = person(tg)
        await lan.say(f"/start {code}")
        assert lan.text.startswith("Xin chào Lan!")
        assert tg.webhook_deliveries[-1]["status"] == 200
        assert tg.calls_to("getUpdates") == []
    finally:
        await running.stop()
        await site.cleanup()


async def test_restart_mid_flow_resumes(ready, tg, settings):
    first = await start_runner(settings)
    lan = await registered(tg)
    await lan.say("/report")
    await lan.press("Thi đua thực hiện có hiệu quả công tác cải cách hành chính")
    assert lan.text.startswith("Tiêu đề ngắn")
    await first.stop()

    second = await start_runner(settings)  # a new process: same database, same server
    try:
        await lan.say("Một cửa liên thông")
        assert lan.text.startswith("Thành tích đạt được?")
        await lan.say("Giảm 30% thời gian giải quyết hồ sơ.")
        await lan.press("Bỏ qua")
        await lan.press("Xác nhận")
        assert "BC-2022-0001" in lan.text
    finally:
        await second.stop()
    with session_scope() as session:
        assert session.exec(select(m.Report)).one().area == "cai-cach-hanh-chinh"


async def test_stop_finishes_the_update_in_hand(ready, tg, settings):
    entered, release = threading.Event(), threading.Event()

    def slow(incoming: Incoming) -> list[Reply]:
        entered.set()
        release.wait(5)
        return [Reply(f"đã xử lý {incoming.text}")]

    running = await start_runner(settings, slow)
    lan = person(tg)
    await lan.user.send_text("việc dở dang")
    await asyncio.to_thread(entered.wait, 5)
    stopping = asyncio.create_task(running.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()
    release.set()
    await stopping
    assert [r["plain_text"] for r in tg.sent(lan.id)] == ["đã xử lý việc dở dang"]
    assert tg.pending_updates() == []  # confirmed: not handled twice after a restart


async def test_blocked_bot_marks_the_identity_unreachable(runner, tg):
    lan = await registered(tg)
    assert identity(lan.id).reachable
    tg.block(lan.id)
    await lan.user.send_text("/help")
    await eventually(lambda: not identity(lan.id).reachable)
    assert identity(lan.id).unreachable_reason == "blocked"
    tg.unblock(lan.id)
    await lan.say("/help")  # writing again makes the chat reachable again
    assert identity(lan.id).reachable


async def test_command_menus_per_language_and_role(ready, tg, settings, people, monkeypatch):
    extra = registry.Command(
        "summary", "tonghop", registry.OFFICE, lambda ctx, args: [], lambda: "office summary"
    )
    monkeypatch.setattr(registry, "COMMANDS", [*registry.COMMANDS, extra])
    clerk = people.add(role="clerk", channel="telegram", user_id="7001")
    people.add(role="staff", channel="telegram", user_id="7002")
    assert clerk.user_id == "7001"
    running = await start_runner(settings)
    await running.stop()
    vi = tg.commands()
    en = tg.commands(language_code="en")
    # Vietnamese names in the Vietnamese (default) menu, English ones in the English menu
    assert [c["command"] for c in vi] == [
        "baocao", "denghi", "dangky", "cuatoi", "vang", "phieu", "lang", "huongdan", "huy"
    ]  # fmt: skip
    assert [c["command"] for c in en] == [
        "report", "nominate", "register_titles", "my", "away", "ballot", "lang", "help", "cancel"
    ]  # fmt: skip
    assert tg.commands(language_code="vi") == vi  # Vietnamese clients, and every other one
    assert vi[0]["description"] == "báo cáo thành tích"
    assert en[0]["description"] == "report an achievement"
    assert [c["command"] for c in tg.commands({"type": "chat", "chat_id": 7001})][-1] == "tonghop"
    assert tg.commands({"type": "chat", "chat_id": 7002}) == []


async def test_menus_follow_a_registration_and_lang_while_running(runner, tg):
    """A clerk who registers today sees the clerk's commands at once; /lang changes the menu's
    language (start-up alone would leave both until the next restart)."""
    clerk = await registered(tg, user_id=7101, role="clerk")
    chat = {"type": "chat", "chat_id": clerk.id}
    await eventually(lambda: tg.commands(chat))
    menu = tg.commands(chat)
    assert {"tonghop", "xuat", "duyet", "dondoc", "broadcast"} <= {c["command"] for c in menu}
    assert menu[0] == {"command": "baocao", "description": "báo cáo thành tích"}

    lan = await registered(tg, user_id=7102)
    staff_chat = {"type": "chat", "chat_id": lan.id}
    await eventually(lambda: tg.commands(staff_chat))
    assert "broadcast" not in {c["command"] for c in tg.commands(staff_chat)}
    await lan.say("/lang")
    await lan.press("English")
    assert lan.text == "Language set: English."
    await eventually(lambda: tg.commands(staff_chat)[0]["description"] == "report an achievement")
    assert tg.commands(staff_chat)[0]["command"] == "report"  # English names in English
    assert tg.commands(chat)[0]["description"] == "báo cáo thành tích"  # the clerk's is as it was

    calls = len(tg.calls_to("setMyCommands"))
    await lan.say("/start")  # greeted again: nothing changed, the menu is not set again
    await lan.say("/help")  # (a chat's updates are handled in order: /start's is done)
    assert len(tg.calls_to("setMyCommands")) == calls


async def test_invite_json_prints_the_deep_link(ready, tg, monkeypatch):
    telegram_settings(monkeypatch, tg)
    from bot.cli.main import app

    # The CLI quiets some loggers for good; leave them as found for the tests that follow.
    names = ("httpx", "httpcore", "apscheduler.executors", "alembic.runtime")
    noisy = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in noisy]
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["invite", "--unit", "QLCN", "--role", "staff", "--json"]
        )
    finally:
        for logger, level in zip(noisy, levels, strict=True):
            logger.setLevel(level)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["link"] == f"https://t.me/thidua_test_bot?start={rows[0]['code']}"


# ---- replies, errors, pushes --------------------------------------------------------------


async def test_documents_and_photos_are_sent(ready, tg, settings):
    png = tiny_png()

    def files(incoming: Incoming) -> list[Reply]:
        return [
            Reply(
                "Bảng tổng hợp <đợt 1>", document=File("tong-hop.csv", b"a;b\n1;2\n", "text/csv")
            ),
            Reply("Biểu đồ " * 200, image=File("bieu-do.png", png, "image/png")),
        ]

    running = await start_runner(settings, files)
    try:
        lan = person(tg)
        doc, text, photo = await lan.say("/export", expect=3)
    finally:
        await running.stop()
    assert doc["method"] == "sendDocument" and doc["document"] == b"a;b\n1;2\n"
    assert doc["filename"] == "tong-hop.csv" and doc["caption"] == "Bảng tổng hợp &lt;đợt 1&gt;"
    assert text["method"] == "sendMessage"  # too long for a caption: text first
    assert photo["method"] == "sendPhoto" and photo["photo"] == png and photo["caption"] is None


async def test_press_under_a_document_adds_the_choice_to_its_caption(ready, tg, settings):
    def files(incoming: Incoming) -> list[Reply]:
        if incoming.choice:
            return [Reply("Đã gửi lại.")]
        csv = File("tong-hop.csv", b"a;b\n1;2\n", "text/csv")
        return [
            Reply("Bảng tổng hợp <đợt 1>", (Option("Gửi lại", "flow:x:y:0000:re"),), document=csv)
        ]

    running = await start_runner(settings, files)
    try:
        lan = person(tg)
        (doc,) = await lan.say("/export")
        await lan.press("Gửi lại")
        assert lan.text == "Đã gửi lại."
        await tg.wait_for(lambda: "reply_markup" not in tg.message(lan.id, doc["message_id"]))
    finally:
        await running.stop()
    pressed = tg.message(lan.id, doc["message_id"])
    assert pressed["caption"] == "Bảng tổng hợp <đợt 1>\n\n→ Gửi lại"
    assert pressed["document"]["file_name"] == "tong-hop.csv"  # the file stays


async def test_each_chat_in_order(ready, tg, settings):
    def echo(incoming: Incoming) -> list[Reply]:
        time.sleep(0.01 if int(incoming.text or 0) % 2 else 0.03)
        return [Reply(f"{incoming.user_id}:{incoming.text}")]

    running = await start_runner(settings, echo)
    try:
        ann, binh = person(tg, 5101, "An"), person(tg, 5102, "Bình")
        for n in range(8):
            await ann.user.send_text(str(n))
            await binh.user.send_text(str(n))
        await tg.wait_sent(ann.id, 8)
        await tg.wait_sent(binh.id, 8)
    finally:
        await running.stop()
    for who in (ann, binh):
        assert [r["plain_text"] for r in tg.sent(who.id)] == [f"{who.id}:{n}" for n in range(8)]


async def test_adapter_failure_apologises_with_a_reference(ready, tg, settings, caplog):
    def broken(incoming: Incoming) -> list[Reply]:
        raise RuntimeError("boom")

    running = await start_runner(settings, broken)
    try:
        lan = person(tg)
        with caplog.at_level(logging.ERROR):
            await lan.say("/help")
    finally:
        await running.stop()
    record = next(r for r in caplog.records if "error ref=" in r.getMessage())
    ref = record.getMessage().split("ref=")[1].split()[0]
    assert "RuntimeError: boom" in caplog.text  # the traceback is logged
    assert lan.text.startswith("Xin lỗi") and f"(mã {ref})" in lan.text
    assert "boom" not in lan.text


async def test_network_errors_and_429_do_not_lose_the_update(runner, tg):
    lan = await registered(tg)
    tg.fail_next("getUpdates", 502)
    tg.fail_next("sendMessage", 429, retry_after=1)
    tg.fail_next("sendMessage", 504)
    started = time.monotonic()
    await lan.say("/help", timeout=10)
    assert "/report" in lan.text
    assert time.monotonic() - started >= 1.0  # waited out the flood control


async def test_command_in_a_group_points_to_the_private_chat(runner, tg):
    group = tg.group(-100200, "Phòng QLCN")
    lan = tg.user(5001, "Lan")
    await tg.send_text(lan, "/report", chat=group)
    [hint] = await tg.wait_sent(group.id, 1)
    assert "https://t.me/thidua_test_bot" in hint["plain_text"]


async def test_send_pushes_and_maps_errors(runner, tg):
    lan = person(tg)
    await runner.send(str(lan.id), "Nhắc hạn <15/07/2022> & nộp báo cáo")
    [pushed] = tg.sent(lan.id)
    assert pushed["text"] == "Nhắc hạn &lt;15/07/2022&gt; &amp; nộp báo cáo"
    assert pushed["plain_text"] == "Nhắc hạn <15/07/2022> & nộp báo cáo"

    tg.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as waited:
        await runner.send(str(lan.id), "x")
    assert waited.value.seconds == 7
    tg.fail_next("sendMessage", 502)
    with pytest.raises(Transient):
        await runner.send(str(lan.id), "x")
    tg.fail_next("sendMessage", 400, "Bad Request: message is too long")
    with pytest.raises(SendError) as other:
        await runner.send(str(lan.id), "x")
    assert not isinstance(other.value, Unreachable | Transient | RetryAfter)
    with pytest.raises(Unreachable):
        await runner.send("424242", "x")  # chat not found
    tg.block(lan.id)
    with pytest.raises(Unreachable):
        await runner.send(str(lan.id), "x")
    assert len(tg.sent(lan.id)) == 1


async def test_token_never_logged(ready, tg, settings, caplog):
    token = get_settings().telegram_bot_token.get_secret_value()
    caplog.set_level(logging.DEBUG)
    for name in ("aiohttp", "telegram", "telegram.Bot", "telegram.ext.Updater"):
        caplog.set_level(logging.DEBUG, logger=name)
    running = await start_runner(settings)
    try:
        lan = person(tg)
        await lan.say("/help")
    finally:
        await running.stop()
    assert "Calling Bot API endpoint `sendMessage`" in caplog.text  # every call was logged...
    assert token not in caplog.text  # ...but not the token
    assert token.split(":")[1] not in caplog.text


async def test_bad_token_is_not_logged(ready, tg, monkeypatch, caplog):
    bad = "42:definitely-not-a-real-token"
    telegram_settings(monkeypatch, tg, TELEGRAM_BOT_TOKEN=bad)
    from bot.channels.telegram import bot_username

    with caplog.at_level(logging.DEBUG):
        assert await asyncio.to_thread(bot_username) is None
    assert "could not read the bot's username" in caplog.text
    assert bad not in caplog.text and "definitely-not" not in caplog.text


async def test_replies_for_real_handlers_fit_telegram(runner, tg):
    """The router's own replies render: every keyboard button fits and is valid."""
    lan = await registered(tg)
    await lan.say("/nominate")
    assert lan.labels and all(len(label) <= 60 for label in lan.labels)
    assert all(r["parse_mode"] == "HTML" for r in tg.sent(lan.id))
    assert handle  # the runner under test is wired to the real router

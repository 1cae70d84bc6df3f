"""The fake Bot API server, driven by python-telegram-bot's own Bot and Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    ApiError,
    FakeTelegram,
    parse_html,
)

USER_ID = 1001


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error under -W error) when RetryAfter.retry_after is read as int.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


async def test_get_me_and_unknown_token(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "thidua_test_bot"
    assert me.id == int(tg.token.split(":")[0])
    assert me.can_join_groups is True and me.supports_inline_queries is False

    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("42:not-a-known-token", base_url=tg.base_url):
            pass

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}{tg.token}/sendCarrierPigeon") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.get(f"{tg.root}/botnonsense/getMe") as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"


async def test_params_arrive_as_json_form_and_query(tg: FakeTelegram) -> None:
    tg.user(USER_ID, "An")
    markup = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    url = f"{tg.base_url}{tg.token}/sendMessage"
    async with aiohttp.ClientSession() as http:
        body = {"chat_id": USER_ID, "text": "json", "reply_markup": markup}
        async with http.post(url, json=body) as resp:
            answer = await resp.json()
        form = {"chat_id": str(USER_ID), "text": "form", "reply_markup": str(markup)}
        form["reply_markup"] = '{"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}'
        async with http.post(url, data=form) as resp:
            assert resp.status == 200
        async with http.get(url, params={"chat_id": str(USER_ID), "text": "query"}) as resp:
            assert resp.status == 200
    assert answer["ok"] is True
    assert isinstance(answer["result"]["date"], int)
    assert abs(answer["result"]["date"] - time.time()) < 5  # seconds, not milliseconds
    sent = tg.sent(USER_ID)
    assert [r["text"] for r in sent] == ["json", "form", "query"]
    assert [r["message_id"] for r in sent] == [1, 2, 3]
    assert sent[0]["reply_markup"] == sent[1]["reply_markup"] == markup
    assert sent[2]["reply_markup"] is None


async def test_text_keyboard_press_answer_edit(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(USER_ID, "An", username="an_nguyen")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="flow:yes")]])
    message = await bot.send_message(
        USER_ID, "<b>Chào</b> bạn &amp; đồng nghiệp", parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
    )  # fmt: skip
    assert message.text == "Chào bạn & đồng nghiệp"
    assert message.entities[0].type == "bold" and message.entities[0].length == 4
    assert message.date.year == dtm.datetime.now(dtm.UTC).year
    assert message.reply_markup == keyboard
    record = tg.sent(USER_ID)[0]
    assert record["method"] == "sendMessage" and record["parse_mode"] == "HTML"
    assert record["text"] == "<b>Chào</b> bạn &amp; đồng nghiệp"
    assert record["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "flow:yes"

    update = await tg.press(user, record, "flow:yes")
    [received] = await bot.get_updates(timeout=1)
    assert received.update_id == update["update_id"]
    query = received.callback_query
    assert query.data == "flow:yes" and query.from_user.id == USER_ID
    assert query.message.message_id == message.message_id and query.chat_instance
    assert await query.answer("Đã ghi nhận") is True
    assert tg.callback_answers[-1]["text"] == "Đã ghi nhận"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()

    edited = await bot.edit_message_text("Xong", USER_ID, message.message_id)
    assert edited.text == "Xong" and edited.reply_markup is None and edited.edit_date
    assert tg.edits[-1]["method"] == "editMessageText"
    assert tg.message(USER_ID, message.message_id)["text"] == "Xong"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Xong", USER_ID, message.message_id)
    again = await bot.edit_message_reply_markup(USER_ID, message.message_id, reply_markup=keyboard)
    assert again.reply_markup == keyboard
    assert await bot.delete_message(USER_ID, message.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("Muộn", USER_ID, message.message_id)


async def test_get_updates_offsets_limit_and_long_poll(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(USER_ID, "An")
    first = await tg.send_text(user, "/start@thidua_test_bot now")
    await tg.send_text(user, "xin chào")
    entity = first["message"]["entities"][0]
    assert entity == {"type": "bot_command", "offset": 0, "length": 22}

    one = await bot.get_updates(limit=1)
    assert [u.message.text for u in one] == ["/start@thidua_test_bot now"]
    assert len(await bot.get_updates()) == 2  # delivery alone confirms nothing
    rest = await bot.get_updates(offset=one[0].update_id + 1)
    assert [u.message.text for u in rest] == ["xin chào"]
    assert len(tg.pending_updates()) == 1

    async def later() -> None:
        await asyncio.sleep(0.2)
        await tg.send_text(user, "muộn")

    started = time.monotonic()
    task = asyncio.create_task(later())
    polled = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=10)
    await task
    assert [u.message.text for u in polled] == ["muộn"]
    assert time.monotonic() - started < 3

    empty_start = time.monotonic()
    assert await bot.get_updates(offset=polled[-1].update_id + 1, timeout=1) == ()
    assert time.monotonic() - empty_start >= 0.9


async def test_update_ids_unique_under_concurrency(tg: FakeTelegram, bot: Bot) -> None:
    users = [tg.user(2000 + n, f"U{n}") for n in range(20)]
    updates = await asyncio.gather(
        *(tg.send_text(users[n % 20], f"m{n}") for n in range(300))
    )  # fmt: skip
    ids = [u["update_id"] for u in updates]
    assert len(set(ids)) == 300 and sorted(ids) == ids
    batch = await bot.get_updates()
    assert len(batch) == 100
    assert [u.update_id for u in batch] == ids[:100]


async def test_document_and_photo_round_trip(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(USER_ID, "An")
    data = b"PK\x03\x04 a spreadsheet, really"
    doc_message = await bot.send_document(
        USER_ID, document=data, filename="bao-cao.xlsx", caption="<i>Báo cáo</i>",
        parse_mode=ParseMode.HTML,
    )  # fmt: skip
    assert doc_message.document.file_name == "bao-cao.xlsx"
    assert doc_message.caption == "Báo cáo"
    record = tg.sent(USER_ID)[0]
    assert record["document"] == data and record["filename"] == "bao-cao.xlsx"
    assert record["caption"] == "<i>Báo cáo</i>"
    file = await bot.get_file(doc_message.document.file_id)
    assert file.file_path.startswith(tg.base_file_url)
    assert bytes(await file.download_as_bytearray()) == data

    png = tiny_png(3, 2)
    photo_message = await bot.send_photo(USER_ID, photo=png, caption="Biểu đồ")
    largest = photo_message.photo[-1]
    assert (largest.width, largest.height) == (3, 2)
    assert tg.sent(USER_ID)[1]["photo"] == png
    photo_file = await bot.get_file(largest.file_id)
    assert bytes(await photo_file.download_as_bytearray()) == png
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER_ID, photo=b"not an image")

    await tg.send_photo(user, png, caption="ảnh minh chứng")
    await tg.send_document(user, b"%PDF-1.4", "giay-khen.pdf", "application/pdf")
    photo_update, doc_update = await bot.get_updates()
    assert photo_update.message.caption == "ảnh minh chứng"
    got = await (await photo_update.message.photo[-1].get_file()).download_as_bytearray()
    assert bytes(got) == png
    assert doc_update.message.document.mime_type == "application/pdf"
    got = await (await doc_update.message.document.get_file()).download_as_bytearray()
    assert bytes(got) == b"%PDF-1.4"


async def test_errors_surface_as_ptb_exceptions(tg: FakeTelegram, bot: Bot) -> None:
    tg.user(USER_ID, "An")
    tg.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER_ID, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    tg.fail_next("sendMessage", 500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER_ID, "hi")
    tg.fail_next("*", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER_ID, "hi")
    assert (await bot.send_message(USER_ID, "hi")).text == "hi"  # faults are used up

    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hi")
    tg.block(USER_ID)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER_ID, "hi")
    tg.unblock(USER_ID)

    with pytest.raises(
        BadRequest, match=r"(?i)can't parse entities: Unsupported start tag \"br\""
    ):
        await bot.send_message(USER_ID, "a<br>b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag corresponding to start tag"):
        await bot.send_message(USER_ID, "<b>bold", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER_ID, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER_ID, "x" * 4097)
    # Tags and entities do not count towards the 4096 characters.
    assert await bot.send_message(USER_ID, f"<b>{'&lt;' * 4096}</b>", parse_mode="HTML")
    too_long_data = InlineKeyboardButton("x", callback_data="d" * 65)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "hi", reply_markup=InlineKeyboardMarkup([[too_long_data]]))
    statuses = [call["status"] for call in tg.calls_to("sendMessage")]
    assert statuses[:4] == [429, 500, 502, 200]


async def test_rate_limit_and_per_chat_timestamps() -> None:
    async with FakeTelegram(rate_limit_per_s=5) as tg:
        tg.user(USER_ID, "An")
        tg.user(USER_ID + 1, "Bình")
        async with Bot(tg.token, base_url=tg.base_url) as bot:
            for n in range(5):
                await bot.send_message(USER_ID + n % 2, f"m{n}")
            with pytest.raises(RetryAfter):
                await bot.send_message(USER_ID, "one too many")
        assert len(tg.send_times(USER_ID)) == 3 and len(tg.send_times(USER_ID + 1)) == 2
        assert tg.max_sends_per_window(USER_ID) == 3
        assert tg.max_sends_per_window() == 5


async def test_commands_per_scope_and_language(tg: FakeTelegram, bot: Bot) -> None:
    vi = [BotCommand("baocao", "Báo thành tích"), BotCommand("start", "Bắt đầu")]
    en = [BotCommand("baocao", "Report an achievement")]
    assert await bot.set_my_commands(vi, language_code="vi")
    assert await bot.set_my_commands(en, language_code="en")
    assert await bot.set_my_commands(en, scope=BotCommandScopeChat(USER_ID))
    assert await bot.get_my_commands(language_code="vi") == tuple(vi)
    assert await bot.get_my_commands(language_code="en") == tuple(en)
    assert await bot.get_my_commands() == ()
    assert await bot.get_my_commands(scope=BotCommandScopeChat(USER_ID)) == tuple(en)
    assert tg.commands(language_code="vi")[0] == {
        "command": "baocao",
        "description": "Báo thành tích",
    }
    assert await bot.delete_my_commands(language_code="vi")
    assert await bot.get_my_commands(language_code="vi") == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bao-Cao", "x")])


async def test_webhook_delivery_secret_retries_and_conflict(tg: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[dict, str | None]] = []
    failures = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = tg.user(USER_ID, "An")
        await tg.send_text(user, "trước webhook")
        url = f"http://127.0.0.1:{port}/hook"
        assert await bot.set_webhook(url, secret_token="s3cr3t", drop_pending_updates=True)
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()

        sent = [await tg.send_text(user, f"m{n}") for n in range(3)]
        await tg.wait_for(lambda: len(received) == 3)
        assert [body for body, _ in received] == sent  # in order, after one retried failure
        assert {secret for _, secret in received} == {"s3cr3t"}
        assert [d["status"] for d in tg.webhook_deliveries] == [500, 200, 200, 200]
        info = await bot.get_webhook_info()
        assert info.last_error_message and "500" in info.last_error_message

        assert await bot.delete_webhook()
        left_over = await tg.send_text(user, "sau webhook")
        assert [u.update_id for u in await bot.get_updates()] == [left_over["update_id"]]
    finally:
        await runner.cleanup()


async def test_application_polling_echo(tg: FakeTelegram) -> None:
    user = tg.user(USER_ID, "An", language_code="vi")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Bấm", callback_data="echo:1")]])
        await update.effective_message.reply_text(
            f"Chào {update.effective_user.first_name}", reply_markup=keyboard
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("OK")
        await update.callback_query.edit_message_text(f"Bạn bấm {update.callback_query.data}")

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed, pattern=r"^echo:"))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0)
    try:
        await tg.send_text(user, "/start")
        [greeting] = await tg.wait_sent(USER_ID, 1)
        assert greeting["text"] == "Chào An"
        await tg.press(user, greeting, "echo:1")
        await tg.wait_for(lambda: tg.edits)
        assert tg.callback_answers[0]["text"] == "OK"
        assert tg.message(USER_ID, greeting["message_id"])["text"] == "Bạn bấm echo:1"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert tg.pending_updates() == []  # the final offset confirmed everything
    assert not any(c["status"] != 200 for c in tg.calls if c["method"] != "getUpdates")


def test_formatting_parsers() -> None:
    text, entities = parse_html('<a href="https://x.vn/?a=1&amp;b=2">link</a> 😀 <i>nghiêng</i>')
    assert text == "link 😀 nghiêng"
    assert entities[0] == {
        "type": "text_link",
        "offset": 0,
        "length": 4,
        "url": "https://x.vn/?a=1&b=2",
    }
    assert entities[1] == {
        "type": "italic",
        "offset": 8,
        "length": 7,
    }  # the emoji is 2 UTF-16 units
    with pytest.raises(ApiError, match='Unmatched end tag at byte offset 7, expected "</i>"'):
        parse_html("<b><i>x</b></i>")


async def test_newer_get_updates_terminates_older_long_poll(tg: FakeTelegram) -> None:
    url = f"{tg.base_url}{tg.token}/getUpdates"
    async with aiohttp.ClientSession() as http:

        async def poll(timeout: int) -> tuple[int, dict]:
            async with http.post(url, json={"timeout": timeout}) as resp:
                return resp.status, await resp.json()

        older = asyncio.create_task(poll(10))
        await tg.wait_for(lambda: tg.calls_to("getUpdates"))
        await asyncio.sleep(0.05)
        (old_status, old_body), (new_status, new_body) = await asyncio.wait_for(
            asyncio.gather(older, poll(0)), 5
        )
    assert (old_status, new_status) == (409, 200)
    assert "terminated by other getUpdates request" in old_body["description"]
    assert new_body == {"ok": True, "result": []}


async def test_two_bots_keep_separate_state() -> None:
    second = "987654321:second-bot-token"
    async with FakeTelegram(tokens=[DEFAULT_TOKEN, second]) as tg:
        user = tg.user(USER_ID, "An")
        await tg.send_text(user, "cho bot thứ hai", token=second)
        async with (
            Bot(tg.token, base_url=tg.base_url) as first_bot,
            Bot(second, base_url=tg.base_url) as second_bot,
        ):
            assert (await second_bot.get_me()).username == "thidua_test1_bot"
            assert await first_bot.get_updates() == ()
            [update] = await second_bot.get_updates()
            assert update.message.text == "cho bot thứ hai"
            await second_bot.send_message(USER_ID, "chào")
        assert tg.sent(USER_ID) == [] and len(tg.sent(USER_ID, token=second)) == 1

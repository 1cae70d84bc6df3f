"""ZaloClient against the FakeZalo server (offline)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.channels.zalo_client import (
    SentMessage,
    ZaloBotInfo,
    ZaloClient,
    ZaloError,
    ZaloMalformedUpdate,
    ZaloNetworkError,
    ZaloUpdate,
)
from tests.fakes.zalo_api import FakeZalo

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.fixture
async def zl() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


@pytest.fixture
async def client(zl: FakeZalo) -> AsyncIterator[ZaloClient]:
    async with ZaloClient(zl.token, base_url=zl.root, timeout=5) as c:
        yield c


def uid() -> str:
    return secrets.token_hex(10)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_no_token(token: str, caplog: pytest.LogCaptureFixture) -> None:
    secret = token.partition(":")[2]
    for record in caplog.records:
        rendered = record.getMessage() + repr(record.args) + str(record.msg)
        assert token not in rendered, record.name
        assert secret not in rendered, record.name
    assert token not in caplog.text and secret not in caplog.text


# ---------------------------------------------------------------- round trips


async def test_get_me(client: ZaloClient, zl: FakeZalo) -> None:
    me = await client.get_me()
    assert me == ZaloBotInfo(zl.bot_id, zl.bot_name, "BASIC", False)


async def test_send_message_round_trip(client: ZaloClient, zl: FakeZalo) -> None:
    user = uid()
    sent = await client.send_message(user, "Chào bạn")
    assert isinstance(sent, SentMessage) and sent.message_id and sent.date
    assert [s.text for s in zl.sent(user)] == ["Chào bạn"]
    assert zl.messages_this_month() == 1
    assert (await zl.wait_sent(user, 1))[0].message_id == sent.message_id


async def test_send_message_at_limit_and_over_limit(client: ZaloClient, zl: FakeZalo) -> None:
    user = uid()
    await client.send_message(user, "x" * 2000)
    with pytest.raises(ValueError):
        await client.send_message(user, "x" * 2001)
    with pytest.raises(ValueError):
        await client.send_message(user, "")
    assert len(zl.calls_to("sendMessage")) == 1  # rejected locally, never sent


async def test_send_photo_and_chat_action(client: ZaloClient, zl: FakeZalo) -> None:
    user = uid()
    sent = await client.send_photo(user, "https://example.test/a.png", caption="Bảng xếp hạng")
    assert sent.message_id
    (record,) = zl.sent(user)
    assert (record.kind, record.photo, record.text) == (
        "photo",
        "https://example.test/a.png",
        "Bảng xếp hạng",
    )
    await client.send_photo(user, "https://example.test/b.png")
    assert zl.calls_to("sendPhoto")[-1].params == {
        "chat_id": user,
        "photo": "https://example.test/b.png",
    }
    assert await client.send_chat_action(user) is None
    assert zl.chat_actions == [(user, "typing")]


async def test_webhook_round_trip(client: ZaloClient, zl: FakeZalo) -> None:
    assert await client.get_webhook_info() is None  # 404 = no webhook
    await client.set_webhook("https://bot.example.test/zalo", "s3cret-token")
    assert await client.get_webhook_info() == "https://bot.example.test/zalo"
    await client.delete_webhook()
    assert await client.get_webhook_info() is None


async def test_set_webhook_rejections(client: ZaloClient) -> None:
    with pytest.raises(ValueError):
        await client.set_webhook("https://bot.example.test/zalo", "short")
    with pytest.raises(ZaloError) as info:
        await client.set_webhook("http://bot.example.test/zalo", "long-enough-secret")
    assert info.value.code == 400 and info.value.http_status == 400


async def test_webhook_delivery_both_body_shapes() -> None:
    received: list[tuple[str | None, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        for envelope in (True, False):
            async with (
                FakeZalo(envelope=envelope) as zl,
                ZaloClient(zl.token, base_url=zl.root) as c,
            ):
                await c.set_webhook(url, "secret-123")
                user = uid()
                update = await zl.send_text(user, "Xin chào", display_name="Lan")
                secret, body = received[-1]
                assert secret == "secret-123"
                assert ("result" in body) is envelope
                parsed = ZaloUpdate.from_json(body)
                assert parsed.message_id == update["message"]["message_id"]
                assert (parsed.text, parsed.display_name, parsed.user_id) == (
                    "Xin chào",
                    "Lan",
                    user,
                )
                # getUpdates is unavailable while a webhook is set.
                with pytest.raises(ZaloError) as info:
                    await c.get_updates(timeout=1)
                assert info.value.code == 400
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------- polling


async def test_get_updates_text(client: ZaloClient, zl: FakeZalo) -> None:
    user = uid()
    await zl.send_text(user, "điểm danh", display_name="Minh")
    update = await client.get_updates(timeout=1)
    assert update is not None
    assert update.event_name == "message.text.received"
    assert (update.chat_id, update.user_id, update.chat_type) == (user, user, "PRIVATE")
    assert (update.text, update.display_name) == ("điểm danh", "Minh")
    assert isinstance(update.date_ms, int) and update.date_ms > 10**12
    assert zl.calls_to("getUpdates")[-1].params == {"timeout": 1}


async def test_get_updates_other_events(client: ZaloClient, zl: FakeZalo) -> None:
    user = uid()
    await zl.send_image(user, "https://example.test/p.jpg", caption="ảnh")
    await zl.send_sticker(user)
    await zl.send_unsupported(user)
    image = await client.get_updates(timeout=1)
    sticker = await client.get_updates(timeout=1)
    unsupported = await client.get_updates(timeout=1)
    assert image and (image.event_name, image.photo_url, image.caption) == (
        "message.image.received",
        "https://example.test/p.jpg",
        "ảnh",
    )
    assert sticker and sticker.event_name == "message.sticker.received"
    assert sticker.raw["message"]["sticker"]
    assert unsupported and unsupported.event_name == "message.unsupported.received"
    assert unsupported.text is None


async def test_empty_poll_returns_none_after_408(client: ZaloClient, zl: FakeZalo) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await client.get_updates(timeout=1) is None
    assert loop.time() - started >= 0.9  # the fake really held the poll open


async def test_empty_poll_ok_false_408_with_http_200(client: ZaloClient, zl: FakeZalo) -> None:
    zl.fail_next(
        "getUpdates", 200, {"ok": False, "description": "Request timeout", "error_code": "408"}
    )
    assert await client.get_updates(timeout=1) is None


async def test_long_poll_wakes_on_new_message(client: ZaloClient, zl: FakeZalo) -> None:
    poll = asyncio.create_task(client.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    await zl.send_text(uid(), "hi")
    update = await asyncio.wait_for(poll, 2)
    assert update is not None and update.text == "hi"


async def test_redelivery_yields_same_message_id_twice() -> None:
    async with FakeZalo(redeliver=True) as zl, ZaloClient(zl.token, base_url=zl.root) as c:
        await zl.send_text(uid(), "một lần thôi")
        first = await c.get_updates(timeout=1)
        second = await c.get_updates(timeout=1)
        assert first is not None and second is not None
        assert first.message_id == second.message_id
        assert first == second
        assert await c.get_updates(timeout=1) is None


async def test_malformed_update(client: ZaloClient, zl: FakeZalo) -> None:
    zl.malformed_next_update()
    with pytest.raises(ZaloMalformedUpdate) as info:
        await client.get_updates(timeout=1)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ZaloError)
    assert not info.value.is_transient


# ---------------------------------------------------------------- parsing


_BARE = {
    "event_name": "message.text.received",
    "message": {
        "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
        "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "2d758cb5e222177a4e35",
        "date": 1750316131602,
    },
}


def test_from_json_bare_and_envelope() -> None:
    bare = ZaloUpdate.from_json(_BARE)
    wrapped = ZaloUpdate.from_json({"ok": True, "result": _BARE})
    assert bare == wrapped
    assert bare.raw == _BARE and wrapped.raw == _BARE
    assert (bare.message_id, bare.chat_id, bare.user_id) == (
        "2d758cb5e222177a4e35",
        "6ede9afa66b88fe6d6a9",
        "6ede9afa66b88fe6d6a9",
    )
    assert (bare.display_name, bare.text, bare.date_ms) == ("Ted", "Xin chào", 1750316131602)
    assert hash(bare) == hash(wrapped)


def test_from_json_fallbacks() -> None:
    msg = {
        "from": {"id": "u1", "first_name": "Old"},
        "chat": {"id": "u1"},
        "message_id": 42,
        "date": "1750316131602",
        "photo": "https://example.test/x.jpg",
    }
    update = ZaloUpdate.from_json({"event_name": "message.image.received", "message": msg})
    assert update.display_name == "Old"
    assert update.photo_url == "https://example.test/x.jpg"
    assert update.message_id == "42" and update.date_ms == 1750316131602
    msg2 = {**msg, "from": {"id": "u1", "name": "Nick"}}
    assert ZaloUpdate.from_json({"event_name": "e", "message": msg2}).display_name == "Nick"


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        {},
        {"ok": False, "error_code": 408, "description": "Request timeout"},
        {"event_name": "message.text.received"},
        {"event_name": "message.text.received", "message": {"text": "?"}},
        {"event_name": "message.text.received", "message": {"chat": {}, "message_id": "m"}},
        {"event_name": "message.text.received", "message": {"chat": {"id": "c"}}},
        {"message": _BARE["message"]},
    ],
)
def test_from_json_malformed(obj: Any) -> None:
    with pytest.raises(ValueError):
        ZaloUpdate.from_json(obj)


# ---------------------------------------------------------------- errors


async def test_quota_exhausted_is_quota(client: ZaloClient, zl: FakeZalo) -> None:
    zl.quota_exhausted = True
    with pytest.raises(ZaloError) as info:
        await client.send_message(uid(), "hết hạn mức")
    err = info.value
    assert err.is_quota and err.code == 429 and err.http_status == 429
    assert not err.is_transient
    zl.quota_exhausted = False
    await client.send_message(uid(), "lại được")


async def test_monthly_quota_counter() -> None:
    async with FakeZalo(monthly_quota=2) as zl, ZaloClient(zl.token, base_url=zl.root) as c:
        await c.send_message("a", "1")
        await c.send_photo("a", "https://example.test/1.png")
        with pytest.raises(ZaloError) as info:
            await c.send_message("a", "3")
        assert info.value.is_quota
        assert zl.messages_this_month() == 2


async def test_html_502_page(client: ZaloClient, zl: FakeZalo) -> None:
    zl.fail_next("sendMessage", 502, HTML_502)
    with pytest.raises(ZaloError) as info:
        await client.send_message(uid(), "hi")
    err = info.value
    assert (err.http_status, err.code) == (502, 502)
    assert err.is_transient and not err.is_quota
    assert "nginx" not in str(err)


async def test_html_429_page_is_quota(client: ZaloClient, zl: FakeZalo) -> None:
    zl.fail_next("getMe", 429, "<html>Too Many Requests</html>")
    with pytest.raises(ZaloError) as info:
        await client.get_me()
    assert info.value.is_quota


@pytest.mark.parametrize(
    ("status", "body", "code", "transient"),
    [
        (500, None, 500, True),
        (
            403,
            {"ok": False, "error_code": "403", "description": "Internal server error"},
            403,
            True,
        ),
        (403, "<html>Forbidden</html>", 403, False),
        (200, {"ok": False, "error_code": "oops", "description": "x"}, 200, False),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request"}, 400, False),
    ],
)
async def test_error_classification(
    client: ZaloClient, zl: FakeZalo, status: int, body: Any, code: int, transient: bool
) -> None:
    zl.fail_next("getMe", status, body)
    with pytest.raises(ZaloError) as info:
        await client.get_me()
    assert info.value.code == code
    assert info.value.http_status == status
    assert info.value.is_transient is transient
    await client.get_me()  # the fault was one-shot


async def test_fail_next_times(client: ZaloClient, zl: FakeZalo) -> None:
    zl.fail_next("sendMessage", 503, times=2)
    for _ in range(2):
        with pytest.raises(ZaloError):
            await client.send_message("u", "x")
    await client.send_message("u", "x")
    assert zl.sent_texts("u") == ["x"]


async def test_timeout_code_on_other_methods_raises(client: ZaloClient, zl: FakeZalo) -> None:
    zl.fail_next("sendMessage", 408)
    with pytest.raises(ZaloError) as info:
        await client.send_message("u", "x")
    assert info.value.is_timeout


async def test_unknown_method_is_404(client: ZaloClient) -> None:
    with pytest.raises(ZaloError) as info:
        await client._request("getme")  # method names are case-sensitive
    assert info.value.code == 404


async def test_wrong_token_is_auth(zl: FakeZalo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "123456789:" + secrets.token_hex(16)
    async with ZaloClient(token, base_url=zl.root) as c:
        with pytest.raises(ZaloError) as info:
            await c.get_me()
    assert info.value.is_auth and not info.value.is_transient
    assert token not in str(info.value)
    _assert_no_token(token, caplog)


# ---------------------------------------------------------------- token hygiene


async def test_token_not_logged_on_success(zl: FakeZalo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with ZaloClient(zl.token, base_url=zl.root) as c:
        await c.get_me()
        await c.send_message("u", "x")
        await c.get_updates(timeout=1)
    assert any(r.name == "httpx" for r in caplog.records)  # httpx did log the requests...
    _assert_no_token(zl.token, caplog)  # ...but without the token
    assert zl.token not in repr(c)


async def test_token_not_leaked_on_network_failure(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "987654321:" + secrets.token_hex(16)
    base = f"http://127.0.0.1:{_closed_port()}"
    async with ZaloClient(token, base_url=base, timeout=2) as c:
        with pytest.raises(ZaloNetworkError) as info:
            await c.send_message("u", "x")
    err = info.value
    assert err.code == 0 and err.http_status == 0 and err.is_transient
    assert token not in str(err) and token not in repr(err)
    assert err.__cause__ is None and err.__context__ is None
    _assert_no_token(token, caplog)


def test_invalid_token_message_does_not_echo_it() -> None:
    with pytest.raises(ValueError) as info:
        ZaloClient("12345:abc/def")
    assert "abc" not in str(info.value)

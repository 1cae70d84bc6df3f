"""The Telegram transport (aiohttp under python-telegram-bot) when the network fails.

The happy paths (JSON calls, multipart uploads, file downloads, long polling) run through it in
every test of tests/test_telegram_channel.py; here, what PTB must see when the server is not
there or does not answer: its own NetworkError and TimedOut, which the adapter retries and the
outbox turns into `Transient`, with no token in the message."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram_http import AiohttpRequest

TOKEN = "123456:secret-token-value"
Handler = Callable[[web.Request], Awaitable[web.Response]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def bot_at(port: int, **timeouts: float) -> Bot:
    request = AiohttpRequest(2, **timeouts)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    return bot


@asynccontextmanager
async def local_server(handler: Handler) -> AsyncIterator[int]:
    """An HTTP server on 127.0.0.1 answering every path with `handler`; yields its port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and reads, but never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_refused_connection_is_a_network_error_without_the_token():
    bot = await bot_at(free_port())
    try:
        with pytest.raises(NetworkError) as failed:
            await bot.send_message(5, "xin chào")
    finally:
        await bot.request.shutdown()
    assert not isinstance(failed.value, TimedOut)
    assert "secret-token-value" not in str(failed.value)


async def test_a_server_that_never_answers_times_out(silent_server):
    bot = await bot_at(silent_server, read_timeout=0.3)
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(TimedOut):
            await bot.send_message(5, "xin chào")
    finally:
        await bot.request.shutdown()
    assert asyncio.get_running_loop().time() - started < 3


async def test_calls_before_initialize_or_after_shutdown_are_refused():
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{free_port()}/bot", request=request)
    with pytest.raises(NetworkError, match="not initialized"):
        await bot.send_message(5, "x")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):
        await bot.send_message(5, "x")


async def test_proxy_from_the_environment_is_used_unless_bypassed(monkeypatch):
    """HTTP_PROXY carries the calls (as httpx would); NO_PROXY exempts a host."""
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        return web.json_response({"ok": True, "result": True})

    async with local_server(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        request = AiohttpRequest()
        bot = Bot(TOKEN, base_url="http://bot-api.invalid/bot", request=request)
        await request.initialize()
        assert await bot.delete_webhook() is True
        await request.shutdown()
        assert seen == [f"http://bot-api.invalid/bot{TOKEN}/deleteWebhook"]

        monkeypatch.setenv("NO_PROXY", "bot-api.invalid")
        await request.initialize()  # a new session reads the environment again
        with pytest.raises(NetworkError):  # straight to the (unresolvable) host
            await bot.delete_webhook()
        await request.shutdown()
        assert len(seen) == 1


async def test_parameters_arrive_as_a_form_whatever_they_hold():
    """Text with the form's own separators, emoji and markup, and a keyboard (JSON), come out
    of the server's form parser exactly as the bot gave them."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def api(request: web.Request) -> web.Response:
        seen.append((request.content_type, dict(await request.post())))
        return web.json_response({"ok": True, "result": True})

    text = "a&b=c+d %20 100% <b>Tổ 1 & 2</b>\nxin chào 😀"
    keyboard = {"inline_keyboard": [[{"text": "Hủy", "callback_data": "flow:x:cancel"}]]}
    async with local_server(api) as port:
        bot = await bot_at(port)
        await bot.do_api_request(
            "sendMessage", {"chat_id": 5, "text": text, "reply_markup": keyboard}
        )
        await bot.request.shutdown()
    ((content_type, form),) = seen
    assert content_type == "application/x-www-form-urlencoded"
    assert form["text"] == text and form["chat_id"] == "5"
    assert json.loads(form["reply_markup"]) == keyboard


async def test_tls_is_verified(tmp_path):
    """A server whose certificate no authority signed is refused, not talked to."""
    data = Path(__file__).parent / "data"
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(data / "selfsigned-cert.pem", data / "selfsigned-key.pem")
    answered: list[str] = []

    async def api(request: web.Request) -> web.Response:
        answered.append(request.path)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    port = runner.addresses[0][1]
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=f"https://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await bot.delete_webhook()
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert "certificate" in str(refused.value).lower()
    assert "secret-token-value" not in str(refused.value)
    assert answered == []

"""The web desk served for a test: a real aiohttp server on a free port in a thread of its own
(so plain HTTP clients and a real browser can both reach it), and signing in from `/web`."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from aiohttp import web

from bot.channels.web.desk import Desk
from bot.core.settings import get_settings
from tests.conftest import Chat

LINK = re.compile(r"(https?://\S+/web/login/\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def desk_server(monkeypatch) -> Iterator[str]:
    """Serve the desk (as `thidua run` mounts it); yield its base URL, THIDUA_PUBLIC_URL too."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("THIDUA_PUBLIC_URL", base)
    get_settings.cache_clear()
    with serving(port):
        yield base


@contextmanager
def serving(port: int) -> Iterator[None]:
    """The desk on 127.0.0.1:`port`, on an event loop of its own thread, while inside."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        Desk(get_settings()).mount(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runner_box.append(runner)
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10), "the desk did not start"
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def link_from_chat(user_id: str) -> str:
    """Send /web as this person; the sign-in link the bot answers with."""
    chat = Chat(user_id)
    chat.say("/web")
    found = LINK.search(chat.text)
    assert found, chat.text
    return found.group(1)


@contextmanager
def signed_in(base: str, user_id: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as this person, as a browser would be (the link, then its form);
    it follows no redirect, so tests see each 303."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        link = link_from_chat(user_id)
        page = client.get(link)
        assert page.status_code == 200
        token = link.rsplit("/", 1)[1]
        answer = client.post("/web/login", data={"token": token})
        assert answer.status_code == 303, answer.text
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)

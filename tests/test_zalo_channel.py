"""The Zalo channel end to end: FakeZalo on 127.0.0.1, the real handlers, a real database.

Polling runners use a 1 s long poll and a short pause between polls to keep the suite fast;
one test runs the default pause to show the 1 s floor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import func, select

from bot.channels.base import Paused, Transient, Unreachable
from bot.channels.factory import build_runners
from bot.channels.zalo import ZaloRunner
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.people import issue_invites
from bot.core.settings import get_settings
from handlers.router import handle as real_handle
from handlers.router import respond
from handlers.types import File, Incoming, Option, Reply
from tests.conftest import at
from tests.evidence_helpers import files_of
from tests.fakes.zalo_api import FakeZalo
from tests.telegram_helpers import responder

SECRET = "s3cret-webhook-token"
HOOK_PATH = "/zalo/webhook"
Handle = Callable[[Incoming], list[Reply]]


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
async def fakes(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Callable[..., Any]]:
    """`await fakes(**options)` starts a FakeZalo; all stop after the runners, and then no
    log record of the whole test may contain a token."""
    caplog.set_level(logging.DEBUG)
    started: list[FakeZalo] = []

    async def start(**options: Any) -> FakeZalo:
        fake = FakeZalo(**options)
        await fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        await fake.stop()
    records = caplog.get_records("setup") + caplog.get_records("call") + caplog.records
    for fake in started:
        _assert_no_token(fake.token, records)


@pytest.fixture
async def zl(fakes: Callable[..., Awaitable[FakeZalo]]) -> FakeZalo:
    return await fakes()


def _assert_no_token(token: str, records: list[logging.LogRecord]) -> None:
    secret = token.partition(":")[2]
    assert records  # the runner does log; the point is what it logs
    for record in records:
        rendered = f"{record.getMessage()} {record.args!r} {record.msg} {record.exc_text or ''}"
        assert token not in rendered and secret not in rendered, record.name


def _env(monkeypatch: pytest.MonkeyPatch, fake: FakeZalo, **extra: str) -> None:
    monkeypatch.setenv("ZALO_BOT_TOKEN", fake.token)
    monkeypatch.setenv("ZALO_BASE_URL", fake.root)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


class Runners:
    """Starts runners (polling, or webhook on a real 127.0.0.1 port) and stops them all."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.running: list[ZaloRunner] = []
        self.sites: list[web.AppRunner] = []
        self.hook_url = ""

    async def polling(
        self, fake: FakeZalo, handle: Handle = real_handle, interval: float = 0.05
    ) -> ZaloRunner:
        _env(self.monkeypatch, fake)
        runner = ZaloRunner(
            get_settings(), responder(handle), poll_timeout=1, poll_interval=interval
        )
        await runner.start(None)
        self.running.append(runner)
        return runner

    async def webhook(self, fake: FakeZalo, handle: Handle = real_handle) -> ZaloRunner:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.hook_url = f"http://127.0.0.1:{sock.getsockname()[1]}{HOOK_PATH}"
        _env(self.monkeypatch, fake, ZALO_WEBHOOK_URL=self.hook_url, ZALO_WEBHOOK_SECRET=SECRET)
        runner = ZaloRunner(get_settings(), responder(handle), poll_timeout=1)
        app = web.Application()
        await runner.start(app)
        self.running.append(runner)
        site_runner = web.AppRunner(app, access_log=None)
        await site_runner.setup()
        await web.SockSite(site_runner, sock).start()
        self.sites.append(site_runner)
        await _until(lambda: fake.webhook_url == self.hook_url, "setWebhook")
        return runner

    async def stop(self, runner: ZaloRunner) -> None:
        self.running.remove(runner)
        await runner.stop()

    async def close(self) -> None:
        for runner in self.running:
            await runner.stop()
        for site in self.sites:
            await site.cleanup()


@pytest.fixture
async def runners(
    ready: str, fakes: Callable[..., Awaitable[FakeZalo]], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Runners]:
    found = Runners(monkeypatch)
    yield found
    await found.close()


async def _until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _invite(unit: str = "QLCN", role: str = "staff") -> str:
    with session_scope() as session:
        unit_row = session.exec(select(m.Unit).where(m.Unit.code == unit)).one()
        (invite,) = issue_invites(
            session=session, unit=unit_row, role=role, count=1, now=clock.now()
        )
        return invite.code


def _count(model: type, *where: Any) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


class User:
    """One Zalo user talking to the bot through the fake server."""

    def __init__(self, fake: FakeZalo, user_id: str = "6ede9afa66b88fe6d6a9", name: str = "Lan"):
        self.fake, self.id, self.name = fake, user_id, name

    async def say(self, text: str, replies: int = 1) -> str:
        """Send `text`; wait for `replies` messages back; return them joined by blank lines."""
        before = len(self.fake.sent(self.id))
        await self.fake.send_text(self.id, text, display_name=self.name)
        sent = await self.fake.wait_sent(self.id, before + replies)
        return "\n\n".join(s.text or "" for s in sent[before:])

    async def register(self) -> str:
        return await self.say(f"/start {_invite()}")


# ---------------------------------------------------------------- conversations


async def test_registration_by_typing_start_code(zl: FakeZalo, runners: Runners) -> None:
    await runners.polling(zl)
    lan = User(zl)
    code = _invite()
    greeting = await lan.say(f"/start {code}")
    with session_scope() as session:
        ident = session.exec(select(m.Identity).where(m.Identity.channel == "zalo")).one()
        person = session.get(m.Person, ident.person_id)
        unit = session.get(m.Unit, person.unit_id)
        invite = session.exec(select(m.Invite).where(m.Invite.code == code)).one()
    assert (ident.user_id, ident.chat_id, ident.display_name) == (lan.id, lan.id, "Lan")
    assert invite.used_by == ident.id
    assert "Lan" in greeting and unit.name in greeting and "/report" in greeting
    assert "<" not in greeting  # plain text, no markup
    assert zl.calls_to("deleteWebhook")  # polling starts by clearing any webhook


async def test_full_report_by_numbered_answers(zl: FakeZalo, runners: Runners) -> None:
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    question = await lan.say("/report")
    assert "\n1. Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn" in question
    assert "\n3. Các phong trào thi đua khác" in question
    assert "Tiêu đề" in await lan.say("1")
    await lan.say("Số hóa 1.200 hồ sơ")
    evidence = await lan.say("Hoàn thành trước hạn 15 ngày, tiết kiệm 30% thời gian tra cứu.")
    assert "\n1. Bỏ qua" in evidence
    summary = await lan.say("1")
    assert "Số hóa 1.200 hồ sơ" in summary and "\n1. Xác nhận" in summary
    receipt = await lan.say("1")
    assert "BC-2022-0001" in receipt
    with session_scope() as session:
        report = session.exec(select(m.Report)).one()
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == lan.id)).one()
    assert (report.receipt, report.title, report.person_id) == (
        "BC-2022-0001",
        "Số hóa 1.200 hồ sơ",
        ident.person_id,
    )
    assert files_of() == []


async def test_choice_typed_as_its_text_and_photo_as_evidence(
    zl: FakeZalo, runners: Runners
) -> None:
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    await lan.say("/report")
    assert "Tiêu đề" in await lan.say("các phong trào thi đua khác")  # the label, any case
    await lan.say("Hiến máu tình nguyện")
    await lan.say("12 đồng chí tham gia ngày 14/06/2022.")
    photo = b"\xff\xd8\xff\xe0 not really a jpeg but bytes all the same"
    url = zl.host_file(photo, "image/jpeg")
    before = len(zl.sent(lan.id))
    await zl.send_image(lan.id, url, display_name="Lan")
    (received,) = (await zl.wait_sent(lan.id, before + 1))[before:]
    assert received.text and "Đã nhận 1 tệp" in received.text and "1. Xong" in received.text
    assert "Xác nhận" in await lan.say("xong")
    assert "BC-2022-0001" in await lan.say("Xác nhận")
    with session_scope() as session:
        report = session.exec(select(m.Report)).one()
    assert report.area != "" and report.title == "Hiến máu tình nguyện"
    (file,) = files_of()
    assert (file.kind, file.ref) == ("photo", url)
    assert file.path and Path(file.path).read_bytes() == photo
    attachments = Path(get_settings().attachments_dir)
    assert Path(file.path).resolve().is_relative_to(attachments.resolve())


async def test_two_photos_in_one_report(zl: FakeZalo, runners: Runners) -> None:
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    await lan.say("/report")
    await lan.say("các phong trào thi đua khác")
    await lan.say("Hiến máu tình nguyện")
    await lan.say("12 đồng chí tham gia ngày 14/06/2022.")
    photos = [b"\xff\xd8 first photo", b"\xff\xd8 second photo"]
    for n, photo in enumerate(photos, start=1):
        before = len(zl.sent(lan.id))
        await zl.send_image(lan.id, zl.host_file(photo, "image/jpeg"), display_name="Lan")
        (received,) = (await zl.wait_sent(lan.id, before + 1))[before:]
        assert received.text and f"Đã nhận {n} tệp" in received.text
    assert "Minh chứng: ảnh, ảnh" in await lan.say("1")  # "1. Xong"
    assert "Minh chứng đã lưu: 2 tệp" in await lan.say("Xác nhận")
    stored = files_of()
    assert [Path(f.path or "").read_bytes() for f in stored] == photos


async def test_a_photo_past_the_reports_limit_is_not_fetched(
    zl: FakeZalo, runners: Runners, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THIDUA_EVIDENCE_PER_REPORT", "1")
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    await lan.say("/report")
    await lan.say("các phong trào thi đua khác")
    await lan.say("Hiến máu tình nguyện")
    await lan.say("12 đồng chí tham gia.")
    for n in range(2):
        before = len(zl.sent(lan.id))
        await zl.send_image(lan.id, zl.host_file(b"\xff\xd8 photo %d" % n, "image/jpeg"))
        await zl.wait_sent(lan.id, before + 1)
    assert (zl.sent(lan.id)[-1].text or "").startswith("Mỗi báo cáo có tối đa 1 tệp")
    assert len(zl.files_served) == 1  # the second was never fetched
    await lan.say("xong")
    assert "Minh chứng đã lưu: 1 tệp" in await lan.say("Xác nhận")


async def test_thirty_people_writing_at_once_are_answered_without_waiting_in_line(
    zl: FakeZalo, runners: Runners
) -> None:
    """Polling with the real 1 s pause: after a new update the next poll goes at once, so the
    30th person is not answered 29 s after the first (the pause was after every poll)."""
    await runners.polling(zl, interval=1.0)
    people = [f"u{n:02d}" for n in range(30)]
    started = time.monotonic()
    await asyncio.gather(*(zl.send_text(p, "xin chào", display_name=p) for p in people))
    await asyncio.gather(*(zl.wait_sent(p, 1, timeout=20) for p in people))
    elapsed = time.monotonic() - started
    assert all("/start" in (zl.sent(p)[0].text or "") for p in people)
    # In line they took 29 s and more (a 1 s pause after every poll). Issue 13's goal, all
    # within 2 s, is a speed figure: benchmarks/zalo_burst.py measures it. A test only proves
    # there is no line, with room for a loaded machine.
    assert elapsed < 10.0, f"30 people answered in {elapsed:.1f} s"


async def test_a_photo_nobody_asked_for_is_not_fetched(zl: FakeZalo, runners: Runners) -> None:
    seen: list[Incoming] = []
    await runners.polling(zl, lambda inc: seen.append(inc) or [Reply("đã nhận ảnh")])
    url = zl.host_file(b"\xff\xd8 a stranger's photo", "image/jpeg")
    await zl.send_image("u1", url, caption="ảnh hội nghị")  # u1 is not registered
    await zl.wait_sent("u1", 1)
    (incoming,) = seen
    assert incoming.attachment is not None and incoming.text == "ảnh hội nghị"
    assert (incoming.attachment.kind, incoming.attachment.ref) == ("photo", url)
    assert incoming.attachment.path is None
    assert not Path(get_settings().attachments_dir, "zalo").exists()


async def test_a_photo_that_cannot_be_downloaded_still_arrives_as_evidence(
    zl: FakeZalo, runners: Runners, caplog: pytest.LogCaptureFixture
) -> None:
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    await lan.say("/report")
    await lan.say("các phong trào thi đua khác")
    await lan.say("Hiến máu tình nguyện")
    await lan.say("12 đồng chí tham gia ngày 14/06/2022.")
    gone = f"{zl.root}/files/missing"
    before = len(zl.sent(lan.id))
    await zl.send_image(lan.id, gone, display_name="Lan")
    (received,) = (await zl.wait_sent(lan.id, before + 1))[before:]
    assert received.text and "Đã nhận 1 tệp" in received.text
    await lan.say("xong")
    assert "BC-2022-0001" in await lan.say("Xác nhận")
    (file,) = files_of()
    assert (file.kind, file.ref, file.path) == ("photo", gone, None)
    assert any("not downloaded" in r.getMessage() for r in caplog.records)


async def test_restart_mid_flow_resumes(zl: FakeZalo, runners: Runners) -> None:
    first = await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    await lan.say("/report")
    assert "Tiêu đề" in await lan.say("2")
    await runners.stop(first)
    await runners.polling(zl)  # a new process on the same database
    assert "Thành tích đạt được" in await lan.say("Một cửa liên thông")
    await lan.say("Giảm 40% thời gian giải quyết hồ sơ.")
    await lan.say("bỏ qua")
    assert "BC-2022-0001" in await lan.say("1")
    with session_scope() as session:
        report = session.exec(select(m.Report)).one()
    assert report.title == "Một cửa liên thông"


async def test_stickers_and_unsupported_get_a_text_only_reply(
    zl: FakeZalo, runners: Runners
) -> None:
    seen: list[Incoming] = []

    def handle(incoming: Incoming) -> list[Reply]:
        seen.append(incoming)
        return [Reply("ok")]

    await runners.polling(zl, handle)
    await zl.send_sticker("u1")
    await zl.send_unsupported("u1")
    await zl.wait_sent("u1", 2)
    # journalled as a message with nothing to read: the router says what can be read
    assert [(i.text, i.command, i.attachment) for i in seen] == [(None, None, None)] * 2
    group = {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "u2", "display_name": "Nhóm"},
            "chat": {"id": "g1", "chat_type": "GROUP"},
            "text": "/help",
            "message_id": "group-1",
        },
    }
    await zl.push_update(group)
    await zl.send_text("u1", "/help")
    await zl.wait_sent("u1", 3)
    assert [i.command for i in seen] == [None, None, "help"]  # the group's was not handled
    assert zl.sent("g1") == []


# ---------------------------------------------------------------- rendering and splitting


async def test_long_reply_options_and_files_as_zalo_text(zl: FakeZalo, runners: Runners) -> None:
    paragraphs = [f"Mục {n}. " + "Nội dung báo cáo tổng hợp " * 17 for n in range(11)]
    long_text = "\n\n".join(p.strip() for p in paragraphs)
    assert 4900 <= len(long_text) <= 5200

    def handle(incoming: Incoming) -> list[Reply]:
        if incoming.command == "long":
            return [Reply(long_text)]
        return [
            Reply(
                "Chọn một mục:",
                (Option("Đồng ý", "flow:x:y:t:yes"), Option("Không", "flow:x:y:t:no")),
                document=File("bao-cao.xlsx", b"PK", "application/vnd.ms-excel"),
            )
        ]

    await runners.polling(zl, handle)
    await zl.send_text("u1", "/long")
    pieces = await zl.wait_sent("u1", 3)
    await asyncio.sleep(0.2)
    assert len(zl.sent("u1")) == 3
    assert all(len(p.text or "") <= 2000 for p in pieces)
    assert "\n\n".join(p.text or "" for p in pieces) == long_text
    await zl.send_text("u1", "menu")
    (menu,) = (await zl.wait_sent("u1", 4))[3:]
    assert menu.text is not None
    assert menu.text.startswith("Chọn một mục:\n\n1. Đồng ý\n2. Không\n\n")
    assert "bao-cao.xlsx" in menu.text and "Telegram" in menu.text
    assert zl.calls_to("sendPhoto") == []


# ---------------------------------------------------------------- polling quirks


async def test_redelivered_update_is_processed_once_even_after_restart(
    fakes: Callable[..., Awaitable[FakeZalo]], runners: Runners
) -> None:
    calls: list[Incoming] = []

    def handle(incoming: Incoming) -> list[Reply]:
        calls.append(incoming)
        return [Reply(f"#{len(calls)}")]

    fake = await fakes(redeliver=True)
    first = await runners.polling(fake, handle)
    update = await fake.send_text("u1", "xin chào")
    await fake.wait_sent("u1", 1)
    await _until(lambda: fake.pending_updates == 0, "the redelivery")  # handed out twice
    await fake.send_text("u1", "lần hai")
    await fake.wait_sent("u1", 2)
    await runners.stop(first)
    await runners.polling(fake, handle)
    await fake.push_update(update)  # handed out again after a restart
    await fake.send_text("u1", "lần ba")
    await fake.wait_sent("u1", 3)
    await asyncio.sleep(0.1)
    assert [c.text for c in calls] == ["xin chào", "lần hai", "lần ba"]
    assert fake.sent_texts("u1") == ["#1", "#2", "#3"]
    assert _count(m.Inbound, m.Inbound.channel == "zalo") == 3


async def test_poll_floor_backoff_and_empty_polls(
    zl: FakeZalo, runners: Runners, caplog: pytest.LogCaptureFixture
) -> None:
    zl.fail_next("getUpdates", 200, {"ok": False, "error_code": "408", "description": "timeout"})
    zl.fail_next("getUpdates", 502, "<html><body>502 Bad Gateway</body></html>")
    for n in range(3):
        await zl.send_text("u1", f"tin {n}")
    await runners.polling(zl, lambda inc: [Reply(f"đã nhận {inc.text}")], interval=1.0)
    await zl.wait_sent("u1", 3, timeout=10)
    assert zl.sent_texts("u1") == ["đã nhận tin 0", "đã nhận tin 1", "đã nhận tin 2"]
    times = [c.time for c in zl.calls_to("getUpdates")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The floor holds after the empty poll and after the error; after each new update the next
    # poll goes at once (ZALO_BOT_API.md, "getUpdates"), so a queue of updates is read quickly.
    assert len(times) >= 5 and all(gap >= 0.95 for gap in gaps[:2]), gaps
    # under the floor: no pause (each gap is the journal's commit, 0.69 s once on a loaded CI)
    assert all(gap < 0.9 for gap in gaps[2:5]), gaps
    assert any("getUpdates failed" in r.getMessage() for r in caplog.records)


async def test_journalled_updates_are_pruned_after_a_week(zl: FakeZalo, runners: Runners) -> None:
    def row(update_id: str, age: dt.timedelta, status: str = "handled") -> m.Inbound:
        return m.Inbound(
            channel="zalo",
            update_id=update_id,
            chat_id="u9",
            payload={},
            status=status,
            received_at=clock.now() - age,
        )

    with session_scope() as session:
        session.add(row("old", dt.timedelta(days=1)))
        session.add(row("ancient", dt.timedelta(days=8)))
    await runners.polling(zl, lambda inc: [])
    await _until(lambda: _ids() == ["old"], "the prune")


def _ids() -> list[str]:
    with session_scope() as session:
        return list(session.exec(select(m.Inbound.update_id)))


# ---------------------------------------------------------------- quota and send errors


async def test_quota_429_keeps_the_reply_queued_and_pauses_zalo(
    zl: FakeZalo, runners: Runners, people: Any, caplog: pytest.LogCaptureFixture
) -> None:
    admin = people.add(role="admin", channel="telegram", user_id="tg-admin", name="Trần Thị Quản")
    runner = await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    zl.quota_exhausted = True
    update = await zl.send_text(lan.id, "/help", display_name="Lan")
    waiting = (m.Outbox.channel == "zalo", m.Outbox.status != "sent")
    await _until(lambda: _count(m.Outbox, *waiting, m.Outbox.attempts > 0), "the held reply")
    midnight = dt.datetime(2022, 5, 11, tzinfo=clock.LOCAL).astimezone(dt.UTC)
    with session_scope() as session:
        (row,) = session.exec(select(m.Outbox).where(*waiting)).all()
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == lan.id)).one()
        channel_state = session.get(m.ChannelState, "zalo")
        (alert,) = session.exec(select(m.Outbox).where(m.Outbox.channel == "telegram")).all()
    assert row.key == f"reply:zalo:{update['message']['message_id']}:0"
    assert (row.identity_id, row.chat_id, row.status) == (ident.id, lan.id, "pending")
    assert "/report" in row.text and row.priority >= m.REPLY_LANE
    assert row.next_attempt_at == midnight
    assert (channel_state.paused_until, channel_state.reason) == (midnight, "quota")
    assert channel_state.sent_this_month == 1  # the greeting went out before the quota ran out
    assert alert.person_id == admin.id and "Zalo" in alert.text and "11/05/2022" in alert.text
    assert any(r.levelno == logging.WARNING and "quota" in r.getMessage() for r in caplog.records)
    # While paused nothing is tried: the next reply waits in the outbox.
    tried = len(zl.calls_to("sendMessage"))
    await zl.send_text(lan.id, "/help", display_name="Lan")
    await _until(lambda: _count(m.Outbox, *waiting) == 2, "the second reply")
    await asyncio.sleep(0.3)
    assert len(zl.calls_to("sendMessage")) == tried
    with pytest.raises(Paused) as paused:
        await runner.send(lan.id, "nhắc việc")
    assert paused.value.until == midnight
    # The next day the first send is the probe; it goes through and lifts the pause.
    at("2022-05-11T00:00:05+07:00")
    zl.quota_exhausted = False
    await runner.send(lan.id, "nhắc việc")
    assert zl.sent_texts(lan.id)[-1] == "nhắc việc"
    with session_scope() as session:
        channel_state = session.get(m.ChannelState, "zalo")
    assert channel_state.paused_until is None and channel_state.sent_this_month == 2
    assert _count(m.Outbox, m.Outbox.channel == "telegram") == 1  # one alert, not one a reply


async def test_send_errors_map_to_what_delivery_should_do(
    fakes: Callable[..., Awaitable[FakeZalo]], runners: Runners, people: Any
) -> None:
    fake = await fakes(known_chats_only=True)
    runner = await runners.polling(fake, lambda inc: [])
    ghost = people.add(channel="zalo", user_id="ghost")
    with pytest.raises(Unreachable):
        await runner.send(ghost.user_id, "xin chào")
    with session_scope() as session:
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == "ghost")).one()
    assert ident.reachable is False and ident.unreachable_reason
    await fake.send_text("u1", "hi")  # now the fake knows u1
    fake.fail_next("sendMessage", 502, "<html>502</html>")
    with pytest.raises(Transient):
        await runner.send("u1", "một")
    fake.fail_next(
        "sendMessage", 403, {"ok": False, "error_code": 403, "description": "Internal error"}
    )
    with pytest.raises(Transient):
        await runner.send("u1", "hai")
    await runner.send("u1", "\n\n".join("x" * 1500 for _ in range(3)))
    assert [len(t or "") for t in fake.sent_texts("u1")] == [1500, 1500, 1500]
    with session_scope() as session:
        assert session.get(m.ChannelState, "zalo").sent_this_month == 3
    fake.quota_exhausted = True
    with pytest.raises(Paused):
        await runner.send("u1", "ba")


# ---------------------------------------------------------------- webhook


@pytest.mark.parametrize("envelope", [True, False], ids=["envelope", "bare"])
async def test_webhook_serves_both_body_shapes(
    fakes: Callable[..., Awaitable[FakeZalo]], runners: Runners, envelope: bool
) -> None:
    fake = await fakes(envelope=envelope)
    await runners.webhook(fake)
    assert fake.webhook_secret == SECRET
    lan = User(fake)
    greeting = await lan.register()
    assert "Lan" in greeting
    assert "/report" in await lan.say("/help")
    assert all(d.status == 200 for d in fake.webhook_deliveries)
    assert fake.calls_to("getUpdates") == []


async def test_webhook_redelivery_processed_once(
    fakes: Callable[..., Awaitable[FakeZalo]], runners: Runners
) -> None:
    calls: list[Incoming] = []

    def handle(incoming: Incoming) -> list[Reply]:
        calls.append(incoming)
        return [Reply("một lần")]

    fake = await fakes(redeliver=True)
    await runners.webhook(fake, handle)
    await fake.send_text("u1", "xin chào")
    await fake.send_text("u1", "/help")
    await fake.wait_sent("u1", 2)
    await asyncio.sleep(0.2)
    assert len(fake.webhook_deliveries) == 4 and len(fake.sent("u1")) == 2
    assert [c.text or c.command for c in calls] == ["xin chào", "help"]


def _update(text: str, message_id: str = "m-1", user: str = "u1") -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": user, "display_name": "Lan", "is_bot": False},
            "chat": {"id": user, "chat_type": "PRIVATE"},
            "text": text,
            "message_id": message_id,
            "date": 1652148000000,
        },
    }


async def _post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Bot-Api-Secret-Token"] = secret
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        await r.read()
        return r.status


async def test_webhook_refuses_a_wrong_secret(zl: FakeZalo, runners: Runners) -> None:
    calls: list[Incoming] = []
    await runners.webhook(zl, lambda inc: calls.append(inc) or [Reply("ok")])
    body = json.dumps(_update("/help")).encode()
    assert await _post(runners.hook_url, body, "wrong-secret-value") == 401
    assert await _post(runners.hook_url, body, None) == 401
    assert await _post(runners.hook_url, body, SECRET[:-1]) == 401
    await asyncio.sleep(0.2)
    assert calls == [] and zl.sent() == []
    assert _count(m.Inbound) == 0
    assert await _post(runners.hook_url, body, SECRET) == 200
    await zl.wait_sent("u1", 1)
    assert len(calls) == 1


async def test_webhook_answers_400_to_a_malformed_body(
    zl: FakeZalo, runners: Runners, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Incoming] = []
    await runners.webhook(zl, lambda inc: calls.append(inc) or [Reply("ok")])
    assert await _post(runners.hook_url, b'{"event_name": "message.text', SECRET) == 400
    assert await _post(runners.hook_url, b'{"ok": true, "result": {"message": {}}}', SECRET) == 400
    assert await _post(runners.hook_url, b"\xff\xfe\x00", SECRET) == 400
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("malformed body" in w for w in warnings) == 3
    await asyncio.sleep(0.1)
    assert calls == [] and _count(m.Inbound) == 0


async def test_webhook_answers_first_and_stop_waits_for_the_update_in_hand(
    zl: FakeZalo, runners: Runners
) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(incoming: Incoming) -> list[Reply]:
        started.set()
        release.wait(5)
        return [Reply(f"xong {incoming.text}")]

    runner = await runners.webhook(zl, slow)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await _post(runners.hook_url, json.dumps(_update("một")).encode(), SECRET) == 200
    assert loop.time() - t0 < 1.0  # answered before the handler finished
    await asyncio.to_thread(started.wait, 5)
    stopping = asyncio.create_task(runners.stop(runner))
    await asyncio.sleep(0.2)
    assert not stopping.done()  # waiting for the update in hand
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert zl.sent_texts("u1") == ["xong một"]


async def test_webhook_keeps_each_chats_order(zl: FakeZalo, runners: Runners) -> None:
    def handle(incoming: Incoming) -> list[Reply]:
        if incoming.text == "chậm":
            time.sleep(0.3)
        return [Reply(f"trả lời {incoming.text}")]

    await runners.webhook(zl, handle)
    posts: list[Awaitable[int]] = [
        _post(runners.hook_url, json.dumps(_update(t, f"m-{t}")).encode(), SECRET)
        for t in ("chậm", "nhanh")
    ]
    for post in posts:
        assert await post == 200
    await zl.wait_sent("u1", 2)
    assert zl.sent_texts("u1") == ["trả lời chậm", "trả lời nhanh"]


# ---------------------------------------------------------------- composition


async def test_thidua_run_builds_the_zalo_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZALO_BOT_TOKEN", "1234567890:" + "ab" * 16)
    get_settings.cache_clear()
    (runner,) = build_runners(get_settings(), respond)
    assert isinstance(runner, ZaloRunner) and runner.name == "zalo"
    await runner.stop()  # never started: closes its HTTP client


async def test_personal_invite_and_the_cancel_line_on_zalo(zl: FakeZalo, runners: Runners) -> None:
    """A personal code binds the Zalo chat to the imported person; every question shows
    "0. Hủy", and 0 cancels."""
    await runners.polling(zl)
    with session_scope() as session:
        unit = session.exec(select(m.Unit).where(m.Unit.code == "QLCN")).one()
        person = m.Person(full_name="Võ Thị Thu", unit_id=unit.id, role="staff",
                          created_at=clock.now())  # fmt: skip
        session.add(person)
        session.flush()
        (invite,) = issue_invites(
            session=session, unit=unit, role="staff", count=1, now=clock.now(), person=person
        )
        pid, code = person.id, invite.code
    thu = User(zl, name="Thu")
    assert "Xin chào Võ Thị Thu!" in await thu.say(f"/start {code}")
    with session_scope() as session:
        ident = session.exec(select(m.Identity).where(m.Identity.channel == "zalo")).one()
    assert ident.person_id == pid
    question = await thu.say("/baocao")
    assert question.splitlines()[-1] == "0. Hủy"
    title = await thu.say("1")
    assert title.splitlines()[-1] == "0. Hủy"  # a typed question too
    assert await thu.say("0") == "Đã hủy: báo cáo thành tích (/baocao). Chưa có gì được lưu."
    assert _count(m.Conversation) == 0


async def test_a_photo_from_elsewhere_than_zalo_is_not_fetched(
    zl: FakeZalo, runners: Runners, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.channels.zalo_inbound import platform_host

    api = "https://bot-api.zaloplatforms.com"
    assert platform_host("https://photo-stal-13.zdn.vn/a.jpg", api)
    assert platform_host("https://s120-ava-talk.zadn.vn/x/y.jpg", api)
    assert platform_host(f"{zl.root}/files/x", zl.root)  # the Bot API server's own host
    assert not platform_host("https://zdn.vn.example.com/a.jpg", api)
    assert not platform_host("http://169.254.169.254/latest/meta-data/", api)
    assert not platform_host("file:///etc/passwd", api)
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    await lan.say("/report")
    await lan.say("các phong trào thi đua khác")
    await lan.say("Hiến máu tình nguyện")
    await lan.say("12 đồng chí tham gia.")
    elsewhere = zl.host_file(b"\xff\xd8 photo", "image/jpeg").replace("127.0.0.1", "localhost")
    before = len(zl.sent(lan.id))
    await zl.send_image(lan.id, elsewhere, display_name="Lan")
    await zl.wait_sent(lan.id, before + 1)
    await lan.say("xong")
    assert "BC-2022-0001" in await lan.say("Xác nhận")
    (file,) = files_of()
    assert file.ref == elsewhere and file.path is None
    assert zl.files_served == []  # never asked for
    assert any("not a Zalo address" in r.getMessage() for r in caplog.records)


async def test_zalo_photos_have_a_daily_cap(
    zl: FakeZalo, runners: Runners, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THIDUA_UPLOADS_PER_DAY", "1")
    await runners.polling(zl)
    lan = User(zl)
    await lan.register()
    for n in range(2):
        await lan.say("/report")
        await lan.say("các phong trào thi đua khác")
        await lan.say(f"Việc số {n}")
        await lan.say("Chi tiết.")
        before = len(zl.sent(lan.id))
        await zl.send_image(lan.id, zl.host_file(b"\xff\xd8 photo", "image/jpeg"))
        await zl.wait_sent(lan.id, before + 1)
        last = zl.sent(lan.id)[-1].text or ""
        if n == 0:
            await lan.say("xong")
            assert "BC-2022-0001" in await lan.say("Xác nhận")
    assert "Đã nhận" not in last  # the second photo was refused: today's cap is reached
    assert "đủ số tệp cho phép" in last
    (file,) = files_of("BC-2022-0001")
    assert file.path is not None

"""The reply lane on its own: a reply a turn claims is sent once, however the lane's own
looks fall around it."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import sqlalchemy as sa
from sqlmodel import select

from bot.channels import reply_lane
from bot.channels.inbox import Outage
from bot.channels.reply_lane import ReplyLane
from bot.core import clock, leases
from bot.core import models as m
from bot.core.db import session_scope
from handlers.types import Reply
from schedules.outbox.replies import queue_replies


def claimed_reply(text: str, chat_id: str = "5001") -> list:
    """A turn's reply, written already claimed (its chat had nothing waiting)."""
    with session_scope() as session:
        queued = queue_replies(
            session=session,
            key=f"reply:telegram:{chat_id}",
            channel="telegram",
            chat_id=chat_id,
            identity_id=None,
            person_id=None,
            messages=[(text, None)],
            now=clock.now(),
            claim=True,
        )
    assert len(queued.claimed) == 1
    return queued.claimed


def statuses() -> list[str]:
    with session_scope() as session:
        return [r.status for r in session.exec(select(m.Outbox).order_by(m.Outbox.id))]


async def test_a_reply_claimed_as_the_lane_starts_is_sent_once(ready):
    """On SQLite the lane's first look takes back every reply left `sending` (a crash's).
    A turn that claims a reply just after the lane started (the bot restarted while people
    were writing) must not have it taken back and sent a second time."""
    delivered: list[str] = []
    release = asyncio.Event()

    async def deliver(chat_id: str, reply: Reply) -> None:
        delivered.append(reply.text)
        await release.wait()  # the send is in flight while the lane looks

    leases.renew()  # as `thidua run` does first: the replies its turns claim name this lease
    lane = ReplyLane(
        "telegram",
        deliver,
        rate=1000,
        retry_for=dt.timedelta(hours=1),
        outage=Outage("telegram"),
    )
    lane.start()
    lane.hand(claimed_reply("Nội dung thi đua nào?"))
    await asyncio.sleep(0.5)  # the lane's first look, and a claim after it
    release.set()
    await lane.stop()
    assert delivered == ["Nội dung thi đua nào?"]
    assert statuses() == ["sent"]


async def test_a_reply_left_sending_before_the_start_is_sent_again(ready):
    """What a crashed process left `sending` is due again at the next start."""
    claimed_reply("Đã lưu. Số biên nhận: BC-2022-0001")  # claimed, never sent: a crash
    delivered: list[str] = []

    async def deliver(chat_id: str, reply: Reply) -> None:
        delivered.append(reply.text)

    await asyncio.sleep(0.01)  # the restart comes later than the claim
    lane = ReplyLane(
        "telegram", deliver, rate=1000, retry_for=dt.timedelta(hours=1), outage=Outage("x")
    )
    lane.start()
    for _ in range(100):
        if delivered:
            break
        await asyncio.sleep(0.05)
    await lane.stop()
    assert delivered == ["Đã lưu. Số biên nhận: BC-2022-0001"]
    assert statuses() == ["sent"]


async def test_replies_sent_while_a_mark_is_written_are_marked_together(ready, monkeypatch):
    """Ten chats answered at once: the first reply's mark is being written when the other
    nine are sent; those nine are marked in one commit after it, not one each."""
    leases.renew()
    writing = threading.Event()
    marks: list[list[int]] = []
    mark = reply_lane.replies_sent

    def slow_first(ids: list[int], now: dt.datetime) -> None:
        if not marks:
            writing.wait(5)  # the first commit takes its time
        marks.append(list(ids))
        mark(ids, now)

    monkeypatch.setattr(reply_lane, "replies_sent", slow_first)
    delivered: list[str] = []

    async def deliver(chat_id: str, reply: Reply) -> None:
        delivered.append(chat_id)

    lane = ReplyLane(
        "telegram", deliver, rate=1000, retry_for=dt.timedelta(hours=1), outage=Outage("x")
    )
    lane.start()
    lane.hand(claimed_reply("Câu trả lời", chat_id="6000"))
    while not delivered:
        await asyncio.sleep(0.01)
    for n in range(1, 10):
        lane.hand(claimed_reply("Câu trả lời", chat_id=str(6000 + n)))
    while len(delivered) < 10:
        await asyncio.sleep(0.01)
    writing.set()
    await lane.stop()
    assert sorted(delivered) == [str(6000 + n) for n in range(10)]
    assert [len(ids) for ids in marks] == [1, 9]
    assert statuses() == ["sent"] * 10


async def test_a_mark_the_store_refused_is_written_when_it_is_back(ready, monkeypatch):
    """The database fails as the reply's mark is written: the reply is not sent again and
    its mark is written on the next try."""
    leases.renew()
    tries: list[int] = []
    mark = reply_lane.replies_sent

    def down_once(ids: list[int], now: dt.datetime) -> None:
        tries.append(len(ids))
        if len(tries) == 1:
            raise sa.exc.OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        mark(ids, now)

    monkeypatch.setattr(reply_lane, "replies_sent", down_once)
    monkeypatch.setattr(reply_lane, "BACKOFF_BASE", 0.05)
    delivered: list[str] = []

    async def deliver(chat_id: str, reply: Reply) -> None:
        delivered.append(reply.text)

    outage = Outage("telegram")
    lane = ReplyLane(
        "telegram", deliver, rate=1000, retry_for=dt.timedelta(hours=1), outage=outage
    )
    lane.start()
    lane.hand(claimed_reply("Đã lưu."))
    for _ in range(100):
        if len(tries) >= 2:
            break
        await asyncio.sleep(0.05)
    await lane.stop()
    assert delivered == ["Đã lưu."]
    assert tries == [1, 1]
    assert statuses() == ["sent"]
    assert outage.down  # said in the log (once a minute), as for any outage

"""The reply lane on its own: a reply a turn claims is sent once, however the lane's own
looks fall around it."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlmodel import select

from bot.channels.inbox import Outage
from bot.channels.reply_lane import ReplyLane
from bot.core import clock, leases
from bot.core import models as m
from bot.core.db import session_scope
from handlers.types import Reply
from schedules.outbox.replies import queue_replies


def claimed_reply(text: str) -> list:
    """A turn's reply, written already claimed (its chat had nothing waiting)."""
    with session_scope() as session:
        queued = queue_replies(
            session=session,
            key="reply:telegram:1",
            channel="telegram",
            chat_id="5001",
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

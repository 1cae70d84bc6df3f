"""The delivery's claim: due rows, highest priority then oldest first, each taken once.

The claim marks its rows in one UPDATE and reads them back after the commit (by this
process's name and the claim's time), so these check that a claim hands over exactly the rows
it took: not the rows an earlier claim of this process still holds, nor another process's.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from bot.core import clock, leases
from bot.core import models as m
from bot.core.db import session_scope
from bot.delivery.claims import claim


def _queue(texts: list[tuple[str, int]], status: str = "pending", by: str | None = None) -> None:
    now = clock.now() - dt.timedelta(minutes=1)
    with session_scope() as session:
        for text, priority in texts:
            session.add(
                m.Outbox(
                    key=f"outbox:{text}",
                    channel="telegram",
                    chat_id=text,
                    text=text,
                    priority=priority,
                    status=status,
                    claimed_at=now if by else None,
                    claimed_by=by,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


def test_claims_take_each_row_once_in_order(ready):
    _queue([("a", 0), ("b", 5), ("c", 0), ("d", 5), ("e", 0)])
    first = claim("telegram", 3, clock.now())
    second = claim("telegram", 3, clock.now())  # the first claim's rows are still `sending`
    third = claim("telegram", 3, clock.now())
    assert [r.text for r in first] == ["b", "d", "a"]
    assert [r.text for r in second] == ["c", "e"]
    assert third == []
    with session_scope() as session:
        rows = session.exec(select(m.Outbox)).all()
    assert {r.status for r in rows} == {"sending"}
    assert {r.claimed_by for r in rows} == {leases.holder()}


def test_a_claim_leaves_other_processes_rows_and_replies_alone(ready):
    _queue([("theirs", 0)], status="sending", by="another-host:1:abc")
    _queue([("reply", m.REPLY_LANE)])  # the reply lane's, not the delivery's
    _queue([("mine", 0)])
    assert [r.text for r in claim("telegram", 10, clock.now())] == ["mine"]
    with session_scope() as session:
        theirs = session.exec(select(m.Outbox).where(m.Outbox.text == "theirs")).one()
        reply = session.exec(select(m.Outbox).where(m.Outbox.text == "reply")).one()
    assert theirs.claimed_by == "another-host:1:abc"
    assert reply.status == "pending"

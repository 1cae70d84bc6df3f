"""Zalo's monthly quota: pushes stop while less than ZALO_PUSH_RESERVE of it is left; replies
to people still go out (the worker claims rows of no push only)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from bot.channels.zalo import ZaloRunner
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.settings import get_settings
from bot.delivery.claims import claim, next_due


def _rows(people) -> None:
    who = people.add("staff", "QLCN", "Nguyễn Văn Z", "zalo", "z")
    now = clock.now() - dt.timedelta(minutes=1)
    with session_scope() as session:
        ident = session.exec(select(m.Identity).where(m.Identity.user_id == "z")).one()
        for key, push in (("reply", None), ("push", "push:x:anniversary.a:2022-05-19")):
            session.add(
                m.Outbox(
                    key=f"outbox:{key}",
                    push_key=push,
                    person_id=who.id,
                    identity_id=ident.id,
                    channel="zalo",
                    chat_id="z",
                    text=key,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


def _sent(n: int) -> None:
    with session_scope() as session:
        session.merge(
            m.ChannelState(
                channel="zalo", month=clock.local_now().strftime("%Y-%m"), sent_this_month=n
            )
        )


def test_only_replies_are_claimed_while_pushes_are_held(people):
    _rows(people)
    assert next_due("zalo", pushes=False) is not None
    assert [r.text for r in claim("zalo", 10, clock.now(), pushes=False)] == ["reply"]
    assert [r.text for r in claim("zalo", 10, clock.now())] == ["push"]


def test_pushes_stop_when_less_than_the_reserve_is_left(people, monkeypatch):
    monkeypatch.setenv("ZALO_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ZALO_MONTHLY_QUOTA", "1000")
    get_settings.cache_clear()
    runner = ZaloRunner(get_settings(), respond=None)  # type: ignore[arg-type]
    _sent(700)
    assert runner.pushes_allowed()
    _sent(800)  # 200 left: 20 %, the default reserve
    assert not runner.pushes_allowed()
    monkeypatch.setenv("ZALO_PUSH_RESERVE", "0.1")
    get_settings.cache_clear()
    assert ZaloRunner(get_settings(), respond=None).pushes_allowed()  # type: ignore[arg-type]


def test_without_a_known_quota_pushes_always_go(people, monkeypatch):
    monkeypatch.setenv("ZALO_BOT_TOKEN", "123:abc")
    get_settings.cache_clear()
    _sent(10**6)
    assert ZaloRunner(get_settings(), respond=None).pushes_allowed()  # type: ignore[arg-type]

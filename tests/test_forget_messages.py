"""`thidua people forget` takes the person's messages too: pushes and replies to them not sent
yet are dropped, those already sent keep their row (the outbox's counts) with no text or chat,
and their updates in the inbound journal (what they typed, the files they sent) are deleted.
Everyone else's messages are left as they were."""

from __future__ import annotations

from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.store import active_campaign
from handlers import journal
from handlers.types import Attachment, Incoming
from schedules import outbox
from schedules.outbox.replies import replies_sent
from tests.pushes_helpers import channel_env

NOW = "2022-05-10T09:00:00+07:00"


def typed(chat: str, update: str, text: str, attachment: Attachment | None = None) -> None:
    """A Telegram update journalled, as the adapter does before acknowledging it."""
    incoming = Incoming(
        channel="telegram", chat_id=chat, user_id=chat, display_name=chat, text=text,
        attachment=attachment,
    )  # fmt: skip
    assert journal.record("telegram", update, incoming)


def launch_push() -> None:
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        outbox.launch(
            session=session,
            campaign_id=row.id,
            campaign=campaign,
            channels=["telegram"],
            now=clock.now(),
        )


def rows(chat: str | None = None) -> list[m.Outbox]:
    with session_scope() as session:
        query = select(m.Outbox).order_by(m.Outbox.id)
        if chat is not None:
            query = query.where(m.Outbox.chat_id == chat)
        return list(session.exec(query))


def inbound(chat: str) -> list[m.Inbound]:
    with session_scope() as session:
        return list(session.exec(select(m.Inbound).where(m.Inbound.chat_id == chat)))


def test_forget_drops_unsent_messages_and_scrubs_the_rest(people, monkeypatch, tmp_path):
    channel_env(monkeypatch, THIDUA_NOW=NOW)
    an = people.add("staff", "QLCN", "Trần Văn An", "telegram", "an")
    people.add("staff", "QLCN", "Phạm Thị Bình", "telegram", "binh")

    typed("an", "1", "/huongdan")
    assert journal.take_turn("telegram", "an") is not None  # answered: a reply row
    replies_sent([r.id for r in rows("an")], clock.now())  # …and sent
    typed("an", "2", "/cuatoi")
    assert journal.take_turn("telegram", "an") is not None  # answered, not sent yet
    photo = tmp_path / "waiting.jpg"
    photo.write_bytes(b"\xff\xd8photo")
    typed("an", "3", "", Attachment(kind="photo", ref="f1", path=str(photo)))  # not handled
    typed("binh", "4", "/huongdan")
    launch_push()  # the launch message, to both

    mine = rows("an")
    sent = [r for r in mine if r.status == "sent"]
    assert len(sent) == 1 and sent[0].text
    assert len(mine) == 3  # the sent reply, the reply waiting, the launch push
    others = [(r.id, r.text) for r in rows("binh")]
    assert others

    result = CliRunner().invoke(app, ["people", "forget", f"#{an.id}", "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 tin nhắn gửi tới họ chưa kịp gửi đã được hủy." in result.stdout

    assert rows("an") == []  # no row names their chat any longer
    (kept,) = [r for r in rows() if r.id == sent[0].id]
    assert (kept.text, kept.chat_id, kept.payload, kept.identity_id) == ("", "", None, None)
    assert kept.status == "sent" and kept.person_id == an.id  # still counted as sent
    assert inbound("an") == []
    assert not photo.exists()
    # Bình's messages, both ways, are as they were.
    assert [(r.id, r.text) for r in rows("binh")] == others
    assert [u.update_id for u in inbound("binh")] == ["4"]


def test_forget_someone_with_nothing_queued_says_nothing_of_messages(people, monkeypatch):
    channel_env(monkeypatch, THIDUA_NOW=NOW)
    an = people.add("staff", "QLCN", "Trần Văn An", "zalo", "z-an")
    result = CliRunner().invoke(app, ["people", "forget", f"#{an.id}", "--yes"])
    assert result.exit_code == 0, result.output
    assert "tin nhắn" not in result.stdout

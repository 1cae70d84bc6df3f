"""`/broadcast`: a free text from the office to everyone or to chosen units, previewed, then
queued in the outbox (push key `push:<campaign>:broadcast.<id>:<date>`)."""

from __future__ import annotations

import re
import secrets

from sqlmodel import col, select

from bot.core import models as m
from bot.core.i18n import _, language, render
from bot.core.settings import get_settings
from bot.core.store import audit
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.types import Reply
from schedules import outbox

TEXT_MAX = 1500
ALL, UNITS = "all", "units"


def describe() -> str:
    return _("announce something to everyone or to some units")


def _units(ctx: Ctx) -> list[m.Unit]:
    return list(
        ctx.session.exec(
            select(m.Unit).where(col(m.Unit.active).is_(True)).order_by(col(m.Unit.code))
        )
    )


def _codes(text: str) -> list[str]:
    return list(dict.fromkeys(c for c in re.split(r"[\s,;]+", text.upper()) if c))


def _chosen(ctx: Ctx, answers: Answers) -> list[m.Unit] | None:
    """The chosen units, or None for everyone."""
    if answers.get("audience") != UNITS:
        return None
    wanted = _codes(str(answers["units"]))
    return [u for u in _units(ctx) if u.code in wanted]


def _check_units(ctx: Ctx, answers: Answers, value: str) -> None:
    known = {u.code for u in _units(ctx)}
    unknown = [c for c in _codes(value) if c not in known]
    if unknown:
        raise Invalid(
            _("Unknown unit code: {codes}. Type codes from the list, separated by commas.").format(
                codes=", ".join(unknown)
            )
        )


def _units_prompt(ctx: Ctx, answers: Answers) -> str:
    lines = "\n".join(f"{u.code}: {u.name}" for u in _units(ctx))
    return _("Type the codes of the units, separated by commas (e.g. {example}):").format(
        example=", ".join(u.code for u in _units(ctx)[:2])
    ) + (f"\n{lines}" if lines else "")


def _audiences(ctx: Ctx, answers: Answers) -> Choices:
    return [(ALL, _("Everyone")), (UNITS, _("Some units"))]


def _messages(ctx: Ctx, answers: Answers) -> list[tuple[outbox.Recipient, str]]:
    chosen = _chosen(ctx, answers)
    people = outbox.recipients(
        session=ctx.session,
        channels=outbox.configured_channels(get_settings()),
        unit_ids=None if chosen is None else [u.id for u in chosen if u.id is not None],
    )
    texts: dict[str, str] = {}
    found = []
    for r in people:
        if r.lang not in texts:
            with language(r.lang):
                texts[r.lang] = outbox.broadcast_text(
                    campaign=ctx.campaign, text=str(answers["text"])
                )
        found.append((r, texts[r.lang]))
    return found


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if not outbox.configured_channels(get_settings()):
        return [Reply(_("Announcements go out on Telegram or Zalo, and neither is set up here."))]
    return {"ref": secrets.token_hex(4)}


def _summary(ctx: Ctx, answers: Answers) -> str:
    chosen = _chosen(ctx, answers)
    messages = _messages(ctx, answers)
    audience = (
        _("everyone") if chosen is None else ", ".join(f"{u.name} ({u.code})" for u in chosen)
    )
    return render(
        "push/broadcast_preview.txt.j2",
        audience=audience,
        people=len({r.person_id for r, _t in messages}),
        messages=len(messages),
        sample=outbox.broadcast_text(campaign=ctx.campaign, text=str(answers["text"])),
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    messages = _messages(ctx, answers)
    if not messages:
        return [Reply(_("Nobody the bot can reach is in these units; nothing sent."))]
    assert ctx.person is not None and ctx.campaign_row.id is not None  # registered; stored
    key, added = outbox.queue_custom(
        session=ctx.session,
        campaign_id=ctx.campaign_row.id,
        campaign_code=ctx.campaign.code,
        kind="broadcast",
        ref=str(answers["ref"]),
        messages=messages,
        now=ctx.now,
    )
    chosen = _chosen(ctx, answers)
    audit(
        session=ctx.session,
        action="push.broadcast",
        person_id=ctx.person.id,
        subject=key[:64],
        detail={
            "units": None if chosen is None else [u.code for u in chosen],
            "messages": added,
            "text": str(answers["text"])[:200],
        },
    )
    return [Reply(_("Queued {n} messages; they go out in the next minutes.").format(n=added))]


FLOW = Flow(
    name="broadcast",
    begin=_begin,
    steps=(
        Step(
            "text",
            "text",
            lambda ctx, a: _("Type the announcement (at most {n} characters).").format(n=TEXT_MAX),
            label=lambda: _("Text"),
            max_len=TEXT_MAX,
        ),
        Step(
            "audience",
            "choice",
            lambda ctx, a: _("Who should receive it?"),
            label=lambda: _("Recipients"),
            choices=_audiences,
        ),
        Step(
            "units",
            "text",
            _units_prompt,
            label=lambda: _("Units"),
            max_len=300,
            when=lambda ctx, a: a.get("audience") == UNITS,
            check=_check_units,
        ),
    ),
    summary=_summary,
    finish=_finish,
)

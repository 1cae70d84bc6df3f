"""`/ballot` (`/phieu`): a council member's secret ballot in the open session.

One question per candidate (agree / disagree), a summary, confirm; the ballot then goes into
the session's box (bot/core/council.py) and everything the chat's rows held of it is cleared:
the answers in the inbound journal, the questions and summary in the outbox, the state. The
questions' button data carries the step and a token, never a candidate or a person.
"""

from __future__ import annotations

import datetime as dt

from bot.core import ballot_traces, council
from bot.core import models as m
from bot.core.i18n import _
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Step
from handlers.types import Reply

#: The most candidates one ballot can hold: one step each (the engine's steps are fixed).
MAX_CANDIDATES = 200
BASIS_SHOWN = 300


def describe() -> str:
    return _("cast your secret ballot (council members)")


def _session(ctx: Ctx, answers: Answers) -> m.BallotSession:
    row = ctx.session.get(m.BallotSession, int(str(answers["session"])))
    assert row is not None  # sessions are never deleted
    return row


def _candidates(ctx: Ctx, answers: Answers) -> list[council.Candidate]:
    return council.candidates(
        session=ctx.session, campaign=ctx.campaign, row=_session(ctx, answers)
    )


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    assert ctx.person is not None and ctx.person.id is not None
    row = council.current(session=ctx.session, campaign_id=ctx.campaign_row.id or 0)
    if row is None or row.id is None:
        return [Reply(_("No ballot session is open."))]
    seated = council.is_member(
        session=ctx.session, campaign_id=row.campaign_id, person_id=ctx.person.id
    )
    if not seated:
        return [Reply(_("You are not on the council, so you have no ballot."))]
    if council.has_voted(session=ctx.session, session_id=row.id, person_id=ctx.person.id):
        return [Reply(_("You have voted in this session already: a vote is cast once."))]
    return {"session": row.id, "since": ctx.now.isoformat(), "n": len(row.candidates)}


def _question(i: int) -> Step:
    """The step asking about candidate `i` (skipped past the last, and once the session closed)."""

    def prompt(ctx: Ctx, answers: Answers) -> str:
        found = _candidates(ctx, answers)[i]
        nom = found.nomination
        basis = nom.basis if len(nom.basis) <= BASIS_SHOWN else nom.basis[:BASIS_SHOWN] + "…"
        lines = [
            _("Secret ballot, candidate {k} of {n}").format(k=i + 1, n=answers["n"]),
            f"{found.title}: {nom.nominee_name} ({found.unit})",
            basis,
            "",
            _("Do you agree?"),
        ]
        return "\n".join(lines)

    def choices(ctx: Ctx, answers: Answers) -> Choices:
        return [(council.YES, _("Agree")), (council.NO, _("Disagree"))]

    return Step(
        f"c{i}",
        "choice",
        prompt,
        label=lambda: _("Candidate {k}").format(k=i + 1),
        choices=choices,
        when=lambda ctx, a: i < int(str(a["n"])) and not a.get(ballot_traces.CLOSED),
    )


def _choice_label(value: object) -> str:
    return _("Agree") if value == council.YES else _("Disagree")


def _summary(ctx: Ctx, answers: Answers) -> str | None:
    if answers.get(ballot_traces.CLOSED):  # the session closed meanwhile: straight to the refusal
        return None
    lines = [_("Your ballot:")]
    for i, found in enumerate(_candidates(ctx, answers)):
        shown = _choice_label(answers.get(f"c{i}"))
        lines.append(f"{i + 1}. {found.nomination.nominee_name} ({found.title}): {shown}")
    lines += ["", _("Cast it? A ballot cannot be changed once cast.")]
    return "\n".join(lines)


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None
    found = _candidates(ctx, answers)
    choices = {c.key: str(answers.get(f"c{i}")) for i, c in enumerate(found)}
    inc = ctx.incoming
    try:
        council.cast(
            session=ctx.session,
            session_id=int(str(answers["session"])),
            person=ctx.person,
            choices=choices,
            channel=inc.channel,
            chat_id=inc.chat_id,
        )
        text = _("Your ballot is cast. Thank you. It is secret: nobody can see how you voted.")
    except council.CouncilError as refused:
        text = str(refused)
    ballot_traces.forget_chat(
        session=ctx.session,
        channel=inc.channel,
        chat_id=inc.chat_id,
        since=dt.datetime.fromisoformat(str(answers["since"])),
    )
    return [Reply(text)]


FLOW = Flow(
    name=ballot_traces.BALLOT_FLOW,
    begin=_begin,
    steps=tuple(_question(i) for i in range(MAX_CANDIDATES)),
    summary=_summary,
    finish=_finish,
)

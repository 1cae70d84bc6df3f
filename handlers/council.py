"""`/council_vote` (`/binhxet`): the clerk opens the council's ballot session, follows the
turnout, and closes it; the close tallies the votes (bot/core/council.py), answers the clerk
with the results and tells each unit head how their unit's candidates fared."""

from __future__ import annotations

from collections import defaultdict
from typing import cast

from sqlmodel import select

from bot.core import council
from bot.core import models as m
from bot.core.i18n import _, current_language, language, render
from bot.core.people import reachable_identity
from bot.core.roles import Role
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.types import Reply
from schedules.outbox import queue_message

YEAR, CLOSE, TURNOUT, LEAVE = "year", "close", "turnout", "leave"
NOTIFY_CHANNELS = ("telegram", "zalo")
PRIORITY = 5  # before calendar pushes: a ballot waits for its members


def describe() -> str:
    return _("open or close the council's secret vote")


def _named(name: str, alias: str) -> str:
    """A command as the reader's language names it (the registry lists both names)."""
    return f"/{alias}" if current_language() == "vi" else f"/{name}"


def _cid(ctx: Ctx) -> int:
    assert ctx.campaign_row.id is not None
    return ctx.campaign_row.id


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    row = council.current(session=ctx.session, campaign_id=_cid(ctx))
    if row is not None:
        return {"open": row.id}
    if not council.members(session=ctx.session, campaign_id=_cid(ctx)):
        return [
            Reply(
                _(
                    "The council has no members yet. Appoint them first: "
                    "thidua council add <person>."
                )
            )
        ]
    return {}


def _scopes(ctx: Ctx, answers: Answers) -> Choices:
    return [(str(p.number), p.name) for p in ctx.campaign.phases] + [
        (YEAR, council.scope_label(ctx.campaign, None).capitalize())
    ]


def _phase(answers: Answers) -> int | None:
    scope = str(answers.get("scope"))
    return None if scope == YEAR else int(scope)


def _check_scope(ctx: Ctx, answers: Answers, value: str) -> None:
    phase = None if value == YEAR else int(value)
    found = council.accepted_nominations(
        session=ctx.session, campaign=ctx.campaign, campaign_id=_cid(ctx), phase=phase
    )
    if not found:
        raise Invalid(_("There is no accepted nomination to vote on for that. Choose another."))


def _open_row(ctx: Ctx, answers: Answers) -> m.BallotSession:
    row = ctx.session.get(m.BallotSession, int(str(answers["open"])))
    assert row is not None  # sessions are never deleted
    return row


def _status(ctx: Ctx, answers: Answers) -> str:
    row = _open_row(ctx, answers)
    assert row.id is not None
    voted = len(council.voted(session=ctx.session, session_id=row.id))
    return _(
        "Ballot session #{id} ({scope}) is open: {voted} of {members} members have voted "
        "on {n} candidates."
    ).format(
        id=row.id,
        scope=council.scope_label(ctx.campaign, row.phase),
        voted=voted,
        members=row.members,
        n=len(row.candidates),
    )


def _actions(ctx: Ctx, answers: Answers) -> Choices:
    return [
        (CLOSE, _("Close it and count the votes")),
        (TURNOUT, _("Who has voted")),
        (LEAVE, _("Leave it open")),
    ]


def _summary(ctx: Ctx, answers: Answers) -> str | None:
    if answers.get("open") is None:
        phase = _phase(answers)
        n = len(
            council.accepted_nominations(
                session=ctx.session, campaign=ctx.campaign, campaign_id=_cid(ctx), phase=phase
            )
        )
        seats = len(council.members(session=ctx.session, campaign_id=_cid(ctx)))
        return _(
            "Open a ballot session for {scope}? {n} candidates (the accepted nominations); "
            "each of the {members} council members gets a secret ballot in private chat."
        ).format(scope=council.scope_label(ctx.campaign, phase), n=n, members=seats)
    if answers.get("action") != CLOSE:
        return None
    return _status(ctx, answers) + "\n\n" + _("Close it now? No ballot is taken after the close.")


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None and ctx.person.id is not None
    if answers.get("open") is None:
        return _open(ctx, answers)
    action = answers.get("action")
    if action == LEAVE:
        return [Reply(_("The session stays open."))]
    if action == TURNOUT:
        return [Reply(_turnout(ctx, _open_row(ctx, answers)))]
    row = _open_row(ctx, answers)
    assert row.id is not None
    try:
        tally = council.close(
            session=ctx.session,
            campaign=ctx.campaign,
            session_id=row.id,
            by=ctx.person.id,
            now=ctx.now,
        )
    except council.CouncilError as problem:
        return [Reply(str(problem))]
    found = council.lines(session=ctx.session, campaign=ctx.campaign, row=row)
    _tell_heads(ctx, row, tally, found)
    return [Reply(results_text(ctx, row, tally, found))]


def results_text(
    ctx: Ctx, row: m.BallotSession, tally: council.Tally, found: list[council.Line]
) -> str:
    return render(
        "council/results.txt.j2",
        row=row,
        scope=council.scope_label(ctx.campaign, row.phase),
        tally=tally,
        quorum=council.rule_text(tally.quorum),
        groups=council.grouped(found),
    )


def _turnout(ctx: Ctx, row: m.BallotSession) -> str:
    assert row.id is not None
    done = set(council.voted(session=ctx.session, session_id=row.id))
    seats = council.members(session=ctx.session, campaign_id=row.campaign_id)
    lines = [_status(ctx, {"open": row.id})]
    lines += [f"{'✓' if p.id in done else '·'} {p.full_name}" for p in seats]
    return "\n".join(lines)


def _open(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None and ctx.person.id is not None
    try:
        row = council.open_session(
            session=ctx.session,
            campaign=ctx.campaign,
            campaign_id=_cid(ctx),
            phase=_phase(answers),
            by=ctx.person.id,
            now=ctx.now,
        )
    except council.CouncilError as problem:
        return [Reply(str(problem))]
    unreached = []
    scope = council.scope_label(ctx.campaign, row.phase)
    for member in council.members(session=ctx.session, campaign_id=row.campaign_id):
        identity = reachable_identity(
            session=ctx.session, person_id=member.id, channels=NOTIFY_CHANNELS
        )
        if identity is None:
            unreached.append(member.full_name)
            continue
        with language(member.lang):
            text = _(
                "The council's secret vote is open: {scope}, {n} candidates. "
                "Send {command} to cast your ballot."
            ).format(scope=scope, n=len(row.candidates), command=_named("ballot", "phieu"))
        queue_message(
            session=ctx.session,
            key=f"council:{row.id}:ballot:{member.id}",
            identity=identity,
            text=text,
            now=ctx.now,
            priority=PRIORITY,
        )
    text = _(
        "Ballot session #{id} is open: {n} candidates. The ballots are on their way to the "
        "council members. Close it with {command}."
    ).format(id=row.id, n=len(row.candidates), command=_named("council_vote", "binhxet"))
    if unreached:
        text += "\n" + _("Not reachable in chat (tell them to send {command}): {names}.").format(
            names=", ".join(unreached), command=_named("ballot", "phieu")
        )
    return [Reply(text)]


def _tell_heads(
    ctx: Ctx, row: m.BallotSession, tally: council.Tally, found: list[council.Line]
) -> None:
    """Each unit head gets their unit's candidates' results."""
    by_unit: dict[int, list[council.Line]] = defaultdict(list)
    for line in found:
        by_unit[line.candidate.nomination.unit_id].append(line)
    for unit_id, unit_lines in by_unit.items():
        heads = ctx.session.exec(
            select(m.Person).where(
                m.Person.unit_id == unit_id, m.Person.role == Role.HEAD, m.Person.active
            )
        )
        for head in heads:
            identity = reachable_identity(
                session=ctx.session, person_id=head.id, channels=NOTIFY_CHANNELS
            )
            if identity is None:
                continue
            with language(head.lang):
                text = results_text(ctx, row, tally, unit_lines)
            queue_message(
                session=ctx.session,
                key=f"council:{row.id}:result:{head.id}",
                identity=identity,
                text=text,
                now=ctx.now,
                priority=PRIORITY,
            )


FLOW = Flow(
    name="council_vote",
    editable=False,
    begin=_begin,
    steps=(
        Step(
            "scope",
            "choice",
            lambda ctx, a: _("A secret vote on the accepted nominations of:"),
            choices=_scopes,
            when=lambda ctx, a: a.get("open") is None,
            check=_check_scope,
        ),
        Step(
            "action",
            "choice",
            lambda ctx, a: _status(ctx, a),
            choices=_actions,
            when=lambda ctx, a: a.get("open") is not None,
            auto=lambda ctx, a: cast("str | None", a.get("action")),
        ),
    ),
    summary=_summary,
    finish=_finish,
)

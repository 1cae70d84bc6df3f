"""`/summary` (`/tonghop`): where the campaign stands, in one message, plus a chart.

`/summary` is the current phase, all units (a head: their own unit); `/summary 1` a chosen
phase; `/summary QLCN` one unit; both may be given. Staff are refused by the router.
"""

from __future__ import annotations

import dataclasses

from bot.core import models as m
from bot.core import personnel, registration
from bot.core import summary as figures_of
from bot.core.exports import chart
from bot.core.i18n import _
from bot.core.roles import Role
from handlers.context import Ctx
from handlers.types import File, Reply

#: The longest message each channel takes; others (console, tests) get Telegram's.
LIMITS = {"telegram": 4096, "zalo": 2000}
DEFAULT_LIMIT = 4096
#: Channels that show an image; Zalo's bot API is text only.
IMAGE_CHANNELS = frozenset({"telegram"})
#: Channels where the summary comes as one message per part (about a phone screen each).
PART_CHANNELS = frozenset({"telegram"})


def parts(text: str, headings: tuple[str, ...]) -> list[Reply]:
    """The summary as one reply per part: the title with the units' phase reports, the
    personal reports, the nominations against the targets (each part starts at a heading)."""
    starts = set(headings[2:])  # the first part holds the title and the phase reports
    chunks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip() in starts and chunks[-1]:
            chunks.append([])
        chunks[-1].append(line)
    return [
        Reply(body, headings=tuple(h for h in headings if h in body.split("\n")))
        for chunk in chunks
        if (body := "\n".join(chunk).strip())
    ]


def parse(ctx: Ctx, args: str) -> tuple[int | None, m.Unit | None, str | None]:
    """(phase, unit row, problem) from `1`, `QLCN`, `1 QLCN`, `QLCN 2`."""
    phase, unit = None, None
    for word in args.replace(",", " ").split():
        if word.isascii() and word.isdigit():
            numbers = [p.number for p in ctx.campaign.phases]
            if int(word) not in numbers:
                return (
                    None,
                    None,
                    _("There is no phase {n}. Phases: {numbers}.").format(
                        n=word, numbers=", ".join(str(n) for n in numbers)
                    ),
                )
            phase = int(word)
            continue
        unit = figures_of.find_unit(session=ctx.session, code=word)
        if unit is None:
            return (
                None,
                None,
                _("There is no unit {code}. /summary lists the units.").format(code=word),
            )
    return phase, unit, None


def run(ctx: Ctx, args: str) -> list[Reply]:
    phase, unit, problem = parse(ctx, args)
    if problem:
        return [Reply(problem)]
    if ctx.role == Role.HEAD:
        assert ctx.person is not None and ctx.unit is not None  # a head is registered
        if unit is not None and unit.id != ctx.person.unit_id:
            return [
                Reply(
                    _("You can see the summary of your own unit only: /summary {code}.").format(
                        code=ctx.unit.code
                    )
                )
            ]
        unit = ctx.unit
    figures = figures_of.compile_summary(
        session=ctx.session,
        campaign_row=ctx.campaign_row,
        campaign=ctx.campaign,
        today=ctx.today,
        phase=phase,
        unit=unit,
    )
    channel = ctx.incoming.channel
    limit = LIMITS.get(channel, DEFAULT_LIMIT)
    text, headings = figures_of.render_parts(figures, limit, office=ctx.role != Role.HEAD)
    if channel in PART_CHANNELS:
        replies = parts(text, headings)
    else:
        replies = [Reply(text, headings=headings)]
    if ctx.role != Role.HEAD and unit is None:
        for call in call_list(ctx):  # in the same message when it fits (Zalo counts each)
            joined = f"{replies[-1].text}\n\n{call.text}"
            if len(joined) <= limit:
                replies[-1] = dataclasses.replace(replies[-1], text=joined)
            else:
                replies.append(call)
    assert ctx.campaign_row.id is not None  # a stored row
    registered = registration.tally_text(
        registration.tally(
            session=ctx.session,
            campaign_id=ctx.campaign_row.id,
            campaign=ctx.campaign,
            unit_id=unit.id if unit else None,
        )
    )
    if registered:  # in the same message when it fits, as the call list
        joined = f"{replies[-1].text}\n\n{registered}"
        if len(joined) <= limit:
            replies[-1] = dataclasses.replace(replies[-1], text=joined)
        else:
            replies.append(Reply(registered))
    if channel in IMAGE_CHANNELS:
        name = f"tong-hop-dot-{figures.phase.number}"
        if figures.unit is not None:
            name += f"-{figures.unit.code.lower()}"
        replies.append(
            Reply(
                _("Personal reports by unit, {phase}.").format(phase=figures.phase.name),
                image=File(f"{name}.png", chart.reports_by_unit(figures), "image/png"),
            )
        )
    return replies


def call_list(ctx: Ctx) -> list[Reply]:
    """For the office: how many to call, by why, and where the names are."""
    spent = personnel.spent_channels(session=ctx.session, now=ctx.now)
    calls = personnel.unreachable(session=ctx.session, now=ctx.now, spent=spent)
    if not calls:
        return []
    never = [c for c in calls if c.why == "never_registered"]
    ages = [(ctx.now - c.since).days for c in never if c.since is not None]
    text = _(
        "To call: {never} never registered{oldest}, {blocked} blocked the bot or unreachable, "
        "{quota} only on a channel whose quota is spent. The list: thidua people unreachable."
    ).format(
        never=len(never),
        oldest=_(" (oldest invite {n} days)").format(n=max(ages)) if ages else "",
        blocked=sum(1 for c in calls if c.why == "blocked"),
        quota=sum(1 for c in calls if c.why == "quota"),
    )
    return [Reply(text)]


def describe() -> str:
    return _("where the campaign stands")

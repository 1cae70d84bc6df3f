"""Questions several flows ask: which open phase (`/report`, `/remind`)."""

from __future__ import annotations

from bot.core.i18n import _, format_day
from handlers.context import Ctx
from handlers.engine import Answers, Choices


def phase_choices(ctx: Ctx, answers: Answers) -> Choices:
    """The phases open for reports today, with their deadlines."""
    return [
        (
            str(p.number),
            _("{name} (until {deadline})").format(
                name=p.name, deadline=format_day(p.last_report_day)
            ),
        )
        for p in ctx.campaign.open_phases(ctx.today)
    ]


def only_open_phase(ctx: Ctx, answers: Answers) -> str | None:
    """The phase without asking, when only one is open."""
    open_now = ctx.campaign.open_phases(ctx.today)
    return str(open_now[0].number) if len(open_now) == 1 else None

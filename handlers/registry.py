"""Every command the bot answers, in one list: name, Vietnamese alias, who may use it, and what
it runs (a flow, or a one-shot answer). Nothing registers itself: a command exists because it
is listed here.

The order is the order of `/help` and of the Telegram command menu.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.i18n import _
from bot.core.roles import EVERYONE, OFFICE_ROLES, UNIT_LEADS
from handlers import (
    basics,
    broadcast,
    engine,
    export,
    my,
    nominate,
    remind,
    report,
    review,
    summary,
)
from handlers.context import Ctx, allowed
from handlers.engine import Flow
from handlers.types import Reply

OFFICE = OFFICE_ROLES


@dataclass(frozen=True)
class Command:
    name: str
    alias: str | None
    roles: frozenset[str]
    run: Callable[[Ctx, str], list[Reply]]
    describe: Callable[[], str]


def flow(of: Flow) -> Callable[[Ctx, str], list[Reply]]:
    return lambda ctx, args: engine.start(ctx, of, args)


COMMANDS: list[Command] = [
    Command("report", "baocao", EVERYONE, flow(report.FLOW), lambda: _("report an achievement")),
    Command("nominate", "denghi", EVERYONE, flow(nominate.FLOW), lambda: _("propose an award")),
    Command("my", "cuatoi", EVERYONE, flow(my.FLOW), lambda: _("your reports and nominations")),
    Command("summary", "tonghop", UNIT_LEADS, summary.run, summary.describe),
    Command("export", "xuat", OFFICE, flow(export.FLOW), export.describe),
    Command("review", "duyet", OFFICE, flow(review.FLOW), review.describe),
    Command("remind", "doncoc", OFFICE, flow(remind.FLOW), remind.describe),
    Command("broadcast", None, OFFICE, flow(broadcast.FLOW), broadcast.describe),
    Command(
        "lang", None, EVERYONE, flow(basics.LANG), lambda: _("language: Tiếng Việt / English")
    ),
    Command(
        "help",
        "huongdan",
        EVERYONE,
        lambda ctx, args: [Reply(basics.help_text(ctx))],
        lambda: _("what I can do"),
    ),
    Command("cancel", "huy", EVERYONE, lambda ctx, args: [], lambda: _("stop what is going on")),
    Command("start", None, EVERYONE, basics.start, lambda: _("register with an invite code")),
]

#: Each flow by the name its conversation state records.
FLOWS: dict[str, Flow] = {
    f.name: f
    for f in (
        report.FLOW,
        nominate.FLOW,
        my.FLOW,
        export.FLOW,
        review.FLOW,
        remind.FLOW,
        broadcast.FLOW,
        basics.LANG,
    )
}

BY_NAME: dict[str, Command] = {}


def index() -> None:
    """Build the name and alias lookup."""
    BY_NAME.clear()
    for command in COMMANDS:
        BY_NAME[command.name] = command
        if command.alias:
            BY_NAME[command.alias] = command


def allowed_commands(role: str | None) -> list[Command]:
    return allowed(COMMANDS, role)


index()

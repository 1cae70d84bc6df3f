"""Every command the bot answers, in one list: name, Vietnamese alias, who may use it.

The order is the order of `/help` and of the Telegram command menu.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import _, current_language
from handlers import basics, broadcast, engine, export, remind, review, summary
from handlers.context import ADMIN, CLERK, HEAD, STAFF, Ctx
from handlers.types import Reply

EVERYONE = frozenset({STAFF, HEAD, CLERK, ADMIN})
UNIT_LEADS = frozenset({HEAD, CLERK, ADMIN})
OFFICE = frozenset({CLERK, ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    alias: str | None
    roles: frozenset[str]
    run: Callable[[Ctx, str], list[Reply]]
    describe: Callable[[], str]


def flow(name: str) -> Callable[[Ctx, str], list[Reply]]:
    return lambda ctx, args: engine.start(ctx, name, args)


COMMANDS: list[Command] = [
    Command("report", "baocao", EVERYONE, flow("report"), lambda: _("report an achievement")),
    Command("nominate", "denghi", EVERYONE, flow("nominate"), lambda: _("propose an award")),
    Command("my", "cuatoi", EVERYONE, flow("my"), lambda: _("your reports and nominations")),
    Command("summary", "tonghop", UNIT_LEADS, summary.run, summary.describe),
    Command("export", "xuat", OFFICE, flow("export"), export.describe),
    Command("review", "duyet", OFFICE, flow("review"), review.describe),
    Command("remind", "doncoc", OFFICE, flow("remind"), remind.describe),
    Command("broadcast", None, OFFICE, flow("broadcast"), broadcast.describe),
    Command("lang", None, EVERYONE, flow("lang"), lambda: _("language: Tiếng Việt / English")),
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

BY_NAME: dict[str, Command] = {}


def index() -> None:
    """Build the name and alias lookup."""
    BY_NAME.clear()
    for command in COMMANDS:
        BY_NAME[command.name] = command
        if command.alias:
            BY_NAME[command.alias] = command


def shown_name(command: Command) -> str:
    """/baocao to people reading Vietnamese, /report to those reading English."""
    if command.alias and current_language() == "vi":
        return f"/{command.alias}"
    return f"/{command.name}"


def allowed_commands(role: str | None) -> list[Command]:
    return [c for c in COMMANDS if role in c.roles and c.name != "start"]


index()

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
from bot.core.text import fold
from handlers import (
    away,
    ballot,
    basics,
    broadcast,
    council,
    engine,
    export,
    my,
    nominate,
    register_titles,
    remind,
    report,
    review,
    staff,
    summary,
    web,
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
    #: What a person may type without the slash for this command, in either language (matched
    #: folded: any case, with or without diacritics, either tone-mark placement).
    words: tuple[str, ...] = ()
    #: Older or other spellings that still work (not shown in menus).
    also: tuple[str, ...] = ()


def flow(of: Flow) -> Callable[[Ctx, str], list[Reply]]:
    return lambda ctx, args: engine.start(ctx, of, args)


# Matching data, not text shown: the words are compared folded, never displayed.
COMMANDS: list[Command] = [
    Command(
        "report",
        "baocao",
        EVERYONE,
        flow(report.FLOW),
        lambda: _("report an achievement"),
        words=("báo cáo", "báo cáo thành tích", "report"),
    ),
    Command(
        "nominate",
        "denghi",
        EVERYONE,
        flow(nominate.FLOW),
        lambda: _("propose an award"),
        words=("đề nghị", "đề nghị khen thưởng", "nominate"),
    ),
    Command(
        "register_titles",
        "dangky",
        EVERYONE,
        flow(register_titles.FLOW),
        register_titles.describe,
        words=("đăng ký", "đăng ký thi đua", "register titles"),
    ),
    Command(
        "my",
        "cuatoi",
        EVERYONE,
        flow(my.FLOW),
        lambda: _("your reports and nominations"),
        words=("của tôi",),
    ),
    Command(
        "summary",
        "tonghop",
        UNIT_LEADS,
        summary.run,
        summary.describe,
        words=("tổng hợp", "summary"),
    ),
    Command(
        "away",
        "vang",
        EVERYONE,
        flow(away.FLOW),
        away.describe,
        words=("vắng", "vắng mặt", "away"),
    ),
    Command("export", "xuat", OFFICE, flow(export.FLOW), export.describe, words=("xuất",)),
    Command("review", "duyet", OFFICE, flow(review.FLOW), review.describe, words=("duyệt",)),
    Command(
        "remind",
        "dondoc",
        OFFICE,
        flow(remind.FLOW),
        remind.describe,
        words=("đôn đốc",),
        also=("doncoc",),  # the alias's first, misspelt form: links in old messages use it
    ),
    Command(
        "council_vote",
        "binhxet",
        OFFICE,
        flow(council.FLOW),
        council.describe,
        words=("bình xét", "council vote"),
    ),
    Command(
        "ballot",
        "phieu",
        EVERYONE,  # a seat on the council is not a role: the flow checks it
        flow(ballot.FLOW),
        ballot.describe,
        words=("phiếu", "bỏ phiếu", "ballot"),
    ),
    Command("staff", "nhansu", OFFICE, flow(staff.FLOW), staff.describe, words=("nhân sự",)),
    Command(
        "web",
        "trangweb",
        UNIT_LEADS,
        web.run,
        web.describe,
        words=("trang web", "web"),
    ),
    Command("broadcast", None, OFFICE, flow(broadcast.FLOW), broadcast.describe),
    Command(
        "lang",
        None,
        EVERYONE,
        flow(basics.LANG),
        lambda: _("language: Tiếng Việt / English"),
        words=("ngôn ngữ", "language"),
    ),
    Command(
        "help",
        "huongdan",
        EVERYONE,
        lambda ctx, args: [Reply(basics.help_text(ctx))],
        lambda: _("what I can do"),
        words=("hướng dẫn", "trợ giúp", "help"),
    ),
    Command(
        "cancel",
        "huy",
        EVERYONE,
        lambda ctx, args: [],
        lambda: _("stop what is going on"),
        words=("hủy", "hủy bỏ", "cancel"),
    ),
    Command("start", None, EVERYONE, basics.start, lambda: _("register with an invite code")),
]

#: Each flow by the name its conversation state records.
FLOWS: dict[str, Flow] = {
    f.name: f
    for f in (
        report.FLOW,
        nominate.FLOW,
        register_titles.FLOW,
        my.FLOW,
        away.FLOW,
        export.FLOW,
        review.FLOW,
        remind.FLOW,
        broadcast.FLOW,
        staff.FLOW,
        council.FLOW,
        ballot.FLOW,
        basics.LANG,
        basics.BIND,
    )
}

BY_NAME: dict[str, Command] = {}
#: Each command by its names and words folded (see `bot.core.text.fold`), spaces removed.
BY_WORDS: dict[str, Command] = {}


def index() -> None:
    """Build the name and alias lookup, and the folded one for words typed without a slash."""
    BY_NAME.clear()
    BY_WORDS.clear()
    for command in COMMANDS:
        names = [command.name, *([command.alias] if command.alias else []), *command.also]
        for name in names:
            BY_NAME[name] = command
        for word in (*names, *command.words):
            BY_WORDS.setdefault(_squash(word), command)


def _squash(text: str) -> str:
    return fold(text).replace(" ", "")


def by_words(text: str) -> Command | None:
    """The command these words name ("báo cáo", "Tong hop", "/huỷ"), if any."""
    return BY_WORDS.get(_squash(text.removeprefix("/"))) if len(text) <= 40 else None


def allowed_commands(role: str | None) -> list[Command]:
    return allowed(COMMANDS, role)


index()

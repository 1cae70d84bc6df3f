"""`/vang` (`/away`): "away until DD/MM", with an optional reason. No reminders while away;
the unit head and `/tonghop` see it; it ends by itself the day after.

`/vang 20/07 nghỉ phép` sets it at once; `/vang` asks; `/vang về` (or `back`) ends it early.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.core.i18n import _, format_day
from bot.core.personnel import is_away, set_away
from bot.core.text import fold
from handlers.context import Ctx
from handlers.engine import Answers, Flow, Invalid, Step
from handlers.types import Reply

LONGEST = dt.timedelta(days=366)
REASON_MAX = 200
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?(?:\s+(.*))?$", re.DOTALL)
#: Typed to end an absence early (folded: any case, diacritics or not). Matching data.
_BACK = frozenset(fold(w) for w in ("về", "đã về", "hết", "back", "0"))


def describe() -> str:
    return _("away until a date: no reminders meanwhile")


def parse(text: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    """(until, reason) from "20/07", "20/07/2022 nghỉ phép"; (None, None) for "về"; else
    Invalid."""
    text = text.strip()
    if fold(text) in _BACK:
        return None, None
    match = _DATE.match(text)
    if not match:
        raise Invalid(_("Please give the last day you are away as DD/MM, e.g. 20/07."))
    day, month, year, reason = match.groups()
    try:
        if year:
            until = dt.date(int(year) + (2000 if len(year) == 2 else 0), int(month), int(day))
        else:
            until = dt.date(today.year, int(month), int(day))
            if until < today:
                until = dt.date(today.year + 1, int(month), int(day))
    except ValueError:
        raise Invalid(_("{text} is not a date.").format(text=text.split()[0])) from None
    if until < today:
        raise Invalid(_("That day has passed. Please give a day from today on."))
    if until - today > LONGEST:
        raise Invalid(_("At most a year ahead, please."))
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Invalid(
            _("The reason is {n} characters; at most {max} are allowed.").format(
                n=len(reason), max=REASON_MAX
            )
        )
    return until, reason or None


def _apply(ctx: Ctx, text: str) -> list[Reply]:
    assert ctx.person is not None  # flows run for registered people only
    until, reason = parse(text, ctx.today)
    was_away = is_away(ctx.person, ctx.today)
    set_away(session=ctx.session, person=ctx.person, until=until, reason=reason)
    if until is None:
        return [
            Reply(
                _("Welcome back: reminders are on again.")
                if was_away
                else _("You were not marked away.")
            )
        ]
    text = _("Noted: you are away until {day}; no reminders until then.").format(
        day=format_day(until)
    )
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=reason)
    return [Reply(text + "\n" + _("Back earlier? Send /away back."))]


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if not args:
        return {}
    try:
        return _apply(ctx, args)
    except Invalid as problem:
        return [Reply(str(problem))]


def _prompt(ctx: Ctx, answers: Answers) -> str:
    assert ctx.person is not None
    ask = _("Until which day are you away? DD/MM, a reason may follow (e.g. 20/07 on leave).")
    if is_away(ctx.person, ctx.today) and ctx.person.away_until is not None:
        now = _("You are away until {day}; to end it, answer: back.").format(
            day=format_day(ctx.person.away_until)
        )
        return f"{now}\n{ask}"
    return ask


def _check(ctx: Ctx, answers: Answers, value: str) -> None:
    parse(value, ctx.today)


FLOW = Flow(
    name="away",
    begin=_begin,
    steps=(Step("until", "text", _prompt, max_len=REASON_MAX + 20, check=_check),),
    finish=lambda ctx, answers: _apply(ctx, str(answers["until"])),
)

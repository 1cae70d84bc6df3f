"""`/register_titles` (`/dangky`): the titles a person aims for this year, or a unit head the
collective ones for the unit (đăng ký thi đua), inside the campaign's registration window.

Running it again shows what is registered and replaces it; the receipt (DK-2022-0001) stays.
After the window closes it is refused, naming the day it closed.
"""

from __future__ import annotations

from bot.core import registration
from bot.core.campaign import Audience
from bot.core.i18n import _, format_day, render
from bot.core.roles import UNIT_LEADS
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.picks import numbered, parse_numbers
from handlers.types import Reply


def describe() -> str:
    return _("register the titles you aim for this year")


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    window = ctx.campaign.registration
    if window is None:
        return [Reply(_("This campaign has no registration of titles."))]
    if ctx.today < window.opens:
        return [
            Reply(
                _("Registration opens on {day}. Until then there is nothing to register.").format(
                    day=format_day(window.opens)
                )
            )
        ]
    if ctx.today > window.closes:
        return [Reply(_closed(ctx))]
    return {}


def _closed(ctx: Ctx) -> str:
    window = ctx.campaign.registration
    assert window is not None  # asked only where the campaign has a window
    return _(
        "Registration closed on {day}: registrations can no longer be made or changed. "
        "If a change is needed, ask the office."
    ).format(day=format_day(window.closes))


def _audiences(ctx: Ctx, answers: Answers) -> Choices:
    unit = ctx.unit.name if ctx.unit else ""
    return [
        ("individual", _("For myself")),
        ("collective", _("For my unit: {unit}").format(unit=unit)),
    ]


def _titles(ctx: Ctx, answers: Answers) -> list[tuple[str, str]]:
    return [(t.code, t.name) for t in registrable(ctx, answers)]


def registrable(ctx: Ctx, answers: Answers) -> list:
    return registration.registrable(ctx.campaign, str(answers.get("audience", "individual")))


def _current(ctx: Ctx, answers: Answers) -> list[str]:
    assert ctx.person is not None and ctx.campaign_row.id is not None
    audience = str(answers["audience"])
    subject = registration.subject_for(
        audience=audience, person_id=ctx.person.id, unit_id=ctx.person.unit_id
    )
    return registration.registered_for(
        session=ctx.session, campaign_id=ctx.campaign_row.id, subject=subject
    )


def _prompt(ctx: Ctx, answers: Answers) -> str:
    titles = _titles(ctx, answers)
    names = dict(titles)
    current = [names.get(code, code) for code in _current(ctx, answers)]
    return render(
        "awards/register_prompt.txt.j2",
        listed=numbered([name for _code, name in titles]),
        current=current,
        collective=answers.get("audience") == "collective",
    )


def _check(ctx: Ctx, answers: Answers, value: str) -> None:
    if not _titles(ctx, answers):
        raise Invalid(_("There is no title to register for this."))
    parse_numbers(value, len(_titles(ctx, answers)))


def _picked(ctx: Ctx, answers: Answers) -> list[str]:
    titles = _titles(ctx, answers)
    return [titles[i][0] for i in parse_numbers(str(answers["titles"]), len(titles))]


def _show(ctx: Ctx, answers: Answers, value: object) -> str:
    names = dict(_titles(ctx, answers))
    return ", ".join(names[c] for c in _picked(ctx, answers))


def _summary(ctx: Ctx, answers: Answers) -> str:
    names = dict(_titles(ctx, answers))
    collective = answers.get("audience") == "collective"
    return render(
        "awards/register_summary.txt.j2",
        year=ctx.campaign.year,
        who=(
            ctx.unit.name
            if collective and ctx.unit
            else ctx.person.full_name
            if ctx.person
            else ""
        ),
        titles=[names[c] for c in _picked(ctx, answers)],
        collective=collective,
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None  # flows run for registered people only
    window = ctx.campaign.registration
    assert window is not None  # the flow starts only where there is one
    audience: Audience = "collective" if answers.get("audience") == "collective" else "individual"
    try:
        saved, new = registration.save(
            session=ctx.session,
            campaign_row=ctx.campaign_row,
            campaign=ctx.campaign,
            registrant=ctx.person,
            audience=audience,
            unit_id=ctx.person.unit_id,
            titles=_picked(ctx, answers),
            now=ctx.now,
            local_day=ctx.today,
        )
    except registration.WindowClosed:
        return [Reply(_closed(ctx))]
    return [
        Reply(
            render(
                "awards/register_receipt.txt.j2",
                receipt=saved.receipt,
                new=new,
                closes=window.closes,
            )
        )
    ]


FLOW = Flow(
    name="register_titles",
    begin=_begin,
    steps=(
        Step(
            "audience",
            "choice",
            lambda ctx, a: _("Whom do you register for?"),
            choices=_audiences,
            auto=lambda ctx, a: None if ctx.role in UNIT_LEADS else "individual",
        ),
        Step(
            "titles",
            "text",
            _prompt,
            label=lambda: _("Titles"),
            max_len=200,
            check=_check,
            show=_show,
        ),
    ),
    summary=_summary,
    finish=_finish,
)

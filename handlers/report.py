"""`/report` (`/baocao`): phase → area → title → what was achieved → evidence → confirm."""

from __future__ import annotations

from bot.core import reports
from bot.core.i18n import _, format_day, render
from bot.core.roles import Role
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step, files_in, files_max
from handlers.questions import only_open_phase, phase_choices
from handlers.types import Reply


def _scopes(ctx: Ctx, answers: Answers) -> Choices:
    assert ctx.unit is not None  # flows run for registered people only
    return [
        ("personal", _("My own achievement")),
        ("unit", _("The unit's phase report ({unit})").format(unit=ctx.unit.name)),
    ]


def areas(ctx: Ctx) -> Choices:
    """The campaign's content areas, then the thematic campaigns open today."""
    found = [(a.code, a.name) for a in ctx.campaign.areas]
    found += [(t.code, t.name) for t in ctx.campaign.thematic if t.open_for_reports(ctx.today)]
    return found


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if not ctx.open_phases():
        return [Reply(closed_message(ctx))]
    return {}


def closed_message(ctx: Ctx) -> str:
    upcoming = [p for p in ctx.campaign.phases if p.start > ctx.today]
    if upcoming:
        return _("No phase is open for reports yet. {name} opens on {day}.").format(
            name=upcoming[0].name, day=format_day(upcoming[0].start)
        )
    return _(
        "All phases of the campaign are closed for reports (the last deadline was {day})."
    ).format(day=format_day(max(p.last_report_day for p in ctx.campaign.phases)))


def _check_phase_open(ctx: Ctx, answers: Answers) -> None:
    phase = ctx.campaign.phase(int(str(answers["phase"])))
    if phase.number not in ctx.open_phases():
        raise Invalid(
            _("{name} closed for reports on {day}. Choose Cancel; nothing was saved.").format(
                name=phase.name, day=format_day(phase.last_report_day)
            )
        )


def _summary(ctx: Ctx, answers: Answers) -> str:
    phase = ctx.campaign.phase(int(str(answers["phase"])))
    return render(
        "report_summary.txt.j2",
        a=answers,
        files=reports.files_label(files_in(answers, "evidence")),
        phase=phase,
        area=ctx.campaign.area_name(str(answers["area"])),
        unit=ctx.unit,
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None  # flows run for registered people only
    _check_phase_open(ctx, answers)
    files = files_in(answers, "evidence")
    report = reports.record_report(
        session=ctx.session,
        campaign=ctx.campaign_row,
        person=ctx.person,
        phase=int(str(answers["phase"])),
        area=str(answers["area"]),
        title=str(answers["title"]),
        detail=str(answers["detail"]),
        now=ctx.now,
        scope=str(answers.get("scope") or "personal"),
        evidence=files,
    )
    receipt = render(
        "report_receipt.txt.j2",
        receipt=report.receipt,
        when=format_day(ctx.today),
        files=len(files),
        names=reports.files_label(files),
    )
    return [Reply(receipt)]


FLOW = Flow(
    name="report",
    begin=_begin,
    steps=(
        Step(
            "scope",
            "choice",
            lambda ctx, a: _("Which report?"),
            label=lambda: _("Report"),
            choices=_scopes,
            when=lambda ctx, a: ctx.role == Role.HEAD,
        ),
        Step(
            "phase",
            "choice",
            lambda ctx, a: _("For which phase?"),
            label=lambda: _("Phase"),
            choices=phase_choices,
            auto=only_open_phase,
        ),
        Step(
            "area",
            "choice",
            lambda ctx, a: _("Which content area?"),
            label=lambda: _("Content area"),
            choices=lambda ctx, a: areas(ctx),
        ),
        Step(
            "title",
            "text",
            lambda ctx, a: _("A short title (at most {n} characters):").format(
                n=reports.TITLE_MAX
            ),
            label=lambda: _("Title"),
            max_len=reports.TITLE_MAX,
        ),
        Step(
            "detail",
            "text",
            lambda ctx, a: _(
                "What was achieved? Results, figures, dates (at most {n} characters):"
            ).format(n=reports.DETAIL_MAX),
            label=lambda: _("Achievement"),
            max_len=reports.DETAIL_MAX,
        ),
        Step(
            "evidence",
            "attachment",
            lambda ctx, a: _(
                "Evidence: send photos or documents (at most {n}), one by one or together, "
                "or choose Skip."
            ).format(n=files_max()),
            label=lambda: _("Evidence"),
        ),
    ),
    summary=_summary,
    finish=_finish,
)

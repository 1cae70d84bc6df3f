"""The office's own finding on one condition of a nomination's pre-check, from `/duyet`: the
condition, met / missing / back to the data, and why (kept in the audit log)."""

from __future__ import annotations

from bot.core import eligibility
from bot.core import models as m
from bot.core.i18n import _
from handlers.context import Ctx
from handlers.engine import Answers, Choices
from handlers.types import Reply

ACTION = "precheck"
NOTE_MAX = eligibility.NOTE_MAX


def action(ctx: Ctx, row: m.Report | m.Nomination) -> list[tuple[str, str]]:
    """The `/duyet` action for a nomination whose title sets conditions."""
    if isinstance(row, m.Nomination) and eligibility.precheck(ctx.session, row).checks:
        return [(ACTION, _("Record the office's finding on a condition"))]
    return []


def conditions(ctx: Ctx, row: m.Nomination) -> Choices:
    found = eligibility.precheck(ctx.session, row)
    return [(c.key, f"{eligibility.MARKS[c.outcome]} {c.what}"[:60]) for c in found.checks]


def findings(ctx: Ctx, answers: Answers) -> Choices:
    return [
        ("met", _("Met")),
        ("missing", _("Missing")),
        ("unknown", _("As the data say (remove the office's finding)")),
    ]


def prompt_condition(ctx: Ctx, answers: Answers) -> str:
    return _("Which condition?")


def prompt_finding(ctx: Ctx, answers: Answers) -> str:
    return _("The office's finding:")


def prompt_note(ctx: Ctx, answers: Answers) -> str:
    return _("Why (for the record, at most {n} characters):").format(n=NOTE_MAX)


def summary(ctx: Ctx, row: m.Nomination, answers: Answers) -> str:
    what = dict(conditions(ctx, row)).get(str(answers["condition"]), "")
    finding = dict(findings(ctx, answers))[str(answers["finding"])]
    return _("{receipt}, {condition}: {finding}?\nWhy: {note}").format(
        receipt=row.receipt, condition=what, finding=finding, note=answers["note"]
    )


def finish(ctx: Ctx, row: m.Nomination, answers: Answers) -> list[Reply]:
    assert ctx.person is not None  # flows run for registered people only
    found = eligibility.override(
        session=ctx.session,
        nomination=row,
        key=str(answers["condition"]),
        outcome=str(answers["finding"]),
        note=str(answers["note"]),
        person_id=ctx.person.id,
        now=ctx.now,
    )
    return [
        Reply(
            _("Recorded for {receipt}.").format(receipt=row.receipt)
            + "\n\n"
            + eligibility.render_text(found)
        )
    ]

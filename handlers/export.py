"""`/export` (`/xuat`): the compiled campaign as a file: XLSX, DOCX (for signing) or CSV.

`/export` asks the format and the phase; `/export xlsx`, `/export docx 1` answer them at once.
Zalo's bot API carries text only, so there the clerk is pointed to Telegram or the CLI.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import cast

from bot.core.exports.rows import Scope
from bot.core.i18n import _
from bot.core.summary import current_phase
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Step
from handlers.types import File, Reply

FORMATS = ("xlsx", "docx", "csv")
ALL = "all"
TEXT_ONLY_CHANNELS = frozenset({"zalo"})


def _formats(ctx: Ctx, answers: Answers) -> Choices:
    return [
        ("xlsx", _("XLSX workbook: units, reports, nominations, targets")),
        ("docx", _("DOCX report for signing (one phase)")),
        ("csv", _("CSV of the reports")),
    ]


def _phases(ctx: Ctx, answers: Answers) -> Choices:
    found = [] if answers.get("format") == "docx" else [(ALL, _("All phases"))]
    return found + [(str(p.number), p.name) for p in ctx.campaign.phases]


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if ctx.incoming.channel in TEXT_ONLY_CHANNELS:
        return [
            Reply(
                _(
                    "Files cannot be sent on this app. Use /export on Telegram, or on the "
                    "office computer: thidua export --format xlsx --out tong-hop.xlsx"
                )
            )
        ]
    answers: Answers = {}
    for word in args.lower().split():
        if word in FORMATS:
            answers["format"] = word
        elif (
            word.isascii()
            and word.isdigit()
            and int(word) in {p.number for p in ctx.campaign.phases}
        ):
            answers["phase"] = word
        elif word in (ALL, "tatca"):
            answers["phase"] = ALL
    return answers


def _given(name: str) -> Callable[[Ctx, Answers], str | None]:
    """A step's `auto`: the answer `_begin` read from the command's arguments, if any."""
    return lambda ctx, answers: cast("str | None", answers.get(name))


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    fmt = str(answers["format"])
    picked = str(answers.get("phase") or ALL)
    phase = None if picked == ALL else int(picked)
    if fmt == "docx" and phase is None:
        phase = current_phase(ctx.campaign, ctx.today).number
    scope = Scope(
        session=ctx.session,
        campaign_row=ctx.campaign_row,
        campaign=ctx.campaign,
        today=ctx.today,
        phase=phase,
    )
    from bot.core.exports import (  # openpyxl and python-docx load on first use
        csv_export,
        docx,
        xlsx,
    )

    out = io.BytesIO()
    writer, mime = {
        "xlsx": (xlsx.export, xlsx.MIME),
        "docx": (docx.export, docx.MIME),
        "csv": (csv_export.export, csv_export.MIME),
    }[fmt]
    writer(scope, out)
    name = file_name(ctx.campaign.code, fmt, phase, ctx.today.strftime("%Y%m%d"))
    return [
        Reply(
            _("Here is the file {name}.").format(name=name),
            document=File(name, out.getvalue(), mime),
        )
    ]


def describe() -> str:
    return _("files for the office: XLSX, DOCX, CSV")


def file_name(code: str, fmt: str, phase: int | None, day: str) -> str:
    """`cong-thuong-ha-tinh-2022-dot-1-20220510.docx`: ASCII, sortable, says what it holds."""
    part = f"dot-{phase}" if phase is not None else "ca-nam"
    kind = {"xlsx": "tong-hop", "docx": "bao-cao", "csv": "bao-cao-thanh-tich"}[fmt]
    return f"{code}-{kind}-{part}-{day}.{fmt}"


FLOW = Flow(
    name="export",
    menu=True,
    begin=_begin,
    steps=(
        Step(
            "format",
            "choice",
            lambda ctx, a: _("Which file?"),
            choices=_formats,
            auto=_given("format"),
        ),
        Step(
            "phase",
            "choice",
            lambda ctx, a: _("Which phase should the file cover?"),
            choices=_phases,
            auto=_given("phase"),
        ),
    ),
    finish=_finish,
)

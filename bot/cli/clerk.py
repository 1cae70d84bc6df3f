"""`thidua summary` and `thidua export`: the clerk's desk on the command line."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json
from bot.core import clock
from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.db import session_scope
from bot.core.i18n import _
from bot.core.store import NoCampaign, active_campaign, campaign_by_code, stored_campaigns
from bot.core.summary import compile_summary, find_unit, render_text

app = typer.Typer()
PhaseOpt = Annotated[int | None, typer.Option("--phase", help="Phase number (default: current).")]
CodeOpt = Annotated[
    str | None, typer.Option("--campaign", help="An earlier campaign's code (default: active).")
]


def _campaign(session: Session, code: str | None) -> tuple[m.Campaign, Campaign]:
    """The active campaign, or a stored one by its code."""
    if code is None:
        return active_campaign(session=session)
    try:
        return campaign_by_code(session=session, code=code)
    except NoCampaign:
        known = ", ".join(r.code for r in stored_campaigns(session=session))
        raise fail(
            _("No campaign “{code}” in the database. Campaigns: {known}.").format(
                code=code, known=known
            )
        ) from None


class Format(StrEnum):
    xlsx = "xlsx"
    docx = "docx"
    csv = "csv"


class CsvTable(StrEnum):
    reports = "reports"
    nominations = "nominations"
    units = "units"
    targets = "targets"


def _check_phase(campaign: Campaign, phase: int | None) -> None:
    numbers = [p.number for p in campaign.phases]
    if phase is not None and phase not in numbers:
        raise fail(
            _("There is no phase {n}. Phases: {numbers}.").format(
                n=phase, numbers=", ".join(str(n) for n in numbers)
            ),
            2,
        )


@app.command()
def summary(
    phase: PhaseOpt = None,
    unit: Annotated[str | None, typer.Option("--unit", help="One unit's code.")] = None,
    as_json: JsonFlag = False,
    code: CodeOpt = None,
) -> None:
    """Where the campaign stands: units' phase reports, reports, nominations vs targets."""
    ensure_ready()
    with session_scope() as session:
        row, campaign = _campaign(session, code)
        _check_phase(campaign, phase)
        found = None
        if unit is not None:
            found = find_unit(session=session, code=unit)
            if found is None:
                raise fail(_("Unknown unit code: {code}").format(code=unit))
        figures = compile_summary(
            session=session,
            campaign_row=row,
            campaign=campaign,
            today=clock.today(),
            phase=phase,
            unit=found,
        )
        if as_json:
            print_json(figures.to_json())
        else:
            typer.echo(render_text(figures))


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[Format, typer.Option("--format", help="xlsx, docx or csv.")] = Format.xlsx,
    phase: PhaseOpt = None,
    table: Annotated[
        CsvTable, typer.Option("--table", help="CSV only: which table.")
    ] = CsvTable.reports,
    code: CodeOpt = None,
) -> None:
    """Write the compiled campaign to a file (DOCX: one phase, the current by default)."""
    # openpyxl and python-docx load only when something is exported, not for every command
    from bot.core.exports import csv_export, docx, xlsx
    from bot.core.exports.rows import Scope

    ensure_ready()
    with session_scope() as session:
        row, campaign = _campaign(session, code)
        _check_phase(campaign, phase)
        scope = Scope(
            session=session,
            campaign_row=row,
            campaign=campaign,
            today=clock.today(),
            phase=phase,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fp:
            if fmt is Format.xlsx:
                xlsx.export(scope, fp)
            elif fmt is Format.docx:
                docx.export(scope, fp)
            else:
                csv_export.export(scope, fp, table.value)
    typer.echo(_("Written: {path}").format(path=out))

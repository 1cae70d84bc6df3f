"""`thidua summary` and `thidua export`: the clerk's desk on the command line."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlmodel import Session

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json, progress
from bot.core import clock, registration
from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.db import session_scope
from bot.core.i18n import _
from bot.core.settings import get_settings
from bot.core.store import NoCampaign, active_campaign, campaign_by_code, stored_campaigns
from bot.core.summary import compile_summary, current_phase, find_unit, render_text

if TYPE_CHECKING:
    from bot.core.exports.rows import Scope

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
    proposal = "proposal"
    nominees = "nominees"
    zip = "zip"


FORMAT_HELP = "xlsx, docx (the report), proposal, nominees, csv, or zip (all, with evidence)."
ONE_PHASE = (Format.docx, Format.proposal, Format.nominees, Format.zip)


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
        assert row.id is not None  # a stored row
        registered = registration.tally(
            session=session,
            campaign_id=row.id,
            campaign=campaign,
            unit_id=found.id if found else None,
        )
        if as_json:
            print_json({**figures.to_json(), "registrations": [t.to_json() for t in registered]})
        else:
            typer.echo(render_text(figures))
            if registered:
                typer.echo("\n" + registration.tally_text(registered))


DelimiterOpt = Annotated[
    str, typer.Option("--delimiter", help="CSV only: the field separator, e.g. ';'.")
]


@app.command()
def export(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The file to write (default: a dated name in THIDUA_EXPORTS)."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.xlsx,
    phase: PhaseOpt = None,
    table: Annotated[
        CsvTable, typer.Option("--table", help="CSV only: which table.")
    ] = CsvTable.reports,
    delimiter: DelimiterOpt = ",",
    as_json: JsonFlag = False,
    code: CodeOpt = None,
) -> None:
    """Write the compiled campaign to a file (DOCX: one phase, the current by default)."""
    from bot.core.exports.docx_template import TemplateFault
    from bot.core.exports.names import file_name
    from bot.core.exports.rows import Scope, row_count

    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise fail(_("--delimiter must be one character, such as ; or a tab."), 2)
    ensure_ready()
    with session_scope() as session:
        row, campaign = _campaign(session, code)
        _check_phase(campaign, phase)
        today = clock.today()
        if fmt in ONE_PHASE and phase is None:
            phase = current_phase(campaign, today).number
        scope = Scope(
            session=session, campaign_row=row, campaign=campaign, today=today, phase=phase
        )
        name = file_name(campaign.code, fmt.value, phase, today, table.value)
        path = out or Path(get_settings().exports_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        total = row_count(scope) if fmt in (Format.xlsx, Format.zip) else None
        label = _("Writing {path}").format(path=path)
        try:
            _write(fmt, scope, path, total, label, table.value, delimiter, quiet=as_json)
        except TemplateFault as exc:
            path.unlink(missing_ok=True)
            raise fail(
                _("A template has a tag that cannot be filled in: “{text}”.").format(
                    text=exc.text.strip()[:200]
                )
            ) from None
    if as_json:
        print_json(
            {
                "path": str(path),
                "format": fmt.value,
                "phase": phase,
                "table": table.value if fmt is Format.csv else None,
                "bytes": path.stat().st_size,
            }
        )
        return
    typer.echo(_("Written: {path}").format(path=path))


def _write(
    fmt: Format,
    scope: Scope,
    path: Path,
    total: int | None,
    label: str,
    table: str,
    delimiter: str,
    *,
    quiet: bool,
) -> None:
    # the writers load only when something is exported, not for every command
    from bot.core.exports import bundle, csv_export, documents, docx, xlsx

    with progress(total, label, quiet=quiet) as tick, path.open("wb") as fp:
        if fmt is Format.xlsx:
            xlsx.export(scope, fp, tick)
        elif fmt is Format.docx:
            docx.export(scope, fp)
        elif fmt is Format.proposal:
            documents.proposal(scope, fp)
        elif fmt is Format.nominees:
            documents.nominees(scope, fp)
        elif fmt is Format.zip:
            bundle.export(scope, fp, tick)
        else:
            csv_export.export(scope, fp, table, delimiter)


@app.command()
def templates(
    folder: Annotated[Path, typer.Argument(help="Where to write them.")],
    as_json: JsonFlag = False,
) -> None:
    """Write the default Word templates (award proposal, list of nominees) into FOLDER, to edit
    and use with THIDUA_TEMPLATES=FOLDER."""
    from bot.core.exports.documents import write_defaults

    written = write_defaults(folder)
    if as_json:
        print_json([str(p) for p in written])
        return
    for path in written:
        typer.echo(_("Written: {path}").format(path=path))

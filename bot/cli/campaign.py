"""`thidua init`, `thidua campaign check|show`, `thidua calendar`: the campaign file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import (
    CampaignOpt,
    JsonFlag,
    campaign_or_fail,
    configured_campaign,
    ensure_ready,
    print_json,
    print_table,
)
from bot.core import home
from bot.core.campaign_loader import CampaignError, load_campaign, warnings
from bot.core.db import migrate, session_scope
from bot.core.i18n import _, format_day
from bot.core.settings import get_settings
from bot.core.store import active_campaign, load_into_store
from schedules.calendar import events

app = typer.Typer()
campaign_app = typer.Typer(no_args_is_help=True, help="Campaign files.")
app.add_typer(campaign_app, name="campaign")


@app.command()
def init(campaign: CampaignOpt = None, as_json: JsonFlag = False) -> None:
    """Create or upgrade the database and load the campaign (bundled by default)."""
    path = campaign or configured_campaign()
    loaded = campaign_or_fail(path)
    settings = get_settings()
    if home.created(settings):
        typer.echo(_("Created the data home {path}.").format(path=settings.home))
    migrate()
    with session_scope() as session:
        load_into_store(session=session, campaign=loaded, source=str(path or "bundled"))
    if as_json:
        print_json(
            {
                "campaign": loaded.code,
                "year": loaded.year,
                "phases": len(loaded.phases),
                "units": len(loaded.units),
                "source": str(path) if path else None,
            }
        )
        return
    typer.echo(
        _("Ready: campaign {code} ({year}), {phases} phases, {units} units.").format(
            code=loaded.code, year=loaded.year, phases=len(loaded.phases), units=len(loaded.units)
        )
    )


@campaign_app.command("check")
def campaign_check(file: Path, as_json: JsonFlag = False) -> None:
    """Validate a campaign file; print warnings; exit 1 on errors."""
    if as_json:
        try:
            checked = load_campaign(file)
        except CampaignError as exc:
            print_json({"ok": False, "errors": [p.to_json() for p in exc.problems]})
            raise typer.Exit(1) from None
        print_json(
            {
                "ok": True,
                "code": checked.code,
                "year": checked.year,
                "warnings": warnings(checked),
            }
        )
        return
    loaded = campaign_or_fail(file)
    for warning in warnings(loaded):
        typer.echo(_("{path}: warning: {message}").format(path=file, message=warning))
    typer.echo(
        _("{path}: OK ({code}, {year})").format(path=file, code=loaded.code, year=loaded.year)
    )


@campaign_app.command("show")
def campaign_show(as_json: JsonFlag = False, campaign: CampaignOpt = None) -> None:
    """The campaign as loaded (the active one in the database, or --campaign FILE)."""
    if campaign is not None:
        loaded = campaign_or_fail(campaign)
    else:
        ensure_ready()
        with session_scope() as session:
            loaded = active_campaign(session=session)[1]
    data = loaded.model_dump(mode="json", by_alias=True)
    for phase, raw in zip(loaded.phases, data["phases"], strict=True):
        for a, raw_a in zip(phase.anniversaries, raw["anniversaries"], strict=True):
            raw_a["ordinal"] = a.ordinal(loaded.year)
            raw_a["date"] = a.on(loaded.year).isoformat()
    if as_json:
        print_json(data)
        return
    typer.echo(f"{loaded.plan.document_type} {loaded.plan.title}")
    typer.echo(f"{_('Theme')}: “{loaded.theme}”")
    for p in loaded.phases:
        typer.echo(
            f"{p.name}: {format_day(p.start)} – {format_day(p.end)}, "
            f"{_('deadline')} {format_day(p.deadline)}"
        )
        for a in p.anniversaries:
            typer.echo(
                f"  {format_day(a.on(loaded.year))}  {a.ordinal(loaded.year)} "
                f"{_('years')}: {a.name}"
            )
    typer.echo(f"{_('Targets')}:")
    for t in loaded.targets:
        typer.echo(f"  - {t.text}")
    print_table([_("Code"), _("Unit")], [[u.code, u.name] for u in loaded.units])


@app.command()
def calendar(
    campaign: CampaignOpt = None,
    year: Annotated[int | None, typer.Option(help="Re-date for this year.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every dated event of the campaign year, sorted by when it is pushed."""
    if campaign is None:
        ensure_ready()
        with session_scope() as session:
            loaded = active_campaign(session=session)[1]
    else:
        loaded = campaign_or_fail(campaign)
    found = events(loaded, year)
    if as_json:
        print_json([e.to_json() for e in found])
        return
    kinds = event_kinds()
    print_table(
        [_("Pushed at"), _("Kind"), _("Event")],
        [[f"{e.at:%d/%m/%Y %H:%M}", kinds.get(e.kind, e.kind), e.name] for e in found],
    )


def event_kinds() -> dict[str, str]:
    return {
        "launch": _("launch"),
        "phase_start": _("phase starts"),
        "anniversary_reminder": _("anniversary reminder"),
        "anniversary": _("anniversary"),
        "thematic_start": _("thematic phase starts"),
        "deadline_reminder": _("deadline reminder"),
        "deadline": _("deadline"),
        "thematic_deadline": _("thematic phase deadline"),
    }

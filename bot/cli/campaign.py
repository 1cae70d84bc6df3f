"""`thidua init`, `thidua campaign check|show|schema|new`, `thidua calendar`, `thidua event set`:
the campaign file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import (
    CampaignOpt,
    JsonFlag,
    campaign_or_fail,
    configured_campaign,
    ensure_ready,
    fail,
    print_json,
)
from bot.core import clock
from bot.core.campaign import Campaign
from bot.core.campaign_loader import campaign_warnings
from bot.core.db import migrate, session_scope
from bot.core.i18n import _, format_day, render
from bot.core.store import UnknownEvent, active_campaign, load_into_store, set_event_date
from schedules.calendar import anniversary_name, events, undated

app = typer.Typer()
campaign_app = typer.Typer(no_args_is_help=True, help="Campaign files.")
app.add_typer(campaign_app, name="campaign")
event_app = typer.Typer(no_args_is_help=True, help="Events the plan left undated.")
app.add_typer(event_app, name="event")


@app.command()
def init(campaign: CampaignOpt = None) -> None:
    """Create or upgrade the database and load the campaign (bundled by default)."""
    path = campaign or configured_campaign()
    loaded = campaign_or_fail(path)
    migrate()
    with session_scope() as session:
        load_into_store(session=session, campaign=loaded, source=str(path or "bundled"))
    typer.echo(
        _("Ready: campaign {code} ({year}), {phases} phases, {units} units.").format(
            code=loaded.code, year=loaded.year, phases=len(loaded.phases), units=len(loaded.units)
        )
    )


@campaign_app.command("check")
def campaign_check(file: Path) -> None:
    """Validate a campaign file; print warnings with their lines; exit 1 on errors."""
    loaded = campaign_or_fail(file)
    for problem in campaign_warnings(file):
        typer.echo(
            _("{path}: warning: {message}").format(
                path=f"{problem.path}:{problem.line}", message=problem.message
            )
        )
    typer.echo(
        _("{path}: OK ({code}, {year})").format(path=file, code=loaded.code, year=loaded.year)
    )


@campaign_app.command("schema")
def campaign_schema() -> None:
    """The JSON Schema of a campaign file (for editors that complete and check TOML)."""
    print_json(Campaign.model_json_schema(by_alias=True))


@campaign_app.command("new")
def campaign_new(
    file: Path,
    code: Annotated[str, typer.Option(help="The campaign's code.")] = "ke-hoach-thi-dua",
    year: Annotated[int | None, typer.Option(help="The campaign's year.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file.")] = False,
) -> None:
    """Write a commented starter campaign file."""
    if file.exists() and not force:
        raise fail(_("{path} exists; add --force to overwrite it.").format(path=file))
    text = render("campaign_new.toml.j2", code=code, year=year or clock.today().year)
    file.write_text(text + "\n", encoding="utf-8")
    typer.echo(
        _("Written: {path}. Fill it in, then: thidua campaign check {path}").format(path=file)
    )


def _loaded(campaign: Path | None) -> Campaign:
    if campaign is not None:
        return campaign_or_fail(campaign)
    ensure_ready()
    with session_scope() as session:
        return active_campaign(session=session)[1]


@campaign_app.command("show")
def campaign_show(as_json: JsonFlag = False, campaign: CampaignOpt = None) -> None:
    """The campaign as loaded (the active one in the database, or --campaign FILE)."""
    loaded = _loaded(campaign)
    data = loaded.model_dump(mode="json", by_alias=True)
    data["start"], data["end"] = loaded.first_day.isoformat(), loaded.last_day.isoformat()
    data["plan"]["issued_on"] = loaded.plan.issued_on.isoformat()
    for phase, raw in zip(loaded.phases, data["phases"], strict=True):
        raw["deadline_rule"] = raw["deadline"]
        raw["deadline"] = phase.deadline.isoformat() if phase.deadline else None
        for a, raw_a in zip(phase.anniversaries, raw["anniversaries"], strict=True):
            on = loaded.day_of(a)
            raw_a["ordinal"] = loaded.ordinal_of(a)
            raw_a["date"] = on.isoformat() if on else None
    if as_json:
        print_json(data)
        return
    for line in show_lines(loaded):
        typer.echo(line)


def show_lines(c: Campaign) -> list[str]:
    """`campaign show` for people, every word from the catalog."""
    lines = [f"{c.plan.document_type} {c.plan.title}", f"{_('Theme')}: “{c.theme}”"]
    lines.append(
        _("Runs from {start} to {end}; issued {issued}.").format(
            start=format_day(c.first_day),
            end=format_day(c.last_day),
            issued=c.plan.issued_text,
        )
    )
    for p in c.phases:
        span = f"{p.name}: {format_day(p.start)} – {format_day(p.end)}"
        if p.deadline:
            lines.append(
                _("{span}, sum up by {day}").format(span=span, day=format_day(p.deadline))
            )
        else:
            lines.append(_("{span}, no summing-up deadline").format(span=span))
        if p.theme:
            lines.append(f"  {_('Theme')}: “{p.theme}”")
        for a in p.anniversaries:
            on = c.day_of(a)
            when = format_day(on) if on else _("date to be announced")
            lines.append(f"  {when}  {anniversary_name(a.name, c.ordinal_of(a))}")
    lines.append(f"{_('Targets')}:")
    for t in c.targets:
        lines.append(f"  - {t.text}")
        if t.phase is not None:
            lines.append("    " + _("for phase {n}").format(n=t.phase))
        for code, count in t.units.items():
            lines.append("    " + _("{unit}: {count}").format(unit=code, count=count))
    lines.append(f"{_('Units')}:")
    for u in c.units:
        lines.append(f"  {u.code:6} {u.name}")
    return lines


@app.command()
def calendar(
    campaign: CampaignOpt = None,
    year: Annotated[int | None, typer.Option(help="Re-date for this year.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every event of the campaign, sorted by when it is pushed; undated ones last."""
    loaded = _loaded(campaign)
    found = events(loaded, year)
    later = undated(loaded.for_year(year or loaded.year))
    if as_json:
        print_json([e.to_json() for e in found] + [u.to_json() for u in later])
        return
    not_pushed = _("before the issue date, not pushed")
    no_date = _("no date yet")
    for e in found:
        mark = f"  ({not_pushed})" if e.before_issue else ""
        typer.echo(f"{e.at:%d/%m/%Y %H:%M}  {kind_name(e.kind):24}  {e.name}{mark}")
    for u in later:
        typer.echo(f"{no_date:16}  {kind_name('undated'):24}  {u.name}")


def kind_name(kind: str) -> str:
    """An event kind in the user's language."""
    names = {
        "launch": _("launch"),
        "phase_start": _("phase start"),
        "anniversary_reminder": _("anniversary reminder"),
        "anniversary": _("anniversary"),
        "thematic_start": _("thematic start"),
        "deadline_reminder": _("deadline reminder"),
        "deadline": _("deadline"),
        "thematic_deadline": _("thematic deadline"),
        "undated": _("event"),
    }
    return names.get(kind, kind)


@event_app.command("set")
def event_set(
    code: str,
    day: Annotated[str, typer.Argument(metavar="YYYY-MM-DD", help="The event's date.")],
) -> None:
    """Give an event of the active campaign its date (audited); pushes follow."""
    try:
        when = dt.date.fromisoformat(day)
    except ValueError:
        raise fail(_("{value!r} is not a date (YYYY-MM-DD)").format(value=day)) from None
    ensure_ready()
    try:
        with session_scope() as session:
            set_event_date(session=session, code=code, day=when)
    except UnknownEvent:
        raise fail(_("The campaign has no event “{code}”.").format(code=code)) from None
    typer.echo(_("{code}: {day}").format(code=code, day=format_day(when)))

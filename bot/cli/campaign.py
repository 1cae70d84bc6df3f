"""`thidua init`, `thidua campaign check|show|schema|new`, `thidua calendar`, `thidua event set`:
the campaign file."""

from __future__ import annotations

import datetime as dt
import re
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
    print_table,
)
from bot.core import clock, home
from bot.core.campaign import Campaign, Phase, Thematic
from bot.core.campaign_loader import (
    CampaignError,
    bundled_path,
    campaign_warnings,
    load_campaign,
)
from bot.core.db import migrate, session_scope
from bot.core.i18n import _, format_day, render
from bot.core.settings import get_settings
from bot.core.store import (
    NoCampaign,
    UnknownEvent,
    active_campaign,
    campaign_by_code,
    load_into_store,
    set_event_date,
)
from schedules.calendar import anniversary_name, events, undated

app = typer.Typer()
campaign_app = typer.Typer(no_args_is_help=True, help="Campaign files.")
app.add_typer(campaign_app, name="campaign")
event_app = typer.Typer(no_args_is_help=True, help="Events the plan left undated.")
app.add_typer(event_app, name="event")


@app.command()
def init(campaign: CampaignOpt = None, as_json: JsonFlag = False) -> None:
    """Create or upgrade the database and load the campaign (bundled by default)."""
    path = campaign or configured_campaign()
    loaded = campaign_or_fail(path)
    settings = get_settings()
    created = home.created(settings)
    if created and not as_json:
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
                "home_created": created,
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
    """Validate a campaign file; print warnings with their lines; exit 1 on errors."""
    if as_json:
        try:
            checked = load_campaign(file)
        except CampaignError as exc:
            print_json({"ok": False, "errors": [p.to_json() for p in exc.problems]})
            raise typer.Exit(1) from None
        found = [
            {"path": str(w.path), "line": w.line, "message": w.message}
            for w in campaign_warnings(file)
        ]
        print_json({"ok": True, "code": checked.code, "year": checked.year, "warnings": found})
        return
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
    source: Annotated[
        str | None,
        typer.Option("--from", help="A stored campaign's code: its file with the dates moved."),
    ] = None,
) -> None:
    """Write a commented starter campaign file, or next year's from a stored campaign."""
    if file.exists() and not force:
        raise fail(_("{path} exists; add --force to overwrite it.").format(path=file))
    if source is not None:
        text = _next_years_file(source, year)
    else:
        text = render("campaign_new.toml.j2", code=code, year=year or clock.today().year)
    file.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    typer.echo(
        _("Written: {path}. Fill it in, then: thidua campaign check {path}").format(path=file)
    )


def _next_years_file(code: str, year: int | None) -> str:
    """The stored campaign's own file with `year`, its code's year and every date moved by
    whole years; founding dates stay. A starting point: texts that name the year are kept."""
    ensure_ready()
    with session_scope() as session:
        try:
            row, loaded = campaign_by_code(session=session, code=code)
        except NoCampaign:
            raise fail(_("No campaign “{code}” in the database.").format(code=code)) from None
        origin = row.source
    path = bundled_path() if origin in ("", "bundled") else Path(origin)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise fail(
            _("Cannot read {path}, the file campaign {code} was loaded from.").format(
                path=path, code=code
            )
        ) from None
    return shift_years(text, (year or loaded.year + 1) - loaded.year, loaded.year)


_DATE = re.compile(r"\b(\d{4})-(\d{2})(-\d{2})?\b")


def shift_years(text: str, shift: int, year: int) -> str:
    """Move every date of a campaign file by `shift` years, except `founded` ones."""

    def move(match: re.Match[str]) -> str:
        y, month, day = int(match.group(1)), match.group(2), match.group(3) or ""
        if day == "-29" and month == "02":
            day = "-28"
        return f"{y + shift:04d}-{month}{day}"

    lines = []
    top = True  # before the first [table]: where the campaign's own code is
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        top = top and not line.lstrip().startswith("[")
        if key == "founded":
            lines.append(line)
        elif key == "year":
            lines.append(re.sub(r"\d{4}", str(year + shift), line, count=1))
        elif key == "code" and top:
            lines.append(line.replace(str(year), str(year + shift)))
        elif key.startswith("#"):
            lines.append(line)
        else:
            lines.append(_DATE.sub(move, line))
    return "\n".join(lines)


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
    owners: list[tuple[Phase | Thematic, dict]] = [
        *zip(loaded.phases, data["phases"], strict=True),
        *zip(loaded.thematic, data["thematic"], strict=True),
    ]
    for owner, raw in owners:
        for a, raw_a in zip(owner.anniversaries, raw["anniversaries"], strict=True):
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
    parts: list[Phase | Thematic] = [*c.phases, *c.thematic]  # they read alike
    for part in parts:
        lines += _part_lines(c, part)
    lines.append(f"{_('Targets')}:")
    for t in c.targets:
        lines.append(f"  - {t.text}")
        if t.phase is not None:
            lines.append("    " + _("for phase {n}").format(n=t.phase))
        if t.thematic is not None:
            lines.append("    " + _("for the thematic campaign {code}").format(code=t.thematic))
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
    rows = [
        [
            f"{e.at:%d/%m/%Y %H:%M}",
            kind_name(e.kind),
            f"{e.name} ({not_pushed})" if e.before_issue else e.name,
        ]
        for e in found
    ]
    rows += [[_("no date yet"), kind_name("undated"), u.name] for u in later]
    print_table([_("Pushed at"), _("Kind"), _("Event")], rows)


def _part_lines(c: Campaign, part: Phase | Thematic) -> list[str]:
    """A phase's (or thematic campaign's) span, deadline, theme and anniversaries."""
    span = f"{part.name}: {format_day(part.start)} – {format_day(part.end)}"
    if part.deadline:
        lines = [_("{span}, sum up by {day}").format(span=span, day=format_day(part.deadline))]
    else:
        lines = [_("{span}, no summing-up deadline").format(span=span)]
    if part.theme:
        lines.append(f"  {_('Theme')}: “{part.theme}”")
    for a in part.anniversaries:
        on = c.day_of(a)
        when = format_day(on) if on else _("date to be announced")
        lines.append(f"  {when}  {anniversary_name(a.name, c.ordinal_of(a))}")
    return lines


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

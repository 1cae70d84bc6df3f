"""The `thidua` command line: set up, inspect, import, invite, chat and run."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import select

from bot import clock
from bot import models as m
from bot.campaign_loader import CampaignError, load_campaign, warnings
from bot.db import migrate, session_scope
from bot.i18n import _, format_day, set_default_language
from bot.people import ROLES, ImportError_, import_people, import_units, issue_invites
from bot.settings import SettingsError, get_settings
from bot.store import NoCampaign, active_campaign, load_into_store

app = typer.Typer(no_args_is_help=True, add_completion=False, help="thidua: emulation bot")
campaign_app = typer.Typer(no_args_is_help=True, help="Campaign files.")
units_app = typer.Typer(no_args_is_help=True, help="Units (phòng, trung tâm).")
people_app = typer.Typer(no_args_is_help=True, help="People.")
app.add_typer(campaign_app, name="campaign")
app.add_typer(units_app, name="units")
app.add_typer(people_app, name="people")

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
CampaignOpt = Annotated[Path | None, typer.Option("--campaign", help="A campaign TOML file.")]


@app.callback()
def _setup() -> None:
    """Read settings once, fail fast on a bad variable, start the clock."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    set_default_language(settings.lang)
    clock.start_at(settings.now)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "alembic.runtime"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _fail(lines: list[str] | str, code: int = 1) -> typer.Exit:
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    return typer.Exit(code)


def _campaign_or_fail(path: Path | None):
    try:
        return load_campaign(path)
    except CampaignError as exc:
        raise _fail([str(p) for p in exc.problems]) from None


def configured_campaign() -> Path | None:
    """THIDUA_CAMPAIGN, or None for the bundled plan."""
    name = get_settings().campaign_file
    return Path(name) if name else None


def ensure_ready() -> None:
    """Migrate, and load the configured campaign if none is loaded yet (idempotent)."""
    migrate()
    with session_scope() as session, contextlib.suppress(NoCampaign):
        active_campaign(session=session)
        return
    path = configured_campaign()
    campaign = _campaign_or_fail(path)
    with session_scope() as session:
        load_into_store(session=session, campaign=campaign, source=str(path or "bundled"))


@app.command()
def init(campaign: CampaignOpt = None) -> None:
    """Create or upgrade the database and load the campaign (bundled by default)."""
    path = campaign or configured_campaign()
    loaded = _campaign_or_fail(path)
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
    """Validate a campaign file; print warnings; exit 1 on errors."""
    loaded = _campaign_or_fail(file)
    for warning in warnings(loaded):
        typer.echo(_("{path}: warning: {message}").format(path=file, message=warning))
    typer.echo(
        _("{path}: OK ({code}, {year})").format(path=file, code=loaded.code, year=loaded.year)
    )


@campaign_app.command("show")
def campaign_show(as_json: JsonFlag = False, campaign: CampaignOpt = None) -> None:
    """The campaign as loaded (the active one in the database, or --campaign FILE)."""
    if campaign is not None:
        loaded = _campaign_or_fail(campaign)
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
        _print_json(data)
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
    typer.echo(f"{_('Units')}:")
    for u in loaded.units:
        typer.echo(f"  {u.code:6} {u.name}")


@app.command()
def calendar(
    campaign: CampaignOpt = None,
    year: Annotated[int | None, typer.Option(help="Re-date for this year.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every dated event of the campaign year, sorted by when it is pushed."""
    from schedules.calendar import events

    if campaign is None:
        ensure_ready()
        with session_scope() as session:
            loaded = active_campaign(session=session)[1]
    else:
        loaded = _campaign_or_fail(campaign)
    found = events(loaded, year)
    if as_json:
        _print_json([e.to_json() for e in found])
        return
    for e in found:
        typer.echo(f"{e.at:%d/%m/%Y %H:%M}  {e.kind:20}  {e.name}")


@units_app.command("import")
def units_import(file: Path) -> None:
    """Import units from CSV or XLSX (columns: code, name[, office])."""
    ensure_ready()
    try:
        with session_scope() as session:
            n = import_units(session=session, path=file)
    except ImportError_ as exc:
        raise _fail([f"{file}: {p}" for p in exc.problems]) from None
    typer.echo(_("{n} units imported.").format(n=n))


@units_app.command("list")
def units_list(as_json: JsonFlag = False) -> None:
    """The units in the database."""
    ensure_ready()
    with session_scope() as session:
        rows = [
            {"code": u.code, "name": u.name, "office": u.office}
            for u in session.exec(select(m.Unit).order_by(m.Unit.code))
        ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['code']:6} {row['name']}")


@people_app.command("import")
def people_import(file: Path) -> None:
    """Import people from CSV or XLSX (columns: name, unit, role[, phone])."""
    ensure_ready()
    try:
        with session_scope() as session:
            n = import_people(session=session, path=file, now=clock.now())
    except ImportError_ as exc:
        raise _fail([f"{file}: {p}" for p in exc.problems]) from None
    typer.echo(_("{n} people imported.").format(n=n))


@people_app.command("list")
def people_list(as_json: JsonFlag = False) -> None:
    """People with their unit, role and connected channels."""
    ensure_ready()
    with session_scope() as session:
        rows = []
        for p, u in session.exec(select(m.Person, m.Unit).join(m.Unit).order_by(m.Person.id)):
            channels = [
                i.channel
                for i in session.exec(select(m.Identity).where(m.Identity.person_id == p.id))
            ]
            rows.append(
                {
                    "id": p.id,
                    "name": p.full_name,
                    "unit": u.code,
                    "role": p.role,
                    "phone": p.phone,
                    "channels": channels,
                }
            )
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['id']:5} {row['name']:30} {row['unit']:6} {row['role']:6} "
            f"{','.join(row['channels'])}"
        )


@app.command()
def invite(
    unit: Annotated[str, typer.Option("--unit", help="Unit code.")],
    role: Annotated[str, typer.Option("--role", help="staff|head|clerk|admin")] = "staff",
    count: Annotated[int, typer.Option("--count", min=1, max=500)] = 1,
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Valid for.")] = 30,
    as_json: JsonFlag = False,
) -> None:
    """Issue single-use invite codes for a unit and role."""
    if role not in ROLES:
        raise _fail(_("--role must be one of: {roles}").format(roles=", ".join(ROLES)), 2)
    ensure_ready()
    with session_scope() as session:
        found = session.exec(select(m.Unit).where(m.Unit.code == unit.upper())).first()
        if found is None:
            raise _fail(_("Unknown unit code: {code}").format(code=unit))
        invites = issue_invites(
            session=session, unit=found, role=role, count=count, now=clock.now(), days=days
        )
        rows = [
            {
                "code": i.code,
                "unit": found.code,
                "role": role,
                "expires_at": i.expires_at.astimezone(clock.LOCAL).isoformat(),
            }
            for i in invites
        ]
    links = telegram_links([r["code"] for r in rows])
    for row in rows:
        if row["code"] in links:
            row["link"] = links[row["code"]]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['code']}  {row['unit']}  {row['role']}  "
            f"{_('until')} {row['expires_at'][:10]}  {row.get('link', '')}".rstrip()
        )


def telegram_links(codes: list[str]) -> dict[str, str]:
    """Deep links t.me/<bot>?start=<code>, when a Telegram token is set (username via getMe)."""
    if get_settings().telegram_bot_token is None:
        return {}
    from bot.channels.telegram import bot_username

    username = bot_username()
    return {code: f"https://t.me/{username}?start={code}" for code in codes} if username else {}


@app.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="Your user id on the console.")] = "local",
    name: Annotated[str, typer.Option("--name", help="Your display name.")] = "",
) -> None:
    """Talk to the bot on this terminal: one message per line."""
    from bot.channels.console import serve
    from handlers.router import handle

    ensure_ready()
    serve(handle, user_id=user, name=name or user, prompt=sys.stdin.isatty())


@app.command()
def run() -> None:
    """Run the bot: Telegram and/or Zalo when their tokens are set, else the console demo."""
    from bot.app import main

    ensure_ready()
    main()


from bot import cli_clerk, cli_pushes  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    app()

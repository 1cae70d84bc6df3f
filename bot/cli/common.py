"""What every `thidua` sub-command shares: settings at start-up, JSON output, failing in one
line, and a store that is migrated with a campaign loaded."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer

from bot.core import clock, home, logs
from bot.core.campaign import Campaign
from bot.core.campaign_loader import CampaignError, load_campaign
from bot.core.db import migrate, session_scope, shown
from bot.core.i18n import _, set_default_language
from bot.core.settings import SettingsError, get_settings
from bot.core.store import NoCampaign, active_campaign, load_into_store

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
CampaignOpt = Annotated[Path | None, typer.Option("--campaign", help="A campaign TOML file.")]


DebugFlag = Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")]
#: Set by `--debug`: an unreachable store then shows its traceback, not one line.
DEBUG = {"on": False}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"thidua {version('thidua')}")
        raise typer.Exit()


VersionFlag = Annotated[
    bool,
    typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
]


def setup(debug: DebugFlag = False, show_version: VersionFlag = False) -> None:
    """Read settings once, fail fast on a bad variable, start the clock."""
    DEBUG["on"] = debug
    try:
        settings = get_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    set_default_language(settings.lang)
    clock.start_at(settings.now)
    logs.configure(settings)
    home.prepare(settings)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def print_table(headers: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    """A listing as a table with a header row (rich); wide enough not to wrap when piped."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, title=title, title_justify="left", header_style="bold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    width = None if sys.stdout.isatty() else 200
    Console(width=width, soft_wrap=False, highlight=False).print(table)


def on_terminal() -> bool:
    """Whether a person watches stderr (a progress bar then helps; piped, it would be noise)."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(
    total: int | None, label: str, *, quiet: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal (rich), `advance(n)` to move it; nothing when piped."""
    if quiet or not on_terminal():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def fail(lines: list[str] | str, code: int = 1) -> typer.Exit:
    """Print `lines` on stderr; the `typer.Exit` to raise."""
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    return typer.Exit(code)


def campaign_or_fail(path: Path | None) -> Campaign:
    try:
        return load_campaign(path)
    except CampaignError as exc:
        raise fail([str(p) for p in exc.problems]) from None


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
    campaign = campaign_or_fail(path)
    with session_scope() as session:
        load_into_store(session=session, campaign=campaign, source=str(path or "bundled"))


def file_problem(exc: OSError) -> str:
    """One line for a file the command could not read or write: which one, and why."""
    from bot.core.errors import os_reason

    return _("Cannot use the file {path}: {reason}.").format(
        path=exc.filename or "?", reason=os_reason(exc)
    )


def store_problem(exc: sa.exc.DBAPIError) -> str:
    """One line for a database that cannot be opened or reached: which one, and why."""
    url = shown(get_settings().database_url)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    return _("Cannot use the database {url}: {reason}. Check DATABASE_URL.").format(
        url=url, reason=reason
    )

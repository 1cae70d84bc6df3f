"""The `thidua` command line: one Typer app per area, added here in the order `--help` lists.

`setup` runs before every command: settings read once (a bad variable stops it in one line),
the clock started, logging set. `main` is the `thidua` command: a store that cannot be opened
or reached, or a file that cannot be written, ends it with one line and exit 1 (the traceback
only with `--debug`). `thidua --install-completion` adds shell completion.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer

from bot.channels.console import serve
from bot.cli import awards, campaign, clerk, council, doctor, ops, people, personnel, pushes
from bot.cli.common import DEBUG, ensure_ready, file_problem, setup, store_problem
from bot.core.i18n import _
from bot.core.settings import get_settings
from handlers.router import handle

try:  # Typer 0.2x parses with a copy of click of its own; older ones with click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - the other Typer
    from click import exceptions as click_errors  # type: ignore[no-redef]

app = typer.Typer(no_args_is_help=True, help="thidua: emulation bot")  # --install-completion
app.callback()(setup)
app.add_typer(campaign.app)  # init, campaign check|show, calendar
app.add_typer(people.app)  # units, people, invite
assert personnel.people_app is people.people_app  # people deactivate|move|role|…
app.add_typer(clerk.app)  # summary, export
app.add_typer(awards.app)  # registrations, ratings, initiatives, eligibility
app.add_typer(council.app)  # council add|remove|list|sessions, dossier
app.add_typer(pushes.app)  # launch, outbox
app.add_typer(ops.app)  # backup, restore, audit
app.add_typer(doctor.app)  # doctor


@app.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="Your user id on the console.")] = "local",
    name: Annotated[str, typer.Option("--name", help="Your display name.")] = "",
) -> None:
    """Talk to the bot on this terminal: one message per line."""
    ensure_ready()
    settings = get_settings()
    serve(
        handle,
        user_id=user,
        name=name or user,
        prompt=sys.stdin.isatty(),
        attachments=Path(settings.attachments_dir),
        max_bytes=int(settings.upload_max_mb * 1024 * 1024),
    )


@app.command()
def run(
    no_deliver: Annotated[
        bool,
        typer.Option(
            "--no-deliver",
            help="Only answer people (a web tier behind a load balancer, PostgreSQL): never "
            "schedule, send pushes or poll; another `thidua run` does.",
        ),
    ] = False,
) -> None:
    """Run the bot: Telegram and/or Zalo when their tokens are set, else the console demo."""
    from bot.app import main  # python-telegram-bot, aiohttp, APScheduler: for `run` only

    settings = get_settings()
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        # The console demo seeds a demo unit and person: in a database of its own in the
        # data home, never the office's.
        os.environ["DATABASE_URL"] = settings.demo_database_url
        get_settings.cache_clear()
    ensure_ready()
    main(deliver=not no_deliver)


def main() -> None:
    try:
        code = app(prog_name="thidua", standalone_mode=False)  # click's errors: said below
    except click_errors.NoArgsIsHelpError as exc:  # `thidua units`: its help, as click does
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else "")
        raise SystemExit(2) from None
    except click_errors.UsageError as exc:
        typer.echo(usage_problem(exc), err=True)
        raise SystemExit(2) from None
    except typer.Abort:  # Ctrl-C at a prompt
        raise SystemExit(1) from None
    except sa.exc.DBAPIError as exc:  # missing folder, server down, locked file, bad password
        if DEBUG["on"]:
            raise
        typer.echo(store_problem(exc), err=True)
        raise SystemExit(1) from None
    except OSError as exc:  # a file to write in a folder that cannot be written, a full disk
        if DEBUG["on"]:
            raise
        typer.echo(file_problem(exc), err=True)
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def usage_problem(exc: click_errors.UsageError) -> str:
    """A command written wrong, in one line of the user's language (click says it in English)."""
    command = exc.ctx.command_path if exc.ctx is not None else "thidua"
    hint = _("See: {command} --help").format(command=command)
    if isinstance(exc, click_errors.NoSuchOption):
        found = _("Unknown option {name}.").format(name=exc.option_name)
    elif isinstance(exc, click_errors.MissingParameter) and exc.param is not None:
        found = _("Missing {name}.").format(name=_param_name(exc.param))
    elif isinstance(exc, click_errors.BadParameter) and exc.param is not None:
        found = _("Wrong value for {name}.").format(name=_param_name(exc.param))
    elif "No such command" in exc.message:
        found = _("Unknown command.")
    else:
        found = _("The command is not written right.")
    return f"{found} {hint}"


def _param_name(param: Any) -> str:
    """`--format` for an option, `FILE` for an argument."""
    flags = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    return max(flags, key=len) if flags else str(param.name or "?").upper()

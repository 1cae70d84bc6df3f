"""The `thidua` command line: one Typer app per area, added here in the order `--help` lists.

`setup` runs before every command: settings read once (a bad variable stops it in one line),
the clock started, logging set. `main` is the `thidua` command: a store that cannot be opened
or reached ends it with one line and exit 1 (the traceback only with `--debug`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import sqlalchemy as sa
import typer

from bot.channels.console import serve
from bot.cli import campaign, clerk, people, personnel, pushes
from bot.cli.common import DEBUG, ensure_ready, setup, store_problem
from handlers.router import handle

app = typer.Typer(no_args_is_help=True, add_completion=False, help="thidua: emulation bot")
app.callback()(setup)
app.add_typer(campaign.app)  # init, campaign check|show, calendar
app.add_typer(people.app)  # units, people, invite
assert personnel.people_app is people.people_app  # people deactivate|move|role|…
app.add_typer(clerk.app)  # summary, export
app.add_typer(pushes.app)  # launch, outbox


@app.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="Your user id on the console.")] = "local",
    name: Annotated[str, typer.Option("--name", help="Your display name.")] = "",
) -> None:
    """Talk to the bot on this terminal: one message per line."""
    ensure_ready()
    serve(handle, user_id=user, name=name or user, prompt=sys.stdin.isatty())


@app.command()
def run() -> None:
    """Run the bot: Telegram and/or Zalo when their tokens are set, else the console demo."""
    from bot.app import main  # python-telegram-bot, aiohttp, APScheduler: for `run` only

    ensure_ready()
    main()


def main() -> None:
    try:
        app()
    except sa.exc.DBAPIError as exc:  # missing folder, server down, locked file, bad password
        if DEBUG["on"]:
            raise
        typer.echo(store_problem(exc), err=True)
        raise SystemExit(1) from None

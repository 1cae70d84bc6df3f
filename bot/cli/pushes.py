"""`thidua launch`, `thidua outbox [--json]`, `thidua outbox retry [--failed]`.

`thidua launch` only queues: the delivery worker of a running `thidua run` sends the rows
(within a couple of seconds), so there is one sender per bot token and its rate limits hold.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypedDict

import typer

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json, print_table
from bot.core import clock
from bot.core.db import session_scope
from bot.core.i18n import _
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from schedules import outbox

app = typer.Typer()
outbox_app = typer.Typer(help="The outbox: messages waiting, sent and failed.")
app.add_typer(outbox_app, name="outbox", invoke_without_command=True)


class Paused(TypedDict):
    channel: str
    until: dt.datetime
    reason: str | None


@app.command()
def launch(as_json: JsonFlag = False) -> None:
    """Queue the campaign launch message for every registered person (`thidua run` sends it)."""
    ensure_ready()
    channels = outbox.configured_channels(get_settings())
    if not channels:
        raise fail(_("No channel to push to: set TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN."))
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        assert row.id is not None
        key, added, total = outbox.launch(
            session=session,
            campaign_id=row.id,
            campaign=campaign,
            channels=channels,
            now=clock.now(),
        )
    if as_json:
        print_json({"key": key, "queued": added, "total": total, "channels": sorted(channels)})
        return
    typer.echo(
        _(
            "{key}: {added} messages queued ({total} in all). A running `thidua run` sends them."
        ).format(key=key, added=added, total=total)
    )


@outbox_app.callback()
def outbox_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Counts by channel and status, paused channels, and the failed messages with reasons."""
    if ctx.invoked_subcommand is not None:
        return
    ensure_ready()
    with session_scope() as session:
        counts = outbox.counts(session=session)
        states: list[Paused] = [
            {"channel": s.channel, "until": s.paused_until, "reason": s.reason}
            for s in outbox.channel_states(session=session)
            if s.paused_until is not None and s.paused_until > clock.now()
        ]
        failed = outbox.failed(session=session)
    if as_json:
        print_json(
            {
                "counts": counts,
                "paused": [{**s, "until": s["until"].isoformat()} for s in states],
                "failed": failed,
            }
        )
        return
    if not counts:
        typer.echo(_("The outbox is empty."))
    else:
        statuses = ("pending", "sending", "sent", "failed", "deferred")
        labels = [_("pending"), _("sending"), _("sent"), _("failed"), _("deferred")]
        print_table(
            [_("Channel"), *labels],
            [[channel, *(by[s] for s in statuses)] for channel, by in counts.items()],
        )
    for s in states:
        until = s["until"].astimezone(clock.LOCAL).strftime("%d/%m/%Y %H:%M")
        typer.echo(
            _("{channel}: paused until {until} ({reason})").format(
                channel=s["channel"], until=until, reason=s["reason"] or "?"
            )
        )
    if failed:
        print_table(
            ["#", _("Person"), _("Unit"), _("Channel"), _("Error"), _("Push")],
            [
                [f["id"], f["person"], f["unit"], f["channel"], f["error"], f["push"] or f["key"]]
                for f in failed
            ],
            title=_("Failed ({n}):").format(n=len(failed)),
        )


@outbox_app.command("retry")
def outbox_retry(
    failed: Annotated[
        bool, typer.Option("--failed", help="Also send the failed messages again.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Send now what waits (backoff, retry-after, a channel pause); --failed: the failed too."""
    ensure_ready()
    with session_scope() as session:
        done = outbox.retry(session=session, now=clock.now(), include_failed=failed)
    if as_json:
        print_json(done)
        return
    typer.echo(
        _("{waiting} waiting messages are due now; {failed} failed messages queued again.").format(
            **done
        )
    )

"""`thidua people deactivate|reactivate|move|role|unreachable|export|forget`: a person over
the year. KEY is an id (#12), a staff number, a phone number or a full name only one has."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

import typer
from sqlmodel import Session, select

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json
from bot.cli.people import people_app
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _
from bot.core.personnel import (
    PersonError,
    change_role,
    deactivate,
    export_person,
    find_person,
    forget,
    move,
    reactivate,
    spent_channels,
    unreachable,
)
from schedules.outbox.replies import queue_menu_refresh

log = logging.getLogger(__name__)
Key = Annotated[str, typer.Argument(help="id (#12), staff number, phone, or full name")]
BY = "cli"


def _find(session: Session, key: str) -> m.Person:
    try:
        return find_person(session=session, key=key)
    except PersonError as exc:
        raise fail(str(exc)) from None


def _refresh_menus(session: Session, person: m.Person, changed: bool = True) -> None:
    """The running bot sets the person's Telegram menu at once (queued in the outbox)."""
    if changed and person.id is not None:
        queue_menu_refresh(session=session, person_id=person.id, now=clock.now())


def _day(text: str) -> dt.date:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    raise fail(_("Not a date: {text} (DD/MM/YYYY)").format(text=text), 2)


@people_app.command("deactivate")
def people_deactivate(key: Key) -> None:
    """Someone who left: no pushes, no commands; their records stay and still count."""
    ensure_ready()
    with session_scope() as session:
        person = _find(session, key)
        done = deactivate(session=session, person=person, now=clock.now(), by=BY)
        _refresh_menus(session, person, done)
        name = person.full_name
    typer.echo(
        (_("Deactivated: {name}.") if done else _("{name} is inactive already.")).format(name=name)
    )


@people_app.command("reactivate")
def people_reactivate(key: Key) -> None:
    """Someone deactivated by mistake, or back."""
    ensure_ready()
    with session_scope() as session:
        person = _find(session, key)
        done = reactivate(session=session, person=person, by=BY)
        _refresh_menus(session, person, done)
        name = person.full_name
    typer.echo((_("Active again: {name}.") if done else _("{name} is active.")).format(name=name))


@people_app.command("move")
def people_move(
    key: Key,
    unit: Annotated[str, typer.Option("--unit", help="The new unit's code.")],
    since: Annotated[
        str | None,
        typer.Option("--from", help="DD/MM/YYYY: what they filed from this day goes with them."),
    ] = None,
) -> None:
    """Move a person to another unit; earlier reports stay with the old unit."""
    ensure_ready()
    day = _day(since) if since else None
    with session_scope() as session:
        person = _find(session, key)
        target = session.exec(select(m.Unit).where(m.Unit.code == unit.upper())).first()
        if target is None or not target.active:
            raise fail(_("Unknown unit code: {code}").format(code=unit))
        moved = move(
            session=session, person=person, unit=target, since=day, now=clock.now(), by=BY
        )
        _refresh_menus(session, person)
        name, code = person.full_name, target.code
    typer.echo(
        _("{name} moved to {unit}; {n} records filed since then moved too.").format(
            name=name, unit=code, n=moved
        )
    )


@people_app.command("role")
def people_role(
    key: Key, role: Annotated[str, typer.Argument(help="staff|head|clerk|admin")]
) -> None:
    """Change a person's role (their Telegram menu follows at once)."""
    ensure_ready()
    with session_scope() as session:
        person = _find(session, key)
        try:
            old = change_role(session=session, person=person, role=role.casefold(), by=BY)
        except PersonError as exc:
            raise fail(str(exc), 2) from None
        _refresh_menus(session, person, old != person.role)
        name = person.full_name
    typer.echo(_("{name}: {old} → {new}.").format(name=name, old=old, new=role.casefold()))


@people_app.command("unreachable")
def people_unreachable(as_json: JsonFlag = False) -> None:
    """The call list: invited but never registered, blocked on every channel, or only on a
    channel whose monthly quota is spent."""
    ensure_ready()
    now = clock.now()
    with session_scope() as session:
        spent = spent_channels(session=session, now=now)
        rows = [u.to_json(now) for u in unreachable(session=session, now=now, spent=spent)]
    if as_json:
        print_json(rows)
        return
    why = {
        "never_registered": _("never registered"),
        "blocked": _("blocked the bot or unreachable"),
        "quota": _("only on a channel whose quota is spent"),
    }
    if not rows:
        typer.echo(_("Everyone can be reached."))
    for row in rows:
        age = row["invited_days_ago"]
        extra = _("invited {n} days ago").format(n=age) if age is not None else row["detail"]
        typer.echo(
            f"{row['unit']:6} {row['name']:30} {row['phone'] or '-':14} "
            f"{why[str(row['why'])]}{f' ({extra})' if extra else ''}"
        )


@people_app.command("export")
def people_export(
    person: Annotated[str, typer.Option("--person", help="id (#12), staff number, phone, name")],
) -> None:
    """Everything stored about one person, as JSON (their right to see it)."""
    ensure_ready()
    with session_scope() as session:
        data = export_person(session=session, person=_find(session, person))
    print_json(data)


@people_app.command("forget")
def people_forget(
    key: Key,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a person's identifying data (name, phone, chat ids, attachments, messages to and
    from them); their records stay, anonymised, so the figures still add up. Cannot be
    undone."""
    ensure_ready()
    with session_scope() as session:
        found = _find(session, key)
        name, pid = found.full_name, found.id
    question = _("Remove the data of {name}? This cannot be undone.").format(name=name)
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)
    with session_scope() as session:
        person = session.get(m.Person, pid)
        assert person is not None  # found above
        done = forget(session=session, person=person, now=clock.now(), by=BY)
    for path in done.files:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s: %s", path, exc)
    typer.echo(
        _("Removed the data of {name}; {n} attachments deleted.").format(
            name=name, n=done.evidence
        )
    )
    if done.unsent:
        typer.echo(_("{n} messages to them not sent yet were dropped.").format(n=done.unsent))

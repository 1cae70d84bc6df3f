"""`thidua units`, `thidua people`, `thidua invite`: who the bot knows."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer
from sqlmodel import col, select

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json, print_table
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _, format_day
from bot.core.invite_sheet import SheetRow, write_pdf, write_xlsx
from bot.core.people import ImportError_, import_units, issue_invites
from bot.core.personnel import PersonError, find_person, pending_people, personal_invites
from bot.core.roles import ROLES, Role
from bot.core.roster import import_roster
from bot.core.settings import get_settings
from handlers.basics import role_label
from schedules.outbox.replies import queue_menu_refresh

app = typer.Typer()
units_app = typer.Typer(no_args_is_help=True, help="Units (phòng, trung tâm).")
people_app = typer.Typer(no_args_is_help=True, help="People.")
app.add_typer(units_app, name="units")
app.add_typer(people_app, name="people")


class Listed(TypedDict):
    id: int | None
    name: str
    unit: str
    role: str
    phone: str | None
    channels: list[str]


@units_app.command("import")
def units_import(file: Path, as_json: JsonFlag = False) -> None:
    """Import units from CSV or XLSX (columns: code, name[, office])."""
    ensure_ready()
    try:
        with session_scope() as session:
            n = import_units(session=session, path=file)
    except ImportError_ as exc:
        raise import_failed(file, exc, as_json) from None
    if as_json:
        print_json({"file": str(file), "imported": n})
        return
    typer.echo(_("{n} units imported.").format(n=n))


def import_failed(file: Path, exc: ImportError_, as_json: bool) -> typer.Exit:
    """Every problem of the file, one line each (or as JSON); exit 1."""
    if as_json:
        print_json({"file": str(file), "imported": 0, "problems": exc.problems})
        return typer.Exit(1)
    return fail([f"{file}: {p}" for p in exc.problems])


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
        print_json(rows)
        return
    yes = _("Yes")
    print_table(
        [_("Code"), _("Unit"), _("Office")],
        [[r["code"], r["name"], yes if r["office"] else ""] for r in rows],
    )


@people_app.command("import")
def people_import(
    file: Path,
    deactivate_missing: Annotated[
        bool,
        typer.Option("--deactivate-missing", help="Deactivate the active people not in the file."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Import the staff list from CSV or XLSX (columns: name, unit[, role, phone, email,
    position, staff number]); people are found again by staff number, phone, or name and unit,
    so importing again updates and never duplicates."""
    ensure_ready()
    try:
        with session_scope() as session:
            report = import_roster(
                session=session, path=file, now=clock.now(), deactivate_missing=deactivate_missing
            )
            codes = {u.id: u.code for u in session.exec(select(m.Unit)) if u.id is not None}
            out = report.to_json(codes)
            for person in report.menus_changed():  # the running bot sets their menus at once
                assert person.id is not None  # stored
                queue_menu_refresh(session=session, person_id=person.id, now=clock.now())
    except ImportError_ as exc:
        raise import_failed(file, exc, as_json) from None
    if as_json:
        print_json(out)
        return
    typer.echo(
        _("{added} added, {changed} changed, {unchanged} unchanged.").format(
            added=len(report.added), changed=len(report.changed), unchanged=len(report.unchanged)
        )
    )
    for row in out["changed"]:
        typer.echo(
            _("changed: {name} ({unit}): {fields}").format(
                name=row["name"], unit=row["unit"], fields=", ".join(row["fields"])
            )
        )
    missing = out["missing"]
    if missing:
        lead = (
            _("Deactivated, not in the file ({n}):")
            if report.deactivated
            else _(
                "Not in the file ({n}); still active (deactivate with "
                "`thidua people deactivate KEY` or import with --deactivate-missing):"
            )
        )
        typer.echo(lead.format(n=len(missing)))
        for row in missing:
            typer.echo(f"  #{row['id']} {row['name']} ({row['unit']})")


@people_app.command("list")
def people_list(as_json: JsonFlag = False) -> None:
    """People with their unit, role and connected channels."""
    ensure_ready()
    with session_scope() as session:
        rows: list[Listed] = []
        for p, u in session.exec(select(m.Person, m.Unit).join(m.Unit).order_by(col(m.Person.id))):
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
        print_json(rows)
        return
    print_table(
        ["#", _("Name"), _("Unit"), _("Role"), _("Phone"), _("Channels")],
        [
            [r["id"], r["name"], r["unit"], role_label(r["role"]), r["phone"], ", ".join(ch)]
            for r in rows
            for ch in [r["channels"]]
        ],
    )


class SheetFormat(StrEnum):
    xlsx = "xlsx"
    pdf = "pdf"


@app.command()
def invite(
    unit: Annotated[str | None, typer.Option("--unit", help="Unit code.")] = None,
    role: Annotated[str, typer.Option("--role", help="|".join(ROLES))] = Role.STAFF,
    count: Annotated[int, typer.Option("--count", min=1, max=500)] = 1,
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Valid for.")] = 30,
    person: Annotated[
        list[str] | None,
        typer.Option("--person", help="A personal code for this person (id, staff no, phone)."),
    ] = None,
    pending: Annotated[
        bool,
        typer.Option("--pending", help="Personal codes for the unit's people not registered."),
    ] = False,
    sheet: Annotated[
        SheetFormat | None, typer.Option("--format", help="Write a printable sheet.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="The sheet's file name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue single-use invite codes: for a unit and role (anyone of it may register), or
    personal ones (--person KEY, or --unit CODE --pending) that bind the chat to that person."""
    if role not in ROLES:
        raise fail(_("--role must be one of: {roles}").format(roles=", ".join(ROLES)), 2)
    if not unit and not person:
        raise fail(_("Give --unit CODE or --person KEY."), 2)
    if pending and (not unit or person):
        raise fail(_("--pending goes with --unit CODE (and without --person)."), 2)
    ensure_ready()
    now = clock.now()
    with session_scope() as session:
        found = None
        if unit:
            found = session.exec(select(m.Unit).where(m.Unit.code == unit.upper())).first()
            if found is None:
                raise fail(_("Unknown unit code: {code}").format(code=unit))
        if person or pending:
            try:
                chosen = (
                    [find_person(session=session, key=k) for k in person or []]
                    if person
                    else pending_people(session=session, unit=found)  # type: ignore[arg-type]
                )
            except PersonError as exc:
                raise fail(str(exc)) from None
            issued = personal_invites(session=session, people=chosen, now=now, days=days)
            skipped = [p.full_name for p in chosen if p.id not in {i.person.id for i in issued}]
            rows: list[dict[str, Any]] = [
                {
                    "code": i.invite.code,
                    "unit": i.unit.code,
                    "unit_name": i.unit.name,
                    "role": i.person.role,
                    "person": i.person.id,
                    "name": i.person.full_name,
                    "new": i.new,
                    "expires_at": _local(i.invite.expires_at),
                }
                for i in issued
            ]
        else:
            assert found is not None
            invites = issue_invites(
                session=session, unit=found, role=role, count=count, now=now, days=days
            )
            skipped = []
            rows = [
                {
                    "code": i.code,
                    "unit": found.code,
                    "unit_name": found.name,
                    "role": role,
                    "expires_at": _local(i.expires_at),
                }
                for i in invites
            ]
    links = telegram_links([str(r["code"]) for r in rows])
    for row in rows:
        if row["code"] in links:
            row["link"] = links[str(row["code"])]
    for name in skipped:
        typer.echo(
            _("{name}: registered already or inactive; no code.").format(name=name), err=True
        )
    if sheet is not None:
        path = out or Path(f"invites.{sheet.value}")
        write_sheet(rows, path, sheet)
        typer.echo(_("Sheet written: {path} ({n} invites).").format(path=path, n=len(rows)))
    if as_json:
        print_json(rows)
        return
    if sheet is not None:
        return
    named = any("name" in r for r in rows)  # personal codes name their person
    headers = [_("Invite code"), *([_("Person")] if named else []), _("Unit"), _("Role")]
    headers.append(_("Valid until"))
    listed = [
        [
            r["code"],
            *([str(r.get("name", ""))] if named else []),
            r["unit"],
            role_label(r["role"]),
            format_day(until(str(r["expires_at"]))),
        ]
        for r in rows
    ]
    if links:
        headers.append(_("Link"))
        for r, line in zip(rows, listed, strict=True):
            line.append(r.get("link", ""))
    print_table(headers, listed)


def until(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).date()


def _local(when: dt.datetime) -> str:
    return when.astimezone(clock.LOCAL).isoformat()


def write_sheet(rows: list[dict[str, Any]], path: Path, sheet: SheetFormat) -> None:
    """The printable sheet: one invite a row (XLSX) or a block with its QR code (PDF)."""
    lines = [
        SheetRow(
            name=str(r.get("name") or ""),
            unit=str(r["unit_name"]),
            code=str(r["code"]),
            link=str(r["link"]) if r.get("link") else None,
            expires=dt.datetime.fromisoformat(str(r["expires_at"])).strftime("%d/%m/%Y"),
        )
        for r in rows
    ]
    if sheet is SheetFormat.xlsx:
        write_xlsx(lines, path)
    else:
        write_pdf(lines, path, title=_("Invitation to the emulation campaign's chatbot"))


def telegram_links(codes: list[str]) -> dict[str, str]:
    """Deep links t.me/<bot>?start=<code>, when a Telegram token is set (username via getMe)."""
    if get_settings().telegram_bot_token is None:
        return {}
    from bot.channels.telegram import bot_username  # python-telegram-bot loads only if needed

    username = bot_username()
    return {code: f"https://t.me/{username}?start={code}" for code in codes} if username else {}

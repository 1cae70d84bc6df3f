"""`thidua units`, `thidua people`, `thidua invite`: who the bot knows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from sqlmodel import col, select

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json, print_table
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _, format_day
from bot.core.people import ImportError_, import_people, import_units, issue_invites
from bot.core.roles import ROLES, Role
from bot.core.settings import get_settings
from handlers.basics import role_label

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
def people_import(file: Path, as_json: JsonFlag = False) -> None:
    """Import people from CSV or XLSX (columns: name, unit, role[, phone])."""
    ensure_ready()
    try:
        with session_scope() as session:
            n = import_people(session=session, path=file, now=clock.now())
    except ImportError_ as exc:
        raise import_failed(file, exc, as_json) from None
    if as_json:
        print_json({"file": str(file), "imported": n})
        return
    typer.echo(_("{n} people imported.").format(n=n))


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


@app.command()
def invite(
    unit: Annotated[str, typer.Option("--unit", help="Unit code.")],
    role: Annotated[str, typer.Option("--role", help="|".join(ROLES))] = Role.STAFF,
    count: Annotated[int, typer.Option("--count", min=1, max=500)] = 1,
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Valid for.")] = 30,
    as_json: JsonFlag = False,
) -> None:
    """Issue single-use invite codes for a unit and role."""
    if role not in ROLES:
        raise fail(_("--role must be one of: {roles}").format(roles=", ".join(ROLES)), 2)
    ensure_ready()
    with session_scope() as session:
        found = session.exec(select(m.Unit).where(m.Unit.code == unit.upper())).first()
        if found is None:
            raise fail(_("Unknown unit code: {code}").format(code=unit))
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
        print_json(rows)
        return
    headers = [_("Invite code"), _("Unit"), _("Role"), _("Valid until")]
    listed = [
        [r["code"], r["unit"], role_label(r["role"]), format_day(until(r["expires_at"]))]
        for r in rows
    ]
    if links:
        headers.append(_("Link"))
        for r, line in zip(rows, listed, strict=True):
            line.append(r.get("link", ""))
    print_table(headers, listed)


def until(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).date()


def telegram_links(codes: list[str]) -> dict[str, str]:
    """Deep links t.me/<bot>?start=<code>, when a Telegram token is set (username via getMe)."""
    if get_settings().telegram_bot_token is None:
        return {}
    from bot.channels.telegram import bot_username  # python-telegram-bot loads only if needed

    username = bot_username()
    return {code: f"https://t.me/{username}?start={code}" for code in codes} if username else {}

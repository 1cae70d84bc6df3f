"""`thidua council add|remove|list|open|close|sessions` and `thidua dossier`: the council's
members, its ballot sessions, and the dossier a closed session yields. PERSON is an id (#12),
a staff number, a phone number or a full name only one has."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import col, select

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json, print_table
from bot.core import clock, council
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.exports import dossier
from bot.core.i18n import _
from bot.core.personnel import PersonError, find_person
from bot.core.store import active_campaign

app = typer.Typer()
council_app = typer.Typer(no_args_is_help=True, help="The council and its secret vote.")
app.add_typer(council_app, name="council")
Who = Annotated[list[str], typer.Argument(help="id (#12), staff number, phone, or full name")]


def _people(session, keys: list[str]) -> list[m.Person]:
    try:
        return [find_person(session=session, key=key) for key in keys]
    except PersonError as exc:
        raise fail(str(exc)) from None


@council_app.command("add")
def council_add(people: Who) -> None:
    """Appoint people to the council (they keep their own role)."""
    ensure_ready()
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        for person in _people(session, people):
            try:
                added = council.add_member(
                    session=session,
                    campaign_id=row.id or 0,
                    person=person,
                    by=None,
                    now=clock.now(),
                )
            except council.CouncilError as exc:
                raise fail(str(exc)) from None
            shown = _("{name} joins the council.") if added else _("{name} is on it already.")
            typer.echo(shown.format(name=person.full_name))


@council_app.command("remove")
def council_remove(people: Who) -> None:
    """Take people off the council."""
    ensure_ready()
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        for person in _people(session, people):
            gone = council.remove_member(
                session=session, campaign_id=row.id or 0, person=person, by=None
            )
            shown = _("{name} leaves the council.") if gone else _("{name} was not on it.")
            typer.echo(shown.format(name=person.full_name))


@council_app.command("list")
def council_list(as_json: JsonFlag = False) -> None:
    """The council's members."""
    ensure_ready()
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        seats = council.members(session=session, campaign_id=row.id or 0)
        found = [
            {"id": p.id, "name": p.full_name, "role": p.role, "unit": _unit_code(session, p)}
            for p in seats
        ]
    if as_json:
        print_json(found)
        return
    print_table(
        [_("Id"), _("Name"), _("Role"), _("Unit")],
        [[f["id"], f["name"], f["role"], f["unit"]] for f in found],
        title=_("Council members: {n}").format(n=len(found)),
    )


def _unit_code(session, person: m.Person) -> str:
    unit = session.get(m.Unit, person.unit_id)
    return unit.code if unit else ""


@council_app.command("sessions")
def council_sessions(as_json: JsonFlag = False) -> None:
    """The ballot sessions: open and closed, with the turnout."""
    ensure_ready()
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        found = []
        for s in session.exec(
            select(m.BallotSession)
            .where(m.BallotSession.campaign_id == row.id)
            .order_by(col(m.BallotSession.id))
        ):
            assert s.id is not None
            found.append(
                {
                    "id": s.id,
                    "scope": council.scope_label(campaign, s.phase),
                    "status": s.status,
                    "candidates": len(s.candidates),
                    "members": s.members,
                    "voted": len(council.voted(session=session, session_id=s.id)),
                    "carried": sum(o["passed"] for o in s.result.get("outcomes", [])),
                }
            )
    if as_json:
        print_json(found)
        return
    print_table(
        [
            _("Id"),
            _("Phase or year"),
            _("Session status"),
            _("Candidates"),
            _("Voted"),
            _("Carried"),
        ],
        [
            [
                f["id"],
                f["scope"],
                f["status"],
                f["candidates"],
                f"{f['voted']}/{f['members']}",
                f["carried"],
            ]
            for f in found
        ],
    )


@app.command("dossier")
def dossier_command(
    session_id: Annotated[int, typer.Option("--session", help="A closed ballot session's id.")],
    out: Annotated[Path, typer.Option("--out", help="The folder to write the files into.")],
    as_json: JsonFlag = False,
) -> None:
    """The dossier of a closed ballot session: minutes, proposal and list (DOCX and XLSX),
    the hand-off sheet for the province's system, and the evidence files."""
    ensure_ready()
    with session_scope() as session:
        _row, campaign = active_campaign(session=session)
        try:
            written = dossier.write(
                session=session, campaign=campaign, session_id=session_id, out=out
            )
        except dossier.DossierError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json({"files": [str(p) for p in written]})
        return
    typer.echo(_("Dossier written to {folder}: {n} files.").format(folder=out, n=len(written)))
    for path in written:
        typer.echo(f"  {path.relative_to(out)}")

"""`thidua registrations`, `thidua ratings import`, `thidua initiatives import` and
`thidua eligibility show|override`: registration and the pre-check on the command line."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, select

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json, print_table
from bot.core import clock, eligibility, registration
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.exports import registration_docx
from bot.core.i18n import _
from bot.core.people import ImportError_
from bot.core.ratings import import_initiatives, import_ratings
from bot.core.store import active_campaign
from bot.core.summary import find_unit

app = typer.Typer()
ratings_app = typer.Typer(no_args_is_help=True, help="The year's ratings (xếp loại).")
initiatives_app = typer.Typer(no_args_is_help=True, help="Recognised initiatives (sáng kiến).")
eligibility_app = typer.Typer(no_args_is_help=True, help="A nomination's pre-check.")
app.add_typer(ratings_app, name="ratings")
app.add_typer(initiatives_app, name="initiatives")
app.add_typer(eligibility_app, name="eligibility")
YearOpt = Annotated[
    int | None, typer.Option("--year", help="The year of rows without one (default: campaign's).")
]


def _failed(file: Path, exc: ImportError_, as_json: bool) -> typer.Exit:
    if as_json:
        print_json({"file": str(file), "imported": 0, "problems": exc.problems})
        return typer.Exit(1)
    return fail([f"{file}: {p}" for p in exc.problems])


@ratings_app.command("import")
def ratings_import(file: Path, year: YearOpt = None, as_json: JsonFlag = False) -> None:
    """Import ratings, discipline and titles conferred (CSV or XLSX; columns: staff_no or
    name and unit, rating, discipline, titles, year)."""
    ensure_ready()
    try:
        with session_scope() as session:
            _row, campaign = active_campaign(session=session)
            done = import_ratings(
                session=session, path=file, campaign=campaign, year=year, now=clock.now()
            )
    except ImportError_ as exc:
        raise _failed(file, exc, as_json) from None
    if as_json:
        print_json({"file": str(file), "imported": done.rows, **done.to_json()})
        return
    typer.echo(
        _("{n} rows imported ({people} people, {units} units).").format(
            n=done.rows, people=done.people, units=done.units
        )
    )


@initiatives_app.command("import")
def initiatives_import(file: Path, year: YearOpt = None, as_json: JsonFlag = False) -> None:
    """Import recognised initiatives (CSV or XLSX; columns: staff_no or name and unit,
    initiative, decision, accepted, year)."""
    ensure_ready()
    try:
        with session_scope() as session:
            row, _campaign = active_campaign(session=session)
            done = import_initiatives(
                session=session, path=file, year=year or row.year, now=clock.now()
            )
    except ImportError_ as exc:
        raise _failed(file, exc, as_json) from None
    if as_json:
        print_json({"file": str(file), "imported": done.rows, **done.to_json()})
        return
    typer.echo(_("{n} initiatives imported.").format(n=done.rows))


@app.command("registrations")
def registrations(
    unit: Annotated[str | None, typer.Option("--unit", help="A unit's code.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the unit's registration sheet (DOCX).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Registrations (đăng ký thi đua): the list, the tally against the targets, or a unit's
    sheet as DOCX (--unit X --out F.docx)."""
    ensure_ready()
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        assert row.id is not None  # a stored row
        found = find_unit(session=session, code=unit) if unit else None
        if unit and found is None:
            raise fail(_("No unit “{code}”.").format(code=unit))
        if out is not None:
            if found is None:
                raise fail(_("--out writes one unit's sheet: give --unit."), 2)
            registration_docx.write(
                session=session, campaign_id=row.id, campaign=campaign, unit=found, out=out
            )
            typer.echo(_("Written: {path}").format(path=out))
            return
        unit_id = found.id if found else None
        listed = registration.registrations(session=session, campaign_id=row.id, unit_id=unit_id)
        tally = registration.tally(
            session=session, campaign_id=row.id, campaign=campaign, unit_id=unit_id
        )
        items = [_listed(session, r) for r in listed]
    if as_json:
        print_json({"registrations": items, "tally": [t.to_json() for t in tally]})
        return
    print_table(
        [_("Receipt"), _("For"), _("Unit"), _("Titles")],
        [[i["receipt"], i["name"], i["unit"], ", ".join(i["titles"])] for i in items],
    )
    for t in tally:
        typer.echo(registration.tally_line(t))


def _listed(session: Session, r: m.Registration) -> dict:
    unit = session.get(m.Unit, r.unit_id)
    person = session.get(m.Person, r.nominee_person_id) if r.nominee_person_id else None
    return {
        "receipt": r.receipt,
        "for": r.audience,
        "name": person.full_name if person else (unit.name if unit else ""),
        "unit": unit.code if unit else "",
        "titles": list(r.titles),
        "updated_at": r.updated_at.isoformat(),
    }


def _nomination(session: Session, receipt: str) -> m.Nomination:
    found = session.exec(
        select(m.Nomination).where(m.Nomination.receipt == receipt.strip().upper())
    ).first()
    if found is None:
        raise fail(_("No nomination “{receipt}”.").format(receipt=receipt))
    return found


@eligibility_app.command("show")
def eligibility_show(receipt: str, as_json: JsonFlag = False) -> None:
    """A nomination's pre-check: each condition met, missing or unknown."""
    ensure_ready()
    with session_scope() as session:
        found = eligibility.precheck(session, _nomination(session, receipt))
    if as_json:
        print_json({"receipt": receipt.upper(), **found.to_json()})
        return
    typer.echo(eligibility.render_text(found))


class Finding(StrEnum):
    met = "met"
    missing = "missing"
    unknown = "unknown"


@eligibility_app.command("override")
def eligibility_override(
    receipt: str,
    condition: Annotated[str, typer.Argument(help="The condition's key (see show --json).")],
    outcome: Annotated[
        Finding, typer.Option("--as", help="met, missing, or unknown (back to the data).")
    ],
    note: Annotated[str, typer.Option("--note", help="Why (kept in the audit log).")],
    as_json: JsonFlag = False,
) -> None:
    """Record the office's own finding for one condition of a pre-check (audited)."""
    ensure_ready()
    if not note.strip():
        raise fail(_("Give the reason with --note."), 2)
    with session_scope() as session:
        nomination = _nomination(session, receipt)
        try:
            found = eligibility.override(
                session=session,
                nomination=nomination,
                key=condition,
                outcome=outcome.value,
                note=note.strip(),
                person_id=None,
                now=clock.now(),
            )
        except eligibility.UnknownCondition:
            keys = ", ".join(c.key for c in eligibility.precheck(session, nomination).checks)
            raise fail(
                _("{receipt} has no condition “{key}”. Conditions: {keys}.").format(
                    receipt=nomination.receipt, key=condition, keys=keys or "–"
                )
            ) from None
    if as_json:
        print_json({"receipt": receipt.upper(), **found.to_json()})
        return
    typer.echo(eligibility.render_text(found))

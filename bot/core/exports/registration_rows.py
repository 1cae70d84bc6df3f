"""The export's awards sheets: registrations (đăng ký thi đua) with the tally against the
targets, and each nomination's pre-check condition by condition."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import col, select

from bot.core import eligibility, registration
from bot.core import models as m
from bot.core.exports.rows import Column, Scope, Table
from bot.core.i18n import _


def registrations_table(scope: Scope) -> Table:
    columns = [
        Column(_("Receipt"), 16),
        Column(_("For"), 12),
        Column(_("Registrant"), 30),
        Column(_("Unit code"), 10),
        Column(_("Titles registered"), 50),
        Column(_("Registered / target"), 30),
    ]
    return Table("registrations", _("Registrations"), columns, _registration_rows(scope))


def _registration_rows(scope: Scope) -> Iterator[tuple]:
    assert scope.campaign_row.id is not None  # a stored row
    names = {t.code: t.name for t in scope.campaign.titles}
    audiences = {"individual": _("Individual"), "collective": _("Collective")}
    for r in registration.registrations(session=scope.session, campaign_id=scope.campaign_row.id):
        unit = scope.session.get(m.Unit, r.unit_id)
        person = scope.session.get(m.Person, r.nominee_person_id) if r.nominee_person_id else None
        yield (
            r.receipt,
            audiences.get(r.audience, r.audience),
            person.full_name if person else (unit.name if unit else ""),
            unit.code if unit else "",
            ", ".join(names.get(c, c) for c in r.titles),
            "",
        )
    for t in registration.tally(
        session=scope.session, campaign_id=scope.campaign_row.id, campaign=scope.campaign
    ):
        yield (
            "",
            audiences.get(t.audience, t.audience),
            "",
            "",
            t.name,
            registration.tally_line(t),
        )


def prechecks_table(scope: Scope) -> Table:
    columns = [
        Column(_("Receipt"), 16),
        Column(_("Nominee"), 30),
        Column(_("Title or award"), 36),
        Column(_("Condition"), 50),
        Column(_("Outcome"), 12),
        Column(_("Finding"), 40),
        Column(_("Office's finding"), 30),
    ]
    return Table("prechecks", _("Pre-checks"), columns, _precheck_rows(scope))


def _precheck_rows(scope: Scope) -> Iterator[tuple]:
    n = m.Nomination
    query = (
        select(n)
        .where(n.campaign_id == scope.campaign_row.id, n.status != "withdrawn")
        .order_by(col(n.receipt))
    )
    titles = scope.campaign.titles_by_code
    assert scope.campaign_row.id is not None  # a stored campaign
    known = eligibility.known(scope.session, scope.campaign_row.id)
    for nomination in scope.session.exec(query):
        found = eligibility.precheck(scope.session, nomination, known)
        title = titles.get(nomination.title_code)
        for c in found.checks:
            yield (
                nomination.receipt,
                nomination.nominee_name,
                title.name if title else nomination.title_code,
                c.what,
                eligibility.outcome_label(c.outcome),
                c.why,
                c.override or "",
            )

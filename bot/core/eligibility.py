"""The pre-check of a nomination: each condition its title's legal basis sets, met, missing or
unknown, from what the store knows (nominations, the year's ratings, initiatives).

`precheck(session, nomination)` works on a saved nomination and on one being written (not yet
added to the session), so the nomination flow shows it before the person confirms. "Unknown" is
never "missing": it means the office has not imported what would tell (a rating, last year's
titles), or the nominee is not in the staff list. The clerk may record a finding of their own
for a condition (`override`), audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.campaign import RATINGS, Campaign, Condition, Title
from bot.core.i18n import _, format_percent
from bot.core.store import audit

Outcome = Literal["met", "missing", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("met", "missing", "unknown")
MARKS = {"met": "✅", "missing": "❌", "unknown": "❔"}
NOTE_MAX = 300
#: Nominations that make a title "held" this year for the pre-check of another one.
HELD = ("accepted",)
PENDING = ("proposed", "endorsed", "returned")
#: What counts a member as holding a title for a collective's share.
COUNTED = ("endorsed", "accepted")


@dataclass(frozen=True)
class Check:
    """One condition's finding: `what` names the condition, `why` the finding."""

    key: str
    kind: str
    outcome: Outcome
    what: str
    why: str
    basis: str = ""
    override: str | None = None  # the clerk's note, when the outcome is theirs

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "kind": self.kind,
            "outcome": self.outcome,
            "what": self.what,
            "why": self.why,
            "basis": self.basis,
            "override": self.override,
        }


@dataclass(frozen=True)
class Precheck:
    title_code: str
    checks: tuple[Check, ...]

    @property
    def outcome(self) -> Outcome:
        """Missing if any condition is, met if all are, else unknown (met with no conditions)."""
        found = {c.outcome for c in self.checks}
        if "missing" in found:
            return "missing"
        return "unknown" if "unknown" in found else "met"

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title_code,
            "outcome": self.outcome,
            "checks": [c.to_json() for c in self.checks],
        }


def outcome_label(outcome: str) -> str:
    return {"met": _("met"), "missing": _("missing"), "unknown": _("unknown")}.get(
        outcome, outcome
    )


def rating_label(code: str) -> str:
    return {
        "xuat-sac": _("Excellently completed duties"),
        "tot": _("Well completed duties"),
        "hoan-thanh": _("Completed duties"),
        "khong-hoan-thanh": _("Did not complete duties"),
    }.get(code, code)


def render_lines(found: Precheck) -> list[str]:
    """Short lines, one per condition: "✅ Lao động tiên tiến 2022: accepted (DN-2022-0003)"."""
    lines = []
    for c in found.checks:
        line = f"{MARKS[c.outcome]} {c.what}: {c.why}"
        if c.override is not None:
            line += " " + _("(the office's finding: {note})").format(note=c.override)
        lines.append(line)
    return lines


def render_text(found: Precheck) -> str:
    """The pre-check as a block: a heading with the overall outcome, then the lines."""
    if not found.checks:
        return _("Pre-check: the title sets no condition the bot can check.")
    head = _("Pre-check: {outcome}").format(outcome=outcome_label(found.outcome))
    return "\n".join([head, *render_lines(found)])


def subject_of(nomination: m.Nomination) -> str | None:
    """`person:<id>` / `unit:<id>` for a nominee in the store; None for a typed name."""
    if nomination.nominee_person_id is not None:
        return f"person:{nomination.nominee_person_id}"
    if nomination.nominee_unit_id is not None:
        return f"unit:{nomination.nominee_unit_id}"
    return None


@dataclass
class Known:
    """What the store knows of a whole campaign's nominees, read in a few queries: for the
    pre-checks of many nominations at once (an export's sheet), which one by one cost a few
    queries each."""

    year: int
    plan: Campaign
    records: dict[tuple[str, int], m.YearRecord]
    nominated: dict[str, list[m.Nomination]]  # live nominations by nominee key
    initiatives: dict[int, m.Initiative]  # the year's accepted ones, by person
    any_initiative: bool  # the year's initiatives were imported
    members: dict[int, list[m.Person]]  # active people by unit
    overrides: dict[int, dict[str, m.PrecheckOverride]]  # by nomination, by condition


def known(session: Session, campaign_id: int) -> Known:
    year, plan = _campaign(session, campaign_id)
    nominated: dict[str, list[m.Nomination]] = {}
    for n in session.exec(
        select(m.Nomination)
        .where(
            m.Nomination.campaign_id == campaign_id,
            col(m.Nomination.status).in_((*HELD, *PENDING)),
        )
        .order_by(col(m.Nomination.id))
    ):
        nominated.setdefault(n.nominee_key, []).append(n)
    initiatives = list(session.exec(select(m.Initiative).where(m.Initiative.year == year)))
    members: dict[int, list[m.Person]] = {}
    for p in session.exec(select(m.Person).where(col(m.Person.active).is_(True))):
        members.setdefault(p.unit_id, []).append(p)
    overrides: dict[int, dict[str, m.PrecheckOverride]] = {}
    for o in session.exec(
        select(m.PrecheckOverride)
        .join(m.Nomination, col(m.Nomination.id) == col(m.PrecheckOverride.nomination_id))
        .where(m.Nomination.campaign_id == campaign_id)
    ):
        overrides.setdefault(o.nomination_id, {})[o.condition] = o
    return Known(
        year=year,
        plan=plan,
        records={(r.subject, r.year): r for r in session.exec(select(m.YearRecord))},
        nominated=nominated,
        initiatives={i.person_id: i for i in reversed(initiatives) if i.accepted},
        any_initiative=bool(initiatives),
        members=members,
        overrides=overrides,
    )


def precheck(session: Session, nomination: m.Nomination, known: Known | None = None) -> Precheck:
    """Each condition of the nomination's title, checked against the store (or against
    `known`, read once for many nominations)."""
    with session.no_autoflush:  # reads only; a draft nomination is never added
        return _precheck(session, nomination, known)


def _precheck(session: Session, nomination: m.Nomination, known: Known | None) -> Precheck:
    if known is not None:
        year, campaign = known.year, known.plan
    else:
        year, campaign = _campaign(session, nomination.campaign_id)
    title = campaign.titles_by_code.get(nomination.title_code)
    if title is None:
        return Precheck(nomination.title_code, ())
    facts = _Facts(session, campaign, year, nomination, known)
    if known is not None:
        overrides = known.overrides.get(nomination.id or 0, {})
    elif nomination.id is not None:
        overrides = {
            o.condition: o
            for o in session.exec(
                select(m.PrecheckOverride).where(m.PrecheckOverride.nomination_id == nomination.id)
            )
        }
    else:
        overrides = {}
    checks = []
    for condition in title.all_conditions:
        check = facts.check(condition)
        found = overrides.get(condition.key)
        if found is not None:
            check = Check(
                check.key,
                check.kind,
                found.outcome,  # type: ignore[arg-type]  # stored from OUTCOMES
                check.what,
                check.why,
                check.basis,
                found.note,
            )
        checks.append(check)
    return Precheck(title.code, tuple(checks))


_PARSED: dict[tuple[int, dt.datetime], Campaign] = {}


def _campaign(session: Session, campaign_id: int) -> tuple[int, Campaign]:
    """(year, plan) of a stored campaign, the plan parsed once per load (an export pre-checks
    every nomination; the plan's JSON is read only when it changed)."""
    c = m.Campaign
    year, loaded_at = session.exec(select(c.year, c.loaded_at).where(c.id == campaign_id)).one()
    key = (campaign_id, loaded_at)
    if key not in _PARSED:
        data = session.exec(select(c.data).where(c.id == campaign_id)).one()
        if len(_PARSED) > 8:
            _PARSED.clear()
        _PARSED[key] = Campaign.model_validate(data)
    return year, _PARSED[key]


class UnknownCondition(Exception):
    """The title of the nomination has no condition by that key."""


def override(
    *,
    session: Session,
    nomination: m.Nomination,
    key: str,
    outcome: str,
    note: str,
    person_id: int | None,
    now: dt.datetime,
) -> Precheck:
    """Record the clerk's finding for one condition (met or missing), with why; audited."""
    assert nomination.id is not None  # a stored nomination
    found = precheck(session, nomination)
    if key not in {c.key for c in found.checks}:
        raise UnknownCondition(key)
    if outcome not in ("met", "missing", "unknown"):
        raise ValueError(outcome)
    existing = session.get(m.PrecheckOverride, (nomination.id, key))
    if outcome == "unknown":  # back to what the data say
        if existing is not None:
            session.delete(existing)
    else:
        row = existing or m.PrecheckOverride(
            nomination_id=nomination.id, condition=key, outcome=outcome, note=note, at=now
        )
        row.outcome, row.note, row.person_id, row.at = outcome, note[:NOTE_MAX], person_id, now
        session.add(row)
    session.flush()
    audit(
        session=session,
        action="eligibility.override",
        person_id=person_id,
        subject=nomination.receipt,
        detail={"condition": key, "outcome": outcome, "note": note[:NOTE_MAX]},
    )
    return precheck(session, nomination)


class _Facts:
    """What the store knows about one nominee's year, read as each condition asks."""

    def __init__(
        self,
        session: Session,
        campaign: Campaign,
        year: int,
        nomination: m.Nomination,
        known: Known | None = None,
    ) -> None:
        self.session, self.campaign, self.year = session, campaign, year
        self.nomination = nomination
        self.subject = subject_of(nomination)
        self.known = known
        self._records: dict[tuple[str, int], m.YearRecord] = {}
        self._seen: set[str] = set()
        self._nominated: dict[str, list[m.Nomination]] = {}
        self._members: list[m.Person] | None = None

    def title_name(self, code: str) -> str:
        found: Title | None = self.campaign.titles_by_code.get(code)
        return found.name if found else code

    def record(self, subject: str, year: int) -> m.YearRecord | None:
        return self.records([subject]).get((subject, year))

    def records(self, subjects: list[str]) -> dict[tuple[str, int], m.YearRecord]:
        """Every imported year of `subjects`, read once per subject for this pre-check."""
        if self.known is not None:
            return self.known.records
        wanted = [s for s in subjects if s not in self._seen]
        if wanted:
            found = self.session.exec(
                select(m.YearRecord).where(col(m.YearRecord.subject).in_(wanted))
            )
            for r in found:
                self._records[(r.subject, r.year)] = r
            self._seen.update(wanted)
        return self._records

    def nominations(self, subjects: list[str]) -> list[m.Nomination]:
        """The campaign's live nominations of `subjects` (read once per subject)."""
        if self.known is not None:
            return [n for s in subjects for n in self.known.nominated.get(s, [])]
        wanted = [s for s in subjects if s not in self._nominated]
        if wanted:
            for s in wanted:
                self._nominated[s] = []
            found = self.session.exec(
                select(m.Nomination)
                .where(
                    m.Nomination.campaign_id == self.nomination.campaign_id,
                    col(m.Nomination.nominee_key).in_(wanted),
                    col(m.Nomination.status).in_((*HELD, *PENDING)),
                )
                .order_by(col(m.Nomination.id))
            )
            for n in found:
                self._nominated[n.nominee_key].append(n)
        return [n for s in subjects for n in self._nominated[s]]

    def check(self, c: Condition) -> Check:
        what, outcome, why = {
            "title": self._title,
            "initiative": self._initiative,
            "rating": self._rating,
            "no_discipline": self._discipline,
            "member_share": self._share,
        }[c.kind](c)
        return Check(c.key, c.kind, outcome, what, why, c.basis)

    def _not_listed(self) -> str:
        return _("the nominee is not in the staff list")

    # --- the kinds -------------------------------------------------------------------------

    def _title(self, c: Condition) -> tuple[str, Outcome, str]:
        assert c.title is not None  # the model requires it
        name = self.title_name(c.title)
        if c.years == 1:
            what = _("{title} in {year}").format(title=name, year=self.year)
        else:
            what = _("{title}, {n} years running ({first}–{year})").format(
                title=name, n=c.years, first=self.year - c.years + 1, year=self.year
            )
        if self.subject is None:
            return what, "unknown", self._not_listed()
        outcome, why = self._held_this_year(c.title)
        if outcome != "met" or c.years == 1:
            return what, outcome, why
        for year in range(self.year - 1, self.year - c.years, -1):
            record = self.record(self.subject, year)
            if record is None or record.titles is None:
                return what, "unknown", _("no record of {year} imported").format(year=year)
            if c.title not in record.titles:
                return what, "missing", _("not held in {year}").format(year=year)
        return what, "met", _("held every year")

    def _held_this_year(self, code: str) -> tuple[Outcome, str]:
        assert self.subject is not None
        record = self.record(self.subject, self.year)
        if record is not None and record.titles and code in record.titles:
            return "met", _("conferred (imported record)")
        found = [n for n in self.nominations([self.subject]) if n.title_code == code]
        accepted = [n for n in found if n.status in HELD]
        if accepted:
            return "met", _("accepted ({receipt})").format(receipt=accepted[0].receipt)
        if found:
            return "unknown", _("proposed ({receipt}), not accepted yet").format(
                receipt=found[0].receipt
            )
        return "missing", _("no nomination for it")

    def _initiative(self, c: Condition) -> tuple[str, Outcome, str]:
        what = _("A recognised initiative in {year}").format(year=self.year)
        person = self.nomination.nominee_person_id
        if person is None:
            return what, "unknown", self._not_listed()
        if self.known is not None:
            found_known = self.known.initiatives.get(person)
            if found_known is not None:
                return what, "met", found_known.name[:80]
            if not self.known.any_initiative:
                return what, "unknown", _("the year's initiatives are not imported")
            return what, "missing", _("none in the imported list")
        found = self.session.exec(
            select(m.Initiative).where(
                m.Initiative.year == self.year,
                m.Initiative.person_id == person,
                col(m.Initiative.accepted).is_(True),
            )
        ).first()
        if found is not None:
            return what, "met", found.name[:80]
        imported = self.session.exec(
            select(m.Initiative.id).where(m.Initiative.year == self.year)
        ).first()
        if imported is None:
            return what, "unknown", _("the year's initiatives are not imported")
        return what, "missing", _("none in the imported list")

    def _rating(self, c: Condition) -> tuple[str, Outcome, str]:
        assert c.at_least is not None  # the model requires it
        what = _("Rating {year}: {rating} or better").format(
            year=self.year, rating=rating_label(c.at_least)
        )
        if self.subject is None:
            return what, "unknown", self._not_listed()
        record = self.record(self.subject, self.year)
        if record is None or record.rating is None:
            return what, "unknown", _("no rating imported")
        good = RATINGS.index(record.rating) <= RATINGS.index(c.at_least)
        return what, "met" if good else "missing", rating_label(record.rating)

    def _discipline(self, c: Condition) -> tuple[str, Outcome, str]:
        if self.nomination.nominee_unit_id is not None:
            return self._members_discipline()
        what = _("No discipline in {year}").format(year=self.year)
        if self.subject is None:
            return what, "unknown", self._not_listed()
        record = self.record(self.subject, self.year)
        if record is None or record.disciplined is None:
            return what, "unknown", _("not imported")
        if record.disciplined:
            return what, "missing", _("disciplined")
        return what, "met", _("none")

    def members(self) -> list[m.Person]:
        if self._members is None and self.known is not None:
            self._members = self.known.members.get(self.nomination.nominee_unit_id or 0, [])
        if self._members is None:
            unit = self.nomination.nominee_unit_id
            self._members = list(
                self.session.exec(
                    select(m.Person).where(
                        m.Person.unit_id == unit, col(m.Person.active).is_(True)
                    )
                )
            )
        return self._members

    def _members_discipline(self) -> tuple[str, Outcome, str]:
        what = _("No member disciplined in {year}").format(year=self.year)
        members = self.members()
        subjects = [f"person:{p.id}" for p in members]
        known = self.records(subjects)
        records = [known.get((s, self.year)) for s in subjects]
        if any(r is not None and r.disciplined for r in records):
            n = sum(1 for r in records if r is not None and r.disciplined)
            return what, "missing", _("{n} disciplined").format(n=n)
        unknown = sum(1 for r in records if r is None or r.disciplined is None)
        if unknown or not members:
            return (
                what,
                "unknown",
                _("{n} of {total} not imported").format(n=unknown, total=len(members)),
            )
        return what, "met", _("none")

    def _share(self, c: Condition) -> tuple[str, Outcome, str]:
        assert c.title is not None and c.percent is not None  # the model requires them
        need = format_percent(float(c.percent))
        what = (
            _("More than {percent} of members {title}")
            if c.above
            else _("At least {percent} of members {title}")
        ).format(percent=need, title=self.title_name(c.title))
        if self.nomination.nominee_unit_id is None:
            return what, "unknown", _("the collective is not a unit in the store")
        members = self.members()
        if not members:
            return what, "unknown", _("the unit has no members in the store")
        subjects = [f"person:{p.id}" for p in members]
        known = self.records(subjects)
        counted = {
            n.nominee_key
            for n in self.nominations(subjects)
            if n.title_code == c.title and n.status in COUNTED
        }
        holders = 0
        for subject in subjects:
            record = known.get((subject, self.year))
            held = record is not None and bool(record.titles) and c.title in (record.titles or [])
            holders += held or subject in counted
        share = Decimal(holders * 100) / Decimal(len(members))
        good = share > c.percent if c.above else share >= c.percent
        why = _("{n} of {total} ({percent})").format(
            n=holders, total=len(members), percent=format_percent(float(share))
        )
        return what, "met" if good else "missing", why

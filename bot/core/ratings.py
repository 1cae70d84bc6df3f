"""The year's facts the pre-check reads, imported by the clerk from CSV or XLSX:

- ratings (`thidua ratings import`): a person's or a unit's performance rating (xếp loại),
  whether they were disciplined, and the titles conferred that year (for "N years running");
- initiatives (`thidua initiatives import`): recognised initiatives (sáng kiến) per person.

A row names a person by staff number, or by name and unit; a ratings row with a unit and no
name is the unit's own. Only the columns a file has are written: a file of ratings alone
leaves discipline as it was. A file with any bad row writes nothing (like the roster import).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.campaign import RATINGS, Campaign
from bot.core.i18n import _
from bot.core.people import ImportError_, read_table
from bot.core.store import audit
from bot.core.text import fold, name_key

COLUMNS: dict[str, tuple[str, ...]] = {
    "year": ("year", "nam", "năm"),
    "rating": ("rating", "xep_loai", "xếp loại", "xếp loại đánh giá", "mức xếp loại"),
    "discipline": ("discipline", "ky_luat", "kỷ luật", "hình thức kỷ luật"),
    "titles": ("titles", "danh_hieu", "danh hiệu", "danh hiệu đạt được"),
    "initiative": ("initiative", "sang_kien", "sáng kiến", "tên sáng kiến"),
    "decision": ("decision", "quyet_dinh", "quyết định", "số quyết định"),
    "accepted": ("accepted", "cong_nhan", "công nhận"),
}
#: How a rating may be written (folded) → its code. Matching data, not text shown.
_RATING_WORDS = {
    **{code: code for code in RATINGS},
    "htxsnv": "xuat-sac",
    "hoan thanh xuat sac nhiem vu": "xuat-sac",
    "xuat sac": "xuat-sac",
    "httnv": "tot",
    "hoan thanh tot nhiem vu": "tot",
    "tot": "tot",
    "htnv": "hoan-thanh",
    "hoan thanh nhiem vu": "hoan-thanh",
    "hoan thanh": "hoan-thanh",
    "khtnv": "khong-hoan-thanh",
    "khong hoan thanh nhiem vu": "khong-hoan-thanh",
    "khong hoan thanh": "khong-hoan-thanh",
}
_NO = frozenset(fold(w) for w in ("", "không", "no", "0", "-", "false"))


@dataclass(frozen=True)
class Imported:
    rows: int
    people: int
    units: int

    def to_json(self) -> dict[str, int]:
        return {"rows": self.rows, "people": self.people, "units": self.units}


def parse_rating(text: str) -> str | None:
    return _RATING_WORDS.get(fold(text).replace("-", " ").strip()) or _RATING_WORDS.get(
        fold(text).strip()
    )


class _Who:
    """Finds the row's person (staff number, else name within unit) or unit."""

    def __init__(self, session: Session) -> None:
        self.units = {u.code.casefold(): u for u in session.exec(select(m.Unit))}
        self.people = list(
            session.exec(select(m.Person).where(col(m.Person.forgotten_at).is_(None)))
        )

    def find(self, row: dict[str, str]) -> tuple[str | None, str | None]:
        """(subject, problem)."""
        staff_no, name, unit_code = row.get("staff_no"), row.get("name"), row.get("unit")
        if staff_no:
            hits = [p for p in self.people if (p.staff_no or "").casefold() == staff_no.casefold()]
            if len(hits) == 1:
                return f"person:{hits[0].id}", None
            return None, _("nobody has the staff number “{no}”").format(no=staff_no)
        unit = self.units.get((unit_code or "").casefold())
        if unit_code and unit is None:
            return None, _("unknown unit “{code}”").format(code=unit_code)
        if not name:
            if unit is None:
                return None, _("the row names nobody (staff number, or name and unit)")
            return f"unit:{unit.id}", None
        hits = [
            p
            for p in self.people
            if name_key(p.full_name) == name_key(name) and (unit is None or p.unit_id == unit.id)
        ]
        if len(hits) == 1:
            return f"person:{hits[0].id}", None
        if not hits:
            return None, _("nobody named “{name}” in the unit").format(name=name)
        return None, _("“{name}” names {n} people: give the staff number").format(
            name=name, n=len(hits)
        )


def _year(row: dict[str, str], default: int) -> tuple[int | None, str | None]:
    text = row.get("year", "")
    if not text:
        return default, None
    try:
        year = int(float(text))
    except ValueError:
        return None, _("“{value}” is not a year").format(value=text)
    if not 2000 <= year <= 2100:
        return None, _("“{value}” is not a year").format(value=text)
    return year, None


def import_ratings(
    *, session: Session, path: Path, campaign: Campaign, year: int | None, now: dt.datetime
) -> Imported:
    """Ratings, discipline and titles conferred, per person or unit and year."""
    columns, rows = read_table(path, extra=COLUMNS)
    wanted = {"rating", "discipline", "titles"} & columns
    if not wanted:
        raise ImportError_(
            [_("the file has none of the columns “rating”, “discipline”, “titles”")]
        )
    who = _Who(session)
    problems: list[str] = []
    found: dict[tuple[int, str], dict[str, object]] = {}
    for number, row in rows:
        subject, problem = who.find(row)
        when, bad_year = _year(row, year or campaign.year)
        values: dict[str, object] = {}
        if "rating" in wanted and row.get("rating"):
            rating = parse_rating(row["rating"])
            if rating is None:
                problem = problem or _("“{value}” is not a rating").format(value=row["rating"])
            values["rating"] = rating
        if "discipline" in wanted:
            values["disciplined"] = fold(row.get("discipline", "")) not in _NO
        if "titles" in wanted:
            codes = [c.strip() for c in row.get("titles", "").replace(";", ",").split(",")]
            codes = [c for c in codes if c]
            unknown = [c for c in codes if c not in campaign.titles_by_code]
            if unknown:
                problem = problem or _("unknown title “{code}”").format(code=unknown[0])
            values["titles"] = codes
        problem = problem or bad_year
        if problem or subject is None or when is None:
            problems.append(_("row {n}: {problem}").format(n=number, problem=problem))
            continue
        if (when, subject) in found:
            problems.append(_("row {n}: the same person or unit twice").format(n=number))
            continue
        found[(when, subject)] = values
    if problems:
        raise ImportError_(problems)
    for (when, subject), values in found.items():
        record = session.exec(
            select(m.YearRecord).where(m.YearRecord.year == when, m.YearRecord.subject == subject)
        ).first() or m.YearRecord(year=when, subject=subject, imported_at=now)
        for key, value in values.items():
            setattr(record, key, value)
        record.imported_at = now
        session.add(record)
    session.flush()
    people = sum(1 for _y, s in found if s.startswith("person:"))
    audit(
        session=session,
        action="ratings.import",
        subject=path.name[:64],
        detail={"rows": len(found), "columns": sorted(wanted)},
    )
    return Imported(len(found), people, len(found) - people)


def import_initiatives(*, session: Session, path: Path, year: int, now: dt.datetime) -> Imported:
    """Recognised initiatives, one row each (the same person, year and name: updated)."""
    _columns, rows = read_table(path, required=("initiative",), extra=COLUMNS)
    who = _Who(session)
    problems: list[str] = []
    found: list[tuple[int, int, dict[str, str]]] = []
    for number, row in rows:
        subject, problem = who.find(row)
        when, bad_year = _year(row, year)
        if subject is not None and not subject.startswith("person:"):
            problem = problem or _("an initiative belongs to a person: give the name")
        if not row.get("initiative"):
            problem = problem or _("the initiative has no name")
        problem = problem or bad_year
        if problem or subject is None or when is None:
            problems.append(_("row {n}: {problem}").format(n=number, problem=problem))
            continue
        found.append((when, int(subject.split(":")[1]), row))
    if problems:
        raise ImportError_(problems)
    for when, person_id, row in found:
        name = row["initiative"][:300]
        item = session.exec(
            select(m.Initiative).where(
                m.Initiative.year == when,
                m.Initiative.person_id == person_id,
                m.Initiative.name == name,
            )
        ).first() or m.Initiative(year=when, person_id=person_id, name=name, imported_at=now)
        item.decision = (row.get("decision") or None) and row["decision"][:120]
        item.accepted = fold(row.get("accepted", "có")) not in _NO
        item.imported_at = now
        session.add(item)
    session.flush()
    audit(
        session=session,
        action="initiatives.import",
        subject=path.name[:64],
        detail={"rows": len(found)},
    )
    return Imported(len(found), len({p for _y, p, _r in found}), 0)

"""The staff list (danh sách cán bộ) imported by a stable key, any number of times.

Each row is one person, found again by the roster's stable key: the staff number, else the
phone number, else the name within the unit (and, for someone who moved, the name alone when
it is unique on both sides). A row that finds nobody adds a person; one that finds someone
updates what differs. A file with any bad row writes nothing; a person twice in one file is a
bad row. People not in the file are reported, and deactivated only when asked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.core import models as m
from bot.core.i18n import _
from bot.core.people import NAME_MAX, ImportError_, read_table
from bot.core.roles import ROLES, Role
from bot.core.store import audit
from bot.core.text import name_key

REQUIRED = ("name", "unit")
FIELDS = ("full_name", "unit_id", "role", "phone", "email", "position", "staff_no")
_PHONE = re.compile(r"\+?[0-9 .]{8,15}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STAFF_NO = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]{0,31}")


@dataclass
class Change:
    person: m.Person
    fields: list[str]


@dataclass
class RosterReport:
    added: list[m.Person] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: list[m.Person] = field(default_factory=list)
    missing: list[m.Person] = field(default_factory=list)  # active, not in the file
    deactivated: bool = False  # the missing were deactivated

    def to_json(self, units: dict[int, str]) -> dict[str, Any]:
        def brief(p: m.Person) -> dict[str, object]:
            return {"id": p.id, "name": p.full_name, "unit": units.get(p.unit_id, "")}

        return {
            "added": [brief(p) for p in self.added],
            "changed": [{**brief(c.person), "fields": c.fields} for c in self.changed],
            "unchanged": len(self.unchanged),
            "missing": [brief(p) for p in self.missing],
            "deactivated": self.deactivated,
        }

    def menus_changed(self) -> list[m.Person]:
        """People whose commands may differ now: another role, unit or active state."""
        menu = {"role", "unit_id", "active"}
        gone = self.missing if self.deactivated else []
        return [c.person for c in self.changed if menu & set(c.fields)] + gone


def phone_key(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("84") and len(digits) > 9:
        digits = "0" + digits[2:]
    return digits or None


def _values(row: dict[str, str], unit: m.Unit) -> dict[str, object]:
    return {
        "full_name": row["name"],
        "unit_id": unit.id,
        "role": (row.get("role") or "").casefold() or None,  # blank: left as it is
        "phone": row.get("phone") or None,
        "email": row.get("email") or None,
        "position": row.get("position") or None,
        "staff_no": row.get("staff_no") or None,
    }


def _row_key(values: dict[str, object], unit_code: str) -> str:
    if values["staff_no"]:
        return f"staff:{str(values['staff_no']).casefold()}"
    phone = phone_key(str(values["phone"] or ""))
    if phone:
        return f"phone:{phone}"
    return f"name:{name_key(str(values['full_name']))}@{unit_code}"


def _check(
    rows: list[tuple[int, dict[str, str]]], columns: set[str], units: dict[str, m.Unit]
) -> list[str]:
    problems = [
        _(
            "the file has no column “{column}” (needed: name, unit; optional: role, phone, "
            "email, position, staff number)"
        ).format(column={"name": _("Full name"), "unit": _("Unit")}[c])
        for c in REQUIRED
        if c not in columns
    ]
    if problems:
        return problems
    first_of: dict[str, int] = {}
    for number, row in rows:
        name, code = row.get("name", ""), row.get("unit", "").upper()
        role = (row.get("role") or Role.STAFF).casefold()
        if not name or len(name) > NAME_MAX:
            problems.append(_("row {n}: the name is missing or too long").format(n=number))
        if code not in units:
            problems.append(_("row {n}: unknown unit code “{code}”").format(n=number, code=code))
        if role not in ROLES:
            problems.append(
                _("row {n}: unknown role “{role}” (staff, head, clerk, admin)").format(
                    n=number, role=role
                )
            )
        phone, email, staff_no = row.get("phone", ""), row.get("email", ""), row.get("staff_no")
        if phone and not _PHONE.fullmatch(phone):
            problems.append(
                _("row {n}: “{phone}” is not a phone number").format(n=number, phone=phone)
            )
        if email and (len(email) > 120 or not _EMAIL.fullmatch(email)):
            problems.append(
                _("row {n}: “{email}” is not an email address").format(n=number, email=email)
            )
        if staff_no and not _STAFF_NO.fullmatch(staff_no):
            problems.append(
                _("row {n}: “{value}” is not a staff number").format(n=number, value=staff_no)
            )
        if len(row.get("position", "")) > 120:
            problems.append(_("row {n}: the position is too long").format(n=number))
        if name and code in units:
            key = _row_key(_values(row, units[code]), code)
            if key in first_of:
                problems.append(
                    _("row {n}: the same person as row {first}").format(
                        n=number, first=first_of[key]
                    )
                )
            first_of.setdefault(key, number)
    return problems


class _Finder:
    """The people already stored, by each kind of key, for matching rows to them."""

    def __init__(self, people: list[m.Person], units: dict[int, str]) -> None:
        self.by_staff = {p.staff_no.casefold(): p for p in people if p.staff_no}
        self.by_phone = {k: p for p in people if (k := phone_key(p.phone))}
        self.by_name_unit = {(name_key(p.full_name), p.unit_id): p for p in people}
        names = Counter(name_key(p.full_name) for p in people)
        self.by_unique_name = {
            name_key(p.full_name): p for p in people if names[name_key(p.full_name)] == 1
        }
        self.taken: set[int] = set()

    def find(self, values: dict[str, object], unique_in_file: bool) -> m.Person | None:
        staff_no = str(values["staff_no"] or "").casefold()
        phone = phone_key(str(values["phone"] or ""))
        name = name_key(str(values["full_name"]))
        candidates = [
            self.by_staff.get(staff_no) if staff_no else None,
            self.by_phone.get(phone) if phone else None,
            self.by_name_unit.get((name, values["unit_id"])),  # type: ignore[arg-type]
            self.by_unique_name.get(name) if unique_in_file else None,
        ]
        for found in candidates:
            if found is None or found.id in self.taken:
                continue
            if staff_no and found.staff_no and found.staff_no.casefold() != staff_no:
                continue  # another person's staff number: a namesake, not them
            assert found.id is not None  # stored
            self.taken.add(found.id)
            return found
        return None


def import_roster(
    *, session: Session, path: Path, now: dt.datetime, deactivate_missing: bool = False
) -> RosterReport:
    """Create or update people from the file; raise ImportError_ (writing nothing) on any bad
    row."""
    columns, rows = read_table(path)
    if "unit" not in columns and "code" in columns:  # "Mã đơn vị": in a staff list, the unit
        columns.add("unit")
        rows = [(n, {**r, "unit": r.get("code", "")}) for n, r in rows]
    units = {u.code: u for u in session.exec(select(m.Unit))}
    problems = _check(rows, columns, units) if rows else [_("the file has no rows")]
    if problems:
        raise ImportError_(problems)
    people = list(session.exec(select(m.Person).where(m.Person.forgotten_at == None)))  # noqa: E711
    finder = _Finder(people, {u.id: c for c, u in units.items() if u.id is not None})
    names_in_file = Counter(name_key(r["name"]) for _n, r in rows)
    report = RosterReport()
    for _number, row in rows:
        values = _values(row, units[row["unit"].upper()])
        found = finder.find(values, names_in_file[name_key(row["name"])] == 1)
        if found is None:
            person = m.Person.model_validate(
                {**values, "role": values["role"] or Role.STAFF, "created_at": now}
            )
            session.add(person)
            report.added.append(person)
            continue
        changed = [f for f in FIELDS if getattr(found, f) != values[f] and values[f] is not None]
        if not found.active:
            found.active, found.left_at = True, None
            changed.append("active")
        for f in changed:
            if f != "active":
                setattr(found, f, values[f])
        if changed:
            session.add(found)
            report.changed.append(Change(found, changed))
        else:
            report.unchanged.append(found)
    report.missing = [p for p in people if p.active and p.id not in finder.taken]
    if deactivate_missing:
        for person in report.missing:
            person.active, person.left_at = False, now
            session.add(person)
        report.deactivated = True
    session.flush()
    audit(
        session=session,
        action="people.import",
        subject=path.name,
        detail={
            "rows": len(rows),
            "added": [p.id for p in report.added],
            "changed": {str(c.person.id): c.fields for c in report.changed},
            "missing": [p.id for p in report.missing],
            "deactivated": report.deactivated,
        },
    )
    return report

"""Reads a campaign TOML file and reports every problem as `path:line: what is wrong`.

tomllib gives no positions, so `_key_lines` scans the text once to map each key path (as pydantic
reports it, e.g. ("phases", 1, "deadline")) to the line it stands on.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.core.campaign import Campaign, Phase, Thematic
from bot.core.errors import os_reason
from bot.core.i18n import _, format_day

BUNDLED = "cong-thuong-ha-tinh-2022.toml"

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "message": self.message}


class CampaignError(Exception):
    """A campaign file that cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def bundled_path() -> Path:
    return Path(str(resources.files("bot.core").joinpath("campaigns", BUNDLED)))


def load_campaign(path: Path | str | None = None) -> Campaign:
    """Load and validate a campaign file (the bundled plan when `path` is None)."""
    source = Path(path) if path else bundled_path()
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(
            [
                Problem(
                    str(source),
                    0,
                    _("cannot read the file: {error}").format(error=os_reason(exc)),
                )
            ]
        ) from exc
    return parse_campaign(text, str(source))


def parse_campaign(text: str, name: str) -> Campaign:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else 0
        raise CampaignError([Problem(name, line, _("not valid TOML syntax"))]) from exc
    lines = _key_lines(text)
    try:
        campaign = Campaign.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(name, _line_of(lines, err["loc"]), _describe(err)) for err in exc.errors()
        ]
        raise CampaignError(problems) from exc
    problems = [Problem(name, _line_of(lines, loc), msg) for loc, msg in _check(campaign)]
    if problems:
        raise CampaignError(problems)
    return campaign


def campaign_warnings(path: Path | str | None = None) -> list[Problem]:
    """Things a file may say but that are worth a look, each with its `path:line`: kept as the
    plan has them."""
    source = Path(path) if path else bundled_path()
    text = source.read_text(encoding="utf-8")
    campaign = parse_campaign(text, str(source))
    lines = _key_lines(text)
    return [Problem(str(source), _line_of(lines, loc), msg) for loc, msg in warnings(campaign)]


def warnings(c: Campaign) -> list[tuple[Loc, str]]:
    """The checks that warn (one list, read top to bottom): overlapping or gapped phases,
    occasions outside their phase, before the issue date, or with an ordinal the founding date
    contradicts."""
    found: list[tuple[Loc, str]] = []
    index = {p.number: i for i, p in enumerate(c.phases)}
    ordered = sorted(c.phases, key=lambda p: (p.start, p.number))
    for before, after in itertools.pairwise(ordered):
        loc: Loc = ("phases", index[after.number], "start")
        if after.start <= before.end:
            found.append(
                (
                    loc,
                    _("phase {n} starts on {start}, before phase {m} ends ({end})").format(
                        n=after.number,
                        start=format_day(after.start),
                        m=before.number,
                        end=format_day(before.end),
                    ),
                )
            )
        elif after.start > before.end + dt.timedelta(days=1):
            found.append(
                (
                    loc,
                    _("no phase runs from {first} to {last}").format(
                        first=format_day(before.end + dt.timedelta(days=1)),
                        last=format_day(after.start - dt.timedelta(days=1)),
                    ),
                )
            )
    issued = c.push_from
    for i, p in enumerate(c.phases):
        for j, a in enumerate(p.anniversaries):
            loc = ("phases", i, "anniversaries", j)
            on = c.day_of(a)
            if on is not None and not p.start <= on <= p.end:
                found.append(
                    (
                        loc,
                        _(
                            "anniversary “{name}” ({day}) is listed under phase {phase} "
                            "({start} – {end}) although its date falls outside it"
                        ).format(
                            name=a.name,
                            day=format_day(on),
                            phase=p.number,
                            start=format_day(p.start),
                            end=format_day(p.end),
                        ),
                    )
                )
            if on is not None and on < issued:
                found.append(
                    (
                        loc,
                        _(
                            "“{name}” ({day}) comes before the plan's issue date ({issued}): "
                            "it is not pushed"
                        ).format(name=a.name, day=format_day(on), issued=format_day(issued)),
                    )
                )
            computed = c.computed_ordinal(a)
            if a.ordinal is not None and computed is not None and computed != a.ordinal:
                found.append(
                    (
                        (*loc, "ordinal"),
                        _(
                            "“{name}”: the plan says {stated} years, the founding date gives "
                            "{computed}"
                        ).format(name=a.name, stated=a.ordinal, computed=computed),
                    )
                )
        deadline = p.deadline
        if deadline is not None and deadline < issued:
            found.append(
                (
                    ("phases", i, "deadline"),
                    _(
                        "phase {n}: the deadline ({day}) comes before the plan's issue date "
                        "({issued})"
                    ).format(n=p.number, day=format_day(deadline), issued=format_day(issued)),
                )
            )
    return found


def audience_name(audience: str) -> str:
    return _("individuals") if audience == "individual" else _("collectives")


def _check(c: Campaign) -> list[tuple[Loc, str]]:
    """The rules a schema cannot say: order of dates, references, uniqueness (one list of them,
    read top to bottom, so it stays in one function)."""
    found: list[tuple[Loc, str]] = []
    for i, p in enumerate(c.phases):
        if p.end < p.start:
            found.append(
                (("phases", i, "end"), _("phase {n} ends before it starts").format(n=p.number))
            )
        if p.deadline is not None and p.deadline < p.end:
            found.append(
                (
                    ("phases", i, "deadline"),
                    _("phase {n}: the deadline is before the phase ends").format(n=p.number),
                )
            )
    for i, t in enumerate(c.thematic):
        if t.end < t.start:
            found.append(
                (
                    ("thematic", i, "end"),
                    _("thematic campaign “{code}” ends before it starts").format(code=t.code),
                )
            )
        if t.deadline is not None and t.deadline < t.end:
            found.append(
                (
                    ("thematic", i, "deadline"),
                    _("thematic campaign “{code}”: the deadline is before it ends").format(
                        code=t.code
                    ),
                )
            )
    events = {a.code for _owner, a in c.occasions()}
    for i, p in enumerate(c.phases):
        if p.ends_with is not None and p.ends_with not in events:
            found.append(
                (
                    ("phases", i, "ends_with"),
                    _("phase {n} ends with an unknown event “{code}”").format(
                        n=p.number, code=p.ends_with
                    ),
                )
            )
    phases = {p.number for p in c.phases}
    unit_codes = {u.code for u in c.units}
    found += _duplicates(c.phases, "phases", "number", _("duplicate phase number {value}"))
    seen_events: set[str] = set()
    owners: list[tuple[str, int, Phase | Thematic]] = [
        *(("phases", i, p) for i, p in enumerate(c.phases)),
        *(("thematic", i, t) for i, t in enumerate(c.thematic)),
    ]
    for table, i, owner in owners:
        for j, a in enumerate(owner.anniversaries):
            if a.code in seen_events:
                found.append(
                    (
                        (table, i, "anniversaries", j, "code"),
                        _("duplicate event code “{value}”").format(value=a.code),
                    )
                )
            seen_events.add(a.code)
    found += _duplicates(c.units, "units", "code", _("duplicate unit code “{value}”"))
    found += _duplicates(c.titles, "titles", "code", _("duplicate title code “{value}”"))
    found += _duplicates(c.areas, "areas", "code", _("duplicate content area “{value}”"))
    known = c.titles_by_code
    for i, target in enumerate(c.targets):
        for j, code in enumerate(target.titles):
            if code not in known:
                found.append(
                    (
                        ("targets", i, "titles", j),
                        _("unknown title “{code}” in a target").format(code=code),
                    )
                )
            elif target.for_ not in known[code].for_:
                found.append(
                    (
                        ("targets", i, "titles", j),
                        _("title “{code}” is not for {audience}").format(
                            code=code, audience=audience_name(target.for_)
                        ),
                    )
                )
        if target.count is None and target.percent is None and not target.units:
            found.append((("targets", i), _("a target needs a count, a percent or units")))
        if target.thematic is not None and target.thematic not in {t.code for t in c.thematic}:
            found.append(
                (
                    ("targets", i, "thematic"),
                    _("unknown thematic campaign “{code}” in a target").format(
                        code=target.thematic
                    ),
                )
            )
        if target.phase is not None and target.phase not in phases:
            found.append(
                (
                    ("targets", i, "phase"),
                    _("unknown phase {n} in a target").format(n=target.phase),
                )
            )
        for code in target.units:
            if code not in unit_codes:
                found.append(
                    (
                        ("targets", i, "units", code),
                        _("unknown unit “{code}” in a target").format(code=code),
                    )
                )
    for i, title in enumerate(c.titles):
        for code in title.requires:
            if code not in known:
                found.append(
                    (
                        ("titles", i, "requires"),
                        _("unknown title “{code}” in requires").format(code=code),
                    )
                )
        for j, cond in enumerate(title.conditions):
            if cond.title is not None and cond.title not in known:
                found.append(
                    (
                        ("titles", i, "conditions", j, "title"),
                        _("unknown title “{code}” in a condition").format(code=cond.title),
                    )
                )
            if cond.kind == "member_share" and title.for_ != ["collective"]:
                found.append(
                    (
                        ("titles", i, "conditions", j, "kind"),
                        _("a member_share condition is for a collective title only"),
                    )
                )
    return found


def _duplicates(items: list, table: str, key: str, message: str) -> list[tuple[Loc, str]]:
    seen: set = set()
    found: list[tuple[Loc, str]] = []
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            found.append(((table, i, key), message.format(value=value)))
        seen.add(value)
    return found


def _describe(err: ErrorDetails) -> str:
    """Pydantic's error in the user's language (its own English wording is never shown)."""
    field = ".".join(str(p) for p in err["loc"] if isinstance(p, str)) or "?"
    kind = err["type"]
    if kind == "value_error":
        return _("“{field}”: {error}").format(field=field, error=err.get("ctx", {}).get("error"))
    if kind == "missing":
        return _("missing field “{field}”").format(field=field)
    if kind.startswith("date_") or kind.startswith("time_"):
        return _("“{field}”: {value!r} is not a date").format(field=field, value=err.get("input"))
    if kind == "extra_forbidden":
        return _("unknown field “{field}”").format(field=field)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _("“{field}”: {value!r} is out of range").format(
            field=field, value=err.get("input")
        )
    if kind in ("too_short", "too_long"):
        return _("“{field}”: too few or too many items").format(field=field)
    return _("“{field}”: {value!r} is not a valid value").format(
        field=field, value=err.get("input")
    )


def _line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of the longest known prefix of `loc` (a missing key: its table's header)."""
    loc = tuple("for" if part == "for_" else part for part in loc)
    for size in range(len(loc), 0, -1):
        if loc[:size] in lines:
            return lines[loc[:size]]
    return 1


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\s\"]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def _key_lines(text: str) -> dict[Loc, int]:
    """Map key paths to line numbers for the subset of TOML campaign files use."""
    lines: dict[Loc, int] = {}
    counts: dict[tuple, int] = {}
    table: Loc = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = [n.strip().strip('"') for n in header.group(2).split(".")]
            path: list[str | int] = []
            for k, name in enumerate(names):
                path.append(name)
                is_last = k == len(names) - 1
                if is_last and header.group(1) == "[[":
                    array = tuple(path)
                    counts[array] = counts.get(array, -1) + 1
                    path.append(counts[array])
                elif not is_last and tuple(path) in counts:
                    path.append(counts[tuple(path)])
            table = tuple(path)
            lines.setdefault(table, number)
            if header.group(1) == "[[":
                lines.setdefault(table[:-1], number)
            continue
        key = _KEY.match(line)
        if key:
            name = key.group(1).strip('"')
            lines[(*table, name)] = number
            # Array items on their own lines: ("targets", 0, "titles", 2) falls back to the key.
    return lines

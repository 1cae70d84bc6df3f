"""Reads a campaign TOML file and reports every problem as `path:line: what is wrong`.

tomllib gives no positions, so `_key_lines` scans the text once to map each key path (as pydantic
reports it, e.g. ("phases", 1, "deadline")) to the line it stands on.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.core.campaign import Campaign
from bot.core.errors import os_reason, validation_message
from bot.core.i18n import _

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


def warnings(campaign: Campaign) -> list[str]:
    """Things that are allowed but worth a look (kept as the plan has them)."""
    return [
        _(
            "anniversary “{name}” ({day}) is listed under phase {phase} "
            "({start} – {end}) although its date falls outside it"
        ).format(
            name=a.name,
            day=a.on(campaign.year).strftime("%d/%m/%Y"),
            phase=p.number,
            start=p.start.strftime("%d/%m/%Y"),
            end=p.end.strftime("%d/%m/%Y"),
        )
        for p, a in campaign.misplaced_anniversaries()
    ]


def _check(c: Campaign) -> list[tuple[Loc, str]]:
    """The rules a schema cannot say: order of dates, references, uniqueness (one list of them,
    read top to bottom, so it stays in one function)."""
    found: list[tuple[Loc, str]] = []
    for i, p in enumerate(c.phases):
        if p.end < p.start:
            found.append(
                (("phases", i, "end"), _("phase {n} ends before it starts").format(n=p.number))
            )
        if p.deadline < p.end:
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
        if t.deadline < t.end:
            found.append(
                (
                    ("thematic", i, "deadline"),
                    _("thematic campaign “{code}”: the deadline is before it ends").format(
                        code=t.code
                    ),
                )
            )
    found += _duplicates(c.phases, "phases", "number", _("duplicate phase number {value}"))
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
                            code=code, audience=target.for_
                        ),
                    )
                )
        if (target.count is None) == (target.percent is None):
            found.append((("targets", i), _("a target needs either count or percent")))
    for i, title in enumerate(c.titles):
        for code in title.requires:
            if code not in known:
                found.append(
                    (
                        ("titles", i, "requires"),
                        _("unknown title “{code}” in requires").format(code=code),
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
    field = ".".join(str(p) for p in err["loc"] if isinstance(p, str)) or "?"
    kind = err["type"]
    if kind == "missing":
        return _("missing field “{field}”").format(field=field)
    if kind.startswith("date_") or kind.startswith("time_"):
        return _("“{field}”: {value!r} is not a date").format(field=field, value=err.get("input"))
    if kind == "extra_forbidden":
        return _("unknown field “{field}”").format(field=field)
    return _("“{field}”: {error}").format(field=field, error=validation_message(err))


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

"""The campaign file's model: one office's plan for one year, as data.

Everything the bot says about the plan comes from here. Anniversary ordinals are computed
(`Anniversary.ordinal`), never stored, so `for_year` can re-date the same file for another year.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from importlib import resources
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from bot.core import lunar
from bot.core.i18n import _

Audience = Literal["individual", "collective"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Signer(_Model):
    position: str = Field(description="The signer's position, e.g. GIÁM ĐỐC")
    name: str = Field(description="The signer's full name")


class Plan(_Model):
    """The plan document's own particulars (issuer, number, date, legal basis...)."""

    parent_body: str = ""
    issuing_body: str
    number: str = ""
    symbol: str = ""
    place: str = ""
    issued: str = Field(description="YYYY-MM or YYYY-MM-DD: plans often leave the day blank")
    document_type: str = "KẾ HOẠCH"
    title: str = Field("", description="The plan's title; default: the campaign's theme")
    legal_basis: list[str] = []
    purposes: list[str] = []
    requirements: list[str] = []
    recipients: list[str] = []
    signer: Signer | None = None

    @field_validator("issued")
    @classmethod
    def _issued_is_a_date(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
            raise ValueError("not a date")
        _issued_day(value)
        return value

    @property
    def issued_text(self) -> str:
        """The issue date as the plan gives it: 03/2022 when the day is blank."""
        day = self.issued_on
        return day.strftime("%d/%m/%Y") if len(self.issued) == 10 else day.strftime("%m/%Y")

    @property
    def issued_on(self) -> dt.date:
        """The issue date; the first of the month when the plan leaves the day blank."""
        return _issued_day(self.issued)


def _issued_day(value: str) -> dt.date:
    parts = [int(p) for p in value.split("-")]
    return dt.date(parts[0], parts[1], parts[2] if len(parts) == 3 else 1)


class Area(_Model):
    """A content area (nội dung thi đua) a report is filed under."""

    code: str
    name: str
    details: list[str] = []


_DAY_MONTH = re.compile(r"^(\d{1,2})/(\d{1,2})$")


def _day_month(value: str | None) -> tuple[int, int] | None:
    match = _DAY_MONTH.match(value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class Anniversary(_Model):
    """An occasion named in a phase: an anniversary, a holiday or a one-off event.

    Its day is given one way at most: `founded` (a full founding date; the ordinal is computed),
    `day` ("30/04": day and month, no ordinal), `lunar` ("10/03": a lunar day and month) or
    `date` (one day). With none of them it is undated: listed, never pushed, until
    `thidua event set` gives it a date.
    """

    code: str
    name: str
    founded: dt.date | None = Field(None, description="Full founding date; ordinal computed")
    day: str | None = Field(None, description="DD/MM, every year, no ordinal")
    lunar: str | None = Field(None, description="DD/MM of the lunar calendar")
    date: dt.date | None = Field(None, description="A one-off event's date")
    ordinal: int | None = Field(None, ge=1, description="The ordinal the plan states (90 năm)")
    note: str = ""

    @field_validator("day", "lunar")
    @classmethod
    def _is_day_month(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = _day_month(value)
        if parts is None or not 1 <= parts[1] <= 12:
            raise ValueError(_("not a day and month (DD/MM)"))
        dt.date(2024, parts[1], min(parts[0], 29) if parts[1] == 2 else parts[0])
        return value

    @model_validator(mode="after")
    def _one_way(self) -> Anniversary:
        given = [f for f in ("founded", "day", "lunar", "date") if getattr(self, f) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give only one of founded, day, lunar, date (got {', '.join(given)})"
            )
        return self

    @property
    def dated(self) -> bool:
        return any(v is not None for v in (self.founded, self.day, self.lunar, self.date))


DeadlineRule = dt.date | str | None
_OFFSET = re.compile(r"^P(\d{1,3})D$")


class Phase(_Model):
    number: int
    name: str
    start: dt.date
    end: dt.date = Field(description="Last day; filled from `ends_with` when that event is dated")
    ends_with: str | None = Field(None, description="Code of the event the phase ends at")
    end_pending: bool = Field(
        False, description="Set by the bot: the phase ends at an event not dated yet"
    )
    deadline_rule: DeadlineRule = Field(
        None,
        alias="deadline",
        description='Summing-up deadline: a date, "P15D" (15 days after the end), or absent',
    )
    goal: str = ""
    theme: str = ""
    summing_up: str = ""
    anniversaries: list[Anniversary] = []

    @field_validator("deadline_rule", mode="before")
    @classmethod
    def _deadline_rule(cls, value: object) -> object:
        if isinstance(value, str):
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return dt.date.fromisoformat(value)
            if not _OFFSET.match(value):
                raise ValueError(_("not a date or an offset such as “P15D”"))
        return value

    @property
    def deadline(self) -> dt.date | None:
        """The summing-up deadline as a day, or None when the plan sets none."""
        rule = self.deadline_rule
        if isinstance(rule, str):
            if self.end_pending:
                return None  # "15 days after the Đại hội": not known until the Đại hội is
            match = _OFFSET.match(rule)
            assert match is not None  # the validator saw to it
            return self.end + dt.timedelta(days=int(match.group(1)))
        return rule

    @property
    def last_report_day(self) -> dt.date:
        return self.deadline or self.end

    def open_for_reports(self, day: dt.date) -> bool:
        """A phase takes reports from its start to the end of its summing-up deadline (its
        end when it has none)."""
        return self.start <= day <= self.last_report_day


class Thematic(_Model):
    """A short thematic campaign (đợt thi đua chuyên đề)."""

    code: str
    name: str
    start: dt.date
    end: dt.date
    deadline: dt.date | None = Field(None, description="Summing-up deadline, if the plan sets one")
    theme: str = ""
    anniversaries: list[Anniversary] = []

    def open_for_reports(self, day: dt.date) -> bool:
        return self.start <= day <= (self.deadline or self.end)


#: Performance ratings (xếp loại), best first: a `rating` condition names the lowest accepted.
RATINGS = ("xuat-sac", "tot", "hoan-thanh", "khong-hoan-thanh")


class Condition(_Model):
    """One condition a title's legal basis sets (see docs/campaign-file.md, "Eligibility").

    kind "title": the nominee also holds `title` this year, or `years` years running;
    "initiative": a recognised initiative (sáng kiến) this year; "rating": rated `at_least`;
    "no_discipline": not disciplined this year; "member_share": at least `percent` of the
    unit's members hold `title` (a collective title)."""

    kind: Literal["title", "initiative", "rating", "no_discipline", "member_share"]
    title: str | None = Field(None, description="The other title (kind title, member_share)")
    years: int = Field(1, ge=1, le=10, description="Years running, this one included")
    at_least: Literal["xuat-sac", "tot", "hoan-thanh"] | None = Field(
        None, description="The lowest rating accepted (kind rating)"
    )
    percent: Decimal | None = Field(None, gt=0, le=100, description="kind member_share")
    above: bool = Field(False, description="member_share: more than `percent` (trên 50%)")
    basis: str = Field("", description="Where the law sets it, e.g. Điều 26 Luật TĐKT 2022")

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        needs = {
            "title": ("title",),
            "rating": ("at_least",),
            "member_share": ("title", "percent"),
        }
        lacking = [f for f in needs.get(self.kind, ()) if getattr(self, f) is None]
        if lacking:
            raise ValueError(
                _("a {kind} condition needs {fields}").format(
                    kind=self.kind, fields=", ".join(lacking)
                )
            )
        return self

    @property
    def key(self) -> str:
        """Names the condition within its title (overrides are stored by it)."""
        if self.kind == "title":
            return f"title:{self.title}:{self.years}"
        if self.kind == "member_share":
            return f"member_share:{self.title}"
        return self.kind

    @field_serializer("percent")
    def _percent_number(self, value: Decimal | None) -> int | float | None:
        if value is None:
            return None
        return int(value) if value == value.to_integral_value() else float(value)


class Title(_Model):
    """A title (danh hiệu), award form (hình thức khen thưởng) or rating (xếp loại)."""

    code: str
    name: str
    kind: Literal["title", "award", "rating"]
    for_: list[Audience] = Field(alias="for", min_length=1)
    level: str
    requires: list[str] = Field([], description="Shorthand: a title condition for each")
    needs_initiative: bool = Field(False, description="Shorthand: an initiative condition")
    conditions: list[Condition] = Field([], description="The eligibility conditions")
    basis: str = Field("", description="The title's legal basis, e.g. Điều 26 Luật TĐKT 2022")
    vote_threshold: str = Field(
        "> 1/2",
        description='Share of the council\'s votes a candidate needs: "> 1/2" (more than half), '
        '">= 2/3" (two thirds or more), ">= 70%"',
    )

    @field_validator("vote_threshold")
    @classmethod
    def _share_rule(cls, value: str) -> str:
        ShareRule.parse(value)
        return value

    @property
    def registrable(self) -> bool:
        """Titles (danh hiệu thi đua) are registered at the start of the year; award forms
        and ratings are not."""
        return self.kind == "title"

    @property
    def all_conditions(self) -> list[Condition]:
        """`conditions` with the shorthands (`requires`, `needs_initiative`) added."""
        found = list(self.conditions)
        named = {(c.kind, c.title) for c in found}
        found += [
            Condition(kind="title", title=code)
            for code in self.requires
            if ("title", code) not in named
        ]
        if self.needs_initiative and not any(c.kind == "initiative" for c in found):
            found.append(Condition(kind="initiative"))
        return found


class RegistrationWindow(_Model):
    """When people and units register the titles they aim for (đăng ký thi đua)."""

    opens: dt.date
    closes: dt.date = Field(description="Last day registrations are taken or changed")
    required: Literal["warn", "refuse"] = Field(
        "warn", description="A nomination for a title its nominee did not register"
    )
    reminder_lead_days: list[int] = Field(
        [7, 3, 1], description="Days before `closes` that heads of unregistered units are told"
    )

    @model_validator(mode="after")
    def _in_order(self) -> RegistrationWindow:
        if self.closes < self.opens:
            raise ValueError(_("closes is before opens"))
        return self

    def open_on(self, day: dt.date) -> bool:
        return self.opens <= day <= self.closes


class ShareRule(_Model):
    """A share and whether reaching it is enough: "> 1/2" (more than half), ">= 2/3"."""

    at_least: bool
    numerator: int
    denominator: int

    @classmethod
    def parse(cls, text: str) -> ShareRule:
        match = _SHARE.match(text)
        if match is None:
            raise ValueError(_('not a share rule: write "> 1/2", ">= 2/3" or ">= 70%"'))
        if match["percent"]:
            numerator, denominator = int(match["percent"]), 100
        else:
            numerator, denominator = int(match["num"]), int(match["den"])
        if denominator == 0 or not 0 < numerator <= denominator:
            raise ValueError(_("a share rule's share must be more than 0 and at most 1"))
        return cls(at_least=match["op"] == ">=", numerator=numerator, denominator=denominator)

    def met(self, count: int, of: int) -> bool:
        """Whether `count` out of `of` reaches the share (exactly, in whole numbers)."""
        if of <= 0:
            return False
        if self.at_least:
            return count * self.denominator >= self.numerator * of
        return count * self.denominator > self.numerator * of


_SHARE = re.compile(
    r"^\s*(?P<op>>=|>)\s*(?:(?P<num>\d{1,3})\s*/\s*(?P<den>\d{1,3})|(?P<percent>\d{1,3})\s*%)\s*$"
)


class CouncilRules(_Model):
    """How the council (Hội đồng Thi đua – Khen thưởng) decides: its quorum, and what a
    title's vote threshold is a share of."""

    quorum: str = Field(
        ">= 2/3", description="Share of the council's members who must vote for a result"
    )
    base: Literal["present", "members"] = Field(
        "present",
        description="Thresholds count on the members who voted (present) or on all members",
    )

    @field_validator("quorum")
    @classmethod
    def _share_rule(cls, value: str) -> str:
        ShareRule.parse(value)
        return value


class Target(_Model):
    """A target line (chỉ tiêu): a count, a percentage, or both, for the year or one phase,
    for the whole office or allocated per unit."""

    for_: Audience = Field(alias="for")
    text: str
    titles: list[str] = []
    count: int | None = Field(default=None, ge=1)
    count_max: int | None = Field(default=None, ge=1)
    percent: Decimal | None = Field(
        default=None, gt=0, le=100, description='A percentage as written: 100, 99.82 or "99,82 %"'
    )
    phase: int | None = Field(None, description="The phase (đợt) the target is for; default all")
    thematic: str | None = Field(None, description="Code of the thematic campaign it is for")
    units: dict[str, int] = Field({}, description="Each unit's own count, by unit code")

    @field_validator("percent", mode="before")
    @classmethod
    def _percent_as_written(cls, value: object) -> object:
        """99,82 % and 99.82 are the same number; a float keeps the digits it was written with."""
        if isinstance(value, str):
            cleaned = value.replace("%", "").strip().replace(",", ".")
            try:
                return Decimal(cleaned)
            except InvalidOperation as exc:
                raise ValueError(_("not a percentage")) from exc
        if isinstance(value, float):
            return Decimal(repr(value))
        return value

    @field_serializer("percent")
    def _percent_number(self, value: Decimal | None) -> int | float | None:
        """A number in JSON: 100 stays 100, 99.82 stays 99.82."""
        if value is None:
            return None
        return int(value) if value == value.to_integral_value() else float(value)


class UnitDef(_Model):
    code: str = Field(min_length=1, max_length=16)
    name: str
    office: bool = False


class Duties(_Model):
    units: list[str] = []
    office: list[str] = []


class PushSettings(_Model):
    office_hour: dt.time = dt.time(8, 0)
    launch: dt.date | None = None
    reminder_lead_days: list[int] = [14, 7, 3, 1, 0]
    anniversary_lead_days: list[int] = [7]
    personal_lead_days: list[int] = Field(
        [7, 1],
        description="Deadline reminders that also go to people who filed nothing in the phase",
    )
    days_off: list[dt.date] = Field(
        [], description="Extra days without pushes, besides weekends and public holidays"
    )

    @field_validator("reminder_lead_days", "anniversary_lead_days", "personal_lead_days")
    @classmethod
    def _non_negative(cls, days: list[int]) -> list[int]:
        if any(d < 0 for d in days):
            raise ValueError("lead days must be 0 or more")
        return sorted(set(days), reverse=True)


class Campaign(_Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    year: int = Field(
        ge=2000, le=2100, description="The campaign's year (a school year: its first)"
    )
    start: dt.date | None = Field(None, description="First day; default 1 January of `year`")
    end: dt.date | None = Field(None, description="Last day; default 31 December of `year`")
    theme: str
    plan: Plan
    areas: list[Area] = Field([], description="Content areas; default one general area")
    phases: list[Phase] = Field(min_length=1)
    thematic: list[Thematic] = []
    titles: list[Title] = Field([], description="Titles and awards; default the standard ones")
    targets: list[Target] = []
    units: list[UnitDef] = []
    duties: Duties = Duties()
    push: PushSettings = PushSettings()
    registration: RegistrationWindow | None = Field(
        None, description="The registration window (đăng ký thi đua); none: no registration"
    )
    council: CouncilRules = CouncilRules()

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, raw: object) -> object:
        """Fill what a plan may leave out from what it says (see docs/campaign-file.md)."""
        if not isinstance(raw, dict):
            return raw
        raw = dict(raw)
        plan = raw.get("plan")
        if isinstance(plan, dict) and not plan.get("title") and isinstance(raw.get("theme"), str):
            raw["plan"] = {**plan, "title": raw["theme"]}
        if not raw.get("areas"):
            raw["areas"] = [{"code": GENERAL_AREA, "name": _("General tasks")}]
        if not raw.get("titles"):
            raw["titles"] = standard_titles()
        raw["phases"] = _phase_ends(raw)
        return raw

    @cached_property
    def first_day(self) -> dt.date:
        return self.start or dt.date(self.year, 1, 1)

    @cached_property
    def last_day(self) -> dt.date:
        return self.end or dt.date(self.year, 12, 31)

    @cached_property
    def push_from(self) -> dt.date:
        """Nothing dated before this day is pushed: the issue date, or the launch when later."""
        issued = self.plan.issued_on
        return max(issued, self.push.launch) if self.push.launch else issued

    @cached_property
    def titles_by_code(self) -> dict[str, Title]:
        return {t.code: t for t in self.titles}

    @cached_property
    def area_names(self) -> dict[str, str]:
        """Every report area by code: the content areas and the thematic campaigns."""
        names = {a.code: a.name for a in self.areas}
        names.update({t.code: t.name for t in self.thematic})
        return names

    def area_name(self, code: str) -> str:
        return self.area_names.get(code, code)

    def open_phases(self, day: dt.date) -> list[Phase]:
        """The phases that take reports on `day`."""
        return [p for p in self.phases if p.open_for_reports(day)]

    def phase(self, number: int) -> Phase:
        for phase in self.phases:
            if phase.number == number:
                return phase
        raise KeyError(number)

    def anniversaries(self) -> list[tuple[Phase, Anniversary]]:
        return [(p, a) for p in self.phases for a in p.anniversaries]

    def event(self, code: str) -> Anniversary | None:
        return next((a for _owner, a in self.occasions() if a.code == code), None)

    def occasions(self) -> list[tuple[Phase | Thematic, Anniversary]]:
        """Every occasion with what it is listed under: a phase or a thematic campaign."""
        found: list[tuple[Phase | Thematic, Anniversary]] = list(self.anniversaries())
        found += [(t, a) for t in self.thematic for a in t.anniversaries]
        return found

    def day_of(self, a: Anniversary) -> dt.date | None:
        """The occasion's day inside the campaign's span (None: not dated yet)."""
        if a.date is not None:
            return a.date
        if a.lunar is not None:
            day, month = _day_month(a.lunar) or (1, 1)
            found = [
                d
                for year in range(self.first_day.year - 1, self.last_day.year + 1)
                if (d := lunar.to_solar(day, month, year)) is not None
            ]
            inside = [d for d in found if self.first_day <= d <= self.last_day]
            return inside[0] if inside else lunar.to_solar(day, month, self.year)
        if a.founded is not None:
            day, month = a.founded.day, a.founded.month
        elif a.day is not None:
            day, month = _day_month(a.day) or (1, 1)
        else:
            return None
        for year in range(self.first_day.year, self.last_day.year + 1):
            candidate = _day_in(day, month, year)
            if self.first_day <= candidate <= self.last_day:
                return candidate
        return _day_in(day, month, self.year)

    def ordinal_of(self, a: Anniversary) -> int | None:
        """The ordinal to print: the plan's own when it states one, else computed from the
        founding date; None when neither is known."""
        if a.ordinal is not None:
            return a.ordinal
        return self.computed_ordinal(a)

    def computed_ordinal(self, a: Anniversary) -> int | None:
        on = self.day_of(a)
        if a.founded is None or on is None:
            return None
        return on.year - a.founded.year

    def misplaced_anniversaries(self) -> list[tuple[Phase, Anniversary]]:
        """Anniversaries the plan lists under a phase whose window does not hold their date."""
        return [
            (p, a)
            for p, a in self.anniversaries()
            if (on := self.day_of(a)) is not None and not p.start <= on <= p.end
        ]

    def with_event_dates(self, dates: dict[str, dt.date]) -> Campaign:
        """The campaign with dates given later (`thidua event set`) filled into its events."""
        if not dates:
            return self
        raw = self.model_dump(mode="json", by_alias=True)
        for owner in [*raw["phases"], *raw["thematic"]]:
            for a in owner["anniversaries"]:
                if a["code"] in dates:
                    for key in ("founded", "day", "lunar"):
                        a[key] = None
                    a["date"] = dates[a["code"]].isoformat()
            if owner.get("ends_with") in dates:
                owner["end"] = None
        return Campaign.model_validate(raw)

    def for_year(self, year: int) -> Campaign:
        """The same plan re-dated by whole years: every date moves, ordinals follow."""
        if year == self.year:
            return self
        shift = year - self.year

        def move(day: dt.date) -> dt.date:
            return _same_day_in(day, day.year + shift)

        def maybe(day: dt.date | None) -> dt.date | None:
            return move(day) if day else None

        def occasion(a: Anniversary) -> Anniversary:
            ordinal = a.ordinal + shift if a.ordinal is not None else None
            return a.model_copy(update={"date": maybe(a.date), "ordinal": ordinal})

        phases = [
            p.model_copy(
                update={
                    "start": move(p.start),
                    "end": move(p.end),
                    "deadline_rule": (
                        move(p.deadline_rule)
                        if isinstance(p.deadline_rule, dt.date)
                        else p.deadline_rule
                    ),
                    "anniversaries": [occasion(a) for a in p.anniversaries],
                }
            )
            for p in self.phases
        ]
        thematic = [
            t.model_copy(
                update={
                    "start": move(t.start),
                    "end": move(t.end),
                    "deadline": maybe(t.deadline),
                    "anniversaries": [occasion(a) for a in t.anniversaries],
                }
            )
            for t in self.thematic
        ]
        push = self.push.model_copy(
            update={
                "launch": maybe(self.push.launch),
                "days_off": [move(d) for d in self.push.days_off],
            }
        )
        registration = self.registration and self.registration.model_copy(
            update={
                "opens": move(self.registration.opens),
                "closes": move(self.registration.closes),
            }
        )
        issued = self.plan.issued
        plan = self.plan.model_copy(update={"issued": f"{int(issued[:4]) + shift}{issued[4:]}"})
        return self.model_copy(
            update={
                "year": year,
                "start": maybe(self.start),
                "end": maybe(self.end),
                "plan": plan,
                "phases": phases,
                "thematic": thematic,
                "push": push,
                "registration": registration,
            }
        )


GENERAL_AREA = "chung"


@cache
def _standard_titles_text() -> str:
    return (
        resources.files("bot.core")
        .joinpath("campaigns", "standard-titles.toml")
        .read_text(encoding="utf-8")
    )


def standard_titles() -> list[dict[str, object]]:
    """The titles and awards most plans use (Luật Thi đua, khen thưởng), for a file without
    its own catalog: bot/core/campaigns/standard-titles.toml."""
    return list(tomllib.loads(_standard_titles_text())["titles"])


def _phase_ends(raw: dict) -> object:
    """A phase that ends at an event (`ends_with`) ends on that event's date when it has one;
    until then at the `end` the file gives, or else at the end of the campaign (`end_pending`:
    a deadline counted from the end is not known yet)."""
    phases = raw.get("phases")
    if not isinstance(phases, list):
        return phases
    dates = {
        a.get("code"): a.get("date")
        for p in phases
        if isinstance(p, dict)
        for a in p.get("anniversaries", [])
        if isinstance(a, dict) and a.get("date")
    }
    year = raw.get("year")
    last = raw.get("end") or (f"{year}-12-31" if isinstance(year, int) else None)
    filled = []
    for p in phases:
        if isinstance(p, dict) and p.get("ends_with"):
            day = dates.get(p["ends_with"])
            if day:
                p = {**p, "end": day, "end_pending": False}
            elif p.get("end_pending") or not p.get("end"):
                p = {**p, "end": last, "end_pending": True}
        filled.append(p)
    return filled


def _day_in(day: int, month: int, year: int) -> dt.date:
    """Day/month in `year`; 29/02 becomes 28/02 in a common year."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, 28)


def _same_day_in(day: dt.date, year: int) -> dt.date:
    """The same day and month in another year; 29/02 becomes 28/02 in a common year."""
    return _day_in(day.day, day.month, year)

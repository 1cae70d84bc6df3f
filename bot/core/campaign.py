"""The campaign file's model: one office's plan for one year, as data.

Everything the bot says about the plan comes from here. Anniversary ordinals are computed
(`Anniversary.ordinal`), never stored, so `for_year` can re-date the same file for another year.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Audience = Literal["individual", "collective"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Signer(_Model):
    position: str
    name: str


class Plan(_Model):
    """The plan document's own particulars (issuer, number, date, legal basis...)."""

    parent_body: str = ""
    issuing_body: str
    number: str = ""
    symbol: str = ""
    place: str
    issued: str = Field(description="YYYY-MM or YYYY-MM-DD: plans often leave the day blank")
    document_type: str = "KẾ HOẠCH"
    title: str
    legal_basis: list[str] = []
    purposes: list[str] = []
    requirements: list[str] = []
    recipients: list[str] = []
    signer: Signer

    @field_validator("issued")
    @classmethod
    def _issued_is_a_date(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
            raise ValueError("not a date")
        parts = [int(p) for p in value.split("-")]
        dt.date(parts[0], parts[1], parts[2] if len(parts) == 3 else 1)
        return value


class Area(_Model):
    """A content area (nội dung thi đua) a report is filed under."""

    code: str
    name: str
    details: list[str] = []


class Anniversary(_Model):
    code: str
    name: str
    founded: dt.date
    note: str = ""

    def ordinal(self, year: int) -> int:
        """The ordinal year of the anniversary in `year` (2022 - 1930 = 92)."""
        return year - self.founded.year

    def on(self, year: int) -> dt.date:
        return _same_day_in(self.founded, year)


class Phase(_Model):
    number: int
    name: str
    start: dt.date
    end: dt.date
    deadline: dt.date
    goal: str = ""
    summing_up: str = ""
    anniversaries: list[Anniversary] = []

    def open_for_reports(self, day: dt.date) -> bool:
        """A phase takes reports from its start to the end of its summing-up deadline."""
        return self.start <= day <= self.deadline


class Thematic(_Model):
    """A short thematic campaign (đợt thi đua chuyên đề)."""

    code: str
    name: str
    start: dt.date
    end: dt.date
    deadline: dt.date

    def open_for_reports(self, day: dt.date) -> bool:
        return self.start <= day <= self.deadline


class Title(_Model):
    """A title (danh hiệu), award form (hình thức khen thưởng) or rating (xếp loại)."""

    code: str
    name: str
    kind: Literal["title", "award", "rating"]
    for_: list[Audience] = Field(alias="for", min_length=1)
    level: str
    requires: list[str] = []
    needs_initiative: bool = False


class Target(_Model):
    for_: Audience = Field(alias="for")
    text: str
    titles: list[str] = Field(min_length=1)
    count: int | None = Field(default=None, ge=1)
    count_max: int | None = Field(default=None, ge=1)
    percent: int | None = Field(default=None, ge=1, le=100)


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

    @field_validator("reminder_lead_days", "anniversary_lead_days")
    @classmethod
    def _non_negative(cls, days: list[int]) -> list[int]:
        if any(d < 0 for d in days):
            raise ValueError("lead days must be 0 or more")
        return sorted(set(days), reverse=True)


class Campaign(_Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    year: int = Field(ge=2000, le=2100)
    theme: str
    plan: Plan
    areas: list[Area] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    thematic: list[Thematic] = []
    titles: list[Title] = Field(min_length=1)
    targets: list[Target] = []
    units: list[UnitDef] = []
    duties: Duties = Duties()
    push: PushSettings = PushSettings()

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

    def misplaced_anniversaries(self) -> list[tuple[Phase, Anniversary]]:
        """Anniversaries the plan lists under a phase whose window does not hold their date."""
        return [(p, a) for p, a in self.anniversaries() if not p.start <= a.on(self.year) <= p.end]

    def for_year(self, year: int) -> Campaign:
        """The same plan re-dated for another year: every date moves, ordinals follow."""
        if year == self.year:
            return self
        shift = year - self.year

        def move(day: dt.date) -> dt.date:
            return _same_day_in(day, day.year + shift)

        phases = [
            p.model_copy(
                update={"start": move(p.start), "end": move(p.end), "deadline": move(p.deadline)}
            )
            for p in self.phases
        ]
        thematic = [
            t.model_copy(
                update={"start": move(t.start), "end": move(t.end), "deadline": move(t.deadline)}
            )
            for t in self.thematic
        ]
        launch = move(self.push.launch) if self.push.launch else None
        push = self.push.model_copy(update={"launch": launch})
        return self.model_copy(
            update={"year": year, "phases": phases, "thematic": thematic, "push": push}
        )


def _same_day_in(day: dt.date, year: int) -> dt.date:
    """The same day and month in another year; 29/02 becomes 28/02 in a common year."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)

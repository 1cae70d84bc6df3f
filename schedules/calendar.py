"""The campaign calendar: every dated event of a campaign year, computed, never stored.

Pure date arithmetic over a `Campaign`: no database, no network, no clock. The scheduler turns
these events into pushes; `thidua calendar` prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from bot.core.i18n import format_day, render

KINDS = (
    "launch",
    "phase_start",
    "anniversary_reminder",
    "anniversary",
    "thematic_start",
    "deadline_reminder",
    "deadline",
    "thematic_deadline",
)


@dataclass(frozen=True)
class Event:
    """One dated happening of the campaign. `date` is the fact; `at` is when to push it."""

    campaign: str
    kind: str
    ref: str
    date: dt.date
    at: dt.datetime
    name: str
    text: str
    phase: int | None = None
    ordinal: int | None = None
    days_before: int | None = None

    @property
    def event_id(self) -> str:
        """Readable and unique within a campaign year: `deadline_reminder.phase-1.T-7`."""
        suffix = f".T-{self.days_before}" if self.days_before else ""
        return f"{self.kind}.{self.ref}{suffix}"

    @property
    def key(self) -> str:
        return f"push:{self.campaign}:{self.event_id}:{self.date.isoformat()}"

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "at": self.at.isoformat(),
            "date": self.date.isoformat(),
            "kind": self.kind,
            "phase": self.phase,
            "ordinal": self.ordinal,
            "days_before": self.days_before,
            "name": self.name,
            "text": self.text,
        }


def push_time(day: dt.date, office_hour: dt.time) -> dt.datetime:
    """Office hour on `day`, moved to the Friday before when `day` is a Saturday or Sunday."""
    if day.weekday() >= 5:
        day -= dt.timedelta(days=day.weekday() - 4)
    return dt.datetime.combine(day, office_hour, tzinfo=LOCAL)


def anniversary_name(name: str, ordinal: int) -> str:
    return render("anniversary_name.txt.j2", name=name, ordinal=ordinal)


def events(campaign: Campaign, year: int | None = None) -> list[Event]:
    """Every event of `campaign` re-dated to `year` (default: the campaign's own), sorted."""
    c = campaign.for_year(year or campaign.year)
    hour = c.push.office_hour
    found: list[Event] = []

    def add(
        kind: str,
        ref: str,
        day: dt.date,
        at_day: dt.date,
        name: str,
        *,
        phase: int | None = None,
        ordinal: int | None = None,
        days_before: int | None = None,
        founded: dt.date | None = None,
    ) -> None:
        facts = {"phase": phase, "ordinal": ordinal, "days_before": days_before}
        text = render(f"events/{kind}.txt.j2", c=c, day=day, name=name, founded=founded, **facts)
        found.append(Event(c.code, kind, ref, day, push_time(at_day, hour), name, text, **facts))

    if c.push.launch:
        add("launch", "campaign", c.push.launch, c.push.launch, c.theme)
    for phase in c.phases:
        ref = f"phase-{phase.number}"
        add("phase_start", ref, phase.start, phase.start, phase.name, phase=phase.number)
        for lead in c.push.reminder_lead_days:
            if lead > 0:
                day = phase.deadline - dt.timedelta(days=lead)
                add(
                    "deadline_reminder",
                    ref,
                    phase.deadline,
                    day,
                    phase.name,
                    phase=phase.number,
                    days_before=lead,
                )
        add(
            "deadline",
            ref,
            phase.deadline,
            phase.deadline,
            phase.name,
            phase=phase.number,
            days_before=0,
        )
        for anniversary in phase.anniversaries:
            on = anniversary.on(c.year)
            ordinal = anniversary.ordinal(c.year)
            name = anniversary_name(anniversary.name, ordinal)
            for lead in c.push.anniversary_lead_days:
                if lead > 0:
                    before = on - dt.timedelta(days=lead)
                    add(
                        "anniversary_reminder",
                        anniversary.code,
                        on,
                        before,
                        name,
                        phase=phase.number,
                        ordinal=ordinal,
                        days_before=lead,
                        founded=anniversary.founded,
                    )
            add(
                "anniversary",
                anniversary.code,
                on,
                on,
                name,
                phase=phase.number,
                ordinal=ordinal,
                founded=anniversary.founded,
            )
    for thematic in c.thematic:
        add("thematic_start", thematic.code, thematic.start, thematic.start, thematic.name)
        add(
            "thematic_deadline",
            thematic.code,
            thematic.deadline,
            thematic.deadline,
            thematic.name,
            days_before=0,
        )
    found.sort(key=lambda e: (e.at, KINDS.index(e.kind), e.ref))
    return found


__all__ = ["KINDS", "Event", "anniversary_name", "events", "format_day", "push_time"]

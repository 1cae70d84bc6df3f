"""The campaign calendar: every dated event of a campaign year, computed, never stored.

Pure date arithmetic over a `Campaign`: no database, no network, no clock. The scheduler turns
these events into pushes; `thidua calendar` prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.core.campaign import Anniversary, Campaign, Phase
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


@dataclass
class _Found:
    """The events of one re-dated campaign, as `events` adds them."""

    c: Campaign
    events: list[Event] = field(default_factory=list)

    def add(
        self,
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
        """An event about `day`, pushed on `at_day` at the campaign's office hour."""
        c = self.c
        facts = {"phase": phase, "ordinal": ordinal, "days_before": days_before}
        text = render(f"events/{kind}.txt.j2", c=c, day=day, name=name, founded=founded, **facts)
        at = push_time(at_day, c.push.office_hour)
        self.events.append(Event(c.code, kind, ref, day, at, name, text, **facts))


def events(campaign: Campaign, year: int | None = None) -> list[Event]:
    """Every event of `campaign` re-dated to `year` (default: the campaign's own), sorted."""
    c = campaign.for_year(year or campaign.year)
    found = _Found(c)
    if c.push.launch:
        found.add("launch", "campaign", c.push.launch, c.push.launch, c.theme)
    for phase in c.phases:
        _phase_events(found, phase)
        for anniversary in phase.anniversaries:
            _anniversary_events(found, phase, anniversary)
    for t in c.thematic:
        found.add("thematic_start", t.code, t.start, t.start, t.name)
        found.add("thematic_deadline", t.code, t.deadline, t.deadline, t.name, days_before=0)
    found.events.sort(key=lambda e: (e.at, KINDS.index(e.kind), e.ref))
    return found.events


def _phase_events(found: _Found, phase: Phase) -> None:
    """A phase's start, the reminders before its deadline, and the deadline."""
    ref, n = f"phase-{phase.number}", phase.number
    found.add("phase_start", ref, phase.start, phase.start, phase.name, phase=n)
    for lead in found.c.push.reminder_lead_days:
        if lead > 0:
            day = phase.deadline - dt.timedelta(days=lead)
            found.add(
                "deadline_reminder",
                ref,
                phase.deadline,
                day,
                phase.name,
                phase=n,
                days_before=lead,
            )
    found.add("deadline", ref, phase.deadline, phase.deadline, phase.name, phase=n, days_before=0)


def _anniversary_events(found: _Found, phase: Phase, anniversary: Anniversary) -> None:
    """An anniversary's reminders before the day, and the day itself, with its ordinal year."""
    c = found.c
    on, ordinal = anniversary.on(c.year), anniversary.ordinal(c.year)
    name = anniversary_name(anniversary.name, ordinal)
    code, n, founded = anniversary.code, phase.number, anniversary.founded
    for lead in c.push.anniversary_lead_days:
        if lead > 0:
            before = on - dt.timedelta(days=lead)
            found.add(
                "anniversary_reminder",
                code,
                on,
                before,
                name,
                phase=n,
                ordinal=ordinal,
                days_before=lead,
                founded=founded,
            )
    found.add("anniversary", code, on, on, name, phase=n, ordinal=ordinal, founded=founded)


__all__ = ["KINDS", "Event", "anniversary_name", "events", "format_day", "push_time"]

"""The campaign calendar: every dated event of a campaign year, computed, never stored.

Pure date arithmetic over a `Campaign`: no database, no network, no clock. The scheduler turns
these events into pushes; `thidua calendar` prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

import holidays

from bot.core.campaign import Anniversary, Campaign, Phase
from bot.core.clock import LOCAL
from bot.core.i18n import format_day, render

KINDS = (
    "launch",
    "registration_open",
    "registration_reminder",
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
    """One dated happening of the campaign. `date` is the fact; `at` is when to push it.

    `before_issue`: the push would go out before the plan was issued (or launched), so it is
    listed for the clerk but never pushed."""

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
    before_issue: bool = False

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
            "ref": self.ref,
            "phase": self.phase,
            "ordinal": self.ordinal,
            "days_before": self.days_before,
            "days_ahead": (self.date - self.at.date()).days,
            "before_issue": self.before_issue,
            "name": self.name,
            "text": self.text,
        }


@dataclass(frozen=True)
class Undated:
    """An event the plan names without a date yet: listed, never pushed."""

    campaign: str
    ref: str
    name: str
    phase: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "key": None,
            "at": None,
            "date": None,
            "kind": "undated",
            "ref": self.ref,
            "phase": self.phase,
            "ordinal": None,
            "days_before": None,
            "days_ahead": None,
            "before_issue": False,
            "name": self.name,
            "text": "",
        }


@cache
def _public_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("VN", years=[year]))


def is_day_off(day: dt.date, extra: frozenset[dt.date] | tuple[dt.date, ...] = ()) -> bool:
    """A Saturday, a Sunday, a Vietnamese public holiday (with its observed days) or a day the
    campaign file lists as off."""
    return day.weekday() >= 5 or day in _public_holidays(day.year) or day in extra


def work_day_on_or_before(day: dt.date, extra: tuple[dt.date, ...] = ()) -> dt.date:
    while is_day_off(day, extra):
        day -= dt.timedelta(days=1)
    return day


def work_day_on_or_after(day: dt.date, extra: tuple[dt.date, ...] = ()) -> dt.date:
    while is_day_off(day, extra):
        day += dt.timedelta(days=1)
    return day


def push_time(
    day: dt.date, office_hour: dt.time, days_off: tuple[dt.date, ...] = ()
) -> dt.datetime:
    """Office hour on `day`, moved to the work day before when `day` is a weekend day, a
    public holiday or one of the campaign's days off."""
    return dt.datetime.combine(work_day_on_or_before(day, days_off), office_hour, tzinfo=LOCAL)


def anniversary_name(name: str, ordinal: int | None) -> str:
    if ordinal is None:
        return name
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
        earlier: list[Event] | None = None,
    ) -> None:
        """An event about `day`, pushed on `at_day` (or the work day before) at office hour."""
        c = self.c
        days_off = tuple(c.push.days_off)
        sent = work_day_on_or_before(at_day, days_off)
        if kind == "launch" and sent < c.push_from:
            sent = work_day_on_or_after(at_day, days_off)
        facts = {"phase": phase, "ordinal": ordinal, "days_before": days_before}
        text = render(
            f"events/{kind}.txt.j2",
            c=c,
            day=day,
            sent=sent,
            ahead=(day - sent).days,
            name=name,
            founded=founded,
            earlier=earlier or [],
            **facts,
        )
        at = dt.datetime.combine(sent, c.push.office_hour, tzinfo=LOCAL)
        before = sent < c.push_from and kind != "launch"  # the launch is how a plan starts
        self.events.append(
            Event(c.code, kind, ref, day, at, name, text, **facts, before_issue=before)
        )


def events(campaign: Campaign, year: int | None = None) -> list[Event]:
    """Every dated event of `campaign` re-dated to `year` (default: the campaign's own), sorted;
    those before the plan's issue date are marked `before_issue`."""
    c = campaign.for_year(year or campaign.year)
    found = _Found(c)
    for phase in c.phases:
        _phase_events(found, phase)
        for anniversary in phase.anniversaries:
            _anniversary_events(found, phase.number, anniversary)
    for t in c.thematic:
        found.add("thematic_start", t.code, t.start, t.start, t.name)
        if t.deadline is not None:
            found.add("thematic_deadline", t.code, t.deadline, t.deadline, t.name, days_before=0)
        for anniversary in t.anniversaries:
            _anniversary_events(found, None, anniversary)
    if c.registration is not None:
        _registration_events(found)
    if c.push.launch:
        launch = c.push.launch
        # What already happened in the phase the launch falls in, named in the launch text.
        current = {p.number for p in c.phases if p.start <= launch <= p.end}
        earlier = sorted(
            (
                e
                for e in found.events
                if e.kind == "anniversary" and e.phase in current and e.date < launch
            ),
            key=lambda e: e.date,
        )
        found.add("launch", "campaign", launch, launch, c.theme, earlier=earlier)
    found.events.sort(key=lambda e: (e.at, KINDS.index(e.kind), e.ref))
    return found.events


def undated(campaign: Campaign) -> list[Undated]:
    """The events the plan names without a date yet."""
    return [
        Undated(campaign.code, a.code, a.name, owner.number if isinstance(owner, Phase) else None)
        for owner, a in campaign.occasions()
        if campaign.day_of(a) is None
    ]


def _phase_events(found: _Found, phase: Phase) -> None:
    """A phase's start, the reminders before its deadline, and the deadline (if it has one)."""
    ref, n = f"phase-{phase.number}", phase.number
    found.add("phase_start", ref, phase.start, phase.start, phase.name, phase=n)
    deadline = phase.deadline
    if deadline is None:
        return
    for lead in found.c.push.reminder_lead_days:
        if lead > 0:
            day = deadline - dt.timedelta(days=lead)
            found.add(
                "deadline_reminder",
                ref,
                deadline,
                day,
                phase.name,
                phase=n,
                days_before=lead,
            )
    found.add("deadline", ref, deadline, deadline, phase.name, phase=n, days_before=0)


def _registration_events(found: _Found) -> None:
    """The registration window's opening, and reminders before it closes."""
    window = found.c.registration
    assert window is not None
    found.add("registration_open", "registration", window.opens, window.opens, "")
    for lead in window.reminder_lead_days:
        day = window.closes - dt.timedelta(days=lead)
        if lead > 0 and day >= window.opens:
            found.add(
                "registration_reminder",
                "registration",
                window.closes,
                day,
                "",
                days_before=lead,
            )


def _anniversary_events(found: _Found, phase: int | None, anniversary: Anniversary) -> None:
    """An anniversary's reminders before the day, and the day itself, with its ordinal year."""
    c = found.c
    on = c.day_of(anniversary)
    if on is None:
        return
    ordinal = c.ordinal_of(anniversary)
    name = anniversary_name(anniversary.name, ordinal)
    code, n, founded = anniversary.code, phase, anniversary.founded
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


__all__ = [
    "KINDS",
    "Event",
    "Undated",
    "anniversary_name",
    "events",
    "format_day",
    "is_day_off",
    "push_time",
    "undated",
    "work_day_on_or_after",
    "work_day_on_or_before",
]

"""What is pushed when: the calendar's events as pushes, the clerk's digest, the launch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from bot.core.settings import Settings
from schedules.calendar import Event, events, work_day_on_or_after

#: Channels a push can go to (a runner sends them); console identities are never pushed.
PUSH_CHANNELS = ("telegram", "zalo")
#: Kinds whose unit heads of units without a phase report get a nudge naming what is missing.
DEADLINE_KINDS = frozenset({"deadline_reminder", "deadline"})
#: Kinds that come before the day they announce.
REMINDER_KINDS = frozenset({"deadline_reminder", "anniversary_reminder", "registration_reminder"})
#: Kinds that announce a day: never sent after that day has ended, however late the bot is.
DATED_KINDS = frozenset(
    {
        "deadline_reminder",
        "deadline",
        "anniversary_reminder",
        "anniversary",
        "thematic_deadline",
        "registration_open",
        "registration_reminder",
    }
)


@dataclass(frozen=True)
class Push:
    """Something to push at `at`: a calendar event, or one derived from it (the digest)."""

    key: str
    kind: str
    at: dt.datetime
    date: dt.date  # the day it announces
    campaign: Campaign = field(repr=False, compare=False)
    event: Event | None = field(default=None, compare=False)
    phase: int | None = None

    @property
    def event_id(self) -> str:
        return self.key.split(":")[2]


def configured_channels(settings: Settings) -> tuple[str, ...]:
    """The push channels with a token set: the ones `thidua run` starts a runner for."""
    tokens = {"telegram": settings.telegram_bot_token, "zalo": settings.zalo_bot_token}
    return tuple(c for c in PUSH_CHANNELS if tokens[c] is not None)


def pushes(campaign: Campaign) -> list[Push]:
    """Every calendar event of the campaign as a push, plus a clerk's digest per phase deadline.

    Events dated before the plan's issue date are not pushed. A reminder that goes out at the
    same time as a later reminder or the day's own push for the same deadline or anniversary (a
    weekend or a holiday moved them together) is left out: people would get the same news twice.
    """
    found: list[Push] = []
    calendar = [e for e in events(campaign) if not e.before_issue]
    # The push with the fewest days to go wins each (ref, day, time) slot.
    closest: dict[tuple[str, dt.date, dt.datetime], int] = {}
    for e in calendar:
        slot = (e.ref, e.date, e.at)
        closest[slot] = min(closest.get(slot, 10**6), e.days_before or 0)
    for e in calendar:
        if e.kind in REMINDER_KINDS and (e.days_before or 0) > closest[(e.ref, e.date, e.at)]:
            continue
        found.append(Push(e.key, e.kind, e.at, e.date, campaign, e, e.phase))
        if e.kind == "deadline":
            key = f"push:{e.campaign}:digest.{e.ref}:{e.date.isoformat()}"
            found.append(Push(key, "digest", e.at, e.date, campaign, e, e.phase))
            # The work day after the deadline: the late list to the office, a last nudge.
            after = work_day_on_or_after(
                e.date + dt.timedelta(days=1), tuple(campaign.push.days_off)
            )
            at = dt.datetime.combine(after, campaign.push.office_hour, tzinfo=LOCAL)
            key = f"push:{e.campaign}:escalation.{e.ref}:{e.date.isoformat()}"
            found.append(Push(key, "escalation", at, e.date, campaign, e, e.phase))
    return found


def launch_push(campaign: Campaign, today: dt.date) -> Push:
    """The launch push: the calendar's launch event, or one dated today if the file has none."""
    if campaign.push.launch is None:
        campaign = campaign.model_copy(
            update={"push": campaign.push.model_copy(update={"launch": today})}
        )
    found = next(p for p in pushes(campaign) if p.kind == "launch")
    return found


def expires_at(push: Push, grace: dt.timedelta) -> dt.datetime:
    """The last moment a missed push still goes out: `grace` after it was due, and for a push
    that announces a day (a deadline, an anniversary) never after the end of that day."""
    latest = push.at + grace
    if push.kind in DATED_KINDS or push.kind == "digest":
        end_of_day = dt.datetime.combine(push.date + dt.timedelta(days=1), dt.time(), LOCAL)
        latest = min(latest, end_of_day)
    return latest

"""What each person reads: a push's text in their own language, rendered once per language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from sqlmodel import Session

from bot.core.campaign import Campaign, Phase
from bot.core.clock import LOCAL
from bot.core.i18n import language, render
from bot.core.personnel import Unreachable, spent_channels, unreachable
from bot.core.roles import OFFICE_ROLES, Role
from bot.core.unit_status import (
    UnitRef,
    UnitStatus,
    expected_units,
    head_contacts,
    owing,
    people_who_filed,
    unit_statuses,
)
from schedules.calendar import events
from schedules.outbox.plan import DEADLINE_KINDS, Push
from schedules.outbox.recipients import Recipient, recipients
from schedules.outbox.registration import registration_nudges

CALLS_MAX = 30  # people named in the digest's call list (the count is always exact)


def days_left(phase: Phase, today: dt.date) -> int:
    """Days to the phase's deadline (to its end when it has none)."""
    return (phase.last_report_day - today).days


def nudge_text(*, phase: Phase, unit: UnitRef, today: dt.date, everyone: str | None = None) -> str:
    """What the head of a unit without its phase report reads (in the current language)."""
    return render(
        "push/unit_nudge.txt.j2",
        phase=phase,
        unit=unit,
        left=days_left(phase, today),
        everyone=everyone,
    )


def digest_text(
    *,
    phase: Phase,
    status: list[UnitStatus],
    today: dt.date,
    calls: Sequence[Unreachable] = (),
) -> str:
    """The clerk's deadline-day digest: units sent and not, and whom to call (`calls`)."""
    return render(
        "push/digest.txt.j2",
        phase=phase,
        filed=[s for s in expected_units(status) if s.filed],
        missing=owing(status),
        left=days_left(phase, today),
        calls=calls[:CALLS_MAX],
        more_calls=max(0, len(calls) - CALLS_MAX),
        today=today,
    )


def broadcast_text(*, campaign: Campaign, text: str) -> str:
    return render("push/broadcast.txt.j2", office=campaign.plan.issuing_body, text=text)


class _Texts:
    """Renders each distinct text once per language (10,000 recipients, a handful of texts)."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str] = {}
        self._events: dict[tuple[int, str], dict[str, str]] = {}

    def get(self, lang: str, key: tuple, make: Callable[[], str]) -> str:
        if (lang, *key) not in self._cache:
            with language(lang):
                self._cache[(lang, *key)] = make()
        return self._cache[(lang, *key)]

    def event(self, push: Push, lang: str) -> str:
        """The calendar's own text of the event (bot/templates/events/), in `lang`."""
        assert push.event is not None
        cache = (id(push.campaign), lang)
        if cache not in self._events:
            with language(lang):
                self._events[cache] = {e.key: e.text for e in events(push.campaign)}
        return self._events[cache][push.event.key]


def messages_for(
    push: Push, *, session: Session, campaign_id: int, channels: Iterable[str], now: dt.datetime
) -> list[tuple[Recipient, str]]:
    """Who gets `push` and what each reads, in their own language."""
    texts = _Texts()
    today = now.astimezone(LOCAL).date()
    if push.kind == "digest":
        assert push.phase is not None
        phase = push.campaign.phase(push.phase)
        status = unit_statuses(session=session, campaign_id=campaign_id, phase=push.phase)
        spent = spent_channels(session=session, now=now)
        calls = unreachable(session=session, now=now, spent=spent)

        def digest() -> str:
            return digest_text(phase=phase, status=status, today=today, calls=calls)

        return [
            (r, texts.get(r.lang, ("digest",), digest))
            for r in recipients(
                session=session, channels=channels, roles=OFFICE_ROLES, present_on=today
            )
        ]
    if push.kind == "escalation":
        return _escalation(push, session=session, campaign_id=campaign_id, channels=channels)
    if push.kind == "registration_reminder":
        heads = recipients(
            session=session, channels=channels, roles=(Role.HEAD,), present_on=today
        )
        return registration_nudges(
            push, session=session, campaign_id=campaign_id, heads=heads, today=today
        )
    everyone = recipients(session=session, channels=channels, present_on=today)
    if push.kind not in DEADLINE_KINDS:
        return [(r, texts.event(push, r.lang)) for r in everyone]
    assert push.phase is not None and push.event is not None
    phase = push.campaign.phase(push.phase)
    missing = {
        s.unit.id: s.unit
        for s in owing(unit_statuses(session=session, campaign_id=campaign_id, phase=push.phase))
    }
    # Heads of units that still owe the phase report get a nudge; anyone else only on the
    # personal lead days, and only if they filed nothing in the phase.
    personal = (push.event.days_before or 0) in push.campaign.push.personal_lead_days
    filed = people_who_filed(session=session, campaign_id=campaign_id, phase=push.phase)
    found = []
    for r in everyone:
        unit = missing.get(r.unit_id) if r.role == Role.HEAD else None
        if unit is not None:
            text = texts.get(
                r.lang,
                ("nudge", unit.id),
                partial(
                    nudge_text,
                    phase=phase,
                    unit=unit,
                    today=today,
                    everyone=texts.event(push, r.lang),
                ),
            )
            found.append((r, text))
        elif personal and r.person_id not in filed:
            found.append((r, texts.event(push, r.lang)))
    return found


def _escalation(
    push: Push, *, session: Session, campaign_id: int, channels: Iterable[str]
) -> list[tuple[Recipient, str]]:
    """The day after a deadline: the office gets the late units with their heads' names and
    phones; each late unit's head one last nudge. Nothing when every unit has filed."""
    assert push.phase is not None
    phase = push.campaign.phase(push.phase)
    late = [
        s
        for s in unit_statuses(session=session, campaign_id=campaign_id, phase=push.phase)
        if s.expected and not s.filed
    ]
    if not late:
        return []
    contacts = head_contacts(session=session, unit_ids={s.unit.id for s in late})
    texts = _Texts()

    def office_text() -> str:
        return render(
            "push/escalation.txt.j2",
            phase=phase,
            deadline=push.date,
            late=[(s.unit, contacts.get(s.unit.id, [])) for s in late],
        )

    def head_text() -> str:
        return render("push/last_nudge.txt.j2", phase=phase, deadline=push.date)

    found = [
        (r, texts.get(r.lang, ("escalation",), office_text))
        for r in recipients(session=session, channels=channels, roles=OFFICE_ROLES)
    ]
    found += [
        (r, texts.get(r.lang, ("last_nudge",), head_text))
        for r in recipients(session=session, channels=channels, unit_ids={s.unit.id for s in late})
        if r.role == Role.HEAD
    ]
    return found

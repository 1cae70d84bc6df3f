"""`/remind` (`/dondoc`): nudge now the heads of the units that have not sent their phase report.

The clerk sees who will get what, confirms, and the nudges go through the outbox under a push
key of their own (`push:<campaign>:remind.<id>:<date>`), so a second Confirm adds nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session

from bot.core.campaign import Campaign, Phase
from bot.core.i18n import _, language, render
from bot.core.roles import Role
from bot.core.settings import get_settings
from bot.core.store import audit
from bot.core.unit_status import UnitStatus, owing, unit_statuses
from handlers.context import Ctx
from handlers.engine import Answers, Flow, Step
from handlers.questions import only_open_phase, phase_choices
from handlers.types import Reply
from schedules import outbox


def describe() -> str:
    return _("nudge the units that have not reported")


@dataclass
class Plan:
    phase: Phase
    missing: list[UnitStatus]
    reached: list[tuple[UnitStatus, list[outbox.Recipient]]]
    messages: list[tuple[outbox.Recipient, str]]

    @property
    def unreached(self) -> list[UnitStatus]:
        touched = {s.unit.id for s, _heads in self.reached}
        return [s for s in self.missing if s.unit.id not in touched]


def plan(ctx: Ctx, number: int) -> Plan:
    """The units without a phase report, their reachable heads, and each head's message."""
    assert ctx.campaign_row.id is not None  # a stored row
    return plan_nudges(
        session=ctx.session,
        campaign_id=ctx.campaign_row.id,
        campaign=ctx.campaign,
        number=number,
        today=ctx.today,
    )


def plan_nudges(
    *,
    session: Session,
    campaign_id: int,
    campaign: Campaign,
    number: int,
    today: dt.date,
    unit_id: int | None = None,
) -> Plan:
    """`plan`, for every unit or (`unit_id`) one: the web desk's "remind this unit now"."""
    phase = campaign.phase(number)
    status = unit_statuses(session=session, campaign_id=campaign_id, phase=number)
    missing = [s for s in owing(status) if unit_id is None or s.unit.id == unit_id]
    heads = outbox.recipients(
        session=session,
        channels=outbox.configured_channels(get_settings()),
        unit_ids=[s.unit.id for s in missing],
        roles=[Role.HEAD],
        present_on=today,  # a head away (/vang) is not nudged
    )
    by_unit: dict[int, list[outbox.Recipient]] = defaultdict(list)
    for head in heads:
        by_unit[head.unit_id].append(head)
    reached = [(s, by_unit[s.unit.id]) for s in missing if by_unit.get(s.unit.id)]
    messages = []
    for s, unit_heads in reached:
        for head in unit_heads:
            with language(head.lang):
                text = outbox.nudge_text(phase=phase, unit=s.unit, today=today)
            messages.append((head, text))
    return Plan(phase, missing, reached, messages)


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if not ctx.open_phases():
        return [Reply(_("No phase is open for reports now, so there is nobody to remind."))]
    if not outbox.configured_channels(get_settings()):
        return [Reply(_("Reminders go out on Telegram or Zalo, and neither is set up here."))]
    return {"ref": secrets.token_hex(4)}


def _summary(ctx: Ctx, answers: Answers) -> str | None:
    found = plan(ctx, int(str(answers["phase"])))
    if not found.missing:
        return None  # nothing to confirm: the finish says so
    sample = outbox.nudge_text(phase=found.phase, unit=found.missing[0].unit, today=ctx.today)
    return render(
        "push/remind_preview.txt.j2",
        phase=found.phase,
        reached=[
            {"unit": s.unit.name, "names": ", ".join(dict.fromkeys(h.name for h in heads))}
            for s, heads in found.reached
        ],
        unreached=[s.unit.name for s in found.unreached],
        messages=len(found.messages),
        sample=sample,
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    found = plan(ctx, int(str(answers["phase"])))
    if not found.missing:
        return [
            Reply(
                _(
                    "Every unit has sent its phase report for the {phase}: nobody to remind."
                ).format(phase=found.phase.name)
            )
        ]
    if not found.messages:
        return [Reply(_("None of these units has a unit head the bot can reach; nothing sent."))]
    assert ctx.person is not None and ctx.campaign_row.id is not None  # registered; stored
    added = queue_nudges(
        session=ctx.session,
        campaign_id=ctx.campaign_row.id,
        campaign=ctx.campaign,
        found=found,
        ref=str(answers["ref"]),
        person_id=ctx.person.id,
        now=ctx.now,
    )
    return [
        Reply(
            _(
                "Queued {n} messages to the heads of {units} units; they go out within a minute."
            ).format(n=added, units=len(found.reached))
        )
    ]


def queue_nudges(
    *,
    session: Session,
    campaign_id: int,
    campaign: Campaign,
    found: Plan,
    ref: str,
    person_id: int | None,
    now: dt.datetime,
) -> int:
    """Queue the plan's messages under a push key of their own, in the audit log; how many
    were added (a second call with the same `ref` adds none)."""
    key, added = outbox.queue_custom(
        session=session,
        campaign_id=campaign_id,
        campaign_code=campaign.code,
        kind="remind",
        ref=ref,
        messages=found.messages,
        now=now,
    )
    audit(
        session=session,
        action="push.remind",
        person_id=person_id,
        subject=key[:64],
        detail={"phase": found.phase.number, "units": len(found.reached), "messages": added},
    )
    return added


FLOW = Flow(
    name="remind",
    begin=_begin,
    steps=(
        Step(
            "phase",
            "choice",
            lambda ctx, a: _("Which phase?"),
            choices=phase_choices,
            auto=only_open_phase,
        ),
    ),
    summary=_summary,
    finish=_finish,
    editable=False,
)

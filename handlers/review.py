"""`/review` (`/duyet`): the office accepts or returns a report or a nomination.

`/review` lists what waits (reports submitted, nominations proposed or endorsed), oldest
first; `/review BC-2022-0001` goes straight to one item. Returning asks for a reason, which is
queued in the outbox for the person (`review:<receipt>:<n>`) on a channel that reaches them;
both actions are in the audit log.
"""

from __future__ import annotations

from typing import TypeVar, cast

from sqlmodel import col, func, select

from bot.core import models as m
from bot.core.clock import LOCAL
from bot.core.i18n import _, format_day, language, render
from bot.core.store import audit
from bot.core.summary import REVIEW_NOMINATIONS, status_labels
from bot.core.unit_status import REVIEW_REPORTS
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.types import Reply
from schedules.outbox import queue_message

ACCEPT, RETURN, CLOSE = "accept", "return", "close"
LIST_MAX = 15
REASON_MAX = 500
NOTIFY_CHANNELS = ("telegram", "zalo")  # the channels the delivery worker sends on
PRIORITY = 5  # before calendar pushes: the person is waiting to fix their item

Item = TypeVar("Item", m.Report, m.Nomination)


def _find(ctx: Ctx, receipt: str) -> m.Report | m.Nomination | None:
    receipt = receipt.strip().upper()
    if receipt.startswith("DN-"):
        return _by_receipt(ctx, m.Nomination, receipt)
    return _by_receipt(ctx, m.Report, receipt)


def _by_receipt(ctx: Ctx, model: type[Item], receipt: str) -> Item | None:
    return ctx.session.exec(
        select(model).where(model.campaign_id == ctx.campaign_row.id, model.receipt == receipt)
    ).first()


def _reviewable(row: m.Report | m.Nomination) -> bool:
    if isinstance(row, m.Report):
        return row.status in REVIEW_REPORTS
    return row.status in REVIEW_NOMINATIONS


def _token(row: m.Report | m.Nomination) -> str:
    return f"{'r' if isinstance(row, m.Report) else 'n'}{row.id}"


def _waiting(ctx: Ctx) -> list[m.Report | m.Nomination]:
    cid = ctx.campaign_row.id
    reports = ctx.session.exec(
        select(m.Report)
        .where(m.Report.campaign_id == cid, col(m.Report.status).in_(REVIEW_REPORTS))
        .order_by(col(m.Report.id))
        .limit(LIST_MAX)
    )
    nominations = ctx.session.exec(
        select(m.Nomination)
        .where(
            m.Nomination.campaign_id == cid,
            col(m.Nomination.status).in_(REVIEW_NOMINATIONS),
        )
        .order_by(col(m.Nomination.id))
        .limit(LIST_MAX)
    )
    return [*reports, *nominations]


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if args.strip():
        row = _find(ctx, args.split()[0])
        if row is None:
            return [
                Reply(
                    _("There is no report or nomination {receipt}.").format(
                        receipt=args.split()[0]
                    )
                )
            ]
        if not _reviewable(row):
            return [
                Reply(
                    _("{receipt} is {status}: there is nothing to review.").format(
                        receipt=row.receipt, status=status_labels().get(row.status, row.status)
                    )
                )
            ]
        return {"item": _token(row)}
    if not _waiting(ctx):
        return [Reply(_("Nothing waits for the office's review."))]
    return {}


def _items(ctx: Ctx, answers: Answers) -> Choices:
    labels = status_labels()
    found = []
    for row in _waiting(ctx):
        what = row.title if isinstance(row, m.Report) else row.nominee_name
        found.append((_token(row), f"{row.receipt} · {what[:40]} · {labels[row.status]}"))
    return found


def _item(ctx: Ctx, answers: Answers) -> m.Report | m.Nomination:
    token = str(answers["item"])
    row: m.Report | m.Nomination | None
    if token[0] == "r":
        row = ctx.session.get(m.Report, int(token[1:]))
    else:
        row = ctx.session.get(m.Nomination, int(token[1:]))
    if row is None or row.campaign_id != ctx.campaign_row.id:
        raise Invalid(_("That item no longer exists."))
    return row


def _owner(ctx: Ctx, row: m.Report | m.Nomination) -> m.Person:
    owner = ctx.session.get(
        m.Person, row.person_id if isinstance(row, m.Report) else row.proposer_id
    )
    assert owner is not None  # people are never deleted
    return owner


def _show(ctx: Ctx, answers: Answers) -> str:
    row = _item(ctx, answers)
    owner = _owner(ctx, row)
    unit = ctx.session.get(m.Unit, row.unit_id)
    assert unit is not None  # units are never deleted
    if isinstance(row, m.Report):
        kind = _("unit phase report") if row.scope == "unit" else _("personal")
        phase, area = ctx.campaign.phase(row.phase).name, ctx.campaign.area_name(row.area)
        title = ""
    else:
        found = ctx.campaign.titles_by_code.get(row.title_code)
        kind = phase = area = ""
        title = found.name if found else row.title_code
    text = render(
        "clerk/review_item.txt.j2",
        report=isinstance(row, m.Report),
        row=row,
        status=status_labels().get(row.status, row.status),
        day=format_day(row.created_at.astimezone(LOCAL).date()),
        person=owner.full_name,
        unit=unit.name,
        kind=kind,
        phase=phase,
        area=area,
        title=title,
    )
    return text + "\n\n" + _("Accept it, or return it with a reason?")


def _actions(ctx: Ctx, answers: Answers) -> Choices:
    return [(ACCEPT, _("Accept")), (RETURN, _("Return with a reason")), (CLOSE, _("Close"))]


def _summary(ctx: Ctx, answers: Answers) -> str | None:
    action = answers.get("action")
    if action == CLOSE:
        return None
    row = _item(ctx, answers)
    name = _owner(ctx, row).full_name
    if action == ACCEPT:
        return _("Accept {receipt} of {name}?").format(receipt=row.receipt, name=name)
    return _("Return {receipt} to {name} with this reason?\n{reason}").format(
        receipt=row.receipt, name=name, reason=answers["reason"]
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    action = answers.get("action")
    if action == CLOSE:
        return [Reply(_("Closed."))]
    assert ctx.person is not None  # flows run for registered people only
    row = _item(ctx, answers)
    if not _reviewable(row):  # someone else reviewed it, or the person withdrew it
        raise Invalid(
            _("{receipt} is now {status}: nothing was changed.").format(
                receipt=row.receipt, status=status_labels().get(row.status, row.status)
            )
        )
    kind = "report" if isinstance(row, m.Report) else "nomination"
    reason = str(answers.get("reason") or "") if action == RETURN else ""
    row.status = "accepted" if action == ACCEPT else "returned"
    row.review_note = reason or None
    row.updated_at = ctx.now
    ctx.session.add(row)
    audit(
        session=ctx.session,
        action=f"{kind}.{'accept' if action == ACCEPT else 'return'}",
        person_id=ctx.person.id,
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat_id,
        subject=row.receipt,
        detail={"reason": reason} if reason else {},
    )
    owner = _owner(ctx, row)
    if action == ACCEPT:
        return [
            Reply(
                _("{receipt} of {name} accepted.").format(
                    receipt=row.receipt, name=owner.full_name
                )
            )
        ]
    channel = notify_return(ctx, row, owner, reason)
    if channel is None:
        told = _(
            "{name} cannot be reached on any channel: please tell them the reason directly."
        ).format(name=owner.full_name)
    else:
        told = _("The reason is on its way to {name} on {channel}.").format(
            name=owner.full_name, channel=channel.capitalize()
        )
    return [
        Reply(
            _("{receipt} returned to {name}.").format(receipt=row.receipt, name=owner.full_name)
            + "\n"
            + told
        )
    ]


def describe() -> str:
    return _("accept or return a report or a nomination")


def notify_return(
    ctx: Ctx, row: m.Report | m.Nomination, owner: m.Person, reason: str
) -> str | None:
    """Queue the reason for the person on the channel they used last; the channel, or None."""
    identity = ctx.session.exec(
        select(m.Identity)
        .where(
            m.Identity.person_id == owner.id,
            m.Identity.reachable,
            col(m.Identity.channel).in_(NOTIFY_CHANNELS),
        )
        .order_by(col(m.Identity.last_seen_at).desc().nulls_last(), col(m.Identity.id).desc())
    ).first()
    if identity is None:
        return None
    report = isinstance(row, m.Report)
    with language(owner.lang):
        text = render(
            "clerk/returned.txt.j2",
            report=report,
            receipt=row.receipt,
            title=row.title if isinstance(row, m.Report) else row.nominee_name,
            reason=reason,
        )
    prefix = f"review:{row.receipt}:"
    earlier = ctx.session.exec(
        select(func.count()).select_from(m.Outbox).where(col(m.Outbox.key).startswith(prefix))
    ).one()
    queue_message(
        session=ctx.session,
        key=f"{prefix}{earlier + 1}",
        identity=identity,
        text=text,
        now=ctx.now,
        priority=PRIORITY,
    )
    return identity.channel


FLOW = Flow(
    name="review",
    menu=True,
    editable=False,
    begin=_begin,
    steps=(
        Step(
            "item",
            "choice",
            lambda ctx, a: _("Waiting for the office's review, oldest first. Choose one:"),
            choices=_items,
            auto=lambda ctx, a: cast("str | None", a.get("item")),  # set by `_begin`
        ),
        Step("action", "choice", _show, choices=_actions),
        Step(
            "reason",
            "text",
            lambda ctx, a: _(
                "Why is it returned? The reason is sent to the person (at most {n} characters):"
            ).format(n=REASON_MAX),
            max_len=REASON_MAX,
            when=lambda ctx, a: a.get("action") == RETURN,
        ),
    ),
    summary=_summary,
    finish=_finish,
)

"""`/review` (`/duyet`): the office accepts or returns a report or a nomination.

`/review` lists what waits (reports submitted, nominations proposed or endorsed), oldest
first; `/review BC-2022-0001` goes straight to one item; `/review QLCN`, `/review 1`,
`/review baocao` or `/review denghi` (in any mix) filter the list by unit, phase and kind.
Returning asks for a reason, which is queued in the outbox for the person
(`review:<receipt>:<n>`) on a channel that reaches them; both actions are in the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import re
from pathlib import Path
from typing import TypeVar, cast

from sqlmodel import Session, col, func, select

from bot.core import citations, eligibility
from bot.core import models as m
from bot.core.clock import LOCAL
from bot.core.i18n import _, format_day, language, render
from bot.core.store import audit
from bot.core.summary import REVIEW_NOMINATIONS, status_labels
from bot.core.unit_status import REVIEW_REPORTS
from handlers import review_precheck
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.types import File, Reply
from schedules.outbox import queue_message

log = logging.getLogger(__name__)
ACCEPT, RETURN, CLOSE, ALL = "accept", "return", "close", "all"
_RECEIPT = re.compile(r"^(BC|DN)-\d{4}-\d+$", re.IGNORECASE)
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


def reviewable(row: m.Report | m.Nomination) -> bool:
    if isinstance(row, m.Report):
        return row.status in REVIEW_REPORTS
    return row.status in REVIEW_NOMINATIONS


def _token(row: m.Report | m.Nomination) -> str:
    return f"{'r' if isinstance(row, m.Report) else 'n'}{row.id}"


KIND_WORDS = {  # /review baocao: reports only; /review denghi: nominations only
    "baocao": "r",
    "report": "r",
    "reports": "r",
    "denghi": "n",
    "nomination": "n",
    "nominations": "n",
}


def _filters(ctx: Ctx, args: str) -> Answers | str:
    """`QLCN`, `1`, `baocao`/`denghi` in any order: the list's filters (as answers), or what
    was not understood."""
    found: Answers = {}
    phases = {p.number for p in ctx.campaign.phases}
    for word in args.split():
        low = word.lower()
        if low in KIND_WORDS:
            found["kind"] = KIND_WORDS[low]
        elif word.isascii() and word.isdigit() and int(word) in phases:
            found["phase"] = word
        elif ctx.session.exec(select(m.Unit).where(m.Unit.code == word.upper())).first():
            found["unit"] = word.upper()
        else:
            return word
    return found


def _waiting(ctx: Ctx, answers: Answers | None = None) -> list[m.Report | m.Nomination]:
    cid = ctx.campaign_row.id
    given = answers or {}
    unit = str(given["unit"]) if given.get("unit") else None
    unit_id = (
        ctx.session.exec(select(m.Unit.id).where(m.Unit.code == unit)).first() if unit else None
    )
    phase = int(str(given["phase"])) if given.get("phase") else None
    kind = given.get("kind")
    r, n = m.Report, m.Nomination
    reports_q = select(r).where(r.campaign_id == cid, col(r.status).in_(REVIEW_REPORTS))
    nominations_q = select(n).where(n.campaign_id == cid, col(n.status).in_(REVIEW_NOMINATIONS))
    if unit_id is not None:
        reports_q = reports_q.where(r.unit_id == unit_id)
        nominations_q = nominations_q.where(n.unit_id == unit_id)
    if phase is not None:
        reports_q = reports_q.where(r.phase == phase)
        nominations_q = nominations_q.where(col(n.phase).is_(None) | (n.phase == phase))
    reports: list[m.Report] = []
    nominations: list[m.Nomination] = []
    if kind != "n":
        reports = list(ctx.session.exec(reports_q.order_by(col(r.id)).limit(LIST_MAX)))
    if kind != "r":
        nominations = list(ctx.session.exec(nominations_q.order_by(col(n.id)).limit(LIST_MAX)))
    return [*reports, *nominations]


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    first = args.split()[0] if args.split() else ""
    if first and not _RECEIPT.match(first):
        filters = _filters(ctx, args)
        if isinstance(filters, str):
            return [
                Reply(
                    _(
                        "“{word}” is not a receipt, a unit code, a phase or a kind. For example: "
                        "/review BC-2022-0001, /review QLCN, /review 1 denghi."
                    ).format(word=filters)
                )
            ]
        if not _waiting(ctx, filters):
            return [Reply(_("Nothing that matches waits for the office's review."))]
        return filters
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
        if not reviewable(row):
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
    waiting = _waiting(ctx, answers)
    if answers.get("unit") and len(waiting) > 1:  # a unit's list: all at once, after a preview
        found.append(
            (ALL, _("Accept all {n} of {unit}…").format(n=len(waiting), unit=answers["unit"]))
        )
    for row in waiting:
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
    return owner_of(ctx.session, row)


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
    if isinstance(row, m.Nomination):
        assert row.id is not None  # a stored row
        cited = citations.cited(session=ctx.session, nomination_id=row.id)
        text += "\n" + citations.cited_text(cited)
        text += "\n\n" + eligibility.render_text(eligibility.precheck(ctx.session, row))
    return text + "\n\n" + _("Accept it, or return it with a reason?")


def _evidence(ctx: Ctx, answers: Answers) -> File | None:
    """A report's evidence file, sent back with the item so the office sees it in the chat."""
    row = _item(ctx, answers)
    if not isinstance(row, m.Report) or not row.evidence_path:
        return None
    path = Path(row.evidence_path)
    try:
        content = path.read_bytes()
    except OSError:
        log.warning("review: the evidence of %s is not on disk (%s)", row.receipt, path)
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return File(f"{row.receipt}{path.suffix.lower()}", content, mime)


def _actions(ctx: Ctx, answers: Answers) -> Choices:
    found = [(ACCEPT, _("Accept")), (RETURN, _("Return with a reason"))]
    found += review_precheck.action(ctx, _item(ctx, answers))
    return [*found, (CLOSE, _("Close"))]


def _overriding(ctx: Ctx, answers: Answers) -> bool:
    return answers.get("action") == review_precheck.ACTION


def _nomination(ctx: Ctx, answers: Answers) -> m.Nomination:
    row = _item(ctx, answers)
    assert isinstance(row, m.Nomination)  # the action is offered for nominations only
    return row


def _summary(ctx: Ctx, answers: Answers) -> str | None:
    if answers.get("item") == ALL:  # the preview: every item that will be accepted
        lines = [_line(row) for row in _waiting(ctx, answers)]
        return _("Accept these {n}?").format(n=len(lines)) + "\n" + "\n".join(lines)
    action = answers.get("action")
    if action == CLOSE:
        return None
    if action == review_precheck.ACTION:
        return review_precheck.summary(ctx, _nomination(ctx, answers), answers)
    row = _item(ctx, answers)
    name = _owner(ctx, row).full_name
    if action == ACCEPT:
        return _("Accept {receipt} of {name}?").format(receipt=row.receipt, name=name)
    return _("Return {receipt} to {name} with this reason?\n{reason}").format(
        receipt=row.receipt, name=name, reason=answers["reason"]
    )


def _line(row: m.Report | m.Nomination) -> str:
    what = row.title if isinstance(row, m.Report) else row.nominee_name
    return f"- {row.receipt} · {what[:60]}"


def _accept_all(ctx: Ctx, answers: Answers) -> list[Reply]:
    """Accept every item of the previewed list still waiting; the others are named."""
    assert ctx.person is not None  # flows run for registered people only
    done, held = [], []
    for row in _waiting(ctx, answers):
        if not reviewable(row):
            continue
        if isinstance(row, m.Nomination) and citations.conflicts(
            session=ctx.session, campaign=ctx.campaign, nomination=row
        ):
            held.append(row.receipt)
            continue
        kind = "report" if isinstance(row, m.Report) else "nomination"
        row.status, row.review_note, row.updated_at = "accepted", None, ctx.now
        ctx.session.add(row)
        audit(
            session=ctx.session,
            action=f"{kind}.accept",
            person_id=ctx.person.id,
            channel=ctx.incoming.channel,
            chat_id=ctx.incoming.chat_id,
            subject=row.receipt,
            detail={"bulk": True},
        )
        done.append(row.receipt)
    text = (
        _("Accepted {n}: {receipts}.").format(n=len(done), receipts=", ".join(done))
        if done
        else _("Nothing was changed: the items were reviewed meanwhile.")
    )
    if held:
        text += "\n" + citations.held_text(held)
    return [Reply(text)]


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    if answers.get("item") == ALL:
        return _accept_all(ctx, answers)
    action = answers.get("action")
    if action == CLOSE:
        return [Reply(_("Closed."))]
    if action == review_precheck.ACTION:
        return review_precheck.finish(ctx, _nomination(ctx, answers), answers)
    assert ctx.person is not None  # flows run for registered people only
    row = _item(ctx, answers)
    if not reviewable(row):  # someone else reviewed it, or the person withdrew it
        raise Invalid(
            _("{receipt} is now {status}: nothing was changed.").format(
                receipt=row.receipt, status=status_labels().get(row.status, row.status)
            )
        )
    if action == ACCEPT and isinstance(row, m.Nomination):
        conflict = citations.conflicts(session=ctx.session, campaign=ctx.campaign, nomination=row)
        if conflict:
            raise Invalid(conflict)
    reason = str(answers.get("reason") or "") if action == RETURN else ""
    channel = decide(
        session=ctx.session,
        row=row,
        reviewer=ctx.person,
        accept=action == ACCEPT,
        reason=reason,
        now=ctx.now,
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat_id,
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


def owner_of(session: Session, row: m.Report | m.Nomination) -> m.Person:
    """Who filed the report, or proposed the nomination."""
    owner = session.get(m.Person, row.person_id if isinstance(row, m.Report) else row.proposer_id)
    assert owner is not None  # people are never deleted
    return owner


def decide(
    *,
    session: Session,
    row: m.Report | m.Nomination,
    reviewer: m.Person,
    accept: bool,
    reason: str,
    now: dt.datetime,
    channel: str | None,
    chat_id: str | None,
) -> str | None:
    """Accept or return a reviewable item, in the audit log; a return's reason is queued for
    its owner. The channel the reason goes on (None: it reaches nobody, or an accept).

    The one place a review is decided: `/review` here and the web desk (bot/channels/web).
    """
    kind = "report" if isinstance(row, m.Report) else "nomination"
    row.status = "accepted" if accept else "returned"
    row.review_note = None if accept else reason
    row.updated_at = now
    session.add(row)
    audit(
        session=session,
        action=f"{kind}.{'accept' if accept else 'return'}",
        person_id=reviewer.id,
        channel=channel,
        chat_id=chat_id,
        subject=row.receipt,
        detail={} if accept else {"reason": reason},
    )
    if accept:
        return None
    return notify_return(session, row, owner_of(session, row), reason, now)


def notify_return(
    session: Session, row: m.Report | m.Nomination, owner: m.Person, reason: str, now: dt.datetime
) -> str | None:
    """Queue the reason for the person on the channel they used last; the channel, or None."""
    identity = session.exec(
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
    earlier = session.exec(
        select(func.count()).select_from(m.Outbox).where(col(m.Outbox.key).startswith(prefix))
    ).one()
    queue_message(
        session=session,
        key=f"{prefix}{earlier + 1}",
        identity=identity,
        text=text,
        now=now,
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
        Step(
            "action",
            "choice",
            _show,
            choices=_actions,
            when=lambda ctx, a: a["item"] != ALL,
            file=_evidence,
        ),
        Step(
            "reason",
            "text",
            lambda ctx, a: _(
                "Why is it returned? The reason is sent to the person (at most {n} characters):"
            ).format(n=REASON_MAX),
            max_len=REASON_MAX,
            when=lambda ctx, a: a.get("action") == RETURN,
        ),
        Step(
            "condition",
            "choice",
            review_precheck.prompt_condition,
            choices=lambda ctx, a: review_precheck.conditions(ctx, _nomination(ctx, a)),
            when=_overriding,
        ),
        Step(
            "finding",
            "choice",
            review_precheck.prompt_finding,
            choices=review_precheck.findings,
            when=_overriding,
        ),
        Step(
            "note",
            "text",
            review_precheck.prompt_note,
            max_len=review_precheck.NOTE_MAX,
            when=_overriding,
        ),
    ),
    summary=_summary,
    finish=_finish,
)

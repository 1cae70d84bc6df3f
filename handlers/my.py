"""`/my` (`/cuatoi`): a person's reports and nominations (a head's: the unit's too).

Pick an item to see it; edit or withdraw it while its phase is open; a head endorses staff
proposals here; "connect another app" gives a code to bind Telegram or Zalo too.
"""

from __future__ import annotations

from sqlmodel import col, func, or_, select

from bot.core import models as m
from bot.core import nominations, reports
from bot.core.clock import LOCAL
from bot.core.i18n import _, format_day, language, render
from bot.core.people import issue_invites, reachable_identity
from bot.core.roles import Role
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.types import Reply
from schedules.outbox import queue_message

LINK, CLOSE = "link", "close"
EDIT, WITHDRAW, ENDORSE, RETURN = "edit", "withdraw", "endorse", "head_return"
REASON_MAX = 500
NOTIFY_CHANNELS = ("telegram", "zalo")  # the channels the delivery worker sends on
LIST_MAX = 15
LINK_DAYS = 1


def status_label(status: str) -> str:
    return {
        "submitted": _("submitted"),
        "accepted": _("accepted"),
        "returned": _("returned"),
        "withdrawn": _("withdrawn"),
        "proposed": _("proposed"),
        "endorsed": _("endorsed"),
    }.get(status, status)


def _mine(ctx: Ctx) -> tuple[list[m.Report], list[m.Nomination]]:
    """The person's items; a head's list adds the unit's."""
    assert ctx.person is not None  # flows run for registered people only
    head = ctx.role == Role.HEAD
    rq = select(m.Report).where(m.Report.campaign_id == ctx.campaign_row.id)
    nq = select(m.Nomination).where(m.Nomination.campaign_id == ctx.campaign_row.id)
    if head:
        rq = rq.where(
            or_(m.Report.person_id == ctx.person.id, m.Report.unit_id == ctx.person.unit_id)
        )
        nq = nq.where(
            or_(
                m.Nomination.proposer_id == ctx.person.id,
                m.Nomination.unit_id == ctx.person.unit_id,
            )
        )
    else:
        rq = rq.where(m.Report.person_id == ctx.person.id)
        nq = nq.where(m.Nomination.proposer_id == ctx.person.id)
    rows_r = list(ctx.session.exec(rq.order_by(col(m.Report.id).desc()).limit(LIST_MAX)))
    rows_n = list(ctx.session.exec(nq.order_by(col(m.Nomination.id).desc()).limit(LIST_MAX)))
    return rows_r, rows_n


def _items(ctx: Ctx, answers: Answers) -> Choices:
    rows_r, rows_n = _mine(ctx)
    found = [
        (f"r{r.id}", f"{r.receipt} · {r.title[:40]} · {status_label(r.status)}") for r in rows_r
    ]
    found += [
        (f"n{n.id}", f"{n.receipt} · {n.nominee_name[:30]} · {status_label(n.status)}")
        for n in rows_n
    ]
    found.append((LINK, _("Connect another app (Telegram or Zalo)")))
    return found


def _item(ctx: Ctx, answers: Answers) -> m.Report | m.Nomination:
    picked = str(answers["item"])
    row: m.Report | m.Nomination | None
    if picked[0] == "r":
        row = ctx.session.get(m.Report, int(picked[1:]))
    else:
        row = ctx.session.get(m.Nomination, int(picked[1:]))
    if row is None or row.campaign_id != ctx.campaign_row.id:
        raise Invalid(_("That item no longer exists."))
    return row


def _own(ctx: Ctx, row: m.Report | m.Nomination) -> bool:
    assert ctx.person is not None  # flows run for registered people only
    owner = row.person_id if isinstance(row, m.Report) else row.proposer_id
    return owner == ctx.person.id


def _phase_open(ctx: Ctx, row: m.Report | m.Nomination) -> bool:
    return row.phase is None or row.phase in ctx.open_phases()


def _actions(ctx: Ctx, answers: Answers) -> Choices:
    assert ctx.person is not None  # flows run for registered people only
    row = _item(ctx, answers)
    found: Choices = []
    if _own(ctx, row) and _phase_open(ctx, row):
        if row.status in (*reports.EDITABLE, "proposed"):
            found.append((EDIT, _("Edit")))
        if row.status != "withdrawn":
            found.append((WITHDRAW, _("Withdraw")))
    if (
        isinstance(row, m.Nomination)
        and ctx.role == Role.HEAD
        and row.status == "proposed"
        and row.unit_id == ctx.person.unit_id
    ):
        found.append((ENDORSE, _("Endorse for the unit")))
        found.append((RETURN, _("Return with a reason")))
    found.append((CLOSE, _("Close")))
    return found


def _describe(ctx: Ctx, answers: Answers) -> str:
    if any(_mine(ctx)):
        return _("Your reports and nominations, newest first. Choose one:")
    return _("You have no reports or nominations yet: /report, /nominate.")


def _files(ctx: Ctx, row: m.Report) -> str:
    assert row.id is not None  # stored
    return reports.files_label(reports.evidence_of(ctx.session, [row.id]).get(row.id, []))


def _show(ctx: Ctx, answers: Answers) -> str:
    row = _item(ctx, answers)
    if isinstance(row, m.Report):
        text = render(
            "my_report.txt.j2",
            r=row,
            area=ctx.campaign.area_name(row.area),
            phase=ctx.campaign.phase(row.phase),
            status=status_label(row.status),
            day=format_day(row.created_at.astimezone(LOCAL).date()),
            files=_files(ctx, row),
        )
    else:
        title = ctx.campaign.titles_by_code.get(row.title_code)
        text = render(
            "my_nomination.txt.j2",
            n=row,
            title=title.name if title else "",
            status=status_label(row.status),
            day=format_day(row.created_at.astimezone(LOCAL).date()),
        )
    if _own(ctx, row) and not _phase_open(ctx, row):
        text += "\n\n" + _("Its phase is closed: it can no longer be changed.")
    return text + "\n\n" + _("What do you want to do?")


def _fields(ctx: Ctx, answers: Answers) -> Choices:
    if str(answers["item"]).startswith("r"):
        return [("title", _("Title")), ("detail", _("Achievement"))]
    return [("basis", _("Basis"))]


def _limit(ctx: Ctx, answers: Answers) -> int:
    return {"title": reports.TITLE_MAX, "detail": reports.DETAIL_MAX}.get(
        str(answers.get("field")), nominations.BASIS_MAX
    )


def _check_length(ctx: Ctx, answers: Answers, value: str) -> None:
    if len(value) > _limit(ctx, answers):
        raise Invalid(
            _("That is {n} characters; at most {max} are allowed. Please shorten it.").format(
                n=len(value), max=_limit(ctx, answers)
            )
        )


def _summary(ctx: Ctx, answers: Answers) -> str | None:
    if answers["item"] == LINK:
        return _("Create a one-time code to connect your other app (valid for one day)?")
    action = answers.get("action")
    row = _item(ctx, answers)
    if action == WITHDRAW:
        return _("Withdraw {receipt}? It will no longer count.").format(receipt=row.receipt)
    if action == ENDORSE:
        return _(
            "Endorse {receipt} for the unit? It will then count against the plan's targets."
        ).format(receipt=row.receipt)
    if action == RETURN:
        proposer = (
            ctx.session.get(m.Person, row.proposer_id) if isinstance(row, m.Nomination) else None
        )
        return _("Return {receipt} to {name} with this reason?\n{reason}").format(
            receipt=row.receipt,
            name=proposer.full_name if proposer else "?",
            reason=answers["reason"],
        )
    if action == EDIT:
        return _("Replace the {field} of {receipt} with:\n{value}").format(
            field=dict(_fields(ctx, answers))[str(answers["field"])].lower(),
            receipt=row.receipt,
            value=answers["value"],
        )
    return None


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None and ctx.unit is not None  # flows run for registered people
    if answers["item"] == LINK:
        invite = issue_invites(
            session=ctx.session,
            unit=ctx.unit,
            role=ctx.person.role,
            count=1,
            now=ctx.now,
            days=LINK_DAYS,
            person=ctx.person,
        )[0]
        return [
            Reply(
                _("Your code: {code}\nIn the other app, send to this bot:\n/start {code}").format(
                    code=invite.code
                )
            )
        ]
    action = answers.get("action")
    if action == CLOSE:
        return [Reply(_("Closed."))]
    row = _item(ctx, answers)
    if action not in dict(_actions(ctx, answers)):  # state changed since the question
        raise Invalid(_("That can no longer be done to {receipt}.").format(receipt=row.receipt))
    session, now, person = ctx.session, ctx.now, ctx.person
    if isinstance(row, m.Report):
        if action == EDIT:
            reports.edit_report(
                session=session,
                report=row,
                person=person,
                field=str(answers["field"]),
                value=str(answers["value"]),
                now=now,
            )
        else:
            reports.withdraw_report(session=session, report=row, person=person, now=now)
    elif action == EDIT:
        nominations.edit_basis(
            session=session, nomination=row, person=person, value=str(answers["value"]), now=now
        )
    elif action == ENDORSE:
        nominations.endorse(session=session, nomination=row, head=person, now=now)
    elif action == RETURN:
        reason = str(answers["reason"])
        nominations.return_to_proposer(
            session=session, nomination=row, head=person, reason=reason, now=now
        )
        return [
            Reply(
                _("{receipt} returned.").format(receipt=row.receipt)
                + "\n"
                + _tell(ctx, row, reason)
            )
        ]
    else:
        nominations.withdraw_nomination(session=session, nomination=row, person=person, now=now)
    done = {
        EDIT: _("{receipt} updated."),
        WITHDRAW: _("{receipt} withdrawn."),
        ENDORSE: _("{receipt} endorsed."),
    }[str(action)]
    return [Reply(done.format(receipt=row.receipt))]


def _tell(ctx: Ctx, row: m.Nomination, reason: str) -> str:
    """Queue the head's reason for the proposer; what to say to the head about it."""
    proposer = ctx.session.get(m.Person, row.proposer_id)
    assert proposer is not None and ctx.person is not None  # people are never deleted
    identity = reachable_identity(
        session=ctx.session, person_id=proposer.id, channels=NOTIFY_CHANNELS
    )
    if identity is None:
        return _(
            "{name} cannot be reached on any channel: please tell them the reason directly."
        ).format(name=proposer.full_name)
    with language(proposer.lang):
        text = _(
            "{head}, the head of your unit, returned the nomination {receipt} ({nominee}).\n"
            "Reason: {reason}\n\nPlease fix it through /my."
        ).format(
            head=ctx.person.full_name, receipt=row.receipt, nominee=row.nominee_name, reason=reason
        )
    prefix = f"head-return:{row.receipt}:"
    earlier = ctx.session.exec(
        select(func.count()).select_from(m.Outbox).where(col(m.Outbox.key).startswith(prefix))
    ).one()
    queue_message(
        session=ctx.session,
        key=f"{prefix}{earlier + 1}",
        identity=identity,
        text=text,
        now=ctx.now,
        priority=5,
    )
    return _("The reason is on its way to {name} on {channel}.").format(
        name=proposer.full_name, channel=identity.channel.capitalize()
    )


FLOW = Flow(
    name="my",
    menu=True,
    editable=False,
    steps=(
        Step("item", "choice", _describe, choices=_items),
        Step(
            "action",
            "choice",
            _show,
            choices=_actions,
            when=lambda ctx, a: a.get("item") != LINK,
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
            "field",
            "choice",
            lambda ctx, a: _("Which field?"),
            choices=_fields,
            when=lambda ctx, a: a.get("action") == EDIT,
        ),
        Step(
            "value",
            "text",
            lambda ctx, a: _("Type the new text:"),
            max_len=0,
            check=_check_length,
            when=lambda ctx, a: a.get("action") == EDIT,
        ),
    ),
    summary=_summary,
    finish=_finish,
)

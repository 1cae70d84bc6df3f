"""`/nhansu` (`/staff`): the office deactivates someone who left, moves someone to another
unit, or changes a role, from the chat: the person by name, staff number, phone or #id; a
preview; a confirmation. The same services as `thidua people deactivate|move|role`."""

from __future__ import annotations

from sqlmodel import select

from bot.core import models as m
from bot.core.i18n import _
from bot.core.personnel import PersonError, change_role, deactivate, find_person, move
from bot.core.roles import ROLES
from handlers.basics import role_label
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.types import Reply
from schedules.outbox.replies import queue_menu_refresh

DEACTIVATE, MOVE, ROLE = "deactivate", "move", "role"


def describe() -> str:
    return _("staff changes: someone left, moved, or has another role")


def _actions(ctx: Ctx, answers: Answers) -> Choices:
    return [
        (DEACTIVATE, _("Someone left (deactivate)")),
        (MOVE, _("Move to another unit")),
        (ROLE, _("Change the role")),
    ]


def _person(ctx: Ctx, answers: Answers) -> m.Person:
    found = ctx.session.get(m.Person, int(str(answers["who"])))
    assert found is not None  # checked when typed
    return found


def _check_who(ctx: Ctx, answers: Answers, value: str) -> None:
    try:
        found = find_person(session=ctx.session, key=value)
    except PersonError as problem:
        raise Invalid(str(problem)) from None
    if ctx.person is not None and found.id == ctx.person.id:
        raise Invalid(_("You cannot change yourself here; ask another clerk or the admin."))
    if not found.active or found.forgotten_at:
        raise Invalid(_("{name} is inactive already.").format(name=found.full_name))


def _units(ctx: Ctx, answers: Answers) -> Choices:
    current = _person(ctx, answers).unit_id
    rows = ctx.session.exec(select(m.Unit).where(m.Unit.active).order_by(m.Unit.name))
    return [(str(u.id), u.name) for u in rows if u.id != current]


def _roles(ctx: Ctx, answers: Answers) -> Choices:
    current = _person(ctx, answers).role
    return [(r, role_label(r)) for r in ROLES if r != current]


def _who_shown(ctx: Ctx, answers: Answers, value: object) -> str:
    found = _person(ctx, answers)
    unit = ctx.session.get(m.Unit, found.unit_id)
    return f"{found.full_name} ({unit.code if unit else ''}, {role_label(found.role)})"


def _summary(ctx: Ctx, answers: Answers) -> str:
    who = _who_shown(ctx, answers, None)
    action = str(answers["action"])
    if action == DEACTIVATE:
        return _(
            "Deactivate {who}? No more reminders or commands; what they sent is kept and "
            "still counts."
        ).format(who=who)
    if action == MOVE:
        unit = ctx.session.get(m.Unit, int(str(answers["unit"])))
        return _("Move {who} to {unit} from today? What they sent before stays with the old "
                 "unit.").format(who=who, unit=unit.name if unit else "")  # fmt: skip
    return _("Change the role of {who} to {role}?").format(
        who=who, role=role_label(str(answers["role"]))
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    found = _person(ctx, answers)
    by = f"chat:{ctx.person.id if ctx.person else ''}"
    assert found.id is not None  # stored
    queue_menu_refresh(session=ctx.session, person_id=found.id, now=ctx.now)
    action = str(answers["action"])
    if action == DEACTIVATE:
        deactivate(session=ctx.session, person=found, now=ctx.now, by=by)
        return [Reply(_("Deactivated: {name}.").format(name=found.full_name))]
    if action == MOVE:
        unit = ctx.session.get(m.Unit, int(str(answers["unit"])))
        assert unit is not None  # offered from the stored units
        move(session=ctx.session, person=found, unit=unit, since=None, now=ctx.now, by=by)
        return [Reply(_("{name} moved to {unit}.").format(name=found.full_name, unit=unit.name))]
    old = change_role(session=ctx.session, person=found, role=str(answers["role"]), by=by)
    return [
        Reply(
            _("{name}: {old} → {new}.").format(
                name=found.full_name, old=role_label(old), new=role_label(found.role)
            )
        )
    ]


def _resolve(ctx: Ctx, answers: Answers) -> str | None:
    """The person's id from what was typed at "who" (kept as the answer from then on)."""
    typed = answers.get("who_typed")
    if typed is None:
        return None
    return str(find_person(session=ctx.session, key=str(typed)).id)


FLOW = Flow(
    name="staff",
    editable=False,
    steps=(
        Step("action", "choice", lambda ctx, a: _("What changed?"), choices=_actions),
        Step(
            "who_typed",
            "text",
            lambda ctx, a: _("Who? Type the full name, staff number, phone or #id:"),
            max_len=120,
            check=_check_who,
        ),
        Step("who", "text", lambda ctx, a: "", auto=_resolve),
        Step(
            "unit",
            "choice",
            lambda ctx, a: _("To which unit?"),
            choices=_units,
            when=lambda ctx, a: a.get("action") == MOVE,
        ),
        Step(
            "role",
            "choice",
            lambda ctx, a: _("Which role?"),
            choices=_roles,
            when=lambda ctx, a: a.get("action") == ROLE,
        ),
    ),
    summary=_summary,
    finish=_finish,
)

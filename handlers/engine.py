"""The flow engine: the only code that moves a conversation from one step to the next.

A flow is data: a list of `Step`s, a summary, and a `finish` that calls a service. State (flow,
step, answers, the token of the last question asked) lives in the `conversation` table keyed by
(channel, chat), so a restart mid-flow resumes at the same step. Every question carries a fresh
token in its options' data, so a press on an old keyboard is recognised as passed.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa

from bot import models as m
from bot.i18n import _
from bot.people import clean_text
from handlers.context import Ctx
from handlers.types import Option, Reply

Answers = dict[str, object]
Choices = list[tuple[str, str]]  # (value, label)

CONFIRM, EDIT, ABANDON = "_confirm", "_edit", "_abandon"
YES, NO, CHANGE, SKIP = "yes", "no", "edit", "skip"
IDLE_EXPIRY = dt.timedelta(days=1)


class Invalid(Exception):
    """An answer that cannot be taken; the message says why, politely."""


@dataclass(frozen=True)
class Step:
    name: str
    kind: Literal["text", "choice", "attachment"]
    prompt: Callable[[Ctx, Answers], str]
    label: Callable[[], str] | None = None  # shown in the summary; None: not editable
    choices: Callable[[Ctx, Answers], Choices] | None = None
    max_len: int = 0
    when: Callable[[Ctx, Answers], bool] | None = None
    auto: Callable[[Ctx, Answers], str | None] | None = None  # answer without asking
    check: Callable[[Ctx, Answers, str], None] | None = None  # raise Invalid
    show: Callable[[Ctx, Answers, object], str] | None = None  # answer as shown in summary

    def applies(self, ctx: Ctx, answers: Answers) -> bool:
        return self.when is None or self.when(ctx, answers)


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    finish: Callable[[Ctx, Answers], list[Reply]]
    # the text to confirm; None (or returning None): finish without confirming
    summary: Callable[[Ctx, Answers], str | None] | None = None
    editable: bool = True
    begin: Callable[[Ctx, str], Answers | list[Reply]] = field(default=lambda ctx, args: {})

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


FLOWS: dict[str, Flow] = {}


def register_flow(flow: Flow) -> Flow:
    FLOWS[flow.name] = flow
    return flow


# --- state --------------------------------------------------------------------------------
# Read and written with Core statements on the table, not as an ORM object flushed by the unit
# of work: every turn reads the state and most write it, and the ORM's get + flush made a
# /report turn cost 2.5 ms of CPU against 1.7 ms with these statements.

CONVERSATION = m.Conversation.__table__
_KEY = sa.and_(
    CONVERSATION.c.channel == sa.bindparam("key_channel"),
    CONVERSATION.c.chat_id == sa.bindparam("key_chat_id"),
)
_LOAD = sa.select(CONVERSATION).where(_KEY)
_INSERT = CONVERSATION.insert()
_UPDATE = CONVERSATION.update().where(_KEY)  # SET: the columns named in the parameters
_DELETE = CONVERSATION.delete().where(_KEY)


@dataclass
class State:
    """A chat's row of the `conversation` table, as this turn sees it."""

    channel: str
    chat_id: str
    flow: str
    step: str
    token: str
    answers: Answers
    updated_at: dt.datetime
    stored: bool = False  # the row is in the table
    moved: bool = False  # changed by this turn, not stored yet


class Conflict(Exception):
    """Another turn of the same chat ended the flow while this one was answering it."""


def load_state(ctx: Ctx) -> State | None:
    """Read the chat's state into `ctx.state` (the router does, once, before dispatching)."""
    inc = ctx.incoming
    row = ctx.session.connection().execute(_LOAD, _key(inc.channel, inc.chat_id)).first()
    ctx.state = None if row is None else State(**row._asdict(), stored=True)
    return ctx.state


def drop_state(ctx: Ctx, state: State | None) -> None:
    if state is None:
        return
    if state.stored:
        ctx.session.connection().execute(_DELETE, _key(state.channel, state.chat_id))
    state.stored = state.moved = False
    if ctx.state is state:
        ctx.state = None


def write_state(ctx: Ctx) -> None:
    """Store the state if the turn moved it. The router calls this once, at the end of the
    turn, so the write lock is taken as late as it was with the ORM's flush at commit."""
    state = ctx.state
    if state is None or not state.moved:
        return
    values = {
        "flow": state.flow,
        "step": state.step,
        "token": state.token,
        "answers": state.answers,
        "updated_at": state.updated_at,
    }
    conn = ctx.session.connection()
    if not state.stored:
        conn.execute(_INSERT, {"channel": state.channel, "chat_id": state.chat_id, **values})
    elif conn.execute(_UPDATE, {**_key(state.channel, state.chat_id), **values}).rowcount != 1:
        raise Conflict(f"{state.channel}:{state.chat_id}")
    state.stored, state.moved = True, False


def _key(channel: str, chat_id: str) -> dict[str, str]:
    return {"key_channel": channel, "key_chat_id": chat_id}


def is_expired(state: State, now: dt.datetime) -> bool:
    return now - state.updated_at > IDLE_EXPIRY


def _save(ctx: Ctx, state: State, step: str, answers: Answers) -> State:
    state.step, state.answers, state.updated_at = step, dict(answers), ctx.now
    state.token = secrets.token_hex(2)
    state.moved = True
    ctx.state = state
    return state


# --- moving -------------------------------------------------------------------------------


def start(ctx: Ctx, name: str, args: str = "") -> list[Reply]:
    flow = FLOWS[name]
    begun = flow.begin(ctx, args)
    if isinstance(begun, list):
        return begun
    drop_state(ctx, ctx.state)
    state = State(
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat_id,
        flow=name,
        step="",
        token="",
        answers={},
        updated_at=ctx.now,
    )
    return _advance(ctx, flow, state, dict(begun), after=None)


def _advance(
    ctx: Ctx, flow: Flow, state: State, answers: Answers, after: str | None
) -> list[Reply]:
    """Ask the next question after step `after` (None: from the start)."""
    if answers.pop("_editing", None):
        return _ask_confirm(ctx, flow, state, answers)
    names = [s.name for s in flow.steps]
    index = 0 if after is None else names.index(after) + 1
    for step in flow.steps[index:]:
        if not step.applies(ctx, answers):
            answers.pop(step.name, None)
            continue
        if step.auto is not None:
            value = step.auto(ctx, answers)
            if value is not None:
                answers[step.name] = value
                continue
        _save(ctx, state, step.name, answers)
        return [ask(ctx, flow, step, state)]
    if flow.summary is None or flow.summary(ctx, answers) is None:
        drop_state(ctx, state)
        return flow.finish(ctx, answers)
    return _ask_confirm(ctx, flow, state, answers)


def ask(ctx: Ctx, flow: Flow, step: Step, state: State, prefix: str = "") -> Reply:
    text = step.prompt(ctx, dict(state.answers))
    if prefix:
        text = f"{prefix}\n\n{text}"
    choices: Choices = []
    if step.kind == "choice" and step.choices is not None:
        choices = step.choices(ctx, dict(state.answers))
    elif step.kind == "attachment":
        choices = [(SKIP, _("Skip"))]
    return Reply(text, _options(flow.name, step.name, state.token, choices))


def _options(flow: str, step: str, token: str, choices: Choices) -> tuple[Option, ...]:
    return tuple(Option(label, f"flow:{flow}:{step}:{token}:{value}") for value, label in choices)


def _ask_confirm(
    ctx: Ctx, flow: Flow, state: State, answers: Answers, prefix: str = ""
) -> list[Reply]:
    _save(ctx, state, CONFIRM, answers)
    assert flow.summary is not None
    text = flow.summary(ctx, answers) or ""
    choices = [(YES, _("Confirm"))]
    if flow.editable:
        choices.append((CHANGE, _("Edit a field")))
    choices.append((NO, _("Cancel")))
    body = f"{prefix}\n\n{text}" if prefix else text
    return [Reply(body, _options(flow.name, CONFIRM, state.token, choices))]


def _edit_choices(ctx: Ctx, flow: Flow, answers: Answers) -> Choices:
    choices = [
        (s.name, s.label())
        for s in flow.steps
        if s.label is not None and s.applies(ctx, answers) and s.auto is None
    ]
    return [*choices, (CONFIRM, _("Back to the summary"))]


def _ask_edit(ctx: Ctx, flow: Flow, state: State, answers: Answers) -> list[Reply]:
    _save(ctx, state, EDIT, answers)
    return [
        Reply(
            _("Which field do you want to change?"),
            _options(flow.name, EDIT, state.token, _edit_choices(ctx, flow, answers)),
        )
    ]


def reask(ctx: Ctx, state: State, prefix: str = "") -> list[Reply]:
    """Ask the current question again (after help, a wrong answer, an old button)."""
    flow = FLOWS[state.flow]
    answers = dict(state.answers)
    if state.step == CONFIRM:
        return _ask_confirm(ctx, flow, state, answers, prefix)
    if state.step == EDIT:
        replies = _ask_edit(ctx, flow, state, answers)
        return [
            Reply(
                f"{prefix}\n\n{replies[0].text}" if prefix else replies[0].text, replies[0].options
            )
        ]
    if state.step == ABANDON:
        return ask_abandon(ctx, state, str(answers.get("_pending", "")), prefix)
    step = flow.step(state.step)
    _save(ctx, state, state.step, answers)
    return [ask(ctx, flow, step, state, prefix)]


def ask_abandon(ctx: Ctx, state: State, pending: str, prefix: str = "") -> list[Reply]:
    """Another command mid-flow: ask before throwing the answers away."""
    answers = dict(state.answers)
    if state.step != ABANDON:
        answers["_resume"] = state.step
    answers["_pending"] = pending
    _save(ctx, state, ABANDON, answers)
    text = _("You have not finished: {flow}. Leave it and run {command}?").format(
        flow=flow_title(state.flow), command=pending.split(" ")[0]
    )
    if prefix:
        text = f"{prefix}\n\n{text}"
    choices = [(YES, _("Yes, leave it")), (NO, _("No, continue"))]
    return [Reply(text, _options(state.flow, ABANDON, state.token, choices))]


def flow_title(name: str) -> str:
    """How a flow is named to a person: the command that starts it, e.g. "báo cáo thành tích
    (/baocao)"."""
    from handlers.registry import BY_NAME, shown_name  # the registry imports this module

    command = BY_NAME.get(name)
    return f"{command.describe()} ({shown_name(command)})" if command else name


# --- answering ----------------------------------------------------------------------------


def resolve_choice(ctx: Ctx, state: State, choices: Choices) -> str:
    """The chosen value from a button's data, a number, or an option's text; else Invalid."""
    inc = ctx.incoming
    if inc.choice is not None:
        parts = inc.choice.split(":", 4)
        current = parts[:4] == ["flow", state.flow, state.step, state.token]
        if current and len(parts) == 5 and any(v == parts[4] for v, _l in choices):
            return parts[4]
        raise Invalid(_("That question has passed."))
    if inc.attachment is not None and inc.text is None:
        raise Invalid(_("Please choose one of the options."))
    typed = clean_text(inc.text or "")
    if re.fullmatch(r"[0-9]{1,4}", typed):
        n = int(typed)
        if 1 <= n <= len(choices):
            return choices[n - 1][0]
        raise Invalid(_("Please answer with a number from 1 to {n}.").format(n=len(choices)))
    folded = typed.casefold()
    for value, label in choices:
        if folded and folded == clean_text(label).casefold():
            return value
    raise Invalid(_("Please choose one of the options (answer with its number)."))


def answer(ctx: Ctx, state: State) -> list[Reply]:
    """Take the incoming message as the answer to the current question."""
    flow = FLOWS[state.flow]
    answers = dict(state.answers)
    try:
        if state.step == ABANDON:
            return _answer_abandon(ctx, state, answers)
        if state.step == CONFIRM:
            return _answer_confirm(ctx, flow, state, answers)
        if state.step == EDIT:
            picked = resolve_choice(ctx, state, _edit_choices(ctx, flow, answers))
            if picked == CONFIRM:
                return _ask_confirm(ctx, flow, state, answers)
            answers["_editing"] = True
            step = flow.step(picked)
            _save(ctx, state, step.name, answers)
            return [ask(ctx, flow, step, state)]
        step = flow.step(state.step)
        value = _take(ctx, state, step, answers)
    except Invalid as problem:
        return reask(ctx, state, str(problem))
    answers[step.name] = value
    return _advance(ctx, flow, state, answers, after=step.name)


def _take(ctx: Ctx, state: State, step: Step, answers: Answers) -> object:
    inc = ctx.incoming
    if step.kind == "choice":
        assert step.choices is not None
        value: object = resolve_choice(ctx, state, step.choices(ctx, answers))
    elif step.kind == "attachment":
        if inc.attachment is not None:
            a = inc.attachment
            value = {
                "kind": a.kind,
                "ref": a.ref,
                "name": clean_text(a.name)[:120],
                "path": a.path,
            }
        else:
            try:
                value = resolve_choice(ctx, state, [(SKIP, _("Skip")), *_skip_words()])
            except Invalid:
                raise Invalid(_("Please send a photo or a document, or choose Skip.")) from None
            value = None
    else:
        if inc.choice is not None:
            raise Invalid(_("That question has passed."))
        if inc.attachment is not None and not inc.text:
            raise Invalid(_("Please type your answer as text."))
        text = clean_text(inc.text or "")
        if not text:
            raise Invalid(_("The answer is empty. Please type it again."))
        if step.max_len and len(text) > step.max_len:
            raise Invalid(
                _("That is {n} characters; at most {max} are allowed. Please shorten it.").format(
                    n=len(text), max=step.max_len
                )
            )
        value = text
    if step.check is not None and value is not None:
        step.check(ctx, answers, str(value))
    return value


def _skip_words() -> Choices:
    return [(SKIP, word) for word in ("skip", "bỏ qua", "bo qua", "không", "khong", "no")]


def _answer_confirm(ctx: Ctx, flow: Flow, state: State, answers: Answers) -> list[Reply]:
    choices = [(YES, _("Confirm")), (CHANGE, _("Edit a field")), (NO, _("Cancel"))]
    picked = resolve_choice(
        ctx, state, choices if flow.editable else [c for c in choices if c[0] != CHANGE]
    )
    if picked == NO:
        drop_state(ctx, state)
        return [Reply(_("Cancelled. Nothing was saved."))]
    if picked == CHANGE:
        return _ask_edit(ctx, flow, state, answers)
    try:
        replies = flow.finish(ctx, answers)
    except Invalid as problem:
        return reask(ctx, state, str(problem))
    drop_state(ctx, state)
    return replies


def _answer_abandon(ctx: Ctx, state: State, answers: Answers) -> list[Reply]:
    picked = resolve_choice(ctx, state, [(YES, _("Yes, leave it")), (NO, _("No, continue"))])
    pending = str(answers.pop("_pending", ""))
    resume = str(answers.pop("_resume", ""))
    if picked == YES:
        drop_state(ctx, state)
        from handlers.router import run_command  # the router dispatches the pending command

        name, _sep, args = pending.lstrip("/").partition(" ")
        return run_command(ctx, name, args)
    state.step = resume
    state.answers = answers
    return reask(ctx, state)

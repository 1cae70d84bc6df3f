"""The flow engine: the only code that moves a conversation from one step to the next.

A flow is data: a list of `Step`s, a summary, and a `finish` that calls a service. State (flow,
step, answers, the token of the last question asked) lives in the `conversation` table keyed by
(channel, chat), so a restart mid-flow resumes at the same step. Every question carries a fresh
token in its options' data, so a press on an old keyboard is recognised as passed.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.core.i18n import _
from bot.core.settings import get_settings
from bot.core.text import clean_text
from handlers import state as stored
from handlers.context import Ctx, shown_name
from handlers.state import Answers, State
from handlers.types import CANCEL_VALUE, File, Option, Reply

Choices = list[tuple[str, str]]  # (value, label)

CONFIRM, EDIT, ABANDON = "_confirm", "_edit", "_abandon"
YES, NO, CHANGE, SKIP, DONE = "yes", "no", "edit", "skip", "done"
#: The value of the Hủy option every question carries (Telegram: a button; Zalo and the
#: console: the line "0. Hủy"). The router cancels on it; the engine never sees it.
CANCEL = CANCEL_VALUE
#: Set in the answers once the person has answered a question, and once they have typed (or
#: sent) something: see `worth_asking`.
ANSWERED, TYPED = "_answered", "_typed"


@dataclass(frozen=True)
class RunCommand:
    """The outcome of a turn that left a flow for a command: the router runs it next."""

    name: str
    args: str


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
    files: Callable[[Ctx, Answers], list[File]] | None = None  # sent with the question

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
    #: A menu (/cuatoi, /lang): left silently for another command unless something was typed.
    menu: bool = False
    begin: Callable[[Ctx, str], Answers | list[Reply]] = field(default=lambda ctx, args: {})

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


# --- state (stored by handlers.state) ------------------------------------------------------


def load_state(ctx: Ctx) -> State | None:
    """Read the chat's state into `ctx.state` (the router does, once, before dispatching)."""
    ctx.state = stored.load(ctx.session, ctx.incoming.channel, ctx.incoming.chat_id)
    return ctx.state


def drop_state(ctx: Ctx, found: State | None) -> None:
    if found is None:
        return
    stored.delete(ctx.session, found)
    if ctx.state is found:
        ctx.state = None


def write_state(ctx: Ctx) -> None:
    """Store the state if the turn moved it. The router calls this once, at the end of the
    turn, so the write lock is taken as late as it was with the ORM's flush at commit."""
    if ctx.state is not None:
        stored.store(ctx.session, ctx.state)


def _save(ctx: Ctx, state: State, step: str, answers: Answers) -> State:
    state.step, state.answers, state.updated_at = step, dict(answers), ctx.now
    state.token = secrets.token_hex(2)
    state.moved = True
    ctx.state = state
    return state


# --- moving -------------------------------------------------------------------------------


def start(ctx: Ctx, flow: Flow, args: str = "") -> list[Reply]:
    begun = flow.begin(ctx, args)
    if isinstance(begun, list):
        return begun
    drop_state(ctx, ctx.state)
    state = State(
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat_id,
        flow=flow.name,
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
        return ask(ctx, flow, step, state)
    if flow.summary is None or flow.summary(ctx, answers) is None:
        drop_state(ctx, state)
        return flow.finish(ctx, answers)
    return _ask_confirm(ctx, flow, state, answers)


def ask(ctx: Ctx, flow: Flow, step: Step, state: State, prefix: str = "") -> list[Reply]:
    """The question, with its files: all but the last sent first, the last with the question
    (and its buttons)."""
    answers = dict(state.answers)
    text = step.prompt(ctx, answers)
    choices: Choices = []
    if step.kind == "choice" and step.choices is not None:
        choices = step.choices(ctx, answers)
    elif step.kind == "attachment":
        got = files_in(answers, step.name)
        if got:
            text = _(
                "Files received: {n}. Send another (at most {max} in all), or choose Done."
            ).format(n=len(got), max=files_max())
        choices = [(DONE, _("Done"))] if got else [(SKIP, _("Skip"))]
    if prefix:
        text = f"{prefix}\n\n{text}"
    options = _options(flow.name, step.name, state.token, choices, cancel=True)
    sent = step.files(ctx, answers) if step.files is not None else []
    replies = [_with_file(Reply(""), file) for file in sent[:-1]]
    question = Reply(text, options)
    return [*replies, _with_file(question, sent[-1]) if sent else question]


def _with_file(reply: Reply, file: File) -> Reply:
    if file.mime.startswith("image/"):
        return dataclasses.replace(reply, image=file)
    return dataclasses.replace(reply, document=file)


def files_max() -> int:
    return get_settings().evidence_per_report


def files_in(answers: Answers, name: str) -> list[dict[str, object]]:
    """The files an attachment step holds so far (a list; one file in a state kept from
    before several were allowed)."""
    value = answers.get(name)
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else []


def _options(
    flow: str, step: str, token: str, choices: Choices, *, cancel: bool = False
) -> tuple[Option, ...]:
    """The options' buttons; with `cancel`, the Hủy option last (numbered 0 where typed)."""
    if cancel:
        choices = [*choices, (CANCEL, _("Cancel"))]
    return tuple(Option(label, f"flow:{flow}:{step}:{token}:{value}") for value, label in choices)


def is_cancel(ctx: Ctx, state: State) -> bool:
    """A press of this flow's Hủy (on any of its questions, old ones too), or "0" typed."""
    inc = ctx.incoming
    if inc.choice is not None:
        parts = inc.choice.split(":", 4)
        return len(parts) == 5 and parts[:2] == ["flow", state.flow] and parts[4] == CANCEL
    return inc.attachment is None and (inc.text or "").strip() == "0"


def worth_asking(flow: Flow, state: State) -> bool:
    """Whether leaving the flow for another command should ask first: something was typed or
    sent; in a flow that is not a menu, any answer given. Otherwise it is left silently."""
    if state.answers.get(TYPED):
        return True
    return not flow.menu and (bool(state.answers.get(ANSWERED)) or state.step == CONFIRM)


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
            _options(flow.name, EDIT, state.token, _edit_choices(ctx, flow, answers), cancel=True),
        )
    ]


def reask(ctx: Ctx, flow: Flow, state: State, prefix: str = "") -> list[Reply]:
    """Ask the current question again (after help, a wrong answer, an old button)."""
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
    return ask(ctx, flow, step, state, prefix)


def ask_abandon(ctx: Ctx, state: State, pending: str, prefix: str = "") -> list[Reply]:
    """Another command mid-flow: ask before throwing the answers away."""
    answers = dict(state.answers)
    if state.step != ABANDON:
        answers["_resume"] = state.step
    answers["_pending"] = pending
    _save(ctx, state, ABANDON, answers)
    text = _("You have not finished: {flow}. Leave it and run {command}?").format(
        flow=flow_title(ctx, state.flow), command=pending.split(" ")[0]
    )
    if prefix:
        text = f"{prefix}\n\n{text}"
    choices = [(YES, _("Yes, leave it")), (NO, _("No, continue"))]
    return [Reply(text, _options(state.flow, ABANDON, state.token, choices, cancel=True))]


def flow_title(ctx: Ctx, name: str) -> str:
    """How a flow is named to a person: the command that starts it, e.g. "báo cáo thành tích
    (/baocao)"."""
    command = next((c for c in ctx.commands if c.name == name), None)
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
    typed = inc.text or ""  # cleaned at the seam (Incoming.cleaned)
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


def answer(ctx: Ctx, flow: Flow, state: State) -> list[Reply] | RunCommand:
    """Take the incoming message as the answer to the current question; or, when the person
    agreed to leave the flow for another command, that command for the router to run."""
    answers = dict(state.answers)
    try:
        if state.step == ABANDON:
            return _answer_abandon(ctx, flow, state, answers)
        if state.step == CONFIRM:
            return _answer_confirm(ctx, flow, state, answers)
        if state.step == EDIT:
            picked = resolve_choice(ctx, state, _edit_choices(ctx, flow, answers))
            if picked == CONFIRM:
                return _ask_confirm(ctx, flow, state, answers)
            answers["_editing"] = True
            step = flow.step(picked)
            if step.kind == "attachment":
                answers.pop(step.name, None)  # the files are sent again
            _save(ctx, state, step.name, answers)
            return ask(ctx, flow, step, state)
        step = flow.step(state.step)
        value = _take(ctx, state, step, answers)
    except Invalid as problem:
        return reask(ctx, flow, state, str(problem))
    if step.kind == "attachment" and ctx.incoming.attachment is not None:
        # One more file: stay at the step for the next, or Done.
        answers[step.name] = value
        answers[ANSWERED] = answers[TYPED] = True
        _save(ctx, state, step.name, answers)
        return ask(ctx, flow, step, state)
    answers[step.name] = value
    answers[ANSWERED] = True
    if step.kind != "choice":
        answers[TYPED] = True
    return _advance(ctx, flow, state, answers, after=step.name)


def _take(ctx: Ctx, state: State, step: Step, answers: Answers) -> object:
    inc = ctx.incoming
    if step.kind == "choice":
        assert step.choices is not None
        value: object = resolve_choice(ctx, state, step.choices(ctx, answers))
    elif step.kind == "attachment":
        value = _take_file(ctx, state, step, answers)
    else:
        if inc.choice is not None:
            raise Invalid(_("That question has passed."))
        if inc.attachment is not None and not inc.text:
            raise Invalid(_("Please type your answer as text."))
        text = inc.text or ""  # cleaned at the seam (Incoming.cleaned)
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


def _take_file(ctx: Ctx, state: State, step: Step, answers: Answers) -> object:
    """A file added to the step's list; or, typed or pressed, Done (the list) or Skip (None)."""
    inc = ctx.incoming
    got = files_in(answers, step.name)
    if inc.attachment is not None:
        a = inc.attachment
        if len(got) >= files_max():
            raise Invalid(
                _(
                    "A report holds at most {n} files; that one was not added. Choose Done to "
                    "go on."
                ).format(n=files_max())
            )
        if a.refused is not None:
            raise Invalid(_refusal(a.refused, bool(got)))
        return [*got, {"kind": a.kind, "ref": a.ref, "name": a.name[:120], "path": a.path}]
    if got:
        words = [(DONE, _("Done")), *_done_words(), *_skip_words()]
        try:
            resolve_choice(ctx, state, words)
        except Invalid:
            raise Invalid(_("Please send another file, or choose Done.")) from None
        return got
    try:
        resolve_choice(ctx, state, [(SKIP, _("Skip")), *_skip_words()])
    except Invalid:
        raise Invalid(_("Please send a photo or a document, or choose Skip.")) from None
    return None


def _done_words() -> Choices:
    return [(DONE, word) for word in ("done", "xong", "xong rồi", "xong roi", "hết", "het", "đủ")]


def _refusal(reason: str, more: bool = False) -> str:
    """Why a file the adapter would not store cannot be the evidence."""
    if reason == "too_big":
        return _(
            "That file is too large (at most {mb} MB). Please send a smaller one, or choose Skip."
        ).format(mb=f"{get_settings().upload_max_mb:g}")
    if more:
        return _("You have sent as many files as one day allows. Please choose Done.")
    return _("You have sent as many files as one day allows. Please choose Skip.")


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
        return reask(ctx, flow, state, str(problem))
    drop_state(ctx, state)
    return replies


def _answer_abandon(
    ctx: Ctx, flow: Flow, state: State, answers: Answers
) -> list[Reply] | RunCommand:
    picked = resolve_choice(ctx, state, [(YES, _("Yes, leave it")), (NO, _("No, continue"))])
    pending = str(answers.pop("_pending", ""))
    resume = str(answers.pop("_resume", ""))
    if picked == YES:
        drop_state(ctx, state)
        name, _sep, args = pending.lstrip("/").partition(" ")
        return RunCommand(name, args)
    state.step = resume
    state.answers = answers
    return reask(ctx, flow, state)

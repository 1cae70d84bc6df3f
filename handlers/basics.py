"""`/start` (registration), `/help`, `/lang`, and what an unregistered person is told."""

from __future__ import annotations

import re
from typing import cast

from bot.core import models as m
from bot.core.i18n import LANGUAGES, _, language, render
from bot.core.people import INVITE_ALPHABET, INVITE_LENGTH, Outcome, bind_candidate, register
from bot.core.roles import Role
from handlers import engine
from handlers.context import Ctx, both_names
from handlers.engine import Answers, Flow, Step
from handlers.types import Reply

_CODE = re.compile(rf"^[{INVITE_ALPHABET}{INVITE_ALPHABET.lower()}\-\s]{{{INVITE_LENGTH},16}}$")


def role_label(role: str) -> str:
    labels: dict[str, str] = {
        Role.STAFF: _("staff"),
        Role.HEAD: _("unit head"),
        Role.CLERK: _("office clerk"),
        Role.ADMIN: _("administrator"),
    }
    return labels.get(role, role)


def looks_like_code(text: str | None) -> bool:
    return bool(text and _CODE.match(text.strip()))


def how_to_register() -> list[Reply]:
    return [
        Reply(
            _(
                "Hello! I am thidua, the automated assistant of the office's emulation "
                "campaign. To begin, send the invite code your office gave you:\n"
                "/start CODE"
            )
        )
    ]


def start(ctx: Ctx, args: str) -> list[Reply]:
    if ctx.registered and not args:
        return [Reply(greeting(ctx))]
    if not args:
        return how_to_register()
    if not ctx.registered and _candidate(ctx, args) is not None:
        return engine.start(ctx, BIND, args)  # "are you …?" first
    return _register(ctx, args)


def _candidate(ctx: Ctx, code: str) -> m.Person | None:
    return bind_candidate(
        session=ctx.session, code=code, display_name=ctx.incoming.display_name, now=ctx.now
    )


def _register(ctx: Ctx, args: str, bind_to: int | None = None) -> list[Reply]:
    inc = ctx.incoming
    result = register(
        session=ctx.session,
        channel=inc.channel,
        user_id=inc.user_id,
        chat_id=inc.chat_id,
        display_name=inc.display_name,
        code=args,
        now=ctx.now,
        bind_to=bind_to,
    )
    if result.outcome in (Outcome.REGISTERED, Outcome.LINKED, Outcome.ALREADY):
        assert result.person is not None  # these outcomes come with the person
        ctx.person, ctx.unit = result.person, result.unit
        with language(result.person.lang):
            lead = {
                Outcome.ALREADY: _("You are already registered."),
                Outcome.LINKED: _("This app is now connected to your account."),
                Outcome.REGISTERED: "",
            }[result.outcome]
            changed = result.outcome != Outcome.ALREADY
            return [Reply(f"{lead}\n\n{greeting(ctx)}".strip(), commands_changed=changed)]
    return [
        Reply(
            {
                Outcome.UNKNOWN: _(
                    "That invite code is not valid. Check it and send /start CODE again."
                ),
                Outcome.USED: _(
                    "That invite code has already been used. Ask your office for a new one."
                ),
                Outcome.EXPIRED: _("That invite code has expired. Ask your office for a new one."),
                Outcome.LOCKED: _("Too many wrong codes. Please try again in an hour."),
            }[result.outcome]
        )
    ]


def greeting(ctx: Ctx) -> str:
    assert ctx.person is not None and ctx.unit is not None  # greeted once registered
    return render(
        "greeting.txt.j2",
        name=ctx.person.full_name,
        unit=ctx.unit.name,
        role=role_label(ctx.person.role),
        theme=ctx.campaign.theme,
        year=ctx.campaign.year,
        commands=ctx.allowed_commands(),
        names=both_names,
    )


def help_text(ctx: Ctx) -> str:
    if not ctx.registered:
        return how_to_register()[0].text
    return render("help.txt.j2", commands=ctx.allowed_commands(), names=both_names)


def _set_language(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None  # flows run for registered people only
    ctx.person.lang = str(answers["lang"])
    ctx.session.add(ctx.person)
    with language(ctx.person.lang):
        return [
            Reply(
                _("Language set: English.")
                if ctx.person.lang == "en"
                else _("Language set: Vietnamese."),
                commands_changed=True,
            )
        ]


def _bind_begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    found = _candidate(ctx, args)
    if found is None:
        return _register(ctx, args)
    return {"code": args, "candidate": found.id}


def _bind_prompt(ctx: Ctx, answers: Answers) -> str:
    found = ctx.session.get(m.Person, int(str(answers["candidate"])))
    unit = ctx.session.get(m.Unit, found.unit_id) if found else None
    return _("The office's staff list has {name} ({unit}). Is that you?").format(
        name=found.full_name if found else "", unit=unit.name if unit else ""
    )


def _bind_finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    chosen = int(str(answers["candidate"])) if answers.get("me") == "yes" else None
    return _register(ctx, str(answers["code"]), bind_to=chosen)


#: Registering with a unit code when the staff list has someone of that unit by the chat's
#: name: bind to them (no duplicate), or register as someone new. Named "start" so that it is
#: titled as /start and a new /start begins again.
BIND = Flow(
    name="start",
    menu=True,
    begin=_bind_begin,
    steps=(
        Step(
            "me",
            "choice",
            _bind_prompt,
            choices=lambda ctx, a: [
                ("yes", _("Yes, that is me")),
                ("no", _("No, I am someone else")),
            ],
        ),
    ),
    finish=_bind_finish,
)

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

LANG = Flow(
    name="lang",
    menu=True,
    steps=(
        Step(
            "lang",
            "choice",
            lambda ctx, a: _("Choose your language:"),
            choices=lambda ctx, a: [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            auto=lambda ctx, a: cast("str | None", a.get("lang")),  # set by `begin`
        ),
    ),
    begin=lambda ctx, args: {"lang": args.lower()} if args.lower() in LANGUAGES else {},
    finish=_set_language,
)

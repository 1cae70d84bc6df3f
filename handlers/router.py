"""One entry point for every channel: `handle(Incoming) -> list[Reply]`.

It opens one short database session for the turn, finds who is writing, sets their language,
and sends the message to a command, to the flow in progress, or to a short hint. Errors are
logged with a reference number and the person gets that number, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import sqlalchemy as sa
from sqlmodel import Session

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _, language
from bot.core.people import who
from bot.core.store import NoCampaign, active_campaign
from bot.core.text import tone_key
from handlers import basics, engine, registry
from handlers.context import Ctx, shown_name
from handlers.state import State, is_expired
from handlers.types import Incoming, Reply

log = logging.getLogger(__name__)
SEEN_EVERY = dt.timedelta(hours=1)


def handle(incoming: Incoming) -> list[Reply]:
    """Answer one message in a session of its own (the console; tests). Never raises: a
    failure becomes an apology with a reference."""
    incoming = incoming.cleaned()  # the one place text from a platform is made storable
    try:
        with session_scope() as session:
            return _turn(session, incoming)
    except NoCampaign:
        return [_not_set_up()]
    except Exception:
        return [apology(incoming)]


def respond(session: Session, incoming: Incoming) -> list[Reply]:
    """Answer one (cleaned) message inside the caller's transaction (the journal's).

    The turn runs in a savepoint: a bug rolls back the turn's own effects and becomes the
    apology, and the caller's work (the journal's mark) stands. A database that is gone is
    not the turn's fault: `sqlalchemy.exc.OperationalError` and `InterfaceError` go up, so
    the caller can keep the message for later. (On SQLite the caller must have written
    first, so that the transaction holds the write lock before the turn reads.)
    """
    try:
        with session.begin_nested():
            return _turn(session, incoming)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise
    except NoCampaign:
        return [_not_set_up()]
    except Exception:
        return [apology(incoming)]


def _not_set_up() -> Reply:
    log.error("no campaign loaded: run `thidua init`")
    with language(None):
        return Reply(_("The bot is not set up yet. Please tell the office."))


def apology(incoming: Incoming) -> Reply:
    """Sorry, with a reference number; the traceback goes to the log under it."""
    ref = secrets.token_hex(3).upper()
    log.exception("error ref=%s channel=%s chat=%s", ref, incoming.channel, incoming.chat_id)
    with language(None):
        return Reply(
            _(
                "Sorry, something went wrong (ref. {ref}). Please try again; "
                "if it keeps happening, tell the office this number."
            ).format(ref=ref)
        )


def _turn(session: Session, incoming: Incoming) -> list[Reply]:
    now = clock.now()
    row, campaign = active_campaign(session=session)
    ctx = Ctx(
        session=session,
        incoming=incoming,
        now=now,
        campaign_row=row,
        campaign=campaign,
        commands=registry.COMMANDS,
    )
    found = who(session=session, channel=incoming.channel, user_id=incoming.user_id)
    if found is not None:
        ctx.identity, ctx.person, ctx.unit = found
        _seen(ctx, ctx.identity)
    with language(ctx.person.lang if ctx.person else None):
        replies = _dispatch(ctx)
    engine.write_state(ctx)
    return replies


def _seen(ctx: Ctx, ident: m.Identity) -> None:
    """Note that the person wrote: the chat is reachable again (at most one write an hour)."""
    inc = ctx.incoming
    stale = ident.last_seen_at is None or ctx.now - ident.last_seen_at > SEEN_EVERY
    if stale or not ident.reachable or ident.chat_id != inc.chat_id:
        ident.last_seen_at, ident.reachable, ident.chat_id = ctx.now, True, inc.chat_id
        ident.unreachable_reason = None
        ctx.session.add(ident)


def _dispatch(ctx: Ctx) -> list[Reply]:
    inc = ctx.incoming
    state = engine.load_state(ctx)
    notes: list[Reply] = []
    if state is not None and is_expired(state, ctx.now):
        notes.append(
            Reply(
                _(
                    "Left unanswered for a day, this was dropped: {flow}; nothing of it was saved."
                ).format(flow=engine.flow_title(ctx, state.flow))
            )
        )
        engine.drop_state(ctx, state)
        state = None
    if ctx.person is not None and not ctx.person.active:  # deactivated: records kept, no commands
        engine.drop_state(ctx, state)
        return [
            Reply(
                _(
                    "Your account is no longer active, so I cannot take commands from it. "
                    "If this is a mistake, please tell the office."
                )
            )
        ]
    if inc.command is not None:
        found = registry.BY_NAME.get(inc.command) or registry.by_words(inc.command)
        return notes + _command(ctx, state, found, f"/{inc.command}", inc.args)
    if not ctx.registered:
        if state is not None and state.flow == basics.BIND.name:  # "is that you?" at /start
            return _answer(ctx, state, notes)
        if basics.looks_like_code(inc.text):
            return basics.start(ctx, inc.text or "")
        return basics.how_to_register()
    typed = _typed_command(ctx, state)
    if typed is not None:
        command, shown, args = typed
        return notes + _command(ctx, state, command, shown, args)
    if inc.text is None and inc.choice is None and inc.attachment is None:
        text = _(
            "Only text messages can be read here (and photos as evidence). Please "
            "type your message; /help lists the commands."
        )  # a sticker, a voice note: nothing in it we can read
        return notes + (_reask(ctx, state, text) if state else [Reply(text)])
    if state is not None:
        return _answer(ctx, state, notes)
    if inc.choice is not None:
        return [Reply(_("That question has passed. /help lists what I can do."))]
    hint = _(
        "I did not understand that. Start with a command, e.g. /report; /help lists them all."
    )
    return [*notes, Reply(hint)]


def _answer(ctx: Ctx, state: State, notes: list[Reply]) -> list[Reply]:
    """The message as the answer to the pending question (or its Hủy, or a cancel word)."""
    typed = _typed_command(ctx, state)
    if engine.is_cancel(ctx, state) or (typed is not None and typed[0].name == "cancel"):
        return notes + _cancel(ctx, state)
    outcome = engine.answer(ctx, registry.FLOWS[state.flow], state)
    if isinstance(outcome, engine.RunCommand):  # the person left the flow for a command
        return notes + run_command(ctx, outcome.name, outcome.args)
    return notes + outcome


#: What cancels while a question is pending, compared by `tone_key` (any case, either
#: tone-mark placement, NFC or NFD): the unaccented "huy" is not among them, since Huy is a
#: name a person may well type as an answer. Matching data, never shown.
_CANCEL_WORDS = frozenset(tone_key(w) for w in ("hủy", "hủy bỏ", "cancel"))


def _typed_command(ctx: Ctx, state: State | None) -> tuple[registry.Command, str, str] | None:
    """A command typed without the platform's command syntax: "/huỷ" (not ASCII), or a
    command's words without the slash ("báo cáo", "Tong hop") when no question is pending;
    while one is, only the cancel words. (command, its name as shown, arguments)"""
    text = (ctx.incoming.text or "").strip()
    if not text or ctx.incoming.attachment is not None:
        return None
    if text.startswith("/"):
        head, _sep, args = text.partition(" ")
        found = registry.by_words(head)
        return None if found is None else (found, head, args.strip())
    if state is not None:
        if tone_key(text) in _CANCEL_WORDS:
            return registry.BY_NAME["cancel"], text, ""
        return None
    found = registry.by_words(text)
    return None if found is None else (found, shown_name(found), "")


def _cancel(ctx: Ctx, state: State | None) -> list[Reply]:
    if state is None:
        return [Reply(_("Nothing to cancel."))]
    engine.drop_state(ctx, state)
    return [
        Reply(
            _("Cancelled: {flow}. Nothing was saved.").format(
                flow=engine.flow_title(ctx, state.flow)
            )
        )
    ]


def _command(
    ctx: Ctx, state: State | None, command: registry.Command | None, shown: str, args: str
) -> list[Reply]:
    """Run a command (`shown`: its name as the person typed it, e.g. "/tonghop")."""
    at_start = command is not None and (
        command.name == "start" or (command.name == "cancel" and state is not None)
    )  # an unregistered chat may register, and cancel the "is that you?" of /start
    if not ctx.registered and not at_start:
        return basics.how_to_register()
    if command is None:
        text = _("There is no command {command}. /help lists what I can do.").format(command=shown)
        return _reask(ctx, state, text) if state else [Reply(text)]
    if command.name == "cancel":
        return _cancel(ctx, state)
    if command.name == "help":
        text = basics.help_text(ctx)
        return _reask(ctx, state, text) if state and ctx.registered else [Reply(text)]
    if command.name == "start":
        if state is not None and ctx.registered and not args:
            return _reask(ctx, state, basics.greeting(ctx))
        return basics.start(ctx, args)
    if state is not None and state.flow != command.name:
        if engine.worth_asking(registry.FLOWS[state.flow], state):
            return engine.ask_abandon(ctx, state, f"{shown} {args}".strip())
        engine.drop_state(ctx, state)  # nothing worth keeping: left silently
    return run_command(ctx, shown.lstrip("/"), args)


def run_command(ctx: Ctx, name: str, args: str) -> list[Reply]:
    """Run a command for a registered person, if their role allows it (`name` as typed)."""
    command = registry.BY_NAME.get(name) or registry.by_words(name)
    assert command is not None  # the router found it before
    if ctx.role not in command.roles:
        return [
            Reply(
                _("Sorry, {command} is not available to your role ({role}).").format(
                    command=f"/{name}", role=basics.role_label(ctx.role or "")
                )
            )
        ]
    return command.run(ctx, args)


def _reask(ctx: Ctx, state: State, prefix: str) -> list[Reply]:
    return engine.reask(ctx, registry.FLOWS[state.flow], state, prefix)

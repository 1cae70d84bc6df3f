"""What a handler knows about the turn: the message, the person, the campaign, the session,
and the bot's commands (handed down by the router from the registry)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlmodel import Session

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from bot.core.i18n import current_language
from handlers.state import State
from handlers.types import Incoming


class Listed(Protocol):
    """A command as menus, help and flow titles show it (`handlers.registry.Command`)."""

    @property
    def name(self) -> str: ...
    @property
    def alias(self) -> str | None: ...
    @property
    def roles(self) -> frozenset[str]: ...
    @property
    def describe(self) -> Callable[[], str]: ...


def shown_name(command: Listed) -> str:
    """/baocao to people reading Vietnamese, /report to those reading English."""
    if command.alias and current_language() == "vi":
        return f"/{command.alias}"
    return f"/{command.name}"


def both_names(command: Listed) -> str:
    """ "/baocao (/report)" in Vietnamese, "/report (/baocao)" in English: help and greetings."""
    first = shown_name(command)
    other = f"/{command.name}" if first != f"/{command.name}" else f"/{command.alias}"
    return f"{first} ({other})" if command.alias else first


@dataclass
class Ctx:
    session: Session
    incoming: Incoming
    now: dt.datetime
    campaign_row: m.Campaign
    campaign: Campaign
    identity: m.Identity | None = None
    person: m.Person | None = None
    unit: m.Unit | None = None
    state: State | None = None  # the chat's place in a flow; the router stores it at the end
    commands: Sequence[Listed] = field(default_factory=list)  # every command, in menu order

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(LOCAL).date()

    @property
    def role(self) -> str | None:
        return self.person.role if self.person else None

    @property
    def registered(self) -> bool:
        return self.person is not None

    def allowed_commands(self) -> list[Listed]:
        return allowed(self.commands, self.role)

    def open_phases(self) -> list[int]:
        return [p.number for p in self.campaign.open_phases(self.today)]


L = TypeVar("L", bound=Listed)


def allowed(commands: Sequence[L], role: str | None) -> list[L]:
    """The commands `role` may run, in menu order (`/start` is for everyone, never listed)."""
    return [c for c in commands if role in c.roles and c.name != "start"]

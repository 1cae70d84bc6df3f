"""What a handler knows about the turn: the message, the person, the campaign, the session."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot import models as m
from bot.campaign import Campaign
from bot.clock import LOCAL
from handlers.types import Incoming

if TYPE_CHECKING:
    from handlers.engine import State

STAFF, HEAD, CLERK, ADMIN = "staff", "head", "clerk", "admin"
OFFICE_ROLES = frozenset({CLERK, ADMIN})


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

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(LOCAL).date()

    @property
    def role(self) -> str | None:
        return self.person.role if self.person else None

    @property
    def registered(self) -> bool:
        return self.person is not None

    def open_phases(self) -> list[int]:
        return [p.number for p in self.campaign.phases if p.open_for_reports(self.today)]

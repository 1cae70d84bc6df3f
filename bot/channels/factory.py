"""The channels this process runs: one runner per platform whose token is set."""

from __future__ import annotations

from sqlmodel import Session

from bot.channels.base import Runner
from bot.channels.telegram import TelegramRunner
from bot.channels.zalo import ZaloRunner
from bot.core.settings import Settings
from handlers.types import Incoming, Reply, Respond


def build_runners(settings: Settings, respond: Respond) -> list[Runner]:
    """Telegram and Zalo runners, in that order, for the tokens that are set."""
    runners: list[Runner] = []
    if settings.telegram_bot_token is not None:
        runners.append(TelegramRunner(settings, respond))
    if settings.zalo_bot_token is not None:
        runners.append(ZaloRunner(settings, respond))
    return runners


def build_senders(settings: Settings, channels: tuple[str, ...]) -> list[Runner]:
    """Runners that only send (the delivery process): they never receive, so never handle."""
    return [r for r in build_runners(settings, _never_handled) if r.name in channels]


def _never_handled(session: Session, incoming: Incoming) -> list[Reply]:
    raise RuntimeError(f"a sending-only runner received an update from {incoming.channel}")

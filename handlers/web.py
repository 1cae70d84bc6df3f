"""`/web` (`/trangweb`): a one-time link that signs the office or a unit head in to the web desk.

The link is built on THIDUA_PUBLIC_URL, works once, within ten minutes; the desk itself is
`bot/channels/web`. The bot serves private chats only, so the link never lands in a group.
"""

from __future__ import annotations

from bot.core.i18n import _
from bot.core.settings import get_settings
from bot.core.web_auth import LINK_TTL, issue_link
from handlers.context import Ctx
from handlers.types import Reply

LOGIN_PATH = "/web/login/"


def describe() -> str:
    return _("open the web desk (a sign-in link)")


def run(ctx: Ctx, args: str) -> list[Reply]:
    assert ctx.person is not None  # the router lets registered heads and the office in only
    base = get_settings().public_url
    if not base:
        return [
            Reply(
                _(
                    "The web desk has no address yet: the administrator sets "
                    "THIDUA_PUBLIC_URL. Until then, use /summary and /export here."
                )
            )
        ]
    token = issue_link(session=ctx.session, person=ctx.person, now=ctx.now)
    minutes = int(LINK_TTL.total_seconds() // 60)
    return [
        Reply(
            _(
                "Your sign-in link for the web desk (works once, for {n} minutes; "
                "do not forward it):\n{url}"
            ).format(n=minutes, url=f"{base}{LOGIN_PATH}{token}")
        )
    ]

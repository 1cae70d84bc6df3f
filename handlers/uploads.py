"""Whether a file someone sent may be downloaded: only a registered person's, and only when the
question in hand asks for evidence. Asked before anything is fetched, so a stranger, or a file
sent outside a flow, costs no download and no disk."""

from __future__ import annotations

from bot.core.db import session_scope
from bot.core.people import who
from handlers import registry, state


def evidence_expected(*, channel: str, chat_id: str, user_id: str) -> bool:
    """The chat belongs to a registered person whose flow is at an evidence step."""
    with session_scope() as session:
        if who(session=session, channel=channel, user_id=user_id) is None:
            return False
        found = state.load(session, channel, chat_id)
    if found is None or found.flow not in registry.FLOWS:
        return False
    steps = {s.name: s for s in registry.FLOWS[found.flow].steps}
    step = steps.get(found.step)
    return step is not None and step.kind == "attachment"

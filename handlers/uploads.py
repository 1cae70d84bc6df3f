"""Whether a file someone sent may be downloaded: only a registered person's, and only when the
question in hand asks for evidence and the report has room for one more file. Asked before
anything is fetched, so a stranger, a file sent outside a flow, or one past the report's limit
costs no download and no disk."""

from __future__ import annotations

from bot.core.db import session_scope
from bot.core.people import who
from handlers import registry, state
from handlers.engine import files_in, files_max


def evidence_expected(*, channel: str, chat_id: str, user_id: str) -> bool:
    """The chat belongs to a registered person whose flow is at an evidence step that can
    take another file."""
    with session_scope() as session:
        if who(session=session, channel=channel, user_id=user_id) is None:
            return False
        found = state.load(session, channel, chat_id)
    if found is None or found.flow not in registry.FLOWS:
        return False
    steps = {s.name: s for s in registry.FLOWS[found.flow].steps}
    step = steps.get(found.step)
    if step is None or step.kind != "attachment":
        return False
    return len(files_in(found.answers, step.name)) < files_max()

"""What the office does from the desk, as it does in the chat: accept or return a report or a
nomination (`handlers.review.decide`: the same audit log, the same message to the person), and
remind one unit now (`handlers.remind`: the same nudge, the same push key scheme).

Each returns where to send the browser next (the page it came from, with what happened).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from sqlmodel import col, select

from bot.channels.web import views
from bot.channels.web.views import Forbidden, NotFound, Store, Viewer
from bot.core import citations
from bot.core import models as m
from bot.core.settings import get_settings
from handlers import remind, review
from handlers.review import REASON_MAX
from schedules import outbox

ACCEPT, RETURN = "accept", "return"


class Refused(Exception):
    """The form cannot be done as sent (no reason given, already reviewed); the text says why."""


def review_item(
    store: Store, viewer: Viewer, kind: str, receipt: str, form: dict[str, str]
) -> str:
    """Accept or return a report (`kind` "reports") or a nomination ("nominations")."""
    if not viewer.office:
        raise Forbidden
    row: m.Report | m.Nomination = (
        views.item(store, viewer, m.Report, receipt)
        if kind == "reports"
        else views.item(store, viewer, m.Nomination, receipt)
    )
    action = form.get("action")
    reason = " ".join(form.get("reason", "").split())
    if action not in (ACCEPT, RETURN):
        raise Refused("action")
    if action == RETURN and not reason:
        raise Refused("reason")
    if len(reason) > REASON_MAX:
        raise Refused("long")
    if not review.reviewable(row):
        raise Refused("reviewed")
    if action == ACCEPT and isinstance(row, m.Nomination):  # as /duyet: one achievement, one award
        conflict = citations.conflicts(
            session=store.session, campaign=store.campaign, nomination=row
        )
        if conflict:
            raise Refused(conflict)
    reviewer = store.session.get(m.Person, viewer.person_id)
    assert reviewer is not None  # the session's person
    told = review.decide(
        session=store.session,
        row=row,
        reviewer=reviewer,
        accept=action == ACCEPT,
        reason=reason,
        now=store.now,
        channel="web",
        chat_id=None,
    )
    done = {"done": action}
    if action == RETURN:
        done["told"] = told or "-"
    return f"/web/{kind}/{row.receipt}?{urlencode(done)}"


def remind_unit(store: Store, viewer: Viewer, code: str, form: dict[str, str]) -> str:
    """Nudge now the heads of one unit that owes its phase report."""
    if not viewer.office:
        raise Forbidden
    unit = store.session.exec(select(m.Unit).where(col(m.Unit.code) == code.upper())).first()
    if unit is None or unit.id is None:
        raise NotFound
    numbers = {p.number for p in store.campaign.phases}
    phase = int(form["phase"]) if form.get("phase", "").isdigit() else None
    if phase not in numbers:
        raise Refused("phase")
    assert phase is not None
    if not store.campaign.phase(phase).open_for_reports(store.today):
        raise Refused("closed")
    if not outbox.configured_channels(get_settings()):
        raise Refused("channels")
    found = remind.plan_nudges(
        session=store.session,
        campaign_id=store.campaign_id,
        campaign=store.campaign,
        number=phase,
        today=store.today,
        unit_id=unit.id,
    )
    sent = 0
    if found.messages:
        sent = remind.queue_nudges(
            session=store.session,
            campaign_id=store.campaign_id,
            campaign=store.campaign,
            found=found,
            ref=f"web-{unit.code.lower()}-{secrets.token_hex(3)}",
            person_id=viewer.person_id,
            now=store.now,
        )
    state = "sent" if sent else ("filed" if not found.missing else "nobody")
    return f"/web/units?{urlencode({'phase': phase, 'reminded': state, 'sent': sent})}"

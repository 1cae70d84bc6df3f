"""What the desk checks about a nomination before the office decides on it.

Today: the titles the plan requires alongside it that the nominee lacks
(`bot.core.nominations.missing_prerequisites`). A fuller eligibility check
(`bot.core.eligibility.precheck(session, nomination)`) is being written on another branch;
when it lands, its findings join this list here, and every page that shows checks follows.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.i18n import _
from bot.core.nominations import LIVE


def prechecks(session: Session, campaign: Campaign, nomination: m.Nomination) -> list[str]:
    """The problems found with `nomination`, as sentences for the reviewer (none: [])."""
    assert nomination.id is not None  # a stored row
    return prechecks_for(session, campaign, [nomination])[nomination.id]


def prechecks_for(
    session: Session, campaign: Campaign, nominations: list[m.Nomination]
) -> dict[int, list[str]]:
    """`prechecks` for a page of nominations, with one query for all of them: the titles
    each nominee already holds (live nominations, as `missing_prerequisites` reads them)."""
    keys = {n.nominee_key for n in nominations}
    held: set[tuple[str, str]] = set()
    if keys and nominations:
        held = {
            (key, code)
            for key, code in session.exec(
                select(m.Nomination.nominee_key, m.Nomination.title_code).where(
                    col(m.Nomination.campaign_id) == nominations[0].campaign_id,
                    col(m.Nomination.nominee_key).in_(keys),
                    col(m.Nomination.status).in_(LIVE),
                )
            )
        }
    titles = campaign.titles_by_code
    found: dict[int, list[str]] = {}
    for n in nominations:
        assert n.id is not None  # stored rows
        title = titles.get(n.title_code)
        if title is None:
            found[n.id] = [_("The title {code} is not in the plan.").format(code=n.title_code)]
            continue
        found[n.id] = [
            _("Also needs: {title}.").format(title=titles[code].name)
            for code in title.requires
            if (n.nominee_key, code) not in held
        ]
    return found

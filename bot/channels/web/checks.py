"""What the desk checks about a nomination before the office decides on it.

A nomination's own page shows the whole pre-check (`bot.core.eligibility.precheck`: each
condition of its title, met, missing or unknown, as in `/duyet`). The list of nominations shows
what one query for the whole page can tell: the titles the plan requires alongside each that
its nominee lacks (a pre-check costs a few queries a nomination, too many for a page of 50).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core import eligibility
from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.i18n import _
from bot.core.nominations import LIVE


def prechecks(
    session: Session, campaign: Campaign, nomination: m.Nomination
) -> list[tuple[str, bool]]:
    """The pre-check of `nomination`, a line a condition, and whether that one is met."""
    if nomination.title_code not in campaign.titles_by_code:
        return [
            (_("The title {code} is not in the plan.").format(code=nomination.title_code), False)
        ]
    found = eligibility.precheck(session, nomination)
    lines = eligibility.render_lines(found)
    return [(line, c.outcome == "met") for line, c in zip(lines, found.checks, strict=True)]


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

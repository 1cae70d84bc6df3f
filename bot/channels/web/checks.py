"""What the desk checks about a nomination before the office decides on it.

Today: the titles the plan requires alongside it that the nominee lacks
(`bot.core.nominations.missing_prerequisites`). A fuller eligibility check
(`bot.core.eligibility.precheck(session, nomination)`) is being written on another branch;
when it lands, its findings join this list here, and every page that shows checks follows.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.i18n import _
from bot.core.nominations import missing_prerequisites


def prechecks(session: Session, campaign: Campaign, nomination: m.Nomination) -> list[str]:
    """The problems found with `nomination`, as sentences for the reviewer (none: [])."""
    if nomination.title_code not in campaign.titles_by_code:
        return [_("The title {code} is not in the plan.").format(code=nomination.title_code)]
    missing = missing_prerequisites(
        session=session,
        campaign=campaign,
        campaign_id=nomination.campaign_id,
        key=nomination.nominee_key,
        title_code=nomination.title_code,
    )
    return [_("Also needs: {title}.").format(title=title) for title in missing]

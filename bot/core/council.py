"""The council (Hội đồng Thi đua – Khen thưởng) and its secret vote (bình xét, bỏ phiếu kín).

The clerk appoints members (a seat per campaign; a person keeps their own role) and opens a
ballot session on the accepted nominations. Each member votes once, in private chat; the clerk
closes the session and the tally applies each title's threshold and the council's quorum
(`vote_threshold` and `[council]` in the campaign file).

The vote is secret: the store knows who voted (`ballot_turnout`, the audit line
`ballot.cast`) and what the ballots say (`ballot`), never which ballot is whose:
- a ballot has a random id, its session and its choices: no voter, no time;
- while the session is open the ballots sit in the session's `box`, one list shuffled at
  every cast; at the close they become rows in one batch, in random order, so neither a
  SQLite rowid nor PostgreSQL's physical order follows the order of voting;
- the chat traces of a ballot (the voter's answers in the inbound journal, the bot's
  questions and summary in the outbox) are cleared when it is cast, and those of every
  member's chat since the opening (a ballot begun and left) at the close;
- nothing here logs a choice.
What this cannot hide: someone who reads the database between two casts sees which ballot
came in; and deleted data may stay in free pages of the database file until reused.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import models as m
from bot.core.ballot_traces import forget_chat
from bot.core.campaign import Campaign, ShareRule
from bot.core.i18n import _
from bot.core.store import audit

YES, NO = "yes", "no"
BALLOT = m.Ballot.__table__


class CouncilError(Exception):
    """What cannot be done, said politely (the message is shown as it is)."""


# --- members ------------------------------------------------------------------------------


def members(*, session: Session, campaign_id: int) -> list[m.Person]:
    """The council's members, by name: active people only (one who left keeps the seat's
    row but neither votes nor counts towards the quorum)."""
    return list(
        session.exec(
            select(m.Person)
            .join(m.CouncilMember, col(m.CouncilMember.person_id) == m.Person.id)
            .where(m.CouncilMember.campaign_id == campaign_id, m.Person.active)
            .order_by(col(m.Person.full_name), col(m.Person.id))
        )
    )


def is_member(*, session: Session, campaign_id: int, person_id: int) -> bool:
    return session.get(m.CouncilMember, (campaign_id, person_id)) is not None


def add_member(
    *, session: Session, campaign_id: int, person: m.Person, by: int | None, now: dt.datetime
) -> bool:
    """Appoint `person`; False if they sit on the council already."""
    if not person.active:
        raise CouncilError(
            _("{name} is no longer active and cannot sit on the council.").format(
                name=person.full_name
            )
        )
    assert person.id is not None
    if is_member(session=session, campaign_id=campaign_id, person_id=person.id):
        return False
    session.add(m.CouncilMember(campaign_id=campaign_id, person_id=person.id, added_at=now))
    audit(session=session, action="council.add", person_id=by, subject=f"person:{person.id}")
    return True


def remove_member(*, session: Session, campaign_id: int, person: m.Person, by: int | None) -> bool:
    """Take `person` off the council; False if they were not on it."""
    seat = session.get(m.CouncilMember, (campaign_id, person.id))
    if seat is None:
        return False
    session.delete(seat)
    audit(session=session, action="council.remove", person_id=by, subject=f"person:{person.id}")
    return True


# --- sessions -----------------------------------------------------------------------------


def accepted_nominations(
    *, session: Session, campaign: Campaign, campaign_id: int, phase: int | None
) -> list[m.Nomination]:
    """The candidates: accepted nominations of `phase` (the year-end ones, with no phase, go
    with the last) or of the whole year (None), in the campaign's order of titles."""
    n = m.Nomination
    query = select(n).where(n.campaign_id == campaign_id, n.status == "accepted")
    if phase is not None:
        last = max(p.number for p in campaign.phases)
        cond = col(n.phase) == phase
        query = query.where(cond | col(n.phase).is_(None) if phase == last else cond)
    rows = list(session.exec(query.order_by(col(n.nominee_name), col(n.id))))
    order = {t.code: i for i, t in enumerate(campaign.titles)}
    return sorted(rows, key=lambda row: order.get(row.title_code, len(order)))


def open_session(
    *,
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    phase: int | None,
    by: int,
    now: dt.datetime,
) -> m.BallotSession:
    """Open a session on the accepted nominations of `phase` (None: the year)."""
    if current(session=session, campaign_id=campaign_id) is not None:
        raise CouncilError(_("A ballot session is open already: close it first."))
    seats = members(session=session, campaign_id=campaign_id)
    if not seats:
        raise CouncilError(_("The council has no members yet."))
    found = accepted_nominations(
        session=session, campaign=campaign, campaign_id=campaign_id, phase=phase
    )
    if not found:
        raise CouncilError(_("There is no accepted nomination to vote on."))
    row = m.BallotSession(
        campaign_id=campaign_id,
        phase=phase,
        candidates=[n.id for n in found],
        members=len(seats),
        box=[],
        result={},
        opened_by=by,
        opened_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session=session,
        action="ballot.open",
        person_id=by,
        subject=f"session:{row.id}",
        detail={"phase": phase, "candidates": len(found), "members": len(seats)},
    )
    return row


def current(*, session: Session, campaign_id: int) -> m.BallotSession | None:
    """The open session, if any (one at a time)."""
    return session.exec(
        select(m.BallotSession).where(
            m.BallotSession.campaign_id == campaign_id, m.BallotSession.status == "open"
        )
    ).first()


def voted(*, session: Session, session_id: int) -> list[int]:
    """The people who have voted in a session (the turnout)."""
    return list(
        session.exec(
            select(m.BallotTurnout.person_id)
            .where(m.BallotTurnout.session_id == session_id)
            .order_by(col(m.BallotTurnout.person_id))
        )
    )


def has_voted(*, session: Session, session_id: int, person_id: int) -> bool:
    return session.get(m.BallotTurnout, (session_id, person_id)) is not None


def cast(
    *,
    session: Session,
    session_id: int,
    person: m.Person,
    choices: dict[str, str],
    channel: str | None = None,
    chat_id: str | None = None,
) -> None:
    """Put `person`'s ballot in the box; CouncilError if it is late, a second one, or theirs
    to cast at all. The turnout and the audit line say that they voted, not how."""
    assert person.id is not None
    row = session.exec(
        select(m.BallotSession).where(m.BallotSession.id == session_id).with_for_update()
    ).one()  # the box is rewritten whole: concurrent casts on PostgreSQL wait for each other
    if row.status != "open":
        raise CouncilError(_("The ballot session is closed: your ballot was not counted."))
    if not is_member(session=session, campaign_id=row.campaign_id, person_id=person.id):
        raise CouncilError(_("You are not on the council, so you have no ballot."))
    if has_voted(session=session, session_id=session_id, person_id=person.id):
        raise CouncilError(_("You have voted in this session already: a vote is cast once."))
    expected = {str(n) for n in row.candidates}
    if set(choices) != expected or any(v not in (YES, NO) for v in choices.values()):
        raise CouncilError(_("The ballot does not match the session's candidates."))
    session.add(m.BallotTurnout(session_id=session_id, person_id=person.id))
    box = [*row.box, dict(sorted(choices.items()))]
    random.SystemRandom().shuffle(box)
    row.box = box
    session.add(row)
    audit(
        session=session,
        action="ballot.cast",
        person_id=person.id,
        channel=channel,
        chat_id=chat_id,
        subject=f"session:{session_id}",
    )
    session.flush()


# --- the tally ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One candidate's votes and result."""

    nomination_id: int
    yes: int
    no: int
    base: int  # what the share is of: the members who voted, or all members
    threshold: str
    passed: bool

    @property
    def share(self) -> float:
        return self.yes / self.base if self.base else 0.0


@dataclass(frozen=True)
class Tally:
    members: int
    voted: int
    quorum: str
    quorum_met: bool
    base: str  # present | members
    outcomes: list[Outcome]


def tally(
    *,
    campaign: Campaign,
    row: m.BallotSession,
    ballots: list[dict[str, str]],
    codes: dict[str, str],
) -> Tally:
    """Count the ballots against each title's threshold (`codes`: each candidate's title)
    and the council's quorum."""
    rules = campaign.council
    turnout = len(ballots)
    quorum_met = ShareRule.parse(rules.quorum).met(turnout, row.members)
    base = turnout if rules.base == "present" else row.members
    titles = campaign.titles_by_code
    outcomes = []
    for nid in row.candidates:
        yes = sum(1 for b in ballots if b.get(str(nid)) == YES)
        no = sum(1 for b in ballots if b.get(str(nid)) == NO)
        title = titles.get(codes.get(str(nid), ""))
        threshold = title.vote_threshold if title else "> 1/2"
        passed = quorum_met and ShareRule.parse(threshold).met(yes, base)
        outcomes.append(Outcome(nid, yes, no, base, threshold, passed))
    return Tally(row.members, turnout, rules.quorum, quorum_met, rules.base, outcomes)


def close(
    *, session: Session, campaign: Campaign, session_id: int, by: int | None, now: dt.datetime
) -> Tally:
    """Close the session: tally, store the ballots (random order, random ids), empty the box,
    clear what members' chats still hold of the vote."""
    row = session.exec(
        select(m.BallotSession).where(m.BallotSession.id == session_id).with_for_update()
    ).one()
    if row.status != "open":
        raise CouncilError(_("That ballot session is closed already."))
    codes = {
        str(n.id): n.title_code
        for n in session.exec(select(m.Nomination).where(col(m.Nomination.id).in_(row.candidates)))
    }
    ballots: list[dict[str, str]] = list(row.box)
    found = tally(campaign=campaign, row=row, ballots=ballots, codes=codes)
    random.SystemRandom().shuffle(ballots)
    if ballots:
        session.connection().execute(  # one batch: the rows' order is the shuffle's
            sa.insert(BALLOT),
            [{"id": uuid.uuid4().hex, "session_id": session_id, "choices": b} for b in ballots],
        )
    row.box, row.status, row.closed_at = [], "closed", now
    row.result = {
        "titles": codes,
        "members": found.members,
        "voted": found.voted,
        "quorum": found.quorum,
        "quorum_met": found.quorum_met,
        "base": found.base,
        "outcomes": [vars(o) for o in found.outcomes],
    }
    session.add(row)
    audit(
        session=session,
        action="ballot.close",
        person_id=by,
        subject=f"session:{session_id}",
        detail={
            "voted": found.voted,
            "members": found.members,
            "quorum_met": found.quorum_met,
            "passed": sum(o.passed for o in found.outcomes),
        },
    )
    seated = [p.id for p in members(session=session, campaign_id=row.campaign_id)]
    for identity in session.exec(select(m.Identity).where(col(m.Identity.person_id).in_(seated))):
        forget_chat(
            session=session,
            channel=identity.channel,
            chat_id=identity.chat_id,
            since=row.opened_at,
            waiting_too=False,  # a reply still to send may be another flow's: it goes as it is
        )
    session.flush()
    return found


def result_of(row: m.BallotSession) -> Tally:
    """A closed session's tally as stored at its close."""
    r = row.result
    return Tally(
        members=r["members"],
        voted=r["voted"],
        quorum=r["quorum"],
        quorum_met=r["quorum_met"],
        base=r["base"],
        outcomes=[Outcome(**o) for o in r["outcomes"]],
    )


# --- what a candidate is shown as -----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An accepted nomination as a ballot, the minutes and the lists name it."""

    nomination: m.Nomination
    title: str  # the title's name
    unit: str  # the proposing unit's name
    position: str  # the nominee's position, if known

    @property
    def key(self) -> str:
        return str(self.nomination.id)


def candidates(*, session: Session, campaign: Campaign, row: m.BallotSession) -> list[Candidate]:
    """A session's candidates, in the order of its ballot."""
    by_id = {
        n.id: n
        for n in session.exec(select(m.Nomination).where(col(m.Nomination.id).in_(row.candidates)))
    }
    titles = campaign.titles_by_code
    found = []
    for nid in row.candidates:
        nom = by_id[nid]
        unit = session.get(m.Unit, nom.unit_id)
        person = session.get(m.Person, nom.nominee_person_id) if nom.nominee_person_id else None
        title = titles.get(nom.title_code)
        found.append(
            Candidate(
                nomination=nom,
                title=title.name if title else nom.title_code,
                unit=unit.name if unit else "",
                position=(person.position or "") if person else "",
            )
        )
    return found


def scope_label(campaign: Campaign, phase: int | None) -> str:
    """ "Đợt 1" or "cả năm 2022": what a session is for."""
    if phase is None:
        return _("the year {year}").format(year=campaign.year)
    return campaign.phase(phase).name


def rule_text(rule: str) -> str:
    """ "> 1/2" as people read it: "trên 1/2"; ">= 2/3": "từ 2/3 trở lên"."""
    parsed = ShareRule.parse(rule)
    share = (
        f"{parsed.numerator}%"
        if parsed.denominator == 100
        else f"{parsed.numerator}/{parsed.denominator}"
    )
    if parsed.at_least:
        return _("{share} or more").format(share=share)
    return _("more than {share}").format(share=share)


@dataclass(frozen=True)
class Line:
    """A candidate with its outcome, as the results and the dossier list them."""

    candidate: Candidate
    outcome: Outcome


def lines(*, session: Session, campaign: Campaign, row: m.BallotSession) -> list[Line]:
    """A closed session's candidates with their outcomes, in ballot order."""
    found = result_of(row)
    by_id = {o.nomination_id: o for o in found.outcomes}
    return [
        Line(c, by_id[c.nomination.id or 0])
        for c in candidates(session=session, campaign=campaign, row=row)
    ]


@dataclass(frozen=True)
class Group:
    title: str
    rule: str  # the threshold as people read it
    lines: list[Line]


def grouped(found: list[Line]) -> list[Group]:
    """Lines by title, in the order the titles first come."""
    groups: dict[str, list[Line]] = {}
    for line in found:
        groups.setdefault(line.candidate.title, []).append(line)
    return [Group(t, rule_text(ls[0].outcome.threshold), ls) for t, ls in groups.items()]

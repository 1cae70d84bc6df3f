"""A council of 9 and 12 accepted nominations (phase 1) for the bình xét tests.

Candidates, in ballot order (the campaign's order of titles, then name):
  LDTT (> 1/2)        c0..c5  six individuals of QLCN and TTRA
  CSTD-CS (>= 2/3)    c6..c8  three individuals
  TTLDTT (> 1/2)      c9, c10 the collectives QLCN and TTRA
  BK-UBND (> 1/2)     c11     one individual of TTRA
Each individual nominee has one report with an evidence file (a tiny PNG).
Members: QLCN's head (who keeps the role head) and 8 staff of VP. The clerk is not a member.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from bot.core import clock, council
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.nominations import record_nomination
from bot.core.reports import record_report
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from tests.telegram_helpers import tiny_png

TITLES = ["LDTT"] * 6 + ["CSTD-CS"] * 3 + ["TTLDTT"] * 2 + ["BK-UBND"]
NOMINEES = [  # (name, unit) for the individuals, in name order within their title
    ("Cao Văn Một", "QLCN"),
    ("Dương Thị Hai", "QLCN"),
    ("Hà Văn Ba", "TTRA"),
    ("Kiều Thị Bốn", "TTRA"),
    ("Lý Văn Năm", "QLCN"),
    ("Mạc Thị Sáu", "TTRA"),
    ("Ngô Văn Bảy", "QLCN"),
    ("Phan Thị Tám", "QLCN"),
    ("Quách Văn Chín", "TTRA"),
]
BK = ("Vũ Thị Mười Hai", "TTRA")


@dataclass
class Council:
    clerk: object
    head: object  # QLCN's head, on the council
    head_ttra: object  # TTRA's head, not on the council
    members: list  # the 9 (head first)
    candidates: list[int]  # nomination ids, in ballot order


def _unit(session, code: str) -> m.Unit:
    return session.exec(select(m.Unit).where(m.Unit.code == code)).one()


def seed(
    people, channel: str = "test", user_ids: list[str] | None = None, clerk_id: str | None = None
) -> Council:
    """`people`: conftest's People; members (and the clerk) are registered on `channel`
    (user ids given, or made up)."""
    ids = user_ids or [None] * 9
    clerk = people.add(
        role="clerk", unit="VP", name="Lê Thị Văn Thư", channel=channel, user_id=clerk_id
    )
    head = people.add(
        role="head", unit="QLCN", name="Hồ Trưởng Phòng", channel=channel, user_id=ids[0]
    )
    head_ttra = people.add(role="head", unit="TTRA", name="Võ Chánh Thanh Tra")
    members = [head] + [
        people.add(unit="VP", name=f"Thành Viên {k}", channel=channel, user_id=ids[k])
        for k in range(1, 9)
    ]
    now = clock.now()
    folder = Path(get_settings().attachments_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        proposer = {
            "QLCN": session.get(m.Person, head.id),
            "TTRA": session.get(m.Person, head_ttra.id),
        }
        nominees = []
        for name, unit in [*NOMINEES, BK]:
            person = m.Person(
                full_name=name,
                unit_id=_unit(session, unit).id,
                role="staff",
                position="Chuyên viên",
                created_at=now,
            )
            session.add(person)
            session.flush()
            evidence = folder / f"evidence-{person.id}.png"
            evidence.write_bytes(tiny_png())
            record_report(
                session=session,
                campaign=row,
                person=person,
                phase=1,
                area="chuyen-mon",
                title=f"Thành tích của {name}",
                detail="Hoàn thành xuất sắc nhiệm vụ được giao",
                now=now,
                evidence={"kind": "photo", "ref": "x", "path": str(evidence)},
            )
            nominees.append((person, unit))
        order = [*nominees[:9], None, None, nominees[9]]
        collectives = iter(["QLCN", "TTRA"])
        found = []
        for title, pair in zip(TITLES, order, strict=True):
            if pair is None:
                unit = _unit(session, next(collectives))
                nom = record_nomination(
                    session=session,
                    campaign=row,
                    proposer=proposer[unit.code],
                    unit_id=unit.id,
                    audience="collective",
                    nominee_name=unit.name,
                    nominee_unit_id=unit.id,
                    title_code=title,
                    basis=f"Tập thể {unit.code} hoàn thành xuất sắc nhiệm vụ",
                    now=now,
                    phase=1,
                )
            else:
                person, unit_code = pair
                nom = record_nomination(
                    session=session,
                    campaign=row,
                    proposer=proposer[unit_code],
                    unit_id=person.unit_id,
                    audience="individual",
                    nominee_name=person.full_name,
                    nominee_person_id=person.id,
                    title_code=title,
                    basis=f"{person.full_name} hoàn thành xuất sắc nhiệm vụ",
                    initiative="Sáng kiến số hóa hồ sơ" if title == "CSTD-CS" else None,
                    now=now,
                    phase=1,
                )
            nom.status = "accepted"
            session.add(nom)
            found.append(nom)
        session.flush()
        for member in members:
            council.add_member(
                session=session,
                campaign_id=row.id,
                person=session.get(m.Person, member.id),
                by=clerk.id,
                now=now,
            )
        candidate_ids = [n.id for n in found]
        # the ballot's order is the campaign's titles, then name: check the seed matches it
        shown = council.accepted_nominations(
            session=session, campaign=_c, campaign_id=row.id, phase=1
        )
        assert [n.id for n in shown] == candidate_ids, [n.nominee_name for n in shown]
    return Council(clerk, head, head_ttra, members, candidate_ids)

"""A store with known counts for the clerk's desk tests (summary, exports, review).

Phase 1, clock 10/05/2022 (the `ready` fixture). Units: the campaign's seven (VP is the office)
plus HTML, named `<b>&</b>`, so 7 units must file a phase report. 11 active people.

reports, phase 1 (live): QLCN 3 personal (chuyen-mon 2, cai-cach 1) + its unit report;
    TTRA 1 personal (phong-trao-khac), its unit report withdrawn; HTML 1 personal (chuyen-mon);
    one QLCN personal report withdrawn. Phase 2: KHTC 1 personal.
nominations counting: LDTT 3 (2 QLCN endorsed, 1 TTRA accepted), CSTD-CS 1 (QLCN),
    TTLDXS 1 (QLCN), TTLDTT 2 (QLCN, TTRA). Not counting: a staff proposal, a withdrawn one.
unreachable: QLCN's third staff (identity unreachable), TTKC's staff (no identity).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.nominations import record_nomination, withdraw_nomination
from bot.core.reports import record_report, withdraw_report
from bot.core.store import active_campaign

HTML_NAME = "<b>&</b>"


@dataclass
class Seeded:
    clerk: object
    admin: object
    head: object  # QLCN's head
    head_ttra: object
    staff: object  # QLCN staff 1 (reachable on telegram)
    staff2: object
    staff3: object  # unreachable
    ttra_staff: object
    khtc_staff: object
    html_staff: object


def _unit(session, code: str) -> m.Unit:
    return session.exec(select(m.Unit).where(m.Unit.code == code)).one()


def seed(people) -> Seeded:  # people: the conftest `People` helper
    with session_scope() as session:
        session.add(m.Unit(code="HTML", name=HTML_NAME))
    s = Seeded(
        clerk=people.add(role="clerk", unit="VP", name="Lê Thị Văn Thư"),
        admin=people.add(role="admin", unit="VP", name="Trần Quản Trị"),
        head=people.add(role="head", unit="QLCN", name="Hồ Trưởng Phòng"),
        head_ttra=people.add(role="head", unit="TTRA", name="Võ Chánh Thanh Tra"),
        staff=people.add(unit="QLCN", name="Nguyễn Văn An", channel="telegram"),
        staff2=people.add(unit="QLCN", name="Nguyễn Thị Bình"),
        staff3=people.add(unit="QLCN", name="Phạm Văn Cường"),
        ttra_staff=people.add(unit="TTRA", name="Đỗ Thị Dung"),
        khtc_staff=people.add(unit="KHTC", name="Bùi Văn Em"),
        html_staff=people.add(unit="HTML", name="Mai Thị Hoa"),
    )
    now = clock.now()
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        ids = {k: session.get(m.Person, v.id) for k, v in vars(s).items()}
        ttkc = m.Person(full_name="Phan Thị Không Máy", unit_id=_unit(session, "TTKC").id)
        ttkc.role, ttkc.created_at = "staff", now
        session.add(ttkc)
        for ident in session.exec(select(m.Identity).where(m.Identity.person_id == s.staff3.id)):
            ident.reachable, ident.unreachable_reason = False, "blocked"
            session.add(ident)

        def report(who, area, phase=1, scope="personal"):
            return record_report(
                session=session,
                campaign=row,
                person=ids[who],
                phase=phase,
                area=area,
                title=f"Thành tích {who} {area}",
                detail="Hoàn thành vượt mức kế hoạch",
                now=now,
                scope=scope,
            )

        report("staff", "chuyen-mon")  # BC-2022-0001
        report("staff", "cai-cach-hanh-chinh")
        report("staff2", "chuyen-mon")
        gone = report("staff3", "chuyen-mon")
        withdraw_report(session=session, report=gone, person=ids["staff3"], now=now)
        report("ttra_staff", "phong-trao-khac")
        report("html_staff", "chuyen-mon")
        report("head", "chuyen-mon", scope="unit")  # QLCN files its phase report
        gone = report("head_ttra", "chuyen-mon", scope="unit")
        withdraw_report(session=session, report=gone, person=ids["head_ttra"], now=now)
        report("khtc_staff", "chuyen-mon", phase=2)

        def nominate(proposer, unit, title, person=None, unit_row=None):
            target = ids[person] if person else None
            return record_nomination(
                session=session,
                campaign=row,
                proposer=ids[proposer],
                unit_id=_unit(session, unit).id,
                audience="individual" if person else "collective",
                nominee_name=target.full_name if target else unit_row.name,
                nominee_person_id=target.id if target else None,
                nominee_unit_id=unit_row.id if unit_row else None,
                title_code=title,
                basis="Hoàn thành xuất sắc nhiệm vụ",
                initiative="Sáng kiến số hóa hồ sơ" if title == "CSTD-CS" else None,
                now=now,
                phase=1,
            )

        nominate("head", "QLCN", "LDTT", person="staff")  # DN-2022-0001
        nominate("head", "QLCN", "LDTT", person="staff2")
        nominate("head", "QLCN", "CSTD-CS", person="staff")
        accepted = nominate("head_ttra", "TTRA", "LDTT", person="ttra_staff")
        accepted.status = "accepted"
        session.add(accepted)
        nominate("head", "QLCN", "TTLDXS", unit_row=_unit(session, "QLCN"))
        nominate("head", "QLCN", "TTLDTT", unit_row=_unit(session, "QLCN"))
        nominate("head_ttra", "TTRA", "TTLDTT", unit_row=_unit(session, "TTRA"))
        nominate("staff3", "QLCN", "LDTT", person="staff3")  # a proposal: does not count
        gone = nominate("head", "KHTC", "LDTT", person="khtc_staff")
        withdraw_nomination(session=session, nomination=gone, person=ids["head"], now=now)
    return s

"""The phase's compiled report as an administrative document (Nghị định 30/2020/NĐ-CP).

Layout, as the decree's Phụ lục I sets it: A4, margins top/bottom 20 mm, left 30 mm, right
15 mm; Times New Roman; top left the parent body and the issuing body (bold, a short rule
under it) with "Số:      /BC-SCT" (the number left for the văn thư); top right the Quốc hiệu
(bold, caps) and Tiêu ngữ (bold, underlined) over the place and date in italics; the document
type and subject centred in bold with a short rule; the body at 14 pt, justified, first lines
indented; the signer's position and name bottom right; "Nơi nhận:" bottom left (12 pt bold
italic, the list at 11 pt); page numbers centred at the top from page 2.

The date reads "ngày … tháng … năm <campaign year>": under the decree (Điều 15) the văn thư
gives a document its number and its date together, after it is signed, so both stay blank
here; the compile date appears in the body ("số liệu tổng hợp đến ngày 10/05/2022").
The document is always Vietnamese: it is the office's own record. After the signature, an
annex lists the phase's achievements by unit (receipt, person, title, what was done).

The document comes from a Word template (docx_template.py): the office's own
`bao-cao-ket-qua-thi-dua.docx` in THIDUA_TEMPLATES, else the default that docx_defaults.py
builds in this layout. This module works out what the report says (`context`); what a template
can use: issuer, issuing_body, parent_body, place, year, symbol (BC-…), subject, plan_name,
phase_name, figures_day, personal_total, areas (no, name, reports), units (no, name, by_area,
total), expected, filed (name, receipt, day), not_filed (names), deadline, deadline_left,
targets (collective / individual: no, lines), by_title_no, by_title (title, count, names),
annex (no, name, reports: no, receipt, person, title, detail), annex_cut, annex_max,
recipients, signer_position, signer_name, today.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from bot.core import models as m
from bot.core.exports import docx_defaults
from bot.core.exports.documents import save, template_for
from bot.core.exports.docx_template import render
from bot.core.exports.rows import Scope
from bot.core.i18n import _, format_day, language
from bot.core.summary import Summary, compile_summary, counting_nominations

MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NAMES_MAX = 100  # nominees named per title; the XLSX has them all
ANNEX_MAX = 2000  # achievements listed in the annex; the XLSX has them all


def export(scope: Scope, out: Path | BinaryIO) -> None:
    """The report for `scope.phase` (default: the current phase)."""
    with language("vi"):
        summary = compile_summary(
            session=scope.session,
            campaign_row=scope.campaign_row,
            campaign=scope.campaign,
            today=scope.today,
            phase=scope.phase,
        )
        values = context(scope, summary)
        doc = render(template_for(docx_defaults.REPORT), values)
    save(doc, scope, out, title=values["subject"])


def _subject(summary: Summary) -> str:
    return _("Results of the emulation movement, phase {n} of {year}").format(
        n=summary.phase.number, year=summary.year
    )


def context(scope: Scope, summary: Summary) -> dict[str, Any]:
    """Everything the report says, for its template."""
    plan = scope.campaign.plan
    symbol = f"BC-{plan.symbol.split('-', 1)[1]}" if "-" in plan.symbol else "BC"
    recipients = [item.rstrip(";. ") for item in plan.recipients]
    deadline = summary.phase.deadline
    targets: dict[str, dict[str, Any]] = {}
    number = 0
    for audience in ("collective", "individual"):
        lines = [f"{t.label}: {t.figure()}" for t in summary.targets if t.audience == audience]
        number += 1 if lines else 0
        targets[audience] = {"no": number, "lines": lines}
    by_title = _nominees(scope.session, scope, summary)
    annex, cut = _annex(scope, summary)
    return {
        "issuer": plan.issuing_body.title(),
        "issuing_body": plan.issuing_body.upper(),
        "parent_body": plan.parent_body.upper(),
        "place": plan.place,
        "year": summary.year,
        "symbol": symbol,
        "subject": _subject(summary),
        "plan_name": f"{plan.document_type.capitalize()} {plan.title[:1].lower()}{plan.title[1:]}",
        "phase_name": summary.phase.name[:1].lower() + summary.phase.name[1:],
        "figures_day": format_day(summary.today),
        "personal_total": summary.personal_total,
        "areas": [
            {"no": i, "name": a.name, "reports": a.reports}
            for i, a in enumerate(summary.areas, start=1)
        ],
        "units": [
            {
                "no": n,
                "name": u.unit.name,
                "by_area": [u.by_area.get(a.code, 0) for a in summary.areas],
                "total": u.personal,
            }
            for n, u in enumerate(summary.units, start=1)
        ],
        "expected": len(summary.expected),
        "filed": [
            {"name": u.unit.name, "receipt": u.receipt, "day": format_day(u.filed_on)}
            for u in summary.expected
            if u.filed and u.filed_on is not None
        ],
        "not_filed": [u.unit.name for u in summary.not_filed],
        "deadline": format_day(deadline) if deadline else "",
        "deadline_left": summary.deadline_text() if deadline else "",
        "targets": targets,
        "by_title_no": number + 1,
        "by_title": [
            {"title": title, "count": count, "names": _listed(count, names)}
            for title, (count, names) in by_title.items()
        ],
        "annex": annex,
        "annex_cut": cut,
        "annex_max": ANNEX_MAX,
        "recipients": [
            f"{text}{'.' if k == len(recipients) - 1 else ';'}"
            for k, text in enumerate(recipients)
        ],
        "signer_position": plan.signer.position.upper() if plan.signer else "",
        "signer_name": plan.signer.name if plan.signer else "",
        "today": scope.today,
    }


def _listed(count: int, names: list[str]) -> str:
    listed = ", ".join(names)
    more = count - len(names)
    if more > 0:
        listed += _(" and {n} more (see the XLSX file)").format(n=more)
    return listed


def _nominees(
    session: Session, scope: Scope, summary: Summary
) -> dict[str, tuple[int, list[str]]]:
    """Counting nominations by title: the count and up to NAMES_MAX names, from SQL."""
    campaign_id = scope.campaign_row.id
    assert campaign_id is not None  # a stored campaign
    cond = counting_nominations(campaign_id, summary.phase.number, None)
    n = m.Nomination
    counts = {
        code: count
        for code, count in session.exec(
            select(col(n.title_code), func.count()).where(*cond).group_by(col(n.title_code))
        )
    }
    rank = (
        func.row_number()
        .over(
            partition_by=col(n.title_code),
            order_by=(col(m.Unit.code), col(n.nominee_name), col(n.id)),
        )
        .label("rank")
    )
    # sqlmodel's select() is typed up to four columns; for more it builds this Select.
    ranked: Select[str, str, str, str, int] = Select(
        col(n.title_code),
        col(n.audience),
        col(n.nominee_name),
        col(m.Unit.code).label("unit"),
        rank,
    )
    inner = ranked.join(m.Unit, col(m.Unit.id) == col(n.unit_id)).where(*cond).subquery()
    rows = session.exec(
        select(inner.c.title_code, inner.c.audience, inner.c.nominee_name, inner.c.unit)
        .where(inner.c.rank <= NAMES_MAX)
        .order_by(inner.c.title_code, inner.c["rank"])
    )
    people: dict[str, list[str]] = {}
    for code, audience, name, unit in rows:
        people.setdefault(code, []).append(
            name if audience == "collective" else f"{name} ({unit})"
        )
    found: dict[str, tuple[int, list[str]]] = {}
    for title in scope.campaign.titles:
        if counts.get(title.code):
            found[title.name] = (counts[title.code], people.get(title.code, []))
    return found


def _annex(scope: Scope, summary: Summary) -> tuple[list[dict[str, Any]], bool]:
    """Every live report of the phase by unit (receipt, person, title, what was done), up to
    ANNEX_MAX; and whether some were left out."""
    r = m.Report
    rows = scope.session.exec(
        select(r, m.Unit, m.Person)
        .join(m.Unit, col(m.Unit.id) == r.unit_id)
        .join(m.Person, col(m.Person.id) == r.person_id)
        .where(
            r.campaign_id == scope.campaign_row.id,
            r.phase == summary.phase.number,
            r.status != "withdrawn",
        )
        .order_by(col(m.Unit.code), col(r.id))
        .limit(ANNEX_MAX + 1)
    ).all()
    units: dict[str, dict[str, Any]] = {}
    for report, unit, person in rows[:ANNEX_MAX]:
        fresh = {"no": len(units) + 1, "name": unit.name, "reports": []}
        entry = units.setdefault(unit.code, fresh)
        entry["reports"].append(
            {
                "no": len(entry["reports"]) + 1,
                "receipt": report.receipt,
                "person": person.full_name,
                "title": report.title,
                "detail": report.detail,
            }
        )
    return list(units.values()), len(rows) > ANNEX_MAX

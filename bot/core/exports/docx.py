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
annex lists the phase's achievements by unit (receipt, person, title, what was done). The
page, fonts, rules and tables are set up by bot/core/exports/docx_layout.py; this module
writes what the report says.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Pt
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from bot.core import clock
from bot.core import models as m
from bot.core.exports.docx_layout import (
    ALIGN,
    TEXT_WIDTH_CM,
    grid,
    page,
    page_numbers,
    para,
    rule,
    styles,
)
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
        document = build(scope, summary)
    document.save(str(out) if isinstance(out, Path) else out)  # python-docx takes a str path


def build(scope: Scope, summary: Summary) -> DocxDocument:
    plan = scope.campaign.plan
    doc = Document()
    page(doc)
    styles(doc)
    props = doc.core_properties
    props.author = props.last_modified_by = plan.issuing_body
    props.title = _subject(summary)
    props.created = props.modified = clock.now()
    props.revision = 1

    _heading_block(doc, scope, summary)
    para(doc, plan_type(), bold=True, align="center", before=18, after=0)
    para(doc, _subject(summary), bold=True, align="center", before=0, after=0)
    rule(doc, TEXT_WIDTH_CM, 5.0)
    _body(doc, scope, summary)
    _signature(doc, scope)
    _annex(doc, scope, summary)
    page_numbers(doc)
    return doc


def plan_type() -> str:
    return _("REPORT")


def _subject(summary: Summary) -> str:
    return _("Results of the emulation movement, phase {n} of {year}").format(
        n=summary.phase.number, year=summary.year
    )


# --- the blocks -------------------------------------------------------------------------------

LEFT_CM, RIGHT_CM = 6.6, 9.9


def _heading_block(doc: DocxDocument, scope: Scope, summary: Summary) -> None:
    plan = scope.campaign.plan
    table = grid(doc, [LEFT_CM, RIGHT_CM], 1, borders=False)
    left, right = table.rows[0].cells
    left.paragraphs[0].alignment = ALIGN["center"]
    first = left.paragraphs[0]
    if plan.parent_body:
        run = first.add_run(plan.parent_body.upper())
        run.font.size = Pt(13)
        para(left, plan.issuing_body.upper(), size=13, bold=True, align="center", before=0)
    else:
        run = first.add_run(plan.issuing_body.upper())
        run.font.size, run.bold = Pt(13), True
    rule(left, LEFT_CM - 0.4, 2.2)
    symbol = f"BC-{plan.symbol.split('-', 1)[1]}" if "-" in plan.symbol else "BC"
    para(
        left,
        _("No.: {blank}/{symbol}").format(blank=" " * 10, symbol=symbol),
        size=13,
        align="center",
        before=6,
    )

    top = right.paragraphs[0]
    top.alignment = ALIGN["center"]
    run = top.add_run(_("SOCIALIST REPUBLIC OF VIETNAM"))
    run.font.size, run.bold = Pt(12), True
    para(
        right,
        _("Independence - Freedom - Happiness"),
        size=13,
        bold=True,
        underline=True,
        align="center",
        before=0,
    )
    para(
        right,
        _("{place}, day … month … {year}").format(place=plan.place, year=summary.year),
        size=14,
        italic=True,
        align="center",
        before=12,
    )


def _body(doc: DocxDocument, scope: Scope, summary: Summary) -> None:
    plan = scope.campaign.plan
    issuer = plan.issuing_body.title()
    phase_name = summary.phase.name[:1].lower() + summary.phase.name[1:]
    _opening(doc, scope, summary, issuer=issuer, phase_name=phase_name)
    _by_area(doc, summary)
    _phase_reports(doc, summary)
    _against_targets(doc, scope, summary)
    para(
        doc,
        _("This is the report on the results of {phase} of {year} of {issuer}./.").format(
            phase=phase_name, year=summary.year, issuer=issuer
        ),
        indent=True,
        before=12,
    )


def _opening(
    doc: DocxDocument, scope: Scope, summary: Summary, *, issuer: str, phase_name: str
) -> None:
    plan = scope.campaign.plan
    plan_name = f"{plan.document_type.capitalize()} {plan.title[:1].lower()}{plan.title[1:]}"
    para(
        doc,
        _(
            "Pursuant to the {plan} of {issuer}, {issuer} reports the results of {phase} of "
            "{year} (figures as of {day}) as follows:"
        ).format(
            plan=plan_name,
            issuer=issuer,
            phase=phase_name,
            year=summary.year,
            day=format_day(summary.today),
        ),
        indent=True,
        before=12,
    )


def _by_area(doc: DocxDocument, summary: Summary) -> None:
    """I.: the personal reports by content area, and by unit in Table 1."""
    para(doc, _("I. RESULTS BY CONTENT AREA"), bold=True, indent=True)
    para(
        doc,
        _("The units and individuals sent {n} personal achievement reports:").format(
            n=summary.personal_total
        ),
        indent=True,
    )
    for i, area in enumerate(summary.areas, start=1):
        para(
            doc,
            _("{i}. {name}: {n} reports.").format(i=i, name=area.name, n=area.reports),
            indent=True,
        )
    _reports_table(doc, summary)


def _phase_reports(doc: DocxDocument, summary: Summary) -> None:
    """II.: the units that filed their phase report, and those that did not yet."""
    para(doc, _("II. THE UNITS' PHASE REPORTS"), bold=True, indent=True, before=12)
    expected = summary.expected
    filed = [u for u in expected if u.filed]
    para(
        doc,
        _("Filed: {filed} of {expected} units{colon}").format(
            filed=len(filed), expected=len(expected), colon=":" if filed else "."
        ),
        indent=True,
    )
    for u in filed:
        day = u.filed_on
        assert day is not None  # a filed report has a time
        para(
            doc,
            _("- {name} ({receipt}, {day});").format(
                name=u.unit.name, receipt=u.receipt, day=format_day(day)
            ),
            indent=True,
            before=0,
        )
    late = summary.not_filed
    deadline = summary.phase.deadline
    if late and deadline is not None:
        para(
            doc,
            _(
                "Not filed yet: {n} units ({names}); the summing-up deadline is {day} ({left})."
            ).format(
                n=len(late),
                names="; ".join(u.unit.name for u in late),
                day=format_day(deadline),
                left=summary.deadline_text(),
            ),
            indent=True,
        )
    elif late:
        para(
            doc,
            _("Not filed yet: {n} units ({names}); the phase has no summing-up deadline.").format(
                n=len(late), names="; ".join(u.unit.name for u in late)
            ),
            indent=True,
        )


def _against_targets(doc: DocxDocument, scope: Scope, summary: Summary) -> None:
    """III.: the targets by audience, then the nominees by title."""
    para(doc, _("III. NOMINATIONS AGAINST THE PLAN'S TARGETS"), bold=True, indent=True, before=12)
    labels = {
        "collective": _("{i}. For collectives:"),
        "individual": _("{i}. For individuals:"),
    }
    i = 0
    for audience, label in labels.items():
        lines = [t for t in summary.targets if t.audience == audience]
        if not lines:
            continue
        i += 1
        para(doc, label.format(i=i), bold=True, italic=True, indent=True)
        for t in lines:
            para(doc, f"- {t.label}: {t.figure()}.", indent=True, before=0)
    names = _nominees(scope.session, scope, summary)
    i += 1
    para(doc, _("{i}. Nominations by title:").format(i=i), bold=True, italic=True, indent=True)
    if not names:
        para(doc, _("No nomination has been endorsed yet."), indent=True, before=0)
    for title, (count, people) in names.items():
        more = count - len(people)
        listed = ", ".join(people)
        if more > 0:
            listed += _(" and {n} more (see the XLSX file)").format(n=more)
        para(doc, f"- {title} ({count}): {listed}.", indent=True, before=0)


def _reports_table(doc: DocxDocument, summary: Summary) -> None:
    areas = summary.areas
    para(
        doc,
        _("Table 1. Personal achievement reports by unit and content area"),
        size=13,
        italic=True,
        align="center",
        before=6,
        after=3,
    )
    area_w = 2.6 if len(areas) <= 3 else max(1.4, 7.8 / max(1, len(areas)))
    name_w = max(4.0, TEXT_WIDTH_CM - 1.0 - 1.8 - area_w * len(areas))
    widths = [1.0, name_w, *([area_w] * len(areas)), 1.8]
    table = grid(doc, widths, len(summary.units) + 2, borders=True)
    head = [_("No."), _("Unit")]
    head += [_("Area {i}").format(i=i) for i in range(1, len(areas) + 1)]
    head.append(_("Total"))
    body = [
        [str(n), u.unit.name, *(str(u.by_area.get(a.code, 0)) for a in areas), str(u.personal)]
        for n, u in enumerate(summary.units, start=1)
    ]
    body.append(["", _("Total"), *(str(a.reports) for a in areas), str(summary.personal_total)])
    for r, values in enumerate([head, *body]):
        bold = r == 0 or r == len(body)
        for c, value in enumerate(values):
            cell = table.rows[r].cells[c]
            p = cell.paragraphs[0]
            p.alignment = ALIGN["left" if c == 1 and r > 0 else "center"]
            run = p.add_run(value)
            run.font.size, run.bold = Pt(12), bold


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


def _signature(doc: DocxDocument, scope: Scope) -> None:
    plan = scope.campaign.plan
    table = grid(doc, [8.0, 8.5], 1, borders=False)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.paragraph_format.space_before = Pt(12)
    run = first.add_run(_("Recipients:"))
    run.font.size, run.bold, run.italic = Pt(12), True, True
    recipients = list(plan.recipients)
    for k, item in enumerate(recipients):
        last = k == len(recipients) - 1
        text = item.rstrip(";. ")
        para(left, f"- {text}{'.' if last else ';'}", size=11, align="left", before=0)

    top = right.paragraphs[0]
    top.alignment = ALIGN["center"]
    top.paragraph_format.space_before = Pt(12)
    signer = plan.signer
    run = top.add_run(signer.position.upper() if signer else "")
    run.font.size, run.bold = Pt(14), True
    for _i in range(4):
        para(right, align="center", before=0)
    para(right, signer.name if signer else "", size=14, bold=True, align="center", before=12)


def _annex(doc: DocxDocument, scope: Scope, summary: Summary) -> None:
    """The annex: every live report of the phase, by unit (receipt, person, title, what was
    done), up to ANNEX_MAX."""
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
    doc.add_page_break()
    para(doc, _("ANNEX"), bold=True, align="center", before=0, after=0)
    para(
        doc,
        _("Achievements of the units and individuals, {phase} of {year}").format(
            phase=summary.phase.name[:1].lower() + summary.phase.name[1:], year=summary.year
        ),
        bold=True,
        align="center",
        before=0,
        after=0,
    )
    para(
        doc,
        _("(Attached to the report of {issuer})").format(
            issuer=scope.campaign.plan.issuing_body.title()
        ),
        italic=True,
        align="center",
        before=0,
    )
    if not rows:
        para(doc, _("No achievement has been reported in this phase yet."), indent=True)
        return
    by_unit: dict[str, list[tuple[m.Report, m.Person]]] = {}
    names: dict[str, str] = {}
    for report, unit, person in rows[:ANNEX_MAX]:
        by_unit.setdefault(unit.code, []).append((report, person))
        names[unit.code] = unit.name
    widths = [0.9, 3.4, 3.2, 3.6, 5.4]  # a receipt (BC-2022-0001) on one line
    for i, (code, items) in enumerate(by_unit.items(), start=1):
        para(doc, f"{i}. {names[code]} ({len(items)})", bold=True, before=12, after=3)
        table = grid(doc, widths, len(items) + 1, borders=True)
        head = [_("No."), _("Receipt"), _("Reported by"), _("Title"), _("Achievement")]
        body = [
            [str(k), rep.receipt, person.full_name, rep.title, rep.detail]
            for k, (rep, person) in enumerate(items, start=1)
        ]
        for row_no, values in enumerate([head, *body]):
            for c, value in enumerate(values):
                p = table.rows[row_no].cells[c].paragraphs[0]
                p.alignment = ALIGN["center" if row_no == 0 or c == 0 else "left"]
                run = p.add_run(value)
                run.font.size, run.bold = Pt(12), row_no == 0
    if len(rows) > ANNEX_MAX:
        para(
            doc,
            _("The first {n} achievements are listed; the XLSX file has them all.").format(
                n=ANNEX_MAX
            ),
            italic=True,
            before=6,
        )

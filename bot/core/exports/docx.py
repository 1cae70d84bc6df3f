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
The document is always Vietnamese: it is the office's own record.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.text.paragraph import Paragraph
from sqlmodel import Session, func, select

from bot.core import clock
from bot.core import models as m
from bot.core.exports.rows import Scope
from bot.core.i18n import _, format_day, language
from bot.core.summary import Summary, compile_summary, counting_nominations

MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "Times New Roman"
BODY_PT = 14
NAMES_MAX = 100  # nominees named per title; the XLSX has them all
TEXT_WIDTH_CM = 16.5  # A4 210 mm - 30 mm - 15 mm


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
    document.save(out)


def build(scope: Scope, summary: Summary):  # type: ignore[no-untyped-def]
    plan = scope.campaign.plan
    doc = Document()
    _page(doc)
    _styles(doc)
    props = doc.core_properties
    props.author = props.last_modified_by = plan.issuing_body
    props.title = _subject(summary)
    props.created = props.modified = clock.now()
    props.revision = 1

    _heading_block(doc, scope, summary)
    _para(doc, plan_type(), bold=True, align="center", before=18, after=0)
    _para(doc, _subject(summary), bold=True, align="center", before=0, after=0)
    _rule(doc, TEXT_WIDTH_CM, 5.0)
    _body(doc, scope, summary)
    _signature(doc, scope)
    _page_numbers(doc)
    return doc


def plan_type() -> str:
    return _("REPORT")


def _subject(summary: Summary) -> str:
    return _("Results of the emulation movement, phase {n} of {year}").format(
        n=summary.phase.number, year=summary.year
    )


# --- page and styles --------------------------------------------------------------------------


def _page(doc) -> None:  # type: ignore[no-untyped-def]
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)


def _fonts(rpr) -> None:  # type: ignore[no-untyped-def]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _styles(doc) -> None:  # type: ignore[no-untyped-def]
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    _fonts(rpr)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    rpr.append(lang)
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(0), 1.0
    for name in ("Header", "Table Grid"):
        _fonts(doc.styles[name].element.get_or_add_rPr())


ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def _para(
    where,  # type: ignore[no-untyped-def]
    text: str = "",
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    align: str = "justify",
    indent: bool = False,
    before: float = 6,
    after: float = 0,
) -> Paragraph:
    p = where.add_paragraph()
    p.alignment = ALIGN[align]
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1)
    if text:
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.bold, run.italic, run.underline = bold, italic, underline
    return p


def _rule(where, width_cm: float, length_cm: float, before: float = 3) -> None:  # type: ignore[no-untyped-def]
    """A short horizontal rule, centred: a bordered empty paragraph narrowed by indents."""
    p = _para(where, align="center", before=before, after=0)
    side = Cm(max(0.0, (width_cm - length_cm) / 2))
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = side
    ppr = p._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        top.set(qn(key), value)
    border.append(top)
    ppr.append(border)
    mark = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "8")  # a 4 pt paragraph mark keeps the rule close to the text
    mark.append(size)
    ppr.append(mark)


def _no_borders(table) -> None:  # type: ignore[no-untyped-def]
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def _grid(doc, widths_cm: list[float], rows: int, *, borders: bool):  # type: ignore[no-untyped-def]
    table = doc.add_table(rows=rows, cols=len(widths_cm))
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    if borders:
        table.style = doc.styles["Table Grid"]
    else:
        _no_borders(table)
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)  # the grid, which LibreOffice follows
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)  # the cells, which Word follows
    return table


# --- the blocks -------------------------------------------------------------------------------

LEFT_CM, RIGHT_CM = 6.6, 9.9


def _heading_block(doc, scope: Scope, summary: Summary) -> None:  # type: ignore[no-untyped-def]
    plan = scope.campaign.plan
    table = _grid(doc, [LEFT_CM, RIGHT_CM], 1, borders=False)
    left, right = table.rows[0].cells
    left.paragraphs[0].alignment = ALIGN["center"]
    first = left.paragraphs[0]
    if plan.parent_body:
        run = first.add_run(plan.parent_body.upper())
        run.font.size = Pt(13)
        _para(left, plan.issuing_body.upper(), size=13, bold=True, align="center", before=0)
    else:
        run = first.add_run(plan.issuing_body.upper())
        run.font.size, run.bold = Pt(13), True
    _rule(left, LEFT_CM - 0.4, 2.2)
    symbol = f"BC-{plan.symbol.split('-', 1)[1]}" if "-" in plan.symbol else "BC"
    _para(
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
    _para(
        right,
        _("Independence - Freedom - Happiness"),
        size=13,
        bold=True,
        underline=True,
        align="center",
        before=0,
    )
    _para(
        right,
        _("{place}, day … month … {year}").format(place=plan.place, year=summary.year),
        size=14,
        italic=True,
        align="center",
        before=12,
    )


def _body(doc, scope: Scope, summary: Summary) -> None:  # type: ignore[no-untyped-def]
    plan = scope.campaign.plan
    issuer = plan.issuing_body.title()
    plan_name = f"{plan.document_type.capitalize()} {plan.title[:1].lower()}{plan.title[1:]}"
    phase_name = summary.phase.name[:1].lower() + summary.phase.name[1:]
    _para(
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

    _para(doc, _("I. RESULTS BY CONTENT AREA"), bold=True, indent=True)
    _para(
        doc,
        _("The units and individuals sent {n} personal achievement reports:").format(
            n=summary.personal_total
        ),
        indent=True,
    )
    for i, area in enumerate(summary.areas, start=1):
        _para(
            doc,
            _("{i}. {name}: {n} reports.").format(i=i, name=area.name, n=area.reports),
            indent=True,
        )
    _reports_table(doc, summary)

    _para(doc, _("II. THE UNITS' PHASE REPORTS"), bold=True, indent=True, before=12)
    expected = summary.expected
    filed = [u for u in expected if u.filed]
    _para(
        doc,
        _("Filed: {filed} of {expected} units{colon}").format(
            filed=len(filed), expected=len(expected), colon=":" if filed else "."
        ),
        indent=True,
    )
    for u in filed:
        _para(
            doc,
            _("- {name} ({receipt}, {day});").format(
                name=u.unit.name, receipt=u.receipt, day=format_day(u.filed_on)
            ),
            indent=True,
            before=0,
        )
    late = summary.not_filed
    if late:
        _para(
            doc,
            _(
                "Not filed yet: {n} units ({names}); the summing-up deadline is {day} ({left})."
            ).format(
                n=len(late),
                names="; ".join(u.unit.name for u in late),
                day=format_day(summary.phase.deadline),
                left=summary.deadline_text(),
            ),
            indent=True,
        )

    _para(doc, _("III. NOMINATIONS AGAINST THE PLAN'S TARGETS"), bold=True, indent=True, before=12)
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
        _para(doc, label.format(i=i), bold=True, italic=True, indent=True)
        for t in lines:
            _para(doc, f"- {t.label}: {t.figure()}.", indent=True, before=0)
    names = _nominees(scope.session, scope, summary)
    i += 1
    _para(doc, _("{i}. Nominations by title:").format(i=i), bold=True, italic=True, indent=True)
    if not names:
        _para(doc, _("No nomination has been endorsed yet."), indent=True, before=0)
    for title, (count, people) in names.items():
        more = count - len(people)
        listed = ", ".join(people)
        if more > 0:
            listed += _(" and {n} more (see the XLSX file)").format(n=more)
        _para(doc, f"- {title} ({count}): {listed}.", indent=True, before=0)

    _para(
        doc,
        _("This is the report on the results of {phase} of {year} of {issuer}./.").format(
            phase=phase_name, year=summary.year, issuer=issuer
        ),
        indent=True,
        before=12,
    )


def _reports_table(doc, summary: Summary) -> None:  # type: ignore[no-untyped-def]
    areas = summary.areas
    _para(
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
    table = _grid(doc, widths, len(summary.units) + 2, borders=True)
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
    cond = counting_nominations(scope.campaign_row.id, summary.phase.number, None)
    n = m.Nomination
    counts = {
        code: count
        for code, count in session.exec(
            select(n.title_code, func.count()).where(*cond).group_by(n.title_code)
        )
    }
    rank = (
        func.row_number()
        .over(partition_by=n.title_code, order_by=(m.Unit.code, n.nominee_name, n.id))
        .label("rank")
    )
    inner = (
        select(n.title_code, n.audience, n.nominee_name, m.Unit.code.label("unit"), rank)
        .join(m.Unit, m.Unit.id == n.unit_id)
        .where(*cond)
        .subquery()
    )
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
    found = {}
    for title in scope.campaign.titles:
        if counts.get(title.code):
            found[title.name] = (counts[title.code], people.get(title.code, []))
    return found


def _signature(doc, scope: Scope) -> None:  # type: ignore[no-untyped-def]
    plan = scope.campaign.plan
    table = _grid(doc, [8.0, 8.5], 1, borders=False)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.paragraph_format.space_before = Pt(12)
    run = first.add_run(_("Recipients:"))
    run.font.size, run.bold, run.italic = Pt(12), True, True
    recipients = list(plan.recipients)
    for k, item in enumerate(recipients):
        last = k == len(recipients) - 1
        text = item.rstrip(";. ")
        _para(left, f"- {text}{'.' if last else ';'}", size=11, align="left", before=0)

    top = right.paragraphs[0]
    top.alignment = ALIGN["center"]
    top.paragraph_format.space_before = Pt(12)
    run = top.add_run(plan.signer.position.upper())
    run.font.size, run.bold = Pt(14), True
    for _i in range(4):
        _para(right, align="center", before=0)
    _para(right, plan.signer.name, size=14, bold=True, align="center", before=12)


def _page_numbers(doc) -> None:  # type: ignore[no-untyped-def]
    """Centred page numbers in the top margin, none on the first page (the decree's rule)."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = ALIGN["center"]
    run = p.add_run()
    run.font.size = Pt(13)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)

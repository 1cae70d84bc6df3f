"""A unit's registration sheet (bản đăng ký thi đua) as a DOCX in the NĐ 30/2020 layout.

Top left the issuing body and the unit (bold, a short rule); top right the Quốc hiệu and Tiêu
ngữ over the place and a blank date; "BẢN ĐĂNG KÝ THI ĐUA NĂM 2022" centred in bold; the
collective titles the unit registers; a table of the individual ones (STT, họ và tên, chức vụ,
danh hiệu đăng ký); the unit head's signature block bottom right. Always Vietnamese: it is the
office's own record. Page and fonts come from bot/core/exports/docx_layout.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.shared import Pt
from sqlmodel import Session

from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.exports.docx_layout import ALIGN, grid, page, para, rule, styles
from bot.core.i18n import _, language
from bot.core.registration import registrations

LEFT_CM, RIGHT_CM = 6.6, 9.9


def write(
    *,
    session: Session,
    campaign_id: int,
    campaign: Campaign,
    unit: m.Unit,
    out: Path | BinaryIO,
) -> None:
    with language("vi"):
        doc = Document()
        page(doc)
        styles(doc)
        _heading(doc, campaign, unit)
        names = {t.code: t.name for t in campaign.titles}
        found = registrations(session=session, campaign_id=campaign_id, unit_id=unit.id)
        collective = [r for r in found if r.audience == "collective"]
        people = [r for r in found if r.audience == "individual"]
        para(doc, _("1. Collective titles"), bold=True, before=12)
        if collective:
            for r in collective:
                titles = ", ".join(names.get(c, c) for c in r.titles)
                para(doc, f"- {titles} ({r.receipt})", indent=True)
        else:
            para(doc, _("The unit has not registered a collective title."), indent=True)
        para(doc, _("2. Individual titles"), bold=True, before=12)
        table = grid(doc, [1.2, 5.2, 3.8, 6.3], len(people) + 1, borders=True)
        heads = [_("No."), _("Full name"), _("Position"), _("Titles registered")]
        for cell, text in zip(table.rows[0].cells, heads, strict=True):
            cell.paragraphs[0].alignment = ALIGN["center"]
            run = cell.paragraphs[0].add_run(text)
            run.bold, run.font.size = True, Pt(13)
        for i, r in enumerate(people, start=1):
            person = session.get(m.Person, r.nominee_person_id) if r.nominee_person_id else None
            values = [
                str(i),
                person.full_name if person else "",
                (person.position or "") if person else "",
                ", ".join(names.get(c, c) for c in r.titles),
            ]
            for cell, text in zip(table.rows[i].cells, values, strict=True):
                run = cell.paragraphs[0].add_run(text)
                run.font.size = Pt(13)
        _signature(doc)
        doc.save(str(out) if isinstance(out, Path) else out)


def _heading(doc: Document, campaign: Campaign, unit: m.Unit) -> None:  # type: ignore[valid-type]
    plan = campaign.plan
    table = grid(doc, [LEFT_CM, RIGHT_CM], 1, borders=False)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.alignment = ALIGN["center"]
    run = first.add_run(plan.issuing_body.upper())
    run.font.size = Pt(13)
    para(left, unit.name.upper(), size=13, bold=True, align="center", before=0)
    rule(left, LEFT_CM - 0.4, 2.2)
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
        _("{place}, day … month … {year}").format(place=plan.place, year=campaign.year),
        size=14,
        italic=True,
        align="center",
        before=12,
    )
    para(
        doc,
        _("EMULATION REGISTRATION FOR {year}").format(year=campaign.year),
        size=14,
        bold=True,
        align="center",
        before=18,
    )
    para(doc, campaign.theme, size=14, italic=True, align="center", before=0)
    rule(doc, 16.5, 3.0)


def _signature(doc: Document) -> None:  # type: ignore[valid-type]
    table = grid(doc, [8.0, 8.5], 1, borders=False)
    right = table.rows[0].cells[1]
    top = right.paragraphs[0]
    top.alignment = ALIGN["center"]
    top.paragraph_format.space_before = Pt(18)
    run = top.add_run(_("HEAD OF UNIT"))
    run.font.size, run.bold = Pt(14), True
    para(right, _("(signature, full name)"), size=14, italic=True, align="center", before=0)

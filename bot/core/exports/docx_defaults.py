"""The default Word templates of the award proposal (tờ trình đề nghị khen thưởng) and the list
of nominees (danh sách đề nghị), in the layout of Nghị định 30/2020/NĐ-CP.

They are built here with python-docx (the page, fonts and rules of docx_layout.py) with
Jinja2 tags where the figures go (see docx_template.py), and written out by
`thidua templates FOLDER` for an office to edit in Word; files of the same name in the folder
`THIDUA_TEMPLATES` names are used instead of these.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Pt

from bot.core.exports.docx_layout import ALIGN, TEXT_WIDTH_CM, grid, page, para, rule, styles
from bot.core.i18n import _, language

PROPOSAL = "to-trinh-de-nghi-khen-thuong.docx"
NOMINEES = "danh-sach-de-nghi-khen-thuong.docx"
LEFT_CM, RIGHT_CM = 6.6, 9.9


def _heading(doc: DocxDocument) -> None:
    """Issuer and number on the left, the national motto, place and date on the right."""
    table = grid(doc, [LEFT_CM, RIGHT_CM], 1, borders=False)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.alignment = ALIGN["center"]
    run = first.add_run("{{ parent_body }}")
    run.font.size = Pt(13)
    para(left, "{{ issuing_body }}", size=13, bold=True, align="center", before=0)
    rule(left, LEFT_CM - 0.4, 2.2)
    para(
        left,
        _("No.: {blank}/{symbol}").format(blank=" " * 10, symbol="{{ symbol }}"),
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
        _("{place}, day … month … {year}").format(place="{{ place }}", year="{{ year }}"),
        size=14,
        italic=True,
        align="center",
        before=12,
    )


def _signature(doc: DocxDocument) -> None:
    table = grid(doc, [8.0, 8.5], 1, borders=False)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.paragraph_format.space_before = Pt(12)
    run = first.add_run(_("Recipients:"))
    run.font.size, run.bold, run.italic = Pt(12), True, True
    para(left, "{%p for r in recipients %}- {{ r }}{%p endfor %}", size=11, align="left", before=0)
    top = right.paragraphs[0]
    top.alignment = ALIGN["center"]
    top.paragraph_format.space_before = Pt(12)
    run = top.add_run("{{ signer_position }}")
    run.font.size, run.bold = Pt(14), True
    for _i in range(4):
        para(right, align="center", before=0)
    para(right, "{{ signer_name }}", size=14, bold=True, align="center", before=12)


def _new() -> DocxDocument:
    doc = Document()
    page(doc)
    styles(doc)
    return doc


def proposal() -> DocxDocument:
    doc = _new()
    _heading(doc)
    para(doc, _("PROPOSAL"), bold=True, align="center", before=18, after=0)
    para(
        doc,
        _("On the proposal of awards for {phase} of {year}").format(
            phase="{{ phase_name }}", year="{{ year }}"
        ),
        bold=True,
        align="center",
        before=0,
    )
    rule(doc, TEXT_WIDTH_CM, 5.0)
    para(
        doc,
        _("To: {council}").format(council="{{ council }}"),
        align="center",
        before=12,
    )
    para(doc, "{%p for basis in legal_basis %}{{ basis }}{%p endfor %}", indent=True)
    para(doc, _("Pursuant to the {plan};").format(plan="{{ plan_name }}"), indent=True)
    para(
        doc,
        _(
            "Based on the units' evaluation of {phase}, {issuer} proposes that the {council} "
            "consider awarding {collectives} collectives and {individuals} individuals, "
            "as follows:"
        ).format(
            phase="{{ phase_name }}",
            issuer="{{ issuer }}",
            council="{{ council }}",
            collectives="{{ collectives }}",
            individuals="{{ individuals }}",
        ),
        indent=True,
    )
    para(
        doc,
        "{%p for t in titles %}- {{ t.name }}: {{ t.count }} {{ t.audience }};{%p endfor %}",
        indent=True,
        before=0,
    )
    para(doc, _("(With the list of nominees and their files attached.)"), indent=True)
    para(
        doc,
        _("{issuer} respectfully submits this to the {council} for consideration./.").format(
            issuer="{{ issuer }}", council="{{ council }}"
        ),
        indent=True,
    )
    _signature(doc)
    return doc


def nominees() -> DocxDocument:
    doc = _new()
    _heading(doc)
    para(doc, _("LIST"), bold=True, align="center", before=18, after=0)
    para(
        doc,
        _("Proposed for awards, {phase} of {year}").format(
            phase="{{ phase_name }}", year="{{ year }}"
        ),
        bold=True,
        align="center",
        before=0,
    )
    para(
        doc,
        _("(Attached to Proposal No. {blank}/{symbol} of {issuer})").format(
            blank=" " * 6, symbol="{{ proposal_symbol }}", issuer="{{ issuer }}"
        ),
        italic=True,
        align="center",
        before=0,
    )
    rule(doc, TEXT_WIDTH_CM, 5.0)
    widths = [1.0, 3.4, 4.0, 3.0, 5.1]
    table = grid(doc, widths, 2, borders=True)
    head = [_("No."), _("Title or award"), _("Name"), _("Unit"), _("Achievements")]
    body = [
        "{%tr for n in nominees %}{{ n.no }}",
        "{{ n.title }}",
        "{{ n.name }}",
        "{{ n.unit }}",
        "{{ n.basis }}{% if n.initiative %} ({{ n.initiative }}){% endif %}",
    ]
    for r, values in enumerate([head, body]):
        for c, value in enumerate(values):
            p = table.rows[r].cells[c].paragraphs[0]
            p.alignment = ALIGN["center" if r == 0 or c == 0 else "left"]
            run = p.add_run(value)
            run.font.size, run.bold = Pt(12), r == 0
    para(doc, "{%p if not nominees %}" + _("No nomination yet.") + "{%p endif %}", before=6)
    para(
        doc,
        _("In all: {collectives} collectives, {individuals} individuals.").format(
            collectives="{{ collectives }}", individuals="{{ individuals }}"
        ),
        italic=True,
        before=6,
    )
    _signature(doc)
    return doc


DEFAULTS: dict[str, Callable[[], DocxDocument]] = {PROPOSAL: proposal, NOMINEES: nominees}


def default(name: str) -> io.BytesIO:
    """The default template `name` as a .docx in memory (always in Vietnamese)."""
    with language("vi"):
        doc = DEFAULTS[name]()
    out = io.BytesIO()
    doc.save(out)
    out.seek(0)
    return out

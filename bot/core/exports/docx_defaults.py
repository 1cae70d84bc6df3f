"""The default Word templates of the phase's report (báo cáo), the award proposal (tờ trình đề
nghị khen thưởng) and the list of nominees (danh sách đề nghị), in the layout of Nghị định
30/2020/NĐ-CP. The heading and the signature block are written once, here, for all three.

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
from docx.table import Table

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
from bot.core.i18n import _, language

REPORT = "bao-cao-ket-qua-thi-dua.docx"
PROPOSAL = "to-trinh-de-nghi-khen-thuong.docx"
NOMINEES = "danh-sach-de-nghi-khen-thuong.docx"
LEFT_CM, RIGHT_CM = 6.6, 9.9


def _heading(doc: DocxDocument) -> None:
    """Issuer and number on the left, the national motto, place and date on the right."""
    table = grid(doc, [LEFT_CM, RIGHT_CM], 1, borders=False)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.alignment = ALIGN["center"]
    run = first.add_run("{%p if parent_body %}{{ parent_body }}{%p endif %}")
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


def _fill(
    table: Table,
    rows: list[list[str]],
    *,
    left: Callable[[int, int], bool] = lambda r, c: r > 0 and c > 0,
    bold: Callable[[int], bool] = lambda r: r == 0,
) -> None:
    """A template table's cells at 12 pt: by default a bold centred header row and the body
    left-aligned after a centred number column."""
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            p = table.rows[r].cells[c].paragraphs[0]
            p.alignment = ALIGN["left" if left(r, c) else "center"]
            run = p.add_run(value)
            run.font.size, run.bold = Pt(12), bold(r)


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
    _fill(table, [head, body])
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


def report() -> DocxDocument:
    """The phase's report: what the office compiled (docx.py's `context` fills it in)."""
    doc = _new()
    _heading(doc)
    para(doc, _("REPORT"), bold=True, align="center", before=18, after=0)
    para(doc, "{{ subject }}", bold=True, align="center", before=0, after=0)
    rule(doc, TEXT_WIDTH_CM, 5.0)
    para(
        doc,
        _(
            "Pursuant to the {plan} of {issuer}, {issuer} reports the results of {phase} of "
            "{year} (figures as of {day}) as follows:"
        ).format(
            plan="{{ plan_name }}",
            issuer="{{ issuer }}",
            phase="{{ phase_name }}",
            year="{{ year }}",
            day="{{ figures_day }}",
        ),
        indent=True,
        before=12,
    )
    _by_area(doc)
    _phase_reports(doc)
    _against_targets(doc)
    para(
        doc,
        _("This is the report on the results of {phase} of {year} of {issuer}./.").format(
            phase="{{ phase_name }}", year="{{ year }}", issuer="{{ issuer }}"
        ),
        indent=True,
        before=12,
    )
    _signature(doc)
    _annex(doc)
    page_numbers(doc)
    return doc


def _by_area(doc: DocxDocument) -> None:
    """I.: the personal reports by content area, and by unit in Table 1 (a column per area)."""
    para(doc, _("I. RESULTS BY CONTENT AREA"), bold=True, indent=True)
    para(
        doc,
        _("The units and individuals sent {n} personal achievement reports:").format(
            n="{{ personal_total }}"
        ),
        indent=True,
    )
    line = _("{i}. {name}: {n} reports.").format(
        i="{{ a.no }}", name="{{ a.name }}", n="{{ a.reports }}"
    )
    para(doc, "{%p for a in areas %}" + line + "{%p endfor %}", indent=True)
    para(
        doc,
        _("Table 1. Personal achievement reports by unit and content area"),
        size=13,
        italic=True,
        align="center",
        before=6,
        after=3,
    )
    areas_w = 7.8  # shared by the area columns
    widths = [1.0, TEXT_WIDTH_CM - 1.0 - 1.8 - areas_w, areas_w, 1.8]
    table = grid(doc, widths, 3, borders=True)
    area = _("Area {i}").format(i="{{ a.no }}")
    rows = [
        [_("No."), _("Unit"), "{%tc for a in areas %}" + area, _("Total")],
        [
            "{%tr for u in units %}{{ u.no }}",
            "{{ u.name }}",
            "{%tc for n in u.by_area %}{{ n }}",
            "{{ u.total }}",
        ],
        ["", _("Total"), "{%tc for a in areas %}{{ a.reports }}", "{{ personal_total }}"],
    ]
    _fill(table, rows, left=lambda r, c: c == 1 and r == 1, bold=lambda r: r != 1)


def _phase_reports(doc: DocxDocument) -> None:
    """II.: the units that filed their phase report, and those that did not yet."""
    para(doc, _("II. THE UNITS' PHASE REPORTS"), bold=True, indent=True, before=12)
    para(
        doc,
        _("Filed: {filed} of {expected} units{colon}").format(
            filed="{{ filed | length }}",
            expected="{{ expected }}",
            colon="{{ ':' if filed else '.' }}",
        ),
        indent=True,
    )
    line = _("- {name} ({receipt}, {day});").format(
        name="{{ u.name }}", receipt="{{ u.receipt }}", day="{{ u.day }}"
    )
    para(doc, "{%p for u in filed %}" + line + "{%p endfor %}", indent=True, before=0)
    late = _(
        "Not filed yet: {n} units ({names}); the summing-up deadline is {day} ({left})."
    ).format(
        n="{{ not_filed | length }}",
        names="{{ not_filed | join('; ') }}",
        day="{{ deadline }}",
        left="{{ deadline_left }}",
    )
    para(doc, "{%p if not_filed and deadline %}" + late + "{%p endif %}", indent=True)
    open_ended = _(
        "Not filed yet: {n} units ({names}); the phase has no summing-up deadline."
    ).format(n="{{ not_filed | length }}", names="{{ not_filed | join('; ') }}")
    para(doc, "{%p if not_filed and not deadline %}" + open_ended + "{%p endif %}", indent=True)


def _against_targets(doc: DocxDocument) -> None:
    """III.: the targets by audience, then the nominees by title."""
    para(doc, _("III. NOMINATIONS AGAINST THE PLAN'S TARGETS"), bold=True, indent=True, before=12)
    for group, label in (
        ("collective", _("{i}. For collectives:")),
        ("individual", _("{i}. For individuals:")),
    ):
        heading = label.format(i="{{ targets." + group + ".no }}")
        para(doc, "{%p if targets." + group + ".lines %}" + heading + "{%p endif %}", bold=True,
             italic=True, indent=True)  # fmt: skip
        para(doc, "{%p for t in targets." + group + ".lines %}- {{ t }}.{%p endfor %}",
             indent=True, before=0)  # fmt: skip
    para(
        doc,
        _("{i}. Nominations by title:").format(i="{{ by_title_no }}"),
        bold=True,
        italic=True,
        indent=True,
    )
    none = _("No nomination has been endorsed yet.")
    para(doc, "{%p if not by_title %}" + none + "{%p endif %}", indent=True, before=0)
    para(doc, "{%p for t in by_title %}- {{ t.title }} ({{ t.count }}): {{ t.names }}."
         "{%p endfor %}", indent=True, before=0)  # fmt: skip


def _annex(doc: DocxDocument) -> None:
    """The annex: the phase's achievements, a heading and a table per unit."""
    doc.add_page_break()
    para(doc, _("ANNEX"), bold=True, align="center", before=0, after=0)
    para(
        doc,
        _("Achievements of the units and individuals, {phase} of {year}").format(
            phase="{{ phase_name }}", year="{{ year }}"
        ),
        bold=True,
        align="center",
        before=0,
        after=0,
    )
    para(
        doc,
        _("(Attached to the report of {issuer})").format(issuer="{{ issuer }}"),
        italic=True,
        align="center",
        before=0,
    )
    none = _("No achievement has been reported in this phase yet.")
    para(doc, "{%p if not annex %}" + none + "{%p endif %}", indent=True)
    para(doc, "{%b for u in annex %}")
    para(doc, "{{ u.no }}. {{ u.name }} ({{ u.reports | length }})", bold=True, before=12, after=3)
    table = grid(doc, [0.9, 3.4, 3.2, 3.6, 5.4], 2, borders=True)  # BC-2022-0001 on one line
    rows = [
        [_("No."), _("Receipt"), _("Reported by"), _("Title"), _("Achievement")],
        [
            "{%tr for r in u.reports %}{{ r.no }}",
            "{{ r.receipt }}",
            "{{ r.person }}",
            "{{ r.title }}",
            "{{ r.detail }}",
        ],
    ]
    _fill(table, rows)
    para(doc, "{%b endfor %}")
    more = _("The first {n} achievements are listed; the XLSX file has them all.").format(
        n="{{ annex_max }}"
    )
    para(doc, "{%p if annex_cut %}" + more + "{%p endif %}", italic=True, before=6)


DEFAULTS: dict[str, Callable[[], DocxDocument]] = {
    REPORT: report,
    PROPOSAL: proposal,
    NOMINEES: nominees,
}


def default(name: str) -> io.BytesIO:
    """The default template `name` as a .docx in memory (always in Vietnamese)."""
    with language("vi"):
        doc = DEFAULTS[name]()
    out = io.BytesIO()
    doc.save(out)
    out.seek(0)
    return out

"""The default Word templates of the dossier a closed ballot session yields, in the layout of
Nghị định 30/2020/NĐ-CP: the minutes of the council's meeting (biên bản họp Hội đồng Thi đua –
Khen thưởng), the proposal to the head of the office (tờ trình đề nghị khen thưởng) and the
list of those proposed (danh sách). Built like docx_defaults.py (Jinja2 tags where the
figures go, rendered by docx_template.py); an office's own file of the same name in
`THIDUA_TEMPLATES` is used instead.

What they use (see dossier.context): the heading's issuer, issuing_body, parent_body, place,
year, symbol; scope, opened, closed (dates), members, voted, absent (names), quorum,
quorum_met, lines (no, name, unit, title, yes, no_votes, share, result), carried (no, title,
name, position, unit, basis, share), titles (name, count, audience), collectives,
individuals, legal_basis, plan_name, council, head (whom the proposal goes to),
signer_position, signer_name, recipients.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from docx.document import Document as DocxDocument
from docx.shared import Pt

from bot.core.exports.docx_defaults import _heading, _new, _signature
from bot.core.exports.docx_layout import ALIGN, TEXT_WIDTH_CM, grid, para, rule
from bot.core.i18n import _, language

MINUTES = "bien-ban-hop-hoi-dong.docx"
PROPOSAL = "to-trinh-binh-xet.docx"
LIST = "danh-sach-binh-xet.docx"


def _title(doc: DocxDocument, head: str, subject: str) -> None:
    para(doc, head, bold=True, align="center", before=18, after=0)
    para(doc, subject, bold=True, align="center", before=0)
    rule(doc, TEXT_WIDTH_CM, 5.0)


def _table(doc: DocxDocument, widths: list[float], head: list[str], body: list[str]) -> None:
    table = grid(doc, widths, 2, borders=True)
    for r, values in enumerate([head, body]):
        for c, value in enumerate(values):
            p = table.rows[r].cells[c].paragraphs[0]
            p.alignment = ALIGN["center" if r == 0 or c == 0 or c >= 4 else "left"]
            run = p.add_run(value)
            run.font.size, run.bold = Pt(11), r == 0


def minutes() -> DocxDocument:
    doc = _new()
    _heading(doc)
    _title(
        doc,
        _("MINUTES"),
        _(
            "Meeting of the Emulation and Commendation Council: the vote on {scope} of {year}"
        ).format(scope="{{ scope }}", year="{{ year }}"),
    )
    para(
        doc,
        _(
            "The {council} voted by secret ballot in private chat from {opened} to {closed}."
        ).format(council="{{ council }}", opened="{{ opened|day }}", closed="{{ closed|day }}"),
        indent=True,
    )
    para(
        doc,
        _(
            "Members: {members}; present (voted): {voted}; absent: {absent}. Quorum: {quorum}, "
            "{met}."
        ).format(
            members="{{ members|length }}",
            voted="{{ voted|length }}",
            absent="{{ absent|length }}",
            quorum="{{ quorum }}",
            met="{% if quorum_met %}"
            + _("reached")
            + "{% else %}"
            + _("not reached")
            + "{% endif %}",
        ),
        indent=True,
    )
    para(doc, _("Present:"), bold=True)
    para(doc, "{%p for name in voted %}- {{ name }}{%p endfor %}", indent=True, before=0)
    para(doc, "{%p if absent %}" + _("Absent:") + "{%p endif %}", bold=True)
    para(doc, "{%p for name in absent %}- {{ name }}{%p endfor %}", indent=True, before=0)
    para(doc, _("Candidates and votes:"), bold=True)
    _table(
        doc,
        [1.0, 3.8, 3.0, 2.9, 1.4, 1.5, 1.5, 1.4],
        [
            _("No."),
            _("Name"),
            _("Unit"),
            _("Title or award"),
            _("Agree"),
            _("Disagree"),
            _("Share"),
            _("Result"),
        ],
        [
            "{%tr for n in lines %}{{ n.no }}",
            "{{ n.name }}",
            "{{ n.unit }}",
            "{{ n.title }}",
            "{{ n.yes }}",
            "{{ n.no_votes }}",
            "{{ n.share }}",
            "{{ n.result }}",
        ],
    )
    para(
        doc,
        _(
            "Result: {carried} of {candidates} candidates reached their title's share of votes "
            "and are proposed for awards."
        ).format(carried="{{ carried|length }}", candidates="{{ lines|length }}"),
        indent=True,
        before=12,
    )
    para(
        doc,
        _("The meeting closed on {closed}./.").format(closed="{{ closed|long_day }}"),
        indent=True,
    )
    table = grid(doc, [8.0, 8.5], 1, borders=False)
    for cell, role in zip(
        table.rows[0].cells, (_("SECRETARY"), _("CHAIR OF THE COUNCIL")), strict=True
    ):
        p = cell.paragraphs[0]
        p.alignment = ALIGN["center"]
        p.paragraph_format.space_before = Pt(18)
        run = p.add_run(role)
        run.font.size, run.bold = Pt(14), True
    return doc


def proposal() -> DocxDocument:
    doc = _new()
    _heading(doc)
    _title(
        doc,
        _("PROPOSAL"),
        _("On awards for {scope} of {year}").format(scope="{{ scope }}", year="{{ year }}"),
    )
    para(
        doc,
        _("To: {head}").format(head="{{ head }}"),
        align="center",
        before=12,
    )
    para(doc, "{%p for basis in legal_basis %}{{ basis }}{%p endfor %}", indent=True)
    para(doc, _("Pursuant to the {plan};").format(plan="{{ plan_name }}"), indent=True)
    para(
        doc,
        _(
            "Pursuant to the minutes of the {council}'s secret vote closed on {closed}, the "
            "{council} proposes awards for {collectives} collectives and {individuals} "
            "individuals, as follows:"
        ).format(
            council="{{ council }}",
            closed="{{ closed|day }}",
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
    para(doc, _("(With the list and the minutes attached.)"), indent=True)
    para(
        doc,
        _("The {council} respectfully submits this for consideration./.").format(
            council="{{ council }}"
        ),
        indent=True,
    )
    _signature(doc)
    return doc


def proposed_list() -> DocxDocument:
    doc = _new()
    _heading(doc)
    _title(
        doc,
        _("LIST"),
        _("Proposed for awards after the council's vote, {scope} of {year}").format(
            scope="{{ scope }}", year="{{ year }}"
        ),
    )
    _table(
        doc,
        [1.0, 2.8, 3.4, 2.4, 2.6, 2.9, 1.4],
        [
            _("No."),
            _("Title or award"),
            _("Name"),
            _("Position"),
            _("Unit"),
            _("Achievements"),
            _("Share"),
        ],
        [
            "{%tr for n in carried %}{{ n.no }}",
            "{{ n.title }}",
            "{{ n.name }}",
            "{{ n.position }}",
            "{{ n.unit }}",
            "{{ n.basis }}",
            "{{ n.share }}",
        ],
    )
    para(doc, "{%p if not carried %}" + _("Nobody is proposed.") + "{%p endif %}", before=6)
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


DEFAULTS: dict[str, Callable[[], DocxDocument]] = {
    MINUTES: minutes,
    PROPOSAL: proposal,
    LIST: proposed_list,
}


def default(name: str) -> io.BytesIO:
    """The default template `name` as a .docx in memory (always in Vietnamese)."""
    with language("vi"):
        doc = DEFAULTS[name]()
    out = io.BytesIO()
    doc.save(out)
    out.seek(0)
    return out

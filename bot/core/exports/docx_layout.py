"""The page and typography of an administrative document (Nghị định 30/2020/NĐ-CP), in
python-docx: A4 with the decree's margins, Times New Roman, paragraphs, short rules, tables
with or without borders, page numbers. The templates built with it are in docx_defaults.py;
what the report says is in docx.py.
"""

from __future__ import annotations

from docx.blkcntnr import BlockItemContainer
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Cm, Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
BODY_PT = 14
TEXT_WIDTH_CM = 16.5  # A4 210 mm - 30 mm - 15 mm

#: Where paragraphs go: the document's body or a table cell.
Container = Document | BlockItemContainer

ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def page(doc: Document) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)


def fonts(rpr: CT_RPr) -> None:
    found = rpr.find(qn("w:rFonts"))
    if found is None:
        found = OxmlElement("w:rFonts")
        rpr.insert(0, found)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        found.set(qn(attr), FONT)


def styles(doc: Document) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    fonts(rpr)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    rpr.append(lang)
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(0), 1.0
    for name in ("Header", "Table Grid"):
        fonts(doc.styles[name].element.get_or_add_rPr())


def para(
    where: Container,
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


def rule(where: Container, width_cm: float, length_cm: float, before: float = 3) -> None:
    """A short horizontal rule, centred: a bordered empty paragraph narrowed by indents."""
    p = para(where, align="center", before=before, after=0)
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


def no_borders(table: Table) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def grid(doc: Document, widths_cm: list[float], rows: int, *, borders: bool) -> Table:
    table = doc.add_table(rows=rows, cols=len(widths_cm))
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    if borders:
        table.style = doc.styles["Table Grid"]
    else:
        no_borders(table)
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)  # the grid, which LibreOffice follows
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)  # the cells, which Word follows
    return table


def page_numbers(doc: Document) -> None:
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

"""Word templates with Jinja2 inside, rendered with python-docx (what docxtpl does, in small).

An office changes the wording and layout of its documents in Word, not in code: every
paragraph (in the body, in table cells, in headers and footers) is a Jinja2 template.

- `{{ issuer }}`, `{% if … %}…{% endif %}` inside a paragraph: rendered in place; the
  paragraph keeps the formatting of its first run. A line break (Shift+Enter) stays one.
- A paragraph `{%p for x in xs %}…{%p endfor %}` is repeated once per item;
  `{%p if cond %}…{%p endif %}` is kept only when `cond` holds.
- A table row whose first cell starts with `{%tr for x in xs %}` is repeated once per item
  (the tag itself is dropped); the other cells use `x`.
- Paragraphs and tables between a paragraph `{%b for x in xs %}` and a paragraph
  `{%b endfor %}` are repeated together once per item (a heading and its table per unit).
- A cell that starts with `{%tc for x in xs %}` is repeated across once per item (a column
  per content area, say); the copies share the cell's width, in every row alike.

The templates use the same i18n extension and filters (`day`, `long_day`, `number`,
`percent`) as the chat's, so wording in them is translated like any other; they run in
Jinja2's sandbox, so a template file cannot reach into Python.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.shared import Emu
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph
from jinja2 import Environment, TemplateError

from bot.core.i18n import document_templates

_PARAGRAPH_BLOCK = re.compile(
    r"^\s*\{%p\s+(?P<head>(for|if)\s.+?)\s*%\}(?P<body>.*)\{%p\s+end(for|if)\s*%\}\s*$", re.S
)
_ROW_LOOP = re.compile(r"^\s*\{%tr\s+(?P<head>for\s.+?)\s*%\}")
_BLOCK_START = re.compile(r"^\s*\{%b\s+(?P<head>for\s.+?)\s*%\}\s*$")
_BLOCK_END = re.compile(r"^\s*\{%b\s+endfor\s*%\}\s*$")
_CELL_LOOP = re.compile(r"^\s*\{%tc\s+(?P<head>for\s.+?)\s*%\}")
_FOR = re.compile(r"^for\s+(?P<name>\w+)\s+in\s+(?P<expr>.+)$", re.S)


def environment() -> Environment:
    """The chat templates' translation and filters, sandboxed, strict, with no loader."""
    return document_templates()


class TemplateFault(Exception):
    """A tag in a template that cannot be filled in; `text` is its paragraph or row."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _eval(expr: str, context: dict[str, Any]) -> Any:
    try:
        return environment().compile_expression(expr, undefined_to_none=False)(**context)
    except (TemplateError, TypeError, ValueError, AttributeError) as exc:
        raise TemplateFault(expr) from exc


def _render_text(text: str, context: dict[str, Any]) -> str:
    try:
        return environment().from_string(text).render(**context)
    except (TemplateError, TypeError, ValueError, AttributeError) as exc:
        raise TemplateFault(text) from exc


def _set_text(p: Paragraph, text: str) -> None:
    """Replace the paragraph's text, keeping its first run's formatting."""
    runs = p.runs
    if not runs:
        p.add_run(text)
        return
    runs[0].text = text
    for run in runs[1:]:
        run._r.getparent().remove(run._r)


def _paragraph(p: Paragraph, context: dict[str, Any]) -> None:
    text = p.text
    if "{" not in text:
        return
    block = _PARAGRAPH_BLOCK.match(text)
    if block is None:
        _set_text(p, _render_text(text, context))
        return
    head, body = block.group("head"), block.group("body")
    element = p._p
    parent = element.getparent()
    if head.startswith("if "):
        if _eval(head[3:], context):
            _set_text(p, _render_text(body, context))
        else:
            parent.remove(element)
        return
    loop = _FOR.match(head)
    if loop is None:
        raise TemplateFault(text)
    anchor = element
    for item in _eval(loop.group("expr"), context) or []:
        clone = copy.deepcopy(element)
        anchor.addnext(clone)
        anchor = clone
        _set_text(Paragraph(clone, p._parent), _render_text(body, {**context, loop["name"]: item}))
    parent.remove(element)


def _table(table: Table, context: dict[str, Any]) -> None:
    widened: set[int] = set()  # grid columns already split for a cell loop
    for row in list(table.rows):
        first = row.cells[0].text if row.cells else ""
        loop = _ROW_LOOP.match(first)
        if loop is None:
            _cells(row, table, context, widened)
            continue
        head = _FOR.match(loop.group("head"))
        if head is None:
            raise TemplateFault(first)
        element = row._tr
        anchor = element
        for item in _eval(head.group("expr"), context) or []:
            clone = copy.deepcopy(element)
            anchor.addnext(clone)
            anchor = clone
            copied = _Row(clone, table)
            for p in copied.cells[0].paragraphs:
                if _ROW_LOOP.match(p.text):
                    _set_text(p, _ROW_LOOP.sub("", p.text, count=1))
                    break
            _cells(copied, table, {**context, head.group("name"): item}, widened)
        element.getparent().remove(element)


def _cells(row: _Row, table: Table, context: dict[str, Any], widened: set[int]) -> None:
    """Render a row's cells; a `{%tc for %}` cell becomes one cell per item."""
    for index, tc in enumerate(list(row._tr.tc_lst)):
        cell = _Cell(tc, table)
        loop = _CELL_LOOP.match(cell.text)
        if loop is None:
            _container(cell, context)
            continue
        head = _FOR.match(loop.group("head"))
        if head is None:
            raise TemplateFault(cell.text)
        items = list(_eval(head.group("expr"), context) or [])
        width = tc.width
        anchor = tc
        for item in items:
            clone = copy.deepcopy(tc)
            anchor.addnext(clone)
            anchor = clone
            copied = _Cell(clone, table)
            if width is not None:
                copied.width = Emu(int(width / max(1, len(items))))
            for p in copied.paragraphs:
                if _CELL_LOOP.match(p.text):
                    _set_text(p, _CELL_LOOP.sub("", p.text, count=1))
                    break
            _container(copied, {**context, head.group("name"): item})
        tc.getparent().remove(tc)
        if index not in widened:
            widened.add(index)
            _split_grid(table, index, len(items))


def _split_grid(table: Table, index: int, parts: int) -> None:
    """The table's grid column `index` split in `parts` (LibreOffice lays out by the grid)."""
    cols = table._tbl.tblGrid.gridCol_lst
    if index >= len(cols) or parts == 1:
        return
    col = cols[index]
    width = col.w
    for _n in range(max(0, parts - 1)):
        clone = copy.deepcopy(col)
        col.addnext(clone)
        if width is not None:
            clone.w = Emu(int(width / parts))
    if parts == 0:
        col.getparent().remove(col)
    elif width is not None:
        col.w = Emu(int(width / parts))


def _container(where: Any, context: dict[str, Any]) -> None:
    """Render the paragraphs and tables of a body, a cell, a header or a footer, in order."""
    parent = where._body if isinstance(where, DocxDocument) else where
    _elements(parent, list(parent._element), context)


def _elements(parent: Any, elements: list[Any], context: dict[str, Any]) -> None:
    """Render `elements` (children of `parent`) once each; a `{%b for %}` group is cloned per
    item and each clone rendered with the item (never the rendered text again: what people
    typed may hold braces)."""
    i = 0
    while i < len(elements):
        element = elements[i]
        if element.tag == qn("w:tbl"):
            _table(Table(element, parent), context)
        elif element.tag == qn("w:p"):
            p = Paragraph(element, parent)
            start = _BLOCK_START.match(p.text)
            if start is not None:
                i = _block(parent, elements, i, start.group("head"), context)
                continue
            _paragraph(p, context)
        i += 1


def _block(
    parent: Any, elements: list[Any], start: int, head: str, context: dict[str, Any]
) -> int:
    """Repeat the elements between `elements[start]` and its `{%b endfor %}`; the index
    after the end marker."""
    end = next(
        (
            k
            for k in range(start + 1, len(elements))
            if elements[k].tag == qn("w:p")
            and _BLOCK_END.match(Paragraph(elements[k], parent).text)
        ),
        None,
    )
    loop = _FOR.match(head)
    if end is None or loop is None:
        raise TemplateFault(Paragraph(elements[start], parent).text)
    group = elements[start + 1 : end]
    for item in _eval(loop.group("expr"), context) or []:
        clones = [copy.deepcopy(element) for element in group]
        for clone in clones:
            elements[end].addprevious(clone)
        _elements(parent, clones, {**context, loop.group("name"): item})
    for element in [elements[start], *group, elements[end]]:
        element.getparent().remove(element)
    return end + 1


def _parts(doc: DocxDocument) -> Iterator[Any]:
    yield doc
    for section in doc.sections:
        for part in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
        ):
            if not part.is_linked_to_previous:
                yield part


def render(template: Path | IO[bytes], context: dict[str, Any]) -> DocxDocument:
    """The document `template` with every tag rendered against `context`."""
    doc = Document(str(template) if isinstance(template, Path) else template)
    for part in _parts(doc):
        _container(part, context)
    return doc

"""Word templates with Jinja2 inside, rendered with python-docx (what docxtpl does, in small).

An office changes the wording and layout of its documents in Word, not in code: every
paragraph (in the body, in table cells, in headers and footers) is a Jinja2 template.

- `{{ issuer }}`, `{% if … %}…{% endif %}` inside a paragraph: rendered in place; the
  paragraph keeps the formatting of its first run. A line break (Shift+Enter) stays one.
- A paragraph `{%p for x in xs %}…{%p endfor %}` is repeated once per item;
  `{%p if cond %}…{%p endif %}` is kept only when `cond` holds.
- A table row whose first cell starts with `{%tr for x in xs %}` is repeated once per item
  (the tag itself is dropped); the other cells use `x`.

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
from docx.table import Table, _Row
from docx.text.paragraph import Paragraph
from jinja2 import Environment, TemplateError

from bot.core.i18n import document_templates

_PARAGRAPH_BLOCK = re.compile(
    r"^\s*\{%p\s+(?P<head>(for|if)\s.+?)\s*%\}(?P<body>.*)\{%p\s+end(for|if)\s*%\}\s*$", re.S
)
_ROW_LOOP = re.compile(r"^\s*\{%tr\s+(?P<head>for\s.+?)\s*%\}")
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
    for row in list(table.rows):
        first = row.cells[0].text if row.cells else ""
        loop = _ROW_LOOP.match(first)
        if loop is None:
            for cell in row.cells:
                _container(cell, context)
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
            scoped = {**context, head.group("name"): item}
            for cell in copied.cells:
                _container(cell, scoped)
        element.getparent().remove(element)


def _container(where: Any, context: dict[str, Any]) -> None:
    for p in list(where.paragraphs):
        _paragraph(p, context)
    for table in list(where.tables):
        _table(table, context)


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

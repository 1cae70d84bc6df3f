"""The documents the clerk writes after the report, per phase: the award proposal (tờ trình
đề nghị khen thưởng) and the list of nominees per title (danh sách đề nghị), from Word
templates (docx_template.py): the office's own in `THIDUA_TEMPLATES`, else the defaults.

What a template can use: issuer, issuing_body, parent_body, place, year, symbol (TTr-…/DS-…),
proposal_symbol, phase_name, phase_number, council, plan_name, legal_basis (list), titles
(name, count, audience), collectives, individuals, nominees (no, title, name, unit, basis,
initiative, audience), recipients (list), signer_position, signer_name, today (a date).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import IO, Any, BinaryIO

from docx.document import Document as DocxDocument
from sqlmodel import col, select

from bot.core import clock
from bot.core import models as m
from bot.core.campaign import Plan
from bot.core.exports import docx_defaults
from bot.core.exports.docx_template import render
from bot.core.exports.rows import Scope
from bot.core.i18n import _, language
from bot.core.nominations import COUNTING
from bot.core.settings import get_settings
from bot.core.summary import current_phase

MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NAMES = (docx_defaults.PROPOSAL, docx_defaults.NOMINEES)
#: What `thidua templates` writes: the report's template too (docx.py fills it in).
TEMPLATES = (docx_defaults.REPORT, *NAMES)


def template_for(name: str) -> Path | IO[bytes]:
    """The office's template `name` if its folder has one, else the default."""
    folder = get_settings().templates_dir
    if folder:
        found = Path(folder) / name
        if found.is_file():
            return found
    return docx_defaults.default(name)


def _symbol(scope: Scope, kind: str) -> str:
    symbol = scope.campaign.plan.symbol
    return f"{kind}-{symbol.split('-', 1)[1]}" if "-" in symbol else kind


def _nominees(scope: Scope, phase: int) -> list[dict[str, Any]]:
    """The counting nominations of `phase` (the year-end ones, with no phase, go with the
    last), ordered by the campaign's titles, then unit and name."""
    n = m.Nomination
    last = max(p.number for p in scope.campaign.phases)
    phase_cond = col(n.phase) == phase
    if phase == last:
        phase_cond = phase_cond | col(n.phase).is_(None)
    rows = list(
        scope.session.exec(
            select(n, m.Unit)
            .join(m.Unit, col(m.Unit.id) == n.unit_id)
            .where(n.campaign_id == scope.campaign_row.id, col(n.status).in_(COUNTING), phase_cond)
            .order_by(col(m.Unit.code), col(n.nominee_name), col(n.id))
        )
    )
    order = {t.code: i for i, t in enumerate(scope.campaign.titles)}
    titles = scope.campaign.titles_by_code
    rows.sort(key=lambda pair: order.get(pair[0].title_code, len(order)))
    found = []
    for no, (nom, unit) in enumerate(rows, start=1):
        title = titles.get(nom.title_code)
        found.append(
            {
                "no": no,
                "title": title.name if title else nom.title_code,
                "title_code": nom.title_code,
                "name": nom.nominee_name,
                "unit": unit.name,
                "unit_code": unit.code,
                "basis": nom.basis,
                "initiative": nom.initiative or "",
                "audience": nom.audience,
                "receipt": nom.receipt,
            }
        )
    return found


def title_counts(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """How many of `items` (rows with `title`, `audience`) go for each title, grouped by
    `key`, in first-seen order: the proposal's "- Lao động tiên tiến: 4 cá nhân;" lines."""
    audiences = {"individual": _("individuals"), "collective": _("collectives")}
    titles: dict[str, dict[str, Any]] = {}
    for item in items:
        entry = titles.setdefault(
            item[key], {"name": item["title"], "count": 0, "audience": audiences[item["audience"]]}
        )
        entry["count"] += 1
    return list(titles.values())


def plan_name(plan: Plan) -> str:
    """The plan as a document names it: "Kế hoạch tổ chức phong trào thi đua …"."""
    return f"{plan.document_type.capitalize()} {plan.title[:1].lower()}{plan.title[1:]}"


def context(scope: Scope, phase: int | None = None) -> dict[str, Any]:
    """What the proposal and the list say, for `phase` (default: the current one)."""
    campaign, plan = scope.campaign, scope.campaign.plan
    number = phase or scope.phase or current_phase(campaign, scope.today).number
    found = next(p for p in campaign.phases if p.number == number)
    issuer = plan.issuing_body.title()
    nominees = _nominees(scope, number)
    titles = title_counts(nominees, "title_code")
    return {
        "issuer": issuer,
        "issuing_body": plan.issuing_body.upper(),
        "parent_body": plan.parent_body.upper(),
        "place": plan.place,
        "year": campaign.year,
        "symbol": _symbol(scope, "TTr"),
        "proposal_symbol": _symbol(scope, "TTr"),
        "list_symbol": _symbol(scope, "DS"),
        "phase_name": found.name[:1].lower() + found.name[1:],
        "phase_number": number,
        "council": _("Emulation and Commendation Council of {issuer}").format(issuer=issuer),
        "plan_name": plan_name(plan),
        "legal_basis": [
            _("Pursuant to {basis};").format(basis=b.rstrip(";. ")) for b in plan.legal_basis
        ],
        "titles": titles,
        "collectives": sum(1 for n in nominees if n["audience"] == "collective"),
        "individuals": sum(1 for n in nominees if n["audience"] == "individual"),
        "nominees": nominees,
        "recipients": [_("As above;"), _("Archive: VT, VP.")],
        "signer_position": plan.signer.position.upper() if plan.signer else "",
        "signer_name": plan.signer.name if plan.signer else "",
        "today": scope.today,
    }


def write(name: str, scope: Scope, out: Path | BinaryIO, phase: int | None = None) -> None:
    """The document `name` (one of NAMES) for `phase`, saved to `out`; always Vietnamese."""
    with language("vi"):
        values = context(scope, phase)
        if name == docx_defaults.NOMINEES:
            values["symbol"] = values["list_symbol"]
        doc = render(template_for(name), values)
    save(doc, scope, out, title=name.removesuffix(".docx"))


def save(doc: DocxDocument, scope: Scope, out: Path | BinaryIO, *, title: str) -> None:
    """Save a rendered document; its properties name the office, not the library."""
    props = doc.core_properties
    office = scope.campaign.plan.issuing_body
    props.author = props.last_modified_by = office
    props.comments = ""
    props.title = title
    now: dt.datetime = clock.now()
    props.created = props.modified = now
    props.revision = 1
    doc.save(str(out) if isinstance(out, Path) else out)  # python-docx takes a str path


def proposal(scope: Scope, out: Path | BinaryIO, phase: int | None = None) -> None:
    write(docx_defaults.PROPOSAL, scope, out, phase)


def nominees(scope: Scope, out: Path | BinaryIO, phase: int | None = None) -> None:
    write(docx_defaults.NOMINEES, scope, out, phase)


def write_defaults(folder: Path) -> list[Path]:
    """The default templates written into `folder`, for an office to edit."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TEMPLATES:
        target = folder / name
        target.write_bytes(docx_defaults.default(name).getvalue())
        written.append(target)
    return written

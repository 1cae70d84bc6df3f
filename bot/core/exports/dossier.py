"""The dossier (hồ sơ đề nghị) a closed ballot session yields (`thidua dossier`):

- the minutes, the proposal and the list, as DOCX (dossier_templates.py, NĐ 30/2020 layout);
- the same tables as XLSX: every candidate's votes, and those proposed;
- the hand-off sheet for the province's TĐKT system: one row per person or collective
  proposed (name, position, unit, title, achievements, vote share);
- the evidence files of the proposed nominees' reports, under `minh-chung/`.

Nothing in it says how anyone voted: the minutes name who voted, and count the ballots.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlmodel import Session, col, select

from bot.core import citations, clock, council, eligibility
from bot.core import models as m
from bot.core.campaign import Campaign
from bot.core.clock import LOCAL
from bot.core.exports import dossier_templates
from bot.core.exports.csv_export import safe
from bot.core.exports.documents import plan_name, title_counts
from bot.core.exports.docx_template import render
from bot.core.i18n import _, format_percent, language
from bot.core.reports import evidence_of
from bot.core.settings import get_settings

EVIDENCE = "minh-chung"
RESULTS_XLSX = "ket-qua-bo-phieu.xlsx"
LIST_XLSX = "danh-sach-de-nghi.xlsx"
HANDOFF_XLSX = "ho-so-chuyen-tinh.xlsx"


class DossierError(Exception):
    """The session cannot yield a dossier (not closed yet, not found)."""


@dataclass(frozen=True)
class Dossier:
    """One closed session, with what its documents say."""

    row: m.BallotSession
    campaign: Campaign
    lines: list[council.Line]
    voted: list[str]
    absent: list[str]
    prechecks: dict[int, str]  # nomination id -> the pre-check's outcome ("met", …)


def load(*, session: Session, campaign: Campaign, session_id: int) -> Dossier:
    row = session.get(m.BallotSession, session_id)
    if row is None:
        raise DossierError(_("There is no ballot session #{id}.").format(id=session_id))
    if row.status != "closed" or row.id is None:
        raise DossierError(
            _("Ballot session #{id} is still open: close it first.").format(id=session_id)
        )
    done = set(council.voted(session=session, session_id=row.id))
    seats = council.members(session=session, campaign_id=row.campaign_id)
    lines = council.lines(session=session, campaign=campaign, row=row)
    return Dossier(
        row=row,
        campaign=campaign,
        lines=lines,
        voted=[p.full_name for p in seats if p.id in done],
        absent=[p.full_name for p in seats if p.id not in done],
        prechecks={
            nom.id: eligibility.precheck(session, nom).outcome
            for nom in (line.candidate.nomination for line in lines)
            if nom.id is not None
        },
    )


def _share(outcome: council.Outcome) -> str:
    return format_percent(outcome.share * 100)


def _local(when: dt.datetime | None) -> dt.date:
    return (when or clock.now()).astimezone(LOCAL).date()


def context(found: Dossier) -> dict[str, Any]:
    """What the three documents say (always in Vietnamese: call within `language("vi")`)."""
    campaign, plan, row = found.campaign, found.campaign.plan, found.row
    issuer = plan.issuing_body.title()
    council_name = _("Emulation and Commendation Council of {issuer}").format(issuer=issuer)
    lines = [
        {
            "no": no,
            "name": line.candidate.nomination.nominee_name,
            "unit": line.candidate.unit,
            "title": line.candidate.title,
            "yes": line.outcome.yes,
            "no_votes": line.outcome.no,
            "share": _share(line.outcome),
            "result": _("carried") if line.outcome.passed else _("not carried"),
            "precheck": eligibility.outcome_label(
                found.prechecks.get(line.candidate.nomination.id or 0, "unknown")
            ),
        }
        for no, line in enumerate(found.lines, start=1)
    ]
    passed = [line for line in found.lines if line.outcome.passed]
    carried: list[dict[str, Any]] = [
        {
            "no": no,
            "title": line.candidate.title,
            "name": line.candidate.nomination.nominee_name,
            "position": line.candidate.position,
            "unit": line.candidate.unit,
            "basis": line.candidate.nomination.basis,
            "share": _share(line.outcome),
            "audience": line.candidate.nomination.audience,
        }
        for no, line in enumerate(passed, start=1)
    ]
    tally = council.result_of(row)
    symbol = plan.symbol.split("-", 1)[1] if "-" in plan.symbol else plan.symbol
    return {
        "issuer": issuer,
        "issuing_body": plan.issuing_body.upper(),
        "parent_body": plan.parent_body.upper(),
        "place": plan.place,
        "year": campaign.year,
        "symbol": f"BB-{symbol}",
        "scope": council.scope_label(campaign, row.phase).lower(),
        "opened": _local(row.opened_at),
        "closed": _local(row.closed_at),
        "council": council_name,
        "members": found.voted + found.absent,
        "voted": found.voted,
        "absent": found.absent,
        "quorum": council.rule_text(tally.quorum),
        "quorum_met": tally.quorum_met,
        "lines": lines,
        "carried": carried,
        "titles": title_counts(carried, "title"),
        "collectives": sum(1 for c in carried if c["audience"] == "collective"),
        "individuals": sum(1 for c in carried if c["audience"] == "individual"),
        "legal_basis": [
            _("Pursuant to {basis};").format(basis=b.rstrip(";. ")) for b in plan.legal_basis
        ],
        "plan_name": plan_name(plan),
        # the proposal goes from the council to the head of the office, who decides
        "head": f"{plan.signer.position.capitalize()} {issuer}" if plan.signer else issuer,
        "signer_position": _("FOR THE EMULATION AND COMMENDATION COUNCIL"),
        "signer_name": "",
        "recipients": [_("As above;"), _("Archive: VT, VP.")],
    }


def _template(name: str) -> Any:
    folder = get_settings().templates_dir
    if folder and (Path(folder) / name).is_file():
        return Path(folder) / name
    return dossier_templates.default(name)


def _docx(name: str, values: dict[str, Any], out: Path, symbol: str) -> Path:
    doc = render(_template(name), {**values, "symbol": symbol})
    props = doc.core_properties
    props.author = props.last_modified_by = values["issuer"]
    props.comments = ""
    props.title = name.removesuffix(".docx")
    props.created = props.modified = clock.now()
    props.revision = 1
    target = out / name
    doc.save(str(target))
    return target


def _xlsx(target: Path, title: str, header: list[str], rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(header)
    for row in rows:
        sheet.append([safe(v) if isinstance(v, str) else v for v in row])
    for column, width in zip("ABCDEFGHIJ", (6, 30, 24, 28, 40, 12, 12, 12), strict=False):
        sheet.column_dimensions[column].width = width
    book.save(str(target))
    return target


def _evidence(session: Session, found: Dossier, out: Path) -> list[Path]:
    """The evidence of the reports each proposed nomination rests on: those it cites, or
    (citing none) the nominee's own reports of the campaign, a collective's unit reports; every
    file of each, named `<nomination>-<report>-<n>`."""
    folder = out / EVIDENCE
    written = []
    for line in found.lines:
        if not line.outcome.passed:
            continue
        nom = line.candidate.nomination
        assert nom.id is not None  # a stored nomination
        reports = citations.cited(session=session, nomination_id=nom.id) or _own_reports(
            session, nom
        )
        files = evidence_of(session, [r.id for r in reports if r.id is not None])
        for report in reports:
            for n, item in enumerate(files.get(report.id or 0, []), start=1):
                source = Path(item.path or "")
                if not item.path or not source.is_file():
                    continue
                folder.mkdir(parents=True, exist_ok=True)
                name = f"{nom.receipt}-{report.receipt}-{n}{source.suffix.lower()}"
                shutil.copyfile(source, folder / name)
                written.append(folder / name)
    return written


def _own_reports(session: Session, nom: m.Nomination) -> list[m.Report]:
    r = m.Report
    query = select(r).where(
        r.campaign_id == nom.campaign_id, col(r.status).in_(("submitted", "accepted"))
    )
    if nom.nominee_person_id is not None:
        query = query.where(r.person_id == nom.nominee_person_id)
    elif nom.nominee_unit_id is not None:
        query = query.where(r.unit_id == nom.nominee_unit_id, r.scope == "unit")
    else:
        return []
    return list(session.exec(query.order_by(col(r.id))))


def write(*, session: Session, campaign: Campaign, session_id: int, out: Path) -> list[Path]:
    """Every file of the dossier into `out` (made if missing); the paths written."""
    found = load(session=session, campaign=campaign, session_id=session_id)
    out.mkdir(parents=True, exist_ok=True)
    with language("vi"):
        values = context(found)
        symbol = values["symbol"].removeprefix("BB-")
        written = [
            _docx(dossier_templates.MINUTES, values, out, f"BB-{symbol}"),
            _docx(dossier_templates.PROPOSAL, values, out, f"TTr-{symbol}"),
            _docx(dossier_templates.LIST, values, out, f"DS-{symbol}"),
        ]
        written.append(
            _xlsx(
                out / RESULTS_XLSX,
                _("Votes"),
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
                    [
                        n["no"],
                        n["name"],
                        n["unit"],
                        n["title"],
                        n["yes"],
                        n["no_votes"],
                        n["share"],
                        n["result"],
                    ]
                    for n in values["lines"]
                ],
            )
        )
        proposed = [
            [c["no"], c["name"], c["position"], c["unit"], c["title"], c["basis"], c["share"]]
            for c in values["carried"]
        ]
        header = [
            _("No."),
            _("Name"),
            _("Position"),
            _("Unit"),
            _("Title or award"),
            _("Achievements"),
            _("Vote share"),
        ]
        written.append(_xlsx(out / LIST_XLSX, _("Proposed"), header, proposed))
        written.append(
            _xlsx(
                out / HANDOFF_XLSX,
                _("Hand-off"),
                [*header, _("Kind")],
                [
                    [
                        *row,
                        _("An individual") if c["audience"] == "individual" else _("A collective"),
                    ]
                    for row, c in zip(proposed, values["carried"], strict=True)
                ],
            )
        )
    return written + _evidence(session, found, out)

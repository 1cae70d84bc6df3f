"""`thidua export --format zip`: the office's file for a phase in one archive: the XLSX, the
DOCX set (report with its annex, award proposal, list of nominees) and every evidence file,
foldered by unit (`minh-chung/QLCN/BC-2022-0001.jpg`).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sqlmodel import col, select

from bot.core import models as m
from bot.core.exports import documents, docx, xlsx
from bot.core.exports.rows import Scope
from bot.core.summary import current_phase

log = logging.getLogger(__name__)
MIME = "application/zip"
EVIDENCE = "minh-chung"


def _evidence(scope: Scope) -> list[tuple[str, Path]]:
    """(name in the archive, file on disk) for every live report's evidence still on disk:
    `minh-chung/QLCN/BC-2022-0001.jpg`, or `…/BC-2022-0001-1.jpg`, `-2.pdf` for several."""
    r, e = m.Report, m.ReportEvidence
    stmt = (
        select(r.receipt, e.path, m.Unit.code, e.report_id)
        .join(e, col(e.report_id) == r.id)
        .join(m.Unit, col(m.Unit.id) == r.unit_id)
        .where(
            r.campaign_id == scope.campaign_row.id,
            r.status != "withdrawn",
            col(e.path).is_not(None),
        )
        .order_by(col(r.id), col(e.position))
    )
    if scope.phase is not None:
        stmt = stmt.where(r.phase == scope.phase)
    rows = list(scope.session.exec(stmt))
    per_report = Counter(report_id for *_rest, report_id in rows)
    seen: Counter[int] = Counter()
    found = []
    for receipt, stored, unit, report_id in rows:
        seen[report_id] += 1
        path = Path(stored or "")
        if not path.is_file():
            log.warning("export: the evidence of %s is not on disk (%s)", receipt, stored)
            continue
        number = f"-{seen[report_id]}" if per_report[report_id] > 1 else ""
        found.append((f"{EVIDENCE}/{unit}/{receipt}{number}{path.suffix.lower()}", path))
    return found


def export(
    scope: Scope, out: Path | BinaryIO, progress: Callable[[int], None] | None = None
) -> None:
    phase = scope.phase or current_phase(scope.campaign, scope.today).number
    one_phase = Scope(
        session=scope.session,
        campaign_row=scope.campaign_row,
        campaign=scope.campaign,
        today=scope.today,
        phase=phase,
    )
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        sheet = io.BytesIO()
        xlsx.export(scope, sheet, progress)
        archive.writestr(f"tong-hop-dot-{phase}.xlsx", sheet.getvalue())
        for name, writer in (
            ("bao-cao", docx.export),
            ("to-trinh-de-nghi-khen-thuong", documents.proposal),
            ("danh-sach-de-nghi-khen-thuong", documents.nominees),
        ):
            doc = io.BytesIO()
            writer(one_phase, doc)
            archive.writestr(f"{name}-dot-{phase}.docx", doc.getvalue())
        for name, path in _evidence(one_phase):
            archive.write(path, name)

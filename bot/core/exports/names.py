"""The file names exports are saved and sent under."""

from __future__ import annotations

import datetime as dt

KINDS = {
    "xlsx": "tong-hop",
    "docx": "bao-cao",
    "csv": "bao-cao-thanh-tich",
    "zip": "ho-so",
    "proposal": "to-trinh-de-nghi-khen-thuong",
    "nominees": "danh-sach-de-nghi-khen-thuong",
}
SUFFIX = {"proposal": "docx", "nominees": "docx"}
CSV_TABLES = {
    "reports": "bao-cao-thanh-tich",
    "nominations": "de-nghi-khen-thuong",
    "units": "don-vi",
    "targets": "chi-tieu",
}


def file_name(
    code: str, fmt: str, phase: int | None, day: dt.date | str, table: str = "reports"
) -> str:
    """`cong-thuong-ha-tinh-2022-bao-cao-dot-1-20220510.docx`: ASCII, sortable, says what it
    holds."""
    stamp = day.strftime("%Y%m%d") if isinstance(day, dt.date) else day
    part = f"dot-{phase}" if phase is not None else "ca-nam"
    kind = CSV_TABLES[table] if fmt == "csv" else KINDS[fmt]
    return f"{code}-{kind}-{part}-{stamp}.{SUFFIX.get(fmt, fmt)}"

"""Read back a table the CLI printed (rich's box characters): its rows as lists of cells."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[│┃]")


def table_rows(output: str) -> list[list[str]]:
    """Header and body rows of every table in `output`, cells stripped (one line per row)."""
    found = []
    for line in output.splitlines():
        if _SEPARATORS.search(line):
            cells = _SEPARATORS.split(line)[1:-1]
            found.append([c.strip() for c in cells])
    return found

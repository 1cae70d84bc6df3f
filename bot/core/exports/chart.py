"""A PNG bar chart of personal reports by unit and content area (matplotlib, Agg, no display)."""

from __future__ import annotations

import io
import textwrap

from bot.core.i18n import _
from bot.core.summary import Summary

FONT = 11  # points, at DPI: legible on a phone
DPI = 150
NAME_WRAP = 22  # characters per line of a unit's name
COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6")


def _plain(text: str) -> str:
    """matplotlib reads $...$ as mathematics; a unit code is plain text."""
    return text.replace("$", r"\$")


def reports_by_unit(summary: Summary) -> bytes:
    """Horizontal stacked bars, one per unit; ✓ marks a unit that filed its phase report."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    units = list(reversed(summary.units))  # first unit at the top
    # names, not codes, wrapped: a phone shows the picture about 5 cm wide
    labels = [
        _plain(textwrap.fill(u.unit.name, NAME_WRAP, max_lines=2, placeholder="…"))
        + (" ✓" if u.filed else "")
        for u in units
    ]
    rows = sum(label.count("\n") + 1 for label in labels)
    height = 1.6 + 0.34 * max(rows, 3) + 0.12 * len(units)
    fig = Figure(figsize=(6, height), dpi=DPI)
    ax = fig.add_subplot()
    left = [0] * len(units)
    for i, area in enumerate(summary.areas):
        values = [u.by_area.get(area.code, 0) for u in units]
        ax.barh(
            labels,
            values,
            left=left,
            color=COLOURS[i % len(COLOURS)],
            label=_plain(area.name),
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in enumerate(left):
        if total:
            ax.text(total, y, f" {total}", va="center", fontsize=FONT)
    ax.set_title(
        _plain(
            _("Personal reports by unit, {phase} (✓ unit report filed)").format(
                phase=summary.phase.name
            )
        ),
        fontsize=FONT + 1,
        wrap=True,
    )
    ax.set_xlabel(_("Reports"), fontsize=FONT)
    ax.tick_params(axis="y", labelsize=FONT)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    if summary.areas:
        ax.legend(
            loc="upper left", bbox_to_anchor=(0, -0.8 / height), fontsize=FONT, frameon=False
        )
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight", pad_inches=0.2)
    return out.getvalue()

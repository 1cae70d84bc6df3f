"""A PNG bar chart of personal reports by unit and content area (matplotlib, Agg, no display)."""

from __future__ import annotations

import io

from bot.core.i18n import _
from bot.core.summary import Summary

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
    labels = [_plain(u.unit.code) + (" ✓" if u.filed else "") for u in units]
    height = 1.2 + 0.32 * max(len(units), 3)
    fig = Figure(figsize=(8, height), dpi=100)
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
            ax.text(total, y, f" {total}", va="center", fontsize=8)
    ax.set_title(
        _plain(
            _("Personal reports by unit, {phase} (✓ unit report filed)").format(
                phase=summary.phase.name
            )
        ),
        fontsize=10,
    )
    ax.set_xlabel(_("Reports"))
    ax.tick_params(axis="y", labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    if summary.areas:
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.65 / height), fontsize=8, frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight", pad_inches=0.2)
    return out.getvalue()

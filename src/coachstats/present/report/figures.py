"""The figures of a report, drawn with :mod:`coachstats.present.plots` and embedded as ``data:`` URIs.

:func:`section_figures` draws a data set's outcomes (bars, mean changes, forest plots),
:func:`consort_figure` its CONSORT flow, and :func:`embed_figure` turns any drawn figure into
a :class:`~coachstats.present.report.model.Figure` (and closes it).
"""

from __future__ import annotations

import base64
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from coachstats.core.formatting import is_percent_estimand
from coachstats.core.results import ComparisonResult
from coachstats.present.report.model import DataSection, Figure, ImageFormat

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

__all__ = ["consort_figure", "embed_figure", "section_figures"]


def embed_figure(
    ax: Axes | Sequence[Axes] | MplFigure, fmt: ImageFormat, title: str, caption: str
) -> Figure:
    """Save the figure of ``ax`` with :func:`~coachstats.present.plots.save_figure`, close it, encode it.

    Parameters
    ----------
    ax : Axes, sequence of Axes or matplotlib Figure
        What was drawn (the figure of the first Axes is saved).
    fmt : {"png", "svg"}
        The image format (PNG at 150 dpi).
    title, caption : str
        Shown above and below the image.

    Returns
    -------
    Figure
        The image as base64 data, for a ``data:`` URI.
    """
    import matplotlib.pyplot as plt

    from coachstats.present.plots import save_figure

    first = ax[0] if isinstance(ax, Sequence) else ax
    fig = first.figure
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"figure.{fmt}"
            save_figure(first, path, dpi=150 if fmt == "png" else None)
            data = base64.b64encode(path.read_bytes()).decode("ascii")
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    mime = "image/png" if fmt == "png" else "image/svg+xml"
    return Figure(title, caption, mime, data)


def _unique_by_outcome(
    items: Sequence[tuple[ComparisonResult, str]],
) -> list[tuple[ComparisonResult, str]]:
    """The first (result, label) of each outcome."""
    seen: dict[str, tuple[ComparisonResult, str]] = {}
    for r, lab in items:
        seen.setdefault(r.outcome, (r, lab))
    return list(seen.values())


def section_figures(
    section: DataSection, fmt: ImageFormat, *, forests: bool = True
) -> list[Figure]:
    """Bars of the binary outcomes, mean changes, and one forest plot per effect measure.

    The figures are sized for the report (a page, not a journal column): the change panels
    get 1.9 in each and the forest plots the double-column width, with wrapped labels.
    ``forests=False`` leaves the forest plots out (an evaluation draws its own, with the trials).
    """
    import numpy as np

    from coachstats.present.plots import plot_by_arm, plot_changes, plot_forest
    from coachstats.present.plots.common import new_figure, wrap
    from coachstats.present.plots.style import DOUBLE_COLUMN, SINGLE_COLUMN

    pairs = list(zip(section.results, section.labels, strict=True))
    figures: list[Figure] = []
    binary = _unique_by_outcome(
        [
            (r, lab)
            for r, lab in pairs
            if all(a.events is not None for a in r.arms) and not r.adjusted
        ]
    )
    if binary:
        ax = plot_by_arm(
            [r for r, _ in binary],
            labels=[lab for _, lab in binary],
            ci=True,
            ylabel="Patients with the outcome (%)",
        )
        figures.append(
            embed_figure(
                ax,
                fmt,
                "Patients with the outcome by arm",
                "Percentage of each arm with the outcome (at goal, for the clinical goals), with "
                "Wilson 95% intervals and the P value of each comparison.",
            )
        )
    changes = _unique_by_outcome(
        [
            (r, lab)
            for r, lab in pairs
            if r.outcome.startswith("change_") and all(a.events is None for a in r.arms)
        ]
    )
    if changes:
        m = len(changes)
        with new_figure((max(SINGLE_COLUMN, 1.9 * m), 2.9)) as fig:
            axes = list(np.atleast_1d(fig.subplots(1, m)))
            plot_changes(
                [r for r, _ in changes], labels=[wrap(lab, 18) for _, lab in changes], axes=axes
            )
        figures.append(
            embed_figure(
                axes,
                fmt,
                "Mean change from baseline by arm",
                "Mean change with its 95% t interval per arm; the difference and P are the "
                "comparison's (marked adjusted when it is).",
            )
        )
    # one figure per estimand; mean differences get one panel per outcome, whose units differ
    panels: dict[str, dict[str, list[tuple[ComparisonResult, str]]]] = {}
    for r, lab in pairs if forests else ():
        if math.isfinite(r.conf_low) and math.isfinite(r.conf_high):
            unit_key = r.outcome if r.estimand == "mean difference" else ""
            panels.setdefault(r.estimand, {}).setdefault(unit_key, []).append((r, lab))
    for estimand, groups in panels.items():
        heights = [0.9 + 0.3 * len(items) for items in groups.values()]
        with new_figure((DOUBLE_COLUMN, sum(heights))) as fig:
            grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
            axes = [
                plot_forest(
                    [r for r, _ in items],
                    labels=[wrap(lab, 45) for _, lab in items],
                    ax=fig.add_subplot(grid[i]),
                )
                for i, items in enumerate(groups.values())
            ]
        figures.append(
            embed_figure(
                axes if len(axes) > 1 else axes[0],
                fmt,
                f"Forest plot: {estimand}",
                f"{estimand.capitalize()} (coaching vs usual care"
                + (", in percentage points" if is_percent_estimand(estimand) else "")
                + ") with its 95% CI for every comparison"
                + ("; one panel per outcome, each on its own scale." if len(axes) > 1 else "."),
            )
        )
    return figures


def consort_figure(section: DataSection, fmt: ImageFormat) -> Figure | None:
    """The CONSORT diagram of the section's drawn endpoint (None without a flow)."""
    from coachstats.present.plots import plot_consort
    from coachstats.present.plots.common import OUTCOME_LABELS

    if section.flow is None:
        return None
    ep = section.flow_endpoint
    ax = plot_consort(section.flow, endpoint=ep)
    name = OUTCOME_LABELS.get(ep, ep) if ep else ""
    return embed_figure(
        ax,
        fmt,
        "CONSORT flow" + (f": {name}" if name else ""),
        f"{section.flow.entry}, lost to follow-up, excluded from the analysis with the reason, "
        "and analysed, per arm.",
    )

"""Tipping-point plot: where a missing-not-at-random shift changes the trial's conclusion.

Draws a :class:`~coachstats.compare.sensitivity.TippingPointResult`:

* a grid over both arms (two or more control deltas): each cell coloured by
  its conclusion (significantly higher with the treatment arm, no
  significant difference, significantly lower), the unadjusted point marked;
* one row (a single control delta): the estimate and its confidence interval
  against the treatment delta, with the null line and the tipping points.

Examples
--------
>>> import pandas as pd
>>> from coachstats.compare.sensitivity import tipping_point_counts
>>> d = pd.DataFrame({"arm": ["coaching"] * 30 + ["usual_care"] * 30,
...                   "goal": [1] * 16 + [0] * 8 + [None] * 6 + [1] * 7 + [0] * 17 + [None] * 6})
>>> ax = plot_tipping_point(tipping_point_counts(d, "goal"))
>>> [" ".join(label.split()) for label in (ax.get_xlabel(), ax.get_ylabel())]
['Coaching: successes among the 6 missing', 'Usual care: successes among the 6 missing']
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from coachstats.core.errors import AnalysisError
from coachstats.present.plots.common import axes_for
from coachstats.present.plots.style import SINGLE_COLUMN, arm_color, arm_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from coachstats.compare.sensitivity import TippingPointResult

__all__ = ["plot_tipping_point"]

_NEUTRAL = "#DDDDDD"


def _axis_label(result: TippingPointResult, which: int) -> str:
    arm = arm_label(result.arms[which], short=True)
    if result.scale.startswith("successes"):
        return f"{arm}: successes among\nthe {result.n_missing[which]} missing"
    unit = "log-odds" if result.scale == "log-odds" else result.column
    return f"{arm}: shift of the\nimputed values ({unit})"


def _colors(result: TippingPointResult) -> dict[str, str]:
    from coachstats.compare.sensitivity import NOT_SIGNIFICANT

    t = result.arms[0]
    return {
        f"significantly higher with {t}": arm_color(t, 0),
        NOT_SIGNIFICANT: _NEUTRAL,
        f"significantly lower with {t}": arm_color(result.arms[1], 1),
    }


def plot_tipping_point(result: TippingPointResult, *, ax: Axes | None = None) -> Axes:
    """Draw a tipping-point analysis (a conclusion map, or estimate and CI along one row).

    Parameters
    ----------
    result : TippingPointResult
        From :func:`~coachstats.compare.sensitivity.tipping_point` or
        :func:`~coachstats.compare.sensitivity.tipping_point_counts`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure in the journal style).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    AnalysisError
        An empty grid.
    """
    grid = result.grid
    if grid.empty:
        raise AnalysisError("plot_tipping_point: the grid is empty")
    if grid["delta_control"].nunique() > 1:
        return _map(result, ax)
    return _row(result, ax)


def _map(result: TippingPointResult, ax: Axes | None) -> Axes:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    grid = result.grid
    xs = np.sort(grid["delta_treatment"].unique())
    ys = np.sort(grid["delta_control"].unique())
    colors = _colors(result)
    order = list(colors)
    codes = grid["conclusion"].map({c: i for i, c in enumerate(order)}).to_numpy(dtype=float)
    table = np.full((len(ys), len(xs)), np.nan)
    table[
        np.searchsorted(ys, grid["delta_control"]), np.searchsorted(xs, grid["delta_treatment"])
    ] = codes

    def edges(v: np.ndarray) -> np.ndarray:
        if len(v) == 1:
            return np.array([v[0] - 0.5, v[0] + 0.5])
        mid = (v[1:] + v[:-1]) / 2
        return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])

    with axes_for(ax, (SINGLE_COLUMN, SINGLE_COLUMN * 0.9)) as ax:
        cmap = ListedColormap([colors[c] for c in order])
        ax.pcolormesh(edges(xs), edges(ys), table, cmap=cmap, vmin=-0.5, vmax=2.5, alpha=0.85)
        ref = _reference_point(result)
        ax.plot(*ref, marker="o", color="black", markersize=5, linestyle="none")
        ax.annotate(
            "no adjustment" if not result.scale.startswith("successes") else "observed rates",
            ref,
            xytext=(4, 4),
            textcoords="offset points",
            fontsize="small",
        )
        ax.set_xlabel(_axis_label(result, 0))
        ax.set_ylabel(_axis_label(result, 1))
        present = [c for c in order if (grid["conclusion"] == c).any()]
        ax.legend(
            handles=[Patch(facecolor=colors[c], label=c[:1].upper() + c[1:]) for c in present],
            loc="lower center",
            bbox_to_anchor=(0.5, 1.02),
            frameon=False,
            fontsize="small",
        )
    return ax


def _reference_point(result: TippingPointResult) -> tuple[float, float]:
    """(0, 0) for a delta grid; the completion at the observed rates for counts."""
    if not result.scale.startswith("successes"):
        return 0.0, 0.0
    shares = [a.value for a in result.reference.arms[:2]]
    return result.n_missing[0] * shares[0], result.n_missing[1] * shares[1]


def _row(result: TippingPointResult, ax: Axes | None) -> Axes:
    grid = result.grid.sort_values("delta_treatment")
    x = grid["delta_treatment"].to_numpy(dtype=float)
    null = 1.0 if "ratio" in result.reference.estimand.lower() else 0.0
    with axes_for(ax, (SINGLE_COLUMN, SINGLE_COLUMN * 0.75)) as ax:
        ax.fill_between(
            x,
            grid["conf_low"].to_numpy(dtype=float),
            grid["conf_high"].to_numpy(dtype=float),
            color=arm_color(result.arms[0], 0),
            alpha=0.25,
            linewidth=0,
        )
        ax.plot(x, grid["estimate"].to_numpy(dtype=float), color="black", lw=1.0)
        ax.axhline(null, color="0.5", lw=0.6, ls="--")
        for tip in result.tipping_points()["delta_treatment"]:
            ax.axvline(float(tip), color="black", lw=0.6, ls=":")
            ax.annotate(
                f"{tip:.3g}",
                (float(tip), 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -10),
                textcoords="offset points",
                fontsize="small",
            )
        if "ratio" in result.reference.estimand.lower():
            ax.set_yscale("log")
        ax.set_xlabel(_axis_label(result, 0))
        est = result.reference.estimand
        level = f"{100 * result.reference.conf_level:g}%"
        ax.set_ylabel(f"{est[:1].upper()}{est[1:]} ({level} CI)")
    return ax

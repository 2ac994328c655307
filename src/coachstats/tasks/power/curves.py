"""Power against enrolment for planned designs, as a table and as a figure.

Examples
--------
>>> from coachstats.tasks.power.solvers import power_two_proportions
>>> r = power_two_proportions(0.464, 0.343, power=0.8)
>>> power_curve(r, [257])["power"].round(3).tolist()
[0.8]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from coachstats.core.errors import AnalysisError, OptionError, check_option
from coachstats.tasks.power.engines import PowerTest, mean_test, proportion_test
from coachstats.tasks.power.result import PowerResult
from coachstats.tasks.power.settings import Settings, open_unit, sides_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_power_curve", "power_curve"]


def _rebuild(result: PowerResult) -> PowerTest:
    """The test behind a result, to evaluate it at other sizes."""
    ratio = result.ratio
    if result.clustered == "group 1":  # the test's effective ratio (see Design.effective_ratio)
        spread = 1.0 if math.isnan(result.sd2) else (result.sd2 / result.sd) ** 2
        ratio = ratio * result.design_effect / spread
    settings = Settings(result.alpha, sides_of(result.alternative), result.strict, ratio)
    if result.test == "two proportions":
        return proportion_test(result.p1, result.p2, result.method, settings)
    return mean_test(result.effect_size, settings)


def power_curve(
    results: PowerResult | Sequence[PowerResult],
    n: ArrayLike | None = None,
    *,
    points: int = 50,
) -> pd.DataFrame:
    """Power against the number enrolled, for one or more planned designs.

    Each result keeps its effect, test, allocation, design effect and
    attrition; only the enrolment varies. The power at enrolment :math:`n` is
    that of the effective sample :math:`n (1 - \\text{attrition}) / \\mathrm{DE}`.

    Parameters
    ----------
    results : PowerResult or sequence of PowerResult
        From :func:`power_two_proportions` / :func:`power_two_means`.
    n : array-like, optional
        Enrolment in group 1 to evaluate. By default ``points`` whole numbers
        from the smallest valid sample to twice each design's enrolment.
    points : int
        Grid size of the default grid (>= 2).

    Returns
    -------
    DataFrame
        One row per design and n: ``label``, ``n1_enrolled``, ``n2_enrolled``,
        ``n_enrolled``, ``n1`` (effective), ``power``.

    Examples
    --------
    >>> from coachstats.tasks.power.solvers import power_two_proportions
    >>> r = power_two_proportions(0.464, 0.343, power=0.8)
    >>> curve = power_curve(r, [100, 257, 400])
    >>> curve["power"].round(3).tolist()
    [0.414, 0.8, 0.938]
    """
    items = [results] if isinstance(results, PowerResult) else list(results)
    if not items or not all(isinstance(r, PowerResult) for r in items):
        raise OptionError("results must be a PowerResult or a non-empty sequence of them")
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise OptionError(f"points must be an integer >= 2, got {points!r}")
    frames = []
    for res in items:
        test = _rebuild(res)
        inflate = res.design_effect / (1.0 - res.attrition)
        if n is None:
            lo = max(test.n_min, 2.0) * inflate
            hi = max(2.0 * res.n1_enrolled, lo + points)
            grid = np.unique(np.ceil(np.linspace(lo, hi, points)))
        else:
            grid = np.atleast_1d(np.asarray(n, dtype=float))
            if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
                raise OptionError("n must hold finite numbers > 0")
        eff = grid / inflate
        short = eff < test.n_min
        if np.any(short):
            raise AnalysisError(
                f"n={grid[short].tolist()} leave fewer than 2 effective patients per group "
                f"for '{res.label}'"
            )
        frames.append(
            pd.DataFrame(
                {
                    "label": res.label,
                    "n1_enrolled": grid,
                    "n2_enrolled": res.ratio * grid,
                    "n_enrolled": (1.0 + res.ratio) * grid,
                    "n1": eff,
                    "power": test.power(eff),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plot_power_curve(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    target: float | None = 0.8,
    x: Literal["n1_enrolled", "n_enrolled"] = "n1_enrolled",
) -> Axes:
    """Draw power against enrolment, one line per design (from :func:`power_curve`).

    Parameters
    ----------
    frame : DataFrame
        Output of :func:`power_curve`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    target : float or None
        Draw a dashed reference line at this power.
    x : {"n1_enrolled", "n_enrolled"}
        Enrolment in group 1 or in both groups on the x axis.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from coachstats.tasks.power.solvers import power_two_proportions
    >>> r = power_two_proportions(0.464, 0.343, power=0.8, outcome="HCPC composite")
    >>> ax = plot_power_curve(power_curve(r))
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('Power', ['HCPC composite'])
    """
    check_option("x", x, ("n1_enrolled", "n_enrolled"))
    missing = [c for c in ("label", x, "power") if c not in frame.columns]
    if missing:
        raise OptionError(f"frame lacks column(s) {missing}; pass the output of power_curve()")
    if target is not None:
        open_unit("target", target)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    for label, part in frame.groupby("label", sort=False):
        ax.plot(part[x].to_numpy(), part["power"].to_numpy(), label=str(label))
    if target is not None:
        ax.axhline(target, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_ylim(0.0, 1.0)
    equal = "n2_enrolled" not in frame.columns or bool(
        np.allclose(frame["n2_enrolled"].to_numpy(), frame["n1_enrolled"].to_numpy())
    )
    group = "per group" if equal else "in group 1"
    ax.set_xlabel(f"Patients enrolled {group}" if x == "n1_enrolled" else "Patients enrolled")
    ax.set_ylabel("Power")
    ax.legend(frameon=False)
    return ax

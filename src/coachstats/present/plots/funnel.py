"""Funnel plot: each study's estimate against its standard error, with the pseudo-confidence funnel.

Small-study effects (e.g. publication bias) show as asymmetry: small studies
(large SE, at the bottom) scattered to one side only. The funnel is the
region :math:`\\hat\\mu \\pm z_{1-\\alpha/2}\\,SE` around the pooled estimate,
inside which about 95 % of studies would fall without heterogeneity or bias.
With fewer than 10 studies asymmetry cannot be judged (Sterne et al. 2011):
the plot warns. Pair it with :func:`coachstats.compare.meta_checks.egger_test`.

References
----------
Sterne JAC, Sutton AJ, Ioannidis JPA, et al. Recommendations for examining
and interpreting funnel plot asymmetry in meta-analyses of randomised
controlled trials. BMJ 2011;343:d4002.

Examples
--------
>>> import warnings
>>> from coachstats.compare.meta import pool
>>> m = pool([0.1, 0.3, 0.2, -0.1, 0.25, 0.05, 0.15, 0.4, 0.0, 0.2],
...          [0.05, 0.05, 0.1, 0.2, 0.12, 0.08, 0.15, 0.25, 0.18, 0.07])
>>> ax = plot_funnel(m)
>>> bool(ax.yaxis_inverted()), len(ax.collections[-1].get_offsets())
(True, 10)
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from coachstats.compare.meta_checks import EGGER_MIN_K
from coachstats.compare.meta_fit import critical_value
from coachstats.core.errors import AnalysisError, DataWarning
from coachstats.present.plots.common import axes_for
from coachstats.present.plots.forest import log_axis
from coachstats.present.plots.style import SINGLE_COLUMN, arm_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from coachstats.compare.meta import MetaResult

__all__ = ["plot_funnel"]


def plot_funnel(
    result: MetaResult,
    *,
    xlabel: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Funnel plot of the studies of a pooled result.

    Parameters
    ----------
    result : MetaResult
        From :func:`coachstats.compare.meta.pool` (it keeps the study
        estimates and SEs). Log-scale results (``transform="exp"``) are
        drawn exponentiated on a log axis.
    xlabel : str, optional
        Default: the estimand.
    ax : Axes, optional
        Where to draw; default a new figure in the journal style.

    Returns
    -------
    Axes
        SE on the y axis, 0 at the top; the pooled estimate as a vertical
        line; the 95 % (``result.conf_level``) funnel shaded.

    Raises
    ------
    AnalysisError
        The result carries no study estimates.

    Warns
    -----
    DataWarning
        Fewer than 10 studies.
    """
    y = np.asarray(result.estimates, dtype=float)
    s = np.asarray(result.std_errors, dtype=float)
    keep = np.isfinite(y) & np.isfinite(s)
    y, s = y[keep], s[keep]
    if y.size == 0:
        raise AnalysisError("plot_funnel: the pooled result carries no study estimates")
    if y.size < EGGER_MIN_K:
        warnings.warn(
            f"a funnel plot of {y.size} studies (< {EGGER_MIN_K}) cannot show asymmetry reliably",
            DataWarning,
            stacklevel=2,
        )
    log = result.transform == "exp"
    back = np.exp if log else (lambda v: v)
    crit = critical_value(result.conf_level)
    top = 1.08 * float(s.max())
    se_grid = np.array([0.0, top])
    mu = result.estimate
    with axes_for(ax, (SINGLE_COLUMN, SINGLE_COLUMN)) as ax:
        left, right = back(mu - crit * se_grid), back(mu + crit * se_grid)
        ax.fill_betweenx(se_grid, left, right, color="0.93", zorder=0, lw=0)
        ax.plot(left, se_grid, color="0.5", lw=0.6, ls="--")
        ax.plot(right, se_grid, color="0.5", lw=0.6, ls="--")
        ax.axvline(float(back(mu)), color="0.3", lw=0.8)
        ax.scatter(back(y), s, s=14, color=arm_color("coaching", 0), zorder=3)
        ax.set_ylim(top, 0.0)
        ax.set_ylabel("Standard error")
        name = result.estimand or "estimate"
        ax.set_xlabel(xlabel if xlabel is not None else f"{name[:1].upper()}{name[1:]}")
        if log:
            values = np.concatenate([back(y), left, right])
            log_axis(ax, values[np.isfinite(values) & (values > 0)])
        ax.set_title(
            f"k = {y.size}; pooled {float(back(mu)):.3g}, {result.method_name}", fontsize="small"
        )
    return ax

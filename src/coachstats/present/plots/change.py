"""Mean change from baseline by arm, with confidence intervals, one panel per outcome.

The outcomes have different units (HbA1c in %, SBP in mm Hg, LDL in mg/dL),
so each gets its own panel: :func:`plot_change` draws one outcome on one Axes,
:func:`plot_changes` draws several side by side.

Examples
--------
The peer-coaching trial's HbA1c change (Thom et al. 2013: -1.07 (SD 2.8), n
122 vs -0.30 (3.1), n 114; difference -0.77, P = .01):

>>> from coachstats.core.results import ArmSummary, ComparisonResult
>>> r = ComparisonResult(outcome="change_hba1c", method="linear mixed model",
...     estimand="mean difference", estimate=-0.77, p_value=0.01,
...     arms=(ArmSummary("coaching", 122, value=-1.07, sd=2.8),
...           ArmSummary("usual_care", 114, value=-0.30, sd=3.1)))
>>> ax = plot_change(r)
>>> ax.texts[0].get_text()
'Difference −0.77\\nP = .01'
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError, OptionError
from coachstats.present.plots.common import (
    Labels,
    Results,
    arm_rows,
    as_frame,
    axes_for,
    axes_row,
    fmt_number,
    headroom_fraction,
    is_adjusted,
    p_label,
    require_columns,
    row_labels,
    tick_fontsize,
    wrap,
)
from coachstats.present.plots.style import SINGLE_COLUMN, arm_color, arm_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["mean_limits", "plot_change", "plot_changes"]

_YLABEL = "Mean change from baseline"


def mean_limits(mean: float, sd: float, n: int, *, conf_level: float = 0.95) -> tuple[float, float]:
    r"""Confidence limits of one arm's mean change: :math:`\bar x \pm t_{n-1,1-\alpha/2}\, s/\sqrt n`.

    The per-arm interval drawn by :func:`plot_change` (R: ``t.test(x)$conf.int``),
    computed from the arm's mean, SD and n by
    :func:`coachstats.compare.means.t_inference`. NaN limits when the SD is
    missing or ``n < 2``.

    References
    ----------
    Student. The probable error of a mean. Biometrika 1908;6:1-25.

    Examples
    --------
    Mean 10, SD 2, n 4: :math:`t_{3, .975} = 3.1824`, half-width 3.1824.

    >>> [round(v, 4) for v in mean_limits(10.0, 2.0, 4)]
    [6.8176, 13.1824]
    """
    if n < 2 or math.isnan(sd):
        return math.nan, math.nan
    from coachstats.compare.means import t_inference

    _, _, lo, hi = t_inference(mean, sd / math.sqrt(n), n - 1, conf_level)
    return lo, hi


def _single_outcome(frame: pd.DataFrame, outcome: str | None) -> pd.Series:
    if outcome is not None:
        frame = frame[frame["outcome"] == outcome]
        if frame.empty:
            raise OptionError(f"outcome={outcome!r} is not among the results")
    if len(frame) != 1:
        raise AnalysisError(
            f"plot_change draws one outcome; got {len(frame)} results "
            f"({', '.join(map(str, frame['outcome']))}): pick one with outcome= "
            "or use plot_changes"
        )
    return frame.iloc[0]


def plot_change(
    results: Results,
    *,
    outcome: str | None = None,
    label: str | None = None,
    digits: int = 2,
    ylabel: str | None = _YLABEL,
    ax: Axes | None = None,
) -> Axes:
    """Mean change from baseline by arm with its CI, annotated with the difference and P.

    Each arm is a point at its mean change (``ArmSummary.value``) with the
    t interval of :func:`mean_limits` (from the arm's SD and n, at the
    result's ``conf_level``); a line marks no change. The annotation gives the
    result's estimate (``"Difference −0.77"``) and P value (``"P = .01"``,
    followed by ``"(adjusted)"`` for covariate-adjusted results, whose
    difference is the adjusted one). The per-arm points are the unadjusted
    means stored on the result.

    Parameters
    ----------
    results : ComparisonResult, sequence of them, or tidy DataFrame
        A continuous comparison (arms with ``value`` = mean change and ``sd``).
        With several results, ``outcome`` picks one.
    outcome : str, optional
        Which outcome to draw.
    label : str, optional
        Panel title; default from the outcome name (e.g. ``"HbA1c (%)"``).
    digits : int
        Decimals of the difference.
    ylabel : str or None
        Y-axis label.
    ax : Axes, optional
        Where to draw; default a new figure in the journal style.

    Returns
    -------
    Axes

    References
    ----------
    Thom DH et al. Impact of peer health coaching on glycemic control in
    low-income patients with diabetes: a randomized controlled trial. Ann Fam
    Med 2013;11:137-144.

    Examples
    --------
    >>> from coachstats.core.results import ArmSummary, ComparisonResult
    >>> sbp = ComparisonResult(outcome="change_sbp", method="linear mixed model",
    ...     estimand="mean difference", estimate=3.4, p_value=0.19, adjusted_for=("age",),
    ...     arms=(ArmSummary("coaching", 128, value=1.4, sd=22.3),
    ...           ArmSummary("usual_care", 123, value=-4.3, sd=26.0)))
    >>> ax = plot_change(sbp, digits=1)
    >>> ax.texts[0].get_text()
    'Difference 3.4\\nP = .19\\n(adjusted)'
    >>> ax.get_title(loc="left")
    'SBP (mm Hg)'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    frame = as_frame(results)
    require_columns(frame, ("outcome", "estimate", "p_value", "arm1", "n1", "sd1"), "plot_change")
    row = _single_outcome(frame, outcome)
    arms = arm_rows(row)
    if not arms or any(a.events is not None for a in arms):
        raise AnalysisError(
            f"plot_change draws continuous outcomes (arm means); {row['outcome']!r} has "
            "events per arm (a binary outcome? use plot_by_arm)"
        )
    title = label if label is not None else row_labels(frame.loc[[row.name]], None)[0]
    level = float(row.get("conf_level", 0.95))
    level = 0.95 if math.isnan(level) else level
    adjusted = is_adjusted(row)
    with axes_for(ax, (SINGLE_COLUMN / 2.0, 2.4)) as ax:
        for j, a in enumerate(arms):
            lo, hi = mean_limits(a.value, a.sd, a.n, conf_level=level)
            yerr = None if math.isnan(lo) else np.array([[a.value - lo], [hi - a.value]])
            ax.errorbar(
                [j],
                [a.value],
                yerr=yerr,
                fmt="s",
                color=arm_color(a.arm, j),
                ecolor=arm_color(a.arm, j),
                elinewidth=1.0,
                capthick=1.0,
                markersize=5,
                label=arm_label(a.arm),
            )
        ax.axhline(0.0, color="0.5", lw=0.6, zorder=0)
        ax.set_xlim(-0.6, len(arms) - 0.4)
        ax.set_xticks(range(len(arms)), [wrap(arm_label(a.arm, short=True), 9) for a in arms])
        ax.tick_params(axis="x", length=0)
        ax.margins(y=0.1)
        if ylabel:
            ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        diff = f"Difference {fmt_number(row['estimate'], digits)}"
        text = "\n".join(t for t in (diff, p_label(row["p_value"], adjusted, sep="\n")) if t)
        ax.annotate(
            text,
            xy=(0.5, 1.0),
            xycoords="axes fraction",
            xytext=(0, 0),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=tick_fontsize(),
            linespacing=1.1,
        )
        # headroom for the annotation; ticks and the spine stay on the data range
        from matplotlib.ticker import MaxNLocator

        ymin, ymax = ax.get_ylim()
        ticks = np.asarray(MaxNLocator(nbins=5).tick_values(ymin, ymax), dtype=float)
        ticks = ticks[(ticks >= ymin) & (ticks <= ymax)]
        n_lines = text.count("\n") + 1
        frac = headroom_fraction(ax, 1.25 * tick_fontsize() * n_lines + 4.0)
        ax.set_ylim(ymin, ymax + frac / (1.0 - frac) * (ymax - ymin))
        ax.set_yticks(ticks)
        ax.spines["left"].set_bounds(float(ticks[0]), float(ticks[-1]))
    return ax


def plot_changes(
    results: Results,
    *,
    labels: Labels = None,
    digits: int | Sequence[int] = 2,
    axes: Sequence[Axes] | None = None,
) -> list[Axes]:
    """:func:`plot_change` for several outcomes, one panel each, side by side.

    Parameters
    ----------
    results : sequence of ComparisonResult, or tidy DataFrame
        Continuous comparisons, one per panel, in order (e.g. HbA1c, SBP, LDL).
    labels : sequence of str or mapping, optional
        Panel titles (see :func:`plot_change`).
    digits : int or sequence of int
        Decimals of each difference.
    axes : sequence of Axes, optional
        One Axes per result; default a new figure in the journal style, one
        row of panels, single-column width for up to three.

    Returns
    -------
    list of Axes

    Examples
    --------
    >>> from coachstats.core.results import ArmSummary, ComparisonResult
    >>> def change(outcome, m1, s1, n1, m2, s2, n2, d, p):
    ...     return ComparisonResult(outcome=outcome, method="t test", estimand="mean difference",
    ...         estimate=d, p_value=p, arms=(ArmSummary("coaching", n1, value=m1, sd=s1),
    ...                                      ArmSummary("usual_care", n2, value=m2, sd=s2)))
    >>> axs = plot_changes([change("change_hba1c", -1.07, 2.8, 122, -0.30, 3.1, 114, -0.77, .01),
    ...                     change("change_ldl", -3.9, 41.4, 107, -3.0, 52.7, 96, -0.9, .83)],
    ...                    digits=[2, 1])
    >>> [ax.get_title(loc="left") for ax in axs]
    ['HbA1c (%)', 'LDL (mg/dL)']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    frame = as_frame(results)
    require_columns(frame, ("outcome",), "plot_changes")
    names = row_labels(frame, labels)
    m = len(frame)
    places = [digits] * m if isinstance(digits, int) else list(digits)
    if len(places) != m:
        raise OptionError(f"digits must be an int or {m} ints, one per result; got {digits!r}")
    width = SINGLE_COLUMN if m <= 3 else SINGLE_COLUMN * m / 3.0
    with axes_row(axes, m, (width, 2.4)) as axs:
        for i, ax in enumerate(axs):
            plot_change(
                frame.iloc[[i]],
                label=names[i],
                digits=places[i],
                ylabel=_YLABEL if i == 0 else None,
                ax=ax,
            )
    return axs

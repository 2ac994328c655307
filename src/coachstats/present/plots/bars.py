"""Grouped bars of the percentage at goal by arm, as the HCPC brief shows them.

Examples
--------
The HCPC composite (90/194 vs 61/178, Pearson P = .017; counts inferred in
``/work/shared/published.md``):

>>> from coachstats.core.results import ArmSummary, ComparisonResult
>>> r = ComparisonResult(outcome="composite_any", method="Pearson chi-square",
...     estimand="risk difference", estimate=90 / 194 - 61 / 178, p_value=0.017,
...     arms=(ArmSummary("coaching", 194, events=90, value=90 / 194),
...           ArmSummary("usual_care", 178, events=61, value=61 / 178)))
>>> ax = plot_by_arm([r])
>>> [t.get_text() for t in ax.texts]
['46.4%', '34.3%', 'P = .02']
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from coachstats.core.errors import AnalysisError
from coachstats.present.plots.common import (
    Labels,
    Results,
    arm_order,
    arm_rows,
    as_frame,
    axes_for,
    group_offsets,
    headroom_fraction,
    is_adjusted,
    p_label,
    require_columns,
    row_labels,
    tick_fontsize,
    wrap,
)
from coachstats.present.plots.style import DOUBLE_COLUMN, SINGLE_COLUMN, arm_color, arm_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_by_arm", "wilson_limits"]

_PAD = 1.5  # points between a bar (or its error bar) and its value label
_GAP = 2.0  # points between the value labels and the P value
_CAP = 1.5  # extra points above an error bar, whose cap would touch the label


def wilson_limits(
    events: ArrayLike, n: ArrayLike, *, conf_level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Per-arm Wilson score limits of ``events / n``, the CI error bars of :func:`plot_by_arm`.

    .. math::

        \frac{x + z^2/2 \mp z\sqrt{x(n-x)/n + z^2/4}}{n + z^2},
        \qquad z = z_{1-\alpha/2}

    (the interval of R's ``prop.test(x, n, correct = FALSE)``), computed by
    :func:`coachstats.compare.proportions.wilson_interval`. It stays inside
    [0, 1] and is sensible for small counts, unlike the Wald interval.

    Parameters
    ----------
    events, n : array_like
        Events and patients per arm.
    conf_level : float
        Confidence level.

    Returns
    -------
    (lower, upper) : tuple of ndarray
        Proportions (multiply by 100 for the bar scale).

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical
    inference. J Am Stat Assoc 1927;22:209-212.
    Newcombe RG. Two-sided confidence intervals for the single proportion:
    comparison of seven methods. Stat Med 1998;17:857-872 (method 3).

    Examples
    --------
    Newcombe (1998), Table I: 81/263 gives 0.2553 to 0.3662.

    >>> lo, hi = wilson_limits([81], [263])
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.2553, 0.3662)
    """
    from coachstats.compare.proportions import wilson_interval

    lo, hi = wilson_interval(events, n, conf_level=conf_level)
    return np.atleast_1d(np.asarray(lo, dtype=float)), np.atleast_1d(np.asarray(hi, dtype=float))


def _fit_tick_labels(ax: Axes, x: NDArray[np.float64], names: Sequence[str]) -> None:
    """Group labels wrapped at 14 characters, or narrower until neighbours do not touch."""
    for width in (14, 12, 10, 8):
        ax.set_xticks(x, [wrap(lab, width) for lab in names])
        renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
        gap = 2.0 * ax.figure.dpi / 72.0  # 2 points
        if all(a.x1 + gap <= b.x0 for a, b in pairwise(boxes)):
            return


def plot_by_arm(
    results: Results,
    *,
    labels: Labels = None,
    ci: bool = False,
    value_labels: bool = True,
    p_values: bool = True,
    ylabel: str = "Patients at goal (%)",
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Grouped bars of the percentage with the outcome, by arm, one group per binary outcome.

    Each bar carries its value (``"46.4%"``); each group carries its P value
    in journal style above it (``"P = .02"``, with ``"(adjusted)"`` for
    covariate-adjusted results), as the HCPC practice brief prints them. Bar
    heights are ``100 * events / n`` of each arm; the optional error bars are
    the per-arm Wilson intervals (:func:`wilson_limits`) at the result's
    ``conf_level``. Arm colours are :data:`coachstats.present.plots.style.ARM_COLORS`.

    Parameters
    ----------
    results : ComparisonResult, sequence of them, or tidy DataFrame
        Binary comparisons (each arm with ``events``), one per bar group, in
        order: e.g. the composite >= 1 goal, all goals, HbA1c, LDL and SBP goals.
    labels : sequence of str or mapping, optional
        Group labels, one per result or by outcome name; default from
        :data:`coachstats.present.plots.common.OUTCOME_LABELS`.
    ci : bool
        Draw per-arm Wilson confidence intervals as error bars.
    value_labels, p_values : bool
        Print the bar values and the P values.
    ylabel : str
        Y-axis label.
    legend : bool
        Show the arm legend (above the axes).
    ax : Axes, optional
        Where to draw; default a new figure in the journal style (single
        column for up to three groups, else full width).

    Returns
    -------
    Axes

    Raises
    ------
    AnalysisError
        A result has no per-arm event counts (a continuous outcome: use
        :func:`coachstats.present.plots.plot_change`).

    References
    ----------
    Willard-Grace R et al. Health coaching by medical assistants to improve
    control of diabetes, hypertension, and hyperlipidemia in low-income
    patients: a randomized controlled trial. Ann Fam Med 2015;13:130-138.

    Examples
    --------
    >>> from coachstats.core.results import ArmSummary, ComparisonResult
    >>> hba1c = ComparisonResult(outcome="at_goal_hba1c", method="Pearson chi-square",
    ...     estimand="risk difference", estimate=34 / 70 - 21 / 76, p_value=0.009,
    ...     arms=(ArmSummary("coaching", 70, events=34), ArmSummary("usual_care", 76, events=21)))
    >>> ax = plot_by_arm(hba1c, ci=True)
    >>> [round(float(b.get_height()), 1) for b in ax.patches]
    [48.6, 27.6]
    >>> ax.texts[-1].get_text()
    'P = .009'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    frame = as_frame(results)
    require_columns(frame, ("outcome", "p_value", "arm1", "n1", "events1"), "plot_by_arm")
    names = row_labels(frame, labels)
    rows = [arm_rows(r) for _, r in frame.iterrows()]
    for name, arms in zip(frame["outcome"], rows, strict=True):
        if not arms or any(a.events is None for a in arms):
            raise AnalysisError(
                f"plot_by_arm draws binary outcomes with events per arm; {name!r} has none "
                "(a continuous outcome? use plot_change)"
            )
    arms_all = arm_order(rows)
    k = len(arms_all)
    width, offsets = group_offsets(k)
    n_groups = len(rows)
    x = np.arange(n_groups, dtype=float)
    conf = frame["conf_level"].to_numpy(dtype=float) if "conf_level" in frame else None

    # per arm and group: height, CI limits (NaN where the arm is absent)
    heights = np.full((k, n_groups), np.nan)
    lows = np.full((k, n_groups), np.nan)
    highs = np.full((k, n_groups), np.nan)
    for g, arms in enumerate(rows):
        for a in arms:
            j = arms_all.index(a.arm)
            heights[j, g] = 100.0 * a.value
            if ci:
                level = 0.95 if conf is None or np.isnan(conf[g]) else float(conf[g])
                lo, hi = wilson_limits(
                    [a.events or 0], [a.n], conf_level=level
                )  # events checked above
                lows[j, g], highs[j, g] = 100.0 * lo[0], 100.0 * hi[0]

    tops = np.fmax(heights, highs) if ci else heights
    figsize = (SINGLE_COLUMN if n_groups <= 3 else DOUBLE_COLUMN * 0.75, 2.6)
    with axes_for(ax, figsize) as ax:
        for j, arm in enumerate(arms_all):
            present = ~np.isnan(heights[j])
            xs = x[present] + offsets[j]
            ax.bar(
                xs,
                heights[j, present],
                width * 0.95,
                color=arm_color(arm, j),
                label=arm_label(arm),
                edgecolor="none",
            )
            if ci:
                ax.errorbar(
                    xs,
                    heights[j, present],
                    yerr=np.vstack(
                        [
                            heights[j, present] - lows[j, present],
                            highs[j, present] - heights[j, present],
                        ]
                    ),
                    fmt="none",
                    ecolor="black",
                    elinewidth=0.6,
                    capthick=0.6,
                )
        label_size = tick_fontsize()
        pad = _PAD + (_CAP if ci else 0.0)
        above = pad + (1.2 * label_size if value_labels else 0.0) + _GAP
        for g, (_, row) in enumerate(frame.iterrows()):
            for j in range(k):
                if value_labels and not np.isnan(heights[j, g]):
                    ax.annotate(
                        f"{heights[j, g]:.1f}%",
                        xy=(x[g] + offsets[j], tops[j, g]),
                        xytext=(0, pad),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=label_size,
                    )
            text = p_label(row["p_value"], is_adjusted(row), sep="\n") if p_values else ""
            if text:
                ax.annotate(
                    text,
                    xy=(x[g], float(np.nanmax(tops[:, g]))),
                    xytext=(0, above),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=label_size,
                    linespacing=1.0,
                )
        # headroom for the labels above the tallest bar, in data units
        n_lines = 2 if p_values and frame.apply(is_adjusted, axis=1).any() else 1
        needed = above + (1.2 * label_size * n_lines if p_values else 0.0) + 2.0
        frac = headroom_fraction(ax, needed)
        ymax = float(np.nanmax(tops))
        ax.set_ylim(0.0, max(ymax / (1.0 - frac), 1.0))
        _fit_tick_labels(ax, x, names)
        ax.tick_params(axis="x", length=0)
        ax.set_ylabel(ylabel)
        if legend:
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=k, borderaxespad=0.2)
    return ax

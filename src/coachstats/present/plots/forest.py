"""Forest plot: estimates with confidence intervals across outcomes, trials or subgroups.

Examples
--------
>>> from coachstats.core.results import ComparisonResult
>>> r = ComparisonResult(outcome="at_goal_hba1c", method="Woolf", estimand="odds ratio",
...     estimate=2.47, conf_low=1.24, conf_high=4.93, p_value=0.009)
>>> ax = plot_forest([r])
>>> ax.get_xscale(), [t.get_text() for t in ax.texts]
('log', ['OR (95% CI)', '2.47 (1.24 to 4.93)', '← Favours usual care', 'Favours coaching →'])

Risk differences are drawn in percentage points, as the tables print them:

>>> rd = ComparisonResult(outcome="composite_any", method="chi-square",
...     estimand="risk difference", estimate=0.121, conf_low=0.022, conf_high=0.22)
>>> ax = plot_forest([rd])
>>> ax.get_xlabel(), [t.get_text() for t in ax.texts][:2]
('Risk difference, percentage points (95% CI)', ['RD (95% CI)', '12.1 (2.2 to 22.0)'])
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError, OptionError
from coachstats.core.formatting import is_percent_estimand, is_ratio_estimand
from coachstats.core.vocabulary import arm_label, higher_is_better
from coachstats.present.plots.common import (
    OUTCOME_LABELS,
    Labels,
    Results,
    as_frame,
    axes_for,
    fmt_number,
    label_rows,
    numbers_column,
    plain_tick_labels,
    require_columns,
    row_labels,
    row_positions,
    tick_fontsize,
)
from coachstats.present.plots.style import SINGLE_COLUMN, arm_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from coachstats.compare.meta import MetaResult

__all__ = [
    "ESTIMAND_ABBREVIATIONS",
    "Favours",
    "draw_favours",
    "estimate_text",
    "favours_labels",
    "is_comparison",
    "log_axis",
    "plot_forest",
    "pooled_rows",
]

Favours = tuple[str, str] | Literal["auto"] | None
"""The "favours" labels of a forest plot: (left, right) of the line of no effect, ``"auto"``
(:func:`favours_labels`) or None (no labels)."""

ESTIMAND_ABBREVIATIONS: dict[str, str] = {
    "risk difference": "RD",
    "odds ratio": "OR",
    "relative risk": "RR",
    "risk ratio": "RR",
    "mean difference": "MD",
    "standardized mean difference": "SMD",
}
"""Short names of the estimands for the column header."""

_LOG_TICKS = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100])
_LOG_TICKS_FINE = np.array([0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 10])


def is_comparison(estimand: str) -> bool:
    """True for estimands that compare two arms (differences and ratios), which have a line of
    no effect and sides that favour one arm.

    Examples
    --------
    >>> is_comparison("risk difference"), is_comparison("odds ratio"), is_comparison("proportion")
    (True, True, False)
    """
    return is_ratio_estimand(estimand) or "difference" in estimand.lower()


def favours_labels(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The labels of the two sides of a forest plot's line of no effect: (left, right).

    The estimate compares the first arm (``arm1``, default coaching) with the second
    (``arm2``, default usual care), so the right side is where the first arm has the
    higher value. Where a higher value is better for every row's outcome
    (:func:`~coachstats.core.vocabulary.higher_is_better`: being at goal) the right side
    favours the first arm; where lower is better (a change in HbA1c, blood pressure, LDL)
    the left side does. When the direction is not known, or differs between the rows,
    the sides say which arm is higher, not which is favoured. None for estimates that
    compare nothing (proportions, means) or rows of different arms.

    Examples
    --------
    >>> favours_labels(pd.DataFrame({"outcome": ["composite_any"], "estimand": ["odds ratio"]}))
    ('Favours usual care', 'Favours coaching')
    >>> favours_labels(pd.DataFrame({"outcome": ["change_hba1c"], "estimand": ["mean difference"]}))
    ('Favours coaching', 'Favours usual care')
    >>> favours_labels(pd.DataFrame({"outcome": ["pacic_12"], "estimand": ["mean difference"]}))
    ('Higher with usual care', 'Higher with coaching')
    """
    if not all(is_comparison(str(e)) for e in frame["estimand"]):
        return None
    names = []
    for column, default in (("arm1", "coaching"), ("arm2", "usual_care")):
        values = [str(v) for v in frame[column].dropna().unique()] if column in frame else []
        if len(values) > 1:
            return None
        arm = values[0] if values else default
        label = arm_label(arm, "short")
        names.append(label[:1].lower() + label[1:] if arm in ("coaching", "usual_care") else label)
    first, second = names
    directions = {higher_is_better(str(o)) for o in frame["outcome"]}
    if directions == {True}:
        return f"Favours {second}", f"Favours {first}"
    if directions == {False}:
        return f"Favours {first}", f"Favours {second}"
    return f"Higher with {second}", f"Higher with {first}"


def estimate_text(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """The numbers column of a forest plot: ``"est (low to high)"``, minus signs typeset.

    Examples
    --------
    >>> estimate_text(0.121, 0.022, 0.22)
    '0.12 (0.02 to 0.22)'
    >>> estimate_text(-0.77, -1.5, -0.04)
    '−0.77 (−1.50 to −0.04)'
    >>> estimate_text(1.5, float("nan"), float("nan"))
    '1.50'
    """
    text = fmt_number(estimate, digits)
    if not (math.isnan(low) or math.isnan(high)):
        text += f" ({fmt_number(low, digits)} to {fmt_number(high, digits)})"
    return text


def _labels(frame: pd.DataFrame, labels: Labels, label_columns: Sequence[str]) -> list[str]:
    if labels is not None:
        return row_labels(frame, labels)
    parts = [frame[c].astype("string").fillna("") for c in label_columns if c in frame.columns]
    names = [OUTCOME_LABELS.get(str(o), str(o)) for o in frame["outcome"]]
    return [
        ": ".join([str(p.iloc[i]) for p in parts if str(p.iloc[i])] + [names[i]])
        for i in range(len(frame))
    ]


def plot_forest(
    results: Results,
    *,
    labels: Labels = None,
    label_columns: Sequence[str] = ("trial", "subgroup"),
    log: bool | None = None,
    digits: int | None = None,
    xlabel: str | None = None,
    numbers: bool = True,
    highlight: Sequence[bool] | None = None,
    pooled: MetaResult | Sequence[MetaResult] | None = None,
    percent: bool | None = None,
    favours: Favours = "auto",
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of estimates with confidence intervals, one row per result.

    Each row is a square at the estimate with a line over its confidence
    interval, labelled on the left; a column of numbers on the right reads
    ``"est (low to high)"`` under a header such as ``"RD (95% CI)"``. A
    vertical reference line marks no effect: 1 for ratios (odds ratio,
    relative risk), drawn on a log axis so that 0.5 and 2 sit symmetrically,
    and 0 for differences. Risk differences are drawn and printed in
    percentage points and proportions in percent, as coachstats' tables print
    them; under the axis, the two sides of the line of no effect say which
    arm they favour.

    Parameters
    ----------
    results : ComparisonResult, sequence of them, or tidy DataFrame
        One row each, top to bottom. A tidy frame may add ``trial`` and
        ``subgroup`` columns (see ``label_columns``).
    labels : sequence of str or mapping, optional
        Row labels; default: the ``label_columns`` present, then the outcome
        label, joined with ``": "``.
    label_columns : sequence of str
        Frame columns that prefix the default labels.
    log : bool, optional
        Log x axis; default True exactly when the estimands are ratios.
    digits : int, optional
        Decimals of the numbers column; default 1 in percent, else 2.
    xlabel : str, optional
        X-axis label; default the estimand and confidence level.
    numbers : bool
        Draw the numbers column.
    highlight : sequence of bool, optional
        Rows to set apart (e.g. your program among the published trials): drawn
        as diamonds in the coaching colour, with bold labels.
    pooled : MetaResult or sequence of them, optional
        Pooled estimates (:func:`coachstats.compare.meta.pool`) drawn below
        the rows, each as a diamond spanning its confidence interval, with its
        prediction interval as a grey bar on a row of its own when
        tau² > 0 (the range where the true effect of a new
        comparable study is expected).
    percent : bool, optional
        Draw the estimates times 100 (percentage points); default True exactly
        for risk differences and proportions
        (:func:`~coachstats.core.formatting.is_percent_estimand`).
    favours : (str, str), "auto" or None
        Labels of the two sides of the line of no effect (left, right), drawn
        under the x axis with arrows pointing away from the line. ``"auto"``
        (default): :func:`favours_labels` (e.g. "Favours usual care" and
        "Favours coaching" for being at goal; "Higher with ..." when the
        outcome's better direction is not known; none for proportions and
        means); None: no labels.
    ax : Axes, optional
        Where to draw; default a new figure in the journal style.

    Returns
    -------
    Axes

    Raises
    ------
    AnalysisError
        Ratios mixed with differences (they cannot share an axis), or a
        non-positive value on a log axis.

    References
    ----------
    Lewis S, Clarke M. Forest plots: trying to see the wood and the trees.
    BMJ 2001;322:1479-1480.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"trial": ["HCPC", "Peer"], "outcome": ["at_goal_hba1c"] * 2,
    ...     "estimand": ["risk difference"] * 2, "estimate": [0.21, 0.18],
    ...     "conf_low": [0.05, 0.05], "conf_high": [0.36, 0.30]})
    >>> ax = plot_forest(frame)
    >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_xscale()
    (['HCPC: HbA1c', 'Peer: HbA1c'], 'linear')

    With a pooled estimate, its prediction interval and the favours labels:

    >>> from coachstats.compare.meta import pool
    >>> m = pool([0.21, 0.18], [0.08, 0.065], method="REML")
    >>> ax = plot_forest(frame, pooled=m, favours=("favours usual care", "favours coaching"))
    >>> [t.get_text() for t in ax.get_yticklabels()][2:]
    ['Pooled (random effects, k = 2)']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    frame = as_frame(results)
    require_columns(
        frame, ("outcome", "estimand", "estimate", "conf_low", "conf_high"), "plot_forest"
    )
    if isinstance(favours, str) and favours != "auto":
        raise OptionError(
            f"favours must be 'auto', None or two labels (left, right); got {favours!r}"
        )
    estimands = [str(e) for e in pd.unique(frame["estimand"])]
    kinds = {is_ratio_estimand(e) for e in estimands}
    if len(kinds) > 1:
        raise AnalysisError(
            "plot_forest puts every row on one axis; ratios and differences cannot share it "
            f"(estimands: {', '.join(estimands)}): plot them separately"
        )
    ratio = kinds.pop()
    use_log = ratio if log is None else bool(log)
    in_percent = (
        all(is_percent_estimand(e) for e in estimands) if percent is None else bool(percent)
    )
    scale = 100.0 if in_percent else 1.0
    digits = (1 if in_percent else 2) if digits is None else digits
    est = scale * frame["estimate"].to_numpy(dtype=float, na_value=np.nan)
    lo = scale * frame["conf_low"].to_numpy(dtype=float, na_value=np.nan)
    hi = scale * frame["conf_high"].to_numpy(dtype=float, na_value=np.nan)
    summaries: list[Summary] = [
        (r[0], *(scale * v for v in r[1:]))  # type: ignore[misc]
        for r in pooled_rows(pooled, ratio)
    ]
    values = np.concatenate([est, lo, hi, [v for r in summaries for v in r[1:]]])
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise AnalysisError("plot_forest: every estimate is missing")
    if use_log and np.any(values <= 0):
        raise AnalysisError(
            "plot_forest: a log axis needs positive estimates and limits; "
            f"got {sorted(values[values <= 0].tolist())[:5]} (use log=False)"
        )
    names = _labels(frame, labels, label_columns)
    n = len(frame)
    extra = [name for r in summaries for name in _summary_names(r)]
    y_all = row_positions(n + len(extra))
    y = y_all[:n]
    reference = 1.0 if ratio else 0.0
    level = float(frame["conf_level"].iloc[0]) if "conf_level" in frame else 0.95
    pct = f"{100 * level:g}"
    abbr = (
        ESTIMAND_ABBREVIATIONS.get(estimands[0].lower(), estimands[0])
        if len(estimands) == 1
        else "Estimate"
    )
    marked = np.zeros(n, dtype=bool) if highlight is None else np.asarray(highlight, dtype=bool)
    if marked.shape != (n,):
        raise OptionError(f"highlight needs one flag per row ({n}), got {marked.shape[0]}")
    with axes_for(ax, (SINGLE_COLUMN, 0.9 + 0.22 * (n + len(extra)))) as ax:
        has_ci = ~(np.isnan(lo) | np.isnan(hi))
        accent = arm_color("coaching", 0)
        for rows, color in ((~marked, "black"), (marked, accent)):
            ax.hlines(y[has_ci & rows], lo[has_ci & rows], hi[has_ci & rows], color=color, lw=0.9)
        ax.plot(est[~marked], y[~marked], "s", color="black", markersize=4, linestyle="none")
        if marked.any():
            ax.plot(est[marked], y[marked], "D", color=accent, markersize=5, linestyle="none")
        ax.axvline(reference, color="0.5", lw=0.6, ls="--", zorder=0)
        lines = _draw_summaries(ax, summaries, y_all[n:], digits)
        if use_log:
            log_axis(ax, np.append(values, reference))
        label_rows(ax, y_all, names + extra)
        for tick, bold in zip(ax.get_yticklabels(), marked, strict=False):
            if bold:
                tick.set_fontweight("bold")
        name = estimands[0] if len(estimands) == 1 else "estimate"
        if in_percent:
            name += ", percentage points" if is_comparison(name) else ", %"
        ax.set_xlabel(xlabel if xlabel is not None else f"{name[:1].upper()}{name[1:]} ({pct}% CI)")
        if numbers:
            numbers_column(
                ax,
                f"{abbr} ({pct}% CI)",
                [estimate_text(est[i], lo[i], hi[i], digits) for i in range(n)] + lines,
                y_all,
            )
        sides = favours_labels(frame) if favours == "auto" else favours
        if sides is not None:
            draw_favours(ax, reference, sides)
    return ax


Summary = tuple[str, float, float, float, float, float]
"""A pooled row: label, estimate, CI low, CI high, PI low, PI high (reporting scale)."""


def pooled_rows(pooled: MetaResult | Sequence[MetaResult] | None, ratio: bool) -> list[Summary]:
    """The pooled estimates of :func:`plot_forest` as (label, estimate, limits, PI) rows.

    Raises
    ------
    AnalysisError
        A pooled ratio on a forest of differences, or the reverse.
    """
    if pooled is None:
        return []
    items = [pooled] if not isinstance(pooled, Sequence) else list(pooled)
    rows = []
    for m in items:
        if (m.transform == "exp") != ratio:
            raise AnalysisError(
                f"plot_forest: the pooled {m.estimand or 'estimate'} is on another scale than "
                "the rows (ratios pooled as logs go with ratio rows, differences with differences)"
            )
        t = m.transformed
        kind = {"fixed": "fixed effect", "MH": "Mantel-Haenszel"}.get(m.method, "random effects")
        label = f"Pooled ({kind}, k = {m.k})"
        rows.append(
            (label, t(m.estimate), t(m.conf_low), t(m.conf_high), t(m.pi_low), t(m.pi_high))
        )
    return rows


def _has_pi(row: Summary) -> bool:
    return not (
        math.isnan(row[4]) or (math.isclose(row[4], row[2]) and math.isclose(row[5], row[3]))
    )


def _summary_names(row: Summary) -> list[str]:
    return [row[0], "  Prediction interval"] if _has_pi(row) else [row[0]]


def _draw_summaries(ax: Axes, rows: list[Summary], y: np.ndarray, digits: int) -> list[str]:
    """Diamonds for the pooled rows and grey bars for their prediction intervals."""
    from matplotlib.patches import Polygon

    lines: list[str] = []
    i = 0
    if rows:
        ax.axhline(y[0] + 0.5, color="0.7", lw=0.5)
    for row in rows:
        _, est, lo, hi, pi_lo, pi_hi = row
        ax.add_patch(
            Polygon(
                [(lo, y[i]), (est, y[i] + 0.3), (hi, y[i]), (est, y[i] - 0.3)],
                closed=True,
                facecolor="black",
                edgecolor="black",
                lw=0.5,
            )
        )
        lines.append(estimate_text(est, lo, hi, digits))
        i += 1
        if _has_pi(row):
            ax.hlines(y[i], pi_lo, pi_hi, color="0.45", lw=2.5)
            lines.append(f"{fmt_number(pi_lo, digits)} to {fmt_number(pi_hi, digits)}")
            i += 1
    return lines


def draw_favours(ax: Axes, reference: float, labels: tuple[str, str]) -> None:
    """Write the two "favours" labels (left, right) under the x axis, each side of the line
    of no effect at ``reference`` (for figures that draw their own numbers column after
    :func:`plot_forest`, with ``favours=None``)."""
    size = tick_fontsize()
    below = -(size * 1.6 + 4)  # under the tick labels
    for text, sign, ha in (
        (f"\u2190 {labels[0]}", -1, "right"),
        (f"{labels[1]} \u2192", 1, "left"),
    ):
        ax.annotate(
            text,
            xy=(reference, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(4 * sign, below),
            textcoords="offset points",
            ha=ha,
            va="top",
            fontsize=size,
            color="0.3",
        )
    ax.xaxis.labelpad = size * 1.8 + 4


def _within(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return values[(values >= lo) & (values <= hi)]


def log_axis(ax: Axes, values: np.ndarray) -> None:
    """Log x axis with plain-number ticks (0.5, 1, 2) covering ``values``."""
    from matplotlib.ticker import FixedLocator

    vmin, vmax = float(values.min()), float(values.max())
    ax.set_xscale("log")
    span = math.log(vmax / vmin) if vmax > vmin else 1.0
    pad = math.exp(0.08 * span)
    lo, hi = vmin / pad, vmax * pad
    ax.set_xlim(lo, hi)
    ticks = _within(_LOG_TICKS, lo, hi)
    if ticks.size < 3:
        ticks = _within(_LOG_TICKS_FINE, lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(ticks.tolist()))
    plain_tick_labels(ax.xaxis)

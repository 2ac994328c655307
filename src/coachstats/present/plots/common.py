"""Plumbing shared by the figures: input normalization, labels, number formats, axes.

Every ``plot_*`` function of results accepts one :class:`ComparisonResult`, a
sequence of them, or the tidy DataFrame of :func:`coachstats.core.results.tidy`;
:func:`as_frame` turns all three into the tidy frame, so the drawing code has
one input. No statistics happen here.

Examples
--------
>>> p_label(0.017), p_label(0.0004, adjusted=True), p_label(0.999)
('P = .02', 'P < .001 (adjusted)', 'P > .99')
>>> fmt_number(-0.77, 2)
'−0.77'
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from coachstats.core.errors import AnalysisError, ColumnNotFoundError, OptionError
from coachstats.core.formatting import format_number, p_phrase
from coachstats.core.results import ComparisonResult, tidy
from coachstats.core.vocabulary import SHORT_OUTCOME_LABELS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = [
    "MINUS",
    "OUTCOME_LABELS",
    "ArmRow",
    "Labels",
    "Results",
    "arm_rows",
    "as_frame",
    "axes_for",
    "axes_row",
    "fmt_number",
    "group_offsets",
    "headroom_fraction",
    "is_adjusted",
    "label_rows",
    "new_figure",
    "numbers_column",
    "p_label",
    "plain_tick_labels",
    "require_columns",
    "row_labels",
    "row_positions",
]

Results = ComparisonResult | Sequence[ComparisonResult] | pd.DataFrame
"""What the result figures accept."""
Labels = Sequence[str] | Mapping[str, str] | None
"""Display labels: one per result, or a mapping from outcome name to label."""

MINUS = "\u2212"
"""The typographic minus sign used in figure text (as on matplotlib's axes)."""

OUTCOME_LABELS: Mapping[str, str] = SHORT_OUTCOME_LABELS
"""Default display labels of the endpoint names of :mod:`coachstats.derive.endpoints`."""


def as_frame(results: Results) -> pd.DataFrame:
    """The tidy frame of ``results`` (a result, a sequence of them, or a tidy frame).

    Raises
    ------
    OptionError
        ``results`` is of another kind.
    AnalysisError
        There is nothing to plot.

    Examples
    --------
    >>> r = ComparisonResult(outcome="x", method="m", estimand="risk difference", estimate=0.1)
    >>> as_frame([r, r])["outcome"].tolist()
    ['x', 'x']
    """
    if isinstance(results, pd.DataFrame):
        frame = results.reset_index(drop=True)
    elif isinstance(results, ComparisonResult):
        frame = tidy([results])
    elif isinstance(results, Sequence) and all(isinstance(r, ComparisonResult) for r in results):
        frame = tidy(results)
    else:
        kinds = (
            sorted({type(r).__name__ for r in results})
            if isinstance(results, Sequence)
            else [type(results).__name__]
        )
        raise OptionError(
            "results must be a ComparisonResult, a sequence of them, or the tidy DataFrame "
            f"of coachstats.core.results.tidy; got {', '.join(kinds)}"
        )
    if frame.empty:
        raise AnalysisError("no results to plot (empty input)")
    return frame


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`ColumnNotFoundError` naming every column of ``columns`` not in ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(
            f"{what} needs column(s) {', '.join(repr(c) for c in missing)}; "
            f"the data has {', '.join(repr(str(c)) for c in frame.columns)}"
        )


def row_labels(frame: pd.DataFrame, labels: Labels, *, column: str = "outcome") -> list[str]:
    """One display label per row: ``labels`` (sequence or mapping), else :data:`OUTCOME_LABELS`.

    Examples
    --------
    >>> f = pd.DataFrame({"outcome": ["composite_any", "my_outcome"]})
    >>> row_labels(f, None), row_labels(f, {"my_outcome": "Mine"}), row_labels(f, ["a", "b"])
    (['≥ 1 goal', 'my_outcome'], ['≥ 1 goal', 'Mine'], ['a', 'b'])
    """
    names = [str(v) for v in frame[column]]
    if labels is None:
        return [OUTCOME_LABELS.get(n, n) for n in names]
    if isinstance(labels, Mapping):
        return [str(labels.get(n, OUTCOME_LABELS.get(n, n))) for n in names]
    if isinstance(labels, str) or len(labels) != len(names):
        raise OptionError(
            f"labels must be a mapping from {column} to label or a sequence of {len(names)} "
            f"label(s), one per result; got {labels!r}"
        )
    return [str(lab) for lab in labels]


def wrap(label: str, width: int) -> str:
    """Wrap ``label`` onto lines of at most ``width`` characters (words kept whole)."""
    return "\n".join(textwrap.wrap(label, width)) or label


def fmt_number(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals (:func:`~coachstats.core.formatting.format_number`) and a
    typographic minus sign.

    Examples
    --------
    >>> fmt_number(5.7, 1), fmt_number(-0.004, 2), fmt_number(float("nan"), 2)
    ('5.7', '0.00', 'NA')
    """
    # an infinite interval end (a ratio with an empty cell) is drawn as "inf", not NA
    text = str(x) if isinstance(x, float) and math.isinf(x) else format_number(x, digits)
    return text.replace("-", MINUS)


def p_label(p: float, adjusted: bool = False, *, sep: str = " ") -> str:
    """Journal-style P value for a figure: ``"P = .02"``, ``"P < .001"``, ``"(adjusted)"``.

    Empty when ``p`` is missing (nothing to print).

    Examples
    --------
    >>> p_label(0.05), p_label(0.001, True, sep="\\n"), p_label(float("nan"))
    ('P = .05', 'P = .001\\n(adjusted)', '')
    """
    if p is None or pd.isna(p):
        return ""
    return p_phrase(float(p)) + (f"{sep}(adjusted)" if adjusted else "")


def is_adjusted(row: pd.Series) -> bool:
    """True when the tidy row names covariates in ``adjusted_for``."""
    value = row.get("adjusted_for", "")
    return isinstance(value, str) and value.strip() != ""


@dataclass(frozen=True)
class ArmRow:
    """One arm of one tidy row: label, n, events (None for continuous outcomes), value, sd."""

    arm: str
    n: int
    events: int | None
    value: float
    sd: float


def _number(value: Any) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


def arm_rows(row: pd.Series) -> list[ArmRow]:
    """The arms of a tidy row (columns ``arm1``, ``n1``, ``events1``, ``estimate1``, ``sd1``, ...).

    For binary outcomes a missing ``estimate<i>`` is filled with ``events / n``.
    """
    arms = []
    i = 1
    while f"arm{i}" in row.index:
        if not pd.isna(row[f"arm{i}"]):
            n = int(row[f"n{i}"])
            ev = row.get(f"events{i}")
            events = None if ev is None or pd.isna(ev) else int(ev)
            value = _number(row.get(f"estimate{i}"))
            if math.isnan(value) and events is not None and n > 0:
                value = events / n
            arms.append(ArmRow(str(row[f"arm{i}"]), n, events, value, _number(row.get(f"sd{i}"))))
        i += 1
    return arms


def arm_order(rows: Sequence[Sequence[ArmRow]]) -> list[str]:
    """Arm labels in first-seen order across results."""
    seen: dict[str, None] = {}
    for arms in rows:
        for a in arms:
            seen.setdefault(a.arm, None)
    return list(seen)


@contextmanager
def new_figure(figsize: tuple[float, float]) -> Iterator[Figure]:
    """Yield a new figure in the journal style (drawn inside that style).

    The figure uses the constrained layout, so labels and the legend fit.
    """
    import matplotlib.pyplot as plt

    from coachstats.present.plots.style import journal_style

    with journal_style():
        yield plt.figure(figsize=figsize, layout="constrained")


@contextmanager
def axes_for(ax: Axes | None, figsize: tuple[float, float]) -> Iterator[Axes]:
    """Yield ``ax``, or a new Axes on a :func:`new_figure` of size ``figsize``."""
    if ax is not None:
        yield ax
        return
    with new_figure(figsize) as fig:
        yield fig.add_subplot()


@contextmanager
def axes_row(
    axes: Sequence[Axes] | None, n: int, figsize: tuple[float, float]
) -> Iterator[list[Axes]]:
    """Yield ``axes`` (which must hold ``n``), or ``n`` new Axes side by side on a :func:`new_figure`.

    Raises
    ------
    OptionError
        ``axes`` holds another number of Axes than ``n``.
    """
    if axes is not None:
        if len(axes) != n:
            raise OptionError(f"axes must hold {n} Axes, one per result; got {len(axes)}")
        yield list(axes)
        return
    with new_figure(figsize) as fig:
        yield list(np.atleast_1d(fig.subplots(1, n)))


def tick_fontsize() -> float:
    """The tick-label font size in points under the current rcParams (for value labels)."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=mpl.rcParams["xtick.labelsize"]).get_size_in_points())


def axes_height_points(ax: Axes) -> float:
    """Height of ``ax`` in points at the figure's current size (before layout)."""
    return float(ax.bbox.height) * 72.0 / float(ax.figure.dpi)


def headroom_fraction(ax: Axes, points: float) -> float:
    """Share of the axes height to keep free above the data for ``points`` of text (at most 0.6).

    ``points / (0.8 h)`` with ``h`` the axes height in points (:func:`axes_height_points`);
    the 0.8 allows for the layout shrinking the axes after the limits are set.
    """
    return min(0.6, points / max(axes_height_points(ax) * 0.8, 1.0))


def group_offsets(k: int) -> tuple[float, NDArray[np.float64]]:
    """Width of each of ``k`` bars side by side in a group 0.8 wide, and their offsets from its centre.

    Examples
    --------
    >>> width, offsets = group_offsets(2)
    >>> width, offsets.tolist()
    (0.4, [-0.2, 0.2])
    """
    width = 0.8 / k
    return width, (np.arange(k, dtype=float) - (k - 1) / 2.0) * width


def row_positions(n: int) -> NDArray[np.float64]:
    """The y positions of ``n`` rows drawn top to bottom: ``n - 1, ..., 1, 0``."""
    return np.arange(n, dtype=float)[::-1]


def label_rows(ax: Axes, y: NDArray[np.float64], names: Sequence[str]) -> None:
    """Label the rows at ``y`` with ``names`` on a y axis drawn without ticks or spine."""
    ax.set_yticks(y, names)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)


def numbers_column(ax: Axes, header: str, lines: Sequence[str], y: NDArray[np.float64]) -> None:
    """A column of text right of the axes: a bold ``header`` on top, ``lines[i]`` level with ``y[i]``.

    The forest plot's ``"est (low to high)"`` column and the published / reproduced numbers.
    """
    size = tick_fontsize()
    ax.annotate(
        header,
        xy=(1.0, 1.0),
        xycoords="axes fraction",
        xytext=(6, 0),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontweight="bold",
        fontsize=size,
    )
    for text, row in zip(lines, y, strict=True):
        ax.annotate(
            text,
            xy=(1.0, row),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=size,
        )


def plain_tick_labels(axis: Axis) -> None:
    """Major ticks of ``axis`` as plain numbers (``0.5``, ``2``, ``−1``), minor ticks unlabelled."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace("-", MINUS)))
    axis.set_minor_formatter(NullFormatter())

"""Published vs reproduced values for every target of a trial.

Accepts any table with one row per target and a column of published and of
reproduced values (column names are arguments, so the table of
``coachstats reproduce`` works whatever it calls them). Published values that
are not numbers (``"n.s."``) are shown as text and get no marker.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"trial": ["HCPC"] * 3,
...     "outcome": ["≥ 1 goal, coaching %", "≥ 1 goal, usual care %", "SBP goal, coaching %"],
...     "published_value": [46.4, 34.3, "n.s."], "reproduced_value": [46.39, 34.27, 41.7]})
>>> ax = plot_published_vs_reproduced(table)
>>> [t.get_text() for t in ax.texts]
['Published / reproduced', '46.4 / 46.39', '34.3 / 34.27', 'n.s. / 41.7']
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError, check_option
from coachstats.present.plots.common import (
    MINUS,
    axes_for,
    fmt_number,
    label_rows,
    numbers_column,
    plain_tick_labels,
    require_columns,
    row_positions,
)
from coachstats.present.plots.style import OKABE_ITO, SINGLE_COLUMN

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["PUBLISHED_COLOR", "REPRODUCED_COLOR", "plot_published_vs_reproduced"]

PUBLISHED_COLOR = "#000000"
"""Published values: open black circles."""
REPRODUCED_COLOR = OKABE_ITO[5]
"""Reproduced values: filled reddish purple (not an arm colour)."""

Kind = Literal["paired", "scatter"]
Scale = Literal["linear", "log", "symlog"]


def _text(value: Any, digits: int | None) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "NA"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (
            fmt_number(float(value), digits)
            if digits is not None
            else f"{float(value):.4g}".replace("-", MINUS)
        )
    return str(value)


def plot_published_vs_reproduced(
    data: pd.DataFrame,
    *,
    published: str = "published_value",
    reproduced: str = "reproduced_value",
    label: str = "outcome",
    group: str | None = "trial",
    kind: Kind = "paired",
    scale: Scale = "linear",
    digits: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Published against reproduced values, one mark per target.

    ``kind="paired"``: one row per target, the published value (open circle)
    and the reproduced one (filled) joined by a line, with a column
    ``"published / reproduced"`` of the numbers on the right; ideal for
    targets on one scale (e.g. percentages). ``kind="scatter"``: reproduced
    against published with the identity line (perfect reproduction), one
    colour per ``group``; use ``scale="symlog"`` when the targets span
    several orders of magnitude (percentages and P values) or change sign.

    Parameters
    ----------
    data : DataFrame
        One row per target.
    published, reproduced : str
        Columns of the values; non-numbers (``"n.s."``) are shown as text only.
    label : str
        Column naming each target (row labels of the paired plot).
    group : str or None
        Column grouping targets (e.g. ``trial``): prefixes the labels and
        colours the scatter. Ignored when absent.
    kind : {"paired", "scatter"}
        The layout.
    scale : {"linear", "log", "symlog"}
        Scale of the value axes.
    digits : int, optional
        Decimals of the numbers column (paired); default 4 significant digits.
    ax : Axes, optional
        Where to draw; default a new single-column figure in the journal style.

    Returns
    -------
    Axes

    Raises
    ------
    AnalysisError
        No numeric value to plot, or non-positive values on a log scale.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"target": ["a", "b"], "paper": [46.4, 0.02], "ours": [46.39, 0.017]})
    >>> ax = plot_published_vs_reproduced(t, published="paper", reproduced="ours", label="target",
    ...                                   kind="scatter", scale="log")
    >>> ax.get_xscale(), ax.get_yscale(), len(ax.collections)
    ('log', 'log', 1)
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    check_option("kind", kind, ("paired", "scatter"))
    check_option("scale", scale, ("linear", "log", "symlog"))
    require_columns(data, [published, reproduced, label], "plot_published_vs_reproduced")
    if data.empty:
        raise AnalysisError("no targets to plot (empty table)")
    pub = pd.to_numeric(data[published], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    rep = pd.to_numeric(data[reproduced], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    values = np.concatenate([pub, rep])
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise AnalysisError(f"columns {published!r} and {reproduced!r} hold no numbers to plot")
    if scale == "log" and np.any(values <= 0):
        raise AnalysisError(
            f"scale='log' needs positive values; got {sorted(values[values <= 0].tolist())[:5]} "
            "(use scale='symlog')"
        )
    groups = (
        data[group].astype("string").fillna("").tolist()
        if group is not None and group in data.columns
        else [""] * len(data)
    )
    names = [f"{g}: {n}" if g else str(n) for g, n in zip(groups, data[label], strict=True)]
    if kind == "paired":
        size = (SINGLE_COLUMN, 0.9 + 0.2 * len(data))
    else:
        size = (SINGLE_COLUMN, SINGLE_COLUMN * 0.9)
    with axes_for(ax, size) as ax:
        if kind == "paired":
            _paired(ax, data, pub, rep, names, (published, reproduced), scale, digits)
        else:
            _scatter(ax, pub, rep, groups, values, scale)
    return ax


def _paired(
    ax: Axes,
    data: pd.DataFrame,
    pub: np.ndarray,
    rep: np.ndarray,
    names: list[str],
    columns: tuple[str, str],
    scale: Scale,
    digits: int | None,
) -> None:
    y = row_positions(len(names))
    both = ~(np.isnan(pub) | np.isnan(rep))
    ax.hlines(y[both], np.fmin(pub, rep)[both], np.fmax(pub, rep)[both], color="0.6", lw=0.8)
    ax.plot(
        pub, y, "o", mfc="none", mec=PUBLISHED_COLOR, mew=0.9, ms=6, ls="none", label="Published"
    )
    ax.plot(rep, y, "o", color=REPRODUCED_COLOR, ms=3, ls="none", label="Reproduced")
    _set_scale(ax, "x", scale, np.concatenate([pub, rep]))
    ax.margins(x=0.1)
    label_rows(ax, y, names)
    # below the tick labels, clear of the numbers column's header
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, borderaxespad=2.0)
    numbers_column(
        ax,
        "Published / reproduced",
        [" / ".join(_text(data[c].iloc[i], digits) for c in columns) for i in range(len(names))],
        y,
    )


def _set_scale(ax: Axes, which: Literal["x", "y"], scale: Scale, values: np.ndarray) -> None:
    """Apply ``scale`` with plain-number tick labels; symlog is linear below the smallest |value|."""
    setter = ax.set_xscale if which == "x" else ax.set_yscale
    if scale == "linear":
        return
    if scale == "symlog":
        nonzero = np.abs(values[(values != 0) & ~np.isnan(values)])
        setter("symlog", linthresh=float(nonzero.min()) if nonzero.size else 1.0)
    else:
        setter("log")
    plain_tick_labels(ax.xaxis if which == "x" else ax.yaxis)


def _scatter(
    ax: Axes,
    pub: np.ndarray,
    rep: np.ndarray,
    groups: list[str],
    values: np.ndarray,
    scale: Scale,
) -> None:
    lo, hi = float(values.min()), float(values.max())
    _set_scale(ax, "x", scale, values)
    _set_scale(ax, "y", scale, values)
    line = np.array([lo, hi])
    ax.plot(line, line, color="0.5", lw=0.6, ls="--", zorder=0, label="Identity")
    keys = list(dict.fromkeys(groups))
    codes = np.array([keys.index(g) for g in groups])
    colors = [c for c in OKABE_ITO if c != PUBLISHED_COLOR]
    for i, g in enumerate(keys):
        sel = codes == i
        ax.scatter(
            pub[sel],
            rep[sel],
            s=14,
            color=colors[(i + 2) % len(colors)],
            label=g or None,
            zorder=2,
        )
    ax.set_xlabel("Published")
    ax.set_ylabel("Reproduced")
    ax.set_aspect("equal", adjustable="datalim")
    if any(keys):
        ax.legend(loc="upper left")

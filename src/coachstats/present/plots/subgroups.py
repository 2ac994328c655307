"""Subgroup forest plot: the arm effect in each subgroup, with the tests of interaction.

Draws the table of :func:`coachstats.compare.subgroups.subgroup_effects`: the
effect in all patients first (a diamond), then for each subgrouping column a
header row with its P for interaction and one row per level, with the
``"est (low to high)"`` numbers on the right. The test of interaction, not the
subgroup P values, is what says whether the effect differs between subgroups
(Wang et al., N Engl J Med 2007;357:2189-94), so it is the number printed at
each header.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "subgroup": ["all patients", "insulin", "insulin"], "level": ["", "False", "True"],
...     "estimand": ["mean difference"] * 3, "estimate": [-0.6, -0.4, -0.9],
...     "conf_low": [-0.8, -0.6, -1.2], "conf_high": [-0.4, -0.1, -0.6],
...     "interaction_p": [float("nan"), 0.007, 0.007]})
>>> ax = plot_subgroups(frame)
>>> [t.get_text() for t in ax.get_yticklabels()]
['All patients', 'insulin', '    False', '    True']
>>> [t.get_text() for t in ax.texts][:3]
['MD (95% CI)', '−0.60 (−0.80 to −0.40)', 'interaction P = .007']
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError
from coachstats.core.formatting import is_percent_estimand, null_effect, p_phrase
from coachstats.present.plots.common import numbers_column, require_columns
from coachstats.present.plots.forest import (
    ESTIMAND_ABBREVIATIONS,
    Favours,
    draw_favours,
    estimate_text,
    favours_labels,
    plot_forest,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_subgroups", "subgroup_rows"]

_INDENT = "    "


def subgroup_rows(table: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The rows of the plot: all patients, then a header and the levels of each column.

    Header rows have no estimate; ``label``, ``kind`` (``"overall"``,
    ``"header"``, ``"level"``) and ``interaction_p`` say what each row is.

    Examples
    --------
    >>> t = pd.DataFrame({"subgroup": ["all patients", "sex", "sex"], "level": ["", "f", "m"],
    ...     "estimand": ["odds ratio"] * 3, "estimate": [1.5, 1.2, 2.0],
    ...     "conf_low": [1.1, 0.8, 1.2], "conf_high": [2.0, 1.8, 3.3],
    ...     "interaction_p": [float("nan"), 0.2, 0.2]})
    >>> subgroup_rows(t, {"sex": "Sex"})[["label", "kind"]].to_numpy().tolist()
    [['All patients', 'overall'], ['Sex', 'header'], ['    f', 'level'], ['    m', 'level']]
    """
    require_columns(
        table,
        ("subgroup", "level", "estimand", "estimate", "conf_low", "conf_high", "interaction_p"),
        "plot_subgroups",
    )
    names = dict(names or {})
    estimand = str(table["estimand"].iloc[0])
    rows: list[dict[str, Any]] = []
    nan = math.nan
    for variable, block in table.groupby("subgroup", sort=False):
        if variable == "all patients":
            for _, r in block.iterrows():
                rows.append(_plot_row("All patients", "overall", estimand, r, nan))
            continue
        p = float(block["interaction_p"].iloc[0])
        label = names.get(str(variable), str(variable))
        rows.append(
            {
                "label": label,
                "kind": "header",
                "outcome": label,
                "estimand": estimand,
                "estimate": nan,
                "conf_low": nan,
                "conf_high": nan,
                "interaction_p": p,
            }
        )
        for _, r in block.iterrows():
            rows.append(_plot_row(_INDENT + str(r["level"]), "level", estimand, r, p))
    return pd.DataFrame(rows)


def _plot_row(label: str, kind: str, estimand: str, r: pd.Series, p: float) -> dict[str, Any]:
    return {
        "label": label,
        "kind": kind,
        "outcome": label,
        "estimand": estimand,
        "estimate": float(r["estimate"]),
        "conf_low": float(r["conf_low"]),
        "conf_high": float(r["conf_high"]),
        "interaction_p": p,
    }


def plot_subgroups(
    result: Any,
    *,
    names: Mapping[str, str] | None = None,
    digits: int | None = None,
    log: bool | None = None,
    xlabel: str | None = None,
    percent: bool | None = None,
    favours: Favours = "auto",
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of a subgroup analysis (see the module docstring).

    Parameters
    ----------
    result : SubgroupResult or DataFrame
        :func:`~coachstats.compare.subgroups.subgroup_effects`, or its
        ``to_frame()``.
    names : mapping, optional
        Display names of the subgrouping columns (``{"insulin": "Insulin use"}``).
    digits : int, optional
        Decimals of the numbers column; default 1 in percent, else 2.
    log : bool, optional
        Log x axis; default True for ratios (odds ratios).
    xlabel : str, optional
        X-axis label; default the estimand and confidence level.
    percent : bool, optional
        Risk differences in percentage points (default), as
        :func:`~coachstats.present.plots.plot_forest` draws them.
    favours : (str, str), "auto" or None
        The labels of the two sides of the line of no effect, as in
        :func:`~coachstats.present.plots.plot_forest`; ``"auto"`` reads the
        better direction of the result's outcome.
    ax : Axes, optional
        Where to draw; default a new figure in the journal style.

    Returns
    -------
    Axes

    Raises
    ------
    AnalysisError
        No subgroup row to draw.
    """
    table = result.to_frame() if hasattr(result, "to_frame") else pd.DataFrame(result)
    rows = subgroup_rows(table, names)
    if not (rows["kind"] == "level").any():
        raise AnalysisError("plot_subgroups: the table has no subgroup rows")
    level = float(getattr(result, "conf_level", 0.95))
    rows["conf_level"] = level
    overall = (rows["kind"] == "overall").to_numpy()
    estimands = [str(e) for e in pd.unique(rows["estimand"])]
    in_percent = all(is_percent_estimand(e) for e in estimands) if percent is None else percent
    scale = 100.0 if in_percent else 1.0
    digits = (1 if in_percent else 2) if digits is None else digits
    outcome = str(getattr(result, "outcome", ""))  # the rows' outcome column holds the labels
    sides = (
        favours_labels(pd.DataFrame({"outcome": [outcome], "estimand": estimands[:1]}))
        if favours == "auto"
        else favours
    )
    ax = plot_forest(
        rows,
        labels=list(rows["label"]),
        numbers=False,
        log=log,
        digits=digits,
        xlabel=xlabel,
        highlight=list(overall),
        percent=in_percent,
        favours=None,
        ax=ax,
    )
    for tick, kind in zip(ax.get_yticklabels(), rows["kind"], strict=True):
        tick.set_fontweight("bold" if kind != "level" else "normal")
    estimand = str(rows["estimand"].iloc[0])
    lines = []
    for _, r in rows.iterrows():
        if r["kind"] == "header":
            p = r["interaction_p"]
            lines.append("" if np.isnan(p) else f"interaction {p_phrase(float(p))}")
        elif np.isnan(r["estimate"]):
            lines.append("not estimable")
        else:
            est, lo, hi = (scale * float(r[k]) for k in ("estimate", "conf_low", "conf_high"))
            lines.append(estimate_text(est, lo, hi, digits))
    abbr = ESTIMAND_ABBREVIATIONS.get(estimand.lower(), estimand)
    y = np.asarray(ax.get_yticks(), dtype=float)
    numbers_column(ax, f"{abbr} ({100 * level:g}% CI)", lines, y)
    if sides is not None:
        draw_favours(ax, null_effect(estimand), sides)
    return ax

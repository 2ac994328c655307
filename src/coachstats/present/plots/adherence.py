"""Medication adherence figures: concordance categories and adherent days, by arm.

Draws the per-patient measures of :mod:`coachstats.derive.adherence` (Thom et al.
2015). Add the arm to those tables first, e.g.
``concordance(meds).merge(patients[["patient_id", "arm"]], on="patient_id")``.

Examples
--------
>>> import pandas as pd
>>> conc = pd.DataFrame({"patient_id": [1, 2, 3, 4], "month": [12] * 4,
...     "arm": ["coaching", "coaching", "usual_care", "usual_care"],
...     "prop_concordant": [1.0, 0.5, 0.5, 0.0], "prop_listed_not_taken": [0.0, 0.5, 0.25, 1.0],
...     "prop_taken_not_listed": [0.0, 0.0, 0.25, 0.0]})
>>> ax = plot_adherence(conc)
>>> [round(float(p.get_height()), 1) for p in ax.patches]
[75.0, 25.0, 25.0, 62.5, 0.0, 12.5]
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError, check_option
from coachstats.derive.adherence import PROPORTIONS
from coachstats.present.plots.common import (
    axes_for,
    group_offsets,
    require_columns,
    tick_fontsize,
    wrap,
)
from coachstats.present.plots.style import (
    ARM_COLORS,
    OKABE_ITO,
    SINGLE_COLUMN,
    arm_color,
    arm_label,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CATEGORY_COLORS",
    "CATEGORY_LABELS",
    "adherence_summary",
    "plot_adherence",
    "plot_adherent_days",
]

CATEGORY_LABELS: dict[str, str] = {
    "prop_concordant": "Completely concordant",
    "prop_listed_not_taken": "Listed, not taken",
    "prop_taken_not_listed": "Taken, not listed",
}
"""Legend text of the three concordance categories."""

CATEGORY_COLORS: dict[str, str] = {
    "prop_concordant": OKABE_ITO[2],  # bluish green
    "prop_listed_not_taken": OKABE_ITO[3],  # vermillion
    "prop_taken_not_listed": OKABE_ITO[4],  # sky blue
}
"""Okabe-Ito colours of the categories, distinct from the arm colours."""

_COUNTS = {
    "prop_concordant": "n_concordant",
    "prop_listed_not_taken": "n_listed_not_taken",
    "prop_taken_not_listed": "n_taken_not_listed",
}
Summary = Literal["patient", "pooled"]


def _arm_order(arms: pd.Series) -> list[str]:
    present = [str(a) for a in pd.unique(arms.dropna())]
    standard = [a for a in ARM_COLORS if a in present]
    return standard + sorted(a for a in present if a not in standard)


def adherence_summary(
    data: pd.DataFrame,
    *,
    arm: str = "arm",
    month: str = "month",
    summary: Summary = "patient",
) -> pd.DataFrame:
    r"""Percentage of medications in each concordance category, by month and arm.

    ``summary="patient"`` averages the per-patient proportions (each patient
    weighs the same; the measure Thom et al. compared),
    :math:`100\,\overline{C_i/N_i}`; ``"pooled"`` pools the medications,
    :math:`100\,\sum C_i / \sum N_i`. Patient-months with no medication of the
    analysed conditions (``n_meds == 0``, NaN proportions) are left out and
    counted in ``n_no_meds``.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`coachstats.derive.adherence.concordance` with an arm column.
    arm, month : str
        Column names.
    summary : {"patient", "pooled"}
        How the patients are combined.

    Returns
    -------
    DataFrame
        One row per month and arm: ``month, arm, n_patients, n_no_meds`` and the
        three categories in percent (named as the proportions).

    Examples
    --------
    >>> import pandas as pd
    >>> conc = pd.DataFrame({"month": [0, 0, 0], "arm": ["coaching"] * 3,
    ...     "n_concordant": [1, 3, 0], "n_listed_not_taken": [1, 0, 0],
    ...     "n_taken_not_listed": [0, 1, 0],
    ...     "prop_concordant": [0.5, 0.75, None], "prop_listed_not_taken": [0.5, 0.0, None],
    ...     "prop_taken_not_listed": [0.0, 0.25, None]})
    >>> adherence_summary(conc)[["n_patients", "n_no_meds", "prop_concordant"]].to_numpy().tolist()
    [[2.0, 1.0, 62.5]]
    >>> round(float(adherence_summary(conc, summary="pooled")["prop_concordant"].iloc[0]), 4)
    66.6667
    """
    check_option("summary", summary, ("patient", "pooled"))
    needed = [arm, month, *PROPORTIONS] + (list(_COUNTS.values()) if summary == "pooled" else [])
    require_columns(data, needed, "plot_adherence")
    props = data[list(PROPORTIONS)].apply(pd.to_numeric, errors="coerce")
    has = props.notna().all(axis=1)
    frame = pd.DataFrame({"month": data[month], "arm": data[arm].astype("string")})
    frame["n_patients"] = has.astype(float)
    frame["n_no_meds"] = (~has).astype(float)
    keys = ["month", "arm"]
    if summary == "patient":
        for p in PROPORTIONS:
            frame[p] = props[p].where(has)
        out = frame.groupby(keys, sort=True).agg(
            n_patients=("n_patients", "sum"),
            n_no_meds=("n_no_meds", "sum"),
            **{p: (p, "mean") for p in PROPORTIONS},
        )
        out[list(PROPORTIONS)] *= 100.0
    else:
        for p, c in _COUNTS.items():
            frame[p] = pd.to_numeric(data[c]).where(has, 0.0)
        out = frame.groupby(keys, sort=True)[["n_patients", "n_no_meds", *PROPORTIONS]].sum()
        total = out[list(PROPORTIONS)].sum(axis=1)
        out[list(PROPORTIONS)] = 100.0 * out[list(PROPORTIONS)].div(total.where(total > 0), axis=0)
    return out.reset_index()


def _month_label(m: object) -> str:
    return "Baseline" if m == 0 else f"{m} months"


def plot_adherence(
    data: pd.DataFrame,
    *,
    arm: str = "arm",
    month: str = "month",
    summary: Summary = "patient",
    month_labels: Mapping[object, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Stacked bars of the concordance categories by arm and time point.

    For each time point, one bar per arm, split into the percentage of
    medications completely concordant (in the chart and reported taken),
    listed but not taken, and taken but not listed (see
    :func:`adherence_summary`). The number of patients behind each bar is
    printed above it.

    Parameters
    ----------
    data : DataFrame
        :func:`coachstats.derive.adherence.concordance` output with an arm column.
    arm, month : str
        Column names.
    summary : {"patient", "pooled"}
        Mean of per-patient proportions, or pooled medications.
    month_labels : mapping, optional
        Label of each month (default ``"Baseline"`` for 0, ``"12 months"``...).
    ax : Axes, optional
        Where to draw; default a new single-column figure in the journal style.

    Returns
    -------
    Axes

    References
    ----------
    Thom DH et al. The impact of health coaching on medication adherence in
    patients with poorly controlled diabetes, hypertension, and/or
    hyperlipidemia: a randomized controlled trial. J Am Board Fam Med
    2015;28:38-45.

    Examples
    --------
    See the module example.
    """
    table = adherence_summary(data, arm=arm, month=month, summary=summary)
    arms = _arm_order(table["arm"])
    months = list(pd.unique(table["month"]))
    width, offsets = group_offsets(len(arms))
    labels = {m: (month_labels or {}).get(m, _month_label(m)) for m in months}
    with axes_for(ax, (SINGLE_COLUMN, 2.8)) as ax:
        size = tick_fontsize()
        bottoms = np.zeros(len(table))
        xs = np.array(
            [
                months.index(m) + offsets[arms.index(a)]
                for m, a in zip(table["month"], table["arm"], strict=True)
            ]
        )
        for p in PROPORTIONS:
            h = table[p].to_numpy(dtype=float, na_value=np.nan)
            ax.bar(
                xs,
                h,
                width * 0.9,
                bottom=bottoms,
                color=CATEGORY_COLORS[p],
                label=CATEGORY_LABELS[p],
            )
            for x, b, v in zip(xs, bottoms, h, strict=True):
                if v >= 8.0:
                    ax.text(
                        x, b + v / 2, f"{v:.0f}%", ha="center", va="center", fontsize=size * 0.9
                    )
            bottoms = bottoms + np.nan_to_num(h)
        for x, n in zip(xs, table["n_patients"], strict=True):
            ax.annotate(
                f"n = {int(n)}",
                xy=(x, 100.0),
                xytext=(0, 1.5),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=size * 0.9,
            )
        ax.set_ylim(0.0, 100.0)
        ax.set_ylabel("Medications (%)")
        ax.set_xticks(xs, [wrap(arm_label(str(a), short=True), 9) for a in table["arm"]])
        ax.tick_params(axis="x", length=0)
        sec = ax.secondary_xaxis(location=0)
        sec.set_xticks(np.arange(len(months)), [f"\n\n{labels[m]}" for m in months])
        sec.tick_params(axis="x", length=0)
        sec.spines["bottom"].set_visible(False)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.06), ncols=2, borderaxespad=0.0)
    return ax


def plot_adherent_days(
    data: pd.DataFrame,
    *,
    days: str = "adherent_days_7",
    arm: str = "arm",
    month: int | None = None,
    month_column: str = "month",
    xlabel: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of adherent days by arm: the percentage of patients at each value.

    Grouped bars over the whole days (0-7 for ``adherent_days_7``; any whole
    numbers, e.g. the change ``change_adherent_days`` of
    :func:`coachstats.derive.adherence.adherence_change`), one colour per arm. The
    legend gives each arm's n, mean and the number of missing values left out.

    Parameters
    ----------
    data : DataFrame
        One row per patient (and month): the days column and the arm.
    days, arm : str
        Column names.
    month : int, optional
        Draw this month only (rows where ``month_column == month``). Required
        when the data hold several months.
    month_column : str
        Name of the month column.
    xlabel : str, optional
        X-axis label; default describes ``adherent_days_7``.
    ax : Axes, optional
        Where to draw; default a new single-column figure in the journal style.

    Returns
    -------
    Axes

    Raises
    ------
    AnalysisError
        Several months and no ``month``; values that are not whole numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 2,
    ...                   "adherent_days_7": [7, 7, 5, None, 0, 7]})
    >>> ax = plot_adherent_days(d)
    >>> [round(float(p.get_height()), 2) for p in ax.patches if p.get_height() > 0]
    [33.33, 66.67, 50.0, 50.0]
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['Health coaching (n = 3, mean 6.3; 1 missing)', 'Usual care (n = 2, mean 3.5)']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    require_columns(data, [days, arm], "plot_adherent_days")
    rows = data
    if month is not None:
        require_columns(data, [month_column], "plot_adherent_days")
        rows = data[data[month_column] == month]
        if rows.empty:
            found = sorted(pd.unique(data[month_column].dropna()).tolist())
            raise AnalysisError(f"no rows with {month_column} == {month}; months found: {found}")
    elif month_column in data.columns and data[month_column].nunique() > 1:
        found = sorted(pd.unique(data[month_column].dropna()).tolist())
        raise AnalysisError(
            f"the data hold months {found}; choose one with month= (the distribution is per time point)"
        )
    values = pd.to_numeric(rows[days], errors="coerce")
    bad = rows[days].notna() & (values.isna() | (values != values.round()))
    if bad.any():
        raise AnalysisError(
            f"column {days!r} must hold whole numbers; found {pd.unique(rows.loc[bad, days]).tolist()[:10]}"
        )
    arms = _arm_order(rows[arm])
    present = values.dropna()
    if present.empty:
        raise AnalysisError(f"column {days!r} has no values to plot")
    vmin, vmax = int(present.min()), int(present.max())
    if vmin >= 0 and vmax <= 7:
        vmin, vmax = 0, 7
    grid = np.arange(vmin, vmax + 1)
    width, offsets = group_offsets(len(arms))
    arm_col = rows[arm].astype("string")
    with axes_for(ax, (SINGLE_COLUMN, 2.4)) as ax:
        for j, a in enumerate(arms):
            v = values[(arm_col == a).to_numpy(dtype=bool)]
            ok = v.dropna().astype(int)
            counts = np.bincount(ok.to_numpy() - vmin, minlength=grid.size)
            pct = 100.0 * counts / max(ok.size, 1)
            missing = int(v.isna().sum())
            label = f"{arm_label(a)} (n = {ok.size}, mean {ok.mean():.1f}"
            label += f"; {missing} missing)" if missing else ")"
            ax.bar(
                grid + offsets[j],
                pct,
                width * 0.95,
                color=arm_color(a, j),
                label=label,
            )
        ax.set_xticks(grid)
        ax.tick_params(axis="x", length=0)
        ax.set_ylabel("Patients (%)")
        default = (
            "Days of the last 7 with all medications taken" if days == "adherent_days_7" else days
        )
        ax.set_xlabel(xlabel if xlabel is not None else default)
        ax.legend(loc="upper left")
    return ax

"""Shared pieces of the repeated-measures models: long data, subject blocks, contrasts.

:func:`long_format` turns one row per patient with a column per visit
(``sbp_0, sbp_12, sbp_24``) into one row per patient and visit;
:func:`subject_rows` checks and indexes long data for
:mod:`coachstats.compare.mmrm` and :mod:`coachstats.compare.slopes`;
:func:`contrast_inference` gives the estimate, Satterthwaite df, t test and
interval of a linear combination of a REML fit's coefficients.

Examples
--------
>>> import pandas as pd
>>> wide = pd.DataFrame({"patient_id": ["a", "b"], "arm": ["coaching", "usual_care"],
...                      "sbp_12": [130.0, None], "sbp_24": [128.0, 141.0]})
>>> long_format(wide, {12: "sbp_12", 24: "sbp_24"}, subject="patient_id", keep=["arm"],
...             value="sbp", visit="month")
  patient_id         arm  month    sbp
0          a    coaching     12  130.0
1          a    coaching     24  128.0
2          b  usual_care     24  141.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coachstats.compare.means import t_inference
from coachstats.compare.prepare import is_numeric, prepare, require_columns
from coachstats.compare.reml import REMLFit, satterthwaite
from coachstats.core.errors import AnalysisError, list_some
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "ContrastRow",
    "SubjectRows",
    "coefficient_table",
    "contrast_inference",
    "contrast_result",
    "long_format",
    "subject_rows",
]


def long_format(
    data: pd.DataFrame,
    columns: Mapping[Any, str],
    *,
    subject: str,
    keep: Sequence[str] = (),
    value: str = "value",
    visit: str = "visit",
) -> pd.DataFrame:
    """One row per subject and visit from one column per visit; missing values dropped.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    columns : mapping
        ``{visit: column}``, e.g. ``{0: "sbp_0", 12: "sbp_12", 24: "sbp_24"}``.
    subject : str
        The subject identifier column.
    keep : sequence of str
        Subject-level columns to repeat on every row (arm, baseline covariates).
    value, visit : str
        Names of the value and visit columns of the result.

    Returns
    -------
    DataFrame
        ``subject, *keep, visit, value``, sorted by subject (in data order) and visit.
    """
    require_columns(data, [subject, *keep, *columns.values()])
    if data[subject].duplicated().any():
        dup = data.loc[data[subject].duplicated(), subject].tolist()
        raise AnalysisError(
            f"column '{subject}' must identify one row per subject; repeated: {list_some(dup)}"
        )
    frames = []
    for v, col in columns.items():
        part = data[[subject, *keep]].copy()
        part.attrs = {}  # loader metadata (arrays) would make concat compare them
        part[visit] = v
        part[value] = data[col].to_numpy()
        part["_order"] = np.arange(len(data))
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out = out[out[value].notna()].sort_values(["_order", visit], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


@dataclass(frozen=True)
class SubjectRows:
    """Long data checked and indexed by subject.

    ``frame`` holds the complete rows (index preserved); ``subject`` the
    subject code (0..n_subjects-1) of each row; ``treated`` whether the row's
    subject is in the treatment arm; ``labels`` ``(treatment, control)``.
    """

    frame: pd.DataFrame
    subject: np.ndarray
    treated: np.ndarray
    labels: tuple[str, str]
    n_subjects: int
    n_excluded: int
    excluded_reason: str

    def covariates(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Numeric covariates as float columns, and their means over the rows (for centering)."""
        if not names:
            return np.empty((len(self.frame), 0)), np.empty(0)
        values = np.column_stack(
            [self.frame[c].to_numpy(dtype=float, na_value=np.nan) for c in names]
        )
        return values, values.mean(axis=0)


def subject_rows(
    data: pd.DataFrame,
    outcome: str,
    *,
    subject: str,
    others: Sequence[str],
    covariates: Sequence[str],
    arm: str,
    treatment: str | None,
    control: str | None,
) -> SubjectRows:
    """Complete rows of long data, with checks that name the column and rows.

    ``others`` are further columns every row needs (visit, time). Covariates
    must be numeric or boolean (code categories as 0/1 columns); the arm must
    not change within a subject.
    """
    cols = list(dict.fromkeys([outcome, subject, *others, *covariates]))
    prep = prepare(data, cols, arm=arm, treatment=treatment, control=control)
    frame = prep.frame
    for c in [outcome, *others, *covariates]:
        if not is_numeric(frame[c]):
            raise AnalysisError(
                f"column '{c}' must be numeric (or boolean); it has dtype {frame[c].dtype}"
                + ("; code the categories as 0/1 columns" if c in covariates else "")
            )
    codes, uniques = pd.factorize(frame[subject])
    arms_per_subject = pd.Series(prep.treated).groupby(codes).nunique()
    mixed = arms_per_subject.index[arms_per_subject.to_numpy() > 1]
    if len(mixed):
        raise AnalysisError(
            f"the arm changes within subject(s) {list_some([uniques[i] for i in mixed])} "
            f"of column '{subject}'; each subject belongs to one arm"
        )
    return SubjectRows(
        frame=frame,
        subject=np.asarray(codes),
        treated=prep.treated,
        labels=prep.labels,
        n_subjects=len(uniques),
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
    )


@dataclass(frozen=True)
class ContrastRow:
    """Inference on one linear combination of coefficients."""

    estimate: float
    std_error: float
    df: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float


def contrast_inference(
    fit: REMLFit,
    contrast: Sequence[float] | np.ndarray,
    conf_level: float,
    reparam: tuple[np.ndarray, np.ndarray] | None = None,
) -> ContrastRow:
    """Estimate, model-based SE, Satterthwaite df, t test and interval of ``contrast @ beta``.

    ``reparam``: see :func:`coachstats.compare.reml.satterthwaite`.
    """
    c = np.asarray(contrast, dtype=float)
    var, df = satterthwaite(fit, c, reparam)
    estimate = float(c @ fit.beta)
    se = math.sqrt(var)
    t, p, low, high = t_inference(estimate, se, df, conf_level)
    return ContrastRow(estimate, se, df, t, p, low, high)


def contrast_result(
    fit: REMLFit,
    contrast: Sequence[float] | np.ndarray,
    *,
    rows: SubjectRows,
    outcome: str,
    method: str,
    estimand: str,
    arms: tuple[ArmSummary, ...],
    adjusted_for: Sequence[str],
    cluster: str,
    missing: str,
    conf_level: float,
    reparam: tuple[np.ndarray, np.ndarray] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ComparisonResult:
    """A contrast of a repeated-measures fit as a :class:`ComparisonResult` (t test, Satterthwaite df)."""
    r = contrast_inference(fit, contrast, conf_level, reparam)
    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=r.estimate,
        std_error=r.std_error,
        conf_low=r.conf_low,
        conf_high=r.conf_high,
        conf_level=conf_level,
        statistic=r.statistic,
        statistic_name="t",
        df=r.df,
        p_value=r.p_value,
        arms=arms,
        adjusted_for=tuple(adjusted_for),
        cluster=cluster,
        n_excluded=rows.n_excluded,
        excluded_reason=rows.excluded_reason,
        missing=missing,
        extra={"df_method": "Satterthwaite", **(extra or {})},
    )


def coefficient_table(
    fit: REMLFit,
    names: Sequence[str],
    conf_level: float,
    reparam: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Every coefficient: ``term, estimate, std_error, df, statistic, p_value`` (Satterthwaite df)."""
    out = []
    for j, name in enumerate(names):
        unit = np.zeros(len(fit.beta))
        unit[j] = 1.0
        r = contrast_inference(fit, unit, conf_level, reparam)
        out.append((name, r.estimate, r.std_error, r.df, r.statistic, r.p_value))
    return pd.DataFrame(
        out, columns=["term", "estimate", "std_error", "df", "statistic", "p_value"]
    )

r"""Mantel-Haenszel pooling of 2x2 tables: OR, RR and RD, the CMH test, and a stratified comparison.

Stratum (or study) :math:`i` is a 2x2 table with :math:`a_i` events and
:math:`b_i` non-events in the treatment arm (:math:`n_{1i} = a_i + b_i`),
:math:`c_i` and :math:`d_i` in the control arm (:math:`n_{2i}`),
:math:`N_i = n_{1i} + n_{2i}`. The Mantel-Haenszel estimates are

- odds ratio :math:`\hat\psi = \sum a_i d_i / N_i \big/ \sum b_i c_i / N_i`, with
  the Robins-Breslow-Greenland variance of :math:`\log\hat\psi`;
- relative risk :math:`\sum a_i n_{2i}/N_i \big/ \sum c_i n_{1i}/N_i`, with the
  Greenland-Robins variance of its log;
- risk difference :math:`\sum (a_i n_{2i} - c_i n_{1i})/N_i \big/ \sum n_{1i} n_{2i}/N_i`,
  with the Greenland-Robins / Sato variance;

Wald intervals on the log scale for the ratios. The Cochran-Mantel-Haenszel
test refers

.. math::

    X^2_{MH} = \frac{\left(\left|\sum_i a_i - n_{1i} m_{1i}/N_i\right| - c\right)^2}
                   {\sum_i n_{1i} n_{2i} m_{1i} m_{2i} / \{N_i^2 (N_i - 1)\}}

to :math:`\chi^2_1` (:math:`m_{1i} = a_i + c_i`, :math:`m_{2i} = b_i + d_i`),
with :math:`c = 1/2` under ``correct=True`` when the absolute sum is at least
1/2 (R ``mantelhaen.test``; ``metafor::rma.mh`` applies the 1/2 always, which
agrees whenever the sum is at least 1/2). Tarone's test of homogeneity of the
odds ratios is ``metafor``'s ``TA``.

:func:`pool_tables` is R ``metafor::rma.mh`` (meta-analysis of trials'
tables: Cochran's Q and :math:`I^2` from the per-table log odds ratios with
1/2 added to tables with a zero cell, tables without events or without
non-events left out of Q); :func:`mantel_haenszel` compares two arms of
patient-level data across strata (sites, clinics) and is R ``mantelhaen.test``
for the odds ratio.

References
----------
Mantel N, Haenszel W. Statistical aspects of the analysis of data from
retrospective studies of disease. J Natl Cancer Inst 1959;22:719-748.
Robins J, Breslow N, Greenland S. Estimators of the Mantel-Haenszel variance
consistent in both sparse data and large-strata limiting models. Biometrics
1986;42:311-323.
Greenland S, Robins JM. Estimation of a common effect parameter from sparse
follow-up data. Biometrics 1985;41:55-68.
Sato T, Greenland S, Robins JM. On the variance estimator for the
Mantel-Haenszel risk difference. Biometrics 1989;45:1323-1324.
Tarone RE. On heterogeneity tests based on efficient scores. Biometrika
1985;72:91-95.

Examples
--------
Two clinics of a coaching trial, goal reached by arm:

>>> r = pool_tables([20, 15], [30, 25], [12, 9], [38, 31], measure="OR")
>>> round(r.transformed(r.estimate), 3), round(r.cmh, 3), r.k
(2.092, 4.334, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from coachstats.compare.dist import chi2_sf, norm_sf
from coachstats.compare.meta import MetaResult, study_labels
from coachstats.compare.meta_fit import critical_value, fit
from coachstats.compare.prepare import prepare
from coachstats.compare.proportions import as_binary, check_conf_level
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "MEASURES",
    "MHResult",
    "cmh_test",
    "mantel_haenszel",
    "mh_estimate",
    "pool_tables",
    "tarone_test",
]

Measure = Literal["OR", "RR", "RD"]
MEASURES: dict[str, str] = {"OR": "odds ratio", "RR": "relative risk", "RD": "risk difference"}
"""The Mantel-Haenszel measures and their names."""
Array = NDArray[np.float64]


def _tables(ai: ArrayLike, bi: ArrayLike, ci: ArrayLike, di: ArrayLike) -> tuple[Array, ...]:
    cells = [np.asarray(x, dtype=float).ravel() for x in (ai, bi, ci, di)]
    k = cells[0].size
    if any(c.size != k for c in cells):
        raise AnalysisError(
            f"the four cell counts differ in length ({', '.join(str(c.size) for c in cells)})"
        )
    if k == 0:
        raise AnalysisError("no 2x2 tables given")
    bad = ~np.all([np.isfinite(c) & (c >= 0) for c in cells], axis=0)
    if bad.any():
        raise AnalysisError(
            f"cell counts must be finite and >= 0; problem in table(s) {np.flatnonzero(bad).tolist()}"
        )
    n = cells[0] + cells[1] + cells[2] + cells[3]
    small = n < 2
    if small.any():
        raise AnalysisError(
            f"table(s) {np.flatnonzero(small).tolist()} have fewer than 2 patients; "
            "merge or drop those strata"
        )
    return (*cells, n)


def mh_estimate(
    ai: ArrayLike, bi: ArrayLike, ci: ArrayLike, di: ArrayLike, measure: Measure = "OR"
) -> tuple[float, float]:
    """The Mantel-Haenszel estimate and its SE: log scale for OR and RR, identity for RD.

    Raises
    ------
    AnalysisError
        An odds ratio or relative risk that is 0 or infinite (no events, or
        no non-events, in one arm of every table).

    Examples
    --------
    >>> est, se = mh_estimate([20, 15], [30, 25], [12, 9], [38, 31], "RD")
    >>> round(est, 4), round(se, 4)
    (0.1556, 0.068)
    """
    check_option("measure", measure, tuple(MEASURES))
    a, b, c, d, n = _tables(ai, bi, ci, di)
    n1, n2 = a + b, c + d
    if measure == "OR":
        r_i, s_i = a * d / n, b * c / n
        p_i, q_i = (a + d) / n, (b + c) / n
        r, s = float(r_i.sum()), float(s_i.sum())
        _check_ratio(r, s, "odds ratio")
        var = 0.5 * (
            float((p_i * r_i).sum()) / r**2
            + float((p_i * s_i + q_i * r_i).sum()) / (r * s)
            + float((q_i * s_i).sum()) / s**2
        )
        return math.log(r / s), math.sqrt(var)
    if measure == "RR":
        r, s = float((a * n2 / n).sum()), float((c * n1 / n).sum())
        _check_ratio(r, s, "relative risk")
        var = float((n1 / n * n2 / n * (a + c) - a / n * c).sum()) / (r * s)
        return math.log(r / s), math.sqrt(var)
    denom = float((n1 * n2 / n).sum())
    beta = float((a * n2 / n - c * n1 / n).sum()) / denom
    num = beta * float(
        (c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + n1 / n * n2 / n * (n2 - n1) / 2).sum()
    )
    num += float((a * (n2 - c) / n + c * (n1 - a) / n).sum()) / 2
    return beta, math.sqrt(num / denom**2)


def _check_ratio(r: float, s: float, name: str) -> None:
    if r == 0 or s == 0:
        raise AnalysisError(
            f"the Mantel-Haenszel {name} is {'0' if r == 0 else 'infinite'}: one arm has no "
            "events (or no non-events) in every table; use measure='RD'"
        )


def cmh_test(
    ai: ArrayLike, bi: ArrayLike, ci: ArrayLike, di: ArrayLike, *, correct: bool = True
) -> tuple[float, float]:
    """Cochran-Mantel-Haenszel chi-square (1 df) and its P, as R ``mantelhaen.test``.

    Examples
    --------
    >>> x2, p = cmh_test([20, 15], [30, 25], [12, 9], [38, 31])
    >>> round(x2, 3), round(p, 4)
    (4.334, 0.0374)
    """
    a, b, c, d, n = _tables(ai, bi, ci, di)
    n1, n2, m1, m2 = a + b, c + d, a + c, b + d
    delta = float((a - n1 * m1 / n).sum())
    var = float((n1 * n2 * m1 * m2 / (n**2 * (n - 1))).sum())
    if var <= 0:
        raise AnalysisError("the CMH test is undefined: no table has both events and non-events")
    yates = 0.5 if correct and abs(delta) >= 0.5 else 0.0
    stat = (abs(delta) - yates) ** 2 / var
    return stat, chi2_sf(stat, 1)


def tarone_test(
    ai: ArrayLike, bi: ArrayLike, ci: ArrayLike, di: ArrayLike
) -> tuple[float, int, float]:
    """Tarone's test that the odds ratios are homogeneous: statistic, df, P (``metafor`` ``TA``).

    The Breslow-Day statistic at the Mantel-Haenszel odds ratio minus
    Tarone's correction, on (tables with a positive expected count) - 1 df;
    NaN with fewer than two such tables.
    """
    a, b, c, d, n = _tables(ai, bi, ci, di)
    n1, n2, xt, yt = a + b, c + d, a + c, b + d
    psi = math.exp(mh_estimate(a, b, c, d, "OR")[0])
    if psi == 1.0:
        n11 = n1 / n * xt
    else:
        big_a = psi * (n1 + xt) + (n2 - xt)
        big_b = np.sqrt(big_a**2 - 4 * n1 * xt * psi * (psi - 1))
        n11 = (big_a - big_b) / (2 * (psi - 1))
    pos = (n11 > 0) & (xt > 0) & (yt > 0)
    k_pos = int(pos.sum())
    e11 = n11[pos]
    e12, e21 = n1[pos] - e11, xt[pos] - e11
    e22 = e11 - n1[pos] - xt[pos] + n[pos]
    inv = 1 / (1 / e11 + 1 / e12 + 1 / e21 + 1 / e22)
    dev = a[pos] - e11
    bd = max(0.0, float((dev**2 / inv).sum()))
    ta = max(0.0, bd - float(dev.sum()) ** 2 / float(inv.sum()))
    df = k_pos - 1
    return ta, df, chi2_sf(ta, df) if df > 0 else math.nan


@dataclass(frozen=True)
class MHResult(MetaResult):
    """A Mantel-Haenszel pooled estimate (``method="MH"``) with the CMH and Tarone tests.

    ``cmh``/``cmh_p_value`` test "no association in any table" (the same
    test whatever the measure); ``tarone`` (odds ratio only) tests that the
    odds ratios are equal. ``q``, ``i2`` and
    ``h2`` come from the per-table estimates (1/2 added to tables with a zero
    cell), as ``metafor::rma.mh``; ``fixed_*`` is their inverse-variance pool.
    ``estimates``/``std_errors`` are those per-table estimates, NaN for a
    table without events (or without non-events) in both arms.
    """

    measure: str = "OR"
    cmh: float = math.nan
    cmh_p_value: float = math.nan
    tarone: float = math.nan
    tarone_df: int = 0
    tarone_p_value: float = math.nan


def _escalc(
    a: Array, b: Array, c: Array, d: Array, measure: str
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Per-table estimates and variances as ``metafor::escalc`` (add 1/2 to zero-cell tables)."""
    keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (x + 0.5 * zero for x in (a, b, c, d))
    n1, n2 = a + b, c + d
    if measure == "OR":
        y, v = np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
    elif measure == "RR":
        y, v = np.log(a / n1 / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2
    else:
        p1, p2 = a / n1, c / n2
        y, v = p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    return y, v, keep


def pool_tables(
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    measure: Measure = "OR",
    conf_level: float = 0.95,
    correct: bool = True,
    labels: Sequence[str] | None = None,
    outcome: str = "",
) -> MHResult:
    """Mantel-Haenszel fixed-effect meta-analysis of 2x2 tables (R ``metafor::rma.mh``).

    Parameters
    ----------
    ai, bi, ci, di : array_like
        Per table: treatment events, treatment non-events, control events,
        control non-events.
    measure : {"OR", "RR", "RD"}
        Odds ratio, relative risk (pooled on the log scale, reported
        exponentiated) or risk difference.
    conf_level : float
        Confidence level of the Wald interval.
    correct : bool
        Continuity correction of the CMH test.
    labels : sequence of str, optional
        Names of the tables (studies, strata).
    outcome : str
        Carried into the result.

    Returns
    -------
    MHResult
        ``weights`` are the Mantel-Haenszel weights (normalized), as
        ``weights()`` of an ``rma.mh`` fit.

    Examples
    --------
    >>> r = pool_tables([20, 15], [30, 25], [12, 9], [38, 31], measure="RR")
    >>> round(r.transformed(r.estimate), 3), r.method_name
    (1.667, 'Mantel-Haenszel fixed effect')
    """
    check_option("measure", measure, tuple(MEASURES))
    check_conf_level(conf_level)
    a, b, c, d, n = _tables(ai, bi, ci, di)
    k = int(a.size)
    names = study_labels(labels, k, "tables")
    beta, se = mh_estimate(a, b, c, d, measure)
    crit = critical_value(conf_level)
    z = beta / se
    n1, n2 = a + b, c + d
    w = {"OR": b * c / n, "RR": c * n1 / n, "RD": n1 * n2 / n}[measure]
    y_all, v_all, keep = _escalc(a, b, c, d, measure)
    y, v = y_all[keep], v_all[keep]
    k_y = int(y.size)
    if k_y > 1:
        q = max(0.0, float(((y - beta) ** 2 / v).sum()))
        i2, h2 = (max(0.0, (q - (k_y - 1)) / q) if q > 0 else 0.0), q / (k_y - 1)
        fixed = fit(y, v, method="fixed")
        fixed_est, fixed_se = float(fixed.coef[0]), float(fixed.std_errors[0])
    else:
        q, i2, h2 = 0.0, 0.0, 1.0
        fixed_est = float(y[0]) if k_y else math.nan
        fixed_se = math.sqrt(float(v[0])) if k_y else math.nan
    cmh, cmh_p = cmh_test(a, b, c, d, correct=correct)
    ta, ta_df, ta_p = tarone_test(a, b, c, d) if measure == "OR" else (math.nan, 0, math.nan)
    return MHResult(
        method="MH",
        k=k,
        estimate=beta,
        std_error=se,
        conf_low=beta - crit * se,
        conf_high=beta + crit * se,
        statistic=z,
        p_value=2.0 * norm_sf(abs(z)),
        q=q,
        q_df=max(k_y - 1, 0),
        q_p_value=chi2_sf(q, k_y - 1) if k_y > 1 else 1.0,
        i2=i2,
        h2=h2,
        tau2=0.0,
        fixed_estimate=fixed_est,
        fixed_std_error=fixed_se,
        weights=tuple(float(x) for x in w / w.sum()),
        labels=names,
        conf_level=float(conf_level),
        outcome=outcome,
        estimand=MEASURES[measure],
        transform="identity" if measure == "RD" else "exp",
        pi_low=beta - crit * se,
        pi_high=beta + crit * se,
        estimates=tuple(float(x) for x in np.where(keep, y_all, np.nan)),
        std_errors=tuple(float(x) for x in np.where(keep, np.sqrt(v_all), np.nan)),
        measure=measure,
        cmh=cmh,
        cmh_p_value=cmh_p,
        tarone=ta,
        tarone_df=ta_df,
        tarone_p_value=ta_p,
    )


def mantel_haenszel(
    data: pd.DataFrame,
    outcome: str,
    strata: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    measure: Measure = "OR",
    correct: bool = True,
    conf_level: float = 0.95,
) -> ComparisonResult:
    """Compare a binary endpoint between two arms across strata (R ``mantelhaen.test``).

    The common odds ratio (or relative risk, or risk difference) by
    Mantel-Haenszel with its Wald interval, and the CMH chi-square test of
    no association given the strata (e.g. sites or clinics). Rows missing
    the outcome, the arm or the stratum are excluded and counted.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        The 0/1 (or boolean) endpoint.
    strata : str
        The stratifying column.
    arm, treatment, control : str
        The arm column and its two levels (see :func:`coachstats.compare.prepare.prepare`).
    measure : {"OR", "RR", "RD"}
        The common effect reported.
    correct : bool
        Continuity correction of the CMH test (R's default).
    conf_level : float
        Confidence level.

    Returns
    -------
    ComparisonResult
        ``statistic`` is the CMH chi-square (df 1); ``extra`` holds the
        number of strata and, for the odds ratio, Tarone's test of equal odds
        ratios across strata.

    Raises
    ------
    AnalysisError
        A stratum with fewer than 2 patients, or an undefined ratio.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "arm": ["coaching"] * 50 + ["usual_care"] * 50 + ["coaching"] * 40 + ["usual_care"] * 40,
    ...     "goal": [1] * 20 + [0] * 30 + [1] * 12 + [0] * 38 + [1] * 15 + [0] * 25 + [1] * 9 + [0] * 31,
    ...     "site": ["A"] * 100 + ["B"] * 80})
    >>> r = mantel_haenszel(df, "goal", "site")
    >>> round(r.estimate, 3), r.format_p(), r.extra["strata"]
    (2.092, '.04', 2)
    """
    check_option("measure", measure, tuple(MEASURES))
    prep = prepare(data, [outcome, strata], arm=arm, treatment=treatment, control=control)
    y = as_binary(prep.frame[outcome])
    treated = np.asarray(prep.treated, dtype=bool)
    levels = pd.unique(prep.frame[strata])
    codes = pd.Categorical(prep.frame[strata], categories=levels).codes
    cells = np.zeros((len(levels), 4))
    for idx, (arm_t, event) in enumerate(((True, 1), (True, 0), (False, 1), (False, 0))):
        np.add.at(cells[:, idx], codes[(treated == arm_t) & (y == event)], 1)
    res = pool_tables(
        *cells.T,
        measure=measure,
        conf_level=conf_level,
        correct=correct,
        labels=[str(x) for x in levels],
        outcome=outcome,
    )
    t = res.transformed
    x1, n1 = int(cells[:, 0].sum()), int(cells[:, :2].sum())
    x2, n2 = int(cells[:, 2].sum()), int(cells[:, 2:].sum())
    extra: dict[str, float | int | str] = {"strata": len(levels)}
    if measure == "OR":
        extra.update(tarone=res.tarone, tarone_df=res.tarone_df, tarone_p_value=res.tarone_p_value)
    return ComparisonResult(
        outcome=outcome,
        method=f"Mantel-Haenszel {MEASURES[measure]} stratified by {strata}; "
        f"CMH test{' with continuity correction' if correct else ''}",
        estimand=MEASURES[measure],
        estimate=t(res.estimate),
        std_error=res.std_error,
        conf_low=t(res.conf_low),
        conf_high=t(res.conf_high),
        conf_level=res.conf_level,
        statistic=res.cmh,
        statistic_name="CMH chi-square",
        df=1.0,
        p_value=res.cmh_p_value,
        arms=(
            ArmSummary(prep.labels[0], n1, events=x1, value=x1 / n1 if n1 else math.nan),
            ArmSummary(prep.labels[1], n2, events=x2, value=x2 / n2 if n2 else math.nan),
        ),
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
        extra=extra,
    )

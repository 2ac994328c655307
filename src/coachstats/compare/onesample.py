r"""One-sample summaries and tests: a program's proportion or mean against a reference value.

A single-arm program (only coached patients) is compared with each published
arm as a fixed reference value :math:`p_0` or :math:`\mu_0`:

- proportions: the score test (R ``prop.test(x, n, p0, correct = FALSE)``),
  :math:`X^2 = (x - n p_0)^2 / \{n p_0 (1 - p_0)\}` on 1 df, with the Wilson
  interval (the score test rejects exactly when :math:`p_0` is outside it);
  and the exact binomial test (R ``binom.test``: the two-sided P sums the
  probabilities of every count no more likely than the observed one, with
  relative tolerance :math:`10^{-7}`) with the Clopper-Pearson interval;
- means: the one-sample t test (R ``t.test(x, mu = mu0)``),
  :math:`t = (\bar x - \mu_0)/(s/\sqrt n)` on :math:`n - 1` df, and its
  :math:`t` interval.

Without a reference value the functions return the estimate and interval only
(``p_value`` NaN).

References
----------
Wilson EB. J Am Stat Assoc 1927;22:209-212. Clopper CJ, Pearson ES. The use of
confidence or fiducial limits illustrated in the case of the binomial.
Biometrika 1934;26:404-413. Agresti A, Coull BA. Approximate is better than
"exact" for interval estimation of binomial proportions. Am Stat 1998;52:119-126.

Examples
--------
A program with 164 of 400 coached patients at goal, against the HCPC coaching
arm (46.4 %):

>>> r = one_sample_proportion(164, 400, 0.464)
>>> round(r.estimate, 3), round(r.conf_low, 3), round(r.conf_high, 3), r.format_p()
(0.41, 0.363, 0.459, '.03')
>>> one_sample_proportion(164, 400, 0.464, test="exact").format_p()
'.03'
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
import pandas as pd

from coachstats.compare.dist import chi2_sf, scipy_stats, t_ppf, t_sf
from coachstats.compare.means import as_numeric
from coachstats.compare.prepare import prepare
from coachstats.compare.proportions import as_binary, check_conf_level, wilson_interval
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "clopper_pearson",
    "one_sample",
    "one_sample_mean",
    "one_sample_proportion",
]

ProportionTest = Literal["score", "exact"]
Kind = Literal["auto", "proportion", "mean"]


def clopper_pearson(x: int, n: int, *, conf_level: float = 0.95) -> tuple[float, float]:
    r"""Exact (Clopper-Pearson) interval of a binomial proportion, as R ``binom.test``.

    :math:`[B(\alpha/2; x, n - x + 1),\; B(1 - \alpha/2; x + 1, n - x)]` with
    :math:`B(q; a, b)` the beta quantile (0 when :math:`x = 0`, 1 when :math:`x = n`).

    Examples
    --------
    >>> [round(v, 4) for v in clopper_pearson(7, 20)]
    [0.1539, 0.5922]
    """
    stats = scipy_stats()
    check_conf_level(conf_level)
    _check_counts(x, n)
    a = (1.0 - conf_level) / 2.0
    lo = float(stats.beta.ppf(a, x, n - x + 1)) if x > 0 else 0.0
    hi = float(stats.beta.ppf(1.0 - a, x + 1, n - x)) if x < n else 1.0
    return lo, hi


def _check_counts(x: int, n: int) -> None:
    if not (float(x) == int(x) and float(n) == int(n) and 0 <= int(x) <= int(n) and int(n) >= 1):
        raise AnalysisError(
            f"counts must be whole numbers with 0 <= events <= n and n >= 1; got {x} of {n}"
        )


def _check_reference(p0: float) -> None:
    if not (math.isfinite(p0) and 0.0 < p0 < 1.0):
        raise AnalysisError(f"the reference proportion must be strictly between 0 and 1, got {p0}")


def one_sample_proportion(
    x: int,
    n: int,
    p0: float | None = None,
    *,
    test: ProportionTest = "score",
    conf_level: float = 0.95,
    label: str = "program",
    outcome: str = "outcome",
) -> ComparisonResult:
    r"""A proportion :math:`x/n` with its interval, tested against :math:`p_0`.

    Parameters
    ----------
    x, n : int
        Events and patients.
    p0 : float, optional
        Reference proportion in (0, 1); without it no test is made.
    test : {"score", "exact"}
        ``"score"``: Wilson interval and the score (chi-square) test, as
        ``prop.test(correct = FALSE)``. ``"exact"``: Clopper-Pearson interval
        and the exact binomial test, as ``binom.test``.
    conf_level : float
        Confidence level.
    label, outcome : str
        Names carried into the result.

    Returns
    -------
    ComparisonResult
        ``estimand="proportion"``, ``estimate`` :math:`x/n`; ``extra`` holds
        ``reference`` (:math:`p_0`) and ``ci_method``.

    Examples
    --------
    >>> r = one_sample_proportion(60, 121, 0.315, test="exact")
    >>> r.method, r.format_p()
    ('Exact binomial test', '< .001')
    >>> round(one_sample_proportion(60, 121).conf_low, 4)
    0.4083
    """
    check_option("test", test, get_args(ProportionTest))
    check_conf_level(conf_level)
    _check_counts(x, n)
    x, n = int(x), int(n)
    est = x / n
    if test == "score":
        lo_a, hi_a = wilson_interval(x, n, conf_level=conf_level)
        lo, hi = float(lo_a), float(hi_a)
        ci_method = "Wilson score"
    else:
        lo, hi = clopper_pearson(x, n, conf_level=conf_level)
        ci_method = "Clopper-Pearson exact"
    stat, stat_name, df, p = math.nan, "", math.nan, math.nan
    method = f"proportion with {ci_method} interval"
    extra: dict[str, float | str] = {"ci_method": ci_method}
    if p0 is not None:
        _check_reference(float(p0))
        extra["reference"] = float(p0)
        if test == "score":
            stat = (x - n * p0) ** 2 / (n * p0 * (1.0 - p0))
            stat_name, df = "X-squared", 1.0
            p = chi2_sf(stat, 1)
            method = "One-sample score test (chi-square)"
        else:
            stat, stat_name = float(x), "number of successes"
            p = float(scipy_stats().binomtest(x, n, float(p0)).pvalue)
            method = "Exact binomial test"
    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand="proportion",
        estimate=est,
        std_error=math.sqrt(est * (1.0 - est) / n),
        conf_low=lo,
        conf_high=hi,
        conf_level=float(conf_level),
        statistic=float(stat),
        statistic_name=stat_name,
        df=df,
        p_value=min(1.0, p) if math.isfinite(p) else p,
        arms=(ArmSummary(label, n, events=x, value=est),),
        extra=extra,
    )


def one_sample_mean(
    mean: float,
    sd: float,
    n: int,
    mu0: float | None = None,
    *,
    conf_level: float = 0.95,
    label: str = "program",
    outcome: str = "outcome",
) -> ComparisonResult:
    r"""A mean with its :math:`t` interval, tested against :math:`\mu_0` (one-sample t test).

    :math:`SE = s/\sqrt n`, :math:`t = (\bar x - \mu_0)/SE` on :math:`n - 1`
    df, interval :math:`\bar x \pm t_{n-1, 1-\alpha/2} SE` (R ``t.test(x, mu = mu0)``).

    Raises
    ------
    AnalysisError
        Fewer than 2 observations, a negative or non-finite SD, or SD 0 with a
        test requested.

    Examples
    --------
    >>> r = one_sample_mean(-0.85, 2.9, 300, -1.07)
    >>> round(r.statistic, 3), r.df, r.format_p()
    (1.314, 299.0, '.19')
    """
    check_conf_level(conf_level)
    n = int(n)
    if n < 2:
        raise AnalysisError(
            f"'{outcome}': a mean needs at least 2 observations for an interval (n = {n})"
        )
    if not (math.isfinite(sd) and sd >= 0 and math.isfinite(mean)):
        raise AnalysisError(
            f"'{outcome}': mean and SD must be finite with SD >= 0 (got {mean}, {sd})"
        )
    se = sd / math.sqrt(n)
    df = float(n - 1)
    half = t_ppf((1.0 + conf_level) / 2.0, df) * se
    stat, p = math.nan, math.nan
    extra: dict[str, float | str] = {"ci_method": "t"}
    method = "mean with t interval"
    if mu0 is not None:
        if se == 0.0:
            raise AnalysisError(f"'{outcome}': every value is the same, a t test is undefined")
        stat = (mean - float(mu0)) / se
        p = 2.0 * t_sf(abs(stat), df)
        extra["reference"] = float(mu0)
        method = "One-sample t test"
    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand="mean",
        estimate=float(mean),
        std_error=se,
        conf_low=float(mean) - half,
        conf_high=float(mean) + half,
        conf_level=float(conf_level),
        statistic=float(stat),
        statistic_name="t" if mu0 is not None else "",
        df=df,
        p_value=p,
        arms=(ArmSummary(label, n, value=float(mean), sd=float(sd)),),
        extra=extra,
    )


def one_sample(
    data: pd.DataFrame,
    outcome: str,
    *,
    reference: float | None = None,
    kind: Kind = "auto",
    test: ProportionTest = "score",
    conf_level: float = 0.95,
) -> ComparisonResult:
    """One-sample summary and test of a column (complete cases, exclusions counted).

    ``kind="auto"`` treats boolean columns and 0/1 columns as proportions and
    other numeric columns as means.

    Examples
    --------
    >>> df = pd.DataFrame({"goal": [True, False, True, None, True]})
    >>> r = one_sample(df, "goal", reference=0.5)
    >>> r.estimand, r.arms[0].events, r.n, r.n_excluded
    ('proportion', 3, 4, 1)
    """
    check_option("kind", kind, get_args(Kind))
    prep = prepare(data, [outcome], arm=None)
    col = prep.frame[outcome]
    if kind == "auto":
        numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(
            col.dtype
        )
        if numeric:
            kind = "proportion" if np.isin(as_numeric(col), (0.0, 1.0)).all() else "mean"
        else:  # booleans, or Python bools in an object column (as_binary rejects text)
            kind = "proportion"
    if kind == "proportion":
        y = as_binary(col)
        result = one_sample_proportion(
            int(y.sum()), len(y), reference, test=test, conf_level=conf_level, outcome=outcome
        )
    else:
        v = as_numeric(col)
        sd = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        result = one_sample_mean(
            float(v.mean()), sd, len(v), reference, conf_level=conf_level, outcome=outcome
        )
    return result.replace(n_excluded=prep.n_excluded, excluded_reason=prep.excluded_reason)

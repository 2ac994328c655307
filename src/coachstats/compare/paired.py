r"""Paired comparisons within patients across time: McNemar and paired t.

The 24-month HCPC paper (Sharma et al., Ann Fam Med 2016) compared the coaching
arm with itself at 12 and 24 months. Each function takes one row per patient
with a ``before`` and an ``after`` column; pairs missing either value are
excluded and counted in ``n_excluded``. Filter the arm first, e.g.
``mcnemar(data[data["arm"] == "coaching"], "goal_12", "goal_24")``.

For a binary endpoint the pairs form the table

==============  ===========  ==========
before \ after  1            0
==============  ===========  ==========
1               :math:`a`    :math:`b`
0               :math:`c`    :math:`d`
==============  ===========  ==========

and only the discordant counts :math:`b` (at goal before only) and :math:`c`
(after only) carry information about the change.

Examples
--------
>>> r = mcnemar_counts(30, 10, 20, 40, labels=("month 24", "month 12"))
>>> round(r.statistic, 4), round(r.estimate, 2), r.format_p()
(2.7, 0.1, '.10')
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from coachstats.compare.dist import chi2_sf, scipy_stats
from coachstats.compare.means import as_numeric, t_result
from coachstats.compare.prepare import prepare
from coachstats.compare.proportions import as_binary, normal_quantile
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = ["mcnemar", "mcnemar_counts", "paired_t", "paired_t_arrays"]

McNemarMethod = Literal["asymptotic", "exact"]
MCNEMAR_METHODS: tuple[str, ...] = ("asymptotic", "exact")


def mcnemar_counts(
    a: int,
    b: int,
    c: int,
    d: int,
    *,
    correct: bool = True,
    method: McNemarMethod = "asymptotic",
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("after", "before"),
    outcome: str = "outcome",
) -> ComparisonResult:
    r"""McNemar's test from the paired 2x2 table.

    Parameters
    ----------
    a, b, c, d : int
        Pairs at goal before and after (1, 1), before only (1, 0), after only
        (0, 1) and at neither time (0, 0); :math:`n = a + b + c + d`.
    correct : bool
        Continuity correction (asymptotic test):
        :math:`X^2 = (|b - c| - 1)^2/(b + c)`, else :math:`(b - c)^2/(b + c)`;
        df = 1. As R ``mcnemar.test``, no correction is applied when
        :math:`b = c`.
    method : {"asymptotic", "exact"}
        ``"exact"``: the two-sided binomial test of :math:`b` out of
        :math:`b + c` trials with probability 1/2 (R ``binom.test``);
        ``statistic`` is then :math:`b`.
    conf_level : float
        Confidence level of the interval.
    labels : (str, str)
        Names of the after and before measurements.
    outcome : str
        Name used in the result.

    Returns
    -------
    ComparisonResult
        ``estimate`` is the difference of paired proportions
        :math:`\hat p_{after} - \hat p_{before} = (c - b)/n` with the Wald interval
        :math:`\pm z_{1-\alpha/2} SE`,
        :math:`SE = \sqrt{(b + c) - (c - b)^2/n}\,/\,n`.

    Raises
    ------
    AnalysisError
        Invalid counts; no discordant pairs (the test is undefined); all pairs
        discordant in one direction (the Wald SE is zero).

    References
    ----------
    McNemar Q. Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika 1947;12:153-157.
    Agresti A. Categorical Data Analysis, 3rd ed. Wiley 2013, section 11.1.

    Examples
    --------
    >>> r = mcnemar_counts(7, 2, 3, 17, method="exact")
    >>> r.statistic, r.p_value
    (2.0, 1.0)
    """
    check_option("method", method, MCNEMAR_METHODS)
    a, b, c, d = (int(v) for v in (a, b, c, d))
    if min(a, b, c, d) < 0:
        raise AnalysisError(f"'{outcome}': paired counts must be >= 0, got {(a, b, c, d)}")
    n = a + b + c + d
    if b + c == 0:
        raise AnalysisError(
            f"'{outcome}': no discordant pairs among {n}: McNemar's test is undefined "
            "(every patient has the same value before and after)"
        )
    z = normal_quantile(conf_level)
    diff = (c - b) / n
    se = math.sqrt((b + c) - (c - b) ** 2 / n) / n
    if se == 0.0:
        raise AnalysisError(
            f"'{outcome}': all {n} pairs changed in the same direction; the Wald interval "
            "of the paired difference is degenerate"
        )
    if method == "exact":
        stat, stat_name, df = float(b), "discordant pairs (before only)", math.nan
        p = float(scipy_stats().binomtest(b, b + c, 0.5).pvalue)
        name = "Exact McNemar test (binomial)"
    else:
        yates = 1.0 if correct and b != c else 0.0
        stat = (abs(b - c) - yates) ** 2 / (b + c)
        stat_name, df = "McNemar's chi-squared", 1.0
        p = float(chi2_sf(stat, 1))
        name = "McNemar's chi-square test" + (" with continuity correction" if yates else "")
    after, before = a + c, a + b
    return ComparisonResult(
        outcome=outcome,
        method=name,
        estimand="paired difference in proportions",
        estimate=diff,
        std_error=se,
        conf_low=diff - z * se,
        conf_high=diff + z * se,
        conf_level=float(conf_level),
        statistic=float(stat),
        statistic_name=stat_name,
        df=df,
        p_value=min(1.0, p),
        arms=(
            ArmSummary(str(labels[0]), n, events=int(after), value=after / n),
            ArmSummary(str(labels[1]), n, events=int(before), value=before / n),
        ),
        extra={"discordant_before_only": b, "discordant_after_only": c},
    )


def mcnemar(
    data: pd.DataFrame,
    before: str,
    after: str,
    *,
    correct: bool = True,
    method: McNemarMethod = "asymptotic",
    conf_level: float = 0.95,
) -> ComparisonResult:
    """McNemar's test of a binary endpoint measured twice on the same patients.

    Matches R ``mcnemar.test(table(before, after), correct = correct)``, or
    ``binom.test(b, b + c)`` with ``method="exact"``; the estimate is the change
    in the proportion at goal, after - before, with a Wald interval (formulas in
    :func:`mcnemar_counts`).

    Parameters
    ----------
    data : DataFrame
        One row per patient (e.g. the coaching arm only).
    before, after : str
        Binary columns (0/1 or bool) at the two times.
    correct, method, conf_level
        As in :func:`mcnemar_counts`.

    Examples
    --------
    >>> df = pd.DataFrame({"goal_12": [1, 1, 0, 0, 1, 0, 0, 1, None],
    ...                    "goal_24": [1, 0, 1, 1, 1, 1, 0, 1, 1]})
    >>> r = mcnemar(df, "goal_12", "goal_24", correct=False)
    >>> r.extra["discordant_after_only"], round(r.estimate, 3), r.n_excluded
    (3, 0.25, 1)
    """
    prep = prepare(data, [before, after], arm=None)
    y0 = as_binary(prep.frame[before])
    y1 = as_binary(prep.frame[after])
    both = int((y0 & y1).sum())
    b = int(y0.sum()) - both
    c = int(y1.sum()) - both
    result = mcnemar_counts(
        both,
        b,
        c,
        len(y0) - both - b - c,
        correct=correct,
        method=method,
        conf_level=conf_level,
        labels=(after, before),
        outcome=f"{after} vs {before}",
    )
    return result.replace(n_excluded=prep.n_excluded, excluded_reason=prep.excluded_reason)


def paired_t_arrays(
    before: ArrayLike,
    after: ArrayLike,
    *,
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("after", "before"),
    outcome: str = "outcome",
) -> ComparisonResult:
    r"""Paired t test of ``after - before`` on two aligned arrays.

    With :math:`d_i = y_{after,i} - y_{before,i}`: estimate :math:`\bar d`,
    :math:`SE = s_d/\sqrt n`, :math:`t = \bar d/SE` on :math:`n - 1` df
    (R ``t.test(after, before, paired = TRUE)``).

    Raises
    ------
    AnalysisError
        Arrays of different lengths, non-finite values, fewer than 2 pairs, or
        constant differences.

    Examples
    --------
    >>> r = paired_t_arrays([9.0, 8.5, 10.0, 7.5], [8.0, 8.0, 9.0, 7.5])
    >>> r.estimate, round(r.statistic, 4), r.df
    (-0.625, -2.6112, 3.0)
    """
    x0 = np.asarray(before, dtype=float)
    x1 = np.asarray(after, dtype=float)
    if x0.shape != x1.shape or x0.ndim != 1:
        raise AnalysisError(f"'{outcome}': before and after must be 1-d arrays of equal length")
    if not (np.isfinite(x0).all() and np.isfinite(x1).all()):
        raise AnalysisError(f"'{outcome}': values must be finite (remove missing pairs first)")
    n = len(x0)
    if n < 2:
        raise AnalysisError(f"'{outcome}': a paired t test needs at least 2 pairs, got {n}")
    d = x1 - x0
    mean = float(d.mean())
    sd = float(np.sqrt(((d - mean) ** 2).sum() / (n - 1)))
    se = sd / math.sqrt(n)
    if not se > 10 * np.finfo(float).eps * abs(mean):
        raise AnalysisError(f"'{outcome}': the paired differences are essentially constant")
    arms = tuple(
        ArmSummary(str(label), n, value=float(x.mean()), sd=float(x.std(ddof=1)))
        for label, x in zip(labels, (x1, x0), strict=True)
    )
    return t_result(
        outcome,
        method="Paired t test",
        estimand="paired mean difference",
        estimate=mean,
        std_error=se,
        df=float(n - 1),
        conf_level=conf_level,
        arms=arms,
        extra={"sd_difference": sd},
    )


def paired_t(
    data: pd.DataFrame, before: str, after: str, *, conf_level: float = 0.95
) -> ComparisonResult:
    """Paired t test of a continuous endpoint measured twice (R ``t.test(paired = TRUE)``).

    The estimate is the mean of ``after - before``; see :func:`paired_t_arrays`.
    Pairs missing either value are excluded and counted.

    Examples
    --------
    >>> df = pd.DataFrame({"hba1c_12": [9.0, 8.5, 10.0, 7.5, None],
    ...                    "hba1c_24": [8.0, 8.0, 9.0, 7.5, 8.8]})
    >>> r = paired_t(df, "hba1c_12", "hba1c_24")
    >>> r.estimate, r.n_excluded
    (-0.625, 1)
    """
    prep = prepare(data, [before, after], arm=None)
    result = paired_t_arrays(
        as_numeric(prep.frame[before]),
        as_numeric(prep.frame[after]),
        conf_level=conf_level,
        labels=(after, before),
        outcome=f"{after} vs {before}",
    )
    return result.replace(n_excluded=prep.n_excluded, excluded_reason=prep.excluded_reason)

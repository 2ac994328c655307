r"""The 2x2 table of a binary endpoint by arm: tests, effect measures and intervals.

:func:`two_proportions` compares two arms from their counts (events and sizes),
with the test and the effect measure chosen independently; the formulas are
listed in :mod:`coachstats.compare.proportions`, whose DataFrame functions
count the table and call it. The reproduce and evaluate code call it directly
with published counts. Also here: the Wilson and Newcombe intervals, the
normal quantile and Wald test shared by other comparisons, and the check that
a column is binary.

Examples
--------
The HCPC composite endpoint (../shared/published.md: 90/194 vs 61/178, Pearson
chi-square without correction, P = .017):

>>> r = two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"))
>>> round(r.statistic, 3), round(r.p_value, 4), r.format_p()
(5.657, 0.0174, '.02')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from coachstats.compare.dist import chi2_sf, norm_ppf, norm_sf, scipy_stats
from coachstats.core.errors import (
    AnalysisError,
    DataWarning,
    OptionError,
    check_conf_level,
    check_option,
)
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "DEFAULT_TEST",
    "ESTIMANDS",
    "INTERVALS",
    "INTERVAL_NAMES",
    "TESTS",
    "ZERO_CELL",
    "as_binary",
    "check_conf_level",
    "newcombe_interval",
    "normal_quantile",
    "normal_test",
    "two_proportions",
    "wilson_interval",
]

Estimand = Literal["risk difference", "relative risk", "odds ratio"]
Interval = Literal["wald", "newcombe", "woolf", "conditional"]
Test = Literal["chi-square", "z", "wald", "fisher"]
ZeroCell = Literal["haldane", "error"]
ORMethod = Literal["woolf", "conditional"]
RDInterval = Literal["wald", "newcombe"]

ESTIMANDS: tuple[str, ...] = ("risk difference", "relative risk", "odds ratio")
INTERVALS: dict[str, tuple[str, ...]] = {
    "risk difference": ("wald", "newcombe"),
    "relative risk": ("wald",),
    "odds ratio": ("woolf", "conditional"),
}
TESTS: tuple[str, ...] = ("chi-square", "z", "wald", "fisher")
ZERO_CELL: tuple[str, ...] = ("haldane", "error")
# The test that goes with each interval when ``test=None``: the one whose
# inversion gives (or underlies) that interval.
DEFAULT_TEST: dict[str, Test] = {
    "wald": "wald",
    "woolf": "wald",
    "newcombe": "z",
    "conditional": "fisher",
}
INTERVAL_NAMES: dict[str, str] = {
    "wald": "Wald",
    "woolf": "Woolf (log-scale Wald)",
    "newcombe": "Newcombe hybrid score",
    "conditional": "exact conditional (Fisher)",
}
FISHER_REL_ERR = 1.0 + 1e-7  # R's fisher.test tolerance for "as or less probable" tables
HALDANE = 0.5


# --------------------------------------------------------------------------- helpers
def normal_quantile(conf_level: float) -> float:
    """The two-sided normal critical value :math:`z_{1-\\alpha/2}` for ``conf_level``."""
    check_conf_level(conf_level)
    return float(norm_ppf((1.0 + conf_level) / 2.0))


def normal_test(estimate: float, std_error: float) -> tuple[float, float]:
    """Wald statistic :math:`z = \\hat\\theta / SE` and its two-sided normal P value."""
    z = estimate / std_error
    return z, float(2.0 * norm_sf(abs(z)))


def as_binary(values: pd.Series) -> NDArray[np.int64]:
    """Return a 0/1 integer array from a boolean or 0/1 numeric column.

    Raises :class:`AnalysisError` naming the column, the offending values and
    their rows when anything else is found (missing values must already be
    removed).
    """
    name = values.name
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool).astype(np.int64)
    if pd.api.types.is_numeric_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        bad = ~((arr == 0.0) | (arr == 1.0))
    else:  # object columns holding Python bools / numbers; strings are rejected
        bad = ~values.isin([0, 1]).to_numpy(dtype=bool)
        arr = values.where(~bad, 0).to_numpy(dtype=float) if not bad.any() else np.zeros(0)
    if bad.any():
        rows = list(values.index[bad][:10])
        vals = pd.unique(values[bad]).tolist()[:10]
        raise AnalysisError(
            f"column '{name}' must be binary (0/1 or True/False); found other values "
            f"{vals} in rows {rows}{' ...' if bad.sum() > 10 else ''}"
        )
    return arr.astype(np.int64)


def wilson_interval(
    x: ArrayLike, n: ArrayLike, *, conf_level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Wilson score interval for a binomial proportion (vectorized).

    .. math::

        \frac{x + z^2/2 \mp z\sqrt{x(n-x)/n + z^2/4}}{n + z^2}

    with :math:`z = z_{1-\alpha/2}`; Newcombe's (1998a) method 3, the interval of
    R's ``prop.test(x, n, correct = FALSE)``.

    Parameters
    ----------
    x, n : array_like
        Events and trials (``0 <= x <= n``, ``n >= 1``).
    conf_level : float
        Confidence level.

    Returns
    -------
    (lower, upper) : tuple of ndarray

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical
    inference. J Am Stat Assoc 1927;22:209-212.

    Examples
    --------
    >>> lo, hi = wilson_interval([56, 0], [70, 10])
    >>> [round(float(v), 4) for v in (*lo, *hi)]
    [0.6918, 0.0, 0.877, 0.2775]
    """
    z = normal_quantile(conf_level)
    xa = np.asarray(x, dtype=float)
    na = np.asarray(n, dtype=float)
    _check_counts_arrays(xa, na)
    center = xa + z * z / 2.0
    half = z * np.sqrt(xa * (na - xa) / na + z * z / 4.0)
    denom = na + z * z
    # At x = 0 (x = n) the lower (upper) limit is exactly 0 (1), which rounding can
    # miss by an ulp either way (1 + 2e-16, 1 - 2e-16): set exactly, and clipped as
    # R's prop.test clips its interval.
    lo = np.where(xa == 0, 0.0, np.clip((center - half) / denom, 0.0, 1.0))
    hi = np.where(xa == na, 1.0, np.clip((center + half) / denom, 0.0, 1.0))
    return lo, hi


def newcombe_interval(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, *, conf_level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Newcombe's hybrid score interval for :math:`p_1 - p_2` (vectorized).

    From the Wilson intervals :math:`(l_i, u_i)` of each proportion,

    .. math::

        L = \hat p_1 - \hat p_2 - \sqrt{(\hat p_1 - l_1)^2 + (u_2 - \hat p_2)^2},\qquad
        U = \hat p_1 - \hat p_2 + \sqrt{(u_1 - \hat p_1)^2 + (\hat p_2 - l_2)^2}.

    This is method 10 of Newcombe (1998), without continuity correction.

    References
    ----------
    Newcombe RG. Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Stat Med 1998;17:873-890.

    Examples
    --------
    Newcombe (1998), Table II, example (a): 56/70 - 48/80 gives 0.0524 to 0.3339.

    >>> lo, hi = newcombe_interval(56, 70, 48, 80)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0524, 0.3339)
    """
    l1, u1 = wilson_interval(x1, n1, conf_level=conf_level)
    l2, u2 = wilson_interval(x2, n2, conf_level=conf_level)
    p1 = np.asarray(x1, dtype=float) / np.asarray(n1, dtype=float)
    p2 = np.asarray(x2, dtype=float) / np.asarray(n2, dtype=float)
    diff = p1 - p2
    lower = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lower, upper


def _check_counts_arrays(x: NDArray[np.float64], n: NDArray[np.float64]) -> None:
    bad = ~((n >= 1) & (x >= 0) & (x <= n) & (x == np.round(x)) & (n == np.round(n)))
    if np.any(bad):
        raise AnalysisError(
            "counts must be whole numbers with 0 <= events <= n and n >= 1; "
            f"got events={x[bad].tolist()} of n={n[bad].tolist()}"
        )


# --------------------------------------------------------------------------- tests
def _pearson(table: NDArray[np.float64], correct: bool) -> tuple[float, float]:
    """Pearson X-squared of a 2x2 table as in R's ``chisq.test``; also the smallest expected count.

    ``X2 = sum((|O - E| - Y)^2 / E)`` with ``Y = min(0.5, |O - E|)`` (Yates) or 0.
    """
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    dev = np.abs(table - expected)
    yates = min(0.5, float(dev.min())) if correct else 0.0
    return float(((dev - yates) ** 2 / expected).sum()), float(expected.min())


def _pooled_z(x1: int, n1: int, x2: int, n2: int, correct: bool) -> float:
    """Two-proportion z with the pooled SE under H0 (``prop.test``'s statistic is its square)."""
    diff = x1 / n1 - x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    inv_n = 1.0 / n1 + 1.0 / n2
    se0 = math.sqrt(pooled * (1.0 - pooled) * inv_n)
    yates = min(0.5, abs(diff) / inv_n) if correct else 0.0
    return math.copysign(abs(diff) - yates * inv_n, diff) / se0


class _ConditionalOR:
    """Noncentral hypergeometric distribution of ``a`` given the 2x2 margins (R's fisher.test).

    Everything is parametrized by ``u = log(odds ratio)``.
    """

    def __init__(self, a: int, b: int, c: int, d: int) -> None:
        m, n, k = a + c, b + d, a + b  # events, non-events, treatment-arm size
        self.x = a
        self.lo = max(0, k - n)
        self.hi = min(k, m)
        self.support = np.arange(self.lo, self.hi + 1, dtype=float)
        self.logdc = scipy_stats().hypergeom.logpmf(self.support, m + n, m, k)

    def pmf(self, u: float) -> NDArray[np.float64]:
        logd = self.logdc + u * self.support
        dens = np.exp(logd - logd.max())
        return np.asarray(dens / dens.sum())

    def cdf(self, u: float) -> float:
        return float(self.pmf(u)[self.support <= self.x].sum())

    def sf(self, u: float) -> float:
        return float(self.pmf(u)[self.support >= self.x].sum())

    def mean(self, u: float) -> float:
        return float(self.support @ self.pmf(u))

    def p_value(self) -> float:
        """Two-sided P: total probability of tables no more likely than the observed one."""
        dens = self.pmf(0.0)
        observed = dens[self.x - self.lo]
        return min(1.0, float(dens[dens <= observed * FISHER_REL_ERR].sum()))

    def estimate(self) -> float:
        """Conditional MLE of the odds ratio: solves E[a; OR] = a."""
        if self.x == self.lo:
            return 0.0
        if self.x == self.hi:
            return math.inf
        return math.exp(_monotone_root(lambda u: self.mean(u) - self.x))

    def interval(self, conf_level: float) -> tuple[float, float]:
        """Exact interval: P(A >= a; lower) = alpha/2 and P(A <= a; upper) = alpha/2."""
        alpha = (1.0 - conf_level) / 2.0
        lower = 0.0 if self.x == self.lo else math.exp(_monotone_root(lambda u: self.sf(u) - alpha))
        upper = (
            math.inf
            if self.x == self.hi
            else math.exp(_monotone_root(lambda u: self.cdf(u) - alpha))
        )
        return lower, upper


def _monotone_root(f: Callable[[float], float]) -> float:
    """Root of a monotone function of ``u = log(OR)``, bracketed by doubling from [-1, 1].

    Solved to ``xtol = 1e-13`` on the log scale (R's ``uniroot`` in fisher.test
    stops at its default ``tol`` of about 1.2e-4).
    """
    a, b = -1.0, 1.0
    fa, fb = f(a), f(b)
    while fa * fb > 0.0:
        if b > 1e4:  # pragma: no cover - cannot happen for a non-degenerate table
            raise AnalysisError("could not bracket the conditional odds ratio")
        a, b = 2.0 * a, 2.0 * b
        fa, fb = f(a), f(b)
    from scipy import optimize  # imported on first use: slow to import

    return float(optimize.brentq(f, a, b, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=500))


# --------------------------------------------------------------------------- effect measures
def _risk_difference(
    x1: int, n1: int, x2: int, n2: int, ci: str, z: float, correct: bool, conf_level: float
) -> tuple[float, float, float, float]:
    """RD, its unpooled Wald SE and the interval (Wald clipped to [-1, 1] as prop.test, or Newcombe)."""
    p1, p2 = x1 / n1, x2 / n2
    diff = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if ci == "newcombe":
        lo, hi = newcombe_interval(x1, n1, x2, n2, conf_level=conf_level)
        return diff, se, float(lo), float(hi)
    if se == 0.0:
        raise AnalysisError(
            f"the Wald interval of the risk difference is degenerate ({x1}/{n1} vs {x2}/{n2}: "
            "every patient in each arm has the same outcome); use ci='newcombe'"
        )
    inv_n = 1.0 / n1 + 1.0 / n2
    yates = min(0.5, abs(diff) / inv_n) if correct else 0.0
    width = z * se + yates * inv_n
    return diff, se, max(diff - width, -1.0), min(diff + width, 1.0)


def _ratio(
    x1: int, n1: int, x2: int, n2: int, estimand: str, zero_cell: str, outcome: str
) -> tuple[float, float, bool]:
    """log RR or log OR with its Wald (Woolf) SE, applying the Haldane correction to zero cells."""
    cells = [x1, n1 - x1, x2, n2 - x2]
    needs = [x1, x2] if estimand == "relative risk" else cells
    corrected = min(needs) == 0
    if corrected:
        if zero_cell == "error":
            raise AnalysisError(
                f"{estimand} of '{outcome}' has a zero cell ({x1}/{n1} vs {x2}/{n2}); "
                "use zero_cell='haldane', ci='conditional' (odds ratio) or the risk difference"
            )
        warnings.warn(
            f"{estimand} of '{outcome}': zero cell in {x1}/{n1} vs {x2}/{n2}; "
            f"added {HALDANE} to every cell (Haldane-Anscombe correction)",
            DataWarning,
            stacklevel=2,
        )
    a, b, c, d = (float(v) + (HALDANE if corrected else 0.0) for v in cells)
    if estimand == "relative risk":
        log_est = math.log(a / (a + b)) - math.log(c / (c + d))
        se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    else:
        log_est = math.log(a) + math.log(d) - math.log(b) - math.log(c)
        se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return log_est, se, corrected


def _check_counts(x1: int, n1: int, x2: int, n2: int, outcome: str) -> tuple[int, int, int, int]:
    values = []
    for name, v in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2)):
        if isinstance(v, (bool, np.bool_)) or not float(v).is_integer():
            raise AnalysisError(f"{name}={v!r} must be a whole number of patients")
        values.append(int(v))
    x1, n1, x2, n2 = values
    _check_counts_arrays(np.array([x1, x2], dtype=float), np.array([n1, n2], dtype=float))
    if x1 + x2 == 0 or x1 + x2 == n1 + n2:
        what = "zero events" if x1 + x2 == 0 else "only events"
        raise AnalysisError(
            f"'{outcome}' has {what} in both arms ({x1}/{n1} vs {x2}/{n2}): "
            "the arms cannot be compared"
        )
    return x1, n1, x2, n2


def two_proportions(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    test: Test = "chi-square",
    correct: bool = False,
    estimand: Estimand = "risk difference",
    ci: Interval | None = None,
    conf_level: float = 0.95,
    zero_cell: ZeroCell = "haldane",
    labels: tuple[str, str] = ("treatment", "control"),
    outcome: str = "outcome",
) -> ComparisonResult:
    r"""Compare two proportions :math:`x_1/n_1` (treatment) and :math:`x_2/n_2` (control).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and patients in the treatment and the control arm.
    test : {"chi-square", "z", "wald", "fisher"}
        ``"chi-square"``: Pearson :math:`X^2 = \sum (|O-E| - Y)^2/E`, df = 1, with
        :math:`Y = \min(0.5, |O-E|)` when ``correct`` (R ``chisq.test``).
        ``"z"``: :math:`z = (\hat p_1 - \hat p_2)/\sqrt{\bar p(1-\bar p)(1/n_1+1/n_2)}`
        (pooled; :math:`z^2 = X^2`, R ``prop.test``). ``"wald"``: :math:`z` = the
        measure (RD, log RR or log OR) over its SE, matching the Wald interval.
        ``"fisher"``: Fisher's exact two-sided P (R ``fisher.test``: the total
        probability of tables with a conditional probability at most
        :math:`(1 + 10^{-7})` times that of the observed one).
    correct : bool
        Yates' continuity correction of the chi-square / z statistic; it also
        widens the Wald interval of the risk difference by
        :math:`Y(1/n_1 + 1/n_2)`, exactly as ``prop.test(correct = TRUE)``. Only
        with ``test="chi-square"`` or ``"z"``.
    estimand : {"risk difference", "relative risk", "odds ratio"}
        The effect measure reported in ``estimate`` (treatment vs control).
    ci : {"wald", "newcombe", "woolf", "conditional"} or None
        Interval of the measure. Risk difference: ``"wald"`` (default;
        :math:`\hat p_1 - \hat p_2 \pm z\sqrt{\sum \hat p_i(1-\hat p_i)/n_i}`,
        clipped to [-1, 1] as in ``prop.test``) or ``"newcombe"`` (hybrid score,
        :func:`newcombe_interval`). Relative risk: ``"wald"`` on the log scale,
        :math:`SE = \sqrt{1/x_1 - 1/n_1 + 1/x_2 - 1/n_2}`. Odds ratio:
        ``"woolf"`` (default; :math:`SE(\log OR) = \sqrt{1/a+1/b+1/c+1/d}`) or
        ``"conditional"`` (the conditional MLE with the exact interval of
        ``fisher.test``; ``estimate`` is then the conditional MLE).
    conf_level : float
        Confidence level of the interval.
    zero_cell : {"haldane", "error"}
        When a Woolf / log-RR Wald interval meets a zero cell: add 0.5 to all four
        cells (Haldane-Anscombe) and warn with :class:`DataWarning`
        (``extra["zero_cell_correction"] = 0.5``; the corrected ratio is reported),
        or raise :class:`AnalysisError`.
    labels : (str, str)
        Names of the treatment and control arms.
    outcome : str
        Name of the endpoint (used in the result and in messages).

    Returns
    -------
    ComparisonResult
        ``std_error`` is the Wald SE of the RD (also reported with Newcombe), of
        log RR or of log OR; NaN for the conditional OR, which has none.
        ``statistic`` is X-squared (``df = 1``) or z; Fisher's test has no
        statistic (NaN, as in R). ``extra`` holds ``ci_method`` and, for the
        chi-square and z tests, ``min_expected``.

    Raises
    ------
    AnalysisError
        Bad counts; zero events (or only events) in both arms; a degenerate Wald
        interval of the RD (both proportions 0 or 1); a zero cell with
        ``zero_cell="error"``.
    OptionError
        Unknown option values or an interval that does not belong to the estimand.

    Warns
    -----
    DataWarning
        An expected count below 5 with the chi-square / z test (R's
        "Chi-squared approximation may be incorrect"; consider Fisher's test),
        or a Haldane correction.

    Notes
    -----
    With ``test=None`` in the DataFrame functions the test matching the interval
    is used: Wald test with Wald/Woolf intervals, the pooled z (score) test with
    Newcombe's score-based interval, Fisher's test with the conditional OR.

    References
    ----------
    Agresti A. Categorical Data Analysis, 3rd ed. Wiley 2013, sections 2.4 and 3.1.
    Newcombe RG. Stat Med 1998;17:873-890. Woolf B. Ann Hum Genet 1955;19:251-253.
    Fisher RA. J R Stat Soc 1922;85:87-94. Haldane JBS. Ann Hum Genet 1956;20:309-311.

    Examples
    --------
    Peer coaching trial, HbA1c drop >= 1 point (60/121 vs 34/108, printed P = .005):

    >>> r = two_proportions(60, 121, 34, 108, labels=("coaching", "usual_care"))
    >>> r.format_p(), round(r.estimate, 3)
    ('.005', 0.181)
    >>> f = two_proportions(60, 121, 34, 108, test="fisher", estimand="odds ratio",
    ...                     ci="conditional")
    >>> round(f.estimate, 3), round(f.conf_low, 3), round(f.conf_high, 3)
    (2.134, 1.206, 3.816)
    """
    check_option("test", test, TESTS)
    check_option("estimand", estimand, ESTIMANDS)
    check_option("zero_cell", zero_cell, ZERO_CELL)
    allowed = INTERVALS[estimand]
    ci_name = allowed[0] if ci is None else ci
    check_option(f"ci (for the {estimand})", ci_name, allowed)
    if correct and test not in ("chi-square", "z"):
        raise OptionError(
            f"correct=True is not allowed with test={test!r}; use 'chi-square' or 'z'"
        )
    z_crit = normal_quantile(conf_level)
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2, outcome)

    extra: dict[str, float | str] = {"ci_method": INTERVAL_NAMES[ci_name]}
    needs_fisher = test == "fisher" or ci_name == "conditional"
    fisher = _ConditionalOR(x1, n1 - x1, x2, n2 - x2) if needs_fisher else None
    wald_stat: float
    if estimand == "risk difference":
        est, se, lo, hi = _risk_difference(x1, n1, x2, n2, ci_name, z_crit, correct, conf_level)
        wald_stat = est / se if se > 0 else math.nan
    elif ci_name == "conditional" and fisher is not None:
        est, se = fisher.estimate(), math.nan
        lo, hi = fisher.interval(conf_level)
        wald_stat = math.nan
    else:
        log_est, se, corrected = _ratio(x1, n1, x2, n2, estimand, zero_cell, outcome)
        est, lo, hi = (math.exp(log_est + k * z_crit * se) for k in (0.0, -1.0, 1.0))
        wald_stat = log_est / se
        if corrected:
            extra["zero_cell_correction"] = HALDANE

    df = math.nan
    if test in ("chi-square", "z"):
        table = np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=float)
        x2_stat, min_expected = _pearson(table, correct)
        extra["min_expected"] = min_expected
        if min_expected < 5:
            warnings.warn(
                f"'{outcome}': smallest expected count {min_expected:.3g} < 5, the chi-square "
                "approximation may be incorrect; consider test='fisher'",
                DataWarning,
                stacklevel=2,
            )
        if test == "chi-square":
            stat, stat_name, df = x2_stat, "X-squared", 1.0
            p = float(chi2_sf(stat, 1))
        else:
            stat, stat_name = _pooled_z(x1, n1, x2, n2, correct), "z"
            p = float(2.0 * norm_sf(abs(stat)))
        method = "Pearson chi-square" if test == "chi-square" else "Two-proportion z test"
        if correct:
            method += " with Yates' continuity correction"
    elif test == "fisher":
        fisher = fisher or _ConditionalOR(x1, n1 - x1, x2, n2 - x2)
        stat, stat_name, p = math.nan, "", fisher.p_value()
        method = "Fisher's exact test"
    else:
        if math.isnan(wald_stat):
            raise AnalysisError(
                f"the Wald test of the {estimand} is not defined here "
                f"({x1}/{n1} vs {x2}/{n2}); use test='chi-square' or 'fisher'"
            )
        stat, stat_name = wald_stat, "z"
        p = float(2.0 * norm_sf(abs(stat)))
        method = "Wald test"

    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=float(est),
        std_error=float(se),
        conf_low=float(lo),
        conf_high=float(hi),
        conf_level=float(conf_level),
        statistic=float(stat),
        statistic_name=stat_name,
        df=df,
        p_value=p,
        arms=(
            ArmSummary(str(labels[0]), n1, events=x1, value=x1 / n1),
            ArmSummary(str(labels[1]), n2, events=x2, value=x2 / n2),
        ),
        extra=extra,
    )

r"""Two-arm comparisons of a continuous endpoint: t tests and ANCOVA.

- :func:`t_test` (alias :func:`mean_difference`): Welch or pooled two-sample t
  test of a column between arms (R ``t.test(var.equal = FALSE / TRUE)``); the
  estimate is the mean difference treatment - control with its t interval.
- :func:`two_sample_t` (arrays) and :func:`t_test_from_stats` (means, SDs and
  sizes, e.g. published tables) are the lower levels the DataFrame function uses.
- :func:`ancova`: ordinary least squares of the follow-up value on the arm, the
  baseline value and covariates (R ``lm``); the estimate is the adjusted mean
  difference.

Examples
--------
Peer coaching trial, HbA1c change at 6 months: -1.07 (SD 2.8), n = 122 vs
-0.30 (SD 3.1), n = 114 (../shared/published.md):

>>> r = t_test_from_stats(-1.07, 2.8, 122, -0.30, 3.1, 114, equal_var=True)
>>> round(r.estimate, 2), round(r.p_value, 3)
(-0.77, 0.046)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from coachstats.compare.design import ArmMoments, build_design
from coachstats.compare.dist import t_ppf, t_sf
from coachstats.compare.prepare import accepts_dask, prepare
from coachstats.compare.proportions import check_conf_level
from coachstats.core.errors import AnalysisError
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "AugmentedR",
    "ancova",
    "ancova_result",
    "mean_difference",
    "ols_from_r",
    "t_test",
    "t_test_from_moments",
    "t_test_from_stats",
    "two_sample_t",
]


# --------------------------------------------------------------------------- helpers
def t_inference(
    estimate: float, std_error: float, df: float, conf_level: float
) -> tuple[float, float, float, float]:
    r"""``(t, p, conf_low, conf_high)`` for :math:`t = \hat\theta/SE` on ``df`` degrees of freedom.

    Two-sided :math:`p = 2 P(T_{df} > |t|)`; interval
    :math:`\hat\theta \pm t_{df, 1-\alpha/2} SE`.
    """
    check_conf_level(conf_level)
    if std_error == 0.0:
        raise AnalysisError(
            "standard error is zero (no variation in the outcome); a t statistic is undefined"
        )
    t = estimate / std_error
    p = float(2.0 * t_sf(abs(t), df))
    half = float(t_ppf((1.0 + conf_level) / 2.0, df)) * std_error
    return t, p, estimate - half, estimate + half


def t_result(
    outcome: str,
    *,
    method: str,
    estimand: str,
    estimate: float,
    std_error: float,
    df: float,
    conf_level: float,
    arms: tuple[ArmSummary, ...],
    adjusted_for: tuple[str, ...] = (),
    n_excluded: int = 0,
    excluded_reason: str = "",
    extra: dict[str, float] | None = None,
) -> ComparisonResult:
    """A :class:`ComparisonResult` with the t test and interval of :func:`t_inference`."""
    t, p, lo, hi = t_inference(estimate, std_error, df, conf_level)
    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=estimate,
        std_error=std_error,
        conf_low=lo,
        conf_high=hi,
        conf_level=float(conf_level),
        statistic=t,
        statistic_name="t",
        df=df,
        p_value=p,
        arms=arms,
        adjusted_for=adjusted_for,
        n_excluded=n_excluded,
        excluded_reason=excluded_reason,
        extra={} if extra is None else extra,
    )


def as_numeric(values: pd.Series) -> NDArray[np.float64]:
    """Float array of a numeric column; :class:`AnalysisError` for text or infinite values."""
    if not (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        raise AnalysisError(
            f"column '{values.name}' must be numeric; it has dtype {values.dtype} "
            f"(e.g. {list(values.head(3))})"
        )
    arr = values.to_numpy(dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise AnalysisError(
            f"column '{values.name}' has infinite values in rows {list(values.index[bad][:10])}"
        )
    return arr


def _mean_sd(x: NDArray[np.float64]) -> tuple[float, float]:
    mean = float(x.mean())
    sd = float(np.sqrt(((x - mean) ** 2).sum() / (len(x) - 1))) if len(x) > 1 else math.nan
    return mean, sd


# --------------------------------------------------------------------------- t tests
def t_test_from_stats(
    m1: float,
    sd1: float,
    n1: int,
    m2: float,
    sd2: float,
    n2: int,
    *,
    equal_var: bool = False,
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("treatment", "control"),
    outcome: str = "outcome",
) -> ComparisonResult:
    r"""Two-sample t test from each arm's mean, SD and size.

    Welch (``equal_var=False``):
    :math:`SE = \sqrt{s_1^2/n_1 + s_2^2/n_2}`, Welch-Satterthwaite
    :math:`df = SE^4 / \{(s_1^2/n_1)^2/(n_1-1) + (s_2^2/n_2)^2/(n_2-1)\}`.
    Pooled: :math:`s_p^2 = \{(n_1-1)s_1^2 + (n_2-1)s_2^2\}/(n_1+n_2-2)`,
    :math:`SE = s_p\sqrt{1/n_1 + 1/n_2}`, :math:`df = n_1 + n_2 - 2`.
    Estimate :math:`\bar y_1 - \bar y_2`, :math:`t = (\bar y_1 - \bar y_2)/SE`,
    two-sided P and :math:`t_{df,1-\alpha/2}` interval (R ``t.test``).

    Raises
    ------
    AnalysisError
        An arm with fewer than 2 patients (Welch; pooled needs ``n1 + n2 >= 3``),
        a negative SD, or a zero standard error (constant data).

    References
    ----------
    Welch BL. The generalization of "Student's" problem when several different
    population variances are involved. Biometrika 1947;34:28-35.

    Examples
    --------
    >>> r = t_test_from_stats(2.44, 0.9, 130, 3.06, 1.1, 139)
    >>> r.method, round(r.df, 1), r.format_p()
    ('Welch two-sample t test', 262.4, '< .001')
    """
    n1, n2 = int(n1), int(n2)
    if sd1 < 0 or sd2 < 0 or not (math.isfinite(sd1) and math.isfinite(sd2)):
        raise AnalysisError(f"'{outcome}': SDs must be finite and >= 0, got {sd1} and {sd2}")
    min_n = (1, 3) if equal_var else (2, 4)
    if min(n1, n2) < min_n[0] or n1 + n2 < min_n[1]:
        raise AnalysisError(
            f"'{outcome}': not enough observations for the "
            f"{'pooled' if equal_var else 'Welch'} t test (n = {n1} and {n2})"
        )
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    if equal_var:
        pooled = ((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2)
        se = math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
        df = float(n1 + n2 - 2)
        method = "Two-sample t test (pooled variance)"
    else:
        se = math.sqrt(v1 + v2)
        df = se**4 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) if se > 0 else math.nan
        method = "Welch two-sample t test"
    diff = m1 - m2
    if not se > 10 * np.finfo(float).eps * max(abs(m1), abs(m2)):
        raise AnalysisError(f"'{outcome}': the data are essentially constant (standard error 0)")
    return t_result(
        outcome,
        method=method,
        estimand="mean difference",
        estimate=float(diff),
        std_error=se,
        df=df,
        conf_level=conf_level,
        arms=(
            ArmSummary(str(labels[0]), n1, value=float(m1), sd=float(sd1)),
            ArmSummary(str(labels[1]), n2, value=float(m2), sd=float(sd2)),
        ),
    )


def two_sample_t(
    x1: ArrayLike,
    x2: ArrayLike,
    *,
    equal_var: bool = False,
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("treatment", "control"),
    outcome: str = "outcome",
) -> ComparisonResult:
    """Two-sample t test on two arrays (treatment, control); see :func:`t_test_from_stats`.

    Examples
    --------
    >>> r = two_sample_t([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0], equal_var=True)
    >>> r.estimate, round(r.statistic, 4), r.df
    (-1.5, -1.218, 5.0)
    """
    a = np.asarray(x1, dtype=float)
    b = np.asarray(x2, dtype=float)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise AnalysisError(f"'{outcome}': values must be finite (remove missing values first)")
    m1, s1 = _mean_sd(a) if len(a) else (math.nan, math.nan)
    m2, s2 = _mean_sd(b) if len(b) else (math.nan, math.nan)
    return t_test_from_moments(
        (m1, s1, len(a)),
        (m2, s2, len(b)),
        equal_var=equal_var,
        conf_level=conf_level,
        labels=labels,
        outcome=outcome,
    )


def t_test_from_moments(
    arm1: tuple[float, float, int],
    arm2: tuple[float, float, int],
    *,
    equal_var: bool = False,
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("treatment", "control"),
    outcome: str = "outcome",
) -> ComparisonResult:
    """:func:`t_test_from_stats` on ``(mean, sd, n)`` per arm, where an arm of one has SD NaN.

    A single observation has no SD: the pooled test treats its spread as 0
    and the arm summary reports NaN (as R's ``sd`` of one value).

    Examples
    --------
    >>> r = t_test_from_moments((2.5, 1.2909944487358056, 4), (4.0, 2.0, 3), equal_var=True)
    >>> r.estimate, round(r.statistic, 4)
    (-1.5, -1.218)
    """
    (m1, s1, n1), (m2, s2, n2) = arm1, arm2
    if n1 == 0 or n2 == 0:
        raise AnalysisError(f"'{outcome}': an arm has no observations (n = {n1}, {n2})")
    sd1 = 0.0 if math.isnan(s1) else s1  # one observation: no spread (pooled test only)
    sd2 = 0.0 if math.isnan(s2) else s2
    result = t_test_from_stats(
        m1,
        sd1,
        n1,
        m2,
        sd2,
        n2,
        equal_var=equal_var,
        conf_level=conf_level,
        labels=labels,
        outcome=outcome,
    )
    if math.isnan(s1) or math.isnan(s2):  # a single observation has no SD: report it as such
        arms = tuple(replace(a, sd=s) for a, s in zip(result.arms, (s1, s2), strict=True))
        result = result.replace(arms=arms)
    return result


@accepts_dask("t_test")
def t_test(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    conf_level: float = 0.95,
    equal_var: bool = False,
) -> ComparisonResult:
    r"""Welch (default) or pooled two-sample t test of ``outcome`` between arms.

    The estimate is the mean difference treatment - control with its t interval
    (formulas in :func:`t_test_from_stats`); it matches R
    ``t.test(y[treat], y[control], var.equal = equal_var)``. Rows missing the
    outcome or the arm are excluded and counted in ``n_excluded``. Typical use:
    change scores (``hba1c_change``) or follow-up values.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        Numeric column.
    arm, treatment, control : str
        Arm column and labels (treatment defaults to ``"coaching"``).
    conf_level : float
        Confidence level.
    equal_var : bool
        Pooled-variance (Student) test instead of Welch's.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 3,
    ...                    "change": [-2.0, -1.0, 0.0, -1.0, 0.0, 1.0, None]})
    >>> r = t_test(df, "change")
    >>> r.estimate, r.n_excluded, r.excluded_reason
    (-1.5, 1, 'missing change (1)')
    """
    prep = prepare(data, [outcome], arm=arm, treatment=treatment, control=control)
    y = as_numeric(prep.frame[outcome])
    result = two_sample_t(
        y[prep.treated],
        y[~prep.treated],
        equal_var=equal_var,
        conf_level=conf_level,
        labels=prep.labels,
        outcome=outcome,
    )
    return result.replace(n_excluded=prep.n_excluded, excluded_reason=prep.excluded_reason)


mean_difference = t_test
"""Alias of :func:`t_test`: the mean difference (treatment - control) with its t interval."""


# --------------------------------------------------------------------------- ANCOVA
def ols(
    X: NDArray[np.float64], y: NDArray[np.float64], names: Sequence[str] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
    r"""Least squares by Householder QR: ``(beta, vcov, sigma, df_resid)``.

    The triangular factor of the augmented matrix :math:`[X \mid y] = QR` holds
    everything (:math:`Q` is never formed): with :math:`R_{11}` its leading
    :math:`p \times p` block, :math:`r = R_{1:p,\,p+1}` and
    :math:`\rho = R_{p+1,\,p+1}`,
    :math:`\hat\beta = R_{11}^{-1} r`, :math:`RSS = \rho^2`,
    :math:`\hat\sigma^2 = RSS/(n - p)` and
    :math:`\widehat{V}(\hat\beta) = \hat\sigma^2 (R_{11}^\top R_{11})^{-1}`,
    the algorithm of R's ``lm`` (Householder QR).

    Raises
    ------
    AnalysisError
        Too few rows, or columns that are collinear (named when ``names`` given).

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> beta, vcov, sigma, df = ols(X, np.array([1.0, 3.0, 4.0, 7.0]))
    >>> [round(float(b), 2) for b in beta], df
    ([0.9, 1.9], 2.0)
    """
    n, p = X.shape
    labels = list(names) if names is not None else [f"x{j}" for j in range(p)]
    if n <= p:
        raise AnalysisError(f"{n} complete rows are too few to estimate {p} coefficients {labels}")
    return ols_from_r(AugmentedR.of(X, y).r, n, labels)


@dataclass(frozen=True)
class AugmentedR:
    r"""The triangular factor :math:`R` of :math:`[X \mid y] = QR`, mergeable over chunks of rows.

    ``a + b`` is the :math:`R` factor of the rows of both (the QR of the two
    stacked factors, as in TSQR), so streamed or distributed rows give the
    :math:`R` of the whole data (up to the signs of its rows, which
    :func:`ols_from_r` does not depend on).
    """

    r: NDArray[np.float64]
    nobs: int

    @classmethod
    def of(cls, X: NDArray[np.float64], y: NDArray[np.float64]) -> AugmentedR:
        """:math:`R` of one chunk (or of all rows)."""
        aug = np.column_stack([X, y])
        return cls(np.asarray(np.linalg.qr(aug, mode="r")), len(y))

    def __add__(self, other: AugmentedR) -> AugmentedR:
        stacked = np.vstack([self.r, other.r])
        return AugmentedR(np.asarray(np.linalg.qr(stacked, mode="r")), self.nobs + other.nobs)


def ols_from_r(
    r_aug: NDArray[np.float64], n: int, names: Sequence[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
    r""":func:`ols` from the triangular factor of :math:`[X \mid y]` and the number of rows."""
    labels = list(names)
    p = len(labels)
    r = r_aug[:p, :p]
    diag = np.abs(np.diag(r))
    tol = max(n, p) * np.finfo(float).eps * diag.max()
    if (diag <= tol).any():
        which = [labels[j] for j in np.flatnonzero(diag <= tol)]
        raise AnalysisError(
            f"the model matrix is rank deficient: {which} collinear with earlier columns "
            f"(e.g. a covariate constant within the analysed rows or identical to the arm)"
        )
    beta: NDArray[np.float64] = np.linalg.solve(r, r_aug[:p, p]).astype(np.float64)
    df = float(n - p)
    sigma = abs(float(r_aug[p, p])) / math.sqrt(df)
    r_inv = np.linalg.solve(r, np.eye(p))
    vcov = sigma**2 * (r_inv @ r_inv.T)
    return beta, vcov, sigma, df


@accepts_dask("ancova")
def ancova(
    data: pd.DataFrame,
    outcome: str,
    baseline: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    covariates: Sequence[str] = (),
    conf_level: float = 0.95,
) -> ComparisonResult:
    r"""ANCOVA: follow-up ~ arm + baseline + covariates by OLS (R ``lm``).

    .. math::

        y_i = \beta_0 + \tau\,T_i + \gamma\,y_{0i} + x_i^\top\delta + \varepsilon_i,

    with :math:`T_i = 1` in the treatment arm. The estimate is :math:`\hat\tau`,
    the adjusted mean difference, with :math:`t = \hat\tau/SE`,
    :math:`df = n - p` and a t interval. The model matrix comes from
    :func:`coachstats.compare.design.build_design`: numeric and boolean
    covariates enter linearly; text and categorical ones are dummy-coded against
    a reference level, the first category of a pandas ``Categorical``, else the
    first level in sorted order (as R's ``factor()`` for ASCII labels); a
    constant or collinear covariate is dropped with a ``DataWarning`` (R's ``lm``
    reports NA for it). Rows missing any used column are excluded and counted.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        Follow-up value (e.g. ``"hba1c_12"``).
    baseline : str
        Baseline value of the same measure (e.g. ``"hba1c_0"``).
    arm, treatment, control : str
        Arm column and labels.
    covariates : sequence of str
        Further adjustment columns.
    conf_level : float
        Confidence level.

    Returns
    -------
    ComparisonResult
        ``arms`` carry the unadjusted follow-up mean and SD; ``adjusted_for`` is
        ``(baseline, *covariates)``; ``extra`` has ``baseline_coef``,
        ``residual_se`` and ``r_squared``.

    References
    ----------
    Vickers AJ, Altman DG. Analysing controlled trials with baseline and follow
    up measurements. BMJ 2001;323:1123-1124.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 4,
    ...                    "y0": [9.0, 9.5, 10.0, 8.5, 11.0, 10.5, 9.8, 9.1],
    ...                    "y12": [8.0, 9.4, 8.8, 8.6, 9.9, 10.0, 8.7, 9.0]})
    >>> r = ancova(df, "y12", "y0")
    >>> round(r.estimate, 3), r.df, r.adjusted_for
    (-0.855, 5.0, ('y0',))
    """
    if outcome == baseline:
        raise AnalysisError(f"outcome and baseline are the same column '{outcome}'")
    covs = list(dict.fromkeys(covariates))
    clash = [c for c in covs if c in (outcome, baseline, arm)]
    if clash:
        raise AnalysisError(f"covariates {clash} repeat the outcome, baseline or arm column")
    check_conf_level(conf_level)
    prep = prepare(data, [outcome, baseline, *covs], arm=arm, treatment=treatment, control=control)
    y = as_numeric(prep.frame[outcome])
    as_numeric(prep.frame[baseline])  # the baseline must be numeric, not a factor
    design = build_design(
        prep.frame, prep.treated, [baseline, *covs], arm_name=arm, treatment=prep.labels[0]
    )
    if baseline not in design.names:
        raise AnalysisError(
            f"baseline column '{baseline}' is constant or collinear with the covariates "
            f"in the analysed rows ({', '.join(design.dropped)}); use a t test instead"
        )
    X, names = design.with_intercept()
    beta, vcov, sigma, df = ols(X, y, names)
    return ancova_result(
        (beta, vcov, sigma, df),
        names,
        ArmMoments.of(y, prep.treated),
        prep.labels,
        outcome=outcome,
        baseline=baseline,
        covariates=covs,
        conf_level=conf_level,
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
    )


def ancova_result(
    fit: tuple[NDArray[np.float64], NDArray[np.float64], float, float],
    names: Sequence[str],
    moments: ArmMoments,
    labels: tuple[str, str],
    *,
    outcome: str,
    baseline: str,
    covariates: Sequence[str],
    conf_level: float,
    n_excluded: int,
    excluded_reason: str,
) -> ComparisonResult:
    """The result of :func:`ancova` from the OLS fit ``(beta, vcov, sigma, df)`` of :func:`ols`.

    ``moments`` are the per-arm moments of the outcome (arm summaries and the
    total sum of squares of the R-squared); shared with the streamed fits.
    """
    beta, vcov, sigma, df = fit
    if sigma == 0.0:
        raise AnalysisError(f"'{outcome}' is fitted exactly by the model: no residual variance")
    se = math.sqrt(float(vcov[1, 1]))
    resid_ss = sigma**2 * df
    total_ss = moments.total_m2()
    return t_result(
        outcome,
        method="ANCOVA (OLS)",
        estimand="adjusted mean difference",
        estimate=float(beta[1]),
        std_error=se,
        df=df,
        conf_level=conf_level,
        arms=moments.summaries(labels, binary=False),
        adjusted_for=(baseline, *covariates),
        n_excluded=n_excluded,
        excluded_reason=excluded_reason,
        extra={
            "baseline_coef": float(beta[list(names).index(baseline)]),
            "residual_se": sigma,
            "r_squared": 1.0 - resid_ss / total_ss,
        },
    )

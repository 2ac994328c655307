r"""Inference on linear functionals of a fitted model: coefficients, Wald tests, adjusted means.

Every model of :mod:`coachstats.compare.models` has slopes :math:`\beta` (one
per column of the design) and absorbed intercepts :math:`\alpha` (one, the
intercept, or one per fixed-effect group). :class:`Functionals` holds them with
the covariance of any set of linear functionals
:math:`G_\beta\hat\beta + G_\alpha\hat\alpha` and the degrees of freedom of
one (None for a normal reference), whatever the fit: model-based, CR1 or CR2
(:func:`regression_functionals`), the robust sandwich of GEE or the
Satterthwaite df of a mixed model (:func:`vector_functionals`). From it:

- :func:`coefficient_table`: every coefficient with its SE, test and interval
  (``broom::tidy``);
- :func:`wald_test`: the joint test of several coefficients (here the arm's
  interactions), :math:`Q = (G\hat\theta)^\top (G V G^\top)^{-1} G\hat\theta`,
  referred to :math:`\chi^2_q`, or :math:`F = Q/q` on the denominator df that
  ``lmerTest`` gives a q-df contrast (its ``contestMD``: the Satterthwaite df
  :math:`\nu_m` of the :math:`q` eigen-contrasts combined as
  :math:`2E/(E - q)`, :math:`E = \sum_m \nu_m/(\nu_m - 2)`; for OLS every
  :math:`\nu_m = n - k`, and this is the usual F test of ``anova``);
- :func:`marginal_output`: the adjusted mean of each arm, the average of the
  predictions with every analysed patient set to that arm (g-computation),
  their difference and, for a binary outcome, their ratio, with delta-method
  SEs (covariates treated as fixed, as ``marginaleffects`` does).

Examples
--------
>>> F = vector_functionals(np.array([0.5, 2.0]), np.diag([0.04, 0.25]), df=None)
>>> [round(c.p_value, 4) for c in coefficient_table(F, ("(Intercept)", "x"), 0.95)]
[0.0124, 0.0001]
>>> round(wald_test(F, [0], ("x",)).statistic, 6)  # (2 / 0.5)^2
16.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from coachstats.compare.design import Design, GroupIndex
from coachstats.compare.dist import chi2_sf, f_sf, norm_ppf, norm_sf, t_ppf, t_sf
from coachstats.compare.glm import (
    MarginalSums,
    RegressionFit,
    identity_marginal_sums,
    marginal_sums,
)
from coachstats.compare.rows import ModelRows
from coachstats.compare.smallsample import ClusterCrossProducts, cr2_from_sums
from coachstats.core.coefficients import Coefficient, WaldTest
from coachstats.core.errors import AnalysisError

__all__ = [
    "Functionals",
    "coefficient_table",
    "contrast",
    "counterfactual_sums",
    "delta",
    "fstat_ddf",
    "marginal_output",
    "normal_or_t",
    "regression_functionals",
    "vector_functionals",
    "wald_test",
]

#: Covariance of the functionals ``(G_beta (m, p), G_alpha (m, C)) -> (m, m)``.
CovarianceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: Degrees of freedom of one functional ``(g_beta, g_alpha)``; None for a z test.
DfFn = Callable[[np.ndarray, np.ndarray], "float | None"]


@dataclass(frozen=True)
class Functionals:
    """Estimates :math:`(\\hat\\beta, \\hat\\alpha)` and inference on linear functionals of them.

    ``f_test``: a joint test of several functionals with df is an F test on
    ``lmerTest``'s combined denominator df (:func:`fstat_ddf`); when False
    (CR2, whose small-sample multi-df tests are another method) it is a
    chi-square test.
    """

    beta: np.ndarray
    alpha: np.ndarray
    covariance: CovarianceFn
    df: DfFn
    f_test: bool = True

    def value(self, G_beta: np.ndarray, G_alpha: np.ndarray) -> np.ndarray:
        """:math:`G_\\beta\\hat\\beta + G_\\alpha\\hat\\alpha`."""
        out: np.ndarray = G_beta @ self.beta + G_alpha @ self.alpha
        return out

    def unit(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The functional of one slope (``index >= 0``) or of the intercept (``-1``)."""
        g_beta = np.zeros(len(self.beta))
        g_alpha = np.zeros(len(self.alpha))
        if index < 0:
            g_alpha[0] = 1.0
        else:
            g_beta[index] = 1.0
        return g_beta, g_alpha


def vector_functionals(
    params: np.ndarray, vcov: np.ndarray, df: float | DfFn | None
) -> Functionals:
    """:class:`Functionals` of a model with ``params = [intercept, slopes]`` and their covariance.

    ``df``: one value for every functional, a function of ``(g_beta,
    g_alpha)``, or None (normal reference), e.g. GEE (robust covariance) or
    a mixed model (Satterthwaite df per contrast).
    """
    V = np.asarray(vcov, dtype=float)

    def covariance(G_beta: np.ndarray, G_alpha: np.ndarray) -> np.ndarray:
        L = np.column_stack([G_alpha, G_beta])
        out: np.ndarray = L @ V @ L.T
        return (out + out.T) / 2.0

    df_fn: DfFn
    if df is None or isinstance(df, (int, float)):
        value = None if df is None else float(df)

        def constant(g_beta: np.ndarray, g_alpha: np.ndarray) -> float | None:
            return value

        df_fn = constant
    else:
        df_fn = df
    return Functionals(
        np.asarray(params[1:], dtype=float), np.asarray(params[:1], dtype=float), covariance, df_fn
    )


def regression_functionals(
    fit: RegressionFit,
    *,
    clusters: GroupIndex | None = None,
    scores: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    cr2: tuple[ClusterCrossProducts, np.ndarray] | None = None,
    df: float | None = None,
) -> Functionals:
    """:class:`Functionals` of a logistic or linear fit (:class:`RegressionFit`).

    Model-based covariance, or CR1 with ``clusters`` (``scores``/``basis`` for
    a streamed fit, see :meth:`RegressionFit.functional_cov`), or CR2 with
    ``cr2 = (sums, center)`` (the per-cluster cross products of
    :func:`~coachstats.compare.smallsample.ols_cross_products` and the centre
    of their design): then every functional has its own Satterthwaite df.
    ``df``: the residual df of a t test (linear), None for z (logistic).
    """
    if cr2 is not None:
        sums, center = cr2

        def to_z(g_beta: np.ndarray, g_alpha: np.ndarray) -> np.ndarray:
            # Z = [1, X - center]: the intercept of Z is alpha + center'beta
            return np.concatenate([[g_alpha[0]], g_beta - g_alpha[0] * center])

        vcov_z = cr2_from_sums(sums, to_z(*_first_unit(fit))).vcov

        def covariance(G_beta: np.ndarray, G_alpha: np.ndarray) -> np.ndarray:
            L = np.array([to_z(gb, ga) for gb, ga in zip(G_beta, G_alpha, strict=True)])
            L = L.reshape(len(G_beta), vcov_z.shape[0])
            out: np.ndarray = L @ vcov_z @ L.T
            return (out + out.T) / 2.0

        def cr2_df(g_beta: np.ndarray, g_alpha: np.ndarray) -> float | None:
            return cr2_from_sums(sums, to_z(g_beta, g_alpha)).df

        return Functionals(fit.coef, fit.group_coef, covariance, cr2_df, f_test=False)

    def cov(G_beta: np.ndarray, G_alpha: np.ndarray) -> np.ndarray:
        return fit.functional_cov(G_beta, G_alpha, clusters, scores, basis)

    def df_fn(g_beta: np.ndarray, g_alpha: np.ndarray) -> float | None:
        return df

    return Functionals(fit.coef, fit.group_coef, cov, df_fn)


def _first_unit(fit: RegressionFit) -> tuple[np.ndarray, np.ndarray]:
    g_beta = np.zeros(len(fit.coef))
    g_beta[0] = 1.0
    return g_beta, np.zeros(fit.groups.n_groups)


# --------------------------------------------------------------------------- tests and intervals


def normal_or_t(
    est: float, se: float, conf_level: float, df: float | None
) -> tuple[float, float, float, float]:
    """(statistic, p, lower, upper) for a z (df None) or t test on ``est``."""
    if not (math.isfinite(se) and se > 0.0):
        raise AnalysisError(f"the standard error is not positive and finite ({se!r})")
    stat = est / se
    q = 0.5 + conf_level / 2.0
    if df is None:
        p = float(2.0 * norm_sf(abs(stat)))
        crit = float(norm_ppf(q))
    else:
        p = float(2.0 * t_sf(abs(stat), df))
        crit = float(t_ppf(q, df))
    return float(stat), p, est - crit * se, est + crit * se


def _row(
    term: str, est: float, se: float, df: float | None, conf_level: float, *, ratio: bool = False
) -> Coefficient:
    """A :class:`Coefficient` with its z or t test and interval (:func:`normal_or_t`).

    With ``ratio``, ``est`` is a log ratio: the estimate and interval are
    exponentiated and ``std_error`` stays on the log scale. A SE that is not
    positive and finite gives NaN test and interval.
    """
    nan = math.nan
    if not (math.isfinite(se) and se > 0.0):
        value = math.exp(est) if ratio else est
        return Coefficient(term, value, se, nan, nan if df is None else df, nan, nan, nan)
    stat, p, lo, hi = normal_or_t(est, se, conf_level, df)
    if ratio:
        est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
    return Coefficient(
        term, float(est), float(se), stat, nan if df is None else float(df), p, lo, hi
    )


def delta(
    F: Functionals,
    term: str,
    est: float,
    g_beta: np.ndarray,
    g_alpha: np.ndarray,
    conf_level: float,
    *,
    ratio: bool = False,
) -> Coefficient:
    """``est`` with the delta-method SE of its gradient ``(g_beta, g_alpha)``, test and interval.

    ``ratio``: ``est`` is a log ratio (exponentiated, see :func:`_row`).
    """
    var = float(F.covariance(g_beta[None, :], g_alpha[None, :])[0, 0])
    se = math.sqrt(var) if var > 0.0 else math.nan
    return _row(term, est, se, F.df(g_beta, g_alpha), conf_level, ratio=ratio)


def contrast(
    F: Functionals, term: str, g_beta: np.ndarray, g_alpha: np.ndarray, conf_level: float
) -> Coefficient:
    """The linear functional ``(g_beta, g_alpha)`` with its test and interval."""
    est = float(F.value(g_beta[None, :], g_alpha[None, :])[0])
    return delta(F, term, est, g_beta, g_alpha, conf_level)


def coefficient_table(
    F: Functionals, names: Sequence[str], conf_level: float
) -> tuple[Coefficient, ...]:
    """Every coefficient: the intercept first when there is one (``names[0]``), then the slopes.

    ``names`` has ``len(beta)`` entries, or one more led by the intercept's
    name when the model has a single intercept (no fixed effects).
    """
    intercept = len(names) == len(F.beta) + 1
    indices = ([-1] if intercept else []) + list(range(len(F.beta)))
    units = [F.unit(j) for j in indices]
    G_beta = np.array([u[0] for u in units]).reshape(len(units), len(F.beta))
    G_alpha = np.array([u[1] for u in units]).reshape(len(units), len(F.alpha))
    est = F.value(G_beta, G_alpha)
    var = np.diag(F.covariance(G_beta, G_alpha))
    rows = []
    for j, name in enumerate(names):
        se = math.sqrt(var[j]) if var[j] > 0.0 else math.nan
        rows.append(_row(name, float(est[j]), se, F.df(G_beta[j], G_alpha[j]), conf_level))
    return tuple(rows)


def fstat_ddf(nu: Sequence[float], tol: float = 1e-8) -> float:
    """Denominator df of a q-df F test from the df of its eigen-contrasts (``lmerTest``).

    ``lmerTest:::get_Fstat_ddf``: one df is returned as is, equal ones as
    their mean, otherwise :math:`2E/(E - q)` with :math:`E = \\sum \\nu_m/(\\nu_m - 2)`
    (2 when some :math:`\\nu_m \\le 2`).

    Examples
    --------
    >>> fstat_ddf([20.0, 20.0]), round(fstat_ddf([10.0, 30.0]), 4)
    (20.0, 14.4444)
    """
    values = np.asarray(nu, dtype=float)
    if len(values) == 1:
        return float(values[0])
    if np.all(np.abs(np.diff(values)) < tol):
        return float(values.mean())
    if np.any(values <= 2.0):
        return 2.0
    E = float(np.sum(values / (values - 2.0)))
    if len(values) >= E:
        raise AnalysisError("the denominator df of the F test is infinite")
    return 2.0 * E / (E - len(values))


def wald_test(F: Functionals, columns: Sequence[int], terms: Sequence[str]) -> WaldTest:
    """Joint Wald test that the slopes ``columns`` are all 0 (see the module docstring).

    One coefficient: the square of its z or t statistic, same P. Several: a
    chi-square on ``q`` df for z-based models (and CR2), an F on ``(q, ddf)``
    otherwise.
    """
    q = len(columns)
    units = [F.unit(j) for j in columns]
    G_beta = np.array([u[0] for u in units]).reshape(q, len(F.beta))
    G_alpha = np.array([u[1] for u in units]).reshape(q, len(F.alpha))
    est = F.value(G_beta, G_alpha)
    V = F.covariance(G_beta, G_alpha)
    d, P = np.linalg.eigh(V)
    if not np.all(d > 1e-14 * max(float(d.max()), 1e-300)):
        raise AnalysisError(f"the Wald test of {list(terms)} has a singular covariance")
    t = P.T @ est
    Q = float(np.sum(t * t / d))
    df0 = F.df(G_beta[0], G_alpha[0])
    if df0 is None or (q > 1 and not F.f_test):
        return WaldTest(tuple(terms), Q, "chi-square", float(q), math.nan, float(chi2_sf(Q, q)))
    nu = [F.df(P[:, m] @ G_beta, P[:, m] @ G_alpha) for m in range(q)]
    ddf = fstat_ddf([float(v) for v in nu if v is not None])
    return WaldTest(tuple(terms), Q / q, "F", float(q), ddf, float(f_sf(Q / q, q, ddf)))


# --------------------------------------------------------------------------- g-computation


def counterfactual_sums(
    design: Design,
    beta: np.ndarray,
    alpha: np.ndarray,
    groups: GroupIndex | None,
    link: str,
    rows: ModelRows | None = None,
) -> MarginalSums:
    """:class:`~coachstats.compare.glm.MarginalSums` of an in-memory design.

    Every patient is set to each arm by :meth:`Design.at_arm`, so arm
    interactions follow. Without arm interactions only the arm column
    changes: an identity link needs no pass over the rows (the prediction at
    the mean design), a logit link one pass without counterfactual copies;
    ``rows`` (the fit's, when it kept them) saves the transposed design.
    """
    g = groups if groups is not None and groups.n_groups > 1 else None
    if not design.arm_modifiers and link == "identity":
        X = design.X
        counts = g.counts if g is not None else np.array([X.shape[0]])
        means = g.means(X) if g is not None else X.mean(axis=0)[None, :]
        return identity_marginal_sums(counts, means, beta, alpha)
    if not design.arm_modifiers:
        if rows is None:
            rows = ModelRows.from_design(design.X, np.zeros(design.X.shape[0]), groups)
        return marginal_sums(rows, beta, alpha, link=link)
    rows = ModelRows.from_design(design.X, np.zeros(design.X.shape[0]), groups)
    counterfactual = (
        np.ascontiguousarray(design.at_arm(1.0).T),
        np.ascontiguousarray(design.at_arm(0.0).T),
    )
    return marginal_sums(rows, beta, alpha, link=link, counterfactual=counterfactual)


def marginal_output(
    F: Functionals,
    sums: MarginalSums,
    labels: tuple[str, str],
    *,
    binary: bool,
    conf_level: float,
) -> tuple[tuple[Coefficient, ...], tuple[Coefficient, ...]]:
    """Adjusted means by arm (treatment first) and their contrasts.

    The means are on the outcome scale with symmetric Wald intervals (the
    probability for a binary outcome, as ``avg_predictions``); the contrasts
    are the mean or risk difference and, for a binary outcome, the risk ratio
    (log-scale test and interval).
    """
    m1, gb1, ga1 = sums.mean(1)
    m0, gb0, ga0 = sums.mean(0)
    means = (
        delta(F, labels[0], m1, gb1, ga1, conf_level),
        delta(F, labels[1], m0, gb0, ga0, conf_level),
    )
    name = "risk difference" if binary else "mean difference"
    effects = [delta(F, name, m1 - m0, gb1 - gb0, ga1 - ga0, conf_level)]
    if binary:
        if not (m1 > 0.0 and m0 > 0.0):
            raise AnalysisError("the marginal risk ratio needs both adjusted risks above 0")
        log_rr = math.log(m1 / m0)
        effects.append(
            delta(
                F,
                "risk ratio",
                log_rr,
                gb1 / m1 - gb0 / m0,
                ga1 / m1 - ga0 / m0,
                conf_level,
                ratio=True,
            )
        )
    return means, tuple(effects)

r"""The random-effects engine: :math:`\tau^2` estimators, meta-regression fits and the Q-profile.

This module is the arithmetic behind :func:`coachstats.compare.meta.pool`,
the subgroup and small-study tests of :mod:`coachstats.compare.meta_checks`
and the evidence base. It follows R ``metafor::rma.uni`` (Viechtbauer 2010)
for a model

.. math::

    y_i = x_i^\top \beta + u_i + e_i,\qquad u_i \sim N(0, \tau^2),\quad
    e_i \sim N(0, v_i),

with known sampling variances :math:`v_i = s_i^2` and a :math:`k \times p`
design matrix :math:`X` (a column of ones for a plain meta-analysis). With
weights :math:`W = \mathrm{diag}\{1/(v_i + \tau^2)\}` and
:math:`P = W - W X (X^\top W X)^{-1} X^\top W`:

- **fixed** (common) effect: :math:`\tau^2 = 0`;
- **DL** (DerSimonian-Laird): :math:`\hat\tau^2 = \max\{0, (Q_E - (k-p)) / \mathrm{tr} P_0\}`,
  :math:`P_0` at :math:`\tau^2 = 0`;
- **PM** (Paule-Mandel): the :math:`\tau^2 \ge 0` at which the generalized
  :math:`Q(\tau^2) = y^\top P y` equals its expectation :math:`k - p`
  (0 when :math:`Q(0) < k - p`);
- **REML**: Fisher scoring
  :math:`\tau^2 \leftarrow \tau^2 + (y^\top P P y - \mathrm{tr} P) / \mathrm{tr}(PP)`
  from the Hedges (HE) estimate, steps halved to stay :math:`\ge 0`, and
  metafor's check that the restricted likelihood at :math:`\tau^2 = 0` is
  not higher.

Then :math:`\hat\beta = (X^\top W X)^{-1} X^\top W y` with
:math:`\mathrm{Var}\,\hat\beta = (X^\top W X)^{-1}`; under the Hartung-Knapp
(-Sidik-Jonkman) method (metafor ``test = "knha"``) that variance is
multiplied by :math:`s^2_w = \sum w_i (y_i - x_i^\top\hat\beta)^2 / (k - p)`
(not truncated at 1) and tests and intervals use :math:`t_{k-p}`.
Heterogeneity: :math:`Q_E = y^\top P_0 y` on :math:`k - p` df; the typical
sampling variance :math:`\tilde v = (k - p)/\mathrm{tr} P_0`;
:math:`I^2 = \tau^2 / (\tau^2 + \tilde v)` and :math:`H^2 = 1 + \tau^2/\tilde v`
(random effects) or :math:`I^2 = \max\{0, (Q_E - (k-p))/Q_E\}`,
:math:`H^2 = Q_E/(k-p)` (fixed effect).

The Q-profile interval of :math:`\tau^2` (Viechtbauer 2007; metafor
``confint``) solves :math:`Q(\tau^2) = \chi^2_{k-p;\,1-\alpha/2}` (lower limit)
and :math:`\chi^2_{k-p;\,\alpha/2}` (upper limit), truncated at 0.

Iterations run to :data:`TOLERANCE`, much tighter than metafor's defaults
(``threshold = 1e-5`` for REML, ``tol = 1.2e-4`` for Paule-Mandel and the
Q-profile): the reference values in tests/reference/meta.R are computed with
the same tight controls, so the estimates agree to machine precision rather
than to metafor's stopping rule.

References
----------
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in
the random-effects model. J Educ Behav Stat 2005;30:261-293.
Viechtbauer W. Confidence intervals for the amount of heterogeneity in
meta-analysis. Stat Med 2007;26:37-52.
Paule RC, Mandel J. Consensus values and weighting factors. J Res Natl Bur
Stand 1982;87:377-385.
Hartung J, Knapp G. A refined method for the meta-analysis of controlled
clinical trials with binary outcome. Stat Med 2001;20:3875-3889.
Sidik K, Jonkman JN. A simple confidence interval for meta-analysis.
Stat Med 2002;21:3153-3159.

Examples
--------
>>> import numpy as np
>>> y, v = np.array([0.1, 0.3, 0.2, -0.1]), np.array([0.0025, 0.0025, 0.01, 0.04])
>>> round(fit(y, v, method="DL").tau2, 6), round(fit(y, v, method="PM").tau2, 6)
(0.012667, 0.011598)
>>> round(fit(y, v, method="REML", test="knha").df, 1)
3.0
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from coachstats.compare.dist import chi2_isf, chi2_sf, f_sf, norm_ppf, t_ppf, t_sf
from coachstats.core.errors import AnalysisError, ConvergenceWarning, check_option

__all__ = [
    "METHODS",
    "TESTS",
    "TOLERANCE",
    "Method",
    "RmaFit",
    "Test",
    "as_design",
    "critical_value",
    "fit",
    "q_generalized",
    "q_profile",
]

Method = Literal["DL", "fixed", "REML", "PM"]
Test = Literal["z", "knha"]
METHODS: tuple[str, ...] = get_args(Method)
"""The :math:`\\tau^2` estimators: DerSimonian-Laird, none (fixed effect), REML, Paule-Mandel."""
TESTS: tuple[str, ...] = get_args(Test)
"""``"z"`` (Wald, normal) or ``"knha"`` (Hartung-Knapp-Sidik-Jonkman, :math:`t_{k-p}`)."""
TOLERANCE = 1e-12
"""Absolute convergence tolerance of the iterative :math:`\\tau^2` estimates and bounds."""
_MAX_ITER = 1000
_LL0_TOL = np.finfo(float).eps ** 0.25  # metafor's con$tol for its tau2 = 0 likelihood check
Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class RmaFit:
    """One fitted (mixed-effects) meta-regression, as R ``metafor::rma.uni`` reports it.

    ``coef``/``vcov`` are :math:`\\hat\\beta` and its covariance (already
    scaled by :math:`s^2_w` under ``test="knha"``); ``df`` is :math:`k - p`
    for ``"knha"`` and infinite for ``"z"``. ``qm`` tests every coefficient
    but the intercept (all of them without an intercept): a chi-square on
    ``qm_df[0]`` df (``"z"``) or an F on ``qm_df`` (``"knha"``, ``qm``
    divided by its numerator df), as metafor's ``QM``. ``weights`` are the
    normalized :math:`w_i = 1/(v_i + \\hat\\tau^2)`.
    """

    method: str
    test: str
    k: int
    p: int
    coef: Matrix
    vcov: Matrix
    tau2: float
    df: float
    s2w: float
    qe: float
    qe_p_value: float
    qm: float
    qm_df: tuple[int, float]
    qm_p_value: float
    i2: float
    h2: float
    vt: float
    weights: Matrix

    @property
    def std_errors(self) -> Matrix:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def statistics(self) -> Matrix:
        """Wald :math:`z` (or :math:`t` under ``"knha"``) of each coefficient."""
        return self.coef / self.std_errors

    @property
    def p_values(self) -> Matrix:
        """Two-sided P of each coefficient (normal, or :math:`t_{k-p}` under ``"knha"``)."""
        return np.array([2.0 * t_sf(abs(float(z)), self.df) for z in self.statistics])


def critical_value(conf_level: float, df: float = math.inf) -> float:
    """Two-sided critical value: :math:`z_{1-\\alpha/2}`, or :math:`t_{df;\\,1-\\alpha/2}` for finite ``df``.

    Examples
    --------
    >>> round(critical_value(0.95), 4), round(critical_value(0.95, 4), 4)
    (1.96, 2.7764)
    """
    q = (1.0 + conf_level) / 2.0
    return norm_ppf(q) if math.isinf(df) else t_ppf(q, df)


def as_design(k: int, mods: ArrayLike | None = None) -> Matrix:
    """The design matrix: a column of ones, followed by ``mods`` (a vector or k x m matrix).

    Examples
    --------
    >>> as_design(3, [0, 1, 1]).tolist()
    [[1.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
    """
    ones = np.ones((k, 1))
    if mods is None:
        return ones
    m = np.asarray(mods, dtype=float)
    m = m.reshape(k, -1) if m.ndim == 1 else m
    if m.shape[0] != k:
        raise AnalysisError(f"moderators have {m.shape[0]} rows for {k} estimates")
    return np.hstack([ones, m])


def _p_matrix(w: Matrix, x: Matrix) -> Matrix:
    wx = w[:, None] * x
    xtwx_inv = np.linalg.inv(x.T @ wx)
    return np.diag(w) - wx @ xtwx_inv @ wx.T


def q_generalized(tau2: float, y: Matrix, v: Matrix, x: Matrix) -> float:
    """The generalized :math:`Q(\\tau^2) = y^\\top P y` with weights :math:`1/(v_i + \\tau^2)`.

    Examples
    --------
    >>> import numpy as np
    >>> round(q_generalized(0.0, np.array([0.1, 0.3]), np.array([0.01, 0.01]), np.ones((2, 1))), 6)
    2.0
    """
    return _weighted_rss(1.0 / (v + tau2), y, x)


def _weighted_rss(w: Matrix, y: Matrix, x: Matrix) -> float:
    """:math:`y^\top P y` computed as the weighted residual sum of squares (no cancellation)."""
    wx = w[:, None] * x
    beta = np.linalg.solve(x.T @ wx, wx.T @ y)
    return float(w @ (y - x @ beta) ** 2)


def _bracket_root(target: float, y: Matrix, v: Matrix, x: Matrix) -> float:
    """The :math:`\\tau^2 > 0` with :math:`Q(\\tau^2) = ` ``target`` (Q decreases in tau2)."""

    def g(t: float) -> float:
        return q_generalized(t, y, v, x) - target

    hi = max(100.0, 10.0 * float(np.max(v)))
    while g(hi) > 0:
        hi *= 10.0
        if hi > 1e12:
            raise AnalysisError(
                "the heterogeneity variance tau² has no finite solution (the estimates "
                "differ far beyond their standard errors); check the data for a unit error"
            )
    from scipy import optimize  # imported on first use: slow to import

    return float(optimize.brentq(g, 0.0, hi, xtol=TOLERANCE, rtol=4 * np.finfo(float).eps))


def _reml_loglik(tau2: float, y: Matrix, v: Matrix, x: Matrix) -> float:
    w = 1.0 / (v + tau2)
    xtwx = x.T @ (w[:, None] * x)
    rss = _weighted_rss(w, y, x)
    return -0.5 * (float(np.sum(np.log(v + tau2))) + float(np.linalg.slogdet(xtwx)[1]) + rss)


def _tau2_reml(y: Matrix, v: Matrix, x: Matrix) -> float:
    k, p = x.shape
    # Hedges (HE) start, as metafor
    hat = x @ np.linalg.pinv(x)
    resid = y - hat @ y
    p_ols = np.eye(k) - hat
    tau2 = max(0.0, (float(resid @ resid) - float(np.trace(p_ols * v))) / (k - p))
    for _ in range(_MAX_ITER):
        pm = _p_matrix(1.0 / (v + tau2), x)
        py = pm @ y
        adj = (float(py @ py) - float(np.trace(pm))) / float(np.sum(pm * pm))
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 += adj
        if abs(adj) < TOLERANCE:
            break
    else:
        raise AnalysisError(
            f"REML estimation of tau² did not converge in {_MAX_ITER} Fisher scoring steps; "
            "use method='PM' or method='DL'"
        )
    if tau2 > TOLERANCE and _reml_loglik(0.0, y, v, x) - _reml_loglik(tau2, y, v, x) > _LL0_TOL:
        warnings.warn(
            "REML: the restricted likelihood is higher at tau² = 0 than at the Fisher scoring "
            f"solution {tau2:.4g}; tau² is set to 0 (as metafor)",
            ConvergenceWarning,
            stacklevel=3,
        )
        tau2 = 0.0
    return tau2


def _tau2(method: str, y: Matrix, v: Matrix, x: Matrix, qe: float, tr_p0: float) -> float:
    k, p = x.shape
    if method == "fixed":
        return 0.0
    if method == "DL":
        return max(0.0, (qe - (k - p)) / tr_p0)
    if method == "PM":
        return 0.0 if qe < k - p else _bracket_root(k - p, y, v, x)
    return _tau2_reml(y, v, x)


def fit(
    estimates: ArrayLike,
    variances: ArrayLike,
    design: ArrayLike | None = None,
    *,
    method: Method = "REML",
    test: Test = "z",
) -> RmaFit:
    """Fit the (mixed-effects) meta-regression model of the module docstring.

    Parameters
    ----------
    estimates, variances : array_like
        :math:`y_i` and the sampling variances :math:`v_i > 0` (checked by the caller).
    design : array_like, optional
        The :math:`k \\times p` design matrix (default: a column of ones);
        see :func:`as_design`.
    method : {"fixed", "DL", "REML", "PM"}
        The :math:`\\tau^2` estimator.
    test : {"z", "knha"}
        Wald tests or Hartung-Knapp-Sidik-Jonkman.

    Returns
    -------
    RmaFit

    Raises
    ------
    AnalysisError
        Fewer estimates than coefficients plus one, a design not of full
        rank, or an iteration that does not converge.
    """
    check_option("method", method, METHODS)
    check_option("test", test, TESTS)
    y = np.asarray(estimates, dtype=float).ravel()
    v = np.asarray(variances, dtype=float).ravel()
    k = int(y.size)
    x = np.ones((k, 1)) if design is None else np.asarray(design, dtype=float).reshape(k, -1)
    p = int(x.shape[1])
    if k <= p:
        raise AnalysisError(
            f"{k} estimates cannot fit {p} coefficients and a test of heterogeneity"
        )
    if np.linalg.matrix_rank(x) < p:
        raise AnalysisError(
            "the design matrix is not of full rank (a moderator level is empty or repeated)"
        )
    p0 = _p_matrix(1.0 / v, x)
    qe = max(0.0, _weighted_rss(1.0 / v, y, x))
    tr_p0 = float(np.trace(p0))
    tau2 = _tau2(method, y, v, x, qe, tr_p0)
    w = 1.0 / (v + tau2)
    wx = w[:, None] * x
    vb = np.linalg.inv(x.T @ wx)
    beta = vb @ (wx.T @ y)
    df = math.inf
    s2w = 1.0
    if test == "knha":
        rss = float(w @ (y - x @ beta) ** 2)
        s2w = rss / (k - p) if rss > np.finfo(float).eps else 0.0
        vb = s2w * vb
        df = float(k - p)
    has_intercept = bool(np.allclose(x[:, 0], 1.0))
    btt = np.arange(1 if has_intercept and p > 1 else 0, p)
    m = int(btt.size)
    qm = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    if test == "knha":
        qm /= m
        qm_p = f_sf(qm, m, k - p)
    else:
        qm_p = chi2_sf(qm, m)
    vt = (k - p) / tr_p0
    if method == "fixed":
        i2 = max(0.0, (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        i2 = tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0
    return RmaFit(
        method=method,
        test=test,
        k=k,
        p=p,
        coef=beta,
        vcov=np.asarray(vb, dtype=np.float64),
        tau2=float(tau2),
        df=df,
        s2w=float(s2w),
        qe=qe,
        qe_p_value=chi2_sf(qe, k - p),
        qm=qm,
        qm_df=(m, df),
        qm_p_value=float(qm_p),
        i2=float(i2),
        h2=float(h2),
        vt=float(vt),
        weights=w / w.sum(),
    )


def q_profile(
    estimates: ArrayLike,
    variances: ArrayLike,
    design: ArrayLike | None = None,
    *,
    conf_level: float = 0.95,
) -> tuple[float, float]:
    """Q-profile confidence limits of :math:`\\tau^2` (R ``confint.rma.uni``, ``type = "QP"``).

    Limits below 0 are set to 0: with :math:`Q(0)` below the lower quantile
    both limits are 0 (the interval is empty: the data are more homogeneous
    than expected by chance).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = q_profile([0.1, 0.3, 0.2, -0.1], [0.0025, 0.0025, 0.01, 0.04])
    >>> round(lo, 6), round(hi, 4)
    (0.000285, 0.3812)
    """
    y = np.asarray(estimates, dtype=float).ravel()
    v = np.asarray(variances, dtype=float).ravel()
    k = int(y.size)
    x = np.ones((k, 1)) if design is None else np.asarray(design, dtype=float).reshape(k, -1)
    df = k - x.shape[1]
    alpha = 1.0 - conf_level
    crit_u = chi2_isf(alpha / 2.0, df)  # Q above it: tau2 is above the lower limit
    crit_l = chi2_isf(1.0 - alpha / 2.0, df)
    q0 = q_generalized(0.0, y, v, x)
    upper = 0.0 if q0 < crit_l else _bracket_root(crit_l, y, v, x)
    lower = 0.0 if q0 < crit_u else _bracket_root(crit_u, y, v, x)
    return lower, upper

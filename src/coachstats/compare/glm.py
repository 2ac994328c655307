r"""Logistic and linear regression from sufficient statistics, with absorbed groups.

The engine of :func:`coachstats.compare.models.logistic` and
:func:`~coachstats.compare.models.linear`. Both fit

.. math:: g(\mathrm{E}[y_i]) = x_i^\top \beta + \alpha_{c(i)}

where :math:`\alpha_c` is either one intercept (one group holding every row) or
one fixed effect per clinic. The group effects are never dummy columns: the
Hessian of the full parameter vector :math:`(\beta, \alpha)` is

.. math::

    H = \begin{pmatrix} X^\top W X & B^\top \\ B & \operatorname{diag}(w_c) \end{pmatrix},
    \qquad w_c = \sum_{i \in c} w_i,\quad B_c = \sum_{i \in c} w_i x_i^\top ,

whose group block is diagonal, so Newton steps are solved through the Schur
complement :math:`S = X^\top W X - B^\top \operatorname{diag}(w_c)^{-1} B =
\tilde X^\top W \tilde X`, with :math:`\tilde X` the design minus its
:math:`W`-weighted group means (computed directly, which keeps :math:`S` well
conditioned). Per-group sums use ``np.bincount``; the cost per iteration is
:math:`O(np^2 + Cp^2)` for :math:`C` groups, with no :math:`n \times C` matrix.

- Logistic (``family="binomial"``): Newton-Raphson (= IRLS for the canonical
  logit link), step-halving on the deviance, converged when the largest step is
  below ``tol * (1 + max |theta|)``. Equals R's ``glm(family = binomial)``
  (with ``factor(clinic)`` for fixed effects).
- Linear: ordinary least squares on the within-transformed data (one solve),
  :math:`\hat\sigma^2 = \mathrm{RSS}/(n - p - C)`. Equals R's ``lm``.

The model-based covariance of :math:`\hat\beta` is :math:`\phi S^{-1}`
(:math:`\phi = 1` for logistic, :math:`\hat\sigma^2` for linear). The
cluster-robust (CR1) covariance is

.. math::

    V_{CR1} = \frac{G}{G-1}\,\frac{n-1}{n-k}\; S^{-1}
        \Big(\sum_{g=1}^{G} u_g u_g^\top\Big) S^{-1},
    \qquad u_g = \sum_{i \in g} \tilde x_i (y_i - \hat\mu_i),

with :math:`k = p + C` the number of coefficients (intercept or fixed effects
included), exactly R's ``sandwich::vcovCL(fit, cluster = ~g, type = "HC1")``
(its default ``cadjust = TRUE``) for both ``lm`` and ``glm``. The
:math:`\beta`-block of the full sandwich :math:`H^{-1} M H^{-1}` reduces to the
display above because :math:`(H^{-1} U_g)_\beta = S^{-1} \sum_{i\in g} \tilde
x_i e_i`.

References
----------
McCullagh P, Nelder JA. *Generalized Linear Models*, 2nd ed. Chapman & Hall, 1989.
Cameron AC, Miller DL. A practitioner's guide to cluster-robust inference.
J Hum Resour 2015;50:317-372.
Zeileis A, Koell S, Graham N. Various versatile variances: an object-oriented
implementation of clustered covariances in R. J Stat Softw 2020;95(1).

Examples
--------
>>> rng = np.random.default_rng(1)
>>> X = rng.normal(size=(200, 1))
>>> y = (rng.random(200) < 1 / (1 + np.exp(-0.5 - X[:, 0]))).astype(float)
>>> fit = fit_logistic(X, y)
>>> fit.coef.round(4), fit.group_coef.round(4)
(array([0.6589]), array([0.6935]))
>>> bool(np.allclose(fit.coef, fit_logistic(X[::-1], y[::-1]).coef))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
from scipy.special import expit

from coachstats.compare.design import GroupIndex
from coachstats.errors import AnalysisError, check_option

__all__ = [
    "RegressionFit",
    "cr1_adjustment",
    "fit_linear",
    "fit_logistic",
    "marginal_risk_difference",
]

Family = Literal["binomial", "gaussian"]


def _chol_inverse(S: np.ndarray, what: str) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix through its Cholesky factor."""
    try:
        factor = sla.cho_factor(S, lower=True, check_finite=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise AnalysisError(
            f"{what}: the information matrix is singular (collinear or constant regressors)"
        ) from exc
    inv: np.ndarray = sla.cho_solve(factor, np.eye(S.shape[0]))
    return (inv + inv.T) / 2.0


def cr1_adjustment(n_clusters: int, nobs: int, n_params: int) -> float:
    r"""The CR1 factor :math:`\frac{G}{G-1}\frac{n-1}{n-k}` of ``vcovCL(type = "HC1")``.

    Examples
    --------
    >>> round(cr1_adjustment(6, 300, 9), 6)
    1.23299
    """
    if n_clusters < 2:
        raise AnalysisError(
            f"cluster-robust standard errors need at least 2 clusters; found {n_clusters}"
        )
    if nobs <= n_params:
        raise AnalysisError(f"{nobs} observations for {n_params} coefficients: no residual df")
    return n_clusters / (n_clusters - 1) * (nobs - 1) / (nobs - n_params)


@dataclass(frozen=True)
class RegressionFit:
    r"""A fitted logistic or linear model with absorbed group effects.

    Attributes
    ----------
    coef : ndarray
        :math:`\hat\beta`, one per column of ``X``.
    group_coef : ndarray
        :math:`\hat\alpha_c` (the intercept when there is one group).
    bread : ndarray
        :math:`S^{-1} = (\tilde X^\top W \tilde X)^{-1}`.
    xt : ndarray
        :math:`\tilde X`, the design minus its weighted group means.
    resid : ndarray
        Response residuals :math:`y - \hat\mu` (the score residuals of both models).
    fitted : ndarray
        :math:`\hat\mu`.
    groups : GroupIndex
        The absorbed groups.
    group_weight : ndarray
        :math:`w_c`.
    cross : ndarray
        :math:`B`, ``(C, p)``.
    dispersion : float
        1 (logistic) or :math:`\hat\sigma^2` (linear).
    family : str
        ``"binomial"`` or ``"gaussian"``.
    deviance : float
        Residual deviance (logistic) or residual sum of squares (linear).
    iterations : int
        Newton iterations (0 for linear).
    """

    coef: np.ndarray
    group_coef: np.ndarray
    bread: np.ndarray
    xt: np.ndarray
    resid: np.ndarray
    fitted: np.ndarray
    groups: GroupIndex
    group_weight: np.ndarray
    cross: np.ndarray
    dispersion: float
    family: str
    deviance: float
    iterations: int

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return len(self.resid)

    @property
    def n_params(self) -> int:
        """Coefficients including the intercept or the fixed effects (``k``)."""
        return len(self.coef) + self.groups.n_groups

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom, ``n - k``."""
        return self.nobs - self.n_params

    def vcov(self) -> np.ndarray:
        r"""Model-based covariance of :math:`\hat\beta`: :math:`\phi S^{-1}`."""
        return self.dispersion * self.bread

    def solve(self, g_beta: np.ndarray, g_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`H^{-1} g` by block elimination, for :math:`g = (g_\beta, g_\alpha)`."""
        w = self.group_weight
        z_beta = self.bread @ (g_beta - self.cross.T @ (g_group / w))
        z_group = (g_group - self.cross @ z_beta) / w
        return z_beta, z_group

    def functional_var(self, g_beta: np.ndarray, g_group: np.ndarray) -> float:
        r"""Model-based variance of :math:`g_\beta^\top\hat\beta + g_\alpha^\top\hat\alpha`."""
        z_beta, z_group = self.solve(g_beta, g_group)
        return float(self.dispersion * (g_beta @ z_beta + g_group @ z_group))

    def cluster_vcov(self, clusters: GroupIndex) -> np.ndarray:
        r"""CR1 cluster-robust covariance of :math:`\hat\beta` (``vcovCL`` HC1)."""
        adj = cr1_adjustment(clusters.n_groups, self.nobs, self.n_params)
        U = clusters.sums(self.xt * self.resid[:, None]) @ self.bread
        return adj * (U.T @ U)

    def cluster_functional_var(
        self, g_beta: np.ndarray, g_group: np.ndarray, clusters: GroupIndex
    ) -> float:
        r"""CR1 variance of a linear functional of :math:`(\hat\beta, \hat\alpha)`.

        Per row, the functional's influence is :math:`(z_\beta^\top \tilde x_i +
        g_{\alpha,c(i)}/w_{c(i)})\, e_i` with :math:`z = H^{-1} g`.
        """
        adj = cr1_adjustment(clusters.n_groups, self.nobs, self.n_params)
        z_beta, _ = self.solve(g_beta, g_group)
        h = (self.xt @ z_beta + self.groups.expand(g_group / self.group_weight)) * self.resid
        u = clusters.sums(h)
        return float(adj * (u @ u))

    def group_coef_var(self, index: int = 0) -> float:
        """Model-based variance of one group effect (the intercept for ``index=0``)."""
        g_group = np.zeros(self.groups.n_groups)
        g_group[index] = 1.0
        return self.functional_var(np.zeros(len(self.coef)), g_group)


def _check_inputs(X: np.ndarray, y: np.ndarray, groups: GroupIndex | None) -> GroupIndex:
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise AnalysisError(f"X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise AnalysisError("X and y must be finite (missing values are excluded before fitting)")
    g = groups if groups is not None else GroupIndex.single(len(y))
    if len(g.codes) != len(y):
        raise AnalysisError("groups and y have different lengths")
    return g


def fit_linear(X: np.ndarray, y: np.ndarray, groups: GroupIndex | None = None) -> RegressionFit:
    r"""Ordinary least squares with absorbed group means (intercept or fixed effects).

    :math:`\hat\beta = (\tilde X^\top \tilde X)^{-1} \tilde X^\top \tilde y` with
    :math:`\tilde X, \tilde y` demeaned within groups (the within
    transformation), :math:`\hat\alpha_c = \bar y_c - \bar x_c^\top\hat\beta`,
    :math:`\hat\sigma^2 = \sum e_i^2 / (n - p - C)`.

    Parameters
    ----------
    X : ndarray
        ``(n, p)`` regressors, without the intercept.
    y : ndarray
        ``(n,)`` response.
    groups : GroupIndex, optional
        Fixed-effect groups; default one group (an intercept).

    Returns
    -------
    RegressionFit

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> fit = fit_linear(X, np.array([1.0, 3.0, 2.0, 5.0]))
    >>> fit.coef, fit.group_coef
    (array([1.1]), array([1.1]))
    """
    g = _check_inputs(X, y, groups)
    n, p = X.shape
    if n - p - g.n_groups <= 0:
        raise AnalysisError(
            f"{n} observations for {p + g.n_groups} coefficients: no residual degrees of freedom"
        )
    xbar = g.means(X)
    ybar = g.means(y)
    xt = X - g.expand(xbar)
    yt = y - g.expand(ybar)
    bread = _chol_inverse(xt.T @ xt, "linear regression")
    beta = bread @ (xt.T @ yt)
    resid = yt - xt @ beta
    rss = float(resid @ resid)
    counts = g.counts.astype(float)
    return RegressionFit(
        coef=beta,
        group_coef=ybar - xbar @ beta,
        bread=bread,
        xt=xt,
        resid=resid,
        fitted=y - resid,
        groups=g,
        group_weight=counts,
        cross=xbar * counts[:, None],
        dispersion=rss / (n - p - g.n_groups),
        family="gaussian",
        deviance=rss,
        iterations=0,
    )


def _logistic_deviance(sign: np.ndarray, eta: np.ndarray) -> float:
    """Binomial deviance; ``sign = 2y - 1``: -2 log L = 2 sum log(1 + exp(-sign * eta))."""
    return float(2.0 * np.sum(np.logaddexp(0.0, -sign * eta)))


def fit_logistic(
    X: np.ndarray,
    y: np.ndarray,
    groups: GroupIndex | None = None,
    *,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> RegressionFit:
    r"""Logistic regression by Newton-Raphson with absorbed group intercepts.

    Each step solves :math:`H \delta = \nabla\ell` by block elimination:
    :math:`\delta_\beta = S^{-1}\tilde X^\top(y - \mu)`,
    :math:`\delta_{\alpha_c} = (\sum_{i\in c}(y_i-\mu_i) - B_c\delta_\beta)/w_c`,
    with :math:`w_i = \mu_i(1-\mu_i)`; the step is halved while the deviance
    increases.

    Parameters
    ----------
    X : ndarray
        ``(n, p)`` regressors, without the intercept.
    y : ndarray
        ``(n,)`` outcome in {0, 1}.
    groups : GroupIndex, optional
        Fixed-effect groups; default one group (an intercept). Every group must
        have both outcomes (otherwise its effect diverges).
    max_iter : int
        Newton iterations before giving up.
    tol : float
        Convergence threshold on the largest step.

    Returns
    -------
    RegressionFit

    Raises
    ------
    AnalysisError
        Outcome not 0/1, a group with a single outcome value, or no
        convergence (perfect or quasi-perfect separation).

    Examples
    --------
    >>> X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    >>> fit = fit_logistic(X, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0]))
    >>> float(np.exp(fit.coef[0]))  # (2/1) / (1/2)
    4.0
    """
    g = _check_inputs(X, y, groups)
    if not np.all((y == 0.0) | (y == 1.0)):
        raise AnalysisError("the outcome of a logistic regression must be 0/1 (or boolean)")
    p = X.shape[1]
    events = g.sums(y)
    degenerate = (events == 0) | (events == g.counts)
    if np.any(degenerate):
        bad = [str(lab) for lab in g.labels[degenerate]]
        what = "the outcome" if g.n_groups == 1 else f"group(s) {bad[:10]}"
        raise AnalysisError(f"{what} has only one value (all 0 or all 1): its log-odds is infinite")
    beta = np.zeros(p)
    alpha = np.log((events + 0.5) / (g.counts - events + 0.5))
    sign = 2.0 * y - 1.0
    eta = X @ beta + g.expand(alpha)
    dev = _logistic_deviance(sign, eta)
    converged = False
    it = 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for it in range(1, max_iter + 1):  # noqa: B007 - it is reported
            mu = expit(eta)
            w = mu * (1.0 - mu)
            r = y - mu
            wc = g.sums(w)
            Xw = X * w[:, None]
            B = g.sums(Xw)
            xt = X - g.expand(B / wc[:, None])
            S = xt.T @ Xw  # = xt' W xt: the weighted group sums of xt vanish
            S = (S + S.T) / 2.0
            try:
                d_beta = sla.cho_solve(sla.cho_factor(S, lower=True), xt.T @ r)
            except (np.linalg.LinAlgError, ValueError):
                break
            d_alpha = (g.sums(r) - B @ d_beta) / wc
            if not (np.all(np.isfinite(d_beta)) and np.all(np.isfinite(d_alpha))):
                break
            step = 1.0
            for _ in range(30):
                new_eta = X @ (beta + step * d_beta) + g.expand(alpha + step * d_alpha)
                new_dev = _logistic_deviance(sign, new_eta)
                if new_dev <= dev * (1.0 + 1e-12) + 1e-12:
                    break
                step /= 2.0
            beta = beta + step * d_beta
            alpha = alpha + step * d_alpha
            eta, dev = new_eta, new_dev
            size = max(float(np.max(np.abs(d_beta), initial=0.0)), float(np.max(np.abs(d_alpha))))
            scale = 1.0 + max(
                float(np.max(np.abs(beta), initial=0.0)), float(np.max(np.abs(alpha)))
            )
            if step * size <= tol * scale:
                converged = True
                break
    if not converged:
        raise AnalysisError(
            f"logistic regression did not converge in {it} Newton iterations: the outcome "
            "is (quasi-)perfectly separated by the arm or a covariate, so some odds ratios "
            "are infinite; remove or coarsen the separating covariate"
        )
    mu = expit(eta)
    w = mu * (1.0 - mu)
    wc = g.sums(w)
    Xw = X * w[:, None]
    B = g.sums(Xw)
    xt = X - g.expand(B / wc[:, None])
    S = xt.T @ Xw
    bread = _chol_inverse((S + S.T) / 2.0, "logistic regression")
    return RegressionFit(
        coef=beta,
        group_coef=alpha,
        bread=bread,
        xt=xt,
        resid=y - mu,
        fitted=mu,
        groups=g,
        group_weight=wc,
        cross=B,
        dispersion=1.0,
        family="binomial",
        deviance=dev,
        iterations=it,
    )


def marginal_risk_difference(
    fit: RegressionFit, X: np.ndarray, arm_column: int = 0
) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Marginally standardized risk difference (g-computation) and its gradient.

    .. math::

        \widehat{RD} = \frac1n\sum_i \operatorname{expit}(\eta_i^{(1)})
                     - \frac1n\sum_i \operatorname{expit}(\eta_i^{(0)}),

    with :math:`\eta^{(a)}` the linear predictor with every patient's arm set to
    :math:`a` and the covariates as observed. The gradient
    :math:`\partial\widehat{RD}/\partial(\beta, \alpha)` feeds the delta method:
    :math:`\operatorname{Var} = g^\top V g` (covariates treated as fixed, as in
    R's ``marginaleffects::avg_comparisons``).

    Parameters
    ----------
    fit : RegressionFit
        A logistic fit (``family="binomial"``).
    X : ndarray
        The design it was fitted on.
    arm_column : int
        Column of ``X`` holding the 0/1 arm.

    Returns
    -------
    rd, g_beta, g_group : float, ndarray, ndarray

    Examples
    --------
    >>> X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    >>> fit = fit_logistic(X, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0]))
    >>> round(marginal_risk_difference(fit, X)[0], 10)  # 2/3 - 1/3
    0.3333333333
    """
    check_option("family", fit.family, ("binomial",))
    n = X.shape[0]
    b_arm = fit.coef[arm_column]
    eta = X @ fit.coef + fit.groups.expand(fit.group_coef)
    arm = X[:, arm_column]
    p1 = expit(eta + b_arm * (1.0 - arm))
    p0 = expit(eta - b_arm * arm)
    d1 = p1 * (1.0 - p1)
    d0 = p0 * (1.0 - p0)
    g_beta = (d1 - d0) @ X / n
    g_beta[arm_column] = d1.sum() / n
    g_group = fit.groups.sums(d1 - d0) / n
    rd = float(p1.mean() - p0.mean())
    if not math.isfinite(rd):  # pragma: no cover - defensive
        raise AnalysisError("the marginal risk difference is not finite")
    return rd, g_beta, g_group

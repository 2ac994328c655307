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

Every pass over the data computes sums over rows (:class:`NewtonStats`:
:math:`X^\top W X`, :math:`X^\top r`, and per group :math:`w_c`, :math:`r_c`,
:math:`B_c`), so the statistics of chunks of rows add up: the fitters are
generators of requests (:func:`newton_steps`) that run on rows in memory
(:func:`~coachstats.compare.design.run_local`), on the row groups of a Parquet
file (:mod:`coachstats.engines.stream`) or on Dask partitions, with the same formulas.
The design is shifted by per-group centres before the sums are taken (the
group effects absorb the shift), so that :math:`S` is formed without
cancellation.

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
from collections.abc import Generator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.linalg as sla
from scipy.special import expit

from coachstats.compare.design import (
    Additive,
    GroupIndex,
    ModelRows,
    Request,
    combine_rows,
    group_sums_t,
    minus_group_values,
    rows_dot,
    run_local,
    vdot,
)
from coachstats.core.errors import AnalysisError, ConvergenceError, check_option

__all__ = [
    "NewtonResult",
    "NewtonStats",
    "RegressionFit",
    "RiskDifferenceSums",
    "cluster_score_sums",
    "cr1_adjustment",
    "fit_linear",
    "fit_logistic",
    "initial_intercepts",
    "marginal_risk_difference",
    "newton_stats",
    "newton_steps",
    "regression_fit",
    "risk_difference_from_sums",
    "risk_difference_sums",
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


def _group_total(codes: np.ndarray | None, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sums of a vector (``codes=None``: one group)."""
    if codes is None or n_groups == 1:
        return np.array([values.sum()], dtype=float)
    return np.bincount(codes, weights=values, minlength=n_groups)


# --------------------------------------------------------------------------- sufficient statistics


@dataclass(frozen=True)
class NewtonStats(Additive):
    r"""The sums one Newton step needs, at one point :math:`(\beta, \alpha)`.

    With :math:`x_i` the (shifted) regressors, :math:`w_i` the working weights
    (:math:`\mu_i(1-\mu_i)` for logistic, 1 for linear) and :math:`r_i = y_i -
    \mu_i`: ``xwx`` :math:`=\sum w_i x_i x_i^\top`, ``xr`` :math:`=\sum x_i r_i`,
    and per absorbed group ``wg`` :math:`=\sum w_i`, ``rg`` :math:`=\sum r_i`,
    ``bg`` :math:`=\sum w_i x_i^\top` (:math:`B`). ``deviance`` is the binomial
    deviance or the residual sum of squares at the point. All are sums over
    rows, so the statistics of chunks add up (``+``).
    """

    nobs: int
    deviance: float
    xwx: np.ndarray
    xr: np.ndarray
    wg: np.ndarray
    rg: np.ndarray
    bg: np.ndarray

    def schur(self) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`S = X^\top W X - B^\top \operatorname{diag}(w_c)^{-1} B` and :math:`B/w_c`."""
        a = self.bg / self.wg[:, None]
        S = self.xwx - self.bg.T @ a
        return (S + S.T) / 2.0, a


def newton_stats(
    rows: ModelRows, shift: np.ndarray, beta: np.ndarray, alpha: np.ndarray, family: str
) -> NewtonStats:
    r""":class:`NewtonStats` of ``rows`` at :math:`\eta_i = \tilde x_i^\top\beta + \alpha_{c(i)}`.

    :math:`\tilde x_i = x_i - m_{c(i)}` is the design shifted by per-group
    centres ``shift`` (:math:`m`, ``(C, p)``), which the group intercepts absorb.
    For logistic regression :math:`\mu_i = \operatorname{expit}(\eta_i)`,
    :math:`w_i = \mu_i(1-\mu_i)` and the deviance is
    :math:`2\sum_i [\log(1 + e^{-|\eta_i|}) + \max(0, (1 - 2y_i)\eta_i)]`
    (``logaddexp`` without overflow).

    Examples
    --------
    >>> rows = ModelRows(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([1.0, 3.0, 2.0, 5.0]))
    >>> st = newton_stats(rows, np.array([[1.5]]), np.zeros(1), np.zeros(1), "gaussian")
    >>> st.deviance, st.xr, st.rg
    (39.0, array([5.5]), array([11.]))
    """
    XT = rows.shifted(shift)
    y = rows.y
    eta = combine_rows(beta, XT, out=rows.buffer("eta"))
    eta += rows.by_group(alpha)
    w: np.ndarray | None
    if family == "binomial":
        # In place on reused buffers: allocating fresh arrays costs as much as the arithmetic.
        t = rows.buffer("t")
        np.abs(eta, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        t += 1.0  # 1 + exp(-|eta|)
        np.log(t, out=t)
        deviance = float(t.sum())
        flip = rows.cached("1-2y", y, lambda: 1.0 - 2.0 * y)
        np.multiply(eta, flip, out=t)
        np.maximum(t, 0.0, out=t)
        deviance = 2.0 * (deviance + float(t.sum()))
        r = expit(eta, out=rows.buffer("r"))  # mu
        w = np.subtract(1.0, r, out=rows.buffer("w"))
        w *= r
        np.subtract(y, r, out=r)
        XW = np.multiply(XT, w, out=rows.buffer("xw", XT.shape[0]))
    else:
        w = None
        r = np.subtract(y, eta, out=rows.buffer("r"))
        deviance = vdot(r, r)
        XW = XT
    codes, C = rows.groups, rows.n_groups
    if w is None:
        wg = (
            np.array([float(len(y))])
            if codes is None
            else np.bincount(codes, minlength=C).astype(float)
        )
    else:
        wg = _group_total(codes, w, C)
    return NewtonStats(
        nobs=len(y),
        deviance=deviance,
        xwx=XW @ XT.T,
        xr=rows_dot(XT, r),
        wg=wg,
        rg=_group_total(codes, r, C),
        bg=group_sums_t(codes, XW, C),
    )


def initial_intercepts(
    events: np.ndarray, counts: np.ndarray, labels: np.ndarray | None = None
) -> np.ndarray:
    r"""Starting group intercepts :math:`\log\{(e_c + 1/2)/(n_c - e_c + 1/2)\}`.

    Raises
    ------
    AnalysisError
        When a group's outcome is all 0 or all 1 (its log-odds is infinite).

    Examples
    --------
    >>> initial_intercepts(np.array([1.0]), np.array([2]))
    array([0.])
    """
    degenerate = (events == 0) | (events == counts)
    if np.any(degenerate):
        names = labels if labels is not None else np.arange(len(counts))
        bad = [str(lab) for lab in names[degenerate]]
        what = "the outcome" if len(counts) == 1 else f"group(s) {bad[:10]}"
        raise AnalysisError(f"{what} has only one value (all 0 or all 1): its log-odds is infinite")
    out: np.ndarray = np.log((events + 0.5) / (counts - events + 0.5))
    return out


@dataclass(frozen=True)
class NewtonResult:
    """Output of :func:`newton_steps`.

    ``coef`` and ``group_coef`` are on the original design; ``stats`` are the
    :class:`NewtonStats` at the solution, on the design shifted by ``shift``.
    """

    coef: np.ndarray
    group_coef: np.ndarray
    stats: NewtonStats
    shift: np.ndarray
    iterations: int
    converged: bool

    @property
    def shifted_group_coef(self) -> np.ndarray:
        """Group intercepts on the shifted design: :math:`\\alpha_c + m_c^\\top\\beta`."""
        out: np.ndarray = self.group_coef + self.shift @ self.coef
        return out


def newton_steps(
    alpha0: np.ndarray,
    shift: np.ndarray,
    *,
    family: Family,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> Generator[Request[NewtonStats], NewtonStats, NewtonResult]:
    r"""Newton-Raphson (IRLS) with absorbed group intercepts, as a generator of requests.

    Each ``yield`` asks for the :class:`NewtonStats` at a point and receives
    their total over all rows (:func:`~coachstats.compare.design.run_local`
    in memory; one pass over the chunks when streaming). A step solves
    :math:`H\delta = \nabla\ell` by block elimination:
    :math:`\delta_\beta = S^{-1}(X^\top r - B^\top \operatorname{diag}(w_c)^{-1} r_c)`,
    :math:`\delta_{\alpha_c} = (r_c - B_c\delta_\beta)/w_c`, halved while the
    deviance increases; the fit has converged when the largest step is below
    ``tol * (1 + max |theta|)`` (on the unshifted parameters). A linear model
    (``family="gaussian"``) is solved exactly by the first step.

    Parameters
    ----------
    alpha0 : ndarray
        Starting group intercepts (``(C,)``), e.g. :func:`initial_intercepts`.
    shift : ndarray
        ``(C, p)`` per-group centres of the design (any values; group means
        give the best conditioning).
    family : {"binomial", "gaussian"}
    max_iter, tol
        Newton iterations and convergence threshold.

    Returns
    -------
    NewtonResult
        ``converged`` is False after ``max_iter`` iterations or a singular step.
    """
    check_option("family", family, ("binomial", "gaussian"))

    def request(b: np.ndarray, a: np.ndarray) -> Request[NewtonStats]:
        return lambda rows: newton_stats(rows, shift, b, a, family)

    beta = np.zeros(shift.shape[1])
    alpha = np.asarray(alpha0, dtype=float) + shift @ beta  # on the shifted design
    stats = yield request(beta, alpha)
    dev = stats.deviance
    converged = False
    it = 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for it in range(1, max_iter + 1):  # it is reported
            S, a = stats.schur()
            try:
                d_beta = sla.cho_solve(sla.cho_factor(S, lower=True), stats.xr - a.T @ stats.rg)
            except (np.linalg.LinAlgError, ValueError):
                break
            d_alpha = (stats.rg - stats.bg @ d_beta) / stats.wg
            if not (np.all(np.isfinite(d_beta)) and np.all(np.isfinite(d_alpha))):
                break
            step = 1.0
            for _ in range(30):
                new = yield request(beta + step * d_beta, alpha + step * d_alpha)
                if new.deviance <= dev * (1.0 + 1e-12) + 1e-12:
                    break
                step /= 2.0
            beta = beta + step * d_beta
            alpha = alpha + step * d_alpha
            stats, dev = new, new.deviance
            if family == "gaussian":  # exact after one step
                converged, it = True, 0
                break
            orig_step = d_alpha - shift @ d_beta
            size = max(float(np.max(np.abs(d_beta), initial=0.0)), float(np.max(np.abs(orig_step))))
            orig_alpha = alpha - shift @ beta
            scale = 1.0 + max(
                float(np.max(np.abs(beta), initial=0.0)), float(np.max(np.abs(orig_alpha)))
            )
            if step * size <= tol * scale:
                converged = True
                break
    return NewtonResult(beta, alpha - shift @ beta, stats, shift, it, converged)


def cluster_score_sums(
    rows: ModelRows,
    result: NewtonResult,
    family: str,
    clusters: np.ndarray,
    n_clusters: int,
    influence: np.ndarray | None = None,
) -> np.ndarray:
    r"""Per-cluster score sums :math:`u_g = \sum_{i\in g} \tilde x_i (y_i - \hat\mu_i)`.

    :math:`\tilde x_i = x_i - B_{c(i)}/w_{c(i)}` is the design minus its
    weighted group means at the solution. With ``influence`` (a per-group
    value :math:`v_c`), a last column :math:`\sum_{i\in g} v_{c(i)}(y_i - \hat\mu_i)`
    is appended (the group part of a functional's influence). Additive over
    chunks of rows; returns ``(G, p)`` or ``(G, p + 1)``.
    """
    shift = result.shift
    XT = rows.shifted(shift)
    eta = combine_rows(result.coef, XT) + rows.by_group(result.shifted_group_coef)
    e = rows.y - (expit(eta) if family == "binomial" else eta)
    _, a = result.stats.schur()
    xt = minus_group_values(XT, a, rows.groups)  # a fresh array: scaled in place
    scores = group_sums_t(clusters, np.multiply(xt, e, out=xt), n_clusters)
    if influence is None:
        return scores
    extra = np.bincount(clusters, weights=rows.by_group(influence) * e, minlength=n_clusters)
    return np.column_stack([scores, extra])


# --------------------------------------------------------------------------- fits


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
    n_obs : int
        Number of observations.
    newton : NewtonResult
        The solution on the shifted design (for the chunked score sums).
    rows : ModelRows or None
        The rows, when fitted in memory: they give ``xt``, ``resid`` and
        ``fitted`` and the cluster-robust covariances; a fit from streamed
        statistics has none and takes per-cluster score sums instead.
    """

    coef: np.ndarray
    group_coef: np.ndarray
    bread: np.ndarray
    groups: GroupIndex
    group_weight: np.ndarray
    cross: np.ndarray
    dispersion: float
    family: str
    deviance: float
    iterations: int
    n_obs: int
    newton: NewtonResult
    rows: ModelRows | None = None

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return self.n_obs

    @property
    def n_params(self) -> int:
        """Coefficients including the intercept or the fixed effects (``k``)."""
        return len(self.coef) + self.groups.n_groups

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom, ``n - k``."""
        return self.nobs - self.n_params

    def _rows(self) -> ModelRows:
        if self.rows is None:
            raise AnalysisError(
                "this fit was computed from streamed sufficient statistics: row-level "
                "quantities are not available (pass per-cluster score sums instead)"
            )
        return self.rows

    @cached_property
    def fitted(self) -> np.ndarray:
        r""":math:`\hat\mu`."""
        rows = self._rows()
        eta = combine_rows(self.coef, rows.XT) + rows.by_group(self.group_coef)
        return expit(eta) if self.family == "binomial" else eta

    @cached_property
    def resid(self) -> np.ndarray:
        """Response residuals :math:`y - \\hat\\mu` (the score residuals of both models)."""
        out: np.ndarray = self._rows().y - self.fitted
        return out

    @cached_property
    def xt(self) -> np.ndarray:
        r""":math:`\tilde X`, the design minus its weighted group means (``(n, p)``)."""
        rows = self._rows()
        a = self.cross / self.group_weight[:, None]
        out: np.ndarray = minus_group_values(rows.XT, a, rows.groups).T
        return out

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

    def score_sums(self, clusters: GroupIndex, influence: np.ndarray | None = None) -> np.ndarray:
        """:func:`cluster_score_sums` over the fit's own rows."""
        return cluster_score_sums(
            self._rows(), self.newton, self.family, clusters.codes, clusters.n_groups, influence
        )

    def cluster_vcov(self, clusters: GroupIndex, scores: np.ndarray | None = None) -> np.ndarray:
        r"""CR1 cluster-robust covariance of :math:`\hat\beta` (``vcovCL`` HC1).

        ``scores``: per-cluster score sums (:func:`cluster_score_sums`),
        computed from the fit's rows when not given.
        """
        adj = cr1_adjustment(clusters.n_groups, self.nobs, self.n_params)
        U = (self.score_sums(clusters) if scores is None else scores) @ self.bread
        return adj * (U.T @ U)

    def cluster_functional_var(
        self,
        g_beta: np.ndarray,
        g_group: np.ndarray,
        clusters: GroupIndex,
        scores: np.ndarray | None = None,
    ) -> float:
        r"""CR1 variance of a linear functional of :math:`(\hat\beta, \hat\alpha)`.

        Per row, the functional's influence is :math:`(z_\beta^\top \tilde x_i +
        g_{\alpha,c(i)}/w_{c(i)})\, e_i` with :math:`z = H^{-1} g`. ``scores``:
        :func:`cluster_score_sums` with ``influence = g_group / group_weight``.
        """
        adj = cr1_adjustment(clusters.n_groups, self.nobs, self.n_params)
        z_beta, _ = self.solve(g_beta, g_group)
        if scores is None:
            scores = self.score_sums(clusters, g_group / self.group_weight)
        u = scores[:, :-1] @ z_beta + scores[:, -1]
        return float(adj * (u @ u))

    def group_coef_var(self, index: int = 0) -> float:
        """Model-based variance of one group effect (the intercept for ``index=0``)."""
        g_group = np.zeros(self.groups.n_groups)
        g_group[index] = 1.0
        return self.functional_var(np.zeros(len(self.coef)), g_group)


def regression_fit(
    result: NewtonResult, family: str, groups: GroupIndex, rows: ModelRows | None = None
) -> RegressionFit:
    """A :class:`RegressionFit` from the solution of :func:`newton_steps`.

    Raises
    ------
    AnalysisError
        When the information matrix at the solution is singular, or a linear
        model has no residual degrees of freedom.
    """
    stats = result.stats
    what = "logistic regression" if family == "binomial" else "linear regression"
    S, _ = stats.schur()
    bread = _chol_inverse(S, what)
    n, p, C = stats.nobs, len(result.coef), len(stats.wg)
    if family == "binomial":
        dispersion = 1.0
    else:
        if n - p - C <= 0:
            raise AnalysisError(
                f"{n} observations for {p + C} coefficients: no residual degrees of freedom"
            )
        dispersion = stats.deviance / (n - p - C)
    return RegressionFit(
        coef=result.coef,
        group_coef=result.group_coef,
        bread=bread,
        groups=groups,
        group_weight=stats.wg,
        cross=stats.bg + stats.wg[:, None] * result.shift,
        dispersion=dispersion,
        family=family,
        deviance=stats.deviance,
        iterations=result.iterations,
        n_obs=n,
        newton=result,
        rows=rows,
    )


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
    :math:`\hat\sigma^2 = \sum e_i^2 / (n - p - C)`. Computed from
    :class:`NewtonStats` (one exact step of :func:`newton_steps`, the residual
    sum of squares evaluated at the solution), so streamed and in-memory fits
    share every formula.

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
    >>> fit.coef.round(12), fit.group_coef.round(12)
    (array([1.1]), array([1.1]))
    """
    g = _check_inputs(X, y, groups)
    n, p = X.shape
    if n - p - g.n_groups <= 0:
        raise AnalysisError(
            f"{n} observations for {p + g.n_groups} coefficients: no residual degrees of freedom"
        )
    rows = ModelRows.from_design(X, y, g)
    shift = g.means(X)
    result = run_local(newton_steps(np.zeros(g.n_groups), shift, family="gaussian"), rows)
    return regression_fit(result, "gaussian", g, rows)


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
    increases (:func:`newton_steps`).

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
        Outcome not 0/1 or a group with a single outcome value.
    ConvergenceError
        No convergence (perfect or quasi-perfect separation); a subclass of
        :class:`~coachstats.core.errors.AnalysisError`.

    Examples
    --------
    >>> X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    >>> fit = fit_logistic(X, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0]))
    >>> round(float(np.exp(fit.coef[0])), 12)  # (2/1) / (1/2)
    4.0
    """
    g = _check_inputs(X, y, groups)
    if not np.all((y == 0.0) | (y == 1.0)):
        raise AnalysisError("the outcome of a logistic regression must be 0/1 (or boolean)")
    alpha0 = initial_intercepts(g.sums(y), g.counts, g.labels)
    rows = ModelRows.from_design(X, y, g)
    steps = newton_steps(alpha0, g.means(X), family="binomial", max_iter=max_iter, tol=tol)
    result = run_local(steps, rows)
    if not result.converged:
        raise not_converged(result.iterations)
    return regression_fit(result, "binomial", g, rows)


def not_converged(iterations: int) -> ConvergenceError:
    """The error of a logistic fit that did not converge (most often (quasi-)separation)."""
    return ConvergenceError(
        f"logistic regression did not converge in {iterations} Newton iterations: the outcome "
        "is (quasi-)perfectly separated by the arm or a covariate, so some odds ratios "
        "are infinite; remove or coarsen the separating covariate"
    )


# --------------------------------------------------------------------------- risk difference


@dataclass(frozen=True)
class RiskDifferenceSums(Additive):
    r"""Sums behind the marginally standardized risk difference (additive over chunks).

    ``p1``, ``p0``: :math:`\sum_i \hat p_i^{(1)}` and :math:`\sum_i \hat p_i^{(0)}`;
    ``gx``: :math:`\sum_i (d^{(1)}_i - d^{(0)}_i) x_i`; ``d1``: :math:`\sum_i d^{(1)}_i`;
    ``gg``: per-group :math:`\sum (d^{(1)}_i - d^{(0)}_i)`, with :math:`d = p(1-p)`.
    """

    nobs: int
    p1: float
    p0: float
    gx: np.ndarray
    d1: float
    gg: np.ndarray


def risk_difference_sums(
    rows: ModelRows, coef: np.ndarray, group_coef: np.ndarray, arm_column: int = 0
) -> RiskDifferenceSums:
    """:class:`RiskDifferenceSums` of ``rows`` (unshifted design) at a logistic fit."""
    XT = rows.XT
    b_arm = coef[arm_column]
    eta = combine_rows(coef, XT) + rows.by_group(group_coef)
    arm = XT[arm_column]
    p1 = expit(eta + b_arm * (1.0 - arm))
    p0 = expit(eta - b_arm * arm)
    d1 = p1 * (1.0 - p1)
    dd = d1 - p0 * (1.0 - p0)
    return RiskDifferenceSums(
        nobs=len(eta),
        p1=float(p1.sum()),
        p0=float(p0.sum()),
        gx=rows_dot(XT, dd),
        d1=float(d1.sum()),
        gg=_group_total(rows.groups, dd, rows.n_groups),
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
    rows = ModelRows.from_design(X, np.zeros(0), fit.groups)
    sums = risk_difference_sums(rows, fit.coef, fit.group_coef, arm_column)
    return risk_difference_from_sums(sums, arm_column)


def risk_difference_from_sums(
    sums: RiskDifferenceSums, arm_column: int = 0
) -> tuple[float, np.ndarray, np.ndarray]:
    """The risk difference and its gradient from :class:`RiskDifferenceSums`."""
    n = sums.nobs
    g_beta = sums.gx / n
    g_beta[arm_column] = sums.d1 / n
    g_group = sums.gg / n
    rd = sums.p1 / n - sums.p0 / n
    if not math.isfinite(rd):  # pragma: no cover - defensive
        raise AnalysisError("the marginal risk difference is not finite")
    return rd, g_beta, g_group

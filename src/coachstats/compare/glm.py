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
:math:`W`-weighted group means (in exact arithmetic). Per-group sums use ``np.bincount``; the cost per iteration is
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
The design is shifted before the sums are taken (the group effects absorb any
shift): in memory by its column means, a block of rows at a time
(:meth:`~coachstats.compare.rows.ModelRows.shifted_block`); streamed, by its
group means. :math:`S` is then the weighted sum of squares around the shift
minus its between-group part, so a column that varies little within groups
compared with between them loses the digits of that ratio (one that does not
vary within groups at all is dropped by the aliasing check before the fit).

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

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg as sla
from scipy.special import expit

# The g-computation names are re-exported: ``coachstats.compare.glm`` is where
# callers have imported them from.
from coachstats.compare.gcomputation import (
    MarginalSums,
    RiskDifferenceSums,
    identity_marginal_sums,
    marginal_sums,
    risk_difference_from_sums,
    risk_difference_sums,
)

# The Newton names are re-exported: ``coachstats.compare.glm`` is where callers
# have imported them from.
from coachstats.compare.newton import (
    Family,
    NewtonResult,
    NewtonStats,
    cluster_score_parts,
    cluster_score_sums,
    cr1_adjustment,
    first_pass_weights,
    initial_intercepts,
    newton_stats,
    newton_steps,
    not_converged,
)
from coachstats.compare.rows import (
    Centred,
    GroupIndex,
    ModelRows,
    combine_rows,
    minus_group_values,
    run_local,
)
from coachstats.core.errors import AnalysisError, check_option

__all__ = [
    "Family",
    "MarginalSums",
    "NewtonResult",
    "NewtonStats",
    "RegressionFit",
    "RiskDifferenceSums",
    "cluster_score_sums",
    "cr1_adjustment",
    "first_pass_weights",
    "fit_linear",
    "fit_logistic",
    "identity_marginal_sums",
    "initial_intercepts",
    "marginal_risk_difference",
    "marginal_sums",
    "newton_stats",
    "newton_steps",
    "not_converged",
    "regression_fit",
    "risk_difference_from_sums",
    "risk_difference_sums",
]


#: R's ``lm`` rule for an aliased column (1e-7 on the norm), on a squared Cholesky pivot.
_SINGULAR_TOL = 1e-14


def _chol_inverse(S: np.ndarray, what: str) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix through its Cholesky factor.

    Singular when the factorization fails or a pivot keeps less than
    ``_SINGULAR_TOL`` of its column's diagonal (a column that the columns
    before it reproduce, to rounding: whether exact collinearity makes the
    factorization fail depends on the rounding of the sums).
    """
    try:
        factor = sla.cho_factor(S, lower=True, check_finite=True)
        if np.any(np.diag(factor[0]) ** 2 <= _SINGULAR_TOL * np.diag(S)):
            raise np.linalg.LinAlgError("a pivot of the size of rounding")
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise AnalysisError(
            f"{what}: the information matrix is singular (collinear or constant regressors)"
        ) from exc
    inv: np.ndarray = sla.cho_solve(factor, np.eye(S.shape[0]))
    return (inv + inv.T) / 2.0


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
    #: Per-cluster score parts of the fit (:func:`cluster_score_parts`), by clustering.
    _score_parts: list[tuple[GroupIndex, tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

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
        """:func:`cluster_score_sums` over the fit's own rows (one pass per clustering, kept)."""
        parts = next((p for c, p in self._score_parts if c is clusters), None)
        if parts is None:
            parts = cluster_score_parts(
                self._rows(), self.newton, self.family, clusters.codes, clusters.n_groups
            )
            self._score_parts.append((clusters, parts))
        scores, cross = parts
        if influence is None:
            return scores
        columns = influence[:, None] if influence.ndim == 1 else influence
        return np.column_stack([scores, cross @ columns])

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

    def functional_cov(
        self,
        G_beta: np.ndarray,
        G_group: np.ndarray,
        clusters: GroupIndex | None = None,
        scores: np.ndarray | None = None,
        basis: np.ndarray | None = None,
    ) -> np.ndarray:
        r"""Covariance of ``m`` linear functionals :math:`G_\beta\hat\beta + G_\alpha\hat\alpha`.

        Model-based (:math:`\phi\, G H^{-1} G^\top`) without ``clusters``,
        CR1 with them (each functional's per-cluster influence as in
        :meth:`cluster_functional_var`). ``scores`` and ``basis`` are for a
        fit without rows (streamed): :func:`cluster_score_sums` with
        ``influence = (basis / group_weight).T``, and the group parts
        ``G_group`` must be combinations of the rows of ``basis``.

        Parameters
        ----------
        G_beta : ndarray
            ``(m, p)``.
        G_group : ndarray
            ``(m, C)``.
        clusters : GroupIndex, optional
        scores, basis : ndarray, optional

        Returns
        -------
        ndarray
            ``(m, m)``.
        """
        solved = [self.solve(gb, ga) for gb, ga in zip(G_beta, G_group, strict=True)]
        Zb = np.array([z for z, _ in solved]).reshape(len(solved), len(self.coef))
        if clusters is None:
            Za = np.array([z for _, z in solved]).reshape(len(solved), self.groups.n_groups)
            out = self.dispersion * (G_beta @ Zb.T + G_group @ Za.T)
            return (out + out.T) / 2.0
        adj = cr1_adjustment(clusters.n_groups, self.nobs, self.n_params)
        p = len(self.coef)
        if scores is None:
            scores = self.score_sums(clusters, (G_group / self.group_weight).T)
            U = scores[:, :p] @ Zb.T + scores[:, p:]
        else:
            if basis is None:
                raise AnalysisError("functional_cov: streamed score sums need their basis")
            lam, *_ = np.linalg.lstsq(basis.T, G_group.T, rcond=None)
            if not np.allclose(basis.T @ lam, G_group.T, rtol=1e-10, atol=1e-12):
                raise AnalysisError(
                    "functional_cov: a functional's group part is outside the streamed basis"
                )
            U = scores[:, :p] @ Zb.T + scores[:, p:] @ lam
        return np.asarray(adj * (U.T @ U))

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


def _check_inputs(
    X: np.ndarray,
    y: np.ndarray,
    groups: GroupIndex | None,
    centred: Centred | None,
    *,
    binary: bool = False,
) -> tuple[GroupIndex, Centred | None]:
    """The groups, and ``centred`` when it is the sums of these rows and groups (else None)."""
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise AnalysisError(f"X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    g = groups if groups is not None else GroupIndex.single(len(y))
    if len(g.codes) != len(y):
        raise AnalysisError("groups and y have different lengths")
    if binary and np.count_nonzero(y == 0.0) + np.count_nonzero(y == 1.0) != len(y):
        raise AnalysisError("the outcome of a logistic regression must be 0/1 (or boolean)")
    usable = (
        centred
        if centred is not None
        and centred.centres.shape == (g.n_groups, X.shape[1])
        and np.array_equal(centred.counts, g.counts)
        else None
    )
    # a Design's columns were checked finite when it was built; a 0/1 y is finite
    finite_x = usable is not None or np.all(np.isfinite(X))
    if not (finite_x and (binary or np.all(np.isfinite(y)))):
        raise AnalysisError("X and y must be finite (missing values are excluded before fitting)")
    return g, usable


#: A column whose variation within groups is below this share of its variation around
#: its mean is fitted on the design shifted by the group means (stored) instead of the
#: column means: shifting by the mean would cost the digits of that ratio (about 1e-16
#: over the share; so at most about 1e-10 here).
UNIFORM_SHIFT_MIN = 1e-6


def _shift(
    rows: ModelRows,
    g: GroupIndex,
    centred: Centred | None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The shift of the Newton steps (the column means, for every group), kept on ``rows``.

    ``centred`` (a :class:`~coachstats.compare.design.Design`'s, checked by
    :func:`_check_inputs`) when given, else computed here (the same
    arithmetic, the Gram matrix weighted by group by ``weights``). The passes
    shift each block of rows by the means (:meth:`ModelRows.shifted_block`);
    the Gram matrix, its weights and the per-group sums are kept too: the
    passes of a linear model and the first pass of a logistic fit
    (:func:`newton_stats`) read them instead of summing over the rows. A
    column almost constant within groups (:data:`UNIFORM_SHIFT_MIN`) makes it
    the group means instead, with the shifted design stored and every sum
    taken over the rows.
    """
    c = centred if centred is not None else Centred.of(rows.XT, g, weights)
    if g.n_groups > 1 and np.any(c.within()[1] < UNIFORM_SHIFT_MIN * c.sq):
        return c.group_means
    rows.store("uniform shift", c.centres, c.mean)
    rows.store("gram", c.centres, c.gram)
    rows.store("gram weights", c.centres, c.weights)
    rows.store("shifted sums", c.centres, c.sums)
    return c.centres


def fit_linear(
    X: np.ndarray,
    y: np.ndarray,
    groups: GroupIndex | None = None,
    *,
    centred: Centred | None = None,
    clusters: GroupIndex | None = None,
) -> RegressionFit:
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
    centred : (ndarray, ndarray), optional
        As in :func:`fit_logistic`.
    clusters : GroupIndex, optional
        As in :func:`fit_logistic`.

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
    g, centred = _check_inputs(X, y, groups, centred)
    n, p = X.shape
    if n - p - g.n_groups <= 0:
        raise AnalysisError(
            f"{n} observations for {p + g.n_groups} coefficients: no residual degrees of freedom"
        )
    rows = ModelRows.from_design(X, y, g, clusters)
    rows.keep_residuals = clusters is not None
    shift = _shift(rows, g, centred)
    result = run_local(newton_steps(np.zeros(g.n_groups), shift, family="gaussian"), rows)
    return regression_fit(result, "gaussian", g, rows)


def fit_logistic(
    X: np.ndarray,
    y: np.ndarray,
    groups: GroupIndex | None = None,
    *,
    max_iter: int = 50,
    tol: float = 1e-10,
    centred: Centred | None = None,
    clusters: GroupIndex | None = None,
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
    centred : Centred, optional
        The column means of ``X`` with its Gram matrix and group sums
        (:attr:`~coachstats.compare.design.Design.centred`, for ``groups``):
        used instead of computing them again.
    clusters : GroupIndex, optional
        The clusters of the cluster-robust SEs to be computed from the fit
        (:meth:`RegressionFit.score_sums`): the rows keep the residuals of
        each pass, so the scores at the last pass's point need no pass of
        their own.

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
    g, centred = _check_inputs(X, y, groups, centred, binary=True)
    events = g.sums(y)
    alpha0 = initial_intercepts(events, g.counts, g.labels)
    rows = ModelRows.from_design(X, y, g, clusters)
    rows.keep_residuals = clusters is not None
    # the first working weights weight a Gram matrix computed here (a design's has them)
    need = centred is None and g.n_groups > 1
    weights = first_pass_weights(events, g.counts, g.labels) if need else None
    shift = _shift(rows, g, centred, weights)
    steps = newton_steps(alpha0, shift, family="binomial", max_iter=max_iter, tol=tol)
    result = run_local(steps, rows)
    if not result.converged:
        raise not_converged(result.iterations)
    return regression_fit(result, "binomial", g, rows)


# --------------------------------------------------------------------------- g-computation


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
        The design it was fitted on (without arm interactions; see
        :func:`marginal_sums` for designs with them).
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

r"""Linear mixed model with a random intercept, from per-cluster sums.

The engine of :func:`coachstats.compare.models.mixed`. The model for patient
:math:`j` in cluster :math:`i` is

.. math:: y_{ij} = x_{ij}^\top\beta + u_i + \varepsilon_{ij},\qquad
          u_i \sim N(0, \tau^2),\ \varepsilon_{ij} \sim N(0, \sigma^2),

so :math:`V_i = \sigma^2 I + \tau^2 J` is compound symmetric, with the closed
forms

.. math:: V_i^{-1} = \frac{1}{\sigma^2}\Big(I - \gamma_i J\Big),\quad
          \gamma_i = \frac{\tau^2}{\sigma^2 + n_i\tau^2},\qquad
          \log|V_i| = (n_i - 1)\log\sigma^2 + \log(\sigma^2 + n_i\tau^2).

Every matrix met in the likelihood and its derivatives is, per cluster, of the
form :math:`aI + b_iJ` with one :math:`a` for all clusters, so
:math:`X^\top(aI + bJ)X = a\,X^\top X + \sum_i b_i s_i s_i^\top` needs only the
sufficient statistics :math:`X^\top X,\ X^\top y,\ y^\top y` and the per-cluster
:math:`n_i,\ s_i = \sum_j x_{ij},\ \sum_j y_{ij}` (:class:`MixedStats`); one pass
over the data computes them and each likelihood evaluation costs
:math:`O(Gp^2)`. The statistics add across chunks of rows, so the fit also
runs on streamed or distributed data.

Estimation: with :math:`\lambda = \tau^2/\sigma^2`, :math:`\beta` and
:math:`\sigma^2` are profiled out and the (restricted) log-likelihood is
maximized over :math:`\lambda \ge 0` alone:

.. math::

    -2\ell_R(\lambda) = \log|V_0| + \log|X^\top V_0^{-1} X|
        + (N - p)\log\frac{r^\top V_0^{-1} r}{N-p} + \text{const}

(REML; ML drops the middle term and uses :math:`N`), :math:`V_0 = V/\sigma^2`.
A bounded Brent search on :math:`\rho = \lambda/(1+\lambda)` is polished by a
root search on the analytic derivative, and :math:`\lambda = 0` is returned
when the derivative there is non-negative (the boundary fit lme4 reports as
singular). This matches ``lme4::lmer(REML = TRUE/FALSE)``.

Degrees of freedom for a coefficient :math:`c^\top\beta` follow Satterthwaite
as implemented in ``lmerTest`` (Kuznetsova, Brockhoff & Christensen 2017):

.. math:: \nu = \frac{2\,(c^\top C c)^2}{g^\top A g},\qquad
          g = \frac{\partial\, c^\top C(\theta) c}{\partial\theta},\quad
          A = 2 H^{-1},

with :math:`C = \sigma^2 (X^\top V_0^{-1} X)^{-1}`, :math:`H` the Hessian of
the deviance (:math:`-2\ell` or :math:`-2\ell_R`, with :math:`\beta` profiled)
in lmerTest's parameters :math:`\theta = (\tau/\sigma, \sigma)`. ``lmerTest``
differentiates numerically; here :math:`g` and :math:`H` are analytic.

References
----------
Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models
using lme4. J Stat Softw 2015;67(1).
Kuznetsova A, Brockhoff PB, Christensen RHB. lmerTest package: tests in linear
mixed effects models. J Stat Softw 2017;82(13).
Satterthwaite FE. An approximate distribution of estimates of variance
components. Biometrics Bulletin 1946;2:110-114.

Examples
--------
>>> from coachstats.compare.design import GroupIndex
>>> rng = np.random.default_rng(7)
>>> cl = np.repeat(np.arange(20), 15)
>>> x = rng.normal(size=(300, 1))
>>> y = 2.0 + 0.5 * x[:, 0] + rng.normal(0, 0.8, 20)[cl] + rng.normal(size=300)
>>> fit = fit_mixed(x, y, GroupIndex.from_values(cl))
>>> fit.params.round(3), round(fit.tau2, 3), round(fit.sigma2, 3)
(array([1.841, 0.515]), 0.439, 0.907)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from coachstats.compare.design import GroupIndex, ModelRows, gram_rows, rows_dot, vdot
from coachstats.core.errors import AnalysisError

__all__ = [
    "CS",
    "MixedFit",
    "MixedStats",
    "fit_mixed",
    "fit_mixed_stats",
    "mixed_chunk_stats",
    "mixed_stats",
]


@dataclass(frozen=True)
class MixedStats:
    r"""Sufficient statistics of a random-intercept linear model.

    ``X`` here includes the intercept column and is centred by ``center``
    (column means subtracted, intercept untouched), for conditioning.
    """

    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    counts: np.ndarray
    Sx: np.ndarray
    Sy: np.ndarray
    center: np.ndarray
    n_free: int = 0

    @property
    def nobs(self) -> int:
        """Number of observations :math:`N` (with the ``n_free`` rows without a random effect)."""
        return int(self.counts.sum()) + self.n_free

    @property
    def n_clusters(self) -> int:
        """Number of clusters :math:`G`."""
        return len(self.counts)

    @property
    def n_coef(self) -> int:
        """Number of fixed-effect coefficients (intercept included)."""
        return len(self.Xty)

    def __add__(self, other: MixedStats) -> MixedStats:
        """Statistics of two chunks of rows together (same ``center``)."""
        return MixedStats(
            XtX=self.XtX + other.XtX,
            Xty=self.Xty + other.Xty,
            yty=self.yty + other.yty,
            counts=self.counts + other.counts,
            Sx=self.Sx + other.Sx,
            Sy=self.Sy + other.Sy,
            center=self.center,
            n_free=self.n_free + other.n_free,
        )


def mixed_chunk_stats(
    rows: ModelRows, center: np.ndarray, free: np.ndarray | None = None
) -> MixedStats:
    """:class:`MixedStats` of one chunk of rows (clusters in ``rows.clusters``).

    ``center`` is the column means of ``X`` over all rows (from an earlier pass
    when streaming); the statistics of chunks add up (``+``). ``free`` marks
    rows without a random effect (a partially nested design): they enter the
    cross products but no cluster sum.
    """
    if rows.clusters is None:  # pragma: no cover - the callers always set clusters
        raise AnalysisError("mixed-model rows need cluster codes")
    XcT = rows.centered(center)
    y = rows.y
    G = rows.n_clusters
    codes, XcT_c, y_c = rows.clusters, XcT, y
    if free is not None:
        nested = ~free
        codes, XcT_c, y_c = codes[nested], XcT[:, nested], y[nested]
    Sx = np.empty((G, XcT.shape[0]))
    for j in range(XcT.shape[0]):  # loop over columns, not rows or clusters
        Sx[:, j] = np.bincount(codes, weights=XcT_c[j], minlength=G)
    return MixedStats(
        XtX=gram_rows(XcT),
        Xty=rows_dot(XcT, y),
        yty=vdot(y, y),
        counts=np.bincount(codes, minlength=G),
        Sx=Sx,
        Sy=np.bincount(codes, weights=y_c, minlength=G),
        center=center,
        n_free=0 if free is None else int(free.sum()),
    )


def mixed_stats(
    X: np.ndarray, y: np.ndarray, clusters: GroupIndex, free: np.ndarray | None = None
) -> MixedStats:
    """One pass over the rows: the :class:`MixedStats` of ``[1, X]`` and ``y``.

    ``free``: rows without a random effect (see :func:`fit_mixed`).

    Examples
    --------
    >>> s = mixed_stats(np.array([[1.0], [2.0], [4.0]]), np.array([1.0, 2.0, 3.0]),
    ...                 GroupIndex.from_values(np.array([0, 0, 1])))
    >>> s.counts, s.Sy
    (array([2, 1]), array([3., 3.]))
    """
    rows = ModelRows.from_design(X, y, clusters=clusters)
    return mixed_chunk_stats(rows, X.mean(axis=0), free)


@dataclass(frozen=True)
class CS:
    """Block-diagonal compound-symmetric matrix: ``a I + b_i J`` in cluster ``i`` (size ``n_i``).

    These matrices commute and are closed under products:
    ``(a1 I + b1 J)(a2 I + b2 J) = a1 a2 I + (a1 b2 + b1 a2 + n b1 b2) J``.

    Examples
    --------
    >>> n = np.array([1.0, 3.0])
    >>> m = CS(2.0, np.array([0.5, -0.5]), n) @ CS(1.0, np.array([1.0, 1.0]), n)
    >>> m.a, m.b, m.trace()
    (2.0, array([3., 0.]), 11.0)
    """

    a: float
    b: np.ndarray
    n: np.ndarray
    free: float = 0.0

    def __matmul__(self, other: CS) -> CS:
        b = self.a * other.b + self.b * other.a + self.n * self.b * other.b
        return CS(self.a * other.a, b, self.n, self.free)

    def trace(self) -> float:
        """:math:`\\sum_i n_i (a + b_i)`, plus ``a`` per row outside the clusters (``free``)."""
        return float(self.a * (self.n.sum() + self.free) + self.n @ self.b)


class _Algebra:
    """Quadratic forms ``X'MX``, ``X'Mr``, ``r'Mr`` of CS matrices, r = y - X beta."""

    def __init__(self, stats: MixedStats, beta: np.ndarray) -> None:
        self.stats = stats
        self.Sr = stats.Sy - stats.Sx @ beta
        self.Xr = stats.Xty - stats.XtX @ beta
        self.rr = float(stats.yty - 2.0 * beta @ stats.Xty + beta @ stats.XtX @ beta)

    def x_m_x(self, M: CS) -> np.ndarray:
        s = self.stats
        out: np.ndarray = M.a * s.XtX + (s.Sx * M.b[:, None]).T @ s.Sx
        return out

    def x_m_r(self, M: CS) -> np.ndarray:
        out: np.ndarray = M.a * self.Xr + self.stats.Sx.T @ (M.b * self.Sr)
        return out

    def r_m_r(self, M: CS) -> float:
        return float(M.a * self.rr + M.b @ (self.Sr * self.Sr))


def _gls(stats: MixedStats, lam: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """For V0 = I + lam J: (beta, Q = X'V0^-1 X, q = r'V0^-1 r, log|V0|)."""
    n = stats.counts.astype(float)
    gam = lam / (1.0 + n * lam)
    Q = stats.XtX - (stats.Sx * gam[:, None]).T @ stats.Sx
    Xvy = stats.Xty - stats.Sx.T @ (gam * stats.Sy)
    yvy = stats.yty - float(gam @ (stats.Sy * stats.Sy))
    beta = np.linalg.solve(Q, Xvy)
    q = yvy - float(beta @ Xvy)
    return beta, Q, q, float(np.sum(np.log1p(n * lam)))


def _profiled(stats: MixedStats, lam: float, reml: bool) -> float:
    """Profiled deviance (up to a constant) at variance ratio ``lam``."""
    _, Q, q, logdet = _gls(stats, lam)
    if reml:
        return logdet + float(np.linalg.slogdet(Q)[1]) + (stats.nobs - stats.n_coef) * math.log(q)
    return logdet + stats.nobs * math.log(q)


def _profiled_derivative(stats: MixedStats, lam: float, reml: bool) -> float:
    """d/d lam of :func:`_profiled` (analytic)."""
    n = stats.counts.astype(float)
    beta, Q, q, _ = _gls(stats, lam)
    inv = 1.0 / (1.0 + n * lam)
    sr = stats.Sy - stats.Sx @ beta
    quad = float(np.sum((sr * inv) ** 2))
    tr = float(n @ inv)
    if reml:
        K = (stats.Sx * (inv * inv)[:, None]).T @ stats.Sx
        tr -= float(np.sum(np.linalg.solve(Q, K).diagonal()))
        return tr - (stats.nobs - stats.n_coef) * quad / q
    return tr - stats.nobs * quad / q


def _optimize_ratio(stats: MixedStats, reml: bool) -> float:
    """The (RE)ML variance ratio lambda >= 0."""
    if _profiled_derivative(stats, 0.0, reml) >= 0.0:
        # Non-decreasing at 0: check no interior minimum beats the boundary.
        res = optimize.minimize_scalar(
            lambda r: _profiled(stats, r / (1.0 - r), reml),
            bounds=(0.0, 1.0 - 1e-9),
            method="bounded",
            options={"xatol": 1e-10},
        )
        if not res.fun < _profiled(stats, 0.0, reml) - 1e-9:
            return 0.0
        rho0 = float(res.x)
    else:
        res = optimize.minimize_scalar(
            lambda r: _profiled(stats, r / (1.0 - r), reml),
            bounds=(0.0, 1.0 - 1e-9),
            method="bounded",
            options={"xatol": 1e-10},
        )
        rho0 = float(res.x)
    lam0 = rho0 / (1.0 - rho0)

    def deriv(lam: float) -> float:
        return _profiled_derivative(stats, lam, reml)

    lo, hi = lam0 / 1.5, lam0 * 1.5 + 1e-12
    for _ in range(60):
        if deriv(lo) < 0.0 or lo < 1e-300:
            break
        lo /= 2.0
    for _ in range(200):
        if deriv(hi) > 0.0:
            break
        hi *= 2.0
    if deriv(lo) < 0.0 < deriv(hi):
        return float(optimize.brentq(deriv, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps))
    return lam0  # pragma: no cover - flat likelihood; Brent's answer stands


@dataclass(frozen=True)
class MixedFit:
    """A fitted random-intercept model.

    ``params`` and ``vcov`` are for ``[intercept, columns of X]``; ``df`` holds
    the Satterthwaite degrees of freedom of each coefficient; ``loglik`` is the
    REML log-likelihood for REML fits (what ``logLik`` gives in lme4).
    """

    params: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    tau2: float
    sigma2: float
    loglik: float
    reml: bool
    nobs: int
    n_clusters: int
    stats: MixedStats | None = field(default=None, repr=False, compare=False)

    @property
    def icc(self) -> float:
        """Intraclass correlation :math:`\\tau^2 / (\\tau^2 + \\sigma^2)`."""
        return self.tau2 / (self.tau2 + self.sigma2)

    def contrast_df(self, c: np.ndarray) -> float:
        """Satterthwaite df of ``c @ params`` (``lmerTest``'s ``contest``), any contrast ``c``.

        Examples
        --------
        >>> rng = np.random.default_rng(7)
        >>> cl = np.repeat(np.arange(20), 15)
        >>> x = rng.normal(size=(300, 1))
        >>> y = 2.0 + 0.5 * x[:, 0] + rng.normal(0, 0.8, 20)[cl] + rng.normal(size=300)
        >>> fit = fit_mixed(x, y, GroupIndex.from_values(cl))
        >>> bool(np.isclose(fit.contrast_df(np.array([0.0, 1.0])), fit.df[1]))
        True
        """
        if self.stats is None:
            raise AnalysisError("this mixed-model fit keeps no statistics for contrast df")
        center = self.stats.center
        beta_c = self.params.copy()
        beta_c[0] = self.params[0] + center @ self.params[1:]
        c = np.asarray(c, dtype=float)
        c_c = c.copy()  # the contrast on the centred design: T' c
        c_c[1:] = c[1:] - c[0] * center
        return _contrast_df(self.stats, beta_c, self.sigma2, self.tau2, self.reml, c_c)


def _satterthwaite(
    stats: MixedStats, beta: np.ndarray, s2: float, t2: float, reml: bool
) -> np.ndarray:
    """lmerTest's Satterthwaite df for every coefficient (analytic derivatives)."""
    alg = _Algebra(stats, beta)
    n = stats.counts.astype(float)
    gam = t2 / (s2 + n * t2)
    free = float(stats.n_free)
    Vinv = CS(1.0 / s2, -gam / s2, n, free)
    dV = (CS(1.0, np.zeros_like(n), n, free), CS(0.0, np.ones_like(n), n, free))  # dV/d(s2, t2)
    C = np.linalg.inv(alg.x_m_x(Vinv))
    A = [Vinv @ dV[a] @ Vinv for a in range(2)]  # V^-1 V_a V^-1
    K = [alg.x_m_x(A[a]) for a in range(2)]
    CK = [C @ K[a] for a in range(2)]
    grad = np.zeros(2)
    hess = np.zeros((2, 2))
    for a in range(2):
        tr_a = (Vinv @ dV[a]).trace()
        if reml:
            tr_a -= float(np.trace(CK[a]))
        grad[a] = tr_a - alg.r_m_r(A[a])
        for b in range(a, 2):
            L = A[a] @ dV[b] @ Vinv  # V^-1 V_a V^-1 V_b V^-1
            tr_ab = (Vinv @ dV[a] @ Vinv @ dV[b]).trace()
            if reml:
                tr_ab += -2.0 * float(np.trace(C @ alg.x_m_x(L))) + float(np.sum(CK[a] * CK[b].T))
            quad = alg.r_m_r(L) - float(alg.x_m_r(A[a]) @ C @ alg.x_m_r(A[b]))
            hess[a, b] = hess[b, a] = -tr_ab + 2.0 * quad
    # Chain rule to lmerTest's parameters (theta, sigma): s2 = sigma^2, t2 = theta^2 sigma^2.
    sigma = math.sqrt(s2)
    theta = math.sqrt(t2 / s2)
    J = np.array([[0.0, 2.0 * sigma], [2.0 * theta * s2, 2.0 * theta**2 * sigma]])
    second = [  # d2 u / d(theta, sigma)^2 for u = s2, t2
        np.array([[0.0, 0.0], [0.0, 2.0]]),
        np.array([[2.0 * s2, 4.0 * theta * sigma], [4.0 * theta * sigma, 2.0 * theta**2]]),
    ]
    H = J.T @ hess @ J + grad[0] * second[0] + grad[1] * second[1]
    evals, evecs = np.linalg.eigh(H)
    pos = evals > 1e-8  # lmerTest drops non-positive eigenvalues the same way
    A_vp = 2.0 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    k = stats.n_coef
    var = np.diag(C)
    # d var_j / d u_a = (C K_a C)_jj; then to (theta, sigma).
    g_u = np.stack([np.diag(CK[a] @ C) for a in range(2)], axis=1)  # (k, 2)
    g = g_u @ J
    denom = np.einsum("ka,ab,kb->k", g, A_vp, g)
    df = np.full(k, np.inf)
    ok = denom > 0
    df[ok] = 2.0 * var[ok] ** 2 / denom[ok]
    return df


def fit_mixed_stats(stats: MixedStats, *, reml: bool = True) -> MixedFit:
    """Fit the random-intercept model from its sufficient statistics.

    See the module docstring for the estimator; :func:`fit_mixed` is the
    row-level entry point.
    """
    N, k, G = stats.nobs, stats.n_coef, stats.n_clusters
    if G < 2:
        raise AnalysisError(f"a random intercept needs at least 2 clusters; found {G}")
    if N - k <= 0:
        raise AnalysisError(f"{N} observations for {k} fixed effects: no residual df")
    try:
        np.linalg.cholesky(stats.XtX)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError("the fixed-effects design is singular") from exc
    lam = _optimize_ratio(stats, reml)
    beta_c, Q, q, logdet = _gls(stats, lam)
    dof = N - k if reml else N
    s2 = q / dof
    t2 = lam * s2
    vcov_c = s2 * np.linalg.inv(Q)
    if reml:
        logq = float(np.linalg.slogdet(Q)[1])
        loglik = -0.5 * (dof * (1.0 + math.log(2.0 * math.pi * s2)) + logdet + logq)
    else:
        loglik = -0.5 * (N * (1.0 + math.log(2.0 * math.pi * s2)) + logdet)
    df_c = _satterthwaite(stats, beta_c, s2, t2, reml)
    T = np.eye(k)
    T[0, 1:] = -stats.center
    # Satterthwaite df of the uncentred intercept: contrast T[0] on the centred fit.
    df = df_c.copy()
    df[0] = _contrast_df(stats, beta_c, s2, t2, reml, T[0])
    return MixedFit(
        params=T @ beta_c,
        vcov=T @ vcov_c @ T.T,
        df=df,
        tau2=float(t2),
        sigma2=float(s2),
        loglik=float(loglik),
        reml=reml,
        nobs=N,
        n_clusters=G,
        stats=stats,
    )


def _contrast_df(
    stats: MixedStats, beta: np.ndarray, s2: float, t2: float, reml: bool, c: np.ndarray
) -> float:
    """Satterthwaite df of ``c' beta`` by reparametrizing so that it is a coefficient."""
    k = len(c)
    j = int(np.argmax(np.abs(c)))
    if np.allclose(np.delete(c, j), 0.0):
        return float(_satterthwaite(stats, beta, s2, t2, reml)[j])
    # Basis change M with row j equal to c: beta = M^-1 gamma, gamma_j = c' beta.
    M = np.eye(k)
    M[j] = c
    Minv = np.linalg.inv(M)
    s = stats
    new = MixedStats(
        XtX=Minv.T @ s.XtX @ Minv,
        Xty=Minv.T @ s.Xty,
        yty=s.yty,
        counts=s.counts,
        Sx=s.Sx @ Minv,
        Sy=s.Sy,
        center=s.center,
        n_free=s.n_free,
    )
    return float(_satterthwaite(new, M @ beta, s2, t2, reml)[j])


def fit_mixed(
    X: np.ndarray,
    y: np.ndarray,
    clusters: GroupIndex,
    *,
    reml: bool = True,
    free: np.ndarray | None = None,
) -> MixedFit:
    """Fit a random-intercept linear mixed model (an intercept is added to ``X``).

    Parameters
    ----------
    X : ndarray
        ``(n, p)`` fixed-effect regressors without the intercept.
    y : ndarray
        ``(n,)`` outcome.
    clusters : GroupIndex
        Cluster of each row (rows need not be sorted).
    reml : bool
        REML (default, ``lmer``'s default) or maximum likelihood.
    free : ndarray of bool, optional
        Rows without a random effect: a partially nested design, where only
        the coached patients share coaches, :math:`y_{ij} = x_{ij}^\top\beta
        + z_{ij} u_i + \varepsilon_{ij}` with :math:`z = 0` on these rows
        (``lmer(y ~ ... + (0 + z | coach))``). Their cluster codes are ignored;
        ``n_clusters`` counts the clusters of the other rows.

    Returns
    -------
    MixedFit
    """
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] != len(clusters.codes):
        raise AnalysisError(f"X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if free is not None:
        free = np.asarray(free, dtype=bool)
        if free.all():
            raise AnalysisError("every row is outside the clusters: no random effect to fit")
        nested = GroupIndex.from_values(clusters.labels[clusters.codes[~free]])
        codes = np.zeros(len(y), dtype=np.intp)
        codes[~free] = nested.codes
        clusters = GroupIndex(codes, nested.labels, nested.counts)
    return fit_mixed_stats(mixed_stats(X, y, clusters, free), reml=reml)

r"""REML for linear models whose covariance is linear in its parameters, by subject blocks.

The engine of :func:`coachstats.compare.mmrm.mmrm` (unstructured covariance
over visits) and :func:`coachstats.compare.slopes.random_slopes` (random
intercept and slope). Subject :math:`i` contributes :math:`n_i \le T` rows:

.. math:: y_i = X_i\beta + e_i,\qquad e_i \sim N(0, V_i),\qquad
          V_i = \sum_{k} \varphi_k D_{ik},

with known symmetric basis matrices :math:`D_{ik}` (for an unstructured
:math:`\Sigma`, :math:`D_{ik}` picks element :math:`(a, b)` of :math:`\Sigma`
at the subject's visits; for random slopes, :math:`Z_i E_{ab} Z_i^\top` and
:math:`I`). Subjects are stored padded to :math:`T` rows (absent rows are 0 in
:math:`X_i`, :math:`y_i` and :math:`D_{ik}`, and get a 1 on the diagonal of
:math:`V_i`), so every quantity is a batched ``numpy`` operation over subjects,
without a Python loop.

With :math:`W_i = V_i^{-1}`, :math:`C = (\sum_i X_i^\top W_i X_i)^{-1}`,
:math:`\hat\beta = C\sum_i X_i^\top W_i y_i`, :math:`r_i = y_i - X_i\hat\beta`,
:math:`u_i = W_i r_i` and :math:`P = W - WXCX^\top W`, the restricted
log-likelihood and its derivatives are (Harville 1977; the derivatives are
exact because :math:`V` is linear in :math:`\varphi`):

.. math::

    \ell_R = -\tfrac12\Big[(N - p)\log 2\pi + \sum_i \log|V_i| + \log|C^{-1}|
             + \sum_i r_i^\top u_i\Big]

    \frac{\partial \ell_R}{\partial\varphi_j} = -\tfrac12\operatorname{tr}(PD_j)
        + \tfrac12\, u^\top D_j u

    \frac{\partial^2 \ell_R}{\partial\varphi_j\,\partial\varphi_k}
        = \tfrac12\operatorname{tr}(PD_jPD_k) - u^\top D_j P D_k u

where only the diagonal blocks of :math:`P` are needed for the traces
(:math:`\operatorname{tr}(PD_jPD_k)` expands into three block sums). The
maximization runs over the Cholesky factors of the covariance blocks
(:class:`CholeskyBlocks`: L-BFGS-B with the diagonals bounded at 0, as lme4
does) and is polished by Newton steps in :math:`\varphi` with the exact
Hessian.

Degrees of freedom for a contrast :math:`c^\top\beta` follow Satterthwaite
(as R's ``lmerTest``, ``mmrm`` and ``emmeans``):

.. math:: \nu = \frac{2\,(c^\top C c)^2}{g^\top A\, g},\qquad
          g_j = \frac{\partial\, c^\top C c}{\partial\varphi_j}
              = (Cc)^\top H_j (Cc),\quad H_j = \sum_i X_i^\top W_i D_{ij} W_i X_i,

with :math:`A` the inverse of the observed information
:math:`-\partial^2\ell_R/\partial\varphi\partial\varphi^\top` at the optimum
(at an interior optimum the result does not depend on the parametrization, so
it agrees with the packages that differentiate in theirs).

References
----------
Harville DA. Maximum likelihood approaches to variance component estimation
and to related problems. J Am Stat Assoc 1977;72:320-338.

Satterthwaite FE. An approximate distribution of estimates of variance
components. Biometrics Bulletin 1946;2:110-114.

Kuznetsova A, Brockhoff PB, Christensen RHB. lmerTest package: tests in linear
mixed effects models. J Stat Softw 2017;82(13).

Examples
--------
Two visits, unstructured covariance (three parameters):

>>> rng = np.random.default_rng(1)
>>> n = 200
>>> e = rng.multivariate_normal([0, 0], [[4.0, 2.0], [2.0, 5.0]], size=n)
>>> X = np.zeros((n, 2, 2)); X[:, 0, 0] = 1; X[:, 1, 1] = 1
>>> y = np.array([10.0, 12.0]) + e
>>> mask = np.ones((n, 2), dtype=bool)
>>> basis = unstructured_basis(mask, np.tile([0, 1], (n, 1)), 2)
>>> fit = fit_reml(Blocks(X, y, mask, basis), CholeskyBlocks((2,)), np.array([1.0, 0.0, 1.0]))
>>> fit.converged, bool(np.allclose(fit.beta, y.mean(axis=0)))   # complete data: the visit means
(True, True)
>>> bool(np.allclose(CholeskyBlocks((2,)).matrices(fit.phi)[0], np.cov(y.T)))  # REML: divisor n - 1
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from coachstats.core.errors import AnalysisError

__all__ = [
    "Blocks",
    "CholeskyBlocks",
    "REMLFit",
    "evaluate",
    "fit_reml",
    "satterthwaite",
    "unstructured_basis",
    "vech_pairs",
]

_LOG_2PI = math.log(2.0 * math.pi)


def vech_pairs(d: int) -> list[tuple[int, int]]:
    """The lower-triangle positions of a ``d x d`` symmetric matrix, row by row.

    Examples
    --------
    >>> vech_pairs(3)
    [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2)]
    """
    return [(a, b) for a in range(d) for b in range(a + 1)]


@dataclass(frozen=True)
class Blocks:
    """Padded per-subject data of a linear covariance model.

    Attributes
    ----------
    X : ndarray, shape (n, T, p)
        Fixed-effects design, 0 on absent rows.
    y : ndarray, shape (n, T)
        Outcome, 0 on absent rows.
    mask : bool ndarray, shape (n, T)
        Present rows.
    basis : ndarray, shape (k, n, T, T)
        :math:`D_{ik}`, 0 on absent rows and columns.
    """

    X: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    basis: np.ndarray

    @property
    def n_obs(self) -> int:
        """Number of present rows."""
        return int(self.mask.sum())


def unstructured_basis(mask: np.ndarray, slot: np.ndarray, n_levels: int) -> np.ndarray:
    """Basis of an unstructured covariance over ``n_levels`` visits.

    ``slot[i, t]`` is the visit (0..n_levels-1) of row ``t`` of subject ``i``
    (any value on absent rows). Element ``k`` of :func:`vech_pairs` gives
    :math:`D_{ik}[s, t] = 1` where the rows' visits are ``(a, b)`` or ``(b, a)``.

    Examples
    --------
    >>> b = unstructured_basis(np.array([[True, True]]), np.array([[0, 1]]), 2)
    >>> b[1, 0].tolist()   # the covariance of visits 0 and 1
    [[0.0, 1.0], [1.0, 0.0]]
    """
    present = mask[:, :, None] & mask[:, None, :]
    va = slot[:, :, None]
    vb = slot[:, None, :]
    out = np.zeros((len(vech_pairs(n_levels)), *present.shape))
    for k, (a, b) in enumerate(vech_pairs(n_levels)):
        hit = ((va == a) & (vb == b)) | ((va == b) & (vb == a))
        out[k] = (hit & present).astype(float)
    return out


# --------------------------------------------------------------------------- parametrization


@dataclass(frozen=True)
class CholeskyBlocks:
    """Covariance parameters as symmetric blocks, optimized through their Cholesky factors.

    ``dims`` are the block sizes: ``(T,)`` for one unstructured ``T x T``
    covariance, ``(2, 1)`` for a random intercept and slope plus a residual
    variance. :math:`\\varphi` lists each block's :func:`vech_pairs` elements
    in turn; :math:`\\theta` the matching elements of its lower Cholesky
    factor. The diagonals are bounded below by 0, except in the blocks marked
    ``positive`` (a residual or unstructured covariance must stay positive
    definite), where the bound is :math:`10^{-6}` times the start.
    """

    dims: tuple[int, ...]
    positive: tuple[bool, ...] = ()

    @property
    def size(self) -> int:
        """Number of parameters."""
        return sum(d * (d + 1) // 2 for d in self.dims)

    def _split(self, v: np.ndarray) -> list[np.ndarray]:
        out, start = [], 0
        for d in self.dims:
            m = d * (d + 1) // 2
            block = np.zeros((d, d))
            rows, cols = np.tril_indices(d)
            block[rows, cols] = v[start : start + m]
            out.append(block)
            start += m
        return out

    def matrices(self, phi: np.ndarray) -> list[np.ndarray]:
        """The symmetric blocks of ``phi``."""
        return [b + np.tril(b, -1).T for b in self._split(phi)]

    def phi(self, theta: np.ndarray) -> np.ndarray:
        """:math:`\\varphi` from the Cholesky elements :math:`\\theta`."""
        out = []
        for low in self._split(theta):
            s = low @ low.T
            out.append(s[np.tril_indices(len(s))])
        return np.concatenate(out)

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """:math:`\\partial\\varphi / \\partial\\theta` (size x size)."""
        jac = np.zeros((self.size, self.size))
        offset = 0
        for low in self._split(theta):
            d = len(low)
            pairs = vech_pairs(d)
            for q, (c, e) in enumerate(pairs):  # theta element L[c, e]
                dl = np.zeros((d, d))
                dl[c, e] = 1.0
                ds = dl @ low.T + low @ dl.T
                jac[offset : offset + len(pairs), offset + q] = [ds[a, b] for a, b in pairs]
            offset += len(pairs)
        return jac

    def theta(self, phi: np.ndarray) -> np.ndarray:
        """Cholesky elements of ``phi`` (each block made positive definite if needed)."""
        out = []
        for s in self.matrices(phi):
            w, v = np.linalg.eigh(s)
            floor = max(float(w.max()), 1.0) * 1e-6
            s = (v * np.maximum(w, floor)) @ v.T
            low = np.linalg.cholesky(s)
            out.append(low[np.tril_indices(len(low))])
        return np.concatenate(out)

    def bounds(self, start: np.ndarray) -> list[tuple[float | None, float | None]]:
        """L-BFGS-B bounds around the start ``theta`` (see the class)."""
        out: list[tuple[float | None, float | None]] = []
        k = 0
        for i, d in enumerate(self.dims):
            positive = self.positive[i] if i < len(self.positive) else False
            for a, b in vech_pairs(d):
                low = 1e-6 * abs(float(start[k])) if positive else 0.0
                out.append((low, None) if a == b else (None, None))
                k += 1
        return out


# --------------------------------------------------------------------------- likelihood


@dataclass(frozen=True)
class Evaluation:
    """The restricted log-likelihood at one :math:`\\varphi` and what the fit keeps."""

    loglik: float
    beta: np.ndarray
    cov_beta: np.ndarray
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None
    H: np.ndarray | None = None  # (k, p, p): X'W D_j W X


def evaluate(blocks: Blocks, phi: np.ndarray, order: int = 0) -> Evaluation | None:
    """:math:`\\ell_R` (and with ``order`` 1 or 2 its gradient and Hessian) at ``phi``.

    Returns ``None`` when some :math:`V_i` is not positive definite.
    """
    X, y, mask, basis = blocks.X, blocks.y, blocks.mask, blocks.basis
    _, t, p = X.shape
    V = np.einsum("k,knab->nab", phi, basis)
    V[:, np.arange(t), np.arange(t)] += ~mask
    try:
        low = np.linalg.cholesky(V)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * float(np.log(np.diagonal(low, axis1=1, axis2=2)).sum())
    W = np.linalg.inv(V)
    A = W @ X
    M = np.einsum("nap,naq->pq", X, A)
    try:
        low_m = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise AnalysisError(
            "the fixed-effects design is rank deficient (an arm or visit with no "
            "observation, or collinear covariates)"
        ) from None
    C = np.linalg.inv(M)
    beta = C @ np.einsum("nap,na->p", A, y)
    r = y - X @ beta
    u = np.einsum("nab,nb->na", W, r)
    quad = float(np.einsum("na,na->", r, u))
    n_obs = int(mask.sum())
    logdet_m = 2.0 * float(np.log(np.diag(low_m)).sum())
    loglik = -0.5 * ((n_obs - p) * _LOG_2PI + logdet + logdet_m + quad)
    if order == 0:
        return Evaluation(loglik, beta, C)
    P = W - np.einsum("nap,pq,nbq->nab", A, C, A)
    Du = np.einsum("knab,nb->kna", basis, u)
    grad = -0.5 * np.einsum("nab,knba->k", P, basis) + 0.5 * np.einsum("na,kna->k", u, Du)
    G = np.einsum("knab,nbp->knap", basis, A)  # D_j W X
    H = np.einsum("nap,knaq->kpq", A, G)
    if order == 1:
        return Evaluation(loglik, beta, C, grad, None, H)
    WD = np.einsum("nab,knbc->knac", W, basis)
    t1 = np.einsum("jnab,knba->jk", WD, WD, optimize=True)
    t2 = np.einsum("pq,jnaq,nab,knbp->jk", C, G, W, G, optimize=True)
    t3 = np.einsum("pq,jqr,rs,ksp->jk", C, H, C, H, optimize=True)
    g = np.einsum("nap,jna->jp", A, Du)
    s1 = np.einsum("jna,nab,knb->jk", Du, W, Du, optimize=True)
    hess = 0.5 * (t1 - 2.0 * t2 + t3) - (s1 - g @ C @ g.T)
    return Evaluation(loglik, beta, C, grad, (hess + hess.T) / 2.0, H)


# --------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class REMLFit:
    """A REML fit: coefficients, their model-based covariance and the covariance parameters."""

    beta: np.ndarray
    cov_beta: np.ndarray
    phi: np.ndarray
    loglik: float
    gradient: np.ndarray  # of the restricted log-likelihood, in phi (0 at an interior optimum)
    information: np.ndarray  # observed, in phi
    H: np.ndarray
    converged: bool
    iterations: int
    boundary: bool
    n_obs: int
    n_subjects: int

    @property
    def n_params(self) -> int:
        """Coefficients plus covariance parameters."""
        return len(self.beta) + len(self.phi)


def fit_reml(
    blocks: Blocks,
    param: CholeskyBlocks,
    phi0: np.ndarray,
    *,
    max_newton: int = 30,
) -> REMLFit:
    """Maximize the restricted likelihood from the starting covariance ``phi0``.

    ``phi0`` may hold several starting points (one per row); the best local
    maximum is kept (random-slope likelihoods can have more than one).

    L-BFGS-B over the Cholesky elements (analytic gradient), then Newton steps
    in :math:`\\varphi` with the exact Hessian while they improve the
    likelihood and the covariance stays positive definite. ``boundary`` is
    True when a Cholesky diagonal ends at 0 (a singular covariance block, what
    lme4 calls a singular fit); Newton polishing is then skipped.
    """
    if blocks.basis.shape[0] != param.size:
        raise AnalysisError(f"{blocks.basis.shape[0]} basis matrices for {param.size} parameters")

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ev = evaluate(blocks, param.phi(theta), order=1)
        if ev is None or ev.gradient is None:
            return math.inf, np.zeros_like(theta)
        return -ev.loglik, -(param.jacobian(theta).T @ ev.gradient)

    runs = []
    for start in np.atleast_2d(phi0):
        theta0 = param.theta(start)
        bounds = param.bounds(theta0)
        res = optimize.minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9},
        )
        runs.append((float(res.fun), res, bounds))
    _, res, bounds = min(runs, key=lambda run: run[0])
    theta = np.asarray(res.x, dtype=float)
    diag = [i for i, (a, b) in enumerate(p for d in param.dims for p in vech_pairs(d)) if a == b]
    scale = float(np.abs(theta[diag]).max()) if diag else 1.0
    lows = np.array([bounds[i][0] or 0.0 for i in diag])
    boundary = bool(diag) and bool((theta[diag] <= lows + 1e-6 * scale).any())
    phi = param.phi(theta)
    ev = evaluate(blocks, phi, order=2)
    if ev is None:  # pragma: no cover - L-BFGS-B returns a feasible point
        raise AnalysisError("REML optimization ended at a non positive definite covariance")
    iterations = int(res.nit)
    converged = bool(res.success)
    if not boundary:
        for _ in range(max_newton):
            assert ev.gradient is not None and ev.hessian is not None  # order=2
            try:
                step = np.linalg.solve(ev.hessian, ev.gradient)
            except np.linalg.LinAlgError:
                break
            new = None
            for half in range(30):
                trial = evaluate(blocks, phi - step / 2**half, order=2)
                if trial is not None and trial.loglik >= ev.loglik - 1e-12 * abs(ev.loglik):
                    new = (phi - step / 2**half, trial)
                    break
            if new is None:
                break
            phi, ev = new
            iterations += 1
            assert ev.gradient is not None
            if np.abs(ev.gradient * np.maximum(np.abs(phi), 1.0)).max() < 1e-10 * max(
                1.0, abs(ev.loglik)
            ):
                converged = True
                break
    assert ev.hessian is not None and ev.H is not None
    return REMLFit(
        beta=ev.beta,
        cov_beta=ev.cov_beta,
        phi=phi,
        loglik=ev.loglik,
        gradient=ev.gradient if ev.gradient is not None else np.zeros_like(phi),
        information=-ev.hessian,
        H=ev.H,
        converged=converged,
        iterations=iterations,
        boundary=boundary,
        n_obs=blocks.n_obs,
        n_subjects=int(blocks.mask.any(axis=1).sum()),
    )


def satterthwaite(
    fit: REMLFit,
    contrast: Sequence[float] | np.ndarray,
    reparam: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Estimate's variance and Satterthwaite degrees of freedom of ``contrast @ beta``.

    ``reparam = (J, S)`` computes the df in another parametrization
    :math:`\\psi` of the covariance, with :math:`J = \\partial\varphi/\\partial\\psi`
    and :math:`S_k = \\partial^2\varphi_k/\\partial\\psi\\partial\\psi^\top`
    (shape ``(k, q, q)``): the information becomes
    :math:`J^\top I_\varphi J - \\sum_k (\\partial\\ell/\\partial\varphi_k) S_k`
    and the gradient :math:`J^\top g`. At an interior optimum this changes
    nothing; on the boundary (a singular random-effects covariance) the
    gradient term does not vanish, and the df depend on the parametrization:
    lmerTest's is lme4's (relative Cholesky factor and residual SD).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> n = 60
    >>> X = np.zeros((n, 2, 2)); X[:, 0, 0] = 1; X[:, 1, 1] = 1
    >>> y = rng.normal(size=(n, 2)); mask = np.ones((n, 2), dtype=bool)
    >>> basis = unstructured_basis(mask, np.tile([0, 1], (n, 1)), 2)
    >>> fit = fit_reml(Blocks(X, y, mask, basis), CholeskyBlocks((2,)), np.array([1.0, 0.0, 1.0]))
    >>> var, df = satterthwaite(fit, [1.0, 0.0])
    >>> round(df, 6)   # a visit mean's df in a complete unstructured model: n - 1
    59.0
    """
    c = np.asarray(contrast, dtype=float)
    cc = fit.cov_beta @ c
    var = float(c @ cc)
    g = np.einsum("p,kpq,q->k", cc, fit.H, cc)
    info = fit.information
    if reparam is not None:
        jac, second = reparam
        g = jac.T @ g
        info = jac.T @ info @ jac - np.einsum("k,kab->ab", fit.gradient, second)
    try:
        spread = float(g @ np.linalg.solve(info, g))
    except np.linalg.LinAlgError:
        return var, math.nan
    if not spread > 0:
        return var, math.inf
    return var, 2.0 * var**2 / spread

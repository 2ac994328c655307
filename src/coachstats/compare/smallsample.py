r"""Small-sample cluster-robust inference for linear models: CR2 with Satterthwaite df.

With few clusters (the 6 clinics of the peer trial, the 15 clinicians of a
questionnaire study) the usual CR1 sandwich is biased downwards and its t test
on :math:`n - k` df rejects too often. The bias-reduced linearization
estimator CR2 (Bell & McCaffrey 2002) with the Satterthwaite degrees of
freedom of Pustejovsky & Tipton (2018) is the recommended fix, and what R's
``clubSandwich`` computes:

.. code-block:: r

    V <- clubSandwich::vcovCR(fit, cluster = d$clinic, type = "CR2")
    clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")

For OLS with design :math:`Z` (intercept included), :math:`M = (Z^\top Z)^{-1}`,
residuals :math:`e` and clusters :math:`g`:

.. math::

    V^{CR2} = M \Big(\sum_g Z_g^\top A_g e_g e_g^\top A_g Z_g\Big) M,
    \qquad A_g = (I - H_{gg})^{+1/2},\quad H_{gg} = Z_g M Z_g^\top,

the symmetric (pseudo-inverse) square root, and for a contrast :math:`c` with
:math:`p_g = A_g Z_g M c` and :math:`\Omega_{gh} = p_g^\top [(I - H)]_{gh}\, p_h`
(the covariance of the cluster terms under the working model of independent,
homoskedastic errors):

.. math::

    \nu = \frac{(\operatorname{tr}\Omega)^2}{\lVert\Omega\rVert_F^2}.

**How it scales.** :math:`H_{gg}` has rank at most :math:`k`. With
:math:`M = LL^\top` and the eigendecomposition
:math:`L^\top Z_g^\top Z_g L = V_g \operatorname{diag}(\lambda_g) V_g^\top` (a
:math:`k \times k` problem), every quantity above is a function of the
per-cluster sums :math:`Z_g^\top Z_g` and :math:`Z_g^\top e_g` alone: no
:math:`n_g \times n_g` matrix is ever formed, the cost is :math:`O(n k^2 + G k^3)`,
and :math:`\lVert\Omega\rVert_F^2` is reduced to :math:`k \times k` products.

References
----------
Bell RM, McCaffrey DF. Bias reduction in standard errors for linear regression
with multi-stage samples. Survey Methodology 2002;28:169-181.
Pustejovsky JE, Tipton E. Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. J Bus Econ Stat
2018;36:672-683.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> Z = np.column_stack([np.ones(12), np.repeat([0.0, 1.0], 6), rng.normal(size=12)])
>>> e = rng.normal(size=12)
>>> codes = np.repeat(np.arange(4), 3)
>>> res = cr2_from_sums(cluster_cross_products(Z, e, codes, 4), np.array([0.0, 1.0, 0.0]))
>>> bool(res.std_error > 0), bool(0 < res.df < 4)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coachstats.compare.design import Additive
from coachstats.core.errors import AnalysisError

__all__ = [
    "CR2Result",
    "ClusterCrossProducts",
    "cluster_cross_products",
    "cluster_grams",
    "cr2_from_sums",
    "ols_cross_products",
]

#: Eigenvalues of I - H_gg at or below this are treated as 0 (the pseudo-inverse
#: square root), as clubSandwich's ``Sym_power`` does (``tol = 1e-12``).
_EIGEN_TOL = 1e-12


@dataclass(frozen=True)
class CR2Result:
    """CR2 covariance of the coefficients and the Satterthwaite df of one contrast.

    Attributes
    ----------
    vcov : ndarray
        :math:`V^{CR2}`, ``(k, k)``, in the parametrization of ``Z``.
    std_error : float
        :math:`\\sqrt{c^\\top V^{CR2} c}`.
    df : float
        Satterthwaite degrees of freedom :math:`\\nu` of the contrast.
    """

    vcov: np.ndarray
    std_error: float
    df: float


@dataclass(frozen=True)
class ClusterCrossProducts(Additive):
    """Per-cluster :math:`Z_g^\\top Z_g` ``(G, k, k)`` and :math:`Z_g^\\top e_g` ``(G, k)``.

    Sums over rows, so the products of chunks add (``a + b``).
    """

    ZZ: np.ndarray
    Ze: np.ndarray


def cluster_cross_products(
    Z: np.ndarray, e: np.ndarray, codes: np.ndarray, n_clusters: int
) -> ClusterCrossProducts:
    """Per-cluster cross products of the design ``Z`` (``(n, k)``) and the residuals ``e``.

    One ``np.bincount`` per pair of columns (no ``(n, k, k)`` temporary).

    Examples
    --------
    >>> Z = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    >>> s = cluster_cross_products(Z, np.array([1.0, -1.0, 0.5]), np.array([0, 0, 1]), 2)
    >>> s.ZZ[0].tolist(), s.Ze[1].tolist()
    ([[2.0, 5.0], [5.0, 13.0]], [0.5, 2.5])
    """
    k = Z.shape[1]
    ZZ = cluster_grams(Z.T, codes, n_clusters)
    Ze = np.column_stack(
        [np.bincount(codes, weights=Z[:, i] * e, minlength=n_clusters) for i in range(k)]
    )
    return ClusterCrossProducts(ZZ, Ze)


def cluster_grams(values_t: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per-cluster Gram matrices of the columns of ``values_t.T``: ``(G, k, k)``.

    One ``np.bincount`` per pair of rows of the ``(k, n)`` array ``values_t``.

    Examples
    --------
    >>> cluster_grams(np.array([[1.0, 2.0, 3.0]]), np.array([0, 0, 1]), 2)[:, 0, 0].tolist()
    [5.0, 9.0]
    """
    k = values_t.shape[0]
    out = np.empty((n_clusters, k, k))
    for a in range(k):  # loops over columns, not rows or clusters
        for b in range(a, k):
            s = np.bincount(codes, weights=values_t[a] * values_t[b], minlength=n_clusters)
            out[:, a, b] = s
            out[:, b, a] = s
    return out


def ols_cross_products(
    XT: np.ndarray,
    y: np.ndarray,
    codes: np.ndarray,
    n_clusters: int,
    coef: np.ndarray,
    intercept: float,
    center: np.ndarray,
) -> ClusterCrossProducts:
    """:func:`cluster_cross_products` of a fitted OLS model with one intercept.

    ``XT`` is the ``(p, n)`` design without the intercept, ``coef`` its slopes
    and ``intercept`` the intercept (on the uncentred design). ``Z`` is
    ``[1, X - center]``: centring does not change the hat matrix, hence not
    CR2, and keeps :math:`Z^\\top Z` well conditioned. Any fixed ``center``
    works, so every chunk of a streamed fit uses the same one.

    Examples
    --------
    >>> XT = np.array([[0.0, 1.0, 0.0, 1.0]])
    >>> s = ols_cross_products(XT, np.array([1.0, 2.0, 1.5, 2.5]), np.array([0, 0, 1, 1]), 2,
    ...                        np.array([1.0]), 1.25, np.array([0.5]))
    >>> s.Ze.tolist()  # residuals -0.25, -0.25, 0.25, 0.25
    [[-0.5, 0.0], [0.5, 0.0]]
    """
    e = y - intercept - coef @ XT
    Z = np.empty((XT.shape[1], XT.shape[0] + 1))
    Z[:, 0] = 1.0
    np.subtract(XT.T, center, out=Z[:, 1:])
    return cluster_cross_products(Z, e, codes, n_clusters)


def cr2_from_sums(sums: ClusterCrossProducts, c: np.ndarray) -> CR2Result:
    """CR2 vcov and the Satterthwaite df of ``c'beta`` from per-cluster sums.

    Parameters
    ----------
    sums : ClusterCrossProducts
        At the OLS solution (:func:`cluster_cross_products`,
        :func:`ols_cross_products`), summed over all rows.
    c : ndarray
        The contrast (e.g. the unit vector of the arm coefficient).

    Returns
    -------
    CR2Result
    """
    ZZ, Ze = sums.ZZ, sums.Ze
    try:
        M = np.linalg.inv(ZZ.sum(axis=0))
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(f"CR2: the design is singular ({exc})") from exc
    # stacked matrix products (O(G k^3)); a three-operand einsum would be O(G k^4)
    C = L.T @ ZZ @ L  # L' Z_g'Z_g L, (G, k, k)
    lam, V = np.linalg.eigh(C)
    lam = np.clip(lam, 0.0, 1.0)
    rest = 1.0 - lam  # eigenvalues of I - H_gg on the column space of Z_g
    regular = rest > _EIGEN_TOL
    used = lam > _EIGEN_TOL  # directions with lam = 0 have Z_g L v = 0 and drop out
    safe_rest = np.where(regular, rest, 1.0)
    safe_lam = np.where(used, lam, 1.0)
    # A_g = I + U diag(f) U' and A_g^2 = (I - H_gg)^+ = I + U diag(q) U', with
    # U = Z_g L V diag(lam)^-1/2; f and q over lam enter every product below.
    f_lam = np.where(used, (np.where(regular, safe_rest**-0.5, 0.0) - 1.0) / safe_lam, 0.0)
    q_lam = np.where(used, np.where(regular, lam / safe_rest, -1.0) / safe_lam, 0.0)
    GLV = (ZZ @ L) @ V  # Z_g'Z_g L V

    def project(v: np.ndarray) -> np.ndarray:
        """``V_g' L' v_g`` for per-cluster vectors ``v`` ``(G, k)``."""
        return np.einsum("gji,gj->gi", V, v @ L)

    # meat: w_g = Z_g' A_g e_g
    w = Ze + np.einsum("gik,gk->gi", GLV, f_lam * project(Ze))
    vcov = M @ (w.T @ w) @ M
    se2 = float(c @ vcov @ c)
    # Satterthwaite df of c'beta: d_g = p_g'p_g, u_g = Z_g' p_g, Omega = diag(d) - U M U'
    m = M @ c
    Gm = ZZ @ m
    s = project(Gm)
    d = Gm @ m + np.sum(q_lam * s * s, axis=1)
    u = Gm + np.einsum("gik,gk->gi", GLV, f_lam * s)
    b_diag = np.einsum("gi,gi->g", u @ M, u)
    UU = u.T @ u
    trace = float(np.sum(d - b_diag))
    frob = float(np.sum(d * d) - 2.0 * np.sum(d * b_diag) + np.trace(M @ UU @ M @ UU))
    if not (se2 > 0.0 and trace > 0.0 and frob > 0.0):
        raise AnalysisError(
            "CR2: the cluster-robust variance of the arm effect is 0 (every cluster's "
            "residuals are explained exactly); use cluster_vcov='CR1' or no clusters"
        )
    return CR2Result(vcov=vcov, std_error=se2**0.5, df=trace * trace / frob)

r"""Generalized estimating equations with an exchangeable or independence working correlation.

The engine of :func:`coachstats.compare.models.gee`. The marginal model
:math:`g(\mu_{ij}) = x_{ij}^\top\beta` (patient :math:`j` in cluster :math:`i`)
is fitted by solving

.. math:: \sum_i D_i^\top V_i^{-1} (y_i - \mu_i) = 0,\qquad
          V_i = \phi A_i^{1/2} R_i(\rho) A_i^{1/2},

with :math:`D_i = \partial\mu_i/\partial\beta`, :math:`A_i` the variance
function, and :math:`R_i = (1-\rho) I + \rho J` (exchangeable) or :math:`I`
(independence). Families: binomial with the logit link, gaussian with the
identity link.

No per-cluster matrix is ever formed: the exchangeable inverse has the closed
form

.. math:: R_i^{-1} = \frac{1}{1-\rho}\Big(I - c_i J\Big),\qquad
          c_i = \frac{\rho}{1 + (n_i - 1)\rho},

so with :math:`d_{ij} = \mu'_{ij}/\sqrt{v_{ij}}` and the Pearson residuals
:math:`e_{ij} = (y_{ij} - \mu_{ij})/\sqrt{v_{ij}}`,

.. math::

    \phi(1-\rho)\, D^\top V^{-1} D = X^\top \operatorname{diag}(d^2) X
        - \sum_i c_i\, t_i t_i^\top,\qquad
    \phi(1-\rho)\, U_i = \sum_j d_{ij} e_{ij} x_{ij} - c_i t_i \sum_j e_{ij},

with :math:`t_i = \sum_j d_{ij} x_{ij}`: every quantity is a per-cluster sum
(``np.bincount``).

Estimation follows ``geepack::geeglm`` (Halekoh, Hojsgaard & Yan 2006), which
alternates one Fisher-scoring step for :math:`\beta` with its moment equations
for the scale and the correlation:

.. math::

    \hat\phi = \frac{1}{N}\sum_{ij} e_{ij}^2,\qquad
    \hat\rho = \frac{\sum_i \sum_{j<k} e_{ij} e_{ik}}{\hat\phi \sum_i n_i(n_i-1)/2}

(geepack's defaults: the scale is estimated for both families, and neither
divisor subtracts the number of coefficients ``p``). ``moment_df="n-p"`` uses
statsmodels' divisors instead, :math:`N - p` and :math:`\sum_i n_i(n_i-1)/2 - p`.
Iteration runs to a fixed point (``tol``). When the alternation cycles instead
of converging (it can with few clusters and a negative rho; geepack then stops
at ``maxit``), the fixed point is found by Brent's method on
:math:`\rho = \hat\rho(\hat\beta(\rho))`. geepack's default
``epsilon = 1e-4`` stops earlier, so default ``geeglm`` fits agree with these
only to about 1e-5.

Fallback: a negative :math:`\hat\rho` at or below :math:`-1/(n_{max}-1)`
(patients within a cluster no more alike than across clusters) makes the
working covariance of the largest clusters indefinite, and near that value the
estimating equations have a pole (geepack then diverges or returns an
indefinite fit). In that case, or if the iteration diverges, the model is fitted
with the **independence** working correlation instead, with a
:class:`~coachstats.errors.DataWarning`; ``GEEFit.corr`` and ``note`` say so.
The robust SE of the independence fit is valid whatever the true correlation.

The robust ("sandwich", geepack's ``san.se``) covariance is
:math:`H^{-1}\big(\sum_i U_i U_i^\top\big)H^{-1}` with :math:`H = \sum_i
D_i^\top V_i^{-1} D_i`, without small-sample correction (as geepack and
statsmodels' default ``cov_type="robust"``); the model-based ("naive") one is
:math:`H^{-1}`.

References
----------
Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models.
Biometrika 1986;73:13-22.
Halekoh U, Hojsgaard S, Yan J. The R package geepack for generalized estimating
equations. J Stat Softw 2006;15(2).

Examples
--------
>>> from coachstats.compare.design import GroupIndex
>>> rng = np.random.default_rng(3)
>>> cl = np.repeat(np.arange(30), 10)
>>> x = rng.normal(size=(300, 1))
>>> y = 1.0 + 0.5 * x[:, 0] + rng.normal(size=30)[cl] + rng.normal(size=300)
>>> fit = fit_gee(x, y, GroupIndex.from_values(cl), family="gaussian", corr="exchangeable")
>>> fit.params.round(3), round(fit.rho, 3)
(array([0.915, 0.511]), 0.5)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
from scipy import optimize
from scipy.special import expit

from coachstats.compare.design import GroupIndex
from coachstats.compare.glm import fit_linear, fit_logistic
from coachstats.errors import AnalysisError, ConvergenceWarning, DataWarning, check_option

__all__ = ["CORRELATIONS", "FAMILIES", "GEEFit", "fit_gee"]

GEEFamily = Literal["binomial", "gaussian"]
Correlation = Literal["exchangeable", "independence"]
MomentDF = Literal["n", "n-p"]
FAMILIES: tuple[str, ...] = ("binomial", "gaussian")
CORRELATIONS: tuple[str, ...] = ("exchangeable", "independence")


@dataclass(frozen=True)
class GEEFit:
    """A fitted GEE.

    ``params`` and the covariances are for ``[intercept, columns of X]``.
    ``rho`` is the working correlation (0 for independence), ``scale`` the
    estimated :math:`\\phi`; ``corr`` the working correlation actually used
    and ``note`` why, when it differs from the one asked for.
    """

    params: np.ndarray
    vcov_robust: np.ndarray
    vcov_naive: np.ndarray
    rho: float
    scale: float
    family: str
    corr: str
    nobs: int
    n_clusters: int
    max_cluster_size: int
    iterations: int
    converged: bool
    note: str = ""


def _mean_parts(
    family: str, eta: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted means, ``d = mu' / sqrt(v)`` and Pearson residuals."""
    if family == "binomial":
        mu = expit(eta)
        sd = np.sqrt(mu * (1.0 - mu))
        return mu, sd, (y - mu) / sd
    return eta, np.ones_like(eta), y - eta


def _moments(
    e: np.ndarray, clusters: GroupIndex, n_pairs: float, ddof: int, exchangeable: bool
) -> tuple[float, float]:
    """geepack's (or statsmodels') moment estimators of the scale and rho."""
    n = len(e)
    ss = float(e @ e)
    scale = ss / (n - ddof)
    if not exchangeable or n_pairs - ddof <= 0:
        return scale, 0.0
    s = clusters.sums(e)
    pairs = 0.5 * (float(s @ s) - ss)
    return scale, pairs / (scale * (n_pairs - ddof))


def _score_parts(
    Xc: np.ndarray,
    d: np.ndarray,
    e: np.ndarray,
    clusters: GroupIndex,
    rho: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``phi * H`` and the per-cluster ``phi * U_i`` (``(G, p)``)."""
    c = rho / (1.0 + (clusters.counts - 1.0) * rho)
    T = clusters.sums(Xc * d[:, None])
    H = ((Xc * (d * d)[:, None]).T @ Xc - (T * c[:, None]).T @ T) / (1.0 - rho)
    U = (clusters.sums(Xc * (d * e)[:, None]) - T * (c * clusters.sums(e))[:, None]) / (1.0 - rho)
    return H, U


def _check_rho(rho: float, counts: np.ndarray) -> None:
    """rho must keep every R_i invertible (geepack imposes nothing more)."""
    if not (math.isfinite(rho) and rho < 1.0) or np.any(np.abs(1.0 + (counts - 1.0) * rho) < 1e-12):
        raise AnalysisError(
            f"the exchangeable working correlation rho = {rho:.4g} makes a working "
            "correlation matrix singular; use corr='independence'"
        )


def _solve(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        # Symmetric, not necessarily definite: with rho < -1/(n_i - 1), as in geepack.
        out: np.ndarray = sla.solve(H, rhs, assume_a="sym")
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise AnalysisError(
            "GEE: D'V^-1 D is singular (collinear regressors, or an exchangeable rho "
            "at a singular value); use corr='independence'"
        ) from exc
    return out


def fit_gee(
    X: np.ndarray,
    y: np.ndarray,
    clusters: GroupIndex,
    *,
    family: GEEFamily,
    corr: Correlation = "exchangeable",
    moment_df: MomentDF = "n",
    max_iter: int = 100,
    tol: float = 1e-10,
) -> GEEFit:
    """Fit a GEE (an intercept is added to ``X``).

    Parameters
    ----------
    X : ndarray
        ``(n, p)`` regressors without the intercept.
    y : ndarray
        Outcome (0/1 for ``family="binomial"``).
    clusters : GroupIndex
        Cluster of each row (rows need not be sorted).
    family : {"binomial", "gaussian"}
        Binomial with logit link, or gaussian with identity link.
    corr : {"exchangeable", "independence"}
        Working correlation.
    moment_df : {"n", "n-p"}
        Divisors of the moment estimators: geepack's (``"n"``) or statsmodels'.
    max_iter, tol : int, float
        Alternating iterations and the convergence threshold on the largest
        change in beta, the scale and rho.

    Returns
    -------
    GEEFit
    """
    check_option("family", family, FAMILIES)
    check_option("corr", corr, CORRELATIONS)
    check_option("moment_df", moment_df, ("n", "n-p"))
    n, p = X.shape
    if clusters.n_groups < 2:
        raise AnalysisError(f"GEE needs at least 2 clusters; found {clusters.n_groups}")
    # Centre the regressors (the intercept absorbs the means): better conditioned H.
    means = X.mean(axis=0)
    Xc = np.empty((n, p + 1))
    Xc[:, 0] = 1.0
    Xc[:, 1:] = X - means
    start = fit_logistic(X, y) if family == "binomial" else fit_linear(X, y)
    beta = np.concatenate([[start.group_coef[0] + means @ start.coef], start.coef])
    ddof = 0 if moment_df == "n" else p + 1
    counts = clusters.counts.astype(float)
    n_pairs = float(np.sum(counts * (counts - 1.0)) / 2.0)
    max_size = int(clusters.counts.max())

    def beta_step(b: np.ndarray, r: float) -> tuple[np.ndarray, float]:
        """One Fisher-scoring step for beta at fixed rho; returns (beta, relative step)."""
        _check_rho(r, counts)
        _, dd, ee = _mean_parts(family, Xc @ b, y)
        H, U = _score_parts(Xc, dd, ee, clusters, r)
        delta = _solve(H, U.sum(axis=0))
        b = b + delta
        return b, float(np.max(np.abs(delta)) / (1.0 + np.max(np.abs(b))))

    def moments_at(b: np.ndarray, exch: bool) -> tuple[float, float]:
        _, _, ee = _mean_parts(family, Xc @ b, y)
        return _moments(ee, clusters, n_pairs, ddof, exch)

    def solve_exchangeable() -> tuple[np.ndarray, float, float, int, bool]:
        b = beta
        scale, rho = moments_at(b, True)
        converged = False
        it = 0
        history = [rho]
        while not converged and it < max_iter:  # geepack's alternating iteration
            it += 1
            b, step = beta_step(b, rho)
            new_scale, new_rho = moments_at(b, True)
            change = max(step, abs(new_scale - scale) / (1.0 + scale), abs(new_rho - rho))
            scale, rho = new_scale, new_rho
            history.append(rho)
            converged = change <= tol
        if not converged:
            # The alternation can cycle (few clusters, rho < 0). The fixed point solves
            # rho = rho_hat(beta(rho)) with beta(rho) the GEE solution at fixed rho;
            # the last two iterates of a cycle bracket it.
            state = {"beta": b}

            def gap(r: float) -> float:
                bb = state["beta"]
                for _ in range(max_iter):
                    bb, step = beta_step(bb, r)
                    if step <= tol:
                        break
                state["beta"] = bb
                return moments_at(bb, True)[1] - r

            lo, hi = sorted(history[-2:])
            if lo < hi and gap(lo) * gap(hi) < 0.0:
                rho = float(optimize.brentq(gap, lo, hi, xtol=1e-15, rtol=1e-14))
                gap(rho)
                b = state["beta"]
                scale, _ = moments_at(b, True)
                converged = True
        return b, scale, rho, it, converged

    used = corr
    note = ""
    it, converged = 0, True
    if corr == "exchangeable":
        lower = -1.0 / (max_size - 1) if max_size > 1 else -math.inf
        try:
            with np.errstate(divide="raise", over="raise", invalid="raise"):
                b, scale, rho, it, converged = solve_exchangeable()
            if not (np.all(np.isfinite(b)) and rho > lower):
                raise FloatingPointError(f"rho = {rho:.4g}")
            beta = b
        except (FloatingPointError, AnalysisError) as exc:
            used = "independence"
            note = (
                "exchangeable working correlation not estimable "
                f"({exc}; rho must exceed -1/(n_max - 1) = {lower:.4g}): "
                "fitted with the independence working correlation"
            )
            warnings.warn(
                f"GEE: {note}. This happens when patients in a cluster are no more "
                "alike than patients in different clusters (rho <= 0); the robust SE of "
                "the independence fit remains valid",
                DataWarning,
                stacklevel=2,
            )
    if used == "independence":  # the GLM fit is the solution
        scale, rho = moments_at(beta, False)
    if not converged:
        warnings.warn(
            f"GEE did not converge in {max_iter} iterations (tolerance {tol:g})",
            ConvergenceWarning,
            stacklevel=2,
        )
    _, d, e = _mean_parts(family, Xc @ beta, y)
    H, U = _score_parts(Xc, d, e, clusters, rho)
    H_inv = _solve(H, np.eye(p + 1))
    H_inv = (H_inv + H_inv.T) / 2.0
    robust = H_inv @ (U.T @ U) @ H_inv
    # Back to the uncentred intercept: beta_0 = b_0 - means' b.
    T = np.eye(p + 1)
    T[0, 1:] = -means
    params = T @ beta
    return GEEFit(
        params=params,
        vcov_robust=T @ robust @ T.T,
        vcov_naive=scale * (T @ H_inv @ T.T),
        rho=float(rho),
        scale=float(scale),
        family=family,
        corr=used,
        nobs=n,
        n_clusters=clusters.n_groups,
        max_cluster_size=max_size,
        iterations=it,
        converged=converged,
        note=note,
    )

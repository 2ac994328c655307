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
(``np.bincount``), and so are the sums of the moment estimators below: each
iteration is one pass over the rows computing :class:`GEEStats`, which add
across chunks of rows (in memory, streamed from Parquet, or on Dask).

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
:class:`~coachstats.core.errors.DataWarning`; ``GEEFit.corr`` and ``note`` say so.
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
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla
from scipy.special import expit

from coachstats.compare.design import (
    Additive,
    GroupIndex,
    ModelRows,
    Request,
    combine_rows,
    run_local,
    vdot,
)
from coachstats.compare.newton import BLOCK_ROWS, initial_intercepts, newton_steps, not_converged
from coachstats.compare.smallsample import cluster_grams
from coachstats.core.errors import AnalysisError, ConvergenceWarning, DataWarning, check_option

__all__ = [
    "CORRELATIONS",
    "FAMILIES",
    "SMALL_SAMPLE",
    "GEEFit",
    "GEEStats",
    "fit_gee",
    "gee_stats",
    "gee_steps",
]

GEEFamily = Literal["binomial", "gaussian"]
Correlation = Literal["exchangeable", "independence"]
MomentDF = Literal["n", "n-p"]
SmallSample = Literal["none", "MD"]
#: Small-sample corrections of the robust covariance: none, or Mancl & DeRouen (2001).
SMALL_SAMPLE: tuple[str, ...] = ("none", "MD")
FAMILIES: tuple[str, ...] = ("binomial", "gaussian")
CORRELATIONS: tuple[str, ...] = ("exchangeable", "independence")


@dataclass(frozen=True)
class GEEFit:
    """A fitted GEE.

    ``params`` and the covariances are for ``[intercept, columns of X]``.
    ``rho`` is the working correlation (0 for independence), ``scale`` the
    estimated :math:`\\phi`; ``corr`` the working correlation actually used
    and ``note`` why, when it differs from the one asked for;
    ``small_sample`` the correction in ``vcov_robust`` (``"MD"``: Mancl-DeRouen).
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
    small_sample: str = "none"


def _mean_parts(
    family: str, eta: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted means, ``d = mu' / sqrt(v)`` and Pearson residuals."""
    if family == "binomial":
        mu = expit(eta)
        sd = np.sqrt(mu * (1.0 - mu))
        return mu, sd, (y - mu) / sd
    return eta, np.ones_like(eta), y - eta


@dataclass(frozen=True)
class GEEStats(Additive):
    r"""Per-iteration sums of the GEE at one :math:`\beta` (additive over chunks of rows).

    With the centred design :math:`x_{ij}` (intercept first), :math:`d_{ij}`
    and the Pearson residuals :math:`e_{ij}`: ``ee`` :math:`=\sum e^2`,
    ``es`` :math:`=\sum_j e_{ij}` per cluster, ``h0`` :math:`=\sum d^2 x x^\top`,
    ``T`` :math:`=\sum_j d_{ij} x_{ij}` and ``DE`` :math:`=\sum_j d_{ij} e_{ij}
    x_{ij}` per cluster. Everything the scoring step, the moment estimators and
    the sandwich need, for any :math:`\rho`.
    """

    nobs: int
    ee: float
    es: np.ndarray
    h0: np.ndarray
    T: np.ndarray
    DE: np.ndarray


def gee_stats(rows: ModelRows, center: np.ndarray, beta: np.ndarray, family: str) -> GEEStats:
    """:class:`GEEStats` of ``rows`` (clusters in ``rows.clusters``) at ``beta``.

    ``beta`` is on the design ``[1, X - center]``.
    """
    if rows.clusters is None:  # pragma: no cover - the callers always set clusters
        raise AnalysisError("GEE rows need cluster codes")
    XcT = rows.centered(center)
    y, codes = rows.y, rows.clusters
    k, n = XcT.shape
    G = rows.n_clusters
    ee, es = 0.0, np.zeros(G)
    h0, T, DE = np.zeros((k, k)), np.zeros((G, k)), np.zeros((G, k))
    # block by block, so that the temporaries stay in the CPU cache (as newton_stats)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        Xb, yb, cb = XcT[:, start:stop], y[start:stop], codes[start:stop]
        eta = combine_rows(beta, Xb)
        if family == "binomial":  # _mean_parts, in place
            mu = expit(eta, out=eta)
            d = np.subtract(1.0, mu)
            d *= mu
            np.sqrt(d, out=d)
            r = np.subtract(yb, mu, out=mu)
            e = np.divide(r, d)
            XD = np.multiply(Xb, d)
            XR = np.multiply(Xb, r)  # d * e * x
        else:
            e = np.subtract(yb, eta, out=eta)
            XD = Xb
            XR = np.multiply(Xb, e)
        ee += vdot(e, e)
        es += np.bincount(cb, weights=e, minlength=G)
        h0 += XD @ XD.T
        T += _cluster_sums(cb, XD, G)
        DE += _cluster_sums(cb, XR, G)
    return GEEStats(nobs=rows.nobs, ee=ee, es=es, h0=h0, T=T, DE=DE)


def _cluster_sums(codes: np.ndarray, values_t: np.ndarray, n: int) -> np.ndarray:
    out = np.empty((n, values_t.shape[0]))
    for j in range(values_t.shape[0]):  # loop over columns, not rows or clusters
        out[:, j] = np.bincount(codes, weights=values_t[j], minlength=n)
    return out


class _RhoOutOfRangeError(FloatingPointError):
    """The exchangeable correlation estimate left its admissible range."""


class _NoFixedPointError(FloatingPointError):
    """The exchangeable alternation neither converged nor bracketed its fixed point."""


def _moments_from(
    ss: float, s: np.ndarray, n: int, n_pairs: float, ddof: int, exchangeable: bool
) -> tuple[float, float]:
    r"""Scale :math:`\sum e^2/(N - ddof)` and rho from :math:`\sum e^2` and cluster sums ``s``."""
    scale = ss / (n - ddof)
    if not exchangeable or n_pairs - ddof <= 0:
        return scale, 0.0
    pairs = 0.5 * (float(s @ s) - ss)
    return scale, pairs / (scale * (n_pairs - ddof))


def _moments(
    e: np.ndarray, clusters: GroupIndex, n_pairs: float, ddof: int, exchangeable: bool
) -> tuple[float, float]:
    """geepack's (or statsmodels') moment estimators of the scale and rho."""
    return _moments_from(vdot(e, e), clusters.sums(e), len(e), n_pairs, ddof, exchangeable)


def _score_parts(stats: GEEStats, counts: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """``phi * H`` and the per-cluster ``phi * U_i`` (``(G, p)``) at working correlation rho."""
    c = rho / (1.0 + (counts - 1.0) * rho)
    T = stats.T
    H = (stats.h0 - (T * c[:, None]).T @ T) / (1.0 - rho)
    U = (stats.DE - T * (c * stats.es)[:, None]) / (1.0 - rho)
    return H, U


def gee_cluster_grams(
    rows: ModelRows, center: np.ndarray, beta: np.ndarray, family: str
) -> np.ndarray:
    """Per-cluster :math:`\\sum_{j \\in i} \\tilde d_j \\tilde d_j^\\top` ``(G, p, p)``, with
    :math:`\\tilde d_j = d_j x_j` the rows of ``XD`` of :func:`gee_stats` (additive over chunks)."""
    if rows.clusters is None:  # pragma: no cover - the callers always set clusters
        raise AnalysisError("GEE rows need cluster codes")
    XcT = rows.centered(center)
    eta = combine_rows(beta, XcT)
    if family == "binomial":
        mu = expit(eta)
        XD = XcT * np.sqrt(mu * (1.0 - mu))
    else:
        XD = XcT
    return cluster_grams(XD, rows.clusters, rows.n_clusters)


def _mancl_derouen_scores(
    grams: np.ndarray,
    stats: GEEStats,
    counts: np.ndarray,
    rho: float,
    H_inv: np.ndarray,
    U: np.ndarray,
) -> np.ndarray:
    r"""Cluster scores with the bias correction of Mancl & DeRouen (2001).

    :math:`\tilde U_i = D_i^\top V_i^{-1} (I - H_{ii})^{-1} e_i` with the cluster
    leverage :math:`H_{ii} = D_i (\sum D^\top V^{-1} D)^{-1} D_i^\top V_i^{-1}`. By the
    push-through identity this is :math:`(I - H_i H^{-1})^{-1} U_i`, with
    :math:`H_i = D_i^\top V_i^{-1} D_i` (``p x p``): no ``n_i x n_i`` matrix.
    """
    c = rho / (1.0 + (counts - 1.0) * rho)
    T = stats.T
    H_i = (grams - c[:, None, None] * T[:, :, None] * T[:, None, :]) / (1.0 - rho)
    A = np.eye(H_inv.shape[0])[None] - H_i @ H_inv
    try:
        return np.linalg.solve(A, U[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(
            "GEE: the Mancl-DeRouen correction needs I - H_ii invertible; a cluster has "
            "leverage 1 (it alone determines a coefficient); use small_sample='none'"
        ) from exc


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
        # Singular to working precision (scipy's LinAlgWarning, rcond below machine
        # epsilon) counts as singular: the solution would be noise.
        with warnings.catch_warnings():
            warnings.simplefilter("error", sla.LinAlgWarning)
            out: np.ndarray = sla.solve(H, rhs, assume_a="sym")
    except (np.linalg.LinAlgError, ValueError, sla.LinAlgWarning) as exc:
        raise AnalysisError(
            "GEE: D'V^-1 D is singular (collinear regressors, or an exchangeable rho "
            "at a singular value); use corr='independence'"
        ) from exc
    return out


_Steps = Generator[Request[Any], Any, Any]


def _brentq(
    f: Callable[[float], _Steps], xa: float, xb: float, xtol: float, rtol: float, maxiter: int = 100
) -> Generator[Request[Any], Any, float]:
    """Brent's root finder (the algorithm of ``scipy.optimize.brentq``) on a generator function.

    ``f(x)`` is itself a generator of requests returning the function value, so
    every evaluation may take passes over the data.
    """
    xpre, xcur = xa, xb
    xblk = fblk = spre = scur = 0.0
    fpre = yield from f(xpre)
    fcur = yield from f(xcur)
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    for _ in range(maxiter):
        if fpre != 0.0 and fcur != 0.0 and (math.copysign(1, fpre) != math.copysign(1, fcur)):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = yield from f(xcur)
    return xcur


def gee_steps(
    counts: np.ndarray,
    center: np.ndarray,
    events: float,
    *,
    family: GEEFamily,
    corr: Correlation = "exchangeable",
    moment_df: MomentDF = "n",
    max_iter: int = 100,
    tol: float = 1e-10,
    small_sample: SmallSample = "none",
) -> Generator[Request[Any], Any, GEEFit]:
    """The GEE fit of :func:`fit_gee` as a generator of requests on chunks of rows.

    Parameters
    ----------
    counts : ndarray
        Cluster sizes :math:`n_i`.
    center : ndarray
        Column means of ``X`` (the design is centred; the intercept absorbs them).
    events : float
        :math:`\\sum y` (binomial: the starting intercept).
    family, corr, moment_df, max_iter, tol, small_sample
        As in :func:`fit_gee`.

    Each pass computes :class:`GEEStats` (or, for the starting GLM,
    :class:`~coachstats.compare.glm.NewtonStats`) over rows whose
    ``clusters`` hold the cluster codes and whose ``groups`` is None.
    """
    counts_f = counts.astype(float)
    n = int(counts.sum())
    p = len(center)
    if len(counts) < 2:
        raise AnalysisError(f"GEE needs at least 2 clusters; found {len(counts)}")
    binomial = family == "binomial"
    # Start from the GLM (independence) on the same design.
    alpha0 = initial_intercepts(np.array([events]), np.array([n])) if binomial else np.zeros(1)
    if not binomial and n - p - 1 <= 0:
        raise AnalysisError(
            f"{n} observations for {p + 1} coefficients: no residual degrees of freedom"
        )
    start = yield from newton_steps(alpha0, center[None, :], family=family)
    if not start.converged:
        if binomial:
            raise not_converged(start.iterations)
        raise AnalysisError(
            "linear regression: the information matrix is singular (collinear or constant regressors)"
        )
    beta = np.concatenate([[start.group_coef[0] + center @ start.coef], start.coef])
    ddof = 0 if moment_df == "n" else p + 1
    n_pairs = float(np.sum(counts_f * (counts_f - 1.0)) / 2.0)
    max_size = int(counts.max())

    def request(b: np.ndarray) -> Request[GEEStats]:
        def compute(rows: ModelRows) -> GEEStats:
            with np.errstate(divide="raise", over="raise", invalid="raise"):
                return gee_stats(rows, center, b, family)

        return compute

    def moments(st: GEEStats, exch: bool) -> tuple[float, float]:
        if not exch:
            return _moments_from(st.ee, st.es, n, n_pairs, ddof, exch)
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            return _moments_from(st.ee, st.es, n, n_pairs, ddof, exch)

    def beta_step(b: np.ndarray, st: GEEStats, r: float) -> tuple[np.ndarray, float]:
        """One Fisher-scoring step for beta at fixed rho; returns (beta, relative step)."""
        # Floating-point trouble means the exchangeable fit fails (the errstate is set
        # here and in the requests, never across a yield, where other code runs).
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            _check_rho(r, counts_f)
            H, U = _score_parts(st, counts_f, r)
            delta = _solve(H, U.sum(axis=0))
            b = b + delta
            return b, float(np.max(np.abs(delta)) / (1.0 + np.max(np.abs(b))))

    def solve_exchangeable() -> Generator[
        Request[Any], Any, tuple[np.ndarray, GEEStats, float, float, int, bool]
    ]:
        b = beta
        st = yield request(b)
        scale, rho = moments(st, True)
        converged = False
        it = 0
        while not converged and it < max_iter:  # geepack's alternating iteration
            it += 1
            b, step = beta_step(b, st, rho)
            st = yield request(b)
            new_scale, new_rho = moments(st, True)
            change = max(step, abs(new_scale - scale) / (1.0 + scale), abs(new_rho - rho))
            scale, rho = new_scale, new_rho
            converged = change <= tol
        if not converged:
            # The alternation can cycle (few clusters, rho < 0). The fixed point solves
            # rho = rho_hat(beta(rho)) with beta(rho) the GEE solution at fixed rho;
            # the last two iterates of a cycle bracket it.
            state: dict[str, Any] = {"beta": b, "stats": st}

            def gap(r: float) -> Generator[Request[Any], Any, float]:
                bb, ss = state["beta"], state["stats"]
                for _ in range(max_iter):
                    bb, step = beta_step(bb, ss, r)
                    ss = yield request(bb)
                    if step <= tol:
                        break
                state["beta"], state["stats"] = bb, ss
                return moments(ss, True)[1] - r

            # The bracket comes from a fixed grid over the admissible range, not from the
            # cycle's last iterates: those depend on the path (even on the row order), the
            # fixed point does not. One sign change is required; none or several (no
            # fixed point, or more than one) leave the fit unconverged.
            lower_rho = -1.0 / (max_size - 1) if max_size > 1 else -0.95
            grid = sorted(
                {lower_rho * c for c in (0.98, 0.9, 0.75, 0.5, 0.25, 0.1)}
                | {0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95}
            )
            gaps = []
            for r in grid:
                gaps.append((yield from gap(r)))
            changes = [k for k in range(len(grid) - 1) if gaps[k] * gaps[k + 1] < 0.0]
            if len(changes) == 1:
                lo, hi = grid[changes[0]], grid[changes[0] + 1]
                rho = yield from _brentq(gap, lo, hi, xtol=1e-15, rtol=1e-14)
                yield from gap(rho)
                b, st = state["beta"], state["stats"]
                scale, _ = moments(st, True)
                converged = True
        return b, st, scale, rho, it, converged

    used = corr
    note = ""
    it, converged = 0, True
    stats: GEEStats | None = None
    if corr == "exchangeable":
        lower = -1.0 / (max_size - 1) if max_size > 1 else -math.inf
        try:
            b, st, scale, rho, it, converged = yield from solve_exchangeable()
            if not converged:
                # No fixed point in reach (geepack flags the same data with error = 1, often
                # with rho past its bound): the last iterate is arbitrary -- it even depends
                # on the row order -- so it is not reported.
                raise _NoFixedPointError(
                    f"the alternating iteration did not converge in {max_iter} iterations "
                    f"(last rho = {rho:.4g}; the lower bound -1/(n_max - 1) is {lower:.4g})"
                )
            if not (np.all(np.isfinite(b)) and rho > lower):
                raise _RhoOutOfRangeError(
                    f"rho = {rho:.4g}; rho must exceed -1/(n_max - 1) = {lower:.4g}"
                )
            beta, stats = b, st
        except (FloatingPointError, AnalysisError) as exc:
            used = "independence"
            if isinstance(exc, (_RhoOutOfRangeError, _NoFixedPointError)):
                why, hint = (
                    str(exc),
                    "This happens when patients in a cluster are no more alike than "
                    "patients in different clusters (rho <= 0); ",
                )
                converged = True  # the independence fit below is a closed solution
            elif isinstance(exc, AnalysisError):
                why, hint = str(exc), ""
            else:  # numpy's floating-point error, raised by the errstate above
                why = f"the fit failed numerically: {exc}"
                hint = "This happens when fitted probabilities reach 0 or 1; "
            note = (
                f"exchangeable working correlation not estimable ({why}): "
                "fitted with the independence working correlation"
            )
            warnings.warn(
                f"GEE: {note}. {hint}the robust SE of the independence fit remains valid",
                DataWarning,
                stacklevel=4,  # gee_steps < run_local < fit_gee < the caller of fit_gee
            )
    if used == "independence":  # the GLM fit is the solution
        stats = yield (lambda rows: gee_stats(rows, center, beta, family))
        scale, rho = moments(stats, False)
    if stats is None:  # pragma: no cover - set on every path above
        raise AnalysisError("GEE: no statistics at the solution")
    if not converged:
        warnings.warn(
            f"GEE did not converge in {max_iter} iterations (tolerance {tol:g})",
            ConvergenceWarning,
            stacklevel=4,
        )
    H, U = _score_parts(stats, counts_f, rho)
    H_inv = _solve(H, np.eye(p + 1))
    H_inv = (H_inv + H_inv.T) / 2.0
    if small_sample == "MD":
        b_final = beta
        grams = yield (lambda rows: gee_cluster_grams(rows, center, b_final, family))
        U = _mancl_derouen_scores(grams, stats, counts_f, rho, H_inv, U)
    robust = H_inv @ (U.T @ U) @ H_inv
    # Back to the uncentred intercept: beta_0 = b_0 - means' b.
    T = np.eye(p + 1)
    T[0, 1:] = -center
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
        n_clusters=len(counts),
        max_cluster_size=max_size,
        iterations=it,
        converged=converged,
        note=note,
        small_sample=small_sample,
    )


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
    small_sample: SmallSample = "none",
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
    small_sample : {"none", "MD"}
        ``"MD"``: the robust covariance with the bias correction of Mancl &
        DeRouen (2001) for few clusters (cluster scores computed on residuals
        corrected by :math:`(I - H_{ii})^{-1}`).

    Returns
    -------
    GEEFit
    """
    check_option("family", family, FAMILIES)
    check_option("corr", corr, CORRELATIONS)
    check_option("moment_df", moment_df, ("n", "n-p"))
    check_option("small_sample", small_sample, SMALL_SAMPLE)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise AnalysisError(f"X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise AnalysisError("X and y must be finite (missing values are excluded before fitting)")
    if family == "binomial" and not np.all((y == 0.0) | (y == 1.0)):
        raise AnalysisError("the outcome of a logistic regression must be 0/1 (or boolean)")
    rows = ModelRows.from_design(X, y, clusters=clusters)
    steps = gee_steps(
        clusters.counts,
        X.mean(axis=0),
        float(y.sum()),
        family=family,
        corr=corr,
        moment_df=moment_df,
        max_iter=max_iter,
        tol=tol,
        small_sample=small_sample,
    )
    return run_local(steps, rows)

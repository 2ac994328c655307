r"""Newton-Raphson (IRLS) from sums over rows, with absorbed group intercepts.

The iteration behind :func:`~coachstats.compare.glm.fit_logistic`,
:func:`~coachstats.compare.glm.fit_linear` (one exact step) and the starting
values of :mod:`~coachstats.compare.gee`; the model, its Hessian and the Schur
complement it is solved through are described in :mod:`coachstats.compare.glm`.

Every pass over the data computes sums over rows (:class:`NewtonStats`:
:math:`X^\top W X`, :math:`X^\top r`, and per group :math:`w_c`, :math:`r_c`,
:math:`B_c`), so the statistics of chunks of rows add up: :func:`newton_steps`
is a generator of requests that runs on rows in memory
(:func:`~coachstats.compare.rows.run_local`), on the row groups of a Parquet
file (:mod:`coachstats.engines.stream`) or on Dask partitions, with the same
formulas. :func:`cluster_score_sums` gives the per-cluster scores of the CR1
sandwich, also additive over chunks.

Examples
--------
A least-squares line (one exact step):

>>> from coachstats.compare.rows import run_local
>>> rows = ModelRows(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([1.0, 3.0, 2.0, 5.0]))
>>> result = run_local(newton_steps(np.zeros(1), np.array([[1.5]]), family="gaussian"), rows)
>>> result.converged, result.coef.round(12), result.group_coef.round(12)
(True, array([1.1]), array([1.1]))
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla

from coachstats.compare.rows import (
    Additive,
    ModelRows,
    Request,
    combine_rows,
    group_sums_t,
    group_total,
    logistic_parts,
    minus_group_values,
    vdot,
)
from coachstats.core.errors import AnalysisError, ConvergenceError, check_option

__all__ = [
    "BLOCK_ROWS",
    "Family",
    "NewtonResult",
    "NewtonStats",
    "cluster_score_parts",
    "cluster_score_sums",
    "cr1_adjustment",
    "first_pass_weights",
    "initial_intercepts",
    "newton_stats",
    "newton_steps",
    "not_converged",
]

Family = Literal["binomial", "gaussian"]


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


def not_converged(iterations: int) -> ConvergenceError:
    """The error of a logistic fit that did not converge (most often (quasi-)separation)."""
    return ConvergenceError(
        f"logistic regression did not converge in {iterations} Newton iterations: the outcome "
        "is (quasi-)perfectly separated by the arm or a covariate, so some odds ratios "
        "are infinite; remove or coarsen the separating covariate"
    )


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
    (without overflow), all from one ``exp`` per row
    (:func:`~coachstats.compare.rows.logistic_parts`). At :math:`\beta = 0`
    the linear predictor is the group's intercept, so the means, weights and
    deviance are per-group values and counts (no ``exp`` per row).

    Examples
    --------
    >>> rows = ModelRows(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([1.0, 3.0, 2.0, 5.0]))
    >>> st = newton_stats(rows, np.array([[1.5]]), np.zeros(1), np.zeros(1), "gaussian")
    >>> st.deviance, st.xr, st.rg
    (39.0, array([5.5]), array([11.]))
    """
    y = rows.y
    k, n = rows.XT.shape
    codes, C = rows.groups, rows.n_groups
    binomial = family == "binomial"
    # a linear model's X'X and group sums do not depend on the point: kept after the first pass
    kept = None if binomial else rows.stored("gaussian sums", shift)
    xwx, xr = np.zeros((k, k)), np.zeros(k)
    wg, rg, bg = np.zeros(C), np.zeros(C), np.zeros((C, k))
    deviance = 0.0
    # When the fit asks for them (its CR1 scores), the residuals of the pass are kept (one
    # array, overwritten by the next pass): the scores at the last pass's point need no pass.
    resid = rows.buffer("residual") if rows.keep_residuals else None
    # At beta = 0 (the first pass of a logistic fit) the linear predictor is the group's
    # intercept: its mean, weight and deviance are per-group values and counts.
    by_group = binomial and not np.any(beta)
    if by_group:
        mu_g, w_g, log_g = logistic_parts(alpha, log_term=True)
        n_g, e_g = np.zeros(C), np.zeros(C)
    # With weights constant within groups (a linear model; a logistic one at beta = 0), B is
    # the weights times the group sums of the shifted design, and X'WX the weight times its
    # Gram matrix when the weight is one for all rows (a linear model, or one group): read
    # from the Centred design its builder kept (rows in memory), not summed again.
    gram, sums = rows.stored("gram", shift), rows.stored("shifted sums", shift)
    # the pass's weights per group when they are constant within groups, else None
    weight = w_g if by_group else (np.ones(C) if not binomial else None)
    gram_scale = (
        _gram_scale(rows.stored("gram weights", shift), weight) if gram is not None else None
    )
    xwx_known = kept is not None or gram_scale is not None
    bg_known = kept is not None or (sums is not None and weight is not None)
    # The first logistic pass with both known needs only X'r = X'y - sum_c mu_c s_c (s_c the
    # group sums of the shifted design) and the per-group events: no block of rows.
    closed = by_group and xwx_known and bg_known and resid is None and sums is not None
    if closed and sums is not None:
        n_g = np.bincount(codes, minlength=C).astype(float) if codes is not None else n_g + n
        e_g = group_total(codes, y, C)
        for start in range(0, n, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n)
            xr += rows.shifted_block(shift, start, stop) @ y[start:stop]
        xr -= sums.T @ mu_g
    # Block by block: every temporary of a block stays in the CPU cache, so a pass reads
    # the design once (whole-length temporaries made it memory-bound, at twice the time).
    for start in range(0, 0 if closed else n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        Xb, yb = rows.shifted_block(shift, start, stop), y[start:stop]
        cb = None if codes is None else codes[start:stop]
        w: np.ndarray | None = None
        if by_group:  # w_g, rg and the deviance from the counts, after the loop
            n_g += float(stop - start) if cb is None else np.bincount(cb, minlength=C)
            e_g += group_total(cb, yb, C)
            if not (xwx_known and bg_known):
                w = np.full(stop - start, w_g[0]) if cb is None else np.take(w_g, cb)
            r = yb - (mu_g[0] if cb is None else np.take(mu_g, cb))
        else:
            eta = beta @ Xb  # a block: BLAS on one core (see xr below)
            eta += alpha[0] if cb is None else np.take(alpha, cb)
            if binomial:
                r, w, t = logistic_parts(eta, log_term=True)  # mu, mu (1 - mu), log(1 + e^-|eta|)
                deviance += float(t.sum())
                # max(0, (1 - 2y) eta) = max(0, eta) - y eta, exactly, row by row (y is 0 or 1)
                np.maximum(eta, 0.0, out=t)
                t -= yb * eta
                deviance += float(t.sum())
                np.subtract(yb, r, out=r)
                wg += group_total(cb, w, C)
            else:
                r = np.subtract(yb, eta, out=eta)
                deviance += vdot(r, r)
            rg += group_total(cb, r, C)
        if resid is not None:
            resid[start:stop] = r
        xr += Xb @ r  # a block: BLAS on one core, twice einsum's speed here
        if xwx_known and bg_known:
            continue
        XW = Xb if w is None else np.multiply(Xb, w)
        if not xwx_known:
            xwx += XW @ Xb.T  # a small product: BLAS on one core, in cache
        if not bg_known:
            bg += group_sums_t(cb, XW, C)
    if by_group:
        wg, rg = n_g * w_g, e_g - n_g * mu_g
        # sum of log(1 + e^-|eta|) + max(0, (1 - 2y) eta) over the rows of each group
        deviance = float(n_g @ log_g + (n_g - e_g) @ np.maximum(alpha, 0.0))
        deviance += float(e_g @ np.maximum(-alpha, 0.0))
    if kept is not None:
        xwx = kept[: k * k].reshape(k, k).copy()
        wg = kept[k * k : k * k + C].copy()
        bg = kept[k * k + C :].reshape(C, k).copy()
    else:
        if gram is not None and gram_scale is not None:
            xwx = gram * gram_scale
        if bg_known and sums is not None and weight is not None:
            bg = sums * weight[:, None]
        if not binomial:
            counts = np.full(C, float(n)) if codes is None else np.bincount(codes, minlength=C)
            wg = counts.astype(float)
            rows.store("gaussian sums", shift, np.concatenate([xwx.ravel(), wg, bg.ravel()]))
    stats = NewtonStats(
        nobs=n,
        deviance=2.0 * deviance if binomial else deviance,
        xwx=xwx,
        xr=xr,
        wg=wg,
        rg=rg,
        bg=bg,
    )
    if resid is not None:
        rows.store("residual", stats, resid)
    return stats


def _gram_scale(gram_weight: np.ndarray | None, weight: np.ndarray | None) -> float | None:
    """The factor that makes a kept Gram matrix a pass's X'WX, or None when none does.

    It does when the pass's weights are constant within groups (``weight``) and
    the Gram matrix was weighted by them, or with one group by any weight.
    """
    if gram_weight is None or weight is None:
        return None
    if len(weight) == 1:
        return float(weight[0] / gram_weight[0])
    return 1.0 if np.array_equal(weight, gram_weight) else None


#: Rows per block of a pass (their temporaries fit in a core's cache).
BLOCK_ROWS = 16_384


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


def first_pass_weights(
    events: np.ndarray, counts: np.ndarray, labels: np.ndarray | None = None
) -> np.ndarray:
    r"""The working weights :math:`\mu_c(1-\mu_c)` of a logistic fit's first pass, per group.

    At :math:`\beta = 0` and the :func:`initial_intercepts`: a design whose Gram
    matrix is weighted by them (:class:`~coachstats.compare.rows.Centred`) gives
    that pass its :math:`X^\top W X`.

    Examples
    --------
    >>> first_pass_weights(np.array([1.0, 3.0]), np.array([4, 4]))  # mu = 1.5/5 and 3.5/5
    array([0.21, 0.21])
    """
    weights: np.ndarray = logistic_parts(initial_intercepts(events, counts, labels))[1]
    return weights


@dataclass(frozen=True)
class NewtonResult:
    """Output of :func:`newton_steps`.

    ``coef`` and ``group_coef`` are on the original design; ``stats`` are the
    :class:`NewtonStats` of the last point a pass was made at (the solution
    of a linear model; for a logistic one, the point before the last step,
    which was below the tolerance), on the design shifted by ``shift``.
    """

    coef: np.ndarray
    group_coef: np.ndarray
    stats: NewtonStats
    shift: np.ndarray
    iterations: int
    converged: bool
    #: Passes over the rows (statistics requested), the first one included.
    passes: int = 0

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
    ``tol * (1 + max |theta|)`` (on the unshifted parameters). A logistic fit
    takes that last step without a pass at its end point (the step is the
    Newton step of the point whose statistics it has, so the statistics, and
    the standard errors from them, differ from those at the end point by the
    order of ``tol``; R's ``glm`` likewise stops on the change of deviance
    between two passes). A linear model (``family="gaussian"``) is solved
    exactly by the first step.

    Parameters
    ----------
    alpha0 : ndarray
        Starting group intercepts (``(C,)``), e.g. :func:`initial_intercepts`.
    shift : ndarray
        ``(C, p)`` per-group centres of the design (any values: the group
        intercepts absorb them; in memory the column means in every row, see
        :class:`~coachstats.compare.rows.Centred`; streamed, the group means).
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
    passes = 1
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
            if family == "binomial" and _step_size(d_beta, d_alpha, shift) <= tol * _scale(
                beta, alpha, shift
            ):
                # The step this point asks for is below the tolerance: take it without
                # another pass. The statistics stay those of this point, within tol of
                # the solution (their change is of the order of the step).
                beta, alpha, converged = beta + d_beta, alpha + d_alpha, True
                break
            step = 1.0
            for _ in range(30):
                new = yield request(beta + step * d_beta, alpha + step * d_alpha)
                passes += 1
                if new.deviance <= dev * (1.0 + 1e-12) + 1e-12:
                    break
                step /= 2.0
            beta = beta + step * d_beta
            alpha = alpha + step * d_alpha
            stats, dev = new, new.deviance
            if family == "gaussian":  # exact after one step
                converged, it = True, 0
                break
            if step * _step_size(d_beta, d_alpha, shift) <= tol * _scale(beta, alpha, shift):
                converged = True  # a halved step that no longer moves the point
                break
    return NewtonResult(beta, alpha - shift @ beta, stats, shift, it, converged, passes)


def _step_size(d_beta: np.ndarray, d_alpha: np.ndarray, shift: np.ndarray) -> float:
    """The largest change of a parameter, on the unshifted design."""
    orig = d_alpha - shift @ d_beta
    return max(float(np.max(np.abs(d_beta), initial=0.0)), float(np.max(np.abs(orig))))


def _scale(beta: np.ndarray, alpha: np.ndarray, shift: np.ndarray) -> float:
    """``1 + max |theta|`` on the unshifted design (the step's tolerance is relative to it)."""
    orig = alpha - shift @ beta
    return 1.0 + max(float(np.max(np.abs(beta), initial=0.0)), float(np.max(np.abs(orig))))


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
    value :math:`v_c`, or ``m`` of them as a ``(C, m)`` array), a last column
    :math:`\sum_{i\in g} v_{c(i)}(y_i - \hat\mu_i)` is appended per value (the
    group part of a functional's influence). Additive over chunks of rows;
    returns ``(G, p)``, ``(G, p + 1)`` or ``(G, p + m)``.
    """
    scores, cross = cluster_score_parts(rows, result, family, clusters, n_clusters)
    if influence is None:
        return scores
    columns = influence[:, None] if influence.ndim == 1 else influence
    return np.column_stack([scores, cross @ columns])


def cluster_score_parts(
    rows: ModelRows,
    result: NewtonResult,
    family: str,
    clusters: np.ndarray,
    n_clusters: int,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The parts of :func:`cluster_score_sums`: the score sums, and residual sums by cluster and group.

    ``cross[g, c]`` is :math:`\sum_{i \in g, c(i) = c} (y_i - \hat\mu_i)`, so the
    influence column of any per-group value :math:`v` is ``cross @ v``: one
    pass over the rows serves every functional of a fit (block by block).

    When the rows kept the residuals of the fit's last pass (a fit given
    the clusters, ``ModelRows.keep_residuals``), the scores are those of that pass's
    point, as the bread is (within ``tol`` of the solution): no prediction
    is computed again.
    """
    shift = result.shift
    _, a = result.stats.schur()
    kept = rows.stored("residual", result.stats)
    coef, group_coef = result.coef, result.shifted_group_coef
    codes, C = rows.groups, rows.n_groups
    k, n = rows.XT.shape
    scores = np.zeros((n_clusters, k))
    cross = np.zeros((n_clusters, C))
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        Xb, cb = rows.shifted_block(shift, start, stop), clusters[start:stop]
        gb = None if codes is None else codes[start:stop]
        if kept is not None:
            e = kept[start:stop]
        else:
            eta = combine_rows(coef, Xb)
            eta += group_coef[0] if gb is None else np.take(group_coef, gb)
            e = rows.y[start:stop] - (logistic_parts(eta)[0] if family == "binomial" else eta)
        xt = minus_group_values(Xb, a, gb)  # a fresh array: scaled in place
        scores += group_sums_t(cb, np.multiply(xt, e, out=xt), n_clusters)
        pair = cb if gb is None else cb * C + gb
        cross += np.bincount(pair, weights=e, minlength=n_clusters * C).reshape(n_clusters, C)
    return scores, cross

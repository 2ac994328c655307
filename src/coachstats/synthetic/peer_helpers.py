"""Building blocks of the peer-trial generator (:mod:`coachstats.synthetic.peer`).

* :func:`covariate_scores` -- linear covariate scores with a chosen imbalance
  between the arms: ``z1`` has an arm difference of exactly 1 at the smallest
  variance (direction :math:`\\Sigma^{-1} d`), the balanced scores an arm
  difference of exactly 0. An outcome ``A z1 + B z2 + ...`` then moves the
  covariate-adjusted estimate away from the unadjusted one by about ``-A`` and
  lowers the adjusted SE through ``B``: the two unpublished quantities a
  calibration needs to hit a printed adjusted estimate and P value.
* :func:`grid_repair` -- a greedy local search on laboratory-precision values
  (a grid of step ``h``) that brings a sum to an exact target and one or more
  sample SDs inside bands, moving single values within per-value intervals.
  The intervals encode the exact counts (below 7.5 %, a drop of >= 1 point...)
  so the counts never change while the moments are repaired.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = np.round(np.clip(rng.normal(9.0, 2.0, 100), 4.5, 16.0), 1)
>>> out = grid_repair(x, np.full(100, 4.5), np.full(100, 16.0), h=0.1, total=898.0,
...                   sd_bands=[(np.ones(100, bool), None, 2.0, 0.03)])
>>> round(float(out.sum()), 6), abs(float(out.std(ddof=1)) - 2.0) <= 0.03
(898.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from coachstats.compare.design import build_design
from coachstats.core.errors import AnalysisError
from coachstats.synthetic.common import BoolArray, FloatArray

__all__ = ["covariate_matrix", "covariate_scores", "grid_repair"]

#: Moves tried for each value, in grid steps.
_STEPS = np.array([1, 2, 3, 5, 8, 13, 21], dtype=float)


def covariate_matrix(
    frame: pd.DataFrame, covariates: Sequence[str], treated: BoolArray
) -> FloatArray:
    """Centered numeric covariate matrix (dummy coding as in the models).

    Examples
    --------
    >>> f = pd.DataFrame({"age": [50.0, 60, 40, 50, 55, 45], "ms": ["a", "b", "a", "b", "a", "b"]})
    >>> arm = np.array([True, False, False, True, True, False])
    >>> covariate_matrix(f, ["age", "ms"], arm).tolist()
    [[0.0, -0.5], [10.0, 0.5], [-10.0, -0.5], [0.0, 0.5], [5.0, -0.5], [-5.0, 0.5]]
    """
    design = build_design(frame, np.asarray(treated, dtype=bool), list(covariates))
    x = np.asarray(design.X[:, 1:], dtype=float)
    return x - x.mean(axis=0)


def covariate_scores(
    x: FloatArray, treated: BoolArray, rng: np.random.Generator, n_balanced: int = 3
) -> tuple[FloatArray, list[FloatArray]]:
    r"""An imbalance score and balanced scores from a centered covariate matrix.

    With :math:`d = \bar x_{treated} - \bar x_{control}` and :math:`\Sigma` the
    covariance of ``x``, ``z1 = x \Sigma^{-1} d / (d^\top \Sigma^{-1} d)`` has an
    arm difference of exactly 1 and the least variance among such scores. Each
    balanced score is a random combination with its arm difference removed
    (``z - (\bar z_t - \bar z_c) z1``), centered and scaled to SD 1.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(200, 3)); x -= x.mean(axis=0)
    >>> t = np.arange(200) % 2 == 0
    >>> z1, zs = covariate_scores(x, t, rng, 2)
    >>> gap = lambda z: float(z[t].mean() - z[~t].mean())
    >>> round(gap(z1), 12), abs(gap(zs[0])) < 1e-12
    (1.0, True)
    """
    d = x[treated].mean(axis=0) - x[~treated].mean(axis=0)
    sigma = np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])
    w = np.linalg.solve(sigma + 1e-9 * np.eye(len(d)), d)
    z1 = x @ w
    gap = float(z1[treated].mean() - z1[~treated].mean())
    if abs(gap) < 1e-12:
        raise AnalysisError("the covariates are exactly balanced between the arms")
    z1 = (z1 - z1.mean()) / gap
    balanced = []
    for _ in range(n_balanced):
        z = x @ rng.normal(size=x.shape[1])
        z = z - float(z[treated].mean() - z[~treated].mean()) * z1
        z = z - z.mean()
        balanced.append(z / z.std(ddof=1))
    return z1, balanced


def _sd(s1: FloatArray, s2: FloatArray, n: int) -> FloatArray:
    return np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1))


def _band_sums(
    units: FloatArray, m: BoolArray, off: FloatArray
) -> tuple[FloatArray, int, float, float]:
    """``y = units - off`` and the count, sum and sum of squares of ``y`` inside the band ``m``."""
    y = units - off
    return y, int(m.sum()), float(y[m].sum()), float((y[m] ** 2).sum())


def _sd_penalty(sd: FloatArray | float, target: float, width: float) -> FloatArray | float:
    r"""Loss of an SD outside its band: :math:`10^4 \max(0, |s - t| - w)^2` (elementwise)."""
    return 1e4 * np.maximum(0.0, np.abs(sd - target) - width) ** 2


def _pair_move(
    units: FloatArray,
    idx: np.ndarray,
    lo_u: FloatArray,
    hi_u: FloatArray,
    bands: Sequence[tuple[BoolArray, FloatArray, float, float]],
    current: float,
) -> bool:
    """Best sum-preserving move (value i up by s, value j down by s); False if none helps.

    Only the SD terms change (the sum term is unchanged); applied in place.
    """
    best_loss, best_move = current - 1e-12, None
    for step in (1.0, 2.0, 3.0, 5.0):
        up_ok = units[idx] + step <= hi_u[idx]
        down_ok = units[idx] - step >= lo_u[idx]
        ok = up_ok[:, None] & down_ok[None, :]
        np.fill_diagonal(ok, False)
        loss = np.zeros(ok.shape)
        for m, off, target, width in bands:
            y, n, s1, s2 = _band_sums(units, m, off)
            yi, mi = y[idx], m[idx].astype(float)
            t1 = s1 + step * mi[:, None] - step * mi[None, :]
            t2 = (
                s2
                + ((yi + step) ** 2 - yi**2)[:, None] * mi[:, None]
                + ((yi - step) ** 2 - yi**2)[None, :] * mi[None, :]
            )
            loss += _sd_penalty(_sd(t1, t2, n), target, width)
        loss = np.where(ok, loss, np.inf)
        k = int(np.argmin(loss))
        if loss.flat[k] < best_loss:
            best_loss, best_move = float(loss.flat[k]), (k // ok.shape[1], k % ok.shape[1], step)
    if best_move is None:
        return False
    i, j, step = best_move
    units[idx[i]] += step
    units[idx[j]] -= step
    return True


def grid_repair(
    values: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    h: float,
    total: float | None,
    sd_bands: Sequence[tuple[BoolArray, FloatArray | None, float, float]],
    sum_mask: BoolArray | None = None,
    max_iter: int = 5000,
) -> FloatArray:
    """Move single grid values until a sum is exact and SDs are inside bands.

    Parameters
    ----------
    values : ndarray
        Starting values on the grid ``h`` (NaN entries are left alone).
    lower, upper : ndarray
        Per-value bounds (on the grid); moves never leave them.
    h : float
        Grid step (0.1 for HbA1c, 1 for SBP).
    total : float or None
        Exact target of ``values[sum_mask].sum()`` (None: free).
    sd_bands : sequence of (mask, offset, target, half_width)
        Each asks ``sd(values[mask] - offset[mask])`` (offset None: 0) to lie in
        ``[target - half_width, target + half_width]``.
    sum_mask : ndarray of bool, optional
        Which values the sum covers (default: all non-NaN).

    Returns
    -------
    ndarray
        The repaired values.

    Raises
    ------
    AnalysisError
        When no single move improves the loss before the targets are met.
    """
    x = np.asarray(values, dtype=float).copy()
    ok = ~np.isnan(x)
    smask = ok if sum_mask is None else (np.asarray(sum_mask, dtype=bool) & ok)
    units = np.where(ok, np.round(x / h), 0.0)
    lo_u = np.round(np.asarray(lower, dtype=float) / h)
    hi_u = np.round(np.asarray(upper, dtype=float) / h)
    if np.any(ok & ((units < lo_u) | (units > hi_u))):
        raise AnalysisError("grid_repair: starting values outside their bounds")
    target_units = None if total is None else float(np.round(total / h))
    bands = []
    for mask, offset, target, width in sd_bands:
        m = np.asarray(mask, dtype=bool) & ok
        off = np.zeros_like(x) if offset is None else np.where(m, np.asarray(offset, float), 0.0)
        bands.append((m, off / h, target / h, width / h))

    def loss_parts(u: FloatArray) -> float:
        loss = 0.0
        if target_units is not None:
            loss += 10.0 * abs(float(u[smask].sum()) - target_units)
        for m, off, target, width in bands:
            loss += float(_sd_penalty(float((u[m] - off[m]).std(ddof=1)), target, width))
        return loss

    current = loss_parts(units)
    steps = np.concatenate([_STEPS, -_STEPS])
    idx = np.flatnonzero(ok)
    for _ in range(max_iter):
        if current == 0.0:
            break
        # vectorized loss of every single move (value i by step s)
        cand = units[idx][:, None] + steps[None, :]
        allowed = (cand >= lo_u[idx][:, None]) & (cand <= hi_u[idx][:, None])
        delta = cand - units[idx][:, None]
        new = np.zeros_like(cand)
        if target_units is not None:
            s0 = float(units[smask].sum())
            new += 10.0 * np.abs(s0 + delta * smask[idx][:, None] - target_units)
        for m, off, target, width in bands:
            y, n, s1, s2 = _band_sums(units, m, off)
            yi = y[idx][:, None]
            inm = m[idx][:, None]
            t1 = s1 + delta * inm
            t2 = s2 + ((yi + delta) ** 2 - yi**2) * inm
            new += _sd_penalty(_sd(t1, t2, n), target, width)
        new = np.where(allowed, new + 1e-9 * np.abs(delta), np.inf)
        best = np.unravel_index(int(np.argmin(new)), new.shape)
        if new[best] < current - 1e-12:
            units[idx[best[0]]] += steps[best[1]]
        elif not _pair_move(units, idx, lo_u, hi_u, bands, current):
            raise AnalysisError(
                f"grid_repair: stuck at loss {current:.4g} (targets out of reach within the bounds)"
            )
        current = loss_parts(units)
    else:
        raise AnalysisError(f"grid_repair: no convergence in {max_iter} moves")
    return np.where(ok, np.round(units * h, 10), np.nan)

"""Draws and calibration: truncated normal draws, item responses that add up to a total, exact means and SDs inside bounds (an affine map on a link scale), printed group means reconciled with the overall mean, and rounding that keeps a mean exact.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> x = match_moments(truncated_normal(rng, 50, 10, 18, 75, size=500), 52.7, 11.1,
...                   lower=18, upper=75)
>>> round(float(x.mean()), 6), round(float(x.std(ddof=1)), 6)
(52.7, 11.1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from coachstats.core.errors import AnalysisError, OptionError, check_option
from coachstats.synthetic.common import FloatArray, top_k

__all__ = [
    "Infeasible",
    "group_targets",
    "match_moments",
    "round_exact_mean",
    "split_total",
    "truncated_normal",
]


def truncated_normal(
    rng: np.random.Generator,
    mean: npt.ArrayLike,
    sd: npt.ArrayLike,
    lower: npt.ArrayLike = -np.inf,
    upper: npt.ArrayLike = np.inf,
    size: int | None = None,
) -> FloatArray:
    r"""Draws from :math:`N(\mu, \sigma^2)` truncated to ``[lower, upper]`` (inverse CDF).

    With :math:`a = (l - \mu)/\sigma`, :math:`b = (u - \mu)/\sigma` and
    :math:`U \sim \mathrm{Uniform}(0, 1)`,
    :math:`x = \mu + \sigma\,\Phi^{-1}(\Phi(a) + U(\Phi(b) - \Phi(a)))`; for
    :math:`a > 0` the reflected form on :math:`(-b, -a)` keeps precision in the
    upper tail. Arguments broadcast; ``size`` defaults to their broadcast size.

    Examples
    --------
    >>> x = truncated_normal(np.random.default_rng(0), 9.9, 1.5, 8.1, 15.0, size=1000)
    >>> bool(x.min() >= 8.1 and x.max() <= 15.0)
    True
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (mean, sd, lower, upper)))
    shape = arrays[0].shape if size is None else (size,)
    mu, s, lo, hi = (np.broadcast_to(v, shape).ravel() for v in arrays)
    if np.any(s <= 0) or np.any(lo >= hi):
        raise OptionError("truncated_normal needs sd > 0 and lower < upper")
    a = (lo - mu) / s
    b = (hi - mu) / s
    flip = a > 0
    a2 = np.where(flip, -b, a)
    b2 = np.where(flip, -a, b)
    pa, pb = special.ndtr(a2), special.ndtr(b2)
    u = rng.random(mu.size)
    z = special.ndtri(np.clip(pa + u * (pb - pa), 1e-300, 1 - 1e-16))
    z = np.where(flip, -z, z)
    return np.clip(mu + s * z, lo, hi).reshape(shape)


def split_total(
    rng: np.random.Generator,
    totals: npt.ArrayLike,
    n_items: int,
    *,
    low: int = 1,
    high: int = 5,
    spread: float = 0.7,
) -> npt.NDArray[np.int8]:
    """Item responses in ``[low, high]`` whose row sums equal ``totals``.

    Each item starts at the row's average plus zero-sum normal noise with SD
    about ``spread`` and is rounded cumulatively (the running sums are
    rounded, so the items add up to the total exactly); items pushed outside
    the range are clipped, and the few rows then off their total get the
    shortfall (or excess) one point at a time, on the item whose rounding
    moved it furthest in the other direction and that has room.

    Parameters
    ----------
    rng : Generator
    totals : array_like of int
        Row totals, each in ``[low * n_items, high * n_items]``.
    n_items : int
    low, high : int
        Response range.
    spread : float
        SD of the item-level deviations from the row average (0 = as even as possible).

    Examples
    --------
    >>> m = split_total(np.random.default_rng(0), [11, 30, 55], 11)
    >>> m.sum(axis=1).tolist(), int(m.min()), int(m.max())
    ([11, 30, 55], 1, 5)
    """
    t = np.asarray(totals, dtype=np.int64)
    if np.any(t < low * n_items) or np.any(t > high * n_items):
        raise OptionError(f"totals must lie in [{low * n_items}, {high * n_items}]")
    items = np.empty((t.shape[0], n_items), dtype=np.int8)
    # rows are independent, and the generator gives the same numbers drawn a block at a
    # time as drawn at once: the items are those of one draw, with block-sized temporaries
    for start in range(0, t.shape[0], SPLIT_BLOCK_ROWS):
        stop = min(start + SPLIT_BLOCK_ROWS, t.shape[0])
        items[start:stop] = _split_rows(rng, t[start:stop], n_items, low, high, spread)
    return items


#: Rows per block of :func:`split_total` (its float temporaries are 3 x 4 bytes x items per row).
SPLIT_BLOCK_ROWS = 65_536


def _split_rows(
    rng: np.random.Generator,
    t: npt.NDArray[np.int64],
    n_items: int,
    low: int,
    high: int,
    spread: float,
) -> npt.NDArray[np.int8]:
    """:func:`split_total` of the rows ``t``."""
    n = t.shape[0]
    noise = rng.standard_normal((n, n_items), dtype=np.float32)
    noise -= noise.mean(axis=1, keepdims=True)  # the unrounded items add up to the total
    # x = t / n_items + spread * noise, in place on the noise (the same float32 operations)
    x = noise
    x *= spread
    x += (t.astype(np.float32) / n_items)[:, None]
    # cumulative rounding: round the running sums, so the rounded items add up exactly
    cum = np.cumsum(x, axis=1)
    np.round(cum, out=cum)
    cum[:, -1] = t
    steps = np.empty_like(cum)  # the differences of the running sums, clipped to the range
    steps[:, 0] = cum[:, 0]
    np.subtract(cum[:, 1:], cum[:, :-1], out=steps[:, 1:])
    np.clip(steps, low, high, out=steps)
    items = steps.astype(np.int8)
    del cum, steps
    bad = np.flatnonzero(t != items.sum(axis=1, dtype=np.int64))
    for _ in range(n_items * (high - low)):  # one point per row and pass
        if bad.size == 0:
            break
        xi, it = x[bad], items[bad]
        up = (t[bad] > it.sum(axis=1, dtype=np.int64))[:, None]
        room = np.where(up, it < high, it > low)
        score = np.where(room, np.where(up, xi - it, it - xi), -np.inf)
        col = np.argmax(score, axis=1)
        items[bad, col] += np.where(up[:, 0], 1, -1).astype(np.int8)
        bad = bad[t[bad] != items[bad].sum(axis=1, dtype=np.int64)]
    return items


def _link(
    x: FloatArray, lower: FloatArray | None, upper: FloatArray | None
) -> tuple[FloatArray, str]:
    if lower is not None and upper is not None:
        width = upper - lower
        z = np.clip((x - lower) / width, 1e-9, 1 - 1e-9)
        return np.log(z) - np.log1p(-z), "logit"
    if lower is not None:
        return np.log(np.maximum(x - lower, 1e-9)), "log-lower"
    if upper is not None:
        return np.log(np.maximum(upper - x, 1e-9)), "log-upper"
    return x.copy(), "identity"


def _inverse(
    eta: FloatArray, kind: str, lower: FloatArray | None, upper: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    """Inverse link and its derivative d x / d eta."""
    lo = 0.0 if lower is None else lower
    hi = 0.0 if upper is None else upper
    if kind == "logit":
        p = special.expit(eta)
        return lo + (hi - lo) * p, (hi - lo) * p * (1 - p)
    if kind in ("log-lower", "log-upper"):
        e = np.exp(np.clip(eta, -700, 700))
        return (lo + e, e) if kind == "log-lower" else (hi - e, -e)
    return eta, np.ones_like(eta)


Infeasible = Literal["raise", "closest"]


def match_moments(
    x: npt.ArrayLike,
    mean: float,
    sd: float,
    *,
    lower: npt.ArrayLike | None = None,
    upper: npt.ArrayLike | None = None,
    ddof: int = 1,
    tol: float = 1e-12,
    max_iter: int = 100,
    infeasible: Infeasible = "raise",
) -> FloatArray:
    r"""Monotone map of ``x`` with exactly the given mean and SD, staying inside the bounds.

    With a link :math:`g` (identity; :math:`\log(x - l)` with a lower bound;
    :math:`\log(u - x)` with an upper bound; :math:`\mathrm{logit}((x-l)/(u-l))`
    with both; bounds may differ per element),

    .. math:: x'_i = g^{-1}(\alpha + \beta\, g(x_i)),

    where :math:`(\alpha, \beta)` solve
    :math:`\bar{x'} = m` and :math:`\mathrm{sd}(x') = s` by damped Newton
    steps with the analytic Jacobian. The map is increasing, so the ranks (and
    the association with other columns) of ``x`` are kept. Without bounds it is
    the plain affine standardization.

    Bounds limit what the two-parameter map can reach: a mean at or beyond the
    average bound, or (with bounds that differ per element, e.g. entry
    thresholds) a large SD with a mean close to the lower bounds, can be out
    of reach, and so is any SD for fewer than two values. ``infeasible``
    chooses what then happens: ``"raise"`` an :class:`AnalysisError`;
    ``"closest"`` the same family of maps with the mean met exactly (when it
    lies strictly between the average lower and upper bounds) and the SD as
    close to ``sd`` as the bounds allow (a search over :math:`\beta \ge 0`,
    :math:`\alpha` solving the mean for each); a mean outside that range gives
    the nearest bounds themselves. The result equals the exact one whenever
    the exact one exists.

    Parameters
    ----------
    x : array_like
        Values inside the bounds (at least 2, unless ``infeasible="closest"``).
    mean, sd : float
        Targets (sample SD with ``ddof``; ``sd > 0``).
    lower, upper : array_like, optional
        Bounds, scalars or one per element.
    ddof : int
        Delta degrees of freedom of the SD.
    tol : float
        Relative tolerance of the Newton iterations.
    max_iter : int
        Newton iterations.
    infeasible : {"raise", "closest"}
        What to do when the targets cannot be met inside the bounds.

    Raises
    ------
    AnalysisError
        ``infeasible="raise"`` and the targets cannot be met inside the bounds
        (e.g. a mean outside them, or constant input), or ``sd <= 0``.
    OptionError
        A value outside its bounds, or an unknown ``infeasible``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = match_moments(rng.gamma(2.0, size=300), 5.4, 4.1, lower=-0.5)
    >>> round(float(y.mean()), 9), round(float(y.std(ddof=1)), 9), bool(y.min() > -0.5)
    (5.4, 4.1, True)

    Two values of at least 160 and one of at least 100 (entry thresholds), below
    330: with a mean of 145 the ordered values cannot spread beyond
    (160, 175, 100), so an SD of 50 is out of reach and the closest is kept.

    >>> x, low = [170.0, 200.0, 140.0], [160.0, 160.0, 100.0]
    >>> y = match_moments(x, 145.0, 50.0, lower=low, upper=330.0, infeasible="closest")
    >>> round(float(y.mean()), 9), round(float(y.std(ddof=1)), 2), y.round(2).tolist()
    (145.0, 39.69, [160.0, 175.0, 100.0])
    """
    check_option("infeasible", infeasible, ("raise", "closest"))
    v = np.asarray(x, dtype=float).ravel()
    n = v.size
    if not sd > 0:
        raise AnalysisError(f"match_moments needs sd > 0, got {sd}")
    lo = None if lower is None else np.broadcast_to(np.asarray(lower, dtype=float), v.shape)
    hi = None if upper is None else np.broadcast_to(np.asarray(upper, dtype=float), v.shape)
    if (lo is not None and np.any(v < lo)) or (hi is not None and np.any(v > hi)):
        raise OptionError("match_moments: every value must lie inside [lower, upper]")
    closest = infeasible == "closest"
    y, kind = _link(v, lo, hi)
    if n < 2:
        if closest:
            return _closest_moments(y, kind, lo, hi, mean, sd, ddof)
        raise AnalysisError("match_moments needs at least 2 values and sd > 0")
    if (lo is not None and mean <= float(lo.min())) or (hi is not None and mean >= float(hi.max())):
        if closest:
            return _closest_moments(y, kind, lo, hi, mean, sd, ddof)
        raise AnalysisError(f"target mean {mean} lies outside the bounds")
    try:
        return _exact_moments(y, kind, lo, hi, mean, sd, ddof, tol, max_iter)
    except AnalysisError:
        if not closest:
            raise
        return _closest_moments(y, kind, lo, hi, mean, sd, ddof)


def _exact_moments(
    y: FloatArray,
    kind: str,
    lo: FloatArray | None,
    hi: FloatArray | None,
    mean: float,
    sd: float,
    ddof: int,
    tol: float,
    max_iter: int,
) -> FloatArray:
    """The Newton solve of :func:`match_moments` on the link values ``y``."""
    n = y.size
    if kind == "identity":
        c = y - y.mean()
        spread = c.std(ddof=ddof)
        if not spread > 0:
            raise AnalysisError("match_moments: constant input has no SD to scale")
        return mean + c * (sd / spread)
    second = sd**2 * (n - ddof) / n + mean**2
    # standardize the link values for a well-conditioned Newton problem
    ym, ys = y.mean(), y.std()
    ys = ys if ys > 0 else 1.0
    ystd = (y - ym) / ys
    theta = np.array([ym, ys])

    def resid(th: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        xv, d = _inverse(th[0] + th[1] * ystd, kind, lo, hi)
        f = np.array([xv.mean() - mean, (xv * xv).mean() - second])
        return f, xv, d, th

    f, xv, d, _ = resid(theta)
    scale = np.array([max(abs(mean), sd), max(second, 1.0)])
    for _ in range(max_iter):
        if np.all(np.abs(f) <= tol * scale):
            break
        jac = np.array(
            [
                [d.mean(), (d * ystd).mean()],
                [(2 * xv * d).mean(), (2 * xv * d * ystd).mean()],
            ]
        )
        try:
            step = np.linalg.solve(jac, -f)
        except np.linalg.LinAlgError as err:
            raise AnalysisError("match_moments: singular Jacobian (constant input?)") from err
        t = 1.0
        norm0 = np.max(np.abs(f) / scale)
        while t > 1e-8:
            f_new, xv_new, d_new, th_new = resid(theta + t * step)
            if np.all(np.isfinite(f_new)) and np.max(np.abs(f_new) / scale) < norm0:
                break
            t /= 2
        else:
            raise AnalysisError(
                f"match_moments: cannot reach mean {mean} and SD {sd} inside the bounds"
            )
        theta, f, xv, d = th_new, f_new, xv_new, d_new
    if not np.all(np.abs(f) <= 1e3 * tol * scale):
        raise AnalysisError(f"match_moments: no convergence to mean {mean} and SD {sd}")
    return xv


def _shifted(
    z: FloatArray,
    beta: float,
    kind: str,
    lo: FloatArray | None,
    hi: FloatArray | None,
    mean: float,
) -> FloatArray:
    r""":math:`g^{-1}(\alpha + \beta z)` with :math:`\alpha` solving the mean (safeguarded Newton).

    The mean is increasing in :math:`\alpha`; a Newton step that leaves the
    current bracket or jumps more than 8 link units (from a saturated start)
    is replaced by bisection, or by doubling the step while one side of the
    bracket is still open.
    """
    below, above = -np.inf, np.inf
    alpha = 0.0
    scale = max(abs(mean), 1.0)
    x = _inverse(alpha + beta * z, kind, lo, hi)[0]
    for _ in range(200):
        x, d = _inverse(alpha + beta * z, kind, lo, hi)
        f = float(x.mean()) - mean
        if abs(f) <= 1e-13 * scale:
            break
        if f > 0:
            above = alpha
        else:
            below = alpha
        slope = float(d.mean())
        step = alpha - f / slope if slope > 0 else np.nan
        if not (below < step < above and abs(step - alpha) <= 8.0):  # saturated: no long jumps
            if np.isfinite(below) and np.isfinite(above):
                step = 0.5 * (below + above)
            elif np.isfinite(below):
                step = below + max(1.0, abs(below))
            else:
                step = above - max(1.0, abs(above))
        if step == alpha:
            break
        alpha = step
    return x


def _closest_moments(
    y: FloatArray,
    kind: str,
    lo: FloatArray | None,
    hi: FloatArray | None,
    mean: float,
    sd: float,
    ddof: int,
) -> FloatArray:
    """``infeasible="closest"`` of :func:`match_moments`: mean exact if reachable, SD nearest."""
    n = y.size
    lo_mean = -np.inf if lo is None or n == 0 else float(lo.mean())
    hi_mean = np.inf if hi is None or n == 0 else float(hi.mean())
    if n == 0:
        return np.zeros(0)
    if mean <= lo_mean and lo is not None:
        return np.array(lo, dtype=float)
    if mean >= hi_mean and hi is not None:
        return np.array(hi, dtype=float)
    if kind == "identity":  # constant input (or one value): no spread to scale
        return np.full(n, float(mean))
    ys = float(y.std())
    z = (y - y.mean()) / ys if ys > 0 else np.zeros(n)
    if n <= ddof or ys == 0:
        return _shifted(z, 0.0, kind, lo, hi, mean)

    def gap(beta: float) -> float:
        return float(_shifted(z, beta, kind, lo, hi, mean).std(ddof=ddof)) - sd

    grid = np.concatenate([[0.0], np.geomspace(1e-2, 1e2, 17)])
    gaps = np.array([gap(b) for b in grid])
    i = int(np.argmin(np.abs(gaps)))
    for j in (i - 1, i):  # a sign change next to the best grid point: the SD is reachable
        if 0 <= j < grid.size - 1 and gaps[j] * gaps[j + 1] < 0:
            beta = optimize.brentq(gap, grid[j], grid[j + 1], xtol=1e-12, rtol=1e-12)
            return _shifted(z, float(beta), kind, lo, hi, mean)
    if 0 < i < grid.size - 1:
        found = optimize.minimize_scalar(
            lambda b: abs(gap(b)), bounds=(grid[i - 1], grid[i + 1]), method="bounded"
        )
        if abs(gap(float(found.x))) < abs(gaps[i]):
            return _shifted(z, float(found.x), kind, lo, hi, mean)
    return _shifted(z, float(grid[i]), kind, lo, hi, mean)


def group_targets(
    overall_mean: float,
    overall_sd: float,
    group_means: Sequence[float],
    counts: Sequence[int],
    *,
    decimals: int,
    strict: bool = True,
) -> tuple[FloatArray, float]:
    r"""Group means and a common within-group SD consistent with a printed overall mean and SD.

    The printed group means :math:`m_g` are shifted by one common
    :math:`\delta = M - \sum_g n_g m_g / N` so that they average exactly to the
    printed overall mean :math:`M`; every shifted mean must still print as
    :math:`m_g` at ``decimals``. The within-group SD :math:`s` then follows from
    the decomposition of the total sum of squares,

    .. math:: (N - 1) S^2 = (N - G)\,s^2 + \sum_g n_g (m_g + \delta - M)^2 .

    With ``strict=False`` (cohorts of another size, whose group shares differ
    slightly from the trial's), :math:`\delta` is clipped so that every group
    mean still prints as published; the overall mean then comes as close to
    :math:`M` as that allows.

    Raises
    ------
    AnalysisError
        ``strict`` and no shift keeps every group mean at its printed value, or
        the group means alone already exceed the overall variance.

    Examples
    --------
    >>> means, s = group_targets(9.9, 1.5, [9.8, 10.3], [136, 34], decimals=1)
    >>> [round(float(m), 3) for m in means], round(s, 4)
    ([9.8, 10.3], 1.4909)
    >>> means, s = group_targets(12.4, 7.4, [14.1, 7.6], [381, 128], decimals=1, strict=False)
    >>> [round(float(m), 4) for m in means]
    [14.05, 7.55]
    """
    m = np.asarray(group_means, dtype=float)
    c = np.asarray(counts, dtype=float)
    big_n = c.sum()
    delta = overall_mean - float((c * m).sum() / big_n)
    shifted = m + delta
    half = 0.5 * 10.0**-decimals
    if abs(delta) >= half - 1e-9 and not strict:
        delta = float(np.clip(delta, -half + 1e-6, half - 1e-6))
        shifted = m + delta
        overall_mean = float((c * shifted).sum() / big_n)
    if abs(delta) >= half - 1e-9:
        raise AnalysisError(
            f"group means {m.tolist()} with counts {c.astype(int).tolist()} cannot average to "
            f"{overall_mean} while printing as themselves at {decimals} decimals"
        )
    between = float((c * (shifted - overall_mean) ** 2).sum())
    within = ((big_n - 1) * overall_sd**2 - between) / (big_n - len(m))
    if within <= 0:
        raise AnalysisError("the group means are too far apart for the overall SD")
    return shifted, float(np.sqrt(within))


def round_exact_mean(
    x: npt.ArrayLike,
    decimals: int,
    *,
    mean: float | None = None,
    lower: npt.ArrayLike | None = None,
    upper: npt.ArrayLike | None = None,
) -> FloatArray:
    """Round to ``decimals`` and, if ``mean`` is given, keep the mean exact to the grid.

    After rounding to the grid :math:`h = 10^{-d}`, the sum is off from
    :math:`\\mathrm{round}(n m / h)\\,h` by ``k`` grid steps; the ``k`` values
    whose rounding moved them most in the other direction get one step back,
    without leaving ``[lower, upper]``. The resulting mean is within
    :math:`h / (2n)` of ``mean``.

    Examples
    --------
    >>> r = round_exact_mean([1.04, 2.04, 3.04], 1, mean=2.04)
    >>> r.tolist(), round(float(r.mean()), 2)
    ([1.1, 2.0, 3.0], 2.03)
    """
    v = np.asarray(x, dtype=float)
    h = 10.0**-decimals
    units = np.round(v / h)
    if mean is not None and v.size:
        lo = np.full(v.shape, -np.inf) if lower is None else np.broadcast_to(lower, v.shape)
        hi = np.full(v.shape, np.inf) if upper is None else np.broadcast_to(upper, v.shape)
        k = int(np.round(mean * v.size / h) - units.sum())
        resid = v / h - units  # > 0: rounded down
        if k != 0:
            step = 1 if k > 0 else -1
            room = (units + step) * h <= hi + 1e-9 if step > 0 else (units + step) * h >= lo - 1e-9
            score = np.where(room, step * resid, -np.inf)
            kk = min(abs(k), int(room.sum()))
            pick = top_k(score, kk)
            units[pick] += step
    return np.round(units * h, decimals)

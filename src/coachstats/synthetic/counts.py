"""Exact counts: published percentages and design counts turned into counts (Hamilton's largest-remainder apportionment) and into label arrays with exactly those counts, in random order.

Examples
--------
>>> import numpy as np
>>> largest_remainder([0.553, 0.447], 441).tolist()
[244, 197]
>>> sorted(exact_labels(np.random.default_rng(1), [2, 1], ["female", "male"]).tolist())
['female', 'female', 'male']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from coachstats.core.errors import AnalysisError, OptionError
from coachstats.synthetic.common import IntArray

__all__ = [
    "apportioned_labels",
    "balanced_counts",
    "exact_labels",
    "largest_remainder",
    "likert_counts",
    "nested_counts",
    "scale_counts",
]


def largest_remainder(weights: npt.ArrayLike, total: int) -> IntArray:
    r"""Split ``total`` into integers proportional to ``weights`` (Hamilton's method).

    Each part gets :math:`\lfloor t\,w_i / \sum w \rfloor`; the units still
    missing go to the largest fractional remainders (ties to the earlier
    entry), so the parts sum to ``total`` exactly and each is within 1 of its
    exact share.

    Parameters
    ----------
    weights : array_like of float
        Non-negative weights (counts, proportions, percentages).
    total : int
        The total to split.

    Returns
    -------
    ndarray of int64
        Same shape as ``weights``.

    References
    ----------
    Balinski ML, Young HP. Fair Representation. 2nd ed. Brookings; 2001.

    Examples
    --------
    >>> largest_remainder([0.687, 0.313], 441).tolist()
    [303, 138]
    >>> largest_remainder([1, 1, 1], 10).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise OptionError("weights must be finite, non-negative and not all zero")
    if total < 0:
        raise OptionError(f"total must be non-negative, got {total}")
    flat = w.ravel() / w.max()  # normalized first: safe for tiny (subnormal) weights
    share = flat / flat.sum() * total
    base = np.floor(share + 1e-9).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        rem = share - base
        order = np.lexsort((np.arange(flat.size), -rem))
        base[order[:short]] += 1
    return base.reshape(w.shape)


def scale_counts(counts: npt.ArrayLike, n: int) -> IntArray:
    """Design counts scaled to ``n`` patients, keeping the proportions (exact at ``n = sum``).

    Whole-number counts that already add up to ``n`` are returned as they are;
    anything else (other totals, shares, weights) is apportioned with
    :func:`largest_remainder`.

    Examples
    --------
    >>> scale_counts([224, 217], 441).tolist(), scale_counts([224, 217], 1000).tolist()
    ([224, 217], [508, 492])
    >>> scale_counts([0.52, 0.48], 299).tolist()
    [155, 144]
    """
    c = np.asarray(counts)
    if np.issubdtype(c.dtype, np.integer) and int(c.sum()) == n:
        return c.astype(np.int64)
    return largest_remainder(c, n)


def nested_counts(counts: npt.ArrayLike, levels: Sequence[npt.ArrayLike], n: int) -> IntArray:
    """Scale cell counts to ``n`` level by level, so coarse margins stay proportional.

    The totals of the first grouping (e.g. arm x site) are apportioned first
    (:func:`largest_remainder`), then each group's total is split among its
    sub-groups of the next level, and so on down to the cells. Scaling the
    cells directly would let the rounding errors of many small cells add up in
    the margins. Exact when ``n == sum(counts)``.

    Parameters
    ----------
    counts : array_like of int
        Cell counts.
    levels : sequence of array_like
        One label per cell for each grouping level, coarse to fine.
    n : int
        New total.

    Examples
    --------
    >>> nested_counts([1, 1, 1, 1, 2, 2], [[0, 0, 0, 0, 1, 1]], 12).tolist()
    [2, 2, 1, 1, 3, 3]
    """
    c = np.asarray(counts, dtype=np.int64)
    if int(c.sum()) == n:
        return c.copy()
    out = np.zeros(c.size, dtype=np.int64)
    if not levels:
        return largest_remainder(c, n)
    top = np.asarray(levels[0])
    keys, inverse = np.unique(top, return_inverse=True)
    totals = largest_remainder(np.bincount(inverse, weights=c), n)
    for k in range(keys.size):
        idx = np.flatnonzero(inverse == k)
        sub = [np.asarray(lv)[idx] for lv in levels[1:]]
        out[idx] = nested_counts(c[idx], sub, int(totals[k])) if totals[k] else 0
    return out


def balanced_counts(
    counts: npt.ArrayLike,
    levels: Sequence[npt.ArrayLike],
    features: npt.ArrayLike,
    n: int,
) -> IntArray:
    r"""Cell counts scaled to ``n`` like :func:`nested_counts`, with feature margins kept.

    :func:`nested_counts` apportions the totals of the grouping ``levels``
    level by level and then the cells of each finest group by Hamilton's
    method, whose ties fall on the earlier cells. Every other margin (say, the
    patients with diabetes among those uncontrolled on LDL) then collects the
    rounding errors of its many small cells, biased by the table order. Here the
    group totals and the bounds of each cell (its share
    :math:`s_j = c_j T_g / C_g` rounded down or up, :math:`T_g` and
    :math:`C_g` the new and the original total of its group) are kept, and
    single units move between two cells of a group while that brings the
    feature margins closer to their shares: with :math:`A` the features x cells
    matrix, :math:`k` the counts, :math:`d = A k - t` the deviations from the
    target margins :math:`t = A c\,n / N`, moving a unit from cell :math:`i` to
    cell :math:`j` changes :math:`\lVert d\rVert^2` by

    .. math:: 2\,d^\top (A_{\cdot j} - A_{\cdot i}) + \lVert A_{\cdot j} - A_{\cdot i}\rVert^2,

    and the move with the largest decrease is made until none decreases it
    (a local search for a controlled rounding). Exact when ``n == sum(counts)``.

    Parameters
    ----------
    counts : array_like of int
        Cell counts.
    levels : sequence of array_like
        One label per cell for each grouping level, coarse to fine (may be empty).
    features : array_like of float
        Features x cells: each row defines a margin to keep proportional (e.g.
        an indicator of the cells of one arm with a condition).
    n : int
        New total.

    Returns
    -------
    ndarray of int64
        Counts adding up to ``n``, the group totals of :func:`nested_counts`,
        each cell within one of its share.

    References
    ----------
    Cox LH, Ernst LR. Controlled rounding. INFOR 1982;20:423-432.

    Examples
    --------
    Four cells crossing two binary traits, halved: Hamilton's ties put both
    units in trait ``a``; the balanced counts keep one of each trait.

    >>> cells = [1, 1, 1, 1]  # (a, x), (a, y), (b, x), (b, y)
    >>> nested_counts(cells, [], 2).tolist()
    [1, 1, 0, 0]
    >>> balanced_counts(cells, [], [[1, 1, 0, 0], [1, 0, 1, 0]], 2).tolist()
    [0, 1, 1, 0]
    """
    c = np.asarray(counts, dtype=np.int64)
    out = nested_counts(c, levels, n)
    if int(c.sum()) == n:
        return out
    a = np.asarray(features, dtype=float).reshape(-1, c.size)
    group = np.zeros(c.size, dtype=np.int64)
    for level in levels:
        code = np.unique(np.asarray(level), return_inverse=True)[1].ravel()
        group = np.unique(group * (code.max() + 1) + code, return_inverse=True)[1].ravel()
    new = np.bincount(group, weights=out)
    old = np.bincount(group, weights=c)
    share = c * np.divide(new, old, out=np.zeros(new.size), where=old > 0)[group]
    low, high = np.floor(share + 1e-9), np.ceil(share - 1e-9)
    same = group[:, None] == group[None, :]
    gram = a.T @ a
    norms = np.diag(gram)
    pair = norms[:, None] + norms[None, :] - 2.0 * gram  # ||A_j - A_i||^2
    dev = a @ out - a @ (c * (n / c.sum()))
    for _ in range(10 * c.size):  # each move lowers ||d||^2; the cap is a safety net
        g = dev @ a
        gain = 2.0 * (g[None, :] - g[:, None]) + pair
        movable = same & (out > low)[:, None] & (out < high)[None, :]
        gain = np.where(movable, gain, np.inf)
        k = int(np.argmin(gain))
        if not gain.flat[k] < -1e-9:
            break
        i, j = divmod(k, c.size)
        out[i] -= 1
        out[j] += 1
        dev += a[:, j] - a[:, i]
    return out


def exact_labels(
    rng: np.random.Generator, counts: npt.ArrayLike, labels: Sequence[object] | npt.ArrayLike
) -> npt.NDArray[np.generic]:
    """``labels[i]`` repeated ``counts[i]`` times, in random order.

    Examples
    --------
    >>> lab = exact_labels(np.random.default_rng(0), [3, 1], [True, False])
    >>> int(lab.sum()), lab.size
    (3, 4)
    """
    c = np.asarray(counts, dtype=np.int64)
    lab = np.asarray(labels)
    if lab.dtype.kind == "U":  # text: references to the labels, not a fixed-width copy each
        lab = np.asarray(labels, dtype=object)
    if lab.shape[0] != c.shape[0]:
        raise OptionError(f"{c.shape[0]} counts but {lab.shape[0]} labels")
    return rng.permutation(np.repeat(lab, c))


def apportioned_labels(
    rng: np.random.Generator, weights: Mapping[Any, float], n: int
) -> npt.NDArray[np.generic]:
    """``n`` labels (the keys of ``weights``) in random order, counts by :func:`scale_counts`.

    Counts that add up to ``n`` are kept exactly; shares or counts of another
    total are apportioned (Hamilton).

    Examples
    --------
    >>> lab = apportioned_labels(np.random.default_rng(0), {"female": 0.553, "male": 0.447}, 441)
    >>> int((lab == "female").sum()), lab.size
    (244, 441)
    """
    return exact_labels(rng, scale_counts(list(weights.values()), n), list(weights))


def likert_counts(n: int, mean: float, sd: float, *, low: int = 1, high: int = 5) -> IntArray:
    """Counts of each response ``low..high`` with an exact total and an SD near ``sd``.

    The counts start from a normal distribution with the target mean and SD
    discretized to the response categories (Hamilton apportionment), then
    single responses move one category up or down (nearest the mean first)
    until the sum is ``round(n * mean)``.

    Examples
    --------
    >>> c = likert_counts(135, 2.44, 1.0)
    >>> c.tolist(), int((c * np.arange(1, 6)).sum()), round(329 / 135, 2)
    ([29, 41, 45, 17, 3], 329, 2.44)
    """
    values = np.arange(low, high + 1)
    edges = np.concatenate([[-np.inf], values[:-1] + 0.5, [np.inf]])
    prob = np.diff(special.ndtr((edges - mean) / sd))
    counts = largest_remainder(prob, n)
    target = round(n * mean)
    if not low * n <= target <= high * n:
        raise AnalysisError(f"mean {mean} is outside {low}..{high}")
    order = np.argsort(np.abs(values - mean), kind="stable")
    while (diff := target - int((counts * values).sum())) != 0:
        step = 1 if diff > 0 else -1
        for i in order:
            j = i + step
            if 0 <= j < values.size and counts[i] > 0:
                counts[i] -= 1
                counts[j] += 1
                break
    return counts

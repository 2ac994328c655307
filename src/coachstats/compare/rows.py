r"""Rows of a model and sums over them: groups, chunks, and mergeable statistics.

The fitters of :mod:`~coachstats.compare.glm`, :mod:`~coachstats.compare.gee`
and :mod:`~coachstats.compare.mixed` work on sums over rows (Gram matrices,
per-group totals, counts), so the statistics of a data set are the sum of
those of its chunks. This module holds what they share:

- :class:`GroupIndex`, integer codes of a grouping column (clusters, fixed
  effects) and per-group sums by ``np.bincount``
  (:func:`group_sums`, :func:`group_sums_t`, :func:`minus_group_values`);
- single-threaded products over rows (:func:`rows_dot`, :func:`combine_rows`,
  :func:`vdot`);
- :class:`ModelRows`, the numeric rows of one model (all of them or one chunk),
  :class:`Additive` (sums that add across chunks), :data:`Request` and
  :func:`run_local`, the in-memory driver of a fitter's generator of requests;
- :class:`ArmMoments`, the per-arm counts, means and SDs of a result, mergeable.

Examples
--------
>>> g = GroupIndex.from_values(pd.Series(["b", "a", "b"]))
>>> g.sums(np.array([1.0, 2.0, 3.0]))
array([2., 4.])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Self, TypeVar

import numpy as np
import pandas as pd

from coachstats.core.results import ArmSummary

__all__ = [
    "Additive",
    "ArmMoments",
    "Centred",
    "GroupIndex",
    "ModelRows",
    "Request",
    "combine_rows",
    "gram_rows",
    "group_sums",
    "group_sums_t",
    "group_total",
    "logistic_parts",
    "minus_group_values",
    "rows_dot",
    "run_local",
    "shifted_gram_rows",
    "vdot",
]


# --------------------------------------------------------------------------- groups


def group_sums(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    r"""Sum ``values`` (a vector, or the columns of a matrix) within groups.

    :math:`s_g = \sum_{i: c_i = g} v_i`, by ``np.bincount`` (no Python loop over
    groups or rows).

    Parameters
    ----------
    codes : ndarray of int
        Group code of each row, in ``0 .. n_groups - 1``.
    values : ndarray
        ``(n,)`` or ``(n, k)``.
    n_groups : int
        Number of groups (length of the result).

    Returns
    -------
    ndarray
        ``(n_groups,)`` or ``(n_groups, k)``.

    Examples
    --------
    >>> group_sums(np.array([0, 1, 0]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), 2)
    array([[6., 8.],
           [3., 4.]])
    """
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)
    return group_sums_t(codes, np.asfortranarray(values).T, n_groups)


def group_sums_t(codes: np.ndarray | None, values_t: np.ndarray, n_groups: int) -> np.ndarray:
    """:func:`group_sums` of the rows of a ``(k, n)`` array; returns ``(n_groups, k)``.

    ``codes=None`` means one group (plain sums). Each row of ``values_t`` is
    summed by one ``np.bincount`` (fastest on C-contiguous rows).

    Examples
    --------
    >>> group_sums_t(np.array([0, 1, 0]), np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), 2)
    array([[6., 8.],
           [3., 4.]])
    """
    if codes is None or n_groups == 1:
        return values_t.sum(axis=1)[None, :]
    out = np.empty((n_groups, values_t.shape[0]))
    for j in range(values_t.shape[0]):  # loop over columns, not rows or groups
        out[:, j] = np.bincount(codes, weights=values_t[j], minlength=n_groups)
    return out


def group_total(codes: np.ndarray | None, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sums of a vector (``codes=None``: one group).

    Examples
    --------
    >>> group_total(np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]), 2)
    array([4., 2.])
    """
    if codes is None or n_groups == 1:
        return np.array([values.sum()], dtype=float)
    return np.bincount(codes, weights=values, minlength=n_groups)


# Products over the rows use einsum's single-threaded loops rather than BLAS
# gemv / dot: OpenBLAS runs those multi-threaded, which on a machine with busy
# cores makes them several times slower than one thread (measured: a 600k-row
# dot product 0.2 ms on one thread, 8 ms on two contended ones).


def rows_dot(values_t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``values_t @ v`` for a ``(k, n)`` array: one sum of products per row.

    Examples
    --------
    >>> rows_dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    array([3., 7.])
    """
    return np.einsum("ij,j->i", values_t, v)


def gram_rows(values_t: np.ndarray, block: int = 16_384) -> np.ndarray:
    """``values_t @ values_t.T`` of a ``(k, n)`` array, summed over blocks of rows.

    One product of a long ``(k, n)`` array with its transpose runs slowly in
    BLAS (and on every core); small products of cache-sized blocks run fast.

    Examples
    --------
    >>> gram_rows(np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 1.0]]), block=2)
    array([[14.,  5.],
           [ 5.,  2.]])
    """
    return shifted_gram_rows(values_t, None, block=block)[0]


def shifted_gram_rows(
    values_t: np.ndarray,
    mean: np.ndarray | None,
    group_weights: np.ndarray | None = None,
    codes: np.ndarray | None = None,
    block: int = 16_384,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gram_rows` of ``values_t - mean`` (rows weighted by ``group_weights[codes]``); and its unweighted diagonal.

    The shifted rows are made a block at a time, in cache, never stored
    (``mean=None``: the rows as they are).

    Examples
    --------
    >>> x = np.array([[1.0, 2.0, 3.0]])
    >>> shifted_gram_rows(x, np.array([2.0]), np.array([1.0, 2.0]), np.array([0, 1, 1]))
    (array([[3.]]), array([2.]))
    """
    k, n = values_t.shape
    out, sq = np.zeros((k, k)), np.zeros(k)
    for start in range(0, n, block):
        part = values_t[:, start : start + block]
        if mean is not None:
            part = part - mean[:, None]
        if group_weights is None or codes is None:
            out += part @ part.T
            continue
        out += np.multiply(part, np.take(group_weights, codes[start : start + block])) @ part.T
        sq += np.einsum("ij,ij->i", part, part)
    if group_weights is None or codes is None:
        sq = np.diag(out).copy()
    return out, sq


def combine_rows(
    coef: np.ndarray, values_t: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``coef @ values_t``: the linear combination of the rows of a ``(k, n)`` array.

    Examples
    --------
    >>> combine_rows(np.array([1.0, -1.0]), np.array([[1.0, 2.0], [3.0, 5.0]]))
    array([-2., -3.])
    """
    if out is None:
        return np.einsum("i,ij->j", coef, values_t)
    return np.einsum("i,ij->j", coef, values_t, out=out)


def vdot(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` of two vectors, as a float.

    Examples
    --------
    >>> vdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.einsum("i,i->", a, b))


def logistic_parts(eta: np.ndarray, *, log_term: bool = False) -> tuple[np.ndarray, ...]:
    r"""Mean :math:`\mu = \operatorname{expit}(\eta)` and weight :math:`\mu(1-\mu)` from one ``exp``.

    With :math:`t = e^{-|\eta|}`: :math:`\mu = 1/(1+t)` for :math:`\eta \ge 0`
    and :math:`t/(1+t)` otherwise, :math:`\mu(1-\mu) = t/(1+t)^2`, all without
    overflow or cancellation (scipy's ``expit`` and ``mu * (1 - mu)`` cost
    five times as much, and the latter loses the weight's digits far in the
    tails). With ``log_term`` also :math:`\log(1 + t)`, the part of the
    binomial deviance that does not depend on :math:`y`.

    Examples
    --------
    >>> mu, w = logistic_parts(np.array([0.0, 40.0, -40.0]))
    >>> mu.tolist(), bool(w[0] == 0.25), float(w[1] / np.exp(-40.0))
    ([0.5, 1.0, 4.248354255291589e-18], True, 1.0)
    """
    t = np.abs(eta)
    np.negative(t, out=t)
    np.exp(t, out=t)
    p = t + 1.0
    log = np.log1p(t) if log_term else None
    np.reciprocal(p, out=p)  # the mean of a non-negative eta
    t *= p  # t / (1 + t): the mean of a negative eta
    w = np.multiply(t, p)
    mu = np.where(eta >= 0.0, p, t)
    return (mu, w) if log is None else (mu, w, log)


def minus_group_values(
    values_t: np.ndarray, per_group: np.ndarray, codes: np.ndarray | None
) -> np.ndarray:
    """``values_t[j] - per_group[codes, j]`` for every row ``j`` of a ``(k, n)`` array.

    ``per_group`` is ``(C, k)``; ``codes=None`` means one group. Row by row with
    ``np.take`` (several times faster than one 2-D fancy index).

    Examples
    --------
    >>> minus_group_values(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0], [2.0]]), np.array([0, 1, 1]))
    array([[0., 0., 1.]])
    """
    out = np.empty(values_t.shape)
    for j in range(values_t.shape[0]):  # loop over columns, not rows or groups
        sub = per_group[0, j] if codes is None else np.take(per_group[:, j], codes)
        np.subtract(values_t[j], sub, out=out[j])
    return out


@dataclass(frozen=True)
class GroupIndex:
    """Integer codes of a grouping column (clusters or fixed effects).

    ``codes[i]`` is the group of row ``i``; ``labels[g]`` the value of group ``g``
    (sorted); ``counts[g]`` its size.

    Examples
    --------
    >>> g = GroupIndex.from_values(pd.Series(["b", "a", "b"]))
    >>> g.codes, g.n_groups, g.counts, list(g.labels)
    (array([1, 0, 1]), 2, array([1, 2]), ['a', 'b'])
    """

    codes: np.ndarray
    labels: np.ndarray
    counts: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.labels)

    @classmethod
    def from_values(cls, values: pd.Series | np.ndarray) -> GroupIndex:
        """Code any column (strings, numbers, categories) as ``0 .. G-1``."""
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        if isinstance(series.dtype, pd.StringDtype) or (
            pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_extension_array_dtype(series.dtype)
        ):
            # Sorting strings (by code point) or numbers: no need for Python objects.
            codes, uniques = pd.factorize(series, sort=True)
            string = isinstance(series.dtype, pd.StringDtype)
            labels = uniques.to_numpy(dtype=object) if string else uniques.to_numpy()
        else:
            codes, labels = pd.factorize(series.to_numpy(), sort=True)
        codes = codes.astype(np.intp, copy=False)
        counts = np.bincount(codes, minlength=len(labels))
        return cls(codes, np.asarray(labels), counts)

    @classmethod
    def single(cls, n: int) -> GroupIndex:
        """One group holding every row (the intercept, absorbed as a group mean)."""
        return cls(np.zeros(n, dtype=np.intp), np.array(["(all)"]), np.array([n]))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-group sums of ``values``; see :func:`group_sums`."""
        if self.n_groups == 1:
            return values.sum(axis=0)[None, ...]
        return group_sums(self.codes, values, self.n_groups)

    def expand(self, per_group: np.ndarray) -> np.ndarray:
        """Per-group values broadcast back to the rows (``per_group[codes]``)."""
        if self.n_groups == 1:
            return per_group[0]  # broadcasts against (n,) or (n, k)
        return np.take(per_group, self.codes, axis=0)

    def means(self, values: np.ndarray) -> np.ndarray:
        """Per-group means of ``values``."""
        s = self.sums(values)
        return s / (self.counts if s.ndim == 1 else self.counts[:, None])

    def demean(self, values: np.ndarray) -> np.ndarray:
        """``values`` minus their group means (the within transformation)."""
        out: np.ndarray = values - self.expand(self.means(values))
        return out

    def subset(self, keep: np.ndarray) -> GroupIndex:
        """The index restricted to rows ``keep`` (groups renumbered, empty ones removed)."""
        used, codes = np.unique(self.codes[keep], return_inverse=True)
        return GroupIndex(
            codes.astype(np.intp), self.labels[used], np.bincount(codes, minlength=len(used))
        )


@dataclass(frozen=True)
class Centred:
    r"""A design's column means, with the sums the first Newton pass and the aliasing check need.

    The fitters shift the design by its column means :math:`m` (the group
    intercepts absorb any shift): :math:`\tilde x_i = x_i - m`, computed a
    block of rows at a time in the passes (:meth:`ModelRows.shifted_block`),
    never stored. Computed once, by the aliasing check of
    :func:`~coachstats.compare.design.build_design` or by a fitter given a bare
    design, and shared by both.

    Attributes
    ----------
    mean : ndarray
        ``(k,)`` the column means :math:`m`.
    group_means : ndarray
        ``(C, k)`` per-group means of the design.
    gram : ndarray
        ``(k, k)`` :math:`\sum_i v_{c(i)} \tilde x_i \tilde x_i^\top`, weighted by
        ``weights``: the first pass's :math:`X^\top W X` when they are its
        working weights (or, with one group, proportional to them).
    weights : ndarray
        ``(C,)`` the per-group weights :math:`v_c` of ``gram`` (ones by default,
        and always with one group).
    sums : ndarray
        ``(C, k)`` per-group sums :math:`s_c = \sum_{i \in c} \tilde x_i`.
    sq : ndarray
        ``(k,)`` unweighted :math:`\sum_i \tilde x_{ij}^2`.
    counts : ndarray
        ``(C,)`` group sizes.

    Examples
    --------
    >>> c = Centred.of(np.array([[1.0, 2.0, 4.0, 8.0]]), GroupIndex.single(4))
    >>> c.mean, c.gram, c.raw_sq()
    (array([3.75]), array([[28.75]]), array([85.]))
    >>> g = GroupIndex.from_values(np.array([0, 0, 1, 1]))
    >>> Centred.of(np.array([[1.0, 3.0, 4.0, 8.0]]), g).within()  # (1 + 1) + (4 + 4)
    (array([[10.]]), array([10.]))
    """

    mean: np.ndarray
    group_means: np.ndarray
    gram: np.ndarray
    weights: np.ndarray
    sums: np.ndarray
    sq: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(
        cls, values_t: np.ndarray, groups: GroupIndex, weights: np.ndarray | None = None
    ) -> Centred:
        """The sums of a ``(k, n)`` design over ``groups`` (its Gram matrix weighted by group)."""
        C, n = groups.n_groups, values_t.shape[1]
        codes = groups.codes if C > 1 else None
        totals = group_sums_t(codes, values_t, C)
        mean = totals.sum(axis=0) / n
        sums = totals - groups.counts[:, None] * mean
        weighted = weights is not None and codes is not None
        w = np.asarray(weights, dtype=float) if weighted else np.ones(C)
        gram, sq = shifted_gram_rows(values_t, mean, w if weighted else None, codes)
        counts = groups.counts.astype(float)
        return cls(mean, totals / counts[:, None], gram, w, sums, sq, counts)

    @cached_property
    def centres(self) -> np.ndarray:
        """``(C, k)`` the shift of each group (:math:`m` in every row): the ``shift`` of
        :func:`~coachstats.compare.newton.newton_steps` (one array, the anchor of what a
        fit keeps for it)."""
        return np.tile(self.mean, (len(self.counts), 1))

    def within(self) -> tuple[np.ndarray, np.ndarray]:
        r"""The Gram matrix and squared norms within groups (the group means removed).

        :math:`G - \sum_c v_c s_c s_c^\top / n_c` and :math:`\sum_i \tilde x_{ij}^2 -
        \sum_c s_{cj}^2 / n_c` (the weighted one is the first pass's Schur
        complement); with one group, ``gram`` and ``sq`` themselves.
        """
        if len(self.weights) == 1:
            return self.gram, self.sq
        scaled = self.sums / self.counts[:, None]
        gram = self.gram - (self.sums * self.weights[:, None]).T @ scaled
        sq = self.sq - np.sum(self.sums * scaled, axis=0)
        return (gram + gram.T) / 2.0, sq

    def raw_sq(self) -> np.ndarray:
        r"""Squared norms of the uncentred columns, :math:`\sum_i x_{ij}^2`, from the sums.

        :math:`\sum_i \tilde x_{ij}^2 + 2 m_j \sum_c s_{cj} + n m_j^2`, with no pass over the rows.
        """
        n = float(np.sum(self.counts))
        out: np.ndarray = self.sq + 2.0 * self.mean * self.sums.sum(axis=0) + n * self.mean**2
        return out

    def group_centred(self, values_t: np.ndarray, groups: GroupIndex) -> np.ndarray:
        """``values_t`` minus its group means, ``(k, n)`` (the exact aliasing check's input)."""
        return minus_group_values(
            values_t, self.group_means, groups.codes if groups.n_groups > 1 else None
        )

    def subset(self, keep: Sequence[int]) -> Centred:
        """The columns ``keep`` (in that order)."""
        idx = list(keep)
        return Centred(
            self.mean[idx],
            self.group_means[:, idx],
            self.gram[np.ix_(idx, idx)],
            self.weights,
            self.sums[:, idx],
            self.sq[idx],
            self.counts,
        )


# --------------------------------------------------------------------------- chunks of rows

_T = TypeVar("_T")
_R = TypeVar("_R")


class Additive:
    """Mixin for frozen dataclasses of sums: ``a + b`` adds every field.

    The statistics the fitters accumulate (Gram matrices, per-group sums,
    counts) are sums over rows, so the statistics of a whole data set are the
    sum of those of its chunks -- in memory (one chunk), over the row groups
    of a Parquet file (:mod:`coachstats.engines.stream`) or over the partitions of a
    Dask DataFrame (:mod:`coachstats.engines.dask`).

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Sums(Additive):
    ...     n: int
    ...     s: np.ndarray
    >>> Sums(1, np.array([1.0, 2.0])) + Sums(2, np.array([3.0, 4.0]))
    Sums(n=3, s=array([4., 6.]))
    """

    def __add__(self, other: Self) -> Self:
        values = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)  # type: ignore[arg-type]
        }
        return type(self)(**values)


@dataclass(eq=False)
class ModelRows:
    """The numeric rows of one model: all of them (in memory) or one chunk.

    Attributes
    ----------
    XT : ndarray
        ``(k, n)`` regressors, one C-contiguous row per column of the design
        (the layout that makes per-column sums and ``np.bincount`` fast).
    y : ndarray
        ``(n,)`` outcome.
    groups : ndarray or None
        Code of the absorbed group (fixed effect) of each row; None for one
        group (an intercept).
    n_groups : int
        Number of absorbed groups (1 for an intercept).
    clusters : ndarray or None
        Cluster code of each row (cluster-robust SEs, GEE, mixed models).
    n_clusters : int
        Number of clusters (0 when there are none).

    Derived arrays (the design shifted by per-group centres, or centred with
    an intercept row) are computed once per chunk and cached, so the passes of
    an iterative fit over in-memory rows do not recompute them.
    """

    XT: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    n_groups: int = 1
    clusters: np.ndarray | None = None
    n_clusters: int = 0
    #: Keep each Newton pass's residuals (for the cluster-robust scores of the fit's last pass).
    keep_residuals: bool = False
    _cache: dict[Hashable, tuple[Any, np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_design(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        groups: GroupIndex | None = None,
        clusters: GroupIndex | None = None,
    ) -> ModelRows:
        """Rows from an ``(n, k)`` design (no copy when ``X`` is Fortran-ordered)."""
        g_codes = None if groups is None or groups.n_groups == 1 else groups.codes
        return cls(
            XT=np.ascontiguousarray(X.T, dtype=float),
            y=np.asarray(y, dtype=float),
            groups=g_codes,
            n_groups=1 if groups is None else groups.n_groups,
            clusters=None if clusters is None else clusters.codes,
            n_clusters=0 if clusters is None else clusters.n_groups,
        )

    @property
    def nobs(self) -> int:
        """Number of rows."""
        return len(self.y)

    def by_group(self, per_group: np.ndarray) -> np.ndarray:
        """Per-group values at the rows: ``per_group[groups]`` (scalar for one group)."""
        if self.groups is None:
            return per_group[0]
        return np.take(per_group, self.groups, axis=0)

    def cached(self, key: Hashable, anchor: Any, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """``compute()`` once per ``(key, anchor)``; ``anchor`` is the parameter it depends on."""
        hit = self._cache.get(key)
        if hit is not None and hit[0] is anchor:
            return hit[1]
        value = compute()
        self._cache[key] = (anchor, value)
        return value

    def stored(self, key: Hashable, anchor: Any) -> np.ndarray | None:
        """The value :meth:`store` kept for ``(key, anchor)``, else None."""
        hit = self._cache.get(key)
        return hit[1] if hit is not None and hit[0] is anchor else None

    def store(self, key: Hashable, anchor: Any, value: np.ndarray) -> None:
        """Keep ``value`` for ``(key, anchor)`` (``anchor``: the parameter it depends on)."""
        self._cache[key] = (anchor, value)

    def buffer(self, name: str, rows: int = 0) -> np.ndarray:
        """A scratch array of ``n`` (or ``(rows, n)``) floats, reused across passes."""
        shape = (rows, self.nobs) if rows else (self.nobs,)
        hit = self._cache.get(("buffer", name))
        if hit is not None and hit[1].shape == shape:
            return hit[1]
        value = np.empty(shape)
        self._cache[("buffer", name)] = (None, value)
        return value

    def shifted(self, shift: np.ndarray) -> np.ndarray:
        r"""``(k, n)`` design minus per-group centres: :math:`x_i - m_{c(i)}`.

        Group effects absorb any per-group shift, so fits on the shifted
        design have the same slopes; the shift only improves conditioning.
        """

        return self.cached(
            "shifted", shift, lambda: minus_group_values(self.XT, shift, self.groups)
        )

    def shifted_block(self, shift: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of :meth:`shifted`, ``(k, stop - start)``.

        When the shift is the same for every group (its :class:`Centred` mean
        was kept, see :func:`~coachstats.compare.glm.fit_logistic`), the block
        is shifted here, in cache, and the shifted design is never stored.
        """
        mean = self.stored("uniform shift", shift)
        if mean is not None:
            return self.XT[:, start:stop] - mean[:, None]
        return self.shifted(shift)[:, start:stop]

    def centered(self, center: np.ndarray) -> np.ndarray:
        """``(k + 1, n)``: a row of ones (the intercept) over ``XT - center``."""

        def compute() -> np.ndarray:
            out = np.empty((self.XT.shape[0] + 1, self.nobs))
            out[0] = 1.0
            np.subtract(self.XT, center[:, None], out=out[1:])
            return out

        return self.cached("centered", center, compute)


#: A request of a fitter: the statistics it needs, computed on one chunk of rows.
Request = Callable[[ModelRows], _T]


def run_local(steps: Generator[Callable[[_T], Any], Any, _R], rows: _T) -> _R:
    """Drive a fitter's generator of requests on rows held in memory.

    The iterative fitters are generators: each ``yield`` hands out a function
    that computes, on one chunk of rows, the sums the fitter needs next, and
    receives their total over all rows. In memory there is one chunk, so the
    total is the function's value on ``rows``; the streaming and Dask drivers
    evaluate it chunk by chunk and add. An exception raised by a request is
    thrown into the generator (which may handle it, e.g. by a fallback).

    Examples
    --------
    >>> def mean_of_y():
    ...     total = yield lambda rows: (rows.nobs, float(rows.y.sum()))
    ...     return total[1] / total[0]
    >>> run_local(mean_of_y(), ModelRows(np.zeros((0, 3)), np.array([1.0, 2.0, 6.0])))
    3.0
    """
    try:
        request = next(steps)
        while True:
            try:
                value = request(rows)
            except Exception as exc:  # the fitter decides what to do (e.g. a fallback)
                request = steps.throw(exc)
                continue
            request = steps.send(value)
    except StopIteration as stop:
        return stop.value


@dataclass(frozen=True)
class ArmMoments(Additive):
    """Per-arm count, sum and sum of squared deviations (treatment first), mergeable.

    The arm summaries of a result (``n``, events or mean and SD) from sums that
    add across chunks of rows; deviations are taken from a per-chunk mean and
    merged exactly (Chan, Golub & LeVeque's pairwise update), so the SD has no
    cancellation.
    """

    n: np.ndarray
    total: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, treated: np.ndarray, *, binary: bool = False) -> ArmMoments:
        """The moments of ``y`` in the treatment (``treated``) and control arms.

        ``binary``: ``y`` is 0/1, so an arm's sum of squared deviations is
        :math:`e(1 - e/n)` from its events :math:`e` (no second pass).

        Examples
        --------
        >>> y, arm = np.array([1.0, 0.0, 1.0, 1.0]), np.array([True, True, False, False])
        >>> ArmMoments.of(y, arm, binary=True).m2.tolist(), ArmMoments.of(y, arm).m2.tolist()
        ([0.5, 0.0], [0.5, 0.0])
        """
        n1 = int(np.count_nonzero(treated))
        t1 = vdot(y, treated.astype(float)) if n1 else 0.0
        n = np.array([n1, len(y) - n1])
        total = np.array([t1, float(y.sum()) - t1])
        if binary:
            share = np.divide(total, n, out=np.zeros(2), where=n > 0)
            return cls(n, total, total * (1.0 - share))
        mean = np.divide(total, n, out=np.zeros(2), where=n > 0)
        dev = y - np.where(treated, mean[0], mean[1])
        sq = vdot(dev, dev * treated)
        m2 = np.array([sq, vdot(dev, dev) - sq])
        return cls(n, total, m2)

    def __add__(self, other: ArmMoments) -> ArmMoments:
        n = self.n + other.n
        mean_a = np.divide(self.total, self.n, out=np.zeros(2), where=self.n > 0)
        mean_b = np.divide(other.total, other.n, out=np.zeros(2), where=other.n > 0)
        delta = mean_b - mean_a
        cross = np.divide(self.n * other.n, n, out=np.zeros(2), where=n > 0)
        return ArmMoments(n, self.total + other.total, self.m2 + other.m2 + delta**2 * cross)

    def total_m2(self) -> float:
        """Sum of squared deviations from the overall mean (both arms together)."""
        n = float(self.n.sum())
        if n == 0:
            return 0.0
        mean = np.divide(self.total, self.n, out=np.zeros(2), where=self.n > 0)
        between = self.n[0] * self.n[1] / n * (mean[0] - mean[1]) ** 2
        return float(self.m2.sum() + between)

    def summaries(self, labels: tuple[str, str], binary: bool) -> tuple[ArmSummary, ...]:
        """:class:`ArmSummary` per arm: events and proportion, or mean and SD."""
        out = []
        for j, label in enumerate(labels):
            n = int(self.n[j])
            if n == 0:  # an arm absent from some rows (a subgroup)
                out.append(ArmSummary(label, 0, events=0 if binary else None))
                continue
            if binary:
                events = round(float(self.total[j]))
                out.append(ArmSummary(label, n, events=events, value=events / n))
            else:
                sd = math.sqrt(self.m2[j] / (n - 1)) if n > 1 else math.nan
                out.append(ArmSummary(label, n, value=float(self.total[j] / n), sd=sd))
        return tuple(out)

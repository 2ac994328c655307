r"""Design matrices for the model-based comparisons, and per-group sums.

:func:`build_design` turns the complete-case frame of one comparison (from
:func:`coachstats.compare.prepare.prepare`) into the matrix of regressors
``X = [arm, covariates]`` used by :mod:`~coachstats.compare.glm`,
:mod:`~coachstats.compare.gee` and :mod:`~coachstats.compare.mixed`. The
intercept (or the clinic fixed effects) is not a column of ``X``: the fitters
absorb it, as a group mean, which also keeps the normal equations well
conditioned.

Coding of covariates
--------------------
- numeric columns enter as they are;
- ``bool`` columns (and object columns holding only ``True``/``False``) enter as
  0/1, named after the column;
- string, object and categorical columns are dummy (treatment) coded, one 0/1
  column per level but the reference, named ``"col[T.level]"`` (patsy style).
  The reference is the first level **in sorted order** for string columns
  (R's ``factor()`` default for ASCII labels) and the **first category** for a
  pandas ``Categorical`` (so ``pd.Categorical(x, categories=[...])`` chooses it);
  levels not observed in the analysed rows are left out;
- ``C(col)`` in a formula forces dummy coding of a numeric column (levels in
  numeric order).

The arm column is ``"arm[T.coaching]"``: 1 for the treatment arm as resolved by
``prepare`` (coaching by default), 0 for the control arm.

Aliased columns
---------------
A covariate column that is constant (within every group, when fixed effects
are absorbed) or a linear combination of the columns before it is dropped with
a :class:`~coachstats.core.errors.DataWarning` and listed in ``Design.dropped``; the
rule is that of R's ``lm`` (a column is aliased when its norm after projection
on the earlier columns is below ``1e-7`` times its own norm, measured after
removing the group means). If the arm column itself is aliased with the
covariates (or the fixed effects), the treatment effect is not estimable and
:class:`~coachstats.core.errors.AnalysisError` is raised.

Examples
--------
>>> import pandas as pd
>>> parse_formula("age + bmi + C(site)")
(('age', False), ('bmi', False), ('site', True))
>>> frame = pd.DataFrame({"age": [50.0, 61, 47, 55, 70, 38],
...                       "site": ["b", "a", "b", "c", "a", "c"]})
>>> d = build_design(frame, np.array([True, False, False, True, True, False]), ["age", "site"])
>>> d.names
('arm[T.coaching]', 'age', 'site[T.b]', 'site[T.c]')
>>> d.X[:, 2]
array([1., 0., 1., 0., 0., 0.])
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self, TypeVar

import numpy as np
import pandas as pd
import scipy.linalg as sla

from coachstats.core.errors import AnalysisError, DataWarning, OptionError
from coachstats.core.results import ArmSummary

__all__ = [
    "Additive",
    "ArmMoments",
    "Design",
    "GroupIndex",
    "ModelRows",
    "build_design",
    "combine_rows",
    "group_sums",
    "minus_group_values",
    "parse_formula",
    "rows_dot",
    "run_local",
    "vdot",
]

#: R's ``lm`` tolerance for aliased columns (relative norm after projection).
ALIAS_TOL = 1e-7
#: Screening on the Gram matrix (squared relative norms): a column below
#: ``SUSPECT_TOL`` sends the whole design to the exact QR check; below
#: ``_SCREEN_TOL`` it counts as aliased for the columns after it in the screen.
_SCREEN_TOL = 1e-10
SUSPECT_TOL = 1e-6

_TERM = re.compile(r"^C\(\s*(?P<cat>[^()]+?)\s*\)$|^(?P<name>[^()~+*:]+)$")


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
    def of(cls, y: np.ndarray, treated: np.ndarray) -> ArmMoments:
        """The moments of ``y`` in the treatment (``treated``) and control arms."""
        n1 = int(np.count_nonzero(treated))
        t1 = vdot(y, treated.astype(float)) if n1 else 0.0
        n = np.array([n1, len(y) - n1])
        total = np.array([t1, float(y.sum()) - t1])
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
            if binary:
                events = round(float(self.total[j]))
                out.append(ArmSummary(label, n, events=events, value=events / n))
            else:
                sd = math.sqrt(self.m2[j] / (n - 1)) if n > 1 else math.nan
                out.append(ArmSummary(label, n, value=float(self.total[j] / n), sd=sd))
        return tuple(out)


# --------------------------------------------------------------------------- formulas


def parse_formula(formula: str) -> tuple[tuple[str, bool], ...]:
    """Parse a right-hand side such as ``"age + bmi + C(site)"``.

    Terms are column names separated by ``+``; ``C(name)`` codes ``name`` as
    categorical whatever its dtype. A leading ``~`` is allowed; a left-hand
    side, interactions (``:``, ``*``), transformations and ``-1`` are not.

    Returns
    -------
    tuple of (name, categorical)
        One entry per term, in order, duplicates removed.

    Examples
    --------
    >>> parse_formula("~ age + C(clinic_size)")
    (('age', False), ('clinic_size', True))
    >>> parse_formula("age * sex")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: formula term 'age * sex' is not supported; write column names \
and C(name) separated by '+' (no interactions, transformations or left-hand side)
    """
    text = formula.strip()
    if text.startswith("~"):
        text = text[1:]
    terms: dict[str, bool] = {}
    for raw in text.split("+"):
        term = raw.strip()
        m = _TERM.match(term) if term else None
        if m is None or "~" in term or term in ("0", "1", "-1"):
            raise OptionError(
                f"formula term {term!r} is not supported; write column names and C(name) "
                "separated by '+' (no interactions, transformations or left-hand side)"
            )
        name = (m.group("cat") or m.group("name")).strip()
        terms[name] = terms.get(name, False) or m.group("cat") is not None
    return tuple(terms.items())


def covariate_terms(
    covariates: Sequence[str] | str = (), formula: str | None = None
) -> tuple[tuple[str, bool], ...]:
    """Combine ``covariates=`` (names) and ``formula=`` into one list of terms.

    Examples
    --------
    >>> covariate_terms(["age"], "bmi + C(site)")
    (('age', False), ('bmi', False), ('site', True))
    """
    names = [covariates] if isinstance(covariates, str) else list(covariates)
    terms: dict[str, bool] = {str(c): False for c in names}
    for name, cat in parse_formula(formula) if formula else ():
        terms[name] = terms.get(name, False) or cat
    return tuple(terms.items())


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class Design:
    """Regressors of one model (without the intercept, which fitters absorb).

    Attributes
    ----------
    X : ndarray
        ``(n, k)`` float64; column 0 is the arm indicator.
    names : tuple of str
        Column names, ``names[0]`` the arm column.
    covariates : tuple of str
        Source columns adjusted for (``adjusted_for`` of the result).
    dropped : tuple of str
        Columns removed as constant or aliased, with the reason in brackets.
    """

    X: np.ndarray
    names: tuple[str, ...]
    covariates: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    @property
    def arm_column(self) -> int:
        """Index of the arm column in ``X`` (always 0)."""
        return 0

    def with_intercept(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """``[1, X]`` and its names, for fitters that do not absorb the intercept."""
        X1 = np.empty((self.X.shape[0], self.X.shape[1] + 1))
        X1[:, 0] = 1.0
        X1[:, 1:] = self.X
        return X1, ("(Intercept)", *self.names)


def _is_bool_like(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "boolean"


def covariate_levels(s: pd.Series, categorical: bool) -> list[Any] | None:
    """Levels of a dummy-coded covariate, reference first; None for a numeric column.

    The coding rule of the module docstring: a pandas ``Categorical`` keeps its
    category order (unused categories removed); other text is sorted as text;
    numbers and booleans under ``C()`` are sorted as values.
    """
    if not categorical and (_is_bool_like(s) or pd.api.types.is_numeric_dtype(s.dtype)):
        return None
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.remove_unused_categories().cat.categories)
    return order_levels(pd.unique(s.to_numpy()), numeric=sorts_as_values(s))


def sorts_as_values(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) or _is_bool_like(s)


def order_levels(observed: Any, *, numeric: bool) -> list[Any]:
    """Sort observed levels: by value (numbers, booleans) or by their text.

    Examples
    --------
    >>> order_levels(["b", "a", "c"], numeric=False), order_levels([3, 1, 2], numeric=True)
    (['a', 'b', 'c'], [1, 2, 3])
    """
    if numeric:
        return list(np.sort(np.asarray(list(observed))).tolist())
    return sorted(observed, key=str)


def dummy_columns(s: pd.Series, name: str, levels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded 0/1 columns (``(n, L - 1)``) of ``s`` for the given ``levels``."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.set_categories(list(levels)).cat.codes.to_numpy()
    else:
        values = s.to_numpy()
        cats = np.asarray(levels) if sorts_as_values(s) else np.array(levels, dtype=object)
        codes = pd.Categorical(values, categories=cats).codes
    block = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    return block, [f"{name}[T.{lev}]" for lev in levels[1:]]


def _encode(s: pd.Series, name: str, categorical: bool) -> tuple[np.ndarray, list[str]]:
    """Columns and names for one covariate (see the module docstring for the coding)."""
    levels = covariate_levels(s, categorical)
    if levels is None:
        return s.to_numpy(dtype=float), [name]
    return dummy_columns(s, name, levels)


def screen_aliased(G: np.ndarray, raw_sq: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Greedy in-order elimination on the Gram matrix ``G`` of the demeaned columns.

    Returns, for every column, its squared norm after projection on the group
    means and on the columns kept before it, relative to its raw squared norm
    (R's ``lm`` rule); columns below ``_SCREEN_TOL`` count as not kept.
    """
    rel = np.zeros(G.shape[0])
    kept: list[int] = []
    for j in order:
        if raw_sq[j] <= 0.0:
            continue
        resid = G[j, j]
        if kept:
            g = G[kept, j]
            resid -= g @ np.linalg.solve(G[np.ix_(kept, kept)], g)
        rel[j] = resid / raw_sq[j]
        if rel[j] > _SCREEN_TOL:
            kept.append(j)
    return rel


def _qr_aliased(Xd: np.ndarray, raw_sq: np.ndarray, order: Sequence[int]) -> list[int]:
    """Exact in-order check with R's rule, from the R factor of a QR decomposition."""
    return qr_aliased_from_r(sla.qr(Xd, mode="r")[0], raw_sq, order)


def qr_aliased_from_r(R: np.ndarray, raw_sq: np.ndarray, order: Sequence[int]) -> list[int]:
    """The columns kept by R's rule, from the R factor of the demeaned design.

    ``R`` may come from chunks of rows (the R factor of stacked R factors).
    """
    kept: list[int] = []
    for j in order:
        cols = [*kept, j]
        r = sla.qr(R[:, cols], mode="r")[0]
        if abs(r[len(cols) - 1, len(cols) - 1]) > ALIAS_TOL * np.sqrt(raw_sq[j]):
            kept.append(j)
    return kept


def build_design(
    frame: pd.DataFrame,
    treated: np.ndarray,
    terms: Sequence[tuple[str, bool]] | Sequence[str],
    *,
    arm_name: str = "arm",
    treatment: str = "coaching",
    groups: GroupIndex | None = None,
) -> Design:
    """Build ``X = [arm, covariates]`` and drop constant or aliased covariates.

    Parameters
    ----------
    frame : DataFrame
        The analysed (complete-case) rows; must hold every covariate column.
    treated : ndarray of bool
        True for the treatment arm (``Prepared.treated``).
    terms : sequence of str or of (str, bool)
        Covariate names, or ``(name, categorical)`` pairs from
        :func:`parse_formula` / :func:`covariate_terms`.
    arm_name, treatment : str
        Used to name the arm column ``f"{arm_name}[T.{treatment}]"``.
    groups : GroupIndex, optional
        Fixed-effect groups the fitter will absorb; columns are checked for
        aliasing after removing the group means. Default: one group (the
        intercept).

    Returns
    -------
    Design

    Raises
    ------
    AnalysisError
        When the arm column is constant within every group or aliased with
        the covariates.
    """
    pairs = [(t, False) if isinstance(t, str) else (str(t[0]), bool(t[1])) for t in terms]
    n = len(frame)
    blocks: list[np.ndarray] = [np.asarray(treated, dtype=float)]
    names = [f"{arm_name}[T.{treatment}]"]
    for name, categorical in pairs:
        block, cols = _encode(frame[name], name, categorical)
        blocks.extend(block.T if block.ndim == 2 else [block])
        names.extend(cols)
    # Fortran order: each column contiguous (fast per-column sums; X.T is C-contiguous).
    X = np.empty((n, len(blocks)), order="F")
    for j, col in enumerate(blocks):
        X[:, j] = col
    g = groups if groups is not None else GroupIndex.single(n)
    XT = X.T
    XdT = minus_group_values(XT, g.means(X), g.codes if g.n_groups > 1 else None)
    k = X.shape[1]
    # Covariates first (in order), the arm last: the arm must not be aliased.
    order = [*range(1, k), 0]
    raw_sq = np.einsum("ij,ij->i", XT, XT)
    gram = XdT @ XdT.T
    rel = screen_aliased(gram, raw_sq, order)
    kept = _qr_aliased(XdT.T, raw_sq, order) if np.any(rel < SUSPECT_TOL) else order
    kept, dropped = check_aliased(kept, np.diag(gram), raw_sq, names, arm_name, groups is not None)
    covs = tuple(name for name, _ in pairs)
    keep = sorted(kept)
    X = X if len(keep) == k else np.asfortranarray(X[:, keep])
    return Design(X, tuple(names[j] for j in keep), covs, tuple(dropped))


def check_aliased(
    kept: Sequence[int],
    within_sq: np.ndarray,
    raw_sq: np.ndarray,
    names: Sequence[str],
    arm_name: str,
    has_groups: bool,
) -> tuple[list[int], list[str]]:
    """Errors for an aliased arm; the dropped covariates (with a warning) otherwise.

    ``within_sq`` are the squared norms of the columns after removing the group
    means (the diagonal of the demeaned Gram matrix).
    """
    k = len(names)
    within = "within every group" if has_groups else ""
    if 0 not in kept:
        if float(within_sq[0]) <= ALIAS_TOL**2 * raw_sq[0]:
            raise AnalysisError(
                f"the arm column '{arm_name}' is constant {within or 'in the analysed rows'}: "
                "the treatment effect is not estimable"
            )
        others = [names[j] for j in range(1, k)]
        raise AnalysisError(
            f"the arm column '{arm_name}' is aliased with the covariates "
            f"{others}{' and the fixed effects' if has_groups else ''}: "
            "the treatment effect is not estimable; remove the covariate(s) that "
            "reproduce the arm"
        )
    dropped = []
    for j in range(1, k):
        if j not in kept:
            constant = float(within_sq[j]) <= ALIAS_TOL**2 * raw_sq[j]
            why = f"constant {within}".strip() if constant else "collinear"
            dropped.append(f"{names[j]} ({why})")
    if dropped:
        warnings.warn(
            f"dropped covariate column(s) {', '.join(dropped)}: not estimable "
            "(as R's lm reports NA for them)",
            DataWarning,
            stacklevel=4,
        )
    return list(kept), dropped

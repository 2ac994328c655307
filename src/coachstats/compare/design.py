r"""Design matrices for the model-based comparisons, and per-group sums.

:func:`build_design` turns the complete-case frame of one comparison (from
:func:`coachstats.compare._data.prepare`) into the matrix of regressors
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
a :class:`~coachstats.errors.DataWarning` and listed in ``Design.dropped``; the
rule is that of R's ``lm`` (a column is aliased when its norm after projection
on the earlier columns is below ``1e-7`` times its own norm, measured after
removing the group means). If the arm column itself is aliased with the
covariates (or the fixed effects), the treatment effect is not estimable and
:class:`~coachstats.errors.AnalysisError` is raised.

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

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sla

from coachstats.errors import AnalysisError, DataWarning, OptionError

__all__ = [
    "Design",
    "GroupIndex",
    "build_design",
    "group_sums",
    "parse_formula",
]

#: R's ``lm`` tolerance for aliased columns (relative norm after projection).
ALIAS_TOL = 1e-7
#: Screening on the Gram matrix (squared relative norms): a column below
#: ``_SUSPECT_TOL`` sends the whole design to the exact QR check; below
#: ``_SCREEN_TOL`` it counts as aliased for the columns after it in the screen.
_SCREEN_TOL = 1e-10
_SUSPECT_TOL = 1e-6

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
    out = np.empty((n_groups, values.shape[1]))
    for j in range(values.shape[1]):  # loop over columns, not rows or groups
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_groups)
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
        codes, labels = pd.factorize(pd.Series(values).to_numpy(), sort=True)
        codes = codes.astype(np.intp)
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
        return per_group[self.codes]

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
    coachstats.errors.OptionError: formula term 'age * sex' is not supported; write column names \
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


def _encode(s: pd.Series, name: str, categorical: bool) -> tuple[np.ndarray, list[str]]:
    """Columns and names for one covariate (see the module docstring for the coding)."""
    if not categorical and _is_bool_like(s):
        return s.to_numpy(dtype=float).reshape(-1, 1), [name]
    if not categorical and pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=float).reshape(-1, 1), [name]
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.cat.remove_unused_categories()
        codes = cat.cat.codes.to_numpy()
        levels = [str(c) for c in cat.cat.categories]
    else:
        values = s.to_numpy()
        uniq = pd.unique(values)
        if pd.api.types.is_numeric_dtype(s.dtype) or _is_bool_like(s):
            uniq = np.sort(uniq)
        else:
            uniq = np.array(sorted(uniq, key=str), dtype=object)
        codes = pd.Categorical(values, categories=uniq).codes
        levels = [str(u) for u in uniq]
    block = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    return block, [f"{name}[T.{lev}]" for lev in levels[1:]]


def _screen_aliased(Xd: np.ndarray, raw_sq: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Greedy in-order elimination on the Gram matrix of the demeaned columns.

    Returns, for every column, its squared norm after projection on the group
    means and on the columns kept before it, relative to its raw squared norm
    (R's ``lm`` rule); columns below ``_SCREEN_TOL`` count as not kept.
    """
    G = Xd.T @ Xd
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
    R = sla.qr(Xd, mode="r")[0]
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
    blocks = [np.asarray(treated, dtype=float).reshape(-1, 1)]
    names = [f"{arm_name}[T.{treatment}]"]
    for name, categorical in pairs:
        block, cols = _encode(frame[name], name, categorical)
        blocks.append(block)
        names.extend(cols)
    X = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
    if X.shape[0] != n:  # pragma: no cover - defensive
        raise AnalysisError("design matrix and data have different numbers of rows")
    g = groups if groups is not None else GroupIndex.single(n)
    Xd = g.demean(X)
    k = X.shape[1]
    # Covariates first (in order), the arm last: the arm must not be aliased.
    order = [*range(1, k), 0]
    raw_sq = np.einsum("ij,ij->j", X, X)
    rel = _screen_aliased(Xd, raw_sq, order)
    kept = _qr_aliased(Xd, raw_sq, order) if np.any(rel < _SUSPECT_TOL) else order
    within = "within every group" if groups is not None else ""
    if 0 not in kept:
        if float(Xd[:, 0] @ Xd[:, 0]) <= ALIAS_TOL**2 * raw_sq[0]:
            raise AnalysisError(
                f"the arm column '{arm_name}' is constant {within or 'in the analysed rows'}: "
                "the treatment effect is not estimable"
            )
        others = [names[j] for j in range(1, k)]
        raise AnalysisError(
            f"the arm column '{arm_name}' is aliased with the covariates "
            f"{others}{' and the fixed effects' if groups is not None else ''}: "
            "the treatment effect is not estimable; remove the covariate(s) that "
            "reproduce the arm"
        )
    keep = sorted(kept)
    dropped = []
    for j in range(1, k):
        if j not in kept:
            constant = float(Xd[:, j] @ Xd[:, j]) <= ALIAS_TOL**2 * raw_sq[j]
            why = f"constant {within}".strip() if constant else "collinear"
            dropped.append(f"{names[j]} ({why})")
    if dropped:
        warnings.warn(
            f"dropped covariate column(s) {', '.join(dropped)}: not estimable "
            "(as R's lm reports NA for them)",
            DataWarning,
            stacklevel=3,
        )
    covs = tuple(name for name, _ in pairs)
    X = X if len(keep) == k else np.ascontiguousarray(X[:, keep])
    return Design(X, tuple(names[j] for j in keep), covs, tuple(dropped))

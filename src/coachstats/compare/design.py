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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla

from coachstats.compare.formula import ModelTerms, covariate_terms, model_terms, parse_formula
from coachstats.compare.rows import (
    Additive,
    ArmMoments,
    Centred,
    GroupIndex,
    ModelRows,
    Request,
    combine_rows,
    gram_rows,
    group_sums,
    group_sums_t,
    minus_group_values,
    rows_dot,
    run_local,
    vdot,
)
from coachstats.core.errors import AnalysisError, DataWarning, OptionError

# The rows and formula names are re-exported: ``coachstats.compare.design`` is
# where callers have imported them from.
__all__ = [
    "ALIAS_TOL",
    "SCREEN_TOL",
    "SUSPECT_TOL",
    "Additive",
    "ArmMoments",
    "Centred",
    "Design",
    "GroupIndex",
    "ModelRows",
    "ModelTerms",
    "Request",
    "build_design",
    "check_aliased",
    "combine_rows",
    "covariate_levels",
    "covariate_terms",
    "dummy_columns",
    "gram_rows",
    "group_sums",
    "group_sums_t",
    "minus_group_values",
    "model_terms",
    "order_levels",
    "parse_formula",
    "qr_aliased_from_r",
    "rows_dot",
    "run_local",
    "screen_aliased",
    "sorts_as_values",
    "vdot",
]

#: R's ``lm`` tolerance for aliased columns (relative norm after projection).
ALIAS_TOL = 1e-7
#: Screening on the Gram matrix (squared relative norms): a column below
#: ``SUSPECT_TOL`` sends the whole design to the exact QR check; below
#: ``SCREEN_TOL`` it counts as aliased for the columns after it in the screen.
SCREEN_TOL = 1e-10
SUSPECT_TOL = 1e-6


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
    arm_modifiers : tuple of (int, ndarray)
        For each arm-interaction column of ``X``, its index and its modifier
        (the column divided by the arm: the product of the other factors).
    arm_reference : tuple of str
        Where the arm coefficient is the arm effect when the arm interacts:
        ``"insulin = False"`` (the reference level of a categorical modifier)
        or ``"age = 0"`` (a numeric one).
    centred : Centred or None
        The column means of ``X`` with its Gram matrix and per-group sums
        around them (:class:`~coachstats.compare.rows.Centred`), as
        :func:`build_design` computed them for its aliasing check within the
        groups; a fitter absorbing those groups starts from them instead of
        computing them again (the same arithmetic: the same numbers). The
        columns of ``X`` are finite (checked).
    """

    X: np.ndarray
    names: tuple[str, ...]
    covariates: tuple[str, ...]
    dropped: tuple[str, ...] = ()
    arm_modifiers: tuple[tuple[int, np.ndarray], ...] = ()
    arm_reference: tuple[str, ...] = ()
    centred: Centred | None = field(default=None, repr=False, compare=False)

    @property
    def arm_column(self) -> int:
        """Index of the arm column in ``X`` (always 0)."""
        return 0

    @property
    def interaction_columns(self) -> tuple[int, ...]:
        """Indices of the arm-interaction columns (empty without effect modification)."""
        return tuple(j for j, _ in self.arm_modifiers)

    def subset(self, rows: np.ndarray) -> Design:
        """The design of some rows (a boolean mask or indices), e.g. one subgroup."""
        return replace(
            self,
            X=np.asfortranarray(self.X[rows]),
            arm_modifiers=tuple((j, m[rows]) for j, m in self.arm_modifiers),
            centred=None,  # other rows, other group means
        )

    def at_arm(self, value: float) -> np.ndarray:
        """``X`` with every patient set to one arm (1 treatment, 0 control).

        The arm column becomes ``value`` and each arm-interaction column
        ``value`` times its modifier (the product of the other factors), so
        the counterfactual designs of g-computation follow the interactions.

        Examples
        --------
        >>> frame = pd.DataFrame({"age": [-5.0, 5.0, 15.0, -15.0]})  # centred at 55
        >>> terms = ModelTerms(main=(("age", False),), interactions=(("arm", "age"),))
        >>> d = build_design(frame, np.array([True, False, True, False]), terms)
        >>> d.names
        ('arm[T.coaching]', 'age', 'arm[T.coaching]:age')
        >>> d.at_arm(1.0)[:, 2], d.arm_reference
        (array([ -5.,   5.,  15., -15.]), ('age = 0',))
        """
        X = np.array(self.X, order="F", copy=True)
        X[:, 0] = value
        for j, modifier in self.arm_modifiers:
            X[:, j] = value * modifier
        return X

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
    """True when the levels of ``s`` sort as values (numbers, booleans), not as text."""
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


def screen_aliased(G: np.ndarray, raw_sq: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Greedy in-order elimination on the Gram matrix ``G`` of the demeaned columns.

    Returns, for every column, its squared norm after projection on the group
    means and on the columns kept before it, relative to its raw squared norm
    (R's ``lm`` rule); columns below ``SCREEN_TOL`` count as not kept.
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
        if rel[j] > SCREEN_TOL:
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


def _factor_block(
    frame: pd.DataFrame, name: str, categorical: bool
) -> tuple[np.ndarray, list[str], list[Any] | None]:
    """The coded columns of one factor, as an ``(n, k)`` block, with names and levels."""
    levels = covariate_levels(frame[name], categorical)
    if levels is None:
        s = frame[name]
        # numpy numbers and booleans as they are (the design's assembly casts them), the rest
        # (extension and object columns) as floats
        numeric = isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf"
        values = s.to_numpy() if numeric else s.to_numpy(dtype=float)
        return values[:, None], [name], None
    block, cols = dummy_columns(frame[name], name, levels)
    return block, cols, levels


def _check_margins(term: tuple[str, ...], factor: str, terms: ModelTerms) -> None:
    """A coded factor of a product term needs the rest of the term in the model.

    This is when R's ``model.matrix`` codes the factor by treatment contrasts,
    as here; otherwise R switches to indicator coding and the parameters differ.
    """
    rest = tuple(f for f in term if f != factor)
    if not terms.present(rest):
        written = ":".join(term)
        need = ":".join(rest)
        raise OptionError(
            f"interaction '{written}' needs the term '{need}' in the model ({factor} is "
            f"coded against its reference level); write '{'*'.join(term)}' or add '{need}'"
        )


def _reference(values: pd.Series, name: str, levels: list[Any] | None) -> str:
    """Where the arm coefficient is the arm effect for one modifier: its reference or 0.

    Warns when 0 is outside the observed values of a numeric modifier: the arm
    coefficient is then an extrapolation.
    """
    if levels is not None:
        return f"{name} = {levels[0]}"
    if _is_bool_like(values):
        return f"{name} = False"
    low, high = float(values.min()), float(values.max())
    if not low <= 0.0 <= high:
        warnings.warn(
            f"the arm interacts with '{name}', so the arm coefficient is the arm effect at "
            f"{name} = 0, outside the observed {name} ({low:.4g} to {high:.4g}); centre "
            f"{name} (subtract a typical value) to make it the effect there, or read the "
            "average effect from adjusted_means() / marginal_effects()",
            DataWarning,
            stacklevel=5,
        )
    return f"{name} = 0"


def _interaction_block(
    frame: pd.DataFrame,
    term: tuple[str, ...],
    terms: ModelTerms,
    arm: tuple[np.ndarray, str],
) -> tuple[np.ndarray, list[str], np.ndarray | None, list[str]]:
    """Columns of one product term, the first factor varying fastest (R's order).

    Returns the block, its names, the modifier block (the same products
    without the arm; None when the term does not involve the arm) and the
    reference value of each modifier factor.
    """
    n = len(frame)
    block, names = np.ones((n, 1)), [""]
    modifier = np.ones((n, 1))
    reference: list[str] = []
    with_arm = terms.arm in term
    for factor in term:
        if factor == terms.arm:
            cols, labels = arm[0][:, None], [arm[1]]
            _check_margins(term, factor, terms)
        else:
            cols, labels, levels = _factor_block(frame, factor, terms.is_categorical(factor))
            if levels is not None:
                _check_margins(term, factor, terms)
            if with_arm:
                modifier = (cols[:, :, None] * modifier[:, None, :]).reshape(n, -1)
                reference.append(_reference(frame[factor], factor, levels))
        block = (cols[:, :, None] * block[:, None, :]).reshape(n, -1)
        names = [f"{old}:{new}" if old else new for new in labels for old in names]
    return block, names, modifier if with_arm else None, reference


def build_design(
    frame: pd.DataFrame,
    treated: np.ndarray,
    terms: ModelTerms | Sequence[tuple[str, bool]] | Sequence[str],
    *,
    arm_name: str = "arm",
    treatment: str = "coaching",
    groups: GroupIndex | None = None,
    group_weights: np.ndarray | None = None,
) -> Design:
    """Build ``X = [arm, covariates, interactions]`` and drop constant or aliased columns.

    Parameters
    ----------
    frame : DataFrame
        The analysed (complete-case) rows; must hold every covariate column.
    treated : ndarray of bool
        True for the treatment arm (``Prepared.treated``).
    terms : ModelTerms, or sequence of str or of (str, bool)
        Covariate names, ``(name, categorical)`` pairs from
        :func:`parse_formula` / :func:`covariate_terms`, or main effects and
        interactions from :func:`~coachstats.compare.formula.model_terms`.
        A product term's columns are the products of its factors' coded
        columns, named ``"a:b"`` (the first factor varying fastest, as in R);
        a coded (categorical) factor, the arm included, needs the rest of its
        term in the model (``arm*site``, not ``arm:site`` alone), where R
        codes it the same way.
    arm_name, treatment : str
        Used to name the arm column ``f"{arm_name}[T.{treatment}]"``.
    groups : GroupIndex, optional
        Fixed-effect groups the fitter will absorb; columns are checked for
        aliasing after removing the group means. Default: one group (the
        intercept).
    group_weights : ndarray, optional
        Per-group weights of the Gram matrix kept in :attr:`Design.centred`
        (a logistic fit's first working weights, which its first pass then
        reads instead of summing them; :func:`~coachstats.compare.newton.first_pass_weights`).
        The columns kept do not depend on them.

    Returns
    -------
    Design

    Raises
    ------
    AnalysisError
        When the arm column is constant within every group or aliased with
        the covariates.
    OptionError
        A product term without its margins (see ``terms``).
    """
    if isinstance(terms, ModelTerms):
        model = terms if terms.arm == arm_name else replace(terms, arm=arm_name)
    else:
        pairs = tuple((t, False) if isinstance(t, str) else (str(t[0]), bool(t[1])) for t in terms)
        model = ModelTerms(main=pairs, arm=arm_name)
    n = len(frame)
    arm_col = np.asarray(treated)  # cast by the assembly (and by products with floats)
    blocks: list[np.ndarray] = [arm_col]
    names = [f"{arm_name}[T.{treatment}]"]
    for name, categorical in model.main:
        block, cols, _ = _factor_block(frame, name, categorical)
        blocks.extend(block.T)
        names.extend(cols)
    modifiers: dict[int, np.ndarray] = {}
    reference: list[str] = []
    for term in model.interactions:
        block, cols, modifier, ref = _interaction_block(frame, term, model, (arm_col, names[0]))
        if modifier is not None:
            for j in range(block.shape[1]):
                modifiers[len(names) + j] = modifier[:, j]
            reference.extend(r for r in ref if r not in reference)
        blocks.extend(block.T)
        names.extend(cols)
    # Fortran order: each column contiguous (fast per-column sums; X.T is C-contiguous).
    X = np.empty((n, len(blocks)), order="F")
    for j, col in enumerate(blocks):
        X[:, j] = col
    g = groups if groups is not None else GroupIndex.single(n)
    with np.errstate(over="ignore", invalid="ignore"):  # told below, by column
        centred = Centred.of(X.T, g, group_weights)
    _check_finite(centred.gram, names)
    k = X.shape[1]
    # Covariates first (in order), the arm last: the arm must not be aliased.
    order = [*range(1, k), 0]
    raw_sq = centred.raw_sq()
    within_gram, within_sq = centred.within()
    # A Gram matrix weighted by group (w_min..w_max) leaves a column at most w_max times its
    # unweighted residual: screening against w_max times the raw norms misses no column that
    # R's rule (the exact check, unweighted) would drop.
    rel = screen_aliased(within_gram, raw_sq * float(np.max(centred.weights)), order)
    kept = order
    if np.any(rel < SUSPECT_TOL):  # the exact check, on the design minus its group means
        within_t = centred.group_centred(X.T, g)
        kept = _qr_aliased(within_t.T, raw_sq, order)
        within_sq = np.einsum("ij,ij->i", within_t, within_t)  # without the sums' cancellation
    kept, dropped = check_aliased(kept, within_sq, raw_sq, names, arm_name, groups is not None)
    covs = model.columns
    keep = sorted(kept)
    if len(keep) < k:
        X = np.asfortranarray(X[:, keep])
        centred = centred.subset(keep)
    position = {j: i for i, j in enumerate(keep)}
    kept_modifiers = tuple((position[j], m) for j, m in modifiers.items() if j in position)
    return Design(
        X,
        tuple(names[j] for j in keep),
        covs,
        tuple(dropped),
        kept_modifiers,
        tuple(reference) if kept_modifiers else (),
        centred,
    )


def _check_finite(gram: np.ndarray, names: Sequence[str]) -> None:
    """A column with an infinite or missing value has a non-finite Gram diagonal."""
    bad = [names[j] for j in range(len(names)) if not np.isfinite(gram[j, j])]
    if bad:
        raise AnalysisError(
            f"the design column(s) {bad} have infinite or missing values, or values too "
            "large to square (above about 1e154): rescale the covariates they come from"
        )


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

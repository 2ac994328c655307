"""The first pass of a streamed comparison: what ``prepare`` learns in memory (complete rows, exclusions, arms, levels, groups), merged over chunks."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from coachstats.compare import means, models
from coachstats.compare.design import (
    covariate_levels,
    order_levels,
    sorts_as_values,
)
from coachstats.compare.prepare import require_columns, resolve_arms
from coachstats.core.errors import AnalysisError
from coachstats.core.results import ComparisonResult, Exclusion, no_rows_left
from coachstats.plan import (
    AnalysisSpec,
    with_exclusions,
)

if TYPE_CHECKING:
    pass
from coachstats.engines.passes import Chunk, FrameRequest

__all__ = ["Columns", "Prepared", "finish", "kept_rows", "outcome_check", "prepare_steps"]


@dataclass(frozen=True)
class _Meta:
    """What :func:`~coachstats.compare.prepare.prepare` learns from the rows; mergeable."""

    n_rows: int
    dropped: dict[str, int]
    missing: np.ndarray
    n_kept: int
    arms: frozenset[str]
    levels: dict[str, tuple[str, Any]]
    labels: dict[str, frozenset[Any]]

    def __add__(self, other: _Meta) -> _Meta:
        dropped = dict(self.dropped)
        for k, v in other.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
        levels = dict(self.levels)
        for k, (kind, value) in other.levels.items():
            if k not in levels:
                levels[k] = (kind, value)
            elif kind == "categories":
                order, used = levels[k][1]
                extra = [c for c in value[0] if c not in order]
                levels[k] = (kind, ([*order, *extra], used | value[1]))
            else:
                levels[k] = (kind, levels[k][1] | value)
        labels = {
            k: self.labels.get(k, frozenset()) | other.labels.get(k, frozenset())
            for k in {*self.labels, *other.labels}
        }
        return _Meta(
            self.n_rows + other.n_rows,
            dropped,
            self.missing + other.missing,
            self.n_kept + other.n_kept,
            self.arms | other.arms,
            levels,
            labels,
        )


@dataclass(frozen=True)
class Columns:
    """The columns one comparison uses, in :func:`prepare`'s order."""

    outcome: str
    arm: str
    terms: tuple[tuple[str, bool], ...]
    groups: tuple[str, ...]
    binary: bool | None  # None: no 0/1 or numeric check of the outcome as a model's
    numeric: tuple[str, ...] = ()  # columns checked by means.as_numeric

    @property
    def prepare_columns(self) -> list[str]:
        cols = [self.outcome, *(t for t, _ in self.terms), *self.groups]
        return list(dict.fromkeys([*cols, self.arm]))


class _Kept:
    """The complete rows one comparison uses in one chunk, read column by column.

    Text columns (arm, clusters, fixed effects, categorical covariates) are
    factorized once over the chunk (Arrow dictionary encoding for strings) and
    then handled as integer codes.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        names: Sequence[str],
        exclude: Mapping[str, frozenset[Any]],
        factors: dict[str, tuple[np.ndarray, np.ndarray]],
    ) -> None:
        require_columns(frame, names)
        self.frame = frame
        self._cache: dict[Any, Any] = {}
        isna = frame[list(names)].isna().to_numpy()
        keep = ~isna.any(axis=1)
        first = np.argmax(isna[~keep], axis=1) if isna.size else np.zeros(0, dtype=int)
        self.missing = np.bincount(first, minlength=len(names))
        self._factors = factors  # shared by the comparisons on the same frame
        for column, bad in exclude.items():
            if bad:
                codes, uniques = self.factor(column)
                is_bad = np.array([u in bad for u in uniques.tolist()] + [False])
                keep &= ~is_bad[codes]  # code -1 (missing) picks the trailing False
        self.keep = keep
        self.everything = bool(keep.all())
        self.n = int(keep.sum())

    def factor(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes of every row of the chunk and the unique values (``pd.factorize``)."""
        if column not in self._factors:
            codes, uniques = pd.factorize(self.frame[column])
            values = uniques.to_numpy(dtype=object) if uniques.dtype != object else uniques
            self._factors[column] = (codes, np.asarray(values))
        return self._factors[column]

    def series(self, column: str) -> pd.Series:
        """The column at the kept rows."""
        s = self.frame[column]
        return s if self.everything else s[cast(Any, self.keep)]

    def floats(self, column: str) -> np.ndarray:
        """The kept rows of a numeric column as float64 (computed once)."""
        key = ("floats", column)
        if key not in self._cache:
            s = self.frame[column]
            if s.dtype == np.float64 or s.dtype.kind in "iub":
                values = s.to_numpy(dtype=float)  # numpy-backed: no missing values to map
                self._cache[key] = values if self.everything else values[self.keep]
            else:
                self._cache[key] = self.series(column).to_numpy(dtype=float)
        return cast(np.ndarray, self._cache[key])

    def checked(self, column: str, check: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
        """``check`` (an outcome validation returning floats) of the kept rows, once."""
        key = ("checked", column, check)
        if key not in self._cache:
            self._cache[key] = check(self.series(column))
        return cast(np.ndarray, self._cache[key])

    def present(self, column: str) -> list[Any]:
        """The distinct values of the column among the kept rows."""
        codes, uniques = self.factor(column)
        used = np.unique(codes if self.everything else codes[self.keep])
        return uniques[used[used >= 0]].tolist()

    def codes(self, column: str, labels: Sequence[Any]) -> np.ndarray:
        """Positions of the kept rows' values in ``labels``."""
        key = ("codes", column, len(labels))
        if key not in self._cache:
            codes, uniques = self.factor(column)
            position = pd.Index(list(labels)).get_indexer(uniques.tolist())
            kept = codes if self.everything else codes[self.keep]
            self._cache[key] = position[kept].astype(np.intp)
        return cast(np.ndarray, self._cache[key])

    def is_label(self, column: str, label: str) -> np.ndarray:
        """Kept rows whose value, as text, is ``label`` (the arm, as ``prepare`` compares)."""
        key = ("is", column, label)
        if key not in self._cache:
            codes, uniques = self.factor(column)
            hit = np.array([str(u) == label for u in uniques.tolist()] + [False])
            self._cache[key] = hit[codes if self.everything else codes[self.keep]]
        return cast(np.ndarray, self._cache[key])


_CHECKS: dict[tuple[str, bool], Callable[[pd.Series], np.ndarray]] = {}


def outcome_check(name: str, binary: bool) -> Callable[[pd.Series], np.ndarray]:
    """The models' outcome validation as one (cacheable) function per outcome."""
    key = (name, binary)
    if key not in _CHECKS:
        _CHECKS[key] = lambda values: models.outcome_values(values, name, binary)
    return _CHECKS[key]


def kept_rows(
    chunk: Chunk, spec: AnalysisSpec, cols: Columns, exclude: Mapping[str, frozenset[Any]]
) -> _Kept:
    """The complete rows of the chunk (outside excluded groups), computed once per chunk.

    Comparisons on the same rows and columns share them (and their factorized
    and converted columns).
    """
    frame = chunk.spec_frame(spec).frame
    names = cols.prepare_columns
    excl = tuple(sorted((k, tuple(sorted(map(str, v)))) for k, v in exclude.items()))
    key = ("kept", id(frame), tuple(names), excl)
    if key not in chunk.memo:
        factors = chunk.memo.setdefault(("factors", id(frame)), {})
        chunk.memo[key] = _Kept(frame, names, exclude, factors)
    return cast(_Kept, chunk.memo[key])


def _meta_request(
    spec: AnalysisSpec, cols: Columns, exclude: Mapping[str, frozenset[Any]]
) -> FrameRequest:
    def compute(chunk: Chunk) -> _Meta:
        sf = chunk.spec_frame(spec)
        kept = kept_rows(chunk, spec, cols, exclude)
        if sf.outcome != cols.outcome:  # pragma: no cover - the names are built alike
            raise AnalysisError(f"outcome column {sf.outcome!r} expected {cols.outcome!r}")
        if cols.binary is not None:
            kept.checked(cols.outcome, outcome_check(cols.outcome, cols.binary))
        for name in cols.numeric:
            kept.checked(name, means.as_numeric)
        levels: dict[str, tuple[str, Any]] = {}
        for name, categorical in cols.terms:
            s = kept.frame[name]
            if covariate_levels(s.iloc[:0], categorical) is None:  # not dummy coded
                levels[name] = ("numeric", frozenset())
            elif isinstance(s.dtype, pd.CategoricalDtype):
                used = frozenset(kept.present(name))
                levels[name] = ("categories", (list(s.cat.categories), used))
            else:
                kind = "values" if sorts_as_values(s) else "text"
                levels[name] = (kind, frozenset(kept.present(name)))
        labels = {g: frozenset(kept.present(g)) for g in cols.groups}
        arms = frozenset(str(a) for a in kept.present(cols.arm))
        return _Meta(sf.n_rows, dict(sf.dropped), kept.missing, kept.n, arms, levels, labels)

    return compute


@dataclass(frozen=True)
class Prepared:
    """The streamed equivalent of :class:`~coachstats.compare.prepare.Prepared`."""

    cols: Columns
    labels: tuple[str, str]
    n_excluded: int
    excluded_reason: str
    levels: dict[str, list[Any] | None]
    groups: dict[str, list[Any]]
    exclude: Mapping[str, frozenset[Any]]
    exclusions: tuple[Exclusion, ...]  # rows the plan left out (subset, eligibility, complete_on)


def _resolve(
    spec: AnalysisSpec,
    cols: Columns,
    meta: _Meta,
    treatment: str | None,
    control: str | None,
    exclude: Mapping[str, frozenset[Any]],
) -> Prepared:
    """After the first pass: exclusion reasons, arm labels, levels (as ``prepare`` does)."""
    exclusions = tuple(Exclusion(what, n) for what, n in meta.dropped.items() if n)
    if meta.n_rows - sum(e.count for e in exclusions) == 0:
        raise AnalysisError(no_rows_left(spec.label, exclusions))
    names = cols.prepare_columns
    n_excluded = int(meta.missing.sum())
    reasons = [f"missing {c} ({int(k)})" for c, k in zip(names, meta.missing, strict=True) if k]
    if meta.n_kept == 0 and not exclude:
        raise AnalysisError(
            f"no complete rows to analyse for columns {names} "
            f"({n_excluded} rows excluded: {', '.join(reasons)})"
        )
    labels = resolve_arms(
        pd.Series(sorted(meta.arms), name=cols.arm, dtype=object), treatment, control
    )
    levels: dict[str, list[Any] | None] = {}
    for name, _ in cols.terms:
        kind, value = meta.levels[name]
        if kind == "numeric":
            levels[name] = None
        elif kind == "categories":
            order, used = value
            levels[name] = [c for c in order if c in used]
        else:
            levels[name] = order_levels(value, numeric=kind == "values")
    groups = {g: sorted(meta.labels[g]) for g in cols.groups}
    return Prepared(
        cols,
        labels,
        n_excluded,
        ", ".join(reasons),
        levels,
        groups,
        exclude,
        exclusions,
    )


def finish(result: ComparisonResult, spec: AnalysisSpec, prep: Prepared) -> ComparisonResult:
    """Add the rows dropped by ``subset`` / ``complete_on`` (as ``run_plan`` does)."""
    return with_exclusions(result, prep.exclusions)


def prepare_steps(
    spec: AnalysisSpec,
    cols: Columns,
    opts: Mapping[str, Any],
    exclude: Mapping[str, frozenset[Any]] | None = None,
) -> Generator[FrameRequest, Any, Prepared]:
    excl = dict(exclude or {})
    meta = yield _meta_request(spec, cols, excl)
    return _resolve(spec, cols, meta, opts.get("treatment"), opts.get("control"), excl)

"""A streamed model's rows in each chunk, the per-group sums, and the aliasing rule of the design over chunks."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from coachstats.compare import means
from coachstats.compare.design import (
    SUSPECT_TOL,
    ArmMoments,
    Design,
    ModelRows,
    check_aliased,
    dummy_columns,
    group_sums_t,
    minus_group_values,
    qr_aliased_from_r,
    screen_aliased,
)
from coachstats.core.errors import AnalysisError
from coachstats.plan import (
    AnalysisSpec,
)

if TYPE_CHECKING:
    pass
from coachstats.engines.first_pass import Prepared, kept_rows, outcome_check
from coachstats.engines.passes import Chunk, FrameRequest, Steps

__all__ = ["adapt", "design_steps", "group_sums_request", "model_rows"]


def model_rows(
    chunk: Chunk,
    spec: AnalysisSpec,
    prep: Prepared,
    *,
    fe: str | None = None,
    cluster: str | None = None,
    keep_columns: Sequence[int] | None = None,
    numeric_outcome: bool = False,
) -> tuple[ModelRows, np.ndarray]:
    """The model's rows in this chunk: ``ModelRows`` (design, outcome, codes) and ``treated``.

    ``keep_columns`` selects the design's columns (those the aliasing rule
    kept). The rows are built once per chunk and kept between passes
    while they fit in the budget (:class:`~coachstats.engines.row_store.RowStore`,
    packed), so a later pass, whatever columns it selects, starts from them
    without reading the chunk.
    """
    key = ("rows", id(spec), id(prep), fe, cluster, tuple(keep_columns or ()), numeric_outcome)
    if key in chunk.memo:
        return cast(tuple[ModelRows, np.ndarray], chunk.memo[key])
    XT, y, g_codes, n_groups, c_codes, n_clusters, treated = _all_rows(
        chunk, spec, prep, fe, cluster, numeric_outcome
    )
    k = XT.shape[0]
    select = None if keep_columns is None or list(keep_columns) == list(range(k)) else keep_columns
    rows = ModelRows(
        XT=chunk.unpack(XT, select),
        y=chunk.unpack(y),
        groups=chunk.unpack(g_codes),
        n_groups=n_groups,
        clusters=chunk.unpack(c_codes),
        n_clusters=n_clusters,
    )
    chunk.memo[key] = (rows, treated)
    return rows, treated


def _check_finite(column: str, values: np.ndarray) -> None:
    """The in-memory check of :func:`~coachstats.compare.prepare.prepare`, on one chunk."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise AnalysisError(
            f"column {column!r} has {int(bad.sum())} infinite value(s) in one chunk of the "
            "data (missing values are excluded before fitting); replace them by finite values "
            "or by missing ones"
        )


def _all_rows(
    chunk: Chunk,
    spec: AnalysisSpec,
    prep: Prepared,
    fe: str | None,
    cluster: str | None,
    numeric_outcome: bool,
) -> tuple[Any, ...]:
    """The chunk's rows with every design column: kept by an earlier pass, else built and kept."""
    key = ("all rows", id(spec), id(prep), fe, cluster, numeric_outcome)
    if key in chunk.memo:
        return cast(tuple[Any, ...], chunk.memo[key])
    value = chunk.kept_value(key)
    # kept for this very spec and preparation (the entry holds them, so their ids are not reused)
    if value is not None and value[0] is spec and value[1] is prep:
        chunk.memo[key] = value[2:]
        return value[2:]
    cols = prep.cols
    kept = kept_rows(chunk, spec, cols, prep.exclude)
    if numeric_outcome:
        y = kept.checked(cols.outcome, means.as_numeric)
    else:
        y = kept.checked(cols.outcome, outcome_check(cols.outcome, bool(cols.binary)))
        _check_finite(cols.outcome, y)
    treated = kept.is_label(cols.arm, prep.labels[0])
    blocks: list[np.ndarray] = [treated.astype(float)]
    for name, _ in cols.terms:
        levels = prep.levels[name]
        if levels is None:
            blocks.append(kept.floats(name))
            _check_finite(name, blocks[-1])  # whatever the outcome's check (an ANCOVA's too)
        else:
            block, _ = dummy_columns(kept.series(name), name, levels)
            blocks.extend(block.T)
    XT = np.empty((len(blocks), kept.n))
    for j, col in enumerate(blocks):
        XT[j] = col

    def codes(column: str | None) -> tuple[np.ndarray | None, int]:
        if column is None:
            return None, 1
        labels = prep.groups[column]
        return kept.codes(column, labels), len(labels)

    g_codes, n_groups = codes(fe)
    c_codes, n_clusters = codes(cluster)
    out = (
        XT,
        np.asarray(y, dtype=float),
        g_codes if n_groups > 1 else None,
        n_groups,
        c_codes,
        n_clusters if cluster else 0,
        treated,
    )
    chunk.memo[key] = out
    # a spec prepared again (fixed-effect groups dropped) no longer asks for its first rows
    chunk.forget(k for k in chunk.kept_keys() if k[:2] == key[:2] and k[2] != key[2])
    chunk.keep(key, (spec, prep, *out))
    return out


def _design_names(prep: Prepared, arm: str) -> list[str]:
    names = [f"{arm}[T.{prep.labels[0]}]"]
    for name, _ in prep.cols.terms:
        levels = prep.levels[name]
        names.extend([name] if levels is None else [f"{name}[T.{lev}]" for lev in levels[1:]])
    return names


@dataclass(frozen=True)
class _GroupSums:
    """Second pass: arm moments, per-group counts / events / column sums, cluster sizes."""

    arms: ArmMoments
    counts: np.ndarray
    events: np.ndarray
    xsum: np.ndarray
    clusters: np.ndarray

    def __add__(self, other: _GroupSums) -> _GroupSums:
        return _GroupSums(
            self.arms + other.arms,
            self.counts + other.counts,
            self.events + other.events,
            self.xsum + other.xsum,
            self.clusters + other.clusters,
        )


def group_sums_request(
    spec: AnalysisSpec,
    prep: Prepared,
    fe: str | None,
    cluster: str | None,
    numeric_outcome: bool = False,
) -> FrameRequest:
    def compute(chunk: Chunk) -> _GroupSums:
        rows, treated = model_rows(
            chunk, spec, prep, fe=fe, cluster=cluster, numeric_outcome=numeric_outcome
        )
        C = rows.n_groups
        counts = (
            np.array([rows.nobs]) if rows.groups is None else np.bincount(rows.groups, minlength=C)
        )
        events = (
            np.array([rows.y.sum()])
            if rows.groups is None
            else np.bincount(rows.groups, weights=rows.y, minlength=C)
        )
        cl = (
            np.bincount(rows.clusters, minlength=rows.n_clusters)
            if rows.clusters is not None
            else np.zeros(0, dtype=np.int64)
        )
        return _GroupSums(
            ArmMoments.of(rows.y, treated),
            counts,
            events,
            group_sums_t(rows.groups, rows.XT, C),
            cl,
        )

    return compute


@dataclass(frozen=True)
class _Gram:
    gram: np.ndarray
    raw_sq: np.ndarray

    def __add__(self, other: _Gram) -> _Gram:
        return _Gram(self.gram + other.gram, self.raw_sq + other.raw_sq)


@dataclass(frozen=True)
class _RFactor:
    r: np.ndarray

    def __add__(self, other: _RFactor) -> _RFactor:
        return _RFactor(np.asarray(np.linalg.qr(np.vstack([self.r, other.r]), mode="r")))


def design_steps(
    spec: AnalysisSpec,
    prep: Prepared,
    arm: str,
    shift: np.ndarray,
    fe: str | None,
    cluster: str | None = None,
    numeric_outcome: bool = False,
) -> Generator[FrameRequest, Any, tuple[Design, list[int]]]:
    """The aliasing rule of :func:`~coachstats.compare.design.build_design`, streamed.

    ``cluster`` and ``numeric_outcome`` are not used by the rule; given as
    the fit's other passes give them, the rows are those they build (and
    keep, checked alike), not a second set.
    """

    def rows_of(chunk: Chunk) -> ModelRows:
        return model_rows(
            chunk, spec, prep, fe=fe, cluster=cluster, numeric_outcome=numeric_outcome
        )[0]

    def demeaned(chunk: Chunk) -> np.ndarray:
        rows = rows_of(chunk)
        return minus_group_values(rows.XT, shift, rows.groups)

    def gram(chunk: Chunk) -> _Gram:
        rows = rows_of(chunk)
        XdT = demeaned(chunk)
        return _Gram(XdT @ XdT.T, np.einsum("ij,ij->i", rows.XT, rows.XT))

    names = _design_names(prep, arm)
    k = len(names)
    totals = yield gram
    order = [*range(1, k), 0]
    rel = screen_aliased(totals.gram, totals.raw_sq, order)
    kept: list[int] = order
    if np.any(rel < SUSPECT_TOL):
        factor = yield (
            lambda chunk: _RFactor(np.asarray(np.linalg.qr(demeaned(chunk).T, mode="r")))
        )
        kept = qr_aliased_from_r(factor.r, totals.raw_sq, order)
    kept, dropped = check_aliased(
        kept, np.diag(totals.gram), totals.raw_sq, names, arm, fe is not None
    )
    keep = sorted(kept)
    covs = tuple(name for name, _ in prep.cols.terms)
    design = Design(np.empty((0, len(keep))), tuple(names[j] for j in keep), covs, tuple(dropped))
    return design, keep


def _on_rows(
    request: Callable[[ModelRows], Any], rows_of: Callable[[Chunk], ModelRows]
) -> FrameRequest:
    def compute(chunk: Chunk) -> Any:
        return request(rows_of(chunk))

    return compute


def adapt(
    steps: Generator[Callable[[ModelRows], Any], Any, Any],
    rows_of: Callable[[Chunk], ModelRows],
) -> Steps:
    """Turn a fitter's requests on ``ModelRows`` into requests on chunks."""
    try:
        request = next(steps)
        while True:
            try:
                total = yield _on_rows(request, rows_of)
            except Exception as exc:
                request = steps.throw(exc)
                continue
            request = steps.send(total)
    except StopIteration as stop:
        return stop.value

"""Passes over chunked data: one chunk's requests, adding totals, and the driver that advances every analysis."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError
from coachstats.core.goals import GoalSet
from coachstats.engines.row_store import Packed, RowStore
from coachstats.plan import (
    AnalysisSpec,
    PlanContext,
    analysed_columns,
    select_rows,
    spec_columns,
    with_change,
)

if TYPE_CHECKING:
    pass

__all__ = [
    "KEEP_ROWS_BYTES",
    "Chunk",
    "Errors",
    "FrameRequest",
    "PassRunner",
    "RowStore",
    "RowsNotReadError",
    "Steps",
    "drive",
    "evaluate_chunk",
    "local_pass",
    "merge_totals",
]


Errors = Literal["raise", "record"]


#: A request of a streamed analysis: sums it needs, computed on one chunk.
FrameRequest = Callable[["Chunk"], Any]


Steps = Generator[FrameRequest, Any, Any]


class RowsNotReadError(Exception):
    """A request needs the chunk's raw rows, which this pass did not read (see :class:`RowStore`)."""


class Chunk:
    """One chunk of raw patient rows during one pass, with the plan's derived tables.

    Derived endpoints and each spec's analysed frame are computed once per
    chunk and shared by every request of the pass. ``kept`` (with its
    ``store``) holds what :class:`RowStore` kept of this chunk from earlier
    passes; a chunk without ``raw`` rows serves only what is kept (anything
    else raises :class:`RowsNotReadError`).
    """

    def __init__(
        self,
        raw: pd.DataFrame | None,
        goals: GoalSet | None,
        kept: dict[Any, Any] | None = None,
        store: RowStore | None = None,
    ) -> None:
        self._raw = raw
        self._goals = goals
        self._context: PlanContext | None = None
        self.memo: dict[Any, Any] = {}
        self.kept = kept
        self.store = store

    @property
    def raw(self) -> pd.DataFrame:
        """The chunk's rows (:class:`RowsNotReadError` when this pass did not read them)."""
        if self._raw is None:
            raise RowsNotReadError
        return self._raw

    @property
    def context(self) -> PlanContext:
        """The plan's tables of this chunk (endpoints derived on first use)."""
        if self._context is None:
            self._context = PlanContext(self.raw, self._goals)
        return self._context

    def kept_value(self, key: Any) -> tuple[Any, ...] | None:
        """What an earlier pass kept under ``key`` (None: not kept)."""
        return None if self.kept is None else self.kept.get(key)

    def keep(self, key: Any, values: tuple[Any, ...]) -> None:
        """Offer ``values`` to the :class:`RowStore` for the next passes (float arrays packed)."""
        if self.kept is not None and self.store is not None:
            self.store.keep(self.kept, key, values)

    def forget(self, keys: Iterable[Any]) -> None:
        """Drop this chunk's kept entries ``keys`` (rows no later pass asks for)."""
        if self.kept is not None and self.store is not None:
            self.store.forget(self.kept, keys)

    def kept_keys(self) -> list[Any]:
        """The keys of this chunk's kept entries."""
        return [] if self.kept is None else list(self.kept)

    def unpack(self, value: Any, select: Sequence[int] | None = None) -> Any:
        """A kept array as it was built, for this pass (rows ``select``; see :meth:`RowStore.unpack`).

        Anything not :class:`Packed` (an array built by this pass, None) is returned as it is.
        """
        if not isinstance(value, Packed):
            return value if select is None else np.ascontiguousarray(value[list(select)])
        if self.store is None:
            raise RowsNotReadError
        return self.store.unpack(value, self.memo, select)

    def spec_frame(self, spec: AnalysisSpec) -> _SpecFrame:
        """The rows ``spec`` analyses (after ``subset``, ``complete_on``, ``change_from``)."""
        key = ("frame", id(spec))
        if key not in self.memo:
            frame = self.context.frame(spec, spec_columns(spec))
            # counted, ids not kept; only the columns the analysis reads are copied
            selection = select_rows(
                frame, spec, keep_ids=False, columns=analysed_columns(frame, spec)
            )
            analysed, outcome = with_change(selection.frame, spec)
            dropped = {e.reason: e.count for e in selection.exclusions}
            self.memo[key] = _SpecFrame(analysed, len(frame), dropped, outcome)
        return cast(_SpecFrame, self.memo[key])


@dataclass(frozen=True)
class _SpecFrame:
    frame: pd.DataFrame
    n_rows: int
    dropped: dict[str, int]
    outcome: str


class _Failure:
    """An exception raised by a request on some chunk (it travels through reductions)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def evaluate_chunk(
    raw: pd.DataFrame | None,
    requests: Sequence[FrameRequest],
    goals: GoalSet | None,
    columns: Mapping[str, str] | None = None,
    kept: dict[Any, Any] | None = None,
    store: RowStore | None = None,
) -> list[Any]:
    """Every request on one chunk of raw rows (renamed by ``columns``).

    A request that raises gives a failure marker instead of a value, so that
    one failing analysis does not stop the others. Used by every driver
    (Parquet, DataFrame chunks, Dask partitions). ``kept`` and ``store``: see
    :class:`Chunk`; without ``raw``, a request that needs the rows raises
    :class:`RowsNotReadError` out of this function.
    """
    if columns and raw is not None:
        raw = raw.rename(columns=dict(columns))
    chunk = Chunk(raw, goals, kept, store)
    out: list[Any] = []
    for request in requests:
        try:
            out.append(request(chunk))
        except RowsNotReadError:
            raise
        except Exception as exc:  # reported to the analysis that asked
            out.append(_Failure(exc))
    return out


def merge_totals(a: list[Any], b: list[Any]) -> list[Any]:
    """Add two lists of per-request totals (a failure wins over a value)."""
    out: list[Any] = []
    for x, y in zip(a, b, strict=True):
        if isinstance(x, _Failure):
            out.append(x)
        elif isinstance(y, _Failure):
            out.append(y)
        else:
            out.append(x + y)
    return out


_START = object()


#: Runs one pass: the totals of the requests over all chunks.
PassRunner = Callable[[Sequence[FrameRequest]], list[Any]]


#: Bytes of model rows a streamed analysis keeps between passes by default (see RowStore).
KEEP_ROWS_BYTES = 512 * 2**20


def local_pass(
    chunks: Callable[[], Iterable[pd.DataFrame]],
    goals: GoalSet | None,
    columns: Mapping[str, str] | None,
    keep_bytes: int = 0,
) -> PassRunner:
    """Passes over ``chunks()`` in this process, keeping model rows up to ``keep_bytes``.

    A pass first tries the rows kept by earlier passes (:class:`RowStore`)
    without reading a chunk; if a request needs rows that were not kept, the
    pass reads every chunk again (the kept rows still spare rebuilding them).
    """
    store = RowStore(keep_bytes)

    def from_store(requests: Sequence[FrameRequest]) -> list[Any] | None:
        if not store.complete or not keep_bytes:
            return None
        total: list[Any] | None = None
        try:
            for kept in store.chunks:
                values = evaluate_chunk(None, requests, goals, None, kept, store)
                total = values if total is None else merge_totals(total, values)
        except RowsNotReadError:
            return None
        return total

    def run(requests: Sequence[FrameRequest]) -> list[Any]:
        total = from_store(requests)
        if total is not None:
            return total
        count = 0
        for i, raw in enumerate(chunks()):
            kept = store.of_chunk(i) if keep_bytes else None
            values = evaluate_chunk(raw, requests, goals, columns, kept, store)
            total = values if total is None else merge_totals(total, values)
            count = i + 1
        if total is None:
            raise AnalysisError("the data have no rows")
        store.complete = count == len(store.chunks)
        return total

    return run


def drive(steps: Sequence[Steps], run_pass: PassRunner, errors: Errors) -> list[Any]:
    """Advance every analysis's generator, one shared pass over the data per round.

    Returns each generator's value, or the exception it raised.
    """
    results: list[Any] = [None] * len(steps)
    pending: dict[int, FrameRequest] = {}

    def advance(i: int, value: Any) -> None:
        gen = steps[i]
        try:
            if value is _START:
                request = next(gen)
            elif isinstance(value, _Failure):
                request = gen.throw(value.exc)
            else:
                request = gen.send(value)
        except StopIteration as stop:
            results[i] = stop.value
            pending.pop(i, None)
        except Exception as exc:
            if errors == "raise":
                raise
            results[i] = exc
            pending.pop(i, None)
        else:
            pending[i] = request

    for i in range(len(steps)):
        advance(i, _START)
    while pending:
        order = list(pending)
        totals = run_pass([pending[i] for i in order])
        for i, total in zip(order, totals, strict=True):
            advance(i, total)
    return results

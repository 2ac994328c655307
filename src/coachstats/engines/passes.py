"""Passes over chunked data: one chunk's requests, adding totals, and the driver that advances every analysis."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from coachstats.core.errors import AnalysisError
from coachstats.core.goals import GoalSet
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
    "Chunk",
    "Errors",
    "FrameRequest",
    "PassRunner",
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


class Chunk:
    """One chunk of raw patient rows during one pass, with the plan's derived tables.

    Derived endpoints and each spec's analysed frame are computed once per
    chunk and shared by every request of the pass.
    """

    def __init__(self, raw: pd.DataFrame, goals: GoalSet | None) -> None:
        self.raw = raw
        self.context = PlanContext(raw, goals)
        self.memo: dict[Any, Any] = {}

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
    raw: pd.DataFrame,
    requests: Sequence[FrameRequest],
    goals: GoalSet | None,
    columns: Mapping[str, str] | None = None,
) -> list[Any]:
    """Every request on one chunk of raw rows (renamed by ``columns``).

    A request that raises gives a failure marker instead of a value, so that
    one failing analysis does not stop the others. Used by every driver
    (Parquet, DataFrame chunks, Dask partitions).
    """
    if columns:
        raw = raw.rename(columns=dict(columns))
    chunk = Chunk(raw, goals)
    out: list[Any] = []
    for request in requests:
        try:
            out.append(request(chunk))
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


def local_pass(
    chunks: Callable[[], Iterable[pd.DataFrame]],
    goals: GoalSet | None,
    columns: Mapping[str, str] | None,
) -> PassRunner:
    def run(requests: Sequence[FrameRequest]) -> list[Any]:
        total: list[Any] | None = None
        for raw in chunks():
            values = evaluate_chunk(raw, requests, goals, columns)
            total = values if total is None else merge_totals(total, values)
        if total is None:
            raise AnalysisError("the data have no rows")
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

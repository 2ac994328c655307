"""The streamed analyses of :mod:`coachstats.engines.stream` on a Dask DataFrame.

With ``pip install coachstats[dask]``, :func:`coachstats.engines.stream.analyze` (and
:func:`analyze_dask`) accept a Dask DataFrame: every pass maps
:func:`coachstats.engines.stream.evaluate_chunk` over the partitions (each partition is
a chunk: endpoints derived, sufficient statistics of every pending analysis
computed) and adds the per-partition totals in a tree reduction, all as one
Dask graph per pass, computed by Dask's scheduler -- threads, processes, or a
``distributed`` cluster. The statistics and formulas are those of the pandas
and Parquet paths, so the results agree with them to rounding.

Pointing it at a real cluster::

    from dask.distributed import Client
    import dask.dataframe as dd
    from coachstats.engines.stream import analyze

    client = Client("tcp://scheduler-address:8786")   # or a dask-jobqueue / k8s cluster
    ddf = dd.read_parquet("s3://bucket/registry/*.parquet")
    ddf = ddf.persist()        # optional: keep the partitions in cluster memory
    result = analyze(ddf, plan)  # plan: an AnalysisPlan

The workers need ``coachstats`` installed (same version). Each pass re-reads
the partitions unless they are persisted; a plan takes about 15 passes.

Examples
--------
>>> import pandas as pd
>>> import dask.dataframe as dd
>>> from coachstats.plan import AnalysisSpec
>>> df = pd.DataFrame({"arm": ["coaching"] * 194 + ["usual_care"] * 178,
...                    "goal": [True] * 90 + [False] * 104 + [True] * 61 + [False] * 117})
>>> ddf = dd.from_pandas(df, npartitions=3)
>>> res = analyze_dask(ddf, [AnalysisSpec("goal", "chi_square")], scheduler="sync")
>>> res[0].format_p()
'.02'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from coachstats.core.errors import OptionError
from coachstats.core.goals import GoalSet, get_goal_set
from coachstats.engines.methods import run_streamed
from coachstats.engines.passes import (
    Errors,
    FrameRequest,
    PassRunner,
    evaluate_chunk,
    merge_totals,
)
from coachstats.plan import AnalysisPlan, AnalysisSpec, PlanResult

__all__ = ["analyze_dask", "dask_pass"]


def _require_dask() -> Any:
    try:
        import dask
    except ImportError as exc:  # pragma: no cover - the extra is installed where used
        raise OptionError(
            "Dask DataFrames need the optional dependencies: pip install 'coachstats[dask]'"
        ) from exc
    return dask


def dask_pass(
    ddf: Any,
    goals: GoalSet | None,
    columns: Mapping[str, str] | None = None,
    *,
    scheduler: str | None = None,
    split_every: int = 8,
) -> PassRunner:
    """A pass runner over the partitions of ``ddf`` (map, then tree-reduce the totals).

    ``scheduler`` is passed to ``dask.compute`` (None: the default, e.g. an
    active ``distributed.Client``).
    """
    dask = _require_dask()

    def run(requests: Sequence[FrameRequest]) -> list[Any]:
        evaluate = dask.delayed(evaluate_chunk, pure=False)
        merge = dask.delayed(_merge_all, pure=False)
        level = [evaluate(part, list(requests), goals, columns) for part in ddf.to_delayed()]
        while len(level) > 1:
            level = [merge(level[i : i + split_every]) for i in range(0, len(level), split_every)]
        (total,) = dask.compute(level[0], scheduler=scheduler)
        return list(total)

    return run


def _merge_all(parts: list[list[Any]]) -> list[Any]:
    total = parts[0]
    for part in parts[1:]:
        total = merge_totals(total, part)
    return total


def analyze_dask(
    ddf: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    columns: Mapping[str, str] | None = None,
    errors: Errors = "raise",
    scheduler: str | None = None,
) -> PlanResult:
    """Run ``plan`` on a Dask DataFrame, partition by partition (see the module docstring).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        One row per patient, in any number of partitions.
    plan, goals, columns, errors
        As in :func:`coachstats.engines.stream.analyze`.
    scheduler : str, optional
        Dask scheduler for the passes (``"sync"``, ``"threads"``,
        ``"processes"``; default: Dask's, e.g. the active distributed client).

    Returns
    -------
    PlanResult
    """
    the_plan = AnalysisPlan.of(plan, get_goal_set(goals))
    run_pass = dask_pass(ddf, the_plan.goals, columns, scheduler=scheduler)
    return run_streamed(the_plan, run_pass, errors)

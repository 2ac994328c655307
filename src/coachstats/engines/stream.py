r"""Registry-scale analyses: stream the rows into sufficient statistics.

:func:`analyze` runs an :class:`~coachstats.plan.AnalysisPlan` on data that
need not fit in memory -- a Parquet file read row group by row group
(:func:`analyze_parquet`), a pandas DataFrame taken in chunks, or a Dask
DataFrame partition by partition (:mod:`coachstats.engines.dask`) -- and gives
the results :func:`~coachstats.plan.run_plan` gives on the whole table in
memory (to rounding, about 1e-12 relative).

How
---
Every comparison reduces to sums over patients, and sums of chunks add up:

- the 2x2 table (chi-square, Fisher) and the per-arm count, mean and sum of
  squared deviations (t test; merged by the pairwise update of Chan, Golub &
  LeVeque, so the SDs have no cancellation);
- ANCOVA: the triangular factor :math:`R` of :math:`[X \mid y]`, merged by QR
  of the stacked factors (TSQR), from which :func:`~coachstats.compare.means.ols`
  reads everything;
- logistic and linear regression: one pass per Newton step accumulates
  :math:`X^\top W X`, :math:`X^\top r` and the per-group sums of the absorbed
  intercepts or clinic fixed effects
  (:class:`~coachstats.compare.glm.NewtonStats`); cluster-robust SEs take one
  more pass for the per-cluster score sums;
- GEE: one pass per iteration for the per-cluster sums of
  :class:`~coachstats.compare.gee.GEEStats`;
- the random-intercept mixed model: one pass for
  :class:`~coachstats.compare.mixed.MixedStats`.

The fitters are the in-memory ones (generators of per-chunk requests, see
:func:`coachstats.compare.design.run_local`), so there is one copy of every
formula. Before them, a first pass does what
:func:`~coachstats.compare.prepare.prepare` does (complete cases and the reasons
rows were excluded, arm labels, levels of categorical covariates, cluster and
fixed-effect labels), a second the per-arm moments and per-group sums, a
third the Gram matrix of the design for the aliasing rule of
:func:`~coachstats.compare.design.build_design`. Passes are shared by every
comparison of the plan, so a plan takes as many passes as its longest fit
(about 15 for a GEE). The model rows a pass builds (design, outcome, codes)
are kept for the next passes up to ``keep_bytes`` (512 MiB by default),
packed without loss (:mod:`~coachstats.engines.row_store`: indicators in
8-bit integers, a column shared by two models once): a pass whose rows are
all kept reads no chunk and derives nothing, so a design, Newton or GEE
step costs its arithmetic only, and a plan of models reads the data twice.
Memory holds one chunk's tables, the kept rows and one chunk's rows
unpacked. With a Parquet file, the arm, cluster and fixed-effect columns are
read as categoricals (the file's dictionary pages), unless a spec (its own
included) also uses one as a covariate, an outcome or in ``subset``/``complete_on``,
or the endpoints read it (``diabetes``).

Endpoints are derived chunk by chunk with the plan's goal set
(:func:`~coachstats.derive.endpoints.derive_endpoints` is row-wise, so chunks give the
same values), and so are the plan's ``subset``, ``complete_on`` and
``change_from``.

Supported: the methods in :data:`METHODS` with ``missing="complete case"``, or
``"failure"`` for the goal endpoints; the patient table only. Not supported
(:class:`~coachstats.core.errors.OptionError`): multiple imputation, the paired
methods, ``describe``, adherence endpoints, ``singleton_clusters``. With a
Parquet file, categorical (dictionary) covariates are coded with the category
order of the first chunk that has them.

References
----------
Chan TF, Golub GH, LeVeque RJ. Algorithms for computing the sample variance:
analysis and recommendations. Am Stat 1983;37:242-247.
Demmel J, Grigori L, Hoemmen M, Langou J. Communication-optimal parallel and
sequential QR and LU factorizations. SIAM J Sci Comput 2012;34:A206-A239 (TSQR).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan
>>> rng = np.random.default_rng(3)
>>> n = 2000
>>> df = pd.DataFrame({"arm": rng.choice(["coaching", "usual_care"], n),
...                    "clinic": rng.choice([f"c{i}" for i in range(12)], n),
...                    "age": rng.normal(55, 10, n)})
>>> df["goal"] = rng.random(n) < 0.35 + 0.1 * (df["arm"] == "coaching")
>>> plan = AnalysisPlan([
...     AnalysisSpec("goal", "chi_square"),
...     AnalysisSpec("goal", "logistic", label="adjusted", covariates=("age",),
...                  cluster="clinic")])
>>> streamed = analyze(df, plan, batch_size=300)   # 7 chunks
>>> whole = run_plan(df, plan)
>>> [round(r.estimate, 10) for r in streamed.results] == [
...     round(r.estimate, 10) for r in whole.results]
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from coachstats.core.errors import OptionError
from coachstats.core.frames import frame_library
from coachstats.core.goals import GoalSet, get_goal_set
from coachstats.core.results import ComparisonResult
from coachstats.plan import (
    AnalysisPlan,
    AnalysisSpec,
    PlanResult,
)

if TYPE_CHECKING:
    from os import PathLike
from coachstats.engines.methods import run_streamed
from coachstats.engines.passes import KEEP_ROWS_BYTES, Errors, local_pass
from coachstats.engines.sources import (
    DEFAULT_BATCH_ROWS,
    coded_columns,
    frame_chunks,
    needed_columns,
    parquet_chunks,
)

__all__ = ["analyze", "analyze_chunks", "analyze_parquet", "compare_frame"]


def analyze(
    data: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    columns: Mapping[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH_ROWS,
    errors: Errors = "raise",
    keep_bytes: int = KEEP_ROWS_BYTES,
) -> PlanResult:
    """Run ``plan`` on data streamed in chunks; the results of ``run_plan`` on all rows.

    Parameters
    ----------
    data : str, path, DataFrame or dask DataFrame
        A Parquet file (:func:`analyze_parquet`), a pandas DataFrame (taken
        ``batch_size`` rows at a time), or a Dask DataFrame (one chunk per
        partition, computed on its scheduler; needs ``coachstats[dask]``).
    plan : AnalysisPlan or sequence of AnalysisSpec
        What to run (methods in :data:`METHODS`).
    goals : GoalSet or str, optional
        Goal set for the derived endpoints; default the plan's.
    columns : mapping, optional
        Rename columns of the data to the schema's names (``{"a1c_0": "hba1c_0"}``).
    batch_size : int
        Rows per chunk (Parquet, DataFrame).
    errors : {"raise", "record"}
        As in :func:`~coachstats.plan.run_plan`.
    keep_bytes : int
        Memory for the model rows built in one pass and used again by the
        next (Parquet, DataFrame), packed without loss: a design, Newton or
        GEE step then reads no chunk and derives nothing again. Default 512
        MiB; 0 reads every chunk on every pass (the least memory). Peak
        memory is about one chunk's tables and its unpacked rows, plus this.

    Returns
    -------
    PlanResult
    """
    if isinstance(data, (str, os.PathLike)):
        return analyze_parquet(
            data,
            plan,
            goals=goals,
            columns=columns,
            batch_size=batch_size,
            errors=errors,
            keep_bytes=keep_bytes,
        )
    if frame_library(data) in ("dask", "dask_expr"):
        from coachstats.engines.dask import analyze_dask

        return analyze_dask(data, plan, goals=goals, columns=columns, errors=errors)
    if isinstance(data, pd.DataFrame):
        return analyze_chunks(
            frame_chunks(data, batch_size),
            plan,
            goals=goals,
            columns=columns,
            errors=errors,
            keep_bytes=keep_bytes,
        )
    raise OptionError(
        "data must be a Parquet path, a pandas DataFrame or a Dask DataFrame, "
        f"got {type(data).__name__}"
    )


def compare_frame(
    method: str, data: Any, outcome: str, *args: Any, **options: Any
) -> ComparisonResult:
    """One comparison of :mod:`coachstats.compare` on chunked or distributed data.

    ``compare_frame("logistic", ddf, "goal", covariates=["age"], cluster="clinic")``
    is ``models.logistic`` on a Dask DataFrame (or a Parquet path, or a pandas
    DataFrame in chunks); the compare functions call it themselves when given
    a Dask DataFrame. ``args`` holds ANCOVA's ``baseline``.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 3,
    ...                    "change": [-2.0, -1.0, 0.0, -1.0, 0.0, 1.0, None]})
    >>> compare_frame("t_test", df, "change").estimate
    -1.5
    """
    opts = dict(options)
    if method == "ancova":
        opts["baseline"] = args[0] if args else opts.pop("baseline")
    elif args:
        raise OptionError(f"{method}: options are keyword arguments")
    arm = opts.pop("arm", "arm")
    covariates = opts.pop("covariates", ())
    cluster = opts.pop("cluster", None)
    spec = AnalysisSpec(
        outcome,
        cast(Any, method),
        options=opts,
        covariates=(covariates,) if isinstance(covariates, str) else tuple(covariates),
        cluster=cluster,
        arm=arm,
    )
    return analyze(data, [spec])[0]


def analyze_parquet(
    path: str | PathLike[str],
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    columns: Mapping[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH_ROWS,
    errors: Errors = "raise",
    keep_bytes: int = KEEP_ROWS_BYTES,
) -> PlanResult:
    """Run ``plan`` on a Parquet file, ``batch_size`` rows in memory at a time.

    Reads only the columns the plan can use, with pyarrow; see :func:`analyze`
    (``keep_bytes`` too).
    """
    specs = AnalysisPlan.of(plan).specs
    chunks = parquet_chunks(
        path,
        columns=columns,
        needed=needed_columns(specs),
        batch_size=batch_size,
        coded=coded_columns(specs),
    )
    return analyze_chunks(
        chunks, plan, goals=goals, columns=columns, errors=errors, keep_bytes=keep_bytes
    )


def analyze_chunks(
    chunks: Callable[[], Iterable[pd.DataFrame]],
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    columns: Mapping[str, str] | None = None,
    errors: Errors = "raise",
    keep_bytes: int = KEEP_ROWS_BYTES,
) -> PlanResult:
    """Run ``plan`` on any re-iterable source of chunks (``chunks()`` yields DataFrames).

    ``keep_bytes``: see :func:`analyze`.
    """
    the_plan = AnalysisPlan.of(plan, get_goal_set(goals))
    run_pass = local_pass(chunks, the_plan.goals, columns, keep_bytes)
    return run_streamed(the_plan, run_pass, errors)

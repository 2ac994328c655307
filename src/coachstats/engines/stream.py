r"""Registry-scale analyses: stream the rows into sufficient statistics.

:func:`analyze` runs an :class:`~coachstats.plan.analysis.AnalysisPlan` on data that
need not fit in memory -- a Parquet file read row group by row group
(:func:`analyze_parquet`), a pandas DataFrame taken in chunks, or a Dask
DataFrame partition by partition (:mod:`coachstats.engines.dask`) -- and gives
the results :func:`~coachstats.plan.analysis.run_plan` gives on the whole table in
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
(about 15 for a GEE), each reading the rows once; memory holds one chunk.

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
>>> from coachstats.plan.analysis import AnalysisPlan, AnalysisSpec, run_plan
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

import inspect
import math
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import numpy as np
import pandas as pd

from coachstats.compare import glm, means, models, proportions
from coachstats.compare.design import (
    _SUSPECT_TOL,
    ArmMoments,
    Design,
    GroupIndex,
    ModelRows,
    _check_aliased,
    _screen_aliased,
    _sorts_as_values,
    covariate_levels,
    covariate_terms,
    dummy_columns,
    group_sums_t,
    minus_group_values,
    order_levels,
    qr_aliased_from_r,
)
from coachstats.compare.gee import (  # names: the package
    CORRELATIONS,
    FAMILIES,
    SMALL_SAMPLE,
    gee_steps,
)
from coachstats.compare.mixed import fit_mixed_stats, mixed_chunk_stats  # exports gee(), mixed()
from coachstats.compare.prepare import require_columns, resolve_arms
from coachstats.compare.smallsample import ClusterCrossProducts, ols_cross_products
from coachstats.core.errors import AnalysisError, OptionError, check_option
from coachstats.core.goals import GoalSet
from coachstats.core.results import ComparisonResult
from coachstats.plan import analysis
from coachstats.plan.analysis import AnalysisPlan, AnalysisSpec, PlanResult, resolve_goals

if TYPE_CHECKING:
    from os import PathLike

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "METHODS",
    "Chunk",
    "analyze",
    "analyze_chunks",
    "analyze_parquet",
    "compare_frame",
    "evaluate_chunk",
    "merge_totals",
    "parquet_chunks",
]

#: Rows per chunk when reading a Parquet file or splitting a DataFrame.
DEFAULT_BATCH_ROWS = 500_000
#: The methods of an :class:`~coachstats.plan.analysis.AnalysisSpec` that stream.
METHODS: tuple[str, ...] = (
    "chi_square",
    "fisher",
    "t_test",
    "ancova",
    "logistic",
    "linear",
    "gee",
    "mixed",
)
Errors = Literal["raise", "record"]
#: A request of a streamed analysis: sums it needs, computed on one chunk.
FrameRequest = Callable[["Chunk"], Any]
_Steps = Generator[FrameRequest, Any, Any]
_REASON = re.compile(r"^(?P<what>.*) \((?P<n>\d+)\)$")


# --------------------------------------------------------------------------- chunks


class Chunk:
    """One chunk of raw patient rows during one pass, with the plan's derived tables.

    Derived endpoints and each spec's analysed frame are computed once per
    chunk and shared by every request of the pass.
    """

    def __init__(self, raw: pd.DataFrame, goals: GoalSet | None) -> None:
        self.raw = raw
        self.context = analysis._Context(raw, goals)
        self.memo: dict[Any, Any] = {}

    def spec_frame(self, spec: AnalysisSpec) -> _SpecFrame:
        """The rows ``spec`` analyses (after ``subset``, ``complete_on``, ``change_from``)."""
        key = ("frame", id(spec))
        if key not in self.memo:
            frame = self.context.frame(spec, analysis.spec_columns(spec))
            n0 = len(frame)
            frame, _, reasons = analysis._apply_rows(frame, spec)
            frame, outcome = analysis._with_change(frame, spec)
            dropped: dict[str, int] = {}
            for reason in reasons:
                m = _REASON.match(reason)
                if m:  # "<what> (<count>)" as analysis._apply_rows words it
                    dropped[m.group("what")] = int(m.group("n"))
            self.memo[key] = _SpecFrame(frame, n0, dropped, outcome)
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


def _local_pass(
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


def drive(steps: Sequence[_Steps], run_pass: PassRunner, errors: Errors) -> list[Any]:
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


# --------------------------------------------------------------------------- sources


def parquet_chunks(
    path: str | PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    needed: Callable[[str], bool] | None = None,
    batch_size: int = DEFAULT_BATCH_ROWS,
) -> Callable[[], Iterator[pd.DataFrame]]:
    """A re-iterable source of the chunks of a Parquet file (pyarrow record batches).

    Only the columns whose (renamed) names satisfy ``needed`` are read. Integer
    and boolean columns that hold nulls anywhere in the file become float64 /
    object in every chunk, as :func:`pandas.read_parquet` converts the whole
    file (so chunks and the whole table code them alike).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    mapping = dict(columns or {})
    read = [c for c in names if needed is None or needed(mapping.get(c, c))]
    nullable = _columns_with_nulls(pf, read)
    schema = pf.schema_arrow

    def chunks() -> Iterator[pd.DataFrame]:
        for batch in pf.iter_batches(batch_size=batch_size, columns=read):
            frame = batch.to_pandas()
            for c in nullable:
                kind = schema.field(c).type
                if pa.types.is_integer(kind) and frame[c].dtype.kind in "iu":
                    frame[c] = frame[c].astype(np.float64)
                elif pa.types.is_boolean(kind) and frame[c].dtype == bool:
                    frame[c] = frame[c].astype(object)
            yield frame

    return chunks


def _columns_with_nulls(pf: Any, read: Sequence[str]) -> list[str]:
    """Integer / boolean columns with a null somewhere (row-group statistics, else a scan)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = pf.schema_arrow
    candidates = [
        c
        for c in read
        if pa.types.is_integer(schema.field(c).type) or pa.types.is_boolean(schema.field(c).type)
    ]
    out = []
    meta = pf.metadata
    index = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    for c in candidates:
        nulls = 0
        known = c in index
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(index[c]).statistics if known else None
            if stats is None or not stats.has_null_count:
                known = False
                break
            nulls += stats.null_count
        if not known:
            nulls = sum(
                int(pc.sum(pc.is_null(b.column(0))).as_py() or 0)
                for b in pf.iter_batches(columns=[c])
            )
        if nulls:
            out.append(c)
    return out


def _frame_chunks(data: pd.DataFrame, batch_size: int) -> Callable[[], Iterator[pd.DataFrame]]:
    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, max(len(data), 1), batch_size):
            yield data.iloc[start : start + batch_size]

    return chunks


#: Raw inputs of derived columns: measurements, diabetes, questionnaire items.
_RAW_INPUT = re.compile(
    r"^((hba1c|sbp|ldl|bmi)_\d+|diabetes|(trust|pacic)_q\d+_\d+|recommend(_pcp)?_\d+)$"
)


def _needed_columns(specs: Sequence[AnalysisSpec]) -> Callable[[str], bool]:
    """Which raw columns a plan can use (measurements and diabetes for the endpoints)."""
    names: set[str] = set()
    for spec in specs:
        names.update(analysis.spec_columns(spec))
        names.add(spec.arm)
        for key in ("fixed_effects", "baseline"):
            if spec.options.get(key):
                names.add(str(spec.options[key]))
        if spec.options.get("formula"):
            names.update(t for t, _ in covariate_terms((), str(spec.options["formula"])))
    return lambda c: c in names or bool(_RAW_INPUT.match(c))


# --------------------------------------------------------------------------- public API


def analyze(
    data: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    columns: Mapping[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH_ROWS,
    errors: Errors = "raise",
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
        As in :func:`~coachstats.plan.analysis.run_plan`.

    Returns
    -------
    PlanResult
    """
    if isinstance(data, (str, os.PathLike)):
        return analyze_parquet(
            data, plan, goals=goals, columns=columns, batch_size=batch_size, errors=errors
        )
    if _is_dask(data):
        from coachstats.engines.dask import analyze_dask

        return analyze_dask(data, plan, goals=goals, columns=columns, errors=errors)
    if isinstance(data, pd.DataFrame):
        return analyze_chunks(
            _frame_chunks(data, batch_size), plan, goals=goals, columns=columns, errors=errors
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
) -> PlanResult:
    """Run ``plan`` on a Parquet file, ``batch_size`` rows in memory at a time.

    Reads only the columns the plan can use, with pyarrow; see :func:`analyze`.
    """
    specs = _specs(plan)
    chunks = parquet_chunks(
        path, columns=columns, needed=_needed_columns(specs), batch_size=batch_size
    )
    return analyze_chunks(chunks, plan, goals=goals, columns=columns, errors=errors)


def analyze_chunks(
    chunks: Callable[[], Iterable[pd.DataFrame]],
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    columns: Mapping[str, str] | None = None,
    errors: Errors = "raise",
) -> PlanResult:
    """Run ``plan`` on any re-iterable source of chunks (``chunks()`` yields DataFrames)."""
    specs = _specs(plan)
    goal_set = _plan_goals(plan, goals)
    return run_streamed(specs, _local_pass(chunks, goal_set, columns), errors)


def run_streamed(specs: Sequence[AnalysisSpec], run_pass: PassRunner, errors: Errors) -> PlanResult:
    """Run the specs with a pass runner (the part shared by every source)."""
    check_option("errors", errors, get_args(Errors))
    steps = [_spec_steps(spec) for spec in specs]
    outcomes = drive(steps, run_pass, errors)
    results: list[ComparisonResult | None] = []
    messages: list[str | None] = []
    for value in outcomes:
        if isinstance(value, Exception):
            results.append(None)
            messages.append(f"{type(value).__name__}: {value}")
        else:
            results.append(value)
            messages.append(None)
    return PlanResult(tuple(specs), tuple(results), tuple(messages))


def _specs(plan: AnalysisPlan | Sequence[AnalysisSpec]) -> tuple[AnalysisSpec, ...]:
    return plan.specs if isinstance(plan, AnalysisPlan) else tuple(plan)


def _plan_goals(
    plan: AnalysisPlan | Sequence[AnalysisSpec], goals: GoalSet | str | None
) -> GoalSet | None:
    plan_goals = plan.goals if isinstance(plan, AnalysisPlan) else None
    return resolve_goals(goals) or plan_goals


def _is_dask(data: Any) -> bool:
    """A Dask collection, recognized without importing dask."""
    return type(data).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(
        data, "to_delayed"
    )


# --------------------------------------------------------------------------- one spec


def _check_supported(spec: AnalysisSpec) -> None:
    check_option("method", spec.method, METHODS)
    if spec.table != "patients":
        raise OptionError(f"{spec.label!r}: streaming reads the patients table only")
    if spec.missing == "mi":
        raise OptionError(
            f"{spec.label!r}: multiple imputation does not stream; run it in memory "
            "(run_plan) or use missing='complete case'"
        )
    if spec.missing == "failure" and not analysis._GOAL_ENDPOINT.match(spec.outcome):
        raise OptionError(
            f"{spec.label!r}: missing='failure' streams for the goal endpoints only "
            "(at_goal_*, composite_*)"
        )
    if spec.options.get("singleton_clusters"):
        raise OptionError(f"{spec.label!r}: singleton_clusters does not stream")


def _bound_options(spec: AnalysisSpec) -> dict[str, Any]:
    """The compare function's keyword arguments for ``spec``, defaults filled in."""
    fn = analysis.compare_function(spec.method)
    params = inspect.signature(fn).parameters
    kwargs = analysis._compare_kwargs(fn, spec)
    out = {
        name: kwargs.get(name, p.default) for name, p in params.items() if p.kind == p.KEYWORD_ONLY
    }
    for name, p in params.items():
        if p.kind == p.KEYWORD_ONLY and out[name] is inspect.Parameter.empty:
            raise OptionError(f"{spec.label!r}: method {spec.method!r} needs option {name!r}")
    return out


def _spec_steps(spec: AnalysisSpec) -> Generator[FrameRequest, Any, ComparisonResult]:
    _check_supported(spec)
    if spec.method == "ancova" and "baseline" not in spec.options:
        raise OptionError(f"{spec.label!r}: method 'ancova' needs options.baseline (a column)")
    opts = _bound_options(spec)
    # the name analysis._with_change gives the change from another column
    name = f"{spec.outcome} - {spec.change_from}" if spec.change_from else spec.outcome
    if spec.method in ("chi_square", "fisher"):
        result = yield from _two_by_two(spec, name, opts)
    elif spec.method == "t_test":
        result = yield from _t_test(spec, name, opts)
    elif spec.method == "ancova":
        result = yield from _ancova(spec, name, opts)
    else:
        result = yield from _model(spec, name, opts)
    if spec.missing == "failure":
        result = result.replace(missing="missing follow-up counted as not at goal")
    return result


# --------------------------------------------------------------------------- first pass


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
class _Columns:
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


def _outcome_check(name: str, binary: bool) -> Callable[[pd.Series], np.ndarray]:
    """The models' outcome validation as one (cacheable) function per outcome."""
    key = (name, binary)
    if key not in _CHECKS:
        _CHECKS[key] = lambda values: models._outcome(values, name, binary)
    return _CHECKS[key]


def _kept_rows(
    chunk: Chunk, spec: AnalysisSpec, cols: _Columns, exclude: Mapping[str, frozenset[Any]]
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
    spec: AnalysisSpec, cols: _Columns, exclude: Mapping[str, frozenset[Any]]
) -> FrameRequest:
    def compute(chunk: Chunk) -> _Meta:
        sf = chunk.spec_frame(spec)
        kept = _kept_rows(chunk, spec, cols, exclude)
        if sf.outcome != cols.outcome:  # pragma: no cover - the names are built alike
            raise AnalysisError(f"outcome column {sf.outcome!r} expected {cols.outcome!r}")
        if cols.binary is not None:
            kept.checked(cols.outcome, _outcome_check(cols.outcome, cols.binary))
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
                kind = "values" if _sorts_as_values(s) else "text"
                levels[name] = (kind, frozenset(kept.present(name)))
        labels = {g: frozenset(kept.present(g)) for g in cols.groups}
        arms = frozenset(str(a) for a in kept.present(cols.arm))
        return _Meta(sf.n_rows, dict(sf.dropped), kept.missing, kept.n, arms, levels, labels)

    return compute


@dataclass(frozen=True)
class _Prepared:
    """The streamed equivalent of :class:`~coachstats.compare.prepare.Prepared`."""

    cols: _Columns
    labels: tuple[str, str]
    n_excluded: int
    excluded_reason: str
    levels: dict[str, list[Any] | None]
    groups: dict[str, list[Any]]
    exclude: Mapping[str, frozenset[Any]]
    dropped_rows: int
    dropped_reasons: list[str]


def _resolve(
    spec: AnalysisSpec,
    cols: _Columns,
    meta: _Meta,
    treatment: str | None,
    control: str | None,
    exclude: Mapping[str, frozenset[Any]],
) -> _Prepared:
    """After the first pass: exclusion reasons, arm labels, levels (as ``prepare`` does)."""
    reasons_rows = [f"{what} ({n})" for what, n in meta.dropped.items() if n]
    dropped = sum(meta.dropped.values())
    if meta.n_rows - dropped == 0:
        raise AnalysisError(f"{spec.label!r}: no rows left after {'; '.join(reasons_rows)}")
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
    return _Prepared(
        cols,
        labels,
        n_excluded,
        ", ".join(reasons),
        levels,
        groups,
        exclude,
        dropped,
        reasons_rows,
    )


def _finish(result: ComparisonResult, spec: AnalysisSpec, prep: _Prepared) -> ComparisonResult:
    """Add the rows dropped by ``subset`` / ``complete_on`` (as ``run_plan`` does)."""
    return analysis._finish(result, spec, prep.dropped_rows, prep.dropped_reasons)


def _prepare_steps(
    spec: AnalysisSpec,
    cols: _Columns,
    opts: Mapping[str, Any],
    exclude: Mapping[str, frozenset[Any]] | None = None,
) -> Generator[FrameRequest, Any, _Prepared]:
    excl = dict(exclude or {})
    meta = yield _meta_request(spec, cols, excl)
    return _resolve(spec, cols, meta, opts.get("treatment"), opts.get("control"), excl)


# --------------------------------------------------------------------------- rows of a model


def _model_rows(
    chunk: Chunk,
    spec: AnalysisSpec,
    prep: _Prepared,
    *,
    fe: str | None = None,
    cluster: str | None = None,
    keep_columns: Sequence[int] | None = None,
    numeric_outcome: bool = False,
) -> tuple[ModelRows, np.ndarray]:
    """The model's rows in this chunk: ``ModelRows`` (design, outcome, codes) and ``treated``."""
    key = ("rows", id(spec), id(prep), fe, cluster, tuple(keep_columns or ()))
    if key in chunk.memo:
        return cast(tuple[ModelRows, np.ndarray], chunk.memo[key])
    cols = prep.cols
    kept = _kept_rows(chunk, spec, cols, prep.exclude)
    if numeric_outcome:
        y = kept.checked(cols.outcome, means.as_numeric)
    else:
        y = kept.checked(cols.outcome, _outcome_check(cols.outcome, bool(cols.binary)))
        if not np.all(np.isfinite(y)):
            raise AnalysisError(
                "X and y must be finite (missing values are excluded before fitting)"
            )
    treated = kept.is_label(cols.arm, prep.labels[0])
    blocks: list[np.ndarray] = [treated.astype(float)]
    for name, _ in cols.terms:
        levels = prep.levels[name]
        if levels is None:
            blocks.append(kept.floats(name))
        else:
            block, _ = dummy_columns(kept.series(name), name, levels)
            blocks.extend(block.T)
    XT = np.empty((len(blocks), kept.n))
    for j, col in enumerate(blocks):
        XT[j] = col
    if not numeric_outcome and not np.all(np.isfinite(XT)):
        raise AnalysisError("X and y must be finite (missing values are excluded before fitting)")
    if keep_columns is not None:
        XT = np.ascontiguousarray(XT[list(keep_columns)])

    def codes(column: str | None) -> tuple[np.ndarray | None, int]:
        if column is None:
            return None, 1
        labels = prep.groups[column]
        return kept.codes(column, labels), len(labels)

    g_codes, n_groups = codes(fe)
    c_codes, n_clusters = codes(cluster)
    rows = ModelRows(
        XT=XT,
        y=y,
        groups=g_codes if n_groups > 1 else None,
        n_groups=n_groups,
        clusters=c_codes,
        n_clusters=n_clusters if cluster else 0,
    )
    chunk.memo[key] = (rows, treated)
    return rows, treated


def _design_names(prep: _Prepared, arm: str) -> list[str]:
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


def _group_sums_request(
    spec: AnalysisSpec,
    prep: _Prepared,
    fe: str | None,
    cluster: str | None,
    numeric_outcome: bool = False,
) -> FrameRequest:
    def compute(chunk: Chunk) -> _GroupSums:
        rows, treated = _model_rows(
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


def _design_steps(
    spec: AnalysisSpec,
    prep: _Prepared,
    arm: str,
    shift: np.ndarray,
    fe: str | None,
) -> Generator[FrameRequest, Any, tuple[Design, list[int]]]:
    """The aliasing rule of :func:`~coachstats.compare.design.build_design`, streamed."""

    def demeaned(chunk: Chunk) -> np.ndarray:
        rows, _ = _model_rows(chunk, spec, prep, fe=fe)
        return minus_group_values(rows.XT, shift, rows.groups)

    def gram(chunk: Chunk) -> _Gram:
        rows, _ = _model_rows(chunk, spec, prep, fe=fe)
        XdT = demeaned(chunk)
        return _Gram(XdT @ XdT.T, np.einsum("ij,ij->i", rows.XT, rows.XT))

    names = _design_names(prep, arm)
    k = len(names)
    totals = yield gram
    order = [*range(1, k), 0]
    rel = _screen_aliased(totals.gram, totals.raw_sq, order)
    kept: list[int] = order
    if np.any(rel < _SUSPECT_TOL):
        factor = yield (
            lambda chunk: _RFactor(np.asarray(np.linalg.qr(demeaned(chunk).T, mode="r")))
        )
        kept = qr_aliased_from_r(factor.r, totals.raw_sq, order)
    kept, dropped = _check_aliased(
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


def _adapt(
    steps: Generator[Callable[[ModelRows], Any], Any, Any],
    rows_of: Callable[[Chunk], ModelRows],
) -> _Steps:
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


# --------------------------------------------------------------------------- methods


def _two_by_two(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    cols = _Columns(outcome, opts["arm"], (), (), None)
    prep = yield from _prepare_steps(spec, cols, opts)

    def counts(chunk: Chunk) -> np.ndarray:
        kept = _kept_rows(chunk, spec, cols, prep.exclude)
        y = proportions.as_binary(kept.series(outcome))
        treated = kept.is_label(cols.arm, prep.labels[0])
        return np.array([int(y[treated].sum()), int(treated.sum()), int(y.sum()), len(y)])

    x1, n1, x, n = (int(v) for v in (yield counts))
    data = proportions.ArmCounts(
        (x1, n1, x - x1, n - n1), prep.labels, prep.n_excluded, prep.excluded_reason
    )
    fn = proportions.chi_square if spec.method == "chi_square" else proportions.fisher_exact
    kwargs = {k: v for k, v in opts.items() if k not in ("arm", "treatment", "control")}
    return _finish(fn(data, outcome, **kwargs), spec, prep)


def _t_test(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    cols = _Columns(outcome, opts["arm"], (), (), None, (outcome,))
    prep = yield from _prepare_steps(spec, cols, opts)
    sums = yield _group_sums_request(spec, prep, None, None, numeric_outcome=True)
    arms = sums.arms
    moments = []
    for j in range(2):
        n = int(arms.n[j])
        mean = float(arms.total[j] / n) if n else math.nan
        sd = math.sqrt(arms.m2[j] / (n - 1)) if n > 1 else math.nan
        moments.append((mean, sd, n))
    result = means.t_test_from_moments(
        moments[0],
        moments[1],
        equal_var=opts["equal_var"],
        conf_level=opts["conf_level"],
        labels=prep.labels,
        outcome=outcome,
    )
    result = result.replace(n_excluded=prep.n_excluded, excluded_reason=prep.excluded_reason)
    return _finish(result, spec, prep)


def _ancova(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    baseline = str(spec.options["baseline"])
    covs = list(dict.fromkeys(opts["covariates"]))
    if outcome == baseline:
        raise AnalysisError(f"outcome and baseline are the same column '{outcome}'")
    clash = [c for c in covs if c in (outcome, baseline, opts["arm"])]
    if clash:
        raise AnalysisError(f"covariates {clash} repeat the outcome, baseline or arm column")
    proportions.check_conf_level(opts["conf_level"])
    terms = tuple((c, False) for c in [baseline, *covs])
    # the baseline must be numeric, not a factor
    cols = _Columns(outcome, opts["arm"], terms, (), None, (outcome, baseline))
    prep = yield from _prepare_steps(spec, cols, opts)
    sums = yield _group_sums_request(spec, prep, None, None, numeric_outcome=True)
    n = int(sums.arms.n.sum())
    shift = sums.xsum / n
    design, keep = yield from _design_steps(spec, prep, opts["arm"], shift, None)
    if baseline not in design.names:
        raise AnalysisError(
            f"baseline column '{baseline}' is constant or collinear with the covariates "
            f"in the analysed rows ({', '.join(design.dropped)}); use a t test instead"
        )
    names = ("(Intercept)", *design.names)

    def factor(chunk: Chunk) -> means.AugmentedR:
        rows, _ = _model_rows(chunk, spec, prep, keep_columns=keep, numeric_outcome=True)
        X1 = np.empty((rows.nobs, len(keep) + 1))
        X1[:, 0] = 1.0
        X1[:, 1:] = rows.XT.T
        return means.AugmentedR.of(X1, rows.y)

    r = yield factor
    if n <= len(names):
        raise AnalysisError(
            f"{n} complete rows are too few to estimate {len(names)} coefficients {list(names)}"
        )
    fit = means.ols_from_r(r.r, n, names)
    result = means.ancova_result(
        fit,
        names,
        sums.arms,
        prep.labels,
        outcome=outcome,
        baseline=baseline,
        covariates=covs,
        conf_level=opts["conf_level"],
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
    )
    return _finish(result, spec, prep)


def _model(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    """logistic, linear, gee and mixed, as the functions of :mod:`~coachstats.compare.models`."""
    method = spec.method
    arm = opts["arm"]
    conf_level = opts["conf_level"]
    if method == "logistic":
        check_option("estimand", opts["estimand"], models.LOGISTIC_ESTIMANDS)
        if opts["firth"]:
            raise OptionError(
                f"{spec.label!r}: firth=True is fitted in memory (it is for small samples); "
                "use compare.logistic or run_plan"
            )
    if method == "linear":
        models.check_cluster_vcov(opts["cluster_vcov"], opts["cluster"], opts["fixed_effects"])
    if method == "gee":
        check_option("family", opts["family"], FAMILIES)
        check_option("corr", opts["corr"], CORRELATIONS)
        check_option("moment_df", opts["moment_df"], ("n", "n-p"))
        check_option("small_sample", opts["small_sample"], SMALL_SAMPLE)
    models._check_conf_level(conf_level)
    cluster: str | None = opts.get("cluster")
    fe: str | None = opts.get("fixed_effects") if method in ("logistic", "linear") else None
    binary = method == "logistic" or (method == "gee" and opts["family"] == "binomial")
    terms = covariate_terms(opts["covariates"], opts["formula"])
    group_cols = tuple(g for g in (cluster, fe) if g)
    for name in [*(t for t, _ in terms), *group_cols]:
        if name in (outcome, arm):
            raise AnalysisError(
                f"column '{name}' is the outcome or the arm; it cannot also be a covariate, "
                "cluster or fixed effect"
            )
    cols = _Columns(outcome, arm, terms, group_cols, binary)
    prep = yield from _prepare_steps(spec, cols, opts)
    sums = yield _group_sums_request(spec, prep, fe, cluster)
    if binary:
        n = int(sums.arms.n.sum())
        events = float(sums.arms.total.sum())
        if events in (0.0, float(n)):
            raise AnalysisError(
                f"outcome '{outcome}' is {int(events > 0)} for every analysed patient"
                + (
                    f" ({n}): no events to model"
                    if method == "logistic"
                    else ": no events to model"
                )
            )
        models.check_separation(prep.labels, sums.arms.n, sums.arms.total, outcome)
    if fe and method == "logistic":
        bad = (sums.events == 0) | (sums.events == sums.counts)
        if bad.any():
            labels = prep.groups[fe]
            bad_labels = [labels[j] for j in np.flatnonzero(bad)]
            n_drop = int(sums.counts[bad].sum())
            reason = models.degenerate_groups_reason(
                fe, outcome, [str(x) for x in bad_labels], n_drop, bool((~bad).any())
            )
            prep = yield from _prepare_steps(spec, cols, opts, {fe: frozenset(bad_labels)})
            prep = replace(
                prep,
                n_excluded=prep.n_excluded + n_drop,
                excluded_reason=", ".join(r for r in (prep.excluded_reason, reason) if r),
            )
            sums = yield _group_sums_request(spec, prep, fe, cluster)
            models.check_arms_left(fe, outcome, int(sums.arms.n[0]), int(sums.arms.n.sum()))
            models.check_separation(prep.labels, sums.arms.n, sums.arms.total, outcome)
    checked = ((fe if method == "linear" else None, "fixed effects"), (cluster, "cluster"))
    for column, role in checked:
        if column and len(prep.groups[column]) < 2:
            raise AnalysisError(
                f"{role} column '{column}' has {len(prep.groups[column])} level among the "
                f"analysed rows ({list(prep.groups[column])}); {role} needs at least 2"
            )
    n = int(sums.arms.n.sum())
    shift = sums.xsum / sums.counts[:, None]
    design, keep = yield from _design_steps(spec, prep, arm, shift, fe)
    rows_summary = models.RowSummary(
        sums.arms.summaries(prep.labels, binary), prep.n_excluded, prep.excluded_reason
    )

    def rows_of(chunk: Chunk) -> ModelRows:
        return _model_rows(chunk, spec, prep, fe=fe, cluster=cluster, keep_columns=keep)[0]

    shift_kept = np.ascontiguousarray(shift[:, keep])
    if method == "mixed":
        center = shift_kept[0]
        stats = yield (lambda chunk: mixed_chunk_stats(rows_of(chunk), center))
        fit_m = fit_mixed_stats(stats, reml=bool(opts["reml"]))
        result = models.mixed_result(
            fit_m, design, rows_summary, outcome, cluster=str(cluster), conf_level=conf_level
        )
        return _finish(result, spec, prep)
    if method == "gee":
        counts = sums.clusters
        steps = gee_steps(
            counts,
            shift_kept[0],
            float(sums.arms.total.sum()),
            family=opts["family"],
            corr=opts["corr"],
            moment_df=opts["moment_df"],
            small_sample=opts["small_sample"],
        )
        fit_g = yield from _adapt(steps, rows_of)
        result = models.gee_result(
            fit_g, design, rows_summary, outcome, cluster=str(cluster), conf_level=conf_level
        )
        return _finish(result, spec, prep)
    family = "binomial" if method == "logistic" else "gaussian"
    groups = GroupIndex(
        np.zeros(0, dtype=np.intp),
        np.array(prep.groups[fe] if fe else ["(all)"], dtype=object),
        sums.counts,
    )
    if family == "binomial":
        alpha0 = glm.initial_intercepts(sums.events, sums.counts, groups.labels)
    else:
        p = len(keep)
        if n - p - groups.n_groups <= 0:
            raise AnalysisError(
                f"{n} observations for {p + groups.n_groups} coefficients: "
                "no residual degrees of freedom"
            )
        alpha0 = np.zeros(groups.n_groups)
    newton = glm.newton_steps(alpha0, shift_kept, family=cast(glm.Family, family))
    solution = yield from _adapt(newton, rows_of)
    if not solution.converged and family == "binomial":
        raise glm.not_converged(solution.iterations)
    fit = glm.regression_fit(solution, family, groups)
    rd = None
    if method == "logistic" and opts["estimand"] == "risk difference":
        sums_rd = yield (
            lambda chunk: glm.risk_difference_sums(rows_of(chunk), fit.coef, fit.group_coef, 0)
        )
        rd = glm.risk_difference_from_sums(sums_rd, 0)
    clusters = None
    scores = None
    if cluster:
        labels_c = np.array(prep.groups[cluster], dtype=object)
        clusters = GroupIndex(np.zeros(0, dtype=np.intp), labels_c, sums.clusters)
        influence = (rd[2] if rd is not None else np.zeros(groups.n_groups)) / fit.group_weight
        scores = yield (
            lambda chunk: glm.cluster_score_sums(
                rows_of(chunk),
                solution,
                family,
                cast(np.ndarray, rows_of(chunk).clusters),
                len(labels_c),
                influence,
            )
        )
    if method == "logistic":
        result = models.logistic_result(
            fit,
            design,
            rows_summary,
            outcome,
            estimand=opts["estimand"],
            conf_level=conf_level,
            fixed_effects=fe,
            cluster=cluster,
            clusters=clusters,
            risk_difference=rd,
            scores=scores,
        )
    else:
        small = None
        if opts["cluster_vcov"] == "CR2" and clusters is not None:
            n_c = clusters.n_groups

            def cross(chunk: Chunk) -> ClusterCrossProducts:
                rows = rows_of(chunk)
                return ols_cross_products(
                    rows.XT,
                    rows.y,
                    cast(np.ndarray, rows.clusters),
                    n_c,
                    fit.coef,
                    float(fit.group_coef[0]),
                    shift_kept[0],
                )

            small = models.cr2_arm((yield cross))
        result = models.linear_result(
            fit,
            design,
            rows_summary,
            outcome,
            conf_level=conf_level,
            fixed_effects=fe,
            cluster=cluster,
            clusters=clusters,
            scores=scores,
            small_sample=small,
        )
    return _finish(result, spec, prep)

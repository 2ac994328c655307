"""The executor of analysis plans: :func:`run_plan`.

:func:`run_plan` is the one place where endpoint derivation
(:mod:`coachstats.derive`) and comparisons (:mod:`coachstats.compare`) meet:
``reproduce``, ``evaluate`` and ``coachstats analyze`` all call it. For each
spec it

1. takes the table the spec names (``"patients"``, or ``"visit_ratings"`` for
   clinician post-visit ratings) from the run's :class:`~coachstats.plan.context.PlanContext`
   (scores, adherence changes and endpoints derived once per run);
2. selects the analysed rows (:func:`coachstats.plan.rows.select_rows`:
   ``subset``, eligibility, ``complete_on``), keeping every row it leaves out
   as an :class:`~coachstats.core.results.Exclusion`;
3. forms ``outcome - change_from`` when ``change_from`` is given;
4. runs the comparison under the missing-data rule: ``"complete case"`` (as
   published), ``"failure"`` (a missing binary follow-up counts as not at goal)
   or ``"mi"`` (multiple imputation of the raw follow-up measurements, the
   endpoint re-derived in every completed dataset, pooled by Rubin's rules).

The engines that stream the rows (:mod:`coachstats.engines`) use the same
public pieces: :func:`compare_function`, :func:`bound_options`,
:func:`coachstats.plan.rows.select_rows`, :func:`coachstats.plan.rows.with_exclusions`
and :meth:`coachstats.plan.result.PlanResult.collect`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast, get_args

import pandas as pd

from coachstats.core.errors import (
    AnalysisError,
    ColumnNotFoundError,
    NotAnalysableError,
    OptionError,
    check_option,
)
from coachstats.core.goals import GoalSet, get_goal_set
from coachstats.core.results import ComparisonResult, no_rows_left
from coachstats.core.vocabulary import is_goal_endpoint, parse_measure_column
from coachstats.data.flow import Flow
from coachstats.data.trialdata import TrialData
from coachstats.derive.endpoints import derive_endpoints, endpoint_state
from coachstats.plan.context import PlanContext
from coachstats.plan.describe import describe_spec
from coachstats.plan.result import PlanResult
from coachstats.plan.rows import (
    analysed_columns,
    select_rows,
    with_change,
    with_exclusions,
    with_singleton_clusters,
)
from coachstats.plan.spec import (
    DEFAULT_MI_SEED,
    MODEL_METHODS,
    PAIRED_METHODS,
    AnalysisPlan,
    AnalysisSpec,
    Errors,
    spec_columns,
)

__all__ = [
    "PLAN_OPTIONS",
    "bound_options",
    "compare_endpoints",
    "compare_function",
    "compare_kwargs",
    "run_plan",
    "run_spec",
]


def compare_function(method: str) -> Callable[..., ComparisonResult]:
    """The :mod:`coachstats.compare` function a plan method runs.

    Examples
    --------
    >>> compare_function("chi_square").__name__, compare_function("gee").__module__
    ('chi_square', 'coachstats.compare.clustered')
    """
    if method in ("chi_square", "fisher"):
        from coachstats.compare import proportions

        return proportions.chi_square if method == "chi_square" else proportions.fisher_exact
    if method in ("t_test", "ancova"):
        from coachstats.compare import means

        return cast(Callable[..., ComparisonResult], getattr(means, method))
    if method in MODEL_METHODS:
        from coachstats.compare import models

        return cast(Callable[..., ComparisonResult], getattr(models, method))
    from coachstats.compare import paired

    return cast(Callable[..., ComparisonResult], getattr(paired, method))


#: Spec options the plan itself uses (describe, imputation, clusters), not the compare function.
PLAN_OPTIONS = ("stat", "level", "where", "m", "seed", "maxit", "impute", "singleton_clusters")


def compare_kwargs(fn: Callable[..., ComparisonResult], spec: AnalysisSpec) -> dict[str, Any]:
    """The keyword arguments ``spec`` gives the compare function ``fn``.

    The arm, covariates, cluster and the spec's options; an option ``fn`` does
    not take raises, listing the allowed ones.
    """
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {k: v for k, v in spec.options.items() if k not in PLAN_OPTIONS}
    if "arm" in params:
        kwargs["arm"] = spec.arm
    if spec.covariates:
        kwargs["covariates"] = list(spec.covariates)
    if spec.cluster:
        kwargs["cluster"] = spec.cluster
    unknown = sorted(k for k in kwargs if k not in params)
    if unknown:
        allowed = sorted(
            k for k, p in params.items() if p.kind == p.KEYWORD_ONLY and k not in ("arm",)
        )
        raise OptionError(
            f"{spec.label!r}: method {spec.method!r} takes no option(s) {unknown}; "
            f"allowed: {allowed}"
        )
    return kwargs


def bound_options(spec: AnalysisSpec) -> dict[str, Any]:
    """Every keyword option of the spec's compare function, the spec's values or the defaults.

    Examples
    --------
    >>> opts = bound_options(AnalysisSpec("goal", "chi_square", options={"correct": True}))
    >>> opts["correct"], opts["arm"]
    (True, 'arm')
    """
    fn = compare_function(spec.method)
    params = inspect.signature(fn).parameters
    kwargs = compare_kwargs(fn, spec)
    out = {
        name: kwargs.get(name, p.default) for name, p in params.items() if p.kind == p.KEYWORD_ONLY
    }
    for name, p in params.items():
        if p.kind == p.KEYWORD_ONLY and out[name] is inspect.Parameter.empty:
            raise OptionError(f"{spec.label!r}: method {spec.method!r} needs option {name!r}")
    return out


def _call(
    fn: Callable[..., ComparisonResult], spec: AnalysisSpec, frame: pd.DataFrame, outcome: str
) -> ComparisonResult:
    kwargs = compare_kwargs(fn, spec)
    if spec.method == "ancova":
        baseline = kwargs.pop("baseline", None)
        if baseline is None:
            raise OptionError(f"{spec.label!r}: method 'ancova' needs options.baseline (a column)")
        return fn(frame, outcome, baseline, **kwargs)
    return fn(frame, outcome, **kwargs)


def _paired_frame(ctx: PlanContext, spec: AnalysisSpec) -> tuple[pd.DataFrame, str, str]:
    if spec.timepoints is None:  # pragma: no cover - AnalysisSpec.__post_init__ checks this
        raise OptionError(f"{spec.label!r}: paired methods need timepoints")
    base = ctx.base(spec.table, spec.followup, [f"{spec.outcome}_{t}" for t in spec.timepoints])
    names = []
    extra: dict[str, pd.Series] = {}
    for t in spec.timepoints:
        raw = f"{spec.outcome}_{t}"
        if raw in base.columns:
            names.append(raw)
            continue
        derived = ctx.derived(base, t, "exclude")
        if spec.outcome not in derived.columns:
            raise ColumnNotFoundError(
                f"{spec.label!r}: neither column {raw!r} nor a derived endpoint "
                f"{spec.outcome!r} at month {t}"
            )
        name = f"{spec.outcome}@{t}"
        extra[name] = derived[spec.outcome]
        names.append(name)
    frame = base
    if extra:
        frame = base.copy(deep=False)
        for k, v in extra.items():
            frame[k] = v
    return frame, names[0], names[1]


def run_spec(
    data: Any, spec: AnalysisSpec, *, goals: GoalSet | str | None = None
) -> ComparisonResult:
    """Run one :class:`AnalysisSpec` (see :func:`run_plan`).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["coaching"] * 3 + ["usual_care"] * 3,
    ...                    "site": ["A", "A", "B", "A", "B", "B"],
    ...                    "age": [50.0, 60.0, 70.0, 40.0, 50.0, 60.0]})
    >>> r = run_spec(df, AnalysisSpec("age", "describe", by="site"))
    >>> [(a.arm, a.n, a.value) for a in r.arms]
    [('A', 3, 50.0), ('B', 3, 60.0)]
    """
    return _run(PlanContext(data, get_goal_set(goals)), spec)


def _run(ctx: PlanContext, spec: AnalysisSpec) -> ComparisonResult:
    if spec.method in PAIRED_METHODS:
        frame, before, after = _paired_frame(ctx, spec)
        selection = select_rows(frame, spec)
        fn = compare_function(spec.method)
        kwargs = {k: v for k, v in spec.options.items() if k not in PLAN_OPTIONS}
        result = fn(selection.frame, before, after, **kwargs)
        t0, t1 = spec.timepoints or (0, 0)
        month = {before: f"month {t0}", after: f"month {t1}"}
        arms = tuple(replace(a, arm=month.get(a.arm, a.arm)) for a in result.arms)
        return with_exclusions(result.replace(arms=arms), selection.exclusions)
    table = ctx.frame(spec, spec_columns(spec))
    selection = select_rows(table, spec, columns=analysed_columns(table, spec))
    if len(selection.frame) == 0:
        raise AnalysisError(no_rows_left(spec.label, selection.exclusions))
    frame = with_singleton_clusters(selection.frame, spec)
    frame, outcome = with_change(frame, spec)
    if spec.method == "describe":
        return with_exclusions(describe_spec(frame, outcome, spec), selection.exclusions)
    fn = compare_function(spec.method)
    if spec.missing == "failure" and not is_goal_endpoint(spec.outcome):
        from coachstats.compare.missing import with_missing_as_failure

        result = with_missing_as_failure(
            frame, lambda d: _call(fn, spec, d, outcome), outcome=outcome
        )
    elif spec.missing == "failure":
        result = _call(fn, spec, frame, outcome)
        result = result.replace(missing="missing follow-up counted as not at goal")
    elif spec.missing == "mi":
        result = _run_mi(ctx, spec, frame, fn)
    else:
        result = _call(fn, spec, frame, outcome)
    return with_exclusions(result, selection.exclusions)


def _impute_columns(spec: AnalysisSpec, frame: pd.DataFrame, followup: int | None) -> list[str]:
    given = spec.options.get("impute")
    if given:
        return [str(c) for c in given]
    parsed = {c: parse_measure_column(c) for c in frame.columns}
    months = sorted({p[1] for p in parsed.values() if p is not None})
    fu = followup if followup is not None else next((m for m in months if m > 0), None)
    cols = [c for c, p in parsed.items() if p is not None and p[1] in (0, fu) and p[0] != "bmi"]
    extra = [c for c in (*spec.covariates, "diabetes", "age", "site") if c in frame.columns]
    return list(dict.fromkeys([*cols, *extra]))


def _run_mi(
    ctx: PlanContext, spec: AnalysisSpec, frame: pd.DataFrame, fn: Callable[..., ComparisonResult]
) -> ComparisonResult:
    """Impute the raw measurements, re-derive the endpoint per completed data set, pool."""
    from coachstats.compare.missing import multiple_imputation

    derived_cols = set(frame.columns) - set(
        ctx.base(spec.table, spec.followup, spec_columns(spec)).columns
    )
    raw = frame.drop(columns=sorted(derived_cols))
    columns = _impute_columns(spec, raw, spec.followup)
    goals = ctx.goals

    def analysis(completed: pd.DataFrame) -> ComparisonResult:
        d = completed
        if spec.outcome not in completed.columns:
            if goals is None:
                raise OptionError("multiple imputation of a derived endpoint needs a goal set")
            d = derive_endpoints(completed, goals, followup=spec.followup)
        d, outcome = with_change(d, spec)
        return _call(fn, spec, d, outcome)

    return multiple_imputation(
        raw,
        analysis,
        columns=columns,
        arm=spec.arm,
        m=int(spec.options.get("m", 20)),
        seed=spec.options.get("seed", DEFAULT_MI_SEED),
        maxit=int(spec.options.get("maxit", 10)),
    )


def _flow(ctx: PlanContext, data: Any) -> tuple[Flow | None, pd.DataFrame | None]:
    """The CONSORT flow of a TrialData run and the endpoint table it was counted from.

    The endpoints are the ones the run derived (at the data's follow-up month),
    so nothing is derived twice.
    """
    if not isinstance(data, TrialData) or ctx.goals is None:
        return None, None
    try:
        derived = ctx.derived(ctx.base("patients"), data.followup, "exclude")
    except (OptionError, ColumnNotFoundError):  # no measurements to derive: no flow
        return None, None
    return data.flow_from(derived), derived


def run_plan(
    data: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    errors: Errors = "raise",
) -> PlanResult:
    """Derive endpoints and run every comparison of ``plan`` on ``data``.

    Parameters
    ----------
    data : DataFrame, TrialData or mapping of tables
        The patient table (one row per randomized patient, schema columns), a
        :class:`~coachstats.data.trialdata.TrialData` (its medication and
        adherent-days tables feed the adherence endpoints), or a mapping with
        ``"patients"``, ``"medications"``, ``"adherent_days"`` and
        ``"visit_ratings"`` (clinician post-visit ratings) tables.
    plan : AnalysisPlan or sequence of AnalysisSpec
        What to run.
    goals : GoalSet or str, optional
        Goal set for the endpoints; default the plan's.
    errors : {"raise", "record"}
        Raise the first error, or record it (any exception, with its type) per
        spec in :attr:`PlanResult.errors` and go on.

    Returns
    -------
    PlanResult
        Results aligned with the specs, with the plan, goal set, flow (for a
        TrialData) and data source they came from; ``.to_frame()`` is the tidy table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 3,
    ...                    "hba1c_0": [9.0, 9.5, 10.0, 8.8, 9.9, 9.4],
    ...                    "hba1c_6": [7.9, 9.4, 8.6, 9.0, 8.8, 9.3]})
    >>> plan = AnalysisPlan([AnalysisSpec("change_hba1c", "t_test")], goals="peer")
    >>> result = run_plan(df, plan)
    >>> round(result[0].estimate, 4), result.goals.name
    (-1.2, 'peer')
    """
    check_option("errors", errors, get_args(Errors))
    the_plan = AnalysisPlan.of(plan, get_goal_set(goals))
    ctx = PlanContext(data, the_plan.goals)
    outcomes: list[ComparisonResult | BaseException] = []
    for spec in the_plan:
        try:
            outcomes.append(_run(ctx, spec))
        except Exception as exc:  # record mode reports any failure of one spec
            if errors == "raise":
                raise
            patients = ctx.tables.get("patients")
            state = (  # a measure with no follow-up (or no values) is a state, not a failure
                endpoint_state(patients, spec.outcome, followup=spec.followup)
                if isinstance(patients, pd.DataFrame)
                else None
            )
            outcomes.append(NotAnalysableError(state) if state else exc)
    source = data.data_source if isinstance(data, TrialData) else None
    flow, endpoints = _flow(ctx, data)
    return PlanResult.collect(the_plan, outcomes, flow=flow, source=source, endpoints=endpoints)


def compare_endpoints(
    data: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    """Run a list of analyses and return one tidy DataFrame (one row per comparison).

    A convenience over :func:`run_plan` for notebooks: endpoints are derived
    with ``goals`` and each :class:`AnalysisSpec` becomes one row with the
    columns of :meth:`coachstats.core.results.ComparisonResult.to_frame`.

    Examples
    --------
    >>> from coachstats.tasks.reproduce import load_bundled
    >>> patients = load_bundled("hcpc")["patients"]
    >>> table = compare_endpoints(patients, [AnalysisSpec("composite_any", "chi_square"),
    ...                                      AnalysisSpec("composite_all", "chi_square")], goals="hcpc")
    >>> table[["outcome", "n1", "events1", "n2", "events2"]].to_string(index=False)
    '      outcome  n1  events1  n2  events2\\ncomposite_any 194       90 178       61\\ncomposite_all 194       66 178       44'
    """
    return run_plan(data, plan, goals=goals, errors=errors).to_frame()

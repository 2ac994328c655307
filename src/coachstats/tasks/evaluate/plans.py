"""Analysis plans for a program's data: the program's own outcomes and each benchmark's spec.

:func:`program_plan` is the plan of ``coachstats analyze`` (the outcomes of a
goal set, without published comparisons). :func:`benchmark_spec` turns a
published benchmark's analysis spec (:mod:`coachstats.trials`) into the spec
run on a program: the trial's entry population (:data:`POPULATIONS`), the
program's follow-up month, the describe-only spec of a single-arm program and
an unclustered test when the program lacks the trial's cluster column.

Examples
--------
>>> [s.outcome for s in program_plan("peer")][:2]
['change_hba1c', 'hba1c_drop_ge1']
>>> population_query("peer", eligible_only=True)
'hba1c_0 >= 8.0'
>>> population_text("peer", eligible_only=True)
'patients with baseline HbA1c ≥ 8.0 (the peer trial enrolled patients with HbA1c >= 8.0 %)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Literal

import pandas as pd

from coachstats.core.errors import OptionError
from coachstats.core.formatting import in_sentence
from coachstats.core.goals import GoalSet, get_goal_set
from coachstats.core.vocabulary import (
    CORE_MEASURES,
    GOAL_MEASURES,
    MEASURE_CONDITIONS,
    OUTCOME_LABELS,
    condition_words,
    measure_months,
    parse_measure_column,
)
from coachstats.data.trialdata import TrialData
from coachstats.derive.endpoints import endpoint_specs
from coachstats.plan import AnalysisPlan, AnalysisSpec
from coachstats.tasks.evaluate.published import Benchmark, Kind
from coachstats.trials.registry import Trial

__all__ = [
    "OUTCOME_TEXT",
    "POPULATIONS",
    "adapt_spec",
    "benchmark_spec",
    "followup_for",
    "plan_outcomes",
    "population_query",
    "population_text",
    "program_plan",
]

#: Program patients entering a trial's comparisons: (query, reason).
POPULATIONS: Mapping[str, tuple[str, str]] = {
    "peer": ("hba1c_0 >= 8.0", "the peer trial enrolled patients with HbA1c >= 8.0 %"),
}


def _outcome_text() -> dict[str, str]:
    """:data:`~coachstats.core.vocabulary.OUTCOME_LABELS` as they read inside a sentence."""
    return {k: in_sentence(v) for k, v in OUTCOME_LABELS.items()}


#: Plain-language labels of the program outcomes of :func:`program_plan`: the vocabulary's
#: labels (:data:`~coachstats.core.vocabulary.OUTCOME_LABELS`) as they read in a sentence.
OUTCOME_TEXT: Mapping[str, str] = _outcome_text()


def followup_for(columns: pd.Index | list[str], months: int) -> tuple[int | None, list[str]]:
    """The program's follow-up month for a trial followed for ``months``, and a note if it differs.

    The trial's month when the program has measurements then; otherwise the
    program's earliest follow-up month (None when it has none), with a note
    saying so.

    Examples
    --------
    >>> followup_for(["hba1c_0", "hba1c_6", "hba1c_12"], 12)
    (12, [])
    >>> followup_for(["hba1c_0", "hba1c_6"], 12)
    (6, ["the trial's follow-up is month 12; the program's data has month(s) [6], month 6 is used"])
    """
    available = sorted({m for ms in measure_months(columns).values() for m in ms if m > 0})
    if months in available:
        return months, []
    fu = available[0] if available else None
    note = (
        f"the trial's follow-up is month {months}; the program's data has month(s) "
        f"{available or 'none'}, month {fu} is used"
    )
    return fu, [note]


def population_query(trial: str, eligible_only: bool) -> str | None:
    """The query selecting the program's patients who meet ``trial``'s entry criterion.

    None when ``eligible_only`` is False or the trial has no criterion to apply
    (:data:`POPULATIONS`).

    Examples
    --------
    >>> population_query("peer", True), population_query("peer", False), population_query("hcpc", True)
    ('hba1c_0 >= 8.0', None, None)
    """
    return POPULATIONS.get(trial, (None, ""))[0] if eligible_only else None


def population_text(trial: str, eligible_only: bool) -> str:
    """The program's patients compared with ``trial``, in words, with the reason; empty when
    every patient is (:func:`population_query`).

    Said wherever a figure on those patients is printed: the program's own effect, its
    verdict, its cost per additional patient and the notes.

    Examples
    --------
    >>> population_text("peer", True)
    'patients with baseline HbA1c ≥ 8.0 (the peer trial enrolled patients with HbA1c >= 8.0 %)'
    >>> population_text("peer", False), population_text("hcpc", True)
    ('', '')
    """
    query = population_query(trial, eligible_only)
    if query is None:
        return ""
    return f"patients {condition_words(query)} ({POPULATIONS[trial][1]})"


def adapt_spec(
    spec: AnalysisSpec,
    trial: str,
    followup: int | None,
    *,
    eligible_only: bool = True,
    **changes: Any,
) -> AnalysisSpec:
    """A trial's analysis spec as it is run on a program's data.

    ``changes`` (e.g. ``label=``, ``by=``) are applied first; then the trial's
    entry population (:func:`population_query`) is added to the spec's subset,
    the measurement columns of ``complete_on`` move to the program's follow-up
    month and ``followup`` is set.

    Examples
    --------
    >>> spec = AnalysisSpec("change_hba1c", "t_test", complete_on=("hba1c_12",), subset="age < 75")
    >>> s = adapt_spec(spec, "peer", 6, label="HbA1c")
    >>> s.label, s.subset, s.complete_on, s.followup
    ('HbA1c', '(hba1c_0 >= 8.0) and (age < 75)', ('hba1c_6',), 6)
    """
    spec = replace(spec, **changes) if changes else spec
    return replace(
        spec,
        subset=_combine(population_query(trial, eligible_only), spec.subset),
        followup=followup,
        complete_on=tuple(_remonth(c, followup) for c in spec.complete_on),
    )


def _combine(*queries: str | None) -> str | None:
    parts = [q for q in queries if q]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " and ".join(f"({q})" for q in parts)


def _remonth(column: str, followup: int | None) -> str:
    parsed = parse_measure_column(column)
    if parsed is not None and followup is not None and parsed[1] > 0:
        return f"{parsed[0]}_{followup}"
    return column


def _single_arm_spec(spec: AnalysisSpec, kind: Kind) -> AnalysisSpec:
    return AnalysisSpec(
        spec.outcome,
        "describe",
        label=spec.label,
        options={"stat": "proportion" if kind == "binary" else "mean"},
        by=None,
        subset=spec.subset,
        followup=spec.followup,
        complete_on=spec.complete_on,
        change_from=spec.change_from,
    )


def _fallback_cluster(
    spec: AnalysisSpec, kind: Kind, patients: pd.DataFrame
) -> tuple[AnalysisSpec, str]:
    c = spec.cluster
    if not c or (c in patients.columns and patients[c].nunique(dropna=True) >= 2):
        return spec, ""
    method: Literal["chi_square", "t_test"] = "chi_square" if kind == "binary" else "t_test"
    options = {"correct": False} if kind == "binary" else {}
    why = "has no column" if c not in patients.columns else "has one value in column"
    new = replace(spec, method=method, cluster=None, options=options, covariates=())
    return new, (
        f"{spec.label}: the published {spec.method.replace('_', ' ')} model is clustered by {c!r}; "
        f"the program {why} {c!r}, so it is analysed with "
        f"{'the chi-square test' if kind == 'binary' else 'Welch t test'} instead"
    )


def benchmark_spec(
    b: Benchmark,
    trial: Trial,
    td: TrialData,
    single_arm: bool,
    followup: int | None,
    eligible_only: bool = True,
) -> tuple[AnalysisSpec, list[str]]:
    """The analysis spec of benchmark ``b`` of ``trial`` run on a program, and notes on what was adapted.

    The published target's spec with the benchmark's changes (:attr:`Benchmark.spec`),
    adapted with :func:`adapt_spec`. A single-arm program gets the
    ``describe`` spec of the outcome (its proportion or mean); a two-arm
    program whose data lack the trial's cluster column (or have one value in
    it) gets the unclustered test. A composite whose measures the program
    lacks is noted as narrower.

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> from coachstats.tasks.evaluate.published import BENCHMARKS
    >>> from coachstats.trials.registry import get_trial
    >>> td = hcpc_cohort(n=200, seed=1)
    >>> spec, notes = benchmark_spec(BENCHMARKS[0], get_trial("hcpc"), td, False, 12)
    >>> spec.label, spec.method, notes
    ('hcpc:composite_any', 'chi_square', [])
    """
    if b.trial != trial.name:
        raise OptionError(f"benchmark {b.trial}:{b.target} is not a benchmark of {trial.name!r}")
    target = trial.target(b.target)
    changes = dict(b.spec)
    if "options" in changes:
        changes["options"] = dict(changes["options"])
    spec = adapt_spec(
        target.analysis,
        b.trial,
        followup,
        eligible_only=eligible_only,
        **changes,
        label=f"{b.trial}:{b.target}",
    )
    notes: list[str] = []
    goals = trial.goals
    if spec.outcome.startswith("composite_") and goals is not None and followup is not None:
        absent = [
            m
            for m in goals.measures
            if f"{m}_0" not in td.patients.columns or f"{m}_{followup}" not in td.patients.columns
        ]
        if absent:
            notes.append(
                f"the published composite covers {', '.join(goals.measures)}; the program has no "
                f"{', '.join(absent)} at baseline and month {followup}, so its composite is narrower"
            )
    if single_arm:
        return _single_arm_spec(spec, b.kind), notes
    spec, note = _fallback_cluster(spec, b.kind, td.patients)
    if note:
        notes.append(note)
    return spec, notes


def plan_outcomes(goals: GoalSet, measures: Iterable[str] = ()) -> tuple[str, ...]:
    """The outcomes :func:`program_plan` analyses with a goal set, read from the goal set itself.

    The goal set's own list (:attr:`~coachstats.core.goals.GoalSet.outcomes`:
    the peer goals carry the peer trial's outcomes) when it has one;
    otherwise, from its measures: at goal for >= 1 / all conditions (with two
    or more conditions; with one they equal its at-goal endpoint), at goal per
    measure, and the change of every core measure
    (:data:`~coachstats.core.vocabulary.CORE_MEASURES`) and of each optional
    one (diastolic blood pressure) that the goal set has a goal for or that
    is among ``measures`` (the measures of the data). Nothing depends on the
    goal set's name, so a renamed copy keeps its outcomes.

    Raises
    ------
    OptionError
        An outcome of the goal set that is not one of its endpoints
        (:func:`coachstats.derive.endpoints.endpoint_specs`).

    Examples
    --------
    >>> import dataclasses
    >>> from coachstats.core.goals import HCPC_GOALS, PEER_GOALS
    >>> plan_outcomes(HCPC_GOALS)[:3]
    ('composite_any', 'composite_all', 'at_goal_hba1c')
    >>> plan_outcomes(dataclasses.replace(PEER_GOALS, name="my_peer")) == plan_outcomes(PEER_GOALS)
    True
    >>> strict = GoalSet.from_dict({"name": "strict", "thresholds": {"hba1c": {"uncontrolled_above": 7.0}}})
    >>> plan_outcomes(strict)
    ('at_goal_hba1c', 'change_hba1c', 'change_sbp', 'change_ldl')
    >>> plan_outcomes(strict, measures=["hba1c", "sbp", "dbp"])
    ('at_goal_hba1c', 'change_hba1c', 'change_sbp', 'change_dbp', 'change_ldl')
    """
    if goals.outcomes:
        allowed = [e.name for e in endpoint_specs(goals, list(GOAL_MEASURES))]
        unknown = [o for o in goals.outcomes if o not in allowed]
        if unknown:
            raise OptionError(
                f"goal set {goals.name!r}: outcome(s) {unknown} are not endpoints of its "
                f"measures {list(goals.measures)}; set its outcomes to names among {allowed}"
            )
        return goals.outcomes
    conditions = {MEASURE_CONDITIONS[m] for m in goals.measures}
    composites = ("composite_any", "composite_all") if len(conditions) > 1 else ()
    present = set(measures) | set(goals.measures)
    changed = [m for m in GOAL_MEASURES if m in CORE_MEASURES or m in present]
    return (
        *composites,
        *(f"at_goal_{m}" for m in goals.measures),
        *(f"change_{m}" for m in changed),
    )


def _outcome_label(outcome: str, goals: GoalSet) -> str:
    """:data:`OUTCOME_TEXT`, with the goal set's own HbA1c drop and target."""
    if outcome == "hba1c_drop_ge1":
        drop = goals.hba1c_drop
        return f"HbA1c drop >= {drop:g} point{'' if drop == 1 else 's'}"
    if outcome == "hba1c_lt_7_5":
        return f"HbA1c < {goals.hba1c_target:g} %"
    return OUTCOME_TEXT.get(outcome, outcome)


def program_plan(
    goals: GoalSet | str = "hcpc",
    *,
    single_arm: bool = False,
    measures: Iterable[str] = (),
    exact: bool = False,
) -> AnalysisPlan:
    """The outcomes ``coachstats analyze`` reports for a program, as an analysis plan.

    The outcomes are the goal set's (:func:`plan_outcomes`; ``measures``, the
    measures of the program's data, add the change of an optional measure
    such as diastolic blood pressure when the data has it). HCPC goals: at
    goal for >= 1 / all conditions and per condition, and the change of each
    measure. Peer goals: HbA1c change, drop >= 1 point, HbA1c < 7.5 %, LDL
    and SBP changes. Goal endpoints are compared with Pearson's chi-square
    without correction (as published), or with Fisher's exact test when
    ``exact`` (small programs: an expected count below 5 makes the chi-square
    P unreliable, and the chi-square test warns so), changes with Welch's t test.
    Single-arm programs get the per-outcome proportion or mean
    (``describe``) instead of a test. A name is looked up with
    :func:`~coachstats.core.goals.get_goal_set`; a GoalSet is used as is.

    Examples
    --------
    >>> [s.outcome for s in program_plan("peer")]
    ['change_hba1c', 'hba1c_drop_ge1', 'hba1c_lt_7_5', 'change_ldl', 'change_sbp']
    >>> program_plan("hcpc", single_arm=True).specs[0].method
    'describe'
    >>> program_plan("hcpc", exact=True).specs[0].method
    'fisher'
    """
    gs = get_goal_set(goals)
    if gs is None:  # pragma: no cover - a name or GoalSet always resolves
        raise OptionError("program_plan needs a goal set")
    kinds = {e.name: e.kind for e in endpoint_specs(gs, list(GOAL_MEASURES))}
    specs = []
    for o in plan_outcomes(gs, measures):
        binary = kinds[o] == "binary"
        label = _outcome_label(o, gs)
        if single_arm:
            spec = AnalysisSpec(
                o,
                "describe",
                label=label,
                by=None,
                options={"stat": "proportion" if binary else "mean"},
            )
        elif binary and exact:
            # the risk difference as published, with the small-sample (Newcombe) interval
            spec = AnalysisSpec(
                o, "fisher", label=label, options={"estimand": "risk difference", "ci": "newcombe"}
            )
        elif binary:
            spec = AnalysisSpec(o, "chi_square", label=label, options={"correct": False})
        else:
            spec = AnalysisSpec(o, "t_test", label=label)
        specs.append(spec)
    return AnalysisPlan(specs, goals=gs, name=f"program ({gs.name} goals)")

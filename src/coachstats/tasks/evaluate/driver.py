"""The driver: :func:`evaluate` (a program against the published trials) and :func:`analyze`.

:func:`analyze` loads a program's file, runs the outcome plan of its goal set
(:func:`~coachstats.tasks.evaluate.plans.program_plan`) and the tracking
metrics, and returns a :class:`ProgramAnalysis`. :func:`evaluate` loads the
file, runs each trial's benchmarks on it
(:func:`~coachstats.tasks.evaluate.plans.benchmark_spec`), sets the results
next to the published figures (:mod:`coachstats.tasks.evaluate.comparisons`),
compares the case mix and standardizes (:mod:`coachstats.tasks.evaluate.casemix`),
and returns an :class:`EvaluationResult`. The method is described in
:mod:`coachstats.tasks.evaluate`.

Examples
--------
>>> from coachstats.synthetic import hcpc_cohort
>>> res = analyze(hcpc_cohort(n=300, seed=1).patients, tracking=False)
>>> res.design, res.plan.specs[0].outcome
('two-arm', 'composite_any')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd

from coachstats.core.errors import AnalysisError, CoachstatsError, OptionError, check_option
from coachstats.core.formatting import without_column_list
from coachstats.core.goals import GoalSet, get_goal_set
from coachstats.core.results import ARM_DISPLAY, ComparisonResult
from coachstats.core.vocabulary import measure_months
from coachstats.data.flow import Flow
from coachstats.data.programdata import ProgramDesign, load_program
from coachstats.data.trialdata import TrialData
from coachstats.plan import AnalysisPlan, AnalysisSpec, PlanResult, run_plan
from coachstats.present.journal import JournalTable
from coachstats.tasks.evaluate.against_evidence import (
    EVIDENCE,
    EvidenceComparison,
    check_design,
    evidence_comparisons,
    two_populations,
)
from coachstats.tasks.evaluate.arms import ArmComparison
from coachstats.tasks.evaluate.casemix import case_mix_with_notes, standardized_comparison
from coachstats.tasks.evaluate.comparisons import (
    arm_comparison,
    effect_comparisons,
    judge_rows,
    judge_standardized,
    one_sample_summary,
)
from coachstats.tasks.evaluate.impact import ProgramImpact, program_impact
from coachstats.tasks.evaluate.missingness import ProgramSensitivity, program_sensitivity
from coachstats.tasks.evaluate.plans import (
    benchmark_spec,
    followup_for,
    population_text,
    program_plan,
)
from coachstats.tasks.evaluate.published import (
    BENCHMARKS,
    SE_SOURCES,
    Kind,
    SESource,
    published_outcome,
    trial_name,
)
from coachstats.tasks.evaluate.regression import regression_estimate
from coachstats.tasks.evaluate.result import (
    EvaluationResult,
    extras_dict,
    extras_text,
    join_parts,
)
from coachstats.tasks.evaluate.rows import (
    ALPHA,
    CaseMixItem,
    EffectComparison,
    SentenceRow,
    StandardizedComparison,
)
from coachstats.tasks.evaluate.verdicts import ADJUSTMENTS, Adjustment, check_margins
from coachstats.tasks.evaluate.wording import CAVEAT
from coachstats.tasks.schemas import json_records, stamp
from coachstats.tasks.tracking import ProgramMetrics, program_metrics
from coachstats.trials.registry import Trial, get_trial

__all__ = [
    "AGAINST",
    "TRIALS",
    "Against",
    "EvaluationResult",
    "ProgramAnalysis",
    "Progress",
    "against_list",
    "analyze",
    "evaluate",
]

Against = Literal["hcpc", "peer", "all", "evidence"]
#: What an evaluation can be run against: a published trial, ``"all"`` of them
#: (:data:`TRIALS`), or ``"evidence"``, the pooled evidence base
#: (:mod:`coachstats.tasks.evaluate.against_evidence`).
AGAINST: tuple[str, ...] = get_args(Against)
Progress = Callable[[str], None]

#: Trials an evaluation can be run against, in order (``"all"``).
TRIALS: tuple[str, ...] = ("hcpc", "peer")


def against_list(against: str | Sequence[str]) -> tuple[str, ...]:
    """The trials and the evidence base an evaluation runs against, in order, each once.

    ``"all"`` is every published trial (:data:`TRIALS`); the evidence base is
    added only when named.

    Examples
    --------
    >>> against_list("all"), against_list(["evidence", "hcpc", "hcpc"])
    (('hcpc', 'peer'), ('evidence', 'hcpc'))
    >>> against_list(["all", "evidence"])
    ('hcpc', 'peer', 'evidence')
    """
    items = [against] if isinstance(against, str) else list(against)
    if not items:
        raise OptionError(f"against names nothing; choose among {', '.join(AGAINST)}")
    out: list[str] = []
    for item in items:
        check_option("against", item, AGAINST)
        out += list(TRIALS) if item == "all" else [item]
    return tuple(dict.fromkeys(out))


#: What every figure of a single-arm analysis is (said under its outcome table and in its JSON).
SINGLE_ARM_NOTE = (
    "Single-arm program: each figure is among the coached patients only, "
    f"{CAVEAT}; patients enrolled for being uncontrolled improve on average even without "
    "coaching (coachstats evaluate estimates how much for HbA1c)."
)


@dataclass(frozen=True, repr=False)
class ProgramAnalysis(SentenceRow):
    """The outcomes of a program (``coachstats analyze``), without published comparisons.

    ``goals`` is the goal set used, as given or resolved once from its name
    (its outcomes, endpoints, flow and tracking metrics); ``plan`` the
    :class:`~coachstats.plan.PlanResult` of :func:`program_plan`; for
    single-arm programs ``summaries`` hold each outcome's proportion (Wilson
    interval) or mean (t interval). Two-arm programs get ``impact``, the
    number needed to coach and the cost per additional patient at goal
    (:mod:`coachstats.tasks.evaluate.impact`), and with ``sensitivity=True``
    the tipping points of the binary outcomes
    (:mod:`coachstats.tasks.evaluate.missingness`).
    """

    source: str
    design: str
    goals: GoalSet
    followup: int | None
    plan: PlanResult
    summaries: tuple[ComparisonResult | None, ...]
    flow: Flow
    tracking: ProgramMetrics | None = None
    notes: tuple[str, ...] = ()
    data: TrialData | None = field(default=None, compare=False, repr=False)
    impact: ProgramImpact | None = None
    sensitivity: ProgramSensitivity | None = None

    def to_frame(self) -> pd.DataFrame:
        """The tidy outcome table (one row per outcome)."""
        if self.design == "two-arm":
            return self.plan.to_frame()
        rows = []
        for spec, s, err in zip(self.plan.specs, self.summaries, self.plan.errors, strict=True):
            row = s.to_dict() if s is not None else {"outcome": spec.outcome}
            rows.append({"label": spec.label, **row, "error": err or ""})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (schema ``analyze.schema.json``): outcomes, brief text, flow, tracking, notes."""
        return stamp(
            "analyze",
            {
                "source": self.source,
                "design": self.design,
                "goals": self.goals.name,
                "followup": self.followup,
                "outcomes": json_records(self.to_frame()),
                "brief": self.to_brief(),
                "flow": self.flow.to_dict(),
                "flow_text": self.flow.summary(),
                "tracking": json_records(self.tracking.to_frame()) if self.tracking else [],
                **extras_dict(self.impact, self.sensitivity),
                "notes": [SINGLE_ARM_NOTE, *self.notes]
                if self.design == "single-arm"
                else list(self.notes),
            },
        )

    def to_brief(self) -> str:
        """The practice brief's presentation of every outcome."""
        blocks = []
        for spec, r, s in zip(self.plan.specs, self.plan.results, self.summaries, strict=True):
            if self.design == "two-arm" and r is not None:
                blocks.append(r.to_brief(_sentence_case(spec.label)))
            elif s is not None:
                a = s.arms[0]
                if a.events is not None:
                    val = f"{100 * s.estimate:.1f}% (95% CI {100 * s.conf_low:.1f}-{100 * s.conf_high:.1f}%)"
                else:
                    val = f"{s.estimate:.2f} (95% CI {s.conf_low:.2f} to {s.conf_high:.2f})"
                blocks.append(
                    f"{_sentence_case(spec.label)}:\n  {ARM_DISPLAY['coaching']}: {val}, n = {a.n}"
                )
        return "\n\n".join(blocks)

    def sentence(self) -> str:
        """Header line."""
        return f"{self.source}: {self.design} program, {self.goals.name} goals, follow-up month {self.followup}"

    def outcome_table(self) -> JournalTable:
        """The outcome table as a journal sets it: the arms' n and values, the difference with
        its CI and P (two-arm), or each outcome's proportion or mean with its CI (single-arm);
        each row's method as a footnote. Outcomes that could not be computed are left out
        (:meth:`failures` lists them).

        Print it with ``.to_text()``, write it to Word with ``.to_docx(path)``.

        Raises
        ------
        AnalysisError
            No outcome was computed.
        """
        from coachstats.present.tables import journal_table, single_group_table

        if self.design == "two-arm":
            pairs = [(s, r) for s, r in zip(self.plan.specs, self.plan.results, strict=True)]
        else:
            pairs = [(s, r) for s, r in zip(self.plan.specs, self.summaries, strict=True)]
        done = [(_sentence_case(s.label), r) for s, r in pairs if r is not None]
        if not done:
            raise AnalysisError(f"{self.source}: no outcome could be computed")
        labels = [label for label, _ in done]
        results = [r for _, r in done]
        caption = f"Outcomes at month {self.followup}" if self.followup else "Outcomes"
        if self.design == "two-arm":
            return journal_table(results, labels=labels, caption=caption)
        return single_group_table(results, labels=labels, caption=caption)

    def failures(self) -> list[tuple[str, str]]:
        """The outcomes that could not be computed: (label, error)."""
        results = self.plan.results if self.design == "two-arm" else self.summaries
        return [
            (_sentence_case(spec.label), without_column_list(err or "not computed"))
            for spec, r, err in zip(self.plan.specs, results, self.plan.errors, strict=True)
            if r is None
        ]

    def summary(self) -> str:
        """Header, outcome table, brief text, flow, tracking and notes."""
        try:
            table = self.outcome_table().to_text()
        except AnalysisError as exc:
            table = str(exc)
        failed = self.failures()
        if failed:
            table += "\n\nNot computed:\n" + "\n".join(f"  {lab}: {err}" for lab, err in failed)
        if self.design == "single-arm":  # said where the figures are, not only in evaluate
            table += f"\n{SINGLE_ARM_NOTE}"
        parts = [
            self.sentence(),
            table,
            "As the practice brief presents them:",
            self.to_brief(),
            *extras_text(self.impact, self.sensitivity),
            self.flow.summary(),
        ]
        # the flow text already ends with the load notes: print each note once
        shown = {line.removeprefix("note: ") for line in self.flow.summary().splitlines()}
        return join_parts(parts, self.tracking, tuple(n for n in self.notes if n not in shown))

    def report_data(self) -> dict[str, Any]:
        """What an HTML report needs (tables as DataFrames, texts)."""
        return {
            "title": f"Program outcomes: {self.source}",
            "design": self.design,
            "tables": {
                "outcomes": self.to_frame(),
                "tracking": self.tracking.to_frame() if self.tracking else None,
                "impact": self.impact.to_frame() if self.impact else None,
                "sensitivity": self.sensitivity.to_frame() if self.sensitivity else None,
            },
            "brief": self.to_brief(),
            "flow": self.flow.summary(),
            "notes": list(self.notes),
        }


def _binary_outcomes(plan: AnalysisPlan) -> list[tuple[str, str]]:
    """``(endpoint, label)`` of the plan's two-arm binary outcomes (chi-square specs)."""
    return [(s.outcome, s.label or s.outcome) for s in plan.specs if s.method == "chi_square"]


def _sentence_case(label: str) -> str:
    """``label`` with a capital first letter (the plan's labels are written for a sentence)."""
    return label[:1].upper() + label[1:]


def _step(progress: Progress | None, text: str) -> None:
    if progress is not None:
        progress(text)


def analyze(
    data: str | Path | pd.DataFrame | TrialData,
    *,
    goals: GoalSet | str = "hcpc",
    design: ProgramDesign = "auto",
    conf_level: float = 0.95,
    tracking: bool = True,
    sensitivity: bool = False,
    exact: bool = False,
    fte: float | Mapping[Any, float] | None = None,
    cost: Mapping[str, float] | None = None,
    progress: Progress | None = None,
    **load: Any,
) -> ProgramAnalysis:
    """Run the program outcome plan (:func:`program_plan`) on a program's data.

    Parameters
    ----------
    data : path, DataFrame or TrialData
        The program's patients (loaded with :func:`load_program`; ``load``
        keywords such as ``columns=``, ``units=``, ``sheet=``, ``on_invalid=`` go to it).
    goals : GoalSet or str
        A GoalSet (used as is: a custom or renamed one keeps its outcomes), or
        ``"hcpc"`` / ``"peer"``, looked up once here.
    design : {"auto", "two-arm", "single-arm"}
        See :func:`load_program`.
    conf_level : float
        Confidence level of the single-arm intervals.
    tracking : bool
        Also compute the tracking metrics (:func:`coachstats.tasks.tracking.program_metrics`).
    sensitivity : bool
        Also compute the tipping points of the binary outcomes (two-arm programs;
        :func:`~coachstats.tasks.evaluate.missingness.program_sensitivity`).
    exact : bool
        Compare the goal endpoints with Fisher's exact test instead of Pearson's
        chi-square (for small programs; see :func:`program_plan`).
    fte : float or mapping, optional
        Coaches' full-time equivalents for the caseload (one for all, or by coach).
    cost : mapping, optional
        The program's cost inputs (``wage``, ``overhead``, ``caseload``) for the
        cost per additional patient at goal
        (:func:`~coachstats.tasks.evaluate.impact.program_impact`); the rest is assumed.
    progress : callable, optional
        Called with a short text at each step (the CLI's progress bar).

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = analyze(hcpc_cohort().patients)
    >>> res.to_frame().set_index("label").loc["at goal for >= 1 condition", ["events1", "n1"]].astype(int).tolist()
    [90, 194]
    """
    gs = get_goal_set(goals)
    if gs is None:  # pragma: no cover - a name or GoalSet always resolves
        raise OptionError("goals must be 'hcpc', 'peer' or a GoalSet")
    _step(progress, "loading and validating")
    td = load_program(data, design=design, **load)
    program_design = _design_of(td)
    _step(progress, "deriving endpoints and comparing")
    plan = program_plan(
        gs,
        single_arm=program_design == "single-arm",
        measures=measure_months(td.patients.columns),  # optional measures the data has (dbp)
        exact=exact,
    )
    res = run_plan(td, plan, errors="record")
    summaries: list[ComparisonResult | None] = []
    for spec, r in zip(plan.specs, res.results, strict=True):
        if program_design == "single-arm" and r is not None:
            kind: Kind = "binary" if spec.options.get("stat") == "proportion" else "continuous"
            try:
                summaries.append(one_sample_summary(r, kind, conf_level, spec.label))
            except AnalysisError:
                summaries.append(None)
        else:
            summaries.append(None)
    metrics = None
    notes = list(td.notes)
    if tracking:
        _step(progress, "tracking metrics")
        try:
            metrics = program_metrics(td, goals=gs, endpoints=res.endpoints, fte=fte)
        except CoachstatsError as exc:
            notes.append(f"tracking metrics not computed: {exc}")
    impact = missing = None
    if program_design == "two-arm":
        labelled = [(s.label or s.outcome, r) for s, r in zip(plan.specs, res.results, strict=True)]
        impact = program_impact(labelled, patients=td.patients, cost=cost, months=td.followup or 12)
        if sensitivity:
            _step(progress, "tipping points")
            missing = program_sensitivity(td, gs, _binary_outcomes(plan), derived=res.endpoints)
    elif sensitivity:
        notes.append("sensitivity to missing outcomes: needs two arms (a comparison to tip)")
    return ProgramAnalysis(
        source=td.source,
        design=program_design,
        goals=gs,
        followup=td.followup,
        plan=res,
        summaries=tuple(summaries),
        flow=res.flow or td.flow,  # counted by run_plan from the endpoints it derived
        tracking=metrics,
        notes=tuple(notes),
        data=td,
        impact=impact,
        sensitivity=missing,
    )


def _design_of(td: TrialData) -> str:
    return "two-arm" if td.patients["arm"].nunique(dropna=True) == 2 else "single-arm"


def evaluate(
    data: str | Path | pd.DataFrame | TrialData,
    *,
    against: Against | Sequence[str] = "all",
    design: ProgramDesign = "auto",
    published_se: SESource = "auto",
    alpha: float = ALPHA,
    adjust: Adjustment = "holm",
    margins: Mapping[str, float] | None = None,
    conf_level: float = 0.95,
    standardize: bool = True,
    tracking: bool = True,
    eligible_only: bool = True,
    encounters: pd.DataFrame | None = None,
    fte: float | Mapping[Any, float] | None = None,
    cost: Mapping[str, float] | None = None,
    sensitivity: bool = False,
    progress: Progress | None = None,
    **load: Any,
) -> EvaluationResult:
    """Evaluate a program's patient data against the published trials.

    Parameters
    ----------
    data : path, DataFrame or TrialData
        The program's patients (loaded with :func:`load_program`; ``load``
        keywords such as ``columns=``, ``units=``, ``levels=``, ``sheet=``,
        ``on_invalid=`` go to it).
    against : {"hcpc", "peer", "all", "evidence"} or sequence of them
        The published trials (``"all"``: both), and ``"evidence"``: the pooled
        evidence base, against which a two-arm program's effects are placed
        (:mod:`~coachstats.tasks.evaluate.against_evidence`; a single-arm program
        is refused with :class:`~coachstats.core.errors.DesignError`).
    design : {"auto", "two-arm", "single-arm"}
        Force the design (default: from the arm column).
    published_se : {"auto", "counts", "p_value"}
        Source of the published SE (module docstring).
    alpha : float
        Significance level of the verdicts.
    adjust : {"holm", "bonferroni", "none"}
        Multiplicity adjustment of the verdicts across the evaluation's primary
        comparisons (:mod:`coachstats.tasks.evaluate.verdicts`).
    margins : mapping, optional
        Equivalence margins of ``similar`` by endpoint (``{"composite_any": 0.08,
        "change_hba1c": 0.4}``: proportions for shares, the unit for changes);
        the others keep their default (:func:`~coachstats.tasks.evaluate.verdicts.default_margin`).
    conf_level : float
        Confidence level of every interval.
    standardize : bool
        Also compute the comparisons standardized to each trial's baseline.
    tracking : bool
        Also compute the practice brief's tracking metrics.
    eligible_only : bool
        Compare only the program's patients meeting the trial's entry
        criterion (peer: baseline HbA1c >= 8.0 %; :data:`POPULATIONS`).
    encounters : DataFrame, optional
        CPT encounter rows for the tracking metrics.
    fte : float or mapping, optional
        Coaches' full-time equivalents for the caseload.
    cost : mapping, optional
        The program's cost inputs (``wage``, ``overhead``, ``caseload``); see :func:`analyze`.
    sensitivity : bool
        Also compute the tipping points of the program's own binary outcomes
        (two-arm programs; :mod:`coachstats.tasks.evaluate.missingness`).
    progress : callable, optional
        Called with a short text at each step.

    Returns
    -------
    EvaluationResult

    Examples
    --------
    A single-arm program (only coached patients of an HCPC-like cohort):

    >>> from coachstats.synthetic import hcpc_cohort
    >>> from coachstats.synthetic.programs import single_arm_program
    >>> prog = single_arm_program(hcpc_cohort(n=1200, seed=2).patients)
    >>> res = evaluate(prog, against="hcpc", standardize=False, tracking=False, design="single-arm")
    >>> [(a.target, a.verdict) for a in res.arms][:2]
    [('composite_any', 'similar'), ('composite_all', 'similar')]
    """
    check_option("published_se", published_se, SE_SOURCES)
    check_option("adjust", adjust, ADJUSTMENTS)
    if not 0 < alpha < 0.5:
        raise OptionError(f"alpha={alpha!r} must be in (0, 0.5)")
    user_margins = check_margins(margins)
    chosen = against_list(against)
    trials = [t for t in chosen if t != EVIDENCE]
    registry = [get_trial(t) for t in trials]  # each trial, and its goal set, looked up once here
    # the program's own endpoints use the first trial's goals; against the evidence alone, HCPC's
    program_goals = _goals_of(registry[0] if registry else get_trial("hcpc"))
    if EVIDENCE in chosen and design == "single-arm":
        check_design(design)  # refused before the data are read
    _step(progress, "loading and validating")
    td = load_program(data, design=design, **load)
    program_design = _design_of(td)
    single = program_design == "single-arm"
    if EVIDENCE in chosen:
        check_design(program_design)
    notes: list[str] = list(td.notes)
    effects: list[EffectComparison] = []
    arms: list[ArmComparison] = []
    mix: list[CaseMixItem] = []
    std: list[StandardizedComparison] = []
    followups: dict[str, int] = {}
    for trial in registry:
        name, goals = trial.name, _goals_of(trial)
        benchmarks = [b for b in BENCHMARKS if b.trial == name]
        fu, fu_notes = followup_for(td.patients.columns, trial.design.months)
        followups[name] = fu or trial.design.months  # the month the program's effect is at
        notes += [f"{trial_name(name)}: {n}" for n in fu_notes]
        population = population_text(name, eligible_only)
        if population:
            notes.append(f"{trial_name(name)}: compared on the program's {population}")
        specs: list[AnalysisSpec] = []
        spec_notes: list[str] = []
        for b in benchmarks:
            spec, spec_note = benchmark_spec(b, trial, td, single, fu, eligible_only)
            specs.append(spec)
            spec_notes.append("; ".join(spec_note))
        _step(progress, f"running the {trial_name(name)} analysis plan")
        res = run_plan(
            td,
            AnalysisPlan(specs, goals=goals, name=f"{name} on the program"),
            errors="record",
        )
        for b, spec, r, err, sn in zip(
            benchmarks, specs, res.results, res.errors, spec_notes, strict=True
        ):
            if fu is not None and fu != trial.design.months:  # said in every sentence
                other = (
                    f"the published effect is at month {trial.design.months}, the program's at "
                    f"month {fu}"
                )
                b = replace(b, qualifier="; ".join(x for x in (b.qualifier, other) if x))
            po = published_outcome(b)
            if single:
                rtm = regression_estimate(po.outcome, spec, td.patients, goals)
                arm = arm_comparison(b, po, r, err, sn, conf_level, alpha, user_margins, rtm)
                arms.append(replace(arm, population=population))
            else:
                effects += [
                    replace(e, population=population)
                    for e in effect_comparisons(
                        b, po, r, err, sn, published_se, conf_level, alpha, user_margins
                    )
                ]
            if standardize:
                _step(progress, f"standardizing {b.label} to {trial_name(name)}")
                std.append(standardized_comparison(b, po, spec, td, trial, single, conf_level))
        _step(progress, f"case mix against {trial_name(name)}")
        try:
            items, mix_notes = case_mix_with_notes(td, trial, eligible_only=eligible_only)
            mix += items
            notes += [f"{trial_name(name)}: {n}" for n in mix_notes]
        except CoachstatsError as exc:
            notes.append(f"{trial_name(name)}: case mix not computed: {exc}")
    evidence: list[EvidenceComparison] = []
    if EVIDENCE in chosen:
        _step(progress, "placing the program against the evidence base")
        evidence = evidence_comparisons(
            td, program_goals, conf_level=conf_level, alpha=alpha, margins=user_margins
        )
        notes += two_populations(effects, evidence)
    metrics = None
    if tracking:
        _step(progress, "tracking metrics")
        try:
            metrics = program_metrics(
                td,
                goals=program_goals,
                encounters=encounters,
                fte=fte,
                endpoints=_kept_endpoints(td, program_goals),
            )
        except CoachstatsError as exc:
            notes.append(f"tracking metrics not computed: {exc}")
    impact = missing = None
    if not single:
        costed = [e for e in effects if e.primary and e.estimand == "risk difference"]
        impact = program_impact(
            [
                (
                    f"{e.label} (your program"
                    + (f", {e.population}" if e.population else "")
                    + f"; the outcome as {trial_name(e.trial)} defines it)",
                    e.program,
                )
                for e in costed
            ],
            patients=td.patients,
            cost=cost,
            months=[followups[e.trial] for e in costed],
        )
        if sensitivity:
            _step(progress, "tipping points")
            missing = program_sensitivity(
                td, program_goals, _binary_outcomes(program_plan(program_goals))
            )
    elif sensitivity:
        notes.append("sensitivity to missing outcomes: needs two arms (a comparison to tip)")
    counts = td.patients["arm"].value_counts().to_dict()
    # the trial comparisons and those with the evidence base are one family of comparisons
    family: list[EffectComparison | EvidenceComparison] = [*effects, *evidence]
    judged = judge_rows(family, adjustment=adjust, alpha=alpha)
    judged_effects = tuple(r for r in judged if isinstance(r, EffectComparison))
    judged_arms = tuple(judge_rows(arms, adjustment=adjust, alpha=alpha))
    return EvaluationResult(
        source=td.source,
        design=program_design,
        against=chosen,
        effects=judged_effects,
        arms=judged_arms,
        evidence=tuple(r for r in judged if isinstance(r, EvidenceComparison)),
        case_mix=tuple(mix),
        standardized=tuple(
            judge_standardized(std, [*judged_effects, *judged_arms], adjustment=adjust, alpha=alpha)
        ),
        tracking=metrics,
        n={str(k): int(v) for k, v in counts.items()},
        notes=tuple(dict.fromkeys(notes)),
        alpha=alpha,
        adjustment=adjust,
        margins=user_margins,
        impact=impact,
        sensitivity=missing,
        goals=program_goals,
    )


def _kept_endpoints(td: TrialData, goals: GoalSet) -> pd.DataFrame | None:
    """The endpoints of ``goals`` at the default follow-up, derived once (None: none derivable)."""
    try:
        return td.derived_endpoints(goals)
    except CoachstatsError:
        return None


def _goals_of(trial: Trial) -> GoalSet:
    if trial.goals is None:  # pragma: no cover - every trial an evaluation uses names its goals
        raise AnalysisError(f"trial {trial.name!r} has no goal set to derive its endpoints")
    return trial.goals

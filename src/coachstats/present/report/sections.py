"""Building a :class:`~coachstats.present.report.model.Report` from the results of a task.

One entry point per task: :func:`report_from_reproduction` (``coachstats reproduce
--report``), :func:`report_from_analysis` (``coachstats analyze --report``) and
:func:`report_from_evaluation` (``coachstats evaluate --report``) turn the task's result
into :class:`~coachstats.present.report.model.DataSection` s: the design rows, the CONSORT flow
and Table 1 of the data, the two-arm comparisons and their labels, the files with their SHA-256
and the seeds behind the numbers. :func:`report_from_evidence` (``coachstats evidence
--report``) has no patient-level data: its report holds the pooled evidence only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from coachstats.core.errors import CoachstatsError
from coachstats.core.formatting import join_words
from coachstats.core.goals import GoalSet, get_goal_set
from coachstats.core.results import ComparisonResult
from coachstats.core.vocabulary import GOAL_MEASURES, MEASURE_LABELS, arm_label
from coachstats.data.flow import Flow
from coachstats.data.io import file_sha256
from coachstats.plan import DEFAULT_MI_SEED, AnalysisSpec, PlanResult
from coachstats.present.report.methods import evaluation_methods
from coachstats.present.report.model import DataSection, ImageFormat, Report
from coachstats.present.table1 import BaselineTable, baseline_table

if TYPE_CHECKING:
    from coachstats.data.trialdata import TrialData
    from coachstats.tasks.evaluate import EvaluationResult
    from coachstats.tasks.evaluate.impact import ProgramImpact
    from coachstats.tasks.evaluate.missingness import ProgramSensitivity
    from coachstats.tasks.evidence import EvidenceSummary
    from coachstats.tasks.reproduce import ReproductionResult
    from coachstats.tasks.tracking import ProgramMetrics
    from coachstats.trials.registry import Trial

__all__ = [
    "BASELINE_VARIABLES",
    "report_from_analysis",
    "report_from_evaluation",
    "report_from_reproduction",
]

#: Baseline variables of Table 1 (those present in the data are shown, in this order).
BASELINE_VARIABLES: tuple[str, ...] = (
    "age",
    "sex",
    "language",
    "ethnicity",
    "marital_status",
    "work_status",
    "site",
    "diabetes",
    "hypertension",
    "hyperlipidemia",
    "insulin",
    "pcp_visits",
    "bmi_0",
    *(f"{m}_0" for m in GOAL_MEASURES),  # the baseline of each goal measure, dbp_0 included
)
_TWO_ARMS = ("coaching", "usual_care")
_PAIRED = ("mcnemar", "paired_t")


def _report_goal_set(goals: GoalSet | str | None, trials: Iterable[Trial]) -> GoalSet | None:
    """The goal set of a report's per-endpoint flow: ``goals`` (looked up by name with
    :func:`~coachstats.core.goals.get_goal_set`), else the first of ``trials`` that has one.

    The one place where a report finds its goal set. It looks the name up again and guesses from
    the trials; the results now carry the goal set they ran with (``PlanResult.goals``), and this
    is the function to change so that the report reads it from them (issue 16).
    """
    return get_goal_set(goals) or next((t.goals for t in trials if t.goals is not None), None)


def _two_arm(result: ComparisonResult | None, spec: AnalysisSpec) -> bool:
    """A comparison of coaching vs usual care (not a description, not paired months)."""
    if result is None or spec.method == "describe" or spec.method in _PAIRED:
        return False
    return tuple(a.arm for a in result.arms) == _TWO_ARMS


def _baseline(patients: pd.DataFrame, variables: Sequence[str] | None) -> BaselineTable:
    chosen = (
        list(variables)
        if variables is not None
        else [v for v in BASELINE_VARIABLES if v in patients.columns]
    )
    return baseline_table(patients, chosen)


def _flow_endpoint(flow: Flow | None, outcomes: Iterable[str]) -> str | None:
    """The endpoint drawn in the CONSORT figure: the first of ``outcomes`` the flow counts."""
    if flow is None or flow.endpoints.empty:
        return None
    have = set(flow.endpoints["endpoint"].astype(str))
    return next((o for o in outcomes if o in have), sorted(have)[0])


def _flow_and_baseline(
    td: TrialData,
    goals: GoalSet | None,
    baseline: Sequence[str] | None,
    notes: list[str],
    *,
    table: bool = True,
    counted: Flow | None = None,
) -> tuple[Flow, BaselineTable | None]:
    """The per-endpoint flow (``counted`` by the run, else counted under ``goals``) and Table 1
    of ``td`` (when ``table``); what fails goes to ``notes``."""
    flow = counted or td.flow
    table1: BaselineTable | None = None
    if counted is None and goals is not None:
        try:
            flow = td.flow_for(goals)
        except CoachstatsError as exc:
            notes.append(f"per-endpoint flow not available: {exc}")
    try:
        table1 = _baseline(td.patients, baseline) if table else None
    except CoachstatsError as exc:
        notes.append(f"baseline table not available: {exc}")
    return flow, table1


def _section_for_plan(
    name: str,
    td: TrialData | None,
    plan: PlanResult,
    *,
    goals: GoalSet | None,
    spec_labels: Mapping[str, str],
    keep: Iterable[str] | None = None,
    design: tuple[tuple[str, str], ...] = (),
    trials: tuple[Trial, ...] = (),
    baseline: Sequence[str] | None = None,
    files: tuple[tuple[str, str], ...] = (),
    extra_notes: tuple[str, ...] = (),
) -> DataSection:
    """Flow, Table 1 and the outcome results of one data set."""
    notes: list[str] = [*(td.notes if td is not None else ()), *extra_notes]
    wanted = set(keep) if keep is not None else None
    results, labels = [], []
    for spec, res in zip(plan.specs, plan.results, strict=True):
        if (wanted is None or spec.label in wanted) and _two_arm(res, spec) and res is not None:
            results.append(res)
            labels.append(_capital(spec_labels.get(spec.label, spec.label)))
    failures = tuple(
        (_capital(spec_labels.get(s.label, s.label)), e)
        for s, e in zip(plan.specs, plan.errors, strict=True)
        if e is not None
    )
    flow: Flow | None = None
    table1: BaselineTable | None = None
    if td is not None:
        # the run counted the flow from the endpoints it derived, with its own goal set
        counted = plan.flow if plan.flow is not None and plan.goals == goals else None
        flow, table1 = _flow_and_baseline(td, goals, baseline, notes, counted=counted)
    return DataSection(
        name=name,
        design=design,
        trials=trials,
        flow=flow,
        flow_endpoint=_flow_endpoint(
            flow, (s.outcome for s in plan.specs if s.method != "describe")
        ),
        baseline=table1,
        results=tuple(results),
        labels=tuple(labels),
        specs=plan.specs,
        spec_labels=dict(spec_labels),
        failures=failures,
        files=files,
        notes=tuple(notes),
    )


#: The estimand of a mean difference of shares (a per-patient 0/1 value or proportion, or its
#: change): shown in percentage points, as the published trials print it.
SHARE_MEAN_DIFFERENCE = "mean difference in proportions"


def _reads_in_points(target: Any) -> bool:
    """The target is a difference of shares: the paper prints it, or its groups' values, in
    percent (the adherence trial's "+10 %"), or its difference in percentage points."""
    values = [v for v in target.printed_values() if v.printed]
    return bool(
        target.percent_points
        or target.printed_difference().percent
        or (values and all(v.percent for v in values))
    )


def _capital(label: str) -> str:
    """A label that starts a table row: its first letter a capital (``"At goal ..."``)."""
    return label[:1].upper() + label[1:]


def _sizes(counts: Mapping[str, int]) -> str:
    """``"441 (health coaching 224, usual care 217)"``: the arms by their labels."""
    parts = [
        f"{arm_label(k, 'plain').lower() if k in _TWO_ARMS else k} {v}" for k, v in counts.items()
    ]
    return f"{sum(counts.values())} (" + ", ".join(parts) + ")"


def _data_design(
    td: TrialData, followup: int | None = None, *, entry: str | None = None
) -> tuple[tuple[str, str], ...]:
    p = td.patients
    rows = [("Data", td.source), (entry or td.flow.entry, _sizes(td.flow.randomized))]
    if "site" in p.columns:
        counts = p["site"].astype("string").value_counts(dropna=True).sort_index()
        rows.append(
            ("Sites", f"{len(counts)}: " + ", ".join(f"{k} ({v})" for k, v in counts.items()))
        )
    fu = followup if followup is not None else td.followup
    if fu is not None:
        rows.append(("Follow-up", f"{fu} months"))
    return tuple(rows)


def _trial_design(trial: Trial) -> tuple[tuple[str, str], ...]:
    d = trial.design
    rows = [("Trial", trial.title), ("Citation", trial.citation.text())]
    if d.description:
        rows.append(("Design", d.description))
    rows.append(("Randomized", _sizes(d.arms)))
    if d.sites:
        rows.append(("Sites", ", ".join(f"{k} ({v})" for k, v in d.sites.items())))
    elif d.n_sites:
        rows.append(("Sites", str(d.n_sites)))
    rows.append(("Follow-up", f"{d.months} months"))
    if d.eligibility:
        rows.append(("Eligibility", d.eligibility))
    return tuple(rows)


def _cohort_seed(cohort: str) -> int | None:
    try:
        module = importlib.import_module(f"coachstats.synthetic.{cohort}")
    except ImportError:
        return None
    seed = getattr(module, "DEFAULT_SEED", None)
    return int(seed) if seed is not None else None


def _plan_seeds(specs: Iterable[AnalysisSpec]) -> list[tuple[str, int]]:
    return [
        (f"multiple imputation: {s.label}", int(s.options.get("seed", DEFAULT_MI_SEED)))
        for s in specs
        if s.missing == "mi"
    ]


def _user_trial_data(source: Any) -> TrialData | None:
    """The user's data as a TrialData (None when only its description is known)."""
    from coachstats.data.io import load_trial
    from coachstats.data.trialdata import TrialData

    if isinstance(source, TrialData):
        return source
    if isinstance(source, Mapping):
        source = source.get("patients")
    if isinstance(source, pd.DataFrame) or (
        isinstance(source, (str, Path)) and Path(source).is_file()
    ):
        return load_trial(source, require_baseline=False)
    return None


def report_from_reproduction(
    result: ReproductionResult,
    *,
    data: Any = None,
    title: str | None = None,
    seed: int | None = None,
    baseline: Sequence[str] | None = None,
    image_format: ImageFormat = "png",
    figures: bool = True,
) -> Report:
    """A report of :func:`coachstats.tasks.reproduce.reproduce`: published vs reproduced, with context.

    Parameters
    ----------
    result : ReproductionResult
        What :func:`~coachstats.tasks.reproduce.reproduce` returned.
    data : path, TrialData or DataFrame, optional
        The data the plans ran on, when not the bundled cohorts (a path is
        read again with :func:`coachstats.load_trial` for the flow and Table 1).
    title : str, optional
        Page title.
    seed : int, optional
        A seed of your own to record (e.g. of a synthetic cohort you generated).
    baseline : sequence of str, optional
        Table 1 variables (default those of :data:`BASELINE_VARIABLES` present).
    image_format : {"png", "svg"}
        How figures are embedded.
    figures : bool
        Draw the figures.

    Returns
    -------
    Report
        Render with :func:`build_report`, write with :func:`write_report`.
    """
    from coachstats.core.paths import bundled_table
    from coachstats.trials.registry import get_trial

    trials = [get_trial(t) for t in result.trials]
    bundled = data is None and result.source == "bundled synthetic cohorts"
    groups: dict[str, list[Trial]] = {}
    for tr in trials:
        key = (tr.cohort or tr.name) if bundled else "data"
        groups.setdefault(key, []).append(tr)
    seeds: list[tuple[str, int]] = []
    sections = []
    user_td: TrialData | None = None
    files: tuple[tuple[str, str], ...] = ()
    if not bundled:
        user_td = result.data.get("data") if data is None else None
        if user_td is None:
            user_td = _user_trial_data(data if data is not None else result.source)
        if user_td is not None and user_td.sha256:
            files = ((user_td.source, user_td.sha256),)
    for key, members in groups.items():
        td = user_td
        section_files = files
        extra_notes: tuple[str, ...] = ()
        if not bundled and td is None:
            extra_notes = (
                "the data the plans ran on were not given: pass data= to show the flow and Table 1",
            )
        if bundled:
            td = result.data.get(key)  # loaded once, by reproduce
            section_files = tuple(
                (p.name, file_sha256(p))
                for table in ("patients", "medications", "adherent_days", "visit_ratings")
                if (p := bundled_table(f"{key}_{table}")) is not None
            )
            cohort_seed = _cohort_seed(key)
            if cohort_seed is not None:
                seeds.append((f"synthetic {key} cohort (coachstats.synthetic)", cohort_seed))
        specs: list[AnalysisSpec] = []
        sres: list[ComparisonResult | None] = []
        errs: list[str | None] = []
        spec_labels: dict[str, str] = {}
        keep: list[str] = []
        for tr in members:
            plan = result.plan_results.get(tr.name)
            if plan is None:
                continue
            # a target of shares, and every target analysing the same values (its adjusted twin)
            share_values = {
                (t.analysis.outcome, t.analysis.change_from)
                for t in tr.targets
                if _reads_in_points(t)
            }
            shares = {
                t.analysis.label
                for t in tr.targets
                if (t.analysis.outcome, t.analysis.change_from) in share_values
            }
            specs += plan.specs
            sres += [
                r.replace(estimand=SHARE_MEAN_DIFFERENCE)
                if r is not None and spec.label in shares and r.estimand == "mean difference"
                else r
                for spec, r in zip(plan.specs, plan.results, strict=True)
            ]
            errs += plan.errors
            for t in tr.targets:
                spec_labels[t.analysis.label] = t.label
                keep.append(t.analysis.label)
                if t.values_analysis is not None:
                    spec_labels[t.values_analysis.label] = f"{t.label} (values)"
        seeds += _plan_seeds(specs)
        goals = _report_goal_set(None, members)
        # the flow the run counted with that goal set (no endpoints derived again)
        counted = next(
            (
                run.flow
                for tr in members
                if (run := result.plan_results.get(tr.name)) is not None
                and run.flow is not None
                and run.goals == goals
            ),
            None,
        )
        name = f"{key.upper()} cohort" if bundled else "Your data"
        design = tuple(row for t in members for row in _trial_design(t))
        sections.append(
            _section_for_plan(
                name,
                td,
                PlanResult(tuple(specs), tuple(sres), tuple(errs), goals=goals, flow=counted),
                goals=goals,
                spec_labels=spec_labels,
                keep=keep,
                design=design,
                trials=tuple(members),
                baseline=baseline,
                files=section_files,
                extra_notes=extra_notes,
            )
        )
    if seed is not None:
        seeds.append(("given", int(seed)))
    if result.sensitivity is not None:
        for tr in trials:
            if tr.sensitivity is not None:
                seeds += _plan_seeds(tr.sensitivity_plan().specs)
    return Report(
        title=title or "Reproduction of the published health-coaching trials",
        sections=tuple(sections),
        reproduction=result,
        seeds=tuple(dict.fromkeys(seeds)),
        image_format=image_format,
        figures=figures,
    )


def report_from_analysis(
    trial_data: TrialData,
    plan_result: PlanResult,
    *,
    goals: GoalSet | str | None = None,
    trial: Trial | str | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    seed: int | None = None,
    baseline: Sequence[str] | None = None,
    image_format: ImageFormat = "png",
    figures: bool = True,
    impact: ProgramImpact | None = None,
    sensitivity: ProgramSensitivity | None = None,
    single_group: Sequence[ComparisonResult | None] | None = None,
    single_group_note: str = "",
    tracking: ProgramMetrics | None = None,
) -> Report:
    """A report of an analysis plan run on your data (``coachstats analyze --report``).

    Parameters
    ----------
    trial_data : TrialData
        From :func:`coachstats.load_trial` (its ``sha256`` and ``source`` are
        recorded).
    plan_result : PlanResult
        From :func:`coachstats.plan.run_plan` on ``trial_data``.
    goals : GoalSet or str, optional
        The goal set of the per-endpoint CONSORT flow; default the one the plan
        ran with (``plan_result.goals``), whose flow the run already counted.
        Without either the flow shows randomized and lost to follow-up only.
    trial : Trial or str, optional
        A registry trial whose published design is shown beside your data's.
    labels : mapping, optional
        Spec label -> display name.
    title, seed, baseline, image_format, figures
        As in :func:`report_from_reproduction`.
    impact, sensitivity, tracking : optional
        The number needed to coach and cost (``ProgramAnalysis.impact``), the tipping
        points (``ProgramAnalysis.sensitivity``) and the practice brief's tracking
        indicators (``ProgramAnalysis.tracking``), shown in sections of their own.
    single_group, single_group_note : optional
        A single-arm program's outcomes, one per plan spec (``ProgramAnalysis.summaries``;
        None where not computed), shown as its outcome table with the note that says
        what a before-after change without a control cannot separate.

    Returns
    -------
    Report
    """
    from coachstats.trials.registry import get_trial

    tr = get_trial(trial) if trial is not None else None
    gs = _report_goal_set(goals or plan_result.goals, (tr,) if tr is not None else ())
    design = _data_design(trial_data)
    if tr is not None:
        design = design + _trial_design(tr)
    files = ((trial_data.source, trial_data.sha256),) if trial_data.sha256 else ()
    section = _section_for_plan(
        "Your data",
        trial_data,
        plan_result,
        goals=gs,
        spec_labels=dict(labels or {}),
        design=design,
        trials=(tr,) if tr is not None else (),
        baseline=baseline,
        files=files,
    )
    section = replace(section, impact=impact, sensitivity=sensitivity, tracking=tracking)
    if single_group is not None:
        pairs = [
            (_capital(section.spec_labels.get(spec.label, spec.label)), r)
            for spec, r in zip(plan_result.specs, single_group, strict=True)
            if r is not None
        ]
        section = replace(
            section,
            single_group=tuple(r for _, r in pairs),
            single_group_labels=tuple(label for label, _ in pairs),
            single_group_note=single_group_note,
        )
    seeds = _plan_seeds(plan_result.specs)
    if seed is not None:
        seeds.append(("given", int(seed)))
    return Report(
        title=title or f"Analysis of {trial_data.source}",
        sections=(section,),
        seeds=tuple(dict.fromkeys(seeds)),
        image_format=image_format,
        figures=figures,
    )


def _data_files(
    td: TrialData | None, source: str, extra: Iterable[str | Path], notes: list[str]
) -> tuple[tuple[str, str], ...]:
    """The data files with their SHA-256: the bytes ``td`` was read from, else ``source`` hashed now.

    ``extra`` files (e.g. encounter rows) are hashed now; what is hashed now is said in ``notes``.
    """
    files: list[tuple[str, str]] = []
    if td is not None and td.sha256:
        files.append((td.source, td.sha256))
    elif td is None and Path(source).is_file():
        files.append((source, file_sha256(source)))
        notes.append(
            f"the SHA-256 of {source} was computed when the report was written; pass "
            "trial_data= for the hash of the bytes the evaluation read"
        )
    for f in extra:
        files.append((str(f), file_sha256(f)))
    return tuple(files)


def _evaluation_seeds(result: EvaluationResult) -> list[tuple[str, int]]:
    """Seeds of the synthetic cohorts used as the reference of the standardization or case mix."""
    from coachstats.trials.registry import get_trial

    uses: dict[str, list[str]] = {}
    for c in result.case_mix:
        if "synthetic" in c.source:
            uses.setdefault(c.trial, []).append("case mix")
    for s in result.standardized:
        if s.result is not None:
            uses.setdefault(s.trial, []).append("standardization")
    seeds = []
    for name, what in uses.items():
        cohort = get_trial(name).cohort or name
        seed = _cohort_seed(cohort)
        if seed is not None:
            seeds.append(
                (
                    f"synthetic {cohort} cohort (reference of the {join_words(list(dict.fromkeys(what)))})",
                    seed,
                )
            )
    return seeds


def report_from_evaluation(
    result: EvaluationResult,
    *,
    trial_data: TrialData | None = None,
    title: str | None = None,
    files: Iterable[str | Path] = (),
    baseline: Sequence[str] | None = None,
    image_format: ImageFormat = "png",
    figures: bool = True,
) -> Report:
    """A report of :func:`coachstats.tasks.evaluate.evaluate` (``coachstats evaluate --report``).

    The program's design and data provenance; its CONSORT flow, Table 1 (two-arm) and outcome
    table when ``trial_data`` is given; the comparison with each published trial (two-arm: the
    program's effect, the published one, the difference test and the verdict; single-arm: the
    program beside the published arms with the plain-language verdicts); the pooled estimates
    with Cochran's Q and I²; the case mix and the standardized comparison; the tracking metrics;
    the forest plot; the methods.

    Parameters
    ----------
    result : EvaluationResult
        What :func:`~coachstats.tasks.evaluate.evaluate` returned.
    trial_data : TrialData, optional
        The program's data as loaded (:func:`coachstats.data.programdata.load_program`, the same
        object given to ``evaluate``): its flow and Table 1 are shown and the SHA-256 of the
        bytes read is recorded. Without it a ``source`` that is a file is hashed when the
        report is written.
    title : str, optional
        Page title (default ``"Program evaluation: <source>"``).
    files : iterable of path, optional
        Further data files the evaluation read (e.g. the CPT encounter rows), listed with their
        SHA-256.
    baseline, image_format, figures
        As in :func:`report_from_reproduction`.

    Returns
    -------
    Report
        Render with :func:`build_report`, write with :func:`write_report`.

    Examples
    --------
    >>> from coachstats.tasks.evaluate import evaluate
    >>> from coachstats.present.report import build_report
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=441, seed=5).patients, against="hcpc", standardize=False)
    >>> html = build_report(report_from_evaluation(res, figures=False))
    >>> 'id="evaluation"' in html, "Against HCPC 2015 (" in html, "<script" in html
    (True, True, False)
    """
    from coachstats.tasks.evaluate import trial_name
    from coachstats.trials.registry import get_trial

    trials = tuple(get_trial(t) for t in result.trials)
    two_arm = result.design == "two-arm"
    notes: list[str] = []
    flow: Flow | None = None
    table1: BaselineTable | None = None
    if trial_data is not None:
        goals = _report_goal_set(None, trials)
        # one arm has no Table 1 by arm: the case mix compares its baseline with the trials
        flow, table1 = _flow_and_baseline(trial_data, goals, baseline, notes, table=two_arm)
        design = _data_design(trial_data, entry="Patients")
    else:
        design = (("Data", result.source), ("Patients", _sizes(result.n)))
        notes.append("the program's data were not given: pass trial_data= to show the flow")
    design += (("Program design", f"{result.design}, evaluated at alpha = {result.alpha:g}"),)
    design += tuple(
        (
            f"Compared with {trial_name(t.name)}",
            f"{t.title}; {_sizes(t.design.arms)} randomized, {t.design.months} months. "
            f"{t.citation.text()}",
        )
        for t in trials
    )
    pooled = [e.evidence for e in result.evidence if e.evidence is not None]
    design += tuple(
        (
            "Compared with the evidence base",
            f"{s.meta.k} randomized trials of coaching pooled on "
            f"{MEASURE_LABELS.get(s.outcome, s.outcome)} "
            f"({s.meta.method_name}); see the section 'Against the evidence base'.",
        )
        for s in pooled
    )
    effects = [e for e in result.effects if e.primary and e.program is not None]
    placed = [e for e in result.evidence if e.program is not None]  # against the evidence
    outcomes = [e.outcome for e in effects] + [e.outcome for e in placed] or [
        a.outcome for a in result.arms
    ]
    section = DataSection(
        name="Your program",
        design=design,
        trials=trials,
        flow=flow,
        flow_endpoint=_flow_endpoint(flow, outcomes),
        baseline=table1,
        results=(
            *(e.program for e in effects if e.program is not None),
            *(e.program for e in placed if e.program is not None),
        ),
        labels=(
            *(_capital(f"{e.label} ({trial_name(e.trial)})") for e in effects),
            *(_capital(f"{e.label} ({e.population})") for e in placed),
        ),
        files=_data_files(trial_data, result.source, files, notes),
        notes=tuple(notes),
        outcomes=tuple(dict.fromkeys(outcomes)),
        methods=evaluation_methods(result),
        impact=result.impact,
        sensitivity=result.sensitivity,
    )
    return Report(
        title=title or str(result.report_data()["title"]),
        sections=(section,),
        evaluation=result,
        # the pooled evidence the program was placed against: its trials, methods and files
        # (the first outcome compared; the registry pools HbA1c only)
        evidence=pooled[0] if pooled else None,
        seeds=tuple(_evaluation_seeds(result)),
        image_format=image_format,
        figures=figures,
    )


def report_from_evidence(
    summary: EvidenceSummary,
    *,
    title: str | None = None,
    image_format: ImageFormat = "png",
    figures: bool = True,
) -> Report:
    """A report of :func:`coachstats.tasks.evidence.pool_evidence`: the pooled evidence on one outcome.

    The report has no data sections (no patient-level data): it shows the
    pooled estimate, the forest plot, the trials pooled and not pooled, and
    the methods and registry files behind them.

    Examples
    --------
    >>> from coachstats.tasks.evidence import pool_evidence
    >>> from coachstats.present.report import build_report
    >>> html = build_report(report_from_evidence(pool_evidence("hba1c"), figures=False))
    >>> 'id="evidence"' in html, 'id="flow"' in html
    (True, False)
    """
    name = MEASURE_LABELS.get(summary.outcome, summary.outcome)
    return Report(
        title=title or f"Health coaching in primary care: the evidence on {name}",
        sections=(),
        evidence=summary,
        image_format=image_format,
        figures=figures,
    )

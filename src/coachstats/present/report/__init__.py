"""HTML report: one self-contained file with the design, flow, tables, figures and methods.

A :class:`Report` holds what the report shows -- result objects, not text --
and :func:`build_report` renders it with the jinja2 template
``coachstats/present/report/templates/report.html.j2`` (autoescaped: every column name, site
name or label from the data is escaped). The file is self-contained: the
figures of :mod:`coachstats.present.plots` are embedded as base64 PNG (or SVG)
``data:`` URIs and the style sheet is inline; there are no scripts and no
external URLs, so it opens offline and can be attached to an e-mail.

Sections
--------
========================  ====================================================
Trial design              the registry's design and citation (reproduction) or
                          the design read from the data (analysis, evaluation)
CONSORT flow              :func:`~coachstats.present.plots.plot_consort` and the
                          :class:`~coachstats.data.flow.Flow` table per endpoint
Baseline characteristics  Table 1 by arm with SMDs (:mod:`coachstats.present.table1`)
Outcomes                  :func:`coachstats.present.tables.publication_table`
Figures                   :func:`~coachstats.present.plots.plot_by_arm`,
                          :func:`~coachstats.present.plots.plot_changes`,
                          :func:`~coachstats.present.plots.plot_forest`
Published vs reproduced   :meth:`ReproductionResult.to_frame` with verdicts,
                          and the sensitivity table when it was run
Program vs published      :meth:`EvaluationResult.tables`: the program's effect
                          vs each trial with the difference test and verdict
                          (two-arm) or beside the published arms (single-arm),
                          the plain-language verdicts, the forest plot
                          (:func:`~coachstats.tasks.evaluate.evaluation_figure`), the
                          pooled Q and I², case mix, standardized comparison
                          and tracking metrics
Methods                   one sentence per :class:`~coachstats.plan.AnalysisSpec`
Provenance                package versions, data files with SHA-256, seeds
========================  ====================================================

Three entry points build a :class:`Report`: :func:`report_from_reproduction`
(``coachstats reproduce --report``), :func:`report_from_analysis`
(``coachstats analyze --report``) and :func:`report_from_evaluation`
(``coachstats evaluate --report``); :func:`write_report` writes it atomically.

Examples
--------
>>> from coachstats.plan import AnalysisSpec
>>> methods_sentence(AnalysisSpec("composite_any", "chi_square", options={"correct": False}),
...                  label="One clinical goal")
"One clinical goal: Pearson's chi-square test without continuity correction; complete-case analysis."
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import math
import platform
import tempfile
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import pandas as pd

from coachstats.core.errors import CoachstatsError, OptionError, check_option
from coachstats.core.goals import GoalSet
from coachstats.core.results import ComparisonResult, format_p
from coachstats.core.vocabulary import outcome_label
from coachstats.data.flow import Flow
from coachstats.plan import DEFAULT_MI_SEED, AnalysisSpec, PlanResult
from coachstats.present.table1 import BaselineTable, baseline_table
from coachstats.present.tables import headers, publication_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

    from coachstats.data.trialdata import TrialData
    from coachstats.tasks.evaluate import EvaluationResult
    from coachstats.tasks.reproduce import ReproductionResult
    from coachstats.tasks.tracking import Metric, ProgramMetrics
    from coachstats.trials.registry import Trial

__all__ = [
    "BASELINE_VARIABLES",
    "DataSection",
    "Figure",
    "Report",
    "build_report",
    "methods_sentence",
    "methods_text",
    "report_from_analysis",
    "report_from_evaluation",
    "report_from_reproduction",
    "write_report",
]

ImageFormat = Literal["png", "svg"]
IMAGE_FORMATS: tuple[str, ...] = get_args(ImageFormat)

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
    "hba1c_0",
    "sbp_0",
    "ldl_0",
)
_TWO_ARMS = ("coaching", "usual_care")
_PAIRED = ("mcnemar", "paired_t")


# --------------------------------------------------------------------------- methods text


def _join(items: Sequence[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _method_phrase(spec: AnalysisSpec) -> str:
    o = spec.options
    m = spec.method
    if m == "chi_square":
        corr = o.get("correct", False)
        return "Pearson's chi-square test " + (
            "with Yates' continuity correction" if corr else "without continuity correction"
        )
    if m == "fisher":
        return "Fisher's exact test"
    if m == "t_test":
        return "Student's t test (equal variances)" if o.get("equal_var") else "Welch's t test"
    if m == "ancova":
        base = o.get("baseline")
        return "analysis of covariance (ANCOVA)" + (
            f" on the baseline value {base}" if base else ""
        )
    if m in ("logistic", "linear"):
        text = f"{m} regression"
        if o.get("estimand"):
            text += f" ({o['estimand']})"
        if o.get("fixed_effects"):
            text += f" with {o['fixed_effects']} fixed effects"
        return text
    if m == "gee":
        family = o.get("family", "binomial")
        corr = o.get("corr", "exchangeable")
        return (
            f"generalized estimating equations ({family} family, {corr} working correlation, "
            "robust standard errors)"
        )
    if m == "mixed":
        fit = "ML" if o.get("reml") is False else "REML"
        return f"a linear mixed model ({fit}) with a random intercept for {spec.cluster}"
    if m == "mcnemar":
        return "McNemar's test for paired proportions"
    if m == "paired_t":
        return "a paired t test"
    stat = o.get("stat", "mean")
    return {
        "mean": "mean (SD) by group",
        "proportion": "proportion by group",
        "n": "count by group",
        "n_unique": "number of distinct values",
    }.get(str(stat), "summary")


def _missing_phrase(spec: AnalysisSpec) -> str:
    if spec.missing == "failure":
        return "patients with a missing follow-up value counted as not at goal"
    if spec.missing == "mi":
        m = int(spec.options.get("m", 20))
        seed = spec.options.get("seed", DEFAULT_MI_SEED)
        return (
            f"missing values multiply imputed by chained equations (m = {m}, seed {seed}), "
            "results pooled with Rubin's rules"
        )
    return "complete-case analysis"


def methods_sentence(spec: AnalysisSpec, *, label: str | None = None) -> str:
    """One sentence of methods for an analysis spec: test or model, covariates, clustering, missing data.

    Parameters
    ----------
    spec : AnalysisSpec
        The analysis.
    label : str, optional
        The outcome's display name (default the spec's label).

    Examples
    --------
    >>> from coachstats.plan import AnalysisSpec
    >>> print(methods_sentence(AnalysisSpec("change_hba1c", "mixed", cluster="site",
    ...                                     covariates=("age", "insulin")), label="HbA1c change"))
    HbA1c change: a linear mixed model (REML) with a random intercept for site, adjusted for age and insulin; complete-case analysis.
    >>> print(methods_sentence(AnalysisSpec("at_goal_ldl", "chi_square", subset="site == 'A'",
    ...                                     missing="mi", options={"m": 5, "seed": 1})))
    at_goal_ldl: Pearson's chi-square test without continuity correction, among patients with site == 'A'; missing values multiply imputed by chained equations (m = 5, seed 1), results pooled with Rubin's rules.
    """
    parts = [_method_phrase(spec)]
    if spec.change_from:
        parts.append(f"of the change from {spec.change_from}")
    if spec.covariates:
        parts.append("adjusted for " + _join(spec.covariates))
    if spec.cluster and spec.method != "mixed":
        text = f"clustered by {spec.cluster}"
        if spec.options.get("singleton_clusters"):
            text += f" (patients without a {spec.cluster} as clusters of one)"
        parts.append(text)
    if spec.subset:
        parts.append(f"among patients with {spec.subset}")
    if spec.complete_on:
        parts.append("among patients with " + _join(spec.complete_on) + " measured")
    if spec.timepoints:
        parts.append(f"month {spec.timepoints[0]} vs month {spec.timepoints[1]}")
    return f"{label or spec.label}: {', '.join(parts)}; {_missing_phrase(spec)}."


def methods_text(
    specs: Iterable[AnalysisSpec], *, labels: Mapping[str, str] | None = None
) -> list[str]:
    """Methods sentences for a plan: one per comparison, the descriptive summaries in one.

    ``labels`` maps a spec label to the display name.

    Examples
    --------
    >>> from coachstats.plan import AnalysisSpec
    >>> for s in methods_text([AnalysisSpec("age", "describe"), AnalysisSpec("sex", "describe"),
    ...                        AnalysisSpec("hba1c_drop_ge1", "fisher")]):
    ...     print(s)
    hba1c_drop_ge1: Fisher's exact test; complete-case analysis.
    Described without a test (mean (SD), proportion or count by group): age and sex.
    """
    names = dict(labels or {})
    out: list[str] = []
    described: list[str] = []
    for spec in specs:
        label = names.get(spec.label, spec.label)
        if spec.method == "describe":
            described.append(label)
        else:
            out.append(methods_sentence(spec, label=label))
    if described:
        out.append(
            "Described without a test (mean (SD), proportion or count by group): "
            + _join(list(dict.fromkeys(described)))
            + "."
        )
    return out


# --------------------------------------------------------------------------- the report data


@dataclass(frozen=True)
class Figure:
    """An embedded figure: title, caption, MIME type and base64 data."""

    title: str
    caption: str
    mime: str
    data: str

    @property
    def uri(self) -> str:
        """The ``data:`` URI of the image."""
        return f"data:{self.mime};base64,{self.data}"


@dataclass(frozen=True)
class DataSection:
    """One data set of a report and what was run on it.

    Attributes
    ----------
    name : str
        Heading (e.g. ``"HCPC cohort"``).
    design : tuple of (str, str)
        Facts of the trial design (what, value).
    trials : tuple of Trial
        Registry trials whose design and citation are shown.
    flow : Flow or None
        CONSORT flow (with per-endpoint counts when available).
    flow_endpoint : str or None
        The endpoint drawn in the CONSORT figure.
    baseline : BaselineTable or None
        Table 1.
    results : tuple of ComparisonResult
        The comparisons of the outcome table and figures.
    labels : tuple of str
        Display names of ``results``.
    specs : tuple of AnalysisSpec
        Every analysis run (for the methods text).
    spec_labels : mapping
        Spec label -> display name.
    failures : tuple of (str, str)
        Analyses that failed: (label, error).
    files : tuple of (str, str)
        Data files and their SHA-256.
    notes : tuple of str
        What loading did, and why a section is missing.
    outcomes : tuple of str
        Endpoints analysed beyond those of ``specs`` (an evaluation's), for the
        per-endpoint flow table.
    methods : tuple of str
        Methods sentences beyond those written from ``specs``.
    """

    name: str
    design: tuple[tuple[str, str], ...] = ()
    trials: tuple[Trial, ...] = ()
    flow: Flow | None = None
    flow_endpoint: str | None = None
    baseline: BaselineTable | None = None
    results: tuple[ComparisonResult, ...] = ()
    labels: tuple[str, ...] = ()
    specs: tuple[AnalysisSpec, ...] = ()
    spec_labels: Mapping[str, str] = field(default_factory=dict)
    failures: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything a report shows; render with :func:`build_report`.

    Attributes
    ----------
    title : str
        The page title.
    sections : tuple of DataSection
        One per data set.
    reproduction : ReproductionResult or None
        Published vs reproduced (for :func:`report_from_reproduction`).
    evaluation : EvaluationResult or None
        A program against the published trials (for :func:`report_from_evaluation`).
    seeds : tuple of (str, int)
        Every seed behind the numbers (what, seed).
    image_format : {"png", "svg"}
        How figures are embedded.
    figures : bool
        Draw the figures (False: tables only, faster).
    """

    title: str
    sections: tuple[DataSection, ...]
    reproduction: ReproductionResult | None = None
    evaluation: EvaluationResult | None = None
    seeds: tuple[tuple[str, int], ...] = ()
    image_format: ImageFormat = "png"
    figures: bool = True

    def __post_init__(self) -> None:
        check_option("image_format", self.image_format, IMAGE_FORMATS)


# --------------------------------------------------------------------------- helpers


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
) -> tuple[Flow, BaselineTable | None]:
    """The per-endpoint flow (under ``goals``) and Table 1 of ``td`` (when ``table``); what
    fails goes to ``notes``."""
    flow = td.flow
    table1: BaselineTable | None = None
    if goals is not None:
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
            labels.append(spec_labels.get(spec.label, spec.label))
    failures = tuple(
        (spec_labels.get(s.label, s.label), e)
        for s, e in zip(plan.specs, plan.errors, strict=True)
        if e is not None
    )
    flow: Flow | None = None
    table1: BaselineTable | None = None
    if td is not None:
        flow, table1 = _flow_and_baseline(td, goals, baseline, notes)
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


def _sizes(counts: Mapping[str, int]) -> str:
    """``"441 (coaching 224, usual_care 217)"``."""
    return f"{sum(counts.values())} (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")"


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


# --------------------------------------------------------------------------- entry points


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
    from coachstats.data.io import load_trial
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
            path = bundled_table(f"{key}_patients")
            if path is not None:
                td = load_trial(path, require_baseline=False)
            section_files = tuple(
                (p.name, _file_sha256(p))
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
            specs += plan.specs
            sres += plan.results
            errs += plan.errors
            for t in tr.targets:
                spec_labels[t.analysis.label] = t.label
                keep.append(t.analysis.label)
                if t.values_analysis is not None:
                    spec_labels[t.values_analysis.label] = f"{t.label} (values)"
        seeds += _plan_seeds(specs)
        goals = next((t.goals for t in members if t.goals is not None), None)
        name = f"{key.upper()} cohort" if bundled else "Your data"
        design = tuple(row for t in members for row in _trial_design(t))
        sections.append(
            _section_for_plan(
                name,
                td,
                PlanResult(tuple(specs), tuple(sres), tuple(errs)),
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
        The plan's goal set, for the per-endpoint CONSORT flow (without it the
        flow shows randomized and lost to follow-up only).
    trial : Trial or str, optional
        A registry trial whose published design is shown beside your data's.
    labels : mapping, optional
        Spec label -> display name.
    title, seed, baseline, image_format, figures
        As in :func:`report_from_reproduction`.

    Returns
    -------
    Report
    """
    from coachstats.plan import resolve_goals
    from coachstats.trials.registry import get_trial

    gs = resolve_goals(goals)
    tr = get_trial(trial) if trial is not None else None
    design = _data_design(trial_data)
    if tr is not None:
        design = design + _trial_design(tr)
        gs = gs or tr.goals
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
        files.append((source, _file_sha256(Path(source))))
        notes.append(
            f"the SHA-256 of {source} was computed when the report was written; pass "
            "trial_data= for the hash of the bytes the evaluation read"
        )
    for f in extra:
        files.append((str(f), _file_sha256(Path(f))))
    return tuple(files)


def _result_methods(label: str, result: ComparisonResult) -> str:
    """One methods sentence read from a result: method, covariates, clustering, exclusions."""
    parts = [result.method]
    if result.adjusted_for:
        parts.append("adjusted for " + _join(result.adjusted_for))
    if result.cluster and result.cluster not in result.method:
        parts.append(f"clustered by {result.cluster}")
    missing = (
        "complete-case analysis"
        if result.missing == "complete case"
        else f"missing data: {result.missing}"
    )
    if result.n_excluded:
        missing += f" ({result.n_excluded} not analysed: {result.excluded_reason})"
    return f"{label}: {', '.join(parts)}; {missing}."


def _evaluation_methods(result: EvaluationResult) -> tuple[str, ...]:
    """The methods of an evaluation: each program analysis (from its result), then the comparisons."""
    from coachstats.tasks.evaluate import CASE_MIX_THRESHOLD, trial_name

    rows: Sequence[Any] = (
        [e for e in result.effects if e.primary] if result.design == "two-arm" else result.arms
    )
    out = [
        _result_methods(f"{r.label} ({trial_name(r.trial)} analysis)", r.program)
        for r in rows
        if r.program is not None
    ]
    alpha = format_p(result.alpha)
    if result.design == "two-arm":
        out += [
            "Each trial's published analysis ran on the program's patients with "
            "coachstats.plan.run_plan: the same endpoints, goal thresholds and tests, on the "
            "trial's population and follow-up month (departures are in the notes). Risk "
            "differences have Wald intervals and odds ratios Woolf intervals.",
            "The published standard error is reconstructed from the printed counts, from the "
            "printed means, SDs and sizes (sqrt(s1^2/n1 + s2^2/n2)), or from the printed P value "
            "and estimate (SE = |estimate| / z(1 - P/2)); the source of each is the tooltip of "
            "the published figure.",
            "The program's effect and the published one are compared as independent estimates: "
            "z = (program - published) / sqrt(SE_program^2 + SE_published^2), two-sided normal "
            "P (Altman and Bland 2003; odds ratios on the log scale, the difference reported as "
            f"a ratio of odds ratios). An outcome differs when P < {alpha}; Holm-adjusted P "
            "values across a trial's outcomes are shown. A verdict that flips within the "
            "rounding range of the printed P is marked borderline.",
        ]
        if result.heterogeneity:
            out.append(
                "The program and the trial(s) reporting an outcome are pooled by inverse variance "
                "(fixed effect, and DerSimonian-Laird random effects), with Cochran's Q and "
                "I^2 = max(0, (Q - df) / Q) (Higgins and Thompson 2002)."
            )
    else:
        out.append(
            "Single-arm program: each outcome's proportion (Wilson score interval) or mean "
            "(t interval) is compared with each published arm by the one-sample score and exact "
            "binomial tests (proportions) or the one-sample t test (means). The verdict places "
            "the program's interval relative to the published coaching and usual-care values; "
            f"an outcome differs when P < {alpha} against the published coaching arm."
        )
    if result.case_mix:
        out.append(
            "Case mix: the standardized mean difference (program mean - published mean) / "
            "published SD for means, Cohen's h = 2 arcsin(sqrt(p)) - 2 arcsin(sqrt(p_published)) "
            f"for shares; an absolute value above {CASE_MIX_THRESHOLD} is a material difference."
        )
    if result.standardized:
        out.append(
            "Direct standardization (g-computation): a logistic (binary) or linear (continuous) "
            "model of the outcome on baseline covariates (and the arm), fitted on the program and "
            "averaged over the patients of the trial's synthetic cohort (calibrated to the "
            "published baseline), with a delta-method SE that treats that cohort as fixed "
            "(Muller and MacLehose 2014)."
        )
    return tuple(dict.fromkeys(out))


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
                    f"synthetic {cohort} cohort (reference of the {_join(list(dict.fromkeys(what)))})",
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
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=441, seed=5).patients, against="hcpc", standardize=False)
    >>> html = build_report(report_from_evaluation(res, figures=False))
    >>> 'id="evaluation"' in html, "consistent with HCPC 2015" in html, "<script" in html
    (True, True, False)
    """
    from coachstats.tasks.evaluate import trial_name
    from coachstats.trials.registry import get_trial

    trials = tuple(get_trial(t) for t in result.against)
    two_arm = result.design == "two-arm"
    notes: list[str] = []
    flow: Flow | None = None
    table1: BaselineTable | None = None
    if trial_data is not None:
        goals = next((t.goals for t in trials if t.goals is not None), None)
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
    effects = [e for e in result.effects if e.primary and e.program is not None]
    outcomes = [e.outcome for e in effects] or [a.outcome for a in result.arms]
    section = DataSection(
        name="Your program",
        design=design,
        trials=trials,
        flow=flow,
        flow_endpoint=_flow_endpoint(flow, outcomes),
        baseline=table1,
        results=tuple(e.program for e in effects if e.program is not None),
        labels=tuple(f"{e.label} ({trial_name(e.trial)})" for e in effects),
        files=_data_files(trial_data, result.source, files, notes),
        notes=tuple(notes),
        outcomes=tuple(dict.fromkeys(outcomes)),
        methods=_evaluation_methods(result),
    )
    return Report(
        title=title or str(result.report_data()["title"]),
        sections=(section,),
        evaluation=result,
        seeds=tuple(_evaluation_seeds(result)),
        image_format=image_format,
        figures=figures,
    )


# --------------------------------------------------------------------------- figures


def _embed(
    ax: Axes | Sequence[Axes] | MplFigure, fmt: ImageFormat, title: str, caption: str
) -> Figure:
    """Save the figure of ``ax`` with :func:`~coachstats.present.plots.save_figure`, close it, encode it."""
    import matplotlib.pyplot as plt

    from coachstats.present.plots import save_figure

    first = ax[0] if isinstance(ax, Sequence) else ax
    fig = first.figure
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"figure.{fmt}"
            save_figure(first, path, dpi=150 if fmt == "png" else None)
            data = base64.b64encode(path.read_bytes()).decode("ascii")
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    mime = "image/png" if fmt == "png" else "image/svg+xml"
    return Figure(title, caption, mime, data)


def _unique_by_outcome(
    items: Sequence[tuple[ComparisonResult, str]],
) -> list[tuple[ComparisonResult, str]]:
    seen: dict[str, tuple[ComparisonResult, str]] = {}
    for r, lab in items:
        seen.setdefault(r.outcome, (r, lab))
    return list(seen.values())


def _wrap(label: str, width: int) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def _section_figures(
    section: DataSection, fmt: ImageFormat, *, forests: bool = True
) -> list[Figure]:
    """Bars of the binary outcomes, mean changes, and one forest plot per effect measure.

    The figures are sized for the report (a page, not a journal column): the change panels
    get 1.9 in each and the forest plots the double-column width, with wrapped labels.
    ``forests=False`` leaves the forest plots out (an evaluation draws its own, with the trials).
    """
    import numpy as np

    from coachstats.present.plots import plot_by_arm, plot_changes, plot_forest
    from coachstats.present.plots.common import new_figure
    from coachstats.present.plots.style import DOUBLE_COLUMN, SINGLE_COLUMN

    pairs = list(zip(section.results, section.labels, strict=True))
    figures: list[Figure] = []
    binary = _unique_by_outcome(
        [
            (r, lab)
            for r, lab in pairs
            if all(a.events is not None for a in r.arms) and not r.adjusted
        ]
    )
    if binary:
        ax = plot_by_arm(
            [r for r, _ in binary],
            labels=[lab for _, lab in binary],
            ci=True,
            ylabel="Patients with the outcome (%)",
        )
        figures.append(
            _embed(
                ax,
                fmt,
                "Patients with the outcome by arm",
                "Percentage of each arm with the outcome (at goal, for the clinical goals), with "
                "Wilson 95% intervals and the P value of each comparison.",
            )
        )
    changes = _unique_by_outcome(
        [
            (r, lab)
            for r, lab in pairs
            if r.outcome.startswith("change_") and all(a.events is None for a in r.arms)
        ]
    )
    if changes:
        m = len(changes)
        with new_figure((max(SINGLE_COLUMN, 1.9 * m), 2.9)) as fig:
            axes = list(np.atleast_1d(fig.subplots(1, m)))
            plot_changes(
                [r for r, _ in changes], labels=[_wrap(lab, 18) for _, lab in changes], axes=axes
            )
        figures.append(
            _embed(
                axes,
                fmt,
                "Mean change from baseline by arm",
                "Mean change with its 95% t interval per arm; the difference and P are the "
                "comparison's (marked adjusted when it is).",
            )
        )
    # one figure per estimand; mean differences get one panel per outcome, whose units differ
    panels: dict[str, dict[str, list[tuple[ComparisonResult, str]]]] = {}
    for r, lab in pairs if forests else ():
        if math.isfinite(r.conf_low) and math.isfinite(r.conf_high):
            unit_key = r.outcome if r.estimand == "mean difference" else ""
            panels.setdefault(r.estimand, {}).setdefault(unit_key, []).append((r, lab))
    for estimand, groups in panels.items():
        heights = [0.9 + 0.3 * len(items) for items in groups.values()]
        with new_figure((DOUBLE_COLUMN, sum(heights))) as fig:
            grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
            axes = [
                plot_forest(
                    [r for r, _ in items],
                    labels=[_wrap(lab, 45) for _, lab in items],
                    ax=fig.add_subplot(grid[i]),
                )
                for i, items in enumerate(groups.values())
            ]
        figures.append(
            _embed(
                axes if len(axes) > 1 else axes[0],
                fmt,
                f"Forest plot: {estimand}",
                f"{estimand.capitalize()} (coaching vs usual care) with its 95% CI for every "
                "comparison"
                + ("; one panel per outcome, each on its own scale." if len(axes) > 1 else "."),
            )
        )
    return figures


def _consort_figure(section: DataSection, fmt: ImageFormat) -> Figure | None:
    from coachstats.present.plots import plot_consort
    from coachstats.present.plots.common import OUTCOME_LABELS

    if section.flow is None:
        return None
    ep = section.flow_endpoint
    ax = plot_consort(section.flow, endpoint=ep)
    name = OUTCOME_LABELS.get(ep, ep) if ep else ""
    return _embed(
        ax,
        fmt,
        "CONSORT flow" + (f": {name}" if name else ""),
        f"{section.flow.entry}, lost to follow-up, excluded from the analysis with the reason, "
        "and analysed, per arm.",
    )


# --------------------------------------------------------------------------- template context


def _flow_context(section: DataSection) -> dict[str, Any] | None:
    """The flow tables: the CONSORT stages of the drawn endpoint, and every endpoint's statuses."""
    from coachstats.present.plots.consort import REASON_LABELS
    from coachstats.present.plots.style import ARM_LABELS

    flow = section.flow
    if flow is None:
        return None
    arms = list(flow.randomized)

    def row(label: str, counts: Mapping[str, int]) -> dict[str, Any]:
        cells = [int(counts.get(a, 0)) for a in arms]
        return {"label": label, "cells": cells, "total": sum(cells)}

    stages = [
        # excluded before their arm was known: a total, no per-arm cells
        {"label": f"Excluded on loading: {why}", "cells": [""] * len(arms), "total": n}
        for why, n in flow.excluded_on_load.items()
    ]
    ep = section.flow_endpoint
    has_endpoint = ep is not None and not flow.endpoints.empty
    stages += [
        row(flow.entry if not stages else "Included", flow.randomized),
        row(
            "Lost to follow-up (no follow-up measurement)",
            flow.lost(ep) if has_endpoint and ep is not None else flow.lost_to_followup,
        ),
    ]
    endpoints = []
    if has_endpoint and ep is not None:
        excluded = flow.excluded(ep)
        for reason_key, grp in excluded.groupby("status", sort=False, observed=True):
            status = str(reason_key)
            reason = REASON_LABELS.get(status, status.capitalize())
            stages.append(row(f"Excluded from analysis: {reason}", _arm_counts(grp)))
        stages.append(row("Analysed", flow.analysed(ep)))
        used = {s.outcome for s in section.specs} | set(section.outcomes)
        t = flow.endpoints
        t = t[t["endpoint"].astype(str).isin(used) & (t["n"] > 0)]
        for keys, grp in t.groupby(["endpoint", "status"], sort=False, observed=True):
            name, status = (str(k) for k in keys)
            endpoints.append(
                {"endpoint": outcome_label(name), "status": status, **row("", _arm_counts(grp))}
            )
    return {
        "arms": [ARM_LABELS.get(a, a) for a in arms],
        "total": flow.entered,
        "entry": flow.entry.lower(),
        "endpoint": outcome_label(ep) if ep is not None else None,
        "stages": stages,
        "endpoints": endpoints,
        "notes": list(flow.notes),
    }


def _arm_counts(rows: pd.DataFrame) -> dict[str, int]:
    """``{arm: n}`` of rows of :attr:`Flow.endpoints`."""
    return {str(a): int(n) for a, n in zip(rows["arm"], rows["n"], strict=True)}


def _outcome_context(section: DataSection) -> dict[str, Any] | None:
    if not section.results:
        return None
    frame = publication_table(list(section.results), labels=list(section.labels))
    return {
        "headers": headers(frame.attrs["arms"], frame.attrs["conf_level"]),
        "rows": [[str(v) for v in row] for row in frame.itertuples(index=False)],
        "adjusted": sorted({c for r in section.results for c in r.adjusted_for}),
    }


def _baseline_context(section: DataSection) -> dict[str, Any] | None:
    if section.baseline is None:
        return None
    disp = section.baseline.to_display()
    rows = []
    for row in disp.itertuples(index=False):
        cells = [str(c) for c in row]
        level = cells[0].startswith("    ")
        rows.append({"level": level, "cells": [cells[0].strip(), *cells[1:]]})
    return {"headers": list(disp.columns), "rows": rows}


def _reproduction_context(result: ReproductionResult) -> dict[str, Any]:
    from coachstats.trials.registry import get_trial

    frame = result.to_frame()
    trials = []
    for name in result.trials:
        trial = get_trial(name)
        rows = []
        for r in frame[frame["trial"] == name].to_dict("records"):
            label = str(r["outcome"])
            if r["adjusted"] and "adjusted" not in label:
                label += " (adjusted)"
            verdict = str(r["verdict"])
            rows.append(
                {
                    "target": str(r["target"]),
                    "outcome": label,
                    "published": [
                        str(r[f"published_{c}"])
                        for c in ("coaching", "usual_care", "difference", "p")
                    ],
                    "reproduced": [
                        str(r[f"reproduced_{c}"])
                        for c in ("coaching", "usual_care", "difference", "p")
                    ],
                    "verdict": verdict,
                    "verdict_class": verdict.split(" (")[0].replace(" ", "-"),
                    "note": str(r["note"]),
                }
            )
        trials.append({"title": trial.title, "citation": trial.citation.text(), "rows": rows})
    counts = result.counts()
    sens = None
    if result.sensitivity is not None and not result.sensitivity.empty:
        s = result.sensitivity
        sens = [
            {
                "trial": str(r["trial"]),
                "target": str(r["target"]),
                "analysis": str(r["analysis"]),
                "coaching": str(r["coaching"]),
                "usual_care": str(r["usual_care"]),
                "estimate": _estimate_text(r),
                "p": str(r["p"]),
                "note": str(r["note"]),
            }
            for r in s.to_dict("records")
        ]
    return {
        "trials": trials,
        "summary": f"{len(result.targets)} targets: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f" ({result.source})",
        "ok": result.ok,
        "sensitivity": sens,
    }


def _finite(x: Any) -> bool:
    """A real number that is not NaN or infinite (``pd.NA`` and None are not)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _value_text(x: Any, estimand: str) -> str:
    """A number as the report prints it: risk differences and proportions in percent (1 decimal),
    everything else (ratios, means, mean differences) with 2 decimals; missing as ``""``."""
    if not _finite(x):
        return ""
    scale, d = (100.0, 1) if ("risk difference" in estimand or "proportion" in estimand) else (1, 2)
    text = f"{scale * float(x):.{d}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _interval_text(estimate: Any, low: Any, high: Any, estimand: str) -> str:
    """``"12.1 (2.2 to 22.0)"`` (see :func:`_value_text`); the interval only when it is finite."""
    text = _value_text(estimate, estimand)
    if text and _finite(low) and _finite(high):
        text += f" ({_value_text(low, estimand)} to {_value_text(high, estimand)})"
    return text


def _estimate_text(row: Mapping[Any, Any]) -> str:
    estimand = str(row.get("estimand"))
    text = _interval_text(
        row.get("estimate", math.nan), row.get("conf_low"), row.get("conf_high"), estimand
    )
    return f"{estimand} {text}" if text else ""


# --------------------------------------------------------------------------- evaluation context


@dataclass(frozen=True)
class _Cell:
    """A table cell: its text, right-aligned when a number, an optional tooltip and CSS class."""

    text: str
    num: bool = False
    title: str = ""
    cls: str = ""

    @property
    def classes(self) -> str:
        return " ".join(c for c in ("num" if self.num else "", self.cls) if c)


@dataclass(frozen=True)
class _HtmlRow:
    cells: tuple[_Cell, ...]
    data: Mapping[str, str] = field(default_factory=dict)  # data-* attributes


@dataclass(frozen=True)
class _HtmlTable:
    cls: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[_HtmlRow, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Part:
    """A subsection of the evaluation: a table, a list, a figure and notes (each optional)."""

    id: str
    heading: str
    intro: str = ""
    table: _HtmlTable | None = None
    items: tuple[str, ...] = ()
    items_cls: str = ""
    figure: Figure | None = None
    notes: tuple[str, ...] = ()


def _num(text: str, **kw: Any) -> _Cell:
    return _Cell(text, num=True, **kw)


def _p_text(p: Any) -> str:
    return format_p(float(p)) if _finite(p) else ""


def _count(x: Any) -> str:
    return (
        "" if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else str(int(x))
    )


def _row_notes(frame: pd.DataFrame, trial_name: Any) -> tuple[str, ...]:
    """The distinct notes of a table's rows: ``"<outcome> (<trial>): <note>"``."""
    return tuple(
        dict.fromkeys(
            f"{r['outcome']} ({trial_name(r['trial'])}): {r['note']}"
            for r in frame.to_dict("records")
            if r["note"]
        )
    )


def _effects_table(frame: pd.DataFrame) -> _HtmlTable:
    """Two-arm: the program's effect, the published one, their difference test and the verdict."""
    from coachstats.tasks.evaluate import trial_name

    rows, borderline = [], False
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        diff_est = est if r["difference_scale"] == "difference" else "ratio"
        p_cell = _num(_p_text(r["p_value"]))
        if r["borderline"]:
            borderline = True
            lo, hi = sorted((r["p_value_low"], r["p_value_high"]))
            p_cell = _num(
                p_cell.text + " \N{DAGGER}",
                title=f"P {format_p(lo)} to {format_p(hi)} over the rounding of the printed P",
            )
        verdict = str(r["verdict"])
        cells = (
            _Cell(trial_name(r["trial"])),
            _Cell(str(r["outcome"])),
            _Cell(est),
            _num(f"{_count(r['program_n1'])} vs {_count(r['program_n2'])}"),
            _num(
                _interval_text(
                    r["program_estimate"], r["program_conf_low"], r["program_conf_high"], est
                )
            ),
            _num(
                _interval_text(
                    r["published_estimate"], r["published_conf_low"], r["published_conf_high"], est
                ),
                title=str(r["published_se_method"]),
            ),
            _num(
                _interval_text(
                    r["difference"], r["difference_conf_low"], r["difference_conf_high"], diff_est
                )
            ),
            p_cell,
            _num(_p_text(r["p_holm"])),
            _Cell(verdict, title=str(r["note"]), cls="verdict-" + verdict.replace(" ", "-")),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"], "target": r["target"], "estimand": est}))
    notes = [
        "Risk differences, and differences between them, in percentage points; odds ratios "
        "and their ratio (program / published); mean differences, and differences between "
        "them, in the outcome's unit. The tooltip of a published figure says how its standard "
        "error was reconstructed."
    ]
    if borderline:
        notes.append(
            "\N{DAGGER} Borderline: the verdict flips within the rounding range of the printed P "
            "(the range is the tooltip)."
        )
    return _HtmlTable(
        "comparison",
        "The program's effect vs each published trial: z test of the difference of independent "
        "estimates",
        (
            "Trial",
            "Outcome",
            "Estimand",
            "n (coaching vs usual care)",
            "Program (95% CI)",
            "Published (95% CI)",
            "Difference or ratio (95% CI)",
            "P",
            "P (Holm)",
            "Verdict",
        ),
        tuple(rows),
        (*notes, *_row_notes(frame, trial_name)),
    )


def _arms_table(frame: pd.DataFrame) -> _HtmlTable:
    """Single-arm: the program's figure beside the published arms, with the one-sample tests."""
    from coachstats.tasks.evaluate import trial_name

    rows = []
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        position = str(r["position"]) or "not analysed"
        cls = (
            "verdict-not-analysed"
            if not r["position"]
            else "verdict-differs"
            if r["differs_from_coaching"]
            else "verdict-consistent"
        )
        cells = (
            _Cell(trial_name(r["trial"])),
            _Cell(str(r["outcome"])),
            _num(_count(r["n"])),
            _num(_interval_text(r["estimate"], r["conf_low"], r["conf_high"], est)),
            _num(_value_text(r["published_coaching"], est)),
            _num(_value_text(r["published_usual_care"], est)),
            _num(_p_text(r["p_vs_coaching"])),
            _num(_p_text(r["p_exact_vs_coaching"])),
            _num(_p_text(r["p_vs_usual_care"])),
            _num(_p_text(r["p_exact_vs_usual_care"])),
            _Cell(position, title=str(r["note"]), cls=cls),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"], "target": r["target"]}))
    return _HtmlTable(
        "arm-comparison",
        "The program (every patient coached) beside the published coaching and usual-care arms",
        (
            "Trial",
            "Outcome",
            "n",
            "Program (95% CI)",
            "Published coaching",
            "Published usual care",
            "P vs coaching",
            "P vs coaching (exact)",
            "P vs usual care",
            "P vs usual care (exact)",
            "Position",
        ),
        tuple(rows),
        (
            "Proportions in percent, means in the outcome's unit. P: one-sample score test "
            "(proportions) or t test (means) against the published arm's figure; exact: the "
            "exact binomial test. Position: where the program's 95% CI lies relative to the two "
            "published figures.",
            *_row_notes(frame, trial_name),
        ),
    )


def _pooled_table(frame: pd.DataFrame) -> _HtmlTable:
    rows = []
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        cells = (
            _Cell(str(r["outcome"])),
            _Cell(est),
            _Cell(str(r["studies"])),
            _num(str(r["k"])),
            _num(_interval_text(r["estimate"], r["conf_low"], r["conf_high"], est)),
            _num(
                _interval_text(r["fixed_estimate"], r["fixed_conf_low"], r["fixed_conf_high"], est)
            ),
            _num(f"{r['q']:.2f} ({r['q_df']})"),
            _num(_p_text(r["q_p_value"])),
            _num(f"{100 * r['i2']:.0f}%"),
            _num(f"{r['tau2']:.3g}"),
        )
        rows.append(_HtmlRow(cells, {"outcome": str(r["outcome"]), "estimand": est}))
    return _HtmlTable(
        "pooled",
        "The program and the published trial(s) pooled, with Cochran's Q and I\N{SUPERSCRIPT TWO}",
        (
            "Outcome",
            "Estimand",
            "Estimates",
            "k",
            "Random effects, DerSimonian-Laird (95% CI)",
            "Fixed effect (95% CI)",
            "Q (df)",
            "P (Q)",
            "I\N{SUPERSCRIPT TWO}",
            "\N{GREEK SMALL LETTER TAU}\N{SUPERSCRIPT TWO}",
        ),
        tuple(rows),
        (
            "Pooled risk differences in percentage points; \N{GREEK SMALL LETTER TAU}"
            "\N{SUPERSCRIPT TWO} on the pooling scale (proportions, log odds ratios, the "
            "outcome's unit).",
        ),
    )


def _case_mix_table(frame: pd.DataFrame) -> _HtmlTable:
    from coachstats.tasks.evaluate import trial_name

    rows = []
    for r in frame.to_dict("records"):
        share = r["metric"] != "SMD"
        value = (
            f"{100 * r['program_value']:.1f} %"
            if share
            else f"{r['program_value']:.1f}"
            + (f" (SD {r['program_sd']:.1f})" if _finite(r["program_sd"]) else "")
        )
        cells = (
            _Cell(trial_name(r["trial"])),
            _Cell(str(r["characteristic"])),
            _num(value),
            _num(_count(r["program_n"])),
            _num(str(r["published_text"])),
            _Cell(str(r["metric"])),
            _num(f"{r['difference']:+.2f}" if _finite(r["difference"]) else ""),
            _Cell("material" if r["material"] else "", cls="failed" if r["material"] else ""),
            _Cell(str(r["source"])),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"]}))
    return _HtmlTable(
        "case-mix",
        "Baseline of the program vs each trial's published baseline",
        (
            "Trial",
            "Characteristic",
            "Program",
            "n",
            "Published",
            "Metric",
            "Difference",
            "Material",
            "Published figure",
        ),
        tuple(rows),
    )


def _standardized_table(frame: pd.DataFrame) -> _HtmlTable:
    from coachstats.tasks.evaluate import trial_name

    rows = []
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        cells = (
            _Cell(trial_name(r["trial"])),
            _Cell(str(r["outcome"])),
            _Cell(est),
            _num(_value_text(r["crude"], est)),
            _num(_interval_text(r["standardized"], r["conf_low"], r["conf_high"], est)),
            _Cell(str(r["covariates"])),
            _num(_count(r["reference_n"])),
            _num(_value_text(r["published"], est)),
            _num(_p_text(r["difference_p_value"])),
            _Cell(str(r["position"])),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"], "target": r["target"]}))
    return _HtmlTable(
        "standardized",
        "The program's figures standardized to each trial's baseline distribution",
        (
            "Trial",
            "Outcome",
            "Estimand",
            "Crude",
            "Standardized (95% CI)",
            "Adjusted for",
            "Reference n",
            "Published",
            "P vs published",
            "Position",
        ),
        tuple(rows),
        (
            "Proportions and risk differences in percent; the reference is the patients of the "
            "trial's synthetic cohort with the outcome.",
            *_row_notes(frame, trial_name),
        ),
    )


def _tracking_table(metrics: ProgramMetrics) -> _HtmlTable:
    def fmt(m: Metric, x: float) -> str:
        if not _finite(x):
            return ""
        return f"{100 * x:.0f} %" if m.percent else f"{x:.3g}"

    rows = []
    for m in metrics.metrics:
        value = fmt(m, m.value)
        if _finite(m.conf_low) and _finite(m.conf_high):
            value += f" ({fmt(m, m.conf_low)} to {fmt(m, m.conf_high)})"
        cells = (
            _Cell(m.label),
            _num(value),
            _num(str(m.n) if m.n else ""),
            _Cell(m.benchmark_text),
            _Cell(m.status),
            _Cell(m.note),
        )
        rows.append(_HtmlRow(cells, {"key": m.key}))
    extra = metrics.encounters.summary().splitlines() if metrics.encounters is not None else []
    return _HtmlTable(
        "tracking",
        "Program tracking: the practice brief's indicators",
        ("Indicator", "Value (95% CI)", "n", "Yardstick", "Status", "Note"),
        tuple(rows),
        (*extra, *metrics.notes),
    )


def _forest_part(result: EvaluationResult, make: Any, fmt: ImageFormat) -> _Part:
    """The forest figure of :func:`coachstats.tasks.evaluate.evaluation_figure`, embedded."""
    caption = (
        "Each outcome's effect in the published trial(s) and in the program, with 95% CIs: the "
        "risk differences in one panel, each mean difference in its own (their units differ)."
        if result.design == "two-arm"
        else "Each outcome's published coaching and usual-care figures and the program's, with "
        "95% CIs (a published arm without a printed n has none): the proportions in one panel, "
        "each mean in its own."
    )
    try:
        figure = _embed(make(), fmt, "Forest plot: the program and the published trials", caption)
    except CoachstatsError as exc:
        return _Part("forest", "Forest plot", notes=(f"not drawn: {exc}",))
    return _Part("forest", "Forest plot", figure=figure)


def _evaluation_context(report: Report, result: EvaluationResult) -> dict[str, Any]:
    """The evaluation section: verdict, comparison table, forest, pooled, case mix, tracking."""
    data = result.report_data()
    tables: Mapping[str, pd.DataFrame] = data["tables"]
    two_arm = result.design == "two-arm"
    what = "published figures" if two_arm else "published coaching arms"
    verdict = (
        f"no outcome differs from the {what}"
        if result.ok
        else f"{len(result.findings())} outcome(s) differ from the {what}"
    )
    parts: list[_Part] = []
    outcomes = tables["outcomes"]
    if not outcomes.empty:
        parts.append(
            _Part(
                "comparison",
                "Comparison with the published trials",
                table=_effects_table(outcomes) if two_arm else _arms_table(outcomes),
                items=tuple(data["verdicts"]),
                items_cls="verdicts",
            )
        )
    if report.figures:
        parts.append(_forest_part(result, data["figures"]["forest"], report.image_format))
    if not tables["heterogeneity"].empty:
        parts.append(
            _Part(
                "pooled",
                "Pooled estimates and heterogeneity",
                table=_pooled_table(tables["heterogeneity"]),
            )
        )
    if result.case_mix:
        material = list(dict.fromkeys(c.characteristic for c in result.case_mix if c.material))
        intro = (
            "The program's baseline differs materially on " + _join(material) + "; see the "
            "standardized comparison."
            if material
            else "No baseline characteristic differs materially."
        )
        parts.append(
            _Part(
                "case-mix",
                "Case mix",
                intro=intro,
                table=_case_mix_table(tables["case_mix"]),
                items=tuple(c.sentence() for c in result.case_mix),
                items_cls="case-mix-notes",
            )
        )
    if result.standardized:
        parts.append(
            _Part(
                "standardized",
                "Standardized to each trial's baseline",
                table=_standardized_table(tables["standardized"]),
                items=tuple(s.sentence() for s in result.standardized),
                items_cls="standardized-notes",
            )
        )
    if result.tracking is not None:
        parts.append(_Part("tracking", "Program tracking", table=_tracking_table(result.tracking)))
    if result.notes:
        parts.append(_Part("evaluation-notes", "Notes", items=result.notes, items_cls="notes"))
    return {
        "header": result.sentence(),
        "single_arm": not two_arm,
        "ok": result.ok,
        "verdict": verdict,
        "parts": parts,
    }


def _versions() -> list[tuple[str, str]]:
    import coachstats

    rows = [("coachstats", coachstats.__version__), ("Python", platform.python_version())]
    for mod in ("numpy", "pandas", "scipy", "matplotlib"):
        try:
            rows.append((mod, str(importlib.import_module(mod).__version__)))
        except ImportError:  # pragma: no cover - all are dependencies
            continue
    return rows


def _context(report: Report) -> dict[str, Any]:
    sections = []
    for s in report.sections:
        consort = _consort_figure(s, report.image_format) if report.figures else None
        sections.append(
            {
                "name": s.name,
                "design": [list(r) for r in s.design],
                "flow": _flow_context(s),
                "consort_figure": consort,
                "baseline": _baseline_context(s),
                "outcomes": _outcome_context(s),
                "figures": (
                    _section_figures(s, report.image_format, forests=report.evaluation is None)
                    if report.figures
                    else []
                ),
                "methods": [*methods_text(s.specs, labels=s.spec_labels), *s.methods],
                "failures": [list(f) for f in s.failures],
                "files": [list(f) for f in s.files],
                "notes": list(s.notes),
            }
        )
    return {
        "title": report.title,
        "sections": sections,
        "reproduction": (
            _reproduction_context(report.reproduction) if report.reproduction is not None else None
        ),
        "evaluation": (
            _evaluation_context(report, report.evaluation)
            if report.evaluation is not None
            else None
        ),
        "versions": _versions(),
        "seeds": [list(s) for s in report.seeds],
    }


# --------------------------------------------------------------------------- render and write


def build_report(report: Report) -> str:
    """Render a :class:`Report` to one self-contained HTML document (jinja2, autoescaped).

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats import load_trial
    >>> from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan
    >>> td = load_trial(pd.DataFrame({"patient_id": range(6), "arm": ["coaching", "usual_care"] * 3,
    ...     "hba1c_0": [9.0, 9.5, 10.0, 8.8, 9.9, 9.4], "hba1c_6": [7.9, 9.4, 8.6, 9.0, 8.8, 9.3]}))
    >>> plan = run_plan(td, AnalysisPlan([AnalysisSpec("change_hba1c", "t_test")], goals="peer"))
    >>> html = build_report(report_from_analysis(td, plan, goals="peer", figures=False))
    >>> html.startswith("<!DOCTYPE html>"), "<script" in html, 'id="outcomes"' in html
    (True, False, True)
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("coachstats.present.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**_context(report))


def write_report(
    path: str | Path,
    report: Report,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Render ``report`` and write it atomically with :func:`coachstats.data.outputs.write_atomic`.

    Raises
    ------
    OutputError
        ``path`` exists and ``force`` is False, or ``path`` is one of ``inputs``.
    """
    from coachstats.data.outputs import write_atomic

    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise OptionError(f"the report is HTML; give a path ending in .html, got {path}")
    return write_atomic(path, build_report(report), force=force, inputs=inputs)

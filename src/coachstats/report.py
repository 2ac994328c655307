"""HTML report: one self-contained file with the design, flow, tables, figures and methods.

A :class:`Report` holds what the report shows -- result objects, not text --
and :func:`build_report` renders it with the jinja2 template
``coachstats/templates/report.html.j2`` (autoescaped: every column name, site
name or label from the data is escaped). The file is self-contained: the
figures of :mod:`coachstats.plots` are embedded as base64 PNG (or SVG)
``data:`` URIs and the style sheet is inline; there are no scripts and no
external URLs, so it opens offline and can be attached to an e-mail.

Sections
--------
========================  ====================================================
Trial design              the registry's design and citation (reproduction) or
                          the design read from the data (analysis)
CONSORT flow              :func:`~coachstats.plots.plot_consort` and the
                          :class:`~coachstats.flow.Flow` table per endpoint
Baseline characteristics  Table 1 by arm with SMDs (:mod:`coachstats.table1`)
Outcomes                  :func:`coachstats.tables.publication_table`
Figures                   :func:`~coachstats.plots.plot_by_arm`,
                          :func:`~coachstats.plots.plot_changes`,
                          :func:`~coachstats.plots.plot_forest`
Published vs reproduced   :meth:`ReproductionResult.to_frame` with verdicts,
                          and the sensitivity table when it was run
Methods                   one sentence per :class:`~coachstats.analysis.AnalysisSpec`
Provenance                package versions, data files with SHA-256, seeds
========================  ====================================================

Two entry points build a :class:`Report`: :func:`report_from_reproduction`
(``coachstats reproduce --report``) and :func:`report_from_analysis`
(``coachstats analyze --report``); :func:`write_report` writes it atomically.

Examples
--------
>>> from coachstats.analysis import AnalysisSpec
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

from coachstats.analysis import DEFAULT_MI_SEED, AnalysisSpec, PlanResult
from coachstats.errors import CoachstatsError, OptionError, check_option
from coachstats.flow import Flow
from coachstats.goals import GoalSet
from coachstats.results import ComparisonResult
from coachstats.table1 import BaselineTable, baseline_table
from coachstats.tables import headers, publication_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from coachstats.reproduce import ReproductionResult
    from coachstats.trialdata import TrialData
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
    >>> from coachstats.analysis import AnalysisSpec
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
    >>> from coachstats.analysis import AnalysisSpec
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


def _flow_endpoint(flow: Flow | None, specs: Sequence[AnalysisSpec]) -> str | None:
    if flow is None or flow.endpoints.empty:
        return None
    have = set(flow.endpoints["endpoint"].astype(str))
    for spec in specs:
        if spec.method != "describe" and spec.outcome in have:
            return spec.outcome
    return sorted(have)[0]


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
        flow = td.flow
        if goals is not None:
            try:
                flow = td.flow_for(goals)
            except CoachstatsError as exc:
                notes.append(f"per-endpoint flow not available: {exc}")
        try:
            table1 = _baseline(td.patients, baseline)
        except CoachstatsError as exc:
            notes.append(f"baseline table not available: {exc}")
    return DataSection(
        name=name,
        design=design,
        trials=trials,
        flow=flow,
        flow_endpoint=_flow_endpoint(flow, plan.specs),
        baseline=table1,
        results=tuple(results),
        labels=tuple(labels),
        specs=plan.specs,
        spec_labels=dict(spec_labels),
        failures=failures,
        files=files,
        notes=tuple(notes),
    )


def _data_design(td: TrialData, followup: int | None = None) -> tuple[tuple[str, str], ...]:
    p = td.patients
    arms = td.flow.randomized
    rows = [
        ("Data", td.source),
        ("Randomized", f"{td.n} (" + ", ".join(f"{k} {v}" for k, v in arms.items()) + ")"),
    ]
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
    rows.append(
        (
            "Randomized",
            f"{d.n_randomized} (" + ", ".join(f"{k} {v}" for k, v in d.arms.items()) + ")",
        )
    )
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
    from coachstats.io import load_trial
    from coachstats.trialdata import TrialData

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
    """A report of :func:`coachstats.reproduce.reproduce`: published vs reproduced, with context.

    Parameters
    ----------
    result : ReproductionResult
        What :func:`~coachstats.reproduce.reproduce` returned.
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
    from coachstats._paths import bundled_table
    from coachstats.io import load_trial
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
        From :func:`coachstats.analysis.run_plan` on ``trial_data``.
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
    from coachstats.analysis import resolve_goals
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


# --------------------------------------------------------------------------- figures


def _embed(ax: Axes | Sequence[Axes], fmt: ImageFormat, title: str, caption: str) -> Figure:
    """Save the figure of ``ax`` with :func:`~coachstats.plots.save_figure`, close it, encode it."""
    import matplotlib.pyplot as plt

    from coachstats.plots import save_figure

    first = ax if not isinstance(ax, Sequence) else ax[0]
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


def _section_figures(section: DataSection, fmt: ImageFormat) -> list[Figure]:
    """Bars of the binary outcomes, mean changes, and one forest plot per effect measure.

    The figures are sized for the report (a page, not a journal column): the change panels
    get 1.9 in each and the forest plots the double-column width, with wrapped labels.
    """
    import numpy as np

    from coachstats.plots import plot_by_arm, plot_changes, plot_forest
    from coachstats.plots._common import new_figure
    from coachstats.plots.style import DOUBLE_COLUMN, SINGLE_COLUMN

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
    by_estimand: dict[str, list[tuple[ComparisonResult, str]]] = {}
    for r, lab in pairs:
        if math.isfinite(r.conf_low) and math.isfinite(r.conf_high):
            by_estimand.setdefault(r.estimand, []).append((r, lab))
    for estimand, items in by_estimand.items():
        with new_figure((DOUBLE_COLUMN, 0.9 + 0.3 * len(items))) as fig:
            ax = plot_forest(
                [r for r, _ in items],
                labels=[_wrap(lab, 45) for _, lab in items],
                ax=fig.add_subplot(),
            )
        figures.append(
            _embed(
                ax,
                fmt,
                f"Forest plot: {estimand}",
                f"{estimand.capitalize()} (coaching vs usual care) with its 95% CI for every "
                "comparison; mean differences are on the scale of each outcome.",
            )
        )
    return figures


def _consort_figure(section: DataSection, fmt: ImageFormat) -> Figure | None:
    from coachstats.plots import plot_consort
    from coachstats.plots._common import OUTCOME_LABELS

    if section.flow is None:
        return None
    ep = section.flow_endpoint
    ax = plot_consort(section.flow, endpoint=ep)
    name = OUTCOME_LABELS.get(ep, ep) if ep else ""
    return _embed(
        ax,
        fmt,
        "CONSORT flow" + (f": {name}" if name else ""),
        "Randomized, lost to follow-up, excluded from the analysis with the reason, and analysed, "
        "per arm.",
    )


# --------------------------------------------------------------------------- template context


def _flow_context(section: DataSection) -> dict[str, Any] | None:
    """The flow tables: the CONSORT stages of the drawn endpoint, and every endpoint's statuses."""
    from coachstats.plots.consort import REASON_LABELS
    from coachstats.plots.style import ARM_LABELS

    flow = section.flow
    if flow is None:
        return None
    arms = list(flow.randomized)

    def row(label: str, counts: Mapping[str, int]) -> dict[str, Any]:
        cells = [int(counts.get(a, 0)) for a in arms]
        return {"label": label, "cells": cells, "total": sum(cells)}

    stages = [
        row("Randomized", flow.randomized),
        row("No follow-up measurement", flow.lost_to_followup),
    ]
    ep = section.flow_endpoint
    endpoints = []
    if ep is not None and not flow.endpoints.empty:
        excluded = flow.excluded(ep)
        for reason_key, grp in excluded.groupby("status", sort=False, observed=True):
            status = str(reason_key)
            reason = REASON_LABELS.get(status, status.capitalize())
            stages.append(row(f"Not analysed: {reason}", _arm_counts(grp)))
        stages.append(row("Analysed", flow.analysed(ep)))
        used = {s.outcome for s in section.specs}
        t = flow.endpoints
        t = t[t["endpoint"].astype(str).isin(used) & (t["n"] > 0)]
        for keys, grp in t.groupby(["endpoint", "status"], sort=False, observed=True):
            name, status = (str(k) for k in keys)
            endpoints.append({"endpoint": name, "status": status, **row("", _arm_counts(grp))})
    return {
        "arms": [ARM_LABELS.get(a, a) for a in arms],
        "total": flow.total,
        "endpoint": ep,
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


def _estimate_text(row: Mapping[Any, Any]) -> str:
    est = row.get("estimate", math.nan)
    if not isinstance(est, float) or not math.isfinite(est):
        return ""
    scale, d = (100.0, 1) if str(row.get("estimand")) == "risk difference" else (1.0, 2)
    text = f"{row['estimand']} {scale * est:.{d}f}"
    lo, hi = row.get("conf_low", math.nan), row.get("conf_high", math.nan)
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" ({scale * lo:.{d}f} to {scale * hi:.{d}f})"
    return text


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
                "figures": _section_figures(s, report.image_format) if report.figures else [],
                "methods": methods_text(s.specs, labels=s.spec_labels),
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
    >>> from coachstats.analysis import AnalysisPlan, AnalysisSpec, run_plan
    >>> td = load_trial(pd.DataFrame({"patient_id": range(6), "arm": ["coaching", "usual_care"] * 3,
    ...     "hba1c_0": [9.0, 9.5, 10.0, 8.8, 9.9, 9.4], "hba1c_6": [7.9, 9.4, 8.6, 9.0, 8.8, 9.3]}))
    >>> plan = run_plan(td, AnalysisPlan([AnalysisSpec("change_hba1c", "t_test")], goals="peer"))
    >>> html = build_report(report_from_analysis(td, plan, goals="peer", figures=False))
    >>> html.startswith("<!DOCTYPE html>"), "<script" in html, 'id="outcomes"' in html
    (True, False, True)
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("coachstats", "templates"),
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
    """Render ``report`` and write it atomically with :func:`coachstats.outputs.write_atomic`.

    Raises
    ------
    OutputError
        ``path`` exists and ``force`` is False, or ``path`` is one of ``inputs``.
    """
    from coachstats.outputs import write_atomic

    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise OptionError(f"the report is HTML; give a path ending in .html, got {path}")
    return write_atomic(path, build_report(report), force=force, inputs=inputs)

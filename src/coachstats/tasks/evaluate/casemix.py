r"""Case mix and standardization: the program's baseline next to a trial's, and figures standardized to it.

:func:`case_mix` compares the program's baseline characteristics with the
trial's printed baseline (SMD for means, Cohen's h for shares; a
:class:`~coachstats.tasks.evaluate.rows.CaseMixItem` each).
:func:`~coachstats.compare.standardization.standardize` (re-exported here) is
regression-based direct standardization of a program's outcome to a reference
population, and :func:`standardized_comparison` applies it to a benchmark with
the trial's synthetic cohort (:mod:`coachstats.synthetic`) as the reference.

Examples
--------
>>> from coachstats.synthetic import hcpc_cohort
>>> [i.metric for i in case_mix(hcpc_cohort().patients, "hcpc")][:2]
['SMD', "Cohen's h"]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from coachstats.compare.meta import difference_test
from coachstats.compare.standardization import standardize
from coachstats.compare.summaries import combined_mean_sd
from coachstats.core.errors import (
    AnalysisError,
    CoachstatsError,
    ConvergenceError,
    DataWarning,
    OptionError,
)
from coachstats.core.formatting import join_words
from coachstats.core.goals import GoalSet
from coachstats.core.vocabulary import column_phrase
from coachstats.data.levels import canonical_levels, levels_advice
from coachstats.data.trialdata import TrialData
from coachstats.derive.endpoints import derive_endpoints
from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan, subset_names
from coachstats.tasks.evaluate.plans import adapt_spec, followup_for, population_query
from coachstats.tasks.evaluate.published import Benchmark, PublishedOutcome, trial_name
from coachstats.tasks.evaluate.rows import (
    CASE_MIX_THRESHOLD,
    PROGRAM,
    CaseMixItem,
    StandardizedComparison,
)
from coachstats.trials import Mean, Proportion
from coachstats.trials.registry import Target, Trial, get_trial

__all__ = [
    "CASE_MIX_TARGETS",
    "SEPARATED",
    "STANDARDIZE_COVARIATES",
    "above_goal",
    "case_mix",
    "case_mix_with_notes",
    "standardize",
    "standardized_comparison",
]

#: Baseline targets of each trial compared in the case-mix check (registry ids).
CASE_MIX_TARGETS: Mapping[str, tuple[str, ...]] = {
    "hcpc": (
        "age",
        "female",
        "spanish",
        "latino",
        "african_american",
        "bmi",
        "baseline_hba1c",
        "baseline_ldl",
        "baseline_sbp",
        "pcp_visits",
    ),
    "peer": ("baseline_hba1c",),
}

#: Baseline covariates of the standardization model, per outcome. ``<m>_above_goal`` is the
#: baseline minus the patient's own goal (:func:`above_goal`): the LDL and blood-pressure
#: goals depend on diabetes, so the raw baseline means different things in the two groups.
STANDARDIZE_COVARIATES: Mapping[str, tuple[str, ...]] = {
    "composite_any": ("age", "diabetes", "n_uncontrolled"),
    "composite_all": ("age", "diabetes", "n_uncontrolled"),
    "at_goal_hba1c": ("age", "hba1c_0"),
    "at_goal_ldl": ("age", "diabetes", "ldl_above_goal"),
    "at_goal_sbp": ("age", "diabetes", "sbp_above_goal"),
    "change_hba1c": ("age", "hba1c_0"),
    "hba1c_drop_ge1": ("age", "hba1c_0"),
    "hba1c_lt_7_5": ("age", "hba1c_0"),
    "change_ldl": ("age", "ldl_0"),
    "change_sbp": ("age", "sbp_0"),
}

#: Why a standardized figure has no estimate when its logistic fit does not converge (said
#: without the fit's own advice to drop a covariate: these covariates are fixed, not chosen).
SEPARATED = (
    "no estimate: the model behind the standardization did not converge, most often because "
    "the outcome is (quasi-)perfectly separated by the arm or a baseline covariate (too few "
    "patients with, or without, the outcome in part of the program)"
)


def _published_baseline(trial: Trial, target: Target) -> tuple[float, float, str, bool]:
    """(value, sd, text, is_share) of a printed baseline target, arms combined when split.

    Read from the registry's structured values (:meth:`coachstats.trials.Trial.published_values`);
    per-arm means are combined with :func:`coachstats.compare.summaries.combined_mean_sd`.
    """
    values = trial.published_values(target.id)
    if any(v is None for v in values):
        raise OptionError(f"{trial.name}:{target.id}: a baseline group has no printed value")
    is_share = all(isinstance(v, Proportion) for v in values)
    if len(values) == 1:
        v = values[0]
        if isinstance(v, Proportion):
            return v.share, math.nan, v.text, True
        if isinstance(v, Mean):
            return v.mean, v.sd, v.text, False
        raise OptionError(f"{trial.name}:{target.id}: not a printed share or mean")
    n = [getattr(v, "n", None) for v in values]
    if any(k is None for k in n):
        raise OptionError(
            f"{trial.name}:{target.id}: per-arm baseline without sizes to combine them"
        )
    sizes = [int(k) for k in n if k is not None]
    if is_share:
        shares = [v.share for v in values if isinstance(v, Proportion)]
        mean = sum(k * x for k, x in zip(sizes, shares, strict=True)) / sum(sizes)
        return mean, math.nan, f"{100 * mean:.1f} % (arms combined)", True
    means = [v for v in values if isinstance(v, Mean)]
    mean, sd = combined_mean_sd([m.mean for m in means], [m.sd for m in means], sizes)
    texts = " and ".join(m.text for m in means)
    return mean, sd, f"{mean:.2f} ({sd:.2f}) (arms {texts} combined)", False


def _std_difference(prog: float, pub: float, pub_sd: float, share: bool) -> tuple[str, float]:
    if share:
        p = min(max(prog, 0.0), 1.0)
        return "Cohen's h", 2 * math.asin(math.sqrt(p)) - 2 * math.asin(math.sqrt(pub))
    return "SMD", (prog - pub) / pub_sd if pub_sd > 0 else math.nan


def case_mix(
    data: TrialData | pd.DataFrame,
    trial: str | Trial = "hcpc",
    *,
    threshold: float = CASE_MIX_THRESHOLD,
    eligible_only: bool = True,
) -> tuple[CaseMixItem, ...]:
    """The program's baseline next to the trial's printed baseline (:func:`case_mix_with_notes`).

    What cannot be compared -- a categorical column whose levels do not match
    the published one's -- is said in a :class:`~coachstats.core.errors.DataWarning`.

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> items = case_mix(hcpc_cohort().patients, "hcpc")
    >>> [(i.characteristic, i.material) for i in items][:3]
    [('Age, mean (SD)', False), ('Female', False), ('Spanish-speaking', False)]
    """
    items, notes = case_mix_with_notes(
        data, trial, threshold=threshold, eligible_only=eligible_only
    )
    for n in notes:
        warnings.warn(n, DataWarning, stacklevel=2)
    return items


def _unmatched_levels(values: pd.Series, column: str) -> list[str]:
    allowed = set(canonical_levels(column))
    return sorted({str(v) for v in pd.unique(values.dropna())} - allowed)  # each value once


def case_mix_with_notes(
    data: TrialData | pd.DataFrame,
    trial: str | Trial = "hcpc",
    *,
    threshold: float = CASE_MIX_THRESHOLD,
    eligible_only: bool = True,
) -> tuple[tuple[CaseMixItem, ...], list[str]]:
    r"""The program's baseline next to the trial's printed baseline, and what was not compared.

    Each of the trial's baseline targets (age, female, Spanish-speaking,
    Latino, African American, BMI, baseline labs among those uncontrolled,
    PCP visits for HCPC; baseline HbA1c for the peer trial) is computed on the
    program with the trial's own ``describe`` spec (same subset, e.g. "among
    those uncontrolled") through :func:`~coachstats.plan.run_plan`, and the
    share with diabetes is compared with the trial's (peer: 100 % by
    eligibility; HCPC: not published -- the synthetic cohort's assumed share,
    labelled so). Per-arm printed baselines are combined (n-weighted mean; SD
    with the between-arm variance). Characteristics the program lacks are
    skipped. With ``eligible_only`` the program's patients are those meeting
    the trial's entry criterion (:data:`POPULATIONS`), as in :func:`evaluate`.

    A share of a categorical level (female, Latino...) counts the program's
    patients at that canonical level (:mod:`coachstats.data.levels`: the
    loader maps ``F``, ``Female``, ``woman``... to ``female``). When the
    program's column holds a level that matches none of the canonical ones
    (``1``/``2`` without ``levels=``), the share is not computed -- it would
    read as 0 % -- and the returned notes say which levels and how to map them.

    Rule: SMD :math:`(\bar x - \mu)/\sigma` for means, Cohen's
    :math:`h` for shares; ``material`` when :math:`|\cdot| >` ``threshold``
    (0.2 by default; Austin 2009 uses 0.1 for covariate balance).

    Returns
    -------
    (tuple of CaseMixItem, list of str)
    """
    t = get_trial(trial)
    patients = getattr(data, "patients", data)
    if not isinstance(patients, pd.DataFrame):
        raise OptionError(f"data must be a DataFrame or TrialData, got {type(data).__name__}")
    fu, _ = followup_for(patients.columns, t.design.months)
    population = population_query(t.name, eligible_only)
    specs = []
    published = []
    notes: list[str] = []
    for tid in CASE_MIX_TARGETS.get(t.name, ()):
        target = t.target(tid)
        column = target.analysis.outcome
        if target.analysis.options.get("level") is not None and column in patients.columns:
            bad = _unmatched_levels(patients[column], column)
            if bad:
                notes.append(
                    f"case mix: {target.label} not compared: the program's {column} column has "
                    f"level(s) {', '.join(map(repr, bad))} matching none of "
                    f"{', '.join(canonical_levels(column))}, so its share cannot be counted; "
                    + levels_advice(column, bad)
                )
                continue
        specs.append(
            adapt_spec(target.analysis, t.name, fu, eligible_only=eligible_only, label=tid, by=None)
        )
        published.append((target.label, *_published_baseline(t, target), "printed"))
    if "diabetes" in patients.columns:
        share, source = _diabetes_reference(t)
        specs.append(
            AnalysisSpec(
                "diabetes",
                "describe",
                label="diabetes",
                by=None,
                subset=population,
                options={"stat": "proportion"},
            )
        )
        published.append(("Diabetes", share, math.nan, f"{100 * share:.1f} %", True, source))
    if not specs:
        return (), notes
    table = patients
    if isinstance(data, TrialData) and t.goals is not None and fu is not None:
        try:  # the endpoints the run derived already (subsets such as "n_uncontrolled > 0")
            table = data.derived_endpoints(t.goals, followup=fu)
        except CoachstatsError:
            table = patients
    res = run_plan(table, AnalysisPlan(specs, goals=t.goals), errors="record")
    items = []
    for r, (label, value, sd, text, share, source) in zip(res.results, published, strict=True):
        if r is None or not r.arms or r.arms[0].n == 0:
            continue
        a = r.arms[0]
        if share and value in (0.0, 1.0) and a.value == value:
            continue  # an eligibility criterion (every Peer patient has diabetes): no information
        metric, diff = _std_difference(a.value, value, sd, share)
        items.append(
            CaseMixItem(
                trial=t.name,
                characteristic=label,
                program_value=a.value,
                program_sd=a.sd,
                program_n=a.n,
                published_value=value,
                published_sd=sd,
                published_text=text,
                metric=metric,
                difference=diff,
                source=source,
                threshold=threshold,
                percent=share,
            )
        )
    return tuple(items), notes


def _diabetes_reference(trial: Trial) -> tuple[float, str]:
    if trial.name == "peer":
        return 1.0, "eligibility: HbA1c >= 8.0 % at entry, all with diabetes"
    cohort = _reference_cohort(trial)
    return float(cohort["diabetes"].mean()), "assumed: synthetic HCPC cohort (not published)"


def _reference_cohort(trial: Trial) -> pd.DataFrame:
    """The trial's synthetic cohort (default size and seed: deterministic), as a copy."""
    return _cohort(trial.cohort or trial.name).copy()


@lru_cache(maxsize=2)
def _cohort(name: str) -> pd.DataFrame:
    from coachstats import synthetic

    gen = synthetic.hcpc_cohort if name == "hcpc" else synthetic.peer_cohort
    return gen().patients


def above_goal(frame: pd.DataFrame, goals: GoalSet, measure: str) -> pd.Series:
    """Each patient's baseline ``measure`` minus their own goal (diabetes-specific where the goal is).

    Examples
    --------
    >>> from coachstats.core.goals import HCPC_GOALS
    >>> df = pd.DataFrame({"ldl_0": [130.0, 170.0], "diabetes": [True, False]})
    >>> above_goal(df, HCPC_GOALS, "ldl").tolist()
    [30.0, 10.0]
    """
    th = goals.thresholds[measure]
    diabetes = (
        frame["diabetes"].fillna(False).to_numpy(dtype=bool)
        if "diabetes" in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    goal = np.where(diabetes, th.goal_threshold(True), th.goal_threshold(False))
    base = pd.to_numeric(frame[f"{measure}_0"], errors="coerce").to_numpy(dtype=float)
    return pd.Series(base - goal, index=frame.index)


def _with_distances(frame: pd.DataFrame, goals: GoalSet) -> pd.DataFrame:
    extra = {
        f"{m}_above_goal": above_goal(frame, goals, m)
        for m in goals.measures
        if f"{m}_0" in frame.columns
    }
    return frame.assign(**extra)


def _common_support(
    program: pd.DataFrame, reference: pd.DataFrame, covariates: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """The reference patients inside the program's covariate range, and what was left out.

    A model fitted on the program knows nothing of covariate values its
    patients do not have. A covariate on which every program patient has one
    value (only patients with diabetes) would be dropped from the model and
    its other values predicted as if they were the program's; a continuous
    covariate would be extrapolated along the fitted logit, which can move a
    share far (the single-arm LDL-at-goal figure that went from 0.27 to 0.62,
    docs/evaluate.md). So the reference keeps only the patients inside the
    program's range on every covariate, and the notes say how many were left
    out and why.
    """
    parts = []
    keep = np.ones(len(reference), dtype=bool)
    for c in covariates:
        raw = program[c].dropna()
        values = pd.to_numeric(raw.astype("Float64"), errors="coerce").dropna()
        ref = pd.to_numeric(reference[c].astype("Float64"), errors="coerce")
        if values.empty:
            continue
        lo, hi = float(values.min()), float(values.max())
        inside = ((ref >= lo) & (ref <= hi)).fillna(False).to_numpy(dtype=bool)
        out = float(1.0 - inside[keep].mean()) if keep.any() else 0.0
        if out > 0:
            name = column_phrase(c)
            what = f"{name} {raw.iloc[0]}" if lo == hi else f"{name} {lo:.3g} to {hi:.3g}"
            parts.append(f"{what}: {'< 1' if out < 0.005 else f'{100 * out:.0f}'} %")
        keep &= inside
    if not keep.any():
        raise AnalysisError(
            "no reference patient lies inside the program's covariate range: the program's "
            "patients are too unlike the trial's to standardize to it"
        )
    notes = []
    if parts:
        notes.append(
            f"standardized to the {math.floor(100 * keep.mean()):.0f} % of the trial's reference patients "
            f"inside the program's range ({'; '.join(parts)} left out): predicting for the "
            "others would be extrapolation"
        )
    return reference.loc[keep], notes


def standardized_comparison(
    b: Benchmark,
    po: PublishedOutcome,
    spec: AnalysisSpec,
    td: TrialData,
    trial: Trial,
    single_arm: bool,
    conf_level: float,
) -> StandardizedComparison:
    """The program's figure on benchmark ``b`` standardized to the trial's baseline.

    :func:`standardize` on the program's patients of ``spec`` (its subset and
    follow-up), with the trial's synthetic cohort as the reference
    population, adjusted for :data:`STANDARDIZE_COVARIATES` (those the program
    has). Two-arm programs also get the z test of the standardized effect
    against the published one. A failure is recorded in the row's ``error``;
    extrapolation beyond the program's covariate range (over 5 % of the
    reference) in its ``note``. The reference patients outside the program's
    covariate range (on any covariate, including one on which every program
    patient has the same value) are left out first, said in the note: the
    model cannot speak for them (:func:`_common_support`; the defect behind a
    single-arm LDL-at-goal figure that moved from 0.27 to 0.62,
    docs/evaluate.md).

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> from coachstats.tasks.evaluate.plans import benchmark_spec
    >>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
    >>> b, td = BENCHMARKS[0], hcpc_cohort(n=400, seed=3)
    >>> hcpc = get_trial("hcpc")
    >>> spec, _ = benchmark_spec(b, hcpc, td, False, 12)
    >>> row = standardized_comparison(b, published_outcome(b), spec, td, hcpc, False, 0.95)
    >>> row.result.estimand, row.result.adjusted_for
    ('standardized risk difference', ('age', 'diabetes', 'n_uncontrolled'))
    """
    covs = STANDARDIZE_COVARIATES.get(po.outcome, ("age",))
    goals = trial.goals
    note = ""
    try:
        if goals is None:  # pragma: no cover - every registry trial names its goals
            raise AnalysisError("the trial has no goal set")
        # the endpoints the run derived already; only the columns used are taken (one copy),
        # with what the distances above goal read (baselines, diabetes)
        derived = (
            td.derived_endpoints(goals, followup=spec.followup)
            if isinstance(td, TrialData)
            else derive_endpoints(td.patients, goals, followup=spec.followup)
        )
        names = {
            po.outcome,
            "arm",
            "diabetes",
            *covs,
            *subset_names(spec.subset),
            *(f"{m}_0" for m in goals.measures),
        }
        prog = _with_distances(derived[[c for c in derived.columns if c in names]], goals)
        ref = _with_distances(
            derive_endpoints(_reference_cohort(trial), goals, followup=trial.design.months), goals
        )
        if spec.subset:
            prog = prog.query(spec.subset)
            ref = ref.query(spec.subset)
        missing = [c for c in covs if c not in prog.columns]
        used = [c for c in covs if c in prog.columns and c in ref.columns]
        if missing:
            note = f"program has no {join_words([column_phrase(c) for c in missing])}: not adjusted for it"
        ref = ref.loc[ref[po.outcome].notna().to_numpy()]
        analysed = prog.loc[prog[po.outcome].notna().to_numpy()]
        ref, support = _common_support(analysed, ref, used)
        note = "; ".join(x for x in (note, *support) if x)
        result = standardize(
            prog,
            ref,
            po.outcome,
            covariates=used,
            arm=None if single_arm else "arm",
            conf_level=conf_level,
            reference_name=f"the synthetic {trial_name(trial.name)} cohort",
            label=PROGRAM,
        )
        comparison = None
        if not single_arm:
            pub = po.effect(po.estimands()[0])
            comparison = difference_test(
                result.estimate,
                result.std_error,
                pub.estimate,
                pub.std_error,
                conf_level=conf_level,
            )
        extra = result.extra.get("extrapolated", 0.0)
        if isinstance(extra, float) and extra > 0.05:
            note = "; ".join(
                x
                for x in (
                    note,
                    f"{100 * extra:.0f} % of the reference patients lie outside the program's covariate range (extrapolation)",
                )
                if x
            )
        return StandardizedComparison(
            b.trial,
            b.target,
            po.outcome,
            b.label,
            float(result.extra["crude"]),
            result,
            po,
            comparison,
            note,
            two_arm=not single_arm,
        )
    except (CoachstatsError, KeyError) as exc:
        # the fit's own advice (remove or coarsen a covariate) is no fix here: the covariates
        # of the standardization are fixed (STANDARDIZE_COVARIATES), not the user's choice
        error = SEPARATED if isinstance(exc, ConvergenceError) else str(exc)
        return StandardizedComparison(
            b.trial,
            b.target,
            po.outcome,
            b.label,
            math.nan,
            None,
            po,
            None,
            note,
            error,
            two_arm=not single_arm,
        )

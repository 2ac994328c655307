"""The methods text of a report: one sentence per analysis, and the methods of an evaluation.

:func:`methods_sentence` reads an :class:`~coachstats.plan.AnalysisSpec` (what was
planned); :func:`evaluation_methods` reads the results of an evaluation (what was run).

Examples
--------
>>> from coachstats.plan import AnalysisSpec
>>> methods_sentence(AnalysisSpec("composite_any", "chi_square", options={"correct": False}),
...                  label="One clinical goal")
"One clinical goal: Pearson's chi-square test without continuity correction; complete-case analysis."
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from coachstats.compare.standardization import N_BOOT, SEED
from coachstats.compare.standardization_interval import (
    EPV_DELTA,
    EPV_MIN,
    EXPECTED_DELTA,
    EXPECTED_MIN,
)
from coachstats.core.formatting import format_p, join_words
from coachstats.core.results import ComparisonResult
from coachstats.core.vocabulary import (
    arm_label,
    column_phrase,
    condition_words,
    outcome_label,
)
from coachstats.plan import DEFAULT_MI_SEED, AnalysisSpec
from coachstats.present.tables import methods_note

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult

__all__ = ["evaluation_methods", "methods_sentence", "methods_text"]


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
            f" on the baseline value ({column_phrase(base)})" if base else ""
        )
    if m in ("logistic", "linear"):
        text = f"{m} regression"
        if o.get("estimand"):
            text += f" ({o['estimand']})"
        if o.get("fixed_effects"):
            text += f" with {column_phrase(o['fixed_effects'])} fixed effects"
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
        text = f"a linear mixed model ({fit}) with a random intercept for {column_phrase(spec.cluster)}"
        if o.get("clustered_arm"):
            text += f" in the {_arm(o['clustered_arm'])} arm only (partially nested)"
        return text
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


def _name(spec: AnalysisSpec) -> str:
    """A spec's name: its label, or (when it has none) its outcome's label or phrase."""
    if spec.label != spec.outcome:
        return spec.label
    label = outcome_label(spec.outcome)
    return label if label != spec.outcome else column_phrase(spec.outcome)


def _arm(arm: str) -> str:
    """An arm inside a sentence ("health coaching"; other labels as given)."""
    name = arm_label(arm, "plain")
    return name.lower() if name != arm else arm


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
    LDL at goal: Pearson's chi-square test without continuity correction, among patients at site A; missing values multiply imputed by chained equations (m = 5, seed 1), results pooled with Rubin's rules.
    """
    parts = [_method_phrase(spec)]
    if spec.change_from:
        parts.append(f"of the change from {column_phrase(spec.change_from)}")
    if spec.covariates:
        parts.append("adjusted for " + join_words([column_phrase(c) for c in spec.covariates]))
    if spec.cluster and spec.method != "mixed":
        cluster = column_phrase(spec.cluster)
        text = f"clustered by {cluster}"
        if spec.options.get("singleton_clusters"):
            text += f" (patients without a {cluster} as clusters of one)"
        if spec.options.get("clustered_arm"):
            text += (
                f" in the {_arm(spec.options['clustered_arm'])} arm only (the other arm's "
                "patients as clusters of one)"
            )
        parts.append(text)
    if spec.subset:
        parts.append(f"among patients {condition_words(spec.subset)}")
    if spec.complete_on:
        measured = join_words([column_phrase(c) for c in spec.complete_on])
        parts.append(f"among patients with {measured} measured")
    if spec.timepoints:
        parts.append(f"month {spec.timepoints[0]} vs month {spec.timepoints[1]}")
    return f"{label or _name(spec)}: {', '.join(parts)}; {_missing_phrase(spec)}."


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
    HbA1c drop >= 1 point: Fisher's exact test; complete-case analysis.
    Described without a test (mean (SD), proportion or count by group): age and sex.
    """
    names = dict(labels or {})
    out: list[str] = []
    described: list[str] = []
    for spec in specs:
        label = names.get(spec.label) or _name(spec)
        if spec.method == "describe":
            described.append(label)
        else:
            out.append(methods_sentence(spec, label=label))
    if described:
        out.append(
            "Described without a test (mean (SD), proportion or count by group): "
            + join_words(list(dict.fromkeys(described)))
            + "."
        )
    return out


def _result_methods(label: str, result: ComparisonResult) -> str:
    """One methods sentence read from a result: method, covariates, clustering, exclusions."""
    return f"{label}: {methods_note(result)}"


def _evidence_method(result: EvaluationResult, alpha: str) -> str:
    """How the program was placed against the evidence base (``against="evidence"``)."""
    return (
        "Against the evidence base: the program's effect on each outcome the registry pools "
        "(the change in HbA1c, coaching minus usual care) is estimated with Welch's t test on "
        "the program's patients above the goal at baseline on that measure, at its follow-up "
        "month, and set beside the registry's trials pooled by random effects (REML, "
        "Hartung-Knapp-Sidik-Jonkman interval, prediction interval; the trials, their numbers "
        "and the methods are in the evidence section). The prediction interval is about "
        "comparable programs' true effects; the program's own confidence interval carries its "
        "sampling error, and where it lies against the interval is stated with it. The program "
        "and the pooled estimate are independent estimates: difference = program - pooled, SE "
        "= sqrt(SE_program^2 + SE_pooled^2), SE_pooled the one the Hartung-Knapp interval "
        "implies (its half-width / z). Larger or smaller when the two-sided test of the "
        f"difference has an adjusted P below {alpha}; similar when the two one-sided tests of "
        f"equivalence within the margin have an adjusted P below {alpha}; inconclusive "
        "otherwise. The margin is the smallest difference that matters clinically (HbA1c 0.3 "
        "percentage points), not the pooled effect. These comparisons are adjusted together "
        f"with the others: {result.adjustment_text()}. The program is not pooled with the trials."
    )


def evaluation_methods(result: EvaluationResult) -> tuple[str, ...]:
    """The methods of an evaluation: each program analysis (read from its result), then how the
    program was compared with the published trials (the verdict rules, margins and adjustment,
    regression to the mean, case mix, standardization, as far as the evaluation ran them).

    Parameters
    ----------
    result : EvaluationResult
        What :func:`coachstats.tasks.evaluate.evaluate` returned.

    Returns
    -------
    tuple of str
        The sentences, each once, in order.
    """
    from coachstats.tasks.evaluate import CASE_MIX_THRESHOLD, trial_name

    rows: Sequence[Any] = (
        [e for e in result.effects if e.primary] if result.design == "two-arm" else result.arms
    )
    out = [
        _result_methods(f"{r.label} ({trial_name(r.trial)} analysis)", r.program)
        for r in rows
        if r.program is not None
    ]
    out += [
        _result_methods(f"{e.label} (against the evidence base; {e.population})", e.program)
        for e in result.evidence
        if e.program is not None
    ]
    alpha = format_p(result.alpha)
    verdict_rule = (
        "Each comparison is judged in the outcome's better direction: larger or smaller when "
        "the two-sided test of the difference has an adjusted P below "
        f"{alpha}; similar when the two one-sided tests of equivalence (TOST, Schuirmann "
        "1987) within the margin have an adjusted P below "
        f"{alpha}; inconclusive otherwise, with about how many patients (per arm for a two-arm "
        "program) would settle it. The default margin is the size of the published effect (never below a clinically "
        "important difference for lab changes: HbA1c 0.3 points, SBP 5 mm Hg, LDL 10 mg/dL), so "
        f"a program without effect is called similar in at most {alpha} of evaluations. "
        f"{result.adjustment_text()}."
    )
    if result.design == "two-arm" and result.trials:
        out += [
            "Each trial's published analysis ran on the program's patients with "
            "coachstats.plan.run_plan: the same endpoints, goal thresholds and tests, on the "
            "trial's population and follow-up month (departures are in the notes). The "
            "program's own effect is its coaching arm against its usual-care arm: risk "
            "differences with Wald intervals, odds ratios with Woolf intervals, P against no "
            "difference.",
            "The published standard error is reconstructed from the printed counts, from the "
            "printed means, SDs and sizes (sqrt(s1^2/n1 + s2^2/n2)), or from the printed P value "
            "and estimate (SE = |estimate| / z(1 - P/2)); the source of each is the tooltip of "
            "the published figure.",
            "The program's effect and the published one are compared as independent estimates: "
            "difference = program - published, SE = sqrt(SE_program^2 + SE_published^2) (Altman "
            "and Bland 2003; odds ratios on the log scale, reported as a ratio of odds ratios). "
            + verdict_rule
            + " A verdict that changes within the rounding range of a printed P is marked "
            "borderline. The program is not pooled with the trial it is compared with.",
        ]
    else:
        out.append(
            "Single-arm program: each outcome's share (Wilson score interval) or mean change "
            "(t interval; t test against no change) is a before-after figure without a "
            "concurrent control group. Where patients entered above an HbA1c threshold, the "
            "part regression to the mean alone would produce is estimated from a bivariate "
            "normal model (Barnett et al. 2005) with the program's baseline distribution and a "
            "within-person coefficient of variation of 8.3 % (Gough et al. 2023). The figure is "
            "compared with the published coaching arm (whose SE comes from its printed or "
            "inferred n) as two independent estimates. " + verdict_rule
        )
    if any(e.position is not None for e in result.evidence):
        out.append(_evidence_method(result, alpha))
    if result.case_mix:
        out.append(
            "Case mix: the standardized mean difference (program mean - published mean) / "
            "published SD for means, Cohen's h = 2 arcsin(sqrt(p)) - 2 arcsin(sqrt(p_published)) "
            f"for shares; an absolute value above {CASE_MIX_THRESHOLD} is a material difference."
        )
    if result.standardized:
        out.append(
            "Direct standardization (g-computation): a logistic (binary) or linear (continuous) "
            "model of the outcome on baseline covariates and the arm, without arm-by-covariate "
            "terms (the same odds ratio, or difference, at every baseline), fitted on the program "
            "and averaged over the patients of the trial's synthetic cohort (calibrated to the "
            "published baseline), which the intervals treat as fixed (Muller and MacLehose "
            "2014). Linear models: a t interval. Logistic models: the delta method where at "
            f"least {EPV_DELTA:g} patients with and without the outcome per coefficient "
            f"(Peduzzi et al. 1996) and at least {EXPECTED_DELTA:g} expected per arm at the "
            f"trial's case mix; a stratified percentile bootstrap ({N_BOOT:,} resamples, seed "
            f"{SEED}) between {EPV_MIN:g} and {EPV_DELTA:g} on either count; below "
            f"{EXPECTED_MIN:g} on either (Vittinghoff and McCulloch 2007), or when the bootstrap "
            "limits could rest on resamples without a finite estimate (separated) or its "
            "interval excludes the estimate, no standardized figure. Each "
            "standardized figure is judged against the "
            "published figure by the rule and with the margin of its primary comparison; the "
            f"standardized comparisons form a family of their own ({result.standardized_adjustment_text()})."
        )
    return tuple(dict.fromkeys(out))

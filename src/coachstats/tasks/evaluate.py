r"""Evaluate your own coaching program against the published trials.

"Are we getting the results the trials got?" A health system that runs a
coaching program has its own patient data: coached patients, often without a
comparison group. :func:`evaluate` runs each trial's analysis plan
(:mod:`coachstats.trials`) on the program's data with
:func:`coachstats.plan.run_plan` -- the same endpoints, goal thresholds and
tests as published -- and sets the results next to the published figures.

**Two-arm programs** (coached patients and a comparison group):

* the program's effects -- risk difference (Wald interval) and odds ratio
  (Woolf interval) for goal endpoints, mean difference for changes -- next to
  each trial's;
* a z test of the difference between the program's effect and the published
  one, as independent estimates (:func:`coachstats.compare.meta.difference_test`;
  odds ratios on the log scale);
* Cochran's Q, :math:`I^2` and fixed / DerSimonian-Laird random-effects pooled
  estimates of the program and the trial(s) reporting the outcome
  (:mod:`coachstats.compare.meta`; with one trial, :math:`Q = z^2` of the
  difference test);
* a forest plot (:func:`plot_evaluation`).

**Single-arm programs** (only coached patients, the common case): the
program's proportions (Wilson interval) and mean changes (t interval) next to
each trial's coaching and usual-care arms, one-sample tests against each
published arm value (score and exact binomial tests; one-sample t test; see
:mod:`coachstats.compare.onesample`), and a plain-language verdict per outcome
(:func:`position`), e.g. *"at goal for >= 1 condition: 41 % (95 % CI 36-46),
between the published coaching (46.4 %) and usual care (34.3 %) arms of HCPC"*.

**The published standard error.** Trials print percentages or means, rarely
the SE. It is reconstructed (``published_se="auto"``), in this order, from

1. printed counts: ``60/121 (49.6 %)``, or events with a percentage
   (``27 (22.0 %)``: :math:`n = \mathrm{round}(100\,x/\%)`, checked against the
   printed percentage) -- Wald SE of the risk difference, Woolf SE of the log
   odds ratio;
2. printed means, SDs and sizes: :math:`\sqrt{s_1^2/n_1 + s_2^2/n_2}`;
3. the printed P value and estimate: :math:`SE = |\hat\theta| / z_{1-P/2}`
   (:func:`se_from_p`), assuming a Wald-type test of that estimate.

The printed P is rounded (``.02`` means :math:`.015 \le P < .025`), so the SE
from it is an interval; it is propagated to the difference test as
``p_value_low`` / ``p_value_high``, and a verdict whose P crosses
:math:`\alpha` within that range is flagged *borderline*. The rounding of the
printed estimates (at most 0.05 percentage points) is ignored.
``published_se="counts"`` also uses counts inferred (not printed) in the
registry (HCPC: 90/194 vs 61/178); ``"p_value"`` prefers the P route (for the
peer trial's mixed-model HbA1c P value of .01, for instance).

**Populations and timing.** The program's patients enter each comparison as
the trial's patients did: the goal endpoints are defined only for patients
uncontrolled at baseline (:mod:`coachstats.derive.endpoints`), and the peer-trial
comparisons keep patients with baseline HbA1c :math:`\ge` 8.0 % (the trial's
entry criterion). The follow-up month is the trial's when the program has it,
otherwise the program's earliest (noted). A trial analysis clustered by a
column the program lacks (or that has one value) runs unclustered (noted).

**Case mix.** The program's baseline is compared with the trial's printed
baseline (:func:`case_mix`): standardized mean difference
:math:`(\bar x - \mu_{pub})/\sigma_{pub}` for means and Cohen's
:math:`h = 2\arcsin\sqrt{p} - 2\arcsin\sqrt{p_{pub}}` for shares; an absolute
value above 0.2 (Cohen's "small") is flagged as a material difference.
:func:`standardize` then offers the comparison standardized to the trial's
baseline distribution: regression-based direct standardization (g-computation)
-- a logistic (binary) or linear (continuous) model of the outcome on baseline
covariates (and the arm), fitted on the program, averaged over the patients of
the trial's synthetic cohort (:mod:`coachstats.synthetic`, calibrated to the
published baseline), with a delta-method SE that treats the reference
distribution as fixed.

**Program tracking.** :mod:`coachstats.tasks.tracking` computes the practice
brief's indicators (caseload per coach, contacts per patient, retention,
referrals, CPT encounter counts).

Verdicts use :math:`\alpha = .05` per outcome; the Holm-adjusted P values
across a trial's outcomes are shown too (``p_holm``). ``ok`` is True when no
outcome differs from the published figure (two-arm: its effect; single-arm:
its coaching arm).

References
----------
Altman DG, Bland JM. Interaction revisited: the difference between two
estimates. BMJ 2003;326:219.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis.
Stat Med 2002;21:1539-1558.
Austin PC. Balance diagnostics for comparing the distribution of baseline
covariates between treatment groups in propensity-score matched samples.
Stat Med 2009;28:3083-3107.
Cohen J. Statistical Power Analysis for the Behavioral Sciences. 2nd ed. 1988.
Muller CJ, MacLehose RF. Estimating predicted probabilities from logistic
regression: different methods correspond to different target populations.
Int J Epidemiol 2014;43:962-970.

Examples
--------
A two-arm program generated with the HCPC coaching effect:

>>> from coachstats.synthetic import hcpc_cohort
>>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False)
>>> res.design, res.ok
('two-arm', True)
>>> res.to_frame().query("estimand == 'risk difference'")[["target", "verdict"]].to_numpy().tolist()[:2]
[['composite_any', 'consistent'], ['composite_all', 'consistent']]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import numpy as np
import pandas as pd
from scipy import stats

from coachstats.compare.meta import MetaResult, difference_test, pool
from coachstats.compare.multiplicity import adjust_pvalues
from coachstats.compare.onesample import one_sample_mean, one_sample_proportion
from coachstats.compare.proportions import normal_quantile, two_proportions
from coachstats.core.errors import (
    AnalysisError,
    CoachstatsError,
    OptionError,
    check_option,
)
from coachstats.core.formatting import format_number
from coachstats.core.goals import GoalSet
from coachstats.core.results import (
    ARM_DISPLAY,
    ArmSummary,
    ComparisonResult,
    TidyResult,
    format_p,
    p_phrase,
)
from coachstats.data.programdata import MappingFile, ProgramDesign, load_program, read_mapping
from coachstats.data.trialdata import TrialData
from coachstats.derive.endpoints import derive_endpoints, measure_months
from coachstats.plan import AnalysisPlan, AnalysisSpec, PlanResult, run_plan
from coachstats.tasks.tracking import ProgramMetrics, program_metrics
from coachstats.trials.registry import PrintedP, PrintedValue, Target, Trial, get_trial

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "AGAINST",
    "BENCHMARKS",
    "ArmComparison",
    "Benchmark",
    "CaseMixItem",
    "EffectComparison",
    "EvaluationResult",
    "MappingFile",
    "ProgramAnalysis",
    "PublishedEffect",
    "PublishedOutcome",
    "StandardizedComparison",
    "analyze",
    "case_mix",
    "evaluate",
    "evaluation_figure",
    "forest_frame",
    "load_program",
    "position",
    "program_plan",
    "published_outcome",
    "read_mapping",
    "se_from_p",
    "standardize",
]

Against = Literal["hcpc", "peer", "all"]
AGAINST: tuple[str, ...] = get_args(Against)
SESource = Literal["auto", "counts", "p_value"]
SE_SOURCES: tuple[str, ...] = get_args(SESource)
Kind = Literal["binary", "continuous"]
Progress = Callable[[str], None]

#: Trials an evaluation can be run against, in order.
TRIALS: tuple[str, ...] = ("hcpc", "peer")
#: A standardized difference (SMD or Cohen's h) above this flags a material case-mix difference.
CASE_MIX_THRESHOLD = 0.2
#: Significance level of the verdicts.
ALPHA = 0.05
PROGRAM = "Your program"


# --------------------------------------------------------------------------- benchmarks


@dataclass(frozen=True)
class Benchmark:
    """A published outcome used as a yardstick, and how the program is analysed for it.

    ``spec`` holds field changes applied to the target's analysis spec for the
    program (e.g. dropping a site subset); ``n_target`` names the registry
    target whose printed values are this outcome's per-arm sizes.
    """

    trial: str
    target: str
    kind: Kind
    label: str
    n_target: str | None = None
    spec: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("hcpc", "composite_any", "binary", "at goal for >= 1 condition"),
    Benchmark("hcpc", "composite_all", "binary", "at goal for all conditions"),
    Benchmark("hcpc", "hba1c_goal", "binary", "HbA1c at goal (<= 8.0 %)"),
    Benchmark(
        "hcpc",
        "ldl_goal_site_a",
        "binary",
        "LDL at goal",
        spec={"subset": None},
        note="published for the larger site (A) only; the program's figure covers all its patients",
    ),
    Benchmark("peer", "hba1c_change", "continuous", "HbA1c change (%)", n_target="complete_case"),
    Benchmark("peer", "hba1c_drop", "binary", "HbA1c drop >= 1 point"),
    Benchmark(
        "peer",
        "hba1c_lt_7_5",
        "binary",
        "HbA1c < 7.5 %",
        spec={
            "method": "chi_square",
            "change_from": None,
            "cluster": None,
            "options": {"correct": False},
        },
        note="the printed P (.11) does not test these proportions; the published SE comes "
        "from the printed events and percentages",
    ),
    Benchmark("peer", "ldl_change", "continuous", "LDL change (mg/dL)"),
    Benchmark("peer", "sbp_change", "continuous", "SBP change (mm Hg)"),
)

#: Program patients entering a trial's comparisons: (query, reason).
POPULATIONS: Mapping[str, tuple[str, str]] = {
    "peer": ("hba1c_0 >= 8.0", "the peer trial enrolled patients with HbA1c >= 8.0 %"),
}

#: Baseline targets of each trial compared in the case-mix check (registry ids).
CASE_MIX_TARGETS: Mapping[str, tuple[str, ...]] = {
    "hcpc": (
        "age",
        "female",
        "bmi",
        "baseline_hba1c",
        "baseline_ldl",
        "baseline_sbp",
        "pcp_visits",
    ),
    "peer": ("baseline_hba1c",),
}
_CASE_MIX_N = {"peer": "complete_case"}

#: Baseline covariates of the standardization model, per outcome.
STANDARDIZE_COVARIATES: Mapping[str, tuple[str, ...]] = {
    "composite_any": ("age", "diabetes", "n_uncontrolled"),
    "composite_all": ("age", "diabetes", "n_uncontrolled"),
    "at_goal_hba1c": ("age", "hba1c_0"),
    "at_goal_ldl": ("age", "diabetes", "ldl_0"),
    "at_goal_sbp": ("age", "diabetes", "sbp_0"),
    "change_hba1c": ("age", "hba1c_0"),
    "hba1c_drop_ge1": ("age", "hba1c_0"),
    "hba1c_lt_7_5": ("age", "hba1c_0"),
    "change_ldl": ("age", "ldl_0"),
    "change_sbp": ("age", "sbp_0"),
}

#: Plain-language labels of the program outcomes of :func:`program_plan`.
OUTCOME_TEXT: Mapping[str, str] = {
    "composite_any": "at goal for >= 1 condition",
    "composite_all": "at goal for all conditions",
    "at_goal_hba1c": "HbA1c at goal",
    "at_goal_sbp": "blood pressure at goal",
    "at_goal_ldl": "LDL at goal",
    "change_hba1c": "HbA1c change (%)",
    "change_sbp": "SBP change (mm Hg)",
    "change_ldl": "LDL change (mg/dL)",
    "hba1c_drop_ge1": "HbA1c drop >= 1 point",
    "hba1c_lt_7_5": "HbA1c < 7.5 %",
}
_PLAN_OUTCOMES: Mapping[str, tuple[str, ...]] = {
    "hcpc": (
        "composite_any",
        "composite_all",
        "at_goal_hba1c",
        "at_goal_sbp",
        "at_goal_ldl",
        "change_hba1c",
        "change_sbp",
        "change_ldl",
    ),
    "peer": ("change_hba1c", "hba1c_drop_ge1", "hba1c_lt_7_5", "change_ldl", "change_sbp"),
}


def trial_name(trial: str | Trial) -> str:
    """Short display name with year: ``"HCPC 2015"``, ``"Peer 2013"``.

    Examples
    --------
    >>> trial_name("hcpc"), trial_name("peer")
    ('HCPC 2015', 'Peer 2013')
    """
    t = get_trial(trial)
    name = t.name.upper() if len(t.name) <= 5 and t.name != "peer" else t.name.capitalize()
    return f"{name} {t.citation.year}"


# --------------------------------------------------------------------------- published side


def se_from_p(estimate: float, p: str | PrintedP) -> tuple[float, float, float]:
    r"""Standard error from a printed two-sided P value and its estimate.

    :math:`SE = |\hat\theta| / z_{1-P/2}` for a Wald-type test of
    :math:`\hat\theta` (on the scale tested: log for ratios). A P printed with
    :math:`d` decimals lies in :math:`[P - \tfrac12 10^{-d}, P + \tfrac12 10^{-d})`;
    the SE at both ends is returned too. ``"< .001"`` gives the largest SE
    compatible with it (the bound; the lower end is 0).

    Returns
    -------
    (se, se_low, se_high) : tuple of float

    Raises
    ------
    AnalysisError
        No usable P (``"not significant"``, empty) or a zero estimate.

    Examples
    --------
    >>> [round(v, 4) for v in se_from_p(0.121, ".02")]
    [0.052, 0.0497, 0.054]
    """
    printed = p if isinstance(p, PrintedP) else PrintedP.parse(p)
    if printed.kind not in ("value", "below") or not math.isfinite(printed.value()):
        raise AnalysisError(
            f"no usable printed P value ({printed.text!r}) to derive a standard error"
        )
    est = abs(float(estimate))
    if est == 0.0 or not math.isfinite(est):
        raise AnalysisError(
            f"a standard error cannot be derived from P for an estimate of {estimate}"
        )

    def se_at(pv: float) -> float:
        if pv >= 1.0:
            return math.inf
        return est / float(stats.norm.isf(pv / 2.0))

    value = printed.value()
    if printed.kind == "below":
        top = se_at(value)
        return top, 0.0, top
    half = 0.5 * 10.0 ** (-printed.decimals)
    return se_at(value), se_at(max(value - half, 1e-300)), se_at(value + half)


@dataclass(frozen=True)
class PublishedEffect:
    """A published effect with its (reconstructed) standard error.

    ``std_error`` is on the scale of the test: log for odds ratios
    (``log_scale``). ``std_error_low``/``std_error_high`` bracket it when it
    comes from a rounded P (equal to ``std_error`` otherwise).
    """

    estimand: str
    estimate: float
    std_error: float
    std_error_low: float
    std_error_high: float
    conf_low: float
    conf_high: float
    se_method: str
    log_scale: bool = False

    @property
    def scaled(self) -> float:
        """The estimate on the test scale (log for ratios)."""
        return math.log(self.estimate) if self.log_scale else self.estimate


@dataclass(frozen=True)
class PublishedOutcome:
    """The published figures of one outcome, parsed from the registry.

    ``values`` are the coaching and usual-care proportions (0-1) or means;
    ``texts`` the printed figures. ``n``/``events`` are set when printed (or,
    with ``counts_source="inferred ..."``, inferred in the registry).
    """

    trial: str
    target: str
    label: str
    outcome: str
    kind: Kind
    values: tuple[float, float]
    texts: tuple[str, str]
    sds: tuple[float, float] = (math.nan, math.nan)
    n: tuple[int, int] | None = None
    events: tuple[int, int] | None = None
    counts_source: str = ""
    inferred_counts: tuple[tuple[int, int], tuple[int, int]] | None = None
    p: str = ""
    months: int = 0
    note: str = ""

    def estimands(self) -> tuple[str, ...]:
        """``("risk difference", "odds ratio")`` or ``("mean difference",)``."""
        return ("risk difference", "odds ratio") if self.kind == "binary" else ("mean difference",)

    def effect(
        self, estimand: str, *, se_source: SESource = "auto", conf_level: float = 0.95
    ) -> PublishedEffect:
        """The published effect and its SE (see the module docstring for the order of sources).

        Examples
        --------
        >>> po = published_outcome(next(b for b in BENCHMARKS if b.target == "hba1c_drop"))
        >>> e = po.effect("risk difference")
        >>> round(e.estimate, 4), round(e.std_error, 4), e.se_method
        (0.1811, 0.0637, 'Wald SE from the printed counts 60/121 vs 34/108')
        """
        check_option("se_source", se_source, SE_SOURCES)
        check_option("estimand", estimand, self.estimands())
        z = normal_quantile(conf_level)
        log_scale = estimand == "odds ratio"
        counts = self._counts(se_source)
        est: float
        use_counts = counts is not None and (se_source != "p_value" or not self._p_usable())
        if self.kind == "binary":
            if use_counts and counts is not None:
                (x1, n1), (x2, n2), source = counts
                r = two_proportions(
                    x1, n1, x2, n2, estimand=cast(Any, estimand), outcome=self.outcome
                )
                return PublishedEffect(
                    estimand,
                    r.estimate,
                    r.std_error,
                    r.std_error,
                    r.std_error,
                    r.conf_low,
                    r.conf_high,
                    f"{'Woolf' if log_scale else 'Wald'} SE from the {source} counts {x1}/{n1} vs {x2}/{n2}",
                    log_scale,
                )
            p1, p2 = self.values
            est = p1 - p2 if not log_scale else (p1 / (1 - p1)) / (p2 / (1 - p2))
        else:
            m1, m2 = self.values
            est = m1 - m2
            if (
                self.n is not None
                and all(math.isfinite(s) for s in self.sds)
                and (se_source != "p_value" or not self._p_usable())
            ):
                (n1, n2), (s1, s2) = self.n, self.sds
                se = math.sqrt(s1**2 / n1 + s2**2 / n2)
                return PublishedEffect(
                    estimand,
                    est,
                    se,
                    se,
                    se,
                    est - z * se,
                    est + z * se,
                    f"SE from the printed means, SDs and n (sqrt(s1^2/n1 + s2^2/n2); n {n1} vs {n2})",
                )
        scaled = math.log(est) if log_scale else est
        se, lo, hi = se_from_p(scaled, self.p)
        ci = (scaled - z * se, scaled + z * se)
        if log_scale:
            ci = (math.exp(ci[0]), math.exp(ci[1]))
        what = "log odds ratio" if log_scale else "estimate"
        return PublishedEffect(
            estimand,
            est,
            se,
            lo,
            hi,
            ci[0],
            ci[1],
            f"SE = |{what}| / z(1 - P/2) from the printed {p_phrase(self.p)} "
            f"(rounding range {lo:.4g} to {hi:.4g})",
            log_scale,
        )

    def _p_usable(self) -> bool:
        try:
            return PrintedP.parse(self.p).kind in ("value", "below")
        except CoachstatsError:
            return False

    def _counts(self, se_source: SESource) -> tuple[tuple[int, int], tuple[int, int], str] | None:
        if self.n is not None and self.events is not None:
            return (self.events[0], self.n[0]), (self.events[1], self.n[1]), "printed"
        if se_source == "counts" and self.inferred_counts is not None:
            a, b = self.inferred_counts
            return a, b, "inferred (not published)"
        return None

    def arm_text(self, index: int) -> str:
        """The printed figure of arm ``index`` as a short text (``"46.4 %"``, ``"-1.07"``)."""
        text = self.texts[index]
        pv = PrintedValue.parse(text)
        if pv.percent:
            return f"{pv.number():.{pv.decimals}f} %"
        if pv.kind == "fraction":
            return f"{pv.number():.1f} %"
        return text.split(" (")[0].strip()


def _fraction(text: str) -> tuple[int, int] | None:
    m = re.match(r"^(\d+)/(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _events_pct(pv: PrintedValue) -> tuple[int, int] | None:
    """Events and the n implied by a printed ``"27 (22.0 %)"`` (checked at the printed precision)."""
    events = int(pv.text.split(" ")[0])
    pct = pv.number()
    if pct <= 0:
        return None
    n = round(100 * events / pct)
    if n < events or round(100 * events / n, pv.decimals) != round(pct, pv.decimals):
        return None
    return events, n


def _share(pv: PrintedValue) -> float:
    """A printed percentage as a proportion, without binary noise (46.4 % -> 0.464)."""
    return round(pv.number() / 100.0, pv.decimals + 2)


def _mean_sd(text: str) -> tuple[float, float]:
    """Mean and SD of a printed ``"-1.07 (2.8)"`` (SD NaN when not printed)."""
    m = re.match(
        r"^\s*([+-]?\d+(?:\.\d+)?)(?:\s*\((\d+(?:\.\d+)?)\))?", text.replace("\u2212", "-")
    )
    if m is None:
        raise OptionError(f"cannot read a mean (SD) from the printed value {text!r}")
    return float(m.group(1)), float(m.group(2)) if m.group(2) else math.nan


def published_outcome(benchmark: Benchmark) -> PublishedOutcome:
    """Parse a benchmark's printed figures from the trial registry.

    Examples
    --------
    >>> po = published_outcome(BENCHMARKS[0])
    >>> po.values, po.texts, po.p, po.n
    ((0.464, 0.343), ('46.4 %', '34.3 %'), '.02', None)
    >>> published_outcome(next(b for b in BENCHMARKS if b.target == "hba1c_lt_7_5")).n
    (123, 114)
    """
    trial = get_trial(benchmark.trial)
    target = trial.target(benchmark.target)
    printed = target.printed_values()
    if len(printed) != 2 or not all(v.printed for v in printed):
        raise OptionError(
            f"target {trial.name}:{target.id} has no printed per-arm values to compare with"
        )
    texts = (str(target.values[0]), str(target.values[1]))
    n: tuple[int, int] | None = None
    events: tuple[int, int] | None = None
    sds = (math.nan, math.nan)
    if benchmark.kind == "binary":
        values = (_share(printed[0]), _share(printed[1]))
        fr = [_fraction(t) for t in texts]
        ep = [_events_pct(v) if v.kind == "events_pct" else None for v in printed]
        if fr[0] is not None and fr[1] is not None:
            events, n = (fr[0][0], fr[1][0]), (fr[0][1], fr[1][1])
        elif ep[0] is not None and ep[1] is not None:
            events, n = (ep[0][0], ep[1][0]), (ep[0][1], ep[1][1])
    else:
        (m1, s1), (m2, s2) = (_mean_sd(v.text) for v in printed)
        values, sds = (m1, m2), (s1, s2)
        n_texts = target.n or (
            trial.target(benchmark.n_target).values if benchmark.n_target else ()
        )
        if len(n_texts) == 2:
            n = (int(n_texts[0]), int(n_texts[1]))
    inferred = target.inferred.get("values")
    inf_counts = None
    if inferred and len(inferred) == 2:
        a, b = _fraction(str(inferred[0])), _fraction(str(inferred[1]))
        if a is not None and b is not None:
            inf_counts = (a, b)
    return PublishedOutcome(
        trial=trial.name,
        target=target.id,
        label=benchmark.label,
        outcome=target.analysis.outcome,
        kind=benchmark.kind,
        values=(float(values[0]), float(values[1])),
        texts=texts,
        sds=sds,
        n=n,
        events=events,
        counts_source="printed" if n is not None else "",
        inferred_counts=inf_counts,
        p=target.p,
        months=trial.design.months,
        note=benchmark.note,
    )


def _design_of(td: TrialData) -> str:
    return "two-arm" if td.patients["arm"].nunique(dropna=True) == 2 else "single-arm"


# --------------------------------------------------------------------------- analysis plans


def _combine(*queries: str | None) -> str | None:
    parts = [q for q in queries if q]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " and ".join(f"({q})" for q in parts)


def _followup_for(td: TrialData, months: int) -> tuple[int | None, list[str]]:
    available = sorted(
        {m for ms in measure_months(td.patients.columns).values() for m in ms if m > 0}
    )
    if months in available:
        return months, []
    fu = available[0] if available else None
    note = (
        f"the trial's follow-up is month {months}; the program's data has month(s) "
        f"{available or 'none'}, month {fu} is used"
    )
    return fu, [note]


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


def _population(trial: str, eligible_only: bool) -> str | None:
    return POPULATIONS.get(trial, (None, ""))[0] if eligible_only else None


def _benchmark_spec(
    b: Benchmark, td: TrialData, single_arm: bool, followup: int | None, eligible_only: bool = True
) -> tuple[AnalysisSpec, list[str]]:
    target = get_trial(b.trial).target(b.target)
    spec = target.analysis
    changes = dict(b.spec)
    if "options" in changes:
        changes["options"] = dict(changes["options"])
    spec = replace(spec, **changes) if changes else spec
    population = _population(b.trial, eligible_only)
    complete_on = tuple(_remonth(c, followup) for c in spec.complete_on)
    spec = replace(
        spec,
        label=f"{b.trial}:{b.target}",
        subset=_combine(population, spec.subset),
        followup=followup,
        complete_on=complete_on,
    )
    notes: list[str] = []
    goals = get_trial(b.trial).goals
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


def _remonth(column: str, followup: int | None) -> str:
    m = re.match(r"^(hba1c|sbp|ldl|bmi)_(\d+)$", column)
    if m and followup is not None and int(m.group(2)) > 0:
        return f"{m.group(1)}_{followup}"
    return column


def program_plan(goals: GoalSet | str = "hcpc", *, single_arm: bool = False) -> AnalysisPlan:
    """The outcomes ``coachstats analyze`` reports for a program, as an analysis plan.

    HCPC goals: at goal for >= 1 / all conditions and per condition (Pearson
    chi-square without correction, as published), and the change of each
    measure (Welch t test). Peer goals: HbA1c change, drop >= 1 point,
    HbA1c < 7.5 %, LDL and SBP changes. Single-arm programs get the
    per-outcome proportion or mean (``describe``) instead of a test.

    Examples
    --------
    >>> [s.outcome for s in program_plan("peer")]
    ['change_hba1c', 'hba1c_drop_ge1', 'hba1c_lt_7_5', 'change_ldl', 'change_sbp']
    >>> program_plan("hcpc", single_arm=True).specs[0].method
    'describe'
    """
    from coachstats.plan import resolve_goals

    gs = resolve_goals(goals)
    if gs is None:  # pragma: no cover - a name or GoalSet always resolves
        raise OptionError("program_plan needs a goal set")
    outcomes = _PLAN_OUTCOMES.get(gs.name, _PLAN_OUTCOMES["hcpc"])
    specs = []
    for o in outcomes:
        binary = not o.startswith("change_")
        label = OUTCOME_TEXT.get(o, o)
        if single_arm:
            spec = AnalysisSpec(
                o,
                "describe",
                label=label,
                by=None,
                options={"stat": "proportion" if binary else "mean"},
            )
        elif binary:
            spec = AnalysisSpec(o, "chi_square", label=label, options={"correct": False})
        else:
            spec = AnalysisSpec(o, "t_test", label=label)
        specs.append(spec)
    return AnalysisPlan(specs, goals=gs, name=f"program ({gs.name} goals)")


def _summary_from_describe(
    result: ComparisonResult, kind: Kind, conf_level: float, label: str
) -> ComparisonResult:
    """One-sample interval (Wilson or t) from a ``describe`` result of all patients."""
    a = result.arms[0]
    if kind == "binary":
        if a.events is None or a.n == 0:
            raise AnalysisError(f"{label}: no patients analysed")
        out = one_sample_proportion(
            a.events, a.n, conf_level=conf_level, outcome=result.outcome, label=PROGRAM
        )
    else:
        out = one_sample_mean(
            a.value, a.sd, a.n, conf_level=conf_level, outcome=result.outcome, label=PROGRAM
        )
    return out.replace(n_excluded=result.n_excluded, excluded_reason=result.excluded_reason)


# --------------------------------------------------------------------------- result rows


class _Row(TidyResult):
    """A result row whose :meth:`summary` is its plain-language :meth:`sentence`."""

    def sentence(self) -> str:  # pragma: no cover - every row class overrides it
        """One line of plain language."""
        raise NotImplementedError

    def summary(self) -> str:
        """One line of text (the sentence)."""
        return self.sentence()

    def __repr__(self) -> str:
        """``<ClassName: the sentence>``: one line, however many results it holds."""
        return f"<{type(self).__name__}: {self.sentence()}>"


def _short(error: str) -> str:
    """An error message without the list of available columns."""
    return error.split("; available")[0] if error else "no result"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


@dataclass(frozen=True, repr=False)
class EffectComparison(_Row):
    """A two-arm program's effect on one outcome next to one trial's published effect."""

    trial: str
    target: str
    outcome: str
    label: str
    estimand: str
    primary: bool
    program: ComparisonResult | None
    published: PublishedEffect
    difference: ComparisonResult | None
    p_value_low: float = math.nan
    p_value_high: float = math.nan
    p_holm: float = math.nan
    alpha: float = ALPHA
    note: str = ""
    error: str = ""

    @property
    def verdict(self) -> str:
        """``"consistent"``, ``"differs"`` or ``"not analysed"``."""
        if self.difference is None:
            return "not analysed"
        return "differs" if self.difference.p_value < self.alpha else "consistent"

    @property
    def borderline(self) -> bool:
        """The verdict would flip within the rounding range of the printed P."""
        lo, hi = self.p_value_low, self.p_value_high
        return math.isfinite(lo) and math.isfinite(hi) and min(lo, hi) < self.alpha <= max(lo, hi)

    @property
    def direction(self) -> str:
        """``"lower"``/``"higher"``: the program's effect relative to the published one."""
        if self.difference is None:
            return ""
        return "lower" if self.difference.estimate < 0 else "higher"

    def _t(self, x: float) -> float:
        return math.exp(x) if self.published.log_scale else x

    def to_dict(self) -> dict[str, Any]:
        """One tidy row (ratios on the ratio scale; the difference of ratios as their ratio)."""
        p, d = self.program, self.difference
        nan = math.nan
        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": self.estimand,
            "primary": self.primary,
            "program_estimate": p.estimate if p else nan,
            "program_conf_low": p.conf_low if p else nan,
            "program_conf_high": p.conf_high if p else nan,
            "program_std_error": p.std_error if p else nan,
            "program_n1": p.arms[0].n if p else pd.NA,
            "program_n2": p.arms[1].n if p and len(p.arms) > 1 else pd.NA,
            "program_method": p.method if p else "",
            "published_estimate": self.published.estimate,
            "published_conf_low": self.published.conf_low,
            "published_conf_high": self.published.conf_high,
            "published_std_error": self.published.std_error,
            "published_se_method": self.published.se_method,
            "difference": self._t(d.estimate) if d else nan,
            "difference_conf_low": self._t(d.conf_low) if d else nan,
            "difference_conf_high": self._t(d.conf_high) if d else nan,
            "difference_scale": "ratio" if self.published.log_scale else "difference",
            "z": d.statistic if d else nan,
            "p_value": d.p_value if d else nan,
            "p_value_low": self.p_value_low,
            "p_value_high": self.p_value_high,
            "p_holm": self.p_holm,
            "verdict": self.verdict,
            "borderline": self.borderline,
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def sentence(self) -> str:
        """Plain language, e.g. ``"... consistent with HCPC 2015 (difference ...; P = .41)"``."""
        name = trial_name(self.trial)
        head = f"{self.label} ({self.estimand})"
        if self.program is None or self.difference is None:
            return f"{head}: not analysed ({_short(self.error)})"
        p, d, pub = self.program, self.difference, self.published
        what = "ratio" if pub.log_scale else "difference"
        text = (
            f"{head}: program {format_number(p.estimate)} (95% CI {format_number(p.conf_low)} to {format_number(p.conf_high)}) "
            f"vs {name} {format_number(pub.estimate)} ({format_number(pub.conf_low)} to {format_number(pub.conf_high)}); "
        )
        body = (
            f"{what} {format_number(self._t(d.estimate))} (95% CI {format_number(self._t(d.conf_low))} to "
            f"{format_number(self._t(d.conf_high))}), {p_phrase(d.p_value)}"
        )
        if self.verdict == "consistent":
            text += f"consistent with {name} ({body})"
        else:
            text += f"differs from {name}: the program's effect is {self.direction} ({body})"
        if self.borderline:
            text += (
                f" -- borderline: P is {format_p(min(self.p_value_low, self.p_value_high))} to "
                f"{format_p(max(self.p_value_low, self.p_value_high))} over the rounding of the printed P"
            )
        return text


def position(
    estimate: float, conf_low: float, conf_high: float, coaching: float, usual_care: float
) -> str:
    """Where a program's interval lies relative to the published coaching and usual-care values.

    ``"above both"`` / ``"below both"`` (the interval excludes both, on one
    side); ``"covers both"``; ``"coaching"`` / ``"usual care"`` (it covers
    only that arm's value); ``"between"`` (it lies strictly between them).

    Examples
    --------
    >>> position(0.41, 0.36, 0.46, 0.464, 0.343)
    'between'
    >>> position(0.46, 0.41, 0.51, 0.464, 0.343), position(0.2, 0.15, 0.25, 0.464, 0.343)
    ('coaching', 'below both')
    """
    lo_arm, hi_arm = min(coaching, usual_care), max(coaching, usual_care)
    if conf_low > hi_arm:
        return "above both"
    if conf_high < lo_arm:
        return "below both"
    has_c = conf_low <= coaching <= conf_high
    has_u = conf_low <= usual_care <= conf_high
    if has_c and has_u:
        return "covers both"
    if has_c:
        return "coaching"
    if has_u:
        return "usual care"
    return "between"


_POSITION_TEXT = {
    "between": "between the published coaching ({c}) and usual care ({u}) arms of {t}",
    "coaching": "consistent with the published coaching arm of {t} ({c}; usual care {u})",
    "usual care": "consistent with the published usual care arm of {t} ({u}), not the coaching arm ({c})",
    "above both": "above both published arms of {t} (coaching {c}, usual care {u})",
    "below both": "below both published arms of {t} (coaching {c}, usual care {u})",
    "covers both": "the interval covers both published arms of {t} (coaching {c}, usual care {u}): too few patients to tell",
}


@dataclass(frozen=True, repr=False)
class ArmComparison(_Row):
    """A single-arm program's figure on one outcome next to one trial's two arms.

    ``tests`` maps ``"coaching"`` / ``"usual_care"`` to the one-sample test
    against that arm (score test or t test) and ``"coaching exact"`` /
    ``"usual_care exact"`` to the exact binomial test (proportions).
    """

    trial: str
    target: str
    outcome: str
    label: str
    kind: Kind
    program: ComparisonResult | None
    published: PublishedOutcome
    tests: Mapping[str, ComparisonResult] = field(default_factory=dict)
    alpha: float = ALPHA
    note: str = ""
    error: str = ""

    @property
    def position(self) -> str:
        """See :func:`position` (empty when not analysed)."""
        if self.program is None:
            return ""
        p = self.program
        return position(p.estimate, p.conf_low, p.conf_high, *self.published.values)

    @property
    def differs(self) -> bool:
        """The program differs from the published coaching arm (P < alpha)."""
        t = self.tests.get("coaching")
        return t is not None and t.p_value < self.alpha

    @property
    def verdict(self) -> str:
        """The plain-language verdict (see :meth:`sentence`)."""
        return self.sentence()

    def _value_text(self) -> str:
        p = self.program
        if p is None:
            return "not analysed"
        if self.kind == "binary":
            return f"{_pct(p.estimate)} % (95 % CI {_pct(p.conf_low)}-{_pct(p.conf_high)})"
        return f"{format_number(p.estimate)} (95 % CI {format_number(p.conf_low)} to {format_number(p.conf_high)})"

    def sentence(self) -> str:
        """E.g. ``"at goal for >= 1 condition: 41 % (95 % CI 36-46), between ..."``."""
        if self.program is None:
            return f"{self.label}: not analysed ({_short(self.error)})"
        text = _POSITION_TEXT[self.position].format(
            c=self.published.arm_text(0), u=self.published.arm_text(1), t=trial_name(self.trial)
        )
        test = self.tests.get("coaching")
        if self.differs and test is not None:
            side = "higher" if self.program.estimate > self.published.values[0] else "lower"
            text += (
                f"; differs from the coaching arm: the program's value is {side} "
                f"({p_phrase(test.format_p())})"
            )
        return f"{self.label}: {self._value_text()}, {text}"

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        p = self.program
        nan = math.nan

        def pv(key: str) -> float:
            t = self.tests.get(key)
            return t.p_value if t is not None else nan

        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": "proportion" if self.kind == "binary" else "mean",
            "n": p.arms[0].n if p else pd.NA,
            "events": p.arms[0].events if p and p.arms[0].events is not None else pd.NA,
            "estimate": p.estimate if p else nan,
            "conf_low": p.conf_low if p else nan,
            "conf_high": p.conf_high if p else nan,
            "published_coaching": self.published.values[0],
            "published_usual_care": self.published.values[1],
            "published_text": f"{self.published.texts[0]} vs {self.published.texts[1]}",
            "p_vs_coaching": pv("coaching"),
            "p_exact_vs_coaching": pv("coaching exact"),
            "p_vs_usual_care": pv("usual_care"),
            "p_exact_vs_usual_care": pv("usual_care exact"),
            "position": self.position,
            "verdict": self.sentence(),
            "differs_from_coaching": self.differs,
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }


@dataclass(frozen=True, repr=False)
class CaseMixItem(_Row):
    """One baseline characteristic of the program next to the trial's.

    ``difference`` is the standardized difference: SMD for means, Cohen's h
    for shares; ``material`` when its absolute value exceeds ``threshold``.
    """

    trial: str
    characteristic: str
    program_value: float
    program_sd: float
    program_n: int
    published_value: float
    published_sd: float
    published_text: str
    metric: str
    difference: float
    source: str = "printed"
    threshold: float = CASE_MIX_THRESHOLD
    percent: bool = False

    @property
    def material(self) -> bool:
        """``|difference| > threshold``."""
        return math.isfinite(self.difference) and abs(self.difference) > self.threshold

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        return {
            "trial": self.trial,
            "characteristic": self.characteristic,
            "program_value": self.program_value,
            "program_sd": self.program_sd,
            "program_n": self.program_n,
            "published_value": self.published_value,
            "published_sd": self.published_sd,
            "published_text": self.published_text,
            "metric": self.metric,
            "difference": self.difference,
            "material": self.material,
            "source": self.source,
        }

    def sentence(self) -> str:
        """E.g. ``"Age: program 61.2 (SD 9.0) vs HCPC 2015 52.7 (11.1): SMD 0.77 -- differs materially"``."""
        if self.percent:
            prog = f"{100 * self.program_value:.1f} %"
        else:
            prog = f"{self.program_value:.1f}" + (
                f" (SD {self.program_sd:.1f})" if math.isfinite(self.program_sd) else ""
            )
        flag = " -- differs materially" if self.material else ""
        src = "" if self.source == "printed" else f" [{self.source}]"
        return (
            f"{self.characteristic}: program {prog} (n = {self.program_n}) vs {trial_name(self.trial)} "
            f"{self.published_text}{src}: {self.metric} {self.difference:+.2f}{flag}"
        )


@dataclass(frozen=True, repr=False)
class StandardizedComparison(_Row):
    """The program's figure standardized to the trial's baseline distribution."""

    trial: str
    target: str
    outcome: str
    label: str
    crude: float
    result: ComparisonResult | None
    published: PublishedOutcome
    comparison: ComparisonResult | None = None
    note: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        r, c = self.result, self.comparison
        nan = math.nan
        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": r.estimand if r else "",
            "crude": self.crude,
            "standardized": r.estimate if r else nan,
            "conf_low": r.conf_low if r else nan,
            "conf_high": r.conf_high if r else nan,
            "std_error": r.std_error if r else nan,
            "covariates": ", ".join(r.adjusted_for) if r else "",
            "reference_n": r.extra.get("reference_n", pd.NA) if r else pd.NA,
            "published": self._published_value(),
            "difference_p_value": c.p_value if c else nan,
            "position": self._position(),
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def _published_value(self) -> float:
        v = self.published.values
        if self.result is not None and "difference" in self.result.estimand:
            return v[0] - v[1]
        return v[0]

    def _position(self) -> str:
        r = self.result
        if r is None or "difference" in r.estimand:
            return ""
        return position(r.estimate, r.conf_low, r.conf_high, *self.published.values)

    def sentence(self) -> str:
        """E.g. ``"at goal ...: crude 0.41, standardized to HCPC 2015 0.44 (95% CI ...)"``."""
        if self.result is None:
            return f"{self.label}: not standardized ({_short(self.error)})"
        r = self.result
        text = (
            f"{self.label}: crude {format_number(self.crude)}, standardized to {trial_name(self.trial)}'s "
            f"baseline {format_number(r.estimate)} (95% CI {format_number(r.conf_low)} to {format_number(r.conf_high)}; "
            f"adjusted for {', '.join(r.adjusted_for)})"
        )
        if self.comparison is not None:
            text += f"; vs published {format_number(self._published_value())}: {p_phrase(self.comparison.p_value)}"
        elif self._position():
            text += f"; {self._position()}"
        if "extrapolation" in self.note:  # the caveat belongs next to the number it qualifies
            text += f" [caution: {self.note}]"
        return text


# --------------------------------------------------------------------------- standardization


def _covariate_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    cols = []
    for c in covariates:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            cols.append(pd.to_numeric(s.astype("Float64")).to_numpy(dtype=float, na_value=np.nan))
        else:
            raise AnalysisError(
                f"standardization covariate {c!r} must be numeric or boolean (dtype {s.dtype})"
            )
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))


def standardize(
    data: pd.DataFrame,
    reference: pd.DataFrame,
    outcome: str,
    *,
    covariates: Sequence[str],
    arm: str | None = None,
    conf_level: float = 0.95,
    reference_name: str = "reference",
) -> ComparisonResult:
    r"""Direct (regression) standardization of a program's outcome to a reference population.

    Fit, on the program's complete cases, :math:`g(E[y]) = \alpha + \beta_a a +
    x^\top\beta` (logistic for a binary outcome, linear otherwise; the arm term
    :math:`a` only with ``arm``), then average the predictions over the
    reference patients :math:`x_j^{ref}`:

    .. math::

        \hat\theta = \frac1m \sum_{j=1}^m \hat\mu(x_j^{ref})
        \quad\text{or, two-arm,}\quad
        \hat\theta = \frac1m \sum_j \{\hat\mu(1, x_j^{ref}) - \hat\mu(0, x_j^{ref})\}.

    The SE is the delta method on the model's covariance,
    :math:`\operatorname{Var}\hat\theta = g^\top V g` with
    :math:`g = \partial\hat\theta/\partial(\alpha, \beta)`
    (:math:`\frac1m\sum_j \mu_j(1-\mu_j)(1, a, x_j)` for the logistic model),
    treating the reference covariates as fixed; the interval is normal.
    Covariates constant in the program are dropped.

    Parameters
    ----------
    data : DataFrame
        The program's patients with ``outcome`` and ``covariates`` (and ``arm``).
    reference : DataFrame
        The reference population's covariates (rows with a missing covariate are skipped).
    outcome : str
        Binary (boolean / 0-1) or numeric column.
    covariates : sequence of str
        Numeric or boolean baseline covariates.
    arm : str, optional
        Arm column for a two-arm program (treatment: ``coaching``).
    conf_level : float
        Confidence level.
    reference_name : str
        Named in the method text.

    Returns
    -------
    ComparisonResult
        ``estimand`` ``"standardized proportion"`` / ``"standardized mean"``
        (single-arm) or ``"standardized risk difference"`` /
        ``"standardized mean difference"``; ``extra`` has ``crude``,
        ``reference_n`` and ``extrapolated`` (share of reference rows with a
        covariate outside the program's range).

    References
    ----------
    Muller CJ, MacLehose RF. Int J Epidemiol 2014;43:962-970.

    Examples
    --------
    >>> import pandas as pd
    >>> prog = pd.DataFrame({"y": [0, 0, 1, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    >>> ref = pd.DataFrame({"x": [1.0, 1, 2, 2]})
    >>> r = standardize(prog, ref, "y", covariates=["x"])
    >>> r.extra["crude"], bool(r.estimate < 0.5)
    (0.625, True)
    """
    from coachstats.compare.glm import fit_linear, fit_logistic
    from coachstats.compare.prepare import prepare
    from coachstats.compare.proportions import as_binary

    prep = prepare(data, [outcome, *covariates], arm=arm)
    frame = prep.frame
    y_col = frame[outcome]
    binary = pd.api.types.is_bool_dtype(y_col.dtype) or (
        pd.api.types.is_numeric_dtype(y_col.dtype)
        and np.isin(y_col.to_numpy(dtype=float), (0.0, 1.0)).all()
    )
    y = as_binary(y_col).astype(float) if binary else pd.to_numeric(y_col).to_numpy(dtype=float)
    X = _covariate_matrix(frame, covariates)
    keep = [i for i in range(X.shape[1]) if np.ptp(X[:, i]) > 0]
    used = [covariates[i] for i in keep]
    X = X[:, keep]
    ref = reference.loc[reference[list(used)].notna().all(axis=1).to_numpy()] if used else reference
    if len(ref) == 0:
        raise AnalysisError(f"the reference population has no rows with {used}")
    R = _covariate_matrix(ref, used)
    extrapolated = (
        float(np.mean(np.any((X.min(axis=0) > R) | (X.max(axis=0) < R), axis=1))) if used else 0.0
    )
    two_arm = arm is not None
    if not used:
        raise AnalysisError(
            f"'{outcome}': no covariate of {list(covariates)} varies in the program; "
            "standardization would be the crude figure"
        )
    if two_arm:
        a = prep.treated.astype(float)[:, None]
        X = np.hstack([a, X])
    fit = fit_logistic(X, y) if binary else fit_linear(X, y)
    m = len(ref)
    designs = [np.hstack([np.full((m, 1), v), R]) for v in (1.0, 0.0)] if two_arm else [R]
    means, g_beta, g_group = [], np.zeros(X.shape[1]), np.zeros(1)
    for sign, D in zip((1.0, -1.0), designs, strict=False):
        eta = D @ fit.coef + fit.group_coef[0]
        if binary:
            mu = 1.0 / (1.0 + np.exp(-eta))
            w = mu * (1.0 - mu)
            g_beta += sign * (w @ D) / m
            g_group += sign * w.mean()
        else:
            mu = eta
            g_beta += sign * D.mean(axis=0)
            g_group += sign * 1.0
        means.append(float(mu.mean()))
    est = means[0] - means[1] if two_arm else means[0]
    se = math.sqrt(max(fit.functional_var(g_beta, g_group), 0.0))
    z = normal_quantile(conf_level)
    if two_arm:
        crude = float(y[prep.treated].mean() - y[~prep.treated].mean())
        estimand = "standardized risk difference" if binary else "standardized mean difference"
        stat = est / se if se > 0 else math.nan
        p = float(2 * stats.norm.sf(abs(stat))) if se > 0 else math.nan
    else:
        crude = float(y.mean())
        estimand = "standardized proportion" if binary else "standardized mean"
        stat, p = math.nan, math.nan
    model = "logistic" if binary else "linear"
    return ComparisonResult(
        outcome=outcome,
        method=f"direct standardization: {model} regression on {', '.join(used)}, "
        f"predictions averaged over {reference_name} (n = {m})",
        estimand=estimand,
        estimate=est,
        std_error=se,
        conf_low=est - z * se,
        conf_high=est + z * se,
        conf_level=float(conf_level),
        statistic=stat,
        statistic_name="z" if two_arm else "",
        p_value=p,
        arms=(ArmSummary(PROGRAM, len(y), value=crude),),
        adjusted_for=tuple(used),
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
        extra={"crude": crude, "reference_n": m, "extrapolated": extrapolated},
    )


# --------------------------------------------------------------------------- case mix


def _combine_arms(values: Sequence[tuple[float, float]], n: Sequence[int]) -> tuple[float, float]:
    """Mean and SD of two groups combined (within plus between variance)."""
    (m1, s1), (m2, s2) = values
    n1, n2 = n
    mean = (n1 * m1 + n2 * m2) / (n1 + n2)
    ss = (n1 - 1) * s1**2 + (n2 - 1) * s2**2 + n1 * n2 / (n1 + n2) * (m1 - m2) ** 2
    return mean, math.sqrt(ss / (n1 + n2 - 1))


def _published_baseline(trial: Trial, target: Target) -> tuple[float, float, str, bool]:
    """(value, sd, text, is_share) of a printed baseline target, arms combined when split."""
    printed = target.printed_values()
    is_share = printed[0].percent
    if is_share:
        vals = [(_share(v), math.nan) for v in printed]
    else:
        vals = [_mean_sd(v.text) for v in printed]
    if len(vals) == 1:
        return vals[0][0], vals[0][1], str(target.values[0]), is_share
    n_target = _CASE_MIX_N.get(trial.name)
    if n_target is None:
        raise OptionError(
            f"{trial.name}:{target.id}: per-arm baseline without sizes to combine them"
        )
    n = [int(x) for x in trial.target(n_target).values]
    if is_share:
        mean = (n[0] * vals[0][0] + n[1] * vals[1][0]) / sum(n)
        return mean, math.nan, f"{100 * mean:.1f} % (arms combined)", True
    mean, sd = _combine_arms(vals, n)
    return mean, sd, f"{mean:.2f} ({sd:.2f}) (arms {' and '.join(target.values)} combined)", False


def _std_difference(prog: float, pub: float, pub_sd: float, share: bool) -> tuple[str, float]:
    if share:
        p = min(max(prog, 0.0), 1.0)
        return "Cohen's h", 2 * math.asin(math.sqrt(p)) - 2 * math.asin(math.sqrt(pub))
    return "SMD", (prog - pub) / pub_sd if pub_sd > 0 else math.nan


def case_mix(
    data: TrialData | pd.DataFrame,
    trial: str = "hcpc",
    *,
    threshold: float = CASE_MIX_THRESHOLD,
    eligible_only: bool = True,
) -> tuple[CaseMixItem, ...]:
    r"""The program's baseline next to the trial's printed baseline.

    Each of the trial's baseline targets (age, female, BMI, baseline labs
    among those uncontrolled, PCP visits for HCPC; baseline HbA1c for the
    peer trial) is computed on the program with the trial's own ``describe``
    spec (same subset, e.g. "among those uncontrolled") through
    :func:`~coachstats.plan.run_plan`, and the share with diabetes is
    compared with the trial's (peer: 100 % by eligibility; HCPC: not
    published -- the synthetic cohort's assumed share, labelled so). Per-arm
    printed baselines are combined (n-weighted mean; SD with the between-arm
    variance). Characteristics the program lacks are skipped. With
    ``eligible_only`` the program's patients are those meeting the trial's
    entry criterion (:data:`POPULATIONS`), as in :func:`evaluate`.

    Rule: SMD :math:`(\bar x - \mu)/\sigma` for means, Cohen's
    :math:`h` for shares; ``material`` when :math:`|\cdot| >` ``threshold``
    (0.2 by default; Austin 2009 uses 0.1 for covariate balance).

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> items = case_mix(hcpc_cohort().patients, "hcpc")
    >>> [(i.characteristic, i.material) for i in items][:3]
    [('Age, mean (SD)', False), ('Female', False), ('BMI, mean (SD)', False)]
    """
    t = get_trial(trial)
    patients = getattr(data, "patients", data)
    if not isinstance(patients, pd.DataFrame):
        raise OptionError(f"data must be a DataFrame or TrialData, got {type(data).__name__}")
    followup = t.design.months
    months = sorted({m for ms in measure_months(patients.columns).values() for m in ms if m > 0})
    fu = followup if followup in months else (months[0] if months else None)
    population = _population(t.name, eligible_only)
    specs = []
    published = []
    for tid in CASE_MIX_TARGETS.get(t.name, ()):
        target = t.target(tid)
        spec = target.analysis
        spec = replace(
            spec,
            label=tid,
            by=None,
            subset=_combine(population, spec.subset),
            complete_on=tuple(_remonth(c, fu) for c in spec.complete_on),
            followup=fu,
        )
        specs.append(spec)
        published.append((target.label, *_published_baseline(t, target), "printed"))
    if "diabetes" in patients.columns:
        share, source = _diabetes_reference(t.name)
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
        return ()
    res = run_plan(patients, AnalysisPlan(specs, goals=t.goals), errors="record")
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
    return tuple(items)


def _diabetes_reference(trial: str) -> tuple[float, str]:
    if trial == "peer":
        return 1.0, "eligibility: HbA1c >= 8.0 % at entry, all with diabetes"
    cohort = _reference_cohort(trial)
    return float(cohort["diabetes"].mean()), "assumed: synthetic HCPC cohort (not published)"


def _reference_cohort(trial: str) -> pd.DataFrame:
    """The trial's synthetic cohort (default size and seed: deterministic), as a copy."""
    t = get_trial(trial)
    return _cohort(t.cohort or trial).copy()


@lru_cache(maxsize=2)
def _cohort(name: str) -> pd.DataFrame:
    from coachstats import synthetic

    gen = synthetic.hcpc_cohort if name == "hcpc" else synthetic.peer_cohort
    return gen().patients


# --------------------------------------------------------------------------- analyze


@dataclass(frozen=True, repr=False)
class ProgramAnalysis(_Row):
    """The outcomes of a program (``coachstats analyze``), without published comparisons.

    ``plan`` is the :class:`~coachstats.plan.PlanResult` of
    :func:`program_plan`; for single-arm programs ``summaries`` hold each
    outcome's proportion (Wilson interval) or mean (t interval).
    """

    source: str
    design: str
    goals: str
    followup: int | None
    plan: PlanResult
    summaries: tuple[ComparisonResult | None, ...]
    flow: str
    tracking: ProgramMetrics | None = None
    notes: tuple[str, ...] = ()

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
        """Plain data: outcomes (records), brief text, flow, tracking and notes."""
        return {
            "source": self.source,
            "design": self.design,
            "goals": self.goals,
            "followup": self.followup,
            "outcomes": _records(self.to_frame()),
            "brief": self.to_brief(),
            "flow": self.flow,
            "tracking": _records(self.tracking.to_frame()) if self.tracking else [],
            "notes": list(self.notes),
        }

    def to_brief(self) -> str:
        """The practice brief's presentation of every outcome."""
        blocks = []
        for spec, r, s in zip(self.plan.specs, self.plan.results, self.summaries, strict=True):
            if self.design == "two-arm" and r is not None:
                blocks.append(r.to_brief(spec.label[:1].upper() + spec.label[1:]))
            elif s is not None:
                a = s.arms[0]
                if a.events is not None:
                    val = f"{100 * s.estimate:.1f}% (95% CI {100 * s.conf_low:.1f}-{100 * s.conf_high:.1f}%)"
                else:
                    val = f"{s.estimate:.2f} (95% CI {s.conf_low:.2f} to {s.conf_high:.2f})"
                blocks.append(
                    f"{spec.label[:1].upper() + spec.label[1:]}:\n  {ARM_DISPLAY['coaching']}: {val}, n = {a.n}"
                )
        return "\n\n".join(blocks)

    def sentence(self) -> str:
        """Header line."""
        return f"{self.source}: {self.design} program, {self.goals} goals, follow-up month {self.followup}"

    def summary(self) -> str:
        """Header, outcome table, brief text, flow, tracking and notes."""
        cols = [
            "label",
            "n1",
            "estimate1",
            "n2",
            "estimate2",
            "estimate",
            "conf_low",
            "conf_high",
            "p_value",
            "error",
        ]
        if self.design != "two-arm":
            cols = [
                "label",
                "n",
                "events1",
                "estimate",
                "conf_low",
                "conf_high",
                "n_excluded",
                "error",
            ]
        frame = self.to_frame()
        if "n" not in frame.columns and "n1" in frame.columns and self.design != "two-arm":
            frame = frame.assign(n=frame["n1"])
        table = frame[[c for c in cols if c in frame.columns]]
        parts = [
            self.sentence(),
            _table_text(table),
            "As the practice brief presents them:",
            self.to_brief(),
            self.flow,
        ]
        # the flow text already ends with the load notes: print each note once
        shown = {line.removeprefix("note: ") for line in self.flow.splitlines()}
        return _join_parts(parts, self.tracking, tuple(n for n in self.notes if n not in shown))

    def report_data(self) -> dict[str, Any]:
        """What an HTML report needs (tables as DataFrames, texts)."""
        return {
            "title": f"Program outcomes: {self.source}",
            "design": self.design,
            "tables": {
                "outcomes": self.to_frame(),
                "tracking": self.tracking.to_frame() if self.tracking else None,
            },
            "brief": self.to_brief(),
            "flow": self.flow,
            "notes": list(self.notes),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return out


def _join_parts(parts: list[str], tracking: ProgramMetrics | None, notes: Sequence[str]) -> str:
    """A summary's blocks, then the tracking summary and the notes, blank-line separated."""
    if tracking is not None:
        parts.append(tracking.summary())
    if notes:
        parts.append("\n".join(f"note: {n}" for n in notes))
    return "\n\n".join(parts)


def _table_text(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no rows)"
    shown = frame.copy()
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c].dtype):
            shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:.4g}")
    return str(shown.to_string(index=False, max_colwidth=48))


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
        ``"hcpc"`` or ``"peer"`` (or a GoalSet).
    design : {"auto", "two-arm", "single-arm"}
        See :func:`load_program`.
    conf_level : float
        Confidence level of the single-arm intervals.
    tracking : bool
        Also compute the tracking metrics (:func:`coachstats.tasks.tracking.program_metrics`).
    progress : callable, optional
        Called with a short text at each step (the CLI's progress bar).

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = analyze(hcpc_cohort().patients)
    >>> res.to_frame().set_index("label").loc["at goal for >= 1 condition", ["events1", "n1"]].astype(int).tolist()
    [90, 194]
    """
    from coachstats.plan import resolve_goals

    gs = resolve_goals(goals)
    if gs is None:  # pragma: no cover - a name or GoalSet always resolves
        raise OptionError("goals must be 'hcpc', 'peer' or a GoalSet")
    _step(progress, "loading and validating")
    td = load_program(data, design=design, **load)
    program_design = _design_of(td)
    _step(progress, "deriving endpoints and comparing")
    plan = program_plan(gs, single_arm=program_design == "single-arm")
    res = run_plan(td, plan, errors="record")
    summaries: list[ComparisonResult | None] = []
    for spec, r in zip(plan.specs, res.results, strict=True):
        if program_design == "single-arm" and r is not None:
            kind: Kind = "binary" if spec.options.get("stat") == "proportion" else "continuous"
            try:
                summaries.append(_summary_from_describe(r, kind, conf_level, spec.label))
            except AnalysisError:
                summaries.append(None)
        else:
            summaries.append(None)
    metrics = None
    notes = list(td.notes)
    if tracking:
        _step(progress, "tracking metrics")
        try:
            metrics = program_metrics(td, goals=gs)
        except CoachstatsError as exc:
            notes.append(f"tracking metrics not computed: {exc}")
    try:
        flow = td.flow_for(gs).summary()
    except CoachstatsError:
        flow = td.flow.summary()
    return ProgramAnalysis(
        source=td.source,
        design=program_design,
        goals=gs.name,
        followup=td.followup,
        plan=res,
        summaries=tuple(summaries),
        flow=flow,
        tracking=metrics,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- evaluate


@dataclass(frozen=True, repr=False)
class EvaluationResult(_Row):
    """A program evaluated against the published trials (see :func:`evaluate`).

    ``effects`` (two-arm) or ``arms`` (single-arm) hold the per-outcome
    comparisons; ``heterogeneity`` the pooled estimates with Cochran's Q and
    I²; ``case_mix`` the baseline comparison; ``standardized`` the
    comparisons standardized to each trial's baseline; ``tracking`` the
    practice brief's indicators.
    """

    source: str
    design: str
    against: tuple[str, ...]
    effects: tuple[EffectComparison, ...] = ()
    arms: tuple[ArmComparison, ...] = ()
    heterogeneity: tuple[MetaResult, ...] = ()
    case_mix: tuple[CaseMixItem, ...] = ()
    standardized: tuple[StandardizedComparison, ...] = ()
    tracking: ProgramMetrics | None = None
    n: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    alpha: float = ALPHA

    @property
    def ok(self) -> bool:
        """No outcome differs from the published figure (P >= alpha)."""
        if self.design == "two-arm":
            return not any(e.verdict == "differs" for e in self.effects if e.primary)
        return not any(a.differs for a in self.arms)

    def findings(self) -> list[str]:
        """The outcomes that differ, as sentences."""
        if self.design == "two-arm":
            return [e.sentence() for e in self.effects if e.primary and e.verdict == "differs"]
        return [a.sentence() for a in self.arms if a.differs]

    def verdicts(self) -> list[str]:
        """One plain-language sentence per outcome and trial (primary estimand)."""
        if self.design == "two-arm":
            return [e.sentence() for e in self.effects if e.primary]
        return [a.sentence() for a in self.arms]

    def to_frame(self) -> pd.DataFrame:
        """The main tidy table: effects (two-arm) or arm comparisons (single-arm)."""
        rows: Sequence[_Row] = self.effects if self.design == "two-arm" else self.arms
        if not rows:
            return pd.DataFrame()
        return pd.concat([r.to_frame() for r in rows], ignore_index=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table: ``outcomes``, ``heterogeneity``, ``case_mix``, ``standardized``, ``tracking``."""

        def stack(rows: Sequence[Any]) -> pd.DataFrame:
            return (
                pd.concat([r.to_frame() for r in rows], ignore_index=True)
                if rows
                else pd.DataFrame()
            )

        return {
            "outcomes": self.to_frame(),
            "heterogeneity": stack(self.heterogeneity),
            "case_mix": stack(self.case_mix),
            "standardized": stack(self.standardized),
            "tracking": self.tracking.to_frame() if self.tracking else pd.DataFrame(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): every table as records, verdicts, notes."""
        return {
            "source": self.source,
            "design": self.design,
            "against": list(self.against),
            "n": dict(self.n),
            "ok": self.ok,
            "verdicts": self.verdicts(),
            **{k: _records(v) for k, v in self.tables().items()},
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def sentence(self) -> str:
        """Header line."""
        sizes = ", ".join(f"{k} {v}" for k, v in self.n.items())
        names = ", ".join(trial_name(t) for t in self.against)
        return f"{self.source}: {self.design} program ({sizes}) evaluated against {names}"

    def __repr__(self) -> str:
        n_out = len(self.verdicts())
        return (
            f"<EvaluationResult: {self.sentence()}; {n_out} comparison(s), "
            f"{len(self.findings())} differ>"
        )

    def summary(self) -> str:
        """Text: header, verdicts, the outcome table, heterogeneity, case mix, standardized, tracking."""
        parts = [self.sentence()]
        what = "published figures" if self.design == "two-arm" else "published coaching arms"
        verdict = (
            f"no outcome differs from the {what}"
            if self.ok
            else f"{len(self.findings())} outcome(s) differ from the {what}"
        )
        differ = set(self.findings())
        parts.append(
            "Verdict: "
            + verdict
            + "\n"
            + "\n".join(f"  {'x' if v in differ else '-'} {v}" for v in self.verdicts())
        )
        frame = self.to_frame()
        if not frame.empty:
            if self.design == "two-arm":
                cols = [
                    "trial",
                    "outcome",
                    "estimand",
                    "program_estimate",
                    "program_conf_low",
                    "program_conf_high",
                    "published_estimate",
                    "difference",
                    "p_value",
                    "p_holm",
                    "verdict",
                ]
            else:
                cols = [
                    "trial",
                    "outcome",
                    "n",
                    "estimate",
                    "conf_low",
                    "conf_high",
                    "published_coaching",
                    "published_usual_care",
                    "p_vs_coaching",
                    "p_exact_vs_coaching",
                    "p_vs_usual_care",
                    "position",
                ]
            parts.append("Outcomes:\n" + _table_text(frame[cols]))
        if self.heterogeneity:
            het = pd.concat([m.to_frame() for m in self.heterogeneity], ignore_index=True)
            parts.append(
                "Heterogeneity (program and published estimates; DerSimonian-Laird):\n"
                + _table_text(
                    het[
                        [
                            "outcome",
                            "estimand",
                            "k",
                            "estimate",
                            "conf_low",
                            "conf_high",
                            "q",
                            "q_p_value",
                            "i2",
                            "tau2",
                        ]
                    ]
                )
            )
        if self.case_mix:
            lines = [f"  - {c.sentence()}" for c in self.case_mix]
            material = [c.characteristic for c in self.case_mix if c.material]
            head = "Case mix (|SMD| or |h| > 0.2 = material difference):"
            if material:
                head += f" the program's baseline differs materially on {', '.join(material)}; see the standardized comparison"
            parts.append(head + "\n" + "\n".join(lines))
        if self.standardized:
            parts.append(
                "Standardized to each trial's baseline (direct standardization):\n"
                + "\n".join(f"  - {s.sentence()}" for s in self.standardized)
            )
        return _join_parts(parts, self.tracking, self.notes)

    def report_data(self) -> dict[str, Any]:
        """What an HTML report needs: title, tables (DataFrames), verdicts, notes, figure makers."""
        return {
            "title": f"Program evaluation: {self.source}",
            "design": self.design,
            "against": [trial_name(t) for t in self.against],
            "ok": self.ok,
            "verdicts": self.verdicts(),
            "tables": self.tables(),
            "notes": list(self.notes),
            "figures": {"forest": lambda: evaluation_figure(self)},
        }


def _holm(effects: list[EffectComparison]) -> list[EffectComparison]:
    out = list(effects)
    for trial in {e.trial for e in effects}:
        idx = [
            i
            for i, e in enumerate(effects)
            if e.trial == trial and e.primary and e.difference is not None
        ]
        if not idx:
            continue
        adj = adjust_pvalues([effects[i].difference.p_value for i in idx], method="holm")  # type: ignore[union-attr]
        for i, p in zip(idx, adj, strict=True):
            out[i] = replace(effects[i], p_holm=float(p))
    return out


def _two_arm_effects(
    b: Benchmark,
    po: PublishedOutcome,
    result: ComparisonResult | None,
    error: str | None,
    notes: str,
    se_source: SESource,
    conf_level: float,
    alpha: float,
) -> list[EffectComparison]:
    rows = []
    program_effects: dict[str, ComparisonResult] = {}
    if result is not None:
        if b.kind == "binary":
            a1, a2 = result.arms[0], result.arms[1]
            if a1.events is None or a2.events is None:
                error = "the program's analysis gave no counts"
            else:
                for est in po.estimands():
                    if result.estimand == est and est == "risk difference":
                        program_effects[est] = result
                    else:
                        program_effects[est] = two_proportions(
                            a1.events,
                            a1.n,
                            a2.events,
                            a2.n,
                            estimand=cast(Any, est),
                            conf_level=conf_level,
                            labels=(a1.arm, a2.arm),
                            outcome=result.outcome,
                        )
        else:
            program_effects["mean difference"] = result
    for i, est in enumerate(po.estimands()):
        pub = po.effect(est, se_source=se_source, conf_level=conf_level)
        prog = program_effects.get(est)
        diff = None
        p_lo = p_hi = math.nan
        err = error or ""
        if prog is not None:
            log = pub.log_scale
            y = math.log(prog.estimate) if log else prog.estimate
            try:
                diff = difference_test(
                    y,
                    prog.std_error,
                    pub.scaled,
                    pub.std_error,
                    conf_level=conf_level,
                    outcome=po.outcome,
                    estimand="ratio of odds ratios (log)" if log else f"difference in {est}",
                )
                if pub.std_error_low != pub.std_error_high:
                    p_lo = difference_test(y, prog.std_error, pub.scaled, pub.std_error_low).p_value
                    p_hi = difference_test(
                        y, prog.std_error, pub.scaled, min(pub.std_error_high, 1e300)
                    ).p_value
            except AnalysisError as exc:
                err = str(exc)
        rows.append(
            EffectComparison(
                trial=b.trial,
                target=b.target,
                outcome=po.outcome,
                label=b.label,
                estimand=est,
                primary=i == 0,
                program=prog,
                published=pub,
                difference=diff,
                p_value_low=p_lo,
                p_value_high=p_hi,
                alpha=alpha,
                note="; ".join(x for x in (b.note, notes) if x),
                error=err,
            )
        )
    return rows


def _arm_comparison(
    b: Benchmark,
    po: PublishedOutcome,
    result: ComparisonResult | None,
    error: str | None,
    notes: str,
    conf_level: float,
    alpha: float,
) -> ArmComparison:
    program = None
    tests: dict[str, ComparisonResult] = {}
    err = error or ""
    if result is not None:
        try:
            program = _summary_from_describe(result, b.kind, conf_level, b.label)
            a = program.arms[0]
            for arm, ref in zip(("coaching", "usual_care"), po.values, strict=True):
                if b.kind == "binary":
                    x = a.events or 0
                    tests[arm] = one_sample_proportion(
                        x, a.n, ref, test="score", conf_level=conf_level, outcome=po.outcome
                    )
                    tests[f"{arm} exact"] = one_sample_proportion(
                        x, a.n, ref, test="exact", conf_level=conf_level, outcome=po.outcome
                    )
                else:
                    tests[arm] = one_sample_mean(
                        a.value, a.sd, a.n, ref, conf_level=conf_level, outcome=po.outcome
                    )
        except AnalysisError as exc:
            err = str(exc)
    return ArmComparison(
        trial=b.trial,
        target=b.target,
        outcome=po.outcome,
        label=b.label,
        kind=b.kind,
        program=program,
        published=po,
        tests=tests,
        alpha=alpha,
        note="; ".join(x for x in (b.note, notes) if x),
        error=err,
    )


def _heterogeneity(effects: Sequence[EffectComparison]) -> tuple[MetaResult, ...]:
    out = []
    keys = list(dict.fromkeys((e.outcome, e.estimand) for e in effects))
    for outcome, est in keys:
        group = [
            e
            for e in effects
            if (e.outcome, e.estimand) == (outcome, est) and e.program is not None
        ]
        if not group:
            continue
        log = group[0].published.log_scale
        prog = group[0].program
        if prog is None:  # pragma: no cover - filtered above
            continue
        y = [math.log(prog.estimate) if log else prog.estimate] + [
            e.published.scaled for e in group
        ]
        s = [prog.std_error] + [e.published.std_error for e in group]
        labels = [PROGRAM] + [trial_name(e.trial) for e in group]
        try:
            out.append(
                pool(
                    y,
                    s,
                    labels=labels,
                    outcome=group[0].label,
                    estimand=est,
                    transform="exp" if log else "identity",
                )
            )
        except AnalysisError:
            continue
    return tuple(out)


def _standardized(
    b: Benchmark,
    po: PublishedOutcome,
    spec: AnalysisSpec,
    td: TrialData,
    trial: Trial,
    single_arm: bool,
    conf_level: float,
) -> StandardizedComparison:
    covs = STANDARDIZE_COVARIATES.get(po.outcome, ("age",))
    goals = trial.goals
    note = ""
    try:
        if goals is None:  # pragma: no cover - every registry trial names its goals
            raise AnalysisError("the trial has no goal set")
        prog = derive_endpoints(td.patients, goals, followup=spec.followup)
        ref = derive_endpoints(_reference_cohort(trial.name), goals, followup=trial.design.months)
        if spec.subset:
            prog = prog.query(spec.subset)
            ref = ref.query(spec.subset)
        missing = [c for c in covs if c not in prog.columns]
        used = [c for c in covs if c in prog.columns and c in ref.columns]
        if missing:
            note = f"program has no {', '.join(missing)}: not adjusted for it"
        ref = ref.loc[ref[po.outcome].notna().to_numpy()]
        result = standardize(
            prog,
            ref,
            po.outcome,
            covariates=used,
            arm=None if single_arm else "arm",
            conf_level=conf_level,
            reference_name=f"the synthetic {trial_name(trial.name)} cohort",
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
        )
    except (CoachstatsError, KeyError) as exc:
        return StandardizedComparison(
            b.trial, b.target, po.outcome, b.label, math.nan, None, po, None, note, str(exc)
        )


def evaluate(
    data: str | Path | pd.DataFrame | TrialData,
    *,
    against: Against | Sequence[str] = "all",
    design: ProgramDesign = "auto",
    published_se: SESource = "auto",
    alpha: float = ALPHA,
    conf_level: float = 0.95,
    standardize: bool = True,
    tracking: bool = True,
    eligible_only: bool = True,
    encounters: pd.DataFrame | None = None,
    fte: float | Mapping[Any, float] | None = None,
    progress: Progress | None = None,
    **load: Any,
) -> EvaluationResult:
    """Evaluate a program's patient data against the published trials.

    Parameters
    ----------
    data : path, DataFrame or TrialData
        The program's patients (loaded with :func:`load_program`; ``load``
        keywords such as ``columns=``, ``units=``, ``sheet=``, ``on_invalid=``
        go to it).
    against : {"hcpc", "peer", "all"} or sequence of them
        The trials.
    design : {"auto", "two-arm", "single-arm"}
        Force the design (default: from the arm column).
    published_se : {"auto", "counts", "p_value"}
        Source of the published SE (module docstring).
    alpha : float
        Significance level of the verdicts.
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
    >>> res = evaluate(prog, against="hcpc", standardize=False, tracking=False)
    >>> print(res.arms[0].sentence())
    at goal for >= 1 condition: 46 % (95 % CI 42-51), consistent with the published coaching arm of HCPC 2015 (46.4 %; usual care 34.3 %)
    """
    check_option("published_se", published_se, SE_SOURCES)
    if not 0 < alpha < 1:
        raise OptionError(f"alpha={alpha!r} must be in (0, 1)")
    trials = (
        list(TRIALS)
        if against == "all"
        else [against]
        if isinstance(against, str)
        else list(against)
    )
    for t in trials:
        check_option("against", t, AGAINST)
    _step(progress, "loading and validating")
    td = load_program(data, design=design, **load)
    program_design = _design_of(td)
    single = program_design == "single-arm"
    notes: list[str] = list(td.notes)
    effects: list[EffectComparison] = []
    arms: list[ArmComparison] = []
    mix: list[CaseMixItem] = []
    std: list[StandardizedComparison] = []
    for name in trials:
        trial = get_trial(name)
        benchmarks = [b for b in BENCHMARKS if b.trial == name]
        fu, fu_notes = _followup_for(td, trial.design.months)
        notes += [f"{trial_name(name)}: {n}" for n in fu_notes]
        if eligible_only and name in POPULATIONS:
            notes.append(
                f"{trial_name(name)}: program patients with {POPULATIONS[name][0]} ({POPULATIONS[name][1]})"
            )
        specs: list[AnalysisSpec] = []
        spec_notes: list[str] = []
        for b in benchmarks:
            spec, spec_note = _benchmark_spec(b, td, single, fu, eligible_only)
            specs.append(spec)
            spec_notes.append("; ".join(spec_note))
        _step(progress, f"running the {trial_name(name)} analysis plan")
        res = run_plan(
            td,
            AnalysisPlan(specs, goals=trial.goals, name=f"{name} on the program"),
            errors="record",
        )
        for b, spec, r, err, sn in zip(
            benchmarks, specs, res.results, res.errors, spec_notes, strict=True
        ):
            po = published_outcome(b)
            if single:
                arms.append(_arm_comparison(b, po, r, err, sn, conf_level, alpha))
            else:
                effects += _two_arm_effects(b, po, r, err, sn, published_se, conf_level, alpha)
            if standardize:
                _step(progress, f"standardizing {b.label} to {trial_name(name)}")
                std.append(_standardized(b, po, spec, td, trial, single, conf_level))
        _step(progress, f"case mix against {trial_name(name)}")
        try:
            mix += case_mix(td, name, eligible_only=eligible_only)
        except CoachstatsError as exc:
            notes.append(f"{trial_name(name)}: case mix not computed: {exc}")
    metrics = None
    if tracking:
        _step(progress, "tracking metrics")
        try:
            metrics = program_metrics(
                td, goals=get_trial(trials[0]).goals or "hcpc", encounters=encounters, fte=fte
            )
        except CoachstatsError as exc:
            notes.append(f"tracking metrics not computed: {exc}")
    counts = td.patients["arm"].value_counts().to_dict()
    return EvaluationResult(
        source=td.source,
        design=program_design,
        against=tuple(trials),
        effects=tuple(_holm(effects)),
        arms=tuple(arms),
        heterogeneity=_heterogeneity(effects),
        case_mix=tuple(mix),
        standardized=tuple(std),
        tracking=metrics,
        n={str(k): int(v) for k, v in counts.items()},
        notes=tuple(dict.fromkeys(notes)),
        alpha=alpha,
    )


# --------------------------------------------------------------------------- figures


def forest_frame(
    result: EvaluationResult, *, estimand: str | None = None, outcome: str | None = None
) -> pd.DataFrame:
    """The rows of the forest plot: for each outcome, the published trial(s), then the program.

    Two-arm: the effects of ``estimand`` (default: every primary estimand);
    single-arm: proportions or means (the program and each published arm;
    published arms without a printed n have no interval). ``outcome``
    restricts to one endpoint.

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False, tracking=False)
    >>> forest_frame(res, estimand="risk difference")["label"].tolist()[:2]
    ['at goal for >= 1 condition: HCPC 2015', 'at goal for >= 1 condition: Your program']
    """
    rows = []
    if result.design == "two-arm":
        for e in result.effects:
            if (estimand is None and not e.primary) or (
                estimand is not None and e.estimand != estimand
            ):
                continue
            if outcome is not None and e.outcome != outcome:
                continue
            pub = e.published
            base = {"outcome": e.outcome, "estimand": e.estimand, "conf_level": 0.95}
            rows.append(
                {
                    **base,
                    "label": f"{e.label}: {trial_name(e.trial)}",
                    "estimate": pub.estimate,
                    "conf_low": pub.conf_low,
                    "conf_high": pub.conf_high,
                    "source": trial_name(e.trial),
                }
            )
            if e.program is not None:
                p = e.program
                rows.append(
                    {
                        **base,
                        "label": f"{e.label}: {PROGRAM}",
                        "estimate": p.estimate,
                        "conf_low": p.conf_low,
                        "conf_high": p.conf_high,
                        "source": PROGRAM,
                    }
                )
    else:
        for a in result.arms:
            if outcome is not None and a.outcome != outcome:
                continue
            est = "proportion" if a.kind == "binary" else "mean"
            if estimand is not None and est != estimand:
                continue
            base = {"outcome": a.outcome, "estimand": est, "conf_level": 0.95}
            po = a.published
            for i, arm in enumerate(("coaching", "usual care")):
                lo = hi = math.nan
                if po.n is not None and po.events is not None:
                    r = one_sample_proportion(po.events[i], po.n[i])
                    lo, hi = r.conf_low, r.conf_high
                elif po.n is not None and math.isfinite(po.sds[i]):
                    r = one_sample_mean(po.values[i], po.sds[i], po.n[i])
                    lo, hi = r.conf_low, r.conf_high
                rows.append(
                    {
                        **base,
                        "label": f"{a.label}: {trial_name(a.trial)} {arm}",
                        "estimate": po.values[i],
                        "conf_low": lo,
                        "conf_high": hi,
                        "source": f"{trial_name(a.trial)} {arm}",
                    }
                )
            if a.program is not None:
                p = a.program
                rows.append(
                    {
                        **base,
                        "label": f"{a.label}: {PROGRAM}",
                        "estimate": p.estimate,
                        "conf_low": p.conf_low,
                        "conf_high": p.conf_high,
                        "source": PROGRAM,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "outcome",
            "estimand",
            "label",
            "estimate",
            "conf_low",
            "conf_high",
            "conf_level",
            "source",
        ],
    )


def _is_program(frame: pd.DataFrame) -> list[bool]:
    """The program's rows of a :func:`forest_frame` (set apart in the plot)."""
    return (frame["source"] == PROGRAM).tolist()


def _panels(result: EvaluationResult) -> list[pd.DataFrame]:
    frame = forest_frame(result)
    if frame.empty:
        raise AnalysisError("nothing to plot: no outcome was analysed")
    panels = []
    for est in pd.unique(frame["estimand"]):
        sub = frame.loc[frame["estimand"] == est]
        if est in ("risk difference", "proportion"):
            panels.append(sub)
        else:  # means and mean differences have each outcome's own unit
            panels += [sub.loc[sub["outcome"] == o] for o in pd.unique(sub["outcome"])]
    return [p.reset_index(drop=True) for p in panels]


def plot_evaluation(
    result: EvaluationResult,
    *,
    estimand: str | None = None,
    outcome: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of the program and the trials for one estimand (and optionally one outcome).

    Draws :func:`forest_frame` with :func:`coachstats.present.plots.plot_forest`.
    Default estimand: risk difference (two-arm) or proportion (single-arm).

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False, tracking=False)
    >>> ax = plot_evaluation(res)
    >>> len(ax.get_yticklabels())
    8
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    from coachstats.present.plots import plot_forest

    est = estimand or ("risk difference" if result.design == "two-arm" else "proportion")
    frame = forest_frame(result, estimand=est, outcome=outcome)
    if frame.empty:
        raise AnalysisError(
            f"nothing to plot for estimand {est!r}"
            + (f" and outcome {outcome!r}" if outcome else "")
        )
    return plot_forest(frame, labels=frame["label"].tolist(), highlight=_is_program(frame), ax=ax)


def evaluation_figure(result: EvaluationResult) -> Figure:
    """Every forest panel of an evaluation in one figure (one panel per estimand; one per
    continuous outcome, whose units differ).

    Examples
    --------
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="all", standardize=False, tracking=False)
    >>> fig = evaluation_figure(res)
    >>> len(fig.axes)  # risk differences, then HbA1c, LDL and SBP changes
    4
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt

    from coachstats.present.plots import plot_forest
    from coachstats.present.plots.style import journal_style

    panels = _panels(result)
    heights = [len(p) + 1.5 for p in panels]
    with journal_style():
        fig = plt.figure(figsize=(6.5, 0.25 * sum(heights) + 0.4), layout="constrained")
        grid = fig.add_gridspec(len(panels), 1, height_ratios=heights)
        for i, frame in enumerate(panels):
            plot_forest(
                frame,
                labels=frame["label"].tolist(),
                highlight=_is_program(frame),
                ax=fig.add_subplot(grid[i]),
            )
    return fig

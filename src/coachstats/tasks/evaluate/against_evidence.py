r"""A two-arm program placed against the pooled evidence: ``evaluate(against="evidence")``.

For each outcome of the program that the evidence base pools
(:data:`EVIDENCE_ENDPOINTS`: the changes in HbA1c, SBP and LDL, as the
registry records them; :mod:`coachstats.tasks.evidence`),
:func:`evidence_comparisons`

1. estimates the program's own effect, coaching minus usual care, with the
   program plan's test (Welch's t test of the change, as ``coachstats
   analyze``) at the program's follow-up month, **on the patients above the
   goal set's threshold for the measure at baseline** (HCPC goals: HbA1c
   > 8.0 % with diabetes) -- like the pooled trials, which enrolled patients
   with poorly controlled diabetes (docs/evidence.md);
2. places that effect against the pooled evidence
   (:func:`~coachstats.tasks.evidence.position_against_evidence`): against the
   prediction interval (where comparable programs' *true* effects are
   expected to fall), and against the pooled estimate (the average coaching
   program), by direction and margin.

Assumptions, each said where it is used (in the sentence, the meaning of the
evidence and the methods):

* the prediction interval is about programs' true effects; the program's
  own estimate also carries its sampling error, so its whole confidence
  interval is placed too (``range_certain``), and the words say when chance
  may explain where it lies;
* the program and the pooled estimate are independent estimates: the
  difference has :math:`SE = \sqrt{SE_{program}^2 + SE_{pooled}^2}`, with the
  pooled SE its Hartung-Knapp interval implies
  (:attr:`~coachstats.tasks.evidence.EvidenceSummary.comparison_std_error`);
* the margin of ``similar`` is the smallest difference that matters
  clinically (:data:`coachstats.tasks.evidence.DEFAULT_MARGINS`: HbA1c 0.3
  percentage points), or the user's ``margins={"change_hba1c": ...}``;
* the trials pooled (k, coaches, comparators, follow-up) are named by
  :meth:`~coachstats.tasks.evidence.EvidenceSummary.meaning`.

The verdict is judged together with the evaluation's other primary
comparisons (:func:`~coachstats.tasks.evaluate.comparisons.judge_rows`: their
P values adjusted as one family), so ``--fail-on`` and the exit code read it
like any other comparison. The program's other outcomes are listed as not
compared, with the reason. A single-arm program has no comparative effect:
:func:`check_design` refuses it (:class:`~coachstats.core.errors.DesignError`).
The program is never pooled with the trials.

Examples
--------
>>> from coachstats.synthetic import hcpc_cohort
>>> from coachstats.core.goals import HCPC_GOALS
>>> from coachstats.data.programdata import load_program
>>> rows = evidence_comparisons(load_program(hcpc_cohort(n=441, seed=5).patients), HCPC_GOALS)
>>> [(r.outcome, r.compared) for r in rows][-3:]
[('change_hba1c', True), ('change_sbp', False), ('change_ldl', False)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from coachstats.core.errors import CoachstatsError, DesignError
from coachstats.core.goals import GoalSet
from coachstats.core.results import ComparisonResult
from coachstats.core.vocabulary import (
    CLINICAL_DIFFERENCES,
    MEASURE_LABELS,
    MEASURE_UNITS,
    measure_months,
)
from coachstats.data.trialdata import TrialData
from coachstats.derive.endpoints import endpoint_state
from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan
from coachstats.tasks.evaluate.plans import OUTCOME_TEXT, plan_outcomes
from coachstats.tasks.evaluate.published import trial_name
from coachstats.tasks.evaluate.rows import (
    ALPHA,
    EffectComparison,
    Judged,
    SentenceRow,
    among_words,
    own_effect_words,
    program_fields,
    short_error,
    verdict_fields,
)
from coachstats.tasks.evaluate.verdicts import Judgement, Margin
from coachstats.tasks.evaluate.wording import p_words, reason_words
from coachstats.tasks.evidence import (
    DEFAULT_MARGINS,
    EvidencePosition,
    EvidenceSummary,
    effects,
    excluded,
    pool_evidence,
    position_against_evidence,
)
from coachstats.trials.evidence import EVIDENCE_OUTCOMES

__all__ = [
    "EVIDENCE",
    "EVIDENCE_ENDPOINTS",
    "EVIDENCE_NAME",
    "EvidenceComparison",
    "check_design",
    "evidence_comparisons",
    "not_compared_reason",
    "population",
    "two_populations",
]

#: The ``against`` value of the evidence base.
EVIDENCE = "evidence"
#: How the evidence base is named in the output.
EVIDENCE_NAME = "the evidence base"
#: The program endpoints compared with the evidence base, and the evidence outcome each is.
EVIDENCE_ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {"change_hba1c": "hba1c", "change_sbp": "sbp", "change_ldl": "ldl"}
)


def check_design(design: str) -> None:
    """Refuse a comparison with the evidence base for a program without a usual-care arm.

    Raises
    ------
    DesignError
        ``design`` is ``"single-arm"``.

    Examples
    --------
    >>> check_design("two-arm")
    >>> check_design("single-arm")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.DesignError: a single-arm program (every patient coached) has no effect of coaching against usual care, so it cannot be placed against the evidence base, which pools effects of coaching against a control group; its before-after figures are not such effects. Leave 'evidence' out of --against (against=): its figures are compared with the published coaching arms with --against hcpc, peer or all; or evaluate a file with a usual-care arm
    """
    if design == "single-arm":
        raise DesignError(
            "a single-arm program (every patient coached) has no effect of coaching against "
            "usual care, so it cannot be placed against the evidence base, which pools effects "
            "of coaching against a control group; its before-after figures are not such "
            "effects. Leave 'evidence' out of --against (against=): its figures are compared "
            "with the published coaching arms with --against hcpc, peer or all; or evaluate a "
            "file with a usual-care arm"
        )


def population(goals: GoalSet, measure: str) -> tuple[str | None, str]:
    """The query selecting the program's patients compared on ``measure``, and the words for them.

    The patients above the goal set's threshold for the measure at baseline
    (``uncontrolled_<measure>``); all patients when the goal set has none.

    Examples
    --------
    >>> from coachstats.core.goals import HCPC_GOALS
    >>> population(HCPC_GOALS, "hba1c")
    ('uncontrolled_hba1c == True', 'patients above the HbA1c goal at baseline (> 8 %, with diabetes)')
    """
    label, unit = MEASURE_LABELS.get(measure, measure), MEASURE_UNITS.get(measure, "")
    t = goals.thresholds.get(measure)
    if t is None:
        return None, (
            f"all patients with a {label} at baseline and follow-up (the {goals.name} goals set "
            f"no {label} threshold)"
        )
    op = ">=" if t.inclusive else ">"
    rule = f"{op} {t.uncontrolled_above:g} {unit}"
    if t.diabetes_threshold is not None:
        rule += f"; {op} {t.diabetes_threshold:g} with diabetes"
    if t.only_diabetes:
        rule += ", with diabetes"
    return (
        f"uncontrolled_{measure} == True",
        f"patients above the {label} goal at baseline ({rule})",
    )


def _on(result: ComparisonResult | None) -> str:
    """``n 70 vs 76; Welch two-sample t test: -0.66``: who and how, of one estimate."""
    if result is None:
        return "not estimated"
    n = " vs ".join(str(a.n) for a in result.arms)
    return f"n {n}; {result.method}: {result.estimate:+.2f}"


def two_populations(
    effects: Sequence[EffectComparison], evidence: Sequence[EvidenceComparison]
) -> list[str]:
    """Notes setting side by side an outcome's two definitions of the program's patients.

    A published trial's comparison may be on its entry population (the peer trial: baseline
    HbA1c >= 8.0) while the evidence comparison is on the goal set's (patients above the
    HbA1c goal at baseline): one note per such outcome names both, with each one's n and
    estimate, so that neither reader takes the two groups, or the two estimates, for one.

    Examples
    --------
    >>> two_populations([], [])
    []
    """
    out = []
    for ev in evidence:
        if ev.program is None or not ev.population:  # not compared with the evidence
            continue
        for e in effects:
            if e.outcome != ev.outcome or not e.population or e.population == ev.population:
                continue
            ns = [[a.n for a in r.arms] if r is not None else None for r in (e.program, ev.program)]
            groups = (
                "the counts are equal, but the two rules are not the same rule"
                if ns[0] == ns[1]
                else "they are different groups of patients"
            )
            methods = {r.method for r in (e.program, ev.program) if r is not None}
            if len(methods) > 1:
                groups += ", and the two estimates come from different methods"
            out.append(
                f"{ev.label}: two definitions of the program's patients: against "
                f"{trial_name(e.trial)}, {e.population} ({_on(e.program)}); against "
                f"{EVIDENCE_NAME}, {ev.population}, the program's goal set ({_on(ev.program)}); "
                f"{groups}"
            )
    return out


def not_compared_reason(endpoint: str) -> str:
    """Why a program outcome is not compared with the evidence base.

    Examples
    --------
    >>> not_compared_reason("composite_any")
    'the evidence base records no trial results on this outcome'
    >>> not_compared_reason("change_sbp")[:68]
    'no pooled evidence: the evidence base has 0 poolable trial(s) on it,'
    """
    recorded = EVIDENCE_ENDPOINTS.get(endpoint, endpoint if endpoint in EVIDENCE_OUTCOMES else None)
    if recorded is None:
        return "the evidence base records no trial results on this outcome"
    k = len(effects(recorded))
    if k >= 2:
        return (
            "the evidence base pools it, but a program is compared with the evidence only on "
            f"the changes in {', '.join(MEASURE_LABELS[m] for m in EVIDENCE_ENDPOINTS.values())}"
        )
    skipped = excluded(recorded)
    listed = "; ".join(
        f"{trial} ({why})" if why else str(trial)
        for trial, why in zip(skipped["trial"], skipped["reason"], strict=True)
    )
    return (
        f"no pooled evidence: the evidence base has {k} poolable trial(s) on it, at least 2 are "
        "needed" + (f" (registered but not poolable: {listed})" if listed else "")
    )


@dataclass(frozen=True, repr=False)
class EvidenceComparison(Judged, SentenceRow):
    """One outcome of a two-arm program against the pooled evidence (see the module docstring).

    ``program`` is the program's own effect (coaching minus usual care, on
    ``population``, at month ``followup``), ``evidence`` the pooled evidence it
    is set against and ``position`` where it sits (the prediction interval,
    the pooled estimate; :class:`~coachstats.tasks.evidence.EvidencePosition`,
    with its own unadjusted verdict). ``judgement`` is the verdict of the
    evaluation, after its multiplicity adjustment (``adjustment``). An outcome
    without pooled evidence has ``evidence`` None and its reason in ``error``
    (``compared`` False); one whose program analysis failed has ``position``
    None and the error.
    """

    outcome: str
    label: str
    evidence_outcome: str
    program: ComparisonResult | None
    evidence: EvidenceSummary | None
    position: EvidencePosition | None
    population: str = ""
    followup: int | None = None
    margin: Margin | None = None
    judgement: Judgement | None = None
    program_p_adjusted: float = math.nan
    adjustment: str = "holm"
    alpha: float = ALPHA
    conf_level: float = 0.95
    note: str = ""
    error: str = ""
    estimand: str = "mean difference"
    trial: str = EVIDENCE
    primary: bool = True

    @property
    def compared(self) -> bool:
        """The evidence base pools this outcome (the comparison was made or attempted)."""
        return self.evidence is not None

    def reason(self) -> str:
        """Why an inconclusive comparison did not settle (empty otherwise), or why none was made."""
        j = self.judgement
        if j is None:
            return short_error(self.error)
        return reason_words(j, self.outcome, self.estimand, figure="the pooled estimate")

    def to_dict(self) -> dict[str, Any]:
        """One tidy row: the program's effect, the pooled evidence, the position and the verdict."""
        pos, ev, nan = self.position, self.evidence, math.nan
        m = ev.meta if ev is not None else None
        return {
            "trial": self.trial,
            "outcome": self.label,
            "endpoint": self.outcome,
            "evidence_outcome": self.evidence_outcome,
            "estimand": self.estimand,
            "population": self.population,
            "followup": self.followup,
            **program_fields(self.program, self.program_p_adjusted),
            "pooled_estimate": m.estimate if m else nan,
            "pooled_conf_low": m.conf_low if m else nan,
            "pooled_conf_high": m.conf_high if m else nan,
            "pooled_std_error": pos.pooled_std_error if pos else nan,
            "pooled_method": m.method_name if m else "",
            "pi_low": m.pi_low if m else nan,
            "pi_high": m.pi_high if m else nan,
            "k": m.k if m else pd.NA,
            "tau2": m.tau2 if m else nan,
            "i2": m.i2 if m else nan,
            "range_position": pos.range_position if pos else "",
            "range_certain": pos.range_certain if pos else pd.NA,
            "difference": pos.difference if pos else nan,
            "difference_conf_low": pos.difference_low if pos else nan,
            "difference_conf_high": pos.difference_high if pos else nan,
            "p_value": self.judgement.p_difference if self.judgement else nan,
            **verdict_fields(self),
            "reason": self.reason(),
            "sentence": self.sentence(),
            "meaning": ev.meaning() if ev is not None else "",
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def program_sentence(self) -> str:
        """The program's own effect against usual care, in words, with the patients it is on."""
        p = self.program
        if p is None:
            return f"not analysed ({short_error(self.error)})"
        return own_effect_words(self, p) + among_words(self.population, p)

    def sentence(self) -> str:
        """Where the program's effect sits against the prediction interval and the pooled
        estimate, with the verdict, in words."""
        head = self.label
        if not self.compared:
            return f"{head}: not compared with {EVIDENCE_NAME} ({self.error})"
        j, pos = self.judgement, self.position
        if pos is None or j is None:
            return f"{head}: not analysed ({short_error(self.error)})"
        words = pos.describe(
            verdict=j.verdict,
            p_text=p_words(j.p_difference, j.p_difference_adjusted, self.adjustment, j.alpha),
            equivalence_text=p_words(
                j.p_equivalence, j.p_equivalence_adjusted, self.adjustment, j.alpha
            ),
            alpha=j.alpha,
            within_margin=j.within_margin,
            reason=self.reason(),
        )
        return f"{head}, {self.population}, month {self.followup}: {words}"


def _margin(endpoint: str, measure: str, margins: Mapping[str, float]) -> Margin:
    if endpoint in margins:
        return Margin(float(margins[endpoint]), "set by the user", user=True)
    return Margin(
        DEFAULT_MARGINS[measure],
        f"the smallest difference that matters clinically, {CLINICAL_DIFFERENCES[measure][1]} "
        "(not the pooled effect: a program with no effect differs from the average program by "
        "the pooled effect itself)",
    )


def evidence_comparisons(
    data: TrialData,
    goals: GoalSet,
    *,
    conf_level: float = 0.95,
    alpha: float = ALPHA,
    margins: Mapping[str, float] | None = None,
) -> list[EvidenceComparison]:
    """Each outcome of a two-arm program against the pooled evidence (module docstring).

    Every outcome of the program's plan (:func:`~coachstats.tasks.evaluate.plans.plan_outcomes`
    of ``goals``) gets a row: the outcomes the evidence base pools are compared, the others
    carry the reason they are not. The verdicts are set by
    :func:`~coachstats.tasks.evaluate.comparisons.judge_rows`.

    Raises
    ------
    DesignError
        The program has one arm (:func:`check_design`).
    """
    design = "two-arm" if data.patients["arm"].nunique(dropna=True) == 2 else "single-arm"
    check_design(design)
    user = dict(margins or {})
    endpoints = plan_outcomes(goals, list(measure_months(data.patients.columns)))
    pooled: dict[str, EvidenceSummary] = {}
    reasons: dict[str, str] = {}
    for endpoint in endpoints:
        measure = EVIDENCE_ENDPOINTS.get(endpoint)
        if measure is None:
            reasons[endpoint] = not_compared_reason(endpoint)
            continue
        try:
            pooled[endpoint] = pool_evidence(measure, conf_level=conf_level)
        except CoachstatsError:
            reasons[endpoint] = not_compared_reason(endpoint)
    specs = []
    words: dict[str, str] = {}
    analysed: dict[str, tuple[ComparisonResult | None, str]] = {}
    for endpoint in pooled:
        query, words[endpoint] = population(goals, EVIDENCE_ENDPOINTS[endpoint])
        state = endpoint_state(data.patients, endpoint, followup=data.followup)
        if state is not None:  # a state of the data (no follow-up...), not an analysis
            analysed[endpoint] = (None, state)
            continue
        specs.append(
            AnalysisSpec(
                endpoint,
                "t_test",
                label=OUTCOME_TEXT.get(endpoint, endpoint),
                subset=query,
                followup=data.followup,
                options={"conf_level": conf_level},
            )
        )
    results = (
        run_plan(data, AnalysisPlan(specs, goals=goals, name="program against the evidence"))
        if specs
        else None
    )
    if results is not None:
        for spec, r, err in zip(specs, results.results, results.errors, strict=True):
            analysed[spec.outcome] = (r, err or "")
    rows = []
    for endpoint in endpoints:
        label = OUTCOME_TEXT.get(endpoint, endpoint)
        measure = EVIDENCE_ENDPOINTS.get(endpoint, endpoint)
        if endpoint not in pooled:
            rows.append(
                EvidenceComparison(
                    endpoint, label, measure, None, None, None, error=reasons[endpoint]
                )
            )
            continue
        ev = pooled[endpoint]
        r, err = analysed[endpoint]
        margin = _margin(endpoint, measure, user)
        pos = None
        if r is not None:
            try:
                pos = position_against_evidence(
                    r.estimate,
                    r.std_error,
                    measure,
                    evidence=ev,
                    margin=margin.value,
                    conf_level=conf_level,
                    conf_int=(r.conf_low, r.conf_high),
                )
            except CoachstatsError as exc:
                err = str(exc)
        rows.append(
            EvidenceComparison(
                endpoint,
                label,
                measure,
                r if pos is not None else None,
                ev,
                pos,
                population=words[endpoint],
                followup=data.followup,
                margin=margin,
                alpha=alpha,
                conf_level=conf_level,
                note=r.excluded_reason if r is not None and r.excluded_reason else "",
                error=err,
            )
        )
    return rows

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

from coachstats.data.programdata import MappingFile, load_program, read_mapping
from coachstats.tasks.evaluate.casemix import (
    CASE_MIX_TARGETS,
    STANDARDIZE_COVARIATES,
    case_mix,
    standardize,
)
from coachstats.tasks.evaluate.driver import (
    AGAINST,
    TRIALS,
    Against,
    EvaluationResult,
    ProgramAnalysis,
    Progress,
    analyze,
    evaluate,
)
from coachstats.tasks.evaluate.forest import evaluation_figure, forest_frame, plot_evaluation
from coachstats.tasks.evaluate.plans import OUTCOME_TEXT, POPULATIONS, program_plan
from coachstats.tasks.evaluate.published import (
    BENCHMARKS,
    SE_SOURCES,
    Benchmark,
    Kind,
    PublishedEffect,
    PublishedOutcome,
    SESource,
    published_outcome,
    se_from_p,
    trial_name,
)
from coachstats.tasks.evaluate.rows import (
    ALPHA,
    CASE_MIX_THRESHOLD,
    PROGRAM,
    ArmComparison,
    CaseMixItem,
    EffectComparison,
    StandardizedComparison,
    position,
)

__all__ = [
    "AGAINST",
    "ALPHA",
    "BENCHMARKS",
    "CASE_MIX_TARGETS",
    "CASE_MIX_THRESHOLD",
    "OUTCOME_TEXT",
    "POPULATIONS",
    "PROGRAM",
    "SE_SOURCES",
    "STANDARDIZE_COVARIATES",
    "TRIALS",
    "Against",
    "ArmComparison",
    "Benchmark",
    "CaseMixItem",
    "EffectComparison",
    "EvaluationResult",
    "Kind",
    "MappingFile",
    "ProgramAnalysis",
    "Progress",
    "PublishedEffect",
    "PublishedOutcome",
    "SESource",
    "StandardizedComparison",
    "analyze",
    "case_mix",
    "evaluate",
    "evaluation_figure",
    "forest_frame",
    "load_program",
    "plot_evaluation",
    "position",
    "program_plan",
    "published_outcome",
    "read_mapping",
    "se_from_p",
    "standardize",
    "trial_name",
]

r"""Evaluate your own coaching program against the published trials.

"Are we getting the results the trials got?" A health system that runs a
coaching program has its own patient data: coached patients, often without a
comparison group. :func:`evaluate` runs each trial's analysis plan
(:mod:`coachstats.trials`) on the program's data with
:func:`coachstats.plan.run_plan` -- the same endpoints, goal thresholds and
tests as published -- and reports, in this order:

1. **The program's own effect.** Two-arm: its coaching arm against its
   usual-care arm, with CI and P against no effect, in words ("16.8 more
   patients in 100 reached goal on at least one condition with coaching than
   with usual care (95 % CI 1.0 to 32.7 more)"). Single-arm: the
   before-after figure, said to be one (no concurrent control), with the
   part regression to the mean alone would produce where the entry threshold
   is known (:mod:`coachstats.tasks.evaluate.regression`).
2. **The comparison with each published effect**, by direction and margin
   (:mod:`coachstats.tasks.evaluate.verdicts`): ``larger``, ``similar``,
   ``smaller`` or ``inconclusive`` in the outcome's better direction, with
   the margin of ``similar`` (the size of the published effect by default,
   never below a clinically important difference for lab changes), the
   P values of the evaluation adjusted together (Holm by default) and, for
   an inconclusive comparison, why and about how many patients per arm would
   settle it. A single-arm figure is compared with the published coaching
   arm. The program is never pooled with a trial it is compared with.
3. **Against the evidence base** (``against="evidence"``, two-arm programs):
   the program's effect set against the registry's pooled trials -- the
   prediction interval (where comparable programs' true effects are
   expected to fall) and the pooled estimate (the average coaching program)
   -- with the same verdicts, judged together with the trial comparisons;
   the outcomes the evidence base does not pool are listed with the reason
   (:mod:`coachstats.tasks.evaluate.against_evidence`).

**The published standard error.** Trials print percentages or means, rarely
the SE. It is reconstructed (``published_se="auto"``) by the registry
(:meth:`coachstats.trials.PublishedEffect.estimate`), in this order, from

1. printed counts: ``60/121 (49.6 %)``, or events with a percentage
   (``27 (22.0 %)``: the one n that prints as that percentage) -- Wald SE of
   the risk difference, Woolf SE of the log odds ratio;
2. printed means, SDs and sizes: :math:`\sqrt{s_1^2/n_1 + s_2^2/n_2}`;
3. the printed P value and estimate: :math:`SE = |\hat\theta| / z_{1-P/2}`
   (:func:`se_from_p`), assuming a Wald-type test of that estimate.

The printed P is rounded (``.02`` means :math:`.015 \le P < .025`), so the SE
from it is an interval; a verdict that changes within it is flagged
*borderline*. ``published_se="counts"`` also uses counts inferred (not
printed) in the registry (HCPC: 90/194 vs 61/178); ``"p_value"`` prefers the
P route.

**Populations and timing.** The program's patients enter each comparison as
the trial's patients did: the goal endpoints are defined only for patients
uncontrolled at baseline (:mod:`coachstats.derive.endpoints`), and the peer-trial
comparisons keep patients with baseline HbA1c :math:`\ge` 8.0 % (the trial's
entry criterion). The follow-up month is the trial's when the program has it,
otherwise the program's earliest (noted). A trial analysis clustered by a
column the program lacks (or that has one value) runs unclustered (noted).

**Case mix.** The program's baseline is compared with the trial's printed
baseline (:func:`case_mix`): standardized mean difference for means and
Cohen's :math:`h` for shares (above 0.2: a material difference). Shares of a
category (female, Spanish-speaking, Latino, African American) count the
program's patients at the canonical level (:mod:`coachstats.data.levels`:
``F``, ``Female`` and ``woman`` are ``female``); a level that matches none is
named in a note, never counted as 0 %. :func:`standardize` offers the
figures standardized to the trial's baseline distribution
(regression-based direct standardization, with the trial's synthetic cohort
as the reference).

**Program tracking.** :mod:`coachstats.tasks.tracking` computes the practice
brief's indicators (caseload per coach, contacts per patient, retention,
referrals, CPT encounter counts).

``ok`` (and the CLI's exit code) is False when a primary comparison is
``smaller``: a better result is never a failure.

References
----------
Altman DG, Bland JM. Interaction revisited: the difference between two
estimates. BMJ 2003;326:219.
Schuirmann DJ. A comparison of the two one-sided tests procedure and the
power approach for assessing the equivalence of average bioavailability. J
Pharmacokinet Biopharm 1987;15:657-680.
Barnett AG, van der Pols JC, Dobson AJ. Regression to the mean: what it is
and how to deal with it. Int J Epidemiol 2005;34:215-220.
Austin PC. Balance diagnostics for comparing the distribution of baseline
covariates between treatment groups in propensity-score matched samples.
Stat Med 2009;28:3083-3107.
Muller CJ, MacLehose RF. Estimating predicted probabilities from logistic
regression: different methods correspond to different target populations.
Int J Epidemiol 2014;43:962-970.

Examples
--------
A two-arm program generated with the HCPC coaching effect, 800 patients:

>>> from coachstats.synthetic import hcpc_cohort
>>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False)
>>> res.design, res.ok
('two-arm', True)
>>> res.to_frame().query("primary")[["target", "verdict", "favours"]].to_numpy().tolist()[:2]
[['composite_any', 'inconclusive', 'neither'], ['composite_all', 'inconclusive', 'neither']]
"""

from __future__ import annotations

from coachstats.data.programdata import MappingFile, load_program, read_mapping
from coachstats.tasks.evaluate.against_evidence import EVIDENCE_ENDPOINTS, EvidenceComparison
from coachstats.tasks.evaluate.arms import ArmComparison, RegressionEstimate
from coachstats.tasks.evaluate.casemix import (
    CASE_MIX_TARGETS,
    STANDARDIZE_COVARIATES,
    case_mix,
    case_mix_with_notes,
    standardize,
)
from coachstats.tasks.evaluate.driver import (
    AGAINST,
    TRIALS,
    Against,
    ProgramAnalysis,
    Progress,
    against_list,
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
    PublishedOutcome,
    SESource,
    published_outcome,
    se_from_p,
    trial_name,
)
from coachstats.tasks.evaluate.regression import WITHIN_PERSON_CV
from coachstats.tasks.evaluate.result import EvaluationResult
from coachstats.tasks.evaluate.rows import (
    ALPHA,
    CASE_MIX_THRESHOLD,
    PROGRAM,
    CaseMixItem,
    EffectComparison,
    StandardizedComparison,
    position,
)
from coachstats.tasks.evaluate.verdicts import (
    ADJUSTMENTS,
    CLINICAL_DIFFERENCES,
    Judgement,
    Margin,
    default_margin,
)

__all__ = [
    "ADJUSTMENTS",
    "AGAINST",
    "ALPHA",
    "BENCHMARKS",
    "CASE_MIX_TARGETS",
    "CASE_MIX_THRESHOLD",
    "CLINICAL_DIFFERENCES",
    "EVIDENCE_ENDPOINTS",
    "OUTCOME_TEXT",
    "POPULATIONS",
    "PROGRAM",
    "SE_SOURCES",
    "STANDARDIZE_COVARIATES",
    "TRIALS",
    "WITHIN_PERSON_CV",
    "Against",
    "ArmComparison",
    "Benchmark",
    "CaseMixItem",
    "EffectComparison",
    "EvaluationResult",
    "EvidenceComparison",
    "Judgement",
    "Kind",
    "MappingFile",
    "Margin",
    "ProgramAnalysis",
    "Progress",
    "PublishedOutcome",
    "RegressionEstimate",
    "SESource",
    "StandardizedComparison",
    "against_list",
    "analyze",
    "case_mix",
    "case_mix_with_notes",
    "default_margin",
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

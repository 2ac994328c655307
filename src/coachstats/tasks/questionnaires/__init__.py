r"""Analyses of the patient- and clinician-reported outcomes of the HCPC trial.

The HCPC secondary papers analysed questionnaires, not lab values. This module
runs each published analysis next to simpler or design-correct alternatives,
on one analysis set per outcome, and accounts for every patient (or visit)
that was not analysed and why:

- :func:`trust_analyses`: Trust in Physician (0-100), change from baseline to
  12 months by arm. Published (Thom et al. 2014): linear mixed model adjusted
  for PCP visits, random intercept for the clinician. Alternatives: ANCOVA of
  the 12-month score on the baseline score (and the same covariates), and a
  Welch t test of the change.
- :func:`pacic_analyses`: PACIC (1-5) at 12 months by arm. Published (Thom et
  al. 2015): GEE clustered by clinician. Alternative: the same GEE adjusted
  for the baseline score.
- :func:`recommend_analyses`: "would definitely recommend" the clinic at 12
  months. Published (Thom et al. 2015): GEE (binomial, logit) clustered by
  clinician. Alternative: adjusted for the baseline answer.
- :func:`clinician_rating_analyses` / :func:`clinician_rating_comparison`:
  clinicians' post-visit ratings. Published (Dube et al. 2015): t tests over
  visits, which treat the visits of one clinician as independent.
  Alternatives that respect the clustering of visits within clinicians: a
  linear mixed model with a clinician random intercept, OLS with
  cluster-robust (CR1) SEs, and GEE. The table shows how far the SE and the
  P value move, with the ICC and the design effects
  (:func:`coachstats.compare.clustering.design_effect`,
  :func:`coachstats.compare.clustering.design_effect_difference`).

Every statistic comes from :mod:`coachstats.compare` through
:func:`coachstats.plan.run_plan` (the same path as ``reproduce``), and
the scores from :func:`coachstats.plan.derive_scores`
(:mod:`coachstats.derive.scales`) when only the items are given.

**Accounting.** All analyses of one outcome use the same rows: those with
every column any of them needs (both scores, covariates, cluster). The rows
left out are counted per arm, each under the first reason that applies, in
the order the columns are listed (:func:`questionnaire_flow`): no responses at
a time point (questionnaire not returned), too few items answered for a score
(e.g. fewer than 9 of the 11 trust items), a missing covariate or cluster.
The counts appear in :attr:`QuestionnaireAnalyses.flow` and in every result's
``n_excluded`` and ``excluded_reason``; nothing is dropped silently.

References
----------
Thom DH, et al. Patient Educ Couns 2014;96:135-138 (trust).
Thom DH, et al. Am J Manag Care 2015;21:685-691 (PACIC, recommending the clinic).
Dube K, et al. Fam Syst Health 2015;33:213-221 (clinicians' visit ratings).

Examples
--------
>>> import pandas as pd
>>> from coachstats.core.paths import bundled_table
>>> patients = pd.read_csv(bundled_table("hcpc_patients"))
>>> trust = trust_analyses(patients)
>>> trust.to_frame()[["label", "estimate", "p_value"]].round(3).to_numpy().tolist()
[['mixed model of the change', 2.406, 0.047], ['ANCOVA', 2.413, 0.044], ['t test of the change', 2.402, 0.047]]
>>> trust.published.n_excluded, trust.published.excluded_reason
(75, 'no trust items answered at month 12 (75)')
"""

from coachstats.tasks.questionnaires.clinicians import (
    clinician_rating_analyses,
    clinician_rating_comparison,
)
from coachstats.tasks.questionnaires.design import design_effect, design_effect_difference
from coachstats.tasks.questionnaires.flow import questionnaire_flow
from coachstats.tasks.questionnaires.patients import (
    pacic_analyses,
    recommend_analyses,
    trust_analyses,
)
from coachstats.tasks.questionnaires.result import CORRELATIONS as CORRELATIONS
from coachstats.tasks.questionnaires.result import ROLES, QuestionnaireAnalyses
from coachstats.tasks.questionnaires.result import Correlation as Correlation
from coachstats.tasks.questionnaires.result import Role as Role
from coachstats.tasks.questionnaires.scoring import score_questionnaires

__all__ = [
    "ROLES",
    "QuestionnaireAnalyses",
    "clinician_rating_analyses",
    "clinician_rating_comparison",
    "design_effect",
    "design_effect_difference",
    "pacic_analyses",
    "questionnaire_flow",
    "recommend_analyses",
    "score_questionnaires",
    "trust_analyses",
]
# Also public as before the split, though not in __all__: CORRELATIONS, Correlation, Role.

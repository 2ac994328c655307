r"""Adjusted, clustered and mixed-model comparisons of two arms.

Four DataFrame-level functions, each returning a
:class:`~coachstats.core.results.ComparisonResult` for the arm effect (treatment,
coaching by default, versus control):

- :func:`logistic`: logistic regression; odds ratio or marginally standardized
  risk difference; optional cluster-robust (CR1) SEs and absorbed clinic fixed
  effects. Matches R ``glm(family = binomial)``, ``sandwich::vcovCL(type =
  "HC1")`` and ``glm(... + factor(clinic))``.
- :func:`linear`: ordinary least squares with the same options. Matches
  ``lm``, ``vcovCL`` and ``lm(... + factor(clinic))``.
- :func:`gee`: GEE, binomial-logit or gaussian-identity, exchangeable or
  independence working correlation, robust SEs. Matches ``geepack::geeglm``.
- :func:`mixed`: linear mixed model with a random intercept, REML or ML,
  Satterthwaite df. Matches ``lme4::lmer`` + ``lmerTest``.

Covariates are given by name (``covariates=["age", "bmi"]``) or by a formula
right-hand side (``formula="age + bmi + C(site)"``), or both; the coding of
categorical covariates and their reference levels, and the handling of aliased
columns, are described in :mod:`coachstats.compare.design`. Rows missing the
outcome, the arm, a covariate, the cluster or the fixed-effect column are
excluded and counted (``n_excluded``, ``excluded_reason``) by
:func:`coachstats.compare.prepare.prepare`.

The formulas, the R function each method matches and the tolerances reached
are in ``docs/methods_models.md``.

The functions live in :mod:`~coachstats.compare.regression` (logistic,
linear), :mod:`~coachstats.compare.clustered` (GEE, mixed) and
:mod:`~coachstats.compare.modelbase` (the steps they share); this module
gathers them.

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> rng = np.random.default_rng(5)
>>> n = 400
>>> df = pd.DataFrame({
...     "arm": rng.choice(["coaching", "usual_care"], n),
...     "clinic": rng.choice([f"c{i}" for i in range(8)], n),
...     "age": rng.normal(53, 11, n).round(),
... })
>>> p = 1 / (1 + np.exp(-(-0.5 + 0.6 * (df["arm"] == "coaching") + 0.02 * (df["age"] - 53))))
>>> df["goal"] = (rng.random(n) < p).astype(int)
>>> r = logistic(df, "goal", covariates=["age"], cluster="clinic")
>>> r.estimand, round(r.estimate, 3), r.format_p()
('odds ratio', 2.387, '< .001')
>>> logistic(df, "goal", covariates=["age"], estimand="risk difference").estimand
'risk difference'
"""

from __future__ import annotations

from coachstats.compare.clustered import gee, gee_result, mixed, mixed_result
from coachstats.compare.modelbase import (
    RowSummary,
    check_arms_left,
    check_separation,
    degenerate_groups_reason,
    outcome_values,
)
from coachstats.compare.regression import (
    CLUSTER_VCOVS,
    LOGISTIC_ESTIMANDS,
    check_cluster_vcov,
    check_firth,
    check_not_exact,
    cr2_arm,
    linear,
    linear_result,
    logistic,
    logistic_result,
)
from coachstats.compare.twobytwo import check_conf_level

__all__ = [
    "CLUSTER_VCOVS",
    "LOGISTIC_ESTIMANDS",
    "RowSummary",
    "check_arms_left",
    "check_cluster_vcov",
    "check_conf_level",
    "check_firth",
    "check_not_exact",
    "check_separation",
    "cr2_arm",
    "degenerate_groups_reason",
    "gee",
    "gee_result",
    "linear",
    "linear_result",
    "logistic",
    "logistic_result",
    "mixed",
    "mixed_result",
    "outcome_values",
]

"""Analysis plans: which endpoints, which comparisons, and how -- as data.

An :class:`AnalysisPlan` is a list of :class:`AnalysisSpec` items. Each spec
names an outcome column (a raw column, a derived endpoint such as
``composite_any``, a questionnaire score such as ``pacic_12`` or an adherence
change such as ``change_prop_concordant``), the comparison method, its
options, the covariates, the cluster variable, a subset, and the missing-data
rule. :func:`run_plan` is the one place where endpoint derivation
(:mod:`coachstats.derive.endpoints`, :mod:`coachstats.derive.scales`,
:mod:`coachstats.derive.adherence`) and comparisons (:mod:`coachstats.compare`) meet:
``reproduce``, ``evaluate`` and ``coachstats analyze`` all call it.

The package's modules: :mod:`~coachstats.plan.spec` (specs and plans as
data), :mod:`~coachstats.plan.context` (the tables of one run, derived once),
:mod:`~coachstats.plan.rows` (the analysed rows and the exclusions, as data),
:mod:`~coachstats.plan.describe` (summaries without a test),
:mod:`~coachstats.plan.execute` (the executor) and
:mod:`~coachstats.plan.result` (:class:`PlanResult`, with the plan, goal set,
flow and data source that made it).

For each spec, :func:`run_plan`

1. takes the table the spec names (``"patients"``, or ``"visit_ratings"`` for
   clinician post-visit ratings);
2. adds questionnaire scores (``trust_<m>``, ``pacic_<m>``,
   ``pacic_<subscale>_<m>``, ``recommend_definitely_<m>``,
   ``recommend_pcp_definitely_<m>``) when the item columns are present, and the
   per-patient adherence changes when a medication table is given;
3. derives the endpoints with the plan's :class:`~coachstats.core.goals.GoalSet` at
   the spec's follow-up month, when the spec uses a column the table lacks;
4. applies the ``subset`` (a :meth:`pandas.DataFrame.query` expression) and
   ``complete_on`` (rows must have these columns), counting every excluded row
   in the result's ``n_excluded``;
5. forms ``outcome - change_from`` when ``change_from`` is given;
6. runs the comparison under the missing-data rule: ``"complete case"`` (as
   published), ``"failure"`` (a missing binary follow-up counts as not at goal)
   or ``"mi"`` (multiple imputation of the raw follow-up measurements, the
   endpoint re-derived in every completed dataset, pooled by Rubin's rules).

Methods (the compare function each dispatches to):

=============  ================================================================
``chi_square``  :func:`coachstats.compare.proportions.chi_square` (``correct=``)
``fisher``      :func:`coachstats.compare.proportions.fisher_exact`
``t_test``      :func:`coachstats.compare.means.t_test` (``equal_var=``)
``ancova``      :func:`coachstats.compare.means.ancova` (``baseline=`` option)
``logistic``    :func:`coachstats.compare.models.logistic`
``linear``      :func:`coachstats.compare.models.linear`
``gee``         :func:`coachstats.compare.models.gee` (``family=``, ``corr=``)
``mixed``       :func:`coachstats.compare.models.mixed` (random intercept)
``mcnemar``     :func:`coachstats.compare.paired.mcnemar` (``timepoints=``)
``paired_t``    :func:`coachstats.compare.paired.paired_t` (``timepoints=``)
``describe``    per-group summaries without a test (mean/SD, proportion, n)
=============  ================================================================

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["coaching"] * 194 + ["usual_care"] * 178,
...                    "goal": [True] * 90 + [False] * 104 + [True] * 61 + [False] * 117})
>>> plan = AnalysisPlan([AnalysisSpec("goal", "chi_square", label="One clinical goal")])
>>> res = run_plan(df, plan)
>>> res["One clinical goal"].format_p()
'.02'
>>> res.to_frame()[["label", "n1", "events1", "n2", "events2"]].to_numpy().tolist()
[['One clinical goal', 194, 90, 178, 61]]
"""

from coachstats.core.goals import get_goal_set as resolve_goals
from coachstats.plan.context import (
    PlanContext,
    add_adherence,
    derive_scores,
    plan_tables,
    score_names,
)
from coachstats.plan.describe import describe, describe_spec
from coachstats.plan.execute import (
    PLAN_OPTIONS,
    bound_options,
    compare_endpoints,
    compare_function,
    compare_kwargs,
    run_plan,
    run_spec,
)
from coachstats.plan.result import PlanResult
from coachstats.plan.rows import (
    RowSelection,
    analysed_columns,
    as_floats,
    change_name,
    evaluate_expression,
    select_rows,
    with_change,
    with_exclusions,
    with_singleton_clusters,
)
from coachstats.plan.spec import (
    DEFAULT_MI_SEED,
    DESCRIBE_STATS,
    GOALSETS,
    METHODS,
    MISSING_RULES,
    MODEL_METHODS,
    PAIRED_METHODS,
    TABLES,
    AnalysisPlan,
    AnalysisSpec,
    DescribeStat,
    Errors,
    Method,
    MissingRule,
    replace_spec,
    spec_columns,
    subset_names,
)

__all__ = [
    "DEFAULT_MI_SEED",
    "DESCRIBE_STATS",
    "GOALSETS",
    "METHODS",
    "MISSING_RULES",
    "MODEL_METHODS",
    "PAIRED_METHODS",
    "PLAN_OPTIONS",
    "TABLES",
    "AnalysisPlan",
    "AnalysisSpec",
    "DescribeStat",
    "Errors",
    "Method",
    "MissingRule",
    "PlanContext",
    "PlanResult",
    "RowSelection",
    "add_adherence",
    "analysed_columns",
    "as_floats",
    "bound_options",
    "change_name",
    "compare_endpoints",
    "compare_function",
    "compare_kwargs",
    "derive_scores",
    "describe",
    "describe_spec",
    "evaluate_expression",
    "plan_tables",
    "replace_spec",
    "resolve_goals",
    "run_plan",
    "run_spec",
    "score_names",
    "select_rows",
    "spec_columns",
    "subset_names",
    "with_change",
    "with_exclusions",
    "with_singleton_clusters",
]

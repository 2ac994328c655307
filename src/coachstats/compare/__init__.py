"""Statistical comparisons of two arms; every function returns a ComparisonResult.

Each function takes a DataFrame plus column names and keyword-only options,
and is checked against R (``tests/reference/``; methods and formulas in
``docs/methods.md``).

Examples
--------
>>> import pandas as pd
>>> from coachstats.compare import chi_square
>>> df = pd.DataFrame({"arm": ["coaching"] * 194 + ["usual_care"] * 178,
...                    "goal": [1] * 90 + [0] * 104 + [1] * 61 + [0] * 117})
>>> chi_square(df, "goal").format_p()
'.02'
"""

from coachstats.compare.mantel_haenszel import mantel_haenszel
from coachstats.compare.means import ancova, mean_difference, t_test, t_test_from_stats
from coachstats.compare.missing import missing_as_failure, multiple_imputation, rubin_pool
from coachstats.compare.models import gee, linear, logistic, mixed
from coachstats.compare.multiplicity import adjust_pvalues, adjust_table
from coachstats.compare.paired import mcnemar, paired_t
from coachstats.compare.proportions import (
    by_arm,
    chi_square,
    fisher_exact,
    odds_ratio,
    relative_risk,
    risk_difference,
    two_proportions,
)
from coachstats.compare.subgroups import subgroup_effects

__all__ = [
    "adjust_pvalues",
    "adjust_table",
    "ancova",
    "by_arm",
    "chi_square",
    "fisher_exact",
    "gee",
    "linear",
    "logistic",
    "mantel_haenszel",
    "mcnemar",
    "mean_difference",
    "missing_as_failure",
    "mixed",
    "multiple_imputation",
    "odds_ratio",
    "paired_t",
    "relative_risk",
    "risk_difference",
    "rubin_pool",
    "subgroup_effects",
    "t_test",
    "t_test_from_stats",
    "two_proportions",
]

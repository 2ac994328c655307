"""Missing outcome data: missing = failure, and multiple imputation with Rubin's rules.

The published analyses are complete case (every comparison excludes and counts
incomplete rows through :func:`coachstats.compare.prepare.prepare`). This module
offers the two sensitivity analyses that readers of the trial papers ask for:

* :func:`missing_as_failure` -- a binary endpoint with missing follow-up is
  counted as *not at goal* (the conservative single imputation);
* :func:`multiple_imputation` -- multiple imputation by chained equations
  (:func:`~coachstats.compare.imputation.impute`, engine in
  :mod:`coachstats.compare.mice`), any comparison run on each completed
  dataset, and the results pooled by Rubin's rules with the Barnard-Rubin
  degrees of freedom (:func:`~coachstats.compare.rubin.rubin_pool`,
  :func:`~coachstats.compare.rubin.pool_results`), exactly as R's
  ``mice::pool``.

The imputation and pooling names are re-exported here, so
``from coachstats.compare.missing import impute, rubin_pool`` keeps working.

References
----------
Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.

Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation.
Biometrika 1999;86(4):948-955. doi:10.1093/biomet/86.4.948

van Buuren S, Groothuis-Oudshoorn K. mice: Multivariate Imputation by Chained
Equations in R. J Stat Softw 2011;45(3):1-67. doi:10.18637/jss.v045.i03

Examples
--------
>>> import numpy as np, pandas as pd
>>> data = pd.DataFrame({"arm": ["coaching", "usual_care"] * 4,
...                      "at_goal": [1, 0, 1, np.nan, np.nan, 1, 0, 0]})
>>> recoded, n = missing_as_failure(data, "at_goal")
>>> n, recoded["at_goal"].tolist()
(2, [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from coachstats.compare.imputation import ArmModel, Delta, ImputedData, impute
from coachstats.compare.mice import Progress, Seed
from coachstats.compare.prepare import check_binary, eligible_mask, is_boolean, require_columns
from coachstats.compare.rubin import (
    PooledEstimate,
    barnard_rubin_df,
    check_result,
    pool_results,
    rubin_pool,
)
from coachstats.core.errors import AnalysisError
from coachstats.core.results import ComparisonResult

__all__ = [
    "Analysis",
    "ImputedData",
    "PooledEstimate",
    "barnard_rubin_df",
    "impute",
    "missing_as_failure",
    "multiple_imputation",
    "pool_results",
    "rubin_pool",
    "with_missing_as_failure",
]

#: A comparison run on one (completed or recoded) dataset.
Analysis = Callable[[pd.DataFrame], ComparisonResult]


# --------------------------------------------------------------------------- missing = failure


def missing_as_failure(
    data: pd.DataFrame, outcome: str, *, eligible: str | None = None
) -> tuple[pd.DataFrame, int]:
    """Count a missing binary outcome as failure (not at goal).

    The conservative sensitivity analysis for a binary endpoint: every
    patient whose follow-up is missing is assumed not to have reached the
    goal, so all randomized (eligible) patients are analysed. It is the
    comparison-level counterpart of ``missing="failure"`` in the endpoint
    derivation.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        A binary column (0/1, or True/False), missing where not observed.
    eligible : str, optional
        A boolean column marking the patients in the endpoint's denominator
        (e.g. uncontrolled at baseline for a per-condition goal). Only their
        missing values are recoded; a missing value outside the denominator is
        not a missed follow-up and stays missing. Without it, every missing
        value is recoded -- use it whenever the outcome is missing by design
        for some patients.

    Returns
    -------
    (DataFrame, int)
        A new DataFrame with the recoded outcome (0 / False; a column that no
        longer has missing values becomes plain ``bool`` or keeps its numeric
        dtype) and the number of values recoded.

    Raises
    ------
    AnalysisError
        When the outcome is not binary or ``eligible`` is not boolean.

    References
    ----------
    White IR, Horton NJ, Carpenter J, Pocock SJ. Strategy for intention to
    treat analysis in randomised trials with missing outcome data. BMJ
    2011;342:d40. doi:10.1136/bmj.d40

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a1c_goal": [True, None, False, None],
    ...                   "had_diabetes": [True, True, True, False]})
    >>> out, n = missing_as_failure(d, "a1c_goal", eligible="had_diabetes")
    >>> n, out["a1c_goal"].tolist()
    (1, [True, False, False, <NA>])
    """
    require_columns(data, [outcome, *([eligible] if eligible else [])])
    s = data[outcome]
    check_binary(s, outcome)
    recode = s.isna().to_numpy() & eligible_mask(data, eligible)
    n = int(recode.sum())
    out = data.copy()
    if is_boolean(s):
        new = s.astype("boolean").mask(recode, False)
        out[outcome] = new.astype(bool) if not new.isna().any() else new
    else:
        out[outcome] = s.mask(recode, 0)
    return out, n


def with_missing_as_failure(
    data: pd.DataFrame, analysis: Analysis, *, outcome: str, eligible: str | None = None
) -> ComparisonResult:
    """Run ``analysis`` after :func:`missing_as_failure`, and label the result.

    Returns the analysis result with ``missing`` set to
    ``"missing <outcome> counted as failure (<n> recoded)"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> def share(d):
    ...     return ComparisonResult(outcome="at_goal", method="mean", estimand="proportion",
    ...                             estimate=float(d["at_goal"].mean()))
    >>> d = pd.DataFrame({"at_goal": [1.0, np.nan, 1.0, 0.0]})
    >>> r = with_missing_as_failure(d, share, outcome="at_goal")
    >>> r.estimate, r.missing
    (0.5, 'missing at_goal counted as failure (1 recoded)')
    """
    recoded, n = missing_as_failure(data, outcome, eligible=eligible)
    result = analysis(recoded)
    check_result(result)
    return result.replace(missing=f"missing {outcome} counted as failure ({n} recoded)")


# --------------------------------------------------------------------------- multiple imputation


def multiple_imputation(
    data: pd.DataFrame,
    analysis: Analysis,
    *,
    columns: Sequence[str],
    arm: str | None = "arm",
    m: int = 20,
    seed: Seed,
    maxit: int = 10,
    methods: Mapping[str, str] | None = None,
    predictors: Mapping[str, Sequence[str]] | None = None,
    arm_model: ArmModel = "predictor",
    donors: int = 5,
    df_complete: float | None = None,
    delta: Mapping[str, Delta] | None = None,
    progress: Progress | None = None,
) -> ComparisonResult:
    """Impute ``m`` times, run ``analysis`` on each completed dataset, pool by Rubin's rules.

    Parameters
    ----------
    data : DataFrame
        One row per randomized patient, with missing values.
    analysis : callable(DataFrame) -> ComparisonResult
        Any comparison, e.g. ``lambda d: t_test(d, "change_hba1c")``.
    columns, arm, m, seed, maxit, methods, predictors, arm_model, donors
        As :func:`impute` (``m`` must be at least 2).
    df_complete : float, optional
        As :func:`pool_results`.
    delta : mapping, optional
        A delta adjustment for a missing-not-at-random sensitivity analysis,
        as :func:`~coachstats.compare.imputation.impute` (e.g.
        ``{"hba1c_12": {"coaching": 0.5}}``); ``missing`` then reads
        ``"delta-adjusted multiple imputation (...)"``. See
        :mod:`coachstats.compare.sensitivity` for tipping-point analyses.
    progress : callable(done, total), optional
        Called after each imputation iteration and each analysis
        (``total = m * (maxit + 1)``).

    Returns
    -------
    ComparisonResult
        Pooled as :func:`pool_results`; ``missing`` is
        ``"multiple imputation (m=.., seed=..)"``; ``extra`` adds ``fmi``,
        ``riv``, ``m``, ``maxit`` and ``n_imputed``.

    References
    ----------
    Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.
    Barnard J, Rubin DB. Biometrika 1999;86:948-955.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> def mean_difference(d):
    ...     g = d.groupby("arm")["a1c_12"]
    ...     mean, var, n = g.mean(), g.var(), g.size()
    ...     se = float(np.sqrt((var / n).sum()))
    ...     return ComparisonResult(outcome="a1c_12", method="z test",
    ...         estimand="mean difference", std_error=se,
    ...         estimate=float(mean["coaching"] - mean["usual_care"]))
    >>> rng = np.random.default_rng(5)
    >>> d = pd.DataFrame({"arm": np.repeat(["coaching", "usual_care"], 50),
    ...                   "a1c_0": rng.normal(9.5, 1.5, 100)})
    >>> d["a1c_12"] = d["a1c_0"] - np.where(d["arm"] == "coaching", 1.0, 0.3) \\
    ...     + rng.normal(0, 1, 100)
    >>> d.loc[rng.random(100) < 0.3, "a1c_12"] = np.nan
    >>> r = multiple_imputation(d, mean_difference, columns=["a1c_0", "a1c_12"], m=5, seed=2)
    >>> r.missing, r.estimate < 0, 0 <= r.extra["fmi"] <= 1
    ('multiple imputation (m=5, seed=2)', True, True)
    """
    if int(m) < 2:
        raise AnalysisError(
            f"multiple imputation needs m >= 2 imputations for Rubin's rules (got m={m})"
        )
    total = int(m) * (int(maxit) + 1)
    report: Progress | None = None
    if progress is not None:
        callback = progress

        def report(done: int, _total: int) -> None:
            callback(done, total)

    imputed = impute(
        data,
        columns,
        arm=arm,
        m=m,
        seed=seed,
        maxit=maxit,
        methods=methods,
        predictors=predictors,
        arm_model=arm_model,
        donors=donors,
        delta=delta,
        progress=report,
    )
    results = []
    for i, completed in enumerate(imputed):
        result = analysis(completed)
        check_result(result)
        results.append(result)
        if progress is not None:
            progress(int(m) * int(maxit) + i + 1, total)
    return pool_results(
        results,
        df_complete=df_complete,
        missing=imputed.label,
        extra={"maxit": imputed.maxit, "n_imputed": imputed.n_imputed, "seed": imputed.seed},
    )

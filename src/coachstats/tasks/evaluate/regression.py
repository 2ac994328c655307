"""Regression to the mean in a single-arm program's figures, where the entry threshold is known.

Patients enrolled for an HbA1c above a threshold (HCPC: > 8.0 % among those
with diabetes; the peer trial: >= 8.0 %) come down on average at the next
test even without any effect. :func:`regression_estimate` estimates, for the
program's analysed patients, the figure that regression to the mean alone
would produce -- the mean change, or the share at goal, with a drop of at
least a point, or below the target -- from the bivariate normal model of
:mod:`coachstats.compare.regression_to_mean`:

* the population the patients were selected from: the program's patients
  with an HbA1c baseline (those with diabetes, when the threshold applies
  only with diabetes) -- its mean and SD, or a normal truncated at the
  threshold when every baseline lies above it;
* the within-person variation: a documented coefficient of variation
  (:data:`WITHIN_PERSON_CV`) times the analysed patients' mean baseline; the
  test-retest correlation is :math:`\\rho = 1 - \\sigma_w^2/\\sigma^2`;
* each analysed patient's expected figure given their own baseline, averaged.

Laboratory values are recorded to 0.1 %, so a rule such as "> 8.0" is read as
"above 8.05" on the continuous scale. Only HbA1c has a documented
within-person variation here; other measures are noted as not estimated.

Examples
--------
>>> WITHIN_PERSON_CV["hba1c"][0]
0.083
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from coachstats.compare.regression_to_mean import regression_to_mean
from coachstats.core.errors import CoachstatsError
from coachstats.core.goals import GoalSet
from coachstats.core.units import REPORTED_DECIMALS
from coachstats.derive.endpoints import derive_endpoints
from coachstats.plan import AnalysisSpec
from coachstats.tasks.evaluate.arms import RegressionEstimate

__all__ = ["WITHIN_PERSON_CV", "regression_estimate"]

#: Documented within-person coefficient of variation per measure, and its source.
WITHIN_PERSON_CV: Mapping[str, tuple[float, str]] = MappingProxyType(
    {
        # the median within-subject coefficient of variation among people with type 2
        # diabetes in a systematic review of 111 studies: Gough A, Sitch A, Ferris E,
        # Marshall T. Within-subject variation of HbA1c: a systematic review and
        # meta-analysis. PLoS One 2023;18(8):e0289085 (IQR 0.06 to 0.10)
        "hba1c": (0.083, "Gough et al. 2023"),
    }
)

_HBA1C_OUTCOMES = ("at_goal_hba1c", "change_hba1c", "hba1c_drop_ge1", "hba1c_lt_7_5")


def regression_estimate(
    outcome: str, spec: AnalysisSpec, patients: pd.DataFrame, goals: GoalSet
) -> tuple[RegressionEstimate | None, str]:
    """The figure regression to the mean alone would give ``outcome``, or why it is not estimated.

    ``spec`` is the single-arm ``describe`` spec run on the program (its
    subset and follow-up month select the analysed patients); ``goals`` the
    trial's goal set (its HbA1c entry threshold, goal, drop and target).

    Returns
    -------
    (RegressionEstimate or None, str)
        The estimate, or None and a note saying why there is none.
    """
    if outcome.startswith("composite_"):
        return None, (
            "regression to the mean not estimated for a composite (it adds to the figure)"
        )
    if outcome not in _HBA1C_OUTCOMES:
        measure = outcome.removeprefix("at_goal_").removeprefix("change_")
        selected = outcome.startswith("at_goal_") or measure in goals.thresholds
        if not selected:
            return None, ""
        return None, (
            f"regression to the mean not estimated for {measure.upper()} (no documented "
            "within-person variation; it adds to the figure)"
        )
    th = goals.thresholds.get("hba1c")
    if th is None:
        return None, ""
    half = 0.5 * 10.0 ** -REPORTED_DECIMALS.get("hba1c", 1)
    entry = th.entry_threshold(True)
    cut = entry - half if th.inclusive else entry + half
    selection = f"HbA1c {'>=' if th.inclusive else '>'} {entry:g} %"
    cv, source = WITHIN_PERSON_CV["hba1c"]
    try:
        derived = derive_endpoints(patients, goals, followup=spec.followup)
        base_pop = derived
        if th.only_diabetes and "diabetes" in derived.columns:
            base_pop = derived.loc[derived["diabetes"].fillna(False).astype(bool).to_numpy()]
        population = pd.to_numeric(base_pop["hba1c_0"], errors="coerce").dropna().to_numpy()
        analysed = derived.query(spec.subset) if spec.subset else derived
        analysed = analysed.loc[analysed[outcome].notna().to_numpy()]
        x = pd.to_numeric(analysed["hba1c_0"], errors="coerce").dropna().to_numpy(dtype=float)
        if x.size == 0 or not np.all(x > cut):
            return None, (
                f"regression to the mean not estimated: the analysed patients were not all "
                f"selected on {selection}"
            )
        model = regression_to_mean(
            population=population, threshold=cut, within_sd=cv * float(x.mean())
        )
    except (CoachstatsError, KeyError, ValueError) as exc:
        return None, f"regression to the mean not estimated: {exc}"
    if outcome == "change_hba1c":
        expected = float(model.change_given(x).mean())
    elif outcome == "at_goal_hba1c":
        g = th.goal_threshold(True)
        expected = float(
            model.below_given(x, g + half if th.at_goal_inclusive else g - half).mean()
        )
    elif outcome == "hba1c_drop_ge1":
        expected = float(model.below_given(x, x - goals.hba1c_drop + half).mean())
    else:
        expected = float(model.below_given(x, goals.hba1c_target - half).mean())
    return RegressionEstimate(expected, model, selection, cv, source), ""

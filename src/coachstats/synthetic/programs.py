r"""Synthetic coaching programs for trying out an evaluation, built from the trial cohorts.

The cohort generators of :mod:`coachstats.synthetic` produce trials with the
published effects. An evaluator's program is rarely such a trial, so these
documented, seeded transformations turn a cohort into the programs an
evaluation must tell apart:

:func:`without_effect`
    A two-arm program in which coaching did nothing: every coached patient's
    clinical record -- the condition flags (diabetes, hypertension,
    hyperlipidemia, insulin) and every laboratory value at every month, with
    its missing values -- becomes that of one usual-care patient (the donor)
    drawn at random, with replacement (seeded). The coached arm is then a
    resample of the usual-care records, so its baselines, changes, at-goal
    rates and follow-up losses have the usual-care distribution: the true
    effect is zero, on every outcome and in expectation exactly, whatever the
    cohort's arms look like. Identifiers, arm, site, coach, demographics,
    contacts and questionnaires stay the patient's own, and the usual-care arm
    is untouched. Earlier versions kept each coached patient's own baselines
    and added a matched donor's changes; a change set on another baseline
    misplaces the patients near a goal threshold, and donors matched within
    strata inherit the cohort's between-arm differences in composition (the
    synthetic HCPC arms are calibrated to the published per-arm counts), so
    at 3,000 patients the "null" moved the composite by 3 points and LDL by
    6 mg/dL.
:func:`single_arm_program`
    A single-arm program (every patient coached), optionally a mixture: all
    coached patients plus a random share of usual-care patients relabelled as
    coached. With ``usual_care_share=0.5`` the program's at-goal rates fall
    halfway between the trial's arms (a program with half the trial's effect).
:func:`synthetic_encounters`
    CPT encounter rows (``patient_id``, ``date``, ``cpt``) matching each coached
    patient's ``coach_contacts``: one initial assessment (0591T), then
    individual follow-ups (0592T) and, for a share of the contacts, group
    sessions (0593T), spread over the follow-up period; dates are Excel serial
    day numbers, as spreadsheets export them.

Examples
--------
>>> from coachstats.synthetic import hcpc_cohort
>>> from coachstats.derive.endpoints import derive_endpoints
>>> from coachstats.core.goals import HCPC_GOALS
>>> cohort = hcpc_cohort(n=2000, seed=11).patients
>>> null = without_effect(cohort, seed=1)
>>> rates = derive_endpoints(null, HCPC_GOALS).groupby("arm")["composite_any"].mean()
>>> bool(abs(rates["coaching"] - rates["usual_care"]) < 0.05)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coachstats.compare.prepare import require_columns
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.core.goals import GoalSet
from coachstats.core.vocabulary import measure_months
from coachstats.data.schema import PATIENT_SCHEMA

__all__ = [
    "CONDITION_FLAGS",
    "MEASURE_COLUMNS",
    "single_arm_program",
    "synthetic_encounters",
    "without_effect",
]

#: The per-month measurement columns of the schema (``hba1c``, ``sbp``, ``ldl``, ``bmi``).
MEASURE_COLUMNS = tuple(c.name for c in PATIENT_SCHEMA if c.per_month)


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


#: The condition flags that travel with a donor's laboratory values.
CONDITION_FLAGS = ("diabetes", "hypertension", "hyperlipidemia", "insulin")


def without_effect(
    patients: pd.DataFrame,
    *,
    goals: GoalSet | str | None = None,
    followup: int | None = None,
    arm: str = "arm",
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Remove the coaching effect: each coached patient's clinical record from a usual-care patient.

    See the module docstring for the transformation. One donor gives all of a
    coached patient's laboratory values and condition flags, so the
    usual-care association between the measures (at goal on one condition
    and on another) and between baseline and follow-up is kept.

    Parameters
    ----------
    patients : DataFrame
        A two-arm cohort (``coaching`` / ``usual_care``) with ``<measure>_0``
        and ``<measure>_<followup>`` columns.
    goals : GoalSet or str, optional
        Unused, accepted for backward compatibility (the donors are no longer
        stratified by control status).
    followup : int, optional
        A follow-up month the cohort must have (default: any month after baseline).
    arm : str
        Arm column.
    seed : int or Generator
        Seed of the resampling.

    Returns
    -------
    DataFrame
        A copy with the coached patients' condition flags and laboratory values replaced.

    Raises
    ------
    AnalysisError
        No follow-up columns, or no usual-care patient.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching", "usual_care", "usual_care"],
    ...                    "age": [50, 60, 70], "hba1c_0": [10.0, 9.0, 8.5],
    ...                    "hba1c_12": [7.0, 8.8, None]})
    >>> null = without_effect(df, seed=1)
    >>> null.loc[0, ["age", "hba1c_0"]].tolist() in ([50, 9.0], [50, 8.5])
    True
    """
    del goals  # kept in the signature for callers of earlier versions
    require_columns(patients, [arm])
    rng = _rng(seed)
    months = measure_months(patients.columns, MEASURE_COLUMNS)
    later = sorted({m for ms in months.values() for m in ms if m > 0})
    if not later or (followup is not None and followup not in later):
        month = "any month after baseline" if followup is None else f"month {followup}"
        raise AnalysisError(
            f"the cohort has no baseline and follow-up measurement columns ({month})"
        )
    labs = [f"{m}_{t}" for m, ts in months.items() for t in ts]
    record = [c for c in CONDITION_FLAGS if c in patients.columns] + labs
    labels = patients[arm].astype("string")
    coached = np.flatnonzero((labels == "coaching").fillna(False).to_numpy())
    usual = np.flatnonzero((labels == "usual_care").fillna(False).to_numpy())
    if usual.size == 0:
        raise AnalysisError("the cohort has no usual-care patient to take records from")
    donors = usual[rng.integers(0, usual.size, size=coached.size)]
    out = patients.copy()
    for c in record:
        values = out[c].to_numpy(copy=True)
        values[coached] = patients[c].to_numpy()[donors]
        out[c] = pd.Series(values, index=out.index, dtype=patients[c].dtype)
    return out


def single_arm_program(
    patients: pd.DataFrame,
    *,
    usual_care_share: float = 0.0,
    arm: str = "arm",
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """A single-arm program: the coached patients plus, optionally, relabelled usual-care ones.

    Parameters
    ----------
    patients : DataFrame
        A two-arm cohort.
    usual_care_share : float
        Share of the program drawn from the usual-care arm, in [0, 1): the
        program keeps every coached patient and adds
        ``round(n_coached * share / (1 - share))`` usual-care patients (drawn
        without replacement, at most all of them).
    arm : str
        Arm column; in the result every patient is ``"coaching"``.
    seed : int or Generator
        Seed of the draw.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 6, "x": range(10)})
    >>> p = single_arm_program(df, usual_care_share=0.5, seed=1)
    >>> len(p), p["arm"].unique().tolist()
    (8, ['coaching'])
    """
    if not 0.0 <= usual_care_share < 1.0:
        raise OptionError(f"usual_care_share={usual_care_share!r} must be in [0, 1)")
    require_columns(patients, [arm])
    labels = patients[arm].astype("string")
    coached = np.flatnonzero((labels == "coaching").fillna(False).to_numpy())
    usual = np.flatnonzero((labels == "usual_care").fillna(False).to_numpy())
    k = min(len(usual), round(len(coached) * usual_care_share / (1.0 - usual_care_share)))
    extra = (
        np.sort(_rng(seed).choice(usual, size=k, replace=False)) if k else np.array([], dtype=int)
    )
    out = patients.iloc[np.concatenate([coached, extra])].copy()
    out[arm] = "coaching"
    return out.reset_index(drop=True)


def synthetic_encounters(
    patients: pd.DataFrame,
    *,
    contacts: str = "coach_contacts",
    start: str = "2023-01-02",
    months: int = 12,
    group_share: float = 0.2,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """CPT encounter rows matching each coached patient's number of contacts.

    Every patient with ``c >= 1`` contacts gets one 0591T (initial assessment)
    on a day in the first month, then ``c - 1`` sessions between a week and
    ``months`` later, each a group session (0593T) with probability ``group_share``
    and otherwise an individual follow-up (0592T). Dates are Excel serial day
    numbers (integers), as a spreadsheet export gives them.

    Examples
    --------
    >>> df = pd.DataFrame({"patient_id": ["a", "b", "c"], "coach_contacts": [3, 1, 0]})
    >>> enc = synthetic_encounters(df, seed=2)
    >>> enc.groupby("patient_id").size().to_dict(), int((enc["cpt"] == "0591T").sum())
    ({'a': 3, 'b': 1}, 2)
    """
    require_columns(patients, ["patient_id", contacts])
    if not 0.0 <= group_share <= 1.0:
        raise OptionError(f"group_share={group_share!r} must be in [0, 1]")
    rng = _rng(seed)
    c = pd.to_numeric(patients[contacts], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    c = np.maximum(c, 0)
    ids = np.repeat(patients["patient_id"].to_numpy(dtype=object), c)
    first = np.zeros(c.sum(), dtype=bool)
    starts = np.concatenate([[0], np.cumsum(c)[:-1]])[c > 0]
    first[starts] = True
    initial = np.repeat(rng.integers(0, 30, size=c.size), c)  # day of the initial assessment
    later = rng.integers(7, max(8, int(months * 30.44)), size=c.sum())
    days = initial + np.where(first, 0, later)
    origin = (pd.Timestamp(start) - pd.Timestamp("1899-12-30")).days
    group = rng.random(c.sum()) < group_share
    cpt = np.where(first, "0591T", np.where(group, "0593T", "0592T"))
    out = pd.DataFrame({"patient_id": ids, "date": origin + days, "cpt": cpt})
    return out.sort_values(["patient_id", "date"], kind="stable").reset_index(drop=True)

r"""Synthetic coaching programs for trying out an evaluation, built from the trial cohorts.

The cohort generators of :mod:`coachstats.synthetic` produce trials with the
published effects. An evaluator's program is rarely such a trial, so these
documented, seeded transformations turn a cohort into the programs an
evaluation must tell apart:

:func:`without_effect`
    A two-arm program in which coaching did nothing: every coached patient's
    follow-up lab values become the patient's own baselines plus the changes
    of one usual-care patient (the donor) of the same stratum -- the same
    measures at baseline, the same control status on each under the goal
    set, the same diabetes status -- with follow-up values and close
    baselines (one of the :data:`NEAREST` closest in standardized baselines,
    at random, seeded; changes depend on the baseline through
    regression to the mean, so the donor's baselines must match). A coached
    patient whose pattern of measures no usual-care patient shares takes any
    followed-up donor, and loses the follow-up values the donor cannot
    supply (rare; never kept with their effect). Missing follow-up
    stays missing, and baseline values, covariates and the usual-care arm are
    untouched. So the coached arm's changes and at-goal rates have, in
    expectation, the usual-care distribution: the true effect is zero.
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
from coachstats.core.goals import MEASURES, GoalSet
from coachstats.data.schema import column_spec
from coachstats.derive.endpoints import derive_endpoints, measure_months
from coachstats.plan import resolve_goals

__all__ = ["single_arm_program", "synthetic_encounters", "without_effect"]

_LAB_DECIMALS = {"hba1c": 1, "sbp": 0, "ldl": 0}
#: Donors per recipient: the change comes from one of this many usual-care patients with
#: the closest baseline values (change depends on the baseline through regression to the mean).
NEAREST = 10


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _nearest(donors: np.ndarray, recipients: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each recipient row, the position of one of the :data:`NEAREST` closest donor rows.

    Closeness is Euclidean on the standardized baselines (a k-d tree query).
    """
    from scipy.spatial import cKDTree

    k = min(NEAREST, len(donors))
    _, idx = cKDTree(donors).query(recipients, k=k)
    idx = np.asarray(idx).reshape(len(recipients), k)
    return idx[np.arange(len(recipients)), rng.integers(0, k, size=len(recipients))]


def _codes(*flags: np.ndarray) -> np.ndarray:
    """One integer per row from boolean columns (a stratum code)."""
    out = np.zeros(len(flags[0]), dtype=np.int64)
    for f in flags:
        out = 2 * out + f.astype(np.int64)
    return out


def without_effect(
    patients: pd.DataFrame,
    *,
    goals: GoalSet | str = "hcpc",
    followup: int | None = None,
    arm: str = "arm",
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Remove the coaching effect: coached follow-ups from the usual-care changes.

    See the module docstring for the transformation. One donor per coached
    patient gives all of the patient's changes, so the usual-care association
    between the measures (at goal on one condition and on another) is kept.
    Values are rounded to laboratory precision (HbA1c 0.1 %, SBP and LDL
    whole units) and kept inside the schema's plausible ranges.

    Parameters
    ----------
    patients : DataFrame
        A two-arm cohort (``coaching`` / ``usual_care``) with ``<measure>_0``
        and ``<measure>_<followup>`` columns and, for diabetes-specific goals,
        ``diabetes``.
    goals : GoalSet or str
        Defines the control-status strata.
    followup : int, optional
        Follow-up month (default: the earliest after baseline).
    arm : str
        Arm column.
    seed : int or Generator
        Seed of the resampling.

    Returns
    -------
    DataFrame
        A copy with the coached patients' follow-up values replaced.

    Raises
    ------
    AnalysisError
        No follow-up columns, or no usual-care patient with a follow-up value.
    """
    gs = resolve_goals(goals)
    if gs is None:  # pragma: no cover - a name or GoalSet always resolves
        raise OptionError("goals must be a GoalSet or a goal-set name")
    require_columns(patients, [arm])
    rng = _rng(seed)
    months = measure_months(patients.columns)
    later = sorted({m for ms in months.values() for m in ms if m > 0})
    fu = followup if followup is not None else (later[0] if later else None)
    measures = [
        m for m in MEASURES if f"{m}_0" in patients.columns and f"{m}_{fu}" in patients.columns
    ]
    if fu is None or not measures:
        raise AnalysisError("the cohort has no baseline and follow-up measurement columns")
    ep = derive_endpoints(patients, gs, followup=fu)
    coached = (patients[arm].astype("string") == "coaching").fillna(False).to_numpy()
    usual = (patients[arm].astype("string") == "usual_care").fillna(False).to_numpy()
    diabetes = (
        patients["diabetes"].fillna(False).to_numpy(dtype=bool)
        if "diabetes" in patients.columns
        else np.zeros(len(patients), dtype=bool)
    )

    def values(col: str) -> np.ndarray:
        return pd.to_numeric(patients[col]).to_numpy(dtype=float, na_value=np.nan)

    base = np.column_stack([values(f"{m}_0") for m in measures])
    after = np.column_stack([values(f"{m}_{fu}") for m in measures])
    present = np.isfinite(base)
    unc = np.column_stack(
        [
            ep[f"uncontrolled_{m}"].fillna(False).to_numpy(dtype=bool)
            if f"uncontrolled_{m}" in ep.columns
            else np.zeros(len(patients), dtype=bool)
            for m in measures
        ]
    )
    z = np.where(present, (base - np.nanmean(base, axis=0)) / np.nanstd(base, axis=0), 0.0)
    followed = np.isfinite(after)
    donors_ok = usual & present.any(axis=1) & np.all(followed | ~present, axis=1)
    recipients_ok = coached & np.any(followed & present, axis=1)
    strata = (
        _codes(*present.T, *unc.T, diabetes),  # same measures, control status and diabetes
        _codes(*present.T, diabetes),
        _codes(*present.T),
    )
    new = after.copy()
    for code in np.unique(strata[0][recipients_ok]):
        rec = np.flatnonzero(recipients_ok & (strata[0] == code))
        donors = np.zeros(0, dtype=np.int64)
        for level in strata:  # the finest stratum that has donors
            donors = np.flatnonzero(donors_ok & (level == level[rec[0]]))
            if donors.size:
                break
        if donors.size == 0:  # a rare measure pattern: any usual-care patient followed up
            donors = np.flatnonzero(usual & np.any(followed & present, axis=1))
        if donors.size == 0:
            raise AnalysisError("no usual-care patient has a baseline and a follow-up value")
        picked = donors[_nearest(z[donors], z[rec], rng)]
        change = after[picked] - base[picked]
        has = followed[rec] & present[rec]
        # a follow-up value the donor cannot supply becomes missing (never kept with its effect)
        new[rec] = np.where(has, base[rec] + change, after[rec])
    out = patients.copy()
    for j, m in enumerate(measures):
        spec = column_spec(f"{m}_{fu}")
        lo = spec.minimum if spec is not None and spec.minimum is not None else -np.inf
        hi = spec.maximum if spec is not None and spec.maximum is not None else np.inf
        out[f"{m}_{fu}"] = np.clip(np.round(new[:, j], _LAB_DECIMALS[m]), lo, hi)
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

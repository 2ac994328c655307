"""Per-patient derived endpoints: uncontrolled flags, at-goal, composites, changes.

Everything is a vectorized column operation; there is no per-patient Python.

Definitions (``m`` is a measure of the goal set: ``hba1c``, ``sbp``, ``ldl``
and, when the goal set has a diastolic goal such as
:data:`~coachstats.core.goals.DBP_GOAL`, ``dbp``; months from the column
suffixes, e.g. ``hba1c_0`` and ``hba1c_12``):

``uncontrolled_m``
    Baseline value meets the goal set's entry rule (see :class:`~coachstats.core.goals.GoalSet`).
    Missing (NA) when the baseline value is missing.
``at_goal_m``
    Follow-up value meets the goal rule. Defined only for patients uncontrolled
    on ``m`` at baseline; NA for others and when the follow-up value is missing
    (``missing="exclude"``, complete case as published). With
    ``missing="failure"`` a missing follow-up counts as not at goal.
``n_uncontrolled``
    Number of conditions uncontrolled at baseline (missing baselines count 0).
    A condition (:data:`~coachstats.core.vocabulary.MEASURE_CONDITIONS`:
    diabetes, hypertension, hyperlipidemia) is uncontrolled when any of its
    measures in the goal set is: with systolic and diastolic goals, high SBP
    or high DBP is one uncontrolled condition (hypertension), counted once.
``composite_any`` / ``composite_all``
    Among patients with ``n_uncontrolled >= 1``: at goal on at least one /
    on every condition uncontrolled at baseline. A condition is at goal when
    every one of its measures is (blood pressure: SBP and DBP both at goal).
    Complete case: defined only when every uncontrolled condition has a
    follow-up value on each of its measures, so both composites share one
    denominator (as in HCPC, where both were reported on the same patients).
    NA for patients controlled on everything at baseline. With one measure
    per condition (the published goal sets) conditions and measures are the same.
``change_m``
    Follow-up minus baseline (negative = improvement for every measure).
    Computed for every measure of :data:`~coachstats.core.vocabulary.GOAL_MEASURES`
    with baseline and follow-up columns, whether the goal set has a goal for it or not.
``hba1c_drop_ge1``
    ``hba1c_0 - hba1c_F >= goals.hba1c_drop`` (with a 1e-9 allowance so that
    9.3 -> 8.3 counts as a drop of exactly 1.0 despite binary floating point).
``hba1c_lt_7_5``
    ``hba1c_F < goals.hba1c_target`` at follow-up (``hba1c_lt_7_5_0`` at baseline).

Examples
--------
>>> import pandas as pd
>>> from coachstats.core.goals import HCPC_GOALS
>>> df = pd.DataFrame({"patient_id": [1, 2, 3], "arm": ["coaching"] * 3,
...     "diabetes": [True, False, True],
...     "hba1c_0": [9.5, None, 7.0], "hba1c_12": [7.9, None, 7.2],
...     "sbp_0": [150, 145, 120], "sbp_12": [135, 138, 125],
...     "ldl_0": [120, 100, 90], "ldl_12": [None, 95, 80]})
>>> out = derive_endpoints(df, HCPC_GOALS)
>>> out[["n_uncontrolled", "composite_any", "composite_all"]].to_string()
'   n_uncontrolled  composite_any  composite_all\\n0               3           <NA>           <NA>\\n1               1           True           True\\n2               0           <NA>           <NA>'
>>> out["at_goal_hba1c"].tolist()
[True, <NA>, <NA>]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import ColumnNotFoundError, OptionError, check_option
from coachstats.core.goals import MEASURES, GoalSet
from coachstats.core.vocabulary import (
    CORE_MEASURES,
    MEASURE_CONDITIONS,
    OUTCOME_LABELS,
    STATUS,
    measure_months,
)

__all__ = [
    "STATUS",
    "EndpointSpec",
    "derive_endpoints",
    "endpoint_specs",
    "endpoint_state",
    "followup_month",
    "lost_to_followup",
    "measure_months",
]

MissingRule = Literal["exclude", "failure"]
_EPS = 1e-9


@dataclass(frozen=True)
class EndpointSpec:
    """Name and kind of one derived endpoint column."""

    name: str
    kind: Literal["binary", "continuous"]
    measure: str | None
    label: str


def followup_month(months: dict[str, list[int]], followup: int | None) -> int:
    """The follow-up month :func:`derive_endpoints` uses: ``followup``, or the earliest after 0.

    ``months`` is :func:`measure_months` of the table. Raises when ``followup``
    has no columns or there is no follow-up month at all.

    Examples
    --------
    >>> followup_month({"hba1c": [0, 12, 24], "sbp": [0, 6]}, None)
    6
    """
    later = sorted({mo for ms in months.values() for mo in ms if mo > 0})
    if followup is not None:
        if followup not in later:
            raise OptionError(
                f"followup={followup} has no measurement columns; found months {later}"
            )
        return followup
    if not later:
        raise ColumnNotFoundError(
            "no follow-up measurement columns found (expected e.g. hba1c_12, sbp_12, ldl_12)"
        )
    return later[0]


def endpoint_specs(goals: GoalSet, measures: list[str] | None = None) -> list[EndpointSpec]:
    """The endpoints :func:`derive_endpoints` produces for a goal set.

    ``measures``: those with baseline and follow-up columns in the data;
    default the core measures (:data:`~coachstats.core.vocabulary.CORE_MEASURES`)
    and the goal set's.

    Examples
    --------
    >>> from coachstats.core.goals import HCPC_GOALS
    >>> [e.name for e in endpoint_specs(HCPC_GOALS) if e.kind == "continuous"]
    ['change_hba1c', 'change_sbp', 'change_ldl']
    >>> [e.name for e in endpoint_specs(HCPC_GOALS, ["sbp", "dbp"])]
    ['at_goal_sbp', 'composite_any', 'composite_all', 'change_sbp', 'change_dbp']
    """
    ms = [m for m in goals.measures if measures is None or m in measures]
    label = OUTCOME_LABELS
    specs = [EndpointSpec(f"at_goal_{m}", "binary", m, label[f"at_goal_{m}"]) for m in ms]
    specs += [
        EndpointSpec("composite_any", "binary", None, label["composite_any"]),
        EndpointSpec("composite_all", "binary", None, label["composite_all"]),
    ]
    present = (
        [m for m in MEASURES if m in measures]
        if measures is not None
        else [m for m in MEASURES if m in CORE_MEASURES or m in goals.measures]
    )
    specs += [EndpointSpec(f"change_{m}", "continuous", m, label[f"change_{m}"]) for m in present]
    if "hba1c" in present:
        specs += [
            EndpointSpec(name, "binary", "hba1c", label[name])
            for name in ("hba1c_drop_ge1", "hba1c_lt_7_5")
        ]
    return specs


class _Masked(NamedTuple):
    """A nullable boolean column in the making: its values and its missing mask."""

    values: npt.NDArray[np.bool_]
    na: npt.NDArray[np.bool_]


class _Codes(NamedTuple):
    """A status column in the making: its codes in :data:`STATUS`."""

    codes: npt.NDArray[np.int8]


_Part = _Masked | _Codes | np.ndarray


def _bool_array(values: npt.NDArray[np.bool_], na: npt.NDArray[np.bool_]) -> _Masked:
    return _Masked(values & ~na, na)


#: Rows derived at a time: the temporaries of a block (8 MB per float column) are reused
#: from the heap, where those of 10 million rows at once would be fresh memory every time
#: (an allocator maps arrays above 32 MB anew), so the time stays linear in the rows.
BLOCK_ROWS = 1 << 20


def _in_blocks(n: int, block: Callable[[slice], dict[str, _Part]]) -> dict[str, object]:
    """The columns of ``block`` over all ``n`` rows, computed a block of rows at a time.

    Each block's parts are written into full-length arrays allocated once;
    nullable booleans and statuses become pandas arrays at the end.
    """
    full: dict[str, list[np.ndarray]] = {}
    kinds: dict[str, type] = {}
    for start in range(0, n, BLOCK_ROWS) if n else [0]:
        rows = slice(start, min(start + BLOCK_ROWS, n))
        for name, part in block(rows).items():
            arrays = list(part) if isinstance(part, (_Masked, _Codes)) else [part]
            if name not in full:
                if n <= BLOCK_ROWS:  # one block: its arrays are the columns
                    full[name], kinds[name] = arrays, type(part)
                    continue
                full[name] = [np.empty(n, dtype=a.dtype) for a in arrays]
                kinds[name] = type(part)
            for out, a in zip(full[name], arrays, strict=True):
                out[rows] = a
    columns: dict[str, object] = {}
    statuses = pd.Index(list(STATUS))
    for name, arrays in full.items():
        if kinds[name] is _Masked:
            # one block may share a mask between columns: each column gets its own
            mask = arrays[1].copy() if n <= BLOCK_ROWS else arrays[1]
            columns[name] = pd.arrays.BooleanArray(
                cast(npt.NDArray[np.bool_], arrays[0]), cast(npt.NDArray[np.bool_], mask)
            )
        elif kinds[name] is _Codes:
            codes = cast(npt.NDArray[np.int8], arrays[0])
            columns[name] = pd.Categorical.from_codes(codes, categories=statuses)
        else:
            columns[name] = arrays[0]
    return columns


def _float_values(column: pd.Series) -> npt.NDArray[np.float64]:
    """A numeric column as float64 with NaN for missing (no copy for float64 columns)."""
    if column.dtype == np.float64:
        return column.to_numpy()
    return pd.to_numeric(column).to_numpy(dtype=float, na_value=np.nan)


def _copy_on_write() -> bool:
    """True when pandas copies on write (always from pandas 3)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return bool(pd.options.mode.copy_on_write)  # pragma: no cover - pandas 2


def _status(
    n: int,
    *,
    lost: npt.NDArray[np.bool_],
    analysed: npt.NDArray[np.bool_],
    not_eligible: npt.NDArray[np.bool_] | None = None,
    miss_base: npt.NDArray[np.bool_] | None = None,
    miss_fu: npt.NDArray[np.bool_] | None = None,
    failure: bool = False,
) -> _Codes:
    """Each patient's status for one endpoint (:data:`STATUS`); exactly one each.

    ``analysed`` marks the patients with a value (or, with ``failure``, a missing
    follow-up counted as not at goal). The others take the first reason that
    applies, in the order of time: not eligible, missing baseline (both known
    at baseline), lost to follow-up, missing follow-up -- the order in which
    :func:`coachstats.plan.rows.select_rows` leaves rows out, so the flow and
    the methods text name the same reason for each patient.
    """
    code = {s: np.int8(i) for i, s in enumerate(STATUS)}
    codes = np.full(n, code["analysed"], dtype=np.int8)
    if miss_fu is not None:
        codes[miss_fu] = code["missing follow-up"]
    codes[lost & ~analysed] = code["lost to follow-up"]
    if miss_base is not None:
        codes[miss_base] = code["missing baseline"]
    if not_eligible is not None:
        codes[not_eligible] = code["not eligible"]
    codes[analysed] = code["analysed"]
    if failure and miss_fu is not None:
        codes[analysed & miss_fu] = code["missing follow-up (counted as failure)"]
    return _Codes(codes)


def lost_to_followup(patients: pd.DataFrame, followup: int | None) -> npt.NDArray[np.bool_]:
    """Patients with no follow-up value on any goal measure (at ``followup``, or any later month).

    Examples
    --------
    >>> df = pd.DataFrame({"hba1c_0": [9.0, 9.5], "hba1c_6": [8.0, None], "sbp_6": [None, None]})
    >>> lost_to_followup(df, 6).tolist()
    [False, True]
    """
    months = measure_months(patients.columns)
    columns = [
        f"{m}_{mo}"
        for m, ms in months.items()
        for mo in ms
        if mo > 0 and (followup is None or mo == followup)
    ]
    if not columns:
        return np.ones(len(patients), dtype=bool)
    return np.asarray(patients[columns].isna().all(axis=1).to_numpy(), dtype=bool)


def derive_endpoints(
    data: pd.DataFrame,
    goals: GoalSet,
    *,
    followup: int | None = None,
    baseline: int = 0,
    missing: MissingRule = "exclude",
    with_status: bool = False,
) -> pd.DataFrame:
    """Add the per-patient endpoint columns to a copy of ``data``.

    Parameters
    ----------
    data : DataFrame
        One row per patient with measurement columns ``<measure>_<month>``
        (``hba1c``, ``sbp``, ``ldl``) and, when the goal set has
        diabetes-specific rules, a boolean ``diabetes`` column.
        A :class:`~coachstats.data.schema.TrialData` is accepted too (its ``patients``).
    goals : GoalSet
        Thresholds, e.g. :data:`~coachstats.core.goals.HCPC_GOALS`.
    followup : int, optional
        Follow-up month; default the earliest month after baseline present.
    baseline : int
        Baseline month (default 0).
    missing : {"exclude", "failure"}
        Missing follow-up is NA (complete case, as published) or counts as
        not at goal (sensitivity analysis). Changes stay NA either way.
    with_status : bool
        Also add ``status_<endpoint>`` categorical columns (one of
        :data:`STATUS`), which the CONSORT :class:`~coachstats.data.flow.Flow` counts.

    Returns
    -------
    DataFrame
        A copy of ``data`` with the endpoint columns (nullable ``boolean`` for
        binary endpoints, float for changes) appended.

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats.core.goals import PEER_GOALS
    >>> df = pd.DataFrame({"hba1c_0": [9.3, 10.0, 8.5], "hba1c_6": [8.3, 7.4, None]})
    >>> out = derive_endpoints(df, PEER_GOALS)
    >>> out["hba1c_drop_ge1"].tolist(), out["hba1c_lt_7_5"].tolist()
    ([True, True, <NA>], [False, True, <NA>])
    >>> derive_endpoints(df, PEER_GOALS, missing="failure")["at_goal_hba1c"].tolist()
    [False, True, False]
    """
    check_option("missing", missing, ("exclude", "failure"))
    patients = getattr(data, "patients", data)
    if not isinstance(patients, pd.DataFrame):
        raise OptionError(f"data must be a DataFrame or TrialData, got {type(data).__name__}")
    months = measure_months(patients.columns)
    fu = followup_month(months, followup)
    measures = [m for m in MEASURES if f"{m}_{baseline}" in patients and f"{m}_{fu}" in patients]
    goal_measures = [m for m in goals.measures if m in measures]
    missing_goal = [m for m in goals.measures if m not in measures]
    if not goal_measures:
        raise ColumnNotFoundError(
            f"goal set {goals.name!r} needs baseline and month-{fu} columns for at least one of "
            f"{list(goals.measures)} (e.g. '{goals.measures[0]}_{baseline}', "
            f"'{goals.measures[0]}_{fu}'); found {sorted(map(str, patients.columns))}"
        )
    needs_dm = any(
        goals.thresholds[m].diabetes_threshold is not None
        or goals.thresholds[m].only_diabetes
        or goals.thresholds[m].goal_below_diabetes is not None
        for m in goal_measures
    )
    if needs_dm and "diabetes" not in patients:
        raise ColumnNotFoundError(
            f"goal set {goals.name!r} has diabetes-specific thresholds, so a boolean 'diabetes' "
            "column is required (map yours with columns={'your_name': 'diabetes'})"
        )
    dm_series = (
        patients["diabetes"] if "diabetes" in patients else pd.Series(True, index=patients.index)
    )
    dm_na_all: npt.NDArray[np.bool_] = dm_series.isna().to_numpy(dtype=bool)
    dm_all = np.asarray(dm_series.fillna(False).to_numpy(dtype=bool), dtype=bool)
    failure = missing == "failure"
    values: dict[str, npt.NDArray[np.float64]] = {}
    lost_all = lost_to_followup(patients, fu)
    hba1c_rule = goals.thresholds.get("hba1c")
    # known not to have diabetes, where HbA1c only applies with diabetes: never eligible
    no_dm_all = (
        ~dm_all & ~dm_na_all if hba1c_rule is not None and hba1c_rule.only_diabetes else None
    )

    def block(rows: slice) -> dict[str, _Part]:
        """The endpoint columns of some rows (every operation is row by row)."""

        def column(name: str) -> npt.NDArray[np.float64]:
            if name not in values:
                values[name] = _float_values(patients[name])
            return values[name][rows]

        dm, dm_na, lost = dm_all[rows], dm_na_all[rows], lost_all[rows]
        no_dm_hba1c = None if no_dm_all is None else no_dm_all[rows]
        n = len(dm)
        new: dict[str, _Part] = {}
        all_base_missing = np.ones(n, dtype=bool)
        # per condition (MEASURE_CONDITIONS): uncontrolled on any of its measures, at goal on
        # all of them, follow-up missing on any of them
        cond_unc: dict[str, npt.NDArray[np.bool_]] = {}
        cond_goal: dict[str, npt.NDArray[np.bool_]] = {}
        cond_fu_na: dict[str, npt.NDArray[np.bool_]] = {}
        for m in goal_measures:
            t = goals.thresholds[m]
            base, fol = column(f"{m}_{baseline}"), column(f"{m}_{fu}")
            b_na, f_na = np.isnan(base), np.isnan(fol)
            dm_unknown = dm_na & (t.only_diabetes or t.diabetes_threshold is not None)
            unc_na = b_na | dm_unknown
            unc = t.uncontrolled(base, dm) & ~unc_na
            goal = t.at_goal(fol, dm)
            goal_na = ~unc | f_na
            if failure:
                goal_na = ~unc
            new[f"uncontrolled_{m}"] = _bool_array(unc, unc_na)
            new[f"at_goal_{m}"] = _bool_array(goal, goal_na)
            if with_status:
                never = ~dm & ~dm_na if t.only_diabetes else np.zeros(n, dtype=bool)
                new[f"status_at_goal_{m}"] = _status(
                    n,
                    lost=lost,
                    analysed=~goal_na,
                    not_eligible=(~unc & ~unc_na) | never,
                    miss_base=unc_na & ~never,
                    miss_fu=unc & f_na,
                    failure=failure,
                )
            all_base_missing &= unc_na
            c = MEASURE_CONDITIONS[m]
            cond_unc[c] = cond_unc.get(c, np.zeros(n, dtype=bool)) | unc
            cond_goal[c] = cond_goal.get(c, np.ones(n, dtype=bool)) & goal & ~f_na
            cond_fu_na[c] = cond_fu_na.get(c, np.zeros(n, dtype=bool)) | f_na
        n_unc = np.zeros(n, dtype=np.int64)
        unc_any = np.zeros(n, dtype=bool)
        any_unc_missing_fu = np.zeros(n, dtype=bool)
        all_unc_at_goal = np.ones(n, dtype=bool)
        any_unc_at_goal = np.zeros(n, dtype=bool)
        for c, unc in cond_unc.items():
            n_unc += unc
            unc_any |= unc
            any_unc_missing_fu |= unc & cond_fu_na[c]
            any_unc_at_goal |= unc & cond_goal[c]
            all_unc_at_goal &= ~unc | cond_goal[c]
        new["n_uncontrolled"] = n_unc
        comp_na = ~unc_any if failure else ~unc_any | any_unc_missing_fu
        new["composite_any"] = _bool_array(any_unc_at_goal, comp_na)
        new["composite_all"] = _bool_array(all_unc_at_goal, comp_na)
        if with_status:
            for name in ("composite_any", "composite_all"):
                new[f"status_{name}"] = _status(
                    n,
                    lost=lost,
                    analysed=~comp_na,
                    not_eligible=~unc_any & ~all_base_missing,
                    miss_base=~unc_any & all_base_missing,
                    miss_fu=unc_any & any_unc_missing_fu,
                    failure=failure,
                )
        for m in measures:
            base, fol = column(f"{m}_{baseline}"), column(f"{m}_{fu}")
            new[f"change_{m}"] = fol - base
            never_m = no_dm_hba1c if m == "hba1c" else None
            if with_status:
                new[f"status_change_{m}"] = _status(
                    n,
                    lost=lost,
                    analysed=~np.isnan(base) & ~np.isnan(fol),
                    not_eligible=never_m,
                    miss_base=np.isnan(base),
                    miss_fu=np.isnan(fol) & ~np.isnan(base),
                )
            if m == "hba1c":
                b_na, f_na = np.isnan(base), np.isnan(fol)
                drop = (base - fol) >= goals.hba1c_drop - _EPS
                new["hba1c_drop_ge1"] = _bool_array(drop, b_na | f_na)
                new["hba1c_lt_7_5"] = _bool_array(fol < goals.hba1c_target, f_na)
                new["hba1c_lt_7_5_0"] = _bool_array(base < goals.hba1c_target, b_na)
                if with_status:
                    new["status_hba1c_drop_ge1"] = _status(
                        n,
                        lost=lost,
                        analysed=~b_na & ~f_na,
                        not_eligible=never_m,
                        miss_base=b_na,
                        miss_fu=f_na & ~b_na,
                    )
                    new["status_hba1c_lt_7_5"] = _status(
                        n, lost=lost, analysed=~f_na, not_eligible=never_m, miss_fu=f_na
                    )
        return new

    new = _in_blocks(len(patients), block)
    if any(k in patients.columns for k in new) or not _copy_on_write():
        out = patients.copy()
        for k, v in new.items():
            out[k] = pd.Series(v, index=patients.index)
    else:  # no copy of the input columns (copy on write protects them)
        # the new columns are fresh arrays of their own: wrapped, not copied into 2-D blocks
        out = pd.concat([patients, pd.DataFrame(new, index=patients.index, copy=False)], axis=1)
    out.attrs = {
        **patients.attrs,
        "followup": fu,
        "baseline": baseline,
        "goals": goals.name,
        "missing_rule": missing,
        "goals_not_measured": missing_goal,
    }
    return out


_ENDPOINT_MEASURE = re.compile(r"^(?:at_goal|change|uncontrolled)_([a-z0-9]+)$")


def endpoint_state(
    patients: pd.DataFrame, outcome: str, *, followup: int | None = None, baseline: int = 0
) -> str | None:
    """Why an endpoint cannot be analysed at all, from the measure it needs; None if it can be.

    A measure given only at baseline, only at follow-up, or with no value at
    all, is a state of the data ("cannot be analysed: no follow-up"), not a
    failure of the analysis. Composites need one goal measure with both.

    Examples
    --------
    >>> df = pd.DataFrame({"hba1c_0": [9.0, 8.0], "sbp_0": [150, 140], "sbp_12": [None, None]})
    >>> endpoint_state(df, "at_goal_hba1c", followup=12)
    'cannot be analysed: no follow-up (at_goal_hba1c needs hba1c_12 values)'
    >>> endpoint_state(df, "composite_any", followup=12)
    'cannot be analysed: no follow-up (composite_any needs a goal measure with baseline and month-12 values)'
    >>> endpoint_state(df[["hba1c_0", "sbp_0"]], "composite_any")  # no follow-up column at all
    'cannot be analysed: no follow-up (composite_any needs a goal measure with baseline and follow-up values)'
    >>> endpoint_state(df.assign(ldl_12=[90, 80]), "change_ldl", followup=12)
    'cannot be analysed: no baseline (change_ldl needs ldl_0 values)'
    """
    months = measure_months(patients.columns)
    later = sorted({mo for ms in months.values() for mo in ms if mo > baseline})
    fu = followup if followup is not None else (later[0] if later else None)

    def has(column: str) -> bool:
        return column in patients.columns and bool(patients[column].notna().any())

    if outcome.startswith("composite_"):
        if any(has(f"{m}_{baseline}") and has(f"{m}_{fu}") for m in MEASURES):
            return None
        when = f"month-{fu}" if fu is not None else "follow-up"  # no follow-up column at all
        return (
            f"cannot be analysed: no follow-up ({outcome} needs a goal measure with "
            f"baseline and {when} values)"
        )
    m = _ENDPOINT_MEASURE.match(outcome)
    measure = m.group(1) if m else ("hba1c" if outcome.startswith("hba1c_") else None)
    if measure is None:
        return None
    base = f"{measure}_{baseline}"
    fol = f"{measure}_{fu}" if fu is not None else f"{measure} follow-up"
    if fu is None or not has(fol):
        if not has(base):
            return f"cannot be analysed: no {measure} values ({outcome} needs {base} and {fol})"
        return f"cannot be analysed: no follow-up ({outcome} needs {fol} values)"
    if not has(base):
        return f"cannot be analysed: no baseline ({outcome} needs {base} values)"
    return None

"""Medication adherence: chart-vs-report concordance, adherent days, and their changes.

Thom et al. (2015) compared, for each patient and time point, the medications
for diabetes, hypertension and hyperlipidemia listed in the chart with the
medications the patient reported taking, and asked how many of the last 7
days the patient took all prescribed medications. This module derives those
per-patient quantities; the comparisons between arms (t tests on the changes)
live in :mod:`coachstats.compare`.

Definitions, per patient ``i`` and month ``t``, over the medications ``m`` of
the analysed conditions (rows of other conditions are excluded and counted in
``n_excluded_condition``)::

    C  = #{m : in_chart and reported_taking}           (completely concordant)
    L  = #{m : in_chart and not reported_taking}       (listed, not taken)
    T  = #{m : reported_taking and not in_chart}       (taken, not listed)
    N  = C + L + T                                     (union of both sources)
    prop_concordant       = C / N
    prop_listed_not_taken = L / N
    prop_taken_not_listed = T / N

The three proportions sum to 1 when ``N > 0``; with ``N = 0`` they are
undefined (NaN, with ``n_meds = 0`` shown). A row that is in neither source
(``in_chart`` and ``reported_taking`` both false) is not a medication of the
patient and is only counted (``n_in_neither``).

**The denominator is our reading of the paper.** Thom et al. report "the
proportion of medications" in each category without printing the denominator;
we take every medication of the analysed conditions that appears in *either*
source (the union), the only denominator under which the three categories
partition the medications. A paper-faithful alternative would be needed only
if "completely concordant" also required the same dose and frequency; this
table has no dose columns, so code a dose mismatch as the user's data
dictates before calling these functions.

References
----------
Thom DH, Willard-Grace R, Hessler D, et al. The impact of health coaching on
medication adherence in patients with poorly controlled diabetes,
hypertension, and/or hyperlipidemia: a randomized controlled trial.
J Am Board Fam Med 2015;28:38-45. doi:10.3122/jabfm.2015.01.140123

Examples
--------
>>> import pandas as pd
>>> meds = pd.DataFrame({
...     "patient_id": [1, 1, 1, 1],
...     "month": [0, 0, 0, 0],
...     "medication": ["metformin", "lisinopril", "atorvastatin", "albuterol"],
...     "condition": ["diabetes", "hypertension", "hyperlipidemia", "asthma"],
...     "in_chart": ["yes", "yes", "no", "yes"],
...     "reported_taking": [1, 0, 1, 1]})
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     out = concordance(meds)
>>> out[["n_meds", "n_concordant", "n_excluded_condition"]].to_numpy().tolist()
[[3, 1, 1]]
>>> bool(out["prop_concordant"].iloc[0] == 1 / 3)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from coachstats.core.errors import (
    AnalysisError,
    DataWarning,
    SchemaError,
    failure_from_mask,
    raise_if_failures,
)

__all__ = [
    "CHANGE_COLUMNS",
    "DAYS_COLUMNS",
    "MEDICATION_COLUMNS",
    "PROPORTIONS",
    "TARGET_CONDITIONS",
    "adherence_change",
    "concordance",
    "concordance_proportions",
    "validate_adherent_days",
    "validate_medications",
]

TARGET_CONDITIONS: tuple[str, ...] = ("diabetes", "hypertension", "hyperlipidemia")
"""The conditions analysed by Thom et al. (2015); other conditions are excluded."""

MEDICATION_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "month",
    "medication",
    "condition",
    "in_chart",
    "reported_taking",
)
DAYS_COLUMNS: tuple[str, ...] = ("patient_id", "month", "adherent_days_7")
DAYS = "adherent_days_7"

PROPORTIONS: tuple[str, ...] = (
    "prop_concordant",
    "prop_listed_not_taken",
    "prop_taken_not_listed",
)
"""The three per-patient-month proportions returned by :func:`concordance`."""

CHANGE_COLUMNS: tuple[str, ...] = (
    "change_prop_concordant",
    "change_prop_listed_not_taken",
    "change_prop_taken_not_listed",
    "change_adherent_days",
)
"""The follow-up minus baseline columns of :func:`adherence_change` (the t-test outcomes)."""

_TRUE_TEXT = ("1", "yes", "true")
_FALSE_TEXT = ("0", "no", "false")
_FLAG_HELP = "must be a yes/no flag (accepted: 0/1, yes/no, true/false, any case)"
_KEY = ["patient_id", "month"]

FloatArray = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------- validation


def _missing_columns(data: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "column": c,
            "rows": [],
            "values": [],
            "problem": f"required column missing (available: {', '.join(map(str, data.columns))})",
        }
        for c in columns
        if c not in data.columns
    ]


def _parse_flag(s: pd.Series) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Return ``(value, bad)``: the parsed booleans and where parsing failed (incl. missing)."""
    missing = s.isna().to_numpy()
    if is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(dtype=bool), missing
    if is_numeric_dtype(s.dtype):
        num = s.to_numpy(dtype=float, na_value=np.nan)
        return num == 1, missing | ~np.isin(num, (0.0, 1.0))
    text = s.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE_TEXT).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE_TEXT).to_numpy(dtype=bool)
    return is_true, ~(is_true | is_false)


def _whole_numbers(s: pd.Series) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Numeric values of ``s`` and where they are present but not whole numbers (or text)."""
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = s.notna().to_numpy()
    with np.errstate(invalid="ignore"):
        bad = present & (np.isnan(num) | (num != np.round(num)))
    return num, bad


def _check_key(data: pd.DataFrame, ids: pd.Series, failures: list[dict[str, Any]]) -> pd.Series:
    """Check ``patient_id`` and ``month``; return the month as a nullable integer."""
    pid_missing = data["patient_id"].isna().to_numpy()
    if pid_missing.any():
        failures.append(
            failure_from_mask(
                "patient_id",
                "missing patient id (rows are given by their position)",
                pid_missing,
                pd.Index(np.arange(len(data))),
            )
        )
    month, bad = _whole_numbers(data["month"])
    bad |= data["month"].isna().to_numpy()
    if bad.any():
        failures.append(
            failure_from_mask(
                "month",
                "must be a whole number of months since randomization (e.g. 0, 12)",
                bad,
                ids,
                data["month"],
            )
        )
    return pd.Series(np.where(bad, np.nan, month), index=data.index).astype("Int64")


def _check_days(data: pd.DataFrame, ids: pd.Series, failures: list[dict[str, Any]]) -> pd.Series:
    """Check ``adherent_days_7`` (0..7 whole days or missing); return it as ``Int64``."""
    days, bad = _whole_numbers(data[DAYS])
    with np.errstate(invalid="ignore"):
        bad |= (days < 0) | (days > 7)
    if bad.any():
        failures.append(
            failure_from_mask(
                DAYS,
                "must be a whole number of days from 0 to 7 (or missing)",
                bad,
                ids,
                data[DAYS],
            )
        )
    return pd.Series(np.where(bad, np.nan, days), index=data.index).astype("Int64")


def _check_duplicates(
    key: pd.DataFrame, ids: pd.Series, what: str, failures: list[dict[str, Any]]
) -> None:
    """Flag rows whose complete ``key`` occurs more than once."""
    complete = key.notna().all(axis=1).to_numpy()
    dup = np.zeros(len(key), dtype=bool)
    dup[complete] = key.loc[complete].duplicated(keep=False).to_numpy()
    if dup.any():
        labels = key.loc[dup].astype(str).agg(" / ".join, axis=1)
        failures.append(
            failure_from_mask(
                " + ".join(map(str, key.columns)),
                f"duplicate rows: each {what} must appear once",
                np.ones(int(dup.sum()), dtype=bool),
                ids.loc[dup],
                labels,
            )
        )


def _open_table(
    data: pd.DataFrame, columns: Sequence[str], what: str
) -> tuple[pd.DataFrame, pd.Series, list[dict[str, Any]]]:
    """Start checking a patient-month table: a copy to normalize, the ids, the problems so far.

    A non-DataFrame or missing ``columns`` raise at once (nothing else can be
    checked); then ``patient_id`` and ``month`` are checked, the month
    normalized in the copy, and their problems returned to be raised with the
    rest by :func:`_close_table`.
    """
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(
            [{"column": "", "problem": f"expected a DataFrame, got {type(data).__name__}"}]
        )
    failures = _missing_columns(data, columns)
    raise_if_failures(failures, what)
    out = data.copy()
    ids = data["patient_id"]
    out["month"] = _check_key(data, ids, failures)
    return out, ids, failures


def _close_table(out: pd.DataFrame, failures: list[dict[str, Any]], what: str) -> pd.DataFrame:
    """Raise every problem found in the table, else return it with whole-number months."""
    raise_if_failures(failures, what)
    out["month"] = out["month"].astype("int64")
    return out


def validate_medications(meds: pd.DataFrame) -> pd.DataFrame:
    """Check a medication table and return a normalized copy.

    Every problem is collected before one :class:`~coachstats.core.errors.SchemaError`
    is raised (its ``failures`` frame lists column, patient ids, values and the rule).

    Parameters
    ----------
    meds : DataFrame
        One row per patient x month x medication with the columns
        ``patient_id, month, medication, condition, in_chart, reported_taking``
        and optionally ``adherent_days_7`` (the same value on every row of a
        patient-month).

    Returns
    -------
    DataFrame
        A copy with ``month`` as integers, ``medication`` stripped of
        surrounding blanks, ``condition`` stripped and lower-cased, the two flags
        as ``bool`` and ``adherent_days_7`` (when present) as ``Int64``. Extra
        columns are kept. Conditions other than diabetes, hypertension and
        hyperlipidemia are kept here; :func:`concordance` excludes and counts them.

    Raises
    ------
    SchemaError
        Missing required columns; missing patient ids; months that are not
        whole numbers; missing medication names or conditions; flags that are
        not 0/1, yes/no or true/false (any case); ``adherent_days_7`` outside
        0..7, not whole, or differing within a patient-month; the same
        medication twice for a patient and month (names compared ignoring
        case and surrounding blanks).

    Examples
    --------
    >>> import pandas as pd
    >>> meds = pd.DataFrame({"patient_id": [7, 7], "month": [0, 0],
    ...     "medication": ["metformin", " Metformin"], "condition": ["Diabetes", "diabetes"],
    ...     "in_chart": ["Yes", "maybe"], "reported_taking": [True, False]})
    >>> try:
    ...     validate_medications(meds)
    ... except SchemaError as e:
    ...     for f in e.failures.itertuples():
    ...         print(f.column, f.rows, f.values)
    in_chart [7] ['maybe']
    patient_id + month + medication [7] ['7 / 0 / metformin']
    """
    out, ids, failures = _open_table(meds, MEDICATION_COLUMNS, "medication table")
    for col in ("medication", "condition"):
        text = meds[col].astype("string").str.strip()
        empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
        if empty.any():
            failures.append(failure_from_mask(col, "missing or empty", empty, ids, meds[col]))
        out[col] = text.str.lower() if col == "condition" else text

    for col in ("in_chart", "reported_taking"):
        value, bad = _parse_flag(meds[col])
        if bad.any():
            failures.append(failure_from_mask(col, _FLAG_HELP, bad, ids, meds[col]))
        out[col] = value

    if DAYS in meds.columns:
        out[DAYS] = _check_days(meds, ids, failures)
        keys = [out["patient_id"], out["month"]]
        n_values = out.groupby(keys, dropna=False)[DAYS].transform("nunique")
        missing = out[DAYS].isna().groupby(keys, dropna=False)
        varies = (n_values > 1) | (missing.transform("any") & ~missing.transform("all"))
        if varies.any():
            failures.append(
                failure_from_mask(
                    DAYS,
                    "differs between rows of the same patient and month (one value per "
                    "patient-month)",
                    varies.to_numpy(dtype=bool),
                    ids,
                    meds[DAYS],
                )
            )

    key = pd.DataFrame(
        {
            "patient_id": meds["patient_id"],
            "month": out["month"],
            "medication": out["medication"].str.lower(),
        }
    )
    _check_duplicates(key, ids, "patient, month and medication", failures)
    return _close_table(out, failures, "medication table")


def validate_adherent_days(days: pd.DataFrame) -> pd.DataFrame:
    """Check an adherent-days table and return a normalized copy.

    Parameters
    ----------
    days : DataFrame
        One row per patient and month: ``patient_id, month, adherent_days_7``,
        the number of the last 7 days on which the patient took all prescribed
        medications (0-7, missing allowed: the patient did not answer).

    Returns
    -------
    DataFrame
        A copy with ``month`` as ``int64`` and ``adherent_days_7`` as ``Int64``.

    Raises
    ------
    SchemaError
        Missing columns or ids, months that are not whole numbers, days outside
        0..7 or not whole, and duplicate patient-months.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.DataFrame({"patient_id": [1, 1, 2], "month": [0, 12, 0],
    ...                      "adherent_days_7": [3, 8, 2.5]})
    >>> try:
    ...     validate_adherent_days(days)
    ... except SchemaError as e:
    ...     print(e.failures.loc[0, "problem"])
    ...     print(e.failures.loc[0, "rows"], e.failures.loc[0, "values"])
    must be a whole number of days from 0 to 7 (or missing)
    [1, 2] [8.0, 2.5]
    """
    out, ids, failures = _open_table(days, DAYS_COLUMNS, "adherent-days table")
    out[DAYS] = _check_days(days, ids, failures)
    _check_duplicates(out[_KEY], ids, "patient and month", failures)
    return _close_table(out, failures, "adherent-days table")


# ----------------------------------------------------------------------------- concordance


def concordance_proportions(
    n_concordant: npt.ArrayLike,
    n_listed_not_taken: npt.ArrayLike,
    n_taken_not_listed: npt.ArrayLike,
) -> dict[str, FloatArray]:
    """The three concordance proportions from counts (the array-level engine).

    With ``C``, ``L``, ``T`` the counts and ``N = C + L + T`` (the union of the
    chart and the patient's report)::

        prop_concordant = C / N,  prop_listed_not_taken = L / N,
        prop_taken_not_listed = T / N

    Parameters
    ----------
    n_concordant, n_listed_not_taken, n_taken_not_listed : array_like of int
        Non-negative counts of the same shape.

    Returns
    -------
    dict of str to ndarray
        ``n_meds`` (``N``) and the three proportions; NaN where ``N == 0``.

    Examples
    --------
    >>> p = concordance_proportions([3, 0], [1, 0], [0, 0])
    >>> p["prop_concordant"].tolist(), p["prop_listed_not_taken"].tolist()
    ([0.75, nan], [0.25, nan])
    """
    counts = [
        np.asarray(x, dtype=float) for x in (n_concordant, n_listed_not_taken, n_taken_not_listed)
    ]
    for name, c in zip(
        ("n_concordant", "n_listed_not_taken", "n_taken_not_listed"), counts, strict=True
    ):
        if np.any(~np.isfinite(c)) or np.any(c < 0) or np.any(c != np.round(c)):
            raise AnalysisError(f"{name} must hold non-negative whole counts")
    n = counts[0] + counts[1] + counts[2]
    out: dict[str, FloatArray] = {"n_meds": n}
    for name, c in zip(PROPORTIONS, counts, strict=True):
        out[name] = np.divide(c, n, out=np.full(n.shape, np.nan), where=n > 0)
    return out


def _normalize_conditions(conditions: Iterable[str]) -> tuple[str, ...]:
    if isinstance(conditions, str):
        conditions = (conditions,)
    conds = tuple(str(c).strip().lower() for c in conditions)
    if not conds:
        raise AnalysisError("conditions must name at least one condition, e.g. 'diabetes'")
    return conds


def _concordance_counts(meds: pd.DataFrame, conds: tuple[str, ...]) -> pd.DataFrame:
    """Per patient-month counts from a validated table (one groupby on the whole table)."""
    target = meds["condition"].isin(conds).to_numpy(dtype=bool)
    chart = meds["in_chart"].to_numpy(dtype=bool)
    report = meds["reported_taking"].to_numpy(dtype=bool)
    flags = pd.DataFrame(
        {
            "patient_id": meds["patient_id"].to_numpy(),
            "month": meds["month"].to_numpy(),
            "n_concordant": target & chart & report,
            "n_listed_not_taken": target & chart & ~report,
            "n_taken_not_listed": target & ~chart & report,
            "n_in_neither": target & ~chart & ~report,
            "n_excluded_condition": ~target,
        }
    )
    counts = flags.groupby(_KEY, sort=True).sum().astype("int64")
    excluded = ~target
    if excluded.any():
        labels = meds.loc[excluded, "condition"].value_counts(sort=True)
        detail = ", ".join(f"{k!r} ({v})" for k, v in labels.items())
        warnings.warn(
            f"excluded {int(excluded.sum())} medication row(s) for conditions outside "
            f"{', '.join(conds)}: {detail}; counted per patient-month in "
            f"'n_excluded_condition'",
            DataWarning,
            stacklevel=4,
        )
    return counts


def concordance(
    meds: pd.DataFrame,
    *,
    conditions: Iterable[str] = TARGET_CONDITIONS,
) -> pd.DataFrame:
    """Chart-vs-report medication concordance per patient and month.

    Over the medications of ``conditions`` that are listed in the chart or
    reported by the patient (the union ``N = C + L + T``)::

        prop_concordant       = C / N   (in chart and reported taking)
        prop_listed_not_taken = L / N   (in chart, not reported taking)
        prop_taken_not_listed = T / N   (reported taking, not in chart)

    The union denominator is our reading of Thom et al. (2015), who do not
    print it; with it the three proportions partition the medications and sum
    to 1. Medications of other conditions are excluded (as in the paper),
    counted in ``n_excluded_condition`` and reported in a
    :class:`~coachstats.core.errors.DataWarning`.

    Parameters
    ----------
    meds : DataFrame
        The medication table (see :func:`validate_medications`).
    conditions : iterable of str
        The conditions analysed (case-insensitive).

    Returns
    -------
    DataFrame
        One row per patient-month present in ``meds`` (sorted by patient and
        month): ``patient_id, month, n_meds, n_concordant, n_listed_not_taken,
        n_taken_not_listed, n_in_neither, n_excluded_condition`` and the three
        proportions. A patient-month with ``n_meds == 0`` (only other
        conditions, or only rows in neither source) keeps its row with NaN
        proportions.

    References
    ----------
    Thom DH et al. J Am Board Fam Med 2015;28:38-45.

    Examples
    --------
    Month 12 of the worked example in ``docs/adherence.md``: four medications,
    three concordant, one listed in the chart but not taken.

    >>> import pandas as pd
    >>> meds = pd.DataFrame({"patient_id": ["A"] * 4, "month": [12] * 4,
    ...     "medication": ["metformin", "lisinopril", "atorvastatin", "glipizide"],
    ...     "condition": ["diabetes", "hypertension", "hyperlipidemia", "diabetes"],
    ...     "in_chart": [True, True, True, True],
    ...     "reported_taking": [True, True, True, False]})
    >>> row = concordance(meds).iloc[0]
    >>> row["n_meds"], row["prop_concordant"], row["prop_listed_not_taken"]
    (np.int64(4), np.float64(0.75), np.float64(0.25))
    """
    return _concordance(validate_medications(meds), _normalize_conditions(conditions))


def _concordance(checked: pd.DataFrame, conds: tuple[str, ...]) -> pd.DataFrame:
    counts = _concordance_counts(checked, conds)
    props = concordance_proportions(
        counts["n_concordant"], counts["n_listed_not_taken"], counts["n_taken_not_listed"]
    )
    out = counts.reset_index()
    out.insert(2, "n_meds", props["n_meds"].astype("int64"))
    for name in PROPORTIONS:
        out[name] = props[name]
    return out


# ----------------------------------------------------------------------------- change


def _days_table(checked_meds: pd.DataFrame, days: pd.DataFrame | None) -> pd.DataFrame | None:
    """The validated adherent-days table, from ``days`` or the column of the medication table."""
    if days is not None:
        return validate_adherent_days(days)
    if DAYS in checked_meds.columns:
        return checked_meds.groupby(_KEY, sort=True)[DAYS].first().reset_index()
    return None


def _patient_index(frames: Sequence[pd.DataFrame], patients: Sequence[Any] | None) -> pd.Index:
    if patients is not None:
        index = pd.Index(list(patients), name="patient_id")
        if index.has_duplicates:
            dups = index[index.duplicated()].unique().tolist()
            raise AnalysisError(f"patients lists duplicate ids: {dups[:10]}")
        extra = pd.Index(pd.concat([f["patient_id"] for f in frames]).unique()).difference(index)
        if len(extra):
            raise AnalysisError(
                f"{len(extra)} patient id(s) in the medication or adherent-days data are not "
                f"in patients: {extra[:10].tolist()}"
            )
        return index
    ids = pd.Index(pd.concat([f["patient_id"] for f in frames]).unique(), name="patient_id")
    try:
        return ids.sort_values()
    except TypeError:  # mixed id types: keep first-seen order
        return ids


def _append_reason(reason: pd.Series, mask: npt.NDArray[np.bool_], text: str) -> pd.Series:
    joined = reason.where(reason == "", reason + "; ") + text
    return reason.mask(mask, joined)


def adherence_change(
    meds: pd.DataFrame,
    days: pd.DataFrame | None = None,
    *,
    baseline: int = 0,
    followup: int = 12,
    conditions: Iterable[str] = TARGET_CONDITIONS,
    patients: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Per-patient adherence at baseline and follow-up, and the change.

    For each proportion ``p`` of :func:`concordance` and for adherent days
    ``d``::

        change_p             = p(followup) - p(baseline)
        change_adherent_days = d(followup) - d(baseline)

    Thom et al. (2015) compared these changes between arms (coaching minus
    usual care: +10 % concordant, -17 % listed but not taken, +1.08 adherent
    days). Merge the result with the patient table on ``patient_id`` and pass
    the :data:`CHANGE_COLUMNS` to a two-sample t test.

    Parameters
    ----------
    meds : DataFrame
        The medication table (see :func:`validate_medications`).
    days : DataFrame, optional
        ``patient_id, month, adherent_days_7``. When omitted, the
        ``adherent_days_7`` column of ``meds`` is used if present; otherwise the
        adherent-days columns are NaN with the reason given.
    baseline, followup : int
        The months compared.
    conditions : iterable of str
        The conditions analysed (see :func:`concordance`).
    patients : sequence, optional
        Every patient to report on (e.g. all randomized ids). Patients with no
        record at all then still get a row. Default: every patient in ``meds``
        or ``days``.

    Returns
    -------
    DataFrame
        One row per patient: ``patient_id``; ``n_meds_<t>``, each proportion
        as ``<prop>_<t>`` and ``adherent_days_<t>`` for ``t`` in (baseline,
        followup); the :data:`CHANGE_COLUMNS`; and ``missing_reason``, empty
        when everything is present, otherwise every reason a value is NaN
        (e.g. ``"no medication records at month 12"``, ``"no medications for
        the analysed conditions at month 0"``, ``"adherent days missing at
        month 12"``). No patient is dropped.

    Raises
    ------
    AnalysisError
        ``baseline == followup``, or a month with no record in either table
        (months found are listed), or ``patients`` not covering the data.

    References
    ----------
    Thom DH et al. J Am Board Fam Med 2015;28:38-45.

    Examples
    --------
    >>> import pandas as pd
    >>> meds = pd.DataFrame({"patient_id": ["A", "A", "B"], "month": [0, 12, 0],
    ...     "medication": ["metformin"] * 3, "condition": ["diabetes"] * 3,
    ...     "in_chart": [1, 1, 1], "reported_taking": [0, 1, 1]})
    >>> days = pd.DataFrame({"patient_id": ["A", "A", "B"], "month": [0, 12, 0],
    ...                      "adherent_days_7": [2, 6, 7]})
    >>> out = adherence_change(meds, days)
    >>> out[["patient_id", "change_prop_concordant", "change_adherent_days"]].to_numpy().tolist()
    [['A', 1.0, 4.0], ['B', nan, nan]]
    >>> out["missing_reason"].tolist()
    ['', 'no medication records at month 12; no adherent-days record at month 12']
    """
    for name, value in (("baseline", baseline), ("followup", followup)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise AnalysisError(f"{name} must be a whole month, got {value!r}")
    if baseline == followup:
        raise AnalysisError(f"baseline and followup must differ (both are {baseline})")
    checked = validate_medications(meds)
    conc = _concordance(checked, _normalize_conditions(conditions))
    day_table = _days_table(checked, days)
    frames = [conc] if day_table is None else [conc, day_table]
    months_found = sorted(set(pd.concat([f["month"] for f in frames]).unique().tolist()))
    absent = [t for t in (baseline, followup) if t not in months_found]
    if absent:
        raise AnalysisError(
            f"no medication or adherent-days record at month(s) {absent}; "
            f"months found: {months_found}"
        )
    index = _patient_index(frames, patients)
    out = pd.DataFrame(index=index)
    reason = pd.Series("", index=index, dtype=object)
    for t in (baseline, followup):
        at = conc.loc[conc["month"] == t].set_index("patient_id")
        have = index.isin(at.index)
        at = at.reindex(index)
        out[f"n_meds_{t}"] = at["n_meds"].astype("Int64")
        for name in PROPORTIONS:
            out[f"{name}_{t}"] = at[name].astype(float)
        reason = _append_reason(reason, ~have, f"no medication records at month {t}")
        no_target = have & (at["n_meds"].to_numpy(dtype=float, na_value=np.nan) == 0)
        reason = _append_reason(
            reason, no_target, f"no medications for the analysed conditions at month {t}"
        )
    for t in (baseline, followup):
        if day_table is None:
            out[f"adherent_days_{t}"] = np.nan
            continue
        at_days = day_table.loc[day_table["month"] == t].set_index("patient_id")[DAYS]
        have = index.isin(at_days.index)
        values = at_days.reindex(index).to_numpy(dtype=float, na_value=np.nan)
        out[f"adherent_days_{t}"] = values
        reason = _append_reason(reason, ~have, f"no adherent-days record at month {t}")
        reason = _append_reason(
            reason, have & np.isnan(values), f"adherent days missing at month {t}"
        )
    if day_table is None:
        reason = _append_reason(
            reason, np.ones(len(index), dtype=bool), "no adherent-days data supplied"
        )
    for name in PROPORTIONS:
        out[f"change_{name}"] = out[f"{name}_{followup}"] - out[f"{name}_{baseline}"]
    out["change_adherent_days"] = (
        out[f"adherent_days_{followup}"] - out[f"adherent_days_{baseline}"]
    )
    out["missing_reason"] = reason.astype("str")
    return out.reset_index()

"""Coaching encounters from CPT rows: sessions per patient, and every row that could not count.

Health and well-being coaching has CPT category III codes: 0591T (initial
assessment), 0592T (individual follow-up) and 0593T (group session). Given
encounter rows (``patient_id``, ``date``, ``cpt``), :func:`count_encounters`
counts each kind per patient (coached patients without any encounter count
zero), the months between the first and the last encounter, and reports --
never silently drops -- rows with unknown codes, unreadable dates or patients
missing from the patient table, and patients with sessions but no initial
assessment. Dates may be ISO text, US-style text, datetimes, or Excel serial day
numbers (days since 1899-12-30, as Excel exports them); see :func:`parse_dates`.
:func:`coachstats.tasks.tracking.program_metrics` turns the counts into its
indicators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coachstats.compare.prepare import require_columns

__all__ = ["CPT_CODES", "SESSION_KINDS", "EncounterCounts", "count_encounters", "parse_dates"]

#: CPT category III codes of health and well-being coaching.
CPT_CODES: Mapping[str, str] = {
    "0591T": "initial",
    "0592T": "follow_up",
    "0593T": "group",
}
#: The kinds of session, in the order of their codes.
SESSION_KINDS: tuple[str, ...] = ("initial", "follow_up", "group")
_EXCEL_ORIGIN = pd.Timestamp("1899-12-30")
_EXCEL_MAX = 2958465  # 9999-12-31 as an Excel serial number
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class EncounterCounts:
    """Per-patient coaching sessions from CPT encounter rows.

    ``per_patient``: ``patient_id``, ``initial``, ``follow_up``, ``group``,
    ``total``, ``first_date``, ``last_date``, ``months_engaged`` and
    ``in_patient_table``. ``problems``: one row per kind of problem
    (``column``, ``rows``, ``values``, ``problem``), as
    :attr:`coachstats.core.errors.SchemaError.failures`.
    """

    per_patient: pd.DataFrame
    problems: pd.DataFrame
    n_rows: int

    def summary(self) -> str:
        """Text: sessions per patient and the problems found."""
        pp = self.per_patient
        lines = [
            f"{self.n_rows} encounter rows, {len(pp)} patients; per patient: "
            + ", ".join(
                f"{k.replace('_', '-')} {pp[k].mean():.2f}" for k in (*SESSION_KINDS, "total")
            )
        ]
        lines += [
            f"  problem: {column}: {problem} ({len(rows)} rows)"
            for column, rows, problem in zip(
                self.problems["column"],
                self.problems["rows"],
                self.problems["problem"],
                strict=True,
            )
        ]
        return "\n".join(lines)


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse dates as exported by spreadsheets; return the dates and a mask of failures.

    Numbers (or numeric text) from 1 to 2958465 are Excel serial day numbers
    (1900 date system: day 0 is 1899-12-30, which absorbs Excel's fictitious
    29 February 1900 for every date after it); text is parsed with
    :func:`pandas.to_datetime` (``format="mixed"``); datetimes pass through.
    Missing values stay missing and are not failures.

    Examples
    --------
    >>> d, bad = parse_dates(pd.Series([45292, "45293", "2024-01-03", "01/04/2024", "soon", None]))
    >>> [str(x.date()) if pd.notna(x) else None for x in d], bad.tolist()
    (['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', None, None], [False, False, False, False, True, False])
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = pd.Series(pd.to_datetime(values), index=values.index)
        return out, np.zeros(len(values), dtype=bool)
    present = values.notna().to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    serial = np.isfinite(numbers) & (numbers >= 1) & (numbers <= _EXCEL_MAX)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if serial.any():
        result[serial] = _EXCEL_ORIGIN + pd.to_timedelta(numbers[serial], unit="D")
    text = present & ~serial & ~np.isfinite(numbers)
    if text.any():
        parsed = pd.to_datetime(values[text].astype(str), format="mixed", errors="coerce")
        result[text] = parsed.to_numpy()
    bad = present & result.isna().to_numpy()
    return result, bad


def count_encounters(
    encounters: pd.DataFrame,
    *,
    patient: str = "patient_id",
    date: str = "date",
    cpt: str = "cpt",
    patients: pd.Series | None = None,
) -> EncounterCounts:
    """Count initial (0591T), follow-up (0592T) and group (0593T) sessions per patient.

    Parameters
    ----------
    encounters : DataFrame
        One row per coaching encounter.
    patient, date, cpt : str
        Its columns (the date is optional: pass a name that is absent to skip it).
    patients : Series, optional
        The program's (coached) patient ids: they all get a row (zero sessions
        when they have no encounter), and encounters of other ids are reported.

    Returns
    -------
    EncounterCounts

    Examples
    --------
    >>> enc = pd.DataFrame({"patient_id": [1, 1, 1, 2, 9], "date": [45292, 45320, 45350, 45300, 45301],
    ...                     "cpt": ["0591T", "0592T", "0593t", "0592T", "99213"]})
    >>> c = count_encounters(enc, patients=pd.Series([1, 2, 3]))
    >>> c.per_patient[["patient_id", "initial", "follow_up", "group", "total"]].to_numpy().tolist()
    [[1, 1, 1, 1, 3], [2, 0, 1, 0, 1], [3, 0, 0, 0, 0], [9, 0, 0, 0, 0]]
    >>> c.per_patient["in_patient_table"].tolist()
    [True, True, True, False]
    >>> sorted(c.problems["problem"].str.split(" ").str[0])
    ['encounters', 'patients', 'unknown']
    """
    require_columns(encounters, [patient, cpt])
    ids = encounters[patient]
    codes = encounters[cpt].astype("string").str.strip().str.upper()
    kind = codes.map(dict(CPT_CODES))
    known = kind.notna().to_numpy()
    problems: list[dict[str, Any]] = []
    row_no = np.arange(len(encounters))
    if (~known).any():
        problems.append(
            {
                "column": cpt,
                "rows": row_no[~known].tolist(),
                "values": pd.unique(encounters.loc[~known, cpt].astype(str)).tolist(),
                "problem": "unknown CPT code(s), not counted as coaching sessions; "
                f"allowed: {', '.join(f'{k} ({v})' for k, v in CPT_CODES.items())}",
            }
        )
    if date in encounters.columns:
        dates, bad_dates = parse_dates(encounters[date])
        if bad_dates.any():
            problems.append(
                {
                    "column": date,
                    "rows": row_no[bad_dates].tolist(),
                    "values": pd.unique(encounters.loc[bad_dates, date].astype(str)).tolist(),
                    "problem": "unreadable date(s); the sessions are counted, their dates ignored",
                }
            )
    else:
        dates = pd.Series(pd.NaT, index=encounters.index, dtype="datetime64[ns]")
    frame = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "kind": kind.to_numpy(dtype=object),
            "date": dates.to_numpy(),
        }
    )
    counted = frame.loc[known]
    counts = (
        counted.groupby(["patient_id", "kind"]).size().unstack("kind", fill_value=0)
        if len(counted)
        else pd.DataFrame(index=pd.Index([], name="patient_id"))
    )
    counts = counts.reindex(columns=list(SESSION_KINDS), fill_value=0)
    span = counted.groupby("patient_id")["date"].agg(["min", "max"]) if len(counted) else None
    all_ids = pd.Index(pd.unique(ids.dropna()), name="patient_id")
    if patients is not None:
        all_ids = pd.Index(
            pd.unique(pd.concat([patients, ids.dropna()], ignore_index=True)), name="patient_id"
        )
    per = counts.reindex(all_ids, fill_value=0).astype("int64")
    per["total"] = per[list(SESSION_KINDS)].sum(axis=1)
    first = span["min"].reindex(all_ids) if span is not None else pd.Series(pd.NaT, index=all_ids)
    last = span["max"].reindex(all_ids) if span is not None else pd.Series(pd.NaT, index=all_ids)
    per["first_date"] = first.to_numpy()
    per["last_date"] = last.to_numpy()
    per["months_engaged"] = (per["last_date"] - per["first_date"]).dt.days / _DAYS_PER_MONTH
    per = per.reset_index()
    if patients is not None:
        member = per["patient_id"].isin(pd.unique(patients)).to_numpy()
        per["in_patient_table"] = member
        stray = ~ids.isin(pd.unique(patients)).to_numpy() & ids.notna().to_numpy()
        if stray.any():
            problems.append(
                {
                    "column": patient,
                    "rows": row_no[stray].tolist(),
                    "values": pd.unique(ids[stray]).tolist(),
                    "problem": "encounters of patients not in the patient table (coached patients); "
                    "counted separately, not in the program's metrics",
                }
            )
    else:
        per["in_patient_table"] = True
    no_initial = (per["total"] > 0) & (per["initial"] == 0)
    if no_initial.any():
        problems.append(
            {
                "column": cpt,
                "rows": per.loc[no_initial, "patient_id"].tolist(),
                "values": [],
                "problem": "patients with coaching sessions but no initial assessment (0591T)",
            }
        )
    return EncounterCounts(
        per_patient=per,
        problems=pd.DataFrame(problems, columns=["column", "rows", "values", "problem"]),
        n_rows=len(encounters),
    )

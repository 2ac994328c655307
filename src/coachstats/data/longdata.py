"""Long-format patient data (one row per patient x month x measure) pivoted to one row per patient.

Long data has the columns ``patient_id``, ``measure``, ``month`` (or
``visit``) and ``value``; every other column is a patient-level attribute
(arm, site, diabetes...) and must be the same on every row of a patient.
Every row is accounted for: each either becomes a value of its patient's
``<measure>_<month>`` column or is reported, with its row, as one of the
problems below; :func:`pivot_long` raises one
:class:`~coachstats.core.errors.SchemaError` listing them all.

* a row without a patient id, a measure name or a month;
* a month that is not a whole number from 0 (baseline) to 1200;
* the same patient x month x measure twice;
* a patient-level column that varies within a patient;
* a measurement given both ways (a ``hba1c_0`` column next to ``hba1c``
  month-0 rows).

Measure names are matched without case; ``BP``, ``Blood pressure`` and
``SBP/DBP`` rows hold a combined reading (``"142/88"``) and become
``bp_<month>`` columns, which the schema splits into ``sbp_<month>`` and
``dbp_<month>`` (:mod:`coachstats.data.bloodpressure`).

Examples
--------
>>> import pandas as pd
>>> long = pd.DataFrame({"patient_id": ["a", "a", "b"], "arm": ["coaching", "coaching", "usual_care"],
...                      "measure": ["HbA1c", "hba1c", "hba1c"], "month": [0, 12, 0],
...                      "value": [9.1, 7.9, 8.4]})
>>> wide = pivot_long(long)
>>> wide.to_dict("list")
{'patient_id': ['a', 'b'], 'arm': ['coaching', 'usual_care'], 'hba1c_0': [9.1, 8.4], 'hba1c_12': [7.9, nan]}
>>> bad = long.assign(month=[0, 6.5, 0], patient_id=["a", "a", None])
>>> try:
...     pivot_long(bad)
... except SchemaError as e:
...     print(e.failures["column"].tolist())
['patient_id', 'month']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from coachstats.core.errors import SchemaError
from coachstats.core.vocabulary import BP_READING, BP_READING_NAMES
from coachstats.data.schema import column_spec, row_names

__all__ = ["LONG_COLUMNS", "LONG_KEYS", "MAX_MONTH", "is_long", "pivot_long"]

#: Columns that make a table long data (with ``month`` or ``visit`` and ``patient_id``).
LONG_KEYS = ("measure", "value")
#: Every column name of long data's layout (matched without case, like the schema's).
LONG_COLUMNS = ("measure", "value", "month", "visit")
#: The largest month accepted (100 years).
MAX_MONTH = 1200


def is_long(columns: Iterable[Any]) -> bool:
    """True when the columns are those of long data.

    Examples
    --------
    >>> is_long(["patient_id", "measure", "month", "value", "arm"]), is_long(["patient_id", "hba1c_0"])
    (True, False)
    """
    names = set(map(str, columns))
    return set(LONG_KEYS) <= names and bool({"month", "visit"} & names) and "patient_id" in names


def pivot_long(df: pd.DataFrame, lines: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per patient, with a ``<measure>_<month>`` column per measure and month.

    ``lines`` (the file line of each row, when read from a file) names the
    rows in messages. The patients keep the order of their first row.

    Raises
    ------
    SchemaError
        Listing every problem (see the module docstring).
    """
    month_col = "month" if "month" in df.columns else "visit"
    failures: list[dict[str, Any]] = []
    pid = df["patient_id"]
    no_id = pid.isna().to_numpy()
    measure = df["measure"].astype("string").str.strip().str.lower()
    # a combined blood-pressure reading ("142/88") is one measure, split later by the schema
    measure = measure.where(~measure.isin(BP_READING_NAMES).fillna(False), BP_READING)
    no_measure = (measure.isna() | (measure == "")).to_numpy(dtype=bool)
    for column, mask, what in (
        ("patient_id", no_id, "a patient id"),
        ("measure", no_measure, "a measure name"),
    ):
        if mask.any():
            named, rows = row_names(lines, mask)
            failures.append(
                {
                    "column": column,
                    "rows": rows,
                    "values": [],
                    "problem": f"long-data rows without {what} ({named} shown); every row "
                    "must name its patient, measure and month",
                }
            )
    months = pd.to_numeric(df[month_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad_month = ~np.isfinite(months) | (months % 1 != 0) | (months < 0) | (months > MAX_MONTH)
    if bad_month.any():
        failures.append(
            {
                "column": month_col,
                "rows": pd.unique(pid[bad_month].dropna()).tolist(),
                "values": pd.unique(df.loc[bad_month, month_col]).tolist(),
                "problem": f"month must be a whole number from 0 (baseline) to {MAX_MONTH}",
            }
        )
    ok = ~(no_id | no_measure | bad_month)
    names = pd.Series(pd.NA, index=df.index, dtype="string")
    names[ok] = (
        measure[ok]
        + "_"
        + pd.Series(months[ok].astype(np.int64), index=df.index[ok]).astype("string")
    )
    dup = (names.notna() & pd.DataFrame({"p": pid, "n": names}).duplicated(keep=False)).to_numpy(
        dtype=bool
    )
    if dup.any():
        failures.append(
            {
                "column": "measure",
                "rows": pd.unique(pid[dup]).tolist(),
                "values": pd.unique(names[dup]).tolist(),
                "problem": "long data has duplicate patient x month x measure rows",
            }
        )
    attrs = [c for c in df.columns if c not in ("patient_id", month_col, "measure", "value")]
    produced = set(names.dropna())
    both = [c for c in attrs if str(c) in produced and column_spec(str(c)) is not None]
    if both:
        failures.append(
            {
                "column": ", ".join(map(str, both)),
                "rows": [],
                "values": [],
                "problem": "given both as a column and as measure/month/value rows; give each "
                "measurement one way (drop the column, or the rows)",
            }
        )
    if attrs and not no_id.all():
        varying = df.loc[~no_id].groupby("patient_id", sort=False)[attrs].nunique(dropna=False)
        for c in attrs:
            rows = varying.index[varying[c] > 1].tolist()
            if rows:
                failures.append(
                    {
                        "column": c,
                        "rows": rows,
                        "values": [],
                        "problem": "patient-level column varies within a patient in long data",
                    }
                )
    if failures:
        raise SchemaError(failures, title="long-format problem(s)")
    wide = df.assign(_col=names.to_numpy()).pivot(
        index="patient_id", columns="_col", values="value"
    )
    wide.columns.name = None
    order = pd.unique(pid)
    first = df.groupby("patient_id", sort=False)[attrs].first() if attrs else None
    wide = wide.reindex(order)
    if first is not None:
        wide = first.reindex(order).join(wide)
    wide.index.name = "patient_id"
    return wide.reset_index()

"""Suspicious but allowed values: inside the schema's range, rare enough to check against the chart.

The schema's ranges (:data:`~coachstats.data.schema.PATIENT_SCHEMA`) refuse
impossible values. Inside them, some values are possible but rare in adults
seen in primary care, and are more often an entry error (a misplaced decimal,
a value in the wrong column, a test record). :func:`suspicious_notes` names
them, per column, with the patients and values; the data loads as given. The
bounds are set where the trials' own populations (the San Francisco safety-net
cohorts, baseline HbA1c around 10 % with an SD of about 2) stay inside them,
so a real uncontrolled patient is not flagged:

============  ==========  ==========  ==================================================
measure       below       above       why
============  ==========  ==========  ==================================================
HbA1c (%)     4           18          below the normal range; above it, beyond most
                                      assays' reportable range
SBP (mm Hg)   80          250         a clinic reading outside these is rarely real
DBP (mm Hg)   40          140
LDL (mg/dL)   20          300         above 300: familial hypercholesterolemia range
BMI (kg/m²)   15          70
age (years)   18          100         coaching trials enrol adults
============  ==========  ==========  ==================================================

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"patient_id": ["a", "b", "c"], "hba1c_12": [9.1, 19.0, 7.2],
...                    "age": [54.0, 61.0, 99.0]})
>>> from coachstats.data.schema import column_spec
>>> for note in suspicious_notes(df, df["patient_id"], column_spec):
...     print(note)
hba1c_12: 1 value(s) above 18 % (patient b: 19), inside the allowed 3 to 20 % but rare in primary care; kept as given: check them against the source
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import pandas as pd

from coachstats.core.errors import list_some

__all__ = ["SUSPICIOUS", "suspicious_notes"]

#: Per measure of the schema: (below, above) in its canonical unit; values outside are noted.
SUSPICIOUS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "hba1c": (4.0, 18.0),
        "sbp": (80.0, 250.0),
        "dbp": (40.0, 140.0),
        "ldl": (20.0, 300.0),
        "bmi": (15.0, 70.0),
        "age": (18.0, 100.0),
    }
)


class _Spec(Protocol):
    """What a column's schema entry tells (:class:`~coachstats.data.schema.ColumnSpec`)."""

    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def bounds(self) -> tuple[float, float]: ...
    @property
    def allowed(self) -> str: ...


def suspicious_notes(
    frame: pd.DataFrame,
    ids: Sequence[Any] | pd.Index | pd.Series,
    spec_of: Callable[[str], _Spec | None],
) -> list[str]:
    """One note per column with values outside :data:`SUSPICIOUS` (numeric columns only).

    ``ids`` name the rows (patient ids, or file lines); ``spec_of`` gives a
    column's schema entry (:func:`~coachstats.data.schema.column_spec`). Values
    outside the schema's range are not noted here: they are errors of the load.
    """
    names = np.asarray(ids, dtype=object)
    out: list[str] = []
    for column in frame.columns:
        spec = spec_of(str(column))
        if spec is None or spec.name not in SUSPICIOUS or frame[column].dtype.kind not in "fi":
            continue
        low, high = SUSPICIOUS[spec.name]
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        allowed_low, allowed_high = spec.bounds
        inside = (values >= allowed_low) & (values <= allowed_high)
        unit = f" {spec.unit}" if spec.unit else ""
        for mask, side, bound in (
            (inside & (values < low), "below", low),
            (inside & (values > high), "above", high),
        ):
            if not mask.any():
                continue
            shown = list_some(
                [f"patient {names[i]}: {values[i]:g}" for i in np.flatnonzero(mask)], limit=5
            )
            out.append(
                f"{column}: {int(mask.sum())} value(s) {side} {bound:g}{unit} ({shown}), "
                f"inside the allowed {spec.allowed} but rare in primary care; kept as given: "
                "check them against the source"
            )
    return out

"""Blood pressure given as one reading, ``"142/88"``: split into systolic and diastolic columns.

Clinic exports often hold a visit's blood pressure as one text cell,
``"systolic/diastolic"``. A column ``bp_<month>`` (map yours to it: ``--map
bp_12="Blood Pressure"``; in long data, a ``measure`` named ``BP``, ``Blood
pressure`` or ``SBP/DBP``) is split on load into ``sbp_<month>`` and
``dbp_<month>``, with a note saying so. The numbers then meet the same range
checks as separate ``sbp``/``dbp`` columns (:data:`coachstats.data.schema.PATIENT_SCHEMA`).

Rules, each cell on its own row (no value ever moves to another row):

* spaces around the numbers and the slash are allowed (``"142 / 88"``), and
  so are decimals (``"142.5/88"``, ``"142,5/88"``) and the unit after the
  reading (``"142/88 mmHg"``); an empty cell is missing;
* a reading whose first number is not above its second (``"88/142"``) is an
  error naming the patients and the readings. coachstats never swaps the two:
  whether the numbers were typed in the wrong order, or one of them is wrong,
  only the source can tell;
* one number alone (``"142"``), a reading missing a number (``"142/"``),
  text (``"high"``) and dates (a reading Excel turned into a date) are
  errors naming the patients and the cells as given;
* a patient with a reading and a separate ``sbp_<month>`` or ``dbp_<month>``
  value for the same month: equal values are kept once (noted), different
  values are an error naming both columns. Patients with only one of the two
  take the one they have.

Separate systolic and diastolic values must also be in that order:
:func:`systolic_not_above_diastolic` reports patients whose ``sbp_<month>``
is not above their ``dbp_<month>``.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"patient_id": ["a", "b", "c"], "bp_0": ["142/88", " 130 / 79 ", None]})
>>> out = split_blood_pressure(df, df["patient_id"])
>>> out.frame.columns.tolist()
['patient_id', 'sbp_0', 'dbp_0']
>>> out.frame["sbp_0"].tolist(), out.frame["dbp_0"].tolist()
([142.0, 130.0, nan], [88.0, 79.0, nan])
>>> out.notes
("bp_0: 2 blood pressure reading(s) ('systolic/diastolic') split into sbp_0 and dbp_0",)
>>> bad = split_blood_pressure(pd.DataFrame({"bp_12": ["88/142", "high"]}), pd.Index(["p1", "p2"]))
>>> [(f["rows"], f["values"]) for f in bad.failures]
[(['p1'], ['88/142']), (['p2'], ['high'])]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import failure_from_mask, list_some
from coachstats.core.vocabulary import BP_READING
from coachstats.data.parsing import as_text, parse_numeric

__all__ = [
    "BP_PROBLEMS",
    "BloodPressureSplit",
    "parse_readings",
    "reading_columns",
    "split_blood_pressure",
    "split_source_names",
    "systolic_not_above_diastolic",
    "unmapped_readings",
]

_NUMBER = r"[0-9]+(?:[.,][0-9]+)?"
_READING = re.compile(rf"^\s*({_NUMBER})?\s*/\s*({_NUMBER})?\s*(?:[mM][mM]\s*[hH][gG])?\s*$")
_COLUMN = re.compile(rf"^{BP_READING}_(\d+)$")

#: What each kind of unreadable cell means, and its fix (the problem text of the error).
BP_PROBLEMS: Mapping[str, str] = {
    "order": "blood pressure reading whose first number (systolic) is not above its second "
    "(diastolic): typed the wrong way round, or one number wrong? readings are "
    "'systolic/diastolic' (e.g. 142/88); correct them in the file (coachstats never swaps them)",
    "single": "one number where a blood pressure reading 'systolic/diastolic' (e.g. 142/88) is "
    "expected; give both numbers, or map a column of systolic values alone to sbp_<month>",
    "incomplete": "blood pressure reading missing one of its two numbers; give both "
    "('systolic/diastolic', e.g. 142/88) or leave the cell empty",
    "date": "a date where a blood pressure reading is expected (did a spreadsheet turn the "
    "reading into a date? format the column as text and type the readings again)",
    "text": "not a blood pressure reading; expected 'systolic/diastolic' (e.g. 142/88) or an "
    "empty cell",
}


@dataclass(frozen=True)
class ParsedReadings:
    """The systolic and diastolic numbers of a column of readings, and its unreadable cells.

    ``systolic`` and ``diastolic`` are NaN where the cell is empty or a
    problem; ``problems`` maps a kind of :data:`BP_PROBLEMS` to the mask of
    its cells; ``text`` is every cell as given (for messages).
    """

    systolic: npt.NDArray[np.float64]
    diastolic: npt.NDArray[np.float64]
    problems: dict[str, npt.NDArray[np.bool_]]
    text: pd.Series

    @property
    def read(self) -> npt.NDArray[np.bool_]:
        """The cells read as a reading (both numbers, in order)."""
        return ~np.isnan(self.systolic)


def _number(parts: pd.Series) -> npt.NDArray[np.float64]:
    return pd.to_numeric(parts.str.replace(",", ".", regex=False), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )


def parse_readings(cells: pd.Series) -> ParsedReadings:
    """Read a column of ``"systolic/diastolic"`` cells; see the module docstring for the rules.

    Examples
    --------
    >>> p = parse_readings(pd.Series(["142/88", "142", "142/", "/", None, "120/120"]))
    >>> p.systolic.tolist()
    [142.0, nan, nan, nan, nan, nan]
    >>> {k: np.flatnonzero(v).tolist() for k, v in p.problems.items()}
    {'order': [5], 'single': [1], 'incomplete': [2, 3]}
    """
    n = len(cells)
    obj = cells.astype(object)
    is_date = obj.map(lambda x: hasattr(x, "year") and hasattr(x, "month")).to_numpy(dtype=bool)
    text = as_text(cells.where(~is_date, None)) if n else pd.Series([], dtype=object)
    stripped = text.astype("string").str.strip()
    blank = (stripped.isna() | (stripped == "")).to_numpy(dtype=bool) & ~is_date
    parts = stripped.str.extract(_READING.pattern)
    matched = stripped.str.fullmatch(_READING.pattern).fillna(False).to_numpy(dtype=bool)
    systolic, diastolic = _number(parts[0]), _number(parts[1])
    both = matched & ~np.isnan(systolic) & ~np.isnan(diastolic)
    with np.errstate(invalid="ignore"):
        order = both & ~(systolic > diastolic)
    single = (
        ~matched
        & ~blank
        & ~is_date
        & stripped.str.fullmatch(_NUMBER).fillna(False).to_numpy(dtype=bool)
    )
    problems = {
        "order": order,
        "single": single,
        "incomplete": matched & ~both & ~blank,
        "date": is_date,
        "text": ~matched & ~blank & ~is_date & ~single,
    }
    good = both & ~order
    systolic = np.where(good, systolic, np.nan)
    diastolic = np.where(good, diastolic, np.nan)
    shown = pd.Series(np.where(is_date, obj.astype(str), text.astype(object)), index=cells.index)
    return ParsedReadings(
        systolic, diastolic, {k: v for k, v in problems.items() if v.any()}, shown
    )


@dataclass(frozen=True)
class BloodPressureSplit:
    """What :func:`split_blood_pressure` did.

    Attributes
    ----------
    frame : DataFrame
        The table with each ``bp_<month>`` column replaced by ``sbp_<month>``
        and ``dbp_<month>`` (in its place, or merged into existing ones).
    failures : list of dict
        Problems in the :class:`~coachstats.core.errors.SchemaError` format.
    notes : tuple of str
        What was split and merged.
    origin : mapping
        ``sbp_<month>`` / ``dbp_<month>`` -> the ``bp_<month>`` column they were split from.
    """

    frame: pd.DataFrame
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    origin: Mapping[str, str] = field(default_factory=dict)


def reading_columns(columns: pd.Index | list[Any]) -> dict[str, int]:
    """The ``bp_<month>`` columns among ``columns``, with their months.

    Examples
    --------
    >>> reading_columns(["patient_id", "bp_0", "sbp_0", "bp_12"])
    {'bp_0': 0, 'bp_12': 12}
    """
    out = {}
    for c in columns:
        m = _COLUMN.match(str(c))
        if m:
            out[str(c)] = int(m.group(1))
    return out


def split_source_names(names: Mapping[str, str]) -> dict[str, str]:
    """Schema name -> your column name, with the columns split from a mapped reading added.

    An error about ``sbp_0`` then names the column it came from too.

    Examples
    --------
    >>> split_source_names({"bp_0": "Blood Pressure", "arm": "Group"})
    {'bp_0': 'Blood Pressure', 'arm': 'Group', 'sbp_0': 'Blood Pressure', 'dbp_0': 'Blood Pressure'}
    """
    out = dict(names)
    for schema, month in reading_columns(list(names)).items():
        for part in ("sbp", "dbp"):
            out.setdefault(f"{part}_{month}", names[schema])
    return out


def _merge(
    df: pd.DataFrame,
    target: str,
    values: npt.NDArray[np.float64],
    source: str,
    ids: pd.Series | pd.Index,
    text: pd.Series,
) -> tuple[pd.Series | npt.NDArray[np.float64], dict[str, Any] | None, int]:
    """The reading's numbers merged into an existing column: (column, conflict, equal values).

    The existing cells stay as given where the reading has no number (their
    own problems are the schema's to report); where both have a number, they
    must be equal.
    """
    existing = df[target]
    given = parse_numeric(existing).values
    has_reading = ~np.isnan(values)
    both = has_reading & ~np.isnan(given)
    differ = both & ~np.isclose(values, given, rtol=0.0, atol=1e-9)
    conflict = None
    if differ.any():
        shown = pd.Series(
            [f"{t} vs {target} {g:g}" for t, g in zip(text, given, strict=True)], dtype=object
        )
        part = "first (systolic)" if target.startswith("sbp") else "second (diastolic)"
        conflict = failure_from_mask(
            source,
            f"the {part} number of the reading differs from column {target!r} for the same "
            f"patient and month; give each measurement once (drop or unmap one of {source!r} "
            f"and {target!r}, or correct the one that is wrong)",
            differ,
            ids,
            shown,
        )
    fill = has_reading & existing.isna().to_numpy(dtype=bool)
    merged = existing.astype(object).copy()
    merged[fill] = values[fill]
    return merged, conflict, int((both & ~differ).sum())


def split_blood_pressure(df: pd.DataFrame, ids: pd.Series | pd.Index) -> BloodPressureSplit:
    """Replace every ``bp_<month>`` column by ``sbp_<month>`` and ``dbp_<month>``.

    ``ids`` names each row in messages (patient ids, aligned with ``df`` by
    position). Cells that cannot be read, and readings that disagree with a
    separate ``sbp``/``dbp`` value, are returned as failures (the schema raises
    them with every other problem); their patients get no value from the
    reading. See the module docstring for the rules.
    """
    columns = reading_columns(df.columns)
    if not columns:
        return BloodPressureSplit(df)
    out = df.copy()
    failures: list[dict[str, Any]] = []
    notes: list[str] = []
    origin: dict[str, str] = {}
    for col, month in columns.items():
        parsed = parse_readings(df[col])
        for kind, mask in parsed.problems.items():
            failures.append(failure_from_mask(col, BP_PROBLEMS[kind], mask, ids, parsed.text))
        sbp, dbp = f"sbp_{month}", f"dbp_{month}"
        merged: list[str] = []
        new: dict[str, Any] = {}
        for target, values in ((sbp, parsed.systolic), (dbp, parsed.diastolic)):
            origin[target] = col
            if target in out.columns:
                column, conflict, equal = _merge(out, target, values, col, ids, parsed.text)
                out[target] = column
                if conflict is not None:
                    failures.append(conflict)
                merged.append(f"{target} ({equal} with both, equal)")
            else:
                new[target] = values
        at = list(out.columns).index(col)
        out = out.drop(columns=[col])
        for k, (name, values) in enumerate(new.items()):
            out.insert(at + k, name, values)
        n = int(parsed.read.sum())
        note = f"{col}: {n} blood pressure reading(s) ('systolic/diastolic') split into {sbp} and {dbp}"
        if merged:
            note += (
                f"; also given as column(s) of their own: {', '.join(merged)}; each patient "
                "keeps the value given"
            )
        notes.append(note)
    return BloodPressureSplit(out, failures, tuple(notes), origin)


def systolic_not_above_diastolic(
    df: pd.DataFrame, ids: pd.Series | pd.Index
) -> list[dict[str, Any]]:
    """Patients whose ``sbp_<month>`` is not above their ``dbp_<month>`` (numeric columns).

    Examples
    --------
    >>> df = pd.DataFrame({"sbp_0": [140.0, 80.0], "dbp_0": [90.0, 120.0]})
    >>> [(f["column"], f["rows"], f["values"]) for f in systolic_not_above_diastolic(df, pd.Index(["a", "b"]))]
    [('sbp_0', ['b'], ['80/120'])]
    """
    failures = []
    for col in df.columns:
        m = re.fullmatch(r"sbp_(\d+)", str(col))
        dbp = f"dbp_{m.group(1)}" if m else ""
        if not m or dbp not in df.columns:
            continue
        s = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        d = pd.to_numeric(df[dbp], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(s) & ~np.isnan(d) & (s <= d)
        if bad.any():
            shown = pd.Series([f"{a:g}/{b:g}" for a, b in zip(s, d, strict=True)], dtype=object)
            failures.append(
                failure_from_mask(
                    str(col),
                    f"systolic pressure not above the diastolic ({dbp}) of the same patient and "
                    "month (values shown as systolic/diastolic): swapped columns, or a wrong "
                    "value? correct them in the file",
                    bad,
                    ids,
                    shown,
                )
            )
    return failures


def unmapped_readings(df: pd.DataFrame, known: Any) -> list[str]:
    """Notes on columns outside the schema whose every cell is a ``"systolic/diastolic"`` reading.

    Such a column is not analysed; the note says how to map it. ``known`` is
    a predicate: True for the schema's columns.

    Examples
    --------
    >>> df = pd.DataFrame({"Blood Pressure": ["142/88", None, "130/80"], "note": ["ok", "a/b", None]})
    >>> print(unmapped_readings(df, lambda c: False)[0])
    column 'Blood Pressure' holds blood pressure readings (e.g. '142/88') but is not a schema column, so it is not analysed: map it to bp_<month> (the month of its visit) to split it into sbp_<month> and dbp_<month> (e.g. --map bp_0='Blood Pressure'; Python: columns={'Blood Pressure': 'bp_0'})
    """
    notes = []
    for col in df.columns:
        s = df[col]
        if known(str(col)) or not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        values = s.dropna()
        values = values[values.map(lambda v: isinstance(v, str) and v.strip() != "")]
        if values.empty:
            continue
        parsed = parse_readings(values)
        if parsed.read.all() or (not parsed.problems.keys() - {"order"} and parsed.read.any()):
            first = list_some([values.iloc[0]], 1)
            numbers = re.findall(r"\d+", str(col))
            target = f"bp_{int(numbers[0])}" if len(numbers) == 1 else "bp_0"  # an example
            notes.append(
                f"column {str(col)!r} holds blood pressure readings (e.g. {first!r}) but is not a "
                "schema column, so it is not analysed: map it to bp_<month> (the month of its "
                "visit) to split it into sbp_<month> and dbp_<month> (e.g. "
                f"--map {target}={str(col)!r}; Python: columns={{{str(col)!r}: {target!r}}})"
            )
    return notes

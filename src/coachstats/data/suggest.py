"""Which of the user's columns look like a required column that is missing.

A file whose identifier is called ``MRN`` and whose arm is called ``Group``
(values ``Intervention``/``Control``) fails validation with "required column
missing". The message then names the columns that look like the missing one,
with the ``--map`` that maps them, so that the fix is on the screen:
:func:`arm_candidates` (a column with two or three values, named like an arm or
holding arm labels coachstats recognises) and :func:`id_candidates` (a column
named like an identifier whose values are unique, or nearly so).

Examples
--------
>>> import re

import pandas as pd
>>> raw = pd.DataFrame({"MRN": ["a", "b", "c"], "Group": ["HC", "UC", "HC"], "age": [50, 61, 47]})
>>> print(missing_column_hint("arm", raw))
column 'Group' looks like it (2 values: 'HC', 'UC'): --map arm=Group --arms HC=coaching,UC=usual_care
>>> print(missing_column_hint("patient_id", raw))
column 'MRN' looks like it (3 distinct values in 3 rows): --map patient_id=MRN
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from coachstats.core.errors import SchemaError, list_some
from coachstats.core.vocabulary import MEASURE_LABELS, MEASURES, parse_measure_column
from coachstats.data.schema import PATIENT_SCHEMA, normalize_arm_labels

__all__ = [
    "arm_candidates",
    "arms_option",
    "id_candidates",
    "measure_candidates",
    "measure_hint",
    "missing_column_hint",
    "with_column_hints",
]

#: Words in a column name that suggest it holds the arm.
ARM_WORDS = ("arm", "group", "treat", "alloc", "random", "condition", "study", "intervention")
#: Words in a column name that suggest it identifies the patient.
ID_WORDS = ("id", "mrn", "patient", "record", "subject", "person", "member", "number", "no")


def _unmapped(raw: pd.DataFrame, columns: Mapping[str, str] | None) -> list[str]:
    mapped = set((columns or {}).keys()) | {c.name for c in PATIENT_SCHEMA}
    return [
        str(c) for c in raw.columns if str(c) not in mapped and str(c).strip().lower() not in mapped
    ]


def arm_candidates(
    raw: pd.DataFrame, columns: Mapping[str, str] | None = None
) -> list[tuple[str, list[Any]]]:
    """Columns that look like an unmapped arm column, with their distinct values.

    A column not mapped to the schema, with two or three distinct values, whose
    name suggests an arm (``group``, ``Study Arm``, ``treatment``...) or whose
    values are arm labels coachstats recognises (``HC``/``UC``, ``control``...).

    Examples
    --------
    >>> raw = pd.DataFrame({"id": [1, 2, 3], "group": ["HC", "UC", "HC"], "sex": ["F", "M", "F"]})
    >>> arm_candidates(raw, None)
    [('group', ['HC', 'UC'])]
    """
    found = []
    for name in _unmapped(raw, columns):
        values = pd.unique(raw[name].dropna()).tolist()
        if not 2 <= len(values) <= 3:
            continue
        named = any(w in name.lower() for w in ARM_WORDS)
        recognised, _ = normalize_arm_labels(pd.Series(values, dtype=object))
        if named or recognised.notna().sum() >= 2:
            found.append((name, sorted(values, key=str)))
    return found


def arms_option(values: list[Any]) -> tuple[str, str]:
    """The ``--arms`` value and the Python ``arms=`` mapping for an arm column's values.

    Labels coachstats recognises are mapped; the others are left for the user
    (``coaching|usual_care``).

    Examples
    --------
    >>> arms_option(["Control", "Intervention"])
    ('Control=usual_care,Intervention=coaching', "'Control': 'usual_care', 'Intervention': 'coaching'")
    """
    mapped, _ = normalize_arm_labels(pd.Series(values, dtype=object))
    guess = [m if isinstance(m, str) else "coaching|usual_care" for m in mapped.tolist()]
    cli = ",".join(f"{v}={g}" for v, g in zip(values, guess, strict=True))
    python = ", ".join(f"{v!r}: {g!r}" for v, g in zip(values, guess, strict=True))
    return cli, python


def _words(name: str) -> set[str]:
    text = "".join(ch if ch.isalnum() else " " for ch in name)
    # split camel case (PatientID -> Patient ID)
    spaced = "".join(
        f" {ch}" if ch.isupper() and i and text[i - 1].islower() else ch
        for i, ch in enumerate(text)
    )
    return {w.lower() for w in spaced.split()}


def id_candidates(
    raw: pd.DataFrame, columns: Mapping[str, str] | None = None
) -> list[tuple[str, int]]:
    """Columns that look like an unmapped patient identifier, with their distinct count.

    A column named like an identifier (``MRN``, ``Patient ID``, ``record_no``...)
    whose non-missing values are at least 90 % distinct (duplicates are then
    reported by the validation itself).

    Examples
    --------
    >>> raw = pd.DataFrame({"PatientID": [7, 8, 9], "site": ["A", "A", "B"]})
    >>> id_candidates(raw)
    [('PatientID', 3)]
    """
    found = []
    for name in _unmapped(raw, columns):
        if not _words(name) & set(ID_WORDS):
            continue
        values = raw[name].dropna()
        distinct = int(values.nunique())
        if len(values) and distinct >= 0.9 * len(values):
            found.append((name, distinct))
    return found


def missing_column_hint(
    column: str, raw: pd.DataFrame, columns: Mapping[str, str] | None = None
) -> str:
    """What to map for a missing required column (``""`` when nothing looks like it)."""
    if column == "arm":
        arms = arm_candidates(raw, columns)
        if not arms:
            return ""
        name, values = arms[0]
        cli, _ = arms_option(values)
        others = "".join(f", or {n!r} ({list_some(map(repr, v))})" for n, v in arms[1:])
        return (
            f"column {name!r} looks like it ({len(values)} values: "
            f"{list_some(map(repr, values))}): --map arm={name} --arms {cli}{others}"
        )
    if column == "patient_id":
        ids = id_candidates(raw, columns)
        if not ids:
            return ""
        name, distinct = ids[0]
        others = "".join(f", or {n!r}" for n, _ in ids[1:])
        return (
            f"column {name!r} looks like it ({distinct} distinct values in {len(raw)} rows): "
            f"--map patient_id={name}{others}"
        )
    return ""


def with_column_hints(
    error: SchemaError, raw: pd.DataFrame, columns: Mapping[str, str] | None = None
) -> SchemaError:
    """``error`` with :func:`missing_column_hint` for each missing required column, in place
    of the list of every column found (``error`` itself when nothing looks like it).

    Examples
    --------
    >>> raw = pd.DataFrame({"MRN": ["a", "b"], "arm": ["coaching", "usual_care"]})
    >>> e = SchemaError([{"column": "patient_id", "problem": "required column missing (id)"}])
    >>> print(with_column_hints(e, raw))
    1 problem(s) found in the input data:
      1. column 'patient_id': required column missing (id); column 'MRN' looks like it (2 distinct values in 2 rows): --map patient_id=MRN
    """
    failures = error.failures.copy()
    changed = False
    for i, f in failures.iterrows():
        if not str(f["problem"]).startswith("required column missing"):
            continue
        hint = missing_column_hint(str(f["column"]), raw, columns)
        if hint:  # the hint replaces the list of every column found: it names the one to map
            head = str(f["problem"]).split("; columns found:", 1)[0]
            failures.at[i, "problem"] = f"{head}; {hint}"
            changed = True
    if not changed:
        return error
    return type(error)(failures, error.title, source_names=error.source_names)


#: Words that name each measure in real exports (matched as whole words, any case).
MEASURE_WORDS: Mapping[str, tuple[str, ...]] = {
    "hba1c": ("hba1c", "a1c", "hgba1c", "glycated", "glycohemoglobin"),
    "sbp": ("sbp", "systolic"),
    "dbp": ("dbp", "diastolic"),
    "ldl": ("ldl",),
    "bmi": ("bmi",),
}
_BASELINE = ("baseline", "base", "bl", "pre", "entry", "enrollment", "enrolment", "intake")
_MONTH = re.compile(r"(?:^|[^0-9])(\d{1,2})\s*(?:m|mo|mos|month|months)?(?:$|[^0-9a-z])")


def _month_of(words: set[str], name: str) -> int | None:
    if words & set(_BASELINE):
        return 0
    found = _MONTH.findall(name.lower().replace("hba1c", "").replace("a1c", ""))
    return int(found[-1]) if found else None


def measure_candidates(
    raw: pd.DataFrame, columns: Mapping[str, str] | None = None
) -> list[tuple[str, str, int | None]]:
    """Unmapped columns that look like a measurement the file lacks: (column, measure, month).

    The month comes from the name (``baseline`` is 0, ``12m`` / ``month 12`` is
    12) when it says one. Only for a measurement the file lacks (no ``hba1c_12``
    for ``A1C 12m``; no HbA1c column at all when the name gives no month), so a
    file that has it is not second-guessed.

    Examples
    --------
    >>> raw = pd.DataFrame(columns=["MRN", "A1C baseline", "A1C 12m", "sbp_0", "LDL (mg/dL) 12"])
    >>> measure_candidates(raw)
    [('A1C baseline', 'hba1c', 0), ('A1C 12m', 'hba1c', 12), ('LDL (mg/dL) 12', 'ldl', 12)]
    """
    schema = [str(c) for c in raw.columns] + [str(c) for c in (columns or {}).values()]
    present = {p[0] for c in schema if (p := parse_measure_column(c)) is not None}
    found = []
    for name in _unmapped(raw, columns):
        if parse_measure_column(name) is not None:
            continue
        words = _words(name)
        for measure in MEASURES:
            if not words & set(MEASURE_WORDS.get(measure, (measure,))):
                continue
            month = _month_of(words, name)
            # a month the file lacks, or a measure it lacks altogether
            if (month is None and measure not in present) or (
                month is not None and f"{measure}_{month}" not in schema
            ):
                found.append((name, measure, month))
            break
    return found


def measure_hint(raw: pd.DataFrame, columns: Mapping[str, str] | None = None) -> str:
    """A note naming the columns that look like measurements coachstats did not read.

    Examples
    --------
    >>> raw = pd.DataFrame(columns=["MRN", "A1C baseline", "A1C 12m"])
    >>> print(measure_hint(raw))
    columns not read that look like HbA1c: 'A1C baseline', 'A1C 12m'; map them to the schema's names, e.g. --map "hba1c_0=A1C baseline,hba1c_12=A1C 12m" (a measure's columns are <measure>_<month>)
    """
    found = measure_candidates(raw, columns)
    if not found:
        return ""
    measures = list(dict.fromkeys(m for _, m, _ in found))
    named = ", ".join(MEASURE_LABELS.get(m, m) for m in measures)
    pairs = [f"{m}_{month}={c}" for c, m, month in found if month is not None]
    example = f', e.g. --map "{",".join(pairs)}"' if pairs else " with --map"
    return (
        f"columns not read that look like {named}: "
        f"{list_some(repr(c) for c, _, _ in found)}; map them to the schema's names{example} "
        "(a measure's columns are <measure>_<month>)"
    )

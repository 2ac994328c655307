"""The patient-table schema and its validation.

:data:`PATIENT_SCHEMA` documents every column coachstats understands (name,
dtype, unit, allowed range or values, required or optional);
``docs/schema.md`` is the same table for readers. :func:`validate_patients`
normalizes a raw patient table (arm labels, booleans, numbers, units) and
collects **every** problem before raising one :class:`~coachstats.core.errors.SchemaError`.

Measurement columns are ``<measure>_<month>``: ``hba1c_0``, ``hba1c_12``,
``sbp_6``... (month 0 is baseline). A blood-pressure reading given as one cell
(``bp_<month>``: ``"142/88"``) is split into ``sbp_<month>`` and
``dbp_<month>`` first (:mod:`coachstats.data.bloodpressure`).

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"patient_id": [1, 2], "arm": ["Coaching", "Usual care"],
...                     "hba1c_0": [9.1, 10.2], "hba1c_12": [7.5, None]})
>>> clean, notes = validate_patients(raw)
>>> clean["arm"].tolist()
['coaching', 'usual_care']
>>> bad = pd.DataFrame({"patient_id": [1, 1], "arm": ["coaching", "control group"],
...                     "hba1c_0": [9.1, "high"]})
>>> try:
...     validate_patients(bad)
... except SchemaError as e:
...     print(len(e.failures))
3
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import (
    NotedWarning,
    SchemaError,
    UnitError,
    check_option,
    failure_from_mask,
    list_some,
)
from coachstats.core.units import (
    CANONICAL_UNITS,
    REPORTED_DECIMALS,
    UNIT_CHOICES,
    convert_from_canonical,
    convert_to_canonical,
    looks_like,
    normalize_unit,
    to_reported_precision,
)
from coachstats.data.bloodpressure import (
    split_blood_pressure,
    systolic_not_above_diastolic,
    unmapped_readings,
)
from coachstats.data.levels import (
    CATEGORY_LEVELS,
    canonical_levels,
    levels_advice,
    normalize_levels,
)
from coachstats.data.parsing import (
    PROBLEM_TEXT,
    CensoredRule,
    is_text_dtype,
    parse_bool,
    parse_numeric,
)
from coachstats.data.plausibility import suspicious_notes

__all__ = [
    "ARMS",
    "MISSING_ID",
    "PATIENT_SCHEMA",
    "ColumnSpec",
    "column_spec",
    "normalize_arm_labels",
    "row_names",
    "validate_patients",
]

#: How a row without a patient id is told (its ``rows`` are file lines, not ids):
#: ``--exclude-invalid`` recognises those failures by it (``data.programdata``).
MISSING_ID = "missing patient id"

ARMS = ("coaching", "usual_care")
_ARM_SYNONYMS = {
    "coaching": "coaching",
    "coach": "coaching",
    "coached": "coaching",
    "health_coaching": "coaching",
    "intervention": "coaching",
    "hc": "coaching",
    "usual_care": "usual_care",
    "usualcare": "usual_care",
    "uc": "usual_care",
    "control": "usual_care",
    "usual": "usual_care",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One documented column (or a family of ``<name>_<month>`` columns)."""

    name: str
    dtype: Literal["id", "arm", "category", "bool", "float", "int", "reading"]
    description: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    per_month: bool = False

    @property
    def bounds(self) -> tuple[float, float]:
        """The allowed range as numbers (an open end is infinite)."""
        low = -float("inf") if self.minimum is None else self.minimum
        return low, float("inf") if self.maximum is None else self.maximum

    @property
    def allowed(self) -> str:
        """Human-readable allowed values."""
        if self.dtype == "arm":
            return "coaching, usual_care (map other labels with arms=)"
        if self.dtype == "bool":
            return "true/false, yes/no, 1/0"
        if self.dtype == "reading":
            return "'systolic/diastolic' text, e.g. 142/88 (split into sbp and dbp)"
        if self.minimum is not None or self.maximum is not None:
            lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
            hi = "inf" if self.maximum is None else f"{self.maximum:g}"
            return f"{lo} to {hi}" + (f" {self.unit}" if self.unit else "")
        return "any"


PATIENT_SCHEMA: tuple[ColumnSpec, ...] = (
    ColumnSpec("patient_id", "id", "Unique patient identifier", required=True),
    ColumnSpec("arm", "arm", "Randomized arm", required=True),
    ColumnSpec("site", "category", "Clinic or site"),
    ColumnSpec("clinician_id", "category", "Primary care clinician"),
    ColumnSpec("coach_id", "category", "Health coach (coaching arm)"),
    ColumnSpec("diabetes", "bool", "Has diabetes"),
    ColumnSpec("hypertension", "bool", "Has hypertension"),
    ColumnSpec("hyperlipidemia", "bool", "Has hyperlipidemia"),
    ColumnSpec("insulin", "bool", "Uses insulin"),
    ColumnSpec("hba1c", "float", "Hemoglobin A1c", "%", 3.0, 20.0, per_month=True),
    ColumnSpec("sbp", "float", "Systolic blood pressure", "mmHg", 60.0, 300.0, per_month=True),
    ColumnSpec("dbp", "float", "Diastolic blood pressure", "mmHg", 30.0, 200.0, per_month=True),
    ColumnSpec(
        "bp",
        "reading",
        "Blood pressure as one reading, split on load into sbp and dbp",
        "mmHg",
        per_month=True,
    ),
    ColumnSpec("ldl", "float", "LDL cholesterol", "mg/dL", 10.0, 500.0, per_month=True),
    ColumnSpec("bmi", "float", "Body-mass index", "kg/m2", 10.0, 100.0, per_month=True),
    ColumnSpec("age", "float", "Age at enrolment", "years", 0.0, 120.0),
    ColumnSpec("sex", "category", "Sex"),
    ColumnSpec("language", "category", "Preferred language"),
    ColumnSpec("ethnicity", "category", "Race/ethnicity"),
    ColumnSpec("marital_status", "category", "Marital status"),
    ColumnSpec("work_status", "category", "Work status"),
    ColumnSpec("pcp_visits", "float", "PCP visits in the prior year", "visits", 0.0, 366.0),
    ColumnSpec("coach_contacts", "float", "Coaching contacts", "contacts", 0.0, None),
    ColumnSpec("coaching_minutes", "float", "Total coaching time", "min", 0.0, None),
)
_BY_NAME = {c.name: c for c in PATIENT_SCHEMA}
_MONTH_COL = re.compile(r"^([a-z0-9]+)_(\d+)$")


def column_spec(column: str) -> ColumnSpec | None:
    """The spec that governs ``column`` (``hba1c_12`` -> the ``hba1c`` spec).

    Examples
    --------
    >>> column_spec("sbp_12").unit, column_spec("age").maximum, column_spec("zzz")
    ('mmHg', 120.0, None)
    """
    if column in _BY_NAME and not _BY_NAME[column].per_month:
        return _BY_NAME[column]
    m = _MONTH_COL.match(column)
    if m and m.group(1) in _BY_NAME and _BY_NAME[m.group(1)].per_month:
        return _BY_NAME[m.group(1)]
    return None


def _canon_label(x: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(x).strip().lower())


def normalize_arm_labels(
    values: pd.Series, arms: Mapping[Any, str] | None = None
) -> tuple[pd.Series, list[str]]:
    """Map raw arm labels onto ``coaching`` / ``usual_care``.

    ``arms`` maps the user's labels (exactly, or case/space-insensitively) to
    the canonical ones. Without it, common spellings are recognised
    ("Coaching", "Usual Care", "UC", "control", "intervention"). Returns the
    mapped series (NA where unmapped) and the list of unmapped labels.

    Examples
    --------
    >>> s, bad = normalize_arm_labels(pd.Series(["A", "B", "C"]), {"A": "coaching", "b": "usual_care"})
    >>> s.tolist(), bad
    (['coaching', 'usual_care', <NA>], ['C'])
    """
    lookup = dict(_ARM_SYNONYMS)
    if arms:
        for k, v in arms.items():
            target = _ARM_SYNONYMS.get(_canon_label(v))
            if target is None:
                raise SchemaError(
                    [
                        {
                            "column": "arm",
                            "rows": [],
                            "values": [v],
                            "problem": f"arms= maps {k!r} to {v!r}; allowed targets: {', '.join(ARMS)}",
                        }
                    ]
                )
            lookup[_canon_label(k)] = target
    # each distinct label is canonicalized once (a million rows hold a few labels); labels of
    # mixed types (1, 1.0, True compare equal) are told apart by their text first
    codes, labels = pd.factorize(values, use_na_sentinel=True)
    if len({type(x) for x in labels}) > 1:
        codes, labels = pd.factorize(values.map(str, na_action="ignore"), use_na_sentinel=True)
    targets = np.array([lookup.get(_canon_label(x)) for x in labels] + [None], dtype=object)
    mapped = pd.Series(targets[codes], index=values.index, dtype="string")
    unmapped = [i for i, t in enumerate(targets[:-1]) if t is None]
    return mapped, [str(labels[i]) for i in unmapped]


def _space_variants(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Ids and codes that differ only by spaces around them ('P1 ' and 'P1'): one problem each column.

    Ids and codes are compared as exact text, so such variants would be two
    patients (or two sites); they are far more often one value typed twice.
    """
    failures: list[dict[str, Any]] = []
    for col in df.columns:
        spec = column_spec(str(col))
        if spec is None or spec.dtype not in ("id", "category"):
            continue
        values = df[col].dropna()
        if is_text_dtype(values.dtype):
            # text only: a clash needs a value with spaces around it (vectorized check first)
            if not (values.str.strip() != values).any():
                continue
            distinct = pd.Series(pd.unique(values), dtype=object)
        else:  # the distinct values, each looked at once (far fewer than the rows)
            distinct = pd.Series(pd.unique(values), dtype=object)
            distinct = distinct[[isinstance(v, str) for v in distinct]]
        if distinct.empty:
            continue
        stripped = distinct.str.strip()
        clash = stripped.duplicated(keep=False).to_numpy()
        if clash.any():
            variants = distinct[clash].tolist()
            is_id = spec.dtype == "id"
            failures.append(
                {
                    "column": col,
                    "rows": variants if is_id else [],
                    "values": variants,
                    "problem": (
                        "patient ids that differ only by spaces around them: the same patient "
                        "twice, or two patients? make them identical, or distinct, in the file"
                        if is_id
                        else "values that differ only by spaces around them would be counted "
                        "as different groups; make them identical in the file"
                    ),
                }
            )
    return failures


def _shell_word(text: str) -> str:
    """``text`` as one shell word: quoted when it holds a space or a shell character.

    Examples
    --------
    >>> _shell_word("0=ARM,1=ARM"), _shell_word("Group 3=ARM,Group 4=ARM")
    ('0=ARM,1=ARM', '"Group 3=ARM,Group 4=ARM"')
    """
    if re.fullmatch(r"[\w.,=:+/@%-]*", text):
        return text
    return '"' + re.sub(r'(["\\$`])', r"\\\1", text) + '"'


def row_names(lines: Sequence[int] | None, mask: npt.ArrayLike) -> tuple[str, list[Any]]:
    """How to name the rows where ``mask`` holds, and what the numbers are: the file lines
    when the rows were read from a file (a spreadsheet's row numbers: the header is line 1),
    else their positions from 0.

    Examples
    --------
    >>> row_names([2, 4, 5], [False, False, True]), row_names(None, [False, True])
    (('file lines', [5]), ('row positions, from 0', [1]))
    """
    where = np.flatnonzero(np.asarray(mask, dtype=bool))
    if lines is not None:
        return "file lines", [int(lines[int(i)]) for i in where]
    return "row positions, from 0", where.tolist()


def _row_ids(frame: pd.DataFrame, lines: Sequence[int] | None = None) -> pd.Series | pd.Index:
    """What names a row in a message: its patient id; without an id column, its file line
    (``lines``, when read from a file) or its position."""
    if "patient_id" in frame:
        return frame["patient_id"]
    if lines is not None and len(lines) == len(frame):
        return pd.Index([int(x) for x in lines])
    return pd.RangeIndex(len(frame))


def _in_unit(measure: str, unit: str, canonical_value: float) -> float:
    """A canonical-unit bound expressed in ``unit`` (for messages), to 3 significant digits."""
    return float(f"{float(convert_from_canonical(measure, canonical_value, unit)):.3g}")


def validate_patients(
    raw: pd.DataFrame,
    *,
    arms: Mapping[Any, str] | None = None,
    units: Mapping[str, str] | None = None,
    levels: Mapping[str, Mapping[Any, str]] | None = None,
    n_arms: Literal[1, 2] = 2,
    require_baseline: bool = True,
    censored: CensoredRule = "error",
    lines: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Validate and normalize a wide patient table; raise one SchemaError listing every problem.

    Checks: required columns present; unique ``patient_id``; arm labels known
    and exactly ``n_arms`` arms; booleans parse; numeric columns hold numbers;
    values in the documented ranges (in canonical units, after conversion);
    unit mix-ups (values that look like mmol/mol or mmol/L without ``units=``);
    a follow-up measurement without its baseline (``require_baseline``).

    Parameters
    ----------
    raw : DataFrame
        One row per patient, columns already renamed to the schema's names.
    arms : mapping, optional
        The user's arm labels -> ``"coaching"`` / ``"usual_care"``.
    units : mapping, optional
        Measure -> unit of the input, e.g. ``{"hba1c": "mmol/mol", "ldl": "mmol/L"}``.
        Values are converted to the canonical unit (% and mg/dL).
    levels : mapping, optional
        Categorical column -> {your label: canonical level}, e.g.
        ``{"sex": {"1": "male", "2": "female"}}``. The sex, language and
        ethnicity columns are mapped onto their canonical levels
        (:func:`coachstats.data.levels.normalize_levels`: ``F``, ``Female`` and
        ``woman`` are ``female``); labels matching no level are kept as given
        and named in the notes.
    n_arms : {1, 2}
        2 for a trial; 1 for a single-arm program (all patients coached).
    require_baseline : bool
        A patient with a follow-up value but no baseline value of the same
        measure is an error (True), or is loaded and left out of that
        measure's endpoints that need the baseline, with a note naming the
        patients (False).
    censored : {"error", "limit", "missing"}
        Lab strings with a bound (``"<7.0"``, ``">14"``): report them
        (default), use the bound, or make them missing; the last two add a
        ``<column>_censored`` flag column (``"<"``, ``">"`` or empty).
    lines : sequence of int, optional
        The file line of each row (read from a file): a row without a patient id is
        named by it (:func:`row_names`), else by its position.

    Returns
    -------
    (DataFrame, list of str)
        The normalized copy, and notes about what was done (conversions).

    Raises
    ------
    SchemaError
        With ``.failures`` listing every problem (column, rows, values, problem).
    UnitError
        When the only problems are unit mix-ups (a SchemaError subclass).
    """
    check_option("n_arms", n_arms, (1, 2))
    check_option("censored", censored, ("error", "limit", "missing"))
    failures: list[dict[str, Any]] = []
    notes: list[str] = []
    df = raw.copy(deep=False)  # copy-on-write: a column is copied only when replaced
    units = {k: normalize_unit(v) for k, v in (units or {}).items()}

    for k, u in units.items():
        if k not in UNIT_CHOICES:
            failures.append(
                {
                    "column": k,
                    "rows": [],
                    "values": [u],
                    "problem": f"units= names unknown measure {k!r}; allowed: {', '.join(UNIT_CHOICES)}",
                }
            )
        elif u not in UNIT_CHOICES[k]:
            failures.append(
                {
                    "column": k,
                    "rows": [],
                    "values": [u],
                    "problem": f"unknown unit {u!r} for {k}; allowed: {', '.join(UNIT_CHOICES[k])}",
                }
            )

    for spec in PATIENT_SCHEMA:
        if spec.required and spec.name not in df.columns:
            failures.append(
                {
                    "column": spec.name,
                    "rows": [],
                    "values": [],
                    "problem": f"required column missing ({spec.description}); "
                    f"columns found: {list_some(map(str, df.columns), 30)}",
                }
            )
    dup_cols = df.columns[df.columns.duplicated()].tolist()
    if dup_cols:
        failures.append(
            {
                "column": ", ".join(map(str, dup_cols)),
                "rows": [],
                "values": [],
                "problem": "duplicate column names (after mapping); each column must be unique",
            }
        )
        df = df.loc[:, ~df.columns.duplicated()]

    if "patient_id" in df:
        pid = df["patient_id"]
        missing_id = pid.isna().to_numpy()
        if missing_id.any():
            named, rows = row_names(
                lines if lines is not None and len(lines) == len(pid) else None, missing_id
            )
            failures.append(
                {
                    "column": "patient_id",
                    "rows": rows,
                    "values": [],
                    "problem": f"{MISSING_ID} ({named} shown)",
                }
            )
        dup = pid.duplicated(keep=False).to_numpy() & ~missing_id
        if dup.any():
            failures.append(
                {
                    "column": "patient_id",
                    "rows": pd.unique(pid[dup]).tolist(),
                    "values": [],
                    "problem": "duplicate patient ids; each randomized patient must appear once",
                }
            )
    failures += _space_variants(df)

    if "arm" in df:
        mapped, bad = normalize_arm_labels(df["arm"], arms)
        if bad:
            mask = df["arm"].isin(bad).to_numpy()
            failures.append(
                failure_from_mask(
                    "arm",
                    "unknown arm label(s); allowed: coaching, usual_care (map yours with "
                    "arms={'your label': 'coaching', ...}; on the command line --arms "
                    + _shell_word(",".join(f"{label}=ARM" for label in map(str, bad[:10])))
                    + " with each ARM coaching or usual_care, or the mapping file's arms: "
                    "section)",
                    mask,
                    _row_ids(df, lines),
                    df["arm"],
                )
            )
        miss = df["arm"].isna().to_numpy()
        if miss.any():
            failures.append(
                failure_from_mask(
                    "arm",
                    "arm is missing; every patient needs an arm",
                    miss,
                    _row_ids(df, lines),
                )
            )
        found = sorted(pd.unique(mapped.dropna()).tolist())
        if not bad and not miss.any() and len(found) != n_arms:
            raw_found = sorted(map(str, pd.unique(df["arm"].dropna())))
            failures.append(
                {
                    "column": "arm",
                    "rows": [],
                    "values": raw_found,
                    "problem": f"expected exactly {n_arms} arm(s), found {len(found)}: {raw_found}",
                }
            )
        df["arm"] = mapped

    split = split_blood_pressure(df, _row_ids(df, lines))
    df = split.frame
    failures += split.failures
    notes += split.notes
    notes += unmapped_readings(df, lambda c: column_spec(c) is not None)
    for col in levels or {}:
        if col not in CATEGORY_LEVELS:
            failures.append(
                {
                    "column": col,
                    "rows": [],
                    "values": [],
                    "problem": f"levels= names {col!r}, which has no level mapping; allowed: "
                    f"{', '.join(CATEGORY_LEVELS)}",
                }
            )
    for col in CATEGORY_LEVELS:
        if col not in df.columns:
            continue
        try:
            df[col], unmatched = normalize_levels(df[col], col, (levels or {}).get(col))
        except SchemaError as exc:
            failures += [{str(k): v for k, v in f.items()} for f in exc.failures.to_dict("records")]
            continue
        if unmatched:
            shown = ", ".join(repr(u) for u in unmatched[:8]) + (
                " ..." if len(unmatched) > 8 else ""
            )
            note = (
                f"{col}: level(s) {shown} not recognised (levels: "
                f"{', '.join(canonical_levels(col))}); kept as given, and not counted in any "
                f"published share; {levels_advice(col, unmatched)}"
            )
            notes.append(note)
            # suspicious but valid: a notebook shows a warning, not a TrialData's notes
            warnings.warn(note, NotedWarning, stacklevel=2)

    for col in list(df.columns):
        col_spec = column_spec(str(col))
        if col_spec is None or col_spec.dtype in ("id", "arm", "category"):
            continue
        spec = col_spec
        if spec.dtype == "bool":
            parsed, bad_mask = parse_bool(df[col])
            if bad_mask.any():
                failures.append(
                    failure_from_mask(
                        col,
                        f"not a boolean; allowed: {spec.allowed}",
                        bad_mask,
                        _row_ids(df, lines),
                        df[col],
                    )
                )
            df[col] = parsed
            continue
        parsed_num = parse_numeric(df[col], censored=censored)
        for kind, bad_mask in parsed_num.problems.items():
            failures.append(
                failure_from_mask(
                    col,
                    f"{PROBLEM_TEXT[kind]}; allowed: numbers ({spec.allowed})",
                    bad_mask,
                    _row_ids(df, lines),
                    df[col].astype(str),
                )
            )
        notes.extend(f"{col}: {note}" for note in parsed_num.notes)
        if (parsed_num.censored != "").any() and censored != "error":
            df[f"{col}_censored"] = pd.array(parsed_num.censored, dtype="string")
        values = parsed_num.values
        given = values  # as in the file, for messages (values is converted below)
        unit_problem = False
        if (
            spec.name in units
            and spec.name in UNIT_CHOICES
            and units[spec.name] in UNIT_CHOICES[spec.name]
        ):
            if units[spec.name] != CANONICAL_UNITS[spec.name]:
                values = to_reported_precision(
                    spec.name, convert_to_canonical(spec.name, values, units[spec.name])
                )
                decimals = REPORTED_DECIMALS.get(spec.name)
                notes.append(
                    f"{col}: converted from {units[spec.name]} to {CANONICAL_UNITS[spec.name]}"
                    + (
                        ""
                        if decimals is None
                        else f" and rounded to {10.0**-decimals:g} {CANONICAL_UNITS[spec.name]}, "
                        "as labs report it"
                    )
                )
        elif len(UNIT_CHOICES.get(spec.name, ())) > 1:  # a measure with another unit to mistake
            guess, other_mask = looks_like(spec.name, values)  # type: ignore[arg-type]
            if guess is not None:
                unit_problem = True
                failures.append(
                    {
                        "column": col,
                        "rows": [],
                        # to 4 significant digits: the midpoint of two values has binary noise
                        "values": [float(f"{np.nanmedian(values):.4g}")],
                        "problem": f"values look like {guess} (median shown), not "
                        f"{CANONICAL_UNITS[spec.name]}; pass units={{'{spec.name}': '{guess}'}} "
                        f"to convert (on the command line: --units {spec.name}={guess})",
                        "_unit": True,
                    }
                )
            elif other_mask.sum() >= 2:  # one stray value is reported by the range check
                unit_problem = True
                other = next(u for u in UNIT_CHOICES[spec.name] if u != CANONICAL_UNITS[spec.name])
                failures.append(
                    failure_from_mask(
                        col,
                        f"units mixed within the column: these values look like {other} "
                        f"while the rest are {CANONICAL_UNITS[spec.name]}; "
                        "convert them in the source file",
                        other_mask,
                        _row_ids(df, lines),
                        pd.Series(values),
                    )
                    | {"_unit": True}
                )
        if not unit_problem:
            lo, hi = spec.bounds
            # infinite values are reported once, as such, by the parser
            out = np.isfinite(values) & ((values < lo) | (values > hi))
            if out.any():
                allowed = spec.allowed
                if given is not values:  # converted: say it in the unit of the file too
                    unit = units[spec.name]
                    lo_u, hi_u = _in_unit(spec.name, unit, lo), _in_unit(spec.name, unit, hi)
                    allowed += f" ({lo_u:g} to {hi_u:g} {unit}, the unit of the file)"
                if col in split.origin:
                    part = "first (systolic)" if spec.name == "sbp" else "second (diastolic)"
                    allowed += f"; the {part} numbers of the {split.origin[col]} readings"
                failures.append(
                    failure_from_mask(
                        col,
                        f"impossible value(s); allowed: {allowed}",
                        out,
                        _row_ids(df, lines),
                        pd.Series(given),  # as the user typed them
                    )
                )
        df[col] = values
    failures += systolic_not_above_diastolic(df, _row_ids(df, lines))

    by_measure: dict[str, list[int]] = {}
    for col in df.columns:
        m = _MONTH_COL.match(str(col))
        if m and column_spec(str(col)) is not None and m.group(1) in CANONICAL_UNITS:
            by_measure.setdefault(m.group(1), []).append(int(m.group(2)))
    for meas, months in by_measure.items():
        base = f"{meas}_0"
        later = [mo for mo in months if mo > 0]
        if not later:
            continue
        if base not in df or df[base].isna().all():
            # a state of the measure, not a problem of any patient: its endpoints say it
            notes.append(
                f"{meas}: follow-up column(s) {', '.join(f'{meas}_{mo}' for mo in later)} "
                f"but no baseline values ({base}): its endpoints cannot be analysed "
                "(no baseline)"
            )
            continue
        has_fu = np.zeros(len(df), dtype=bool)
        for mo in later:
            has_fu |= df[f"{meas}_{mo}"].notna().to_numpy()
        bad_b = has_fu & df[base].isna().to_numpy()
        if not bad_b.any():
            continue
        if require_baseline:
            failures.append(
                failure_from_mask(
                    base,
                    "baseline missing for patients with a follow-up value; they cannot be "
                    "analysed on this measure (fill the baseline, or leave out "
                    "--require-baseline / pass require_baseline=False to exclude them per "
                    "endpoint)",
                    bad_b,
                    _row_ids(df, lines),
                )
            )
        else:
            ids = list_some(
                map(str, pd.unique(np.asarray(_row_ids(df, lines), dtype=object)[bad_b]))
            )
            notes.append(
                f"{meas}: {int(bad_b.sum())} patient(s) with a follow-up value but no baseline "
                f"({ids}): not analysed on the {meas} endpoints that need the baseline "
                "('missing baseline' in the flow); --require-baseline (require_baseline=True) "
                "makes this an error"
            )

    if not failures:  # allowed, but rare enough to check against the chart
        for note in suspicious_notes(df, _row_ids(df, lines), column_spec):
            notes.append(note)
            warnings.warn(note, NotedWarning, stacklevel=2)
    if failures:
        only_units = all(f.get("_unit") for f in failures)
        clean = [{k: v for k, v in f.items() if k != "_unit"} for f in failures]
        cls = UnitError if only_units else SchemaError
        raise cls(clean)
    return df, notes

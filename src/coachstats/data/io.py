"""Read patient-level trial data from files or DataFrames: :func:`load_trial`.

Formats (by file suffix, or ``format=``): CSV/TSV, Parquet, Excel (.xlsx),
Stata (.dta), SAS (.sas7bdat, .xpt) and SPSS (.sav). Wide data (one row per
patient) and long data (one row per patient x month x measure, with columns
``measure``, ``month`` and ``value``) are both accepted; long data is pivoted
to ``<measure>_<month>`` columns.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"ID": [1, 2], "Group": ["HC", "UC"],
...                     "A1c base": [75.0, 80.0], "A1c 12m": [58.0, 79.0]})
>>> td = load_trial(raw, columns={"ID": "patient_id", "Group": "arm",
...                               "A1c base": "hba1c_0", "A1c 12m": "hba1c_12"},
...                 units={"hba1c": "mmol/mol"})
>>> td.patients["hba1c_0"].tolist()  # 0.09148 * x + 2.152, to 0.1 % as labs report it
[9.0, 9.5]
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from coachstats.core.errors import (
    CoachstatsError,
    FileFormatError,
    SchemaError,
    check_option,
    list_some,
    shorten,
)
from coachstats.core.paths import require_file
from coachstats.data.bloodpressure import split_source_names
from coachstats.data.excel import read_workbook
from coachstats.data.flow import Flow
from coachstats.data.longdata import LONG_COLUMNS, is_long, pivot_long
from coachstats.data.outputs import hash_ids
from coachstats.data.parsing import CensoredRule, type_columns
from coachstats.data.readers import read_delimited
from coachstats.data.schema import PATIENT_SCHEMA, column_spec, validate_patients
from coachstats.data.trialdata import Intake, TrialData
from coachstats.derive.endpoints import measure_months

__all__ = [
    "FORMATS",
    "file_sha256",
    "load_trial",
    "read_parquet_frame",
    "read_table",
    "schema_columns",
]

Format = Literal["csv", "tsv", "parquet", "excel", "stata", "sas", "xport", "spss"]
FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".dta": "stata",
    ".sas7bdat": "sas",
    ".xpt": "xport",
    ".sav": "spss",
    ".zsav": "spss",
}


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks: what a report records as provenance.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d) / "x.csv"
    ...     _ = f.write_bytes(b"abc")
    ...     file_sha256(f)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: Schema columns kept as exact text (identifiers, arm, site and other codes), never numbers.
TEXT_COLUMNS = tuple(c.name for c in PATIENT_SCHEMA if c.dtype in ("id", "arm", "category"))


def read_table(
    path: str | Path,
    *,
    format: Format | None = None,
    sheet: str | int | None = None,
    expected: Iterable[str] = (),
    notes: list[str] | None = None,
    text: Iterable[str] = TEXT_COLUMNS,
    keep: Callable[[str], bool] | None = None,
) -> pd.DataFrame:
    """Read one table from a file; the format comes from the suffix unless given.

    Stata, SAS and SPSS value labels are applied (a labelled ``arm`` of 1/2
    reads as its labels). Delimited text goes through
    :func:`coachstats.data.readers.read_delimited` (encoding, delimiter, header
    row and record reconciliation), workbooks through
    :func:`coachstats.data.excel.read_workbook` (hidden sheets, formulas
    without results, error cells); ``expected`` names help find the header
    and what was detected is appended to ``notes``. The columns named in
    ``text`` (default: :data:`TEXT_COLUMNS`) keep their exact text; other
    all-numeric columns become numeric (:func:`coachstats.data.parsing.type_columns`).
    ``frame.attrs["records"]`` is the number of records (rows) in the file.

    ``keep`` (a test of a column's name) reads only the columns it accepts,
    from a Parquet file, whose columns are stored apart (other formats are
    read whole): :func:`schema_columns` gives the loader's. A record empty in
    every column read is only blank if it is empty in the others too, so such
    a file is read again whole; the columns left out are counted in ``notes``.

    Raises
    ------
    FileFormatError
        The file is missing, its format is unknown, or it cannot be parsed.
    """
    p = require_file(path)
    fmt = format or FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise FileFormatError(
            f"unknown file type {shorten(p.suffix)!r} for {shorten(p.name)}; supported: "
            f"{', '.join(sorted(FORMATS))} (or pass format=)"
        )
    check_option("format", fmt, sorted(set(FORMATS.values())))
    try:
        frame = _read(p, fmt, sheet, expected, notes, keep)
    except CoachstatsError:
        raise
    except Exception as exc:  # every parsing library raises its own types for a damaged file
        raise FileFormatError(
            f"cannot read {shorten(p.name)} as {fmt}: {type(exc).__name__}: {shorten(exc, 300)}"
        ) from None
    records = frame.attrs.get("records", len(frame))
    typed = type_columns(frame, text)
    typed.attrs["records"] = records
    return typed


def _read(
    p: Path,
    fmt: str,
    sheet: str | int | None,
    expected: Iterable[str],
    notes: list[str] | None,
    keep: Callable[[str], bool] | None = None,
) -> pd.DataFrame:
    """The raw table of one file, by format (only the columns ``keep`` accepts, for Parquet)."""
    if fmt in ("csv", "tsv"):
        frame, text_notes = read_delimited(p, expected=expected, sep="\t" if fmt == "tsv" else None)
        if notes is not None:
            notes.extend(text_notes)
        return frame
    if fmt == "excel":
        return read_workbook(p, sheet=sheet, expected=expected, notes=notes)
    if fmt == "parquet":
        return _read_parquet_kept(p, keep, notes)
    import pyreadstat

    if fmt == "stata":
        frame, _ = pyreadstat.read_dta(str(p), apply_value_formats=True)
    elif fmt == "spss":
        frame, _ = pyreadstat.read_sav(str(p), apply_value_formats=True)
    elif fmt == "sas":
        frame, _ = pyreadstat.read_sas7bdat(str(p))
    else:
        frame, _ = pyreadstat.read_xport(str(p))
    return frame


#: Parquet columns are converted to pandas in about this many groups (see :func:`read_parquet_frame`).
PARQUET_GROUPS = 50


def read_parquet_frame(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame, converted a group of columns at a time.

    The same frame as :func:`pandas.read_parquet` (dtypes from the file's
    pandas metadata), but only one group of columns (about 1/50 of them, at
    least 8) is held twice, as Arrow data and as pandas columns, at any time:
    a million rows of 95 columns peak at about 1.1 GB instead of 1.7.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d) / "x.parquet"
    ...     pd.DataFrame({"a": [1, 2], "b": ["x", None]}).to_parquet(f)
    ...     read_parquet_frame(f).equals(pd.read_parquet(f))
    True
    """
    import pyarrow.parquet as pq

    names = list(columns) if columns is not None else pq.ParquetFile(path).schema_arrow.names
    index = set(_pandas_index_columns(path))
    names = [c for c in names if c not in index]
    size = max(8, -(-len(names) // PARQUET_GROUPS))
    if len(names) <= size:
        return pd.read_parquet(path, columns=names if columns is not None else None)
    parts = [pd.read_parquet(path, columns=names[i : i + size]) for i in range(0, len(names), size)]
    # every group carries the same index: side by side as they are, never aligned on it
    return pd.concat([parts[0], *(p.set_axis(parts[0].index) for p in parts[1:])], axis=1)


def _read_parquet_kept(
    path: Path, keep: Callable[[str], bool] | None, notes: list[str] | None
) -> pd.DataFrame:
    """A Parquet file's columns that ``keep`` accepts (all without it; see :func:`read_table`)."""
    import pyarrow.parquet as pq

    if keep is None:
        return read_parquet_frame(path)
    index = set(_pandas_index_columns(path))
    names = [c for c in pq.ParquetFile(path).schema_arrow.names if c not in index]
    kept = [c for c in names if keep(c)]
    if not kept or len(kept) == len(names):
        return read_parquet_frame(path)
    frame = read_parquet_frame(path, kept)
    if frame.isna().all(axis=1).any():  # blank in the columns read: is the record blank?
        return read_parquet_frame(path)
    if notes is not None:
        notes.append(
            f"{len(names) - len(kept)} of {len(names)} column(s) not read: "
            "this command does not use them (questionnaire items, other fields)"
        )
    return frame


def schema_columns(columns: Mapping[str, str] | None = None) -> Callable[[str], bool]:
    """A test of a file's column names: those the loader can use for the patient table.

    Schema columns (by name, case and surrounding spaces ignored), measurement
    columns ``<measure>_<month>``, the columns of long data, and the keys of
    ``columns`` (your names mapped to the schema's). For :func:`read_table`'s
    ``keep``: a command that analyses only these reads no other column.

    Examples
    --------
    >>> keep = schema_columns({"Group": "arm"})
    >>> [c for c in ["Group", "HbA1c_12", "trust_q1_0", " age", "month"] if keep(c)]
    ['Group', 'HbA1c_12', ' age', 'month']
    """
    mapped = {str(k) for k in (columns or {})}

    def keep(name: str) -> bool:
        text = str(name).strip()
        low = text.lower()
        return (
            text in mapped
            or column_spec(text) is not None
            or column_spec(low) is not None
            or low in LONG_COLUMNS
        )

    return keep


def _pandas_index_columns(path: str | Path) -> list[str]:
    """The columns a Parquet file's pandas metadata stores as the index (read with every group)."""
    import json

    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"pandas")
    if raw is None:
        return []
    return [c for c in json.loads(raw).get("index_columns", []) if isinstance(c, str)]


def _apply_mapping(
    df: pd.DataFrame, columns: Mapping[str, str] | None
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    failures: list[dict[str, Any]] = []
    df = df.rename(columns=lambda c: str(c).strip())
    _refuse_same_names(df.columns, "once surrounding spaces are removed")
    if columns:
        known = {c.name for c in PATIENT_SCHEMA}
        for src, dst in columns.items():
            if src not in df.columns:
                close = (
                    difflib.get_close_matches(str(src), list(map(str, df.columns)), n=3)
                    if df.shape[1] <= _SUGGEST_MAX_COLUMNS
                    else []
                )
                failures.append(
                    {
                        "column": src,
                        "rows": [],
                        "values": [],
                        "problem": "mapped column not in the file"
                        + (
                            f"; did you mean {list_some(close)}?"
                            if close
                            else f"; columns found: {list_some(map(str, df.columns), 30)}"
                        ),
                    }
                )
            elif column_spec(str(dst)) is None and dst not in known and not _is_extra_ok(str(dst)):
                failures.append(
                    {
                        "column": src,
                        "rows": [],
                        "values": [dst],
                        "problem": "maps to an unknown schema column; see docs/schema.md "
                        f"(e.g. {', '.join(sorted(known)[:8])}, hba1c_0, hba1c_12...)",
                    }
                )
        if failures:
            raise SchemaError(failures, title="column mapping problem(s)")
        df = df.rename(columns=dict(columns))
        _refuse_same_names(df.columns, "after the column mapping")
        notes.append("renamed columns: " + ", ".join(f"{k} -> {v}" for k, v in columns.items()))
    lower = {
        c: str(c).lower()
        for c in df.columns
        if str(c) != str(c).lower()
        and (column_spec(str(c).lower()) is not None or str(c).lower() in LONG_COLUMNS)
    }
    if lower:
        df = df.rename(columns=lower)
        _refuse_same_names(df.columns, "once case is ignored")
    return df, notes


#: Columns above which a mapping error suggests no close names (the search is quadratic).
_SUGGEST_MAX_COLUMNS = 5000


def _refuse_same_names(columns: pd.Index, when: str) -> None:
    """A :class:`SchemaError` naming the columns that share a name ``when`` (e.g. once case is ignored)."""
    dup = columns[columns.duplicated()].unique()
    if len(dup):
        raise SchemaError(
            [
                {
                    "column": str(d),
                    "rows": [],
                    "values": [],
                    "problem": f"two or more columns have this name {when}; "
                    "rename or drop all but one of them",
                }
                for d in dup
            ],
            title="duplicate column names",
        )


def _is_extra_ok(name: str) -> bool:
    """Questionnaire items and other covariates pass through unchecked."""
    return name.replace("_", "").isalnum()


def load_trial(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    arms: Mapping[Any, str] | None = None,
    units: Mapping[str, str] | None = None,
    levels: Mapping[str, Mapping[Any, str]] | None = None,
    medications: str | Path | pd.DataFrame | None = None,
    adherent_days: str | Path | pd.DataFrame | None = None,
    format: Format | None = None,
    sheet: str | int | None = None,
    n_arms: Literal[1, 2] = 2,
    require_baseline: bool = False,
    followup: int | None = None,
    censored: CensoredRule = "error",
    hash_ids: bool = False,
) -> TrialData:
    """Load, map, convert and validate patient-level trial data.

    Parameters
    ----------
    source : path or DataFrame
        The patient table (wide or long).
    columns : mapping, optional
        Your column names -> schema names, e.g. ``{"group": "arm", "a1c_base": "hba1c_0"}``.
        Column names that differ from the schema only by case or surrounding
        spaces are matched without a mapping.
    arms : mapping, optional
        Your arm labels -> ``"coaching"`` / ``"usual_care"``.
    units : mapping, optional
        Measure -> input unit, e.g. ``{"hba1c": "mmol/mol", "ldl": "mmol/L"}``.
    levels : mapping, optional
        Categorical column -> {your label: level}, e.g. ``{"sex": {"1": "male", "2": "female"}}``
        (:mod:`coachstats.data.levels`; common spellings need no mapping).
    medications, adherent_days : path or DataFrame, optional
        Side tables for the adherence endpoints (validated by :mod:`coachstats.derive.adherence`).
    format : str, optional
        Override the format guessed from the suffix.
    sheet : str or int, optional
        Excel sheet.
    n_arms : {1, 2}
        2 for a randomized trial, 1 for a single-arm program.
    require_baseline : bool
        A patient with a follow-up value but no baseline of the same measure:
        loaded and left out of the endpoints that need the baseline, with a note
        naming the patients (False, the default: it happens in real data, e.g.
        a lab not drawn at enrolment), or an error (True, for data where every
        enrolled patient must have a baseline). See
        :func:`coachstats.data.schema.validate_patients`.
    followup : int, optional
        Follow-up month when the data has several.
    censored : {"error", "limit", "missing"}
        How to treat lab strings such as ``"<7.0"`` (see :mod:`coachstats.data.parsing`).
    hash_ids : bool
        Show patient ids in error messages as salted hashes
        (``coachstats.data.outputs.hash_ids(ids, salt=ID_SALT)``), for logs that must
        not carry identifiers; compute the same hashes on your side to find the rows.

    Returns
    -------
    TrialData

    Raises
    ------
    SchemaError
        One error listing every problem in the data (``.failures`` is a DataFrame).
    FileFormatError
        The file cannot be read.

    Notes
    -----
    Rows in which every cell is empty are not patients; they are skipped and
    the count is recorded in ``TrialData.notes`` and the flow. No other row is
    ever dropped: invalid rows raise, valid ones are all kept.
    """
    sha = None
    read_notes: list[str] = []
    if isinstance(source, pd.DataFrame):
        raw = source.copy(deep=False)  # copy-on-write: columns are shared until changed
        label = "<DataFrame>"
    else:
        expected = [c.name for c in PATIENT_SCHEMA] + list(columns or {})
        text = [*TEXT_COLUMNS, *(k for k, v in (columns or {}).items() if v in TEXT_COLUMNS)]
        raw = read_table(
            source, format=format, sheet=sheet, expected=expected, notes=read_notes, text=text
        )
        label = str(source)
        sha = file_sha256(source)
    records = len(raw)  # a CSV's lines were reconciled with its records by the reader
    lines = raw.attrs.get("lines")
    if lines is None or len(lines) != records:  # a DataFrame's rows have no file lines
        lines = None
    df, notes = _apply_mapping(raw, columns)
    notes = read_notes + notes
    blank = df.isna().all(axis=1).to_numpy() if df.shape[1] else np.ones(len(df), dtype=bool)
    if blank.any():
        notes.append(f"{int(blank.sum())} blank row(s) skipped")
        df = df.loc[~blank].reset_index(drop=True)
        lines = None if lines is None else [x for x, b in zip(lines, blank, strict=True) if not b]
    if len(df) == 0:
        raise SchemaError(
            [
                {
                    "column": "",
                    "rows": [],
                    "values": [],
                    "problem": "the data has no rows (no patients)",
                }
            ],
            title="empty input",
        )
    long = is_long(df.columns)
    rows = len(df)
    if long:
        df = pivot_long(df, lines)
        notes.append(f"long data: {rows} row(s) pivoted to one row per patient ({len(df)})")
    try:
        clean, vnotes = validate_patients(
            df,
            arms=arms,
            units=units,
            levels=levels,
            n_arms=n_arms,
            require_baseline=require_baseline,
            censored=censored,
            lines=None if long else lines,
        )
    except SchemaError as exc:
        if columns:
            exc = exc.with_source_names(
                split_source_names({str(v): str(k) for k, v in columns.items()})
            )
        raise (_with_hashed_rows(exc) if hash_ids else exc) from None
    notes += vnotes
    months = measure_months(clean.columns)
    later = sorted({m for ms in months.values() for m in ms if m > 0})
    fu = followup if followup is not None else (later[0] if later else None)
    meds = _load_side(medications, "medications")
    days = _load_side(adherent_days, "adherent_days")
    flow = Flow.from_patients(clean, followup=fu, notes=tuple(notes))
    intake = Intake(records=records, blank=int(blank.sum()), patients=len(clean), long=long)
    intake.check(flow)
    return TrialData(
        patients=clean,
        flow=flow,
        medications=meds,
        adherent_days=days,
        followup=fu,
        source=label,
        sha256=sha,
        notes=tuple(notes),
        load_options={
            "columns": dict(columns) if columns else None,
            "arms": dict(arms) if arms else None,
            "units": dict(units) if units else None,
            "levels": {k: dict(v) for k, v in levels.items()} if levels else None,
            "medications": _describe_side(medications),
            "adherent_days": _describe_side(adherent_days),
            "format": format,
            "sheet": sheet,
            "n_arms": n_arms,
            "require_baseline": require_baseline,
            "followup": followup,
            "censored": censored,
        },
        intake=intake,
    )


def _describe_side(table: str | Path | pd.DataFrame | None) -> str | None:
    """A side table as a loader option: its path, ``"<DataFrame>"`` or None."""
    if table is None:
        return None
    return "<DataFrame>" if isinstance(table, pd.DataFrame) else str(table)


#: Salt of the hashed patient ids in error messages (``load_trial(hash_ids=True)``).
ID_SALT = "coachstats"


def _with_hashed_rows(exc: SchemaError) -> SchemaError:
    """The same error with every patient id replaced by its salted hash."""
    failures = exc.failures.copy()
    failures["rows"] = [hash_ids(list(rows), salt=ID_SALT) for rows in failures["rows"]]
    return type(exc)(
        failures, title=exc.title + " (patient ids hashed)", source_names=exc.source_names
    )


def _load_side(src: str | Path | pd.DataFrame | None, kind: str) -> pd.DataFrame | None:
    if src is None:
        return None
    frame = src.copy() if isinstance(src, pd.DataFrame) else read_table(src)
    try:
        from coachstats.derive import adherence
    except ImportError:  # pragma: no cover - adherence ships with the package
        return frame
    validator = getattr(adherence, "validate_medications", None)
    if kind == "medications" and validator is not None:
        return pd.DataFrame(validator(frame))
    validator = getattr(adherence, "validate_adherent_days", None)
    if kind == "adherent_days" and validator is not None:
        return pd.DataFrame(validator(frame))
    return frame

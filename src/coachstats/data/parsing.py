"""Parsing cell values of messy exports into numbers and booleans.

Each parser returns the parsed values plus masks of the cells it could not
parse, by kind, so the schema can report every problem with its rows.

Numbers
    Plain numbers; text with a decimal comma (``"9,5"``, common in files
    exported with a semicolon delimiter) when the whole column uses decimal
    commas (noted); lab strings with a bound (``"<7.0"``, ``">14"``), handled
    by the ``censored`` option: ``"error"`` (default) reports them,
    ``"limit"`` uses the bound as the value and ``"missing"`` makes them
    missing, both recording a flag; dates (``"2023-04-05"``, Excel date
    cells) are reported as dates, never converted.
Booleans
    true/false, yes/no, y/n, t/f, 1/0 in any case.

Examples
--------
>>> import pandas as pd
>>> p = parse_numeric(pd.Series(["9,5", "10,25", None]))
>>> p.values.tolist(), p.notes
([9.5, 10.25, nan], ('decimal commas converted',))
>>> p = parse_numeric(pd.Series(["<7.0", "8.1", "2023-01-05", "high"]), censored="limit")
>>> p.values.tolist()[:2], p.censored.tolist(), sorted(p.problems)
([7.0, 8.1], ['<', '', '', ''], ['date', 'text'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import check_option

__all__ = [
    "CENSORED_RULES",
    "EXCEL_ERRORS",
    "ParsedColumn",
    "as_text",
    "is_text_dtype",
    "parse_bool",
    "parse_numeric",
    "type_columns",
]

CensoredRule = Literal["error", "limit", "missing"]
CENSORED_RULES: tuple[CensoredRule, ...] = ("error", "limit", "missing")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_CENSORED = re.compile(r"^([<>]=?)\s*([+-]?\d+(?:[.,]\d+)?)$")
_DATE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}/\d{1,2}/\d{2,4}|"
    r"\d{1,2}-[A-Za-z]{3}-\d{2,4})$"
)

#: The error values a spreadsheet cell can hold (reported where a number is expected).
EXCEL_ERRORS = (
    "#DIV/0!",
    "#N/A",
    "#NAME?",
    "#NULL!",
    "#NUM!",
    "#REF!",
    "#VALUE!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
)

PROBLEM_TEXT = {
    "spreadsheet": "a spreadsheet error value (such as #DIV/0! or #N/A) where a number is "
    "expected; correct the formula or the cell in the workbook",
    "infinite": "an infinite value where a number is expected",
    "text": "non-numeric text in a numeric column",
    "date": "a date where a number is expected (was the column formatted as a date in Excel?)",
    "censored": "lab value with a bound such as '<7.0' or '>14'; pass censored='limit' to use the "
    "bound (flagged) or censored='missing' to treat it as missing",
}


@dataclass(frozen=True)
class ParsedColumn:
    """Parsed float values, problem masks by kind, censoring flags and notes."""

    values: npt.NDArray[np.float64]
    problems: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    censored: npt.NDArray[np.str_] = field(default_factory=lambda: np.array([], dtype=str))
    notes: tuple[str, ...] = ()


def parse_numeric(s: pd.Series, *, censored: CensoredRule = "error") -> ParsedColumn:
    """Parse a column into floats; see the module docstring for the rules."""
    check_option("censored", censored, CENSORED_RULES)
    n = len(s)
    flags = np.full(n, "", dtype="<U2")
    if pd.api.types.is_datetime64_any_dtype(s):
        mask = s.notna().to_numpy()
        return ParsedColumn(np.full(n, np.nan), {"date": mask} if mask.any() else {}, flags)
    if pd.api.types.is_bool_dtype(s):
        return ParsedColumn(s.to_numpy(dtype=np.float64), {}, flags)
    if pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.isinf(values)
        return ParsedColumn(values, {"infinite": inf} if inf.any() else {}, flags)
    obj = s.astype(object)
    is_dt = obj.map(lambda x: hasattr(x, "year") and hasattr(x, "month")).to_numpy(dtype=bool)
    txt = s.astype("string").str.strip()
    blank = (txt.isna() | (txt == "")).to_numpy(dtype=bool)
    values = pd.to_numeric(txt.where(~is_dt), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    infinite = np.isinf(values)
    values[infinite] = np.nan
    unparsed = np.isnan(values) & ~blank & ~is_dt & ~infinite
    notes: list[str] = []
    if unparsed.any():
        comma = txt.str.fullmatch(_DECIMAL_COMMA.pattern).fillna(False).to_numpy(dtype=bool)
        dots = txt.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
        if comma[unparsed].any() and not (dots & ~blank).any():
            values[comma] = pd.to_numeric(txt[comma].str.replace(",", ".", regex=False)).to_numpy(
                dtype=float
            )
            notes.append("decimal commas converted")
            unparsed &= ~comma
    problems: dict[str, npt.NDArray[np.bool_]] = {}
    if unparsed.any():
        parts = txt.str.extract(_CENSORED.pattern)
        cens = (parts[0].notna().to_numpy(dtype=bool)) & unparsed
        dates = txt.str.fullmatch(_DATE.pattern).fillna(False).to_numpy(dtype=bool) & unparsed
        if cens.any():
            flags[cens] = parts[0][cens].str[0].to_numpy(dtype=str)
            if censored == "error":
                problems["censored"] = cens
            else:
                bound = pd.to_numeric(parts[1][cens].str.replace(",", ".", regex=False)).to_numpy(
                    dtype=float
                )
                values[cens] = bound if censored == "limit" else np.nan
                notes.append(f"{int(cens.sum())} censored lab value(s) ({censored}), flagged")
        if dates.any():
            problems["date"] = dates
        errors = txt.isin(list(EXCEL_ERRORS)).fillna(False).to_numpy(dtype=bool) & unparsed
        if errors.any():
            problems["spreadsheet"] = errors
        text = unparsed & ~cens & ~dates & ~errors
        if text.any():
            problems["text"] = text
    if is_dt.any():
        problems["date"] = problems.get("date", np.zeros(n, dtype=bool)) | is_dt
    if infinite.any():
        problems["infinite"] = infinite
    return ParsedColumn(values, problems, flags, tuple(notes))


def parse_bool(s: pd.Series) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """Parse a column into nullable booleans; return it and the mask of unparseable cells.

    Examples
    --------
    >>> out, bad = parse_bool(pd.Series(["Yes", "n", "1", "maybe", None]))
    >>> out.tolist(), bad.tolist()
    ([True, False, True, <NA>, <NA>], [False, False, False, True, False])
    """
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool)
    txt = s.astype("string").str.strip().str.lower()
    is_t = txt.isin(list(_TRUE)).fillna(False).to_numpy(dtype=bool)
    is_f = txt.isin(list(_FALSE)).fillna(False).to_numpy(dtype=bool)
    na = s.isna().to_numpy() | (txt == "").fillna(True).to_numpy(dtype=bool)
    bad = ~(is_t | is_f | na)
    out = pd.arrays.BooleanArray(is_t, ~(is_t | is_f))
    return pd.Series(out, index=s.index, name=s.name), bad


def as_text(values: pd.Series) -> pd.Series:
    """A column as text, exactly: text cells unchanged, numbers in their shortest form.

    Identifiers and codes are compared as text, so ``"007"`` and ``"7"`` stay two
    values; a number cell (from Excel or Stata) becomes the text it shows
    (``7.0`` -> ``"7"``), never the other way round.

    Examples
    --------
    >>> as_text(pd.Series(["007", 7, 7.0, 2.5, None], dtype=object)).tolist()
    ['007', '7', '7', '2.5', nan]
    """
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values
    return values.map(_text, na_action="ignore").astype("str")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 2**63 else repr(v)
    return str(value)


_NUMBER_LIKE = frozenset(
    {"string", "integer", "floating", "mixed-integer-float", "decimal", "empty", "mixed-integer"}
)


def _assemble(columns: dict[int, Any], n: int, index: pd.Index) -> pd.DataFrame:
    """A frame of columns ``0..n-1`` built in a few blocks (one per kind), not one per column.

    Object arrays stay object (one block); building from a dict would make
    each its own string array, and a 100,000-column frame slow to index.
    """
    kinds: dict[str, list[int]] = {"int": [], "float": [], "object": [], "other": []}
    for i in range(n):
        col = columns[i]
        if isinstance(col, np.ndarray) and col.dtype == np.int64:
            kinds["int"].append(i)
        elif isinstance(col, np.ndarray) and col.dtype == np.float64:
            kinds["float"].append(i)
        elif isinstance(col, np.ndarray) and col.dtype == object:
            kinds["object"].append(i)
        else:
            kinds["other"].append(i)
    parts = []
    for kind, idx in kinds.items():
        if not idx:
            continue
        if kind == "other":
            part = pd.DataFrame({i: columns[i] for i in idx}, index=index)
        else:
            stacked = np.empty((len(index), len(idx)), dtype=columns[idx[0]].dtype)
            for k, i in enumerate(idx):
                stacked[:, k] = columns[i]
            part = pd.DataFrame(stacked, index=index, columns=idx, dtype=stacked.dtype)
        parts.append(part)
    if not parts:
        return pd.DataFrame(index=index)
    out = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
    return out.loc[:, list(range(n))]


def type_columns(frame: pd.DataFrame, text: Iterable[str] = ()) -> pd.DataFrame:
    """Give a table read from a file its column types, in one pass (linear in the columns).

    Columns named in ``text`` (compared without case or surrounding spaces:
    identifiers, arm, site and other codes) are kept as exact text
    (:func:`as_text`), never converted to numbers. Any other text column
    whose every cell is a number (or missing) becomes numeric (integers when
    every value is whole and none missing); the rest stay as they are, for
    the schema to parse and report cell by cell. The numbers of every column
    are parsed in one call, and the table is built in one step, so a file
    with 100,000 columns costs no more per column than one with ten.

    Examples
    --------
    >>> raw = pd.DataFrame({"patient_id": ["007", "7"], "site": ["01", "1"], "q1": ["3", "4"],
    ...                     "q2": ["2.5", None], "note": ["ok", "3"]})
    >>> typed = type_columns(raw, text=["patient_id", "site"])
    >>> typed["patient_id"].tolist(), typed["site"].tolist(), typed["q1"].tolist()
    (['007', '7'], ['01', '1'], [3, 4])
    >>> typed["q2"].tolist(), typed["note"].tolist()
    ([2.5, nan], ['ok', '3'])
    """
    keep = {str(t).strip().lower() for t in text}
    names = list(frame.columns)
    is_text = [str(n).strip().lower() in keep for n in names]
    dtypes = frame.dtypes.tolist()
    candidates = [
        i
        for i, dt in enumerate(dtypes)
        if not is_text[i] and (dt is np.dtype(object) or pd.api.types.is_string_dtype(dt))
    ]
    parts: dict[int, Any] = {}
    if candidates:
        cells = frame.iloc[:, candidates].to_numpy(dtype=object)
        # only text and numbers can be numbers (Excel dates and times stay what they are)
        plain = np.array(
            [
                pd.api.types.infer_dtype(cells[:, k], skipna=True) in _NUMBER_LIKE
                for k in range(cells.shape[1])
            ],
            dtype=bool,
        )
        missing = pd.isna(cells)
        flat = pd.to_numeric(pd.Series(cells.ravel(order="F")), errors="coerce")
        numbers = flat.to_numpy(dtype=float, na_value=np.nan).reshape(cells.shape, order="F")
        parsed = ~np.isnan(numbers) | missing
        numeric = parsed.all(axis=0) & ~missing.all(axis=0) & plain
        whole = numeric & ~missing.any(axis=0)
        with np.errstate(invalid="ignore"):
            exact = np.isfinite(numbers) & (numbers == np.round(numbers)) & (abs(numbers) < 2.0**53)
            whole &= np.all(exact, axis=0)
        for k, i in enumerate(candidates):
            if whole[k]:
                parts[i] = numbers[:, k].astype(np.int64)
            elif numeric[k]:
                parts[i] = numbers[:, k]
    columns: dict[int, Any] = dict(parts)
    for i in range(len(names)):
        if is_text[i] and not is_text_dtype(dtypes[i]):
            columns[i] = as_text(frame.iloc[:, i]).to_numpy()
    if len(columns) <= _FEW_CHANGES:
        # a typed file (Parquet, Stata...): the few converted columns are written into a
        # shallow copy; every other column is shared, never copied (copy-on-write)
        out = frame.copy(deep=False)
        for i, values in columns.items():
            if values.dtype == object:  # text stays object, as in the blocks below
                values = pd.Series(values, index=frame.index, dtype=object, copy=False)
            out.isetitem(i, values)
        return out
    # the other text columns stay as they are, taken in one step (one copy, not one per column)
    rest = [i for i in candidates if i not in parts]
    if rest:
        block = frame.iloc[:, rest].to_numpy(dtype=object)
        for k, i in enumerate(rest):
            columns[i] = block[:, k]
    for i in range(len(names)):  # typed columns (numbers, dates, booleans) as they are
        if i not in columns:
            columns[i] = frame.iloc[:, i]
    out = _assemble(columns, len(names), frame.index)
    out.columns = frame.columns
    out.attrs = dict(frame.attrs)
    return out


#: Above this many converted columns a table is rebuilt in a few blocks (:func:`_assemble`);
#: up to it, the converted columns are written into a shallow copy of the table.
_FEW_CHANGES = 32


def is_text_dtype(dtype: Any) -> bool:
    """A pandas string dtype (``str``/``string``): its cells are already exact text.

    Examples
    --------
    >>> is_text_dtype(pd.Series(["a"]).dtype), is_text_dtype(pd.Series(["a"], dtype=object).dtype)
    (True, False)
    """
    return dtype != np.dtype(object) and pd.api.types.is_string_dtype(dtype)

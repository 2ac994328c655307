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
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import check_option

__all__ = [
    "CENSORED_RULES",
    "EXCEL_ERRORS",
    "ParsedColumn",
    "as_text",
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


def _numeric_or_same(col: pd.Series) -> pd.Series:
    """The column as numbers when every cell is a number (or missing), else unchanged."""
    try:
        return pd.to_numeric(col)
    except (ValueError, TypeError):
        return col


def type_columns(frame: pd.DataFrame, text: Iterable[str] = ()) -> pd.DataFrame:
    """Give a table read from a file its column types, in one pass (linear in the columns).

    Columns named in ``text`` (compared without case or surrounding spaces:
    identifiers, arm, site and other codes) are kept as exact text
    (:func:`as_text`), never converted to numbers. Any other column that
    holds only numbers (or missing cells) becomes numeric; the rest stay as
    they are, for the schema to parse and report cell by cell.

    Examples
    --------
    >>> raw = pd.DataFrame({"patient_id": ["007", "7"], "site": ["01", "1"], "q1": ["3", "4"]})
    >>> typed = type_columns(raw, text=["patient_id", "site"])
    >>> typed["patient_id"].tolist(), typed["site"].tolist(), typed["q1"].tolist()
    (['007', '7'], ['01', '1'], [3, 4])
    """
    keep = {str(t).strip().lower() for t in text}
    columns = {}
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        if str(name).strip().lower() in keep:
            col = as_text(col)
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            col = _numeric_or_same(col)
        columns[i] = col
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = frame.columns
    out.attrs = dict(frame.attrs)
    return out

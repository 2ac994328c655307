"""Reading one sheet of an Excel workbook (.xlsx, .xlsm, and legacy .xls) honestly.

What a workbook can hide is said, never silently turned into missing values:

* **hidden sheets** are skipped unless named with ``sheet=`` / ``--sheet``
  (a stale copy is often kept hidden), and the skip is noted;
* **formula cells without a saved result** (a workbook written by a program
  that does not calculate, such as a script with openpyxl) are an error
  naming the cells: their values are unknown, not missing;
* **error cells** (``#DIV/0!``, ``#N/A``, ``#REF!``...) keep their error text,
  so a numeric column reports them, with the patients, instead of losing them;
* a **truncated or damaged** file is a :class:`~coachstats.core.errors.FileFormatError`.

Cells keep the type they have in the workbook: text stays text (the id
``"007"`` stays ``"007"``), numbers are numbers, dates are dates; the schema
decides what each column must hold. The header is the first of the first
30 rows that holds an expected column name (else the first non-empty row);
rows after the last non-empty one are not records.

Examples
--------
>>> import tempfile, pathlib, openpyxl
>>> p = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"
>>> wb = openpyxl.Workbook()
>>> wb.active.title = "Old"; wb.active.sheet_state = "hidden"; wb.active.append(["patient_id"])
>>> ws = wb.create_sheet("Patients"); ws.append(["patient_id", "hba1c_0"]); ws.append(["007", 9.5])
>>> wb.save(p)
>>> notes = []
>>> frame = read_workbook(p, expected=["patient_id"], notes=notes)
>>> frame["patient_id"].tolist(), frame.attrs["records"], notes
(['007'], 1, ["read sheet 'Patients'; skipped hidden sheet(s) 'Old' (pass --sheet / sheet= to read one)"])
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from coachstats.core.errors import FileFormatError, list_some, shorten
from coachstats.data.parsing import EXCEL_ERRORS
from coachstats.data.readers import refuse_duplicate_names

__all__ = ["EXCEL_ERRORS", "read_workbook"]

_HEADER_SEARCH_ROWS = 30
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class _Sheet:
    name: str
    hidden: bool


def read_workbook(
    path: Path,
    *,
    sheet: str | int | None = None,
    expected: Iterable[str] = (),
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """One sheet of a workbook: the one named, else the first visible one holding an expected column.

    ``frame.attrs["records"]`` is the number of data rows and
    ``frame.attrs["lines"]`` the sheet row of each (1-based, as Excel numbers them).

    Raises
    ------
    FileFormatError
        The file is damaged or truncated, the sheet is not in the workbook
        (the message lists the sheets), or formula cells have no saved result.
    """
    legacy = path.suffix.lower() == ".xls"
    try:
        book = _XlsBook(path) if legacy else _XlsxBook(path)
    except FileFormatError:
        raise
    except Exception as exc:  # each library raises its own types for a damaged file
        raise FileFormatError(
            f"cannot read {path.name} as a workbook: {type(exc).__name__}: {shorten(exc, 200)} "
            "(is it truncated or damaged? open and save it again in Excel, or export a CSV)"
        ) from None
    with book:
        sheets = book.sheets()
        index, note = _choose(sheets, sheet, expected, book, path)
        try:
            rows = book.rows(index)
        except FileFormatError:
            raise
        except Exception as exc:
            raise FileFormatError(
                f"cannot read sheet {sheets[index].name!r} of {path.name}: {type(exc).__name__}: "
                f"{shorten(exc, 200)} (is the file truncated or damaged?)"
            ) from None
        frame, first = _frame(rows, expected, path)
        blanks = book.uncalculated(index)
    if notes is not None and note:
        notes.append(note)
    _refuse_uncalculated(blanks, frame, first, path, sheets[index].name)
    return frame


def _choose(
    sheets: Sequence[_Sheet],
    sheet: str | int | None,
    expected: Iterable[str],
    book: _Book,
    path: Path,
) -> tuple[int, str]:
    """The sheet index to read, and the note saying why."""
    listed = ", ".join(repr(s.name) + (" (hidden)" if s.hidden else "") for s in sheets)
    names = [s.name for s in sheets]
    if sheet is not None:
        if (isinstance(sheet, int) and not 0 <= sheet < len(names)) or (
            isinstance(sheet, str) and sheet not in names
        ):
            raise FileFormatError(
                f"{path.name} has no sheet {shorten(sheet)!r}; its sheets: {listed} "
                "(--sheet takes a name or a number from 0)"
            )
        index = sheet if isinstance(sheet, int) else names.index(sheet)
        named_hidden = sheets[index].hidden
        return index, (
            f"read hidden sheet {names[index]!r} because it was named" if named_hidden else ""
        )
    visible = [i for i, s in enumerate(sheets) if not s.hidden]
    hidden = [s.name for s in sheets if s.hidden]
    skipped = (
        f"; skipped hidden sheet(s) {list_some([repr(h) for h in hidden])} "
        "(pass --sheet / sheet= to read one)"
        if hidden
        else ""
    )
    if not visible:
        raise FileFormatError(
            f"every sheet of {path.name} is hidden ({listed}); name the one to read with "
            "--sheet / sheet="
        )
    if len(visible) == 1:
        return visible[0], (f"read sheet {names[visible[0]]!r}" + skipped if hidden else "")
    wanted = {str(c).strip().lower() for c in expected}
    for i in visible:
        head = book.head(i, _HEADER_SEARCH_ROWS)
        if any(wanted & {str(c).strip().lower() for c in row if c is not None} for row in head):
            return i, (
                f"read sheet {names[i]!r} of {listed}, the first with expected columns "
                "(pass --sheet / sheet= to choose another)" + skipped
            )
    return visible[0], (
        f"read the first sheet of {listed} (pass --sheet / sheet= to choose)" + skipped
    )


def _header_row(rows: list[tuple[Any, ...]], expected: Iterable[str]) -> int:
    wanted = {str(c).strip().lower() for c in expected}
    head = rows[:_HEADER_SEARCH_ROWS]
    for i, row in enumerate(head):
        if wanted & {str(c).strip().lower() for c in row if c is not None}:
            return i
    for i, row in enumerate(head):
        if any(c is not None and str(c).strip() for c in row):
            return i
    return 0


def _frame(
    rows: list[tuple[Any, ...]], expected: Iterable[str], path: Path
) -> tuple[pd.DataFrame, int]:
    """The data frame under the header row, and the sheet row (1-based) of the header."""
    while rows and all(c is None or (isinstance(c, str) and not c.strip()) for c in rows[-1]):
        rows.pop()  # formatted but empty rows after the data are not records
    if not rows:
        frame = pd.DataFrame()
        frame.attrs.update(records=0, lines=[])
        return frame, 1
    h = _header_row(rows, expected)
    width = max(len(r) for r in rows)
    header = list(rows[h]) + [None] * (width - len(rows[h]))
    names = [
        str(c).strip() if c is not None and str(c).strip() else f"Unnamed: {j}"
        for j, c in enumerate(header)
    ]
    refuse_duplicate_names(names, path)
    body = [tuple(r) + (None,) * (width - len(r)) for r in rows[h + 1 :]]
    frame = pd.DataFrame.from_records(body, columns=names, coerce_float=False)
    if not body:
        frame = pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    frame = frame.astype(object).where(frame.notna(), None)
    frame.attrs.update(records=len(body), lines=list(range(h + 2, h + 2 + len(body))))
    return frame, h + 1


def _refuse_uncalculated(
    cells: list[tuple[int, int]], frame: pd.DataFrame, header: int, path: Path, sheet: str
) -> None:
    """Formula cells below the header whose result was never saved: an error naming them."""
    below = [(r, c) for r, c in cells if r > header and c < frame.shape[1]]
    if not below:
        return
    by_col: dict[str, list[str]] = {}
    for r, c in below:
        by_col.setdefault(str(frame.columns[c]), []).append(f"{_letters(c)}{r}")
    listed = "; ".join(
        f"column {shorten(col)!r}: cells {list_some(refs, 5)}" for col, refs in by_col.items()
    )
    raise FileFormatError(
        f"{path.name}, sheet {sheet!r}: {len(below)} formula cell(s) have no saved result, so "
        f"their values are unknown ({listed}); the workbook was saved without calculating "
        "(e.g. written by a script): open it in Excel or LibreOffice and save it again, or "
        "export a CSV"
    )


def _letters(col: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _ref(ref: str) -> tuple[int, int]:
    """'AB12' -> (12, 27): the sheet row (1-based) and the column index (0-based)."""
    m = re.match(r"^([A-Z]+)(\d+)$", ref)
    if m is None:
        return (0, 0)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col - 1


class _Book:
    """What the readers of .xlsx and .xls share."""

    def sheets(self) -> list[_Sheet]:
        raise NotImplementedError

    def rows(self, index: int) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def head(self, index: int, n: int) -> list[tuple[Any, ...]]:
        return self.rows(index)[:n]

    def uncalculated(self, index: int) -> list[tuple[int, int]]:
        """Formula cells whose result was never saved (sheet row, column index)."""
        return []

    def close(self) -> None:
        return None

    def __enter__(self) -> _Book:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _XlsxBook(_Book):
    def __init__(self, path: Path) -> None:
        import openpyxl  # type: ignore[import-untyped]

        if not zipfile.is_zipfile(path):
            raise FileFormatError(
                f"{path.name} is not a valid .xlsx workbook (truncated, damaged, or another "
                "format with an .xlsx name); open and save it again in Excel, or export a CSV"
            )
        self.path = path
        self.book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)

    def sheets(self) -> list[_Sheet]:
        return [_Sheet(str(ws.title), ws.sheet_state != "visible") for ws in self.book.worksheets]

    def rows(self, index: int) -> list[tuple[Any, ...]]:
        return list(self.book.worksheets[index].iter_rows(values_only=True))

    def head(self, index: int, n: int) -> list[tuple[Any, ...]]:
        return list(self.book.worksheets[index].iter_rows(max_row=n, values_only=True))

    def uncalculated(self, index: int) -> list[tuple[int, int]]:
        part = self._sheet_part(index)
        found: list[tuple[int, int]] = []
        with zipfile.ZipFile(self.path) as z, z.open(part) as xml:
            for _, el in ElementTree.iterparse(xml, events=("end",)):
                if el.tag == _MAIN + "c":
                    f = el.find(_MAIN + "f")
                    v = el.find(_MAIN + "v")
                    if f is not None and (v is None or not (v.text or "").strip()):
                        found.append(_ref(el.get("r", "")))
                    el.clear()
                elif el.tag == _MAIN + "row":
                    el.clear()
        return found

    def _sheet_part(self, index: int) -> str:
        """The zip member of the ``index``-th sheet (from the workbook's relationships)."""
        with zipfile.ZipFile(self.path) as z:
            wb = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(_PKG_REL + "Relationship")}
        sheets = list(wb.iter(_MAIN + "sheet"))
        target = targets.get(sheets[index].get(_REL + "id"), "")
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join("xl", target))

    def close(self) -> None:
        self.book.close()


class _XlsBook(_Book):
    """Legacy BIFF workbooks, through xlrd (every formula cell stores its result there)."""

    def __init__(self, path: Path) -> None:
        try:
            import xlrd  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - xlrd is a dependency
            raise FileFormatError(
                "reading a legacy .xls workbook needs xlrd (pip install xlrd); or save it as .xlsx"
            ) from exc
        self.xlrd = xlrd
        self.book = xlrd.open_workbook(str(path), on_demand=True)

    def sheets(self) -> list[_Sheet]:
        return [
            _Sheet(str(self.book.sheet_names()[i]), self.book.sheet_by_index(i).visibility != 0)
            for i in range(self.book.nsheets)
        ]

    def rows(self, index: int) -> list[tuple[Any, ...]]:
        sh = self.book.sheet_by_index(index)
        return [tuple(self._value(c) for c in sh.row(r)) for r in range(sh.nrows)]

    def _value(self, cell: Any) -> Any:
        x = self.xlrd
        if cell.ctype in (x.XL_CELL_EMPTY, x.XL_CELL_BLANK):
            return None
        if cell.ctype == x.XL_CELL_ERROR:
            return x.error_text_from_code.get(cell.value, "#VALUE!")
        if cell.ctype == x.XL_CELL_DATE:
            return x.xldate_as_datetime(cell.value, self.book.datemode)
        if cell.ctype == x.XL_CELL_BOOLEAN:
            return bool(cell.value)
        if cell.ctype == x.XL_CELL_NUMBER and float(cell.value).is_integer():
            return int(cell.value)
        return cell.value

    def close(self) -> None:
        self.book.release_resources()

"""Robust reading of delimited text exported from EHRs and spreadsheets.

Real exports differ from a clean CSV in predictable ways; each is handled
explicitly and recorded as a note (never silently):

* **encoding**, decided over the whole file (read in blocks, nothing held):
  UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark,
  else Windows-1252 when no byte sequence in the file is valid multi-byte
  UTF-8. A file that mixes the two (valid UTF-8 accents on one line, bytes
  that are not UTF-8 on another) is refused: it cannot be decoded without
  turning one of the two spellings into the other;
* **delimiter**: comma, semicolon, tab or pipe, sniffed from the first lines;
  a semicolon file usually also has decimal commas ("9,5"), which the schema
  parser converts per column (see :func:`coachstats.data.parsing.parse_numeric`);
* **header row**: title or banner lines above the header are skipped when a
  later line holds the schema's (or the mapping's) column names; the header
  is read whole, however long, so no column name is cut;
* **duplicate column names** are an error (pandas would rename them ``x.1``);
* **records**: the lines of the file are counted and reconciled with the
  rows parsed. A cell whose quotes hold line breaks is one row spread over
  several lines (noted); a quote left open that swallows lines looking like
  rows is an error naming its lines, never a silent loss of patients.

Every cell is kept as the text of the file (ids ``"007"`` and ``"7"`` stay
distinct); numbers are parsed by the schema, column by column. Only empty
cells and the usual missing-value words (``NA``, ``N/A``, ``null``...) are
missing: spreadsheet error values such as ``#N/A`` and ``#DIV/0!`` stay
text, so a numeric column reports them instead of losing them.

The file is parsed once by pandas (the encoding pass and the hash in
``load_trial`` stream the bytes in blocks and keep nothing).

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
>>> _ = p.write_bytes("Clinic report 2024\\n\\npatient_id;arm;hba1c_0\\n007;Coaching;9,5\\n".encode("cp1252"))
>>> frame, notes = read_delimited(p, expected={"patient_id", "arm"})
>>> frame.columns.tolist(), frame.iloc[0, 0], frame.iloc[0, 2]
(['patient_id', 'arm', 'hba1c_0'], '007', '9,5')
>>> notes
["delimiter ';' detected", 'header found on line 3 (2 line(s) above it skipped)']
>>> frame.attrs["records"]
1
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coachstats.core.errors import FileFormatError, SchemaError, list_some, shorten

__all__ = ["MISSING_TEXT", "TextScan", "read_delimited", "refuse_duplicate_names", "scan_text"]

_DELIMS = [",", ";", "\t", "|"]
_HEADER_SEARCH_LINES = 30
#: Above this many columns a file is read by rows into one block (see ``_read_wide``).
WIDE_COLUMNS = 1000
_SNIFF_CHARS = 16 * 1024  # per line, for the delimiter guess only (names are read whole)
_BLOCK = 1 << 20
#: Cell texts read as missing. Spreadsheet errors (``#N/A``) are not among them: they are reported.
MISSING_TEXT = (
    "",
    "NA",
    "N/A",
    "n/a",
    "NULL",
    "null",
    "NaN",
    "nan",
    "-NaN",
    "-nan",
    "None",
    "<NA>",
)
_INVALID = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8 (surrogateescape)
_MULTIBYTE = re.compile("[^\x00-\x7f\udc80-\udcff]")  # valid multi-byte UTF-8 characters
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


@dataclass(frozen=True)
class TextScan:
    """What one pass over a text file's bytes found.

    Attributes
    ----------
    encoding : str
        The codec to read the file with.
    lines : int
        Physical lines (``\\n``, ``\\r\\n`` or ``\\r`` ends; a last line without one counts).
    notes : tuple of str
        What was detected (an encoding other than plain UTF-8).
    """

    encoding: str
    lines: int
    notes: tuple[str, ...] = ()


def _count_lines(text: str, after_cr: bool) -> int:
    """Line ends in ``text``; ``after_cr``: the previous block ended with ``\\r``."""
    n = text.count("\n") + text.count("\r") - text.count("\r\n")
    if after_cr and text.startswith("\n"):
        n -= 1  # a \r\n split between two blocks is one line end
    return n


def scan_text(path: Path) -> TextScan:
    """Decide the encoding over the whole file and count its lines, in one streamed pass.

    Raises
    ------
    FileFormatError
        The file holds NUL bytes (binary, or UTF-16 without a byte-order mark),
        or mixes valid UTF-8 with bytes that are not UTF-8.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mixed.csv"
    >>> _ = p.write_bytes("site\\nPeña\\n".encode() + "Peña\\n".encode("cp1252"))
    >>> try:
    ...     scan_text(p)
    ... except FileFormatError as e:
    ...     print(str(e).split(";")[0])
    mixed.csv mixes text encodings: line 2 is UTF-8 ('Peña') but line 3 is not (byte 0xF1)
    """
    with path.open("rb") as f:
        first = f.read(4)
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = (first + f.read()).decode("utf-16", errors="replace")
            return TextScan(
                "utf-16",
                _count_lines(text, False) + _unterminated(text),
                ("encoding utf-16 detected",),
            )
        bom = first.startswith(b"\xef\xbb\xbf")
        f.seek(3 if bom else 0)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        lines, after_cr, last = 0, False, ""
        bad_at: tuple[int, str] | None = None
        good_at: tuple[int, str] | None = None
        undefined = False
        while True:
            block = f.read(_BLOCK)
            final = not block
            text = decoder.decode(block, final=final)
            if "\x00" in text:
                raise FileFormatError(
                    f"{path.name} looks like a binary file (or UTF-16 without a byte-order mark), "
                    "not delimited text; export it as CSV (UTF-8)"
                )
            if text and not text.isascii():
                if bad_at is None and (m := _INVALID.search(text)):
                    bad_at = (lines + _count_lines(text[: m.start()], after_cr) + 1, m.group())
                if good_at is None and (m := _MULTIBYTE.search(text)):
                    line_start = max(text.rfind("\n", 0, m.start()), text.rfind("\r", 0, m.start()))
                    line_end = min(
                        (
                            i
                            for i in (text.find("\n", m.start()), text.find("\r", m.start()))
                            if i >= 0
                        ),
                        default=len(text),
                    )
                    good_at = (
                        lines + _count_lines(text[: m.start()], after_cr) + 1,
                        text[line_start + 1 : line_end],
                    )
                if not undefined:
                    undefined = any(
                        ord(c) - 0xDC00 in _CP1252_UNDEFINED for c in _INVALID.findall(text)
                    )
            lines += _count_lines(text, after_cr)
            if text:
                after_cr, last = text.endswith("\r"), text[-1]
            if final:
                break
    lines += 1 if last and last not in "\r\n" else 0
    if bad_at is None:
        return TextScan(
            "utf-8-sig" if bom else "utf-8", lines, ("encoding utf-8-sig detected",) if bom else ()
        )
    if good_at is not None:
        byte = ord(bad_at[1]) - 0xDC00
        raise FileFormatError(
            f"{path.name} mixes text encodings: line {good_at[0]} is UTF-8 "
            f"({shorten(good_at[1].strip(), 40)!r}) but line {bad_at[0]} is not (byte 0x{byte:02X}); "
            "it cannot be decoded without changing one of the two spellings: save the file "
            "again in one encoding (in Excel: Save As, CSV UTF-8)"
        )
    encoding = "latin-1" if undefined else "cp1252"
    return TextScan(encoding, lines, (f"encoding {encoding} detected",))


def _unterminated(text: str) -> int:
    return 1 if text and text[-1] not in "\r\n" else 0


def _head_lines(path: Path, encoding: str, n: int) -> list[str]:
    """The first ``n`` lines of the file, each whole (however long), without their line ends."""
    out: list[str] = []
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        for line in f:
            out.append(line.rstrip("\r\n"))
            if len(out) >= n:
                break
    return out


def _sniff_delimiter(lines: list[str]) -> str:
    sample = "\n".join(line[:_SNIFF_CHARS] for line in lines[:_HEADER_SEARCH_LINES])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(_DELIMS)).delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in _DELIMS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _header_line(lines: list[str], delim: str, expected: set[str]) -> int:
    wanted = {e.strip().lower() for e in expected}
    for i, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        cells = {c.strip().strip('"').strip().lower() for c in line.split(delim)}
        if wanted and wanted & cells:
            return i
    for i, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        if line.strip():
            return i
    return 0


def read_delimited(
    path: Path, *, expected: Iterable[str] = (), sep: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read a delimited text file, detecting encoding, delimiter and header row.

    Parameters
    ----------
    path : Path
        The file.
    expected : iterable of str
        Column names to look for when locating the header row (schema names
        and the keys of the user's mapping).
    sep : str, optional
        Force the delimiter.

    Returns
    -------
    (DataFrame, list of str)
        Every cell as the text of the file (parsing is the schema's job), and
        notes on what was detected. ``frame.attrs["records"]`` is the number
        of records (rows) read and ``frame.attrs["lines"]`` the file line on
        which each starts.

    Raises
    ------
    FileFormatError
        The encoding is mixed, the file is binary, a quote is never closed,
        or the lines cannot be reconciled with the rows parsed.
    SchemaError
        A column name appears twice in the header.
    """
    scan = scan_text(path)
    notes = list(scan.notes)
    lines = _head_lines(path, scan.encoding, _HEADER_SEARCH_LINES + 1)
    delim = sep or _sniff_delimiter(lines)
    if delim != ",":
        notes.append(f"delimiter {delim!r} detected")
    header = _header_line(lines, delim, set(expected))
    if header > 0:
        notes.append(f"header found on line {header + 1} ({header} line(s) above it skipped)")
    names = _raw_header(lines, header, delim)
    refuse_duplicate_names(names, path)
    try:
        if len(names) > WIDE_COLUMNS:
            frame = _read_wide(path, scan.encoding, header, delim, names)
        else:
            frame = pd.read_csv(
                path,
                sep=delim,
                encoding=scan.encoding,
                skiprows=header,
                dtype=str,
                keep_default_na=False,
                na_values=list(MISSING_TEXT),
                skip_blank_lines=False,  # counted (and skipped) by the loader, not dropped silently
                skipinitialspace=True,
            )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        text = str(exc)
        if "EOF inside string" in text or "unexpected end of data" in text:
            raise FileFormatError(
                f'cannot parse {path.name}: a quote (") opened in a cell is never closed, so '
                f"every line after it would be one cell ({shorten(text, 120)}); close or remove "
                "that quote"
            ) from None
        raise FileFormatError(
            f"cannot parse {path.name} as delimited text: {shorten(text, 300)}"
        ) from None
    data_lines = max(scan.lines - header - 1, 0)
    starts, extra_notes = _reconcile(frame, data_lines, header + 2, delim, path.name)
    notes += extra_notes
    frame.attrs["records"] = len(frame)
    frame.attrs["lines"] = starts
    return frame, notes


def _read_wide(
    path: Path, encoding: str, header: int, delim: str, names: list[str]
) -> pd.DataFrame:
    """A wide file read with the csv module into one block of text cells (linear in the cells).

    pandas' parser makes one array per column, which costs more per column as
    the width grows; above :data:`WIDE_COLUMNS` columns the cells are read as
    rows and kept as one block. The rules are those of the narrow path:
    spaces after a delimiter skipped, :data:`MISSING_TEXT` missing, a row
    with more cells than the header an error, a quote left open at the end an error.
    """
    missing = set(MISSING_TEXT)
    width = len(names)
    with path.open(encoding=encoding, newline="") as f:
        for _ in range(header + 1):
            f.readline()
        reader = csv.reader(f, delimiter=delim, skipinitialspace=True, strict=True)
        rows: list[list[str | None]] = []
        for number, row in enumerate(reader, start=header + 2):
            if len(row) > width:
                raise ValueError(f"Expected {width} fields in line {number}, saw {len(row)}")
            rows.append([None if c in missing else c for c in row] + [None] * (width - len(row)))
    cells = np.empty((len(rows), width), dtype=object)
    for i, values in enumerate(rows):
        cells[i, :] = values
    return pd.DataFrame(cells, columns=names, dtype=object)


def _raw_header(lines: list[str], header: int, delim: str) -> list[str]:
    if header >= len(lines):
        return []
    row = next(csv.reader([lines[header]], delimiter=delim), [])
    return [c.strip() for c in row]


def refuse_duplicate_names(names: list[str], path: Path) -> None:
    """One error listing every column name that appears more than once (linear in the columns)."""
    counts = Counter(n for n in names if n)
    dups = sorted(n for n, k in counts.items() if k > 1)
    if dups:
        raise SchemaError(
            [
                {
                    "column": d,
                    "rows": [],
                    "values": [],
                    "problem": f"column name appears {counts[d]} times in the header; each column must be unique",
                }
                for d in dups
            ],
            title=f"duplicate column names in {path.name}",
        )


def _reconcile(
    frame: pd.DataFrame, data_lines: int, first_line: int, delim: str, name: str
) -> tuple[np.ndarray, list[str]]:
    """The start line of every row, checking that rows and line breaks in cells add up to the lines.

    A row whose quoted cells hold line breaks covers several lines. When a
    line inside such a cell looks like a row of its own (as many delimiters
    as the header has), a quote was left open and swallowed rows: an error.
    """
    n = len(frame)
    if n == data_lines:
        return np.arange(first_line, first_line + n), []
    extra = np.zeros(n, dtype=np.int64)
    swallowed: list[tuple[int, str, int]] = []  # row, column, lines in the cell
    width = max(frame.shape[1] - 1, 1)
    for col in frame.columns:
        s = frame[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        has = s.str.contains("[\r\n]", regex=True, na=False).to_numpy(dtype=bool)
        for i in np.flatnonzero(has):
            cell = str(s.iloc[i])
            breaks = cell.count("\n") + cell.count("\r") - cell.count("\r\n")
            extra[i] += breaks
            inner = cell.splitlines()[1:]
            if any(line.count(delim) >= width for line in inner):
                swallowed.append((int(i), str(col), breaks))
    starts = (
        first_line + np.arange(n) + np.concatenate([[0], np.cumsum(extra)[:-1]]) if n else extra
    )
    if swallowed:
        shown = [
            f"column {shorten(col)!r} of the row on line {starts[i]} runs to line {starts[i] + k}"
            for i, col, k in swallowed
        ]
        lost = sum(k for _, _, k in swallowed)
        raise FileFormatError(
            f'{name}: a quote (") left open swallows lines that look like rows ({lost} line(s)): '
            f"{list_some(shown, 5, each=120)}; close the quote or remove the stray quote character"
        )
    if n + int(extra.sum()) != data_lines:
        raise FileFormatError(
            f"{name}: {data_lines} line(s) after the header but {n} row(s) parsed and "
            f"{int(extra.sum())} line break(s) inside quoted cells; the lines cannot be accounted "
            "for (an unbalanced quote?): check the quotes in the file"
        )
    multi = np.flatnonzero(extra)
    note = (
        f"{len(multi)} row(s) hold line breaks inside quoted cells, each read as one row "
        f"(starting on line(s) {list_some(starts[multi].tolist())})"
    )
    return starts, [note]

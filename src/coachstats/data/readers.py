"""Robust reading of delimited text exported from EHRs and spreadsheets.

Real exports differ from a clean CSV in predictable ways; each is handled
explicitly and recorded as a note (never silently):

* **encoding**: UTF-8 (with or without a byte-order mark), falling back to
  Windows-1252/latin-1 when the bytes are not valid UTF-8;
* **delimiter**: comma, semicolon, tab or pipe, sniffed from the first lines;
  a semicolon file usually also has decimal commas ("9,5"), which the schema
  parser converts per column (see :func:`coachstats.data.parsing.parse_numeric`);
* **header row**: title or banner lines above the header are skipped when a
  later line holds the schema's (or the mapping's) column names;
* **duplicate column names** are an error (pandas would rename them ``x.1``).

The file is read once into pandas (the hash in ``load_trial`` streams the
bytes in blocks and keeps nothing), so a multi-gigabyte file is not held twice.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
>>> _ = p.write_bytes("Clinic report 2024\\n\\npatient_id;arm;hba1c_0\\n1;Coaching;9,5\\n".encode("cp1252"))
>>> frame, notes = read_delimited(p, expected={"patient_id", "arm"})
>>> frame.columns.tolist(), frame.iloc[0, 2]
(['patient_id', 'arm', 'hba1c_0'], '9,5')
>>> notes
["delimiter ';' detected", 'header found on line 3 (2 line(s) above it skipped)']
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from coachstats.core.errors import FileFormatError, SchemaError

__all__ = ["read_delimited"]

_DELIMS = [",", ";", "\t", "|"]
_HEAD_BYTES = 64 * 1024
_HEADER_SEARCH_LINES = 30


def _decode_head(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(raw) - 4:  # a multi-byte character cut at the end of the sample
            return raw[: exc.start].decode("utf-8"), "utf-8"
        return raw.decode("cp1252", errors="replace"), "cp1252"


def _sniff_delimiter(lines: list[str]) -> str:
    sample = "\n".join(lines[:_HEADER_SEARCH_LINES])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(_DELIMS)).delimiter
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines[:_HEADER_SEARCH_LINES]) for d in _DELIMS}
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
        All cells as strings (parsing is the schema's job), and notes on what
        was detected.
    """
    notes: list[str] = []
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileFormatError(f"{path.name} looks like a binary file, not delimited text")
    text, encoding = _decode_head(head)
    if encoding not in ("utf-8",):
        notes.append(f"encoding {encoding} detected")
    lines = text.splitlines()
    delim = sep or _sniff_delimiter(lines)
    if delim != ",":
        notes.append(f"delimiter {delim!r} detected")
    header = _header_line(lines, delim, set(expected))
    if header > 0:
        notes.append(f"header found on line {header + 1} ({header} line(s) above it skipped)")
    try:
        frame = _read(path, delim, encoding, header)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(f"cannot parse {path.name} as delimited text: {exc}") from exc
    names = _raw_header(lines, header, delim)
    dups = sorted({n for n in names if names.count(n) > 1 and n})
    if dups:
        raise SchemaError(
            [
                {
                    "column": d,
                    "rows": [],
                    "values": [],
                    "problem": f"column name appears {names.count(d)} times in the header; each column must be unique",
                }
                for d in dups
            ],
            title=f"duplicate column names in {path.name}",
        )
    return frame, notes


def _read(path: Path, delim: str, encoding: str, header: int) -> pd.DataFrame:
    """Read every cell as text, then give columns that are entirely numeric their numeric type.

    Messy columns stay text so the schema parser can report each bad cell.
    """
    frame = pd.read_csv(
        path,
        sep=delim,
        encoding=encoding,
        encoding_errors="replace",
        skiprows=header,
        dtype=str,
        skip_blank_lines=False,  # counted (and skipped) by the loader, not dropped silently
        skipinitialspace=True,
    )
    for col in frame.columns:
        try:
            frame[col] = pd.to_numeric(frame[col])
        except (ValueError, TypeError):
            continue
    return frame


def _raw_header(lines: list[str], header: int, delim: str) -> list[str]:
    if header >= len(lines):
        return []
    row = next(csv.reader(io.StringIO(lines[header]), delimiter=delim), [])
    return [c.strip() for c in row]

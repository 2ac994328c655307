"""Cohort tables kept as compact columns and written a chunk of rows at a time, byte-stable.

A generator keeps each table as a :class:`TableSource`: per column, a builder
that returns the pandas column of a range of rows (labels taken from integer
codes, small integers widened to ``Int64``...). :meth:`TableSource.frame`
builds the whole DataFrame (what ``HcpcCohort.patients`` returns);
:func:`write_source` writes the CSV and Parquet files one chunk of
:data:`CHUNK_ROWS` rows at a time, so a cohort of a million patients is never
held as whole DataFrames while it is written.

The CSV text of a chunk is made column by column in Arrow
(:func:`csv_chunk`): numbers with a fixed number of decimals are rounded
exactly as ``"%.1f" % x`` (from the exact product with a power of ten in
extended precision), the other columns as their text. The bytes are those of
pandas' writer on the text of :func:`format_column`; a chunk this path cannot
make exactly (a cell that needs quotes, a dtype it does not know) is written
by pandas.

Examples
--------
>>> import tempfile
>>> src = TableSource.of_frame(pd.DataFrame({"a": [1.25, np.nan, -0.04], "b": ["x", "y", None]}))
>>> with tempfile.TemporaryDirectory() as d:
...     (csv,) = write_source(src, d, "t", decimals={"a": 1}, formats=("csv",))
...     csv.read_text()
'a,b\\n1.2,x\\n,y\\n0.0,\\n'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import OptionError, check_option

__all__ = [
    "CHUNK_ROWS",
    "ColumnBuilder",
    "TableSource",
    "WriteProgress",
    "array_column",
    "csv_chunk",
    "fixed_decimals",
    "format_column",
    "label_array",
    "label_column",
    "write_frame",
    "write_source",
    "write_tables",
]

Format = Literal["csv", "parquet"]

#: Rows per chunk when a table is written (and per Parquet row group above it).
CHUNK_ROWS = 65_536

#: Builds the pandas column (a Series or array of its final dtype) of rows ``start:stop``.
ColumnBuilder = Callable[[int, int], Any]
#: Told how far writing is: ``progress("hcpc_patients.csv", rows_done, rows_total)``.
WriteProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TableSource:
    """A table of ``n`` rows whose columns are built on demand, whole or by ranges of rows.

    Examples
    --------
    >>> src = TableSource(3, {"x": array_column(np.array([1, 2, 3], dtype=np.int8), "int64")})
    >>> src.frame(1).to_dict("list"), str(src.frame()["x"].dtype)
    ({'x': [2, 3]}, 'int64')
    """

    n: int
    columns: Mapping[str, ColumnBuilder]

    def frame(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Rows ``start:stop`` as a DataFrame (index ``start..stop-1``; default every row)."""
        stop = self.n if stop is None else min(stop, self.n)
        index = pd.RangeIndex(start, stop)
        data = {}
        for name, build in self.columns.items():
            col = build(start, stop)
            if isinstance(col, pd.Series):
                data[name] = col.set_axis(index)
            else:
                data[name] = pd.Series(col, index=index, copy=False)
        return pd.DataFrame(data, index=index, copy=False)

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The table as consecutive DataFrames of at most ``rows`` rows (one, empty, for n = 0)."""
        for start in range(0, max(self.n, 1), rows):
            yield self.frame(start, start + rows)

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> TableSource:
        """A DataFrame as a source (its columns sliced by position)."""
        flat = frame.reset_index(drop=True)

        def column(name: Any) -> ColumnBuilder:
            return lambda start, stop: flat[name].iloc[start:stop]

        return cls(len(flat), {str(c): column(c) for c in flat.columns})


def array_column(values: Any, dtype: Any = None) -> ColumnBuilder:
    """A builder slicing ``values`` (numpy or pandas array), cast to ``dtype`` by slice.

    A compact array (``int8`` item responses, ``Int8`` with missing values)
    is kept whole and widened (``"int64"``, ``"Int64"``) one slice at a time.
    """

    def build(start: int, stop: int) -> Any:
        part = values[start:stop]
        if dtype is None:
            return part
        if isinstance(part, np.ndarray):
            return part.astype(dtype)
        return pd.array(part, dtype=dtype)

    return build


def label_array(labels: Any) -> Any:
    """Text labels as one Arrow string array (shared by every column that takes from it).

    Examples
    --------
    >>> label_array(np.array(["P1", "P2"], dtype=object)).to_pylist()
    ['P1', 'P2']
    """
    import pyarrow as pa

    if isinstance(labels, pa.Array):
        return labels
    return pa.array(np.asarray(labels, dtype=object).astype(str))


def label_column(labels: Any, codes: npt.ArrayLike, dtype: str = "str") -> ColumnBuilder:
    """A builder of text labels ``labels[codes]`` (code -1: missing), taken in Arrow by slice.

    ``labels`` is a sequence or a :func:`label_array`; ``dtype`` is ``"str"``
    (missing as NaN) or ``"string"`` (missing as ``<NA>``).

    Examples
    --------
    >>> build = label_column(["a", "b"], np.array([1, -1, 0]), "string")
    >>> build(0, 3).tolist()
    ['b', <NA>, 'a']
    """
    import pyarrow as pa

    table = label_array(labels)
    idx = np.asarray(codes)
    target = pd.StringDtype(storage="pyarrow", na_value=np.nan) if dtype == "str" else dtype

    def build(start: int, stop: int) -> pd.Series:
        part = idx[start:stop]
        taken = table.take(pa.array(part, mask=part < 0))
        return pd.Series(taken, dtype=target)

    return build


# --------------------------------------------------------------------------- CSV text


def format_column(values: pd.Series, decimals: int | None) -> pd.Series:
    """Text of one column for CSV: fixed ``decimals`` for numbers, ``""`` for missing.

    Booleans print as ``True``/``False`` (pandas reads them back as bool);
    integers without decimals.

    Examples
    --------
    >>> format_column(pd.Series([8.0, np.nan, 10.25]), 1).tolist()
    ['8.0', '', '10.2']
    >>> format_column(pd.Series([1, None], dtype="Int64"), None).tolist()
    ['1', '']
    """
    na = values.isna().to_numpy()
    if decimals is not None:
        num = values.to_numpy(dtype=float, na_value=np.nan)
        text = np.char.mod(f"%.{decimals}f", np.where(na, 0.0, num))
        text = np.char.replace(text, "-0." + "0" * decimals, "0." + "0" * decimals)
        out = np.where(na, "", text)
    else:
        out = np.where(na, "", values.astype(object).astype(str).to_numpy())
    return pd.Series(out, index=values.index, dtype=object)


def fixed_decimals(values: npt.NDArray[np.float64], decimals: int) -> Any:
    """``"%.{decimals}f" % x`` of every value, as an Arrow string array (NaN -> null), or None.

    The product of a double with :math:`10^d` (:math:`d \\le 3`) has at most
    60 significant bits, so it is exact in x87 extended precision (64); its
    nearest integer, ties to even, is the decimal Python's formatting prints.
    A negative value that rounds to zero prints without its sign (``0.0``,
    as :func:`format_column` writes it) except with no decimals (``-0``).
    None when this cannot be done exactly here (no extended precision, more
    than 3 decimals, an infinite value): the caller formats those in Python.

    Examples
    --------
    >>> fixed_decimals(np.array([0.25, -0.04, 2.675, np.nan, -12.05]), 1).to_pylist()
    ['0.2', '0.0', '2.7', None, '-12.1']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if decimals > 3 or decimals < 0 or np.finfo(np.longdouble).nmant < 63:
        return None
    nan = np.isnan(values)
    if np.isinf(values).any():
        return None
    scaled = values.astype(np.longdouble) * np.longdouble(10**decimals)
    k = np.rint(np.where(nan, 0.0, scaled)).astype(np.int64)
    negative = k < 0 if decimals else np.signbit(values) & ~nan
    digits = pc.cast(pa.array(np.abs(k)), pa.string())
    if decimals:
        digits = pc.utf8_lpad(digits, decimals + 1, "0")
        digits = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(digits, 0, -decimals),
            pc.utf8_slice_codeunits(digits, -decimals),
            ".",
        )
    text = pc.if_else(pa.array(negative), pc.binary_join_element_wise("-", digits, ""), digits)
    return pc.if_else(pa.array(nan), pa.scalar(None, pa.string()), text)


_NEEDS_QUOTES = '[,"\r\n]'


def _arrow_cells(values: pd.Series, decimals: int | None) -> Any:
    """One column's CSV cells as an Arrow array (null: empty cell), or None (use pandas).

    Integers stay integers (Arrow writes them as Python does); booleans,
    numbers with fixed decimals and text become the text of :func:`format_column`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = values.dtype
    out: Any
    if decimals is not None:
        return fixed_decimals(values.to_numpy(dtype=float, na_value=np.nan), decimals)
    if pd.api.types.is_bool_dtype(dtype):
        return pc.if_else(pa.array(values.array), "True", "False")
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(values.array)
    if pd.api.types.is_string_dtype(dtype) and dtype != np.dtype(object):
        out = pa.array(values.array)
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        if pc.any(pc.match_substring_regex(out, _NEEDS_QUOTES)).as_py():
            return None
        return out
    return None


def csv_chunk(frame: pd.DataFrame, decimals: Mapping[str, int]) -> bytes:
    """The CSV lines (no header) of ``frame``, as :func:`write_frame` writes them.

    Examples
    --------
    >>> csv_chunk(pd.DataFrame({"a": [1.25, np.nan], "b": [True, False]}), {"a": 1})
    b'1.2,True\\n,False\\n'
    """
    import io

    import pyarrow as pa
    import pyarrow.csv as pcsv

    if len(frame) == 0:
        return b""
    cells = [_arrow_cells(frame[c], decimals.get(str(c))) for c in frame.columns]
    if frame.shape[1] < 2 or any(c is None for c in cells):  # one column: '""' rows; quotes
        text = pd.DataFrame(
            {c: format_column(frame[c], decimals.get(str(c))) for c in frame.columns},
            index=frame.index,
        )
        return str(text.to_csv(index=False, header=False, lineterminator="\n")).encode("utf-8")
    table = pa.table(cells, names=[f"c{i}" for i in range(len(cells))])
    sink = io.BytesIO()
    options = pcsv.WriteOptions(include_header=False, quoting_style="none")
    pcsv.write_csv(table, sink, options)  # nulls as empty cells, lines end with \\n
    return sink.getvalue()


# --------------------------------------------------------------------------- files


def write_source(
    source: TableSource,
    directory: str | os.PathLike[str],
    name: str,
    *,
    decimals: Mapping[str, int] | None = None,
    formats: Sequence[Format] = ("csv", "parquet"),
    chunk_rows: int = CHUNK_ROWS,
    progress: WriteProgress | None = None,
) -> list[Path]:
    """Write ``source`` as ``<directory>/<name>.csv`` (and ``.parquet``), a chunk at a time.

    The files are those :func:`write_frame` writes for the whole frame: the
    same CSV bytes, and Parquet with the same schema (zstd, no dictionary
    pages), in row groups of ``chunk_rows`` rows. Each chunk is built once
    for both files; its Parquet row group is encoded and compressed in a
    second thread (Arrow works without the interpreter lock) while the CSV
    text of the next chunk is made, so the two files are written on two
    cores, each in order. ``progress`` is told the rows written after each
    chunk, as ``progress("t.csv, t.parquet", rows_done, rows_total)``.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    for fmt in formats:
        check_option("formats", fmt, ("csv", "parquet"))
    decimals = dict(decimals or {})
    unknown = sorted(set(decimals) - set(source.columns))
    if unknown:
        raise OptionError(f"decimals given for unknown column(s) {unknown}")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.{fmt}" for fmt in ("csv", "parquet") if fmt in formats]
    label = ", ".join(p.name for p in paths)
    csv_path = out_dir / f"{name}.csv" if "csv" in formats else None
    pq_path = out_dir / f"{name}.parquet" if "parquet" in formats else None
    with contextlib.ExitStack() as stack:
        csv_file = stack.enter_context(csv_path.open("wb")) if csv_path is not None else None
        if csv_file is not None:
            header = pd.DataFrame(columns=list(source.columns)).to_csv(
                index=False, lineterminator="\n"
            )
            csv_file.write(str(header).encode("utf-8"))
        parquet = _ParquetRows(pq_path) if pq_path is not None else None
        if parquet is not None:
            stack.callback(parquet.close)
        worker = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        pending: Future[None] | None = None
        for chunk in source.chunks(chunk_rows):
            if parquet is not None:
                if pending is not None:
                    pending.result()  # one row group in flight: rows stay in order, memory bounded
                pending = worker.submit(parquet.write, chunk)
            if csv_file is not None:
                csv_file.write(csv_chunk(chunk, decimals))
            if progress is not None:
                progress(
                    label, min(int(chunk.index[-1]) + 1 if len(chunk) else 0, source.n), source.n
                )
        if pending is not None:
            pending.result()
    return paths


class _ParquetRows:
    """A Parquet file written one row group per chunk (zstd, no dictionary pages)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = None

    def write(self, chunk: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(chunk.reset_index(drop=True), preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.path, table.schema, compression="zstd", use_dictionary=False
            )
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def write_frame(
    frame: pd.DataFrame,
    directory: str | os.PathLike[str],
    name: str,
    *,
    decimals: Mapping[str, int] | None = None,
    formats: Sequence[Format] = ("csv", "parquet"),
) -> list[Path]:
    """Write ``frame`` as ``<directory>/<name>.csv`` (and ``.parquet``), byte-stable.

    The CSV has ``\\n`` line ends, no index, and every column listed in
    ``decimals`` printed with exactly that many decimals; other float columns
    use ``repr``-style shortest text. The Parquet file (pyarrow, no index,
    zstd, dictionary-free pages) holds the same values with the DataFrame's
    dtypes; it is byte-identical across runs with the same pyarrow.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_frame(pd.DataFrame({"a": [1.25, np.nan], "b": [1, 2]}), d, "t",
    ...                         decimals={"a": 1}, formats=("csv",))
    ...     paths[0].read_text()
    'a,b\\n1.2,1\\n,2\\n'
    """
    return write_source(
        TableSource.of_frame(frame), directory, name, decimals=decimals, formats=formats
    )


def write_tables(
    tables: Mapping[str, pd.DataFrame | TableSource],
    directory: str | os.PathLike[str],
    *,
    decimals: Mapping[str, int],
    formats: Sequence[Format] = ("csv", "parquet"),
    progress: WriteProgress | None = None,
) -> list[Path]:
    """:func:`write_source` for every table (by file stem), each with its columns' ``decimals``.

    Examples
    --------
    >>> import tempfile
    >>> tables = {"a": pd.DataFrame({"x": [1.25]}), "b": pd.DataFrame({"y": [2.5]})}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_tables(tables, d, decimals={"x": 1, "y": 0}, formats=("csv",))
    ...     [p.read_text() for p in paths]
    ['x\\n1.2\\n', 'y\\n2\\n']
    """
    paths: list[Path] = []
    for name, table in tables.items():
        source = table if isinstance(table, TableSource) else TableSource.of_frame(table)
        dec = {c: v for c, v in decimals.items() if c in source.columns}
        paths += write_source(
            source, directory, name, decimals=dec, formats=formats, progress=progress
        )
    return paths

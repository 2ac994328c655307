"""Where streamed chunks come from: a Parquet file's record batches, or a DataFrame in slices."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coachstats.compare.design import (
    model_terms,
)
from coachstats.core.vocabulary import parse_item_column, parse_measure_column
from coachstats.plan import (
    AnalysisSpec,
    spec_columns,
)

if TYPE_CHECKING:
    from os import PathLike

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "coded_columns",
    "frame_chunks",
    "needed_columns",
    "parquet_chunks",
]


#: Rows per chunk when reading a Parquet file or splitting a DataFrame.
DEFAULT_BATCH_ROWS = 500_000


def parquet_chunks(
    path: str | PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    needed: Callable[[str], bool] | None = None,
    batch_size: int = DEFAULT_BATCH_ROWS,
    coded: Collection[str] = (),
) -> Callable[[], Iterator[pd.DataFrame]]:
    """A re-iterable source of the chunks of a Parquet file (pyarrow record batches).

    Only the columns whose (renamed) names satisfy ``needed`` are read. Integer
    and boolean columns that hold nulls anywhere in the file become float64 /
    object in every chunk, as :func:`pandas.read_parquet` converts the whole
    file (so chunks and the whole table code them alike). Text columns named
    (renamed) in ``coded`` are read as categoricals (Parquet's dictionary
    pages): their values are those of the text, and selecting and factorizing
    them handles integer codes (:func:`coded_columns` says which columns of a
    plan are used only by their values).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    names = schema.names
    mapping = dict(columns or {})
    read = [c for c in names if needed is None or needed(mapping.get(c, c))]
    as_dictionary = [
        c
        for c in read
        if mapping.get(c, c) in coded
        and (
            pa.types.is_string(schema.field(c).type)
            or pa.types.is_large_string(schema.field(c).type)
        )
    ]
    # no read-ahead: a batch at a time in memory
    pf = pq.ParquetFile(path, pre_buffer=False, read_dictionary=as_dictionary)
    nullable = _columns_with_nulls(pf, read)

    def chunks() -> Iterator[pd.DataFrame]:
        for batch in pf.iter_batches(batch_size=batch_size, columns=read):
            frame = batch.to_pandas()
            for c in nullable:
                kind = schema.field(c).type
                if pa.types.is_integer(kind) and frame[c].dtype.kind in "iu":
                    frame[c] = frame[c].astype(np.float64)
                elif pa.types.is_boolean(kind) and frame[c].dtype == bool:
                    frame[c] = frame[c].astype(object)
            yield frame

    return chunks


def _columns_with_nulls(pf: Any, read: Sequence[str]) -> list[str]:
    """Integer / boolean columns with a null somewhere (row-group statistics, else a scan)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = pf.schema_arrow
    candidates = [
        c
        for c in read
        if pa.types.is_integer(schema.field(c).type) or pa.types.is_boolean(schema.field(c).type)
    ]
    out = []
    meta = pf.metadata
    index = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    for c in candidates:
        nulls = 0
        known = c in index
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(index[c]).statistics if known else None
            if stats is None or not stats.has_null_count:
                known = False
                break
            nulls += stats.null_count
        if not known:
            nulls = sum(
                int(pc.sum(pc.is_null(b.column(0))).as_py() or 0)
                for b in pf.iter_batches(columns=[c])
            )
        if nulls:
            out.append(c)
    return out


def frame_chunks(data: pd.DataFrame, batch_size: int) -> Callable[[], Iterator[pd.DataFrame]]:
    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, max(len(data), 1), batch_size):
            yield data.iloc[start : start + batch_size]

    return chunks


def _raw_input(column: str) -> bool:
    """Raw inputs of derived columns: measurements, diabetes, questionnaire items."""
    return (
        column == "diabetes"
        or parse_measure_column(column) is not None
        or parse_item_column(column) is not None
    )


def coded_columns(specs: Sequence[AnalysisSpec]) -> frozenset[str]:
    """Columns a plan uses only by their values: arms, clusters and fixed effects.

    Read as categoricals by :func:`parquet_chunks`. A column that is also a
    covariate, an outcome or in a ``subset`` / ``complete_on`` (of any spec,
    its own included), or a raw input of the endpoints (``diabetes``), is left
    as it is (a categorical covariate's reference level follows its
    categories).
    """
    labels: set[str] = set()
    other: set[str] = set()
    for spec in specs:
        labels.add(spec.arm)
        for name in (spec.cluster, spec.options.get("fixed_effects")):
            if name:
                labels.add(str(name))
        columns = spec_columns(spec)
        if spec.cluster:  # its one entry as the cluster: a covariate or subset keeps its own
            columns.remove(spec.cluster)
        other.update(columns)
        other.update(_option_terms(spec))  # covariates given as options are covariates too
    # the endpoints read their raw inputs (diabetes, measurements) as pandas reads them
    return frozenset(c for c in labels - other if not _raw_input(c))


def needed_columns(specs: Sequence[AnalysisSpec]) -> Callable[[str], bool]:
    """Which raw columns a plan can use (measurements and diabetes for the endpoints)."""
    names: set[str] = set()
    for spec in specs:
        names.update(spec_columns(spec))
        names.add(spec.arm)
        for key in ("fixed_effects", "baseline", "cluster"):
            if spec.options.get(key):
                names.add(str(spec.options[key]))
        names.update(_option_terms(spec))
    return lambda c: c in names or _raw_input(c)


def _option_terms(spec: AnalysisSpec) -> set[str]:
    """The columns of the covariates and the formula a spec gives as options, not fields."""
    covariates, formula = spec.options.get("covariates"), spec.options.get("formula")
    if not (covariates or formula):
        return set()
    named = [covariates] if isinstance(covariates, str) else [str(c) for c in covariates or ()]
    return set(model_terms(named, str(formula) if formula else None, arm=spec.arm).columns)

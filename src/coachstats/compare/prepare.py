"""Shared input handling for every comparison: column checks, arms, complete cases.

All comparisons go through :func:`prepare`, so they agree on which arm is the
"treatment" (the arm whose effect is estimated), on how missing values are
excluded and counted, and on the errors raised for unusable input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from coachstats.compare.rows import GroupIndex
from coachstats.core.errors import AnalysisError, ColumnNotFoundError, OptionError, list_some
from coachstats.core.frames import engine_for

DEFAULT_TREATMENT = "coaching"

_P = ParamSpec("_P")
_R = TypeVar("_R")


def accepts_dask(method: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Let a comparison also take a frame an engine is registered for (a Dask DataFrame).

    Such a frame goes to its engine (:func:`coachstats.core.frames.engine_for`)
    with the comparison's ``method`` name (the ``method`` of an
    :class:`~coachstats.plan.spec.AnalysisSpec`); anything else goes to the
    function itself. The comparisons know nothing of the engines.
    """

    def wrap(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(fn)
        def inner(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            engine = engine_for(args[0]) if args else None
            if engine is not None:
                out: _R = engine(method, *args, **kwargs)
                return out
            return fn(*args, **kwargs)

        return inner

    return wrap


@dataclass(frozen=True)
class Prepared:
    """The complete-case analysis frame of one comparison.

    ``frame`` holds the used columns for the analysed rows (index preserved);
    ``treated`` is a boolean array (True = treatment arm); ``labels`` is
    ``(treatment, control)``; ``groups`` the codes of the grouping columns
    (clusters, fixed effects) of ``frame`` that :func:`prepare` was given.
    """

    frame: pd.DataFrame
    treated: np.ndarray
    labels: tuple[str, str]
    n_excluded: int
    excluded_reason: str
    groups: Mapping[str, GroupIndex] = field(default_factory=dict, repr=False, compare=False)


def require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise :class:`ColumnNotFoundError` naming every missing column."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(
            f"column(s) {', '.join(repr(c) for c in missing)} not found; "
            f"available columns: {', '.join(map(str, data.columns))}"
        )


def own_clusters(ids: pd.Series, rows: np.ndarray) -> pd.Series:
    """Cluster ids with ``rows`` (a boolean mask) each in a cluster of its own.

    The singletons of a partially nested design (usual-care patients have no
    coach) and of ``singleton_clusters`` in analysis plans (rows without a
    cluster id). The new ids (``"__own_<position>"``) cannot meet a real one.

    Examples
    --------
    >>> own_clusters(pd.Series(["c1", None, "c1"]), np.array([False, True, False])).tolist()
    ['c1', '__own_1', 'c1']
    """
    out = ids.astype(object).copy()
    positions = np.flatnonzero(np.asarray(rows, dtype=bool))
    out.iloc[positions] = [f"__own_{i}" for i in positions]
    return out


def clustered_rows(data: pd.DataFrame, arm: str, cluster: str, clustered_arm: str) -> pd.DataFrame:
    """``data`` for a partially nested design: patients outside ``clustered_arm`` unclustered.

    Their ``cluster`` values (usually missing: a usual-care patient has no
    coach) become clusters of their own (:func:`own_clusters`); patients of
    ``clustered_arm`` keep theirs, and are excluded as usual when it is
    missing.

    Raises
    ------
    OptionError
        ``clustered_arm`` is not one of the arm labels.
    """
    require_columns(data, [arm, cluster])
    labels = data[arm].map(lambda v: None if pd.isna(v) else str(v))
    present = sorted(set(labels.dropna()))
    if str(clustered_arm) not in present:
        raise OptionError(
            f"clustered_arm={clustered_arm!r} is not an arm of column '{arm}'; "
            f"choose one of {present}"
        )
    other = (labels.notna() & (labels != str(clustered_arm))).to_numpy()
    return data.assign(**{cluster: own_clusters(data[cluster], other)})


def resolve_arms(
    arm_values: pd.Series, treatment: str | None = None, control: str | None = None
) -> tuple[str, str]:
    """Return ``(treatment, control)`` labels, checking there are exactly two arms.

    The treatment defaults to ``"coaching"`` when present, otherwise to the
    first label in sorted order; the control is the other label.
    """
    labels = sorted(str(x) for x in pd.unique(arm_values.dropna()))
    name = arm_values.name
    if len(labels) != 2:
        raise AnalysisError(
            f"column '{name}' must have exactly 2 arms among the analysed rows; "
            f"found {len(labels)}: {labels}"
        )
    if treatment is None:
        if control is not None:
            treatment = next(lab for lab in labels if lab != str(control))
        else:
            treatment = DEFAULT_TREATMENT if DEFAULT_TREATMENT in labels else labels[0]
    if str(treatment) not in labels:
        raise AnalysisError(f"treatment arm {treatment!r} not in column '{name}' (found {labels})")
    if control is None:
        control = next(lab for lab in labels if lab != str(treatment))
    if str(control) not in labels or str(control) == str(treatment):
        raise AnalysisError(f"control arm {control!r} invalid for column '{name}' (found {labels})")
    return str(treatment), str(control)


def prepare(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    arm: str | None = "arm",
    treatment: str | None = None,
    control: str | None = None,
    groups: Sequence[str] = (),
) -> Prepared:
    """Select ``columns`` (plus ``arm``), drop incomplete rows and count them.

    Parameters
    ----------
    data : DataFrame
        One row per patient (or visit).
    columns : sequence of str
        Every column the analysis uses besides the arm (outcome, covariates,
        cluster).
    arm : str or None
        The arm column; ``None`` for one-sample analyses.
    groups : sequence of str
        Grouping columns among ``columns`` (clusters, fixed effects), coded as
        :class:`~coachstats.compare.rows.GroupIndex` (``Prepared.groups``);
        on large frames in a second thread while the arm is coded (both are
        hashing passes over text that release the GIL).

    Returns
    -------
    Prepared
        With ``excluded_reason`` such as ``"missing hba1c_12 (12), missing age (3)"``
        (a row missing several columns counts under the first one listed).
    """
    if not isinstance(data, pd.DataFrame):
        raise AnalysisError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    cols = list(dict.fromkeys([*columns, *([arm] if arm else [])]))
    require_columns(data, cols)
    sub = data[cols]
    # the missing-value masks of the columns that have missing values only
    with_na = [c for c in cols if sub[c].hasnans]
    isna = sub[with_na].isna() if with_na else None
    keep = ~isna.any(axis=1).to_numpy() if isna is not None else np.ones(len(sub), dtype=bool)
    n_excluded = int((~keep).sum())
    reasons = []
    if n_excluded and isna is not None:
        already = np.zeros(len(sub), dtype=bool)
        for c in with_na:
            miss = isna[c].to_numpy() & ~already
            if miss.any():
                reasons.append(f"missing {c} ({int(miss.sum())})")
            already |= miss
    frame = sub.loc[keep] if n_excluded else sub  # no copy when every row is complete
    if len(frame) == 0:
        raise AnalysisError(
            f"no complete rows to analyse for columns {cols} "
            f"({n_excluded} rows excluded: {', '.join(reasons)})"
        )
    for c in cols:  # an infinite value would surface later as a NaN warning or a bad fit
        if c != arm and pd.api.types.is_float_dtype(frame[c].dtype):
            inf = np.isinf(frame[c].to_numpy(dtype=float, na_value=np.nan))
            if inf.any():
                rows = frame.index[inf][:10].tolist()
                raise AnalysisError(
                    f"column {c!r} has {int(inf.sum())} infinite value(s) (rows {rows}); "
                    "replace them by finite values or by missing ones"
                )
    names = list(dict.fromkeys(groups))
    background = len(frame) >= BACKGROUND_ROWS and bool(names)
    # A thread of this call only, joined when it returns or raises (no thread outlives it).
    with ThreadPoolExecutor(max_workers=1 if background else None) as pool:
        pending: dict[str, Future[GroupIndex]] = (
            {c: pool.submit(GroupIndex.from_values, frame[c]) for c in names} if background else {}
        )
        if arm:
            # Factorize once; the labels are the arm values as text (as ``astype(str)``).
            codes, uniques = factorize_labels(frame[arm])
            text = np.array([str(u) for u in uniques], dtype=object)
            labels = resolve_arms(pd.Series(text, name=arm), treatment, control)
            treated = codes == int(np.flatnonzero(text == labels[0])[0])
        else:
            labels = ("all", "")
            treated = np.ones(len(frame), dtype=bool)
        coded = {
            c: pending[c].result() if background else GroupIndex.from_values(frame[c])
            for c in names
        }
    return Prepared(frame, treated, labels, n_excluded, ", ".join(reasons), coded)


#: Rows from which :func:`prepare` codes the grouping columns in a second thread.
BACKGROUND_ROWS = 200_000


def factorize_labels(values: pd.Series) -> tuple[np.ndarray, Any]:
    """:func:`pandas.factorize` of a column; a text column of two labels by two comparisons.

    The codes are integers (``int8`` when the comparisons coded them).

    An arm column holds two labels: comparing every row with the first
    label, then with the first other one, codes it without hashing every row
    (a third of the time on a million rows). Anything else (missing values,
    more labels, other dtypes) goes to :func:`pandas.factorize`.

    Examples
    --------
    >>> codes, labels = factorize_labels(pd.Series(["uc", "hc", "uc"], dtype="str"))
    >>> codes.tolist(), list(labels)
    ([0, 1, 0], ['uc', 'hc'])
    """
    if (
        len(values)
        and isinstance(values.dtype, pd.StringDtype)
        and values.dtype.storage == "pyarrow"
    ):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(values.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if arr.null_count == 0:
            first = pc.equal(arr, arr[0])
            n_first = pc.sum(first).as_py()
            if n_first == len(arr):
                return np.zeros(len(arr), dtype=np.intp), np.array([arr[0].as_py()], dtype=object)
            other = arr[pc.index(first, False).as_py()]
            second = pc.equal(arr, other)
            if n_first + pc.sum(second).as_py() == len(arr):  # the two labels cover every row
                labels = np.array([arr[0].as_py(), other.as_py()], dtype=object)
                return second.to_numpy(zero_copy_only=False).view(np.int8), labels
    return pd.factorize(values)


# --------------------------------------------------------------------------- column types


def is_boolean(s: pd.Series) -> bool:
    """True for a boolean column (``bool``, ``boolean`` or an object column of True/False).

    Examples
    --------
    >>> is_boolean(pd.Series([True, None, False])), is_boolean(pd.Series([1, 0]))
    (True, False)
    """
    return pd.api.types.is_bool_dtype(s.dtype) or (
        s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "boolean"
    )


def is_numeric(s: pd.Series) -> bool:
    """True for a boolean or real numeric column (not complex, not text).

    Examples
    --------
    >>> is_numeric(pd.Series([1.5, None])), is_numeric(pd.Series(["a", "b"]))
    (True, False)
    """
    return is_boolean(s) or (
        pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype)
    )


def to_float(s: pd.Series) -> np.ndarray:
    """A numeric or boolean column as a new float64 array with NaN for missing.

    Examples
    --------
    >>> to_float(pd.Series([True, None, False], dtype="boolean")).tolist()
    [1.0, nan, 0.0]
    """
    if is_boolean(s):
        s = s.astype("boolean").astype("Float64")
    return np.array(s.to_numpy(dtype="float64", na_value=np.nan), dtype=float, copy=True)


def check_binary(s: pd.Series, name: str) -> np.ndarray:
    """Float 0/1 values of a binary column (NaN where missing), or an :class:`AnalysisError`.

    Examples
    --------
    >>> check_binary(pd.Series([1, 0, None]), "at_goal").tolist()
    [1.0, 0.0, nan]
    >>> check_binary(pd.Series([1, 2]), "at_goal")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.AnalysisError: column 'at_goal' must be binary (0/1 or True/False); rows 1 have values [2.0]
    """
    if not is_numeric(s):
        raise AnalysisError(
            f"column '{name}' must be binary (0/1 or True/False); it has dtype {s.dtype}"
        )
    values = to_float(s)
    bad = ~np.isnan(values) & ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise AnalysisError(
            f"column '{name}' must be binary (0/1 or True/False); rows {list_some(list(s.index[bad]))} "
            f"have values {sorted(set(values[bad].tolist()))[:10]}"
        )
    return values


def eligible_mask(data: pd.DataFrame, eligible: str | None) -> np.ndarray:
    """The rows in an endpoint's denominator: a boolean column without missing values, or all rows.

    Raises an :class:`AnalysisError` naming the column when it is not boolean
    or has missing values.

    Examples
    --------
    >>> d = pd.DataFrame({"had_diabetes": [True, False, True]})
    >>> eligible_mask(d, "had_diabetes").tolist(), eligible_mask(d, None).tolist()
    ([True, False, True], [True, True, True])
    """
    if eligible is None:
        return np.ones(len(data), dtype=bool)
    e = data[eligible]
    if not is_boolean(e) or e.isna().any():
        raise AnalysisError(
            f"column '{eligible}' (eligible) must be boolean without missing values; "
            f"it has dtype {e.dtype} and {int(e.isna().sum())} missing"
        )
    return np.asarray(e.to_numpy(dtype=bool))

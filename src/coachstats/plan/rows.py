"""The rows a spec analyses, and the ones it leaves out (as data, with their reasons).

:func:`select_rows` applies a spec's ``subset``, drops the patients a goal
endpoint is undefined for (not eligible, missing baseline) and applies
``complete_on``; every row it leaves out is an
:class:`~coachstats.core.results.Exclusion` (reason, count, patient ids), not a
message. :func:`with_exclusions` adds them to a comparison's result. The
in-memory executor (:mod:`coachstats.plan.execute`) and the streamed engine
(:mod:`coachstats.engines.stream`) both select rows here, so they leave out the
same patients for the same reasons.

Examples
--------
>>> import pandas as pd
>>> from coachstats.plan.spec import AnalysisSpec, subset_names
>>> df = pd.DataFrame({"patient_id": ["a", "b", "c"], "site": ["A", "B", "A"],
...                    "x": [1.0, 2.0, None]})
>>> sel = select_rows(df, AnalysisSpec("x", "describe", subset="site == 'A'", complete_on=("x",)))
>>> [(e.reason, e.count, e.ids) for e in sel.exclusions]
[("outside the analysed subgroup site == 'A'", 1, ('b',)), ('missing x', 1, ('c',))]
>>> sel.frame["patient_id"].tolist()
['a']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coachstats.core.errors import ColumnNotFoundError, OptionError
from coachstats.core.results import ComparisonResult, Exclusion
from coachstats.core.vocabulary import goal_endpoint_measure, is_goal_endpoint
from coachstats.plan.spec import AnalysisSpec, subset_names

__all__ = [
    "RowSelection",
    "analysed_columns",
    "as_floats",
    "change_name",
    "evaluate_expression",
    "select_rows",
    "with_change",
    "with_exclusions",
    "with_singleton_clusters",
]


@dataclass(frozen=True)
class RowSelection:
    """The rows a spec analyses (``frame``) and the :class:`Exclusion` of every row left out."""

    frame: pd.DataFrame
    exclusions: tuple[Exclusion, ...]

    @property
    def n_excluded(self) -> int:
        """Rows left out, all reasons."""
        return sum(e.count for e in self.exclusions)


def evaluate_expression(
    frame: pd.DataFrame, spec: AnalysisSpec, what: str, expr: object
) -> pd.Series:
    """``frame.eval(expr)`` as a Series on the frame's index; a bad expression raises."""
    try:
        return pd.Series(frame.eval(str(expr)), index=frame.index)
    except Exception as exc:  # pandas raises many types for a bad expression
        raise OptionError(f"{spec.label!r}: {what} {expr!r} cannot be evaluated: {exc}") from exc


def as_floats(values: pd.Series) -> np.ndarray:
    """A numeric (or boolean) column as float64, missing values as NaN."""
    return pd.to_numeric(values.astype("Float64")).to_numpy(dtype=float, na_value=np.nan)


def _ids(frame: pd.DataFrame, mask: np.ndarray, keep_ids: bool) -> tuple[object, ...]:
    if not keep_ids:
        return ()
    ids = frame["patient_id"] if "patient_id" in frame.columns else frame.index.to_series()
    return tuple(ids[mask].tolist())  # only the rows left out become Python objects


def _not_eligible(frame: pd.DataFrame, outcome: str) -> list[tuple[str, np.ndarray]]:
    """Rows a goal endpoint is undefined for by design, by reason (not "missing").

    ``at_goal_m`` exists only for patients uncontrolled on ``m`` at baseline
    (and, for a goal that applies with diabetes only, who have diabetes); the
    composites only for patients uncontrolled on at least one measure. The
    rows outside are "not eligible" (or "missing baseline"), so that "missing
    <outcome>" counts only missing follow-up (lost or not). Rows with a value
    are never left out, so results do not change.

    The reason of each row is its status from
    :func:`~coachstats.derive.endpoints.derive_endpoints` (``status_<outcome>``),
    so that the methods text and the CONSORT flow name the same reason for every
    patient; without the status column, the ``uncontrolled_*`` flags decide
    (they cannot tell "no diabetes" from a missing baseline). Without either,
    nothing is left out.
    """
    if not is_goal_endpoint(outcome) or outcome not in frame.columns:
        return []
    missing = frame[outcome].isna().to_numpy()
    measure = goal_endpoint_measure(outcome)
    status_col = f"status_{outcome}"
    flag = f"uncontrolled_{measure}" if measure is not None else None
    groups: list[tuple[str, np.ndarray]]
    if status_col in frame.columns:
        status = frame[status_col]  # compared as it is (categorical codes), never made text
        never = (status == "not eligible").to_numpy(dtype=bool, na_value=False)
        base = (status == "missing baseline").to_numpy(dtype=bool, na_value=False)
        if measure is None:
            groups = [
                ("not eligible: uncontrolled at baseline on no measure", never),
                ("missing baseline on every measure", base),
            ]
        else:
            controlled = (
                (frame[flag].astype("boolean") == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
                if flag in frame.columns
                else never
            )
            groups = [
                ("not eligible: controlled at baseline", never & controlled),
                ("not eligible: no diabetes", never & ~controlled),
                (f"missing baseline {measure}", base),
            ]
    elif measure is not None:
        if flag not in frame.columns:
            return []
        unc = frame[flag].astype("boolean")
        groups = [
            ("not eligible: controlled at baseline", (unc == False).fillna(False).to_numpy(bool)),  # noqa: E712
            (f"missing baseline {measure}", unc.isna().to_numpy(dtype=bool)),
        ]
    else:
        if "n_uncontrolled" not in frame.columns:
            return []
        none = (pd.to_numeric(frame["n_uncontrolled"]) == 0).fillna(False).to_numpy(dtype=bool)
        flags = [c for c in frame.columns if str(c).startswith("uncontrolled_")]
        unknown = frame[flags].isna().all(axis=1).to_numpy(dtype=bool) if flags else ~none
        groups = [
            ("not eligible: uncontrolled at baseline on no measure", none & ~unknown),
            ("missing baseline on every measure", none & unknown),
        ]
    out = []
    taken = np.zeros(len(frame), dtype=bool)
    for why, mask in groups:
        hit = missing & mask & ~taken
        if hit.any():
            out.append((why, hit))
            taken |= hit
    return out


def analysed_columns(frame: pd.DataFrame, spec: AnalysisSpec) -> list[Any] | None:
    """The columns of ``frame`` that a spec's rules and comparison can read, in frame order.

    Every name the spec mentions (outcome, arm, covariates, cluster, ``by``,
    ``complete_on``, ``change_from``, the names in ``subset``, and every
    option value naming columns, alone (``fixed_effects``) or in an expression
    (``where``, ``formula``)), plus ``patient_id`` and the eligibility flags of a
    goal endpoint. None (every column) under multiple imputation, whose
    imputation model takes the measurement columns, or when an expression
    refers to names in a way this cannot read (backticks, ``@`` variables).

    Examples
    --------
    >>> df = pd.DataFrame(columns=["patient_id", "arm", "site", "age", "x", "y"])
    >>> analysed_columns(df, AnalysisSpec("x", "linear", covariates=("age",), subset="site == 'A'"))
    ['patient_id', 'arm', 'site', 'age', 'x']
    """
    if spec.missing == "mi":
        return None
    names: set[Any] = {spec.outcome, spec.arm, "patient_id", *spec.covariates, *spec.complete_on}
    names.update(x for x in (spec.cluster, spec.change_from, spec.by) if x)
    measure = goal_endpoint_measure(spec.outcome)
    names.update(("n_uncontrolled", f"status_{spec.outcome}"))
    if measure is not None:
        names.add(f"uncontrolled_{measure}")
    elif is_goal_endpoint(spec.outcome):  # a composite: the flags of every measure
        names.update(c for c in frame.columns if str(c).startswith("uncontrolled_"))
    texts = [spec.subset] if spec.subset else []
    for value in spec.options.values():  # a column name, a list of them, or an expression
        texts += [v for v in (value if isinstance(value, (list, tuple)) else [value])]
    for text in texts:
        if not isinstance(text, str):
            continue
        if "`" in text or "@" in text:
            return None
        names.add(text)
        names.update(subset_names(text))
    return [c for c in frame.columns if c in names]


def select_rows(
    frame: pd.DataFrame,
    spec: AnalysisSpec,
    *,
    keep_ids: bool = True,
    columns: Sequence[Any] | None = None,
) -> RowSelection:
    """Apply ``subset``, the eligibility of goal endpoints, and ``complete_on``.

    Parameters
    ----------
    frame : DataFrame
        The spec's table (with derived endpoints when it uses them).
    spec : AnalysisSpec
        The analysis.
    keep_ids : bool
        Record the ids of the rows left out (an engine streaming millions of
        rows may count them only).
    columns : sequence, optional
        Keep only these columns in the selected frame (e.g.
        :func:`analysed_columns`): the rows are copied once, for the columns
        the analysis reads, not for every column of a wide table.

    Returns
    -------
    RowSelection
        The analysed rows and one :class:`Exclusion` per reason that left rows out,
        in the order the rules apply.
    """
    exclusions: list[Exclusion] = []
    keep = np.ones(len(frame), dtype=bool)  # every rule is row by row: one mask, one copy

    def drop(mask: np.ndarray, reason: str) -> None:
        hit = mask & keep
        if hit.any():
            exclusions.append(Exclusion(reason, int(hit.sum()), _ids(frame, hit, keep_ids)))
            keep[hit] = False

    if spec.subset:
        inside = evaluate_expression(frame, spec, "subset", spec.subset)
        drop(
            ~inside.astype("boolean").fillna(False).to_numpy(dtype=bool),
            f"outside the analysed subgroup {spec.subset}",
        )
    if spec.missing != "mi":  # imputation may make a patient eligible: keep every row
        for why, hit in _not_eligible(frame, spec.outcome):
            drop(hit, why)
    if spec.complete_on:
        absent = [c for c in spec.complete_on if c not in frame.columns]
        if absent:
            raise ColumnNotFoundError(f"{spec.label!r}: complete_on column(s) {absent} not found")
        incomplete = ~frame[list(spec.complete_on)].notna().all(axis=1).to_numpy()
        drop(incomplete, f"missing {' or '.join(spec.complete_on)}")
    if columns is not None:
        frame = frame[list(columns)]
    if not keep.all():
        frame = frame.loc[keep]
    return RowSelection(frame, tuple(exclusions))


def change_name(spec: AnalysisSpec) -> str:
    """The analysed column's name: the outcome, or ``"<outcome> - <change_from>"``."""
    return f"{spec.outcome} - {spec.change_from}" if spec.change_from else spec.outcome


def with_change(frame: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.DataFrame, str]:
    """Add ``outcome - change_from`` when the spec asks for it; return the frame and the column."""
    if not spec.change_from:
        return frame, spec.outcome
    for c in (spec.outcome, spec.change_from):
        if c not in frame.columns:
            raise ColumnNotFoundError(f"{spec.label!r}: column {c!r} not found")
    name = change_name(spec)
    out = frame.copy(deep=False)
    out[name] = as_floats(frame[spec.outcome]) - as_floats(frame[spec.change_from])
    return out, name


def with_singleton_clusters(frame: pd.DataFrame, spec: AnalysisSpec) -> pd.DataFrame:
    """With ``singleton_clusters=True``, rows without a cluster id get a cluster of their own."""
    if not (spec.cluster and spec.options.get("singleton_clusters")):
        return frame
    if spec.cluster not in frame.columns:
        raise ColumnNotFoundError(f"{spec.label!r}: cluster column {spec.cluster!r} not found")
    from coachstats.compare.prepare import own_clusters  # the compare package is heavy to import

    ids = frame[spec.cluster]
    return frame.assign(**{spec.cluster: own_clusters(ids, ids.isna().to_numpy())})


def with_exclusions(
    result: ComparisonResult, exclusions: tuple[Exclusion, ...]
) -> ComparisonResult:
    """The result with the plan's exclusions added to its own (count and reason text)."""
    if not exclusions:
        return result
    reasons = [str(e) for e in exclusions]
    if result.excluded_reason:
        reasons.append(result.excluded_reason)
    return result.replace(
        n_excluded=result.n_excluded + sum(e.count for e in exclusions),
        excluded_reason=", ".join(reasons),
        exclusions=(*exclusions, *result.exclusions),
    )

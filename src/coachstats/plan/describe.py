"""Descriptive summaries without a test: :func:`describe` (the ``describe`` method of plans)."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError, ColumnNotFoundError, check_option
from coachstats.core.results import ArmSummary, ComparisonResult
from coachstats.plan.rows import as_floats, evaluate_expression
from coachstats.plan.spec import DESCRIBE_STATS, AnalysisSpec, DescribeStat

__all__ = ["describe", "describe_spec"]


def describe(
    data: pd.DataFrame,
    outcome: str,
    *,
    by: str | None = "arm",
    stat: DescribeStat = "mean",
    level: Any = None,
) -> ComparisonResult:
    """Per-group descriptive summary (no test): mean (SD), proportion, or counts.

    ``stat="mean"``: mean and sample SD (``ddof=1``) of the non-missing values.
    ``stat="proportion"``: events / n among non-missing values of a binary column,
    or of ``outcome == level`` for a categorical one. ``stat="n"``: rows with a
    non-missing value. ``stat="n_unique"``: distinct non-missing values.
    Groups are the arms (treatment first, as in every comparison), the sorted
    levels of another column, or ``"all"`` when ``by`` is None. With two
    groups ``estimate`` is group 1 - group 2; with one, the group's value.
    ``p_value`` is NaN: no test is made.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["usual_care", "coaching", "coaching", "usual_care"],
    ...                    "sex": ["female", "male", "female", None]})
    >>> r = describe(df, "sex", stat="proportion", level="female")
    >>> [(a.arm, a.events, a.n) for a in r.arms]
    [('coaching', 1, 2), ('usual_care', 1, 1)]
    >>> describe(df, "sex", by=None, stat="n").arms[0].n
    3
    """
    check_option("stat", stat, DESCRIBE_STATS)
    cols = [outcome] + ([by] if by else [])
    missing_cols = [c for c in cols if c not in data.columns]
    if missing_cols:
        raise ColumnNotFoundError(
            f"column(s) {missing_cols} not found; available: {', '.join(map(str, data.columns))}"
        )
    values = data[outcome]
    present = values.notna().to_numpy()
    if by is None:
        groups: list[tuple[str, np.ndarray]] = [("all", np.ones(len(data), dtype=bool))]
    else:
        g = data[by].astype(object)
        labels = sorted(str(x) for x in pd.unique(g.dropna()))
        if by == "arm" and len(labels) == 2:
            from coachstats.compare.prepare import resolve_arms

            labels = list(resolve_arms(g.dropna().astype(str).rename(by)))
        gs = g.astype(str).to_numpy()
        groups = [(lab, (gs == lab) & g.notna().to_numpy()) for lab in labels]
    if not groups:
        raise AnalysisError(f"column '{by}' has no non-missing groups to describe")
    arms = []
    for lab, mask in groups:
        sel = mask & present
        n = int(sel.sum())
        if stat == "mean":
            x = as_floats(values[sel])
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            arms.append(ArmSummary(lab, n, value=mean, sd=sd))
        elif stat == "proportion":
            v = values[sel]
            hits = (v.astype(object) == level) if level is not None else v.astype("boolean")
            events = int(np.asarray(hits, dtype=bool).sum())
            arms.append(ArmSummary(lab, n, events=events, value=events / n if n else math.nan))
        elif stat == "n":
            arms.append(ArmSummary(lab, n, value=float(n)))
        else:
            k = int(pd.unique(values[sel]).size)
            arms.append(ArmSummary(lab, n, value=float(k)))
    estimand = {"mean": "mean", "proportion": "proportion", "n": "count", "n_unique": "count"}[stat]
    estimate = arms[0].value - arms[1].value if len(arms) == 2 else arms[0].value
    return ComparisonResult(
        outcome=outcome,
        method=f"describe ({stat})",
        estimand=("difference in " + estimand) if len(arms) == 2 else estimand,
        estimate=float(estimate),
        arms=tuple(arms),
        n_excluded=int((~present).sum()),
        excluded_reason=f"missing {outcome} ({int((~present).sum())})" if (~present).any() else "",
    )


def describe_spec(frame: pd.DataFrame, outcome: str, spec: AnalysisSpec) -> ComparisonResult:
    """A ``describe`` spec on its selected rows: :func:`describe`, or the share meeting ``where``."""
    stat = cast(DescribeStat, spec.options.get("stat", "mean"))
    where = spec.options.get("where")
    if where is not None:
        # proportion of rows meeting a condition, e.g. "seen at 12 and 24 months"
        hit = evaluate_expression(frame, spec, "where", where)
        frame = frame.assign(**{"__where__": hit.astype("boolean").fillna(False)})
        result = describe(frame, "__where__", by=spec.by, stat="proportion")
        return result.replace(outcome=f"{outcome}: {where}")
    return describe(frame, outcome, by=spec.by, stat=stat, level=spec.options.get("level"))

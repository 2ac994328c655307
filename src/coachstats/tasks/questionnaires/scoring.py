"""Scoring glue: the questionnaire scores a table needs, derived from the items when absent.

:func:`source_items` maps a score column (``trust_12``, ``pacic_0``,
``recommend_definitely_12``) to the item columns it is computed from, with
the names of :func:`coachstats.plan.derive_scores`.

Examples
--------
>>> source_items("recommend_definitely_12", ["recommend_12"])
('recommend', '12', ['recommend_12'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from coachstats.core.errors import (
    ColumnNotFoundError,
    OptionError,
)
from coachstats.derive import scales
from coachstats.plan import (
    derive_scores,
)

__all__ = [
    "score_questionnaires",
    "scored",
    "source_items",
]


def source_items(column: str, columns: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """``(instrument label, month, item columns)`` a score column is computed from.

    Follows the names of :func:`coachstats.plan.derive_scores`; None when
    the column is not a score or its items are not all in ``columns``.
    """
    present = set(map(str, columns))
    items: list[str]
    if m := re.fullmatch(r"trust_(\d+)", column):
        label, month = "trust", m.group(1)
        items = scales.item_columns("trust", scales.TRUST_N_ITEMS, month)
    elif m := re.fullmatch(r"pacic(?:_([a-z_]+?))?_(\d+)", column):
        sub, month = m.group(1), m.group(2)
        numbers = scales.PACIC_SUBSCALES.get(sub or "", range(1, scales.PACIC_N_ITEMS + 1))
        label = "PACIC" if sub is None else f"PACIC {sub}"
        items = [f"pacic_q{k}_{month}" for k in numbers]
    elif m := re.fullmatch(r"(recommend|recommend_pcp)_definitely_(\d+)", column):
        label, month = m.group(1), m.group(2)
        items = [f"{m.group(1)}_{month}"]
    else:
        return None
    return (label, month, items) if set(items) <= present else None


def score_questionnaires(data: pd.DataFrame) -> pd.DataFrame:
    """Add the questionnaire scores whose item columns are present.

    A thin wrapper of :func:`coachstats.plan.derive_scores` (the scoring
    used by ``run_plan`` and ``reproduce``): ``trust_<m>`` (0-100, at least 9
    of 11 items), ``pacic_<m>`` and ``pacic_<subscale>_<m>`` (1-5), and
    ``recommend_definitely_<m>`` / ``recommend_pcp_definitely_<m>`` (4 of 4 on
    the 4-point items). Score columns already present are kept as they are, so
    scores computed with other options (:mod:`coachstats.derive.scales`) can be
    passed in directly.

    Examples
    --------
    >>> import pandas as pd
    >>> items = scales.item_columns("trust", 11, 0)
    >>> df = pd.DataFrame([[2, 4, 4, 4, 2, 4, 2, 4, 4, 4, 2]], columns=items)
    >>> score_questionnaires(df)["trust_0"].tolist()
    [75.0]
    """
    return derive_scores(data)


def scored(data: pd.DataFrame, needed: Sequence[str]) -> pd.DataFrame:
    """``data`` with the needed score columns, derived from the items when absent."""
    if not isinstance(data, pd.DataFrame):
        raise OptionError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if all(c in data.columns for c in needed):
        return data
    out = derive_scores(data)
    absent = [c for c in needed if c not in out.columns]
    if absent:
        hints = []
        for c in absent:
            src = source_items(c, _all_item_names(c))
            if src is not None:
                items = src[2]
                hints.append(f"{c} (or its items {items[0]} .. {items[-1]})")
            else:
                hints.append(c)
        raise ColumnNotFoundError(
            f"column(s) {', '.join(hints)} not found; available columns: "
            f"{', '.join(map(str, data.columns))}"
        )
    return out


def _all_item_names(column: str) -> list[str]:
    """Every item name a score column could be computed from (for error messages)."""
    month = column.rsplit("_", 1)[-1]
    names = scales.item_columns("trust", scales.TRUST_N_ITEMS, month)
    names += scales.item_columns("pacic", scales.PACIC_N_ITEMS, month)
    names += [f"recommend_{month}", f"recommend_pcp_{month}"]
    return names

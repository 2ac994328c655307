r"""Multiplicity adjustment of P values across a table of results (R ``p.adjust``).

With the :math:`m` non-missing P values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`:

- Bonferroni: :math:`\tilde p_i = \min(1, m p_i)`;
- Holm (step-down):
  :math:`\tilde p_{(i)} = \min\{1, \max_{j \le i} (m - j + 1) p_{(j)}\}`;
- Benjamini-Hochberg (false discovery rate, step-up):
  :math:`\tilde p_{(i)} = \min\{1, \min_{j \ge i} m p_{(j)}/j\}`.

Missing P values (NaN) stay missing and do not count in :math:`m`, as in R.

References
----------
Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat
1979;6:65-70. Benjamini Y, Hochberg Y. Controlling the false discovery rate.
J R Stat Soc B 1995;57:289-300.

Examples
--------
>>> adjust_pvalues([0.01, 0.04, 0.03, float("nan")], method="holm").round(2).tolist()
[0.03, 0.06, 0.06, nan]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from coachstats.compare.prepare import require_columns
from coachstats.core.errors import AnalysisError, check_option

__all__ = ["adjust_pvalues", "adjust_table"]

AdjustMethod = Literal["holm", "bh", "bonferroni"]
METHODS: tuple[str, ...] = ("holm", "bh", "bonferroni")


def adjust_pvalues(
    p: ArrayLike, method: AdjustMethod = "holm", *, n: int | None = None
) -> NDArray[np.float64]:
    """Adjusted P values, the same as R ``p.adjust(p, method, n)``.

    Parameters
    ----------
    p : array_like
        P values in [0, 1]; NaN marks a missing one.
    method : {"holm", "bh", "bonferroni"}
        ``"bh"`` is R's ``"BH"`` (alias ``"fdr"``).
    n : int, optional
        Number of comparisons, at least the number of non-missing P values
        (their number by default). Only set it when some tests are not in ``p``.

    Returns
    -------
    ndarray
        Same shape as ``p``.

    Raises
    ------
    AnalysisError
        Values outside [0, 1] (other than NaN), or ``n`` below the count.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.02, 0.03, 0.5], method="bh").round(12).tolist()
    [0.04, 0.04, 0.04, 0.5]
    >>> adjust_pvalues([0.01, 0.02, 0.03, 0.5], method="bonferroni").tolist()
    [0.04, 0.08, 0.12, 1.0]
    """
    check_option("method", method, METHODS)
    values = np.asarray(p, dtype=float)
    flat = values.ravel()
    present = ~np.isnan(flat)
    bad = present & ((flat < 0.0) | (flat > 1.0))
    if bad.any():
        raise AnalysisError(
            f"P values must be in [0, 1]; got {flat[bad][:10].tolist()} "
            f"at positions {np.flatnonzero(bad)[:10].tolist()}"
        )
    q = flat[present]
    m = len(q)
    total = m if n is None else int(n)
    if total < m:
        raise AnalysisError(f"n={n} is smaller than the {m} non-missing P values")
    out = np.full(flat.shape, np.nan)
    if m == 0:
        return out.reshape(values.shape)
    if method == "bonferroni":
        adjusted = np.minimum(1.0, total * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = (total - np.arange(m)) * q[order]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    else:
        order = np.argsort(-q, kind="stable")  # decreasing, ties in input order (as R)
        ranks = np.arange(m, 0, -1)
        steps = total / ranks * q[order]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(1.0, np.minimum.accumulate(steps))
    out[present] = adjusted
    return out.reshape(values.shape)


def adjust_table(
    df: pd.DataFrame,
    method: AdjustMethod = "holm",
    *,
    p_col: str = "p_value",
    out_col: str = "p_adjusted",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """A copy of a tidy results table with adjusted P values added.

    Parameters
    ----------
    df : DataFrame
        E.g. ``coachstats.core.results.tidy(results)``.
    method : {"holm", "bh", "bonferroni"}
        See :func:`adjust_pvalues`.
    p_col : str
        Column of P values.
    out_col : str
        New column of adjusted P values; a column ``adjust_method`` records the
        method.
    by : str or list of str, optional
        Adjust separately within each group of these columns (families of tests).

    Examples
    --------
    >>> t = pd.DataFrame({"outcome": ["a", "b", "c"], "p_value": [0.01, 0.04, 0.03]})
    >>> adjust_table(t, "bh")
      outcome  p_value  p_adjusted adjust_method
    0       a     0.01        0.03            bh
    1       b     0.04        0.04            bh
    2       c     0.03        0.04            bh
    """
    check_option("method", method, METHODS)
    keys = [by] if isinstance(by, str) else list(by or [])
    require_columns(df, [p_col, *keys])
    out = df.copy()
    p = pd.to_numeric(out[p_col], errors="coerce").to_numpy(dtype=float)
    not_numeric = np.isnan(p) & out[p_col].notna().to_numpy()
    if not_numeric.any():
        raise AnalysisError(
            f"column '{p_col}' has non-numeric values in rows {list(out.index[not_numeric][:10])}"
        )
    if keys:
        group = out.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        adjusted = np.full(len(p), np.nan)
        for g in np.unique(group):  # one iteration per family of tests, not per row
            mask = group == g
            adjusted[mask] = adjust_pvalues(p[mask], method)
    else:
        adjusted = adjust_pvalues(p, method)
    out[out_col] = adjusted
    out["adjust_method"] = method
    return out

"""Normal, t and chi-square tail functions through ``scipy.special``.

These are the same special functions ``scipy.stats`` calls for these
distributions (``ndtr``/``ndtri``, ``stdtr``/``stdtrit``, ``chdtrc``), so the
numbers are identical; importing ``scipy.special`` alone is about a second
faster than importing ``scipy.stats``, which keeps ``coachstats reproduce``
quick to start.

Examples
--------
>>> round(norm_ppf(0.975), 6), round(2 * norm_sf(1.959964), 4)
(1.959964, 0.05)
>>> round(t_ppf(0.975, 10), 6), round(chi2_sf(3.841459, 1), 4)
(2.228139, 0.05)
>>> round(chi2_isf(0.05, 1), 6), round(f_sf(4.964603, 1, 10), 4)
(3.841459, 0.05)
"""

from __future__ import annotations

from types import ModuleType

from scipy import special

__all__ = [
    "chi2_isf",
    "chi2_sf",
    "f_sf",
    "norm_ppf",
    "norm_sf",
    "scipy_stats",
    "t_ppf",
    "t_sf",
]


def norm_sf(x: float) -> float:
    """Upper tail of the standard normal, ``P(Z > x)``."""
    return float(special.ndtr(-x))


def norm_ppf(q: float) -> float:
    """Standard normal quantile."""
    return float(special.ndtri(q))


def t_sf(x: float, df: float) -> float:
    """Upper tail of Student's t with ``df`` degrees of freedom (``df = inf`` is the normal)."""
    if df == float("inf"):
        return norm_sf(x)
    return float(special.stdtr(df, -x))


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (``df = inf`` is the normal)."""
    if df == float("inf"):
        return norm_ppf(q)
    return float(special.stdtrit(df, q))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail of the chi-square distribution with ``df`` degrees of freedom."""
    return float(special.chdtrc(df, x))


def chi2_isf(p: float, df: float) -> float:
    """The chi-square value with upper-tail probability ``p`` (R ``qchisq(p, df, lower.tail = FALSE)``)."""
    return float(special.chdtri(df, p))


def f_sf(x: float, df1: float, df2: float) -> float:
    """Upper tail of the F distribution with ``df1`` and ``df2`` degrees of freedom."""
    return float(special.fdtrc(df1, df2, x))


def scipy_stats() -> ModuleType:
    """``scipy.stats``, imported on first use (exact tests only; it is slow to import)."""
    from scipy import stats

    return stats

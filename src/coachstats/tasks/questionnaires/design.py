"""Design effects in the questionnaires' old argument order (thin wrappers).

The one definition is :mod:`coachstats.compare.clustering`
(``design_effect(icc, cluster_size, *, cluster_cv)`` and
``design_effect_difference(icc, cluster_sizes, treated)``); these wrappers keep
the order this module always had, because existing code and tests call it.
"""

from __future__ import annotations

import numpy.typing as npt

from coachstats.compare import clustering

__all__ = [
    "design_effect",
    "design_effect_difference",
]


def design_effect(cluster_sizes: npt.ArrayLike, icc: float) -> float:
    """:func:`coachstats.compare.clustering.design_effect` with the sizes first (old order).

    A thin wrapper kept because existing code and tests call it as
    ``design_effect(cluster_sizes, icc)``; new code should call
    ``coachstats.compare.clustering.design_effect(icc, cluster_sizes)``, the one
    definition (which also takes a mean size with its CV).

    Examples
    --------
    >>> round(design_effect([10, 30], 0.05), 4)  # m_w = (100 + 900) / 40 = 25
    2.2
    """
    return clustering.design_effect(icc, cluster_sizes)


def design_effect_difference(
    cluster_sizes: npt.ArrayLike, treated: npt.ArrayLike, icc: float
) -> float:
    """:func:`coachstats.compare.clustering.design_effect_difference` with ``icc`` last (old order).

    A thin wrapper kept because existing code and tests call it in this
    order; new code should call
    ``coachstats.compare.clustering.design_effect_difference(icc, cluster_sizes, treated)``.

    Examples
    --------
    >>> design_effect_difference([10, 10], [5, 5], 0.2)  # arms balanced within clusters
    0.8
    """
    return clustering.design_effect_difference(icc, cluster_sizes, treated)

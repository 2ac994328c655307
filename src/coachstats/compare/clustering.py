r"""Design effects of clustering: how much patients nested in coaches or clinics cost.

Two functions, both with the intracluster correlation :math:`\rho` first:

- :func:`design_effect` -- the variance inflation of a mean (or of a
  difference between arms that are allocated whole clusters),
  :math:`1 + (m_w - 1)\rho`. Give the mean cluster size (and, for unequal
  clusters, the coefficient of variation of the sizes) when planning, or
  the observed sizes themselves;
- :func:`design_effect_difference` -- the inflation of the unadjusted
  difference between arms when both arms are seen within the same clusters
  (individually randomized patients who share clinicians).

:mod:`coachstats.tasks.power` inflates sample sizes by :func:`design_effect`;
:mod:`coachstats.tasks.questionnaires` reports both next to its
clustering-aware analyses.

References
----------
Donner A, Klar N. Design and Analysis of Cluster Randomization Trials in Health
Research. Arnold; 2000 (ch. 5).
Eldridge SM, Ashby D, Kerry S. Sample size for cluster randomized trials: effect of
coefficient of variation of cluster size and analysis method. Int J Epidemiol.
2006;35:1292-1300.
Kahan BC, Morris TP. Assessing potential sources of clustering in individually
randomised trials. BMC Med Res Methodol 2013;13:58.

Examples
--------
Coaches with 10 analysed patients each and :math:`\rho = .05`, then three
clinicians who rated 10, 20 and 30 visits:

>>> design_effect(0.05, 10)
1.45
>>> round(design_effect(0.05, [10, 20, 30]), 4)  # m_w = 1400 / 60
2.1167
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from coachstats.core.errors import AnalysisError, OptionError, check_number

__all__ = ["design_effect", "design_effect_difference"]


def _icc(icc: object) -> float:
    """The intracluster correlation, checked to be a number in [0, 1]."""
    rho = check_number("icc", icc)
    if not 0.0 <= rho <= 1.0:
        raise OptionError(
            f"icc={icc!r} is not allowed; the intracluster correlation icc must be in [0, 1]"
        )
    return rho


def _sizes(cluster_sizes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Observed cluster sizes: a non-empty 1-d array of positive numbers."""
    m = np.asarray(cluster_sizes, dtype=float)
    if m.ndim != 1 or m.size == 0 or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise AnalysisError(
            f"cluster sizes must be a non-empty 1-d array of positive numbers, got {m!r}"
        )
    return m


def design_effect(
    icc: float, cluster_size: float | npt.ArrayLike, *, cluster_cv: float = 0.0
) -> float:
    r"""Variance inflation of a mean by clustering (also of arms allocated whole clusters).

    .. math::

        \mathrm{DE} = 1 + (m_w - 1)\,\rho, \qquad
        m_w = (1 + \mathrm{CV}^2)\,\bar m = \frac{\sum_g m_g^2}{\sum_g m_g}

    with :math:`\rho` the intracluster correlation, :math:`\bar m` the mean
    cluster size and CV the coefficient of variation of the sizes (population
    SD over mean). With equal clusters (CV 0) it is the familiar
    :math:`1 + (m - 1)\rho`. The effective sample size is :math:`n / \mathrm{DE}`.

    Two forms, one formula:

    - **planning** -- ``cluster_size`` a number, the mean analysed patients per
      cluster (a coach's caseload, >= 1), and optionally ``cluster_cv``;
    - **observed sizes** -- ``cluster_size`` a sequence of the sizes
      :math:`m_g` (each > 0); :math:`m_w` is computed from them, so
      ``cluster_cv`` must stay 0.

    When both arms are seen within every cluster, the difference between arms
    is inflated by :func:`design_effect_difference` instead.

    Parameters
    ----------
    icc : float
        Intracluster correlation, in [0, 1].
    cluster_size : float or array_like
        Mean patients per cluster (>= 1), or the size of every cluster.
    cluster_cv : float
        Coefficient of variation of the cluster sizes (>= 0), with a mean size.

    Returns
    -------
    float
        The design effect, >= 1 for a mean size >= 1.

    Raises
    ------
    OptionError
        ``icc`` outside [0, 1], a mean size below 1, a negative CV, or a CV
        given with the sizes.
    AnalysisError
        Sizes that are not a non-empty list of positive numbers.

    Examples
    --------
    >>> design_effect(0.05, 10)
    1.45
    >>> round(design_effect(0.05, 75, cluster_cv=0.4), 4)  # Eldridge 2006: 1 + 86 * .05
    5.3
    >>> round(design_effect(0.05, [20, 20, 20]), 10)  # 1 + 19 * .05
    1.95
    >>> round(design_effect(0.05, [10, 30]), 4)  # m_w = (100 + 900) / 40 = 25
    2.2
    """
    rho = _icc(icc)
    cv = check_number("cluster_cv", cluster_cv)
    if cv < 0.0:
        raise OptionError(f"cluster_cv must be >= 0, got {cluster_cv!r}")
    if np.ndim(cluster_size) == 0:  # planning: a mean size
        m = check_number("cluster_size", cluster_size)
        if m < 1.0:
            raise OptionError(f"cluster_size (mean patients per cluster) must be >= 1, got {m!r}")
        m_w = (1.0 + cv * cv) * m
    else:
        if cv != 0.0:
            raise OptionError(
                "cluster_cv applies to a mean cluster size; with the sizes themselves the "
                "variation is taken from them: leave cluster_cv at 0"
            )
        sizes = _sizes(cluster_size)
        m_w = float((sizes**2).sum() / sizes.sum())
    return 1.0 + (m_w - 1.0) * rho


def design_effect_difference(
    icc: float, cluster_sizes: npt.ArrayLike, treated: npt.ArrayLike
) -> float:
    r"""Design effect of the unadjusted difference between arms when arms share clusters.

    Under a random-intercept model (:math:`\operatorname{var} y = \sigma^2 +
    \tau^2`, :math:`\rho = \tau^2 / (\sigma^2 + \tau^2)`), the difference of
    the arm means, :math:`\hat\delta = \sum_i x_i y_i / \sum_i x_i^2` with
    :math:`x_i = A_i - p`, has variance :math:`x^\top V x / (x^\top x)^2`,
    while the t test assumes :math:`(\sigma^2 + \tau^2) / x^\top x`. Their
    ratio is

    .. math:: DE_\delta = 1 - \rho + \rho\,\kappa, \qquad
              \kappa = \frac{\sum_g (t_g - m_g p)^2}{n\,p\,(1 - p)}

    with :math:`m_g` the size of cluster :math:`g`, :math:`t_g` its
    treated count, :math:`n = \sum_g m_g` and :math:`p = \sum_g t_g / n`.
    When every cluster has the same share of each arm, :math:`\kappa = 0` and
    :math:`DE_\delta = 1 - \rho` (the cluster effect cancels: the t test is
    conservative); when each cluster is wholly in one arm (and the arms have
    the same :math:`m_w`), :math:`\kappa = m_w` and it is
    :func:`design_effect`. Individually randomized patients seen by shared
    clinicians lie in between, according to how unevenly the arms are spread
    over the clinicians.

    Parameters
    ----------
    icc : float
        Intraclass correlation in [0, 1].
    cluster_sizes : array_like
        Observations per cluster (all > 0).
    treated : array_like
        Treated observations per cluster (``0 <= t_g <= m_g``; both arms present
        overall).

    Examples
    --------
    >>> design_effect_difference(0.2, [10, 10], [5, 5])  # arms balanced within clusters
    0.8
    >>> design_effect_difference(0.2, [10, 10], [10, 0])  # one arm per cluster: 1 + 9 * 0.2
    2.8
    """
    m = _sizes(cluster_sizes)
    t = np.asarray(treated, dtype=float)
    if t.shape != m.shape or np.any(t < 0) or np.any(t > m):
        raise AnalysisError(
            "treated counts must match the cluster sizes and lie in 0..m_g; "
            f"got sizes {m.tolist()} and treated {t.tolist()}"
        )
    rho = _icc(icc)
    n = float(m.sum())
    p = float(t.sum()) / n
    if not 0.0 < p < 1.0:
        raise AnalysisError(f"both arms must be present (treated share {p})")
    kappa = float(((t - m * p) ** 2).sum()) / (n * p * (1.0 - p))
    return 1.0 - rho + rho * kappa

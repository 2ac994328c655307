r"""Statistics recovered from published summaries: pooled and combined SDs, SEs from a CI or a P.

Papers print arm means and SDs, confidence intervals and P values, rarely the
standard error a comparison or a meta-analysis needs. These functions derive
it, so that a derived number is computed in code from the printed ones and
never typed in:

- :func:`pooled_sd` -- the pooled SD of two arms (the two-sample t test's);
- :func:`combined_mean_sd` -- mean and SD of the union of groups (arms
  printed separately, compared as one population);
- :func:`se_mean_difference` -- the SE of a difference of two means from the
  arms' SDs and sizes;
- :func:`se_from_ci` -- the SE behind a Wald interval, on the scale it is
  symmetric on (log for ratios);
- :func:`se_from_p` -- the SE behind a two-sided Wald P value and its estimate.

The registry of published trials (:mod:`coachstats.trials`) applies them to
the printed values, with the rounding of the printed numbers.

References
----------
Higgins JPT, et al. (eds). Cochrane Handbook for Systematic Reviews of
Interventions, version 6.4, 2023, section 6.5.2 (SEs from CIs and P values;
combining groups, Table 6.5.a).

Examples
--------
>>> round(pooled_sd(2.8, 122, 3.1, 114), 4)
2.9487
>>> round(se_from_ci(-1.4, -0.14), 4)  # (upper - lower) / (2 x 1.96)
0.3214
>>> round(se_from_p(0.121, 0.02), 4)  # |estimate| / z(1 - .02 / 2)
0.052
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from coachstats.compare.dist import norm_ppf
from coachstats.compare.proportions import normal_quantile
from coachstats.core.errors import AnalysisError, OptionError, check_number

__all__ = ["combined_mean_sd", "pooled_sd", "se_from_ci", "se_from_p", "se_mean_difference"]


def pooled_sd(sd1: float, n1: float, sd2: float, n2: float) -> float:
    r"""Pooled standard deviation of two groups (the two-sample t test's).

    .. math:: s_p = \sqrt{\frac{(n_1 - 1)s_1^2 + (n_2 - 1)s_2^2}{n_1 + n_2 - 2}}

    Raises
    ------
    OptionError
        An SD that is not > 0, or sizes below 1 or summing to 2 or less.

    Examples
    --------
    Peer trial HbA1c change, 2.8 (n 122) and 3.1 (n 114):

    >>> round(pooled_sd(2.8, 122, 3.1, 114), 4)
    2.9487
    """
    s1, s2 = check_number("sd1", sd1), check_number("sd2", sd2)
    for name, s in (("sd1", s1), ("sd2", s2)):
        if s <= 0.0:
            raise OptionError(f"{name} must be > 0, got {s!r}")
    m1, m2 = check_number("n1", n1), check_number("n2", n2)
    if m1 < 1 or m2 < 1 or m1 + m2 <= 2:
        raise OptionError(f"n1 and n2 must be >= 1 with n1 + n2 > 2, got {n1!r} and {n2!r}")
    return math.sqrt(((m1 - 1) * s1 * s1 + (m2 - 1) * s2 * s2) / (m1 + m2 - 2))


def combined_mean_sd(
    means: Sequence[float], sds: Sequence[float], n: Sequence[int]
) -> tuple[float, float]:
    r"""Mean and SD of the union of groups, from each group's mean, SD and size.

    .. math::

        \bar y = \frac{\sum_g n_g \bar y_g}{N}, \qquad
        s^2 = \frac{\sum_g (n_g - 1) s_g^2 + \sum_g n_g (\bar y_g - \bar y)^2}{N - 1}

    (the within-group plus the between-group sum of squares; Cochrane
    Handbook Table 6.5.a for two groups). SDs may be NaN when only means are
    known: the SD is then NaN.

    Raises
    ------
    OptionError
        Lists of different lengths, an empty list, or a size below 1.

    Examples
    --------
    Peer baseline HbA1c, 10.05 (2.0) in 122 and 9.85 (2.0) in 114:

    >>> [round(v, 4) for v in combined_mean_sd([10.05, 9.85], [2.0, 2.0], [122, 114])]
    [9.9534, 1.9983]
    """
    if not (len(means) == len(sds) == len(n)) or not means:
        raise OptionError(
            f"give one mean, SD and size per group; got {len(means)}, {len(sds)} and {len(n)}"
        )
    if any(k < 1 for k in n):
        raise OptionError(f"group sizes must be >= 1, got {list(n)}")
    total = float(sum(n))
    mean = sum(k * m for k, m in zip(n, means, strict=True)) / total
    within = sum((k - 1) * s * s for k, s in zip(n, sds, strict=True))
    between = sum(k * (m - mean) ** 2 for k, m in zip(n, means, strict=True))
    sd = math.sqrt((within + between) / (total - 1)) if total > 1 else math.nan
    return mean, sd


def se_mean_difference(sd1: float, n1: float, sd2: float, n2: float) -> float:
    r"""Standard error of the difference of two independent means, from the arms' SDs and sizes.

    :math:`SE = \sqrt{s_1^2/n_1 + s_2^2/n_2}`, unpooled as in Welch's t test
    (Cochrane Handbook section 6.5.2.3); for the peer trial's HbA1c changes,
    2.8 (n 122) and 3.1 (n 114):

    >>> round(se_mean_difference(2.8, 122, 3.1, 114), 4)
    0.3854

    An SD below 0 or a size below 1 raises :class:`OptionError`.
    """
    arms = [
        (check_number(f"sd{i}", s), check_number(f"n{i}", k))
        for i, s, k in ((1, sd1, n1), (2, sd2, n2))
    ]
    if any(s < 0.0 for s, _ in arms):
        raise OptionError(f"SDs must be >= 0, got {sd1!r} and {sd2!r}")
    if any(k < 1 for _, k in arms):
        raise OptionError(f"n1 and n2 must be >= 1, got {n1!r} and {n2!r}")
    return math.sqrt(sum(s**2 / k for s, k in arms))


def se_from_ci(
    conf_low: float, conf_high: float, conf_level: float = 0.95, *, log_scale: bool = False
) -> float:
    r"""Standard error behind a symmetric Wald interval: :math:`(U - L) / (2 z_{1-\alpha/2})`.

    With ``log_scale=True`` (ratios: odds ratio, relative risk) the interval
    is symmetric on the log scale and the SE is that of the log ratio,
    :math:`(\ln U - \ln L) / (2 z)`.

    Raises
    ------
    OptionError
        Bounds not finite, not increasing, or not positive on the log scale;
        ``conf_level`` outside (0, 1).

    Examples
    --------
    >>> round(se_from_ci(0.05, 0.19), 5)
    0.03571
    >>> round(se_from_ci(1.2, 3.0, log_scale=True), 4)  # (ln 3 - ln 1.2) / 3.92
    0.2338
    """
    lo, hi = check_number("conf_low", conf_low), check_number("conf_high", conf_high)
    if not lo < hi:
        raise OptionError(f"the interval must have conf_low < conf_high, got {lo} to {hi}")
    if log_scale:
        if lo <= 0.0:
            raise OptionError(f"a ratio's interval must be positive, got {lo} to {hi}")
        lo, hi = math.log(lo), math.log(hi)
    return (hi - lo) / (2.0 * normal_quantile(conf_level))


def se_from_p(estimate: float, p: float) -> float:
    r"""Standard error behind a two-sided Wald P value: :math:`|\hat\theta| / z_{1-P/2}`.

    ``estimate`` is on the scale of the test (log for ratios). A P of 1 gives
    an infinite SE.

    Raises
    ------
    AnalysisError
        A zero or non-finite estimate (no SE follows from P), or P outside (0, 1].

    Examples
    --------
    >>> round(se_from_p(-0.77, 0.01), 4)  # 0.77 / 2.5758
    0.2989
    """
    est = abs(float(estimate))
    if est == 0.0 or not math.isfinite(est):
        raise AnalysisError(
            f"a standard error cannot be derived from P for an estimate of {estimate}"
        )
    if not 0.0 < p <= 1.0:
        raise AnalysisError(f"a P value in (0, 1] is needed to derive a standard error, got {p}")
    if p >= 1.0:
        return math.inf
    return est / -norm_ppf(p / 2.0)  # z_{1-P/2} = -z_{P/2}, as scipy's norm.isf

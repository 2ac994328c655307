r"""Inverse-variance pooling, Cochran's Q, :math:`I^2` and DerSimonian-Laird random effects.

The evaluation of a program against the published trials
(:mod:`coachstats.tasks.evaluate`) puts independent estimates of one effect side by
side -- the program's and each trial's -- and asks whether they agree. For
:math:`k` estimates :math:`y_i` with standard errors :math:`s_i` and weights
:math:`w_i = 1/s_i^2`:

- fixed (common) effect: :math:`\hat\mu_F = \sum w_i y_i / \sum w_i`,
  :math:`SE = (\sum w_i)^{-1/2}`;
- Cochran's :math:`Q = \sum w_i (y_i - \hat\mu_F)^2`, referred to
  :math:`\chi^2_{k-1}`;
- :math:`I^2 = \max\{0, (Q - (k-1))/Q\}` (Higgins & Thompson 2002), the share
  of the variation between estimates beyond chance, and
  :math:`H^2 = Q/(k-1)` (fixed effect) or :math:`(\hat\tau^2 + \tilde s^2)/\tilde s^2
  = \max\{1, Q/(k-1)\}` (DerSimonian-Laird), as ``metafor`` reports them;
- DerSimonian-Laird between-estimate variance
  :math:`\hat\tau^2 = \max\{0, (Q - (k-1)) / (\sum w_i - \sum w_i^2/\sum w_i)\}`,
  random-effects weights :math:`w_i^* = 1/(s_i^2 + \hat\tau^2)` and
  :math:`\hat\mu_R = \sum w_i^* y_i / \sum w_i^*`, :math:`SE = (\sum w_i^*)^{-1/2}`.

Intervals and tests are normal (Wald), as R ``metafor::rma(method = "FE")``
and ``rma(method = "DL")`` by default. With :math:`k = 2` the test of
heterogeneity is the z test of the difference of the two estimates
(:func:`difference_test`): :math:`Q = z^2`.

Ratios (odds ratios) are pooled on the log scale: pass log estimates and
their SEs, and exponentiate the results (``MetaResult.transformed``).

References
----------
Cochran WG. The combination of estimates from different experiments.
Biometrics 1954;10:101-129.
DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials
1986;7:177-188.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis.
Stat Med 2002;21:1539-1558.
Altman DG, Bland JM. Interaction revisited: the difference between two
estimates. BMJ 2003;326:219.

Examples
--------
The HCPC composite risk difference (0.121, SE 0.052) and a program's (0.02, SE 0.03):

>>> d = difference_test(0.02, 0.03, 0.121, 0.052)
>>> round(d.estimate, 3), round(d.statistic, 3), d.format_p()
(-0.101, -1.682, '.09')
>>> m = pool([0.02, 0.121], [0.03, 0.052])
>>> round(m.q, 3) == round(d.statistic**2, 3), round(m.i2, 3)
(True, 0.647)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from coachstats.compare.prepare import require_columns
from coachstats.compare.proportions import check_conf_level, normal_quantile
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ComparisonResult, TidyResult, p_phrase

__all__ = [
    "METHODS",
    "MetaResult",
    "cochran_q",
    "difference_test",
    "meta_analysis",
    "pool",
]

Method = Literal["DL", "fixed"]
METHODS: tuple[str, ...] = get_args(Method)
Transform = Literal["identity", "exp"]


def _arrays(estimates: ArrayLike, std_errors: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(std_errors, dtype=float).ravel()
    if y.shape != s.shape:
        raise AnalysisError(
            f"estimates and standard errors differ in length ({y.size} and {s.size})"
        )
    bad = ~(np.isfinite(y) & np.isfinite(s) & (s > 0))
    if bad.any():
        raise AnalysisError(
            "every estimate must be finite with a finite standard error > 0; "
            f"problem at position(s) {np.flatnonzero(bad).tolist()} "
            f"(estimates {y[bad].tolist()}, SEs {s[bad].tolist()})"
        )
    return y, s


def cochran_q(estimates: ArrayLike, std_errors: ArrayLike) -> tuple[float, int, float]:
    r"""Cochran's :math:`Q`, its degrees of freedom :math:`k - 1` and its P value.

    :math:`Q = \sum_i w_i (y_i - \hat\mu_F)^2` with :math:`w_i = 1/s_i^2`,
    P from :math:`\chi^2_{k-1}`.

    Raises
    ------
    AnalysisError
        Fewer than 2 estimates, or a non-finite estimate or SE, or an SE <= 0.

    Examples
    --------
    >>> q, df, p = cochran_q([0.1, 0.3, 0.2], [0.05, 0.05, 0.1])
    >>> round(q, 4), df, round(p, 4)
    (8.0, 2, 0.0183)
    """
    y, s = _arrays(estimates, std_errors)
    if y.size < 2:
        raise AnalysisError(f"Cochran's Q needs at least 2 estimates, got {y.size}")
    w = 1.0 / s**2
    mu = float(w @ y / w.sum())
    q = float(w @ (y - mu) ** 2)
    df = int(y.size - 1)
    return q, df, float(stats.chi2.sf(q, df))


def difference_test(
    estimate1: float,
    std_error1: float,
    estimate2: float,
    std_error2: float,
    *,
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("program", "published"),
    outcome: str = "outcome",
    estimand: str = "difference of estimates",
) -> ComparisonResult:
    r"""z test of the difference between two independent estimates.

    .. math::

        d = \hat\theta_1 - \hat\theta_2,\qquad SE_d = \sqrt{SE_1^2 + SE_2^2},\qquad
        z = d / SE_d,

    two-sided normal P and interval :math:`d \pm z_{1-\alpha/2} SE_d`
    (Altman & Bland 2003). Ratios are compared on the log scale (pass log
    estimates).

    Returns
    -------
    ComparisonResult
        ``estimate`` = :math:`d`; ``arms`` hold the two estimates (``value``)
        with their SEs in ``sd``.

    Examples
    --------
    >>> r = difference_test(-0.1, 0.2, -0.77, 0.385)
    >>> round(r.estimate, 2), round(r.std_error, 4), r.format_p()
    (0.67, 0.4338, '.12')
    """
    from coachstats.core.results import ArmSummary

    y, s = _arrays([estimate1, estimate2], [std_error1, std_error2])
    z_crit = normal_quantile(conf_level)
    d = float(y[0] - y[1])
    se = float(math.hypot(s[0], s[1]))
    z = d / se
    return ComparisonResult(
        outcome=outcome,
        method="z test of the difference of independent estimates",
        estimand=estimand,
        estimate=d,
        std_error=se,
        conf_low=d - z_crit * se,
        conf_high=d + z_crit * se,
        conf_level=float(conf_level),
        statistic=z,
        statistic_name="z",
        p_value=float(2.0 * stats.norm.sf(abs(z))),
        arms=(
            ArmSummary(labels[0], 0, value=float(y[0]), sd=float(s[0])),
            ArmSummary(labels[1], 0, value=float(y[1]), sd=float(s[1])),
        ),
    )


@dataclass(frozen=True)
class MetaResult(TidyResult):
    """A pooled estimate with its heterogeneity statistics.

    ``estimate``/``std_error``/``conf_low``/``conf_high``/``statistic``/
    ``p_value`` belong to the model named in ``method`` (``"DL"``: random
    effects; ``"fixed"``: common effect); ``fixed_*`` always hold the common
    effect. ``i2`` is a fraction in [0, 1] (multiply by 100 for %).
    ``transform="exp"`` marks log-scale inputs (odds ratios): see
    :meth:`transformed`.
    """

    method: str
    k: int
    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    statistic: float
    p_value: float
    q: float
    q_df: int
    q_p_value: float
    i2: float
    h2: float
    tau2: float
    fixed_estimate: float
    fixed_std_error: float
    weights: tuple[float, ...]
    labels: tuple[str, ...]
    conf_level: float = 0.95
    outcome: str = ""
    estimand: str = ""
    transform: Transform = "identity"

    def transformed(self, value: float) -> float:
        """``value`` on the reporting scale (exponentiated for log-scale inputs)."""
        return math.exp(value) if self.transform == "exp" else value

    def to_dict(self) -> dict[str, Any]:
        """One flat row (estimates on the reporting scale; SEs on the pooling scale)."""
        t = self.transformed
        z = normal_quantile(self.conf_level)
        return {
            "outcome": self.outcome,
            "estimand": self.estimand,
            "method": "DerSimonian-Laird random effects" if self.method == "DL" else "fixed effect",
            "k": self.k,
            "studies": "; ".join(self.labels),
            "estimate": t(self.estimate),
            "std_error": self.std_error,
            "conf_low": t(self.conf_low),
            "conf_high": t(self.conf_high),
            "conf_level": self.conf_level,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "fixed_estimate": t(self.fixed_estimate),
            "fixed_std_error": self.fixed_std_error,
            "fixed_conf_low": t(self.fixed_estimate - z * self.fixed_std_error),
            "fixed_conf_high": t(self.fixed_estimate + z * self.fixed_std_error),
            "q": self.q,
            "q_df": self.q_df,
            "q_p_value": self.q_p_value,
            "i2": self.i2,
            "h2": self.h2,
            "tau2": self.tau2,
            "scale": "log" if self.transform == "exp" else "identity",
        }

    def summary(self) -> str:
        """Text: pooled estimate, Q, I² and tau²."""
        row = self.to_dict()
        pct = f"{100 * self.conf_level:g}"
        name = f"{self.outcome} ({self.estimand})" if self.outcome else "pooled estimate"
        return "\n".join(
            [
                f"{name}: {row['method']}, k = {self.k} ({row['studies']})",
                f"  pooled {row['estimate']:.4g} ({pct}% CI {row['conf_low']:.4g} to "
                f"{row['conf_high']:.4g}), {p_phrase(self.p_value)}",
                f"  fixed effect {row['fixed_estimate']:.4g} ({pct}% CI "
                f"{row['fixed_conf_low']:.4g} to {row['fixed_conf_high']:.4g})",
                f"  Cochran's Q = {self.q:.3f}, df = {self.q_df}, {p_phrase(self.q_p_value)}; "
                f"I² = {100 * self.i2:.0f}%; tau² = {self.tau2:.4g}",
            ]
        )

    def __repr__(self) -> str:
        return (
            f"<MetaResult {self.outcome or 'pooled'}: k={self.k}, Q={self.q:.3g}, "
            f"I²={100 * self.i2:.0f}%, {self.method} {self.transformed(self.estimate):.4g}>"
        )


def pool(
    estimates: ArrayLike,
    std_errors: ArrayLike,
    *,
    method: Method = "DL",
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
    outcome: str = "",
    estimand: str = "",
    transform: Transform = "identity",
) -> MetaResult:
    r"""Pool independent estimates by inverse variance (fixed effect or DerSimonian-Laird).

    Formulas in the module docstring. Matches R
    ``metafor::rma(yi, sei = sei, method = "DL")`` (or ``"FE"``): estimate,
    SE, Wald interval and test, ``QE``/``QEp``, ``I2``/100, ``H2``, ``tau2``.

    Parameters
    ----------
    estimates, std_errors : array_like
        The :math:`k \ge 2` estimates and their standard errors (log scale for ratios).
    method : {"DL", "fixed"}
        Random effects (DerSimonian-Laird) or common (fixed) effect.
    conf_level : float
        Confidence level of the intervals.
    labels : sequence of str, optional
        Names of the estimates (studies).
    outcome, estimand : str
        Descriptions carried into the result.
    transform : {"identity", "exp"}
        ``"exp"``: the inputs are logs (of odds ratios); reported estimates
        are exponentiated.

    Returns
    -------
    MetaResult
        With ``weights`` (normalized, of the chosen model).

    Raises
    ------
    AnalysisError
        Fewer than 2 estimates, a non-finite estimate or SE, or an SE <= 0.

    References
    ----------
    DerSimonian R, Laird N. Control Clin Trials 1986;7:177-188. Viechtbauer W.
    Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).

    Examples
    --------
    >>> m = pool([0.1, 0.3, 0.2], [0.05, 0.05, 0.1])
    >>> round(m.tau2, 5), round(m.estimate, 4), round(m.i2, 3)
    (0.01125, 0.2, 0.75)
    >>> round(pool([0.1, 0.3, 0.2], [0.05, 0.05, 0.1], method="fixed").estimate, 4)
    0.2
    """
    check_option("method", method, METHODS)
    check_option("transform", transform, get_args(Transform))
    check_conf_level(conf_level)
    y, s = _arrays(estimates, std_errors)
    q, df, q_p = cochran_q(y, s)
    k = int(y.size)
    names = (
        tuple(str(x) for x in labels) if labels is not None else tuple(f"{i + 1}" for i in range(k))
    )
    if len(names) != k:
        raise AnalysisError(f"{len(names)} labels for {k} estimates")
    w = 1.0 / s**2
    sw = float(w.sum())
    mu_f = float(w @ y / sw)
    se_f = math.sqrt(1.0 / sw)
    c = sw - float(w @ w) / sw
    tau2 = max(0.0, (q - df) / c) if method == "DL" else 0.0
    ws = 1.0 / (s**2 + tau2)
    mu = float(ws @ y / ws.sum())
    se = math.sqrt(1.0 / float(ws.sum()))
    z_crit = normal_quantile(conf_level)
    z = mu / se
    return MetaResult(
        method=method,
        k=k,
        estimate=mu,
        std_error=se,
        conf_low=mu - z_crit * se,
        conf_high=mu + z_crit * se,
        statistic=z,
        p_value=float(2.0 * stats.norm.sf(abs(z))),
        q=q,
        q_df=df,
        q_p_value=q_p,
        i2=max(0.0, (q - df) / q) if q > 0 else 0.0,
        h2=max(1.0, q / df) if method == "DL" else q / df,
        tau2=tau2,
        fixed_estimate=mu_f,
        fixed_std_error=se_f,
        weights=tuple(float(v) for v in ws / ws.sum()),
        labels=names,
        conf_level=float(conf_level),
        outcome=outcome,
        estimand=estimand,
        transform=transform,
    )


def meta_analysis(
    data: pd.DataFrame,
    estimate: str = "estimate",
    std_error: str = "std_error",
    *,
    study: str | None = None,
    method: Method = "DL",
    conf_level: float = 0.95,
    transform: Transform = "identity",
) -> MetaResult:
    """:func:`pool` on the rows of a DataFrame (one row per study).

    Rows with a missing estimate or SE are not silently dropped: they raise
    :class:`~coachstats.core.errors.AnalysisError` naming the rows.

    Examples
    --------
    >>> df = pd.DataFrame({"trial": ["A", "B", "C"], "estimate": [0.1, 0.3, 0.2],
    ...                    "std_error": [0.05, 0.05, 0.1]})
    >>> meta_analysis(df, study="trial").labels
    ('A', 'B', 'C')
    """
    cols = [estimate, std_error] + ([study] if study else [])
    require_columns(data, cols)
    miss = data[[estimate, std_error]].isna().any(axis=1).to_numpy()
    if miss.any():
        raise AnalysisError(
            f"rows {data.index[miss].tolist()} have no {estimate!r} or {std_error!r}; "
            "remove or fill them before pooling"
        )
    labels = data[study].astype(str).tolist() if study else None
    return pool(
        data[estimate].to_numpy(dtype=float),
        data[std_error].to_numpy(dtype=float),
        method=method,
        conf_level=conf_level,
        labels=labels,
        transform=transform,
    )

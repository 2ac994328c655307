r"""Inverse-variance pooling: fixed effect and random effects (DL, REML, PM), Q, :math:`I^2`.

The evaluation of a program against the published trials
(:mod:`coachstats.tasks.evaluate`) and the evidence base
(:mod:`coachstats.tasks.evidence`) put independent estimates of one effect
side by side and pool them. For :math:`k` estimates :math:`y_i` with standard
errors :math:`s_i` and weights :math:`w_i = 1/s_i^2`:

- fixed (common) effect: :math:`\hat\mu_F = \sum w_i y_i / \sum w_i`,
  :math:`SE = (\sum w_i)^{-1/2}`;
- Cochran's :math:`Q = \sum w_i (y_i - \hat\mu_F)^2`, referred to
  :math:`\chi^2_{k-1}`;
- random effects: :math:`w_i^* = 1/(s_i^2 + \hat\tau^2)`,
  :math:`\hat\mu_R = \sum w_i^* y_i / \sum w_i^*`, :math:`SE = (\sum w_i^*)^{-1/2}`,
  with the between-study variance :math:`\hat\tau^2` by DerSimonian-Laird
  (``"DL"``, closed form), REML (``"REML"``) or Paule-Mandel (``"PM"``)
  (formulas in :mod:`coachstats.compare.meta_fit`);
- :math:`I^2` and :math:`H^2` as ``metafor`` reports them:
  :math:`I^2 = \max\{0, (Q - (k-1))/Q\}` for the fixed effect,
  :math:`\hat\tau^2/(\hat\tau^2 + \tilde s^2)` for random effects (the same
  number under DL), with Q-profile confidence limits for :math:`\tau^2`,
  :math:`I^2` and :math:`H^2`;
- intervals and tests: Wald (normal), or Hartung-Knapp-Sidik-Jonkman
  (``test="knha"``: variance scaled by :math:`s^2_w`, :math:`t_{k-1}`);
- the prediction interval for the true effect in a new comparable study,
  :math:`\hat\mu \pm c\sqrt{SE^2 + \hat\tau^2}` with :math:`c` the critical
  value of the test (:math:`t_{k-1}` under ``"knha"``), as
  ``metafor::predict.rma``; ``pi_type="riley"`` uses :math:`t_{k-2}`
  (Higgins, Thompson & Spiegelhalter 2009).

Every number matches R ``metafor::rma(yi, sei = sei, method = ..., test = ...)``,
``predict()`` and ``confint()`` (tests/reference/meta.R and evaluate.R). With
:math:`k = 2` the test of heterogeneity is the z test of the difference of
the two estimates (:func:`difference_test`): :math:`Q = z^2`.

Ratios (odds ratios) are pooled on the log scale: pass log estimates and
their SEs, and exponentiate the results (``MetaResult.transformed``). For
2x2 tables, Mantel-Haenszel pooling is in
:mod:`coachstats.compare.mantel_haenszel`; leave-one-out, subgroups and
Egger's test in :mod:`coachstats.compare.meta_checks`.

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
Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of random-effects
meta-analysis. J R Stat Soc A 2009;172:137-159.
IntHout J, Ioannidis JPA, Borm GF. The Hartung-Knapp-Sidik-Jonkman method for
random effects meta-analysis is straightforward and considerably outperforms
the standard DerSimonian-Laird method. BMC Med Res Methodol 2014;14:25.

Examples
--------
The HCPC composite risk difference (0.121, SE 0.052) and a program's (0.02, SE 0.03):

>>> d = difference_test(0.02, 0.03, 0.121, 0.052)
>>> round(d.estimate, 3), round(d.statistic, 3), d.format_p()
(-0.101, -1.682, '.09')
>>> m = pool([0.02, 0.121], [0.03, 0.052])
>>> round(m.q, 3) == round(d.statistic**2, 3), round(m.i2, 3)
(True, 0.647)

REML with Hartung-Knapp intervals and the prediction interval:

>>> r = pool([-1.07, -0.51, 0.1, -0.3], [0.39, 0.16, 0.2, 0.15], method="REML", test="knha")
>>> round(r.estimate, 3), r.df, r.pi_low < r.conf_low < r.conf_high < r.pi_high
(-0.37, 3.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from coachstats.compare.dist import chi2_sf, norm_sf
from coachstats.compare.meta_fit import METHODS, Method, Test, critical_value, fit, q_profile
from coachstats.compare.prepare import require_columns
from coachstats.compare.proportions import check_conf_level, normal_quantile
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ComparisonResult, TidyResult, p_phrase

__all__ = [
    "METHODS",
    "METHOD_NAMES",
    "PI_TYPES",
    "MetaResult",
    "cochran_q",
    "difference_test",
    "meta_analysis",
    "pool",
    "study_labels",
]

METHOD_NAMES: dict[str, str] = {
    "DL": "DerSimonian-Laird random effects",
    "REML": "REML random effects",
    "PM": "Paule-Mandel random effects",
    "fixed": "fixed effect",
    "MH": "Mantel-Haenszel fixed effect",
}
"""How each method is named in tables and text."""
PIType = Literal["default", "t", "riley"]
PI_TYPES: tuple[str, ...] = get_args(PIType)
"""Critical values of the prediction interval, as ``metafor::predict(pi.type = ...)``:
that of the test (``"default"``), :math:`t_{k-1}` (``"t"``) or :math:`t_{k-2}` (``"riley"``)."""
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


def study_labels(
    labels: Sequence[object] | None, k: int, what: str = "estimates"
) -> tuple[str, ...]:
    """The ``k`` study labels as strings (``"1"``, ``"2"``... when none are given).

    Raises
    ------
    AnalysisError
        ``labels`` has another length than ``k``.

    Examples
    --------
    >>> study_labels(None, 3), study_labels(["A", 2], 2)
    (('1', '2', '3'), ('A', '2'))
    """
    names = (
        tuple(str(x) for x in labels) if labels is not None else tuple(f"{i + 1}" for i in range(k))
    )
    if len(names) != k:
        raise AnalysisError(f"{len(names)} labels for {k} {what}")
    return names


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
    return q, df, chi2_sf(q, df)


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
        p_value=2.0 * norm_sf(abs(z)),
        arms=(
            ArmSummary(labels[0], 0, value=float(y[0]), sd=float(s[0])),
            ArmSummary(labels[1], 0, value=float(y[1]), sd=float(s[1])),
        ),
    )


@dataclass(frozen=True)
class MetaResult(TidyResult):
    """A pooled estimate with its heterogeneity statistics and prediction interval.

    ``estimate``/``std_error``/``conf_low``/``conf_high``/``statistic``/
    ``p_value`` belong to the model named in ``method`` (``"DL"``, ``"REML"``,
    ``"PM"``: random effects; ``"fixed"``: common effect; ``"MH"``:
    Mantel-Haenszel) under ``test`` (``"z"``, or ``"knha"`` with
    :math:`t` on ``df`` degrees of freedom); ``fixed_*`` always hold the
    inverse-variance common effect. ``i2`` is a fraction in [0, 1] (multiply
    by 100 for %). ``pi_low``/``pi_high`` bound the prediction interval (equal
    to the confidence interval when :math:`\\hat\\tau^2 = 0`);
    ``tau2_conf_*``, ``i2_conf_*`` and ``h2_conf_*`` are the Q-profile limits
    (NaN for the fixed-effect and Mantel-Haenszel models). ``estimates`` and
    ``std_errors`` are the inputs. ``transform="exp"`` marks log-scale
    inputs (odds ratios): see :meth:`transformed`.
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
    test: str = "z"
    df: float = math.inf
    pi_low: float = math.nan
    pi_high: float = math.nan
    tau2_conf_low: float = math.nan
    tau2_conf_high: float = math.nan
    i2_conf_low: float = math.nan
    i2_conf_high: float = math.nan
    h2_conf_low: float = math.nan
    h2_conf_high: float = math.nan
    estimates: tuple[float, ...] = ()
    std_errors: tuple[float, ...] = ()

    def transformed(self, value: float) -> float:
        """``value`` on the reporting scale (exponentiated for log-scale inputs)."""
        return math.exp(value) if self.transform == "exp" else value

    @property
    def method_name(self) -> str:
        """The model in words, e.g. ``"REML random effects (Hartung-Knapp)"``."""
        name = METHOD_NAMES.get(self.method, self.method)
        return name + (" (Hartung-Knapp)" if self.test == "knha" else "")

    def to_dict(self) -> dict[str, Any]:
        """One flat row (estimates and intervals on the reporting scale; SEs on the pooling scale)."""
        t = self.transformed
        z = normal_quantile(self.conf_level)
        return {
            "outcome": self.outcome,
            "estimand": self.estimand,
            "method": self.method_name,
            "k": self.k,
            "studies": "; ".join(self.labels),
            "estimate": t(self.estimate),
            "std_error": self.std_error,
            "conf_low": t(self.conf_low),
            "conf_high": t(self.conf_high),
            "conf_level": self.conf_level,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "pi_low": t(self.pi_low),
            "pi_high": t(self.pi_high),
            "fixed_estimate": t(self.fixed_estimate),
            "fixed_std_error": self.fixed_std_error,
            "fixed_conf_low": t(self.fixed_estimate - z * self.fixed_std_error),
            "fixed_conf_high": t(self.fixed_estimate + z * self.fixed_std_error),
            "q": self.q,
            "q_df": self.q_df,
            "q_p_value": self.q_p_value,
            "i2": self.i2,
            "i2_conf_low": self.i2_conf_low,
            "i2_conf_high": self.i2_conf_high,
            "h2": self.h2,
            "tau2": self.tau2,
            "tau2_conf_low": self.tau2_conf_low,
            "tau2_conf_high": self.tau2_conf_high,
            "scale": "log" if self.transform == "exp" else "identity",
        }

    def summary(self) -> str:
        """Text: pooled estimate, prediction interval, Q, I² and tau² with their intervals."""
        row = self.to_dict()
        pct = f"{100 * self.conf_level:g}"
        name = f"{self.outcome} ({self.estimand})" if self.outcome else "pooled estimate"
        lines = [
            f"{name}: {row['method']}, k = {self.k} ({row['studies']})",
            f"  pooled {row['estimate']:.4g} ({pct}% CI {row['conf_low']:.4g} to "
            f"{row['conf_high']:.4g}), {p_phrase(self.p_value)}",
        ]
        if not math.isnan(self.pi_low):
            lines.append(
                f"  {pct}% prediction interval {row['pi_low']:.4g} to {row['pi_high']:.4g} "
                "(where the true effect of a new comparable study is expected)"
            )
        lines.append(
            f"  fixed effect {row['fixed_estimate']:.4g} ({pct}% CI "
            f"{row['fixed_conf_low']:.4g} to {row['fixed_conf_high']:.4g})"
        )
        het = (
            f"  Cochran's Q = {self.q:.3f}, df = {self.q_df}, {p_phrase(self.q_p_value)}; "
            f"I² = {100 * self.i2:.0f}%"
        )
        if not math.isnan(self.i2_conf_low):
            het += f" ({pct}% CI {100 * self.i2_conf_low:.0f} to {100 * self.i2_conf_high:.0f}%)"
        het += f"; tau² = {self.tau2:.4g}"
        if not math.isnan(self.tau2_conf_low):
            het += f" ({pct}% CI {self.tau2_conf_low:.4g} to {self.tau2_conf_high:.4g})"
        return "\n".join([*lines, het])

    def __repr__(self) -> str:
        """One line: the model, k, the pooled estimate with its CI and P, the prediction
        interval, tau², I² and Q (NaN prints as ``nan``; nothing raises).

        Examples
        --------
        Weights 1/SE² = 100, 25, 44.4: estimate 36.94 / 169.4 = 0.218, SE 169.4^-1/2 = 0.0768,
        Q = 100 x 0.018² + 25 x 0.282² + 44.4 x 0.118² = 2.64 on 2 df, I² = (2.64 - 2) / 2.64:

        >>> pool([0.2, 0.5, 0.1], [0.1, 0.2, 0.15], method="fixed")  # doctest: +NORMALIZE_WHITESPACE
        <MetaResult pooled: fixed effect, k=3: 0.218 (95% CI 0.0675 to 0.369), P = .005;
        95% PI 0.0675 to 0.369; tau²=0, I²=24%, Q=2.64 on 2 df>
        """
        t = self.transformed
        pct = f"{100 * self.conf_level:g}%"
        text = (
            f"<MetaResult {self.outcome or 'pooled'}: {self.method_name}, k={self.k}: "
            f"{t(self.estimate):.3g} ({pct} CI {t(self.conf_low):.3g} to {t(self.conf_high):.3g}), "
            f"{p_phrase(self.p_value)}"
        )
        if not (math.isnan(self.pi_low) or math.isnan(self.pi_high)):
            text += f"; {pct} PI {t(self.pi_low):.3g} to {t(self.pi_high):.3g}"
        return (
            f"{text}; tau²={self.tau2:.3g}, I²={100 * self.i2:.0f}%, "
            f"Q={self.q:.3g} on {self.q_df} df>"
        )


def pool(
    estimates: ArrayLike,
    std_errors: ArrayLike,
    *,
    method: Method = "DL",
    test: Test = "z",
    conf_level: float = 0.95,
    pi_type: PIType = "default",
    labels: Sequence[str] | None = None,
    outcome: str = "",
    estimand: str = "",
    transform: Transform = "identity",
) -> MetaResult:
    r"""Pool independent estimates by inverse variance (fixed effect or random effects).

    Formulas in the module docstring and :mod:`coachstats.compare.meta_fit`.
    Matches R ``metafor::rma(yi, sei = sei, method = method, test = test)``
    (``"fixed"`` is metafor's ``"FE"``): estimate, SE, interval and test,
    ``QE``/``QEp``, ``I2``/100, ``H2``, ``tau2``, ``weights()``;
    ``predict()`` for the prediction interval and ``confint()`` (Q-profile)
    for the limits of :math:`\tau^2`, :math:`I^2` and :math:`H^2`.

    Parameters
    ----------
    estimates, std_errors : array_like
        The :math:`k \ge 2` estimates and their standard errors (log scale for ratios).
    method : {"DL", "fixed", "REML", "PM"}
        Random effects (DerSimonian-Laird, REML, Paule-Mandel) or common (fixed) effect.
    test : {"z", "knha"}
        Wald (normal) intervals and tests, or Hartung-Knapp-Sidik-Jonkman
        (variance scaled by :math:`s^2_w`, :math:`t_{k-1}`), recommended for
        random effects with few studies (IntHout et al. 2014).
    conf_level : float
        Confidence level of the intervals (and of the prediction interval).
    pi_type : {"default", "t", "riley"}
        Critical value of the prediction interval (see :data:`PI_TYPES`).
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
    check_option("test", test, get_args(Test))
    check_option("pi_type", pi_type, PI_TYPES)
    check_option("transform", transform, get_args(Transform))
    check_conf_level(conf_level)
    y, s = _arrays(estimates, std_errors)
    k = int(y.size)
    if k < 2:
        raise AnalysisError(f"pooling needs at least 2 estimates, got {k}")
    names = study_labels(labels, k)
    v = s**2
    f = fit(y, v, method=method, test=test)
    fixed = fit(y, v, method="fixed")  # Wald SE of the common effect, whatever the test
    mu = float(f.coef[0])
    se = float(f.std_errors[0])
    crit = critical_value(conf_level, f.df)
    pi_df = {"default": f.df, "t": k - 1.0, "riley": max(1.0, k - 2.0)}[pi_type]
    pi_half = critical_value(conf_level, pi_df) * math.sqrt(se**2 + f.tau2)
    het: dict[str, float] = {}
    if method != "fixed":
        lo, hi = q_profile(y, v, conf_level=conf_level)
        het = {
            "tau2_conf_low": lo,
            "tau2_conf_high": hi,
            "i2_conf_low": lo / (f.vt + lo),
            "i2_conf_high": hi / (f.vt + hi),
            "h2_conf_low": lo / f.vt + 1.0,
            "h2_conf_high": hi / f.vt + 1.0,
        }
    return MetaResult(
        method=method,
        k=k,
        estimate=mu,
        std_error=se,
        conf_low=mu - crit * se,
        conf_high=mu + crit * se,
        statistic=float(f.statistics[0]),
        p_value=float(f.p_values[0]),
        q=f.qe,
        q_df=k - 1,
        q_p_value=f.qe_p_value,
        i2=f.i2,
        h2=f.h2,
        tau2=f.tau2,
        fixed_estimate=float(fixed.coef[0]),
        fixed_std_error=float(fixed.std_errors[0]),
        weights=tuple(float(x) for x in f.weights),
        labels=names,
        conf_level=float(conf_level),
        outcome=outcome,
        estimand=estimand,
        transform=transform,
        test=test,
        df=f.df,
        pi_low=mu - pi_half,
        pi_high=mu + pi_half,
        estimates=tuple(float(x) for x in y),
        std_errors=tuple(float(x) for x in s),
        **het,
    )


def meta_analysis(
    data: pd.DataFrame,
    estimate: str = "estimate",
    std_error: str = "std_error",
    *,
    study: str | None = None,
    method: Method = "DL",
    test: Test = "z",
    conf_level: float = 0.95,
    pi_type: PIType = "default",
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
        test=test,
        conf_level=conf_level,
        pi_type=pi_type,
        labels=labels,
        transform=transform,
    )

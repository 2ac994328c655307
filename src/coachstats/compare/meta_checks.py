r"""Checks of a pooled estimate: leave-one-out, subgroups, and Egger's test for small-study effects.

All three start from a :class:`~coachstats.compare.meta.MetaResult` (which
keeps its inputs) and refit with its method and test:

- :func:`leave_one_out` refits without each study in turn (R
  ``metafor::leave1out``);
- :func:`subgroups` pools within subgroups (e.g. by coach type) and tests
  whether the subgroups differ, in one of the two ways ``metafor`` documents:

  * ``tau2="separate"`` (the default, as RevMan and Cochrane reviews):
    each subgroup gets its own random-effects fit (its own
    :math:`\hat\tau^2`), and the subgroup estimates are compared by the
    fixed-effect :math:`Q_{between} = \sum_g (\hat\mu_g - \bar\mu)^2 / SE_g^2`
    on :math:`G - 1` df (metafor: ``rma(estimate, sei = se, mods = ~ group,
    method = "FE")``, its ``QM``);
  * ``tau2="common"``: one meta-regression ``rma(yi, sei = sei, mods = ~
    factor(group))`` with a common :math:`\tau^2`, and its omnibus test of
    the group coefficients ``QM`` (:math:`\chi^2_{G-1}`, or
    :math:`F_{G-1,\,k-G}` under Hartung-Knapp);

- :func:`egger_test` is Egger's regression test (R ``metafor::regtest``):
  the standard error added as a moderator, :math:`y_i = \beta_0 + \beta_1 s_i`,
  and :math:`H_0: \beta_1 = 0`; ``model="rma"`` fits it with the pooled
  result's :math:`\tau^2` method and test, ``model="lm"`` is Egger's original
  weighted regression with a multiplicative dispersion (:math:`t_{k-2}`).
  :math:`\hat\beta_0` is the "limit estimate" (the effect as
  :math:`s_i \to 0`). With fewer than 10 studies the test has too little
  power to rule out small-study effects (Sterne et al. 2011): a
  :class:`~coachstats.core.errors.DataWarning` says so.

References
----------
Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected
by a simple, graphical test. BMJ 1997;315:629-634.
Sterne JAC, Sutton AJ, Ioannidis JPA, et al. Recommendations for examining
and interpreting funnel plot asymmetry in meta-analyses of randomised
controlled trials. BMJ 2011;343:d4002.
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to
Meta-Analysis. Wiley 2009, chapter 19 (subgroup analyses).

Examples
--------
>>> from coachstats.compare.meta import pool
>>> m = pool([-1.07, -0.51, 0.1, -0.3, -0.7], [0.39, 0.16, 0.2, 0.15, 0.3], method="REML")
>>> leave_one_out(m)["estimate"].round(3).tolist()
[-0.327, -0.415, -0.502, -0.481, -0.37]
>>> s = subgroups(m, ["peer", "CHW", "nurse", "nurse", "CHW"])
>>> s.groups, round(s.statistic, 3), s.df
(('CHW', 'nurse', 'peer'), 5.765, (2, inf))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from coachstats.compare.dist import t_sf
from coachstats.compare.meta import MetaResult, pool
from coachstats.compare.meta_fit import as_design, critical_value, fit
from coachstats.core.errors import AnalysisError, DataWarning, check_option
from coachstats.core.results import TidyResult, p_phrase

__all__ = [
    "EGGER_MIN_K",
    "EggerResult",
    "SubgroupResult",
    "SubgroupRow",
    "egger_test",
    "leave_one_out",
    "subgroups",
]

EGGER_MIN_K = 10
"""Fewest studies for which Egger's test and a funnel plot are informative (Sterne et al. 2011)."""
Tau2 = Literal["separate", "common"]
EggerModel = Literal["rma", "lm"]


def _inputs(result: MetaResult) -> tuple[np.ndarray, np.ndarray, str]:
    y = np.asarray(result.estimates, dtype=float)
    s = np.asarray(result.std_errors, dtype=float)
    if y.size == 0:
        raise AnalysisError(
            "this pooled result does not carry its study estimates; pool them with "
            "coachstats.compare.meta.pool"
        )
    keep = np.isfinite(y) & np.isfinite(s)
    # a Mantel-Haenszel result is checked through its per-table inverse-variance estimates
    method = "fixed" if result.method == "MH" else result.method
    return y[keep], s[keep], method


def leave_one_out(result: MetaResult) -> pd.DataFrame:
    """The pooled estimate without each study in turn (R ``metafor::leave1out``).

    Returns
    -------
    DataFrame
        One row per omitted study: ``omitted``, ``estimate``, ``std_error``,
        ``statistic``, ``p_value``, ``conf_low``, ``conf_high`` (estimate and
        limits on the reporting scale), ``pi_low``, ``pi_high``, ``q``,
        ``q_p_value``, ``tau2``, ``i2`` (fraction), ``h2``.

    Raises
    ------
    AnalysisError
        Fewer than 3 studies (leaving one out must leave two to pool).
    """
    y, s, method = _inputs(result)
    if y.size < 3:
        raise AnalysisError(f"leave-one-out needs at least 3 studies, got {y.size}")
    labels = [
        lab for lab, e in zip(result.labels, result.estimates, strict=True) if math.isfinite(e)
    ]
    rows = []
    for i in range(y.size):
        keep = np.arange(y.size) != i
        m = pool(
            y[keep],
            s[keep],
            method=method,  # type: ignore[arg-type]
            test=result.test,  # type: ignore[arg-type]
            conf_level=result.conf_level,
            transform=result.transform,
        )
        t = m.transformed
        rows.append(
            {
                "omitted": labels[i],
                "estimate": t(m.estimate),
                "std_error": m.std_error,
                "statistic": m.statistic,
                "p_value": m.p_value,
                "conf_low": t(m.conf_low),
                "conf_high": t(m.conf_high),
                "pi_low": t(m.pi_low),
                "pi_high": t(m.pi_high),
                "q": m.q,
                "q_p_value": m.q_p_value,
                "tau2": m.tau2,
                "i2": m.i2,
                "h2": m.h2,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SubgroupRow:
    """One subgroup's pooled estimate (pooling scale) with its heterogeneity."""

    group: str
    k: int
    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    tau2: float
    i2: float
    q: float
    q_p_value: float


@dataclass(frozen=True)
class SubgroupResult(TidyResult):
    """Subgroup estimates and the test for subgroup differences.

    ``statistic`` is :math:`Q_{between}` (``tau2="separate"``) or the
    moderators' ``QM`` (``tau2="common"``: chi-square, or F under
    Hartung-Knapp with ``df = (G - 1, k - G)``); ``df[1]`` is infinite for
    chi-square tests. ``tau2`` is the common :math:`\\tau^2` (NaN for
    separate fits, whose own values are in the rows).
    """

    tau2_model: str
    method: str
    test: str
    groups: tuple[str, ...]
    rows: tuple[SubgroupRow, ...]
    statistic: float
    df: tuple[int, float]
    p_value: float
    tau2: float
    conf_level: float
    transform: str = "identity"
    outcome: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup (estimates and limits on the reporting scale)."""
        t = math.exp if self.transform == "exp" else (lambda x: x)
        return pd.DataFrame(
            [
                {
                    "group": r.group,
                    "k": r.k,
                    "estimate": t(r.estimate),
                    "std_error": r.std_error,
                    "conf_low": t(r.conf_low),
                    "conf_high": t(r.conf_high),
                    "tau2": r.tau2,
                    "i2": r.i2,
                    "q": r.q,
                    "q_p_value": r.q_p_value,
                }
                for r in self.rows
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """The test for subgroup differences as one flat row."""
        return {
            "outcome": self.outcome,
            "groups": "; ".join(self.groups),
            "tau2_model": self.tau2_model,
            "method": self.method,
            "test": self.test,
            "statistic": self.statistic,
            "df1": self.df[0],
            "df2": self.df[1],
            "p_value": self.p_value,
            "tau2": self.tau2,
        }

    def summary(self) -> str:
        """Text: the subgroup table and the test for subgroup differences."""
        name = "Q between subgroups" if self.tau2_model == "separate" else "QM (moderator test)"
        df = f"{self.df[0]}" if math.isinf(self.df[1]) else f"{self.df[0]}, {self.df[1]:g}"
        return (
            self.to_frame().round(3).to_string(index=False)
            + f"\n{name} = {self.statistic:.3f} (df {df}), {p_phrase(self.p_value)}"
            + ("; subgroups have separate tau²" if self.tau2_model == "separate" else "")
        )


def _single(
    group: str, y: np.ndarray, s: np.ndarray, result: MetaResult, method: str
) -> SubgroupRow:
    if y.size == 1:
        crit = critical_value(result.conf_level)
        e, se = float(y[0]), float(s[0])
        return SubgroupRow(group, 1, e, se, e - crit * se, e + crit * se, 0.0, 0.0, 0.0, 1.0)
    m = pool(y, s, method=method, test=result.test, conf_level=result.conf_level)  # type: ignore[arg-type]
    return SubgroupRow(
        group, m.k, m.estimate, m.std_error, m.conf_low, m.conf_high, m.tau2, m.i2, m.q, m.q_p_value
    )


def subgroups(
    result: MetaResult,
    groups: Sequence[object],
    *,
    tau2: Tau2 = "separate",
) -> SubgroupResult:
    """Pool within subgroups and test for subgroup differences (see the module docstring).

    Parameters
    ----------
    result : MetaResult
        The overall pooled result (its method, test and level are reused).
    groups : sequence
        The subgroup of each study, in the order of ``result.labels``.
    tau2 : {"separate", "common"}
        Separate :math:`\\tau^2` per subgroup with a :math:`Q_{between}` test,
        or one meta-regression with a common :math:`\\tau^2` and its ``QM``.

    Returns
    -------
    SubgroupResult
        Subgroups in sorted order.

    Raises
    ------
    AnalysisError
        Fewer than 2 subgroups, or a group label per study missing.
    """
    check_option("tau2", tau2, get_args(Tau2))
    y_all = np.asarray(result.estimates, dtype=float)
    g_all = np.asarray([str(g) for g in groups], dtype=object)
    if g_all.size != y_all.size:
        raise AnalysisError(f"{g_all.size} group labels for {y_all.size} studies")
    finite = np.isfinite(y_all) & np.isfinite(np.asarray(result.std_errors, dtype=float))
    y, s, method = _inputs(result)
    g = g_all[finite]
    levels = tuple(sorted(set(g.tolist())))
    if len(levels) < 2:
        raise AnalysisError(f"subgroup analysis needs at least 2 subgroups, got {list(levels)}")
    if tau2 == "separate":
        rows = tuple(_single(lv, y[g == lv], s[g == lv], result, method) for lv in levels)
        est = np.array([r.estimate for r in rows])
        se = np.array([r.std_error for r in rows])
        between = fit(est, se**2, method="fixed")
        return SubgroupResult(
            "separate",
            method,
            result.test,
            levels,
            rows,
            between.qe,
            (len(levels) - 1, math.inf),
            between.qe_p_value,
            math.nan,
            result.conf_level,
            result.transform,
            result.outcome,
        )
    dummies = np.column_stack([(g == lv).astype(float) for lv in levels[1:]])
    f = fit(y, s**2, as_design(y.size, dummies), method=method, test=result.test)  # type: ignore[arg-type]
    crit = critical_value(result.conf_level, f.df)
    rows_c = []
    for j, lv in enumerate(levels):
        x = np.zeros(len(levels))
        x[0] = 1.0
        if j:
            x[j] = 1.0
        e = float(x @ f.coef)
        se_j = math.sqrt(float(x @ f.vcov @ x))
        rows_c.append(
            SubgroupRow(
                lv,
                int((g == lv).sum()),
                e,
                se_j,
                e - crit * se_j,
                e + crit * se_j,
                f.tau2,
                math.nan,
                math.nan,
                math.nan,
            )
        )
    return SubgroupResult(
        "common",
        method,
        result.test,
        levels,
        tuple(rows_c),
        f.qm,
        f.qm_df,
        f.qm_p_value,
        f.tau2,
        result.conf_level,
        result.transform,
        result.outcome,
    )


@dataclass(frozen=True)
class EggerResult(TidyResult):
    """Egger's regression test: the SE's coefficient test and the limit estimate.

    ``statistic`` is :math:`z` (or :math:`t` on ``df``); ``limit_*`` is the
    intercept :math:`\\hat\\beta_0` with its interval (pooling scale).
    """

    k: int
    model: str
    method: str
    test: str
    statistic: float
    df: float
    p_value: float
    limit_estimate: float
    limit_conf_low: float
    limit_conf_high: float
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        """One flat row."""
        return {
            "k": self.k,
            "model": self.model,
            "method": self.method,
            "test": self.test,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "limit_estimate": self.limit_estimate,
            "limit_conf_low": self.limit_conf_low,
            "limit_conf_high": self.limit_conf_high,
        }

    def summary(self) -> str:
        """One line: the test of funnel-plot asymmetry, worded by its P and k."""
        name = "t" if math.isfinite(self.df) else "z"
        df = f" (df {self.df:g})" if math.isfinite(self.df) else ""
        caveat = (
            f"; with k = {self.k} < {EGGER_MIN_K} the test cannot rule out small-study effects"
            if self.k < EGGER_MIN_K
            else ""
        )
        return (
            f"Egger's test for funnel-plot asymmetry: {name} = {self.statistic:.3f}{df}, "
            f"{p_phrase(self.p_value)}; limit estimate {self.limit_estimate:.4g} "
            f"({100 * self.conf_level:g}% CI {self.limit_conf_low:.4g} to "
            f"{self.limit_conf_high:.4g}){caveat}"
        )


def egger_test(result: MetaResult, *, model: EggerModel = "rma") -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry (R ``metafor::regtest``).

    Parameters
    ----------
    result : MetaResult
        The pooled result; ``model="rma"`` refits with its method and test.
    model : {"rma", "lm"}
        The meta-regression on the SE (metafor's default), or Egger's
        weighted linear regression.

    Returns
    -------
    EggerResult

    Raises
    ------
    AnalysisError
        Fewer than 3 studies.

    Warns
    -----
    DataWarning
        Fewer than :data:`EGGER_MIN_K` studies.

    Examples
    --------
    >>> import warnings
    >>> from coachstats.compare.meta import pool
    >>> m = pool([-1.07, -0.51, 0.1, -0.3, -0.7], [0.39, 0.16, 0.2, 0.15, 0.3], method="REML")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     e = egger_test(m, model="lm")
    >>> round(e.statistic, 3), e.df
    (-0.988, 3.0)
    """
    check_option("model", model, get_args(EggerModel))
    y, s, method = _inputs(result)
    k = int(y.size)
    if k < 3:
        raise AnalysisError(f"Egger's test needs at least 3 studies, got {k}")
    if k < EGGER_MIN_K:
        warnings.warn(
            f"Egger's test with k = {k} studies (< {EGGER_MIN_K}) has little power: a "
            "non-significant result does not rule out small-study effects (Sterne et al. 2011)",
            DataWarning,
            stacklevel=2,
        )
    x = as_design(k, s)
    if model == "rma":
        f = fit(y, s**2, x, method=method, test=result.test)  # type: ignore[arg-type]
        coef, se, df = f.coef, f.std_errors, f.df
    else:
        w = 1.0 / s**2
        wx = w[:, None] * x
        xtwx_inv = np.linalg.inv(x.T @ wx)
        coef = xtwx_inv @ (wx.T @ y)
        sigma2 = float(w @ (y - x @ coef) ** 2) / (k - 2)
        se = np.sqrt(np.diag(sigma2 * xtwx_inv))
        df = float(k - 2)
    stat = float(coef[1] / se[1])
    crit = critical_value(result.conf_level, df)
    return EggerResult(
        k=k,
        model=model,
        method=method,
        test=result.test if model == "rma" else "t",
        statistic=stat,
        df=df,
        p_value=2.0 * t_sf(abs(stat), df),
        limit_estimate=float(coef[0]),
        limit_conf_low=float(coef[0] - crit * se[0]),
        limit_conf_high=float(coef[0] + crit * se[0]),
        conf_level=result.conf_level,
    )

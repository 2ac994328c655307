"""Rubin's rules: pool one parameter, or whole comparison results, over imputations.

:func:`rubin_pool` pools an estimate and its variance over ``m`` imputed
datasets with the Barnard-Rubin (1999) degrees of freedom, exactly as R's
``mice::pool``; :func:`pool_results` does it for the
:class:`~coachstats.core.results.ComparisonResult` of any comparison run on
each completed dataset (ratios on the log scale). The imputations themselves
come from :func:`coachstats.compare.imputation.impute`; the driver that runs
both is :func:`coachstats.compare.missing.multiple_imputation`.

References
----------
Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.

Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation.
Biometrika 1999;86(4):948-955. doi:10.1093/biomet/86.4.948

Examples
--------
>>> p = rubin_pool([0.9, 1.1, 1.0], [0.04, 0.04, 0.04])
>>> round(p.estimate, 3), round(p.b, 3), round(p.t, 4)
(1.0, 0.01, 0.0533)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coachstats.compare.dist import norm_ppf, t_ppf, t_sf
from coachstats.core.errors import AnalysisError, check_conf_level
from coachstats.core.formatting import is_ratio_estimand
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "PooledEstimate",
    "barnard_rubin_df",
    "check_result",
    "pool_results",
    "rubin_pool",
]


@dataclass(frozen=True)
class PooledEstimate:
    """One parameter pooled over ``m`` imputations by Rubin's rules.

    Names follow ``mice::pool``: ``estimate`` (qbar), ``ubar`` (mean
    within-imputation variance), ``b`` (between-imputation variance), ``t``
    (total variance), ``riv`` (relative increase in variance), ``lambda_``
    (proportion of variance due to missingness), ``fmi`` (fraction of missing
    information), ``df`` (Barnard-Rubin), ``df_complete`` (complete-data df).
    """

    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    conf_level: float
    statistic: float
    df: float
    p_value: float
    m: int
    ubar: float
    b: float
    t: float
    riv: float
    lambda_: float
    fmi: float
    df_complete: float


def barnard_rubin_df(m: int, b: float, t: float, df_complete: float = math.inf) -> float:
    """Barnard-Rubin (1999) degrees of freedom, as ``mice:::barnard.rubin``.

    .. math::

        \\lambda = (1 + 1/m)\\, b / t \\quad (\\text{at least } 10^{-4}),\\qquad
        \\nu_{old} = (m - 1) / \\lambda^2,

        \\nu_{obs} = \\frac{\\nu_{com} + 1}{\\nu_{com} + 3}\\,\\nu_{com}\\,(1 - \\lambda),
        \\qquad \\nu = \\frac{\\nu_{old}\\,\\nu_{obs}}{\\nu_{old} + \\nu_{obs}}

    and :math:`\\nu = \\nu_{old}` (Rubin 1987) when :math:`\\nu_{com}` is
    infinite. The floor on :math:`\\lambda` is mice's; it keeps the df finite
    when the imputations agree exactly.

    Examples
    --------
    >>> round(barnard_rubin_df(5, 0.02, 0.1), 4)
    69.4444
    >>> round(barnard_rubin_df(5, 0.02, 0.1, df_complete=100), 4)
    35.9474
    """
    lam = max((1.0 + 1.0 / m) * b / t, 1e-4)
    df_old = (m - 1) / lam**2
    if math.isinf(df_complete):
        return df_old
    df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
    return df_old * df_obs / (df_old + df_obs)


def rubin_pool(
    estimates: Sequence[float] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    *,
    df_complete: float = math.inf,
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool one parameter over imputations by Rubin's rules (``mice::pool``).

    .. math::

        \\bar q = \\frac1m\\sum_i \\hat q_i,\\quad
        \\bar u = \\frac1m\\sum_i u_i,\\quad
        b = \\frac{1}{m-1}\\sum_i (\\hat q_i - \\bar q)^2,\\quad
        t = \\bar u + (1 + 1/m)\\, b,

        r = (1 + 1/m)\\, b / \\bar u,\\quad
        \\lambda = (1 + 1/m)\\, b / t,\\quad
        \\gamma = \\frac{r + 2/(\\nu + 3)}{r + 1}

    with :math:`\\nu` from :func:`barnard_rubin_df`; the test is
    :math:`\\bar q / \\sqrt t \\sim t_\\nu` and the interval
    :math:`\\bar q \\pm t_{\\nu, 1-\\alpha/2} \\sqrt t`, as ``summary.mipo``
    and ``confint.mipo`` compute them.

    Parameters
    ----------
    estimates, variances : sequences of length m
        The complete-data estimate and its squared standard error from each
        imputed dataset.
    df_complete : float
        Degrees of freedom of the complete-data analysis (``dfcom``; mice
        takes the residual df of the first fit, n - k for lm and glm).
        Infinite gives Rubin's (1987) df. Values below 1 become 1, as in mice.
    conf_level : float
        Confidence level of the interval.

    Raises
    ------
    AnalysisError
        ``m < 2``, lengths differ, non-finite input, negative variances, or a
        total variance of zero.

    Examples
    --------
    >>> p = rubin_pool([1.0, 1.2, 0.9, 1.1, 1.05], [0.04] * 5, df_complete=100)
    >>> round(p.estimate, 4), round(p.t, 6), round(p.df, 2), round(p.fmi, 4)
    (1.05, 0.055, 30.66, 0.3159)
    """
    q = np.asarray(estimates, dtype=float).ravel()
    u = np.asarray(variances, dtype=float).ravel()
    m = len(q)
    if m < 2:
        raise AnalysisError(
            f"Rubin's rules need m >= 2 imputations (got {m}); the between-imputation "
            "variance cannot be estimated from one"
        )
    if len(u) != m:
        raise AnalysisError(f"{m} estimates but {len(u)} variances")
    if not (np.isfinite(q).all() and np.isfinite(u).all()):
        raise AnalysisError("estimates and variances must be finite for every imputation")
    if (u < 0).any():
        raise AnalysisError(f"variances must be >= 0; got {u[u < 0].tolist()}")
    check_conf_level(conf_level)
    if not df_complete > 0:
        raise AnalysisError(f"df_complete must be positive, got {df_complete}")
    dfcom = max(float(df_complete), 1.0)
    qbar = float(q.mean())
    ubar = float(u.mean())
    b = float(q.var(ddof=1))
    t = ubar + (1.0 + 1.0 / m) * b
    if t <= 0.0:
        raise AnalysisError(
            "total variance is zero: every imputation gave the same estimate with zero "
            "standard error; there is nothing to test"
        )
    df = barnard_rubin_df(m, b, t, dfcom)
    riv = (1.0 + 1.0 / m) * b / ubar if ubar > 0 else math.inf
    lam = (1.0 + 1.0 / m) * b / t
    fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0) if math.isfinite(riv) else 1.0
    se = math.sqrt(t)
    stat = qbar / se
    df_test = max(df, 0.001)
    p = float(2.0 * t_sf(abs(stat), df_test))
    crit = float(t_ppf(0.5 + conf_level / 2.0, df))
    return PooledEstimate(
        estimate=qbar,
        std_error=se,
        conf_low=qbar - crit * se,
        conf_high=qbar + crit * se,
        conf_level=conf_level,
        statistic=stat,
        df=df,
        p_value=p,
        m=m,
        ubar=ubar,
        b=b,
        t=t,
        riv=riv,
        lambda_=lam,
        fmi=fmi,
        df_complete=dfcom,
    )


# --------------------------------------------------------------------------- pooling results


def check_result(result: object) -> None:
    """Raise an :class:`AnalysisError` unless ``result`` is a ComparisonResult.

    The analyses handed to the missing-data drivers must return one.
    """
    if not isinstance(result, ComparisonResult):
        raise AnalysisError(
            f"the analysis must return a ComparisonResult, got {type(result).__name__}"
        )


def _is_t_based(r: ComparisonResult) -> bool:
    return r.statistic_name.strip().lower().startswith("t") and math.isfinite(r.df)


def _critical(r: ComparisonResult) -> float:
    upper = 0.5 + r.conf_level / 2.0
    return float(t_ppf(upper, r.df) if _is_t_based(r) else norm_ppf(upper))


def _on_pooling_scale(r: ComparisonResult) -> tuple[float, float]:
    """(estimate, variance) of one result on the scale where it is pooled."""
    if is_ratio_estimand(r.estimand):
        if not (r.estimate > 0 and r.conf_low > 0 and math.isfinite(r.conf_high)):
            raise AnalysisError(
                f"cannot pool {r.estimand} {r.estimate} with CI ({r.conf_low}, {r.conf_high}) "
                "on the log scale: the ratio and its CI must be positive and finite "
                "(zero events in an arm of an imputed dataset?)"
            )
        se = (math.log(r.conf_high) - math.log(r.conf_low)) / (2.0 * _critical(r))
        return math.log(r.estimate), se**2
    se = r.std_error
    if not (math.isfinite(se) and se > 0):
        se = (r.conf_high - r.conf_low) / (2.0 * _critical(r))
    if not math.isfinite(se):
        raise AnalysisError(f"result for {r.outcome} has neither a standard error nor a CI to pool")
    return r.estimate, se**2


def _pooled_arms(results: Sequence[ComparisonResult]) -> tuple[ArmSummary, ...]:
    first = results[0].arms
    if any(len(r.arms) != len(first) for r in results):
        return ()
    arms = []
    for k, a in enumerate(first):
        group = [r.arms[k] for r in results]
        events = None
        if all(g.events is not None for g in group):
            events = round(float(np.mean([float(g.events or 0) for g in group])))
        arms.append(
            ArmSummary(
                arm=a.arm,
                n=round(float(np.mean([g.n for g in group]))),
                events=events,
                value=float(np.mean([g.value for g in group])),
                sd=float(np.mean([g.sd for g in group])),
            )
        )
    return tuple(arms)


def pool_results(
    results: Sequence[ComparisonResult],
    *,
    df_complete: float | None = None,
    missing: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ComparisonResult:
    """Pool the same comparison run on ``m`` imputed datasets by Rubin's rules.

    Differences (risk, mean) are pooled as they are. Ratios (odds, risk) are
    pooled on the log scale: :math:`\\hat q_i = \\log(\\text{ratio}_i)` with
    standard error :math:`(\\log u_i - \\log l_i) / (2 c)` from each result's
    confidence limits :math:`(l_i, u_i)`, :math:`c` the normal (or, for a
    t-based result, t) quantile of its level; the pooled estimate and limits
    are transformed back with ``exp``, while ``std_error`` stays on the log
    scale (``extra["scale"] = "log"``). A difference without ``std_error``
    gets its SE from its CI in the same way.

    Parameters
    ----------
    results : sequence of ComparisonResult
        One per imputation, same outcome and estimand.
    df_complete : float, optional
        Complete-data df for the Barnard-Rubin df. Default: the result's
        ``df`` when it is t-based (``statistic_name`` "t"), else infinite
        (z-based analyses, e.g. logistic regression or chi-square; mice would
        use n - k for a glm, pass it here to match).
    missing : str, optional
        The missing-data label (default ``"multiple imputation (m=...)"``).
    extra : mapping, optional
        Added to the result's ``extra``.

    Returns
    -------
    ComparisonResult
        ``statistic`` is the pooled t, ``df`` the Barnard-Rubin df;
        per-arm summaries are averages over imputations; ``extra`` holds
        ``m``, ``fmi``, ``riv``, ``lambda``, ``ubar``, ``b``, ``df_complete``
        and ``scale``.

    Examples
    --------
    >>> rs = [ComparisonResult(outcome="a1c_change", method="Welch t test",
    ...       estimand="mean difference", estimate=e, std_error=0.3,
    ...       statistic_name="t", df=200.0) for e in (-0.7, -0.8, -0.75)]
    >>> r = pool_results(rs)
    >>> round(r.estimate, 3), round(r.std_error, 4), r.extra["m"]
    (-0.75, 0.3055, 3)
    """
    results = list(results)
    for r in results:
        check_result(r)
    if len(results) < 2:
        raise AnalysisError(f"Rubin's rules need m >= 2 imputations (got {len(results)})")
    first = results[0]
    kinds = {(r.outcome, r.estimand, r.conf_level) for r in results}
    if len(kinds) > 1:
        raise AnalysisError(f"results to pool differ in outcome/estimand/level: {sorted(kinds)}")
    qu = np.array([_on_pooling_scale(r) for r in results])
    if df_complete is None:
        df_complete = first.df if _is_t_based(first) else math.inf
    pooled = rubin_pool(qu[:, 0], qu[:, 1], df_complete=df_complete, conf_level=first.conf_level)
    ratio = is_ratio_estimand(first.estimand)
    back: Callable[[float], float] = math.exp if ratio else float
    info: dict[str, Any] = {
        "m": pooled.m,
        "fmi": pooled.fmi,
        "riv": pooled.riv,
        "lambda": pooled.lambda_,
        "ubar": pooled.ubar,
        "b": pooled.b,
        "df_complete": pooled.df_complete,
        "scale": "log" if ratio else "identity",
    }
    info.update(extra or {})
    return ComparisonResult(
        outcome=first.outcome,
        method=f"{first.method}; pooled by Rubin's rules",
        estimand=first.estimand,
        estimate=back(pooled.estimate),
        std_error=pooled.std_error,
        conf_low=back(pooled.conf_low),
        conf_high=back(pooled.conf_high),
        conf_level=first.conf_level,
        statistic=pooled.statistic,
        statistic_name="t",
        df=pooled.df,
        p_value=pooled.p_value,
        arms=_pooled_arms(results),
        adjusted_for=first.adjusted_for,
        cluster=first.cluster,
        n_excluded=first.n_excluded,
        excluded_reason=first.excluded_reason,
        missing=missing or f"multiple imputation (m={pooled.m})",
        extra=info,
    )

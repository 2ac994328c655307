r"""Adjusted, clustered and mixed-model comparisons of two arms.

Four DataFrame-level functions, each returning a
:class:`~coachstats.core.results.ComparisonResult` for the arm effect (treatment,
coaching by default, versus control):

- :func:`logistic`: logistic regression; odds ratio or marginally standardized
  risk difference; optional cluster-robust (CR1) SEs and absorbed clinic fixed
  effects. Matches R ``glm(family = binomial)``, ``sandwich::vcovCL(type =
  "HC1")`` and ``glm(... + factor(clinic))``.
- :func:`linear`: ordinary least squares with the same options. Matches
  ``lm``, ``vcovCL`` and ``lm(... + factor(clinic))``.
- :func:`gee`: GEE, binomial-logit or gaussian-identity, exchangeable or
  independence working correlation, robust SEs. Matches ``geepack::geeglm``.
- :func:`mixed`: linear mixed model with a random intercept, REML or ML,
  Satterthwaite df. Matches ``lme4::lmer`` + ``lmerTest``.

Covariates are given by name (``covariates=["age", "bmi"]``) or by a formula
right-hand side (``formula="age + bmi + C(site)"``), or both; the coding of
categorical covariates and their reference levels, and the handling of aliased
columns, are described in :mod:`coachstats.compare.design`. Rows missing the
outcome, the arm, a covariate, the cluster or the fixed-effect column are
excluded and counted (``n_excluded``, ``excluded_reason``) by
:func:`coachstats.compare.prepare.prepare`.

The formulas, the R function each method matches and the tolerances reached
are in ``docs/methods_models.md``.

Examples
--------
>>> rng = np.random.default_rng(5)
>>> n = 400
>>> df = pd.DataFrame({
...     "arm": rng.choice(["coaching", "usual_care"], n),
...     "clinic": rng.choice([f"c{i}" for i in range(8)], n),
...     "age": rng.normal(53, 11, n).round(),
... })
>>> p = 1 / (1 + np.exp(-(-0.5 + 0.6 * (df["arm"] == "coaching") + 0.02 * (df["age"] - 53))))
>>> df["goal"] = (rng.random(n) < p).astype(int)
>>> r = logistic(df, "goal", covariates=["age"], cluster="clinic")
>>> r.estimand, round(r.estimate, 3), r.format_p()
('odds ratio', 2.387, '< .001')
>>> logistic(df, "goal", covariates=["age"], estimand="risk difference").estimand
'risk difference'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from coachstats.compare.design import (
    ArmMoments,
    Design,
    GroupIndex,
    build_design,
    covariate_terms,
    vdot,
)
from coachstats.compare.dist import norm_ppf, norm_sf, t_ppf, t_sf
from coachstats.compare.firth import fit_firth, profile_inference
from coachstats.compare.gee import (
    CORRELATIONS,
    FAMILIES,
    SMALL_SAMPLE,
    GEEFit,
    SmallSample,
    fit_gee,
)
from coachstats.compare.glm import RegressionFit, fit_linear, fit_logistic, marginal_risk_difference
from coachstats.compare.mixed import MixedFit, fit_mixed
from coachstats.compare.prepare import Prepared, accepts_dask, prepare
from coachstats.compare.smallsample import (
    ClusterCrossProducts,
    CR2Result,
    cr2_from_sums,
    ols_cross_products,
)
from coachstats.core.errors import (
    AnalysisError,
    DataWarning,
    OptionError,
    SeparationError,
    check_option,
)
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = ["gee", "linear", "logistic", "mixed"]

LogisticEstimand = Literal["odds ratio", "risk difference"]
GEEFamily = Literal["binomial", "gaussian"]
Correlation = Literal["exchangeable", "independence"]
MomentDF = Literal["n", "n-p"]
ClusterVcov = Literal["CR1", "CR2"]
#: Cluster-robust variances of :func:`linear`: CR1 (``vcovCL`` HC1) or CR2 (``clubSandwich``).
CLUSTER_VCOVS: tuple[str, ...] = ("CR1", "CR2")
LOGISTIC_ESTIMANDS: tuple[str, ...] = ("odds ratio", "risk difference")


# --------------------------------------------------------------------------- shared steps


@dataclass(frozen=True)
class _Setup:
    """Everything a model needs after input checks."""

    prepared: Prepared
    frame: pd.DataFrame
    treated: np.ndarray
    y: np.ndarray
    terms: tuple[tuple[str, bool], ...]
    n_excluded: int
    excluded_reason: str


def _check_conf_level(conf_level: float) -> None:
    if not (isinstance(conf_level, (int, float)) and 0.0 < conf_level < 1.0):
        raise OptionError(f"conf_level={conf_level!r} is not allowed; choose a number in (0, 1)")


def outcome_values(values: pd.Series, name: str, binary: bool) -> np.ndarray:
    """The outcome as float64; binary outcomes must be 0/1 or boolean."""
    if binary:
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.to_numpy(dtype=float)
        if pd.api.types.is_numeric_dtype(values.dtype):
            y = values.to_numpy(dtype=float)
            if np.all((y == 0.0) | (y == 1.0)):
                return y
        bad = sorted({str(v) for v in pd.unique(values)})[:10]
        raise AnalysisError(
            f"outcome column '{name}' must be binary (0/1 or True/False); found values {bad}"
        )
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise AnalysisError(
            f"outcome column '{name}' must be numeric for a continuous model; "
            f"it has dtype {values.dtype}"
        )
    return values.to_numpy(dtype=float)


def _setup(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str,
    covariates: Sequence[str] | str,
    formula: str | None,
    groups: Sequence[str | None],
    binary: bool,
    treatment: str | None,
    control: str | None,
) -> _Setup:
    terms = covariate_terms(covariates, formula)
    extra_cols = [g for g in groups if g]
    for name in [*(t for t, _ in terms), *extra_cols]:
        if name in (outcome, arm):
            raise AnalysisError(
                f"column '{name}' is the outcome or the arm; it cannot also be a covariate, "
                "cluster or fixed effect"
            )
    prepared = prepare(
        data,
        [outcome, *(t for t, _ in terms), *extra_cols],
        arm=arm,
        treatment=treatment,
        control=control,
    )
    y = outcome_values(prepared.frame[outcome], outcome, binary)
    return _Setup(
        prepared,
        prepared.frame,
        prepared.treated,
        y,
        terms,
        prepared.n_excluded,
        prepared.excluded_reason,
    )


def _groups(frame: pd.DataFrame, column: str, role: str) -> GroupIndex:
    g = GroupIndex.from_values(frame[column])
    if g.n_groups < 2:
        raise AnalysisError(
            f"{role} column '{column}' has {g.n_groups} level among the analysed rows "
            f"({list(g.labels)}); {role} needs at least 2"
        )
    return g


@dataclass(frozen=True)
class RowSummary:
    """What a result reports about its rows: the arm summaries and the exclusions."""

    arms: tuple[ArmSummary, ...]
    n_excluded: int
    excluded_reason: str


def _summary(setup: _Setup, binary: bool) -> RowSummary:
    arms = ArmMoments.of(setup.y, setup.treated).summaries(setup.prepared.labels, binary)
    return RowSummary(arms, setup.n_excluded, setup.excluded_reason)


def check_separation(
    labels: tuple[str, str], n: np.ndarray, events: np.ndarray, outcome: str
) -> None:
    """Perfect separation on the arm: one arm with all 0 or all 1 outcomes.

    ``n`` and ``events`` per arm, treatment first.
    """
    for label, size, ev in zip(labels, n, events, strict=True):
        if size and (ev == 0 or ev == size):
            raise SeparationError(
                f"perfect separation: every analysed patient in arm '{label}' has "
                f"{outcome} = {int(ev > 0)} ({int(size)} patients), so the odds ratio is "
                "infinite or zero and logistic regression has no estimate; use "
                "firth=True (penalized likelihood) or an exact test (compare.proportions)"
            )


def _check_separation(setup: _Setup, outcome: str) -> None:
    n1 = int(np.count_nonzero(setup.treated))
    e1 = vdot(setup.y, setup.treated.astype(float))
    n = np.array([n1, len(setup.y) - n1])
    check_separation(setup.prepared.labels, n, np.array([e1, setup.y.sum() - e1]), outcome)


def _drop_degenerate_groups(setup: _Setup, column: str, outcome: str) -> tuple[_Setup, GroupIndex]:
    """Drop fixed-effect groups whose outcome is all 0 or all 1 (warning, counted)."""
    g = GroupIndex.from_values(setup.frame[column])
    events = g.sums(setup.y)
    bad = (events == 0) | (events == g.counts)
    if not bad.any():
        return setup, g
    keep = ~bad[g.codes]
    n_drop = int((~keep).sum())
    reason = degenerate_groups_reason(
        column, outcome, [str(x) for x in g.labels[bad]], n_drop, bool(keep.any())
    )
    frame = setup.frame.loc[keep]
    treated = setup.treated[keep]
    check_arms_left(column, outcome, int(treated.sum()), len(treated))
    kept = _Setup(
        setup.prepared,
        frame,
        treated,
        setup.y[keep],
        setup.terms,
        setup.n_excluded + n_drop,
        ", ".join(r for r in (setup.excluded_reason, reason) if r),
    )
    return kept, g.subset(keep)


def degenerate_groups_reason(
    column: str, outcome: str, names: list[str], n_drop: int, any_left: bool
) -> str:
    """Warn about dropped all-0 / all-1 fixed-effect groups; the exclusion reason.

    Raises
    ------
    AnalysisError
        When every group is degenerate (``any_left`` False).
    """
    shown = ", ".join(names[:10]) + (f", ... (+{len(names) - 10} more)" if len(names) > 10 else "")
    warnings.warn(
        f"fixed effects: dropped {len(names)} {column} level(s) whose {outcome} is all 0 "
        f"or all 1 ({n_drop} patients: {shown}); their intercepts are infinite and they "
        "carry no information on the other coefficients",
        DataWarning,
        stacklevel=4,
    )
    if not any_left:
        raise AnalysisError(
            f"every {column} level has {outcome} all 0 or all 1: no within-{column} "
            "information for a fixed-effects logistic regression"
        )
    return f"{column} with {outcome} all 0 or all 1 ({n_drop})"


def check_arms_left(column: str, outcome: str, n_treated: int, n: int) -> None:
    """Both arms must remain after dropping degenerate fixed-effect groups."""
    if n_treated in (0, n):
        raise AnalysisError(
            f"after dropping the {column} levels with {outcome} all 0 or all 1, only one "
            "arm is left"
        )


def _design(setup: _Setup, arm: str, fe: GroupIndex | None) -> Design:
    return build_design(
        setup.frame,
        setup.treated,
        setup.terms,
        arm_name=arm,
        treatment=setup.prepared.labels[0],
        groups=fe,
    )


def _normal_or_t(
    est: float, se: float, conf_level: float, df: float | None
) -> tuple[float, float, float, float]:
    """(statistic, p, lower, upper) for a z (df None) or t test on ``est``."""
    if not (math.isfinite(se) and se > 0.0):
        raise AnalysisError(f"the standard error is not positive and finite ({se!r})")
    stat = est / se
    q = 0.5 + conf_level / 2.0
    if df is None:
        p = float(2.0 * norm_sf(abs(stat)))
        crit = float(norm_ppf(q))
    else:
        p = float(2.0 * t_sf(abs(stat), df))
        crit = float(t_ppf(q, df))
    return float(stat), p, est - crit * se, est + crit * se


def _result(
    rows: RowSummary,
    outcome: str,
    *,
    method: str,
    estimand: str,
    est: float,
    se: float,
    conf_level: float,
    df: float | None,
    design: Design,
    cluster: str | None,
    ratio: bool = False,
    extra: dict[str, Any] | None = None,
) -> ComparisonResult:
    stat, p, lo, hi = _normal_or_t(est, se, conf_level, df)
    info: dict[str, Any] = dict(extra or {})
    if design.dropped:
        info["dropped_columns"] = ", ".join(design.dropped)
    if ratio:
        info = {"log_" + estimand.replace(" ", "_"): est, **info}
        est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=float(est),
        std_error=float(se),
        conf_low=float(lo),
        conf_high=float(hi),
        conf_level=float(conf_level),
        statistic=stat,
        statistic_name="t" if df is not None else "z",
        df=float(df) if df is not None else math.nan,
        p_value=p,
        arms=rows.arms,
        adjusted_for=design.covariates,
        cluster=cluster,
        n_excluded=rows.n_excluded,
        excluded_reason=rows.excluded_reason,
        extra=info,
    )


def _regression_variance(
    fit: RegressionFit,
    clusters: GroupIndex | None,
    g_beta: np.ndarray,
    g_group: np.ndarray,
    scores: np.ndarray | None = None,
) -> float:
    if clusters is None:
        return fit.functional_var(g_beta, g_group)
    return fit.cluster_functional_var(g_beta, g_group, clusters, scores)


def _arm_contrast(fit: RegressionFit) -> tuple[np.ndarray, np.ndarray]:
    g_beta = np.zeros(len(fit.coef))
    g_beta[0] = 1.0
    return g_beta, np.zeros(fit.groups.n_groups)


def _regression_result(
    fit: RegressionFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    method: str,
    estimand: str,
    est: float,
    contrast: tuple[np.ndarray, np.ndarray],
    df: float | None,
    ratio: bool,
    extra: dict[str, Any],
    conf_level: float,
    fixed_effects: str | None,
    cluster: str | None,
    clusters: GroupIndex | None,
    scores: np.ndarray | None,
    std_error: float | None = None,
) -> ComparisonResult:
    """:func:`_result` of a logistic or linear fit: SE of the ``contrast`` (plain or CR1,
    or ``std_error`` when given) and the cluster / fixed-effect counts appended to ``extra``."""
    if clusters is not None:
        extra["n_clusters"] = clusters.n_groups
    if fixed_effects:
        extra["n_fixed_effects"] = fit.groups.n_groups
    se = (
        math.sqrt(_regression_variance(fit, clusters, *contrast, scores))
        if std_error is None
        else std_error
    )
    return _result(
        rows,
        outcome,
        method=method,
        estimand=estimand,
        est=est,
        se=se,
        conf_level=conf_level,
        df=df,
        design=design,
        cluster=cluster,
        ratio=ratio,
        extra=extra,
    )


def _regression_method(
    base: str, fixed_effects: str | None, cluster: str | None, kind: ClusterVcov = "CR1"
) -> str:
    text = base
    if fixed_effects:
        text += f" with {fixed_effects} fixed effects"
    if cluster:
        df = ", Satterthwaite df" if kind == "CR2" else ""
        text += f" (cluster-robust {kind} by {cluster}{df})"
    return text


# --------------------------------------------------------------------------- public API


@accepts_dask("logistic")
def logistic(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    covariates: Sequence[str] | str = (),
    formula: str | None = None,
    cluster: str | None = None,
    fixed_effects: str | None = None,
    estimand: LogisticEstimand = "odds ratio",
    conf_level: float = 0.95,
    treatment: str | None = None,
    control: str | None = None,
    firth: bool = False,
) -> ComparisonResult:
    r"""Logistic regression of a binary outcome on the arm (and covariates).

    .. math:: \operatorname{logit} P(y_i = 1) = \alpha_{c(i)} + \beta_A A_i + x_i^\top\beta

    - ``estimand="odds ratio"``: :math:`e^{\hat\beta_A}`, Wald interval
      :math:`\exp(\hat\beta_A \pm z_{1-a/2}\,\mathrm{SE})` and z test on the log
      scale; ``std_error`` is the SE of :math:`\log OR` (R ``glm``).
    - ``estimand="risk difference"``: marginal standardization (g-computation),
      :math:`\frac1n\sum_i [\hat p_i(A{=}1) - \hat p_i(A{=}0)]` over the analysed
      patients, delta-method SE :math:`\sqrt{g^\top V g}`, Wald interval and z
      test. (Matched in ``models.R`` by the same computation written in R.)

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        Binary column (0/1 or bool).
    arm : str
        Arm column (two labels; the treatment is ``"coaching"`` by default).
    covariates : sequence of str or str
        Adjustment covariates by name.
    formula : str, optional
        Covariates as ``"age + bmi + C(site)"`` (added to ``covariates``).
    cluster : str, optional
        Cluster column for CR1 cluster-robust SEs, as
        ``sandwich::vcovCL(fit, cluster = ~cluster, type = "HC1")``:
        :math:`\frac{G}{G-1}\frac{n-1}{n-k}` correction, z-based P.
    fixed_effects : str, optional
        Column whose levels get their own intercept (absorbed, not dummy
        coded), as ``glm(... + factor(clinic))``. Levels whose outcome is all 0
        or all 1 have infinite intercepts: they are **dropped with a
        DataWarning** and counted in ``n_excluded`` (they carry no information
        on the other coefficients; R's ``glm`` would report huge intercepts).
    estimand : {"odds ratio", "risk difference"}
    conf_level : float
        Confidence level of the interval.
    treatment, control : str, optional
        Arm labels (default: ``"coaching"`` vs the other label).
    firth : bool
        Firth's penalized likelihood (:mod:`coachstats.compare.firth`; R
        ``logistf``): a finite odds ratio under separation (small programs
        where every coached patient reaches the goal) and less small-sample
        bias. The interval is the profile penalized likelihood interval and
        the P value the penalized likelihood ratio test (``statistic`` is its
        chi-square on ``df`` = 1); ``std_error`` is the Wald SE of the log
        odds ratio. Odds ratio only, without ``cluster`` or ``fixed_effects``.

    Returns
    -------
    ComparisonResult
        ``extra`` holds ``log_odds_ratio`` (odds ratio), ``n_clusters`` or
        ``n_fixed_effects`` when used, ``iterations`` and ``dropped_columns``
        (aliased covariates) if any; with ``firth``, also the Wald
        ``wald_p_value``.

    Raises
    ------
    SeparationError
        Perfect separation on the arm (one arm all 0 or all 1; ``firth=True``
        handles it).
    ConvergenceError
        No convergence (most often separation by a covariate).
    AnalysisError
        One arm, an outcome with a single value, an aliased arm, or a cluster
        column with one level (the two above are subclasses of it).

    References
    ----------
    Localio AR, Margolis DJ, Berlin JA. Relative risks and confidence intervals
    were easily computed indirectly from multivariable logistic regression.
    J Clin Epidemiol 2007;60:874-882 (marginal standardization).

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 6 + ["usual_care"] * 6,
    ...                    "goal": [1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]})
    >>> r = logistic(df, "goal")
    >>> round(r.estimate, 6)  # (4/2) / (2/4)
    4.0
    >>> round(logistic(df, "goal", estimand="risk difference").estimate, 6)  # 4/6 - 2/6
    0.333333

    Every coached patient at goal: maximum likelihood has no odds ratio, Firth's
    does (here the odds ratio with 1/2 added to each cell, (6.5/0.5) / (2.5/4.5)).

    >>> df.loc[df["arm"] == "coaching", "goal"] = 1
    >>> r = logistic(df, "goal", firth=True)
    >>> round(r.estimate, 6), r.statistic_name
    (23.4, 'penalized LR chi-square')
    """
    check_option("estimand", estimand, LOGISTIC_ESTIMANDS)
    _check_conf_level(conf_level)
    check_firth(firth, estimand, cluster, fixed_effects)
    setup = _setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster, fixed_effects),
        binary=True,
        treatment=treatment,
        control=control,
    )
    if setup.y.min() == setup.y.max():
        raise AnalysisError(
            f"outcome '{outcome}' is {int(setup.y[0])} for every analysed patient "
            f"({len(setup.y)}): no events to model"
        )
    if firth:
        return _firth(setup, _design(setup, arm, None), outcome, conf_level)
    _check_separation(setup, outcome)
    fe: GroupIndex | None = None
    if fixed_effects:
        setup, fe = _drop_degenerate_groups(setup, fixed_effects, outcome)
        _check_separation(setup, outcome)
    clusters = _groups(setup.frame, cluster, "cluster") if cluster else None
    design = _design(setup, arm, fe)
    fit = fit_logistic(design.X, setup.y, fe)
    rd = marginal_risk_difference(fit, design.X, 0) if estimand == "risk difference" else None
    return logistic_result(
        fit,
        design,
        _summary(setup, True),
        outcome,
        estimand=estimand,
        conf_level=conf_level,
        fixed_effects=fixed_effects,
        cluster=cluster,
        clusters=clusters,
        risk_difference=rd,
    )


def logistic_result(
    fit: RegressionFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    estimand: str,
    conf_level: float,
    fixed_effects: str | None,
    cluster: str | None,
    clusters: GroupIndex | None,
    risk_difference: tuple[float, np.ndarray, np.ndarray] | None = None,
    scores: np.ndarray | None = None,
) -> ComparisonResult:
    """The result of :func:`logistic` from its fit (shared with the streamed fits).

    ``risk_difference`` is :func:`~coachstats.compare.glm.marginal_risk_difference`
    when the estimand is the risk difference; ``scores`` the per-cluster score
    sums (:func:`~coachstats.compare.glm.cluster_score_sums`) when the fit has
    no rows.
    """
    method = _regression_method("logistic regression", fixed_effects, cluster)
    if risk_difference is None:
        g_beta, g_group = _arm_contrast(fit)
        est = float(fit.coef[0])
    else:
        est, g_beta, g_group = risk_difference
        method += ", marginal standardization (delta method)"
    return _regression_result(
        fit,
        design,
        rows,
        outcome,
        method=method,
        estimand=estimand,
        est=est,
        contrast=(g_beta, g_group),
        df=None,
        ratio=estimand == "odds ratio",
        extra={"iterations": fit.iterations},
        conf_level=conf_level,
        fixed_effects=fixed_effects,
        cluster=cluster,
        clusters=clusters,
        scores=scores,
    )


@accepts_dask("linear")
def linear(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    covariates: Sequence[str] | str = (),
    formula: str | None = None,
    cluster: str | None = None,
    fixed_effects: str | None = None,
    conf_level: float = 0.95,
    treatment: str | None = None,
    control: str | None = None,
    cluster_vcov: ClusterVcov = "CR1",
) -> ComparisonResult:
    r"""Linear regression (OLS) of a continuous outcome on the arm (and covariates).

    .. math:: y_i = \alpha_{c(i)} + \beta_A A_i + x_i^\top\beta + \varepsilon_i

    The estimate is the adjusted mean difference :math:`\hat\beta_A`, with a t
    test and interval on :math:`n - k` df (R ``lm``; ANCOVA when the baseline
    value is a covariate).

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        Numeric column (e.g. a change score or the follow-up value).
    arm, covariates, formula, treatment, control
        As in :func:`logistic`.
    cluster : str, optional
        CR1 cluster-robust SE, ``vcovCL(type = "HC1")``:
        :math:`\frac{G}{G-1}\frac{n-1}{n-k}`; the t reference keeps the residual
        df :math:`n-k`, as ``lmtest::coeftest(fit, vcov = vcovCL)`` does (Stata
        uses :math:`G-1`, more conservative with few clusters).
    fixed_effects : str, optional
        Absorbed fixed effects (the within transformation), as
        ``lm(... + factor(clinic))``; the residual df counts them.
    conf_level : float
        Confidence level.
    cluster_vcov : {"CR1", "CR2"}
        With ``cluster``: ``"CR1"`` (above), or ``"CR2"``, the bias-reduced
        linearization SE with Satterthwaite df
        (:mod:`coachstats.compare.smallsample`; R
        ``clubSandwich::coef_test(fit, vcov = vcovCR(fit, cluster, type = "CR2"),
        test = "Satterthwaite")``). Use CR2 with fewer than about 40 clusters,
        where CR1 rejects too often. Not with ``fixed_effects``.

    Returns
    -------
    ComparisonResult
        ``extra`` holds ``sigma`` (residual SD), ``n_clusters`` /
        ``n_fixed_effects`` when used, ``dropped_columns`` if any.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 4,
    ...                    "change": [-1.2, -0.8, -1.5, -0.5, -0.2, 0.1, -0.6, 0.3]})
    >>> r = linear(df, "change")
    >>> round(r.estimate, 4), r.df  # mean difference -1.0 - (-0.1)
    (-0.9, 6.0)

    Four clinics: CR2 with Satterthwaite df, as ``clubSandwich`` reports it.

    >>> df["clinic"] = ["a", "b", "c", "d"] * 2
    >>> r = linear(df, "change", cluster="clinic", cluster_vcov="CR2")
    >>> r.method
    'linear regression (OLS) (cluster-robust CR2 by clinic, Satterthwaite df)'
    >>> bool(r.df < 4)
    True
    """
    _check_conf_level(conf_level)
    check_cluster_vcov(cluster_vcov, cluster, fixed_effects)
    setup = _setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster, fixed_effects),
        binary=False,
        treatment=treatment,
        control=control,
    )
    fe = _groups(setup.frame, fixed_effects, "fixed effects") if fixed_effects else None
    clusters = _groups(setup.frame, cluster, "cluster") if cluster else None
    design = _design(setup, arm, fe)
    fit = fit_linear(design.X, setup.y, fe)
    small = _cr2(design.X, setup.y, fit, clusters) if cluster_vcov == "CR2" else None
    return linear_result(
        fit,
        design,
        _summary(setup, False),
        outcome,
        conf_level=conf_level,
        fixed_effects=fixed_effects,
        cluster=cluster,
        clusters=clusters,
        small_sample=small,
    )


def check_firth(firth: bool, estimand: str, cluster: str | None, fixed_effects: str | None) -> None:
    """Raise :class:`OptionError` unless ``firth`` is a bool and its model is available."""
    check_option("firth", firth, (True, False))
    if firth and (estimand != "odds ratio" or cluster or fixed_effects):
        raise OptionError(
            "firth=True fits the odds ratio of an unclustered model; got "
            f"estimand={estimand!r}, cluster={cluster!r}, fixed_effects={fixed_effects!r}"
        )


def _firth(setup: _Setup, design: Design, outcome: str, conf_level: float) -> ComparisonResult:
    """The result of ``logistic(..., firth=True)``."""
    X1, _ = design.with_intercept()
    # centred covariates: the slopes, the LR test and the interval do not change (the
    # penalty moves by a constant), and a large offset no longer slows the convergence
    X1[:, 1:] -= X1[:, 1:].mean(axis=0)
    fit = fit_firth(X1, setup.y)
    inference = profile_inference(X1, setup.y, fit, 1, conf_level=conf_level)
    log_or = float(fit.coef[1])  # the arm column follows the intercept
    se = math.sqrt(float(fit.vcov[1, 1]))
    rows = _summary(setup, True)
    extra: dict[str, Any] = {
        "log_odds_ratio": log_or,
        "iterations": fit.iterations,
        "wald_p_value": float(2.0 * norm_sf(abs(log_or / se))),
    }
    if design.dropped:
        extra["dropped_columns"] = ", ".join(design.dropped)
    return ComparisonResult(
        outcome=outcome,
        method="Firth penalized logistic regression (profile penalized likelihood CI, "
        "penalized likelihood ratio test)",
        estimand="odds ratio",
        estimate=math.exp(log_or),
        std_error=se,
        conf_low=math.exp(inference.conf_low),
        conf_high=math.exp(inference.conf_high),
        conf_level=float(conf_level),
        statistic=inference.chisq,
        statistic_name="penalized LR chi-square",
        df=1.0,
        p_value=inference.p_value,
        arms=rows.arms,
        adjusted_for=design.covariates,
        n_excluded=rows.n_excluded,
        excluded_reason=rows.excluded_reason,
        extra=extra,
    )


def check_cluster_vcov(cluster_vcov: str, cluster: str | None, fixed_effects: str | None) -> None:
    """Raise :class:`OptionError` unless ``cluster_vcov`` is known and CR2 has what it needs."""
    check_option("cluster_vcov", cluster_vcov, CLUSTER_VCOVS)
    if cluster_vcov == "CR2" and (cluster is None or fixed_effects):
        raise OptionError(
            "cluster_vcov='CR2' needs cluster= and no fixed_effects= (the small-sample "
            f"correction is implemented for clustered OLS; got cluster={cluster!r}, "
            f"fixed_effects={fixed_effects!r})"
        )


def cr2_arm(sums: ClusterCrossProducts) -> CR2Result:
    """CR2 SE and Satterthwaite df of the arm coefficient (column 1 of ``[1, X]``)."""
    contrast = np.zeros(sums.Ze.shape[1])
    contrast[1] = 1.0  # the arm column follows the intercept
    return cr2_from_sums(sums, contrast)


def _cr2(
    X: np.ndarray, y: np.ndarray, fit: RegressionFit, clusters: GroupIndex | None
) -> CR2Result:
    """:func:`cr2_arm` of an OLS fit held in memory."""
    if clusters is None:  # pragma: no cover - linear() checks cluster= first
        raise OptionError("cluster_vcov='CR2' needs cluster=")
    sums = ols_cross_products(
        X.T, y, clusters.codes, clusters.n_groups, fit.coef, fit.group_coef[0], X.mean(axis=0)
    )
    return cr2_arm(sums)


def linear_result(
    fit: RegressionFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    conf_level: float,
    fixed_effects: str | None,
    cluster: str | None,
    clusters: GroupIndex | None,
    scores: np.ndarray | None = None,
    small_sample: CR2Result | None = None,
) -> ComparisonResult:
    """The result of :func:`linear` from its fit (shared with the streamed fits).

    ``small_sample``: the CR2 SE and Satterthwaite df replace CR1 and ``n - k``."""
    spread = max((a.sd for a in rows.arms if a.sd is not None and math.isfinite(a.sd)), default=0.0)
    # an exact fit up to rounding (y = 2x + arm gives a residual SD of 5e-16): its SEs and
    # P values would be artefacts of floating point
    if fit.dispersion <= 0.0 or math.sqrt(fit.dispersion) <= 1e-10 * spread:
        raise AnalysisError(
            f"outcome '{outcome}' is fitted exactly by the arm and covariates: residual SD "
            f"{math.sqrt(max(fit.dispersion, 0.0)):.3g} against an outcome SD of {spread:.3g}"
        )
    method = _regression_method(
        "linear regression (OLS)", fixed_effects, cluster, "CR1" if small_sample is None else "CR2"
    )
    return _regression_result(
        fit,
        design,
        rows,
        outcome,
        method=method,
        estimand="mean difference",
        est=float(fit.coef[0]),
        contrast=_arm_contrast(fit),
        df=float(fit.df_resid) if small_sample is None else small_sample.df,
        ratio=False,
        extra={"sigma": math.sqrt(fit.dispersion)},
        conf_level=conf_level,
        fixed_effects=fixed_effects,
        cluster=cluster,
        clusters=clusters,
        scores=scores,
        std_error=None if small_sample is None else small_sample.std_error,
    )


@accepts_dask("gee")
def gee(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    cluster: str,
    covariates: Sequence[str] | str = (),
    formula: str | None = None,
    family: GEEFamily = "binomial",
    corr: Correlation = "exchangeable",
    moment_df: MomentDF = "n",
    conf_level: float = 0.95,
    treatment: str | None = None,
    control: str | None = None,
    small_sample: SmallSample = "none",
) -> ComparisonResult:
    r"""GEE for clustered patients: population-averaged arm effect with robust SE.

    Binomial family with the logit link (estimand: odds ratio, ``std_error``
    on the log scale) or gaussian with the identity link (mean difference).
    Wald z test with the robust (sandwich) SE, as ``summary(geeglm(...))``
    (whose Wald chi-square is :math:`z^2`). The exchangeable working
    correlation and the scale use geepack's moment estimators (see
    :mod:`coachstats.compare.gee`).

    Parameters
    ----------
    data : DataFrame
        One row per patient (or visit).
    outcome : str
        Binary (``family="binomial"``) or numeric (``"gaussian"``) column.
    arm, covariates, formula, treatment, control
        As in :func:`logistic`.
    cluster : str
        Cluster column (clinic, clinician, coach); rows need not be sorted.
    family : {"binomial", "gaussian"}
    corr : {"exchangeable", "independence"}
        Working correlation.
    moment_df : {"n", "n-p"}
        ``"n"``: geepack's moment estimators (default); ``"n-p"``: statsmodels'.
    conf_level : float
        Confidence level.
    small_sample : {"none", "MD"}
        ``"MD"``: the robust SE with the bias correction of Mancl & DeRouen
        (2001), for few clusters (the plain sandwich is too small with, say,
        15 clinicians). Checked against the correction computed in R from
        ``geeglm`` (``tests/reference/gee_md.R``).

    Returns
    -------
    ComparisonResult
        ``extra``: ``working_correlation`` (rho; 0 for independence),
        ``scale``, ``n_clusters``, ``max_cluster_size``, ``iterations``, and
        ``note`` when the exchangeable fit fell back to independence (a
        :class:`~coachstats.core.errors.DataWarning` is issued; see
        :mod:`coachstats.compare.gee`), which the ``method`` text then names.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> clinic = np.repeat([f"c{i}" for i in range(12)], 25)
    >>> df = pd.DataFrame({"arm": rng.choice(["coaching", "usual_care"], 300),
    ...                    "clinic": clinic})
    >>> u = rng.normal(0, 0.5, 12).repeat(25)
    >>> df["change"] = -0.5 * (df["arm"] == "coaching") + u + rng.normal(0, 1, 300)
    >>> r = gee(df, "change", cluster="clinic", family="gaussian")
    >>> r.estimand, round(r.estimate, 3), round(r.extra["working_correlation"], 3)
    ('mean difference', -0.506, 0.128)
    """
    check_option("family", family, FAMILIES)
    check_option("corr", corr, CORRELATIONS)
    check_option("moment_df", moment_df, ("n", "n-p"))
    check_option("small_sample", small_sample, SMALL_SAMPLE)
    _check_conf_level(conf_level)
    binary = family == "binomial"
    setup = _setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster,),
        binary=binary,
        treatment=treatment,
        control=control,
    )
    if binary:
        if setup.y.min() == setup.y.max():
            raise AnalysisError(
                f"outcome '{outcome}' is {int(setup.y[0])} for every analysed patient: "
                "no events to model"
            )
        _check_separation(setup, outcome)
    clusters = _groups(setup.frame, cluster, "cluster")
    design = _design(setup, arm, None)
    fit = fit_gee(
        design.X,
        setup.y,
        clusters,
        family=family,
        corr=corr,
        moment_df=moment_df,
        small_sample=small_sample,
    )
    return gee_result(
        fit, design, _summary(setup, binary), outcome, cluster=cluster, conf_level=conf_level
    )


def gee_result(
    fit: GEEFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    cluster: str,
    conf_level: float,
) -> ComparisonResult:
    """The result of :func:`gee` from its fit (shared with the streamed fits)."""
    family = fit.family
    binary = family == "binomial"
    link = "logit" if binary else "identity"
    extra: dict[str, Any] = {
        "working_correlation": fit.rho,
        "scale": fit.scale,
        "n_clusters": fit.n_clusters,
        "max_cluster_size": fit.max_cluster_size,
        "iterations": fit.iterations,
    }
    if fit.note:
        extra["note"] = fit.note
    return _result(
        rows,
        outcome,
        method=f"GEE ({family}, {link} link, {fit.corr} working correlation, robust SE"
        + (" with the Mancl-DeRouen correction" if fit.small_sample == "MD" else "")
        + f") clustered by {cluster}",
        estimand="odds ratio" if binary else "mean difference",
        est=float(fit.params[1]),
        se=math.sqrt(fit.vcov_robust[1, 1]),
        conf_level=conf_level,
        df=None,
        design=design,
        cluster=cluster,
        ratio=binary,
        extra=extra,
    )


@accepts_dask("mixed")
def mixed(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    cluster: str,
    covariates: Sequence[str] | str = (),
    formula: str | None = None,
    reml: bool = True,
    conf_level: float = 0.95,
    treatment: str | None = None,
    control: str | None = None,
) -> ComparisonResult:
    r"""Linear mixed model with a random intercept for ``cluster``.

    .. math:: y_{ij} = \beta_0 + \beta_A A_{ij} + x_{ij}^\top\beta + u_i
              + \varepsilon_{ij},\quad u_i\sim N(0,\tau^2),\ \varepsilon_{ij}\sim
              N(0,\sigma^2)

    The estimate is :math:`\hat\beta_A` (mean difference) with its model-based
    SE, a t test and interval on Satterthwaite df as ``lmerTest`` computes
    them, from ``lme4::lmer(y ~ arm + covariates + (1 | cluster), REML =
    reml)``. A fit with :math:`\hat\tau^2 = 0` (lme4's "singular" fit) is
    reported as is, with ``icc = 0``.

    Parameters
    ----------
    data : DataFrame
        One row per patient (or visit).
    outcome : str
        Numeric column.
    arm, covariates, formula, treatment, control
        As in :func:`logistic`.
    cluster : str
        Grouping column of the random intercept.
    reml : bool
        REML (default, as lmer) or maximum likelihood.
    conf_level : float
        Confidence level.

    Returns
    -------
    ComparisonResult
        ``extra``: ``icc``, ``var_cluster`` (:math:`\tau^2`), ``var_residual``
        (:math:`\sigma^2`), ``loglik`` (REML log-likelihood for REML fits, as
        ``logLik``), ``n_clusters``, ``estimation`` (``"REML"``/``"ML"``).

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> clinic = np.repeat([f"c{i}" for i in range(6)], 40)
    >>> df = pd.DataFrame({"arm": np.tile(["coaching", "usual_care"], 120), "clinic": clinic})
    >>> df["change"] = (-0.7 * (df["arm"] == "coaching") + rng.normal(0, 0.6, 6).repeat(40)
    ...                 + rng.normal(0, 1.4, 240))
    >>> r = mixed(df, "change", cluster="clinic")
    >>> round(r.estimate, 3), round(r.df, 1), round(r.extra["icc"], 3)
    (-0.825, 233.0, 0.215)
    """
    _check_conf_level(conf_level)
    setup = _setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster,),
        binary=False,
        treatment=treatment,
        control=control,
    )
    clusters = _groups(setup.frame, cluster, "cluster")
    design = _design(setup, arm, None)
    fit = fit_mixed(design.X, setup.y, clusters, reml=reml)
    return mixed_result(
        fit, design, _summary(setup, False), outcome, cluster=cluster, conf_level=conf_level
    )


def mixed_result(
    fit: MixedFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    cluster: str,
    conf_level: float,
) -> ComparisonResult:
    """The result of :func:`mixed` from its fit (shared with the streamed fits)."""
    how = "REML" if fit.reml else "ML"
    return _result(
        rows,
        outcome,
        method=f"linear mixed model ({how}), random intercept for {cluster}, Satterthwaite df",
        estimand="mean difference",
        est=float(fit.params[1]),
        se=math.sqrt(fit.vcov[1, 1]),
        conf_level=conf_level,
        df=float(fit.df[1]),
        design=design,
        cluster=cluster,
        extra={
            "icc": fit.icc,
            "var_cluster": fit.tau2,
            "var_residual": fit.sigma2,
            "loglik": fit.loglik,
            "n_clusters": fit.n_clusters,
            "estimation": how,
        },
    )

r"""Logistic and linear regression of the arm effect (:func:`logistic`, :func:`linear`).

The DataFrame functions over the fits of :mod:`coachstats.compare.glm`
(sufficient statistics, absorbed intercept or clinic fixed effects), with
cluster-robust CR1 or CR2 SEs, the marginal risk difference (g-computation)
and Firth's penalized likelihood (:mod:`coachstats.compare.firth`). The
``*_result`` functions turn a fit into a
:class:`~coachstats.core.results.ComparisonResult`; the streamed fits of
:mod:`coachstats.engines.stream` call them too. Formulas and R equivalents in
:mod:`coachstats.compare.models` and ``docs/methods_models.md``.

Examples
--------
>>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 4,
...                    "change": [-1.2, -0.8, -1.5, -0.5, -0.2, 0.1, -0.6, 0.3]})
>>> round(linear(df, "change").estimate, 4)
-0.9
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from coachstats.compare.design import Design, GroupIndex
from coachstats.compare.dist import norm_sf
from coachstats.compare.firth import fit_firth, profile_inference
from coachstats.compare.glm import (
    RegressionFit,
    first_pass_weights,
    fit_linear,
    fit_logistic,
    risk_difference_from_sums,
)
from coachstats.compare.inference import counterfactual_sums
from coachstats.compare.modelbase import (
    FittedModel,
    ModelSetup,
    RowSummary,
    check_arm_separation,
    check_clustered_arm,
    drop_degenerate_groups,
    group_index,
    model_design,
    model_result,
    model_setup,
    partially_nested,
    row_summary,
)
from coachstats.compare.output import fit_functionals, regression_output
from coachstats.compare.prepare import accepts_dask
from coachstats.compare.smallsample import (
    ClusterCrossProducts,
    CR2Result,
    cr2_from_sums,
    ols_cross_products,
)
from coachstats.compare.twobytwo import check_conf_level
from coachstats.core.coefficients import ModelOutput
from coachstats.core.errors import AnalysisError, DataWarning, OptionError, check_option
from coachstats.core.results import ComparisonResult

__all__ = [
    "CLUSTER_VCOVS",
    "LOGISTIC_ESTIMANDS",
    "check_cluster_vcov",
    "check_firth",
    "check_not_exact",
    "cr2_arm",
    "linear",
    "linear_model",
    "linear_result",
    "logistic",
    "logistic_model",
    "logistic_result",
]

LogisticEstimand = Literal["odds ratio", "risk difference"]
ClusterVcov = Literal["CR1", "CR2"]
#: Cluster-robust variances of :func:`linear`: CR1 (``vcovCL`` HC1) or CR2 (``clubSandwich``).
CLUSTER_VCOVS: tuple[str, ...] = ("CR1", "CR2")
LOGISTIC_ESTIMANDS: tuple[str, ...] = ("odds ratio", "risk difference")


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


FEW_CLUSTERS = 40
"""Below this many clusters the CR1 sandwich SE is biased downwards and its test rejects too
often (Cameron & Miller 2015; Pustejovsky & Tipton 2018): the result says so."""


def few_clusters_note(n_clusters: int, linear: bool) -> str | None:
    """What a CR1 result on ``n_clusters`` clusters says of its interval, or None (enough).

    The Python fix: CR2 with Satterthwaite df for a linear model, the
    Mancl-DeRouen corrected GEE sandwich for a logistic one.

    >>> few_clusters_note(40, linear=True) is None
    True
    >>> print(few_clusters_note(2, linear=False))  # doctest: +NORMALIZE_WHITESPACE
    only 2 clusters: the CR1 cluster-robust SE is biased downwards with fewer than about 40
    clusters, so the interval is too narrow and P too small; use gee(..., cluster=...,
    small_sample="MD") for the Mancl-DeRouen corrected SE (of an odds ratio)
    """
    if n_clusters >= FEW_CLUSTERS:
        return None
    fix = (
        'linear(..., cluster_vcov="CR2") for the CR2 SE with Satterthwaite df'
        if linear
        else 'gee(..., cluster=..., small_sample="MD") for the Mancl-DeRouen corrected SE '
        "(of an odds ratio)"
    )
    return (
        f"only {n_clusters} clusters: the CR1 cluster-robust SE is biased downwards with fewer "
        f"than about {FEW_CLUSTERS} clusters, so the interval is too narrow and P too small; "
        f"use {fix}"
    )


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
    model: ModelOutput | None = None,
    marginal: bool = False,
) -> ComparisonResult:
    """:func:`model_result` of a logistic or linear fit: SE of the ``contrast`` (plain or CR1,
    or ``std_error`` when given) and the cluster / fixed-effect counts appended to ``extra``."""
    if clusters is not None:
        extra["n_clusters"] = clusters.n_groups
        note = (
            few_clusters_note(clusters.n_groups, linear=estimand == "mean difference")
            if std_error is None  # CR1; a given SE is CR2's, the small-sample fix itself
            else None
        )
        if note is not None:
            warnings.warn(f"{outcome}: {note}", DataWarning, stacklevel=4)
            extra["note"] = note
    if fixed_effects:
        extra["n_fixed_effects"] = fit.groups.n_groups
    se = (
        math.sqrt(_regression_variance(fit, clusters, *contrast, scores))
        if std_error is None
        else std_error
    )
    return model_result(
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
        model=model,
        marginal=marginal,
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
    clustered_arm: str | None = None,
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
    clustered_arm : str, optional
        A partially nested design: only this arm's patients share clusters
        (coaches in the coaching arm; usual care has none). With ``cluster``,
        the other arm's patients become clusters of one, whatever their
        ``cluster`` value (usually missing), and a patient of this arm without
        one is excluded (``vcovCL`` with singleton clusters). See
        ``docs/methods_nested.md``.

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
    return logistic_model(**locals()).result  # every argument, by name


def logistic_model(
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
    clustered_arm: str | None = None,
) -> FittedModel:
    """:func:`logistic`, with the fit behind it (:class:`~coachstats.compare.modelbase.FittedModel`)."""
    check_option("estimand", estimand, LOGISTIC_ESTIMANDS)
    check_conf_level(conf_level)
    check_firth(firth, estimand, cluster, fixed_effects)
    check_clustered_arm(clustered_arm, cluster)
    setup = model_setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster, fixed_effects),
        binary=True,
        treatment=treatment,
        control=control,
        clustered=(str(cluster), clustered_arm) if clustered_arm else None,
    )
    if setup.y.min() == setup.y.max():
        raise AnalysisError(
            f"outcome '{outcome}' is {int(setup.y[0])} for every analysed patient "
            f"({len(setup.y)}): no events to model"
        )
    if firth:
        if setup.terms.arm_interactions:
            raise OptionError(
                "firth=True fits no interaction with the arm "
                f"({[':'.join(t) for t in setup.terms.arm_interactions]}); fit the model "
                "without firth=True, or Firth's model within each subgroup (subset the data)"
            )
        design = model_design(setup, arm, None)
        return FittedModel(_firth(setup, design, outcome, conf_level), None, design, setup, "logit")
    check_arm_separation(setup, outcome)
    fe: GroupIndex | None = None
    if fixed_effects:
        kept, fe = drop_degenerate_groups(setup, fixed_effects, outcome)
        if kept is not setup:  # groups were dropped: an arm may now be all 0 or all 1
            check_arm_separation(kept, outcome)
        setup = kept
    clusters = group_index(setup, cluster, "cluster") if cluster else None
    # the fit's first working weights, so that its first pass reads X'WX from the design
    weights = first_pass_weights(fe.sums(setup.y), fe.counts, fe.labels) if fe else None
    design = model_design(setup, arm, fe, weights)
    fit = fit_logistic(design.X, setup.y, fe, centred=design.centred, clusters=clusters)
    sums = counterfactual_sums(design, fit.coef, fit.group_coef, fe, "logit", fit.rows)
    rd = risk_difference_from_sums(sums) if estimand == "risk difference" else None
    F = fit_functionals(fit, clusters=clusters)
    output = regression_output(
        fit,
        design,
        setup.prepared.labels,
        conf_level=conf_level,
        clusters=clusters,
        sums=sums,
        functionals=F,
    )
    result = logistic_result(
        fit,
        design,
        row_summary(setup, True),
        outcome,
        estimand=estimand,
        conf_level=conf_level,
        fixed_effects=fixed_effects,
        cluster=cluster,
        clusters=clusters,
        risk_difference=rd,
        model=output,
    )
    if clustered_arm:
        result = partially_nested(result, str(cluster), clustered_arm, random_effect=False)
    return FittedModel(result, F, design, setup, "logit", fe)


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
    model: ModelOutput | None = None,
) -> ComparisonResult:
    """The result of :func:`logistic` from its fit (shared with the streamed fits).

    ``risk_difference`` is :func:`~coachstats.compare.glm.risk_difference_from_sums`
    when the estimand is the risk difference; ``scores`` the per-cluster score
    sums (:func:`~coachstats.compare.glm.cluster_score_sums`) when the fit has
    no rows; ``model`` the full output
    (:func:`~coachstats.compare.output.regression_output`).
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
        model=model,
        marginal=risk_difference is not None,
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
    clustered_arm: str | None = None,
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
    clustered_arm : str, optional
        Partially nested design, as in :func:`logistic`.

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
    return linear_model(**locals()).result  # every argument, by name


def linear_model(
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
    clustered_arm: str | None = None,
) -> FittedModel:
    """:func:`linear`, with the fit behind it (:class:`~coachstats.compare.modelbase.FittedModel`)."""
    check_conf_level(conf_level)
    check_cluster_vcov(cluster_vcov, cluster, fixed_effects)
    check_clustered_arm(clustered_arm, cluster)
    setup = model_setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster, fixed_effects),
        binary=False,
        treatment=treatment,
        control=control,
        clustered=(str(cluster), clustered_arm) if clustered_arm else None,
    )
    fe = group_index(setup, fixed_effects, "fixed effects") if fixed_effects else None
    clusters = group_index(setup, cluster, "cluster") if cluster else None
    design = model_design(setup, arm, fe)
    fit = fit_linear(design.X, setup.y, fe, centred=design.centred, clusters=clusters)
    rows = row_summary(setup, False)
    check_not_exact(fit, rows, outcome)
    cross = _cr2_sums(design.X, setup.y, fit, clusters) if cluster_vcov == "CR2" else None
    F = fit_functionals(fit, clusters=clusters, cr2=cross)
    output = regression_output(
        fit,
        design,
        setup.prepared.labels,
        conf_level=conf_level,
        clusters=clusters,
        cr2=cross,
        functionals=F,
    )
    result = linear_result(
        fit,
        design,
        rows,
        outcome,
        conf_level=conf_level,
        fixed_effects=fixed_effects,
        cluster=cluster,
        clusters=clusters,
        small_sample=None if cross is None else cr2_arm(cross[0]),
        model=output,
    )
    if clustered_arm:
        result = partially_nested(result, str(cluster), clustered_arm, random_effect=False)
    return FittedModel(result, F, design, setup, "identity", fe)


def check_firth(firth: bool, estimand: str, cluster: str | None, fixed_effects: str | None) -> None:
    """Raise :class:`OptionError` unless ``firth`` is a bool and its model is available."""
    check_option("firth", firth, (True, False))
    if firth and (estimand != "odds ratio" or cluster or fixed_effects):
        raise OptionError(
            "firth=True fits the odds ratio of an unclustered model; got "
            f"estimand={estimand!r}, cluster={cluster!r}, fixed_effects={fixed_effects!r}"
        )


def _firth(setup: ModelSetup, design: Design, outcome: str, conf_level: float) -> ComparisonResult:
    """The result of ``logistic(..., firth=True)``."""
    X1, _ = design.with_intercept()
    # centred covariates: the slopes, the LR test and the interval do not change (the
    # penalty moves by a constant), and a large offset no longer slows the convergence
    X1[:, 1:] -= X1[:, 1:].mean(axis=0)
    fit = fit_firth(X1, setup.y)
    inference = profile_inference(X1, setup.y, fit, 1, conf_level=conf_level)
    log_or = float(fit.coef[1])  # the arm column follows the intercept
    se = math.sqrt(float(fit.vcov[1, 1]))
    rows = row_summary(setup, True)
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


def _cr2_sums(
    X: np.ndarray, y: np.ndarray, fit: RegressionFit, clusters: GroupIndex | None
) -> tuple[ClusterCrossProducts, np.ndarray]:
    """The CR2 cross products of an OLS fit held in memory, and the centre of their design."""
    if clusters is None:  # pragma: no cover - linear() checks cluster= first
        raise OptionError("cluster_vcov='CR2' needs cluster=")
    center = X.mean(axis=0)
    sums = ols_cross_products(
        X.T, y, clusters.codes, clusters.n_groups, fit.coef, fit.group_coef[0], center
    )
    return sums, center


def check_not_exact(fit: RegressionFit, rows: RowSummary, outcome: str) -> None:
    """Raise when a linear fit is exact up to rounding (its SEs would be artefacts)."""
    spread = max((a.sd for a in rows.arms if a.sd is not None and math.isfinite(a.sd)), default=0.0)
    # an exact fit up to rounding (y = 2x + arm gives a residual SD of 5e-16): its SEs and
    # P values would be artefacts of floating point
    if fit.dispersion <= 0.0 or math.sqrt(fit.dispersion) <= 1e-10 * spread:
        raise AnalysisError(
            f"outcome '{outcome}' is fitted exactly by the arm and covariates: residual SD "
            f"{math.sqrt(max(fit.dispersion, 0.0)):.3g} against an outcome SD of {spread:.3g}"
        )


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
    model: ModelOutput | None = None,
) -> ComparisonResult:
    """The result of :func:`linear` from its fit (shared with the streamed fits).

    ``small_sample``: the CR2 SE and Satterthwaite df replace CR1 and ``n - k``;
    ``model``: the full output (:func:`~coachstats.compare.output.regression_output`)."""
    check_not_exact(fit, rows, outcome)
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
        model=model,
    )

r"""Clustered comparisons of the arm effect: :func:`gee` and :func:`mixed`.

The DataFrame functions over :func:`~coachstats.compare.gee.fit_gee`
(population-averaged, robust SE; ``geepack::geeglm``) and
:func:`~coachstats.compare.mixed.fit_mixed` (random intercept, Satterthwaite
df; ``lme4::lmer`` + ``lmerTest``). The ``*_result`` functions turn a fit into
a :class:`~coachstats.core.results.ComparisonResult`; the streamed fits of
:mod:`coachstats.engines.stream` call them too.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(4)
>>> df = pd.DataFrame({"arm": np.tile(["coaching", "usual_care"], 60),
...                    "clinic": np.repeat([f"c{i}" for i in range(6)], 20)})
>>> df["change"] = -0.7 * (df["arm"] == "coaching") + rng.normal(0, 1, 120)
>>> mixed(df, "change", cluster="clinic").estimand
'mean difference'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd

from coachstats.compare.design import Design
from coachstats.compare.gee import (
    CORRELATIONS,
    FAMILIES,
    SMALL_SAMPLE,
    GEEFit,
    SmallSample,
    fit_gee,
)
from coachstats.compare.mixed import MixedFit, fit_mixed
from coachstats.compare.modelbase import (
    FittedModel,
    RowSummary,
    check_arm_separation,
    check_clustered_arm,
    group_index,
    model_design,
    model_result,
    model_setup,
    partially_nested,
    row_summary,
)
from coachstats.compare.output import gee_functionals, gee_output, mixed_functionals, mixed_output
from coachstats.compare.prepare import accepts_dask
from coachstats.compare.twobytwo import check_conf_level
from coachstats.core.coefficients import ModelOutput
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ComparisonResult

__all__ = ["gee", "gee_model", "gee_result", "mixed", "mixed_model", "mixed_result"]

GEEFamily = Literal["binomial", "gaussian"]
Correlation = Literal["exchangeable", "independence"]
MomentDF = Literal["n", "n-p"]


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
    clustered_arm: str | None = None,
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
    clustered_arm : str, optional
        A partially nested design: only this arm's patients share clusters;
        the other arm's patients are clusters of one (``geeglm`` with their
        own ids), whatever their ``cluster`` value (usually missing).

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
    >>> import numpy as np
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
    return gee_model(**locals()).result  # every argument, by name


def gee_model(
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
    clustered_arm: str | None = None,
) -> FittedModel:
    """:func:`gee`, with the fit behind it (:class:`~coachstats.compare.modelbase.FittedModel`)."""
    check_option("family", family, FAMILIES)
    check_option("corr", corr, CORRELATIONS)
    check_option("moment_df", moment_df, ("n", "n-p"))
    check_option("small_sample", small_sample, SMALL_SAMPLE)
    check_conf_level(conf_level)
    check_clustered_arm(clustered_arm, cluster)
    binary = family == "binomial"
    setup = model_setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster,),
        binary=binary,
        treatment=treatment,
        control=control,
        clustered=(cluster, clustered_arm) if clustered_arm else None,
    )
    if binary:
        if setup.y.min() == setup.y.max():
            raise AnalysisError(
                f"outcome '{outcome}' is {int(setup.y[0])} for every analysed patient: "
                "no events to model"
            )
        check_arm_separation(setup, outcome)
    clusters = group_index(setup, cluster, "cluster")
    design = model_design(setup, arm, None)
    fit = fit_gee(
        design.X,
        setup.y,
        clusters,
        family=family,
        corr=corr,
        moment_df=moment_df,
        small_sample=small_sample,
    )
    F = gee_functionals(fit)
    output = gee_output(fit, design, setup.prepared.labels, conf_level=conf_level)
    result = gee_result(
        fit,
        design,
        row_summary(setup, binary),
        outcome,
        cluster=cluster,
        conf_level=conf_level,
        model=output,
    )
    if clustered_arm:
        result = partially_nested(result, cluster, clustered_arm, random_effect=False)
    return FittedModel(result, F, design, setup, "logit" if binary else "identity")


def gee_result(
    fit: GEEFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    cluster: str,
    conf_level: float,
    model: ModelOutput | None = None,
) -> ComparisonResult:
    """The result of :func:`gee` from its fit (shared with the streamed fits).

    ``model``: the full output (:func:`~coachstats.compare.output.gee_output`)."""
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
    return model_result(
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
        model=model,
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
    clustered_arm: str | None = None,
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
    clustered_arm : str, optional
        A partially nested design: the random intercept is for this arm's
        patients only (coaches in the coaching arm); the other arm's patients
        have none, whatever their ``cluster`` value (usually missing):
        ``lmer(y ~ arm + ... + (0 + coached | cluster))``. ``icc`` is then the
        intraclass correlation within the clustered arm and ``n_clusters``
        counts its clusters. The residual variance is common to both arms.

    Returns
    -------
    ComparisonResult
        ``extra``: ``icc``, ``var_cluster`` (:math:`\tau^2`), ``var_residual``
        (:math:`\sigma^2`), ``loglik`` (REML log-likelihood for REML fits, as
        ``logLik``), ``n_clusters``, ``estimation`` (``"REML"``/``"ML"``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> clinic = np.repeat([f"c{i}" for i in range(6)], 40)
    >>> df = pd.DataFrame({"arm": np.tile(["coaching", "usual_care"], 120), "clinic": clinic})
    >>> df["change"] = (-0.7 * (df["arm"] == "coaching") + rng.normal(0, 0.6, 6).repeat(40)
    ...                 + rng.normal(0, 1.4, 240))
    >>> r = mixed(df, "change", cluster="clinic")
    >>> round(r.estimate, 3), round(r.df, 1), round(r.extra["icc"], 3)
    (-0.825, 233.0, 0.215)
    """
    return mixed_model(**locals()).result  # every argument, by name


def mixed_model(
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
    clustered_arm: str | None = None,
) -> FittedModel:
    """:func:`mixed`, with the fit behind it (:class:`~coachstats.compare.modelbase.FittedModel`)."""
    check_conf_level(conf_level)
    check_clustered_arm(clustered_arm, cluster)
    setup = model_setup(
        data,
        outcome,
        arm=arm,
        covariates=covariates,
        formula=formula,
        groups=(cluster,),
        binary=False,
        treatment=treatment,
        control=control,
        clustered=(cluster, clustered_arm) if clustered_arm else None,
    )
    clusters = group_index(setup, cluster, "cluster")
    design = model_design(setup, arm, None)
    free = None
    if clustered_arm:
        # rows of the other arm have no random effect
        free = setup.treated if str(clustered_arm) != setup.prepared.labels[0] else ~setup.treated
    fit = fit_mixed(design.X, setup.y, clusters, reml=reml, free=free)
    F = mixed_functionals(fit)
    output = mixed_output(fit, design, setup.prepared.labels, conf_level=conf_level)
    result = mixed_result(
        fit,
        design,
        row_summary(setup, False),
        outcome,
        cluster=cluster,
        conf_level=conf_level,
        model=output,
    )
    if clustered_arm:
        result = partially_nested(result, cluster, clustered_arm, random_effect=True)
    return FittedModel(result, F, design, setup, "identity")


def mixed_result(
    fit: MixedFit,
    design: Design,
    rows: RowSummary,
    outcome: str,
    *,
    cluster: str,
    conf_level: float,
    model: ModelOutput | None = None,
) -> ComparisonResult:
    """The result of :func:`mixed` from its fit (shared with the streamed fits).

    ``model``: the full output (:func:`~coachstats.compare.output.mixed_output`)."""
    how = "REML" if fit.reml else "ML"
    return model_result(
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
        model=model,
    )

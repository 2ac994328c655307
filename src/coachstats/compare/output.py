r"""The full output of each model: coefficients, fit statistics, adjusted means, interactions.

Builds the :class:`~coachstats.core.coefficients.ModelOutput` that
:func:`~coachstats.compare.models.logistic`, ``linear``, ``gee`` and ``mixed``
store in ``ComparisonResult.model``, from the fit and its design, with the
inference of :mod:`coachstats.compare.inference`. The fit statistics follow
R:

- linear (``lm``): :math:`\ell = -\frac n2\{\log(2\pi\,\mathrm{RSS}/n) + 1\}`,
  ``df`` = coefficients + 1 (the residual variance);
- logistic (``glm``): :math:`\ell = -D/2` for a 0/1 outcome, ``df`` =
  coefficients;
- mixed (``lmer``): the (RE)ML log-likelihood, ``df`` = fixed effects + 2
  (the two variances); BIC with :math:`\log n` (``n`` observations);
- GEE: no likelihood (NaN), as ``geeglm``.

AIC :math:`= -2\ell + 2\,df`, BIC :math:`= -2\ell + \log(n)\,df`. Fixed
effects (``fixed_effects=``) count in ``df`` but, being absorbed, have no row
in the coefficient table (as ``fixest``).

Examples
--------
>>> import pandas as pd
>>> from coachstats.compare.models import linear
>>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 4,
...                    "change": [-1.2, -0.8, -1.5, -0.5, -0.2, 0.1, -0.6, 0.3]})
>>> r = linear(df, "change")
>>> r.to_frame(terms="all")[["term", "estimate"]].round(3).to_numpy().tolist()
[['(Intercept)', -0.1], ['arm[T.coaching]', -0.9]]
>>> int(r.glance()["df"].iloc[0]), r.adjusted_means()["estimate"].round(3).tolist()
(3, [-1.0, -0.1])
"""

from __future__ import annotations

import math

import numpy as np

from coachstats.compare.design import Design, GroupIndex
from coachstats.compare.gee import GEEFit
from coachstats.compare.glm import MarginalSums, RegressionFit
from coachstats.compare.inference import (
    Functionals,
    coefficient_table,
    counterfactual_sums,
    marginal_output,
    regression_functionals,
    vector_functionals,
    wald_test,
)
from coachstats.compare.mixed import MixedFit
from coachstats.compare.smallsample import ClusterCrossProducts
from coachstats.core.coefficients import FitStatistics, ModelOutput

__all__ = [
    "fit_functionals",
    "gee_functionals",
    "gee_output",
    "mixed_functionals",
    "mixed_output",
    "model_output",
    "regression_output",
]


def _information(loglik: float, df: int, n: int) -> tuple[float, float]:
    """AIC and BIC."""
    if not math.isfinite(loglik):
        return math.nan, math.nan
    return -2.0 * loglik + 2.0 * df, -2.0 * loglik + math.log(n) * df


def model_output(
    F: Functionals,
    design: Design,
    labels: tuple[str, str],
    fit_stats: FitStatistics,
    *,
    intercept: bool,
    binary: bool,
    conf_level: float,
    sums: MarginalSums,
) -> ModelOutput:
    """Assemble a :class:`ModelOutput` from a model's :class:`Functionals`."""
    names = (("(Intercept)",) if intercept else ()) + design.names
    means, effects = marginal_output(F, sums, labels, binary=binary, conf_level=conf_level)
    columns = design.interaction_columns
    interaction = wald_test(F, columns, [design.names[j] for j in columns]) if columns else None
    return ModelOutput(
        coefficients=coefficient_table(F, names, conf_level),
        fit=fit_stats,
        adjusted_means=means,
        marginal=effects,
        interaction=interaction,
        scale="log odds" if binary else "identity",
        conf_level=conf_level,
    )


def fit_functionals(
    fit: RegressionFit,
    *,
    clusters: GroupIndex | None = None,
    scores: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    cr2: tuple[ClusterCrossProducts, np.ndarray] | None = None,
) -> Functionals:
    """The :class:`Functionals` of a logistic (z) or linear (t on the residual df) fit."""
    df = None if fit.family == "binomial" else float(fit.df_resid)
    return regression_functionals(
        fit, clusters=clusters, scores=scores, basis=basis, cr2=cr2, df=df
    )


def gee_functionals(fit: GEEFit) -> Functionals:
    """The :class:`Functionals` of a GEE fit: robust covariance, z tests."""
    return vector_functionals(fit.params, fit.vcov_robust, None)


def mixed_functionals(fit: MixedFit) -> Functionals:
    """The :class:`Functionals` of a mixed model: Satterthwaite df for every functional."""

    def df(g_beta: np.ndarray, g_alpha: np.ndarray) -> float:
        return fit.contrast_df(np.concatenate([g_alpha, g_beta]))

    return vector_functionals(fit.params, fit.vcov, df)


def regression_output(
    fit: RegressionFit,
    design: Design,
    labels: tuple[str, str],
    *,
    conf_level: float,
    clusters: GroupIndex | None = None,
    cr2: tuple[ClusterCrossProducts, np.ndarray] | None = None,
    scores: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    sums: MarginalSums | None = None,
    functionals: Functionals | None = None,
) -> ModelOutput:
    """:class:`ModelOutput` of a logistic or linear fit (model-based, CR1 or CR2).

    ``sums``: the :class:`~coachstats.compare.glm.MarginalSums` of a fit
    without rows (streamed); computed from ``design`` otherwise.
    ``scores``/``basis``: see :meth:`RegressionFit.functional_cov`.
    ``functionals``: :func:`fit_functionals` of the fit, when already built.
    """
    binary = fit.family == "binomial"
    F = functionals or fit_functionals(fit, clusters=clusters, scores=scores, basis=basis, cr2=cr2)
    n, k = fit.nobs, fit.n_params
    if binary:
        loglik, df, sigma = -fit.deviance / 2.0, k, math.nan
    else:
        loglik = -0.5 * n * (math.log(2.0 * math.pi * fit.deviance / n) + 1.0)
        df, sigma = k + 1, math.sqrt(fit.dispersion)
    aic, bic = _information(loglik, df, n)
    stats = FitStatistics(
        nobs=n,
        n_clusters=None if clusters is None else clusters.n_groups,
        loglik=loglik,
        aic=aic,
        bic=bic,
        df=df,
        df_residual=float(fit.df_resid),
        deviance=fit.deviance,
        sigma=sigma,
        converged=bool(fit.newton.converged),
        iterations=fit.iterations,
        estimation="ML" if binary else "OLS",
    )
    link = "logit" if binary else "identity"
    if sums is None:
        sums = counterfactual_sums(design, fit.coef, fit.group_coef, fit.groups, link)
    return model_output(
        F,
        design,
        labels,
        stats,
        intercept=fit.groups.n_groups == 1,
        binary=binary,
        conf_level=conf_level,
        sums=sums,
    )


def gee_output(
    fit: GEEFit,
    design: Design,
    labels: tuple[str, str],
    *,
    conf_level: float,
    sums: MarginalSums | None = None,
) -> ModelOutput:
    """:class:`ModelOutput` of a GEE fit (robust covariance, z tests; no likelihood)."""
    binary = fit.family == "binomial"
    F = gee_functionals(fit)
    stats = FitStatistics(
        nobs=fit.nobs,
        n_clusters=fit.n_clusters,
        loglik=math.nan,
        aic=math.nan,
        bic=math.nan,
        df=len(fit.params),
        df_residual=math.nan,
        deviance=math.nan,
        sigma=math.nan,
        converged=bool(fit.converged),
        iterations=fit.iterations,
        estimation="GEE",
    )
    if sums is None:
        link = "logit" if binary else "identity"
        sums = counterfactual_sums(design, fit.params[1:], fit.params[:1], None, link)
    return model_output(
        F, design, labels, stats, intercept=True, binary=binary, conf_level=conf_level, sums=sums
    )


def mixed_output(
    fit: MixedFit,
    design: Design,
    labels: tuple[str, str],
    *,
    conf_level: float,
    sums: MarginalSums | None = None,
) -> ModelOutput:
    """:class:`ModelOutput` of a linear mixed model (Satterthwaite df for every functional)."""
    F = mixed_functionals(fit)
    n_par = len(fit.params) + 2
    aic, bic = _information(fit.loglik, n_par, fit.nobs)
    stats = FitStatistics(
        nobs=fit.nobs,
        n_clusters=fit.n_clusters,
        loglik=fit.loglik,
        aic=aic,
        bic=bic,
        df=n_par,
        df_residual=float(fit.nobs - n_par),
        deviance=math.nan,
        sigma=math.sqrt(fit.sigma2),
        converged=True,
        iterations=0,
        estimation="REML" if fit.reml else "ML",
    )
    if sums is None:
        sums = counterfactual_sums(design, fit.params[1:], fit.params[:1], None, "identity")
    return model_output(
        F, design, labels, stats, intercept=True, binary=False, conf_level=conf_level, sums=sums
    )

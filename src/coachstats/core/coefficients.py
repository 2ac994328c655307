"""The full output of a fitted model: coefficients, fit statistics, adjusted means.

A model-based comparison (:func:`coachstats.compare.linear`, ``logistic``,
``gee``, ``mixed``) reports the arm effect as a
:class:`~coachstats.core.results.ComparisonResult`; its ``model`` field holds a
:class:`ModelOutput` with what R users read from ``broom`` and ``emmeans``:

- ``coefficients``: every coefficient with its SE, test and interval, like
  ``broom::tidy(fit, conf.int = TRUE)`` (``ComparisonResult.to_frame(terms="all")``);
- ``fit``: :class:`FitStatistics`, like ``broom::glance(fit)``
  (``ComparisonResult.glance()``);
- ``adjusted_means``: the mean outcome (or the probability) in each arm,
  averaged over the analysed patients with everyone set to that arm
  (``ComparisonResult.adjusted_means()``);
- ``marginal``: contrasts of the adjusted means, the risk difference and the
  risk ratio for a binary outcome (``ComparisonResult.marginal_effects()``);
- ``interaction``: the joint Wald test of the arm's interactions, when the arm
  interacts with covariates (effect modification).

All are frozen and built from the fit by :mod:`coachstats.compare.inference`.

Examples
--------
>>> c = Coefficient("age", 0.02, 0.01, 2.0, math.nan, 0.0455, 0.0004, 0.0396)
>>> c.to_dict()["term"], c.to_dict()["df"]
('age', nan)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["Coefficient", "FitStatistics", "ModelOutput", "WaldTest"]


@dataclass(frozen=True)
class Coefficient:
    """One estimated quantity with its inference (a row of a tidy table).

    ``df`` is NaN for a z (normal) test. For a ratio (a marginal risk ratio)
    ``estimate`` and the interval are on the ratio scale and ``std_error`` is
    the SE of its logarithm, as for odds ratios in
    :class:`~coachstats.core.results.ComparisonResult`.
    """

    term: str
    estimate: float
    std_error: float
    statistic: float = math.nan
    df: float = math.nan
    p_value: float = math.nan
    conf_low: float = math.nan
    conf_high: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """The row as a dict (columns as in ``broom::tidy``)."""
        return {
            "term": self.term,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
        }


@dataclass(frozen=True)
class FitStatistics:
    """Model-level statistics, like ``broom::glance``.

    ``loglik`` is the log-likelihood at the estimates (the REML criterion for a
    REML mixed model, as ``logLik`` reports it; NaN for GEE, which has no
    likelihood); ``aic`` and ``bic`` follow from it with ``df`` estimated
    parameters (R's ``AIC``/``BIC``: ``-2 loglik + 2 df`` and ``+ log(n) df``;
    for REML, ``n`` is the number of observations, as lme4 uses);
    ``df_residual`` is ``n - k`` for regression models (NaN otherwise);
    ``deviance`` the residual deviance (logistic), the residual sum of squares
    (linear) or NaN; ``sigma`` the residual SD (NaN for logistic).
    """

    nobs: int
    n_clusters: int | None
    loglik: float
    aic: float
    bic: float
    df: int
    df_residual: float
    deviance: float
    sigma: float
    converged: bool
    iterations: int
    estimation: str

    def to_dict(self) -> dict[str, Any]:
        """The statistics as one flat dict."""
        return {
            "nobs": self.nobs,
            "n_clusters": self.n_clusters if self.n_clusters is not None else pd.NA,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "df": self.df,
            "df_residual": self.df_residual,
            "deviance": self.deviance,
            "sigma": self.sigma,
            "converged": self.converged,
            "iterations": self.iterations,
            "estimation": self.estimation,
        }


@dataclass(frozen=True)
class WaldTest:
    """A joint Wald test of several coefficients (here: the arm's interactions).

    ``statistic_name`` is ``"F"`` (``df`` numerator, ``df_denominator``
    denominator df) or ``"chi-square"`` (``df`` degrees of freedom,
    ``df_denominator`` NaN).
    """

    terms: tuple[str, ...]
    statistic: float
    statistic_name: str
    df: float
    df_denominator: float
    p_value: float


@dataclass(frozen=True)
class ModelOutput:
    """Everything a fitted model reports beyond the arm effect (see the module docstring).

    ``scale`` names the scale of the coefficients (``"log odds"`` or
    ``"identity"``); ``conf_level`` is that of every interval.
    """

    coefficients: tuple[Coefficient, ...]
    fit: FitStatistics
    adjusted_means: tuple[Coefficient, ...] = ()
    marginal: tuple[Coefficient, ...] = ()
    interaction: WaldTest | None = None
    scale: str = "identity"
    conf_level: float = 0.95

    def coefficient_frame(self) -> pd.DataFrame:
        """One row per coefficient: term, estimate, SE, statistic, df, P, interval."""
        return pd.DataFrame([c.to_dict() for c in self.coefficients])

    def means_frame(self) -> pd.DataFrame:
        """One row per arm (column ``arm``), on the outcome's scale."""
        rows = [{"arm": m.term, **m.to_dict()} for m in self.adjusted_means]
        frame = pd.DataFrame(rows, columns=["arm", *Coefficient("", 0.0, 0.0).to_dict()])
        return frame.drop(columns=["term", "statistic", "p_value"])

    def marginal_frame(self) -> pd.DataFrame:
        """One row per marginal contrast (column ``contrast``)."""
        rows = [{"contrast": m.term, **m.to_dict()} for m in self.marginal]
        frame = pd.DataFrame(rows, columns=["contrast", *Coefficient("", 0.0, 0.0).to_dict()])
        return frame.drop(columns=["term"])

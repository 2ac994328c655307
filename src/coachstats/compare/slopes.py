r"""Random-slope mixed model: does the outcome change faster with coaching?

The model for subject :math:`i` measured at times :math:`t_{ij}` is

.. math:: y_{ij} = \beta_0 + \beta_1 a_i + \beta_2 t_{ij} + \beta_3 a_i t_{ij} + x_i^\top\gamma
          + b_{0i} + b_{1i} t_{ij} + \varepsilon_{ij},

with :math:`a_i` = 1 in the treatment arm, a random intercept and slope per
subject, :math:`(b_{0i}, b_{1i}) \sim N(0, G)` with an unstructured
:math:`2\times2` :math:`G`, and :math:`\varepsilon_{ij} \sim N(0, \sigma^2)`:
``lme4::lmer(y ~ arm * time + (1 + time | id), REML = TRUE)``. The arm's
effect on the rate of change is :math:`\beta_3`, the difference in slopes;
the difference between arms at time :math:`t` is :math:`\beta_1 + \beta_3 t`.
Both are tested with Satterthwaite degrees of freedom, as ``lmerTest``.

The fit is REML over the Cholesky factor of :math:`G` (its diagonal bounded
at 0, as lme4) and :math:`\sigma` (:mod:`coachstats.compare.reml`). When the
optimum is on the boundary (a slope variance of 0 or a correlation of
:math:`\pm1`, what lme4 reports as a singular fit), the estimates are still
those of lme4, the result says so (``singular``) and a
:class:`~coachstats.core.errors.DataWarning` is raised: the random-slope
structure is then not supported by the data, and the Satterthwaite degrees of
freedom, computed at the boundary, are approximate.

Checked against ``lme4::lmer`` with ``lmerTest`` (``tests/reference/repeated.R``).

References
----------
Laird NM, Ware JH. Random-effects models for longitudinal data. Biometrics
1982;38:963-974.

Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models
using lme4. J Stat Softw 2015;67(1).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(4)
>>> n, times = 150, np.array([0.0, 1.0, 2.0])
>>> arm = np.repeat(["coaching", "usual_care"], n // 2)
>>> b = rng.multivariate_normal([0, 0], [[1.0, -0.1], [-0.1, 0.1]], size=n)
>>> slope = np.where(arm == "coaching", -0.6, -0.2) + b[:, 1]
>>> y = 9.5 + b[:, [0]] + slope[:, None] * times + rng.normal(0, 0.6, (n, 3))
>>> long = pd.DataFrame({"id": np.repeat(np.arange(n), 3), "arm": np.repeat(arm, 3),
...                      "year": np.tile(times, n), "hba1c": y.ravel()})
>>> r = random_slopes(long, "hba1c", time="year", subject="id")
>>> r.slope_difference.estimate < 0, r.singular
(True, False)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coachstats.compare.longitudinal import (
    coefficient_table,
    contrast_inference,
    contrast_result,
    subject_rows,
)
from coachstats.compare.reml import Blocks, CholeskyBlocks, fit_reml
from coachstats.core.errors import AnalysisError, DataWarning
from coachstats.core.results import ArmSummary, ComparisonResult, TidyResult

__all__ = ["SlopesResult", "random_slopes"]

METHOD = "random intercept and slope mixed model (REML; Satterthwaite df)"


@dataclass(frozen=True)
class SlopesResult(TidyResult):
    """A random-slope fit: the difference in slopes, slopes by arm, differences at given times.

    Attributes
    ----------
    slope_difference : ComparisonResult
        Treatment minus control slope, per unit of ``time``.
    slopes : DataFrame
        Slope per arm: ``arm, estimate, std_error, df, conf_low, conf_high``.
    at : tuple of ComparisonResult
        Treatment minus control at the requested times (``extra["time"]``).
    coefficients : DataFrame
        ``term, estimate, std_error, df, statistic, p_value``, named as lme4.
    random : dict
        ``sd_intercept``, ``sd_slope``, ``correlation``, ``sigma``.
    loglik : float
        Restricted log-likelihood (``logLik`` of the REML ``lmer`` fit).
    singular : bool
        The random-effects covariance is on the boundary (see module).
    """

    outcome: str
    time: str
    arms: tuple[str, str]
    slope_difference: ComparisonResult
    slopes: pd.DataFrame
    at: tuple[ComparisonResult, ...]
    coefficients: pd.DataFrame
    random: dict[str, float]
    loglik: float
    n_params: int
    n_subjects: int
    n_obs: int
    converged: bool
    singular: bool

    def glance(self) -> dict[str, Any]:
        """One row of fit statistics (REML log-likelihood, AIC as lme4, sizes, convergence)."""
        return {
            "n_subjects": self.n_subjects,
            "n_obs": self.n_obs,
            "loglik": self.loglik,
            "aic": -2.0 * self.loglik + 2.0 * self.n_params,
            "df_model": self.n_params,
            "converged": self.converged,
            "singular": self.singular,
        }

    def to_frame(self) -> pd.DataFrame:
        """The slope difference, then the differences at the requested times."""
        return pd.concat(
            [r.to_frame() for r in (self.slope_difference, *self.at)], ignore_index=True
        )

    def to_dict(self) -> dict[str, Any]:
        """Fit statistics (the tidy rows are in :meth:`to_frame`)."""
        return {"outcome": self.outcome, "method": METHOD, **self.glance()}

    def summary(self) -> str:
        """Text: slopes by arm, their difference, the random effects."""
        r = self.slope_difference
        t, c = self.arms
        lines = [
            f"{METHOD}: {self.outcome} over {self.time}",
            f"  {self.n_subjects} subjects, {self.n_obs} observations; "
            f"REML log-likelihood {self.loglik:.3f}"
            + ("" if self.converged else "; NOT CONVERGED"),
        ]
        for row in self.slopes.itertuples(index=False):
            lines.append(f"  slope, {row.arm}: {row.estimate:.4g} per unit of {self.time}")
        lines.append(
            f"  difference {t} - {c}: {r.estimate:.4g} ({round(100 * r.conf_level)}% CI "
            f"{r.conf_low:.4g} to {r.conf_high:.4g}), t = {r.statistic:.3f}, df = {r.df:.1f}, "
            f"P = {r.p_value:.4g}"
        )
        rnd = self.random
        lines.append(
            f"  random effects: SD intercept {rnd['sd_intercept']:.4g}, SD slope "
            f"{rnd['sd_slope']:.4g}, correlation {rnd['correlation']:.3f}; residual SD "
            f"{rnd['sigma']:.4g}"
        )
        if self.singular:
            lines.append(
                "  singular fit: the random-slope covariance is on its boundary (see docs)"
            )
        return "\n".join(lines)


def lme4_parametrization(phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives of :math:`\varphi = (G_{00}, G_{10}, G_{11}, \\sigma^2)` in lme4's parameters.

    lme4 (and lmerTest's Satterthwaite df) use :math:`\\psi = (a, b, c, s)`:
    the relative Cholesky factor :math:`\\Lambda = [[a, 0], [b, c]]` of
    :math:`G/\\sigma^2` and the residual SD :math:`s`, so
    :math:`G = s^2\\Lambda\\Lambda^\top`. Returns ``(J, S)`` for
    :func:`coachstats.compare.reml.satterthwaite`.

    Examples
    --------
    >>> jac, second = lme4_parametrization(np.array([4.0, 1.0, 2.0, 1.0]))
    >>> jac.shape, second.shape
    ((4, 4), (4, 4, 4))
    """
    g00, g10, g11, s2 = (float(v) for v in phi)
    s = math.sqrt(s2)
    l00 = math.sqrt(max(g00, 0.0))
    l10 = g10 / l00 if l00 > 0 else 0.0
    l11 = math.sqrt(max(g11 - l10**2, 0.0))
    a, b, c = l00 / s, l10 / s, l11 / s
    jac = np.array(
        [
            [2 * s2 * a, 0.0, 0.0, 2 * s * a * a],
            [s2 * b, s2 * a, 0.0, 2 * s * a * b],
            [0.0, 2 * s2 * b, 2 * s2 * c, 2 * s * (b * b + c * c)],
            [0.0, 0.0, 0.0, 2 * s],
        ]
    )
    second = np.zeros((4, 4, 4))
    second[0, 0, 0], second[0, 0, 3], second[0, 3, 3] = 2 * s2, 4 * s * a, 2 * a * a
    second[1, 0, 1], second[1, 0, 3], second[1, 1, 3], second[1, 3, 3] = (
        s2,
        2 * s * b,
        2 * s * a,
        2 * a * b,
    )
    second[2, 1, 1], second[2, 2, 2] = 2 * s2, 2 * s2
    second[2, 1, 3], second[2, 2, 3], second[2, 3, 3] = 4 * s * b, 4 * s * c, 2 * (b * b + c * c)
    second[3, 3, 3] = 2.0
    upper = np.triu(np.ones((4, 4), dtype=bool), 1)
    for k in range(4):  # symmetric
        second[k][upper.T] = second[k].T[upper.T]
    return jac, second


def random_slopes(
    data: pd.DataFrame,
    outcome: str,
    *,
    time: str,
    subject: str,
    arm: str = "arm",
    covariates: Sequence[str] = (),
    treatment: str | None = None,
    control: str | None = None,
    at: Sequence[float] = (),
    conf_level: float = 0.95,
) -> SlopesResult:
    """Fit ``outcome ~ arm * time + covariates + (1 + time | subject)`` by REML.

    Parameters
    ----------
    data : DataFrame
        One row per subject and measurement (see
        :func:`~coachstats.compare.longitudinal.long_format`); the baseline
        measurement is a row at time 0.
    outcome : str
        The repeated measure.
    time : str
        Numeric time of each measurement (e.g. years since randomization; the
        slope is per unit of it).
    subject : str
        The subject identifier.
    arm, treatment, control : str
        The arm column and labels (default treatment ``"coaching"``).
    covariates : sequence of str
        Numeric subject-level covariates (main effects).
    at : sequence of float
        Times at which to report the difference between arms
        (:math:`\\beta_1 + \\beta_3 t`).
    conf_level : float

    Returns
    -------
    SlopesResult

    Raises
    ------
    AnalysisError
        Non-numeric time or covariates, an arm changing within a subject, no
        subject with two distinct times.
    """
    rows = subject_rows(
        data,
        outcome,
        subject=subject,
        others=[time],
        covariates=covariates,
        arm=arm,
        treatment=treatment,
        control=control,
    )
    frame = rows.frame
    t_values = frame[time].to_numpy(dtype=float)
    spread = pd.Series(t_values).groupby(rows.subject).nunique()
    if not (spread.to_numpy() >= 2).any():
        raise AnalysisError(
            f"no subject has measurements at two different values of '{time}'; "
            "a slope per subject cannot be estimated"
        )
    t_label, c_label = rows.labels
    a = rows.treated.astype(float)
    x_cov, _ = rows.covariates(covariates)
    design = np.column_stack([np.ones(len(frame)), a, t_values, a * t_values, x_cov])
    names = ["(Intercept)", f"arm{t_label}", time, *covariates, f"arm{t_label}:{time}"]
    order = [0, 1, 2, *range(4, 4 + len(covariates)), 3]  # lme4's column order
    design = design[:, order]

    n = rows.n_subjects
    position = pd.Series(np.zeros(len(frame))).groupby(rows.subject).cumcount().to_numpy()
    width = int(position.max()) + 1
    p = design.shape[1]
    X = np.zeros((n, width, p))
    y = np.zeros((n, width))
    tt = np.zeros((n, width))
    mask = np.zeros((n, width), dtype=bool)
    X[rows.subject, position] = design
    y[rows.subject, position] = frame[outcome].to_numpy(dtype=float)
    tt[rows.subject, position] = t_values
    mask[rows.subject, position] = True
    ones = mask.astype(float)
    outer = lambda u, v: np.einsum("na,nb->nab", u, v)  # noqa: E731
    basis = np.stack(
        [
            outer(ones, ones),
            outer(ones, tt) + outer(tt, ones),
            outer(tt, tt),
            np.einsum("na,ab->nab", ones, np.eye(width)),
        ]
    )
    param = CholeskyBlocks((2, 1), positive=(False, True))
    s2 = float(np.var(frame[outcome].to_numpy(dtype=float)))
    var_t = float(np.var(t_values)) or 1.0
    starts = np.array(  # lme4's start (G = sigma^2 I), a large and a small slope variance
        [
            [s2 / 2, 0.0, s2 / 2, s2 / 2],
            [s2 / 2, 0.0, s2 / 4 / var_t, s2 / 2],
            [s2 / 2, 0.0, s2 / 100 / var_t, s2 / 2],
        ]
    )
    fit = fit_reml(Blocks(X, y, mask, basis), param, starts)

    G = param.matrices(fit.phi)[0]
    sigma2 = float(fit.phi[3])
    sd_i, sd_s = math.sqrt(max(G[0, 0], 0.0)), math.sqrt(max(G[1, 1], 0.0))
    random = {
        "sd_intercept": sd_i,
        "sd_slope": sd_s,
        "correlation": G[1, 0] / (sd_i * sd_s) if sd_i * sd_s > 0 else math.nan,
        "sigma": math.sqrt(sigma2),
    }
    if fit.boundary:
        warnings.warn(
            f"random slopes for '{outcome}': singular fit (slope SD {sd_s:.3g}, correlation "
            f"{random['correlation']:.3f}); the data do not support a random slope, and the "
            "Satterthwaite df at this boundary are approximate",
            DataWarning,
            stacklevel=2,
        )
    j_arm, j_time, j_int = 1, 2, p - 1
    reparam = lme4_parametrization(fit.phi)

    def unit(*pairs: tuple[int, float]) -> np.ndarray:
        e = np.zeros(p)
        for j, w in pairs:
            e[j] += w
        return e

    n_arm = [len(np.unique(rows.subject[rows.treated == flag])) for flag in (True, False)]

    def result(label: str, c: np.ndarray, estimand: str, extra: dict[str, Any]) -> ComparisonResult:
        return contrast_result(
            fit,
            c,
            rows=rows,
            outcome=label,
            method=METHOD,
            estimand=estimand,
            arms=(ArmSummary(t_label, n_arm[0]), ArmSummary(c_label, n_arm[1])),
            adjusted_for=covariates,
            cluster=subject,
            missing="all observed measurements (valid under missing at random)",
            conf_level=conf_level,
            reparam=reparam,
            extra={"singular": fit.boundary, **extra},
        )

    slope_difference = result(
        f"{outcome} slope per unit of {time}",
        unit((j_int, 1.0)),
        "difference in slopes",
        {},
    )
    slopes = []
    for label, c in ((t_label, unit((j_time, 1.0), (j_int, 1.0))), (c_label, unit((j_time, 1.0)))):
        r = contrast_inference(fit, c, conf_level, reparam)
        slopes.append((label, r.estimate, r.std_error, r.df, r.conf_low, r.conf_high))
    at_results = tuple(
        result(
            f"{outcome} at {time} {t:g}",
            unit((j_arm, 1.0), (j_int, float(t))),
            "mean difference",
            {"time": float(t)},
        )
        for t in at
    )
    return SlopesResult(
        outcome=outcome,
        time=time,
        arms=(t_label, c_label),
        slope_difference=slope_difference,
        slopes=pd.DataFrame(
            slopes, columns=["arm", "estimate", "std_error", "df", "conf_low", "conf_high"]
        ),
        at=at_results,
        coefficients=coefficient_table(fit, names, conf_level, reparam),
        random=random,
        loglik=fit.loglik,
        n_params=fit.n_params,
        n_subjects=n,
        n_obs=fit.n_obs,
        converged=fit.converged,
        singular=fit.boundary,
    )

r"""Regression to the mean after selection on a baseline value (bivariate normal model).

Patients enrolled *because* a measurement :math:`X` was above a threshold
:math:`c` are, on average, measured lower the next time even if nothing
changed: part of what put them above :math:`c` was within-person variation.
With :math:`(X, Y)` bivariate normal, common mean :math:`\mu`, SD
:math:`\sigma` and test-retest correlation :math:`\rho` (no true change), and
selection :math:`X > c`:

.. math::

    E[Y - X \mid X > c] = -(1 - \rho)\,(E[X \mid X > c] - \mu)
    = -(1 - \rho)\,\sigma\,\frac{\varphi(z)}{1 - \Phi(z)},\qquad z = \frac{c - \mu}{\sigma}

(Barnett, van der Pols and Dobson 2005), and the shares a program would
report without any effect follow from the conditional normal
:math:`Y \mid X = x \sim N(\mu + \rho(x - \mu),\ \sigma^2(1 - \rho^2))`:
:math:`P(Y \le g \mid X > c)` (reaching a goal) and :math:`P(X - Y \ge k
\mid X > c)` (a drop of at least :math:`k`), from the bivariate normal CDF.

The correlation comes from a documented within-subject SD :math:`\sigma_w`
(or coefficient of variation times the level): :math:`\rho = 1 -
\sigma_w^2/\sigma^2`, where :math:`\sigma^2` is the variance of single
measurements in the population the patients were selected from.
:math:`\mu` and :math:`\sigma` are that population's mean and SD: the sample
moments of its baselines when they include patients below the threshold,
otherwise the maximum-likelihood normal truncated at :math:`c` fitted to the
selected patients (:func:`fit_truncated_normal`). For a given set of selected
patients the per-patient versions (:meth:`RegressionToMean.change_given`,
:meth:`RegressionToMean.below_given`) are averaged over their baselines, so the
shape of the selected tail need not be normal.

Checked against R (``tests/reference/regression_to_mean.R``:
``truncnorm::etruncnorm``, ``mvtnorm::pmvnorm``, ``optim`` on
``truncnorm::dtruncnorm``).

References
----------
Barnett AG, van der Pols JC, Dobson AJ. Regression to the mean: what it is and
how to deal with it. Int J Epidemiol 2005;34:215-220.

Examples
--------
>>> r = regression_to_mean(mean=8.0, sd=1.6, threshold=8.0, within_sd=0.8)
>>> round(r.reliability, 3), round(r.expected_change, 3)
(0.75, -0.319)
>>> round(r.share_below(8.0), 3), round(r.share_dropping(1.0), 3)
(0.23, 0.265)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from coachstats.compare.dist import scipy_stats
from coachstats.core.errors import AnalysisError

__all__ = ["RegressionToMean", "fit_truncated_normal", "regression_to_mean"]


@dataclass(frozen=True)
class RegressionToMean:
    """The bivariate normal model of a selection ``X > threshold`` and what it implies.

    ``mean``/``sd``: the population's single-measurement mean and SD;
    ``reliability``: the test-retest correlation :math:`\\rho`; ``within_sd``:
    :math:`\\sigma_w`; ``method``: how ``mean`` and ``sd`` were obtained.
    """

    mean: float
    sd: float
    reliability: float
    within_sd: float
    threshold: float
    method: str = ""

    @property
    def _z(self) -> float:
        return (self.threshold - self.mean) / self.sd

    @property
    def selected_mean(self) -> float:
        r""":math:`E[X \mid X > c]` under the model."""
        stats = scipy_stats()
        z = self._z
        return self.mean + self.sd * float(np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z)))

    @property
    def expected_change(self) -> float:
        r"""Expected mean change :math:`E[Y - X \mid X > c]` with no true change (negative)."""
        return -(1.0 - self.reliability) * (self.selected_mean - self.mean)

    def _conditional(self, baseline: ArrayLike) -> tuple[np.ndarray, float]:
        """Mean and SD of Y given X = baseline."""
        x = np.asarray(baseline, dtype=float)
        return self.mean + self.reliability * (x - self.mean), self.sd * math.sqrt(
            1.0 - self.reliability**2
        )

    def change_given(self, baseline: ArrayLike) -> np.ndarray:
        r"""Expected change :math:`E[Y - X \mid X = x] = -(1 - \rho)(x - \mu)` per baseline."""
        x = np.asarray(baseline, dtype=float)
        return -(1.0 - self.reliability) * (x - self.mean)

    def below_given(self, baseline: ArrayLike, goal: ArrayLike) -> np.ndarray:
        r""":math:`P(Y \le g \mid X = x)` per baseline (``goal`` a value or one per baseline)."""
        stats = scipy_stats()
        m, s = self._conditional(baseline)
        return np.asarray(stats.norm.cdf((np.asarray(goal, dtype=float) - m) / s))

    def _joint_above(self, a: float, b: float, cov: float, var_u: float) -> float:
        r"""P(X > c, U <= b) for (X, U) bivariate normal, U with mean ``a`` and variance ``var_u``.

        :math:`\int_{z_c}^\infty \varphi(x)\,\Phi((z_b - r x)/\sqrt{1 - r^2})\,dx` by
        adaptive quadrature (deterministic, about 1e-10).
        """
        from scipy import integrate

        stats = scipy_stats()
        r = cov / (self.sd * math.sqrt(var_u))
        zc = (self.threshold - self.mean) / self.sd
        zb = (b - a) / math.sqrt(var_u)
        s = math.sqrt(max(1.0 - r * r, 1e-300))
        value, _ = integrate.quad(
            lambda x: float(stats.norm.pdf(x) * stats.norm.cdf((zb - r * x) / s)),
            zc,
            np.inf,
            epsabs=1e-12,
            epsrel=1e-10,
        )
        return float(value)

    def share_below(self, goal: float) -> float:
        r""":math:`P(Y \le g \mid X > c)`: the share at or below ``goal`` at follow-up, no effect."""
        stats = scipy_stats()
        p_sel = float(stats.norm.sf(self._z))
        joint = self._joint_above(self.mean, goal, self.reliability * self.sd**2, self.sd**2)
        return joint / p_sel

    def share_dropping(self, drop: float) -> float:
        r""":math:`P(X - Y \ge k \mid X > c)`: the share falling by at least ``drop``, no effect.

        :math:`D = X - Y` has mean 0, variance :math:`2\sigma^2(1-\rho)` and covariance
        :math:`\sigma^2(1-\rho)` with :math:`X`; :math:`P(D \ge k, X > c) = P(X > c) -
        P(X > c, D < k)`.
        """
        stats = scipy_stats()
        p_sel = float(stats.norm.sf(self._z))
        var_d = 2.0 * self.sd**2 * (1.0 - self.reliability)
        cov = self.sd**2 * (1.0 - self.reliability)
        below = self._joint_above(0.0, drop, cov, var_d)
        return (p_sel - below) / p_sel


def fit_truncated_normal(values: ArrayLike, threshold: float) -> tuple[float, float]:
    r"""Maximum-likelihood mean and SD of a normal truncated below at ``threshold``.

    Maximizes :math:`\sum_i \log\varphi((x_i-\mu)/\sigma) - n\log\sigma - n \log(1 -
    \Phi((c - \mu)/\sigma))` over :math:`(\mu, \log\sigma)` (BFGS with the analytic
    gradient, from the sample moments).

    Raises
    ------
    AnalysisError
        Fewer than 10 values, a value at or below the threshold, or no convergence.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(8.0, 1.5, 20000)
    >>> mu, sd = fit_truncated_normal(x[x > 8.5], 8.5)
    >>> bool(abs(mu - 8.0) < 0.2 and abs(sd - 1.5) < 0.1)
    True
    """
    from scipy import optimize

    stats = scipy_stats()
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 10:
        raise AnalysisError(f"a truncated normal needs at least 10 values, got {x.size}")
    if np.any(x <= threshold):
        raise AnalysisError("every value must lie above the truncation threshold")

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu, log_s = float(theta[0]), float(theta[1])
        sigma = math.exp(log_s)
        r = (x - mu) / sigma
        z = (threshold - mu) / sigma
        log_tail = float(stats.norm.logsf(z))
        lam = math.exp(float(stats.norm.logpdf(z)) - log_tail)  # inverse Mills ratio
        # per value, so the tolerance does not depend on n
        value = float(0.5 * np.mean(r * r)) + log_s + log_tail
        grad = np.array(
            [-float(np.mean(r)) / sigma + lam / sigma, -float(np.mean(r * r)) + 1 + lam * z]
        )
        return value, grad

    start = np.array([float(x.mean()), math.log(float(x.std(ddof=1)) or 1.0)])
    fit = optimize.minimize(nll, start, jac=True, method="BFGS", options={"gtol": 1e-9})
    if not fit.success and not np.all(np.abs(fit.jac) < 1e-7):
        raise AnalysisError(f"the truncated normal fit did not converge: {fit.message}")
    return float(fit.x[0]), float(math.exp(fit.x[1]))


def regression_to_mean(
    *,
    threshold: float,
    within_sd: float,
    population: ArrayLike | None = None,
    mean: float | None = None,
    sd: float | None = None,
) -> RegressionToMean:
    """The regression-to-the-mean model of patients selected for ``X > threshold``.

    Give the population's baselines (``population``: every single measurement
    the patients were selected from) or its ``mean`` and ``sd``. When every
    value of ``population`` lies above the threshold (only the selected
    patients are known), the population's mean and SD come from
    :func:`fit_truncated_normal`.

    Raises
    ------
    AnalysisError
        Neither a population nor mean and SD; a within-subject SD not below the population SD.
    """
    if population is not None:
        x = np.asarray(population, dtype=float)
        x = x[np.isfinite(x)]
        if x.size and np.all(x > threshold):
            mean, sd = fit_truncated_normal(x, threshold)
            method = (
                f"normal truncated at {threshold:g} fitted to the {x.size} selected baselines "
                "(no baseline below the threshold)"
            )
        elif x.size >= 10:
            mean, sd = float(x.mean()), float(x.std(ddof=1))
            method = f"mean and SD of the {x.size} baselines the patients were selected from"
        else:
            raise AnalysisError(f"too few baselines ({x.size}) to model regression to the mean")
    elif mean is not None and sd is not None:
        method = "given mean and SD"
    else:
        raise AnalysisError("give the population's baselines, or its mean and SD")
    if not (sd > within_sd > 0):
        raise AnalysisError(
            f"the within-subject SD ({within_sd:.3g}) must be positive and below the "
            f"population SD ({sd:.3g})"
        )
    reliability = 1.0 - within_sd**2 / sd**2
    return RegressionToMean(
        float(mean), float(sd), reliability, float(within_sd), threshold, method
    )

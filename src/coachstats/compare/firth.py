r"""Firth's penalized logistic regression, with profile penalized likelihood inference.

Small programs meet *separation*: every coached patient reaches the goal, or
none of the usual-care patients does. Maximum likelihood then has no finite
estimate (``glm`` reports a huge coefficient with a huger SE, and
:func:`coachstats.compare.models.logistic` raises). Firth (1993) maximizes the
penalized log-likelihood

.. math::

    \ell^*(\beta) = \sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big]
        + \tfrac12 \log\det I(\beta), \qquad I(\beta) = X^\top W X,

whose solution is finite under separation and has less small-sample bias. The
modified score is :math:`U^*(\beta) = X^\top\{y - p + h \odot (\tfrac12 - p)\}`
with :math:`h` the diagonal of the hat matrix
:math:`W^{1/2}X I^{-1} X^\top W^{1/2}`; it is solved by Newton steps
:math:`\delta = I^{-1}U^*` with step halving on :math:`\ell^*`.

As recommended by Heinze & Schemper (2002), and as R's ``logistf`` reports,
inference on a coefficient uses the *profile* penalized likelihood rather than
Wald's normal approximation (poor under separation):

- the penalized likelihood ratio test :math:`2\{\ell^*(\hat\beta) -
  \max_{\beta_j = 0}\ell^*(\beta)\}` on :math:`\chi^2_1`, the restricted fit
  keeping the full model's :math:`I(\beta)` in the penalty;
- the interval :math:`\{b : 2\{\ell^*(\hat\beta) - \max_{\beta_j = b}\ell^*\}
  \le \chi^2_{1, 1-\alpha}\}`, by root finding on each side.

The Wald SE :math:`\sqrt{(I(\hat\beta)^{-1})_{jj}}` is reported too.

References
----------
Firth D. Bias reduction of maximum likelihood estimates. Biometrika
1993;80:27-38.
Heinze G, Schemper M. A solution to the problem of separation in logistic
regression. Stat Med 2002;21:2409-2419.
Kosmidis I, Firth D. Bias reduction in exponential family nonlinear models.
Biometrika 2009;96:793-804 (``brglm2``, which ``tests/reference/firth.R`` uses).

Examples
--------
Complete separation: 5 of 5 coached patients at goal, 2 of 5 in usual care. In
a 2 x 2 table Firth's estimate is the log odds ratio with 1/2 added to every
cell (Firth 1993): log((5.5 / 0.5) / (2.5 / 3.5)).

>>> import math
>>> import numpy as np
>>> X = np.column_stack([np.ones(10), np.repeat([1.0, 0.0], 5)])
>>> y = np.array([1, 1, 1, 1, 1, 1, 0, 0, 1, 0], dtype=float)
>>> fit = fit_firth(X, y)
>>> round(float(fit.coef[1]), 10) == round(math.log((5.5 / 0.5) / (2.5 / 3.5)), 10)
True
>>> inf = profile_inference(X, y, fit, 1)
>>> bool(inf.conf_low < fit.coef[1] < inf.conf_high), bool(0 < inf.p_value < 1)
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from coachstats.compare.dist import chi2_sf, norm_ppf
from coachstats.core.errors import AnalysisError, ConvergenceError

__all__ = ["FirthFit", "ProfileInference", "fit_firth", "profile_inference"]


@dataclass(frozen=True)
class FirthFit:
    """A penalized maximum: coefficients, Wald covariance and :math:`\\ell^*`."""

    coef: np.ndarray
    vcov: np.ndarray
    pen_loglik: float
    iterations: int


@dataclass(frozen=True)
class ProfileInference:
    """Penalized LR test of ``coef[j] = 0`` and the profile interval of ``coef[j]``."""

    chisq: float
    p_value: float
    conf_low: float
    conf_high: float


_SINGULAR = (
    "Firth logistic regression: the information matrix is singular (collinear "
    "covariates, or fitted probabilities of exactly 0 or 1)"
)


def _parts(
    X: np.ndarray, y: np.ndarray, beta: np.ndarray
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """(:math:`\\ell^*`, Cholesky factor of :math:`I`, modified score) at ``beta``.

    Where :math:`I` is singular in floating point (fitted probabilities of 0 or
    1), :math:`\\log\\det I = -\\infty`: returns ``(-inf, None, None)``.
    """
    eta = X @ beta
    p = expit(eta)
    w = p * (1.0 - p)
    info = (X * w[:, None]).T @ X
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return -math.inf, None, None
    # log p_i and log(1 - p_i) without overflow: y*eta - log(1 + e^eta)
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    pen = loglik + float(np.sum(np.log(np.diag(chol))))  # 0.5 log det I
    A = np.linalg.solve(chol, (X * np.sqrt(w)[:, None]).T)  # L^-1 X' W^1/2
    h = np.einsum("ij,ij->j", A, A)
    score = X.T @ (y - p + h * (0.5 - p))
    return pen, chol, score


def fit_firth(
    X: np.ndarray,
    y: np.ndarray,
    *,
    fixed: tuple[int, float] | None = None,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,  # Fisher scoring ignores the penalty's curvature: with a point of
    strict: bool = True,  # leverage near 1 it converges linearly (seen: 764 iterations)
) -> FirthFit:
    """Maximize :math:`\\ell^*` over ``beta`` (``X`` includes the intercept column).

    ``fixed=(j, b)`` holds ``beta[j] = b`` (the restricted fit of the profile),
    keeping the full model's information in the penalty, as ``logistf`` does.
    ``strict=False`` returns the last iterate instead of raising when
    ``max_iter`` is reached (its :math:`\\ell^*` is a lower bound of the
    maximum: the profile search uses it far out, where it only has to know
    that the deviance is past the critical value).
    """
    k = X.shape[1]
    beta = np.zeros(k) if start is None else np.array(start, dtype=float)
    free = np.ones(k, dtype=bool)
    if fixed is not None:
        beta[fixed[0]] = fixed[1]
        free[fixed[0]] = False
    pen, chol, score = _parts(X, y, beta)
    if chol is None or score is None:
        if fixed is None:
            raise AnalysisError(_SINGULAR)
        # a restricted fit far out on the profile: l* is -inf in floating point there
        return FirthFit(beta, np.full((k, k), np.nan), -math.inf, 0)
    for it in range(1, max_iter + 1):
        info = chol @ chol.T
        delta = np.zeros(k)
        delta[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        step = 1.0
        for _ in range(60):  # step halving: the penalized likelihood must not fall
            trial = beta + step * delta
            t_pen, t_chol, t_score = _parts(X, y, trial)
            if t_chol is not None and t_score is not None and t_pen >= pen - 1e-12 * abs(pen):
                beta, pen, chol, score = trial, t_pen, t_chol, t_score
                break
            step /= 2.0
        else:  # no step of 2^-60 improves l*: beta is its maximum to floating point
            step = 0.0
        if step * np.max(np.abs(delta)) <= tol * (1.0 + np.max(np.abs(beta))):
            vcov = np.linalg.inv(chol @ chol.T)
            return FirthFit(beta, (vcov + vcov.T) / 2.0, pen, it)
    if not strict:
        return FirthFit(beta, np.full((k, k), np.nan), pen, max_iter)
    raise ConvergenceError(
        f"Firth logistic regression did not converge in {max_iter} iterations (a covariate "
        "that separates the outcome, or values too large for floating point)"
    )


def profile_inference(
    X: np.ndarray, y: np.ndarray, fit: FirthFit, j: int, *, conf_level: float = 0.95
) -> ProfileInference:
    """Penalized LR test and profile penalized likelihood interval of ``coef[j]``."""
    from scipy.optimize import brentq  # imported on first use: slow to import

    crit = _chi2_1_quantile(conf_level)
    b_hat = float(fit.coef[j])
    solved: dict[float, np.ndarray] = {b_hat: fit.coef}

    def deviance_at(b: float) -> float:
        # The restricted likelihood can have several local maxima: start from the
        # full solution, from zero and from the solution at the nearest b already
        # profiled (a path along the profile), and keep the highest maximum.
        nearest = min(solved, key=lambda v: abs(v - b))
        # zeros too: in a reviewer's example the higher branch is reached only from there
        starts = [fit.coef, np.zeros_like(fit.coef)]
        if nearest != b_hat:
            starts.append(solved[nearest])
        fits = [fit_firth(X, y, fixed=(j, b), start=s, strict=False) for s in starts]
        best = max(fits, key=lambda f: f.pen_loglik)
        if math.isfinite(best.pen_loglik):
            solved[b] = best.coef
        return 2.0 * (fit.pen_loglik - best.pen_loglik)

    # the test: walk from the estimate to 0, so the restricted fit at 0 follows the path
    for b in np.linspace(b_hat, 0.0, 5)[1:-1]:
        deviance_at(float(b))
    chisq = max(deviance_at(0.0), 0.0)
    se = math.sqrt(float(fit.vcov[j, j]))

    def limit(direction: float) -> float:
        step = max(se, 0.1) / 2.0
        inner, outer = b_hat, b_hat + direction * step
        for _ in range(200):  # walk out until the profile deviance passes the critical value
            dev = deviance_at(outer)
            if dev > crit and math.isfinite(dev):
                break
            if dev > crit:  # overshot into floating-point -inf of l*: come back halfway
                outer = (inner + outer) / 2.0
                continue
            inner, outer = outer, outer + direction * step
            step *= 1.5  # grows, but slowly: each restricted fit starts from the last
        else:  # pragma: no cover - the penalty keeps the profile bounded
            raise AnalysisError("Firth logistic regression: the profile interval is unbounded")
        return float(brentq(lambda b: deviance_at(b) - crit, inner, outer, xtol=1e-12))

    return ProfileInference(chisq, float(chi2_sf(chisq, 1)), limit(-1.0), limit(1.0))


def _chi2_1_quantile(conf_level: float) -> float:
    """Quantile of chi-square(1): the squared normal quantile."""
    return float(norm_ppf(0.5 + conf_level / 2.0)) ** 2

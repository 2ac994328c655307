r"""When to trust the interval of a logistic standardization, and a bootstrap for when not.

A logistic model's predictions averaged over a reference population
(:func:`~coachstats.compare.standardization.standardize`) get a delta-method
normal interval: a first-order approximation that fails where the data carry
little information -- few patients with (or without) the outcome per
coefficient, or a reference whose predicted risks lie near 0 or 1, where the
estimate's distribution is skewed and bounded. :func:`delta_check` says, by two
textbook rules, which interval to use:

* **events per coefficient** (EPV): the smaller of the number of patients with
  and without the outcome, over the number of coefficients besides the
  intercept. Under 10 (Peduzzi et al. 1996) the coefficients' sampling
  distribution is not yet trusted to be normal; under 5 bias and poor coverage
  are frequent (Vittinghoff and McCulloch 2007);
* **expected patients with (and without) the outcome at the reference's case
  mix**: each arm's size times its standardized risk (or one minus it, the
  smaller). It is the :math:`np \ge 10` rule of the normal approximation to a
  proportion, at the risk the standardized figure is about: under 10 the
  interval is not trusted to be normal; under 5 the program has so few patients
  *like the reference's* with the outcome that the standardized figure rests on
  the model's shape (a logistic curve, the same odds ratio at every covariate
  value), not on the program's patients.

Delta method at 10 and over on both; no figure under 5 on either; between, a
percentile bootstrap (:func:`bootstrap_standardization`): patients resampled
with replacement within arm (:func:`stratified_resamples`, seeded), the
logistic model refitted on each resample (:func:`logistic_replicates`, batched
Newton-Raphson), the standardized figure recomputed over the same reference. A
resample in which the outcome is separated has no finite maximum-likelihood
estimate, but its fitted probabilities have limits (0 or 1 where separated):
its figure is taken there, an extreme resample kept where it falls. A resample
the model cannot be fitted on at all (a covariate constant in it) is counted
beyond both limits (:func:`percentile_interval`). When the resamples without a
finite estimate are so many that a limit could fall on them (were they all
beyond it: more than the replicates outside a limit, 2.5 % of them for a 95 %
interval), the limit would rest on the model's extrapolation to 0 or 1, not on
fitted resamples: then there is no figure either.

References
----------
Peduzzi P, Concato J, Kemper E, Holford TR, Feinstein AR. A simulation study
of the number of events per variable in logistic regression analysis. J Clin
Epidemiol 1996;49:1373-1379.
Vittinghoff E, McCulloch CE. Relaxing the rule of ten events per variable in
logistic and Cox regression. Am J Epidemiol 2007;165:710-718.
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall,
1993, chapters 6 and 13.

Examples
--------
>>> y = np.array([1.0] * 12 + [0.0] * 88)
>>> c = delta_check(y, None, (0.12,), 2)
>>> c.kind, c.reason
('bootstrap', '12 patients with the outcome for 2 coefficients besides the intercept: 6.0 per coefficient, fewer than 10')
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit

from coachstats.compare.dist import norm_ppf
from coachstats.compare.nnt import type7_quantile
from coachstats.core.errors import AnalysisError, check_conf_level

__all__ = [
    "EPV_DELTA",
    "EPV_MIN",
    "EXPECTED_DELTA",
    "EXPECTED_MIN",
    "BootstrapInterval",
    "DeltaCheck",
    "arm_designs",
    "bootstrap_standardization",
    "delta_check",
    "logistic_replicates",
    "percentile_interval",
    "stratified_resamples",
]

#: Events per coefficient below which the delta method is not trusted (Peduzzi et al. 1996).
EPV_DELTA = 10.0
#: Events per coefficient below which no standardized figure is given (Vittinghoff and McCulloch 2007).
EPV_MIN = 5.0
#: Expected patients with (and without) the outcome per arm at the reference's case mix below
#: which the delta method's normal interval is not trusted (the np >= 10 rule).
EXPECTED_DELTA = 10.0
#: ... and below which the standardized figure would rest on the model's shape, not on patients.
EXPECTED_MIN = 5.0

IntervalKind = Literal["delta", "bootstrap", "withheld"]


def arm_designs(R: np.ndarray, two_arm: bool) -> list[np.ndarray]:
    """``[R]``, or ``R`` with an arm column of 1 and of 0 before it (two-arm)."""
    m = len(R)
    if not two_arm:
        return [R]
    return [np.hstack([np.full((m, 1), v), R]) for v in (1.0, 0.0)]


@dataclass(frozen=True)
class DeltaCheck:
    """Whether the delta method's normal interval can be trusted for a logistic standardization.

    ``events``/``non_events`` count the program's patients with and without the
    outcome; ``n_coef`` the coefficients besides the intercept; ``arm_sizes`` and
    ``risks`` each arm's patients in the program and its standardized risk at the
    reference's case mix (:attr:`expected`). :attr:`kind` is the interval to use
    and :attr:`reason` says why, in words.
    """

    events: int
    non_events: int
    n_coef: int
    arm_sizes: tuple[int, ...]
    risks: tuple[float, ...]
    arm_names: tuple[str, ...] = ("coached", "usual-care")

    @property
    def epv(self) -> float:
        """Events per coefficient: ``min(events, non_events) / n_coef``."""
        return min(self.events, self.non_events) / max(self.n_coef, 1)

    @property
    def expected(self) -> float:
        """The smallest expected count with or without the outcome, over the arms."""
        return min(n * min(p, 1.0 - p) for n, p in zip(self.arm_sizes, self.risks, strict=True))

    @property
    def kind(self) -> IntervalKind:
        """``delta``, ``bootstrap`` or ``withheld`` (module docstring)."""
        if self.epv < EPV_MIN or self.expected < EXPECTED_MIN:
            return "withheld"
        if self.epv < EPV_DELTA or self.expected < EXPECTED_DELTA:
            return "bootstrap"
        return "delta"

    def _epv_words(self, limit: float) -> str:
        few = "with" if self.events <= self.non_events else "without"
        plural = "s" if self.n_coef != 1 else ""
        return (
            f"{min(self.events, self.non_events)} patients {few} the outcome for "
            f"{self.n_coef} coefficient{plural} besides the intercept: {self.epv:.1f} per "
            f"coefficient, fewer than {limit:g}"
        )

    def _expected_words(self, limit: float) -> str:
        two = len(self.risks) > 1
        risks = " and ".join(f"{100 * p:.1f} %" for p in self.risks)
        sides = {"with" if p <= 0.5 else "without" for p in self.risks}
        counts = []
        for name, n, p in zip(self.arm_names, self.arm_sizes, self.risks, strict=False):
            side = "" if len(sides) == 1 else (" with it" if p <= 0.5 else " without it")
            who = f"{name} patients" if two else "patients"
            counts.append(f"{n * min(p, 1.0 - p):.1f} of the program's {n} {who}{side}")
        return (
            f"at the reference's case mix the model predicts {risks} with the outcome"
            + (f" ({' and '.join(self.arm_names)} patients)" if two else "")
            + f", that is {' and '.join(counts)}"
            + (f" {sides.pop()} it" if len(sides) == 1 else "")
            + f", fewer than {limit:g}"
            + (" in an arm" if two else "")
        )

    @property
    def reason(self) -> str:
        """Why the delta method is not used (``""`` when it is), and what that means."""
        kind = self.kind
        if kind == "delta":
            return ""
        withheld = kind == "withheld"
        limit_epv = EPV_MIN if withheld else EPV_DELTA
        limit_exp = EXPECTED_MIN if withheld else EXPECTED_DELTA
        reasons = []
        if self.epv < limit_epv:
            reasons.append(
                self._epv_words(limit_epv)
                + (" (the model's coefficients are not reliable)" if withheld else "")
            )
        if self.expected < limit_exp:
            reasons.append(
                self._expected_words(limit_exp)
                + (
                    " (the figure would rest on the model's shape, not on patients like the "
                    "reference's)"
                    if withheld
                    else ""
                )
            )
        return "; ".join(reasons)


def delta_check(
    y: np.ndarray, arm: np.ndarray | None, risks: tuple[float, ...], n_coef: int
) -> DeltaCheck:
    """The checks of :class:`DeltaCheck` for a logistic fit on ``y`` (0/1).

    ``arm`` is the boolean arm indicator (None: single-arm), ``risks`` the
    standardized risk per arm (arm 1 first) or the one standardized risk,
    ``n_coef`` the coefficients besides the intercept.

    Examples
    --------
    >>> y = np.array([1.0] * 30 + [0.0] * 70)
    >>> c = delta_check(y, None, (0.3,), 2)
    >>> c.epv, c.expected, c.kind
    (15.0, 30.0, 'delta')
    >>> delta_check(y, None, (0.06,), 2).kind  # 6 expected with the outcome at the reference
    'bootstrap'
    """
    events = int(np.sum(y == 1.0))
    sizes = (int(arm.sum()), int((~arm).sum())) if arm is not None else (len(y),)
    return DeltaCheck(events, len(y) - events, n_coef, sizes, tuple(risks))


def stratified_resamples(strata: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n)`` row indices: each row of the resample drawn with replacement from its stratum.

    Position ``i`` of every resample holds a row of ``strata[i]``'s stratum, so each
    resample keeps the strata's sizes. The draws come from
    ``numpy.random.default_rng(seed)``, one resample after another: the same seed
    gives the same resamples, and the first ``k`` do not depend on ``n_boot``.

    Examples
    --------
    >>> idx = stratified_resamples(np.array([0, 0, 1, 1, 1]), 3, seed=1)
    >>> idx.shape, bool(np.isin(idx[:, :2], [0, 1]).all() and np.isin(idx[:, 2:], [2, 3, 4]).all())
    ((3, 5), True)
    >>> bool((stratified_resamples(np.array([0, 0, 1, 1, 1]), 10, seed=1)[:3] == idx).all())
    True
    """
    if int(n_boot) < 1:
        raise AnalysisError(f"n_boot must be a positive number of resamples, got {n_boot}")
    s = np.asarray(strata)
    _, code, sizes = np.unique(s, return_inverse=True, return_counts=True)
    members = np.argsort(code, kind="stable")  # the rows of each stratum, stratum by stratum
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, sizes[code], size=(int(n_boot), len(s)))
    out: np.ndarray = members[start[code] + draw]
    return out


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    b = indices.shape[0]
    flat = (indices + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def _newton_batch(
    D: np.ndarray, y: np.ndarray, counts: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson for the logistic model weighted by each row of ``counts``: the last
    iterate of each (NaN where a step could not be solved) and whether it converged."""
    b, q = counts.shape[0], D.shape[1]
    theta = np.zeros((b, q))
    ybar = (counts @ y) / counts.sum(axis=1)
    with np.errstate(divide="ignore"):
        theta[:, 0] = np.log(ybar / (1.0 - ybar))
    done = np.zeros(b, dtype=bool)
    stopped = np.zeros(b, dtype=bool)  # separated: the weights underflowed before convergence
    ok = np.isfinite(theta[:, 0])
    # the Hessian's distinct entries are sums of weights times these products: one matmul
    pairs = [(i, j) for i in range(q) for j in range(i, q)]
    products = np.column_stack([D[:, i] * D[:, j] for i, j in pairs])
    for it in range(max_iter):
        live = ok & ~done & ~stopped
        if not live.any():
            break
        c = counts[live]
        mu = expit(theta[live] @ D.T)
        entries = (c * mu * (1.0 - mu)) @ products
        H = np.empty((len(c), q, q))
        for k, (i, j) in enumerate(pairs):
            H[:, i, j] = H[:, j, i] = entries[:, k]
        g = (c * (y - mu)) @ D
        step = np.full_like(g, np.nan)
        try:
            step = np.linalg.solve(H, g[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a covariate constant in some resample: one at a time
            for k in range(len(H)):
                with contextlib.suppress(np.linalg.LinAlgError):
                    step[k] = np.linalg.solve(H[k], g[k])
        rows = np.flatnonzero(live)
        finite = np.isfinite(step).all(axis=1)
        if it == 0:  # singular from the start: the design itself (a constant covariate)
            ok[rows[~finite]] = False
        else:  # singular later: fitted probabilities at 0 or 1, the separated limit
            stopped[rows[~finite]] = True
        new = theta[rows] + np.where(finite[:, None], step, 0.0)
        theta[rows] = new
        small = np.abs(step).max(axis=1) < tol * (1.0 + np.abs(new).max(axis=1))
        done[rows[finite & small]] = True
    theta[~ok] = np.nan
    return theta, ok & done


def logistic_replicates(
    X: np.ndarray,
    y: np.ndarray,
    indices: np.ndarray,
    *,
    max_iter: int = 50,
    tol: float = 1e-10,
    max_cells: int = 2_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """The logistic model of ``y`` on ``X`` (an intercept added) refitted on each resample.

    ``indices`` holds one resample of row numbers per row (:func:`stratified_resamples`).
    Each is fitted by Newton-Raphson with the resample's row counts as frequency
    weights, all resamples at once (in blocks of about ``max_cells`` weights).
    Returns the coefficients ``(n_boot, 1 + p)`` (intercept first) and whether
    each fit converged within ``max_iter`` steps (largest step below
    ``tol * (1 + max |coef|)``, as :func:`~coachstats.compare.glm.fit_logistic`).
    A resample in which the outcome is (quasi-)separated has no finite
    maximum-likelihood estimate: its coefficients run off along the separating
    direction and it does not converge, but its fitted probabilities approach
    their limits (0 or 1 where separated), and its coefficients are those of the
    last step (or of the step before the Hessian underflowed). A design that
    cannot be fitted from the first step on (a covariate constant in the
    resample) leaves NaN coefficients. The design is centred on its means first
    (the fitted probabilities do not change).

    Examples
    --------
    >>> X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    >>> y = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    >>> coef, ok = logistic_replicates(X, y, np.array([[0, 1, 2, 3, 4, 5], [0, 0, 1, 4, 4, 5]]))
    >>> round(float(coef[0, 1]), 10), bool(ok[0]), bool(ok[1])  # log(4); the second is separated
    (1.3862943611, True, False)
    >>> bool(coef[1, 1] > 20)  # still climbing when the steps run out
    True
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    centre = X.mean(axis=0)
    D = np.hstack([np.ones((len(X), 1)), X - centre])
    b = indices.shape[0]
    theta = np.full((b, D.shape[1]), np.nan)
    converged = np.zeros(b, dtype=bool)
    block = max(1, max_cells // max(len(X), 1))
    for start in range(0, b, block):
        part = slice(start, min(start + block, b))
        t, k = _newton_batch(D, y, _counts(indices[part], len(X)), max_iter, tol)
        theta[part], converged[part] = t, k
    coef = theta.copy()
    coef[:, 0] = theta[:, 0] - theta[:, 1:] @ centre  # back to the uncentred intercept
    return coef, converged


def percentile_interval(
    values: np.ndarray, n_failed: int, conf_level: float
) -> tuple[float, float]:
    """Percentile limits (R's type 7 quantiles) with ``n_failed`` replicates beyond both.

    The failed replicates are placed at :math:`-\\infty` for the lower limit and at
    :math:`+\\infty` for the upper one, so neither limit is narrowed by leaving them
    out; a limit that falls on them is infinite.

    Examples
    --------
    >>> v = np.arange(1.0, 101.0)
    >>> [round(x, 6) for x in percentile_interval(v, 0, 0.9)], percentile_interval(v, 10, 0.9)
    ([5.95, 95.05], (-inf, inf))
    """
    check_conf_level(conf_level)
    alpha = 1.0 - conf_level
    v = np.asarray(values, dtype=float)
    fails = np.full(int(n_failed), np.inf)
    high = type7_quantile(np.concatenate([v, fails]), 1.0 - alpha / 2)
    low = -type7_quantile(np.concatenate([-v, fails]), 1.0 - alpha / 2)
    return low, high


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile bootstrap interval of a standardized figure (:func:`bootstrap_standardization`).

    ``replicates`` are the figures of the resamples the model could be fitted on;
    ``n_separated`` how many of those did not converge (the outcome separated in
    the resample: their figure is at the fitted probabilities' limits);
    ``n_failed`` the resamples the model could not be fitted on at all, counted
    beyond both limits; ``std_error`` the interval's half-width over the normal
    quantile (what a test of the figure against another uses); ``p_value`` the
    percentile test of 0 (two-arm: twice the smaller share of replicates on
    either side of 0, failures counted on both sides). ``rests_on_fits`` says
    that neither limit could fall on a resample without a finite estimate
    (separated or failed), even were they all beyond it: fewer of them than the
    replicates outside a limit.
    """

    conf_low: float
    conf_high: float
    std_error: float
    p_value: float
    n_boot: int
    n_failed: int
    n_separated: int
    seed: int
    replicates: np.ndarray
    rests_on_fits: bool = True

    @property
    def bounded(self) -> bool:
        """Both limits are finite (fewer failed resamples than the tail's share)."""
        return math.isfinite(self.conf_low) and math.isfinite(self.conf_high)


def bootstrap_standardization(
    X: np.ndarray,
    y: np.ndarray,
    R: np.ndarray,
    *,
    arm: np.ndarray | None,
    n_boot: int,
    seed: int,
    conf_level: float = 0.95,
    indices: np.ndarray | None = None,
) -> BootstrapInterval:
    """Percentile bootstrap of a logistic standardization over the reference ``R``.

    ``X`` is the program's design (with ``arm``, the arm column first), ``R`` the
    reference's covariates (no arm column). Patients are resampled within arm
    (:func:`stratified_resamples`; ``indices`` overrides them), the model refitted
    (:func:`logistic_replicates`) and averaged over ``R`` as
    :func:`~coachstats.compare.standardization.averaged_predictions` does. A
    separated resample keeps its figure at the fitted probabilities' limits: it is
    an extreme resample, and leaving it out would narrow the interval; but a
    limit should not rest on such figures (``rests_on_fits``).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> x = rng.normal(size=200); a = np.arange(200) % 2 == 0
    >>> y = (rng.random(200) < 1 / (1 + np.exp(-(x + 0.8 * a - 0.5)))).astype(float)
    >>> b = bootstrap_standardization(np.column_stack([a, x]), y, x[:50, None], arm=a,
    ...                               n_boot=400, seed=1)
    >>> bool(b.conf_low < b.conf_high), b.n_failed, b.n_separated
    (True, 0, 0)
    """
    strata = arm.astype(int) if arm is not None else np.zeros(len(y), dtype=int)
    idx = stratified_resamples(strata, n_boot, seed) if indices is None else np.asarray(indices)
    coef, converged = logistic_replicates(X, y, idx)
    fitted = np.isfinite(coef).all(axis=1)
    two_arm = arm is not None
    values = np.zeros(int(fitted.sum()))
    for sign, D in zip((1.0, -1.0), arm_designs(R, two_arm), strict=False):
        values += sign * expit(coef[fitted, 1:] @ D.T + coef[fitted, :1]).mean(axis=1)
    n_failed = int((~fitted).sum())
    low, high = percentile_interval(values, n_failed, conf_level)
    z = norm_ppf((1.0 + conf_level) / 2.0)
    se = (high - low) / (2.0 * z) if math.isfinite(high - low) else math.inf
    if two_arm:
        below = int(np.sum(values <= 0.0)) + n_failed
        above = int(np.sum(values >= 0.0)) + n_failed
        p = min(1.0, 2.0 * min(below, above) / len(idx))
    else:
        p = math.nan
    separated = int((fitted & ~converged).sum())
    # were every resample without a finite estimate beyond one limit, would a limit remain?
    outside = percentile_interval(values[converged[fitted]], separated + n_failed, conf_level)
    rests = math.isfinite(outside[0]) and math.isfinite(outside[1])
    return BootstrapInterval(
        low, high, se, p, len(idx), n_failed, separated, int(seed), values, rests
    )

"""The power engines: the power of one test as a function of the group size, and its inverse.

:class:`PowerTest` holds a test (pooled normal approximation, arcsine, or
noncentral t) with its settings; :meth:`PowerTest.power` gives the power at
an effective size of group 1 (vectorized), :meth:`PowerTest.solve` the size
that gives a power. :func:`proportion_test` and :func:`mean_test` build them.

Examples
--------
>>> from coachstats.tasks.power.settings import Settings
>>> t = proportion_test(0.464, 0.343, "pooled", Settings(0.05, 2, False, 1.0))
>>> round(t.solve(0.8)[0], 3), round(float(t.power(257.0)), 4)
(256.878, 0.8002)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from coachstats.core.errors import AnalysisError
from coachstats.tasks.power.settings import N_MAX, PowerWarning, Settings

__all__ = ["PowerTest", "cohen_h", "mean_test", "proportion_test"]


@dataclass(frozen=True)
class PowerTest:
    """Power of one test as a function of the effective size of group 1 (vectorized)."""

    method: str  # "pooled" | "arcsine" | "t"
    effect: float  # |p1 - p2|, |h| or |d|
    s0: float  # SD of the statistic's numerator under H0 (normal methods), per sqrt(n1)
    s1: float  # ... under H1
    alpha: float
    sides: int
    strict: bool
    ratio: float

    @property
    def two_tails(self) -> bool:
        """Both tails of a two-sided test are counted."""
        return self.strict and self.sides == 2

    @property
    def n_min(self) -> float:
        """Smallest effective n1: the t test needs 2 patients per group (pwr.t2n.test)."""
        return max(2.0, 2.0 / self.ratio) if self.method == "t" else 0.0

    def power(self, n1: ArrayLike) -> NDArray[np.float64]:
        """The power at effective size(s) ``n1`` of group 1."""
        n = np.asarray(n1, dtype=float)
        if self.method == "t":
            n2 = self.ratio * n
            df = n + n2 - 2.0
            ncp = self.effect / np.sqrt(1.0 / n + 1.0 / n2)
            crit = stats.t.isf(self.alpha / self.sides, df)
            out = stats.nct.sf(crit, df, ncp)
            if self.two_tails:
                # P(T < -crit; ncp) = P(T > crit; -ncp): scipy's nct.cdf returns NaN deep
                # in the lower tail (e.g. df 294, ncp 8.6); the sf form stays finite
                out = out + stats.nct.sf(crit, df, -ncp)
            out = np.asarray(out, dtype=float)
            if not np.all(np.isfinite(out)):
                raise AnalysisError(
                    f"the noncentral t power is not finite at n1 = {n[~np.isfinite(out)]!r}"
                )
            return out
        z = stats.norm.isf(self.alpha / self.sides)
        root = np.sqrt(n) * self.effect
        out = stats.norm.cdf((root - z * self.s0) / self.s1)
        if self.two_tails:
            out = out + stats.norm.cdf((-root - z * self.s0) / self.s1)
        return np.asarray(out, dtype=float)

    def _normal_n(self, power: float) -> float:
        """Closed-form n1 of the one-tail normal power (exact for the normal methods)."""
        z_a = stats.norm.isf(self.alpha / self.sides)
        z_b = stats.norm.ppf(power)
        s0, s1 = (self.s0, self.s1) if self.method != "t" else (self.s0, self.s0)
        num = z_a * s0 + z_b * s1
        if num <= 0.0:
            floor = float(self.power(1e-300))
            raise AnalysisError(
                f"power={power} is not above the power of this approximation at n -> 0 "
                f"({floor:.4g}); ask for a higher power"
            )
        return float((num / self.effect) ** 2)

    def solve(self, power: float) -> tuple[float, bool]:
        """Effective n1 giving ``power`` (unrounded) and whether the minimum n was hit."""

        def gap(n: float) -> float:
            return float(self.power(n)) - power

        if self.method != "t":
            n_one_tail = self._normal_n(power)
            if not self.two_tails:
                return n_one_tail, False
            # the far tail only adds power, so the root lies below the one-tail n
            if gap(n_one_tail) <= 0.0:  # far tail below rounding error at that n
                return n_one_tail, False
            lo = n_one_tail / 2.0
            while gap(lo) >= 0.0:
                if lo < 1e-12 * n_one_tail:
                    raise AnalysisError(
                        f"power={power} is reached with any sample size under this "
                        "approximation; ask for a higher power"
                    )
                lo /= 2.0
            return self._brent(gap, lo, n_one_tail), False
        lo = self.n_min
        if gap(lo) >= 0.0:
            warnings.warn(
                f"power={power} is reached already at the smallest sample the t test allows "
                f"({lo:g} in group 1); reporting that minimum",
                PowerWarning,
                stacklevel=3,
            )
            return lo, True
        hi = max(2.0 * lo, 1.1 * self._normal_n(power) + 2.0)
        while gap(hi) < 0.0:
            if hi > N_MAX:
                raise AnalysisError(
                    f"more than {N_MAX:.0e} patients per group would be needed; the effect "
                    "is too small to plan for"
                )
            hi *= 2.0
        return self._brent(gap, lo, hi), False

    @staticmethod
    def _brent(fn: Callable[[float], float], lo: float, hi: float) -> float:
        root = optimize.brentq(fn, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500)
        return float(root)


def proportion_test(p1: float, p2: float, method: str, settings: Settings) -> PowerTest:
    """The test of two proportions by ``method`` (``"pooled"`` or ``"arcsine"``)."""
    ratio = settings.ratio
    if method == "pooled":
        pbar = (p1 + ratio * p2) / (1.0 + ratio)
        s0 = math.sqrt(pbar * (1.0 - pbar) * (1.0 + 1.0 / ratio))
        s1 = math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2) / ratio)
        effect = abs(p1 - p2)
    else:
        s0 = s1 = math.sqrt(1.0 + 1.0 / ratio)
        effect = abs(cohen_h(p1, p2))
    return PowerTest(method, effect, s0, s1, *settings)


def mean_test(d: float, settings: Settings) -> PowerTest:
    """The two-sample t test of a standardized difference ``d`` (Cohen's d)."""
    s = math.sqrt(1.0 + 1.0 / settings.ratio)
    return PowerTest("t", abs(d), s, s, *settings)


def cohen_h(p1: float, p2: float) -> float:
    """Cohen's h, :math:`2\\arcsin\\sqrt{p_1} - 2\\arcsin\\sqrt{p_2}`."""
    return 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2))

r"""Sample size and power for a new coaching program or trial, from the published effects.

Two designs, each solved for the sample size (give ``power``) or for the power
(give ``n``):

- :func:`power_two_proportions` -- a binary endpoint (at goal, HbA1c drop
  :math:`\ge 1`), by the normal approximation of R's ``power.prop.test``
  (``method="pooled"``) or by Cohen's arcsine effect size :math:`h`, as
  ``pwr::pwr.2p.test`` / ``pwr.2p2n.test`` and ``statsmodels``'
  ``NormalIndPower`` (``method="arcsine"``);
- :func:`power_two_means` -- a continuous endpoint (HbA1c change), by the
  noncentral t distribution, as R's ``power.t.test`` and ``pwr::pwr.t2n.test``.

Group 1 is the program (coaching) arm, group 2 the comparison arm; ``n`` is the
size of group 1 and group 2 has ``ratio * n`` patients. Programs delivered by
coaches or clinics are clustered: the sample an individually randomized trial
needs is multiplied by the design effect (:func:`design_effect`) and divided by
the share expected to complete follow-up,

.. math::

    n_{\text{analysed}} = \lceil n \rceil \cdot \mathrm{DE}, \qquad
    \mathrm{DE} = 1 + \big((1 + \mathrm{CV}^2)\,m - 1\big)\,\rho, \qquad
    n_{\text{enrolled}} = \frac{n_{\text{analysed}}}{1 - \text{attrition}},

each stage rounded up (:attr:`PowerResult.n_required`, ``n1_analysed``,
``n1_enrolled``). When ``n`` is given it is the number *enrolled* in group 1,
and the power is that of the effective sample
:math:`n (1 - \text{attrition}) / \mathrm{DE}`.

:func:`published_effect` gives the planning inputs taken from the HCPC and
peer-coaching papers, read from the trial registry (:mod:`coachstats.trials`:
each number is written once, in the trial's TOML file), :func:`power_curve` tabulates
power against enrolment, and :func:`plot_power_curve` draws it.

References
----------
Chow S-C, Shao J, Wang H. Sample Size Calculations in Clinical Research. 2nd ed.
Chapman & Hall/CRC; 2008 (ch. 3-4).
Cohen J. Statistical Power Analysis for the Behavioral Sciences. 2nd ed. Erlbaum; 1988.
Fleiss JL, Levin B, Paik MC. Statistical Methods for Rates and Proportions. 3rd ed.
Wiley; 2003 (ch. 4).
Donner A, Klar N. Design and Analysis of Cluster Randomization Trials in Health
Research. Arnold; 2000.
Eldridge SM, Ashby D, Kerry S. Sample size for cluster randomized trials: effect of
coefficient of variation of cluster size and analysis method. Int J Epidemiol.
2006;35:1292-1300.

Examples
--------
How many patients per arm would a new trial need to detect the HCPC composite
effect (46.4 % vs 34.3 % at goal) with 80 % power, if coaches each see 10
analysed patients (ICC .05) and 20 % are lost to follow-up?

>>> r = power_two_proportions(0.464, 0.343, power=0.8, icc=0.05, cluster_size=10,
...                           attrition=0.2)
>>> round(r.n1, 2), r.n_required, r.design_effect
(256.88, (257, 257), 1.45)
>>> r.n1_analysed, r.n1_enrolled, r.n_enrolled, r.clusters1
(373, 467, 934, 38)

And the power of a 150 + 150 program for the peer-coaching HbA1c effect:

>>> peer = published_effect("peer_hba1c_change")
>>> round(peer.plan(n=150).power, 3)
0.616
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from coachstats.compare.clustering import design_effect
from coachstats.compare.summaries import pooled_sd
from coachstats.core.errors import (
    AnalysisError,
    CoachstatsWarning,
    OptionError,
    check_number,
    check_option,
)
from coachstats.core.results import TidyResult
from coachstats.trials import registry as trials
from coachstats.trials.effects import PublishedEffect

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "PUBLISHED_EFFECTS",
    "PlanningEffect",
    "PowerResult",
    "PowerWarning",
    "PublishedEffect",
    "design_effect",
    "plot_power_curve",
    "pooled_sd",
    "power_curve",
    "power_two_means",
    "power_two_proportions",
    "published_effect",
    "published_effects",
]

Alternative = Literal["two-sided", "one-sided"]
ProportionMethod = Literal["pooled", "arcsine"]

ALTERNATIVES: tuple[str, ...] = ("two-sided", "one-sided")
PROPORTION_METHODS: tuple[str, ...] = ("pooled", "arcsine")

METHOD_TEXT = {
    "pooled": "normal approximation, pooled variance under H0 (as R power.prop.test)",
    "arcsine": "arcsine transformation, Cohen's h (as pwr::pwr.2p2n.test)",
    "t": "noncentral t (as R power.t.test and pwr::pwr.t2n.test)",
}
# The reference implementation's default for counting the far tail of a two-sided test.
STRICT_DEFAULT = {"pooled": False, "arcsine": True, "t": False}

_N_MAX = 1e12  # beyond this many patients per group a design is not a design
_ROUND_SLACK = 1e-9  # relative; absorbs floating-point error before rounding up


class PowerWarning(CoachstatsWarning):
    """The requested power is reached at the smallest sample the test allows."""


# --------------------------------------------------------------------------- validation
def _open_unit(name: str, value: object) -> float:
    x = check_number(name, value)
    if not 0.0 < x < 1.0:
        raise OptionError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return x


def _positive(name: str, value: object) -> float:
    x = check_number(name, value)
    if x <= 0.0:
        raise OptionError(f"{name} must be > 0, got {value!r}")
    return x


class _Settings(NamedTuple):
    """The test settings both designs share (the tail of :class:`_Test`'s fields)."""

    alpha: float
    sides: int
    strict: bool
    ratio: float


def _sides(alternative: str) -> int:
    return 2 if alternative == "two-sided" else 1


def _settings(
    n: object,
    power: object,
    alpha: object,
    ratio: object,
    alternative: str,
    strict: bool | None,
    method: str,
    methods: Sequence[str],
) -> _Settings:
    """Check the options both designs share, in the order the errors are reported.

    ``methods`` are the allowed values of ``method`` (``("t",)`` for two means).
    """
    if (n is None) == (power is None):
        given = "both" if n is not None else "neither"
        raise OptionError(
            f"give exactly one of n (to compute the power) or power (to compute the sample "
            f"size); {given} given"
        )
    check_option("method", method, methods)
    check_option("alternative", alternative, ALTERNATIVES)
    a = _open_unit("alpha", alpha)
    r = _positive("ratio", ratio)
    if strict is not None and not isinstance(strict, (bool, np.bool_)):
        raise OptionError(f"strict must be True, False or None, got {strict!r}")
    s = STRICT_DEFAULT[method] if strict is None else bool(strict)
    return _Settings(a, _sides(alternative), s, r)


@dataclass(frozen=True)
class _Design:
    """Inflation from the effective sample to patients analysed and enrolled."""

    icc: float = 0.0
    cluster_size: float | None = None
    cluster_cv: float = 0.0
    attrition: float = 0.0
    effect: float = 1.0  # the design effect


def _design(icc: object, cluster_size: object, cluster_cv: object, attrition: object) -> _Design:
    rho = check_number("icc", icc)
    cv = check_number("cluster_cv", cluster_cv)
    lost = check_number("attrition", attrition)
    if not 0.0 <= lost < 1.0:
        raise OptionError(
            f"attrition (share lost to follow-up) must be in [0, 1), got {attrition!r}"
        )
    if cluster_size is None:
        if rho != 0.0 or cv != 0.0:
            raise OptionError(
                "cluster_size (mean analysed patients per cluster, e.g. a coach's caseload) is "
                "required when icc or cluster_cv is given"
            )
        return _Design(rho, None, cv, lost, 1.0)
    size = check_number("cluster_size", cluster_size)
    return _Design(rho, size, cv, lost, design_effect(rho, size, cluster_cv=cv))


def _ceil(x: float) -> int:
    """Round up, taking values within floating-point error of an integer as that integer."""
    return math.ceil(x - _ROUND_SLACK * max(1.0, abs(x)))


# ----------------------------------------------------------------------- power engines
@dataclass(frozen=True)
class _Test:
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
        return self.strict and self.sides == 2

    @property
    def n_min(self) -> float:
        """Smallest effective n1: the t test needs 2 patients per group (pwr.t2n.test)."""
        return max(2.0, 2.0 / self.ratio) if self.method == "t" else 0.0

    def power(self, n1: ArrayLike) -> NDArray[np.float64]:
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
            if hi > _N_MAX:
                raise AnalysisError(
                    f"more than {_N_MAX:.0e} patients per group would be needed; the effect "
                    "is too small to plan for"
                )
            hi *= 2.0
        return self._brent(gap, lo, hi), False

    @staticmethod
    def _brent(fn: Callable[[float], float], lo: float, hi: float) -> float:
        root = optimize.brentq(fn, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500)
        return float(root)


def _proportion_test(p1: float, p2: float, method: str, settings: _Settings) -> _Test:
    ratio = settings.ratio
    if method == "pooled":
        pbar = (p1 + ratio * p2) / (1.0 + ratio)
        s0 = math.sqrt(pbar * (1.0 - pbar) * (1.0 + 1.0 / ratio))
        s1 = math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2) / ratio)
        effect = abs(p1 - p2)
    else:
        s0 = s1 = math.sqrt(1.0 + 1.0 / ratio)
        effect = abs(_cohen_h(p1, p2))
    return _Test(method, effect, s0, s1, *settings)


def _mean_test(d: float, settings: _Settings) -> _Test:
    s = math.sqrt(1.0 + 1.0 / settings.ratio)
    return _Test("t", abs(d), s, s, *settings)


def _cohen_h(p1: float, p2: float) -> float:
    return 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2))


# ------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class PowerResult(TidyResult):
    """Sample size or power of a two-group comparison, with its design inflation.

    Attributes
    ----------
    test : str
        ``"two proportions"`` or ``"two means"``.
    method : str
        ``"pooled"``, ``"arcsine"`` or ``"t"`` (see :data:`METHOD_TEXT`).
    solved_for : str
        ``"n"`` (``power`` was given) or ``"power"`` (``n`` was given).
    power : float
        The target power, or the computed one.
    n1, n2 : float
        Effective size of each group: what an individually randomized trial with
        complete follow-up needs (unrounded; R's ``n``). ``n2 = ratio * n1``.
    n1_analysed, n2_analysed, n1_enrolled, n2_enrolled : float
        Patients analysed (after the design effect) and enrolled (after
        attrition) per group. When solving for n they are whole numbers, each
        stage rounded up from the previous one's rounded value; when ``n`` was
        given, ``n1_enrolled`` is that n and the rest follow unrounded.
    clusters1, clusters2 : float
        Clusters per group, ``n_analysed / cluster_size`` (rounded up when
        solving for n); NaN without ``cluster_size``.
    alpha, alternative, strict, ratio
        Test settings: ``strict`` counts the far tail of a two-sided test.
    effect, effect_name, effect_size, effect_size_name
        The raw effect (risk difference or mean difference, group 1 minus
        group 2) and the standardized one (Cohen's h or d).
    p1, p2, delta, sd : float
        Inputs (NaN when not applicable).
    icc, cluster_size, cluster_cv, design_effect, attrition
        Design inputs and the design effect.
    at_minimum : bool
        The target power is reached at the smallest sample the test allows
        (a :class:`PowerWarning` was raised).
    outcome : str
        Label of the outcome (e.g. from :func:`published_effect`).
    """

    test: str
    method: str
    solved_for: str
    power: float
    n1: float
    n2: float
    n1_analysed: float
    n2_analysed: float
    n1_enrolled: float
    n2_enrolled: float
    clusters1: float
    clusters2: float
    alpha: float
    alternative: str
    strict: bool
    ratio: float
    effect: float
    effect_name: str
    effect_size: float
    effect_size_name: str
    p1: float = math.nan
    p2: float = math.nan
    delta: float = math.nan
    sd: float = math.nan
    icc: float = 0.0
    cluster_size: float | None = None
    cluster_cv: float = 0.0
    design_effect: float = 1.0
    attrition: float = 0.0
    at_minimum: bool = False
    outcome: str = ""

    @property
    def n_required(self) -> tuple[int, int] | None:
        """Effective n per group rounded up (before any inflation); None when n was given."""
        if self.solved_for != "n":
            return None
        return _ceil(self.n1), _ceil(self.n2)

    @property
    def n_enrolled(self) -> float:
        """Patients to enrol in both groups."""
        return self.n1_enrolled + self.n2_enrolled

    @property
    def label(self) -> str:
        """The outcome label, or a description of the effect."""
        if self.outcome:
            return self.outcome
        if self.test == "two proportions":
            return f"{_pct(self.p1)} vs {_pct(self.p2)}"
        return f"difference {self.delta:.3g} (SD {self.sd:.3g})"

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the tidy row of :meth:`to_frame`."""
        req = self.n_required
        return {
            "outcome": self.outcome,
            "test": self.test,
            "method": self.method,
            "solved_for": self.solved_for,
            "p1": self.p1,
            "p2": self.p2,
            "delta": self.delta,
            "sd": self.sd,
            "effect_name": self.effect_name,
            "effect": self.effect,
            "effect_size_name": self.effect_size_name,
            "effect_size": self.effect_size,
            "alpha": self.alpha,
            "alternative": self.alternative,
            "strict": self.strict,
            "power": self.power,
            "ratio": self.ratio,
            "n1": self.n1,
            "n2": self.n2,
            "n1_required": req[0] if req else pd.NA,
            "n2_required": req[1] if req else pd.NA,
            "icc": self.icc,
            "cluster_size": self.cluster_size if self.cluster_size is not None else math.nan,
            "cluster_cv": self.cluster_cv,
            "design_effect": self.design_effect,
            "n1_analysed": self.n1_analysed,
            "n2_analysed": self.n2_analysed,
            "clusters1": self.clusters1,
            "clusters2": self.clusters2,
            "attrition": self.attrition,
            "n1_enrolled": self.n1_enrolled,
            "n2_enrolled": self.n2_enrolled,
            "n_enrolled": self.n_enrolled,
        }

    def summary(self) -> str:
        """Human-readable multi-line summary (the inflation steps shown one per line)."""
        head = "Sample size" if self.solved_for == "n" else "Power"
        lines = [f"{head}: {self.test}, {METHOD_TEXT[self.method]}"]
        if self.outcome:
            lines.append(f"  outcome: {self.outcome}")
        if self.test == "two proportions":
            inputs = f"p1 = {self.p1:.4g}, p2 = {self.p2:.4g}"
        else:
            inputs = f"difference = {self.delta:.4g}, SD = {self.sd:.4g}"
        lines.append(
            f"  {inputs}: {self.effect_name} {self.effect:.4g}, "
            f"{self.effect_size_name} {self.effect_size:.4g}"
        )
        tails = " (far tail counted)" if self.strict and self.alternative == "two-sided" else ""
        lines.append(
            f"  alpha = {self.alpha:g}, {self.alternative}{tails}; "
            f"allocation 1:{self.ratio:g} (group 2 = {self.ratio:g} x group 1)"
        )
        clustered = self.cluster_size is not None
        cluster_text = self._design_effect_text() if clustered else ""
        req = self.n_required
        if req is not None:
            lines.append(f"  power = {self.power:.4g}")
            lines.append(f"  n per group (unrounded): {self.n1:.2f} and {self.n2:.2f}")
            lines.append(f"  required, rounded up: {_pair(*req)}")
            if clustered:
                lines.append(
                    f"  {cluster_text}: {_pair(self.n1_analysed, self.n2_analysed)} analysed, "
                    f"in {self.clusters1:.0f} + {self.clusters2:.0f} clusters"
                )
            if self.attrition:
                lines.append(
                    f"  attrition {100 * self.attrition:g}%: "
                    f"{_pair(self.n1_enrolled, self.n2_enrolled)} enrolled"
                )
            if self.at_minimum:
                lines.append(
                    "  (the target power is reached at the smallest sample the test allows)"
                )
        else:
            lines.append(f"  enrolled: {_pair(self.n1_enrolled, self.n2_enrolled)}")
            if self.attrition:
                lines.append(
                    f"  attrition {100 * self.attrition:g}%: "
                    f"{_pair(self.n1_analysed, self.n2_analysed)} analysed"
                )
            if clustered:
                lines.append(f"  {cluster_text}: effective n {_pair(self.n1, self.n2)}")
            lines.append(f"  power = {self.power:.4f}")
        return "\n".join(lines)

    def _design_effect_text(self) -> str:
        m, rho, de = self.cluster_size, self.icc, self.design_effect
        if self.cluster_cv:
            return (
                f"design effect 1 + ((1 + {self.cluster_cv:g}^2) x {m:g} - 1) x {rho:g} = {de:.4g}"
            )
        return f"design effect 1 + ({m:g} - 1) x {rho:g} = {de:.4g}"

    def __repr__(self) -> str:
        if self.solved_for == "n":
            what = f"n = {_pair(self.n1_enrolled, self.n2_enrolled)} enrolled"
            if self.design_effect != 1.0 or self.attrition:
                req = self.n_required or (0, 0)
                what += f" ({_pair(*req)} before inflation)"
            what += f" for power {self.power:.3g}"
        else:
            what = (
                f"power {self.power:.4f} with {_pair(self.n1_enrolled, self.n2_enrolled)} enrolled"
            )
        return (
            f"<PowerResult {self.test} ({self.method}): {what}; "
            f"{self.effect_size_name} {self.effect_size:.3g}, alpha {self.alpha:g} "
            f"{self.alternative}>"
        )


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def _pair(a: float, b: float) -> str:
    return f"{_num(a)} + {_num(b)} = {_num(a + b)}"


# the test, its effect and its standardized effect, by design
_NAMES = {
    "proportions": ("two proportions", "risk difference", "Cohen's h"),
    "means": ("two means", "mean difference", "Cohen's d"),
}


def _result(
    test: _Test,
    n: object,
    power: object,
    design: _Design,
    *,
    outcome: str,
    effect: float,
    effect_size: float,
    **inputs: float,
) -> PowerResult:
    """Solve ``test`` for n or power, and apply the design effect and attrition.

    ``effect`` (raw) and ``effect_size`` (standardized) are named after the
    test; ``inputs`` are the design's own (``p1``, ``p2`` or ``delta``, ``sd``).
    """
    kind, effect_name, effect_size_name = _NAMES["means" if test.method == "t" else "proportions"]
    de = design.effect
    keep = 1.0 - design.attrition
    ratio = test.ratio
    size = design.cluster_size
    if power is not None:
        target = _open_unit("power", power)
        n1, at_min = test.solve(target)
        if n1 > _N_MAX:
            raise AnalysisError(
                f"{n1:.3g} patients per group would be needed; the effect is too small to plan for"
            )
        n2 = ratio * n1
        analysed: list[float] = [_ceil(_ceil(x) * de) for x in (n1, n2)]
        enrolled: list[float] = [_ceil(x / keep) for x in analysed]
        clusters: list[float] = [
            _ceil(x / size) if size is not None else math.nan for x in analysed
        ]
        solved, value = "n", target
    else:
        given = _positive("n", n)
        enrolled = [given, ratio * given]
        analysed = [x * keep for x in enrolled]
        n1, n2 = analysed[0] / de, analysed[1] / de
        if test.method == "t" and min(n1, n2) < 2.0:
            raise AnalysisError(
                f"n={given:g} enrolled in group 1 leaves an effective {n1:.3g} + {n2:.3g} "
                "patients after attrition and the design effect; the t test needs at least 2 "
                "per group"
            )
        clusters = [x / size if size is not None else math.nan for x in analysed]
        solved, value, at_min = "power", float(test.power(n1)), False
    return PowerResult(
        test=kind,
        method=test.method,
        solved_for=solved,
        power=value,
        n1=float(n1),
        n2=float(n2),
        n1_analysed=analysed[0],
        n2_analysed=analysed[1],
        n1_enrolled=enrolled[0],
        n2_enrolled=enrolled[1],
        clusters1=clusters[0],
        clusters2=clusters[1],
        alpha=test.alpha,
        alternative="two-sided" if test.sides == 2 else "one-sided",
        strict=test.strict,
        ratio=ratio,
        icc=design.icc,
        cluster_size=design.cluster_size,
        cluster_cv=design.cluster_cv,
        design_effect=de,
        attrition=design.attrition,
        at_minimum=at_min,
        effect=effect,
        effect_name=effect_name,
        effect_size=effect_size,
        effect_size_name=effect_size_name,
        outcome=outcome,
        **inputs,
    )


# ------------------------------------------------------------------------ public API
def power_two_proportions(
    p1: float,
    p2: float,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    method: ProportionMethod = "pooled",
    strict: bool | None = None,
    icc: float = 0.0,
    cluster_size: float | None = None,
    cluster_cv: float = 0.0,
    attrition: float = 0.0,
    outcome: str = "",
) -> PowerResult:
    r"""Sample size (give ``power``) or power (give ``n``) for comparing two proportions.

    Group 1 (proportion ``p1``, the program) has :math:`n_1` patients, group 2
    :math:`n_2 = r n_1` (``ratio``). With :math:`z = \Phi^{-1}(1 - \alpha/k)`,
    :math:`k = 2` for a two-sided test and 1 for a one-sided test in the
    direction of the effect:

    - ``method="pooled"`` -- the normal approximation of R's
      ``power.prop.test``, with the pooled proportion under H0 and the
      unpooled variance under H1,

      .. math::

          1 - \beta = \Phi\!\left(\frac{|p_1 - p_2|\sqrt{n_1} - z\,s_0}{s_1}\right),\quad
          s_0^2 = \bar p (1 - \bar p)(1 + 1/r),\quad s_1^2 = p_1 q_1 + p_2 q_2 / r,

      :math:`\bar p = (p_1 + r p_2)/(1 + r)`. At :math:`r = 1` this is
      ``power.prop.test`` exactly (:math:`s_0^2 = (p_1 + p_2)(1 - \bar p)`);
      unequal allocation follows Fleiss et al. (2003, ch. 4), as
      ``statsmodels.stats.proportion.power_proportions_2indep``.
    - ``method="arcsine"`` -- Cohen's :math:`h = 2\arcsin\sqrt{p_1} -
      2\arcsin\sqrt{p_2}`, :math:`1 - \beta = \Phi(|h|\sqrt{n_1 n_2/(n_1 + n_2)} - z)`,
      as ``pwr::pwr.2p.test`` / ``pwr.2p2n.test`` and ``statsmodels``'
      ``NormalIndPower``.

    ``strict=True`` adds the far tail of a two-sided test,
    :math:`\Phi((-|\cdot|\sqrt{n_1} - z s_0)/s_1)`. The default (None) follows
    each method's reference: no far tail for ``"pooled"`` (``power.prop.test``'s
    default), far tail for ``"arcsine"`` (``pwr``, ``statsmodels``). Without the
    far tail the sample size has the closed form
    :math:`n_1 = ((z s_0 + z_{1-\beta} s_1)/|\Delta|)^2`; with it, the root is
    found by Brent's method to 1e-12 patients.

    Parameters
    ----------
    p1, p2 : float
        Expected proportions in group 1 (program) and group 2 (comparison), in (0, 1).
    n : float, optional
        Patients *enrolled* in group 1 (computes the power).
    power : float, optional
        Target power, in (0, 1) (computes the sample size). Give exactly one of
        ``n`` and ``power``.
    alpha : float
        Significance level, in (0, 1).
    ratio : float
        :math:`n_2 / n_1`, > 0.
    alternative : {"two-sided", "one-sided"}
        ``"one-sided"`` tests in the direction of the planned effect.
    method : {"pooled", "arcsine"}
        See above.
    strict : bool, optional
        Count the far tail of a two-sided test; None for the method's reference default.
    icc, cluster_size, cluster_cv : float
        Clustered delivery (patients within coaches or clinics): intracluster
        correlation, mean analysed patients per cluster, CV of cluster size;
        see :func:`design_effect`.
    attrition : float
        Share of enrolled patients expected to be lost to follow-up, in [0, 1).
    outcome : str
        Label carried into the result.

    Returns
    -------
    PowerResult

    Raises
    ------
    OptionError
        A value outside its range, an unknown option, or not exactly one of ``n``/``power``.
    AnalysisError
        ``p1 == p2`` (no effect to detect), or a target power below what the
        approximation gives at any sample size.

    References
    ----------
    Fleiss JL, Levin B, Paik MC (2003), ch. 4; Cohen J (1988), ch. 6;
    R ``stats::power.prop.test``; ``pwr`` 1.3 (Champely S).

    Examples
    --------
    HCPC composite (46.4 % vs 34.3 %), as ``power.prop.test(p1 = .464, p2 = .343, power = .8)``:

    >>> r = power_two_proportions(0.464, 0.343, power=0.8)
    >>> round(r.n1, 4), r.n_required
    (256.878, (257, 257))

    Cohen's h, twice as many in the comparison group, as ``pwr.2p2n.test``:

    >>> r = power_two_proportions(0.464, 0.343, power=0.8, method="arcsine", ratio=2)
    >>> round(r.effect_size, 4), r.n_required
    (0.2473, (193, 385))

    The power of 200 per group:

    >>> round(power_two_proportions(0.464, 0.343, n=200).power, 4)
    0.6951
    """
    settings = _settings(n, power, alpha, ratio, alternative, strict, method, PROPORTION_METHODS)
    q1, q2 = _open_unit("p1", p1), _open_unit("p2", p2)
    if q1 == q2:
        raise AnalysisError(f"p1 and p2 are both {q1!r}: there is no difference to detect")
    test = _proportion_test(q1, q2, method, settings)
    design = _design(icc, cluster_size, cluster_cv, attrition)
    h = _cohen_h(q1, q2)
    return _result(
        test, n, power, design, outcome=outcome, effect=q1 - q2, effect_size=h, p1=q1, p2=q2
    )


def power_two_means(
    delta: float,
    sd: float,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    strict: bool | None = None,
    icc: float = 0.0,
    cluster_size: float | None = None,
    cluster_cv: float = 0.0,
    attrition: float = 0.0,
    outcome: str = "",
) -> PowerResult:
    r"""Sample size (give ``power``) or power (give ``n``) for comparing two means.

    The two-sample t test with a common SD: with :math:`d = \delta/\sigma`,
    :math:`n_2 = r n_1`, :math:`\nu = n_1 + n_2 - 2` and noncentrality
    :math:`\lambda = |d| / \sqrt{1/n_1 + 1/n_2}`,

    .. math::

        1 - \beta = P(T_{\nu,\lambda} > t_{\nu, 1-\alpha/k})
                    \;[\,+\, P(T_{\nu,\lambda} < -t_{\nu, 1-\alpha/k})\ \text{if strict}]

    with :math:`T_{\nu,\lambda}` noncentral t, :math:`k = 2` (two-sided) or 1.
    At :math:`r = 1` this is R's ``power.t.test`` (``strict`` as there,
    default False); with ``strict=True`` it is ``pwr::pwr.t2n.test`` and
    ``statsmodels``' ``TTestIndPower``. The sample size is found by Brent's
    method to 1e-12 patients; at least 2 patients per group (``pwr.t2n.test``'s
    limit), with a :class:`PowerWarning` when that minimum already reaches the
    target power.

    Parameters
    ----------
    delta : float
        Expected difference in means, group 1 minus group 2 (e.g. the
        difference in HbA1c change); its sign does not matter.
    sd : float
        Common within-group SD (see :func:`pooled_sd`), > 0.
    n, power, alpha, ratio, alternative, strict, icc, cluster_size, cluster_cv, attrition, outcome
        As in :func:`power_two_proportions`.

    Returns
    -------
    PowerResult

    Raises
    ------
    OptionError
        A value outside its range, an unknown option, or not exactly one of ``n``/``power``.
    AnalysisError
        ``delta == 0``, or ``n`` leaving fewer than 2 effective patients per group.

    References
    ----------
    Cohen J (1988), ch. 2; R ``stats::power.t.test``; ``pwr::pwr.t2n.test``.

    Examples
    --------
    Peer-coaching HbA1c change, -1.07 vs -0.30 (difference 0.77), pooled SD 2.95:

    >>> sd = pooled_sd(2.8, 122, 3.1, 114)
    >>> r = power_two_means(-0.77, sd, power=0.8)
    >>> round(r.n1, 3), r.n_required
    (231.168, (232, 232))

    Cohen's medium effect, as ``power.t.test(delta = .5, power = .8)`` (n = 63.77):

    >>> round(power_two_means(0.5, 1.0, power=0.8).n1, 2)
    63.77
    """
    settings = _settings(n, power, alpha, ratio, alternative, strict, "t", ("t",))
    dlt = check_number("delta", delta)
    sigma = _positive("sd", sd)
    if dlt == 0.0:
        raise AnalysisError("delta is 0: there is no difference to detect")
    d = dlt / sigma
    test = _mean_test(d, settings)
    design = _design(icc, cluster_size, cluster_cv, attrition)
    return _result(
        test, n, power, design, outcome=outcome, effect=dlt, effect_size=d, delta=dlt, sd=sigma
    )


def _rebuild(result: PowerResult) -> _Test:
    settings = _Settings(result.alpha, _sides(result.alternative), result.strict, result.ratio)
    if result.test == "two proportions":
        return _proportion_test(result.p1, result.p2, result.method, settings)
    return _mean_test(result.effect_size, settings)


# ------------------------------------------------------------------------ power curves
def power_curve(
    results: PowerResult | Sequence[PowerResult],
    n: ArrayLike | None = None,
    *,
    points: int = 50,
) -> pd.DataFrame:
    """Power against the number enrolled, for one or more planned designs.

    Each result keeps its effect, test, allocation, design effect and
    attrition; only the enrolment varies. The power at enrolment :math:`n` is
    that of the effective sample :math:`n (1 - \\text{attrition}) / \\mathrm{DE}`.

    Parameters
    ----------
    results : PowerResult or sequence of PowerResult
        From :func:`power_two_proportions` / :func:`power_two_means`.
    n : array-like, optional
        Enrolment in group 1 to evaluate. By default ``points`` whole numbers
        from the smallest valid sample to twice each design's enrolment.
    points : int
        Grid size of the default grid (>= 2).

    Returns
    -------
    DataFrame
        One row per design and n: ``label``, ``n1_enrolled``, ``n2_enrolled``,
        ``n_enrolled``, ``n1`` (effective), ``power``.

    Examples
    --------
    >>> r = power_two_proportions(0.464, 0.343, power=0.8)
    >>> curve = power_curve(r, [100, 257, 400])
    >>> curve["power"].round(3).tolist()
    [0.414, 0.8, 0.938]
    """
    items = [results] if isinstance(results, PowerResult) else list(results)
    if not items or not all(isinstance(r, PowerResult) for r in items):
        raise OptionError("results must be a PowerResult or a non-empty sequence of them")
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise OptionError(f"points must be an integer >= 2, got {points!r}")
    frames = []
    for res in items:
        test = _rebuild(res)
        inflate = res.design_effect / (1.0 - res.attrition)
        if n is None:
            lo = max(test.n_min, 2.0) * inflate
            hi = max(2.0 * res.n1_enrolled, lo + points)
            grid = np.unique(np.ceil(np.linspace(lo, hi, points)))
        else:
            grid = np.atleast_1d(np.asarray(n, dtype=float))
            if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
                raise OptionError("n must hold finite numbers > 0")
        eff = grid / inflate
        short = eff < test.n_min
        if np.any(short):
            raise AnalysisError(
                f"n={grid[short].tolist()} leave fewer than 2 effective patients per group "
                f"for '{res.label}'"
            )
        frames.append(
            pd.DataFrame(
                {
                    "label": res.label,
                    "n1_enrolled": grid,
                    "n2_enrolled": res.ratio * grid,
                    "n_enrolled": (1.0 + res.ratio) * grid,
                    "n1": eff,
                    "power": test.power(eff),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plot_power_curve(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    target: float | None = 0.8,
    x: Literal["n1_enrolled", "n_enrolled"] = "n1_enrolled",
) -> Axes:
    """Draw power against enrolment, one line per design (from :func:`power_curve`).

    Parameters
    ----------
    frame : DataFrame
        Output of :func:`power_curve`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    target : float or None
        Draw a dashed reference line at this power.
    x : {"n1_enrolled", "n_enrolled"}
        Enrolment in group 1 or in both groups on the x axis.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> r = power_two_proportions(0.464, 0.343, power=0.8, outcome="HCPC composite")
    >>> ax = plot_power_curve(power_curve(r))
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('Power', ['HCPC composite'])
    """
    check_option("x", x, ("n1_enrolled", "n_enrolled"))
    missing = [c for c in ("label", x, "power") if c not in frame.columns]
    if missing:
        raise OptionError(f"frame lacks column(s) {missing}; pass the output of power_curve()")
    if target is not None:
        _open_unit("target", target)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    for label, part in frame.groupby("label", sort=False):
        ax.plot(part[x].to_numpy(), part["power"].to_numpy(), label=str(label))
    if target is not None:
        ax.axhline(target, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_ylim(0.0, 1.0)
    equal = "n2_enrolled" not in frame.columns or bool(
        np.allclose(frame["n2_enrolled"].to_numpy(), frame["n1_enrolled"].to_numpy())
    )
    group = "per group" if equal else "in group 1"
    ax.set_xlabel(f"Patients enrolled {group}" if x == "n1_enrolled" else "Patients enrolled")
    ax.set_ylabel("Power")
    ax.legend(frameon=False)
    return ax


# ------------------------------------------------------------------- published effects
class PlanningEffect(PublishedEffect):
    """A :class:`~coachstats.trials.effects.PublishedEffect` that plans a study.

    The published effect of the registry (every number read from the trial's
    TOML file) with one method more, :meth:`plan`. Proportions are
    :attr:`~coachstats.trials.effects.PublishedEffect.p1` (coaching) and
    :attr:`~coachstats.trials.effects.PublishedEffect.p2`; means
    :attr:`~coachstats.trials.effects.PublishedEffect.delta` (coaching minus
    usual care) and the pooled
    :attr:`~coachstats.trials.effects.PublishedEffect.sd`;
    :attr:`~coachstats.trials.effects.PublishedEffect.note` says how they
    follow from the printed figures.
    """

    @classmethod
    def of(cls, effect: PublishedEffect) -> PlanningEffect:
        """The same effect, able to plan."""
        return cls(**{f.name: getattr(effect, f.name) for f in fields(effect)})

    def plan(self, **options: Any) -> PowerResult:
        """:func:`power_two_proportions` or :func:`power_two_means` on this effect.

        Examples
        --------
        >>> published_effect("hcpc_composite").plan(power=0.8).n_required
        (257, 257)
        """
        options.setdefault("outcome", self.label)
        if self.kind == "proportions":
            return power_two_proportions(self.p1, self.p2, **options)
        return power_two_means(self.delta, self.sd, **options)


class _PublishedEffects(Mapping[str, PlanningEffect]):
    """The planning inputs by key, read from the trial registry on first use."""

    @cached_property
    def _effects(self) -> dict[str, PlanningEffect]:
        return {e.key: PlanningEffect.of(e) for e in trials.published_effects()}

    def __getitem__(self, key: str) -> PlanningEffect:
        return self._effects[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._effects)

    def __len__(self) -> int:
        return len(self._effects)

    def __repr__(self) -> str:
        return f"PUBLISHED_EFFECTS({list(self)})"


#: The planning inputs by key (a read-only mapping): every two-arm target of the registry
#: with an ``effect_key``, in registry order (:func:`coachstats.trials.published_effects`).
PUBLISHED_EFFECTS: Mapping[str, PlanningEffect] = _PublishedEffects()


def published_effect(key: str) -> PlanningEffect:
    r"""The planning inputs of one published effect (see :func:`published_effects`).

    Read from the trial registry (:func:`coachstats.trials.published_effect`):
    the proportions are the printed arm percentages; a mean difference is the
    difference of the printed arm means, with the SD pooled from the printed
    arm SDs weighted by the analysed n (:func:`pooled_sd`): for the peer HbA1c
    change, :math:`\sqrt{(121 \cdot 2.8^2 + 113 \cdot 3.1^2)/234} = 2.949`.

    Examples
    --------
    >>> e = published_effect("peer_hba1c_change")
    >>> round(e.delta, 2), round(e.sd, 3)
    (-0.77, 2.949)
    >>> published_effect("hcpc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: key='hcpc' is not allowed; choose one of 'hcpc_composite', ...
    """
    check_option("key", key, tuple(PUBLISHED_EFFECTS))
    return PUBLISHED_EFFECTS[key]


def published_effects() -> pd.DataFrame:
    """All published effects, one row each.

    Columns ``key``, ``label``, ``kind`` (``"proportions"`` or ``"means"``),
    ``p1``, ``p2``, ``delta``, ``sd``, ``source`` (the paper, and where the
    figures were printed when the registry knows it), ``note`` (how the
    inputs follow from the printed figures), ``trial`` and ``target`` (where
    they are in the registry).

    Examples
    --------
    >>> tab = published_effects()
    >>> tab.loc[tab["key"] == "hcpc_composite", ["p1", "p2"]].to_numpy().tolist()
    [[0.464, 0.343]]
    """
    rows = [
        {
            "key": e.key,
            "label": e.label,
            "kind": e.kind,
            "p1": e.p1,
            "p2": e.p2,
            "delta": e.delta,
            "sd": e.sd,
            "source": e.source,
            "note": e.note,
            "trial": e.trial,
            "target": e.target,
        }
        for e in PUBLISHED_EFFECTS.values()
    ]
    return pd.DataFrame(rows)

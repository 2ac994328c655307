r"""Number needed to treat (Altman 1998) and the cost per additional success.

The number needed to treat is the reciprocal of the risk difference in the
direction of benefit. For a desirable outcome such as *at goal* the benefit is
:math:`d = p_{coach} - p_{usual}`; for an adverse one (an event to prevent) it
is :math:`d = p_{usual} - p_{coach}`, Altman's absolute risk reduction. Then

.. math:: \mathrm{NNT} = 1/d,

positive for a benefit (NNTB: coach this many patients for one more to reach
the goal) and negative for a harm (NNTH). Its confidence interval is the
reciprocal of the limits :math:`(d_L, d_U)` of the risk difference's
interval (Altman 1998):

* :math:`d_L > 0`: NNTB :math:`1/d_U` to NNTB :math:`1/d_L`;
* :math:`d_U < 0`: NNTH :math:`1/|d_U|` to NNTH :math:`1/|d_L|` (shown from the
  smaller to the larger);
* :math:`d_L < 0 < d_U` (not significant): the interval contains
  :math:`d = 0`, i.e. an infinite NNT, and is *two pieces* on the NNT scale:
  NNTB :math:`1/d_U` to :math:`\infty` to NNTH :math:`1/|d_L|`. Printing it as
  "NNT :math:`1/d_U` to :math:`1/d_L`" (a negative number to a positive one)
  would wrongly exclude the large NNTs, which are the plausible ones.

The NNT inherits the risk difference's interval method (Wald, Newcombe, a
marginal effect from a model, a pooled MI result...): pass any result whose
estimand is a risk difference.

A cost per coached patient :math:`c` turns the NNT into the *cost per
additional success*, :math:`c/d = c \times \mathrm{NNT}`
(:func:`cost_per_additional_success`). With :math:`c` treated as known, its
interval is :math:`c` times the NNT interval, an exact transformation of the
risk difference's interval; the upper limit is infinite when that interval
reaches 0 or below (the data are compatible with no additional successes),
and there is no finite cost per additional success when the whole interval is
at or below 0. When :math:`c` is itself estimated from patient-level data
(coaching minutes per patient), :func:`bootstrap_cost_per_success` gives a
stratified percentile bootstrap interval that carries both uncertainties and
their correlation.

References
----------
Altman DG. Confidence intervals for the number needed to treat. BMJ
1998;317:1309-1312. doi:10.1136/bmj.317.7168.1309

Cook RJ, Sackett DL. The number needed to treat: a clinically useful measure
of treatment effect. BMJ 1995;310:452-454.

Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall,
1993, chapter 13 (percentile intervals).

Examples
--------
Altman's figure 1-2 example: a risk reduction of 10 % with 95 % CI -5 % to 25 %.

>>> r = nnt_from_difference(0.10, -0.05, 0.25)
>>> r.text()
'NNTB 10.0 (95% CI NNTB 4.0 to ∞ to NNTH 20.0)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from coachstats.core.errors import AnalysisError, check_conf_level
from coachstats.core.results import ComparisonResult, TidyResult

__all__ = [
    "CostPerSuccess",
    "NNTResult",
    "bootstrap_cost_per_success",
    "cost_per_additional_success",
    "nnt_from_difference",
    "number_needed_to_treat",
    "type7_quantile",
]

Direction = Literal["benefit", "harm", "none"]


def _nnt_words(x: float) -> str:
    """``"NNTB 4.0"``, ``"NNTH 20.0"`` or ``"∞"`` for a signed NNT."""
    if math.isinf(x):
        return "∞"
    return f"NNT{'B' if x > 0 else 'H'} {abs(x):.1f}"


def _reciprocal(d: float) -> float:
    return math.inf if d == 0 else 1.0 / d


@dataclass(frozen=True)
class NNTResult(TidyResult):
    """A number needed to treat with Altman's confidence interval.

    Attributes
    ----------
    outcome : str
        The binary outcome.
    difference, conf_low, conf_high : float
        The risk difference in the direction of benefit and its interval.
    conf_level : float
    nnt : float
        ``1 / difference``: positive = NNTB, negative = NNTH, infinite when the
        difference is 0.
    nnt_limits : (float, float)
        ``(1 / conf_high, 1 / conf_low)``, signed as ``nnt`` (infinite at a
        limit of exactly 0). When the interval crosses 0 the first is an NNTB
        and the second an NNTH, and the NNT interval runs through infinity.
    good_outcome : bool
        True when the outcome is desirable (at goal), so that benefit is a
        higher proportion with coaching.
    arms : tuple of str
        ``(treatment, control)``.
    method : str
        How the risk difference's interval was computed.
    """

    outcome: str
    difference: float
    conf_low: float
    conf_high: float
    conf_level: float = 0.95
    good_outcome: bool = True
    arms: tuple[str, str] = ("coaching", "usual_care")
    method: str = ""

    def __post_init__(self) -> None:
        values = (self.difference, self.conf_low, self.conf_high)
        if not all(math.isfinite(v) for v in values):
            raise AnalysisError(
                f"the risk difference and its interval must be finite, got {values}"
            )
        if not self.conf_low <= self.difference <= self.conf_high:
            raise AnalysisError(
                f"the risk difference {self.difference} is outside its interval "
                f"({self.conf_low}, {self.conf_high})"
            )
        if not all(-1.0 <= v <= 1.0 for v in values):
            raise AnalysisError(f"a risk difference lies in [-1, 1], got {values}")

    @property
    def nnt(self) -> float:
        """``1 / difference`` (NNTB > 0, NNTH < 0)."""
        return _reciprocal(self.difference)

    @property
    def nnt_limits(self) -> tuple[float, float]:
        """``(1 / conf_high, 1 / conf_low)``, signed."""
        return _reciprocal(self.conf_high), _reciprocal(self.conf_low)

    @property
    def direction(self) -> Direction:
        """``"benefit"``, ``"harm"`` or ``"none"`` (a difference of exactly 0)."""
        if self.difference > 0:
            return "benefit"
        return "harm" if self.difference < 0 else "none"

    @property
    def crosses_zero(self) -> bool:
        """True when the interval of the difference includes 0 (the NNT interval contains ∞)."""
        return self.conf_low <= 0.0 <= self.conf_high

    def interval_text(self) -> str:
        """The NNT interval in Altman's words, e.g. ``"NNTB 4.0 to ∞ to NNTH 20.0"``."""
        a, b = self.nnt_limits
        if self.conf_low > 0 or self.conf_high < 0:
            lo, hi = sorted((a, b), key=abs)
            return f"{_nnt_words(lo)} to {abs(hi):.1f}"
        parts = [_nnt_words(a)] if self.conf_high > 0 else []
        parts.append("∞")
        if self.conf_low < 0:
            parts.append(_nnt_words(b))
        return " to ".join(parts)

    def text(self) -> str:
        """``"NNTB 8.2 (95% CI NNTB 4.5 to 44.8)"``."""
        pct = f"{100 * self.conf_level:g}%"
        return f"{_nnt_words(self.nnt)} ({pct} CI {self.interval_text()})"

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the tidy row of :meth:`to_frame`."""
        a, b = self.nnt_limits
        return {
            "outcome": self.outcome,
            "estimand": "number needed to treat",
            "nnt": self.nnt,
            "direction": self.direction,
            "nnt_limit_1": a,
            "nnt_limit_2": b,
            "crosses_zero": self.crosses_zero,
            "interval": self.interval_text(),
            "difference": self.difference,
            "difference_low": self.conf_low,
            "difference_high": self.conf_high,
            "conf_level": self.conf_level,
            "good_outcome": self.good_outcome,
            "method": self.method,
        }

    def summary(self) -> str:
        """Multi-line text: the NNT, its interval and the risk difference it comes from."""
        pct = f"{100 * self.conf_level:g}%"
        benefit = "higher" if self.good_outcome else "lower"
        lines = [
            f"Number needed to treat: {self.outcome}",
            f"  {self.text()}",
            f"  from the risk difference {self.difference:+.4f} ({pct} CI "
            f"{self.conf_low:+.4f} to {self.conf_high:+.4f}), benefit = {benefit} "
            f"proportion with {self.arms[0]} than {self.arms[1]}",
            "  NNTB = treat this many for one more benefit; NNTH = for one more harm",
        ]
        if self.crosses_zero:
            lines.append(
                "  the interval includes no effect: it runs through infinity (Altman 1998)"
            )
        if self.method:
            lines.append(f"  interval of the difference: {self.method}")
        return "\n".join(lines)


def nnt_from_difference(
    difference: float,
    conf_low: float,
    conf_high: float,
    *,
    conf_level: float = 0.95,
    outcome: str = "outcome",
    good_outcome: bool = True,
    arms: tuple[str, str] = ("coaching", "usual_care"),
    method: str = "",
) -> NNTResult:
    """The NNT from a risk difference *in the direction of benefit* and its interval.

    Parameters
    ----------
    difference, conf_low, conf_high : float
        Benefit difference (e.g. Altman's absolute risk reduction) and its limits.
    conf_level : float
        Level of the interval.

    Examples
    --------
    Barrowman (CMAJ 2002;166:1676) on a stroke trial: ARR 16.6 % (0.9 % to 32.2 %).

    >>> r = nnt_from_difference(0.166, 0.009, 0.322)
    >>> round(r.nnt, 1), [round(x, 1) for x in r.nnt_limits]
    (6.0, [3.1, 111.1])
    """
    return NNTResult(
        outcome=outcome,
        difference=float(difference),
        conf_low=float(conf_low),
        conf_high=float(conf_high),
        conf_level=float(conf_level),
        good_outcome=good_outcome,
        arms=arms,
        method=method,
    )


def number_needed_to_treat(effect: ComparisonResult, *, good_outcome: bool = True) -> NNTResult:
    """The number needed to treat from a risk-difference result (Altman 1998).

    Parameters
    ----------
    effect : ComparisonResult
        A risk difference, treatment minus control (``risk_difference``,
        ``two_proportions(..., estimand="risk difference")``, a marginal risk
        difference from ``logistic``, a pooled multiple-imputation result...).
        Its interval method carries over to the NNT.
    good_outcome : bool
        True (default) when the outcome is desirable, e.g. at goal: benefit is
        a higher proportion with the treatment. False for an event to prevent.

    Returns
    -------
    NNTResult

    Raises
    ------
    AnalysisError
        When the result is not a risk difference or has no finite interval.

    Examples
    --------
    HCPC's composite goal (counts inferred in ../shared/published.md):

    >>> from coachstats.compare.proportions import ArmCounts, risk_difference
    >>> rd = risk_difference(ArmCounts((90, 194, 61, 178), ("coaching", "usual_care")), "goal")
    >>> print(number_needed_to_treat(rd).text())
    NNTB 8.2 (95% CI NNTB 4.5 to 44.8)
    """
    if not isinstance(effect, ComparisonResult) or "risk difference" not in effect.estimand:
        got = effect.estimand if isinstance(effect, ComparisonResult) else type(effect).__name__
        raise AnalysisError(
            f"the number needed to treat needs a risk difference; got {got!r} "
            "(use risk_difference(...) or logistic(..., estimand='risk difference'))"
        )
    sign = 1.0 if good_outcome else -1.0
    lo, hi = sorted((sign * effect.conf_low, sign * effect.conf_high))
    arms = (
        (effect.arms[0].arm, effect.arms[1].arm)
        if len(effect.arms) >= 2
        else ("treatment", "control")
    )
    method = effect.method + (f"; {effect.missing}" if effect.missing != "complete case" else "")
    return nnt_from_difference(
        sign * effect.estimate,
        lo,
        hi,
        conf_level=effect.conf_level,
        outcome=effect.outcome,
        good_outcome=good_outcome,
        arms=arms,
        method=method,
    )


# --------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class CostPerSuccess(TidyResult):
    """Cost per additional success (e.g. per additional patient at goal).

    ``estimate = cost_per_patient / difference`` (NaN when the difference is
    not a benefit), with its interval (``conf_high`` is infinite when the
    effect's interval reaches no benefit). ``assumptions`` lists, in words,
    every input that was assumed rather than measured; ``summary()`` and the
    reports print them next to the number.
    """

    outcome: str
    cost_per_patient: float
    estimate: float
    conf_low: float
    conf_high: float
    conf_level: float
    nnt: NNTResult
    interval: str
    cost_basis: str = ""
    currency: str = "USD"
    assumptions: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unbounded(self) -> bool:
        """True when the upper limit is infinite (the effect's CI includes no benefit)."""
        return math.isinf(self.conf_high)

    def _money(self, x: float) -> str:
        if math.isnan(x):
            return "not defined"
        return "∞" if math.isinf(x) else f"{x:,.0f} {self.currency}"

    def text(self) -> str:
        """``"1,493 USD (95% CI 823 to 8,164 USD)"``, or the reason there is no estimate."""
        pct = f"{100 * self.conf_level:g}%"
        if math.isnan(self.estimate):
            return (
                "not defined: coaching shows no estimated benefit, so there is no additional "
                f"success to pay for ({self.nnt.text()})"
            )
        return (
            f"{self._money(self.estimate)} ({pct} CI {self._money(self.conf_low)} to "
            f"{self._money(self.conf_high)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the tidy row of :meth:`to_frame`."""
        row: dict[str, Any] = {
            "outcome": self.outcome,
            "estimand": "cost per additional success",
            "estimate": self.estimate,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
            "conf_level": self.conf_level,
            "cost_per_patient": self.cost_per_patient,
            "currency": self.currency,
            "cost_basis": self.cost_basis,
            "nnt": self.nnt.nnt,
            "nnt_interval": self.nnt.interval_text(),
            "interval": self.interval,
            "assumptions": "; ".join(self.assumptions),
        }
        row.update({k: v for k, v in self.extra.items() if isinstance(v, (int, float, str))})
        return row

    def summary(self) -> str:
        """Multi-line text with the estimate, how it was computed and every assumption."""
        lines = [
            f"Cost per additional success: {self.outcome}",
            f"  {self.text()}",
            f"  = cost per coached patient {self._money(self.cost_per_patient)} x "
            f"{self.nnt.text()}",
        ]
        if self.cost_basis:
            lines.append(f"  cost per patient: {self.cost_basis}")
        lines.append(f"  interval: {self.interval}")
        if self.unbounded and not math.isnan(self.estimate):
            lines.append(
                "  the upper limit is unbounded: the effect's interval includes no benefit"
            )
        lines += [f"  assumed: {a}" for a in self.assumptions]
        return "\n".join(lines)


def _check_cost(cost: float) -> float:
    cost = float(cost)
    if not (math.isfinite(cost) and cost > 0):
        raise AnalysisError(f"the cost per coached patient must be positive and finite, got {cost}")
    return cost


def cost_per_additional_success(
    effect: ComparisonResult | NNTResult,
    cost_per_patient: float,
    *,
    good_outcome: bool = True,
    cost_basis: str = "",
    currency: str = "USD",
    assumptions: Sequence[str] = (),
) -> CostPerSuccess:
    """Cost per additional success with the cost treated as known: ``cost x NNT``.

    The interval is ``cost_per_patient`` times the NNT interval's benefit
    limits (:math:`c/d_U` to :math:`c/d_L`): the exact image of the risk
    difference's interval, since :math:`c/d` is monotone in :math:`d > 0`.
    When :math:`d_L \\le 0` the upper limit is infinite; when the estimate
    itself is no benefit (:math:`d \\le 0`) the estimate is NaN (there is no
    additional success to pay for) and the lower limit is :math:`c/d_U` if
    :math:`d_U > 0`.

    Parameters
    ----------
    effect : ComparisonResult or NNTResult
        A risk difference (see :func:`number_needed_to_treat`) or its NNT.
    cost_per_patient : float
        Cost of coaching one patient over the period of the effect.
    cost_basis : str
        How the cost was built (printed with the result).
    assumptions : sequence of str
        Inputs that were assumed, in words (printed with the result).

    Examples
    --------
    >>> from coachstats.compare.proportions import ArmCounts, risk_difference
    >>> rd = risk_difference(ArmCounts((90, 194, 61, 178), ("coaching", "usual_care")), "goal")
    >>> c = cost_per_additional_success(rd, 182.0)
    >>> round(c.estimate), round(c.conf_low), round(c.conf_high)
    (1501, 827, 8162)
    """
    nnt = (
        effect
        if isinstance(effect, NNTResult)
        else number_needed_to_treat(effect, good_outcome=good_outcome)
    )
    cost = _check_cost(cost_per_patient)
    d, lo, hi = nnt.difference, nnt.conf_low, nnt.conf_high
    return CostPerSuccess(
        outcome=nnt.outcome,
        cost_per_patient=cost,
        estimate=cost / d if d > 0 else math.nan,
        conf_low=cost / hi if hi > 0 else math.nan,
        conf_high=cost / lo if lo > 0 else math.inf,
        conf_level=nnt.conf_level,
        nnt=nnt,
        interval=(
            "cost x the NNT's interval (Altman 1998), the cost treated as known; "
            f"risk difference interval: {nnt.method or 'as given'}"
        ),
        cost_basis=cost_basis,
        currency=currency,
        assumptions=tuple(assumptions),
    )


def type7_quantile(values: np.ndarray, q: float) -> float:
    """Quantile by R's default (type 7) rule; infinite values sort last and stay infinite.

    Examples
    --------
    >>> v = np.array([1.0, 2.0, 3.0, np.inf])
    >>> type7_quantile(v, 0.5), type7_quantile(np.array([1.0, np.inf]), 0.9)
    (2.5, inf)
    """
    v = np.sort(values)
    h = (len(v) - 1) * q
    j = math.floor(h)
    g = h - j
    if g == 0.0 or j + 1 >= len(v):
        return float(v[j])
    if math.isinf(v[j + 1]):
        return math.inf
    return float(v[j] + g * (v[j + 1] - v[j]))


def bootstrap_cost_per_success(
    treated: np.ndarray,
    control: np.ndarray,
    cost_treated: np.ndarray,
    *,
    rate: float = 1.0,
    n_boot: int = 2000,
    seed: int | np.random.Generator,
    conf_level: float = 0.95,
    outcome: str = "outcome",
    good_outcome: bool = True,
    cost_basis: str = "",
    currency: str = "USD",
    assumptions: Sequence[str] = (),
) -> CostPerSuccess:
    """Cost per additional success with a stratified percentile bootstrap interval.

    Patients are resampled with replacement within each arm, ``n_boot``
    times. In each replicate the cost per patient is ``rate`` times the mean
    of ``cost_treated`` over the resampled treated patients who have it (e.g.
    coaching hours times a wage), the difference is computed over those with
    the outcome, and the ratio cost / difference is kept; a replicate whose
    difference is 0 or less (no additional success) counts as an infinite
    cost. The interval is the ``(1 - level)/2`` and ``(1 + level)/2``
    quantiles of the replicates (R's type 7 quantile, as ``quantile()``), so
    its upper limit is infinite when more than ``(1 - level)/2`` of the
    replicates show no benefit. The estimate is the plug-in ratio. This
    carries the uncertainty of the cost and its correlation with the outcome
    (patients who reach goal may get more or fewer minutes).

    Parameters
    ----------
    treated, control : array of 0/1 (NaN = missing)
        The outcome per patient in each arm.
    cost_treated : array
        The cost driver per treated patient (same length as ``treated``;
        NaN = not recorded), e.g. coaching minutes.
    rate : float
        Cost per unit of ``cost_treated`` (e.g. wage per minute).
    n_boot : int
        Bootstrap replicates (at least 200).
    seed : int or numpy Generator
        Makes the interval reproducible.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t = (rng.random(200) < 0.45).astype(float); c = (rng.random(200) < 0.30).astype(float)
    >>> minutes = rng.gamma(3.0, 180.0, 200)
    >>> r = bootstrap_cost_per_success(t, c, minutes, rate=20.19 / 60, n_boot=500, seed=2)
    >>> r.conf_low < r.estimate < r.conf_high
    True
    """
    t = np.asarray(treated, dtype=float)
    u = np.asarray(control, dtype=float)
    cost = np.asarray(cost_treated, dtype=float)
    if len(cost) != len(t):
        raise AnalysisError(
            f"cost_treated has {len(cost)} values for {len(t)} treated patients; give one per patient"
        )
    if int(n_boot) < 200:
        raise AnalysisError(f"n_boot must be at least 200 for a percentile interval, got {n_boot}")
    check_conf_level(conf_level)
    for name, y in (("treated", t), ("control", u)):
        obs = y[~np.isnan(y)]
        if len(obs) == 0 or not np.isin(obs, (0.0, 1.0)).all():
            raise AnalysisError(f"the {name} outcomes must be 0/1 with at least one observed")
    if np.isnan(cost).all() or (cost[~np.isnan(cost)] < 0).any():
        raise AnalysisError("cost_treated must have non-negative values for some treated patients")
    sign = 1.0 if good_outcome else -1.0
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    it = rng.integers(0, len(t), size=(int(n_boot), len(t)))
    iu = rng.integers(0, len(u), size=(int(n_boot), len(u)))

    def means(values: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        v = values if idx is None else values[idx]
        ok = ~np.isnan(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.where(ok, v, 0.0).sum(axis=-1) / ok.sum(axis=-1))

    diff = sign * (means(t, it) - means(u, iu))
    boot_cost = rate * means(cost, it)
    ratio = np.where(diff > 0, boot_cost / np.where(diff > 0, diff, 1.0), np.inf)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    alpha = 1.0 - conf_level
    d_hat = float(sign * (means(t, None) - means(u, None)))
    c_hat = _check_cost(rate * float(means(cost, None)))
    low = type7_quantile(diff, alpha / 2)
    high = type7_quantile(diff, 1 - alpha / 2)
    nnt = nnt_from_difference(
        d_hat,
        min(low, d_hat),
        max(high, d_hat),
        conf_level=conf_level,
        outcome=outcome,
        good_outcome=good_outcome,
        method=f"percentile bootstrap ({int(n_boot)} replicates)",
    )
    lo_ratio = type7_quantile(ratio, alpha / 2)
    hi_ratio = type7_quantile(ratio, 1 - alpha / 2)
    return CostPerSuccess(
        outcome=outcome,
        cost_per_patient=c_hat,
        estimate=c_hat / d_hat if d_hat > 0 else math.nan,
        conf_low=lo_ratio if math.isfinite(lo_ratio) else math.nan,
        conf_high=hi_ratio,
        conf_level=conf_level,
        nnt=nnt,
        interval=(
            f"stratified percentile bootstrap, {int(n_boot)} replicates (cost and effect "
            "resampled together; replicates without benefit count as an infinite cost)"
        ),
        cost_basis=cost_basis,
        currency=currency,
        assumptions=tuple(assumptions),
        extra={"n_boot": int(n_boot), "share_no_benefit": float(np.mean(diff <= 0))},
    )

"""What coaching costs per additional patient at goal, from the published HCPC process figures.

:func:`cost_per_additional_patient_at_goal` turns a risk difference in "at
goal" (coaching minus usual care) into the number needed to coach
(:func:`coachstats.compare.nnt.number_needed_to_treat`) and the coaching cost
per additional patient at goal, on one of two bases:

``"minutes"`` (default)
    Direct coaching time: minutes per coached patient over the period of the
    effect, times the coach's hourly cost. Default 540.8 minutes, the mean
    total coaching time per coached patient over the 12 months of HCPC
    (Willard-Grace et al., Ann Fam Med 2015;13:130-138; read from the trial
    registry), prorated to the period of the effect (``months``). It leaves out the coach's time between contacts (charting,
    outreach, huddles), so it is a lower bound on the cost.
``"caseload"``
    The coach's whole paid time spread over the patients they carry: hours
    per year times the hourly cost, divided by the caseload, times the
    period's share of a year. The practice brief gives 70-100 patients per
    full-time coach; the default is the midpoint, 85 (assumed).

The hourly cost is an assumption: no wage is published for the HCPC coaches.
The default, 20.19 USD, is the US median hourly wage of medical assistants in
May 2023 (Bureau of Labor Statistics, Occupational Employment and Wage
Statistics, SOC 31-9092), without benefits or overhead (``overhead`` adds
them as a share of the wage). Every assumed input is listed in the result's
``assumptions`` and printed with the number.

The interval treats the cost per patient as known and transforms the effect's
interval (cost x the NNT interval); it is unbounded above when the effect's
interval includes no benefit. With patient-level coaching minutes,
``data=`` gives a stratified bootstrap interval that also carries the
uncertainty of the minutes (:func:`coachstats.compare.nnt.bootstrap_cost_per_success`).

Examples
--------
>>> from coachstats.compare.proportions import ArmCounts, risk_difference
>>> rd = risk_difference(ArmCounts((90, 194, 61, 178), ("coaching", "usual_care")), "composite_any")
>>> c = cost_per_additional_patient_at_goal(rd)
>>> round(c.cost_per_patient, 2), c.text()
(181.98, '1,501 USD (95% CI 827 USD to 8,161 USD)')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import pandas as pd

from coachstats.compare.nnt import (
    CostPerSuccess,
    bootstrap_cost_per_success,
    cost_per_additional_success,
)
from coachstats.compare.prepare import check_binary, require_columns, resolve_arms
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.formatting import format_number
from coachstats.core.results import ComparisonResult
from coachstats.tasks.tracking import FULL_TIME_CASELOAD

__all__ = [
    "BASES",
    "DEFAULT_HOURLY_WAGE",
    "HOURS_PER_YEAR",
    "CoachingCost",
    "cost_per_additional_patient_at_goal",
    "hcpc_coaching_minutes",
]

Basis = Literal["minutes", "caseload"]
BASES: tuple[str, ...] = ("minutes", "caseload")

#: Assumed hourly cost of a coach: US median wage of medical assistants, May 2023 (BLS OEWS 31-9092).
DEFAULT_HOURLY_WAGE = 20.19
DEFAULT_WAGE_SOURCE = (
    "US median hourly wage of medical assistants, May 2023 (BLS Occupational Employment "
    "and Wage Statistics, SOC 31-9092), without benefits or overhead; no wage is published "
    "for the HCPC coaches, nor for the peer trial's coaches (set wage= to your coaches' own "
    "hourly cost, e.g. a peer coach's stipend per hour)"
)
#: Paid hours of a full-time coach per year (40 hours x 52 weeks; assumed).
HOURS_PER_YEAR = 2080.0


@cache
def _peer_caseload() -> float:
    """Coached patients per peer coach in the peer trial (148 / 23), from the registry."""
    from coachstats.trials.registry import get_trial

    patients, coaches = get_trial("peer").coached_per_coach()
    return patients / coaches


@cache
def hcpc_coaching_minutes() -> float:
    """Mean total coaching time per coached patient in HCPC (minutes over 12 months).

    Read from the trial registry (Willard-Grace et al. 2015, Table 1: 540.8, SD 307.6).

    Examples
    --------
    >>> hcpc_coaching_minutes()
    540.8
    """
    from coachstats.trials.registry import get_trial
    from coachstats.trials.values import Mean

    value = get_trial("hcpc").target("coaching_minutes").published_values()[0]
    if not isinstance(value, Mean):  # pragma: no cover - the registry prints a mean (SD)
        raise AnalysisError(f"the HCPC coaching time is not a mean in the registry: {value!r}")
    return float(value.mean)


@dataclass(frozen=True)
class CoachingCost:
    """The coaching cost per patient over the period of the effect, and what it assumes.

    Parameters
    ----------
    basis : {"minutes", "caseload"}
        Direct coaching time, or the coach's whole paid time over the caseload.
    minutes_per_patient : float, optional
        Coaching minutes per coached patient over the period (basis
        "minutes"). Default: HCPC's 540.8 over 12 months.
    caseload : float, optional
        Patients a full-time coach carries at a time (basis "caseload").
        Default: 85, the midpoint of the published 70-100 (assumed).
    hourly_wage : float
        Hourly cost of the coach (default 20.19 USD, assumed; see module).
    overhead : float
        Benefits and overhead as a share of the wage (default 0: wage only).
    months : float
        The period the effect is measured over (12 for HCPC).
    hours_per_year : float
        Paid hours of a full-time coach per year (basis "caseload"; 2080).
    currency : str

    Examples
    --------
    >>> c = CoachingCost(basis="caseload")
    >>> round(c.per_patient(), 2)
    494.06
    >>> print(c.assumptions()[0])  # doctest: +NORMALIZE_WHITESPACE
    caseload 85 patients per full-time coach: the midpoint of the published 70-100 for
    medical-assistant coaches (practice brief); the peer trial's peer coaches had about 6
    coached patients each (Thom et al. 2013), so this caseload does not describe a peer
    program (set caseload= to your own)
    """

    basis: Basis = "minutes"
    minutes_per_patient: float | None = None
    caseload: float | None = None
    hourly_wage: float = DEFAULT_HOURLY_WAGE
    overhead: float = 0.0
    months: float = 12.0
    hours_per_year: float = HOURS_PER_YEAR
    currency: str = "USD"

    def __post_init__(self) -> None:
        check_option("basis", self.basis, BASES)
        for name in ("hourly_wage", "months", "hours_per_year"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise AnalysisError(f"{name} must be positive, got {value}")
        if not (math.isfinite(self.overhead) and self.overhead >= 0):
            raise AnalysisError(f"overhead is a share of the wage (>= 0), got {self.overhead}")
        for name in ("minutes_per_patient", "caseload"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise AnalysisError(f"{name} must be positive, got {value}")

    @property
    def minutes(self) -> float:
        """Coaching minutes per patient over ``months``: as given, or HCPC's published mean
        over its 12 months, prorated to ``months`` (the default assumes coaching spread evenly).

        Examples
        --------
        >>> CoachingCost(months=6).minutes == hcpc_coaching_minutes() / 2
        True
        """
        if self.minutes_per_patient is not None:
            return float(self.minutes_per_patient)
        return hcpc_coaching_minutes() * self.months / 12.0

    @property
    def patients_per_coach(self) -> float:
        """The caseload (85, the midpoint of 70-100, unless given)."""
        if self.caseload is not None:
            return float(self.caseload)
        return sum(FULL_TIME_CASELOAD) / 2

    @property
    def hourly_cost(self) -> float:
        """Wage plus overhead per hour."""
        return self.hourly_wage * (1.0 + self.overhead)

    def per_patient(self) -> float:
        """The cost of coaching one patient over ``months``."""
        if self.basis == "minutes":
            return self.minutes / 60.0 * self.hourly_cost
        return self.hours_per_year * self.hourly_cost * self.months / 12.0 / self.patients_per_coach

    def description(self) -> str:
        """How the cost per patient is built, with the numbers."""
        rate = f"{self.hourly_cost:.2f} {self.currency}/hour"
        if self.basis == "minutes":
            return f"{format_number(self.minutes, 1)} coaching minutes per patient x {rate}"
        return (
            f"{self.hours_per_year:g} paid hours/year x {rate} x {self.months:g}/12 months / "
            f"{self.patients_per_coach:g} patients per coach"
        )

    def assumptions(self, *, minutes_measured: bool = False) -> tuple[str, ...]:
        """Every input that was assumed rather than measured, in words.

        ``minutes_measured``: the minutes come from the program's own data.
        """
        out: list[str] = []
        if self.basis == "minutes":
            if self.minutes_per_patient is None and not minutes_measured:
                prorated = (
                    ""
                    if self.months == 12
                    else f", prorated to the {self.months:g} months of the effect "
                    f"({format_number(self.minutes, 1)} minutes; coaching taken as spread evenly)"
                )
                out.append(
                    f"{hcpc_coaching_minutes():g} coaching minutes per patient over 12 months: "
                    "the HCPC mean "
                    f"(Willard-Grace et al., Ann Fam Med 2015){prorated}, direct coaching time "
                    "only (a lower bound on the coach's time)"
                )
        else:
            if self.caseload is None:
                lo, hi = FULL_TIME_CASELOAD
                out.append(
                    f"caseload {self.patients_per_coach:g} patients per full-time coach: the "
                    f"midpoint of the published {lo}-{hi} for medical-assistant coaches "
                    "(practice brief); the peer trial's peer coaches had about "
                    f"{_peer_caseload():.0f} coached patients each (Thom et al. 2013), so this "
                    "caseload does not describe a peer program (set caseload= to your own)"
                )
            if self.hours_per_year == HOURS_PER_YEAR:
                out.append("2080 paid hours per full-time coach per year (40 hours x 52 weeks)")
            out.append(f"every patient coached for the whole {self.months:g} months")
        if self.hourly_wage == DEFAULT_HOURLY_WAGE:
            out.append(f"hourly wage {DEFAULT_HOURLY_WAGE} USD: {DEFAULT_WAGE_SOURCE}")
        if self.overhead == 0:
            out.append(
                "no benefits or overhead added to the wage (set overhead= to add them, e.g. 0.3)"
            )
        return tuple(out)


def cost_per_additional_patient_at_goal(
    effect: ComparisonResult | None = None,
    *,
    cost: CoachingCost | None = None,
    data: pd.DataFrame | None = None,
    outcome: str | None = None,
    minutes: str = "coaching_minutes",
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    n_boot: int = 2000,
    seed: int | None = None,
    conf_level: float = 0.95,
    extra_assumptions: Sequence[str] = (),
) -> CostPerSuccess:
    """Coaching cost per additional patient at goal, with its interval and assumptions.

    Give either ``effect`` (a risk difference in an at-goal outcome, coaching
    minus usual care: the interval is cost x the NNT interval, the cost
    treated as known) or ``data`` with ``outcome`` and a per-patient
    ``minutes`` column (basis "minutes" only: a stratified percentile
    bootstrap that also carries the uncertainty of the minutes; ``seed``
    required).

    Parameters
    ----------
    effect : ComparisonResult, optional
        From ``risk_difference``, ``two_proportions(..., estimand="risk
        difference")``, a marginal risk difference, a pooled MI result...
    cost : CoachingCost, optional
        The cost model (default: HCPC's 540.8 minutes at the assumed wage).
    data, outcome, minutes, arm, treatment, control
        Patient-level data for the bootstrap.
    n_boot, seed, conf_level
        Bootstrap settings (``conf_level`` also for the bootstrap only; with
        ``effect`` the effect's own level is used).
    extra_assumptions : sequence of str
        More assumptions to print with the result.

    Returns
    -------
    CostPerSuccess
        ``summary()`` prints the estimate, the interval, how the cost was
        built and every assumption.

    Examples
    --------
    >>> from coachstats.compare.proportions import ArmCounts, risk_difference

    A goal with an interval that includes no effect: the upper limit is unbounded.

    >>> rd = risk_difference(ArmCounts((60, 194, 52, 178), ("coaching", "usual_care")), "sbp_goal")
    >>> c = cost_per_additional_patient_at_goal(rd)
    >>> c.unbounded, c.text()
    (True, '10,615 USD (95% CI 1,649 USD to ∞)')
    """
    cost = cost or CoachingCost()
    if effect is not None and data is None:
        return cost_per_additional_success(
            effect,
            cost.per_patient(),
            cost_basis=cost.description(),
            currency=cost.currency,
            assumptions=(*cost.assumptions(), *extra_assumptions),
        )
    if data is None or effect is not None:
        raise AnalysisError(
            "give either effect= (a risk difference) or data= with outcome= (patient-level "
            "bootstrap), not both"
        )
    if outcome is None or seed is None:
        raise AnalysisError("the bootstrap needs outcome= and seed= (for a reproducible interval)")
    if cost.basis != "minutes" or cost.minutes_per_patient is not None:
        raise AnalysisError(
            "the patient-level bootstrap takes the minutes from the data: use "
            "CoachingCost(basis='minutes') without minutes_per_patient, or pass effect= instead"
        )
    require_columns(data, [outcome, minutes, arm])
    labels = resolve_arms(data[arm], treatment, control)
    is_t = data[arm].astype(str).to_numpy() == labels[0]
    is_c = data[arm].astype(str).to_numpy() == labels[1]
    y = check_binary(data[outcome], outcome)
    m = pd.to_numeric(data[minutes], errors="coerce").to_numpy(dtype=float)
    return bootstrap_cost_per_success(
        y[is_t],
        y[is_c],
        m[is_t],
        rate=cost.hourly_cost / 60.0,
        n_boot=n_boot,
        seed=seed,
        conf_level=conf_level,
        outcome=outcome,
        cost_basis=(
            f"mean coaching minutes per {labels[0]} patient in the data x "
            f"{cost.hourly_cost:.2f} {cost.currency}/hour"
        ),
        currency=cost.currency,
        assumptions=(*cost.assumptions(minutes_measured=True), *extra_assumptions),
    )

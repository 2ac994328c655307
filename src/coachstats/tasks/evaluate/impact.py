"""What a program's effects mean for a board: the number needed to coach and its cost.

For each binary outcome with a risk difference (coaching minus comparison),
:func:`program_impact` gives the number needed to treat with Altman's
interval (:mod:`coachstats.compare.nnt`) and the coaching cost per additional
patient reaching the outcome on the two bases of
:class:`~coachstats.tasks.economics.CoachingCost`: the direct coaching time
(the program's own mean coaching minutes when the file has a
``coaching_minutes`` column, otherwise HCPC's published 540.8) and the whole
salary over a caseload (85, the midpoint of the published 70-100). Every
assumption is listed with the numbers. ``coachstats analyze`` and
``coachstats evaluate`` print it; reports show it as a table.

Examples
--------
>>> from coachstats.compare.proportions import ArmCounts, chi_square
>>> rd = chi_square(ArmCounts((90, 194, 61, 178), ("coaching", "usual_care")), "composite_any")
>>> impact = program_impact([("at goal for >= 1 condition", rd)])
>>> impact.rows[0].minutes.nnt.text()
'NNTB 8.2 (95% CI NNTB 4.5 to 44.8)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from coachstats.compare.nnt import CostPerSuccess
from coachstats.core.errors import OptionError, check_option
from coachstats.core.results import ComparisonResult, TidyResult
from coachstats.tasks.economics import (
    DEFAULT_HOURLY_WAGE,
    CoachingCost,
    cost_per_additional_patient_at_goal,
)

__all__ = ["COST_KEYS", "ImpactRow", "ProgramImpact", "program_impact"]

#: The per-patient coaching time column of the schema.
MINUTES = "coaching_minutes"


@dataclass(frozen=True)
class ImpactRow:
    """One outcome: the NNT and the cost per additional success on both bases, over the
    ``months`` its effect was measured at (the coaching paid for)."""

    label: str
    minutes: CostPerSuccess
    caseload: CostPerSuccess
    months: float = 12.0

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        nnt = self.minutes.nnt
        return {
            "outcome": self.label,
            "nnt": nnt.nnt,
            "nnt_interval": nnt.interval_text(),
            "nnt_text": nnt.text(),
            "cost_time": self.minutes.estimate,
            "cost_time_conf_low": self.minutes.conf_low,
            "cost_time_conf_high": self.minutes.conf_high,
            "cost_caseload": self.caseload.estimate,
            "cost_caseload_conf_low": self.caseload.conf_low,
            "cost_caseload_conf_high": self.caseload.conf_high,
            "unbounded": self.minutes.unbounded,
            "currency": self.minutes.currency,
            "months": self.months,
        }

    def sentence(self) -> str:
        """``"<outcome>: NNTB ...; coaching time: ...; whole salary: ..."``.

        When coaching shows no estimated benefit, the NNT is followed by why
        there is no cost per additional patient, once for both bases.
        """
        nnt = self.minutes.nnt.text()
        if math.isnan(self.minutes.estimate):
            return (
                f"{self.label}: {nnt}; no cost per additional patient: coaching shows no "
                "estimated benefit on this outcome, so there is no additional patient to pay for"
            )
        return (
            f"{self.label}: {nnt}; cost per additional patient, coaching "
            f"time {self.minutes.text()}, whole salary {self.caseload.text()}"
        )


@dataclass(frozen=True)
class ProgramImpact(TidyResult):
    """Numbers needed to coach and costs per additional patient, with what they assume."""

    rows: tuple[ImpactRow, ...]
    time_basis: str
    caseload_basis: str
    assumptions: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome."""
        return pd.DataFrame([r.to_dict() for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): rows (an unbounded or undefined limit is None; see
        ``unbounded``), the two cost bases and the assumptions."""
        return {
            "rows": [{k: _json_number(v) for k, v in r.to_dict().items()} for r in self.rows],
            "time_basis": self.time_basis,
            "caseload_basis": self.caseload_basis,
            "assumptions": list(self.assumptions),
        }

    def summary(self) -> str:
        """Text: a line per outcome, the cost bases and every assumption."""
        lines = ["Number needed to coach and cost per additional patient reaching the outcome:"]
        lines += [f"  - {r.sentence()}" for r in self.rows]
        lines.append(f"  cost per coached patient, coaching time: {self.time_basis}")
        lines.append(f"  cost per coached patient, whole salary: {self.caseload_basis}")
        lines.append(
            "  intervals: cost x the NNT's interval (Altman 1998), the cost taken as known; "
            "unbounded (∞) when the effect's interval includes no benefit"
        )
        lines += [f"  assumed: {a}" for a in self.assumptions]
        return "\n".join(lines)


def _json_number(value: Any) -> Any:
    """A float JSON can hold: infinite (an unbounded limit) and NaN (not defined) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _program_minutes(patients: pd.DataFrame | None) -> tuple[float | None, str]:
    """The program's mean coaching minutes per coached patient, and how it was found."""
    if patients is None or MINUTES not in patients.columns or "arm" not in patients.columns:
        return None, ""
    coached = patients[patients["arm"].astype(str) == "coaching"]
    values = pd.to_numeric(coached[MINUTES], errors="coerce").dropna()
    if values.empty or not math.isfinite(float(values.mean())) or float(values.mean()) <= 0:
        return None, ""
    return float(values.mean()), (
        f"mean coaching minutes of the {len(values)} coached patients with '{MINUTES}' in the "
        f"data ({len(coached) - len(values)} without)"
    )


#: The cost inputs a program may give (:func:`program_impact`'s ``cost``).
COST_KEYS: tuple[str, ...] = ("wage", "overhead", "caseload")


def program_impact(
    results: Sequence[tuple[str, ComparisonResult | None]],
    *,
    patients: pd.DataFrame | None = None,
    cost: Mapping[str, float] | None = None,
    months: float | Sequence[float] = 12.0,
) -> ProgramImpact | None:
    """NNT and cost per additional patient for every risk-difference result (None if there is none).

    Parameters
    ----------
    results : sequence of (label, ComparisonResult or None)
        The outcomes; those whose estimand is not a risk difference (changes,
        odds ratios) or that failed are skipped. The outcomes are taken as
        desirable (at goal, HbA1c drop of a point).
    patients : DataFrame, optional
        The program's patients: a ``coaching_minutes`` column gives the
        program's own coaching time per coached patient.
    cost : mapping, optional
        The program's own cost inputs, any of :data:`COST_KEYS`: ``wage`` (hourly,
        USD), ``overhead`` (benefits and overhead as a share of the wage, e.g.
        0.3), ``caseload`` (patients per full-time coach). What is not given is
        assumed, and said so in ``assumptions``.
    months : float or sequence of float
        The follow-up month each effect was measured at (one for all, or one per
        result): the coaching it cost is the salary over those months, and HCPC's
        12-month coaching minutes prorated to them when the data have none.

    Examples
    --------
    A 6-month program pays for 6 months of coaching:

    >>> from coachstats.compare.proportions import ArmCounts, chi_square
    >>> rd = chi_square(ArmCounts((60, 121, 34, 108), ("coaching", "usual_care")), "hba1c_drop_ge1")
    >>> half = program_impact([("HbA1c drop", rd)], months=6)
    >>> full = program_impact([("HbA1c drop", rd)], months=12)
    >>> round(full.rows[0].caseload.estimate / half.rows[0].caseload.estimate, 6)
    2.0
    >>> half.caseload_basis
    '2080 paid hours/year x 20.19 USD/hour x 6/12 months / 85 patients per coach'
    """
    given = dict(cost or {})
    for key in given:
        check_option("cost key", key, COST_KEYS)
    wage = float(given.get("wage", DEFAULT_HOURLY_WAGE))
    overhead = float(given.get("overhead", 0.0))
    caseload = given.get("caseload")
    measured, how = _program_minutes(patients)
    per_row = (
        [float(months)] * len(results)
        if isinstance(months, int | float)
        else [float(m) for m in months]
    )
    if len(per_row) != len(results):
        raise OptionError(f"months: {len(per_row)} values for {len(results)} results")

    def bases(m: float) -> tuple[CoachingCost, CoachingCost]:
        time = CoachingCost(
            minutes_per_patient=measured, hourly_wage=wage, overhead=overhead, months=m
        )
        salary = CoachingCost(
            basis="caseload",
            caseload=None if caseload is None else float(caseload),
            hourly_wage=wage,
            overhead=overhead,
            months=m,
        )
        return time, salary

    rows = [
        ImpactRow(
            label,
            cost_per_additional_patient_at_goal(r, cost=bases(m)[0]),
            cost_per_additional_patient_at_goal(r, cost=bases(m)[1]),
            m,
        )
        for (label, r), m in zip(results, per_row, strict=True)
        if r is not None and "risk difference" in r.estimand and math.isfinite(r.conf_low)
    ]
    if not rows:
        return None
    used = list(dict.fromkeys(row.months for row in rows))
    suffix = f" ({how})" if measured is not None else ""

    def basis(which: int) -> str:
        texts = [bases(m)[which].description() + (suffix if which == 0 else "") for m in used]
        if len(used) == 1:
            return texts[0]
        return "; ".join(f"{t} (effects at month {m:g})" for t, m in zip(texts, used, strict=True))

    assumptions = dict.fromkeys(
        a for row in rows for a in (*row.minutes.assumptions, *row.caseload.assumptions)
    )
    return ProgramImpact(
        rows=tuple(rows),
        time_basis=basis(0),
        caseload_basis=basis(1),
        assumptions=tuple(assumptions),
    )

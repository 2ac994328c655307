"""How a program's conclusions depend on its missing outcomes: tipping points per binary outcome.

:func:`program_sensitivity` runs the enumeration tipping point
(:func:`coachstats.compare.sensitivity.tipping_point_counts`) on each binary
outcome of a two-arm program: every possible number of successes among each
arm's patients without a follow-up outcome (within the endpoint's
denominator), with the same chi-square test as the program's outcome table.
:class:`ProgramSensitivity` summarizes each grid by the conclusions at its
landmarks: complete case (as analysed), every missing patient a failure, the
missing at the observed rates of their arm, and the worst and best cases for
coaching. ``coachstats analyze --sensitivity`` and ``coachstats evaluate
--sensitivity`` print it and put it, with the map of the first outcome, in
the report.

Examples
--------
>>> from coachstats.synthetic import hcpc_cohort
>>> from coachstats.core.goals import HCPC_GOALS
>>> from coachstats.data.programdata import load_program
>>> td = load_program(hcpc_cohort(n=300, seed=1).patients)
>>> s = program_sensitivity(td, HCPC_GOALS, [("composite_any", "at goal for >= 1 condition")])
>>> list(s.to_frame().columns[:4])
['outcome', 'missing_coaching', 'missing_comparison', 'complete_case']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from coachstats.compare.sensitivity import TippingPointResult, tipping_point_counts
from coachstats.core.errors import CoachstatsError, DataWarning
from coachstats.core.goals import GoalSet
from coachstats.core.results import TidyResult
from coachstats.data.trialdata import TrialData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["LANDMARKS", "ProgramSensitivity", "landmarks", "program_sensitivity"]

#: The landmarks of a tipping-point grid, in the order they are shown.
LANDMARKS: tuple[tuple[str, str], ...] = (
    ("complete_case", "as analysed (complete case)"),
    ("missing_as_failure", "every missing patient a failure"),
    ("observed_rates", "the missing at their arm's observed rate"),
    ("worst_case", "worst case for coaching"),
    ("best_case", "best case for coaching"),
)


def landmarks(result: TippingPointResult) -> dict[str, str]:
    """The conclusion at each landmark of an enumeration grid (:data:`LANDMARKS`).

    Examples
    --------
    >>> d = pd.DataFrame({"arm": ["coaching"] * 20 + ["usual_care"] * 20,
    ...     "goal": [1] * 14 + [0] * 4 + [None] * 2 + [1] * 6 + [0] * 12 + [None] * 2})
    >>> landmarks(tipping_point_counts(d, "goal"))["worst_case"]
    'no significant difference'
    """
    mt, mc = result.n_missing
    grid = result.grid.set_index(["delta_treatment", "delta_control"])["conclusion"]
    rates = [a.value for a in result.reference.arms[:2]]
    points = {
        "missing_as_failure": (0, 0),
        "observed_rates": (round(mt * rates[0]), round(mc * rates[1])),
        "worst_case": (0, mc),
        "best_case": (mt, 0),
    }
    out = {"complete_case": result.reference_conclusion}
    out.update({k: str(grid.loc[(float(a), float(b))]) for k, (a, b) in points.items()})
    return out


@dataclass(frozen=True)
class ProgramSensitivity(TidyResult):
    """Tipping-point analyses of a program's binary outcomes (labels and results)."""

    results: tuple[tuple[str, TippingPointResult], ...]
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome: missing per arm, the landmark conclusions, the share kept."""
        rows = []
        for label, r in self.results:
            share = float((r.grid["conclusion"] == r.reference_conclusion).mean())
            rows.append(
                {
                    "outcome": label,
                    "missing_coaching": r.n_missing[0],
                    "missing_comparison": r.n_missing[1],
                    **landmarks(r),
                    "share_same_conclusion": share,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the rows and notes."""
        return {"rows": self.to_frame().to_dict("records"), "notes": list(self.notes)}

    def summary(self) -> str:
        """Text: per outcome, the conclusion at each landmark."""
        lines = [
            "Sensitivity to the missing outcomes (tipping point: every possible number of "
            "successes among each arm's missing patients, chi-square test):"
        ]
        for (label, r), row in zip(self.results, self.to_frame().to_dict("records"), strict=True):
            lines.append(
                f"  - {label}: {r.n_missing[0]} coached and {r.n_missing[1]} comparison patients "
                f"missing; {100 * row['share_same_conclusion']:.0f}% of the completions keep "
                f"the conclusion"
            )
            lines += [f"      {text}: {row[key]}" for key, text in LANDMARKS]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def figure(self) -> Figure | None:
        """The tipping-point map of the first outcome (:func:`~coachstats.present.plots.plot_tipping_point`)."""
        if not self.results:
            return None
        from coachstats.present.plots import plot_tipping_point

        ax = plot_tipping_point(self.results[0][1])
        figure: Figure = ax.get_figure()  # type: ignore[assignment]
        return figure


def program_sensitivity(
    td: TrialData,
    goals: GoalSet,
    outcomes: Sequence[tuple[str, str]],
    *,
    derived: pd.DataFrame | None = None,
) -> ProgramSensitivity | None:
    """Enumeration tipping points of the binary ``(endpoint, label)`` outcomes of a two-arm program.

    A patient counts as missing for an endpoint when the endpoint is missing
    but would be analysed under "missing = failure" (the endpoint's
    denominator: uncontrolled at baseline for a goal). ``derived`` is the
    endpoint table already derived with ``goals`` (``PlanResult.endpoints``);
    without it the endpoints are derived here. Returns None when no outcome
    could be analysed (single-arm data has no comparison to tip).
    """
    failure = td.endpoints(goals, missing="failure", with_status=False)
    if derived is None or not derived.index.equals(failure.index):
        derived = td.endpoints(goals, with_status=False)
    results = []
    notes = []
    for endpoint, label in outcomes:
        if endpoint not in derived.columns:
            notes.append(f"{label}: no '{endpoint}' endpoint in the data")
            continue
        frame = pd.DataFrame(
            {
                "arm": derived["arm"],
                endpoint: derived[endpoint],
                "eligible": failure[endpoint].notna().to_numpy(dtype=bool),
            }
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)
                results.append((label, tipping_point_counts(frame, endpoint, eligible="eligible")))
        except CoachstatsError as exc:
            notes.append(f"{label}: not computed ({exc})")
    if not results:
        return None
    return ProgramSensitivity(tuple(results), tuple(notes))

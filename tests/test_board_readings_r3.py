"""What a board member or a statistician reads must mean what it says (a third review).

Defects found by reading the CLI, the HTML reports and the JSON as their users do;
each test pins the meaning the output must have, computed here from the data or
the published figures, never copied from the code's own output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult


def test_peer_comparisons_say_they_are_on_the_patients_with_baseline_hba1c_8_or_more(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # Against the peer trial only the program's patients with baseline HbA1c >= 8.0 are
    # compared (the trial's entry criterion). "The program's own effects" printed their SBP
    # and LDL changes as the program's effect, with nothing saying they are on that subgroup
    # (a note at the very end), while `analyze` gives the same outcomes on every patient.
    patients = evaluated_two_arm_patients()
    eligible = patients[patients["hba1c_0"] >= 8.0]
    peer = [e for e in evaluated_two_arm.effects if e.trial == "peer" and e.program is not None]
    hcpc = [e for e in evaluated_two_arm.effects if e.trial == "hcpc" and e.program is not None]
    assert peer and hcpc
    for e in peer:
        n1, n2 = (a.n for a in e.program.arms)
        assert n1 + n2 <= len(eligible)
        said = "patients with baseline HbA1c ≥ 8.0"
        assert said in e.program_sentence(), e.program_sentence()
        assert f"n {n1} vs {n2}" in e.program_sentence()
        assert said in e.to_dict()["population"]
    assert not any("baseline HbA1c ≥ 8.0" in e.program_sentence() for e in hcpc)
    headline = {h.split(":")[0]: h for h in evaluated_two_arm.headline()}
    assert "baseline HbA1c ≥ 8.0" in headline["SBP change (mm Hg)"]
    assert "baseline HbA1c ≥ 8.0" not in headline["at goal for >= 1 condition"]
    # the cost per additional patient at goal is computed on the same patients
    assert evaluated_two_arm.impact is not None
    peer_costs = [r.label for r in evaluated_two_arm.impact.rows if "Peer 2013" in r.label]
    assert peer_costs and all("baseline HbA1c ≥ 8.0" in o for o in peer_costs)


def test_single_arm_peer_figures_say_which_patients_they_are_on(
    evaluated_single_arm: EvaluationResult,
) -> None:
    peer = [a for a in evaluated_single_arm.arms if a.trial == "peer" and a.program is not None]
    hcpc = [a for a in evaluated_single_arm.arms if a.trial == "hcpc" and a.program is not None]
    assert peer and hcpc
    assert all("patients with baseline HbA1c ≥ 8.0" in a.program_sentence() for a in peer)
    assert not any("baseline HbA1c ≥ 8.0" in a.program_sentence() for a in hcpc)


def evaluated_two_arm_patients() -> pd.DataFrame:
    """The patients of the ``evaluated_two_arm`` fixture (tests/conftest.py)."""
    from coachstats.synthetic import hcpc_cohort

    return hcpc_cohort(n=600, seed=4).patients

"""The peer-trial comparisons and the evidence comparison of one evaluation use two
definitions of the program's patients (the peer trial's entry rule, baseline HbA1c >= 8.0;
the goal set's "above the HbA1c goal at baseline", > 8.0 with diabetes). Each is said where it
is used; this checks that they are also set side by side, with each one's n and estimate, so
that a reader does not take the two groups or the two estimates for one.

n 70 vs 76 was checked by hand on data/synthetic/hcpc_patients.csv: 70 coaching and 76
usual-care patients have hba1c_0 >= 8.0 and an hba1c_12 (the same counts with > 8.0: no
patient has exactly 8.0, and every patient with an HbA1c has diabetes).
"""

from __future__ import annotations

import warnings

from coachstats.core.paths import bundled_table
from coachstats.tasks.evaluate import evaluate


def test_two_definitions_are_set_side_by_side() -> None:
    path = bundled_table("hcpc_patients")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate(path, against=["all", "evidence"])
    notes = [n for n in res.notes if "two definitions of the program's patients" in n]
    assert len(notes) == 1, res.notes  # HbA1c change only: SBP and LDL have no pooled evidence
    (note,) = notes
    assert note.startswith("HbA1c change (%): two definitions")
    assert "against Peer 2013, patients with baseline HbA1c ≥ 8.0" in note
    assert "against the evidence base, patients above the HbA1c goal at baseline (> 8 %" in note
    assert note.count("n 70 vs 76") == 2
    assert "the counts are equal, but the two rules are not the same rule" in note
    # the two estimates printed in the report (-0.65 and -0.66) are each attributed
    assert "Welch two-sample t test: -0.66" in note and "Satterthwaite df: -0.65" in note

"""Published figures the bundled cohorts cannot reproduce are listed with their reason."""

from __future__ import annotations

import pytest

from coachstats.core.errors import OptionError
from coachstats.trials.registry import Trial, UnreachableTarget, get_trial


def test_peer_subgroup_interactions_are_listed_as_unreachable() -> None:
    trial = get_trial("peer")
    by_id = {u.id: u for u in trial.unreachable_targets}
    assert set(by_id) == {"hba1c_change_by_self_management", "hba1c_change_by_adherence"}
    assert by_id["hba1c_change_by_self_management"].p == ".02"
    assert by_id["hba1c_change_by_adherence"].p == ".03"
    for u in by_id.values():
        assert "Moskowitz" in u.source and "no baseline" in u.reason
    # the bundled cohort indeed lacks the variables the reasons name
    import pandas as pd

    from coachstats.core.paths import bundled_table

    path = bundled_table("peer_patients")
    assert path is not None
    columns = set(pd.read_csv(path, nrows=1).columns)
    assert not {c for c in columns if "manag" in c or "adher" in c}


def test_unreachable_targets_need_a_reason_and_known_keys() -> None:
    with pytest.raises(OptionError, match="needs a reason"):
        UnreachableTarget("x", "X", reason=" ")
    data = {
        "name": "t",
        "title": "T",
        "citation": {"authors": "A", "journal": "J", "year": 2020},
        "design": {"arms": {"coaching": 1, "usual_care": 1}, "months": 6},
        "unreachable_targets": [{"id": "x", "label": "X", "reason": "r", "pvalue": ".02"}],
    }
    with pytest.raises(OptionError, match=r"unknown key\(s\) \['pvalue'\]"):
        Trial.from_dict(data)

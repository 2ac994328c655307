"""GoalSet thresholds: boundaries, diabetes-specific rules, user-defined sets."""

from __future__ import annotations

import pytest

from coachstats.errors import OptionError
from coachstats.goals import HCPC_GOALS, PEER_GOALS, GoalSet, Threshold


@pytest.mark.parametrize(
    ("measure", "value", "diabetes", "uncontrolled"),
    [
        ("hba1c", 8.0, True, False),  # "> 8.0": exactly 8.0 is controlled
        ("hba1c", 8.01, True, True),
        ("hba1c", 12.0, False, False),  # HbA1c defines a condition only with diabetes
        ("sbp", 140, False, True),  # ">= 140"
        ("sbp", 139, False, False),
        ("sbp", 130, True, True),  # ">= 130 with diabetes"
        ("sbp", 129, True, False),
        ("ldl", 160, False, True),
        ("ldl", 159, False, False),
        ("ldl", 100, True, True),
        ("ldl", 99, True, False),
    ],
)
def test_hcpc_entry_rules(measure: str, value: float, diabetes: bool, uncontrolled: bool) -> None:
    assert HCPC_GOALS.thresholds[measure].is_uncontrolled(value, diabetes) is uncontrolled


@pytest.mark.parametrize(
    ("measure", "value", "diabetes", "at_goal"),
    [
        ("hba1c", 8.0, True, True),  # complement of "> 8.0"
        ("hba1c", 8.1, True, False),
        ("sbp", 139, False, True),
        ("sbp", 140, False, False),
        ("sbp", 129, True, True),
        ("sbp", 130, True, False),
        ("ldl", 99, True, True),
        ("ldl", 100, True, False),
    ],
)
def test_hcpc_goal_is_complement(measure: str, value: float, diabetes: bool, at_goal: bool) -> None:
    assert HCPC_GOALS.thresholds[measure].is_at_goal(value, diabetes) is at_goal


def test_peer_goals() -> None:
    t = PEER_GOALS.thresholds["hba1c"]
    assert t.is_uncontrolled(8.0) and not t.is_at_goal(8.0) and t.is_at_goal(7.99)
    assert PEER_GOALS.hba1c_drop == 1.0 and PEER_GOALS.hba1c_target == 7.5


def test_boundary_is_a_parameter() -> None:
    strict = Threshold(uncontrolled_above=8.0, inclusive=False, goal_inclusive=False)
    assert not strict.is_at_goal(8.0)
    separate = Threshold(uncontrolled_above=9.0, goal_below=7.0)
    assert (
        separate.is_uncontrolled(9.5) and not separate.is_at_goal(8.0) and separate.is_at_goal(7.0)
    )


def test_from_dict_round_trip_and_errors() -> None:
    gs = GoalSet.from_dict(HCPC_GOALS.to_dict())
    assert gs == HCPC_GOALS
    with pytest.raises(OptionError, match="unknown measure"):
        GoalSet(name="x", thresholds={"glucose": Threshold(7.0)})
    with pytest.raises(OptionError, match="unknown key"):
        GoalSet.from_dict({"name": "x", "thresholds": {"hba1c": {"cutoff": 7}}})


def test_describe_mentions_every_measure() -> None:
    text = HCPC_GOALS.describe()
    for m in ("hba1c", "sbp", "ldl", ">= 130 with diabetes"):
        assert m in text

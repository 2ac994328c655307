"""A program's goal set is the object given, never re-resolved by its name (issue 16).

``program_plan`` used to look the outcome list up by the goal set's name, with
HCPC's list as the fallback, so a renamed copy of the peer goals silently got
HCPC's outcomes (composites and at-goal endpoints the peer trial never
reported). The outcomes now come from the goal set itself, and the results of
``analyze`` and ``evaluate`` hold the goal set they used.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping

import pandas as pd
import pytest

import coachstats.core.goals as goals_module
from coachstats.core.errors import OptionError
from coachstats.core.goals import HCPC_GOALS, PEER_GOALS, GoalSet, Threshold
from coachstats.synthetic import hcpc_cohort, peer_cohort
from coachstats.tasks.evaluate import analyze, evaluate, program_plan
from coachstats.trials.registry import get_trial

#: The peer trial's outcomes, in the order Thom et al. 2013 report them (Table 2):
#: HbA1c change, drop >= 1 point, HbA1c < 7.5 %, then LDL and SBP changes.
PEER_OUTCOMES = ["change_hba1c", "hba1c_drop_ge1", "hba1c_lt_7_5", "change_ldl", "change_sbp"]
#: HCPC's outcomes (Willard-Grace et al. 2015): at goal for >= 1 / all conditions, per
#: condition, and each measure's change.
HCPC_OUTCOMES = [
    "composite_any",
    "composite_all",
    "at_goal_hba1c",
    "at_goal_sbp",
    "at_goal_ldl",
    "change_hba1c",
    "change_sbp",
    "change_ldl",
]


def outcomes(goals: GoalSet | str, **kw: bool) -> list[str]:
    return [s.outcome for s in program_plan(goals, **kw)]


def test_the_published_goal_sets_keep_their_outcomes() -> None:
    assert outcomes("peer") == outcomes(PEER_GOALS) == PEER_OUTCOMES
    assert outcomes("hcpc") == outcomes(HCPC_GOALS) == HCPC_OUTCOMES
    assert outcomes(PEER_GOALS, single_arm=True) == PEER_OUTCOMES


def test_a_renamed_copy_of_the_peer_goals_keeps_the_peer_outcomes() -> None:
    # the regression: this copy used to get HCPC's eight outcomes
    mine = dataclasses.replace(PEER_GOALS, name="my_peer")
    assert outcomes(mine) == PEER_OUTCOMES
    assert outcomes(mine, single_arm=True) == PEER_OUTCOMES
    assert program_plan(mine).goals is mine
    renamed_hcpc = dataclasses.replace(HCPC_GOALS, name="peer")  # a misleading name changes nothing
    assert outcomes(renamed_hcpc) == HCPC_OUTCOMES


def test_analyze_with_a_renamed_goal_set_gives_the_same_table() -> None:
    data = peer_cohort(n=300, seed=4).patients
    mine = dataclasses.replace(PEER_GOALS, name="my_peer")
    # the synthetic peer cohort has patients without a baseline HbA1c (as the trial had)
    a = analyze(data, goals=PEER_GOALS, tracking=False, require_baseline=False)
    b = analyze(data, goals=mine, tracking=False, require_baseline=False)
    assert [s.outcome for s in b.plan.specs] == PEER_OUTCOMES
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert all(r is not None for r in b.plan.results)


def test_a_custom_goal_set_gets_the_outcomes_of_its_own_measures() -> None:
    # one condition: its at-goal endpoint (the composites would repeat it) and every change
    strict = GoalSet.from_dict(
        {"name": "strict", "thresholds": {"hba1c": {"uncontrolled_above": 7.0}}}
    )
    assert outcomes(strict) == ["at_goal_hba1c", "change_hba1c", "change_sbp", "change_ldl"]
    # two conditions: the composites over them, then each at-goal endpoint and every change
    two = GoalSet(
        name="bp and lipids",
        thresholds={"sbp": Threshold(140.0), "ldl": Threshold(130.0)},
    )
    assert outcomes(two) == [
        "composite_any",
        "composite_all",
        "at_goal_sbp",
        "at_goal_ldl",
        "change_hba1c",
        "change_sbp",
        "change_ldl",
    ]


def test_labels_follow_the_goal_sets_own_drop_and_target() -> None:
    labels = {s.outcome: s.label for s in program_plan(PEER_GOALS)}
    assert labels["hba1c_drop_ge1"] == "HbA1c drop >= 1 point"
    assert labels["hba1c_lt_7_5"] == "HbA1c < 7.5 %"
    stricter = dataclasses.replace(PEER_GOALS, name="stricter", hba1c_drop=0.5, hba1c_target=7.0)
    labels = {s.outcome: s.label for s in program_plan(stricter)}
    assert labels["hba1c_drop_ge1"] == "HbA1c drop >= 0.5 points"
    assert labels["hba1c_lt_7_5"] == "HbA1c < 7 %"


def test_goal_set_outcomes_are_checked() -> None:
    with pytest.raises(OptionError, match="outcomes must be a list"):
        GoalSet(name="x", thresholds={"hba1c": Threshold(8.0)}, outcomes="change_hba1c")  # type: ignore[arg-type]
    bad = dataclasses.replace(PEER_GOALS, outcomes=("change_hba1c", "at_goal_sbp"))
    with pytest.raises(OptionError, match=r"\['at_goal_sbp'\] are not endpoints") as err:
        program_plan(bad)
    assert "change_hba1c" in str(err.value)  # the allowed names are listed


def test_goal_set_outcomes_survive_plain_data() -> None:
    back = GoalSet.from_dict(PEER_GOALS.to_dict())
    assert back == PEER_GOALS and back.outcomes == tuple(PEER_OUTCOMES)
    assert PEER_GOALS.to_dict()["outcomes"] == PEER_OUTCOMES
    assert "outcomes: change_hba1c" in PEER_GOALS.describe()


# --------------------------------------------------------------------------- results hold their goal set


class CountingGoalSets(Mapping[str, GoalSet]):
    """The goal-set registry, counting the lookups by name."""

    def __init__(self, inner: Mapping[str, GoalSet]) -> None:
        self.inner = inner
        self.lookups: list[str] = []

    def __getitem__(self, name: str) -> GoalSet:
        self.lookups.append(name)
        return self.inner[name]

    def __contains__(self, name: object) -> bool:
        return name in self.inner

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names looked up in the goal-set registry while the test runs."""
    get_trial("hcpc"), get_trial("peer")  # the trial registry (read once, cached) is built first
    counting = CountingGoalSets(goals_module.GOAL_SETS)
    monkeypatch.setattr(goals_module, "GOAL_SETS", counting)
    return counting.lookups


def test_analyze_resolves_a_name_once_and_keeps_the_object(lookups: list[str]) -> None:
    data = hcpc_cohort(n=300, seed=2).patients
    res = analyze(data, goals="peer")
    assert lookups == ["peer"]
    assert res.goals is PEER_GOALS
    assert res.to_dict()["goals"] == "peer" and "peer goals" in res.sentence()
    json.dumps(res.to_dict(), default=str)  # still plain data


def test_analyze_uses_a_goal_set_object_without_any_lookup(lookups: list[str]) -> None:
    mine = dataclasses.replace(PEER_GOALS, name="my_peer")  # not a registered name
    res = analyze(hcpc_cohort(n=300, seed=2).patients, goals=mine, tracking=False)
    assert lookups == []
    assert res.goals is mine and res.plan.specs[0].outcome == "change_hba1c"
    assert "my_peer goals" in res.sentence()


def test_evaluate_holds_the_goal_set_it_used(lookups: list[str]) -> None:
    data = hcpc_cohort(n=400, seed=6).patients
    peer = evaluate(data, against="peer", standardize=False)
    assert peer.goals is PEER_GOALS and peer.tracking is not None
    both = evaluate(data, against="all", standardize=False, tracking=False)
    assert both.goals is HCPC_GOALS  # the first trial's: the program's tracking and flow
    # every goal set came from its trial, resolved when the registry was read: no lookup by name
    assert lookups == []

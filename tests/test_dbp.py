"""Diastolic blood pressure as an optional measure (issue 20 item 9).

Its goal is configurable (:data:`coachstats.core.goals.DBP_GOAL`) and in no
published goal set; its endpoints come from the goal set's measures; in the
composites, systolic and diastolic pressure are one condition (hypertension).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachstats.core.errors import SchemaError
from coachstats.core.goals import DBP_GOAL, HCPC_GOALS, PEER_GOALS, GoalSet, Threshold
from coachstats.core.units import CANONICAL_UNITS, UNIT_CHOICES, normalize_unit
from coachstats.core.vocabulary import (
    GOAL_MEASURES,
    MEASURE_CONDITIONS,
    MEASURE_LABELS,
    MEASURE_UNITS,
    OUTCOME_LABELS,
    SHORT_OUTCOME_LABELS,
)
from coachstats.data.io import load_trial
from coachstats.data.schema import column_spec
from coachstats.derive.endpoints import derive_endpoints, endpoint_specs
from coachstats.synthetic import hcpc_cohort
from coachstats.tasks.evaluate import analyze
from coachstats.tasks.evaluate.plans import OUTCOME_TEXT, plan_outcomes, program_plan
from tests.strategies import patient_tables

NA = pd.NA
HCPC_DBP = HCPC_GOALS.with_thresholds("hcpc_dbp", dbp=DBP_GOAL)

# --------------------------------------------------------------------------- the goal


def test_dbp_goal_is_below_90_or_below_80_with_diabetes() -> None:
    assert DBP_GOAL.is_uncontrolled(90.0, diabetes=False)
    assert not DBP_GOAL.is_uncontrolled(89.9, diabetes=False)
    assert DBP_GOAL.is_at_goal(89.9, diabetes=False) and not DBP_GOAL.is_at_goal(90.0, False)
    assert DBP_GOAL.is_uncontrolled(80.0, diabetes=True)
    assert DBP_GOAL.is_at_goal(79.9, diabetes=True) and not DBP_GOAL.is_at_goal(80.0, True)


def test_the_published_goal_sets_are_unchanged() -> None:
    # the trials defined blood pressure control by systolic pressure only
    assert HCPC_GOALS.measures == ("hba1c", "sbp", "ldl")
    assert PEER_GOALS.measures == ("hba1c",)
    assert HCPC_GOALS.thresholds["sbp"] == Threshold(140.0, 130.0, inclusive=True)
    assert HCPC_GOALS.thresholds["ldl"] == Threshold(160.0, 100.0, inclusive=True)
    assert HCPC_GOALS.thresholds["hba1c"] == Threshold(8.0, only_diabetes=True)
    assert PEER_GOALS.thresholds["hba1c"] == Threshold(8.0, inclusive=True)


def test_a_goal_set_with_a_dbp_goal() -> None:
    assert HCPC_DBP.measures == ("hba1c", "sbp", "dbp", "ldl")
    assert HCPC_DBP.thresholds["sbp"] is HCPC_GOALS.thresholds["sbp"]
    assert "with dbp thresholds added" in HCPC_DBP.source
    from_yaml = GoalSet.from_dict(
        {
            "name": "bp",
            "thresholds": {
                "sbp": {"uncontrolled_above": 140, "inclusive": True},
                "dbp": {"uncontrolled_above": 90, "diabetes_threshold": 80, "inclusive": True},
            },
        }
    )
    assert from_yaml.thresholds["dbp"] == DBP_GOAL
    with pytest.raises(ValueError, match="unknown measure"):
        GoalSet("x", {"diastolic": DBP_GOAL})


# --------------------------------------------------------------------------- endpoints


def bp_table() -> pd.DataFrame:
    """Five patients worked by hand under HCPC goals plus DBP_GOAL (see the comments)."""
    return pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4, 5],
            "arm": ["coaching", "usual_care", "coaching", "usual_care", "coaching"],
            "diabetes": [False, False, True, True, False],
            # 3: diabetes, 9.0 > 8 uncontrolled -> 7.5 at goal; the others controlled or no diabetes
            "hba1c_0": [6.0, 6.0, 9.0, 7.0, 6.0],
            "hba1c_12": [6.0, 6.0, 7.5, 7.0, 6.0],
            # 1: 150 >= 140 -> 135 at goal; 2: 135 controlled; 3: dm 128 < 130 controlled
            # 4: dm 135 >= 130 -> 128 at goal; 5: controlled
            "sbp_0": [150, 135, 128, 135, 120],
            "sbp_12": [135, 130, 125, 128, 118],
            # 1: 95 >= 90 -> 92 not at goal; 2: 92 -> 85 at goal; 3: dm 82 >= 80 -> missing
            # 4: dm 78 controlled (82 at follow-up: above the goal); 5: controlled
            "dbp_0": [95, 92, 82, 78, 70],
            "dbp_12": [92, 85, np.nan, 82, 72],
            "ldl_0": [90] * 5,
            "ldl_12": [90] * 5,
        }
    )


def test_hand_worked_dbp_endpoints_and_hypertension_as_one_condition() -> None:
    out = derive_endpoints(bp_table(), HCPC_DBP, with_status=True)
    assert out["uncontrolled_sbp"].tolist() == [True, False, False, True, False]
    assert out["at_goal_sbp"].tolist() == [True, NA, NA, True, NA]
    assert out["uncontrolled_dbp"].tolist() == [True, True, True, False, False]
    assert out["at_goal_dbp"].tolist() == [False, True, NA, NA, NA]
    # high SBP and high DBP are one uncontrolled condition (patient 1 counts 1, not 2)
    assert out["n_uncontrolled"].tolist() == [1, 1, 2, 1, 0]
    # 1: SBP at goal but DBP not: hypertension not at goal; 2: both at goal
    # 3: diabetes at goal, DBP follow-up missing: complete case, missing
    # 4: SBP at goal, but DBP 82 above the diabetic goal: hypertension not at goal
    assert out["composite_any"].tolist() == [False, True, NA, False, NA]
    assert out["composite_all"].tolist() == [False, True, NA, False, NA]
    np.testing.assert_allclose(out["change_dbp"], [-3, -7, np.nan, 4, 2])
    assert out["status_at_goal_dbp"].tolist() == [
        "analysed",
        "analysed",
        "missing follow-up",
        "not eligible",
        "not eligible",
    ]
    # the same patients under the published goals: SBP alone defines blood pressure
    hcpc = derive_endpoints(bp_table(), HCPC_GOALS)
    assert "at_goal_dbp" not in hcpc and "uncontrolled_dbp" not in hcpc
    assert hcpc["change_dbp"].notna().sum() == 4  # the change is there: the data has DBP
    assert hcpc["n_uncontrolled"].tolist() == [1, 0, 1, 1, 0]
    assert hcpc["composite_any"].tolist() == [True, NA, True, True, NA]


def _reference(row: pd.Series, goals: GoalSet, fu: int) -> tuple[int, object, object]:
    """n_uncontrolled and the composites of one patient, condition by condition, in plain Python."""
    dm = bool(row["diabetes"])
    conditions: dict[str, list[str]] = {}
    for m in goals.measures:
        conditions.setdefault(MEASURE_CONDITIONS[m], []).append(m)
    unc, at_goal, fu_missing = [], [], []
    for ms in conditions.values():
        u = any(
            not math.isnan(row[f"{m}_0"]) and goals.thresholds[m].is_uncontrolled(row[f"{m}_0"], dm)
            for m in ms
        )
        if u:
            unc.append(True)
            fu_missing.append(any(math.isnan(row[f"{m}_{fu}"]) for m in ms))
            at_goal.append(
                all(
                    not math.isnan(row[f"{m}_{fu}"])
                    and goals.thresholds[m].is_at_goal(row[f"{m}_{fu}"], dm)
                    for m in ms
                )
            )
    if not unc or any(fu_missing):
        return len(unc), NA, NA
    return len(unc), any(at_goal), all(at_goal)


@st.composite
def tables_with_dbp(draw: st.DrawFn) -> pd.DataFrame:
    df = draw(patient_tables(max_size=30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = len(df)
    for month in (0, 12):
        dbp = np.clip(rng.normal(85, 10, n), 40, 130).round()
        dbp[rng.random(n) < draw(st.sampled_from([0.0, 0.2]))] = np.nan
        df[f"dbp_{month}"] = dbp
    return df


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_with_dbp())
def test_composites_match_a_condition_by_condition_reference(df: pd.DataFrame) -> None:
    for goals in (HCPC_DBP, HCPC_GOALS):
        out = derive_endpoints(df, goals)
        for i in range(len(df)):
            n_unc, any_, all_ = _reference(df.iloc[i], goals, 12)
            assert out["n_uncontrolled"].iloc[i] == n_unc
            assert out["composite_any"].iloc[i] is any_ or out["composite_any"].iloc[i] == any_
            assert out["composite_all"].iloc[i] is all_ or out["composite_all"].iloc[i] == all_


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_with_dbp())
def test_a_dbp_goal_changes_nothing_of_the_other_measures(df: pd.DataFrame) -> None:
    with_dbp = derive_endpoints(df, HCPC_DBP)
    without = derive_endpoints(df, HCPC_GOALS)
    for m in ("hba1c", "sbp", "ldl"):
        for col in (f"uncontrolled_{m}", f"at_goal_{m}", f"change_{m}"):
            pd.testing.assert_series_equal(with_dbp[col], without[col])
    extra = with_dbp["n_uncontrolled"] - without["n_uncontrolled"]
    assert set(extra.unique()) <= {0, 1}  # hypertension is counted once
    only_dbp = with_dbp["uncontrolled_dbp"].fillna(False) & ~without["uncontrolled_sbp"].fillna(
        False
    )
    assert (extra == 1).tolist() == only_dbp.astype(bool).tolist()


def test_endpoint_specs_follow_the_goal_set_and_the_data() -> None:
    names = [e.name for e in endpoint_specs(HCPC_GOALS)]
    assert "change_dbp" not in names and "at_goal_dbp" not in names
    names = [e.name for e in endpoint_specs(HCPC_DBP)]
    assert {"at_goal_dbp", "change_dbp"} <= set(names)
    out = derive_endpoints(bp_table(), HCPC_DBP)
    assert all(e.name in out for e in endpoint_specs(HCPC_DBP))


# --------------------------------------------------------------------------- plans and analyze


def test_plan_outcomes_add_dbp_only_when_the_data_or_the_goals_have_it() -> None:
    assert "change_dbp" not in plan_outcomes(HCPC_GOALS)
    assert plan_outcomes(HCPC_GOALS, ["hba1c", "sbp", "dbp"])[-3:] == (
        "change_sbp",
        "change_dbp",
        "change_ldl",
    )
    with_goal = plan_outcomes(HCPC_DBP)
    assert with_goal[:6] == (
        "composite_any",
        "composite_all",
        "at_goal_hba1c",
        "at_goal_sbp",
        "at_goal_dbp",
        "at_goal_ldl",
    )
    # the peer trial's own outcome list is kept as it is
    assert plan_outcomes(PEER_GOALS, ["dbp"]) == PEER_GOALS.outcomes
    # one condition (blood pressure) with two measures: no composites
    bp_only = GoalSet("bp", {"sbp": HCPC_GOALS.thresholds["sbp"], "dbp": DBP_GOAL})
    assert plan_outcomes(bp_only)[:2] == ("at_goal_sbp", "at_goal_dbp")
    labels = [s.label for s in program_plan(HCPC_DBP)]
    assert "DBP at goal" in labels and "DBP change (mm Hg)" in labels


def test_analyze_reports_dbp_change_when_the_data_has_it() -> None:
    patients = hcpc_cohort().patients
    before = [s.outcome for s in analyze(patients, tracking=False).plan.specs]
    rng = np.random.default_rng(5)
    with_dbp = patients.assign(
        dbp_0=(patients["sbp_0"] * 0.6).round(),
        dbp_12=(patients["sbp_12"] * 0.6 + rng.normal(0, 3, len(patients))).round(),
    )
    res = analyze(with_dbp, tracking=False)
    after = [s.outcome for s in res.plan.specs]
    assert after == [*before[:-1], "change_dbp", before[-1]]  # before change_ldl
    row = res.to_frame().set_index("outcome").loc["change_dbp"]
    assert row["label"] == "DBP change (mm Hg)" and np.isfinite(row["estimate"])


# --------------------------------------------------------------------------- one vocabulary


@pytest.mark.parametrize("m", GOAL_MEASURES)
def test_every_goal_measure_is_known_everywhere(m: str) -> None:
    assert m in MEASURE_LABELS and m in MEASURE_UNITS and m in MEASURE_CONDITIONS
    assert CANONICAL_UNITS[m] == normalize_unit(MEASURE_UNITS[m]) == UNIT_CHOICES[m][0]
    spec = column_spec(f"{m}_12")
    assert spec is not None and normalize_unit(spec.unit) == CANONICAL_UNITS[m]
    for name in (f"at_goal_{m}", f"change_{m}", f"uncontrolled_{m}"):
        assert name in OUTCOME_LABELS
    for name in (f"at_goal_{m}", f"change_{m}"):
        assert name in SHORT_OUTCOME_LABELS and name in OUTCOME_TEXT


def test_dbp_units_and_range() -> None:
    raw = pd.DataFrame(
        {
            "patient_id": [1, 2],
            "arm": ["coaching", "usual_care"],
            "sbp_0": [140, 150],
            "dbp_0": [90, 250],
        }
    )
    with pytest.raises(SchemaError, match="30 to 200 mmHg"):
        load_trial(raw)
    with pytest.raises(SchemaError, match="unknown unit 'kPa' for dbp; allowed: mmHg"):
        load_trial(raw.assign(dbp_0=[90, 95]), units={"dbp": "kPa"})
    assert load_trial(raw.assign(dbp_0=[90, 95]), units={"dbp": "mm Hg"}).n == 2

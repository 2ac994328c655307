"""Endpoint derivation: hand-worked examples and hypothesis invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachstats.endpoints import STATUS, derive_endpoints, endpoint_specs, measure_months
from coachstats.errors import ColumnNotFoundError, OptionError
from coachstats.flow import Flow
from coachstats.goals import HCPC_GOALS, PEER_GOALS
from tests.strategies import patient_tables

NA = pd.NA


def hand_table() -> pd.DataFrame:
    """Five patients worked by hand under HCPC_GOALS (see the comments)."""
    return pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4, 5],
            "arm": ["coaching", "coaching", "usual_care", "usual_care", "coaching"],
            "diabetes": [True, True, False, True, False],
            # 1: A1c 9.5 -> 8.0 (uncontrolled, at goal: 8.0 <= 8.0)
            # 2: A1c 8.0 (controlled: not > 8.0)
            # 3: no diabetes: A1c ignored
            # 4: A1c 10.0 -> missing follow-up
            # 5: no diabetes, no A1c
            "hba1c_0": [9.5, 8.0, 9.0, 10.0, np.nan],
            "hba1c_12": [8.0, 7.0, 9.0, np.nan, np.nan],
            # 1: diabetes 135 >= 130 uncontrolled -> 131 not at goal (>= 130)
            # 2: diabetes 129 controlled; 3: no dm 145 uncontrolled -> 139 at goal
            # 4: diabetes 150 -> 120 at goal; 5: no dm 139 controlled
            "sbp_0": [135, 129, 145, 150, 139],
            "sbp_12": [131, 128, 139, 120, 150],
            # 1: dm 99 controlled; 2: dm 100 uncontrolled -> 99 at goal
            # 3: no dm 150 controlled; 4: dm 120 -> missing; 5: no dm 160 -> 170 not at goal
            "ldl_0": [99, 100, 150, 120, 160],
            "ldl_12": [90, 99, 140, np.nan, 170],
        }
    )


def test_hand_worked_hcpc() -> None:
    out = derive_endpoints(hand_table(), HCPC_GOALS)
    assert out["uncontrolled_hba1c"].tolist() == [True, False, False, True, NA]
    assert out["at_goal_hba1c"].tolist() == [True, NA, NA, NA, NA]
    assert out["uncontrolled_sbp"].tolist() == [True, False, True, True, False]
    assert out["at_goal_sbp"].tolist() == [False, NA, True, True, NA]
    assert out["uncontrolled_ldl"].tolist() == [False, True, False, True, True]
    assert out["at_goal_ldl"].tolist() == [NA, True, NA, NA, False]
    assert out["n_uncontrolled"].tolist() == [2, 1, 1, 3, 1]
    # patient 4: A1c and LDL follow-up missing -> composites missing (complete case)
    assert out["composite_any"].tolist() == [True, True, True, NA, False]
    assert out["composite_all"].tolist() == [False, True, True, NA, False]
    np.testing.assert_allclose(out["change_sbp"], [-4, -1, -6, -30, 11])
    assert out.attrs["followup"] == 12


def test_missing_as_failure() -> None:
    out = derive_endpoints(hand_table(), HCPC_GOALS, missing="failure")
    assert out["at_goal_hba1c"].tolist() == [True, NA, NA, False, NA]
    assert out["at_goal_ldl"].tolist() == [NA, True, NA, False, False]
    # patient 4: SBP at goal, the others missing -> any = True, all = False
    assert out["composite_any"].tolist() == [True, True, True, True, False]
    assert out["composite_all"].tolist() == [False, True, True, False, False]
    assert np.isnan(out.loc[3, "change_hba1c"])  # changes are never imputed


def test_peer_secondary_endpoints() -> None:
    df = pd.DataFrame(
        {"hba1c_0": [9.3, 9.3, 8.0, 7.4, 10.0], "hba1c_6": [8.3, 8.4, 7.5, 7.4, np.nan]}
    )
    out = derive_endpoints(df, PEER_GOALS)
    assert out["hba1c_drop_ge1"].tolist() == [True, False, False, False, NA]  # 1.0 drop counts
    assert out["hba1c_lt_7_5"].tolist() == [False, False, False, True, NA]  # 7.5 is not < 7.5
    assert out["hba1c_lt_7_5_0"].tolist() == [False, False, False, True, False]
    assert out["uncontrolled_hba1c"].tolist() == [True, True, True, False, True]  # >= 8.0


def test_followup_month_choice() -> None:
    df = hand_table().assign(hba1c_24=[7.0, 7.0, 7.0, 7.0, np.nan])
    assert derive_endpoints(df, HCPC_GOALS).attrs["followup"] == 12
    out24 = derive_endpoints(df.assign(sbp_24=df.sbp_12, ldl_24=df.ldl_12), HCPC_GOALS, followup=24)
    assert out24["at_goal_hba1c"].tolist() == [True, NA, NA, True, NA]
    with pytest.raises(OptionError, match="followup=6"):
        derive_endpoints(df, HCPC_GOALS, followup=6)


def test_errors_name_columns() -> None:
    with pytest.raises(ColumnNotFoundError, match="diabetes"):
        derive_endpoints(hand_table().drop(columns="diabetes"), HCPC_GOALS)
    with pytest.raises(ColumnNotFoundError, match="follow-up"):
        derive_endpoints(pd.DataFrame({"hba1c_0": [9.0]}), PEER_GOALS)
    with pytest.raises(OptionError, match="'exclude', 'failure'"):
        derive_endpoints(hand_table(), HCPC_GOALS, missing="drop")  # type: ignore[arg-type]


def test_status_columns_and_flow() -> None:
    out = derive_endpoints(hand_table(), HCPC_GOALS, with_status=True)
    # patient 5 has no diabetes (and no HbA1c): never eligible for an HbA1c goal under
    # HCPC, so "not eligible", not "missing baseline" (issue 20)
    assert out["status_at_goal_hba1c"].tolist() == [
        "analysed",
        "not eligible",
        "not eligible",
        "missing follow-up",
        "not eligible",
    ]
    assert out["status_composite_any"].tolist() == [
        "analysed",
        "analysed",
        "analysed",
        "missing follow-up",
        "analysed",
    ]
    flow = Flow.from_endpoints(out)
    flow.check()
    assert flow.analysed("composite_any") == {"coaching": 3, "usual_care": 1}
    assert flow.randomized == {"coaching": 3, "usual_care": 2}
    assert flow.lost_to_followup == {"coaching": 0, "usual_care": 0}


def test_specs_cover_outputs() -> None:
    out = derive_endpoints(hand_table(), HCPC_GOALS)
    for spec in endpoint_specs(HCPC_GOALS):
        assert spec.name in out.columns
    assert measure_months(out.columns)["sbp"] == [0, 12]


# ---------------------------------------------------------------- properties
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(patient_tables(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(df: pd.DataFrame, rnd: object) -> None:
    out = derive_endpoints(df, HCPC_GOALS).set_index("patient_id").sort_index()
    perm = df.sample(frac=1.0, random_state=np.random.RandomState(len(df)))
    out2 = derive_endpoints(perm, HCPC_GOALS).set_index("patient_id").sort_index()
    pd.testing.assert_frame_equal(out, out2)


@PROPS
@given(patient_tables(), st.sampled_from(["exclude", "failure"]))
def test_any_at_least_all(df: pd.DataFrame, missing: str) -> None:
    out = derive_endpoints(df, HCPC_GOALS, missing=missing)  # type: ignore[arg-type]
    both = out["composite_any"].notna()
    assert (out["composite_all"].notna() == both).all()  # one shared denominator
    anyv = out.loc[both, "composite_any"].astype(bool)
    allv = out.loc[both, "composite_all"].astype(bool)
    assert (anyv | ~allv).all()  # all -> any
    assert (out.loc[both, "n_uncontrolled"] >= 1).all()


@PROPS
@given(patient_tables())
def test_controlled_patient_changes_no_denominator(df: pd.DataFrame) -> None:
    before = derive_endpoints(df, HCPC_GOALS)
    extra = pd.DataFrame(
        {
            "patient_id": [10_000],
            "arm": ["coaching"],
            "diabetes": [True],
            "hba1c_0": [6.5],
            "hba1c_12": [6.4],
            "sbp_0": [120.0],
            "sbp_12": [150.0],
            "ldl_0": [80.0],
            "ldl_12": [200.0],
        }
    )
    after = derive_endpoints(pd.concat([df, extra], ignore_index=True), HCPC_GOALS)
    for col in ("composite_any", "composite_all", "at_goal_hba1c", "at_goal_sbp", "at_goal_ldl"):
        assert after[col].notna().sum() == before[col].notna().sum()
        assert after[col].sum() == before[col].sum()


@PROPS
@given(patient_tables(), st.sampled_from(["exclude", "failure"]))
def test_flow_accounts_for_every_patient(df: pd.DataFrame, missing: str) -> None:
    out = derive_endpoints(df, HCPC_GOALS, missing=missing, with_status=True)  # type: ignore[arg-type]
    flow = Flow.from_endpoints(out)
    flow.check()
    assert flow.total == len(df)
    for col in [c for c in out.columns if c.startswith("status_")]:
        ep = col[len("status_") :]
        assert set(out[col].astype(str)) <= set(STATUS)
        analysed = sum(flow.analysed(ep).values())
        excluded = int(flow.excluded(ep)["n"].sum())
        lost = flow.lost(ep)
        # every patient in exactly one box: lost, excluded (by reason) or analysed (issue 20)
        assert analysed + excluded + sum(lost.values()) == len(df)
        assert analysed == int(out[ep].notna().sum())
        assert all(lost[a] <= flow.lost_to_followup[a] for a in lost)
        if missing == "exclude":
            # complete case: every patient without follow-up is in the endpoint's lost box,
            # unless the endpoint never applied to them (not eligible, no baseline value),
            # which is decided at baseline and comes first (one order with plan.rows)
            no_fu = np.asarray(
                out[[c for c in out.columns if c.endswith("_12")]].isna().all(axis=1)
            )
            before = out[col].astype(str).isin(["not eligible", "missing baseline"]).to_numpy()
            for a in lost:
                in_arm = (out["arm"] == a).to_numpy()
                assert lost[a] == int((no_fu & ~before & in_arm).sum())


@PROPS
@given(patient_tables(), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.3, 1.0]))
def test_flow_and_methods_name_the_same_reason_for_every_patient(
    df: pd.DataFrame, seed: int, p_base: float
) -> None:
    """The CONSORT flow and the methods text's exclusions (plan.rows) agree patient by patient.

    Baseline values and diabetes status go missing too (with probability
    ``p_base``), so that "missing baseline" and its order against "not
    eligible" and "lost" are exercised.
    """
    from coachstats.plan.rows import select_rows
    from coachstats.plan.spec import AnalysisSpec

    rng = np.random.default_rng(seed)
    df = df.copy()
    for c in ("hba1c_0", "sbp_0", "ldl_0"):
        df.loc[rng.random(len(df)) < p_base, c] = np.nan
    df["diabetes"] = df["diabetes"].astype("boolean")
    df.loc[rng.random(len(df)) < p_base / 3, "diabetes"] = pd.NA
    out = derive_endpoints(df, HCPC_GOALS, with_status=True)
    flow = Flow.from_endpoints(out)
    for ep in ("composite_any", "at_goal_hba1c", "at_goal_sbp", "at_goal_ldl"):
        sel = select_rows(out, AnalysisSpec(ep, "describe", complete_on=(ep,)))
        by_reason = {e.reason: set(e.ids) for e in sel.exclusions}
        status = out.set_index("patient_id")[f"status_{ep}"].astype(str)
        not_eligible = set(status.index[status == "not eligible"])
        base = set(status.index[status == "missing baseline"])
        after = set(status.index[status.isin(["lost to follow-up", "missing follow-up"])])
        assert (
            set().union(*[v for k, v in by_reason.items() if "not eligible" in k]) == not_eligible
        )
        assert set().union(*[v for k, v in by_reason.items() if "missing baseline" in k]) == base
        assert by_reason.get(f"missing {ep}", set()) == after
        assert len(not_eligible) == int(
            flow.excluded(ep).query("status == 'not eligible'")["n"].sum()
        )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 60),
    block=st.integers(1, 9),
    missing=st.sampled_from(["exclude", "failure"]),
)
def test_endpoints_in_blocks_of_rows_are_the_endpoints_at_once(
    seed: int, n: int, block: int, missing: str
) -> None:
    """Large tables are derived a block of rows at a time: the same columns, dtypes and values."""
    import coachstats.derive.endpoints as ep

    rng = np.random.default_rng(seed)

    def draw(mean: float, sd: float) -> np.ndarray:
        x = rng.normal(mean, sd, n)
        return np.where(rng.random(n) < 0.2, np.nan, x)

    df = pd.DataFrame(
        {
            "hba1c_0": draw(8.5, 1.5), "hba1c_12": draw(8.0, 1.5),
            "sbp_0": draw(140, 15), "sbp_12": draw(135, 15),
            "ldl_0": draw(110, 30), "ldl_12": draw(100, 30),
            "diabetes": pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.6), "boolean"),
        }
    )  # fmt: skip
    whole = derive_endpoints(df, HCPC_GOALS, missing=missing, with_status=True)  # type: ignore[arg-type]
    old = ep.BLOCK_ROWS
    ep.BLOCK_ROWS = block
    try:
        blocks = derive_endpoints(df, HCPC_GOALS, missing=missing, with_status=True)  # type: ignore[arg-type]
    finally:
        ep.BLOCK_ROWS = old
    pd.testing.assert_frame_equal(blocks, whole)

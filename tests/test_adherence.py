"""Medication adherence: hand-worked concordance and change, validation, properties.

Every expected value below is worked by hand from the definitions in
docs/adherence.md (union denominator N = C + L + T); the change values are
written as the same fraction arithmetic, so equality is exact.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.adherence import (
    CHANGE_COLUMNS,
    PROPORTIONS,
    adherence_change,
    concordance,
    concordance_proportions,
    validate_adherent_days,
    validate_medications,
)
from coachstats.errors import AnalysisError, DataWarning, SchemaError


def worked_meds() -> pd.DataFrame:
    """The worked example of docs/adherence.md.

    Patient A, month 0: metformin C (chart+report), lisinopril L (chart only),
    atorvastatin T (report only), albuterol (asthma: excluded) -> N = 3.
    Patient A, month 12: metformin, lisinopril, atorvastatin C; glipizide L -> N = 4.
    Patient B, month 0: amlodipine C, simvastatin L, insulin glargine in neither
    source (not counted) -> N = 2. B has no month-12 medication record.
    """
    return pd.DataFrame(
        {
            "patient_id": ["A"] * 8 + ["B"] * 3,
            "month": [0, 0, 0, 0, 12, 12, 12, 12, 0, 0, 0],
            "medication": [
                "metformin",
                "lisinopril",
                "atorvastatin",
                "albuterol",
                "metformin",
                "lisinopril",
                "atorvastatin",
                "glipizide",
                "amlodipine",
                "simvastatin",
                "insulin glargine",
            ],
            "condition": [
                "diabetes",
                "hypertension",
                "hyperlipidemia",
                "asthma",
                "diabetes",
                "Hypertension",
                "hyperlipidemia",
                "DIABETES",
                "hypertension",
                "hyperlipidemia",
                "diabetes",
            ],
            "in_chart": ["yes", "Yes", "no", "yes", 1, 1, 1, 1, "TRUE", "true", "0"],
            "reported_taking": ["1", "NO", "true", "yes", 1, 1, 1, 0, "yes", "no", "false"],
        }
    )


def worked_days() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["A", "A", "B", "B"],
            "month": [0, 12, 0, 12],
            "adherent_days_7": [3, 6, 7, None],
        }
    )


def quietly(fn: Callable[..., pd.DataFrame], *args: Any, **kw: Any) -> pd.DataFrame:
    """``fn(*args, **kw)`` without the DataWarning about excluded conditions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kw)


def quiet_concordance(meds: pd.DataFrame, **kw: Any) -> pd.DataFrame:
    return quietly(concordance, meds, **kw)


def quiet_change(meds: pd.DataFrame, *args: Any, **kw: Any) -> pd.DataFrame:
    return quietly(adherence_change, meds, *args, **kw)


# ----------------------------------------------------------------------------- concordance


def test_concordance_hand_worked() -> None:
    out = quiet_concordance(worked_meds())
    assert out[["patient_id", "month"]].to_numpy().tolist() == [["A", 0], ["A", 12], ["B", 0]]
    assert out["n_meds"].tolist() == [3, 4, 2]
    assert out["n_concordant"].tolist() == [1, 3, 1]
    assert out["n_listed_not_taken"].tolist() == [1, 1, 1]
    assert out["n_taken_not_listed"].tolist() == [1, 0, 0]
    assert out["n_in_neither"].tolist() == [0, 0, 1]
    assert out["n_excluded_condition"].tolist() == [1, 0, 0]
    assert out["prop_concordant"].tolist() == [1 / 3, 3 / 4, 1 / 2]
    assert out["prop_listed_not_taken"].tolist() == [1 / 3, 1 / 4, 1 / 2]
    assert out["prop_taken_not_listed"].tolist() == [1 / 3, 0.0, 0.0]


def test_other_conditions_are_excluded_counted_and_warned() -> None:
    with pytest.warns(DataWarning, match=r"excluded 1 medication row.*'asthma' \(1\)"):
        concordance(worked_meds())


def test_conditions_option_restricts_the_denominator() -> None:
    out = quiet_concordance(worked_meds(), conditions=["Diabetes"])
    # A0: metformin C only; A12: metformin C, glipizide L; B0: glargine in neither
    assert out["n_meds"].tolist() == [1, 2, 0]
    assert out["prop_concordant"].tolist()[:2] == [1.0, 1 / 2]
    assert np.isnan(out["prop_concordant"].iloc[2])
    assert out["n_excluded_condition"].tolist() == [3, 2, 2]


def test_patient_month_with_only_other_conditions_keeps_its_row() -> None:
    meds = pd.DataFrame(
        {
            "patient_id": [1],
            "month": [0],
            "medication": ["albuterol"],
            "condition": ["asthma"],
            "in_chart": [True],
            "reported_taking": [True],
        }
    )
    out = quiet_concordance(meds)
    assert out["n_meds"].tolist() == [0]
    assert out[list(PROPORTIONS)].isna().all(axis=None)


def test_concordance_proportions_from_counts() -> None:
    p = concordance_proportions([2, 0, 1], [1, 0, 0], [1, 0, 3])
    assert p["n_meds"].tolist() == [4.0, 0.0, 4.0]
    assert p["prop_concordant"][[0, 2]].tolist() == [0.5, 0.25]
    assert p["prop_taken_not_listed"][[0, 2]].tolist() == [0.25, 0.75]
    assert np.isnan(p["prop_listed_not_taken"][1])
    with pytest.raises(AnalysisError, match="non-negative whole counts"):
        concordance_proportions([-1], [0], [0])


# ----------------------------------------------------------------------------- change


def test_adherence_change_hand_worked() -> None:
    out = quiet_change(worked_meds(), worked_days())
    a, b = out.iloc[0], out.iloc[1]
    assert out["patient_id"].tolist() == ["A", "B"]
    assert a["change_prop_concordant"] == 3 / 4 - 1 / 3  # +5/12
    assert a["change_prop_listed_not_taken"] == 1 / 4 - 1 / 3  # -1/12
    assert a["change_prop_taken_not_listed"] == 0.0 - 1 / 3  # -1/3
    assert a["adherent_days_0"] == 3 and a["adherent_days_12"] == 6
    assert a["change_adherent_days"] == 3
    assert a["missing_reason"] == ""
    # B has baseline values but nothing usable at 12 months: NaN change, reason given
    assert b["prop_concordant_0"] == 1 / 2 and b["adherent_days_0"] == 7
    assert out.loc[1, list(CHANGE_COLUMNS)].isna().all()
    assert b["missing_reason"] == (
        "no medication records at month 12; adherent days missing at month 12"
    )


def test_change_columns_feed_t_tests() -> None:
    out = quiet_change(worked_meds(), worked_days())
    for col in CHANGE_COLUMNS:
        assert col in out.columns
        assert out[col].dtype == np.float64


def test_patients_without_records_are_not_dropped() -> None:
    out = quiet_change(worked_meds(), worked_days(), patients=["B", "A", "C"])
    assert out["patient_id"].tolist() == ["B", "A", "C"]
    c = out.iloc[2]
    assert np.isnan(c["change_prop_concordant"]) and np.isnan(c["change_adherent_days"])
    assert c["missing_reason"] == (
        "no medication records at month 0; no medication records at month 12; "
        "no adherent-days record at month 0; no adherent-days record at month 12"
    )
    with pytest.raises(AnalysisError, match="not in patients"):
        quiet_change(worked_meds(), worked_days(), patients=["A"])


def test_no_target_medications_reason() -> None:
    meds = worked_meds()
    meds.loc[meds["patient_id"] == "B", "condition"] = "asthma"
    out = quiet_change(meds, worked_days())
    assert out.loc[1, "missing_reason"].startswith(
        "no medications for the analysed conditions at month 0; no medication records at month 12"
    )


def test_days_taken_from_medication_table_or_reported_absent() -> None:
    meds = worked_meds()
    meds["adherent_days_7"] = [3, 3, 3, 3, 6, 6, 6, 6, 7, 7, 7]
    out = quiet_change(meds)
    assert out["change_adherent_days"].iloc[0] == 3
    assert out["adherent_days_0"].tolist() == [3.0, 7.0]
    plain = quiet_change(worked_meds())
    assert plain["change_adherent_days"].isna().all()
    assert plain["missing_reason"].iloc[0] == "no adherent-days data supplied"


def test_change_rejects_bad_months() -> None:
    with pytest.raises(AnalysisError, match=r"month\(s\) \[6\]; months found: \[0, 12\]"):
        quiet_change(worked_meds(), worked_days(), followup=6)
    with pytest.raises(AnalysisError, match="must differ"):
        quiet_change(worked_meds(), baseline=0, followup=0)


# ----------------------------------------------------------------------------- validation


def test_flags_accept_text_and_numbers_case_insensitively() -> None:
    out = validate_medications(worked_meds())
    assert out["in_chart"].dtype == bool
    assert out["in_chart"].tolist() == [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0]
    assert out["reported_taking"].tolist() == [1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0]
    assert out["condition"].tolist()[5] == "hypertension"


def test_validation_collects_every_problem() -> None:
    meds = worked_meds().astype({"month": object})
    meds.loc[1, "in_chart"] = "maybe"
    meds.loc[2, "reported_taking"] = None
    meds.loc[3, "month"] = "baseline"
    meds.loc[8, "medication"] = "  Metformin "
    meds.loc[9, "medication"] = "metformin"  # B, month 0: duplicate ignoring case/blanks
    meds.loc[10, "condition"] = None
    with pytest.raises(SchemaError) as info:
        validate_medications(meds)
    f = info.value.failures.set_index("column")
    assert f.loc["in_chart", "rows"] == ["A"] and f.loc["in_chart", "values"] == ["maybe"]
    assert "0/1, yes/no, true/false" in f.loc["in_chart", "problem"]
    assert f.loc["reported_taking", "rows"] == ["A"]
    assert f.loc["month", "values"] == ["baseline"]
    assert f.loc["condition", "rows"] == ["B"]
    dup = f.loc["patient_id + month + medication"]
    assert dup["rows"] == ["B"] and dup["values"] == ["B / 0 / metformin"]
    assert len(info.value.failures) == 5


def test_missing_columns_are_listed_together() -> None:
    with pytest.raises(SchemaError) as info:
        validate_medications(worked_meds().drop(columns=["in_chart", "condition"]))
    assert sorted(info.value.failures["column"]) == ["condition", "in_chart"]


def test_adherent_days_outside_0_to_7_and_inconsistent() -> None:
    days = worked_days()
    days.loc[1, "adherent_days_7"] = 8
    days.loc[2, "adherent_days_7"] = -1
    with pytest.raises(SchemaError, match="from 0 to 7") as info:
        validate_adherent_days(days)
    assert info.value.failures.loc[0, "rows"] == ["A", "B"]
    dup = pd.concat([worked_days(), worked_days().iloc[[0]]])
    with pytest.raises(SchemaError, match="each patient and month must appear once"):
        validate_adherent_days(dup)
    meds = worked_meds()
    meds["adherent_days_7"] = [3, 4, 3, 3, 6, 6, 6, 6, 7, 7, 7]
    with pytest.raises(SchemaError, match="differs between rows of the same patient and month"):
        validate_medications(meds)


def test_validation_does_not_modify_input() -> None:
    meds = worked_meds()
    before = meds.copy()
    validate_medications(meds)
    quiet_change(meds, worked_days())
    pd.testing.assert_frame_equal(meds, before)


# ----------------------------------------------------------------------------- properties

conditions = st.sampled_from(["diabetes", "hypertension", "hyperlipidemia", "asthma"])
med_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # patient
        st.sampled_from([0, 12]),  # month
        st.integers(0, 6),  # medication
        conditions,
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=60,
    unique_by=lambda r: (r[0], r[1], r[2]),
)


def meds_frame(rows: list[tuple[int, int, int, str, bool, bool]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=["patient_id", "month", "medication", "condition", "in_chart", "reported_taking"],
    )
    frame["medication"] = "drug" + frame["medication"].astype(str)
    return frame


def naive_concordance(meds: pd.DataFrame) -> dict[tuple[int, int], tuple[float, float, float]]:
    """Row-by-row reference implementation of the docs/adherence.md definitions."""
    counts: dict[tuple[int, int], list[int]] = {}
    for r in meds.itertuples():
        c = counts.setdefault((r.patient_id, r.month), [0, 0, 0])
        if r.condition == "asthma":
            continue
        if r.in_chart and r.reported_taking:
            c[0] += 1
        elif r.in_chart:
            c[1] += 1
        elif r.reported_taking:
            c[2] += 1
    return {
        k: tuple(x / sum(v) if sum(v) else float("nan") for x in v)  # type: ignore[misc]
        for k, v in counts.items()
    }


@settings(max_examples=50, deadline=None)
@given(med_rows, st.randoms(use_true_random=False))
def test_concordance_properties(rows: list, rnd: object) -> None:  # type: ignore[type-arg]
    meds = meds_frame(rows)
    out = quiet_concordance(meds)
    props = out[list(PROPORTIONS)].to_numpy()
    defined = out["n_meds"].to_numpy() > 0
    assert np.all((props[defined] >= 0) & (props[defined] <= 1))
    assert np.all(props[defined].sum(axis=1) <= 1 + 1e-12)
    assert np.isnan(props[~defined]).all()
    # agrees with the row-by-row reference
    ref = naive_concordance(meds)
    for row, p in zip(out.itertuples(), props, strict=True):
        np.testing.assert_array_equal(p, ref[(row.patient_id, row.month)])
    # row order does not matter
    shuffled = meds.sample(frac=1.0, random_state=rnd.randint(0, 2**31))  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(quiet_concordance(shuffled), out)


@settings(max_examples=30, deadline=None)
@given(med_rows, st.integers(0, 2**31 - 1))
def test_change_is_row_order_invariant(rows: list, seed: int) -> None:  # type: ignore[type-arg]
    meds = meds_frame(rows)
    if set(meds["month"]) != {0, 12}:
        meds = pd.concat(
            [
                meds,
                meds_frame([(99, 0, 0, "diabetes", True, True)]),
                meds_frame([(99, 12, 0, "diabetes", True, False)]),
            ]
        )
    out = quiet_change(meds)
    shuffled = quiet_change(meds.sample(frac=1.0, random_state=seed))
    pd.testing.assert_frame_equal(out, shuffled)
    # a change is missing exactly when a medication reason says why
    explained = out["missing_reason"].str.contains("medication").to_numpy()
    assert (out["change_prop_concordant"].isna().to_numpy() == explained).all()

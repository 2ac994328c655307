"""Validation: every rule reports column, rows, values and what is allowed, all at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coachstats.errors import SchemaError, UnitError
from coachstats.schema import PATIENT_SCHEMA, column_spec, normalize_arm_labels, validate_patients


def good() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [101, 102, 103, 104],
            "arm": ["coaching", "usual_care", "coaching", "usual_care"],
            "diabetes": ["yes", "no", "Y", "0"],
            "hba1c_0": [9.1, 7.2, 10.4, 8.8],
            "hba1c_12": [7.9, np.nan, 9.0, 8.9],
            "ldl_0": [120, 165, 101, 140],
            "ldl_12": [95, 150, 99, np.nan],
            "age": [45, 60, 52, 71],
        }
    )


def problems(exc: SchemaError) -> list[tuple[str, str]]:
    return [(str(r.column), str(r.problem)) for r in exc.failures.itertuples()]


def test_good_table_normalizes() -> None:
    clean, notes = validate_patients(good())
    assert clean["diabetes"].tolist() == [True, False, True, False]
    assert clean["hba1c_0"].dtype == np.float64
    assert notes == []


def test_every_problem_listed_at_once() -> None:
    bad = good()
    bad = bad.astype({"hba1c_0": object, "age": object})
    bad.loc[1, "patient_id"] = 101  # duplicate id
    bad.loc[2, "arm"] = "waitlist"  # unknown arm
    bad.loc[3, "hba1c_0"] = "high"  # text in numeric
    bad.loc[0, "age"] = -4  # negative age
    bad.loc[0, "diabetes"] = "maybe"  # not boolean
    bad.loc[2, "ldl_0"] = 600  # impossible LDL
    with pytest.raises(SchemaError) as info:
        validate_patients(bad)
    err = info.value
    cols = [c for c, _ in problems(err)]
    assert {"patient_id", "arm", "hba1c_0", "age", "diabetes", "ldl_0"} <= set(cols)
    f = err.failures.set_index("column")
    assert f.loc["age", "rows"] == [101] and f.loc["age", "values"] == [-4.0]
    assert "0 to 120" in f.loc["age", "problem"]
    assert (
        f.loc["arm", "values"] == ["waitlist"] and "coaching, usual_care" in f.loc["arm", "problem"]
    )
    assert "boolean" in f.loc["diabetes", "problem"]
    assert f.loc["ldl_0", "values"] == [600.0] and "10 to 500" in f.loc["ldl_0", "problem"]
    msg = str(err)
    assert "waitlist" in msg and "'high'" in msg and "duplicate patient ids" in msg
    assert isinstance(err, ValueError)


def test_missing_required_columns() -> None:
    with pytest.raises(SchemaError) as info:
        validate_patients(good().drop(columns=["patient_id", "arm"]))
    assert sorted(c for c, _ in problems(info.value)) == ["arm", "patient_id"]


@pytest.mark.parametrize(
    ("arms", "labels", "expected"),
    [
        (None, ["coaching", "coaching"], "exactly 2 arm"),
        (None, ["Coaching", "Usual Care", "waitlist"], "unknown arm"),
    ],
)
def test_arm_count_and_labels(
    arms: dict[str, str] | None, labels: list[str], expected: str
) -> None:
    df = pd.DataFrame({"patient_id": range(len(labels)), "arm": labels})
    with pytest.raises(SchemaError, match=expected):
        validate_patients(df, arms=arms)


def test_arm_variants_and_mapping() -> None:
    s, bad = normalize_arm_labels(pd.Series([" Coaching ", "USUAL CARE", "usual-care", "UC"]))
    assert s.tolist() == ["coaching", "usual_care", "usual_care", "usual_care"] and bad == []
    df = pd.DataFrame({"patient_id": [1, 2], "arm": [1, 2]})
    clean, _ = validate_patients(df, arms={1: "coaching", 2: "usual_care"})
    assert clean["arm"].tolist() == ["coaching", "usual_care"]
    with pytest.raises(SchemaError, match="allowed targets"):
        validate_patients(df, arms={1: "treatment", 2: "usual_care"})
    single, _ = validate_patients(pd.DataFrame({"patient_id": [1], "arm": ["coaching"]}), n_arms=1)
    assert len(single) == 1


@pytest.mark.parametrize(
    ("col", "value", "allowed"),
    [
        ("hba1c_0", 2.5, "3 to 20 %"),
        ("sbp_0", 320.0, "60 to 300 mmHg"),
        ("ldl_12", 5.0, "10 to 500 mg/dL"),
    ],
)
def test_impossible_values(col: str, value: float, allowed: str) -> None:
    df = good().assign(sbp_0=[150.0] * 4, sbp_12=[140.0] * 4)
    df[col] = df[col].astype(float)
    df.loc[2, col] = value
    with pytest.raises(SchemaError) as info:
        validate_patients(df)
    f = info.value.failures
    row = f[f["column"] == col].iloc[0]
    assert row["rows"] == [103] and row["values"] == [value] and allowed in row["problem"]


def test_suspicious_but_allowed_values_are_noted_and_kept() -> None:
    # An HbA1c of 19 % and an age of 101 are allowed (3-20 %, 0-120 years) but rare in adults
    # seen in primary care, and more often an entry error: they loaded without a word. They
    # are noted with the patients and values (a NotedWarning in a notebook) and kept.
    from coachstats.errors import NotedWarning

    df = good().assign(
        hba1c_12=[7.9, np.nan, 19.0, 8.9], age=[45, 101, 52, 17], ldl_0=[120, 165, 101, 320]
    )
    with pytest.warns(NotedWarning) as caught:
        out, notes = validate_patients(df)
    suspicious = [n for n in notes if "rare in primary care" in n]
    assert suspicious == [
        str(w.message) for w in caught if "rare in primary care" in str(w.message)
    ]
    assert sorted(n.split(":")[0] for n in suspicious) == ["age", "age", "hba1c_12", "ldl_0"]
    assert any("hba1c_12: 1 value(s) above 18 % (patient 103: 19)" in n for n in suspicious)
    assert any("age: 1 value(s) below 18 years (patient 104: 17)" in n for n in suspicious)
    assert any("age: 1 value(s) above 100 years (patient 102: 101)" in n for n in suspicious)
    assert out["hba1c_12"].iloc[2] == 19.0 and out["age"].iloc[1] == 101  # kept as given
    # values inside the usual bounds, and impossible ones (errors), are not noted
    _, quiet = validate_patients(good())
    assert not [n for n in quiet if "rare in primary care" in n]


def test_bundled_cohorts_have_no_suspicious_values() -> None:
    # the bounds leave the trials' own populations alone (HbA1c up to 16 % in the cohorts)
    from coachstats.data.plausibility import suspicious_notes

    root = Path(__file__).resolve().parents[1] / "data" / "synthetic"
    for name in ("hcpc_patients.csv", "peer_patients.csv"):
        df = pd.read_csv(root / name)
        assert suspicious_notes(df, df["patient_id"], column_spec) == [], name


def test_repeated_bad_values_are_listed_once_with_every_row() -> None:
    # the same typo in two patients: both rows, one value (as the scale and adherence checks)
    df = good().assign(sbp_0=[150.0, 900.0, 150.0, 900.0], diabetes=["yes", "maybe", "maybe", "no"])
    with pytest.raises(SchemaError) as info:
        validate_patients(df)
    f = info.value.failures.set_index("column")
    assert f.loc["sbp_0", "rows"] == [102, 104] and f.loc["sbp_0", "values"] == [900.0]
    assert f.loc["diabetes", "rows"] == [102, 103] and f.loc["diabetes", "values"] == ["maybe"]
    # without an id column rows are named by position
    with pytest.raises(SchemaError) as info:
        validate_patients(df.drop(columns="patient_id"))
    f = info.value.failures
    assert f.loc[f["column"] == "sbp_0", "rows"].iloc[0] == [1, 3]


def test_unit_mixup_suggests_fix_and_conversion_works() -> None:
    df = good()
    df["hba1c_0"] = [75.0, 55.0, 90.0, 73.0]
    df["hba1c_12"] = [63.0, np.nan, 75.0, 74.0]
    with pytest.raises(UnitError, match=r"units=\{'hba1c': 'mmol/mol'\}"):
        validate_patients(df)
    clean, notes = validate_patients(df, units={"hba1c": "mmol/mol"})
    # the IFCC-NGSP master equation, then 0.1 % as labs report it
    np.testing.assert_allclose(
        clean["hba1c_0"], np.round(0.09148 * np.array([75.0, 55, 90, 73]) + 2.152, 1)
    )
    assert any("converted from mmol/mol" in n for n in notes)
    df2 = good().assign(ldl_0=[3.1, 4.3, 2.6, 3.6], ldl_12=[2.5, 3.9, 2.5, np.nan])
    with pytest.raises(UnitError, match="mmol/L"):
        validate_patients(df2)
    clean2, _ = validate_patients(df2, units={"ldl": "mmol/l"})
    np.testing.assert_allclose(clean2["ldl_0"], np.array([3.1, 4.3, 2.6, 3.6]) * 38.67)


def test_mixed_units_in_one_column() -> None:
    df = good().assign(ldl_0=[120.0, 3.9, 4.2, 140.0])
    with pytest.raises(UnitError, match="mixed") as info:
        validate_patients(df)
    assert info.value.failures.iloc[0]["rows"] == [102, 103]


def test_bad_units_option() -> None:
    with pytest.raises(SchemaError, match="allowed: %, mmol/mol"):
        validate_patients(good(), units={"hba1c": "g/L"})


def test_baseline_required_for_followup() -> None:
    df = good()
    df.loc[0, "hba1c_0"] = np.nan
    with pytest.raises(SchemaError, match="baseline missing") as info:
        validate_patients(df)
    assert info.value.failures.iloc[0]["rows"] == [101]
    clean, _ = validate_patients(df, require_baseline=False)
    assert np.isnan(clean.loc[0, "hba1c_0"])


def test_schema_is_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "schema.md").read_text(encoding="utf-8")
    for spec in PATIENT_SCHEMA:
        assert f"`{spec.name}" in doc, spec.name
    assert column_spec("hba1c_24") is column_spec("hba1c_0")


def test_converted_values_are_reported_as_typed_and_in_the_users_names() -> None:
    # a reviewer's case: 250 and 8.1 mmol/mol were shown as 25.02 and 2.89 (converted %)
    from coachstats import load_trial

    raw = pd.DataFrame(
        {
            "MRN": [1, 2, 3],
            "Group": ["coaching", "usual_care", "coaching"],
            "A1c baseline": [250.0, 81.0, 8.1],
            "A1c 12": [70.0, 60.0, 65.0],
        }
    )
    cols = {"MRN": "patient_id", "Group": "arm", "A1c baseline": "hba1c_0", "A1c 12": "hba1c_12"}
    with pytest.raises(SchemaError) as info:
        load_trial(raw, columns=cols, units={"hba1c": "mmol/mol"})
    f = info.value.failures.iloc[0]
    assert f["values"] == [250.0, 8.1] and f["rows"] == [1, 3]
    assert "(9.27 to 195 mmol/mol, the unit of the file)" in f["problem"]
    assert "column 'hba1c_0' (your 'A1c baseline'): impossible" in str(info.value)
    with pytest.raises(UnitError, match="on the command line: --units hba1c=mmol/mol"):
        load_trial(raw.assign(**{"A1c baseline": [75.0, 81.0, 70.0]}), columns=cols)

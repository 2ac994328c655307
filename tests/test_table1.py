"""Table 1 (coachstats.table1): SMDs against R (tableone's definitions) and hand-worked values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.errors import AnalysisError, ColumnNotFoundError, DataWarning, OptionError
from coachstats.table1 import (
    baseline_table,
    smd_binary,
    smd_categorical,
    smd_continuous,
)

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "table1.json").read_text())
VARIABLES = ["age", "bmi", "const", "insulin", "sex", "ethnicity", "site"]
KINDS = {"insulin": "binary", "const": "continuous"}


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"table1_{name}.csv")


# --------------------------------------------------------------------------- against R


@pytest.mark.parametrize("name", ["balanced", "unbalanced", "small"])
def test_smd_matches_r(name: str) -> None:
    """Closed forms: 1e-8 relative (1e-12 absolute for the zero SMD of a constant)."""
    ref = R["fixtures"][name]
    table = baseline_table(_fixture(name), VARIABLES, kinds=KINDS)
    assert table.n == (ref["n"]["coaching"], ref["n"]["usual_care"])
    smd = {v.name: v.smd for v in table.variables}
    for var in VARIABLES:
        assert smd[var] == pytest.approx(ref[var], rel=1e-8, abs=1e-12), var
    age = next(v for v in table.variables if v.name == "age")
    assert age.mean == pytest.approx(
        (ref["age_mean"]["coaching"], ref["age_mean"]["usual_care"]), rel=1e-12
    )
    assert age.sd == pytest.approx(
        (ref["age_sd"]["coaching"], ref["age_sd"]["usual_care"]), rel=1e-10
    )


def test_small_fixture_has_level_in_one_arm_only() -> None:
    """The categorical SMD with an empty cell (site C only in coaching) is finite and matches R."""
    table = baseline_table(_fixture("small"), ["site"])
    site = table.variables[0]
    assert site.levels == ("A", "B", "C")
    c = site.levels.index("C")
    assert site.counts[c][1] == 0 and site.counts[c][0] > 0
    assert math.isfinite(site.smd)


# --------------------------------------------------------------------------- hand-worked


def test_hand_worked_continuous() -> None:
    # coaching 50, 60, 70, 40: mean 55, var 500/3; usual care 50, 60, 40, 50: mean 50, var 200/3
    # d = 5 / sqrt((500/3 + 200/3) / 2) = 5 / sqrt(350/3)
    df = pd.DataFrame(
        {"arm": ["coaching"] * 4 + ["usual_care"] * 4, "age": [50, 60, 70, 40, 50, 60, 40, 50]}
    )
    v = baseline_table(df, ["age"]).variables[0]
    assert v.kind == "continuous"
    assert v.smd == pytest.approx(5 / math.sqrt(350 / 3), rel=1e-12)
    assert smd_continuous(55, math.sqrt(500 / 3), 50, math.sqrt(200 / 3)) == pytest.approx(
        5 / math.sqrt(350 / 3), rel=1e-12
    )


def test_hand_worked_binary_and_categorical() -> None:
    # binary: .5 vs .3 -> .2 / sqrt((.25 + .21) / 2) = .2 / sqrt(.23)
    assert smd_binary(0.5, 0.3) == pytest.approx(0.2 / math.sqrt(0.23), rel=1e-12)
    # categorical, levels 2..3: p1 = (.3, .5), p2 = (.4, .2); S = [[.225, -.115], [-.115, .205]],
    # det .0329; d = (-.1, .3); d' S^-1 d = (.205*.01 - 2*.115*.03 + .225*.09) / .0329 = .0154 / .0329
    assert smd_categorical([0.2, 0.3, 0.5], [0.4, 0.4, 0.2]) == pytest.approx(
        math.sqrt(0.0154 / 0.0329), rel=1e-12
    )
    # two levels: the categorical SMD is the binary one
    assert smd_categorical([0.5, 0.5], [0.7, 0.3]) == pytest.approx(smd_binary(0.5, 0.3), rel=1e-12)


def test_zero_variance_rules() -> None:
    assert smd_continuous(3, 0, 3, 0) == 0.0
    assert smd_continuous(3, 0, 4, 0) == math.inf
    assert smd_binary(1.0, 1.0) == 0.0
    assert smd_binary(1.0, 0.0) == math.inf
    assert smd_categorical([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert smd_categorical([1.0, 0.0], [0.0, 1.0]) == math.inf


def test_smd_categorical_checks_shapes() -> None:
    with pytest.raises(OptionError, match="same >= 2 levels"):
        smd_categorical([0.5, 0.5], [1.0])


# --------------------------------------------------------------------------- the table


def test_counts_and_display() -> None:
    df = pd.DataFrame(
        {
            "arm": ["usual_care", "coaching", "coaching", "usual_care", "coaching"],
            "sex": ["female", "male", "female", None, "female"],
            "insulin": [True, False, True, pd.NA, False],
            "hba1c_0": [9.0, 10.0, None, 8.0, 11.0],
        }
    ).astype({"insulin": "boolean"})
    t = baseline_table(df, ["sex", "insulin", "hba1c_0"])
    assert t.arms == ("coaching", "usual_care") and t.n == (3, 2)
    frame = t.to_frame()
    sex = frame[frame["variable"] == "sex"].set_index("level")
    assert sex.loc["female", ["events1", "events2"]].tolist() == [2, 1]
    assert sex.loc["male", ["events1", "events2"]].tolist() == [1, 0]
    assert sex["missing2"].tolist() == [1, 1]
    ins = frame[frame["variable"] == "insulin"].iloc[0]
    assert (ins["events1"], ins["n1"], ins["events2"], ins["n2"]) == (1, 3, 1, 1)
    a1c = frame[frame["variable"] == "hba1c_0"].iloc[0]
    assert (a1c["estimate1"], a1c["estimate2"], a1c["missing1"]) == (10.5, 8.5, 1)
    disp = t.to_display()
    assert list(disp.columns) == [
        "Characteristic",
        "Health coaching group (n = 3)",
        "Usual care group (n = 2)",
        "SMD",
        "Missing",
    ]
    rows = disp.set_index("Characteristic")
    # issue 20: levels are shown with human labels ("female" -> "Female")
    assert rows.loc["    Female", "Health coaching group (n = 3)"] == "2 (66.7)"
    assert rows.loc["Insulin, n (%)", "Usual care group (n = 2)"] == "1 (100.0)"
    assert rows.loc["HbA1c, %, mean (SD)", "Missing"] == "1"
    # insulin: p1 = 1/3, p2 = 1 -> (2/3) / sqrt((2/9 + 0) / 2) = 2
    assert rows.loc["Insulin, n (%)", "SMD"] == "2.00"


def test_kinds_and_labels_override() -> None:
    df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 3, "visits": [0, 1, 1, 1, 0, 0]})
    auto = baseline_table(df, ["visits"]).variables[0]
    assert auto.kind == "binary"
    forced = baseline_table(
        df, ["visits"], kinds={"visits": "continuous"}, labels={"visits": "Visits"}
    )
    assert forced.variables[0].kind == "continuous" and forced.variables[0].label == "Visits"
    with pytest.raises(OptionError, match="allowed"):
        baseline_table(df, ["visits"], kinds={"visits": "ordinal"})  # type: ignore[dict-item]
    text = pd.DataFrame({"arm": ["coaching", "usual_care"], "x": ["a", "b"]})
    with pytest.raises(OptionError, match="cannot be summarized as continuous"):
        baseline_table(text, ["x"], kinds={"x": "continuous"})
    with pytest.raises(OptionError, match="cannot be summarized as binary"):
        baseline_table(text, ["x"], kinds={"x": "binary"})


def test_errors() -> None:
    df = pd.DataFrame({"arm": ["coaching", "usual_care", "other"], "age": [1.0, 2.0, 3.0]})
    with pytest.raises(ColumnNotFoundError, match="weight"):
        baseline_table(df, ["weight"])
    with pytest.raises(AnalysisError, match="exactly 2 arms"):
        baseline_table(df, ["age"])
    gap = pd.DataFrame({"arm": ["coaching", None, "usual_care"], "age": [1.0, 2.0, 3.0]})
    with pytest.raises(AnalysisError, match="missing in 1 row"):
        baseline_table(gap, ["age"])


def test_no_values_in_one_arm_warns() -> None:
    df = pd.DataFrame({"arm": ["coaching", "coaching", "usual_care"], "age": [50.0, 60.0, None]})
    with pytest.warns(DataWarning, match="undefined"):
        v = baseline_table(df, ["age"]).variables[0]
    assert math.isnan(v.smd)


# --------------------------------------------------------------------------- properties

_frames = st.integers(min_value=4, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from(["coaching", "usual_care"]), min_size=n, max_size=n).filter(
            lambda a: len(set(a)) == 2 and min(a.count("coaching"), a.count("usual_care")) >= 2
        ),
        st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=50, deadline=None)
@given(_frames)
def test_properties(data: tuple[list[str], list[float], list[str], list[bool]]) -> None:
    arm, x, cat, flag = data
    df = pd.DataFrame({"arm": arm, "x": x, "cat": cat, "flag": flag})
    t = baseline_table(df, ["x", "cat", "flag"])
    smd = [v.smd for v in t.variables]
    assert all(s >= 0 or math.isnan(s) for s in smd)
    # swapping the arms swaps the columns and keeps the (absolute) SMD
    swapped = baseline_table(df, ["x", "cat", "flag"], treatment="usual_care")
    np.testing.assert_allclose([v.smd for v in swapped.variables], smd, rtol=1e-9)
    assert swapped.n == t.n[::-1]
    # row order does not matter
    perm = np.random.default_rng(len(arm)).permutation(len(arm))
    shuffled = baseline_table(df.iloc[perm], ["x", "cat", "flag"])
    np.testing.assert_allclose([v.smd for v in shuffled.variables], smd, rtol=1e-9)
    # level counts add up to the non-missing n per arm
    for v in t.variables:
        if v.kind == "categorical":
            assert tuple(sum(c[a] for c in v.counts) for a in (0, 1)) == v.n


def test_hba1c_is_summarized_among_the_patients_with_diabetes() -> None:
    # HbA1c is measured in patients with diabetes only: the others are not "missing"
    df = pd.DataFrame(
        {
            "arm": ["coaching"] * 4 + ["usual_care"] * 4,
            "diabetes": [True, True, True, False, True, True, False, False],
            "hba1c_0": [9.0, 8.0, None, None, 8.0, 7.0, None, None],
        }
    )
    var = baseline_table(df, ["hba1c_0"]).variables[0]
    assert var.label == "HbA1c, % (patients with diabetes)"
    assert var.n == (2, 2) and var.missing == (1, 0)  # one patient with diabetes lacks it
    assert var.mean == (8.5, 7.5)
    # measured outside the population too: every patient, as before
    everyone = df.assign(hba1c_0=[9.0, 8.0, None, 5.5, 8.0, 7.0, None, 5.0])
    var = baseline_table(everyone, ["hba1c_0"]).variables[0]
    assert var.label == "HbA1c, %" and var.n == (3, 3) and var.missing == (1, 1)
    # among={} turns it off; a population column that does not exist is an error when asked for
    assert baseline_table(df, ["hba1c_0"], among={}).variables[0].missing == (2, 2)
    with pytest.raises(ColumnNotFoundError, match="'dm'"):
        baseline_table(df, ["hba1c_0"], among={"hba1c_0": "dm"})
    # an SMD without an SD in an arm says so (not "no values")
    one_each = df.iloc[[0, 4]]
    with pytest.warns(DataWarning, match=r"one value only \(no SD\) in arm\(s\) \[1, 2\]"):
        baseline_table(one_each, ["hba1c_0"])

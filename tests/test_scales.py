"""Questionnaire scoring: hand-worked scores, validation, hypothesis properties.

Scoring is arithmetic, so hand-worked values are compared exactly. Each
expected trust score is written as the fraction 25 * (sum - n) / n worked by
hand from the responses after reversing items 1, 5, 7 and 11.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.errors import OptionError, SchemaError
from coachstats.scales import (
    DEFAULT_TRUST_REVERSED,
    PACIC_SUBSCALES,
    item_columns,
    pacic_from_responses,
    recommend_binary,
    score_pacic,
    score_trust,
    trust_from_responses,
    validate_likert,
    validate_visit_ratings,
)

NaN = np.nan
TRUST = item_columns("trust", 11, 0)
PACIC = item_columns("pacic", 20, 12)


def trust_frame(rows: list[list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=TRUST)
    frame.insert(0, "patient_id", [f"p{i + 1}" for i in range(len(rows))])
    return frame


def shuffled(df: pd.DataFrame, rnd: random.Random) -> pd.DataFrame:
    """The rows of ``df`` in a random order (index kept), seeded from hypothesis' ``rnd``."""
    return df.sample(frac=1.0, random_state=rnd.randint(0, 2**31))


# ----------------------------------------------------------------------------- trust


def test_default_reversed_items_are_the_negatively_worded_ones() -> None:
    assert DEFAULT_TRUST_REVERSED == (1, 5, 7, 11)


def test_trust_hand_worked() -> None:
    df = trust_frame(
        [
            [2, 4, 4, 4, 2, 4, 2, 4, 4, 4, 2],  # all 4 after reversal: 25*(44-11)/11 = 75
            [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5],  # 7 fives + 4 ones = 39: 25*28/11
            [3] * 11,  # all 3: 50
            [1, 5, 5, 5, 1, 5, 1, 5, 5, NaN, NaN],  # 9 answered, all 5: prorated 100
            [3, 3, 3, 3, 3, 3, 3, 3, 3, 5, NaN],  # 10 answered, sum 32: 25*22/10 = 55
            [1, 5, 5, 5, 1, 5, 1, 5, NaN, NaN, NaN],  # 8 answered: no score
            [5, 1, 1, 1, 5, 1, 5, 1, 1, 1, 5],  # all 1 after reversal: 0
        ]
    )
    got = score_trust(df, TRUST)
    assert got.name == "trust"
    assert got.index.equals(df.index)
    expected = [75.0, 700 / 11, 50.0, 100.0, 55.0, NaN, 0.0]
    np.testing.assert_array_equal(got.to_numpy(), expected)


def test_trust_min_answered_and_reverse_overrides() -> None:
    df = trust_frame([[1, 5, 5, 5, 1, 5, 1, 5, NaN, NaN, NaN], [5] * 11])
    assert score_trust(df, TRUST, min_answered=8).tolist() == [100.0, 700 / 11]
    # no reversal: row 2 is all 5 -> 100; row 1 (8 answered): 5 fives, 3 ones = 28 -> 25*20/8
    assert score_trust(df, TRUST, reverse=(), min_answered=8).tolist() == [62.5, 100.0]
    by_name = score_trust(df, TRUST, reverse=["trust_q1_0", "trust_q5_0", "trust_q7_0"])
    # row 2: items 1, 5, 7 reversed -> 8 fives + 3 ones = 43: 25*32/11
    assert by_name.tolist()[1] == 800 / 11
    with pytest.raises(SchemaError, match="distinct item numbers 1-11"):
        score_trust(df, TRUST, reverse=(0, 12, "nope"))
    with pytest.raises(SchemaError, match="min_answered"):
        score_trust(df, TRUST, min_answered=12)


def test_trust_reversed_coding_is_explicit() -> None:
    df = trust_frame([[5] * 11])
    # coding="reversed": every 5 means 1; after item reversal 7 ones + 4 fives = 27: 25*16/11
    assert score_trust(df, TRUST, coding="reversed").tolist() == [400 / 11]
    with pytest.raises(OptionError, match="'1-5', '0-4', 'reversed'"):
        score_trust(df, TRUST, coding="5-1")  # type: ignore[arg-type]


def test_zero_to_four_file_is_rejected_with_the_fix() -> None:
    df = trust_frame([[1, 3, 3, 3, 1, 3, 1, 3, 3, 3, 1], [0, 4, 4, 4, 0, 4, 0, 4, 4, 4, 0]])
    with pytest.raises(SchemaError) as info:
        score_trust(df, TRUST)
    failures = info.value.failures
    assert len(failures) == 1  # one explanation, not one complaint per item
    f = failures.iloc[0]
    assert "look coded 0-4 instead of 1-5" in f["problem"]
    assert "coding='0-4'" in f["problem"] and "never rescored silently" in f["problem"]
    assert f["rows"] == ["p2"]
    assert f["column"] == "trust_q1_0, trust_q5_0, trust_q7_0, trust_q11_0"
    # the explicit shift scores the file as its 1-5 equivalent
    assert score_trust(df, TRUST, coding="0-4").tolist() == [75.0, 100.0]


def test_one_to_five_file_declared_zero_to_four_is_rejected() -> None:
    df = trust_frame([[2, 4, 4, 4, 2, 4, 2, 4, 4, 4, 2], [5] * 11])
    with pytest.raises(SchemaError, match=r"look coded 1-5.*pass coding='1-5'"):
        score_trust(df, TRUST, coding="0-4")


def test_zeros_alongside_fives_are_plain_out_of_range() -> None:
    df = trust_frame([[0, 5, 5, 5, 1, 5, 1, 5, 5, 5, 1]])
    with pytest.raises(SchemaError) as info:
        score_trust(df, TRUST)
    f = info.value.failures.iloc[0]
    assert f["column"] == "trust_q1_0" and f["rows"] == ["p1"] and f["values"] == [0]
    assert "outside the allowed responses 1, 2, 3, 4, 5" in f["problem"]


def test_validation_aggregates_every_problem() -> None:
    df = trust_frame([[1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1]] * 3).astype(
        {"trust_q3_0": object, "trust_q4_0": float}
    )
    df.loc[0, "trust_q2_0"] = 7
    df.loc[2, "trust_q2_0"] = 6
    df.loc[1, "trust_q3_0"] = "agree"
    df.loc[2, "trust_q4_0"] = 2.5
    with pytest.raises(SchemaError) as info:
        score_trust(df, [*TRUST[:10], "trust_q12_0"])
    f = info.value.failures
    problems = dict(zip(f["column"], f["problem"], strict=True))
    assert "needs 11 item columns" not in problems.get("Trust in Physician Scale", "")
    assert "not found" in problems["Trust in Physician Scale"]
    row = f.set_index("column").loc["trust_q2_0"]
    assert row["rows"] == ["p1", "p3"] and row["values"] == [7, 6]
    assert f.set_index("column").loc["trust_q3_0", "values"] == ["agree"]
    assert "not a whole number" in problems["trust_q4_0"]
    with pytest.raises(SchemaError, match="needs 11 item columns in questionnaire order; got 10"):
        score_trust(df, TRUST[:10])


def test_trust_from_responses_array_engine() -> None:
    out = trust_from_responses([[2, 4, 4, 4, 2, 4, 2, 4, 4, 4, 2]] * 2)
    assert out.tolist() == [75.0, 75.0]


# ----------------------------------------------------------------------------- PACIC


def test_pacic_hand_worked() -> None:
    rows = [
        # activation 5, 4, -; delivery 3s; goal 2s; problem 4s; follow-up 1s
        [5, 4, NaN, 3, 3, 3, 2, 2, 2, 2, 2, 4, 4, 4, 4, 1, 1, 1, 1, 1],
        [NaN, NaN, NaN] + [5] * 17,  # activation unanswered
        [NaN] * 20,
    ]
    df = pd.DataFrame(rows, columns=PACIC)
    out = score_pacic(df, PACIC)
    assert list(out.columns) == [
        "pacic",
        "pacic_activation",
        "pacic_delivery_system",
        "pacic_goal_setting",
        "pacic_problem_solving",
        "pacic_follow_up",
        "pacic_n_answered",
    ]
    r1 = out.iloc[0]
    assert r1["pacic_activation"] == 4.5
    assert r1["pacic_delivery_system"] == 3.0
    assert r1["pacic_goal_setting"] == 2.0
    assert r1["pacic_problem_solving"] == 4.0
    assert r1["pacic_follow_up"] == 1.0
    assert r1["pacic"] == 49 / 19  # (9 + 9 + 10 + 16 + 5) / 19, not the mean of subscales
    assert out["pacic_n_answered"].tolist() == [19, 17, 0]
    assert np.isnan(out.loc[1, "pacic_activation"]) and out.loc[1, "pacic"] == 5.0
    assert out.iloc[2, :6].isna().all()
    strict = score_pacic(df, PACIC, min_answered=18)
    assert strict["pacic"].iloc[0] == 49 / 19 and np.isnan(strict["pacic"].iloc[1])


def test_pacic_subscales_partition_the_items() -> None:
    numbers = sorted(k for ks in PACIC_SUBSCALES.values() for k in ks)
    assert numbers == list(range(1, 21))


def test_pacic_requires_twenty_items_and_valid_coding() -> None:
    df = pd.DataFrame([[3] * 20], columns=PACIC)
    with pytest.raises(SchemaError, match="PACIC needs 20 item columns"):
        score_pacic(df, PACIC[:19])
    zero = pd.DataFrame([[0] * 10 + [4] * 10], columns=PACIC)
    with pytest.raises(SchemaError, match="coding='0-4'"):
        score_pacic(zero, PACIC)
    assert score_pacic(zero, PACIC, coding="0-4")["pacic"].tolist() == [3.0]


# ----------------------------------------------------------------------------- recommend


def test_recommend_binary() -> None:
    df = pd.DataFrame({"recommend_12": [5, 4, None, 1, 3]})
    top = recommend_binary(df, "recommend_12")
    assert top.dtype == "boolean" and top.name == "recommend_12_definitely"
    assert top.tolist() == [True, False, pd.NA, False, False]
    assert recommend_binary(df, "recommend_12", cut=4).tolist() == [True, True, pd.NA, False, False]
    four = pd.DataFrame({"r": [4, 3, 1, None]})
    assert recommend_binary(four, "r", levels=4).tolist() == [True, False, False, pd.NA]
    with pytest.raises(SchemaError, match="outside the allowed responses 1, 2, 3, 4"):
        recommend_binary(df, "recommend_12", levels=4)
    with pytest.raises(SchemaError, match="cut"):
        recommend_binary(df, "recommend_12", cut=6)
    shifted = pd.DataFrame({"r": [0, 4, 3]})
    with pytest.raises(SchemaError, match="coding='0-4'"):
        recommend_binary(shifted, "r")
    assert recommend_binary(shifted, "r", coding="0-4").tolist() == [False, True, False]


# ----------------------------------------------------------------------------- visit ratings


VISIT_ITEMS = ["demanding", "adequate_time"]


def visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "clinician_id": ["c1", "c1", "c2", "c2"],
            "visit_id": [11, 12, 21, 22],
            "arm": ["coaching", "usual_care", "coaching", "usual_care"],
            "demanding": [2, 3, None, 4],
            "adequate_time": [4, 4, 5, 3],
        }
    )


def test_visit_ratings_valid_and_shifted() -> None:
    out = validate_visit_ratings(visits(), VISIT_ITEMS)
    assert out["demanding"].tolist()[:2] == [2.0, 3.0] and np.isnan(out["demanding"].iloc[2])
    shifted = visits().assign(adequate_time=[3, 3, 4, 0], demanding=[1, 2, None, 0])
    with pytest.raises(SchemaError, match="coding='0-4'"):
        validate_visit_ratings(shifted, VISIT_ITEMS)
    fixed = validate_visit_ratings(shifted, VISIT_ITEMS, coding="0-4")
    assert fixed["adequate_time"].tolist() == [4.0, 4.0, 5.0, 1.0]


def test_visit_ratings_problems_are_aggregated() -> None:
    bad = visits()
    bad.loc[1, "visit_id"] = 11  # c1 lists visit 11 twice
    bad.loc[2, "arm"] = None
    bad.loc[3, "adequate_time"] = 9
    with pytest.raises(SchemaError) as info:
        validate_visit_ratings(bad.drop(columns="demanding"), ["adequate_time", "demanding"])
    f = info.value.failures.set_index("column")
    assert f.loc["clinician_id + visit_id", "rows"] == [11]
    assert f.loc["arm", "rows"] == [2]
    assert f.loc["adequate_time", "rows"] == [22] and f.loc["adequate_time", "values"] == [9]
    assert "not found" in f.loc["visit ratings", "problem"]


def test_validate_likert_returns_one_to_five() -> None:
    df = pd.DataFrame({"q1": [1, 5], "q2": [3, None]})
    out = validate_likert(df, ["q1", "q2"], coding="reversed")
    assert out["q1"].tolist() == [5.0, 1.0] and out["q2"].tolist()[0] == 3.0


def test_input_is_not_modified() -> None:
    df = trust_frame([[0, 4, 4, 4, 0, 4, 0, 4, 4, 4, 0]])
    before = df.copy()
    score_trust(df, TRUST, coding="0-4")
    pd.testing.assert_frame_equal(df, before)


# ----------------------------------------------------------------------------- properties

response = st.one_of(st.none(), st.integers(1, 5))


def responses(n_items: int) -> st.SearchStrategy[list[list[float | None]]]:
    return st.lists(st.lists(response, min_size=n_items, max_size=n_items), min_size=1, max_size=8)


def naive_trust(row: list[float | None]) -> float:
    """Row-by-row reference: reverse, prorate the total, rescale 11-55 to 0-100."""
    answered = [(6 - x if k in (1, 5, 7, 11) else x) for k, x in enumerate(row, 1) if x is not None]
    if len(answered) < 9:
        return NaN
    prorated_total = sum(answered) * 11 / len(answered)
    return (prorated_total - 11) / 44 * 100


@settings(max_examples=50, deadline=None)
@given(responses(11), st.randoms(use_true_random=False))
def test_trust_properties(rows: list[list[float | None]], rnd: random.Random) -> None:
    df = pd.DataFrame(rows, columns=TRUST, dtype=float)
    s = score_trust(df, TRUST).to_numpy()
    scored = ~np.isnan(s)
    assert np.all((s[scored] >= 0) & (s[scored] <= 100))
    assert (scored == (df.notna().sum(axis=1) >= 9).to_numpy()).all()
    np.testing.assert_allclose(s, [naive_trust(r) for r in rows], rtol=0, atol=1e-12)
    # reversing every response maps s -> 100 - s, and so does declaring the coding reversed
    flipped = score_trust(6 - df, TRUST).to_numpy()
    np.testing.assert_allclose(flipped, 100 - s, rtol=0, atol=1e-12)
    declared = score_trust(df, TRUST, coding="reversed").to_numpy()
    np.testing.assert_array_equal(declared, flipped)
    # permuting rows changes nothing (scores follow their rows)
    perm = shuffled(df, rnd)
    pd.testing.assert_series_equal(
        score_trust(perm, TRUST).reindex(df.index), score_trust(df, TRUST)
    )


@settings(max_examples=50, deadline=None)
@given(responses(20), st.randoms(use_true_random=False))
def test_pacic_properties(rows: list[list[float | None]], rnd: random.Random) -> None:
    df = pd.DataFrame(rows, columns=PACIC, dtype=float)
    out = score_pacic(df, PACIC)
    values = out.drop(columns="pacic_n_answered").to_numpy()
    present = ~np.isnan(values)
    assert np.all((values[present] >= 1) & (values[present] <= 5))
    for i, row in enumerate(rows):
        answered = [x for x in row if x is not None]
        expected = sum(answered) / len(answered) if answered else NaN
        np.testing.assert_allclose(out["pacic"].iloc[i], expected, rtol=1e-15)
        for sub, ks in PACIC_SUBSCALES.items():
            part = [row[k - 1] for k in ks if row[k - 1] is not None]
            want = sum(part) / len(part) if part else NaN  # type: ignore[arg-type]
            np.testing.assert_allclose(out[f"pacic_{sub}"].iloc[i], want, rtol=1e-15)
    perm = shuffled(df, rnd)
    pd.testing.assert_frame_equal(score_pacic(perm, PACIC).reindex(df.index), out)
    arrays = pacic_from_responses(df.to_numpy())
    np.testing.assert_array_equal(arrays["pacic"], out["pacic"].to_numpy())

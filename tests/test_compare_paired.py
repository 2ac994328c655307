"""Paired comparisons (McNemar, paired t) against R (tests/reference/basic.R -> basic.json).

All closed forms: 1e-8 relative. The paired-proportion Wald interval has no base-R
function; basic.R computes it from the formula.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.paired import mcnemar, mcnemar_counts, paired_t, paired_t_arrays
from coachstats.errors import AnalysisError, OptionError

HERE = Path(__file__).parent / "reference"
REF: dict[str, Any] = json.loads((HERE / "basic.json").read_text())["datasets"]
DATASETS = ["balanced", "unbalanced", "small"]


def close(actual: float, expected: float, rel: float = 1e-8) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-12)


@pytest.fixture(scope="module")
def coaching() -> dict[str, pd.DataFrame]:
    """The coaching arm of each fixture: the 24-month paper compared it with itself."""
    frames = {name: pd.read_csv(HERE / "data" / f"basic_{name}.csv") for name in DATASETS}
    return {name: df[df["arm"] == "coaching"] for name, df in frames.items()}


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("correct", [True, False])
def test_mcnemar_matches_r(name: str, correct: bool, coaching: dict[str, pd.DataFrame]) -> None:
    ref = REF[name]["mcnemar"]
    r = mcnemar(coaching[name], "goal_12", "goal_24", correct=correct)
    h = ref["mcnemar" if correct else "mcnemar_nocorrect"]
    assert close(r.statistic, h["statistic"]) and close(r.p_value, h["p_value"])
    assert r.df == 1.0
    assert (r.extra["discordant_before_only"], r.extra["discordant_after_only"]) == (
        ref["b"],
        ref["c"],
    )
    for field in ("estimate", "std_error", "conf_low", "conf_high"):
        assert close(getattr(r, field), ref["wald"][field]), field
    after, before = r.arms
    assert (after.arm, before.arm) == ("goal_24", "goal_12")
    assert after.n == before.n == ref["n"]
    assert after.events == ref["a"] + ref["c"] and before.events == ref["a"] + ref["b"]
    assert r.n_excluded == ref["n_excluded"]
    assert r.outcome == "goal_24 vs goal_12"


@pytest.mark.parametrize("name", DATASETS)
def test_exact_mcnemar_matches_binom_test(name: str, coaching: dict[str, pd.DataFrame]) -> None:
    ref = REF[name]["mcnemar"]
    r = mcnemar(coaching[name], "goal_12", "goal_24", method="exact")
    assert close(r.p_value, ref["exact"]["p_value"])
    assert r.statistic == ref["exact"]["statistic"] == ref["b"]
    assert math.isnan(r.df)


def test_small_fixture_has_few_discordant_pairs() -> None:
    """The small fixture exercises the exact test where the chi-square is poor (b + c = 5)."""
    ref = REF["small"]["mcnemar"]
    assert ref["b"] + ref["c"] < 10


@pytest.mark.parametrize("name", DATASETS)
def test_paired_t_matches_r(name: str, coaching: dict[str, pd.DataFrame]) -> None:
    ref = REF[name]["paired_t"]
    r = paired_t(coaching[name], "hba1c_12", "hba1c_24")
    for field in ("estimate", "std_error", "statistic", "df", "p_value", "conf_low", "conf_high"):
        assert close(getattr(r, field), ref[field]), field
    assert r.n == 2 * ref["n"]  # two measurements of the same patients
    assert r.arms[0].n == ref["n"]
    assert r.n_excluded == ref["n_excluded"]
    assert "missing hba1c_" in r.excluded_reason


def test_hand_worked_example() -> None:
    """a, b, c, d = 100, 38, 34, 118: X2 = (|38 - 34| - 1)^2 / 72 = 0.125; d = -4/290."""
    r = mcnemar_counts(100, 38, 34, 118, labels=("month 24", "month 12"))
    assert r.arms[0].value == pytest.approx(134 / 290) and r.arms[1].value == pytest.approx(
        138 / 290
    )
    assert r.estimate == pytest.approx(-4 / 290, rel=1e-14)
    assert r.statistic == pytest.approx(0.125, rel=1e-14)
    assert r.std_error == pytest.approx(math.sqrt(72 - 16 / 290) / 290, rel=1e-14)
    assert r.p_value == pytest.approx(math.erfc(math.sqrt(0.125 / 2)), rel=1e-12)


# ----------------------------------------------------------------------------- errors
def test_errors() -> None:
    with pytest.raises(AnalysisError, match="no discordant pairs"):
        mcnemar_counts(5, 0, 0, 7)
    with pytest.raises(AnalysisError, match="same direction"):
        mcnemar_counts(0, 0, 6, 0)
    with pytest.raises(AnalysisError, match=">= 0"):
        mcnemar_counts(5, -1, 0, 7)
    with pytest.raises(OptionError, match="'asymptotic', 'exact'"):
        mcnemar_counts(5, 1, 2, 7, method="binomial")  # type: ignore[arg-type]
    df = pd.DataFrame({"g12": [1, 0, 2], "g24": [0, 1, 1]})
    with pytest.raises(AnalysisError, match="must be binary"):
        mcnemar(df, "g12", "g24")
    with pytest.raises(AnalysisError, match="at least 2 pairs"):
        paired_t_arrays([1.0], [2.0])
    with pytest.raises(AnalysisError, match="essentially constant"):
        paired_t_arrays([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    with pytest.raises(AnalysisError, match="equal length"):
        paired_t_arrays([1.0, 2.0, 3.0], [2.0, 3.0])


def test_no_correction_when_counts_equal() -> None:
    """R's mcnemar.test skips the correction when b == c (statistic 0, P = 1)."""
    r = mcnemar_counts(10, 4, 4, 10)
    assert r.statistic == 0.0 and r.p_value == 1.0
    assert r.method == "McNemar's chi-square test"


# ----------------------------------------------------------------------------- properties
@settings(max_examples=50, deadline=None)
@given(
    st.tuples(*(st.integers(0, 60) for _ in range(4))),
    st.booleans(),
    st.sampled_from(["asymptotic", "exact"]),
)
def test_mcnemar_swap_and_bounds(t: tuple[int, int, int, int], correct: bool, method: Any) -> None:
    a, b, c, d = t
    n = a + b + c + d
    if b + c == 0 or (b + c) - (c - b) ** 2 / n == 0:
        with pytest.raises(AnalysisError):
            mcnemar_counts(a, b, c, d)
        return
    fwd = mcnemar_counts(a, b, c, d, correct=correct, method=method)
    rev = mcnemar_counts(a, c, b, d, correct=correct, method=method)  # before <-> after
    assert rev.estimate == pytest.approx(-fwd.estimate, abs=1e-12)
    assert rev.p_value == pytest.approx(fwd.p_value, rel=1e-12)
    assert 0.0 <= fwd.p_value <= 1.0
    assert fwd.conf_low <= fwd.estimate <= fwd.conf_high


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 60))
def test_paired_t_swap_row_order_and_bounds(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    before = np.round(rng.normal(9, 1.5, n), 1)
    after = np.round(before + rng.normal(-0.3, 1.0, n), 1)
    if (
        np.ptp(np.round(after - before, 9)) == 0
    ):  # equal differences up to float noise: R errors too
        return
    fwd = paired_t_arrays(before, after)
    rev = paired_t_arrays(after, before)
    assert rev.estimate == pytest.approx(-fwd.estimate, abs=1e-12)
    assert rev.p_value == pytest.approx(fwd.p_value, rel=1e-9)
    perm = rng.permutation(n)
    again = paired_t_arrays(before[perm], after[perm])
    assert again.statistic == pytest.approx(fwd.statistic, rel=1e-9, abs=1e-12)
    assert 0.0 <= fwd.p_value <= 1.0
    assert fwd.conf_low <= fwd.estimate <= fwd.conf_high

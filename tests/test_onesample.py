"""One-sample tests against R binom.test, prop.test(correct = FALSE) and t.test (evaluate.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.errors import AnalysisError, OptionError
from coachstats.onesample import clopper_pearson, one_sample, one_sample_mean, one_sample_proportion

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "evaluate.json").read_text())
MEANS = pd.read_csv(HERE / "data" / "evaluate_means.csv")
CLOSED = 1e-8  # closed forms
EXACT_P = 1e-7  # binom.test's P: a sum of binomial probabilities (scipy and R sum the same terms)
BETA_Q = 1e-7  # Clopper-Pearson limits: beta quantiles (qbeta and scipy's inverse differ at ~1e-9)


@pytest.mark.parametrize("name", sorted(REF["proportions"]))
def test_proportion_tests_match_r(name: str) -> None:
    r = REF["proportions"][name]
    score = one_sample_proportion(r["x"], r["n"], r["p0"], test="score")
    assert math.isclose(score.statistic, r["score_statistic"], rel_tol=CLOSED, abs_tol=1e-12)
    assert math.isclose(score.p_value, r["score_p"], rel_tol=CLOSED)
    np.testing.assert_allclose(
        [score.conf_low, score.conf_high], r["score_ci"], rtol=CLOSED, atol=1e-12
    )
    exact = one_sample_proportion(r["x"], r["n"], r["p0"], test="exact")
    assert math.isclose(exact.p_value, r["exact_p"], rel_tol=EXACT_P)
    np.testing.assert_allclose(
        [exact.conf_low, exact.conf_high], r["exact_ci"], rtol=BETA_Q, atol=1e-12
    )
    assert exact.estimate == r["x"] / r["n"] and exact.extra["reference"] == r["p0"]


@pytest.mark.parametrize("name", sorted(REF["t_tests"]))
def test_t_test_matches_r(name: str) -> None:
    r = REF["t_tests"][name]
    d = MEANS.loc[MEANS["set"] == name]
    res = one_sample(d, "value", reference=float(d["mu0"].iloc[0]))
    assert res.estimand == "mean" and res.n == r["n"]
    for ours, theirs in [
        (res.estimate, r["mean"]),
        (res.arms[0].sd, r["sd"]),
        (res.statistic, r["statistic"]),
        (res.df, r["df"]),
        (res.p_value, r["p"]),
        (res.conf_low, r["ci"][0]),
        (res.conf_high, r["ci"][1]),
    ]:
        assert math.isclose(ours, theirs, rel_tol=CLOSED), (name, ours, theirs)


def test_one_sample_on_frames_counts_exclusions() -> None:
    df = pd.DataFrame({"goal": [1, 0, 1, 1, None, 0], "x": [1.5, 2.5, None, 3.0, 4.0, 0.0]})
    p = one_sample(df, "goal", reference=0.3, test="exact")
    assert p.estimand == "proportion" and p.arms[0].events == 3 and p.n == 5 and p.n_excluded == 1
    m = one_sample(df, "x")
    assert m.estimand == "mean" and m.n_excluded == 1 and math.isnan(m.p_value)
    with pytest.raises(OptionError):
        one_sample(df, "x", kind="median")  # type: ignore[arg-type]


def test_no_reference_gives_interval_only() -> None:
    r = one_sample_proportion(9, 20)
    assert (
        math.isnan(r.p_value)
        and r.conf_low < 0.45 < r.conf_high
        and r.method.startswith("proportion")
    )
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and 0 < hi < 1
    assert clopper_pearson(10, 10)[1] == 1.0


def test_errors() -> None:
    with pytest.raises(AnalysisError, match="0 <= events <= n"):
        one_sample_proportion(5, 4, 0.5)
    with pytest.raises(AnalysisError, match="strictly between 0 and 1"):
        one_sample_proportion(2, 4, 1.0)
    with pytest.raises(AnalysisError, match="at least 2"):
        one_sample_mean(1.0, 0.5, 1, 0.0)
    with pytest.raises(AnalysisError, match="same"):
        one_sample_mean(1.0, 0.0, 5, 0.0)
    with pytest.raises(OptionError):
        one_sample_proportion(2, 4, 0.5, test="wald")  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.02, 0.98),
)
def test_score_test_inverts_the_wilson_interval(xn: tuple[int, int], p0: float) -> None:
    x, n = xn
    r = one_sample_proportion(x, n, p0)
    assert 0 <= r.p_value <= 1 and r.conf_low <= r.estimate <= r.conf_high
    inside = r.conf_low <= p0 <= r.conf_high
    if abs(r.p_value - 0.05) > 1e-9:  # away from the boundary, the test and the interval agree
        assert inside == (r.p_value >= 0.05)
    e = one_sample_proportion(x, n, p0, test="exact")
    assert 0 <= e.p_value <= 1 and e.conf_low <= e.estimate <= e.conf_high
    # complement symmetry: events <-> non-events with 1 - p0
    flip = one_sample_proportion(n - x, n, 1 - p0, test="exact")
    assert flip.p_value == pytest.approx(e.p_value, rel=1e-9, abs=1e-12)

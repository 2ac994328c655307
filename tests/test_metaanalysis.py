"""Pooling, Cochran's Q, I² and DerSimonian-Laird against metafor::rma (tests/reference/evaluate.json)."""

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
from coachstats.metaanalysis import cochran_q, difference_test, meta_analysis, pool

REF = json.loads((Path(__file__).parent / "reference" / "evaluate.json").read_text())
CLOSED = 1e-8  # closed forms (no iteration anywhere): relative tolerance

SETS = sorted(REF["pooled"])


def close(a: float, b: float, rel: float = CLOSED) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("method", ["DL", "fixed"])
def test_pool_matches_metafor(name: str, method: str) -> None:
    ref = REF["pooled"][name]
    r = ref["DL" if method == "DL" else "FE"]
    m = pool(ref["yi"], ref["sei"], method=method)
    assert m.k == r["k"]
    for ours, theirs in [
        (m.estimate, r["estimate"]),
        (m.std_error, r["se"]),
        (m.conf_low, r["ci_lb"]),
        (m.conf_high, r["ci_ub"]),
        (m.statistic, r["zval"]),
        (m.p_value, r["pval"]),
        (m.q, r["QE"]),
        (m.q_p_value, r["QEp"]),
        (100 * m.i2, r["I2"]),
        (m.h2, r["H2"]),
        (m.tau2, r["tau2"]),
    ]:
        assert close(ours, theirs), (name, method, ours, theirs)
    np.testing.assert_allclose(m.weights, r["weights"], rtol=CLOSED)


def test_cochran_q_matches_metafor() -> None:
    for name in SETS:
        ref = REF["pooled"][name]
        q, df, p = cochran_q(ref["yi"], ref["sei"])
        assert close(q, ref["FE"]["QE"]) and df == len(ref["yi"]) - 1 and close(p, ref["FE"]["QEp"])


def test_difference_test_matches_r_and_q() -> None:
    ref = REF["pooled"]["two"]
    d = difference_test(ref["yi"][0], ref["sei"][0], ref["yi"][1], ref["sei"][1])
    r = ref["difference"]
    for ours, theirs in [
        (d.estimate, r["estimate"]),
        (d.std_error, r["se"]),
        (d.statistic, r["z"]),
        (d.p_value, r["p"]),
        (d.conf_low, r["ci_lb"]),
        (d.conf_high, r["ci_ub"]),
    ]:
        assert close(ours, theirs)
    # with two estimates, Cochran's Q is the square of the difference's z
    assert close(d.statistic**2, ref["FE"]["QE"])


def test_tau2_zero_when_q_below_df() -> None:
    ref = REF["pooled"]["homogeneous"]
    m = pool(ref["yi"], ref["sei"])
    assert m.q < m.q_df and m.tau2 == 0.0 and m.i2 == 0.0
    assert m.estimate == pytest.approx(m.fixed_estimate, rel=1e-12)


def test_log_scale_reporting() -> None:
    ref = REF["pooled"]["log_or"]
    m = pool(ref["yi"], ref["sei"], transform="exp", outcome="x", estimand="odds ratio")
    row = m.to_dict()
    assert close(row["estimate"], math.exp(ref["DL"]["estimate"]))
    assert close(row["conf_low"], math.exp(ref["DL"]["ci_lb"]))
    assert row["scale"] == "log" and "I² =" in m.summary()
    assert m.to_frame().shape[0] == 1 and "<pre" in m._repr_html_()


def test_meta_analysis_on_a_frame() -> None:
    ref = REF["pooled"]["heterogeneous"]
    df = pd.DataFrame({"trial": list("abcde"), "est": ref["yi"], "se": ref["sei"]})
    m = meta_analysis(df, "est", "se", study="trial")
    assert m.labels == tuple("abcde") and close(m.estimate, ref["DL"]["estimate"])
    df.loc[2, "se"] = np.nan
    with pytest.raises(AnalysisError, match=r"rows \[2\]"):
        meta_analysis(df, "est", "se")


def test_errors() -> None:
    with pytest.raises(AnalysisError, match="at least 2"):
        pool([0.1], [0.1])
    with pytest.raises(AnalysisError, match=r"standard error > 0"):
        pool([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(AnalysisError, match="differ in length"):
        pool([0.1, 0.2], [0.1])
    with pytest.raises(OptionError, match="'DL', 'fixed'"):
        pool([0.1, 0.2], [0.1, 0.1], method="ML")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="labels"):
        pool([0.1, 0.2], [0.1, 0.1], labels=["a"])


estimates = st.lists(
    st.tuples(
        st.floats(-2, 2, allow_nan=False),
        st.floats(0.01, 1.0, allow_nan=False),
    ),
    min_size=2,
    max_size=8,
)


@settings(max_examples=50, deadline=None)
@given(estimates, st.randoms(use_true_random=False))
def test_pool_properties(pairs: list[tuple[float, float]], rnd: object) -> None:
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    m = pool(y, s)
    assert m.q >= 0 and 0 <= m.i2 < 1 and m.tau2 >= 0 and m.h2 >= 1
    assert pool(y, s, method="fixed").h2 == pytest.approx(m.q / m.q_df)
    assert 0 <= m.p_value <= 1 and 0 <= m.q_p_value <= 1
    assert m.conf_low <= m.estimate <= m.conf_high
    assert y.min() - 1e-9 <= m.estimate <= y.max() + 1e-9
    assert sum(m.weights) == pytest.approx(1.0)
    # order of the estimates does not matter; negating them negates the pooled estimate
    order = np.random.default_rng(len(pairs)).permutation(len(pairs))
    assert pool(y[order], s[order]).estimate == pytest.approx(m.estimate, abs=1e-12)
    assert pool(-y, s).estimate == pytest.approx(-m.estimate, abs=1e-12)
    # the random-effects SE is never smaller than the fixed-effect one
    assert m.std_error >= m.fixed_std_error - 1e-15


@settings(max_examples=50, deadline=None)
@given(st.floats(-3, 3), st.floats(0.01, 2), st.floats(-3, 3), st.floats(0.01, 2))
def test_difference_is_antisymmetric(a: float, sa: float, b: float, sb: float) -> None:
    d1 = difference_test(a, sa, b, sb)
    d2 = difference_test(b, sb, a, sa)
    assert d1.estimate == pytest.approx(-d2.estimate) and d1.p_value == pytest.approx(d2.p_value)
    assert 0 <= d1.p_value <= 1 and d1.conf_low <= d1.estimate <= d1.conf_high
    assert pool([a, b], [sa, sb]).q == pytest.approx(d1.statistic**2, rel=1e-9, abs=1e-12)

"""Binary two-arm comparisons against R (tests/reference/basic.R -> basic.json).

Tolerances: closed forms (chi-square, z, Wald, Newcombe, RR, Woolf OR, Fisher P)
1e-8 relative. Fisher's conditional MLE and exact interval are roots of smooth
monotone equations; we solve them to 1e-13 on the log scale and compare at 1e-8
with the same equations solved tightly in R (``fisher_tight``). R's own
``fisher.test`` stops ``uniroot`` at its default ``tol = .Machine$double.eps^0.25``
(about 1.22e-4), absolute on the scale it searches: the odds ratio itself when the
root is in [0, 1], its reciprocal otherwise; against fisher.test we allow that
(:func:`close_uniroot`). The ``glm(binomial)`` cross-checks are iterative fits: 1e-6.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.proportions import (
    by_arm,
    chi_square,
    fisher_exact,
    newcombe_interval,
    odds_ratio,
    relative_risk,
    risk_difference,
    two_proportions,
    wilson_interval,
)
from coachstats.errors import AnalysisError, ColumnNotFoundError, DataWarning, OptionError

HERE = Path(__file__).parent / "reference"
_NONFINITE = {"Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan, "NA": math.nan}
REF: dict[str, Any] = json.loads(
    (HERE / "basic.json").read_text(),
    object_hook=lambda d: {
        k: _NONFINITE.get(v, v) if isinstance(v, str) else v for k, v in d.items()
    },
)
COUNTS = REF["counts"]
DATASETS = ["balanced", "unbalanced", "small"]
CLOSED = {"rel": 1e-8, "abs": 1e-12}


def close(actual: float, expected: float, rel: float = 1e-8, abs_: float = 1e-12) -> bool:
    if math.isinf(expected):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


def close_uniroot(actual: float, expected: float) -> bool:
    """Within R's uniroot tol on the scale fisher.test searches (OR, or 1/OR when OR > 1)."""
    if expected in (0.0, math.inf):
        return actual == expected
    scale = (lambda v: v) if expected <= 1.0 else (lambda v: 1.0 / v)
    return abs(scale(actual) - scale(expected)) <= 1.25e-4


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` ignoring the small-expected-count and Haldane DataWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kwargs)


def counts(case: dict[str, Any]) -> tuple[int, int, int, int]:
    return int(case["x1"]), int(case["n1"]), int(case["x2"]), int(case["n2"])


def patients(x1: int, n1: int, x2: int, n2: int, seed: int | None = None) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "arm": ["coaching"] * n1 + ["usual_care"] * n2,
            "goal": [1] * x1 + [0] * (n1 - x1) + [1] * x2 + [0] * (n2 - x2),
        }
    )
    if seed is not None:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(HERE / "data" / f"basic_{name}.csv") for name in DATASETS}


# ----------------------------------------------------------------------------- counts vs R
@pytest.mark.parametrize("name", sorted(COUNTS))
@pytest.mark.parametrize("correct", [False, True])
def test_chi_square_matches_chisq_test(name: str, correct: bool) -> None:
    ref = COUNTS[name]["chisq_yates" if correct else "chisq"]
    r = quiet(two_proportions, *counts(COUNTS[name]), correct=correct, ci="newcombe")
    assert close(r.statistic, ref["statistic"])
    assert close(r.p_value, ref["p_value"])
    assert r.df == 1.0 and r.statistic_name == "X-squared"
    assert close(r.extra["min_expected"], COUNTS[name]["min_expected"])


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_small_expected_count_warns_like_r(name: str) -> None:
    x = counts(COUNTS[name])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        two_proportions(*x, ci="newcombe")
    warned = any(
        issubclass(w.category, DataWarning) and "expected count" in str(w.message) for w in caught
    )
    assert warned == (COUNTS[name]["min_expected"] < 5)


@pytest.mark.parametrize("name", sorted(COUNTS))
@pytest.mark.parametrize("correct", [False, True])
def test_z_test_matches_prop_test(name: str, correct: bool) -> None:
    case = COUNTS[name]
    ref = case["prop_test_yates" if correct else "prop_test"]
    z = quiet(two_proportions, *counts(case), test="z", correct=correct, ci="newcombe")
    assert close(z.statistic**2, ref["statistic"])
    assert close(z.p_value, ref["p_value"])
    if not correct:
        assert close(z.statistic, case["z_pooled"]["statistic"])


@pytest.mark.parametrize("name", sorted(set(COUNTS) - {"newcombe_g"}))
@pytest.mark.parametrize("correct", [False, True])
def test_chi_square_with_wald_rd_is_prop_test(name: str, correct: bool) -> None:
    """chi_square(estimand='risk difference', ci='wald') reproduces prop.test entirely."""
    ref = COUNTS[name]["prop_test_yates" if correct else "prop_test"]
    r = quiet(two_proportions, *counts(COUNTS[name]), correct=correct)
    assert close(r.estimate, ref["estimate"][0] - ref["estimate"][1])
    assert close(r.conf_low, ref["conf_low"])
    assert close(r.conf_high, ref["conf_high"])
    assert close(r.p_value, ref["p_value"])
    assert close(r.arms[0].value, ref["estimate"][0])


@pytest.mark.parametrize("name", sorted(set(COUNTS) - {"newcombe_g"}))
def test_wald_risk_difference(name: str) -> None:
    ref = COUNTS[name]["rd_wald"]
    r = two_proportions(*counts(COUNTS[name]), test="wald")
    for field in ("estimate", "std_error", "statistic", "p_value"):
        assert close(getattr(r, field), ref[field]), field


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_newcombe_matches_r_formula(name: str) -> None:
    ref = COUNTS[name]["newcombe"]
    r = quiet(two_proportions, *counts(COUNTS[name]), test="fisher", ci="newcombe")
    assert close(r.conf_low, ref["conf_low"])
    assert close(r.conf_high, ref["conf_high"])


# Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (4 decimals). Examples (a) and
# (b) are also the published values checked by the R package propint's test suite.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("x", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_published_table(x: tuple[int, ...], expected: tuple[float, float]) -> None:
    lo, hi = newcombe_interval(*x)
    assert round(float(lo), 4) == pytest.approx(expected[0], abs=1e-12)
    assert round(float(hi), 4) == pytest.approx(expected[1], abs=1e-12)


@pytest.mark.parametrize("key", sorted(REF["newcombe_edge"]))
def test_newcombe_edge_cases_match_r(key: str) -> None:
    ref = REF["newcombe_edge"][key]
    lo, hi = newcombe_interval(ref["x1"], ref["n1"], ref["x2"], ref["n2"])
    assert close(float(lo), ref["ci"][0]) and close(float(hi), ref["ci"][1])


@pytest.mark.parametrize("case", REF["wilson"])
def test_wilson_matches_one_sample_prop_test(case: dict[str, Any]) -> None:
    lo, hi = wilson_interval(case["x"], case["n"], conf_level=case["conf_level"])
    assert close(float(lo), case["conf_low"]) and close(float(hi), case["conf_high"])


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.5, 0.999),
)
def test_wilson_limits_stay_in_the_unit_interval_and_contain_p(
    xn: tuple[int, int], conf_level: float
) -> None:
    # at x = 0 and x = n the limits are exactly 0 and 1 (rounding once gave 1 + 2e-16)
    x, n = xn
    lo, hi = wilson_interval(x, n, conf_level=conf_level)
    assert 0.0 <= float(lo) <= x / n <= float(hi) <= 1.0
    assert (x > 0 or float(lo) == 0.0) and (x < n or float(hi) == 1.0)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_fisher_matches_fisher_test(name: str) -> None:
    case = COUNTS[name]
    r = two_proportions(*counts(case), test="fisher", estimand="odds ratio", ci="conditional")
    assert close(r.p_value, case["fisher"]["p_value"])
    tight = case["fisher_tight"]
    for field in ("estimate", "conf_low", "conf_high"):
        assert close(getattr(r, field), tight[field]), field
        assert close_uniroot(getattr(r, field), case["fisher"][field]), field
    assert math.isnan(r.statistic) and math.isnan(r.std_error)
    assert r.method == "Fisher's exact test"


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_relative_risk_and_woolf_or(name: str) -> None:
    case = COUNTS[name]
    for estimand, key in (("relative risk", "rr"), ("odds ratio", "or_woolf")):
        ref = case[key]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = two_proportions(*counts(case), test="wald", estimand=estimand)
        haldane = any("Haldane" in str(w.message) for w in caught)
        assert haldane == ref["haldane"]
        assert ("zero_cell_correction" in r.extra) == ref["haldane"]
        for field in ("estimate", "std_error", "conf_low", "conf_high", "statistic", "p_value"):
            assert close(getattr(r, field), ref[field]), (estimand, field)


@pytest.mark.parametrize("name", sorted(n for n in COUNTS if "glm_logit" in COUNTS[n]))
def test_ratios_match_glm(name: str) -> None:
    """The Woolf OR and log-RR Wald SE are the saturated binomial GLM's.

    glm stops at its default deviance criterion (epsilon = 1e-8): estimates 1e-6, SEs 1e-4.
    """
    case = COUNTS[name]
    for estimand, key in (("odds ratio", "glm_logit"), ("relative risk", "glm_log")):
        r = two_proportions(*counts(case), test="wald", estimand=estimand)
        assert math.log(r.estimate) == pytest.approx(case[key]["log_estimate"], rel=1e-6, abs=1e-9)
        assert r.std_error == pytest.approx(case[key]["std_error"], rel=1e-4)


# ----------------------------------------------------------------------------- published numbers
@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("hcpc_composite", ".017"),
        ("hcpc_all_goals", ".050"),
        ("hcpc_hba1c", ".009"),
        ("hcpc_ldl_site_a", ".041"),
        ("peer_hba1c_drop", ".005"),
    ],
)
def test_published_pearson_p(name: str, printed: str) -> None:
    """../shared/published.md: the inferred counts give the printed Pearson P values."""
    r = two_proportions(*counts(COUNTS[name]))
    assert f"{r.p_value:.3f}".lstrip("0") == printed


def test_hcpc_composite_brief_presentation() -> None:
    r = chi_square(patients(90, 194, 61, 178), "goal")
    assert r.to_brief() == "Health coaching group: 46.4%\nUsual care group: 34.3% (P = .02)"


# ----------------------------------------------------------------------------- DataFrame API vs R
@pytest.mark.parametrize("name", DATASETS)
def test_dataframe_functions_match_r(name: str, data: dict[str, pd.DataFrame]) -> None:
    ref = REF["datasets"][name]["goal"]
    df = data[name]
    r = quiet(chi_square, df, "goal")
    assert (r.arms[0].events, r.arms[0].n, r.arms[1].events, r.arms[1].n) == counts(ref)
    assert r.n_excluded == ref["n_excluded"]
    assert r.excluded_reason == f"missing goal ({ref['n_excluded']})"
    assert close(r.p_value, ref["chisq"]["p_value"])
    assert close(r.conf_low, ref["prop_test"]["conf_low"])
    assert close(quiet(chi_square, df, "goal", correct=True).p_value, ref["chisq_yates"]["p_value"])
    f = fisher_exact(df, "goal")
    assert close(f.p_value, ref["fisher"]["p_value"])
    assert close(f.conf_high, ref["fisher_tight"]["conf_high"])
    assert close(
        odds_ratio(df, "goal", method="conditional").estimate, ref["fisher_tight"]["estimate"]
    )
    rd = quiet(risk_difference, df, "goal", ci="newcombe")
    assert close(rd.conf_low, ref["newcombe"]["conf_low"])
    assert rd.method == "Two-proportion z test" and close(
        rd.statistic, ref["z_pooled"]["statistic"]
    )
    assert close(risk_difference(df, "goal").p_value, ref["rd_wald"]["p_value"])
    assert close(relative_risk(df, "goal").conf_high, ref["rr"]["conf_high"])
    assert close(odds_ratio(df, "goal").conf_low, ref["or_woolf"]["conf_low"])
    chi_or = quiet(chi_square, df, "goal", estimand="odds ratio")
    assert close(chi_or.estimate, ref["or_woolf"]["estimate"])
    assert close(chi_or.p_value, ref["chisq"]["p_value"])


@pytest.mark.parametrize("name", DATASETS)
def test_conf_level_90(name: str, data: dict[str, pd.DataFrame]) -> None:
    ref = REF["datasets"][name]["goal_90"]
    df = data[name]
    r = quiet(chi_square, df, "goal", correct=True, conf_level=0.90)
    assert close(r.conf_low, ref["prop_test"]["conf_low"])
    assert close(r.conf_high, ref["prop_test"]["conf_high"])
    nc = quiet(risk_difference, df, "goal", ci="newcombe", conf_level=0.90)
    assert close(nc.conf_high, ref["newcombe"]["conf_high"])
    f = fisher_exact(df, "goal", conf_level=0.90)
    assert close_uniroot(f.conf_low, ref["fisher"]["conf_low"])
    assert f.conf_level == 0.90


@pytest.mark.parametrize("name", DATASETS)
def test_by_arm(name: str, data: dict[str, pd.DataFrame]) -> None:
    ref = REF["datasets"][name]["goal"]
    table = by_arm(data[name], "goal")
    x1, n1, x2, n2 = counts(ref)
    assert table["arm"].tolist() == ["coaching", "usual_care", "all"]
    assert table["n"].tolist() == [n1, n2, n1 + n2]
    assert table["events"].tolist() == [x1, x2, x1 + x2]
    assert np.allclose(
        table["percent"], [100 * x1 / n1, 100 * x2 / n2, 100 * (x1 + x2) / (n1 + n2)]
    )
    assert table["n_missing"].iloc[2] == ref["n_excluded"]
    missing_by_arm = data[name].groupby("arm")["goal"].apply(lambda s: int(s.isna().sum()))
    assert table["n_missing"].iloc[:2].tolist() == missing_by_arm.loc[table["arm"][:2]].tolist()


def test_by_arm_control_first_and_boolean_outcome() -> None:
    df = patients(3, 5, 4, 6)
    df["goal"] = df["goal"].astype(bool)
    table = by_arm(df, "goal", treatment="usual_care")
    assert table["arm"].tolist() == ["usual_care", "coaching", "all"]
    assert table["events"].tolist() == [4, 3, 7]


# ----------------------------------------------------------------------------- errors and options
@pytest.mark.parametrize("x", [(0, 10, 0, 12), (10, 10, 12, 12)])
def test_no_contrast_in_outcome_is_an_error(x: tuple[int, int, int, int]) -> None:
    with pytest.raises(AnalysisError, match="both arms"):
        two_proportions(*x)
    with pytest.raises(AnalysisError, match="both arms"):
        fisher_exact(patients(*x), "goal")


def test_single_arm_is_an_error() -> None:
    df = patients(3, 10, 0, 0)
    with pytest.raises(AnalysisError, match="exactly 2 arms"):
        chi_square(df, "goal")


def test_zero_cell_policy() -> None:
    df = patients(0, 12, 5, 15)
    with pytest.warns(DataWarning, match="Haldane"):
        rr = relative_risk(df, "goal")
    assert rr.extra["zero_cell_correction"] == 0.5
    assert rr.estimate == pytest.approx((0.5 / 13) / (5.5 / 16), rel=1e-12)
    with pytest.raises(AnalysisError, match="zero cell"):
        odds_ratio(df, "goal", zero_cell="error")
    cond = odds_ratio(df, "goal", method="conditional")  # exact: no correction needed
    assert cond.estimate == 0.0 and cond.conf_low == 0.0 and math.isfinite(cond.conf_high)


def test_degenerate_wald_risk_difference() -> None:
    df = patients(10, 10, 0, 20)
    with pytest.raises(AnalysisError, match="newcombe"):
        risk_difference(df, "goal")
    nc = quiet(risk_difference, df, "goal", ci="newcombe")
    assert nc.estimate == 1.0 and nc.conf_high == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test": "t"}, "test='t' is not allowed"),
        ({"estimand": "hazard ratio"}, "estimand="),
        ({"estimand": "relative risk", "ci": "newcombe"}, "'wald'"),
        ({"estimand": "odds ratio", "ci": "wald"}, "'woolf', 'conditional'"),
        ({"test": "fisher", "correct": True}, "correct=True"),
        ({"zero_cell": "add"}, "'haldane', 'error'"),
        ({"conf_level": 95}, "conf_level"),
    ],
)
def test_bad_options(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(OptionError, match=match):
        two_proportions(5, 20, 9, 21, **kwargs)


def test_bad_counts_and_columns() -> None:
    with pytest.raises(AnalysisError, match="0 <= events <= n"):
        two_proportions(12, 10, 3, 10)
    with pytest.raises(AnalysisError, match="whole number"):
        two_proportions(2.5, 10, 3, 10)  # type: ignore[arg-type]
    df = patients(3, 10, 5, 10)
    with pytest.raises(ColumnNotFoundError, match="'outcome'"):
        chi_square(df, "outcome")
    df["goal"] = df["goal"].map({1: "yes", 0: "no"})
    with pytest.raises(AnalysisError, match="must be binary"):
        chi_square(df, "goal")
    df["goal"] = np.where(df.index % 2 == 0, 2, 0)
    with pytest.raises(AnalysisError, match=r"found other values \[2"):
        by_arm(df, "goal")


def test_object_column_of_python_bools() -> None:
    df = patients(4, 10, 6, 10)
    df["goal"] = pd.Series([bool(v) for v in df["goal"]], dtype=object)
    df.loc[0, "goal"] = None
    r = quiet(chi_square, df, "goal")
    assert r.n_excluded == 1 and r.arms[0].events == 3


# ----------------------------------------------------------------------------- properties
tables = (
    st.tuples(st.integers(1, 120), st.integers(1, 120))
    .flatmap(
        lambda n: st.tuples(
            st.integers(0, n[0]), st.just(n[0]), st.integers(0, n[1]), st.just(n[1])
        )
    )
    .filter(lambda t: 0 < t[0] + t[2] < t[1] + t[3])
)


@settings(max_examples=50, deadline=None)
@given(tables, st.booleans())
def test_chi_square_p_equals_z_test_p(t: tuple[int, int, int, int], correct: bool) -> None:
    chi = quiet(two_proportions, *t, correct=correct, ci="newcombe")
    z = quiet(two_proportions, *t, test="z", correct=correct, ci="newcombe")
    assert z.statistic**2 == pytest.approx(chi.statistic, rel=1e-9, abs=1e-12)
    assert z.p_value == pytest.approx(chi.p_value, rel=1e-9, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(tables)
def test_swapping_arms_flips_rd_and_inverts_ratios(t: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = t
    specs = [
        ("risk difference", "newcombe", "z"),
        ("relative risk", "wald", "chi-square"),
        ("odds ratio", "woolf", "chi-square"),
        ("odds ratio", "conditional", "fisher"),
    ]
    for estimand, ci, test in specs:
        a = quiet(two_proportions, x1, n1, x2, n2, estimand=estimand, ci=ci, test=test)
        b = quiet(two_proportions, x2, n2, x1, n1, estimand=estimand, ci=ci, test=test)
        assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-12)
        if estimand == "risk difference":
            assert b.estimate == pytest.approx(-a.estimate, abs=1e-12)
            assert b.conf_low == pytest.approx(-a.conf_high, abs=1e-12)
            assert b.conf_high == pytest.approx(-a.conf_low, abs=1e-12)
        else:
            for lhs, rhs in ((b.estimate, a.estimate), (b.conf_low, a.conf_high)):
                if rhs in (0.0, math.inf):
                    assert lhs == (math.inf if rhs == 0.0 else 0.0)
                else:
                    assert lhs == pytest.approx(1.0 / rhs, rel=1e-8)


@settings(max_examples=50, deadline=None)
@given(tables, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_p_in_unit_interval_and_ci_contains_estimate(
    t: tuple[int, int, int, int], conf_level: float
) -> None:
    specs = [
        ("risk difference", "newcombe", "chi-square"),
        ("relative risk", "wald", "wald"),
        ("odds ratio", "woolf", "z"),
        ("odds ratio", "conditional", "fisher"),
    ]
    for estimand, ci, test in specs:
        r = quiet(two_proportions, *t, estimand=estimand, ci=ci, test=test, conf_level=conf_level)
        assert 0.0 <= r.p_value <= 1.0
        assert r.conf_low <= r.estimate <= r.conf_high


@settings(max_examples=25, deadline=None)
@given(tables, st.integers(0, 2**31 - 1))
def test_row_order_does_not_matter(t: tuple[int, int, int, int], seed: int) -> None:
    ordered = patients(*t)
    shuffled = patients(*t, seed=seed)
    for call in (
        lambda d: quiet(chi_square, d, "goal", ci="newcombe"),
        lambda d: quiet(chi_square, d, "goal", correct=True, estimand="relative risk"),
        lambda d: fisher_exact(d, "goal"),
    ):
        pd.testing.assert_frame_equal(call(ordered).to_frame(), call(shuffled).to_frame())
    pd.testing.assert_frame_equal(by_arm(ordered, "goal"), by_arm(shuffled, "goal"))

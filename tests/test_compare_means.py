"""Continuous two-arm comparisons against R (tests/reference/basic.R -> basic.json).

t tests and OLS are closed forms: 1e-8 relative (R's lm also uses Householder QR; the
model matrix comes from coachstats.compare.design, shared with the regression models).
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

from coachstats.compare.means import (
    ancova,
    mean_difference,
    ols,
    t_test,
    t_test_from_stats,
    two_sample_t,
)
from coachstats.errors import AnalysisError, DataWarning, OptionError

HERE = Path(__file__).parent / "reference"
REF: dict[str, Any] = json.loads((HERE / "basic.json").read_text())["datasets"]
DATASETS = ["balanced", "unbalanced", "small"]
COVARIATES = ["age", "sex", "site", "insulin"]


def close(actual: float, expected: float, rel: float = 1e-8) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-12)


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(HERE / "data" / f"basic_{name}.csv") for name in DATASETS}


# ----------------------------------------------------------------------------- t tests vs R
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("equal_var", [False, True])
def test_t_test_matches_r(name: str, equal_var: bool, data: dict[str, pd.DataFrame]) -> None:
    ref = REF[name]["t_pooled" if equal_var else "t_welch"]
    r = t_test(data[name], "hba1c_change", equal_var=equal_var)
    for field in ("estimate", "std_error", "statistic", "df", "p_value", "conf_low", "conf_high"):
        assert close(getattr(r, field), ref[field]), field
    a, b = r.arms
    assert (a.arm, b.arm) == ("coaching", "usual_care")
    assert (a.n, b.n) == (ref["n1"], ref["n2"])
    assert close(a.value, ref["mean1"]) and close(b.value, ref["mean2"])
    assert close(a.sd, ref["sd1"]) and close(b.sd, ref["sd2"])
    assert a.events is None
    assert r.n_excluded == REF[name]["t_welch"]["n_excluded"]
    assert r.method == (
        "Two-sample t test (pooled variance)" if equal_var else "Welch two-sample t test"
    )


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("equal_var", [False, True])
def test_summary_statistics_level_matches_r(name: str, equal_var: bool) -> None:
    ref = REF[name]["t_pooled" if equal_var else "t_welch"]
    r = t_test_from_stats(
        ref["mean1"],
        ref["sd1"],
        ref["n1"],
        ref["mean2"],
        ref["sd2"],
        ref["n2"],
        equal_var=equal_var,
    )
    for field in ("estimate", "std_error", "df", "p_value", "conf_low", "conf_high"):
        assert close(getattr(r, field), ref[field]), field


def test_mean_difference_is_the_t_test(data: dict[str, pd.DataFrame]) -> None:
    df = data["balanced"]
    a = mean_difference(df, "hba1c_change", conf_level=0.9)
    b = t_test(df, "hba1c_change", conf_level=0.9)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert (
        a.conf_high - a.conf_low
        < t_test(df, "hba1c_change").conf_high - t_test(df, "hba1c_change").conf_low
    )


def test_published_peer_change_score() -> None:
    """Peer trial HbA1c change -1.07 (2.8), n 122 vs -0.30 (3.1), n 114: difference -0.77."""
    r = t_test_from_stats(-1.07, 2.8, 122, -0.30, 3.1, 114, labels=("coaching", "usual_care"))
    assert r.estimate == pytest.approx(-0.77, abs=1e-12)
    se = math.sqrt(2.8**2 / 122 + 3.1**2 / 114)
    assert r.std_error == pytest.approx(se, rel=1e-12)
    assert r.to_brief().splitlines()[0] == "Health coaching group: -1.07"


# ----------------------------------------------------------------------------- ANCOVA vs lm
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("with_covariates", [False, True])
def test_ancova_matches_lm(name: str, with_covariates: bool, data: dict[str, pd.DataFrame]) -> None:
    ref = REF[name]["ancova_cov" if with_covariates else "ancova"]
    covs = COVARIATES if with_covariates else []
    df = data[name]
    r = ancova(df, "hba1c_12", "hba1c_0", covariates=covs)
    for field in ("estimate", "std_error", "statistic", "df", "p_value", "conf_low", "conf_high"):
        assert close(getattr(r, field), ref[field]), field
    assert r.n == ref["n"]
    assert r.n_excluded == len(df) - ref["n"]
    assert close(r.extra["residual_se"], ref["sigma"])
    assert close(r.extra["r_squared"], ref["r_squared"])
    assert close(r.extra["baseline_coef"], ref["baseline_coef"])
    assert r.adjusted_for == ("hba1c_0", *covs)
    assert r.estimand == "adjusted mean difference"
    # R's dummy coding: first sorted level is the reference (sexfemale, siteA absent)
    if with_covariates:
        assert {"sexmale", "siteB", "siteC"} <= set(ref["coef_names"])
        assert len(ref["coef_names"]) == 2 + 1 + 1 + 1 + 2 + 1


def test_ancova_reference_level_of_a_categorical(data: dict[str, pd.DataFrame]) -> None:
    """The arm effect does not depend on the reference level; the coding follows the dtype."""
    df = data["unbalanced"].copy()
    text = ancova(df, "hba1c_12", "hba1c_0", covariates=["site"])
    df["site"] = pd.Categorical(df["site"], categories=["C", "B", "A"])
    cat = ancova(df, "hba1c_12", "hba1c_0", covariates=["site"])
    assert cat.estimate == pytest.approx(text.estimate, rel=1e-10)
    assert cat.std_error == pytest.approx(text.std_error, rel=1e-10)
    df["site"] = df["site"].astype(object)  # object column of strings works as well
    assert ancova(df, "hba1c_12", "hba1c_0", covariates=["site"]).estimate == pytest.approx(
        text.estimate, rel=1e-10
    )


def test_ols_against_normal_equations() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(50), rng.normal(size=(50, 3))])
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=50)
    beta, vcov, sigma, df = ols(X, y)
    np.testing.assert_allclose(beta, np.linalg.solve(X.T @ X, X.T @ y), rtol=1e-10)
    resid = y - X @ beta
    assert sigma**2 == pytest.approx(resid @ resid / 46, rel=1e-12)
    np.testing.assert_allclose(vcov, sigma**2 * np.linalg.inv(X.T @ X), rtol=1e-9)
    assert df == 46.0


# ----------------------------------------------------------------------------- errors
def test_errors(data: dict[str, pd.DataFrame]) -> None:
    df = data["small"].copy()
    with pytest.raises(AnalysisError, match="exactly 2 arms"):
        t_test(df[df["arm"] == "coaching"], "hba1c_change")
    with pytest.raises(AnalysisError, match="must be numeric"):
        t_test(df, "sex")
    with pytest.raises(AnalysisError, match="not enough observations"):
        two_sample_t([1.0], [2.0, 3.0, 4.0])
    assert two_sample_t([1.0], [2.0, 3.0, 4.0], equal_var=True).df == 2.0
    with pytest.raises(AnalysisError, match="essentially constant"):
        two_sample_t([2.0, 2.0, 2.0], [2.0, 2.0])
    with pytest.raises(OptionError, match="conf_level"):
        t_test(df, "hba1c_change", conf_level=1.5)
    df["copy_of_arm"] = (df["arm"] == "coaching").astype(int)
    with pytest.raises(AnalysisError, match="aliased with the covariates"):
        ancova(df, "hba1c_12", "hba1c_0", covariates=["copy_of_arm"])
    df["constant"] = 1.0
    with pytest.warns(DataWarning, match="constant"):
        dropped = ancova(df, "hba1c_12", "hba1c_0", covariates=["constant"])
    assert dropped.estimate == pytest.approx(ancova(df, "hba1c_12", "hba1c_0").estimate, rel=1e-10)
    with pytest.raises(AnalysisError, match="must be numeric"):
        ancova(df, "hba1c_12", "sex")
    with pytest.raises(AnalysisError, match="same column"):
        ancova(df, "hba1c_12", "hba1c_12")
    three = pd.DataFrame(
        {
            "arm": ["coaching", "usual_care", "usual_care"],
            "y0": [9.0, 8.0, 10.0],
            "y": [8.0, 8.5, 9.0],
        }
    )
    with pytest.raises(AnalysisError, match="too few"):
        ancova(three, "y", "y0")


def test_inf_values_are_rejected() -> None:
    df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 3, "y": [1.0, 2, np.inf, 3, 4, 5]})
    with pytest.raises(AnalysisError, match="infinite"):
        t_test(df, "y")


# ----------------------------------------------------------------------------- properties
samples = st.lists(
    st.floats(-20, 20, allow_nan=False).map(lambda v: round(v, 2)), min_size=3, max_size=30
).filter(lambda xs: len(set(xs)) > 1)


@settings(max_examples=50, deadline=None)
@given(samples, samples, st.booleans())
def test_t_test_label_swap_and_bounds(x1: list[float], x2: list[float], equal_var: bool) -> None:
    a = two_sample_t(x1, x2, equal_var=equal_var)
    b = two_sample_t(x2, x1, equal_var=equal_var)
    assert b.estimate == pytest.approx(-a.estimate, abs=1e-9)
    assert b.conf_low == pytest.approx(-a.conf_high, abs=1e-9)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-15)
    assert 0.0 <= a.p_value <= 1.0
    assert a.conf_low <= a.estimate <= a.conf_high


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    arm = np.where(np.arange(n) % 3 == 0, "usual_care", "coaching")
    y0 = np.round(rng.normal(10, 1.5, n), 1)
    return pd.DataFrame(
        {
            "arm": arm,
            "y0": y0,
            "y12": np.round(0.5 * y0 + 4 - 0.5 * (arm == "coaching") + rng.normal(0, 1, n), 1),
            "site": rng.choice(["A", "B", "C"], n),
        }
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(12, 80))
def test_ancova_swap_and_row_order(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    df = _frame(rng, n)
    a = ancova(df, "y12", "y0", covariates=["site"])
    b = ancova(df, "y12", "y0", covariates=["site"], treatment="usual_care")
    assert b.estimate == pytest.approx(-a.estimate, abs=1e-9)
    assert b.std_error == pytest.approx(a.std_error, rel=1e-9)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-7, abs=1e-15)
    shuffled = df.sample(frac=1.0, random_state=seed % 2**31)
    c = ancova(shuffled, "y12", "y0", covariates=["site"])
    assert c.estimate == pytest.approx(a.estimate, rel=1e-9, abs=1e-12)
    assert c.std_error == pytest.approx(a.std_error, rel=1e-9)
    assert 0.0 <= a.p_value <= 1.0 and a.conf_low <= a.estimate <= a.conf_high
    t1 = t_test(df, "y12")
    t2 = t_test(shuffled, "y12")
    assert t2.estimate == pytest.approx(t1.estimate, rel=1e-12, abs=1e-12)
    assert t2.p_value == pytest.approx(t1.p_value, rel=1e-9)


def test_zero_standard_error_is_an_analysis_error() -> None:
    from coachstats.compare.means import t_inference
    from coachstats.errors import AnalysisError

    with pytest.raises(AnalysisError, match="standard error is zero"):
        t_inference(1.0, 0.0, 10.0, 0.95)

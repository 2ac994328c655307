"""Tests of coachstats.compare.missing (and its engine coachstats.compare.mice).

Reference values come from ``tests/reference/missing.R`` (R's ``mice`` 3.15) and are
stored in ``tests/reference/missing.json``; the fixtures are made by
``tests/reference/make_missing_data.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit

from coachstats.compare import mice
from coachstats.compare.missing import (
    ImputedData,
    barnard_rubin_df,
    impute,
    missing_as_failure,
    multiple_imputation,
    pool_results,
    rubin_pool,
    with_missing_as_failure,
)
from coachstats.errors import AnalysisError, ColumnNotFoundError, OptionError
from coachstats.results import ArmSummary, ComparisonResult

REF = Path(__file__).parent / "reference"
DATA = REF / "data"
MAR_COLUMNS = ["age", "sex", "hba1c_0", "bmi", "hba1c_12", "goal_met"]

CLOSED = 1e-8  # closed forms (lm, Rubin's rules)
ITER_EST = 1e-6  # iterative fits (glm): estimates
ITER_SE = 1e-4  # iterative fits: (co)variances and SEs


@cache
def reference() -> dict[str, Any]:
    with open(REF / "missing.json") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


@cache
def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"missing_{name}.csv")


# --------------------------------------------------------------------------- reference fits
# The complete-data models of missing.R: outcome ~ arm + hba1c_0 + age, usual care as the
# reference arm. lm in closed form; glm by the package's IRLS.

TERMS = ["(Intercept)", "armcoaching", "hba1c_0", "age"]


def design(d: pd.DataFrame) -> np.ndarray:
    arm = (d["arm"] == "coaching").to_numpy(float)
    return np.column_stack([np.ones(len(d)), arm, d["hba1c_0"], d["age"]])


def fit_lm(d: pd.DataFrame, y: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their variances (sigma^2 (X'X)^-1), as lm."""
    x = design(d)
    yv = d[y].to_numpy(float)
    beta, *_ = np.linalg.lstsq(x, yv, rcond=None)
    resid = yv - x @ beta
    s2 = resid @ resid / (len(yv) - x.shape[1])
    return beta, s2 * np.diag(np.linalg.inv(x.T @ x))


def fit_glm(d: pd.DataFrame, y: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and model-based variances of a binomial glm."""
    x = design(d)
    beta, chol = mice.logistic_irls(x, d[y].to_numpy(float))
    return beta, np.diag(np.linalg.inv(chol @ chol.T))


FITS: dict[str, tuple[Callable[[pd.DataFrame, str], tuple[np.ndarray, np.ndarray]], str]] = {
    "lm": (fit_lm, "hba1c_12"),
    "glm": (fit_glm, "goal_met"),
}


def arm_result(d: pd.DataFrame, model: str = "lm") -> ComparisonResult:
    """A small analysis returning a ComparisonResult (t-based lm, or Wald OR from glm)."""
    fit, y = FITS[model]
    beta, var = fit(d, y)
    se = math.sqrt(var[1])
    if model == "lm":
        df = len(d) - 4.0
        crit = stats.t.ppf(0.975, df)
        return ComparisonResult(
            outcome=y, method="linear regression", estimand="mean difference",
            estimate=beta[1], std_error=se, conf_low=beta[1] - crit * se,
            conf_high=beta[1] + crit * se, statistic=beta[1] / se, statistic_name="t",
            df=df, p_value=2 * stats.t.sf(abs(beta[1] / se), df),
            arms=(ArmSummary("coaching", int((d["arm"] == "coaching").sum()), value=1.0),
                  ArmSummary("usual_care", int((d["arm"] != "coaching").sum()), value=2.0)),
        )  # fmt: skip
    z = stats.norm.ppf(0.975)
    return ComparisonResult(
        outcome=y, method="logistic regression", estimand="odds ratio",
        estimate=math.exp(beta[1]), std_error=se, conf_low=math.exp(beta[1] - z * se),
        conf_high=math.exp(beta[1] + z * se), statistic=beta[1] / se, statistic_name="z",
        p_value=2 * stats.norm.sf(abs(beta[1] / se)),
    )  # fmt: skip


def close(actual: float, expected: float, rel: float, abs_: float = 0.0) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


# --------------------------------------------------------------------------- pooling vs mice::pool

POOL_FIELDS = ["estimate", "ubar", "b", "t", "df", "riv", "lambda", "fmi", "std_error",
               "statistic", "p_value", "conf_low", "conf_high"]  # fmt: skip
POOL_CASES = [
    (case, term)
    for case in ("mar_lm", "mar_lm_dfcom_inf", "mar_glm", "small_glm", "same_lm")
    for term in TERMS
]


def _value(pooled: Any, name: str) -> float:
    return float(getattr(pooled, "lambda_" if name == "lambda" else name))


@pytest.mark.parametrize(("case", "term"), POOL_CASES)
def test_rubin_pool_matches_mice_pool(case: str, term: str) -> None:
    """Rubin's rules on R's per-imputation estimates reproduce mice::pool to 1e-8."""
    ref = reference()["pooling"][case][term]
    dfcom = math.inf if ref["dfcom"] == "Inf" else float(ref["dfcom"])
    pooled = rubin_pool(
        ref["per_imputation_estimate"], ref["per_imputation_variance"], df_complete=dfcom
    )
    assert pooled.m == ref["m"]
    for name in POOL_FIELDS:
        # b, riv and lambda are exactly 0 in R for identical imputations; the mean of
        # identical floats can differ from them by one ulp in numpy, hence the abs tolerance
        assert close(_value(pooled, name), ref[name], CLOSED, 1e-15), name
    assert math.isclose(pooled.df_complete, dfcom)


@pytest.mark.parametrize(("dataset", "model"), [("mar", "lm"), ("mar", "glm"), ("small", "glm")])
def test_refit_and_pool_matches_mice(dataset: str, model: str) -> None:
    """Per-imputation fits on the imputed CSVs, then pooling, agree with lm/glm + mice::pool."""
    ref = reference()["pooling"][f"{dataset}_{model}"]
    long = pd.read_csv(DATA / f"missing_imputed_{dataset}.csv")
    fit, y = FITS[model]
    fits = [fit(d, y) for _, d in long.groupby(".imp")]
    est = np.array([f[0] for f in fits])
    var = np.array([f[1] for f in fits])
    rel_est, rel_var = (CLOSED, CLOSED) if model == "lm" else (ITER_EST, ITER_SE)
    for k, term in enumerate(TERMS):
        r = ref[term]
        np.testing.assert_allclose(est[:, k], r["per_imputation_estimate"], rtol=rel_est)
        np.testing.assert_allclose(var[:, k], r["per_imputation_variance"], rtol=rel_var)
        pooled = rubin_pool(est[:, k], var[:, k], df_complete=len(long) / len(fits) - 4)
        assert close(pooled.estimate, r["estimate"], rel_est)
        for name in ("ubar", "t", "std_error", "df", "fmi", "p_value"):
            assert close(_value(pooled, name), r[name], rel_var), name


def test_zero_between_imputation_variance_matches_mice() -> None:
    """Identical imputations: b = 0, lambda floored at 1e-4 in the df, as mice."""
    ref = reference()["pooling"]["same_lm"]["armcoaching"]
    q, u = ref["per_imputation_estimate"][0], ref["per_imputation_variance"][0]
    pooled = rubin_pool([q, q, q], [u, u, u], df_complete=ref["dfcom"])
    assert pooled.b == 0.0 and pooled.riv == 0.0 and pooled.t == u
    assert close(pooled.df, ref["df"], CLOSED)
    # lambda floor: df_old = (m - 1) / 1e-4^2 dominates, so df is just below df_obs
    df_obs = (ref["dfcom"] + 1) / (ref["dfcom"] + 3) * ref["dfcom"] * (1 - 1e-4)
    assert pooled.df < df_obs and close(pooled.df, df_obs, 1e-5)
    assert close(pooled.fmi, 2 / (pooled.df + 3), CLOSED)


def test_barnard_rubin_infinite_complete_df_is_rubin_1987() -> None:
    m, b, t = 5, 0.02, 0.1
    assert barnard_rubin_df(m, b, t) == pytest.approx((m - 1) / ((1 + 1 / m) * b / t) ** 2)
    # finite complete-data df always shrinks the df
    assert barnard_rubin_df(m, b, t, 50) < barnard_rubin_df(m, b, t)


def test_rubin_needs_two_imputations() -> None:
    with pytest.raises(AnalysisError, match="m >= 2"):
        rubin_pool([1.0], [0.1])
    with pytest.raises(AnalysisError, match="m >= 2"):
        pool_results([arm_result(fixture("mcar").assign(hba1c_12=lambda d: d.hba1c_12_full))])
    with pytest.raises(AnalysisError, match="m >= 2"):
        multiple_imputation(fixture("mar"), arm_result, columns=MAR_COLUMNS, m=1, seed=1)


def test_rubin_pool_rejects_bad_input() -> None:
    with pytest.raises(AnalysisError, match="total variance is zero"):
        rubin_pool([1.0, 1.0], [0.0, 0.0])
    with pytest.raises(AnalysisError, match="2 estimates but 3"):
        rubin_pool([1.0, 2.0], [0.1, 0.1, 0.1])
    with pytest.raises(AnalysisError, match="finite"):
        rubin_pool([1.0, math.nan], [0.1, 0.1])
    with pytest.raises(AnalysisError, match=">= 0"):
        rubin_pool([1.0, 2.0], [0.1, -0.1])


finite = st.floats(-50, 50, allow_nan=False)
positive = st.floats(1e-4, 10, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(finite, positive), min_size=2, max_size=30),
    st.one_of(st.just(math.inf), st.floats(1, 1e4)),
    st.randoms(use_true_random=False),
)
def test_rubin_pool_properties(pairs: list[tuple[float, float]], dfcom: float, rnd: Any) -> None:
    q = [p[0] for p in pairs]
    u = [p[1] for p in pairs]
    pooled = rubin_pool(q, u, df_complete=dfcom)
    assert 0.0 <= pooled.p_value <= 1.0
    assert 0.0 <= pooled.fmi <= 1.0 and 0.0 <= pooled.lambda_ <= 1.0
    assert pooled.conf_low <= pooled.estimate <= pooled.conf_high
    assert pooled.t >= pooled.ubar and pooled.df > 0
    # the order of the imputations does not matter
    order = list(range(len(q)))
    rnd.shuffle(order)
    shuffled = rubin_pool([q[i] for i in order], [u[i] for i in order], df_complete=dfcom)
    assert shuffled.estimate == pytest.approx(pooled.estimate, rel=1e-9, abs=1e-9)
    assert shuffled.t == pytest.approx(pooled.t, rel=1e-9)
    # negating every estimate (swapping arms) negates the estimate and keeps p and df
    neg = rubin_pool([-x for x in q], u, df_complete=dfcom)
    assert neg.estimate == pytest.approx(-pooled.estimate, abs=1e-9)
    assert neg.p_value == pytest.approx(pooled.p_value, rel=1e-9, abs=1e-12)
    assert neg.df == pytest.approx(pooled.df, rel=1e-9)


# --------------------------------------------------------------------------- imputation steps vs mice


def test_logreg_augmentation_and_fit_match_mice() -> None:
    """mice:::augment rows and the weighted glm.fit on them (deterministic part of logreg)."""
    ref = reference()["steps"]["logreg"]
    d, long = fixture("mar"), pd.read_csv(DATA / "missing_imputed_mar.csv")
    imp1 = long[long[".imp"] == 1].reset_index(drop=True)
    x = np.column_stack([
        (d["arm"] == "coaching").to_numpy(float), d["age"], (d["sex"] == "M").to_numpy(float),
        d["hba1c_0"], imp1["bmi"], imp1["hba1c_12"],
    ])  # fmt: skip
    y = imp1["goal_met"].to_numpy(float)
    xa, ya, wa = mice._augment(x, y)
    np.testing.assert_allclose(xa, ref["augmented_x"], rtol=CLOSED)
    np.testing.assert_array_equal(ya, ref["augmented_y"])
    np.testing.assert_allclose(wa, ref["augmented_w"], rtol=CLOSED)
    ry = d["goal_met"].notna().to_numpy()
    x_fit = np.vstack([np.column_stack([np.ones(len(x)), x])[ry],
                       np.column_stack([np.ones(len(xa)), xa])])  # fmt: skip
    beta, chol = mice.logistic_irls(x_fit, np.r_[y[ry], ya], np.r_[np.ones(ry.sum()), wa])
    np.testing.assert_allclose(beta, ref["coef"], rtol=ITER_EST)
    np.testing.assert_allclose(np.linalg.inv(chol @ chol.T), ref["cov_unscaled"], rtol=ITER_SE)


def test_match_donors_nearest_matches_matchindex() -> None:
    """With one donor, matching is deterministic: the nearest donor, as mice:::matchindex."""
    ref = reference()["steps"]["matchindex"]
    idx = mice.match_donors(
        np.array(ref["d"]), np.array(ref["t"]), donors=1, rng=np.random.default_rng(0)
    )
    np.testing.assert_array_equal(idx + 1, ref["index_k1"])


def test_pmm_step_matches_mice_in_distribution() -> None:
    """One pmm step, many draws: per-patient mean imputations agree with mice.impute.pmm.

    R stored the mean and SD over 20000 draws for each of the 61 missing values. With
    n = 2000 Python draws, the difference of the two means of patient i has SD
    sqrt(sd_py^2 / 2000 + sd_R^2 / 20000); with 61 patients a |z| above 4.5 would happen by
    chance with probability about 61 * 7e-6 = 4e-4. The average over patients is checked
    against the SD of the draw averages (which includes the correlation between patients
    through the shared coefficient draw), at 4 SD.
    """
    ref = reference()["steps"]["pmm"]
    d, long = fixture("mar"), pd.read_csv(DATA / "missing_imputed_mar.csv")
    imp1 = long[long[".imp"] == 1].reset_index(drop=True)
    x = np.column_stack([
        np.ones(len(d)), (d["arm"] == "coaching").to_numpy(float), d["age"],
        (d["sex"] == "M").to_numpy(float), d["hba1c_0"], imp1["bmi"], imp1["goal_met"],
    ])  # fmt: skip
    y = d["hba1c_12"].to_numpy(float)
    obs = ~np.isnan(y)
    rng = np.random.default_rng(11)
    n = 2000
    draws = np.array([mice._impute_pmm(x[obs], y[obs], x[~obs], rng, 5) for _ in range(n)])
    se = np.sqrt(draws.var(axis=0, ddof=1) / n + np.square(ref["row_sd"]) / ref["n_draws"])
    z = (draws.mean(axis=0) - np.array(ref["row_mean"])) / se
    assert np.abs(z).max() < 4.5
    avg_sd = np.hypot(draws.mean(axis=1).std(ddof=1) / math.sqrt(n),
                      ref["sd_of_draw_average"] / math.sqrt(ref["n_draws"]))  # fmt: skip
    assert abs(draws.mean() - np.mean(ref["row_mean"])) < 4 * avg_sd


def test_logreg_step_matches_its_expectation_under_mice_fit() -> None:
    """The logreg draw has mean E[expit(x'beta*)], beta* ~ N(beta, cov.unscaled) of R's fit.

    The expectation is integrated by Monte Carlo from R's coefficients (100000 draws, SD
    < 0.002 per patient); 500 Python steps give each patient's mean with SD <= 0.023, so a
    4.5-SD bound has false-alarm probability below 1e-3 over the 49 patients.
    """
    ref = reference()["steps"]["logreg"]
    d, long = fixture("mar"), pd.read_csv(DATA / "missing_imputed_mar.csv")
    imp1 = long[long[".imp"] == 1].reset_index(drop=True)
    x = np.column_stack([
        np.ones(len(d)), (d["arm"] == "coaching").to_numpy(float), d["age"],
        (d["sex"] == "M").to_numpy(float), d["hba1c_0"], imp1["bmi"], imp1["hba1c_12"],
    ])  # fmt: skip
    y = imp1["goal_met"].to_numpy(float)
    obs = d["goal_met"].notna().to_numpy()
    rng = np.random.default_rng(12)
    chol = np.linalg.cholesky(np.array(ref["cov_unscaled"]))
    betas = np.array(ref["coef"]) + rng.standard_normal((100_000, 7)) @ chol.T
    expected = expit(x[~obs] @ betas.T).mean(axis=1)
    n = 500
    draws = np.array([mice._impute_logreg(x[obs], y[obs], x[~obs], rng, x, y) for _ in range(n)])
    assert set(np.unique(draws)) <= {0.0, 1.0}
    se = np.sqrt(expected * (1 - expected) / n + 0.002**2)
    assert np.abs((draws.mean(axis=0) - expected) / se).max() < 4.5


# --------------------------------------------------------------------------- imputation vs mice


DIST_CASES = {
    "mar_pmm": ("mar", MAR_COLUMNS, {}, 1),
    "mar_norm": ("mar", MAR_COLUMNS, {"bmi": "norm", "hba1c_12": "norm"}, 2),
    "small_logreg": ("small", ["age", "hba1c_0", "goal_met"], {}, 3),
}


@cache
def python_mi(case: str) -> dict[str, tuple[Any, np.ndarray]]:
    """coachstats' MI (m and maxit as in R) of one reference case, pooled like mice::pool.

    Returns ``{model: (pooled arm coefficient, per-imputation variances)}``.
    """
    dataset, columns, methods, seed = DIST_CASES[case]
    data = fixture(dataset)
    ref = reference()["distribution"][case]
    m = next(iter(ref["models"].values()))["m"]
    imp = impute(data, columns, m=m, seed=seed, maxit=ref["maxit"], methods=methods)
    out = {}
    for model, (fit, y) in FITS.items():
        if _model_key(model) not in ref["models"]:
            continue
        fits = [fit(d, y) for d in imp]
        est = np.array([f[0][1] for f in fits])
        var = np.array([f[1][1] for f in fits])
        out[model] = (rubin_pool(est, var, df_complete=len(data) - 4), var)
    return out


def _model_key(model: str) -> str:
    return {"lm": "lm_hba1c", "glm": "glm_goal"}[model]


@pytest.mark.parametrize(
    ("case", "model"),
    [
        ("mar_pmm", "lm"),
        ("mar_pmm", "glm"),
        ("mar_norm", "lm"),
        ("mar_norm", "glm"),
        ("small_logreg", "glm"),
    ],
)
def test_imputation_agrees_with_mice_in_distribution(case: str, model: str) -> None:
    """Pooled estimate and variance agree with R's mice run on the same incomplete data.

    The random streams differ, so agreement is in distribution. Each pooled estimate is
    a mean of m draws whose variance is the between-imputation variance b, so its Monte
    Carlo variance is b / m; if the two implementations draw from the same imputation
    distribution, the difference is about N(0, b_py/m + b_R/m), and |diff| < 4 SD fails by
    chance with probability 6e-5. For the total variance t = ubar + (1 + 1/m) b the Monte
    Carlo variance is var(u_i)/m (for ubar) + (1 + 1/m)^2 * 2 b^2 / (m - 1) (for b, as for a
    sample variance of normal draws), again at 4 SD.
    """
    pooled, var = python_mi(case)[model]
    r = reference()["distribution"][case]["models"][_model_key(model)]
    m_py, m_r = pooled.m, r["m"]
    mc_est = math.sqrt(pooled.b / m_py + r["b"] / m_r)
    assert abs(pooled.estimate - r["estimate"]) < 4 * mc_est

    def var_t(b: float, var_u: float, m: int) -> float:
        return var_u / m + (1 + 1 / m) ** 2 * 2 * b**2 / (m - 1)

    mc_t = math.sqrt(var_t(pooled.b, var.var(ddof=1), m_py) + var_t(r["b"], r["var_u"], m_r))
    assert abs(pooled.t - r["t"]) < 4 * mc_t
    assert 0 <= pooled.fmi <= 1


@pytest.mark.parametrize(("model", "y_full"), [("lm", "hba1c_12_full"), ("glm", "goal_full")])
def test_mcar_estimate_close_to_full_data(model: str, y_full: str) -> None:
    """Under MCAR, MI recovers the full-data estimate within the information lost.

    The full-data estimate is efficient and the MI estimate is consistent for the same
    coefficient, so their difference has variance Var(MI) - Var(full) (Hausman), which
    is estimated by t - u_full; the bound is 4 SD. The full-data fit is checked against R.
    """
    data = fixture("mcar")
    fit, y = FITS[model]
    full = data.assign(**{y: data[y_full]})
    beta, var = fit(full, y)
    ref = reference()["full_data"][_model_key(model)]
    rel_est, rel_se = (CLOSED, CLOSED) if model == "lm" else (ITER_EST, ITER_SE)
    assert close(beta[1], ref["estimate"], rel_est)
    assert close(math.sqrt(var[1]), ref["std_error"], rel_se)
    imp = impute(data, ["age", "hba1c_0", "hba1c_12", "goal_met"], m=20, seed=4)
    fits = [fit(d, y) for d in imp]
    pooled = rubin_pool([f[0][1] for f in fits], [f[1][1] for f in fits],
                        df_complete=len(data) - 4)  # fmt: skip
    assert pooled.t > var[1]  # missing data cost information
    assert abs(pooled.estimate - beta[1]) < 4 * math.sqrt(pooled.t - var[1])
    assert pooled.fmi > 0.05


# --------------------------------------------------------------------------- impute: behaviour


@cache
def mar_imputed(m: int = 5, seed: int = 9) -> ImputedData:
    return impute(fixture("mar"), MAR_COLUMNS, m=m, seed=seed, maxit=5)


def test_impute_structure_and_defaults() -> None:
    data = fixture("mar")
    imp = mar_imputed()
    assert imp.columns == ("bmi", "hba1c_12", "goal_met")  # complete columns not imputed
    assert imp.methods == {"bmi": "pmm", "hba1c_12": "pmm", "goal_met": "logreg"}
    assert imp.n_imputed == int(data[list(imp.columns)].isna().sum().sum())
    assert len(imp) == 5 and len(list(imp)) == 5
    assert imp.label == "multiple imputation (m=5, seed=9)"
    for col in imp.columns:
        assert imp.values[col].shape == (5, int(data[col].isna().sum()))
    completed = imp.complete(2)
    assert not completed[MAR_COLUMNS].isna().any().any()
    observed = data["hba1c_12"].notna()
    pd.testing.assert_series_equal(completed.loc[observed, "hba1c_12"],
                                   data.loc[observed, "hba1c_12"])  # fmt: skip
    pd.testing.assert_frame_equal(
        completed.drop(columns=list(imp.columns)), data.drop(columns=list(imp.columns))
    )
    long = imp.long()
    assert list(long.columns[:2]) == [".imp", ".id"] and len(long) == 5 * len(data)
    pd.testing.assert_frame_equal(
        long[long[".imp"] == 3].drop(columns=[".imp", ".id"]).reset_index(drop=True),
        imp.complete(2).reset_index(drop=True),
    )
    with pytest.raises(IndexError):
        imp.complete(5)


def test_pmm_imputes_observed_values_only() -> None:
    data = fixture("mar")
    imp = mar_imputed()
    for col in ("bmi", "hba1c_12"):
        observed = data[col].dropna()
        values = imp.values[col]
        assert np.isin(values, observed.to_numpy()).all()
        assert values.min() >= observed.min() and values.max() <= observed.max()


def test_binary_imputations_are_zero_one() -> None:
    imp = mar_imputed()
    assert set(np.unique(imp.values["goal_met"])) == {0.0, 1.0}
    # boolean columns come back as bool
    data = fixture("small").assign(
        goal_met=lambda d: d["goal_met"].map({1.0: True, 0.0: False}).astype("boolean")
    )
    completed = impute(data, ["age", "hba1c_0", "goal_met"], m=2, seed=1, maxit=2).complete(0)
    assert completed["goal_met"].dtype == bool


def test_norm_imputes_continuous_draws() -> None:
    imp = impute(fixture("mar"), MAR_COLUMNS, m=3, seed=1, maxit=3,
                 methods={"hba1c_12": "norm"})  # fmt: skip
    values = imp.values["hba1c_12"]
    observed = fixture("mar")["hba1c_12"].dropna().to_numpy()
    assert not np.isin(values, observed).all()  # norm draws are not copies of donors
    assert abs(values.mean() - observed.mean()) < 1.5


def test_same_seed_same_imputations_other_seed_differs() -> None:
    a = impute(fixture("mar"), MAR_COLUMNS, m=3, seed=123, maxit=3)
    b = impute(fixture("mar"), MAR_COLUMNS, m=3, seed=123, maxit=3)
    c = impute(fixture("mar"), MAR_COLUMNS, m=3, seed=124, maxit=3)
    for col in a.columns:
        np.testing.assert_array_equal(a.values[col], b.values[col])
        assert not np.array_equal(a.values[col], c.values[col])
    # the chains are independent: imputation i does not depend on m
    d = impute(fixture("mar"), MAR_COLUMNS, m=5, seed=123, maxit=3)
    for col in a.columns:
        np.testing.assert_array_equal(a.values[col], d.values[col][:3])
    # and the imputations within one run differ from each other
    assert not np.array_equal(a.values["hba1c_12"][0], a.values["hba1c_12"][1])


def test_generator_seed_is_accepted_and_reproducible() -> None:
    a = impute(fixture("small"), ["age", "hba1c_0", "goal_met"], m=2, maxit=2,
               seed=np.random.default_rng(5))  # fmt: skip
    b = impute(fixture("small"), ["age", "hba1c_0", "goal_met"], m=2, maxit=2,
               seed=np.random.default_rng(5))  # fmt: skip
    np.testing.assert_array_equal(a.values["goal_met"], b.values["goal_met"])


def _arm_determined() -> pd.DataFrame:
    """y is about 1 in coaching and 2 in usual care, 1/3 missing.

    The noise keeps the correlation of arm and y below 0.99, where mice (and coachstats)
    would drop the arm from the model as collinear with y.
    """
    rng = np.random.default_rng(0)
    n = 90
    arm = np.repeat(["coaching", "usual_care"], n // 2)
    y = np.where(arm == "coaching", 1.0, 2.0) + 0.2 * rng.normal(size=n)
    y[::3] = np.nan
    return pd.DataFrame({"arm": arm, "x": rng.normal(size=n), "y": y})


@pytest.mark.parametrize("arm_model", ["predictor", "stratified"])
def test_arm_informs_imputation(arm_model: str) -> None:
    """Whether a predictor or strata, the arm makes pmm take donors from the same arm."""
    data = _arm_determined()
    imp = impute(data, ["x", "y"], m=4, seed=3, maxit=2, arm_model=arm_model)  # type: ignore[arg-type]
    missing_arm = data.loc[data["y"].isna(), "arm"].to_numpy()
    values = imp.values["y"]
    for arm in ("coaching", "usual_care"):
        donors = data.loc[(data["arm"] == arm) & data["y"].notna(), "y"].to_numpy()
        assert np.isin(values[:, missing_arm == arm], donors).all()
    # without the arm the two groups mix
    mixed = impute(data, ["x", "y"], arm=None, m=4, seed=3, maxit=2).values["y"]
    usual = data.loc[data["arm"] == "usual_care", "y"].dropna().to_numpy()
    assert np.isin(mixed[:, missing_arm == "coaching"], usual).any()


def test_predictors_restrict_the_model() -> None:
    rng = np.random.default_rng(1)
    n = 200
    x = rng.normal(size=n)
    data = pd.DataFrame({"arm": np.tile(["coaching", "usual_care"], n // 2), "x": x,
                         "z": rng.normal(size=n), "y": x + 0.3 * rng.normal(size=n)})  # fmt: skip
    data.loc[::4, "y"] = np.nan
    miss = data["y"].isna().to_numpy()
    with_x = impute(data, ["x", "z", "y"], m=2, seed=1, maxit=1).values["y"]
    without_x = impute(data, ["x", "z", "y"], m=2, seed=1, maxit=1,
                       predictors={"y": ["z"]}).values["y"]  # fmt: skip
    # (y = x + noise with SD 0.3: correlation below mice's 0.99 collinearity cut-off)
    assert np.abs(with_x - x[miss]).mean() < 0.5
    assert np.abs(without_x - x[miss]).mean() > 0.8


def test_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    impute(fixture("small"), ["age", "hba1c_0", "goal_met"], m=3, seed=1, maxit=2,
           progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(i, 6) for i in range(1, 7)]
    calls.clear()
    multiple_imputation(fixture("small"), lambda d: arm_result(d, "glm"),
                        columns=["age", "hba1c_0", "goal_met"], m=2, seed=1, maxit=2,
                        progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(i, 6) for i in range(1, 7)]


def test_impute_errors_name_the_problem() -> None:
    data = fixture("mar")
    with pytest.raises(AnalysisError, match=r"'arm' \(arm\) has missing values in rows 3"):
        impute(data.assign(arm=data["arm"].mask(data.index == 3)), MAR_COLUMNS, m=2, seed=1)
    with pytest.raises(AnalysisError, match="single level"):
        impute(data.assign(arm="coaching"), MAR_COLUMNS, m=2, seed=1)
    with pytest.raises(AnalysisError, match="'logreg' needs a binary"):
        impute(data, MAR_COLUMNS, m=2, seed=1, methods={"hba1c_12": "logreg"})
    with pytest.raises(AnalysisError, match="'norm' for binary column 'goal_met'"):
        impute(data, MAR_COLUMNS, m=2, seed=1, methods={"goal_met": "norm"})
    with pytest.raises(OptionError, match="'pmm', 'norm', 'logreg'"):
        impute(data, MAR_COLUMNS, m=2, seed=1, methods={"bmi": "cart"})
    with pytest.raises(OptionError, match="'predictor', 'stratified'"):
        impute(data, MAR_COLUMNS, m=2, seed=1, arm_model="within")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="categorical"):
        impute(data.assign(sex=data["sex"].mask(data.index == 0)), MAR_COLUMNS, m=2, seed=1)
    with pytest.raises(AnalysisError, match="is the arm"):
        impute(data, ["arm", *MAR_COLUMNS], m=2, seed=1)
    with pytest.raises(ColumnNotFoundError, match="'weight'"):
        impute(data, [*MAR_COLUMNS, "weight"], m=2, seed=1)
    with pytest.raises(AnalysisError, match="not among the imputation columns"):
        impute(data, MAR_COLUMNS, m=2, seed=1, predictors={"bmi": ["weight"]})
    with pytest.raises(AnalysisError, match="column 'bmi' has 1 observed"):
        impute(data.assign(bmi=np.r_[25.0, [np.nan] * (len(data) - 1)]), MAR_COLUMNS, m=2,
               seed=1)  # fmt: skip
    with pytest.raises(AnalysisError, match="m and maxit"):
        impute(data, MAR_COLUMNS, m=0, seed=1)


# --------------------------------------------------------------------------- pooling results


def test_multiple_imputation_pools_the_analysis() -> None:
    """The pipeline equals impute -> analysis -> rubin_pool, with the df of the t analysis."""
    data = fixture("mar")
    result = multiple_imputation(data, arm_result, columns=MAR_COLUMNS, m=5, seed=9, maxit=5)
    fits = [fit_lm(d, "hba1c_12") for d in mar_imputed()]
    pooled = rubin_pool([f[0][1] for f in fits], [f[1][1] for f in fits],
                        df_complete=len(data) - 4)  # fmt: skip
    assert result.estimate == pytest.approx(pooled.estimate, rel=1e-12)
    assert result.std_error == pytest.approx(pooled.std_error, rel=1e-12)
    assert result.df == pytest.approx(pooled.df, rel=1e-12)
    assert result.p_value == pytest.approx(pooled.p_value, rel=1e-9)
    assert (result.conf_low, result.conf_high) == pytest.approx(
        (pooled.conf_low, pooled.conf_high), rel=1e-12
    )
    assert result.missing == "multiple imputation (m=5, seed=9)"
    assert result.statistic_name == "t" and result.n_excluded == 0
    assert result.extra["m"] == 5 and result.extra["maxit"] == 5
    assert result.extra["fmi"] == pytest.approx(pooled.fmi)
    assert result.extra["riv"] == pytest.approx(pooled.riv)
    assert result.extra["n_imputed"] == mar_imputed().n_imputed
    assert [a.n for a in result.arms] == [150, 110]
    assert "fmi" in result.to_frame().columns


def test_ratios_are_pooled_on_the_log_scale() -> None:
    data = fixture("mar")
    result = multiple_imputation(data, lambda d: arm_result(d, "glm"), columns=MAR_COLUMNS,
                                 m=5, seed=9, maxit=5)  # fmt: skip
    fits = [fit_glm(d, "goal_met") for d in mar_imputed()]
    pooled = rubin_pool([f[0][1] for f in fits], [f[1][1] for f in fits])  # z-based: dfcom inf
    assert result.extra["scale"] == "log"
    assert result.estimate == pytest.approx(math.exp(pooled.estimate), rel=1e-10)
    assert result.std_error == pytest.approx(pooled.std_error, rel=1e-10)  # log scale
    assert result.conf_low == pytest.approx(math.exp(pooled.conf_low), rel=1e-10)
    assert result.conf_high == pytest.approx(math.exp(pooled.conf_high), rel=1e-10)
    assert result.conf_low < result.estimate < result.conf_high
    assert result.df == pytest.approx(pooled.df, rel=1e-10)


def test_pool_results_derives_se_from_the_ci_when_missing() -> None:
    base = ComparisonResult(outcome="y", method="m", estimand="risk difference", estimate=0.1,
                            conf_low=0.1 - 1.959963984540054 * 0.05,
                            conf_high=0.1 + 1.959963984540054 * 0.05)  # fmt: skip
    rs = [base, base.replace(estimate=0.2, conf_low=base.conf_low + 0.1,
                             conf_high=base.conf_high + 0.1)]  # fmt: skip
    pooled = pool_results(rs)
    assert pooled.extra["ubar"] == pytest.approx(0.05**2, rel=1e-12)
    assert pooled.estimate == pytest.approx(0.15)


def test_pool_results_checks_its_input() -> None:
    a = ComparisonResult(outcome="y", method="m", estimand="odds ratio", estimate=2.0,
                         conf_low=1.0, conf_high=4.0)  # fmt: skip
    with pytest.raises(AnalysisError, match="differ"):
        pool_results([a, a.replace(outcome="z")])
    with pytest.raises(AnalysisError, match="log scale"):
        pool_results([a, a.replace(estimate=0.0, conf_low=0.0)])
    with pytest.raises(AnalysisError, match="ComparisonResult"):
        pool_results([a, "not a result"])  # type: ignore[list-item]
    with pytest.raises(AnalysisError, match="neither a standard error nor a CI"):
        pool_results([a.replace(estimand="risk difference", conf_high=math.nan)] * 2)


# --------------------------------------------------------------------------- missing = failure


def test_missing_as_failure_recodes_and_counts() -> None:
    data = fixture("mar")
    out, n = missing_as_failure(data, "goal_met")
    assert n == int(data["goal_met"].isna().sum()) > 0
    assert out["goal_met"].notna().all()
    assert (out.loc[data["goal_met"].isna(), "goal_met"] == 0).all()
    pd.testing.assert_series_equal(out["goal_met"][data["goal_met"].notna()],
                                   data["goal_met"].dropna())  # fmt: skip
    assert data["goal_met"].isna().sum() == n  # the input is untouched


@pytest.mark.parametrize(
    ("values", "dtype", "expected_dtype"),
    [
        ([1, None, 0], "Int64", "Int64"),
        ([True, None, False], "boolean", "bool"),
        ([True, None, False], object, "bool"),
        ([1.0, None, 0.0], float, "float64"),
    ],
)
def test_missing_as_failure_keeps_the_dtype(
    values: list[Any], dtype: Any, expected_dtype: str
) -> None:
    out, n = missing_as_failure(pd.DataFrame({"g": pd.Series(values, dtype=dtype)}), "g")
    assert n == 1 and str(out["g"].dtype) == expected_dtype
    assert out["g"].astype(float).tolist() == [1.0, 0.0, 0.0]


def test_missing_as_failure_respects_the_denominator() -> None:
    d = pd.DataFrame({"goal": [1.0, np.nan, np.nan, 0.0], "eligible": [True, True, False, True]})
    out, n = missing_as_failure(d, "goal", eligible="eligible")
    assert n == 1
    assert out["goal"].tolist()[:2] == [1.0, 0.0] and np.isnan(out["goal"].iloc[2])


def test_missing_as_failure_errors() -> None:
    with pytest.raises(AnalysisError, match=r"'g' must be binary.*rows 1"):
        missing_as_failure(pd.DataFrame({"g": [0.0, 2.0, np.nan]}), "g")
    with pytest.raises(AnalysisError, match="must be binary"):
        missing_as_failure(pd.DataFrame({"g": ["yes", None]}), "g")
    with pytest.raises(AnalysisError, match="'e' \\(eligible\\) must be boolean"):
        missing_as_failure(pd.DataFrame({"g": [0.0, np.nan], "e": [1, 0]}), "g", eligible="e")
    with pytest.raises(ColumnNotFoundError):
        missing_as_failure(pd.DataFrame({"g": [0.0]}), "goal")


def test_with_missing_as_failure_labels_the_result() -> None:
    data = fixture("small")
    n_miss = int(data["goal_met"].isna().sum())
    result = with_missing_as_failure(data, lambda d: arm_result(d, "glm"), outcome="goal_met")
    assert result.missing == f"missing goal_met counted as failure ({n_miss} recoded)"
    recoded, _ = missing_as_failure(data, "goal_met")
    assert result.estimate == pytest.approx(arm_result(recoded, "glm").estimate, rel=1e-12)


# --------------------------------------------------------------------------- with the package's analyses


def test_multiple_imputation_with_models_matches_mice_pool() -> None:
    """End to end against R: the imputations of missing_imputed_mar.csv, analysed and pooled.

    make_missing_data.py wrote that file with impute(m=5, seed=20240501) and the default
    maxit, so multiple_imputation with the same arguments re-creates the same datasets;
    missing.R fitted lm / glm on them and pooled with mice::pool (dfcom = n - k = 256).
    """
    from coachstats.compare.models import linear, logistic

    data = fixture("mar")
    long = pd.read_csv(DATA / "missing_imputed_mar.csv")
    first = impute(data, MAR_COLUMNS, m=5, seed=20240501)
    for i, completed in enumerate(first):
        expected = long[long[".imp"] == i + 1]
        np.testing.assert_array_equal(completed["hba1c_12"], expected["hba1c_12"])
        np.testing.assert_array_equal(completed["goal_met"], expected["goal_met"])

    ref = reference()["pooling"]["mar_lm"]["armcoaching"]
    lm_result = multiple_imputation(
        data, lambda d: linear(d, "hba1c_12", covariates=["hba1c_0", "age"]),
        columns=MAR_COLUMNS, m=5, seed=20240501,
    )  # fmt: skip
    assert lm_result.extra["df_complete"] == ref["dfcom"]  # linear's n - k, as mice
    for ours, name in [(lm_result.estimate, "estimate"), (lm_result.std_error, "std_error"),
                       (lm_result.df, "df"), (lm_result.p_value, "p_value"),
                       (lm_result.conf_low, "conf_low"), (lm_result.conf_high, "conf_high"),
                       (lm_result.extra["fmi"], "fmi"), (lm_result.extra["riv"], "riv")]:  # fmt: skip
        assert close(ours, ref[name], CLOSED), name

    ref = reference()["pooling"]["mar_glm"]["armcoaching"]
    or_result = multiple_imputation(
        data, lambda d: logistic(d, "goal_met", covariates=["hba1c_0", "age"]),
        columns=MAR_COLUMNS, m=5, seed=20240501, df_complete=ref["dfcom"],
    )  # fmt: skip
    assert close(math.log(or_result.estimate), ref["estimate"], ITER_EST)
    assert close(or_result.std_error, ref["std_error"], ITER_SE)
    assert close(or_result.df, ref["df"], ITER_SE)
    assert close(or_result.p_value, ref["p_value"], ITER_SE)
    assert close(math.log(or_result.conf_low), ref["conf_low"], ITER_SE)
    assert close(math.log(or_result.conf_high), ref["conf_high"], ITER_SE)


def test_multiple_imputation_with_tests_of_the_package() -> None:
    """Welch t test (t-based: its df is the complete-data df) and chi-square odds ratios."""
    from coachstats.compare.means import t_test
    from coachstats.compare.proportions import chi_square

    data = fixture("mar")
    imp = mar_imputed()
    welch = multiple_imputation(data, lambda d: t_test(d, "hba1c_12"), columns=MAR_COLUMNS,
                                m=5, seed=9, maxit=5)  # fmt: skip
    per = [t_test(d, "hba1c_12") for d in imp]
    assert welch.extra["df_complete"] == per[0].df
    pooled = rubin_pool([r.estimate for r in per], [r.std_error**2 for r in per],
                        df_complete=per[0].df)  # fmt: skip
    assert welch.estimate == pytest.approx(pooled.estimate, rel=1e-12)
    assert welch.p_value == pytest.approx(pooled.p_value, rel=1e-9)
    assert [a.arm for a in welch.arms] == ["coaching", "usual_care"]
    assert welch.arms[0].value == pytest.approx(np.mean([r.arms[0].value for r in per]))

    odds = multiple_imputation(
        data, lambda d: chi_square(d, "goal_met", estimand="odds ratio"),
        columns=MAR_COLUMNS, m=5, seed=9, maxit=5,
    )  # fmt: skip
    per = [chi_square(d, "goal_met", estimand="odds ratio") for d in imp]
    # the SE recovered from each Woolf interval is the result's own SE of log OR
    pooled = rubin_pool([math.log(r.estimate) for r in per], [r.std_error**2 for r in per])
    assert math.log(odds.estimate) == pytest.approx(pooled.estimate, rel=1e-12)
    assert odds.std_error == pytest.approx(pooled.std_error, rel=1e-9)
    assert odds.arms[0].events is not None and odds.arms[0].n == 150

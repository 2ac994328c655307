"""coachstats.compare.glm against statsmodels (dummy-variable fits) and by construction.

The R comparisons of the same engine are in test_compare_models.py. Here the
reference is statsmodels run with a tight convergence tolerance (``tol=1e-13``):
estimates agree to 1e-8 relative, SEs to 1e-7 (OLS: 1e-9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.design import GroupIndex
from coachstats.compare.glm import (
    cr1_adjustment,
    fit_linear,
    fit_logistic,
    marginal_risk_difference,
)
from coachstats.errors import AnalysisError


def simulate(
    seed: int, n: int = 500, n_groups: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """X (arm, age, bmi), binary y, continuous y, group codes (one group of size 1)."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, n)
    g[0] = n_groups  # a group of size 1
    X = np.column_stack(
        [(rng.random(n) < 0.5).astype(float), rng.normal(50, 10, n), rng.normal(31, 6, n)]
    )
    u = rng.normal(0, 0.5, n_groups + 1)[g]
    eta = -0.3 + 0.6 * X[:, 0] - 0.02 * (X[:, 1] - 50) + 0.03 * (X[:, 2] - 31) + u
    yb = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    yc = 1.0 - 0.7 * X[:, 0] + 0.01 * X[:, 1] + u + rng.normal(0, 1.3, n)
    return X, yb, yc, g


def dummies(g: np.ndarray) -> np.ndarray:
    return pd.get_dummies(pd.Series(g), dtype=float).to_numpy()


def test_logistic_matches_statsmodels() -> None:
    X, y, _, g = simulate(1)
    fit = fit_logistic(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-13)
    np.testing.assert_allclose(fit.coef, ref.params[1:], rtol=1e-8)
    np.testing.assert_allclose(fit.group_coef[0], ref.params[0], rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov())), ref.bse[1:], rtol=1e-7)
    assert np.sqrt(fit.group_coef_var()) == pytest.approx(ref.bse[0], rel=1e-7)
    assert fit.deviance == pytest.approx(ref.deviance, rel=1e-10)
    cl = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(
        tol=1e-13, cov_type="cluster", cov_kwds={"groups": g}
    )
    np.testing.assert_allclose(
        np.sqrt(np.diag(fit.cluster_vcov(GroupIndex.from_values(g)))), cl.bse[1:], rtol=1e-7
    )


def test_logistic_fixed_effects_equal_the_dummy_variable_fit() -> None:
    X, y, _, g = simulate(2, n_groups=6)
    keep = g != 6  # drop the group of size 1 (its intercept diverges)
    X, y, g = X[keep], y[keep], g[keep]
    groups = GroupIndex.from_values(g)
    fit = fit_logistic(X, y, groups)
    ref = sm.GLM(y, np.hstack([X, dummies(g)]), family=sm.families.Binomial()).fit(tol=1e-13)
    np.testing.assert_allclose(fit.coef, ref.params[:3], rtol=1e-8)
    np.testing.assert_allclose(fit.group_coef, ref.params[3:], rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov())), ref.bse[:3], rtol=1e-7)
    assert np.sqrt(fit.group_coef_var(2)) == pytest.approx(ref.bse[5], rel=1e-7)
    # CR1 with k = p + C coefficients, as vcovCL counts the dummies.
    G = GroupIndex.from_values(g)
    meat_rows = ref.model.exog * (y - ref.fittedvalues)[:, None]
    U = pd.DataFrame(meat_rows).groupby(g).sum().to_numpy()
    bread = ref.cov_params()
    full = bread @ (U.T @ U) @ bread * cr1_adjustment(G.n_groups, len(y), X.shape[1] + 6)
    np.testing.assert_allclose(fit.cluster_vcov(G), full[:3, :3], rtol=1e-6)


def test_linear_and_fixed_effects_match_statsmodels() -> None:
    X, _, y, g = simulate(3)
    fit = fit_linear(X, y)
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(fit.coef, ref.params[1:], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov())), ref.bse[1:], rtol=1e-9)
    assert fit.df_resid == ref.df_resid
    cl = sm.OLS(y, sm.add_constant(X)).fit(cov_type="cluster", cov_kwds={"groups": g})
    G = GroupIndex.from_values(g)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cluster_vcov(G))), cl.bse[1:], rtol=1e-9)
    fe = fit_linear(X, y, G)
    ref_fe = sm.OLS(y, np.hstack([X, dummies(g)])).fit()
    np.testing.assert_allclose(fe.coef, ref_fe.params[:3], rtol=1e-10)
    np.testing.assert_allclose(fe.group_coef, ref_fe.params[3:], rtol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(fe.vcov())), ref_fe.bse[:3], rtol=1e-9)
    assert fe.df_resid == ref_fe.df_resid


def test_risk_difference_gradient_is_the_derivative() -> None:
    X, y, _, g = simulate(4, n_groups=5)
    keep = g != 5
    X, y, g = X[keep], y[keep], g[keep]
    groups = GroupIndex.from_values(g)
    fit = fit_logistic(X, y, groups)
    rd, g_beta, g_group = marginal_risk_difference(fit, X, 0)

    def rd_at(beta: np.ndarray, alpha: np.ndarray) -> float:
        eta = X[:, 1:] @ beta[1:] + alpha[groups.codes]
        return float(np.mean(1 / (1 + np.exp(-(eta + beta[0]))) - 1 / (1 + np.exp(-eta))))

    assert rd == pytest.approx(rd_at(fit.coef, fit.group_coef), rel=1e-12)
    h = 1e-6
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        num = (rd_at(fit.coef + e, fit.group_coef) - rd_at(fit.coef - e, fit.group_coef)) / (2 * h)
        assert g_beta[j] == pytest.approx(num, rel=1e-6, abs=1e-10)
    for c in range(groups.n_groups):
        e = np.zeros(groups.n_groups)
        e[c] = h
        num = (rd_at(fit.coef, fit.group_coef + e) - rd_at(fit.coef, fit.group_coef - e)) / (2 * h)
        assert g_group[c] == pytest.approx(num, rel=1e-6, abs=1e-10)


def test_functional_variances_agree_with_the_coefficient_covariances() -> None:
    X, y, _, g = simulate(5)
    G = GroupIndex.from_values(g)
    fit = fit_logistic(X, y)
    e1 = np.array([0.0, 1.0, 0.0])
    zero = np.zeros(1)
    assert fit.functional_var(e1, zero) == pytest.approx(fit.vcov()[1, 1], rel=1e-12)
    assert fit.cluster_functional_var(e1, zero, G) == pytest.approx(
        fit.cluster_vcov(G)[1, 1], rel=1e-10
    )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_and_recoding(seed: int) -> None:
    X, y, yc, _ = simulate(seed, n=120, n_groups=4)
    perm = np.random.default_rng(seed).permutation(len(y))
    a = fit_logistic(X, y)
    b = fit_logistic(X[perm], y[perm])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9, atol=1e-12)
    flipped = X.copy()
    flipped[:, 0] = 1.0 - flipped[:, 0]
    c = fit_linear(flipped, yc)
    d = fit_linear(X, yc)
    assert c.coef[0] == pytest.approx(-d.coef[0], rel=1e-9)
    assert c.vcov()[0, 0] == pytest.approx(d.vcov()[0, 0], rel=1e-9)


def test_cr1_adjustment() -> None:
    assert cr1_adjustment(6, 300, 9) == pytest.approx(6 / 5 * 299 / 291)
    with pytest.raises(AnalysisError, match="at least 2 clusters"):
        cr1_adjustment(1, 300, 9)
    with pytest.raises(AnalysisError, match="no residual df"):
        cr1_adjustment(5, 9, 9)


def test_errors() -> None:
    X, y, yc, g = simulate(6)
    with pytest.raises(AnalysisError, match="must be 0/1"):
        fit_logistic(X, yc)
    with pytest.raises(AnalysisError, match="all 0 or all 1"):
        fit_logistic(X, np.zeros(len(y)))
    with pytest.raises(AnalysisError, match="only one value"):
        fit_logistic(X, y, GroupIndex.from_values(g))  # the group of size 1
    sep = X.copy()
    sep[:, 1] = y + 0.01 * np.arange(len(y)) / len(y)
    with pytest.raises(AnalysisError, match="separated"):
        fit_logistic(sep, y)
    with pytest.raises(AnalysisError, match="no residual degrees of freedom"):
        fit_linear(X[:4], yc[:4])
    with pytest.raises(AnalysisError, match="singular"):
        fit_linear(np.column_stack([X, X[:, 1]]), yc)
    with pytest.raises(AnalysisError, match="finite"):
        fit_linear(np.where(X > 60, np.nan, X), yc)

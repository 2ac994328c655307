"""coachstats.compare.mixed against lme4/lmerTest (models.json), statsmodels and dense algebra.

Tolerances against R: 1e-6 relative on fixed effects, SEs and variance
components (lme4's optimizer, run with tightened tolerances, still stops ~1e-8
short of the optimum of the variance ratio; ours solves the score equation to
machine precision), 1e-5 on Satterthwaite df (lmerTest differentiates
numerically with numDeriv), 1e-8 on the log-likelihood (flat at the optimum).
Against statsmodels MixedLM: see the comments in that test (its optimizer
stops short, and its SEs use a different information matrix).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.design import GroupIndex, build_design
from coachstats.compare.mixed import CS, fit_mixed, mixed_stats
from coachstats.compare.prepare import prepare
from coachstats.errors import AnalysisError

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "models.json").read_text())
CASES = [
    ("reml_unadjusted", False, True),
    ("reml_adjusted", True, True),
    ("ml_adjusted", True, False),
]


@pytest.mark.parametrize("name", list(REF["fixtures"]))
@pytest.mark.parametrize(("key", "adjusted", "reml"), CASES)
def test_all_coefficients_match_lmer(name: str, key: str, adjusted: bool, reml: bool) -> None:
    ref = REF["fixtures"][name]["mixed"][key]
    covs = REF["covariates"] if adjusted else []
    d = pd.read_csv(HERE / "data" / f"models_{name}.csv")
    prep = prepare(d, ["hba1c_change", "clinic", *covs])
    design = build_design(prep.frame, prep.treated, covs)
    fit = fit_mixed(
        design.X,
        prep.frame["hba1c_change"].to_numpy(dtype=float),
        GroupIndex.from_values(prep.frame["clinic"]),
        reml=reml,
    )
    assert fit.nobs == ref["n"] and len(fit.params) == len(ref["names"])
    np.testing.assert_allclose(fit.params, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), ref["se"], rtol=1e-6)
    np.testing.assert_allclose(fit.df, ref["df"], rtol=1e-5)
    assert fit.tau2 == pytest.approx(ref["tau2"], rel=1e-6, abs=1e-14)
    assert fit.sigma2 == pytest.approx(ref["sigma2"], rel=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-8)
    if ref["tau2"] == 0.0:  # lme4's singular (boundary) fit
        assert fit.tau2 == 0.0 and fit.icc == 0.0


def clustered(
    seed: int, n_clusters: int = 30, tau: float = 0.7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, n_clusters)
    g = np.repeat(np.arange(n_clusters), sizes)
    n = len(g)
    X = np.column_stack([(rng.random(n) < 0.5).astype(float), rng.normal(50, 10, n)])
    y = (
        1.0
        - 0.6 * X[:, 0]
        + 0.02 * X[:, 1]
        + rng.normal(0, tau, n_clusters)[g]
        + rng.normal(0, 1.2, n)
    )
    return X, y, g


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_matches_statsmodels_mixedlm(reml: bool) -> None:
    X, y, g = clustered(21)
    fit = fit_mixed(X, y, GroupIndex.from_values(g), reml=reml)
    ref = sm.MixedLM(y, sm.add_constant(X), groups=g).fit(reml=reml)
    np.testing.assert_allclose(fit.params, ref.fe_params, rtol=1e-6)
    # statsmodels' optimizer stops ~1e-5 (relative) short in tau^2.
    assert fit.tau2 == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=1e-4)
    assert fit.sigma2 == pytest.approx(ref.scale, rel=1e-5)
    # statsmodels takes SEs from the inverse Hessian of all parameters (fixed and
    # variance), whose fixed block differs from (X'V^-1X)^-1 (lme4's) by ~1e-4.
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), ref.bse_fe, rtol=1e-3)
    assert fit.loglik >= ref.llf - 1e-8  # our optimum is at least as good


def dense_loglik(
    X1: np.ndarray, y: np.ndarray, g: np.ndarray, t2: float, s2: float, reml: bool
) -> float:
    """-1/2 (log|V| + (log|X'V^-1X| - p log 2pi if REML) + r'V^-1 r + n log 2pi), dense."""
    Z = (g[:, None] == np.unique(g)[None, :]).astype(float)
    V = s2 * np.eye(len(y)) + t2 * Z @ Z.T
    Vi = np.linalg.inv(V)
    Q = X1.T @ Vi @ X1
    beta = np.linalg.solve(Q, X1.T @ Vi @ y)
    r = y - X1 @ beta
    n, p = X1.shape
    out = np.linalg.slogdet(V)[1] + r @ Vi @ r + n * math.log(2 * math.pi)
    if reml:
        out += np.linalg.slogdet(Q)[1] - p * math.log(2 * math.pi)
    return float(-out / 2)


@pytest.mark.parametrize("reml", [True, False])
def test_likelihood_and_covariance_agree_with_dense_algebra(reml: bool) -> None:
    X, y, g = clustered(22, n_clusters=8)
    fit = fit_mixed(X, y, GroupIndex.from_values(g), reml=reml)
    X1 = np.column_stack([np.ones(len(y)), X])
    assert fit.loglik == pytest.approx(
        dense_loglik(X1, y, g, fit.tau2, fit.sigma2, reml), rel=1e-10
    )
    for t2, s2 in [(fit.tau2 * 1.05, fit.sigma2), (fit.tau2, fit.sigma2 * 0.97)]:
        assert dense_loglik(X1, y, g, t2, s2, reml) < fit.loglik
    Z = (g[:, None] == np.unique(g)[None, :]).astype(float)
    V = fit.sigma2 * np.eye(len(y)) + fit.tau2 * Z @ Z.T
    np.testing.assert_allclose(fit.vcov, np.linalg.inv(X1.T @ np.linalg.solve(V, X1)), rtol=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=5),
    a=st.floats(-2, 2),
    c=st.floats(-2, 2),
    seed=st.integers(0, 1000),
)
def test_compound_symmetric_algebra(sizes: list[int], a: float, c: float, seed: int) -> None:
    n = np.array(sizes, dtype=float)
    rng = np.random.default_rng(seed)
    b1, b2 = rng.normal(size=len(n)), rng.normal(size=len(n))

    def dense(m: CS) -> np.ndarray:
        blocks = [m.a * np.eye(k) + bi * np.ones((k, k)) for k, bi in zip(sizes, m.b, strict=True)]
        out = np.zeros((sum(sizes), sum(sizes)))
        i = 0
        for blk in blocks:
            out[i : i + len(blk), i : i + len(blk)] = blk
            i += len(blk)
        return out

    m1, m2 = CS(a, b1, n), CS(c, b2, n)
    np.testing.assert_allclose(dense(m1 @ m2), dense(m1) @ dense(m2), atol=1e-10)
    assert (m1 @ m2).trace() == pytest.approx(np.trace(dense(m1) @ dense(m2)), abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_and_sign(seed: int) -> None:
    X, y, g = clustered(seed, n_clusters=10)
    perm = np.random.default_rng(seed).permutation(len(y))
    a = fit_mixed(X, y, GroupIndex.from_values(g))
    b = fit_mixed(X[perm], y[perm], GroupIndex.from_values(g[perm]))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-10)
    flipped = X.copy()
    flipped[:, 0] = 1.0 - flipped[:, 0]
    c = fit_mixed(flipped, y, GroupIndex.from_values(g))
    assert c.params[1] == pytest.approx(-a.params[1], rel=1e-7)
    assert c.df[1] == pytest.approx(a.df[1], rel=1e-6)
    assert a.tau2 >= 0.0 and 0.0 <= a.icc < 1.0


def test_sufficient_statistics() -> None:
    X, y, g = clustered(23, n_clusters=5)
    G = GroupIndex.from_values(g)
    s = mixed_stats(X, y, G)
    Xc = np.column_stack([np.ones(len(y)), X - X.mean(axis=0)])
    np.testing.assert_allclose(s.XtX, Xc.T @ Xc, rtol=1e-12)
    np.testing.assert_allclose(s.Sx, pd.DataFrame(Xc).groupby(g).sum().to_numpy(), rtol=1e-12)
    assert s.nobs == len(y) and s.n_clusters == 5 and s.n_coef == 3


def test_errors() -> None:
    X, y, g = clustered(24)
    with pytest.raises(AnalysisError, match="at least 2 clusters"):
        fit_mixed(X, y, GroupIndex.single(len(y)))
    with pytest.raises(AnalysisError, match="no residual df"):
        fit_mixed(X[:3], y[:3], GroupIndex.from_values(np.array([0, 1, 1])))
    with pytest.raises(AnalysisError, match="singular"):
        fit_mixed(np.column_stack([X, X[:, 1]]), y, GroupIndex.from_values(g))

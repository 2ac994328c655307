"""The fast paths of a logistic pass, against the textbook formulas computed densely.

- :func:`~coachstats.compare.rows.logistic_parts` (mean and weight from one
  ``exp``) against scipy's ``expit``: the mean and the weight
  :math:`\\mu(1-\\mu) = \\operatorname{expit}(\\eta)\\operatorname{expit}(-\\eta)`
  agree to a few units in the last place over the whole range, tails included
  (tolerance 1e-13 relative: a handful of roundings each side).
- :func:`~coachstats.compare.newton.newton_stats` at :math:`\\beta = 0` (the
  first pass, computed from per-group values and counts) and elsewhere (one
  ``exp`` per row) against the sums written out row by row with dense
  one-hot group indicators (1e-12 relative: different summation orders).
- The passes that read :math:`X^\\top W X` and :math:`B` from the centred
  design's Gram matrix and group sums (a linear model; a logistic one at
  :math:`\\beta = 0`) against the same dense formulas; the cluster-robust
  scores from the residuals a pass kept against a pass of their own (1e-8:
  the kept residuals are those of the last pass's point, within the
  tolerance of the solution).
- The Newton iteration's stop (the last step, below the tolerance, taken
  without a pass) leaves the estimates where a stricter fit puts them, and
  counts its passes.
- The binary arm moments (:math:`e(1-e/n)`) equal the general two-pass ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from coachstats.compare.gcomputation import _logistic_from_odds
from coachstats.compare.glm import _shift, fit_logistic
from coachstats.compare.newton import initial_intercepts, newton_stats, newton_steps
from coachstats.compare.rows import ArmMoments, GroupIndex, ModelRows, logistic_parts, run_local
from coachstats.core.errors import AnalysisError


@settings(max_examples=200, deadline=None)
@given(eta=st.floats(-700.0, 700.0, allow_nan=False))
def test_logistic_parts_agree_with_expit_in_the_tails(eta: float) -> None:
    mu, w, log = logistic_parts(np.array([eta]), log_term=True)
    assert mu[0] == pytest.approx(expit(eta), rel=1e-13, abs=0.0)
    assert w[0] == pytest.approx(expit(eta) * expit(-eta), rel=1e-13, abs=1e-320)
    assert log[0] == pytest.approx(np.log1p(np.exp(-abs(eta))), rel=1e-13, abs=1e-320)


@settings(max_examples=100, deadline=None)
@given(eta=st.floats(-700.0, 700.0, allow_nan=False))
def test_means_from_odds_are_accurate_in_absolute_terms(eta: float) -> None:
    mean, weight = _logistic_from_odds(np.exp(np.array([eta])))
    assert abs(mean[0] - expit(eta)) <= 4e-16
    assert abs(weight[0] - expit(eta) * expit(-eta)) <= 4e-16
    assert _logistic_from_odds(np.array([np.inf]))[0][0] == 1.0


def _dense_stats(
    XT: np.ndarray,
    y: np.ndarray,
    codes: np.ndarray,
    shift: np.ndarray,
    beta: np.ndarray,
    alpha: np.ndarray,
) -> dict[str, np.ndarray | float]:
    """The sums of a logistic Newton pass, written out with a dense group indicator."""
    D = np.eye(len(alpha))[codes]  # (n, C) one-hot
    Xs = XT.T - D @ shift  # shifted design, (n, p)
    eta = Xs @ beta + D @ alpha
    mu = expit(eta)
    w = mu * (1.0 - mu)
    r = y - mu
    deviance = -2.0 * float(np.sum(y * np.log(mu) + (1.0 - y) * np.log1p(-mu)))
    return {
        "xwx": Xs.T @ (w[:, None] * Xs),
        "xr": Xs.T @ r,
        "wg": D.T @ w,
        "rg": D.T @ r,
        "bg": D.T @ (w[:, None] * Xs),
        "deviance": deviance,
    }


@pytest.mark.parametrize("at_zero", [True, False])
@pytest.mark.parametrize("n_groups", [1, 4])
def test_a_logistic_pass_equals_the_dense_formulas(at_zero: bool, n_groups: int) -> None:
    rng = np.random.default_rng(7 + n_groups)
    n, p = 40_000, 3  # more than two blocks of rows
    XT = rng.normal(size=(p, n))
    codes = rng.integers(0, n_groups, n)
    y = (rng.random(n) < 0.3).astype(float)
    rows = ModelRows(XT, y, None if n_groups == 1 else codes, n_groups)
    shift = rng.normal(size=(n_groups, p))
    beta = np.zeros(p) if at_zero else rng.normal(size=p) * 0.4
    alpha = rng.normal(size=n_groups)
    got = newton_stats(rows, shift, beta, alpha, "binomial")
    want = _dense_stats(XT, y, codes, shift, beta, alpha)
    for name, value in want.items():
        np.testing.assert_allclose(getattr(got, name), value, rtol=1e-12, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("family", ["binomial", "gaussian"])
@pytest.mark.parametrize("n_groups", [1, 4])
def test_a_pass_reading_the_centred_sums_equals_the_dense_formulas(
    family: str, n_groups: int
) -> None:
    """The first logistic pass and the linear passes read X'WX and B from the Centred design."""
    rng = np.random.default_rng(11 + n_groups)
    n, p = 40_000, 3
    X = rng.normal(50.0, 10.0, size=(n, p))
    g = GroupIndex.from_values(rng.integers(0, n_groups, n))
    y = (rng.random(n) < 0.3).astype(float) if family == "binomial" else rng.normal(size=n)
    rows = ModelRows.from_design(np.asfortranarray(X), y, g)
    shift = _shift(rows, g, None)  # keeps the column means, the Gram matrix and the sums
    assert rows.stored("gram", shift) is not None
    beta = np.zeros(p) if family == "binomial" else rng.normal(size=p) * 0.1
    alpha = rng.normal(size=n_groups)
    got = newton_stats(rows, shift, beta, alpha, family)
    D = np.eye(n_groups)[g.codes]
    Xs = X - D @ shift
    eta = Xs @ beta + D @ alpha
    mu = expit(eta) if family == "binomial" else eta
    w = mu * (1.0 - mu) if family == "binomial" else np.ones(n)
    r = y - mu
    want = {"xwx": Xs.T @ (w[:, None] * Xs), "xr": Xs.T @ r, "wg": D.T @ w, "rg": D.T @ r}
    want["bg"] = D.T @ (w[:, None] * Xs)
    scale = {"xwx": n * 100.0, "xr": n * 10.0, "wg": n, "rg": n, "bg": n * 10.0}
    for name, value in want.items():
        np.testing.assert_allclose(
            getattr(got, name), value, rtol=1e-12, atol=1e-12 * scale[name], err_msg=name
        )


def test_cluster_scores_from_the_kept_residuals_equal_a_pass_of_their_own() -> None:
    """Rows given the clusters keep each pass's residuals; the CR1 scores read them."""
    rng = np.random.default_rng(5)
    n, C = 5_000, 8
    X = np.column_stack([rng.random(n) < 0.5, rng.normal(60, 10, n)]).astype(float)
    g = GroupIndex.from_values(rng.integers(0, C, n))
    clusters = GroupIndex.from_values(rng.integers(0, 30, n))
    y = (rng.random(n) < expit(-0.5 + 0.4 * X[:, 0])).astype(float)
    for groups in (g, None):
        kept = fit_logistic(X, y, groups, clusters=clusters)
        fresh = fit_logistic(X, y, groups)
        assert kept._rows().stored("residual", kept.newton.stats) is not None
        assert fresh._rows().stored("residual", fresh.newton.stats) is None
        np.testing.assert_allclose(
            kept.score_sums(clusters), fresh.score_sums(clusters), rtol=1e-8, atol=1e-10
        )
        np.testing.assert_allclose(
            kept.cluster_vcov(clusters), fresh.cluster_vcov(clusters), rtol=1e-9
        )


def test_the_last_step_is_taken_without_a_pass() -> None:
    rng = np.random.default_rng(3)
    n, C = 3_000, 6
    X = np.column_stack([rng.random(n) < 0.5, rng.normal(60, 10, n)]).astype(float)
    g = GroupIndex.from_values(rng.integers(0, C, n))
    eta = -0.4 + 0.5 * X[:, 0] + 0.02 * (X[:, 1] - 60) + rng.normal(0, 0.4, C)[g.codes]
    y = (rng.random(n) < expit(eta)).astype(float)
    fit = fit_logistic(X, y, g)
    strict = fit_logistic(X, y, g, tol=1e-15)
    np.testing.assert_allclose(fit.coef, strict.coef, rtol=1e-12)
    np.testing.assert_allclose(
        np.sqrt(np.diag(fit.vcov())), np.sqrt(np.diag(strict.vcov())), rtol=1e-9
    )
    # Count the requests: the last step is the iterations' last and has no pass of its own.
    rows = ModelRows.from_design(X, y, g)
    requests = []

    def counted(steps):  # type: ignore[no-untyped-def]
        value = None
        request = next(steps)
        try:
            while True:
                requests.append(request)
                value = request(rows)
                request = steps.send(value)
        except StopIteration as stop:
            return stop.value

    result = counted(
        newton_steps(initial_intercepts(g.sums(y), g.counts), g.means(X), family="binomial")
    )
    assert result.converged
    assert result.passes == len(requests) == result.iterations
    assert (
        run_local(
            newton_steps(initial_intercepts(g.sums(y), g.counts), g.means(X), family="binomial"),
            rows,
        ).passes
        == result.passes
    )


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60))
def test_binary_arm_moments_equal_the_general_ones(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    treated = rng.random(n) < 0.5
    fast, general = ArmMoments.of(y, treated, binary=True), ArmMoments.of(y, treated)
    np.testing.assert_array_equal(fast.n, general.n)
    np.testing.assert_allclose(fast.total, general.total, rtol=1e-15)
    np.testing.assert_allclose(fast.m2, general.m2, rtol=1e-12, atol=1e-12)


def test_a_covariate_almost_constant_within_clinics_keeps_its_digits() -> None:
    """Shifting by the column means (not the group means) loses only the within/between ratio.

    A covariate whose within-clinic variance is a millionth of its between-clinic
    variance: the fit shifted by the column means, a block at a time, against
    the same Newton iteration on the design shifted by the group means (stored),
    which has no cancellation. Observed: 1e-9 relative on that covariate's
    variance (about 1e-16 times the ratio of 1e6), 1e-12 on the coefficients;
    tolerance 1e-7.
    """
    from coachstats.compare.glm import regression_fit

    rng = np.random.default_rng(17)
    n, C = 20_000, 20
    g = GroupIndex.from_values(rng.integers(0, C, n))
    level = rng.normal(0.0, 1.0, C)
    z = 50.0 * level[g.codes] + 0.05 * rng.normal(size=n)
    X = np.column_stack([rng.random(n) < 0.5, z, rng.normal(60.0, 10.0, n)]).astype(float)
    eta = -0.3 + 0.4 * X[:, 0] + 0.5 * (z - 50.0 * level[g.codes]) + 0.3 * level[g.codes]
    y = (rng.random(n) < expit(eta)).astype(float)
    fit = fit_logistic(X, y, g, tol=1e-13)
    rows = ModelRows.from_design(np.asfortranarray(X), y, g)
    steps = newton_steps(
        initial_intercepts(g.sums(y), g.counts), g.means(X), family="binomial", tol=1e-13
    )
    grouped = regression_fit(run_local(steps, rows), "binomial", g, rows)
    np.testing.assert_allclose(fit.coef, grouped.coef, rtol=1e-7)
    np.testing.assert_allclose(np.diag(fit.bread), np.diag(grouped.bread), rtol=1e-7)


def test_a_centred_design_from_other_rows_is_not_used() -> None:
    """fit_* take a Design's sums only when they are those of the rows fitted (counts per group)."""
    from coachstats.compare.design import build_design
    from coachstats.compare.glm import fit_linear

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=1000)})
    treated = rng.random(1000) < 0.5
    y = 1.0 + 2.0 * frame["x"].to_numpy() + rng.normal(size=1000)
    design = build_design(frame, treated, ["x"])
    half = slice(0, 500)
    got = fit_linear(design.X[half], y[half], centred=design.centred)
    want = fit_linear(design.X[half], y[half])
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-12)
    bad = design.X[half].copy()
    bad[3, 1] = np.nan
    with pytest.raises(AnalysisError, match="finite"):
        fit_linear(bad, y[half], centred=design.centred)


def test_a_covariate_constant_within_clinics_up_to_noise_is_fitted_on_group_means() -> None:
    """Below UNIFORM_SHIFT_MIN of within-group variation, the fit shifts by the group means.

    A covariate whose within-clinic variance is 1e-12 of its total: the fit
    (as R's rule keeps the column) agrees with the Newton iteration on the
    design shifted by the group means to 1e-12 (shifting by the column means
    would lose six more digits).
    """
    from coachstats.compare.glm import UNIFORM_SHIFT_MIN, fit_linear, regression_fit

    rng = np.random.default_rng(23)
    n, C = 20_000, 40
    g = GroupIndex.from_values(rng.integers(0, C, n))
    level = rng.normal(0.0, 1.0, C)
    z = 50.0 * level[g.codes] + 5e-5 * rng.normal(size=n)
    X = np.column_stack([rng.random(n) < 0.5, z]).astype(float)
    y = 0.5 * X[:, 0] + 1e4 * (z - 50.0 * level[g.codes]) + rng.normal(size=n)
    within = GroupIndex.demean(g, z)
    assert (within @ within) < UNIFORM_SHIFT_MIN * ((z - z.mean()) @ (z - z.mean()))
    fit = fit_linear(X, y, g)
    rows = ModelRows.from_design(np.asfortranarray(X), y, g)
    steps = newton_steps(np.zeros(C), g.means(X), family="gaussian")
    grouped = regression_fit(run_local(steps, rows), "gaussian", g, rows)
    np.testing.assert_allclose(fit.coef, grouped.coef, rtol=1e-12)
    np.testing.assert_allclose(np.diag(fit.bread), np.diag(grouped.bread), rtol=1e-12)

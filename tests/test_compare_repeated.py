"""Tests of the repeated-measures models: MMRM, random slopes and their REML engine.

References: ``tests/reference/repeated.R`` (``nlme::gls`` with corSymm + varIdent
and ``emmeans`` for the MMRM, Satterthwaite df by numerical differentiation of
the REML likelihood; ``lme4::lmer`` with ``lmerTest`` for random slopes), stored
in ``tests/reference/repeated.json``; fixtures by ``make_repeated_data.py``.

Tolerances. The R fits stop at a relative change of about 1e-10 in the
objective (gls ``tolerance``/``msTol``, lmer's nloptwrap tolerances, optim's
``reltol``). Near an optimum the objective is quadratic, so the parameters are
then determined to about sqrt(1e-10) = 1e-5 relative; our fits reach the
optimum to machine precision (Newton steps on the exact Hessian) and their
REML log-likelihood is never below R's. Hence: log-likelihoods to 1e-6
(absolute), coefficients and means to 1e-4 standard errors, standard errors
and covariance parameters to 1e-4 relative, Satterthwaite df to 1e-4 relative
(numDeriv's Richardson extrapolation is accurate to about 1e-8, below the
optimum's own error).
"""

from __future__ import annotations

import json
import math
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.longitudinal import long_format
from coachstats.compare.mmrm import mmrm
from coachstats.compare.reml import (
    Blocks,
    CholeskyBlocks,
    evaluate,
    fit_reml,
    satterthwaite,
    unstructured_basis,
)
from coachstats.compare.slopes import lme4_parametrization, random_slopes
from coachstats.core.errors import AnalysisError, DataWarning

REF = Path(__file__).parent / "reference"
LOGLIK = 1e-6
REL = 1e-4
IN_SE = 1e-4


@cache
def reference() -> dict[str, Any]:
    with open(REF / "repeated.json") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


@cache
def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"repeated_{name}.csv")


MMRM_CASES = {
    "hcpc_sbp": ("hcpc_sbp", ("hcpc", "sbp", "mmrm"), {"covariates_by_visit": ["baseline"]}),
    "hcpc_ldl": ("hcpc_ldl", ("hcpc", "ldl", "mmrm"), {"covariates_by_visit": ["baseline"]}),
    "hcpc_hba1c": ("hcpc_hba1c", ("hcpc", "hba1c", "mmrm"), {"covariates_by_visit": ["baseline"]}),
    "sim_by_visit": (
        "sim",
        ("sim", "mmrm_by_visit"),
        {"covariates_by_visit": ["baseline"], "covariates": ["age"]},
    ),
    "sim_main": ("sim", ("sim", "mmrm_main"), {"covariates": ["baseline", "age"]}),
}


def _ref(path: tuple[str, ...]) -> dict[str, Any]:
    out: Any = reference()
    for key in path:
        out = out[key]
    return dict(out)


@cache
def fitted_mmrm(case: str) -> Any:
    data, _, options = MMRM_CASES[case]
    d = fixture(data)
    d = d[d["month"] > 0] if data.startswith("hcpc") else d
    return mmrm(d, "value", visit="month", subject="patient_id", **options)


# --------------------------------------------------------------------------- MMRM vs R


@pytest.mark.parametrize("case", list(MMRM_CASES))
def test_mmrm_matches_gls_and_emmeans(case: str) -> None:
    r = fitted_mmrm(case)
    ref = _ref(MMRM_CASES[case][1])
    assert r.converged and not r.boundary
    assert (r.n_obs, r.n_subjects) == (ref["n_obs"], ref["n_subjects"])
    assert r.loglik >= ref["loglik"] - LOGLIK
    assert r.loglik == pytest.approx(ref["loglik"], abs=LOGLIK)
    assert r.aic == pytest.approx(ref["aic"], abs=2 * LOGLIK)
    assert r.bic == pytest.approx(ref["bic"], abs=2 * LOGLIK)
    np.testing.assert_allclose(r.covariance.to_numpy(), ref["sigma"], rtol=REL)
    con = ref["contrasts"]
    for c, est, se, df, visit in zip(
        r.contrasts, con["estimate"], con["std_error"], con["df"], con["visit"], strict=True
    ):
        assert c.extra["visit"] == visit
        assert abs(c.estimate - est) < IN_SE * se
        assert c.std_error == pytest.approx(se, rel=REL)
        assert c.df == pytest.approx(df, rel=REL)
    means = pd.DataFrame(ref["means"])
    ours = r.means.set_index(["arm", "visit"]).loc[
        list(zip(means["arm"], means["visit"], strict=True))
    ]
    assert (
        np.abs(ours["estimate"].to_numpy() - means["estimate"]) < IN_SE * means["std_error"]
    ).all()
    np.testing.assert_allclose(ours["std_error"], means["std_error"], rtol=REL)
    np.testing.assert_allclose(ours["df"], means["df"], rtol=REL)


def test_mmrm_visit_df_is_exact_when_the_visit_is_complete() -> None:
    """HCPC month 12: all 372 analysed subjects are seen, so the month-12 means are a
    regression on that visit alone: 372 - 3 parameters (two means and a baseline slope)."""
    r = fitted_mmrm("hcpc_sbp")
    assert r.contrast(12).df == pytest.approx(369.0, rel=1e-9)
    # emmeans' df for gls, from nlme's finite-difference apVar, is off by about 3 %
    assert _ref(("hcpc", "sbp", "mmrm"))["contrasts"]["emmeans_df"][0] == pytest.approx(
        357.1, abs=0.1
    )


def test_mmrm_result_behaviour() -> None:
    r = fitted_mmrm("sim_by_visit")
    frame = r.to_frame()
    assert list(frame["outcome"]) == [f"value at month {m}" for m in (3, 6, 9, 12)]
    assert set(frame["estimand"]) == {"mean difference"}
    assert r.contrasts[0].arms[0].arm == "coaching"
    assert r.glance()["n_subjects"] == fixture("sim")["patient_id"].nunique()
    assert "adjusted for: age, baseline" in r.summary()
    assert list(r.coefficients["term"][:2]) == ["usual_care:3", "coaching:3"]
    with pytest.raises(AnalysisError, match="no visit"):
        r.contrast(5)


def test_mmrm_errors_name_the_problem() -> None:
    d = fixture("sim")
    with pytest.raises(AnalysisError, match="more than one row"):
        mmrm(pd.concat([d, d.iloc[:1]]), "value", visit="month", subject="patient_id")
    bad = d.copy()
    bad.loc[bad.index[0], "arm"] = "usual_care"
    with pytest.raises(AnalysisError, match="arm changes within subject"):
        mmrm(bad, "value", visit="month", subject="patient_id")
    one = d[(d["month"] != 12) | (d["arm"] == "coaching")]
    with pytest.raises(AnalysisError, match="no observation for usual_care at 12"):
        mmrm(one, "value", visit="month", subject="patient_id")
    with pytest.raises(AnalysisError, match="2 or more"):
        mmrm(d[d["month"] == 3], "value", visit="month", subject="patient_id")
    with pytest.raises(AnalysisError, match="0/1 columns"):
        mmrm(d.assign(sex="F"), "value", visit="month", subject="patient_id", covariates=["sex"])


def test_complete_balanced_mmrm_is_the_per_visit_t_test() -> None:
    """Complete data, no covariates: REML Sigma is the pooled within-arm covariance, so
    each visit's difference is the pooled-variance t test with n - 2 df (Satterthwaite
    is exact here)."""
    from coachstats.compare.means import t_test

    rng = np.random.default_rng(5)
    n = 40
    wide = pd.DataFrame({"id": range(n), "arm": np.repeat(["coaching", "usual_care"], n // 2)})
    e = rng.multivariate_normal([0, 0, 0], [[4, 2, 1], [2, 5, 2], [1, 2, 6]], size=n)
    for k, m in enumerate((1, 2, 3)):
        wide[f"y_{m}"] = e[:, k] + (wide["arm"] == "coaching") * 0.5 * m
    long = long_format(wide, {m: f"y_{m}" for m in (1, 2, 3)}, subject="id", keep=["arm"],
                       value="y", visit="month")  # fmt: skip
    r = mmrm(long, "y", visit="month", subject="id")
    for m in (1, 2, 3):
        tt = t_test(wide, f"y_{m}", equal_var=True)
        c = r.contrast(m)
        assert c.estimate == pytest.approx(tt.estimate, rel=1e-10)
        assert c.std_error == pytest.approx(tt.std_error, rel=1e-8)
        assert c.df == pytest.approx(n - 2, rel=1e-8)
        assert c.p_value == pytest.approx(tt.p_value, rel=1e-7)


# --------------------------------------------------------------------------- random slopes vs R

SLOPE_CASES = {
    "hcpc_hba1c": ("hcpc_hba1c", ("hcpc", "hba1c", "slopes"), [1.0, 2.0]),
    "hcpc_sbp": ("hcpc_sbp", ("hcpc", "sbp", "slopes"), [1.0, 2.0]),  # singular in lme4
    "hcpc_ldl": ("hcpc_ldl", ("hcpc", "ldl", "slopes"), [1.0, 2.0]),  # singular in lme4
    "sim": ("sim", ("sim", "slopes"), [0.5, 1.0]),
}


@cache
def fitted_slopes(case: str) -> Any:
    data, _, at = SLOPE_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return random_slopes(fixture(data), "value", time="year", subject="patient_id", at=at)


@pytest.mark.parametrize("case", list(SLOPE_CASES))
def test_random_slopes_match_lmer_and_lmertest(case: str) -> None:
    r = fitted_slopes(case)
    ref = _ref(SLOPE_CASES[case][1])
    assert r.converged and r.singular == ref["singular"]
    assert r.n_obs == ref["n_obs"]
    assert r.loglik >= ref["loglik"] - LOGLIK
    assert r.loglik == pytest.approx(ref["loglik"], abs=LOGLIK)
    co = r.coefficients
    assert list(co["term"]) == ref["terms"]
    assert (
        np.abs(co["estimate"].to_numpy() - ref["estimate"]) < IN_SE * np.array(ref["std_error"])
    ).all()
    np.testing.assert_allclose(co["std_error"], ref["std_error"], rtol=REL)
    # lmerTest's df: numerical Hessian in lme4's parametrization (also at the boundary)
    np.testing.assert_allclose(co["df"], ref["df"], rtol=REL)
    for name in ("sd_intercept", "sd_slope", "sigma"):
        assert r.random[name] == pytest.approx(ref[name], rel=REL)
    assert r.random["correlation"] == pytest.approx(ref["correlation"], abs=REL)
    for ours, theirs in zip(r.at, ref["at"], strict=True):
        assert ours.extra["time"] == theirs["time"]
        assert abs(ours.estimate - theirs["estimate"]) < IN_SE * theirs["std_error"]
        assert ours.std_error == pytest.approx(theirs["std_error"], rel=REL)
        assert ours.df == pytest.approx(theirs["df"], rel=REL)


def test_singular_fit_is_flagged_and_warned() -> None:
    with pytest.warns(DataWarning, match="singular fit"):
        r = random_slopes(fixture("hcpc_sbp"), "value", time="year", subject="patient_id")
    assert r.singular and abs(r.random["correlation"]) == pytest.approx(1.0)
    assert "singular fit" in r.summary()


def test_random_slopes_result_behaviour() -> None:
    r = fitted_slopes("hcpc_hba1c")
    assert r.slope_difference.estimand == "difference in slopes"
    slopes = r.slopes.set_index("arm")["estimate"]
    assert slopes["coaching"] - slopes["usual_care"] == pytest.approx(r.slope_difference.estimate)
    assert list(r.to_frame()["outcome"]) == [
        "value slope per unit of year",
        "value at year 1",
        "value at year 2",
    ]
    with pytest.raises(AnalysisError, match="two different values"):
        random_slopes(fixture("sim").assign(year=1.0), "value", time="year", subject="patient_id")


# --------------------------------------------------------------------------- engine


@cache
def small_blocks() -> Blocks:
    d = fixture("sim")
    d = d[(d["patient_id"] <= 20) | d["patient_id"].between(81, 100)]
    codes, _ = pd.factorize(d["patient_id"])
    slot = d["month"].map({3: 0, 6: 1, 9: 2, 12: 3}).to_numpy()
    n = codes.max() + 1
    X = np.zeros((n, 4, 3))
    y = np.zeros((n, 4))
    mask = np.zeros((n, 4), dtype=bool)
    X[codes, slot] = np.column_stack([np.ones(len(d)), d["arm"] == "coaching", d["baseline"] - 150])
    y[codes, slot] = d["value"]
    mask[codes, slot] = True
    return Blocks(X, y, mask, unstructured_basis(mask, np.tile(np.arange(4), (n, 1)), 4))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_gradient_and_hessian_are_the_derivatives_of_the_likelihood(seed: int) -> None:
    """Analytic derivatives against central differences at random covariance matrices."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4, 4))
    sigma = a @ a.T + 4 * np.eye(4) * rng.uniform(50, 200)
    phi = sigma[np.tril_indices(4)]
    blocks = small_blocks()
    ev = evaluate(blocks, phi, order=2)
    assert ev is not None and ev.gradient is not None and ev.hessian is not None
    h = 1e-4 * np.abs(phi).max()
    for k in range(len(phi)):
        e = np.zeros(len(phi))
        e[k] = h
        up, down = evaluate(blocks, phi + e, order=1), evaluate(blocks, phi - e, order=1)
        assert up is not None and down is not None and up.gradient is not None
        assert down.gradient is not None
        fd = (up.loglik - down.loglik) / (2 * h)
        assert ev.gradient[k] == pytest.approx(fd, rel=1e-5, abs=1e-9)
        np.testing.assert_allclose(ev.hessian[:, k], (up.gradient - down.gradient) / (2 * h),
                                   rtol=1e-4, atol=1e-10)  # fmt: skip


def test_lme4_parametrization_jacobian() -> None:
    """J of lme4_parametrization against central differences of phi(psi)."""

    def phi(p: np.ndarray) -> np.ndarray:
        a, b, c, s = p
        return np.array([s * s * a * a, s * s * a * b, s * s * (b * b + c * c), s * s])

    psi = np.array([0.9, 0.2, 0.3, 1.1])
    jac, second = lme4_parametrization(phi(psi))
    num = np.column_stack([(phi(psi + e) - phi(psi - e)) / 2e-6 for e in np.eye(4) * 1e-6])
    np.testing.assert_allclose(jac, num, rtol=1e-6, atol=1e-8)
    for k in range(4):
        hess = np.column_stack(
            [(np.eye(4)[k] @ (lme4_parametrization(phi(psi + e))[0] - lme4_parametrization(phi(psi - e))[0])) / 2e-6
             for e in np.eye(4) * 1e-6]
        )  # fmt: skip
        np.testing.assert_allclose(second[k], hess, rtol=1e-5, atol=1e-7)


def test_fit_reml_recovers_the_sample_covariance_with_complete_data() -> None:
    rng = np.random.default_rng(9)
    n = 50
    y = rng.multivariate_normal([1.0, 2.0, 3.0], [[2, 1, 0.5], [1, 3, 1], [0.5, 1, 4]], size=n)
    X = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    mask = np.ones((n, 3), dtype=bool)
    blocks = Blocks(X, y, mask, unstructured_basis(mask, np.tile(np.arange(3), (n, 1)), 3))
    param = CholeskyBlocks((3,), positive=(True,))
    fit = fit_reml(blocks, param, np.array([1.0, 0, 1, 0, 0, 1]))
    np.testing.assert_allclose(param.matrices(fit.phi)[0], np.cov(y.T), rtol=1e-8)
    var, df = satterthwaite(fit, [1.0, -1.0, 0.0])
    assert df == pytest.approx(n - 1, rel=1e-8)
    # at an interior optimum another parametrization gives the same df
    jac = param.jacobian(param.theta(fit.phi))
    _, df_theta = satterthwaite(fit, [1.0, -1.0, 0.0], (jac, np.zeros((6, 6, 6))))
    assert df_theta == pytest.approx(df, rel=1e-8)
    assert var == pytest.approx(np.var(y[:, 0] - y[:, 1], ddof=1) / n, rel=1e-8)
    assert math.isfinite(fit.loglik)


def test_long_format_ignores_loader_metadata() -> None:
    """Loaded tables carry array-valued ``attrs`` (source line numbers); concat must not compare them."""
    wide = pd.DataFrame({"id": ["a", "b"], "arm": ["coaching", "usual_care"],
                         "y_1": [1.0, np.nan], "y_2": [2.0, 3.0]})  # fmt: skip
    wide.attrs = {"lines": np.array([2, 3]), "records": 2}
    long = long_format(wide, {1: "y_1", 2: "y_2"}, subject="id", keep=["arm"], value="y")
    assert long[["id", "visit", "y"]].to_numpy().tolist() == [
        ["a", 1, 1.0],
        ["a", 2, 2.0],
        ["b", 2, 3.0],
    ]
    with pytest.raises(AnalysisError, match="one row per subject"):
        long_format(pd.concat([wide, wide]), {1: "y_1"}, subject="id")

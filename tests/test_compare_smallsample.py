"""CR2 cluster-robust SEs with Satterthwaite df, against R's clubSandwich.

Reference values come from ``Rscript tests/reference/smallsample.R`` (clubSandwich
``vcovCR(type = "CR2")`` and ``coef_test(test = "Satterthwaite")``) on the
CSV fixtures of ``tests/reference/make_models_data.py``: 60 clinics (one of
size 1), 6 clinics and 5 clinics. CR2, the df, t and P are closed forms:
tolerance 1e-8 relative (achieved about 1e-12).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.analysis import AnalysisSpec
from coachstats.compare.models import linear
from coachstats.compare.smallsample import cluster_cross_products, cr2_from_sums
from coachstats.errors import AnalysisError, OptionError
from coachstats.stream import analyze

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "smallsample.json").read_text())
COVS = ["age", "bmi", "marital", "insulin"]
CASES = [(name, key) for name in ("many", "few", "small") for key in ("crude", "adjusted")]
REL = 1e-8  # closed forms


def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"models_{name}.csv")


def r_design(d: pd.DataFrame, adjusted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's model matrix (intercept, treat, covariates with R's dummy coding), y, clinic codes."""
    cols = ["hba1c_change", "arm", "clinic", *(COVS if adjusted else [])]
    dd = d.dropna(subset=cols)
    Z = [np.ones(len(dd)), (dd["arm"] == "coaching").to_numpy(float)]
    if adjusted:
        Z += [
            dd["age"].to_numpy(float),
            dd["bmi"].to_numpy(float),
            (dd["marital"] == "single").to_numpy(float),
            (dd["marital"] == "widowed").to_numpy(float),
            dd["insulin"].astype(str).eq("True").to_numpy(float),
        ]
    codes = pd.factorize(dd["clinic"])[0]
    return np.column_stack(Z), dd["hba1c_change"].to_numpy(float), codes


@pytest.mark.parametrize(("name", "key"), CASES)
def test_linear_cr2_matches_clubsandwich(name: str, key: str) -> None:
    ref = REF[name][key]
    r = linear(
        fixture(name),
        "hba1c_change",
        covariates=COVS if key == "adjusted" else [],
        cluster="clinic",
        cluster_vcov="CR2",
    )
    assert r.arms[0].n + r.arms[1].n == ref["n"]
    assert r.extra["n_clusters"] == ref["n_clusters"]
    for ours, theirs in (
        (r.estimate, ref["estimate"]),
        (r.std_error, ref["se"]),
        (r.df, ref["df"]),
        (r.statistic, ref["t"]),
        (r.p_value, ref["p"]),
        (r.conf_low, ref["conf_low"]),
        (r.conf_high, ref["conf_high"]),
    ):
        assert ours == pytest.approx(theirs, rel=REL)
    assert r.method.endswith("(cluster-robust CR2 by clinic, Satterthwaite df)")


@pytest.mark.parametrize(("name", "key"), CASES)
def test_cr2_vcov_of_every_coefficient_matches_clubsandwich(name: str, key: str) -> None:
    # the uncentred design of R: the intercept's SE checks the whole matrix, not just a slope
    Z, y, codes = r_design(fixture(name), key == "adjusted")
    beta = np.linalg.lstsq(Z, y, rcond=None)[0]
    sums = cluster_cross_products(Z, y - Z @ beta, codes, int(codes.max()) + 1)
    c = np.zeros(Z.shape[1])
    c[1] = 1.0
    res = cr2_from_sums(sums, c)
    assert np.sqrt(np.diag(res.vcov)) == pytest.approx(REF[name][key]["vcov_diag_se"], rel=REL)
    assert res.df == pytest.approx(REF[name][key]["df"], rel=REL)


def test_cr2_with_one_patient_per_cluster_is_hc2() -> None:
    # singleton clusters: A_g = (1 - h_ii)^-1/2, so CR2 is MacKinnon & White's HC2
    rng = np.random.default_rng(4)
    n = 40
    Z = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=n)])
    y = Z @ np.array([1.0, -0.5, 0.3]) + rng.normal(size=n) * (1 + Z[:, 2] ** 2)
    M = np.linalg.inv(Z.T @ Z)
    e = y - Z @ (M @ Z.T @ y)
    h = np.einsum("ij,jk,ik->i", Z, M, Z)
    hc2 = M @ (Z.T * (e**2 / (1 - h))) @ Z @ M
    res = cr2_from_sums(cluster_cross_products(Z, e, np.arange(n), n), np.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(res.vcov, hc2, rtol=1e-10)


def frame(seed: int, n: int, n_clusters: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    clinic = rng.integers(0, n_clusters, n)
    return pd.DataFrame(
        {
            "arm": np.where(rng.random(n) < 0.5, "coaching", "usual_care"),
            "clinic": [f"c{c}" for c in clinic],
            "age": rng.normal(55, 10, n).round(),
            "y": rng.normal(0, 1, n) + rng.normal(0, 0.5, n_clusters)[clinic],
        }
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(30, 150),
    n_clusters=st.integers(3, 12),
    perm_seed=st.integers(0, 2**32 - 1),
)
def test_cr2_properties(seed: int, n: int, n_clusters: int, perm_seed: int) -> None:
    d = frame(seed, n, n_clusters)
    kw: dict[str, Any] = {"covariates": ["age"], "cluster": "clinic", "cluster_vcov": "CR2"}
    try:
        a = linear(d, "y", **kw)
    except AnalysisError:  # e.g. a draw with one arm or one clinic left
        return
    assert 0.0 <= a.p_value <= 1.0 and a.conf_low <= a.estimate <= a.conf_high
    assert a.df > 0.0
    # row order does not matter
    b = linear(d.sample(frac=1.0, random_state=np.random.default_rng(perm_seed)), "y", **kw)
    assert (b.estimate, b.std_error, b.df) == pytest.approx(
        (a.estimate, a.std_error, a.df), rel=1e-9
    )
    # swapping the arms flips the effect and keeps the SE, df and P
    c = linear(d, "y", treatment="usual_care", **kw)
    assert c.estimate == pytest.approx(-a.estimate, rel=1e-9)
    assert (c.std_error, c.df, c.p_value) == pytest.approx((a.std_error, a.df, a.p_value), rel=1e-9)


def test_cr2_streamed_equals_in_memory() -> None:
    d = frame(3, 400, 7)
    spec = AnalysisSpec(
        "y", "linear", covariates=("age",), cluster="clinic", options={"cluster_vcov": "CR2"}
    )
    whole = linear(d, "y", covariates=["age"], cluster="clinic", cluster_vcov="CR2")
    streamed = analyze(d, [spec], batch_size=64).results[0]
    assert streamed is not None
    assert (streamed.std_error, streamed.df, streamed.p_value) == pytest.approx(
        (whole.std_error, whole.df, whole.p_value), rel=1e-10
    )
    assert streamed.method == whole.method


def test_cr2_options_are_checked() -> None:
    d = frame(5, 100, 5)
    with pytest.raises(OptionError, match="needs cluster="):
        linear(d, "y", cluster_vcov="CR2")
    with pytest.raises(OptionError, match="no fixed_effects="):
        linear(d, "y", cluster="clinic", fixed_effects="clinic", cluster_vcov="CR2")
    with pytest.raises(OptionError, match="'CR1', 'CR2'"):
        linear(d, "y", cluster="clinic", cluster_vcov="CR3")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="needs cluster="):
        analyze(d, [AnalysisSpec("y", "linear", options={"cluster_vcov": "CR2"})])


def test_cr2_is_more_cautious_than_cr1_with_few_clusters() -> None:
    # with 6 clinics the SEs are close (CR1's G/(G-1) factor is about CR2's adjustment
    # here), but CR1 keeps n - k = 276 df where CR2's Satterthwaite df are under 6
    d = fixture("few")
    cr1 = linear(d, "hba1c_change", cluster="clinic")
    cr2 = linear(d, "hba1c_change", cluster="clinic", cluster_vcov="CR2")
    assert cr1.df == 276 and cr2.df < 5
    assert cr2.p_value > 2 * cr1.p_value
    assert cr2.conf_high - cr2.conf_low > cr1.conf_high - cr1.conf_low


def test_an_exact_fit_is_refused() -> None:
    # a reviewer's case: y = 2x + arm gave a residual SD of 5e-16 and P = 3e-61
    d = frame(2, 40, 5)
    d["y"] = 2 * d["age"] + (d["arm"] == "coaching")
    for kw in ({}, {"cluster": "clinic", "cluster_vcov": "CR2"}):
        with pytest.raises(AnalysisError, match="fitted exactly"):
            linear(d, "y", covariates=["age"], **kw)

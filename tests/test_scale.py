"""Registry-scale paths: fast fits against statsmodels, streamed and Dask results against pandas.

- The sufficient-statistic fitters (absorbed clinic fixed effects, cluster-robust
  logistic, GEE exchangeable, random-intercept REML) against statsmodels'
  dummy-variable / row-level fits on data with unbalanced clinics, a clinic of
  one patient and rare events. statsmodels runs with tight tolerances; iterative
  estimates agree to 1e-6 relative and SEs to 1e-5 (the house tolerances are
  1e-6 and 1e-4).
- Additivity: the per-chunk statistics of two halves add up to those of the
  whole (1e-12), which is what makes streaming exact.
- :mod:`coachstats.stream` (DataFrame chunks and a Parquet file) and
  :mod:`coachstats.dask_support` (a ``distributed.LocalCluster``) against
  :func:`coachstats.analysis.run_plan` on the whole table: every field of every
  result to 1e-9 relative (the brief's tolerance; observed ~1e-14).

The medium-size versions carry ``@pytest.mark.slow``; CI runs the small ones.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.analysis import AnalysisPlan, AnalysisSpec, run_plan
from coachstats.compare.design import ArmMoments, GroupIndex, ModelRows
from coachstats.compare.gee import gee_stats
from coachstats.compare.glm import newton_stats
from coachstats.compare.means import AugmentedR
from coachstats.compare.mixed import mixed_chunk_stats
from coachstats.compare.models import gee, linear, logistic, mixed
from coachstats.errors import AnalysisError, DataWarning, OptionError
from coachstats.results import ComparisonResult
from coachstats.stream import analyze, analyze_parquet

COVS = ("age", "female", "diabetes", "hba1c_0")


# --------------------------------------------------------------------------- data


def registry(n: int, clinics: int, seed: int, *, event_rate: float = 0.35) -> pd.DataFrame:
    """Patients in clinics of very unequal sizes (one clinic of a single patient).

    ``goal`` is a binary outcome with clinic effects (``event_rate`` sets how
    rare it is), ``change`` a continuous one with a clinic random intercept;
    the raw measurements let the HCPC endpoints be derived; a few values are
    missing.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, clinics) ** 1.1  # Zipf-like sizes
    clinic = rng.choice(clinics - 1, n - 1, p=weights / weights.sum())
    clinic = np.concatenate([[clinics - 1], clinic])  # clinic "k<last>" has one patient
    df = pd.DataFrame(
        {
            "arm": rng.choice(["coaching", "usual_care"], n),
            "clinic": [f"k{c:04d}" for c in clinic],
            "age": rng.normal(55, 11, n).round(),
            "female": rng.integers(0, 2, n),
            "diabetes": rng.random(n) < 0.5,
            "hba1c_0": rng.normal(9.0, 1.6, n),
            "sbp_0": rng.normal(145, 16, n),
            "ldl_0": rng.normal(140, 35, n),
        }
    )
    treated = (df["arm"] == "coaching").to_numpy()
    u = rng.normal(0, 0.5, clinics)[clinic]
    eff = np.where(treated, 0.5, 0.0)
    df["hba1c_12"] = df["hba1c_0"] - 0.4 - eff + u + rng.normal(0, 1.5, n)
    df["sbp_12"] = df["sbp_0"] - 6 - 4 * eff + rng.normal(0, 15, n)
    df["ldl_12"] = df["ldl_0"] - 10 - 10 * eff + rng.normal(0, 30, n)
    df["change"] = df["hba1c_12"] - df["hba1c_0"]
    base = math.log(event_rate / (1 - event_rate))
    eta = base + 0.4 * treated - 0.01 * (df["age"] - 55) + u
    df["goal"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    df.loc[rng.random(n) < 0.02, "age"] = np.nan
    df.loc[rng.random(n) < 0.03, "hba1c_12"] = np.nan
    return df


def complete(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.dropna(subset=cols)


def sm_design(d: pd.DataFrame, covs: tuple[str, ...], dummies: bool) -> np.ndarray:
    """statsmodels design: coaching indicator, covariates, then clinic dummies or a constant."""
    arm = (d["arm"] == "coaching").to_numpy(dtype=float)
    X = np.column_stack([arm, d[list(covs)].to_numpy(dtype=float)])
    if dummies:
        return np.hstack([X, pd.get_dummies(d["clinic"], dtype=float).to_numpy()])
    return np.hstack([X, np.ones((len(d), 1))])


# --------------------------------------------------------------------------- against statsmodels


def check_logistic_fe(n: int, clinics: int, seed: int, event_rate: float) -> None:
    df = registry(n, clinics, seed, event_rate=event_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the one-patient clinic is dropped
        r = logistic(df, "goal", covariates=COVS, fixed_effects="clinic")
    d = complete(df, ["goal", *COVS, "clinic"])
    ev = d.groupby("clinic")["goal"].agg(["sum", "count"])
    ok = ev.index[(ev["sum"] > 0) & (ev["sum"] < ev["count"])]
    d = d[d["clinic"].isin(ok)]
    assert r.n_excluded == len(df) - len(d)
    ref = sm.GLM(
        d["goal"].to_numpy(dtype=float), sm_design(d, COVS, True), family=sm.families.Binomial()
    ).fit(tol=1e-13)
    assert r.extra["log_odds_ratio"] == pytest.approx(ref.params[0], rel=1e-6)
    assert r.std_error == pytest.approx(ref.bse[0], rel=1e-5)


def test_fixed_effects_logistic_matches_dummies_unbalanced_and_singleton() -> None:
    check_logistic_fe(4000, 40, 1, 0.35)


def test_fixed_effects_logistic_rare_events() -> None:
    """About 3% events: many clinics have none (dropped), the rest have few."""
    check_logistic_fe(6000, 30, 2, 0.03)


@pytest.mark.slow
def test_fixed_effects_logistic_medium() -> None:
    check_logistic_fe(60_000, 300, 3, 0.2)


def check_cluster_robust(n: int, clinics: int, seed: int, event_rate: float) -> None:
    df = registry(n, clinics, seed, event_rate=event_rate)
    r = logistic(df, "goal", covariates=COVS, cluster="clinic")
    d = complete(df, ["goal", *COVS, "clinic"])
    ref = sm.GLM(
        d["goal"].to_numpy(dtype=float), sm_design(d, COVS, False), family=sm.families.Binomial()
    ).fit(tol=1e-13, cov_type="cluster", cov_kwds={"groups": pd.factorize(d["clinic"])[0]})
    assert r.extra["log_odds_ratio"] == pytest.approx(ref.params[0], rel=1e-8)
    # statsmodels' cluster correction is CR1 with k counting the intercept, as vcovCL's HC1
    assert r.std_error == pytest.approx(ref.bse[0], rel=1e-7)


def test_cluster_robust_logistic_matches_statsmodels() -> None:
    check_cluster_robust(4000, 40, 4, 0.35)
    check_cluster_robust(5000, 25, 5, 0.04)  # rare events


@pytest.mark.slow
def test_cluster_robust_logistic_medium() -> None:
    check_cluster_robust(100_000, 2000, 6, 0.3)


def check_gee(n: int, clinics: int, seed: int, event_rate: float) -> None:
    df = registry(n, clinics, seed, event_rate=event_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        r = gee(df, "goal", covariates=COVS, cluster="clinic", moment_df="n-p")
    assert r.extra["working_correlation"] > 0  # the clinic effect makes rho positive
    d = complete(df, ["goal", *COVS, "clinic"])
    ref = sm.GEE(
        d["goal"].to_numpy(dtype=float),
        sm_design(d, COVS, False),
        groups=pd.factorize(d["clinic"])[0],
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    ).fit(maxiter=200, ctol=1e-12)
    assert r.extra["log_odds_ratio"] == pytest.approx(ref.params[0], rel=1e-6)
    assert r.std_error == pytest.approx(ref.bse[0], rel=1e-5)
    assert r.extra["working_correlation"] == pytest.approx(ref.cov_struct.dep_params, rel=1e-5)


def test_gee_exchangeable_matches_statsmodels() -> None:
    check_gee(4000, 40, 7, 0.35)


@pytest.mark.slow
def test_gee_exchangeable_medium_many_clusters() -> None:
    check_gee(100_000, 3000, 8, 0.3)


def check_mixed(n: int, clinics: int, seed: int) -> bool:
    """REML fit against statsmodels MixedLM; returns whether MixedLM converged.

    When it converges, the REML estimates agree; when it stops short (it does on
    some of these skewed designs, where lme4 agrees with us), our restricted
    log-likelihood is the higher one.
    """
    df = registry(n, clinics, seed)
    r = mixed(df, "change", covariates=["hba1c_0", "age"], cluster="clinic")
    d = complete(df, ["change", "hba1c_0", "age", "clinic"])
    exog = np.column_stack([np.ones(len(d)), sm_design(d, ("hba1c_0", "age"), False)[:, :-1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.MixedLM(d["change"].to_numpy(), exog, groups=d["clinic"].to_numpy()).fit(
            reml=True, method="bfgs", gtol=1e-10
        )
    if not ref.converged:
        assert r.extra["loglik"] >= ref.llf - 1e-8
        return False
    # REML estimates only: statsmodels' SEs come from the joint Hessian, lme4's and
    # ours from (X'V^-1X)^-1 (checked against lme4 in test_compare_mixed.py).
    assert r.estimate == pytest.approx(ref.params[1], rel=1e-6)
    assert r.extra["var_cluster"] == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=1e-5)
    assert r.extra["var_residual"] == pytest.approx(ref.scale, rel=1e-6)
    assert r.extra["loglik"] == pytest.approx(ref.llf, rel=1e-9)
    return True


def test_mixed_reml_matches_statsmodels() -> None:
    assert check_mixed(3000, 60, 22)


def test_mixed_reml_beats_a_statsmodels_fit_that_stopped_short() -> None:
    """MixedLM reports no convergence here; lme4 gives our estimates (to 1e-10)."""
    assert not check_mixed(3000, 60, 9)


@pytest.mark.slow
def test_mixed_reml_medium_many_clusters() -> None:
    check_mixed(50_000, 2000, 10)


def test_linear_fixed_effects_and_clusters_match_statsmodels() -> None:
    df = registry(3000, 30, 11)
    r = linear(
        df, "change", covariates=["hba1c_0", "age"], fixed_effects="clinic", cluster="clinic"
    )
    d = complete(df, ["change", "hba1c_0", "age", "clinic"])
    X = sm_design(d, ("hba1c_0", "age"), True)
    ref = sm.OLS(d["change"].to_numpy(), X).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["clinic"])[0]}
    )
    assert r.estimate == pytest.approx(ref.params[0], rel=1e-9)
    assert r.std_error == pytest.approx(ref.bse[0], rel=1e-8)


# --------------------------------------------------------------------------- additivity


def halves(rows: ModelRows) -> tuple[ModelRows, ModelRows]:
    h = rows.nobs // 3

    def part(s: slice) -> ModelRows:
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[s]

        return ModelRows(
            np.ascontiguousarray(rows.XT[:, s]),
            rows.y[s],
            cut(rows.groups),
            rows.n_groups,
            cut(rows.clusters),
            rows.n_clusters,
        )

    return part(slice(None, h)), part(slice(h, None))


def assert_sums_equal(a: object, b: object) -> None:
    for name, value in vars(a).items():
        np.testing.assert_allclose(value, getattr(b, name), rtol=1e-12, atol=1e-9)


def test_chunk_statistics_add_up() -> None:
    rng = np.random.default_rng(12)
    n, p, C = 900, 3, 7
    XT = rng.normal(size=(p, n))
    y = (rng.random(n) < 0.4).astype(float)
    codes = rng.integers(0, C, n)
    rows = ModelRows(XT, y, codes, C, codes, C)
    a, b = halves(rows)
    shift = rng.normal(size=(C, p))
    beta, alpha = rng.normal(size=p) * 0.3, rng.normal(size=C) * 0.3
    for family in ("binomial", "gaussian"):
        whole = newton_stats(rows, shift, beta, alpha, family)
        assert_sums_equal(
            newton_stats(a, shift, beta, alpha, family)
            + newton_stats(b, shift, beta, alpha, family),
            whole,
        )
    center, b6 = XT.mean(axis=1), rng.normal(size=p + 1) * 0.3
    whole_g = gee_stats(rows, center, b6, "binomial")
    assert_sums_equal(
        gee_stats(a, center, b6, "binomial") + gee_stats(b, center, b6, "binomial"), whole_g
    )
    whole_m = mixed_chunk_stats(rows, center)
    assert_sums_equal(mixed_chunk_stats(a, center) + mixed_chunk_stats(b, center), whole_m)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 39))
def test_arm_moments_and_tsqr_merge_exactly(seed: int, cut: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 5, 40)
    treated = rng.random(40) < 0.5
    treated[:2] = [True, False]
    merged = ArmMoments.of(y[:cut], treated[:cut]) + ArmMoments.of(y[cut:], treated[cut:])
    for j, mask in enumerate((treated, ~treated)):
        assert merged.n[j] == mask.sum()
        assert merged.total[j] == pytest.approx(y[mask].sum(), rel=1e-12)
        assert merged.m2[j] == pytest.approx(((y[mask] - y[mask].mean()) ** 2).sum(), rel=1e-9)
    assert merged.total_m2() == pytest.approx(((y - y.mean()) ** 2).sum(), rel=1e-9)
    X = np.column_stack([np.ones(40), rng.normal(size=(40, 2))])
    r = (AugmentedR.of(X[:cut], y[:cut]) + AugmentedR.of(X[cut:], y[cut:])).r
    full = AugmentedR.of(X, y).r
    np.testing.assert_allclose(r.T @ r, full.T @ full, rtol=1e-9)  # R up to row signs


# --------------------------------------------------------------------------- streaming


def plan() -> AnalysisPlan:
    """Every streamed method, with the options that change the algebra."""
    return AnalysisPlan(
        [
            AnalysisSpec("composite_any", "chi_square", label="chi"),
            AnalysisSpec("composite_any", "fisher", label="fisher"),
            AnalysisSpec("change_hba1c", "t_test", label="t"),
            AnalysisSpec(
                "hba1c_12",
                "ancova",
                label="ancova",
                options={"baseline": "hba1c_0"},
                covariates=("age", "female"),
            ),
            AnalysisSpec(
                "composite_any",
                "logistic",
                label="fe",
                covariates=COVS,
                options={"fixed_effects": "clinic"},
            ),
            AnalysisSpec(
                "composite_any",
                "logistic",
                label="rd",
                covariates=("age",),
                cluster="clinic",
                options={"estimand": "risk difference", "formula": "C(female)"},
            ),
            AnalysisSpec("goal", "logistic", label="cl", covariates=COVS, cluster="clinic"),
            AnalysisSpec("goal", "gee", label="gee", covariates=COVS, cluster="clinic"),
            AnalysisSpec(
                "change_hba1c",
                "gee",
                label="geeg",
                cluster="clinic",
                options={"family": "gaussian", "corr": "independence"},
            ),
            AnalysisSpec(
                "change",
                "linear",
                label="lin",
                covariates=("hba1c_0", "age"),
                cluster="clinic",
                options={"fixed_effects": "clinic"},
            ),
            AnalysisSpec(
                "change",
                "linear",
                label="cr2",
                covariates=("hba1c_0", "age"),
                cluster="clinic",
                options={"cluster_vcov": "CR2"},
            ),
            AnalysisSpec(
                "change", "mixed", label="lmm", covariates=("hba1c_0", "age"), cluster="clinic"
            ),
            AnalysisSpec(
                "at_goal_sbp",
                "chi_square",
                label="sub",
                subset="female == 1",
                missing="failure",
            ),
        ],
        goals="hcpc",
    )


def assert_same_results(a: ComparisonResult | None, b: ComparisonResult | None) -> None:
    assert a is not None and b is not None
    fa, fb = a.to_frame().iloc[0].to_dict(), b.to_frame().iloc[0].to_dict()
    fa.update({f"extra.{k}": v for k, v in a.extra.items()})
    fb.update({f"extra.{k}": v for k, v in b.extra.items()})
    assert fa.keys() == fb.keys()
    for key, x in fa.items():
        y = fb[key]
        if isinstance(x, float) and isinstance(y, float):
            if math.isnan(x):
                assert math.isnan(y), key
            else:
                assert y == pytest.approx(x, rel=1e-9, abs=1e-13), key
        else:
            assert y == x, key


def run_both(df: pd.DataFrame, stream_it: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        whole = run_plan(df, plan(), errors="record")
        streamed = stream_it  # type: ignore[assignment]
        streamed = streamed()  # type: ignore[operator]
    assert whole.ok, whole.errors
    assert streamed.errors == whole.errors
    for a, b in zip(whole.results, streamed.results, strict=True):
        assert_same_results(a, b)


def test_streamed_chunks_equal_in_memory() -> None:
    df = registry(3000, 25, 13)
    run_both(df, lambda: analyze(df, plan(), batch_size=700, errors="record"))


@pytest.mark.slow
def test_streamed_chunks_equal_in_memory_medium() -> None:
    df = registry(200_000, 500, 14)
    run_both(df, lambda: analyze(df, plan(), batch_size=30_000, errors="record"))


def test_streamed_parquet_equals_in_memory(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = registry(2500, 20, 15)
    df["visits"] = pd.array(np.arange(len(df)) % 5, dtype="Int64")
    df.loc[7, "visits"] = pd.NA  # an integer column with a null: float64 in every chunk
    path = tmp_path / "registry.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=600)
    whole = pd.read_parquet(path)
    run_both(whole, lambda: analyze_parquet(path, plan(), batch_size=400, errors="record"))


def test_streamed_columns_mapping_and_errors(tmp_path: Path) -> None:
    df = registry(1500, 12, 16).rename(columns={"hba1c_0": "a1c_0", "hba1c_12": "a1c_12"})
    with pytest.warns(DataWarning, match="k0011"):  # the one-patient clinic leaves the FE fit
        res = analyze(
            df,
            plan(),
            columns={"a1c_0": "hba1c_0", "a1c_12": "hba1c_12"},
            batch_size=500,
            errors="record",
        )
    assert res.ok
    with pytest.raises(OptionError, match="multiple imputation"):
        analyze(df, [AnalysisSpec("change", "t_test", missing="mi")])
    with pytest.raises(OptionError, match="method"):
        analyze(df, [AnalysisSpec("change", "describe")])
    bad = analyze(
        df.assign(arm="coaching"),
        [AnalysisSpec("goal", "chi_square"), AnalysisSpec("change", "t_test")],
        errors="record",
    )
    assert not bad.ok and "exactly 2 arms" in str(bad.errors[0])


def test_streamed_perfect_separation_has_the_in_memory_message() -> None:
    df = registry(800, 8, 17)
    df["sep"] = df["arm"] == "coaching"
    spec = AnalysisSpec("sep", "logistic")
    with pytest.raises(AnalysisError) as a:
        run_plan(df, [spec])
    with pytest.raises(AnalysisError) as b:
        analyze(df, [spec], batch_size=100)
    assert str(a.value) == str(b.value)


@pytest.mark.parametrize("keep_bytes", [0, 40_000, 10**9])
def test_rows_kept_between_passes_change_no_result_and_spare_reads(keep_bytes: int) -> None:
    """Model rows kept between passes (all, some within a small budget, none) (issue 22).

    The results are those of ``run_plan`` whatever is kept; with every row
    kept, a Newton or GEE step reads no chunk (counted, not timed).
    """
    from coachstats.engines.sources import frame_chunks
    from coachstats.engines.stream import analyze_chunks

    df = registry(3000, 25, 19)
    reads = [0]
    source = frame_chunks(df, 700)

    def counted() -> Any:
        reads[0] += 1
        return source()

    run_both(
        df,
        lambda: analyze_chunks(counted, plan(), errors="record", keep_bytes=keep_bytes),
    )
    every_pass = reads[0]
    if keep_bytes == 0:
        assert every_pass >= 12  # one read per pass: about a dozen for this plan
    elif keep_bytes == 10**9:
        reads[0] = 0
        run_both(df, lambda: analyze_chunks(counted, plan(), errors="record", keep_bytes=0))
        assert every_pass <= reads[0] // 2  # the later passes read nothing


@settings(max_examples=5, deadline=None)
@given(batch=st.integers(50, 900))
def test_chunk_size_does_not_change_results(batch: int) -> None:
    df = registry(900, 9, 18)
    specs = [
        AnalysisSpec("goal", "logistic", covariates=("age",), cluster="clinic"),
        AnalysisSpec("change", "t_test", label="t"),
    ]
    ref = run_plan(df, specs)
    got = analyze(df, specs, batch_size=batch)
    for a, b in zip(ref.results, got.results, strict=True):
        assert_same_results(a, b)


# --------------------------------------------------------------------------- dask


def test_dask_local_cluster_equals_pandas() -> None:
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    df = registry(1500, 15, 19)
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        ddf = dd.from_pandas(df, npartitions=3)
        specs = [s for s in plan() if s.label in ("chi", "ancova", "fe", "gee", "cr2", "lmm")]
        # clinic k0014 has one patient: both paths drop it from the fixed-effects fit, and say so
        with pytest.warns(DataWarning, match="k0014"):
            whole = run_plan(df, AnalysisPlan(specs, goals="hcpc"))
        with pytest.warns(DataWarning, match="k0014"):
            streamed = analyze(ddf, AnalysisPlan(specs, goals="hcpc"))
        for x, y in zip(whole.results, streamed.results, strict=True):
            assert_same_results(x, y)
        # the compare functions take the Dask DataFrame themselves
        a = logistic(df, "goal", covariates=COVS, cluster="clinic")
        b = logistic(ddf, "goal", covariates=COVS, cluster="clinic")
        assert_same_results(a, b)


def test_group_index_of_strings_matches_sorted_python() -> None:
    s = pd.Series(["b10", "b9", "B1", "a", "b10"])
    g = GroupIndex.from_values(s)
    assert list(g.labels) == sorted(set(s))
    assert g.labels[g.codes].tolist() == s.tolist()

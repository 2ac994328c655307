"""Direct standardization at the edge: is the interval trustworthy, and does each row say what it is?

The reference is ``tests/reference/standardization.R`` (its numbers in
``standardization.json``): a small program (80 patients) whose model of the goal
falls steeply with baseline HbA1c, standardized to a reference with higher
baselines, where about 20 % of the usual-care arm is predicted at goal -- 8
expected patients in an arm of 40. R computes the delta-method SE with the
analytic gradient and with a numerical one (numDeriv), refits the model on the
resamples coachstats drew, and runs its own bootstrap (boot::boot).

The evaluation-level tests rebuild the messy program behind the defect report
(a standardized risk difference of 1.2, 95 % CI -1.0 to 3.3, next to a crude
-4.2, -28 to +20): a small peer program, most patients just above the HbA1c
entry threshold, a few far above it, two clinics where no one reaches the goal.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.glm import fit_logistic
from coachstats.compare.standardization import N_BOOT, SEED, WITHHELD, standardize
from coachstats.compare.standardization_interval import (
    EXPECTED_DELTA,
    bootstrap_standardization,
    delta_check,
    logistic_replicates,
    percentile_interval,
    stratified_resamples,
)
from coachstats.core.errors import AnalysisError, ConvergenceError

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "standardization.json").read_text())
COVARIATES = ["age", "hba1c_0"]
# Both sides fit the same likelihood to convergence (R: glm epsilon 1e-14; coachstats:
# Newton steps below 1e-10 relative) and use the same closed-form gradient: 1e-6 relative
# leaves room for the two optimizers' last digits (observed agreement about 1e-8).
FIT = 1e-6


def _fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = HERE / "data"
    return (
        pd.read_csv(data / "standardization_edge_program.csv"),
        pd.read_csv(data / "standardization_edge_reference.csv"),
    )


def _design(program: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coached = (program["arm"] == "coaching").to_numpy()
    X = np.column_stack([coached, program["age"], program["hba1c_0"]]).astype(float)
    return X, program["goal"].to_numpy(float), coached


# --------------------------------------------------------------------------- against R


def test_delta_method_matches_r_and_a_numerical_gradient() -> None:
    program, reference = _fixture()
    r = standardize(program, reference, "goal", covariates=COVARIATES, arm="arm", interval="delta")
    assert r.estimate == pytest.approx(REF["estimate"], rel=FIT)
    assert r.extra["arm_means"] == pytest.approx(REF["arm_means"], rel=FIT)
    assert r.extra["adjusted"] == pytest.approx(REF["adjusted"], rel=FIT)
    # the variance is computed right: R's analytic and numerical gradients give this SE
    assert r.std_error == pytest.approx(REF["se_delta"], rel=FIT)
    assert r.std_error == pytest.approx(REF["se_delta_numeric_gradient"], rel=FIT)
    # nor is the model-based variance what keeps it narrow: the robust one is 2 % larger
    assert REF["se_delta"] < REF["se_delta_sandwich"] < 1.05 * REF["se_delta"]
    assert r.extra["crude"] == pytest.approx(
        program.loc[program["arm"] == "coaching", "goal"].mean()
        - program.loc[program["arm"] != "coaching", "goal"].mean()
    )


def test_the_edge_fixture_gets_the_bootstrap_and_says_why() -> None:
    program, reference = _fixture()
    r = standardize(program, reference, "goal", covariates=COVARIATES, arm="arm")
    assert r.extra["interval_kind"] == "bootstrap"
    # 40 usual-care patients at R's standardized share: fewer than 10 expected at goal
    usual = 40 * REF["arm_means"][1]
    assert usual < EXPECTED_DELTA
    assert f"{usual:.1f} of the program's 40 usual-care patients" in r.extra["interval_reason"]
    assert "percentile bootstrap: 2,000 resamples" in r.extra["interval"]
    assert f"seed {SEED}" in r.extra["interval"] and "taken as fixed" in r.extra["interval"]
    delta = standardize(
        program, reference, "goal", covariates=COVARIATES, arm="arm", interval="delta"
    )
    # the delta method's symmetric interval misses the right skew of the estimate
    assert r.conf_high - r.estimate > delta.conf_high - delta.estimate + 0.03
    assert r.conf_low <= r.estimate <= r.conf_high


def test_bootstrap_refits_match_r_on_the_same_resamples() -> None:
    program, reference = _fixture()
    X, y, coached = _design(program)
    resampled = pd.read_csv(HERE / "data" / "standardization_edge_resamples.csv")
    number = resampled["resample"].to_numpy() - 1
    idx = resampled.drop(columns="resample").to_numpy() - 1
    # the fixture holds coachstats' own resamples (its seed, its 2,000)
    assert (stratified_resamples(coached.astype(int), N_BOOT, SEED)[number] == idx).all()
    coef, converged = logistic_replicates(X, y, idx)
    b = bootstrap_standardization(
        X, y, reference[COVARIATES].to_numpy(float), arm=coached, n_boot=0, seed=0, indices=idx
    )
    got = b.replicates
    res = REF["resamples"]
    want = np.array(res["estimate"], dtype=float)
    assert res["resample"] == list(number + 1) and b.n_failed == 0
    # every resample coachstats fits, R's glm fits to the same figure
    assert converged.any() and np.array(res["converged"])[converged].all()
    assert got[converged] == pytest.approx(want[converged], rel=FIT, abs=1e-9)
    # where coachstats' fit does not converge, R's reaches a coefficient above 20 (an odds
    # ratio of e^20 per unit: separated or nearly so); the figures are the fitted limits,
    # which glm's deviance criterion stops short of (up to 2.5 points here)
    edge = ~converged
    assert edge.sum() == b.n_separated == 7
    assert (np.array(res["largest_coefficient"])[edge] > 20).all()
    assert (np.abs(got[edge] - want[edge]) < 0.025).all()
    first = number < 200  # all converged: the percentile limits are R's to the last digit
    assert converged[first].all()
    limits = percentile_interval(got[first], 0, 0.95)
    want_limits = REF["resamples"]["percentile_first_200"]
    assert limits == pytest.approx((want_limits["low"], want_limits["high"]), rel=1e-9)
    for k in np.flatnonzero(converged)[:20]:  # and the batched Newton is fit_logistic
        fit = fit_logistic(X[idx[k]], y[idx[k]])
        assert np.r_[fit.group_coef, fit.coef] == pytest.approx(coef[k], rel=1e-8, abs=1e-10)


def test_bootstrap_interval_agrees_with_r_boot_within_monte_carlo_error() -> None:
    program, reference = _fixture()
    r = standardize(program, reference, "goal", covariates=COVARIATES, arm="arm")
    own = REF["boot"]
    # Two independent 2,000-resample percentile limits differ by Monte Carlo error: the SE
    # of a q-quantile of B draws is sqrt(q (1 - q) / B) / f(x_q); with f the normal density
    # of the replicates' SD at the 2.5 % point, and two independent runs, 4 SEs of the
    # difference bound it (about 0.03 here)
    q, sd = 0.025, own["sd"]
    density = math.exp(-(1.959964**2) / 2) / (sd * math.sqrt(2 * math.pi))
    tol = 4 * math.sqrt(2) * math.sqrt(q * (1 - q) / own["R"]) / density
    assert abs(r.conf_low - own["low"]) < tol
    assert abs(r.conf_high - own["high"]) < tol


# --------------------------------------------------------------------------- properties


def _program(seed: int, n: int, shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "coaching", "usual_care")
    x = rng.normal(size=n)
    eta = -0.3 + 0.5 * (arm == "coaching") + 1.2 * x
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    program = pd.DataFrame({"arm": arm, "x": x, "y": y})
    reference = pd.DataFrame({"x": np.clip(rng.normal(shift, 1.0, 150), x.min(), x.max())})
    return program, reference


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(40, 400),
    shift=st.floats(-2.0, 2.0),
)
def test_standardized_difference_properties(seed: int, n: int, shift: float) -> None:
    program, reference = _program(seed, n, shift)
    swapped = program.assign(
        arm=program["arm"].map({"coaching": "usual_care", "usual_care": "coaching"})
    )
    try:
        r = standardize(program, reference, "y", covariates=["x"], arm="arm")
    except ConvergenceError:
        return  # separated: no figure, nothing to check
    except AnalysisError as exc:
        assert str(exc).startswith(WITHHELD)  # withheld, and says why
        return
    # swapping the arms flips the standardized difference and, for the delta method, its
    # interval (the bootstrap's resamples are drawn by arm, so only its estimate flips)
    s = standardize(swapped, reference, "y", covariates=["x"], arm="arm", interval="delta")
    d = standardize(program, reference, "y", covariates=["x"], arm="arm", interval="delta")
    assert s.estimate == pytest.approx(-r.estimate, abs=1e-9)
    assert (s.conf_low, s.conf_high) == pytest.approx((-d.conf_high, -d.conf_low), abs=1e-9)
    assert r.conf_low <= r.estimate <= r.conf_high
    assert -1.0 <= r.estimate <= 1.0 and 0.0 <= r.p_value <= 1.0
    assert all(0.0 <= m <= 1.0 for m in r.extra["arm_means"])
    assert r.extra["arm_means"][0] - r.extra["arm_means"][1] == pytest.approx(r.estimate)
    assert r.extra["interval_kind"] in ("delta", "bootstrap")
    assert (r.extra["interval_reason"] == "") == (r.extra["interval_kind"] == "delta")


def test_delta_check_rules() -> None:
    y = np.array([1.0] * 40 + [0.0] * 60)
    arm = np.arange(100) % 2 == 0
    assert delta_check(y, arm, (0.4, 0.3), 3).kind == "delta"  # 13.3 per coefficient, 15 expected
    assert delta_check(y, arm, (0.4, 0.3), 5).kind == "bootstrap"  # 8 per coefficient
    assert delta_check(y, arm, (0.4, 0.15), 3).kind == "bootstrap"  # 7.5 expected
    assert delta_check(y, arm, (0.4, 0.08), 3).kind == "withheld"  # 4 expected
    assert delta_check(y, arm, (0.4, 0.3), 9).kind == "withheld"  # 4.4 per coefficient
    assert delta_check(y, arm, (0.95, 0.3), 3).kind == "withheld"  # 2.5 expected without it
    assert "without it" in delta_check(y, arm, (0.95, 0.3), 3).reason


def test_bootstrap_is_reproducible_and_its_resamples_stay_in_their_arm() -> None:
    program, reference = _fixture()
    a = standardize(program, reference, "goal", covariates=COVARIATES, arm="arm")
    b = standardize(program, reference, "goal", covariates=COVARIATES, arm="arm")
    assert (a.conf_low, a.conf_high) == (b.conf_low, b.conf_high)
    other = standardize(program, reference, "goal", covariates=COVARIATES, arm="arm", seed=7)
    assert (other.conf_low, other.conf_high) != (a.conf_low, a.conf_high)
    coached = (program["arm"] == "coaching").to_numpy()
    idx = stratified_resamples(coached.astype(int), 50, SEED)
    assert (coached[idx] == coached[None, :]).all()


def test_a_bootstrap_resting_on_separated_resamples_is_withheld() -> None:
    # the goal is x > 0.5 but for two patients: every resample that leaves both out is
    # separated (no finite estimate); far more than the 2.5 % outside a 95 % limit
    x = np.linspace(0.0, 1.0, 40)
    y = (x > 0.5).astype(int)
    y[[18, 22]] = 1 - y[[18, 22]]
    coached = np.arange(40) % 2 == 0
    b = bootstrap_standardization(
        np.column_stack([coached, x]).astype(float),
        y.astype(float),
        x[:, None],
        arm=coached,
        n_boot=N_BOOT,
        seed=SEED,
    )
    assert b.n_separated > 0.025 * N_BOOT and not b.rests_on_fits
    program = pd.DataFrame({"x": x, "y": y, "arm": np.where(coached, "coaching", "usual_care")})
    with pytest.raises(AnalysisError, match="bootstrap resamples have no finite estimate"):
        standardize(program, program[["x"]], "y", covariates=["x"], arm="arm", interval="bootstrap")


def test_a_large_program_is_not_bootstrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import coachstats.compare.standardization as std

    program, reference = _fixture()
    monkeypatch.setattr(std, "BOOT_MAX_N", 50)  # the fixture's 80 patients, as if too many
    with pytest.raises(AnalysisError, match="not run on more than 50 patients"):
        standardize(program, reference, "goal", covariates=COVARIATES, arm="arm")


def test_a_bootstrap_whose_limit_falls_on_unfittable_resamples_is_withheld() -> None:
    # 99 replicates: the type 7 upper 97.5 % limit interpolates the 96th and 97th values in
    # order, the lower one the 3rd and 4th; with 2 unfittable resamples placed beyond each
    # limit both stay finite, with 3 neither does
    v = np.linspace(0.0, 1.0, 97)
    low, high = percentile_interval(v, 2, 0.95)
    assert math.isfinite(low) and math.isfinite(high) and low < high
    assert percentile_interval(v[:-1], 3, 0.95) == (-math.inf, math.inf)


# --------------------------------------------------------------------------- the evaluation


def messy_peer_program() -> pd.DataFrame:
    """60 peer-like patients: three in four start just above the entry threshold (HbA1c
    8.0 to 8.6 %), the others far above it (9.5 to 14 %), who barely move; in two clinics
    no one reaches HbA1c < 7.5 %."""
    from coachstats.synthetic import peer_cohort

    df = peer_cohort(n=60, seed=6).patients.copy()
    rng = np.random.default_rng(6)
    n = len(df)
    base = np.where(rng.random(n) < 0.75, rng.uniform(8.0, 8.6, n), rng.uniform(9.5, 14, n))
    df["hba1c_0"] = base.round(1)
    drop = rng.normal(1.1, 0.5, n) * np.where(base > 9.5, 0.1, 1.0)
    df["hba1c_6"] = (base - drop).round(1)
    stuck = df["site"].isin(df["site"].unique()[:2])
    df.loc[stuck, "hba1c_6"] = np.maximum(df.loc[stuck, "hba1c_6"], 7.6)
    return df


@pytest.fixture(scope="module")
def messy_peer() -> EvaluationResult:
    from coachstats.tasks.evaluate import evaluate

    return evaluate(messy_peer_program(), against="peer", tracking=False)


def test_messy_program_gets_no_standardized_figure_it_cannot_support(
    messy_peer: EvaluationResult,
) -> None:
    # The defect: a standardized risk difference with a delta-method CI a fraction of the
    # crude one's, from the same 60 patients. At the trial's case mix the model predicts
    # 5.9 % and 11.4 % at HbA1c < 7.5 %: fewer than 5 patients per arm of 30 -- the figure
    # rested on the logistic curve's tail, not on patients like the trial's.
    rows = {s.outcome: s for s in messy_peer.standardized}
    row = rows["hba1c_lt_7_5"]
    assert row.result is None and row.error.startswith(WITHHELD)
    assert "fewer than 5 in an arm" in row.error
    assert "per coefficient, fewer than 5" in row.error  # 14 at goal for 3 coefficients
    text = row.sentence()
    assert text.startswith("HbA1c < 7.5 %: not standardized (too little data")
    assert row.to_dict()["verdict"] == "not analysed"
    primary = {r.outcome: r for r in messy_peer.rows}
    assert primary["hba1c_lt_7_5"].program is not None  # the program's own figure stays


def test_each_figure_of_a_standardized_row_says_what_it_is(messy_peer: EvaluationResult) -> None:
    # Peer LDL: the headline above is a linear mixed model with a random intercept per
    # clinic; the standardized row's 'crude' was a raw difference of means. Now the row
    # names each: raw (no model), adjusted (the same model, the program's own case mix),
    # standardized -- and says that a difference of means does not move with the case mix.
    rows = {s.outcome: s for s in messy_peer.standardized}
    row = rows["change_ldl"]
    r = row.result
    assert r is not None and row.headline is not None
    text = row.sentence()
    assert "(the program's 41 patients as they are, no model)" in text
    assert "adjusted " in text and "the same model at the program's own case mix" in text
    assert "standardizing does not move it; the adjustment does" in text
    assert r.extra["adjusted"] == pytest.approx(r.estimate, abs=1e-9)
    assert "t interval, 37 df; the synthetic Peer 2013 cohort taken as fixed" in text
    assert "the headline figure above" in text and "linear mixed model" in text
    assert "assumed: the same difference of coaching at every baseline" in text
    d = row.to_dict()
    assert d["headline"] == pytest.approx(row.headline.estimate)
    assert d["headline_method"].startswith("linear mixed model")
    assert d["adjusted"] == pytest.approx(d["standardized"])
    assert d["interval"].startswith("t interval")

"""Tests of the MNAR sensitivity analyses (coachstats.compare.sensitivity) and their plot.

Reference values: ``tests/reference/sensitivity.R`` (R's ``mice`` 3.15: ``pool`` on
shifted imputations, ``post`` delta adjustment in the chained equations, and
``chisq.test`` / ``prop.test`` on every completion of the HCPC composite), stored in
``tests/reference/sensitivity.json``.
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

from coachstats.compare.imputation import impute
from coachstats.compare.means import t_test
from coachstats.compare.missing import multiple_imputation, rubin_pool
from coachstats.compare.models import linear
from coachstats.compare.sensitivity import (
    TippingPointResult,
    conclusion,
    shift_imputations,
    tipping_point,
    tipping_point_counts,
)
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.core.results import ComparisonResult
from tests.test_compare_missing import FITS, MAR_COLUMNS, fixture

REF = Path(__file__).parent / "reference"
CLOSED = 1e-8  # lm and Rubin's rules on identical completed datasets (closed forms)
COUNTS = 1e-10  # chi-square and Wald limits on integer tables


@cache
def reference() -> dict[str, Any]:
    with open(REF / "sensitivity.json") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


def lm_arm(d: pd.DataFrame) -> ComparisonResult:
    return linear(d, "hba1c_12", covariates=["hba1c_0", "age"])


@cache
def mar_base() -> Any:
    """The imputations of missing_imputed_mar.csv (make_missing_data.py: m=5, seed 20240501)."""
    return impute(fixture("mar"), MAR_COLUMNS, m=5, seed=20240501)


# --------------------------------------------------------------------------- shift vs mice::pool


@pytest.mark.parametrize("case", range(5))
def test_shifted_imputations_pool_as_mice(case: int) -> None:
    ref = reference()["shift"][case]
    delta = {"coaching": ref["delta_coaching"], "usual_care": ref["delta_usual_care"]}
    shifted = shift_imputations(mar_base(), {"hba1c_12": delta})
    pooled = multiple_imputation_from(shifted)
    for name in ("estimate", "std_error", "df", "p_value", "conf_low", "conf_high"):
        assert math.isclose(getattr(pooled, name), ref[name], rel_tol=CLOSED), name


def multiple_imputation_from(imputed: Any) -> ComparisonResult:
    from coachstats.compare.rubin import pool_results

    return pool_results([lm_arm(d) for d in imputed], missing=imputed.label)


def test_tipping_point_grid_rows_match_the_shifted_pools() -> None:
    """tipping_point(adjust="shift") re-creates the same base imputation and pools each shift."""
    refs = {(r["delta_coaching"], r["delta_usual_care"]): r for r in reference()["shift"]}
    tp = tipping_point(
        fixture("mar"), lm_arm, column="hba1c_12", columns=MAR_COLUMNS,
        deltas=[0.0, 0.5, 1.0], control_deltas=[-0.5, 0.0], m=5, seed=20240501,
    )  # fmt: skip
    d = fixture("mar")
    miss, coach = d["hba1c_12"].isna(), d["arm"] == "coaching"
    assert len(tp.grid) == 6
    assert tp.n_missing == (int((miss & coach).sum()), int((miss & ~coach).sum()))
    for (dt, dc), ref in refs.items():
        row = tp.grid[(tp.grid["delta_treatment"] == dt) & (tp.grid["delta_control"] == dc)]
        if len(row):
            assert math.isclose(row["estimate"].item(), ref["estimate"], rel_tol=CLOSED)
            assert math.isclose(row["p_value"].item(), ref["p_value"], rel_tol=CLOSED)
    assert tp.reference.missing == "multiple imputation (m=5, seed=20240501)"


# --------------------------------------------------------------------------- post vs mice (random)


@cache
def python_post() -> dict[str, Any]:
    post = reference()["post"]
    (a_t, a_c), (g_t, g_c) = post["hba1c_delta"], post["goal_delta"]
    imp = impute(
        fixture("mar"), MAR_COLUMNS, m=post["m"], maxit=post["maxit"], seed=77,
        delta={"hba1c_12": {"coaching": a_t, "usual_care": a_c},
               "goal_met": {"coaching": g_t, "usual_care": g_c}},
    )  # fmt: skip
    out = {}
    for model, key in (("lm", "lm_hba1c"), ("glm", "glm_goal")):
        fit, y = FITS[model]
        fits = [fit(d, y) for d in imp]
        est = np.array([f[0][1] for f in fits])
        var = np.array([f[1][1] for f in fits])
        out[key] = (rubin_pool(est, var, df_complete=len(imp.data) - 4), var)
    out["label"] = imp.label
    return out


@pytest.mark.parametrize("key", ["lm_hba1c", "glm_goal"])
def test_delta_inside_the_chains_agrees_with_mice_post_in_distribution(key: str) -> None:
    """Pooled estimate and total variance within 4 Monte Carlo SD of R's (as test_compare_missing).

    Both runs draw m = 50 imputations with the same delta (HbA1c +1.0 / -0.5 points in the
    imputed coaching / usual care patients, mice's ``post``; goal_met -1.0 / +0.5 on the
    log-odds). The MC variance of a pooled estimate is b/m per run; of t, var(u)/m plus
    (1 + 1/m)^2 2 b^2 / (m - 1).
    """
    pooled, var = python_post()[key]
    r = reference()["post"][key]
    m = pooled.m
    assert abs(pooled.estimate - r["estimate"]) < 4 * math.sqrt(pooled.b / m + r["b"] / r["m"])

    def var_t(b: float, var_u: float, m: int) -> float:
        return var_u / m + (1 + 1 / m) ** 2 * 2 * b**2 / (m - 1)

    mc_t = math.sqrt(var_t(pooled.b, var.var(ddof=1), m) + var_t(r["b"], r["var_u"], r["m"]))
    assert abs(pooled.t - r["t"]) < 4 * mc_t


def test_the_delta_moves_the_estimate_away_from_mar() -> None:
    """Against R's MAR run (missing.json): the shift is far larger than Monte Carlo error."""
    mar = json.loads((REF / "missing.json").read_text())["distribution"]["mar_pmm"]["models"]
    pooled, _ = python_post()["lm_hba1c"]
    moved = pooled.estimate - mar["lm_hba1c"]["estimate"]
    assert moved > 10 * math.sqrt(pooled.b / pooled.m + mar["lm_hba1c"]["b"] / 50)
    assert python_post()["label"].startswith("delta-adjusted multiple imputation (m=50, seed=77;")


# --------------------------------------------------------------------------- deterministic machinery


def test_zero_delta_reproduces_the_mar_imputations() -> None:
    base = impute(fixture("mar"), MAR_COLUMNS, m=3, seed=5, maxit=3)
    zero = impute(fixture("mar"), MAR_COLUMNS, m=3, seed=5, maxit=3,
                  delta={"hba1c_12": 0.0, "goal_met": {"coaching": 0.0}})  # fmt: skip
    for col in base.columns:
        np.testing.assert_array_equal(base.values[col], zero.values[col])


def test_single_incomplete_column_shift_equals_the_within_chain_delta() -> None:
    """With one incomplete column (its predictors complete) every draw uses the same RNG
    stream and the model is fitted on observed values only, so impute(delta=...) is the MAR
    imputation plus the delta exactly, and shift_imputations gives the same datasets."""
    d = fixture("mar")[["arm", "age", "hba1c_0", "hba1c_12"]]
    cols = ["age", "hba1c_0", "hba1c_12"]
    delta = {"hba1c_12": {"coaching": 0.7, "usual_care": -0.2}}
    within = impute(d, cols, m=4, seed=12, maxit=2, delta=delta)
    after = shift_imputations(impute(d, cols, m=4, seed=12, maxit=2), delta)
    np.testing.assert_allclose(within.values["hba1c_12"], after.values["hba1c_12"], rtol=0,
                               atol=1e-12)  # fmt: skip
    assert within.label == after.label


def test_shift_moves_the_unadjusted_difference_by_the_analytic_amount() -> None:
    """Mean difference: + delta_t * M_t / N_t - delta_c * M_c / N_c in every completed dataset."""
    d = fixture("mar")
    base = mar_base()
    dt, dc = 0.9, -0.4
    shifted = shift_imputations(base, {"hba1c_12": {"coaching": dt, "usual_care": dc}})
    miss = d["hba1c_12"].isna()
    coach = d["arm"] == "coaching"
    expected = dt * (miss & coach).sum() / coach.sum() - dc * (miss & ~coach).sum() / (~coach).sum()
    for a, b in zip(base, shifted, strict=True):
        moved = t_test(b, "hba1c_12").estimate - t_test(a, "hba1c_12").estimate
        assert moved == pytest.approx(expected, abs=1e-12)
    observed = ~miss.to_numpy()
    assert (shifted.complete(0)["hba1c_12"].to_numpy()[observed]
            == d["hba1c_12"].to_numpy()[observed]).all()  # fmt: skip


def test_shifts_add_up_and_are_labelled() -> None:
    once = shift_imputations(mar_base(), {"hba1c_12": 0.5})
    twice = shift_imputations(once, {"hba1c_12": {"coaching": 0.25}})
    assert dict(twice.delta["hba1c_12"]) == {"coaching": 0.75, "usual_care": 0.5}
    assert "hba1c_12 +0.75 in coaching, +0.5 in usual_care" in twice.label


def test_multiple_imputation_accepts_delta() -> None:
    r = multiple_imputation(
        fixture("mar"), lm_arm, columns=MAR_COLUMNS, m=3, seed=20240501, maxit=2,
        delta={"goal_met": -2.0},
    )  # fmt: skip
    assert r.missing == (
        "delta-adjusted multiple imputation (m=3, seed=20240501; goal_met -2 on the log-odds "
        "in all arms)"
    )


def test_delta_errors_name_the_problem() -> None:
    d = fixture("mar")
    with pytest.raises(AnalysisError, match=r"names arm\(s\) \['coach'\]"):
        impute(d, MAR_COLUMNS, m=2, seed=1, maxit=1, delta={"hba1c_12": {"coach": 1.0}})
    with pytest.raises(AnalysisError, match="not a numeric or binary column"):
        impute(d, MAR_COLUMNS, m=2, seed=1, maxit=1, delta={"patient_id": 1.0})
    with pytest.raises(AnalysisError, match="cannot be shifted"):
        shift_imputations(mar_base(), {"goal_met": 1.0})
    with pytest.raises(AnalysisError, match="was not imputed"):
        shift_imputations(mar_base(), {"age": 1.0})
    with pytest.raises(AnalysisError, match="must be finite"):
        impute(d, MAR_COLUMNS, m=2, seed=1, maxit=1, delta={"hba1c_12": math.nan})
    with pytest.raises(OptionError):
        tipping_point(d, lm_arm, column="hba1c_12", columns=MAR_COLUMNS, deltas=[0.0],
                      m=2, seed=1, adjust="move")  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(AnalysisError, match="adjust='reimpute'"):
        tipping_point(d, lambda x: t_test(x, "goal_met"), column="goal_met",
                      columns=MAR_COLUMNS, deltas=[0.0], m=2, seed=1, maxit=1)  # fmt: skip


def test_reimpute_grid_for_a_binary_column() -> None:
    """A log-odds shift towards failure in coaching lowers the pooled odds ratio."""
    from coachstats.compare.proportions import chi_square

    d = fixture("mar")
    tp = tipping_point(
        d, lambda x: chi_square(x, "goal_met", estimand="odds ratio"), column="goal_met",
        columns=MAR_COLUMNS, deltas=[-3.0, 0.0], m=4, seed=3, maxit=2, adjust="reimpute",
    )  # fmt: skip
    est = tp.grid.set_index("delta_treatment")["estimate"]
    assert est[-3.0] < est[0.0]
    assert tp.scale == "log-odds" and "re-imputed" in tp.method


# --------------------------------------------------------------------------- counts vs R


@cache
def hcpc() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "nnt_hcpc.csv")


def test_enumeration_matches_r_on_every_completion() -> None:
    ref = reference()["counts"]
    tp = tipping_point_counts(hcpc(), "composite_any")
    obs = ref["observed"]
    assert tp.n_missing == (obs["missing_t"], obs["missing_c"])
    grid = tp.grid.set_index(["delta_treatment", "delta_control"])
    ours = grid.loc[list(zip(ref["k_t"], ref["k_c"], strict=True))]
    for name in ("estimate", "conf_low", "conf_high", "p_value"):
        np.testing.assert_allclose(ours[name].to_numpy(), ref[name], rtol=COUNTS, atol=1e-14)
    alpha_conclusion = np.where(np.array(ref["p_value"]) < 0.05, "significantly higher with coaching",
                                "no significant difference")  # fmt: skip
    assert (ours["conclusion"].to_numpy() == alpha_conclusion).all()  # no significant harm here
    # the complete-case reference is the published analysis: 90/194 vs 61/178, P = .017
    assert tp.reference.p_value == pytest.approx(0.0174, abs=5e-4)


def test_enumeration_boundary_and_extremes() -> None:
    tp = tipping_point_counts(hcpc(), "composite_any")
    tips = tp.tipping_points()
    # k_t needed grows with k_c: the boundary is monotone
    assert tips["delta_treatment"].is_monotonic_increasing
    text = tp.summary()
    assert "every missing patient a failure: significantly higher with coaching" in text
    assert "worst case for coaching" in text and "no significant difference" in text


def test_enumeration_with_eligible_denominator() -> None:
    d = pd.DataFrame({
        "arm": ["coaching"] * 6 + ["usual_care"] * 6,
        "goal": [1, 1, None, None, 0, None, 0, 1, None, 0, 0, None],
        "had_condition": [True, True, True, False, True, True, True, True, True, True, True, False],
    })  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp = tipping_point_counts(d, "goal", eligible="had_condition")
    assert tp.n_missing == (2, 1) and len(tp.grid) == 3 * 2


# --------------------------------------------------------------------------- result behaviour


def _linear_grid(slope: float, start: float) -> TippingPointResult:
    """A synthetic grid where the lower limit is start + slope * delta (crosses 0 analytically)."""
    deltas = np.arange(0.0, 5.0, 1.0)
    rows = []
    for dt in deltas:
        lo = start + slope * dt
        r = ComparisonResult(outcome="y", method="m", estimand="mean difference",
                             estimate=lo + 1.0, conf_low=lo, conf_high=lo + 2.0,
                             p_value=0.01 if lo > 0 else 0.2)  # fmt: skip
        rows.append({"delta_treatment": dt, "delta_control": 0.0, "estimate": r.estimate,
                     "conf_low": r.conf_low, "conf_high": r.conf_high, "p_value": r.p_value,
                     "conclusion": conclusion(r)})  # fmt: skip
    ref = ComparisonResult(outcome="y", method="m", estimand="mean difference", estimate=1.5,
                           conf_low=0.5, conf_high=2.5, p_value=0.01)  # fmt: skip
    return TippingPointResult("y", "y", ("coaching", "usual_care"), pd.DataFrame(rows), ref,
                              "test", "units of y", (10, 10))  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(st.floats(-0.9, -0.1), st.floats(0.05, 0.5))
def test_tipping_point_interpolates_the_crossing(slope: float, start: float) -> None:
    tp = _linear_grid(slope, start)
    tips = tp.tipping_points()
    crossing = -start / slope
    if crossing < 4.0:
        assert tips["delta_treatment"].iloc[0] == pytest.approx(crossing, rel=1e-12)
        assert tips["conclusion"].iloc[0] == "no significant difference"
    else:
        assert tips.empty


def test_conclusion_words() -> None:
    r = ComparisonResult(outcome="y", method="m", estimand="odds ratio", estimate=0.5,
                         p_value=0.01)  # fmt: skip
    assert conclusion(r) == "significantly lower with the treatment arm"
    assert conclusion(r.replace(estimate=2.0)) == "significantly higher with the treatment arm"
    assert conclusion(r.replace(p_value=0.05)) == "no significant difference"


# --------------------------------------------------------------------------- plot


def test_plot_map_and_row() -> None:
    import matplotlib.pyplot as plt

    from coachstats.present.plots import plot_tipping_point

    tp = tipping_point_counts(hcpc(), "composite_any")
    ax = plot_tipping_point(tp)
    mesh = ax.collections[0]
    assert mesh.get_array().size == len(tp.grid)  # one cell per completion
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Significantly higher with coaching", "No significant difference"]
    x, y = ax.lines[0].get_xdata()[0], ax.lines[0].get_ydata()[0]
    assert (x, y) == pytest.approx((30 * 90 / 194, 39 * 61 / 178))  # observed rates
    ax = plot_tipping_point(_linear_grid(-0.5, 0.5))
    assert [round(v, 6) for v in ax.lines[-1].get_xdata()] == [1.0, 1.0]  # tipping point
    assert ax.get_ylabel() == "Mean difference (95% CI)"
    plt.close("all")

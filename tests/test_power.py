"""Sample size and power against R (tests/reference/power.R -> power.json) and statsmodels.

Tolerances
----------
- Power at a given n is a closed form (normal cdf, or the noncentral t cdf):
  1e-8 relative. (Observed: 2e-15 for the normal methods; 1e-12 for the t, the
  accuracy of R's ``pnt`` and scipy's noncentral t.)
- Sample sizes: the normal methods without the far tail have a closed form; the
  rest are roots, which we find by Brent's method to 1e-12 patients and which
  power.R finds with ``uniroot(tol = 1e-12)`` (or ``power.*.test(tol = 1e-12)``).
  With both sides that tight, the only difference left is the power function's
  own rounding (<= 1e-12 for the noncentral t) divided by its slope, so we compare
  at 1e-8 relative as for closed forms. (Observed: <= 3e-12.)
- R's *default* answers (``power.prop.test``, ``power.t.test`` and ``pwr.2p.test``
  with uniroot's default ``tol = .Machine$double.eps^0.25`` = 1.22e-4 patients)
  are compared at that absolute tolerance, and the rounded-up n must be the same.
- statsmodels solves with its own ``brentq`` settings (``xtol`` about 2e-12 but on a
  bracket it chooses, sometimes falling back to ``fsolve``): 1e-6 relative.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    samplesize_proportions_2indep_onetail,
)

from coachstats.errors import AnalysisError, OptionError
from coachstats.power import (
    PUBLISHED_EFFECTS,
    PowerWarning,
    ProportionMethod,
    design_effect,
    plot_power_curve,
    pooled_sd,
    power_curve,
    power_two_means,
    power_two_proportions,
    published_effect,
    published_effects,
)

matplotlib.use("Agg")

REF: dict[str, Any] = json.loads((Path(__file__).parent / "reference" / "power.json").read_text())
PROPS = {c["id"]: c for c in REF["proportions"]}
MEANS = {c["id"]: c for c in REF["means"]}
REL = 1e-8
R_UNIROOT_TOL = 1.2207e-4  # .Machine$double.eps^0.25
SM_REL = 1e-6

STRICTNESS = [pytest.param(False, id="nonstrict"), pytest.param(True, id="strict")]


def tag(strict: bool) -> str:
    return "strict" if strict else "nonstrict"


def mean_options(case: dict[str, Any], strict: bool) -> dict[str, Any]:
    """The test settings of a reference case, as keyword arguments."""
    return {
        "alpha": case["alpha"],
        "ratio": case["ratio"],
        "alternative": case["alternative"],
        "strict": strict,
    }


def prop_options(case: dict[str, Any], method: str, strict: bool) -> dict[str, Any]:
    return {**mean_options(case, strict), "method": method}


# --------------------------------------------------------------------- R: proportions
@pytest.mark.parametrize("strict", STRICTNESS)
@pytest.mark.parametrize("method", ["pooled", "arcsine"])
@pytest.mark.parametrize("case", list(PROPS.values()), ids=list(PROPS))
class TestProportionsVsR:
    def test_power_at_n(self, case: dict[str, Any], method: str, strict: bool) -> None:
        r = power_two_proportions(
            case["p1"], case["p2"], n=case["n"], **prop_options(case, method, strict)
        )
        assert r.solved_for == "power"
        assert r.power == pytest.approx(case[f"{method}_power_{tag(strict)}"], rel=REL)
        assert r.n1 == case["n"] and r.n2 == pytest.approx(case["ratio"] * case["n"], rel=1e-15)

    def test_n_for_power(self, case: dict[str, Any], method: str, strict: bool) -> None:
        r = power_two_proportions(
            case["p1"], case["p2"], power=case["power"], **prop_options(case, method, strict)
        )
        expected = case[f"{method}_n_{tag(strict)}"]
        assert r.n1 == pytest.approx(expected, rel=REL)
        assert r.n2 == pytest.approx(case["ratio"] * expected, rel=REL)
        assert r.n_required == (math.ceil(expected), math.ceil(case["ratio"] * expected))
        assert r.effect_size == pytest.approx(case["h"], rel=1e-12)


@pytest.mark.parametrize("strict", STRICTNESS)
@pytest.mark.parametrize(
    "case", [c for c in PROPS.values() if c["ratio"] == 1], ids=lambda c: c["id"]
)
def test_pooled_matches_power_prop_test_default(case: dict[str, Any], strict: bool) -> None:
    """What an R user sees from power.prop.test(...)$n, and its ceiling."""
    r_n = case[f"pooled_n_r_default_{tag(strict)}"]
    assert abs(r_n - round(r_n)) > 1e-3, "scenario too close to an integer n to compare ceilings"
    r = power_two_proportions(
        case["p1"], case["p2"], power=case["power"], **prop_options(case, "pooled", strict)
    )
    assert abs(r.n1 - r_n) <= R_UNIROOT_TOL
    assert r.n_required == (math.ceil(r_n), math.ceil(r_n))


@pytest.mark.parametrize("case", [c for c in PROPS.values() if "arcsine_n_pwr_default" in c])
def test_arcsine_matches_pwr_2p_test_default(case: dict[str, Any]) -> None:
    """pwr.2p.test(h, power)$n with pwr's own uniroot, and the default strict=None."""
    r = power_two_proportions(
        case["p1"],
        case["p2"],
        power=case["power"],
        alpha=case["alpha"],
        alternative=case["alternative"],
        method="arcsine",
    )
    assert r.strict is True  # pwr counts both tails
    assert abs(r.n1 - case["arcsine_n_pwr_default"]) <= R_UNIROOT_TOL
    assert r.n_required[0] == math.ceil(case["arcsine_n_pwr_default"])  # type: ignore[index]


def test_pooled_default_is_power_prop_test_default() -> None:
    case = PROPS["hcpc_composite"]
    r = power_two_proportions(case["p1"], case["p2"], power=case["power"])
    assert r.strict is False
    assert r.n1 == pytest.approx(case["pooled_n_nonstrict"], rel=REL)


# --------------------------------------------------------------------------- R: means
@pytest.mark.parametrize("strict", STRICTNESS)
@pytest.mark.parametrize("case", list(MEANS.values()), ids=list(MEANS))
class TestMeansVsR:
    def test_power_at_n(self, case: dict[str, Any], strict: bool) -> None:
        r = power_two_means(case["delta"], case["sd"], n=case["n"], **mean_options(case, strict))
        assert r.power == pytest.approx(case[f"t_power_{tag(strict)}"], rel=REL)

    def test_n_for_power(self, case: dict[str, Any], strict: bool) -> None:
        r = power_two_means(
            case["delta"], case["sd"], power=case["power"], **mean_options(case, strict)
        )
        expected = case[f"t_n_{tag(strict)}"]
        assert r.n1 == pytest.approx(expected, rel=REL)
        assert r.n_required == (math.ceil(expected), math.ceil(case["ratio"] * expected))
        assert r.effect_size == pytest.approx(case["d"], rel=1e-12)
        if case["ratio"] == 1:  # power.t.test itself on the raw delta and sd, tol = 1e-12
            assert r.n1 == pytest.approx(case[f"t_n_r_tight_{tag(strict)}"], rel=REL)
            r_n = case[f"t_n_r_default_{tag(strict)}"]
            assert abs(r.n1 - r_n) <= R_UNIROOT_TOL
            assert r.n_required[0] == math.ceil(r_n)


def test_means_default_is_power_t_test_default() -> None:
    case = MEANS["peer_hba1c_change"]
    r = power_two_means(case["delta"], case["sd"], power=case["power"])
    assert r.strict is False
    assert r.n1 == pytest.approx(case["t_n_nonstrict"], rel=REL)


def test_means_minimum_sample_warns() -> None:
    """A huge effect reaches the power at 2 per group, the t test's minimum (pwr.t2n.test)."""
    m = REF["minimum"]
    with pytest.warns(PowerWarning, match="smallest sample"):
        r = power_two_means(m["delta"], m["sd"], power=0.8)
    assert r.at_minimum and r.n1 == 2.0 and r.n_required == (2, 2)
    assert "smallest sample" in r.summary()
    assert power_two_means(m["delta"], m["sd"], n=2).power == pytest.approx(m["power"], rel=REL)
    assert m["power"] >= 0.8


def test_far_tail_stays_finite() -> None:
    """scipy's nct.cdf is NaN at df 294, ncp 8.6 (the far tail of d = 1, n = 148)."""
    strict = power_two_means(1.0, 1.0, n=148, strict=True).power
    loose = power_two_means(1.0, 1.0, n=148, strict=False).power
    assert math.isfinite(strict) and loose <= strict <= 1.0


# ------------------------------------------------------------------- R: designs (power)
@pytest.mark.parametrize("case", REF["designs"], ids=lambda c: c["id"])
def test_power_of_clustered_lossy_design(case: dict[str, Any]) -> None:
    design = {
        "n": case["n"],
        "ratio": case["ratio"],
        "icc": case["icc"],
        "cluster_size": case["cluster_size"],
        "attrition": case["attrition"],
    }
    if case["kind"] == "means":
        runs = [(power_two_means(case["delta"], case["sd"], **design), case["t_power_nonstrict"])]
    else:
        p1, p2 = case["p1"], case["p2"]
        runs = [
            (power_two_proportions(p1, p2, **design), case["pooled_power_nonstrict"]),
            (
                power_two_proportions(p1, p2, method="arcsine", **design),
                case["arcsine_power_strict"],
            ),
        ]
    for r, expected in runs:
        assert r.design_effect == pytest.approx(case["design_effect"], rel=1e-15)
        assert r.n1 == pytest.approx(case["n_effective"], rel=1e-14)
        assert r.n1_enrolled == case["n"]
        assert r.n1_analysed == pytest.approx(case["n"] * (1 - case["attrition"]), rel=1e-15)
        assert r.clusters1 == pytest.approx(r.n1_analysed / case["cluster_size"], rel=1e-15)
        assert r.power == pytest.approx(expected, rel=REL)
        assert r.n_required is None


# ---------------------------------------------------------------------- statsmodels
@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.5])
@pytest.mark.parametrize("alternative", ["two-sided", "one-sided"])
def test_arcsine_vs_statsmodels_normal_ind_power(ratio: float, alternative: str) -> None:
    p1, p2 = 0.464, 0.343
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
    sm_alt = "two-sided" if alternative == "two-sided" else "larger"
    expected = NormalIndPower().solve_power(
        effect_size=h, alpha=0.05, power=0.8, ratio=ratio, alternative=sm_alt
    )
    r = power_two_proportions(
        p1,
        p2,
        power=0.8,
        ratio=ratio,
        method="arcsine",
        alternative=alternative,  # type: ignore[arg-type]
    )
    assert r.n1 == pytest.approx(expected, rel=SM_REL)
    got = power_two_proportions(p1, p2, n=180, ratio=ratio, method="arcsine").power
    assert got == pytest.approx(NormalIndPower().power(h, 180, 0.05, ratio=ratio), rel=REL)


@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.5, 1.5])
def test_pooled_vs_statsmodels_power_proportions_2indep(ratio: float) -> None:
    """statsmodels' unequal-allocation pooled test: far tail counted (strict=True)."""
    p1, p2 = 0.486, 0.276
    sm = power_proportions_2indep(p1 - p2, p2, 90, ratio=ratio, alpha=0.05, return_results=False)
    r = power_two_proportions(p1, p2, n=90, ratio=ratio, strict=True)
    assert r.power == pytest.approx(sm, rel=REL)
    # and its closed-form sample size of the one-tail power (strict=False)
    n_sm = samplesize_proportions_2indep_onetail(p1 - p2, p2, 0.8, ratio=ratio, alpha=0.05)
    r = power_two_proportions(p1, p2, power=0.8, ratio=ratio)
    assert r.n1 == pytest.approx(n_sm, rel=REL)


@pytest.mark.parametrize(
    ("delta", "sd", "ratio"), [(0.77, 2.9487, 1.0), (0.5, 1.0, 2.0), (1.2, 1.0, 0.5)]
)
def test_means_vs_statsmodels_ttest_ind_power(delta: float, sd: float, ratio: float) -> None:
    d = delta / sd
    expected = TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8, ratio=ratio)
    r = power_two_means(delta, sd, power=0.8, ratio=ratio, strict=True)
    assert r.n1 == pytest.approx(expected, rel=SM_REL)
    sm_power = TTestIndPower().power(d, 40, 0.05, ratio=ratio)
    assert power_two_means(delta, sd, n=40, ratio=ratio, strict=True).power == pytest.approx(
        sm_power, rel=REL
    )


# ------------------------------------------------------------ design effect, rounding
def test_design_effect_formula() -> None:
    assert design_effect(0.05, 10) == pytest.approx(1.45, rel=1e-15)  # 1 + 9 x .05
    assert design_effect(0.0, 75) == 1.0
    assert design_effect(0.3, 1) == 1.0  # one patient per cluster: no clustering
    # Eldridge 2006: 1 + ((1 + .4^2) x 75 - 1) x .05 = 1 + 86 x .05
    assert design_effect(0.05, 75, cluster_cv=0.4) == pytest.approx(5.3, rel=1e-14)


def test_inflation_worked_by_hand() -> None:
    """HCPC composite, power .8: R's n = 256.878 -> 257 per group (power.prop.test).

    Coaches with 10 analysed patients each, ICC .05: DE = 1.45, 257 x 1.45 = 372.65 -> 373,
    in 373 / 10 = 37.3 -> 38 clusters. 20 % lost: 373 / .8 = 466.25 -> 467 enrolled.
    """
    r = power_two_proportions(0.464, 0.343, power=0.8, icc=0.05, cluster_size=10, attrition=0.2)
    assert r.n1 == pytest.approx(PROPS["hcpc_composite"]["pooled_n_nonstrict"], rel=REL)
    assert r.n_required == (257, 257)
    assert (r.n1_analysed, r.n2_analysed) == (373, 373)
    assert (r.clusters1, r.clusters2) == (38, 38)
    assert (r.n1_enrolled, r.n2_enrolled, r.n_enrolled) == (467, 467, 934)
    text = r.summary()
    assert "1.45" in text and "373 + 373" in text and "467 + 467 = 934 enrolled" in text


def test_unequal_allocation_rounds_each_group() -> None:
    """pwr.2p2n.test-style arcsine n with twice as many controls: n2 = 2 n1, each rounded up."""
    case = PROPS["ratio_2"]
    r = power_two_proportions(case["p1"], case["p2"], power=0.8, ratio=2, method="arcsine")
    n1 = case["arcsine_n_strict"]
    assert r.n_required == (math.ceil(n1), math.ceil(2 * n1))
    assert r.n1_enrolled == math.ceil(n1) and r.n2_enrolled == math.ceil(2 * n1)


def test_no_inflation_without_design() -> None:
    r = power_two_means(0.5, 1.0, power=0.8)
    assert r.design_effect == 1.0 and math.isnan(r.clusters1)
    assert r.n_required == (64, 64)  # power.t.test: n = 63.77
    assert (r.n1_analysed, r.n1_enrolled) == (64, 64)


def test_attrition_only() -> None:
    # 64 analysed per group (power.t.test n = 63.77), 10 % lost: 64 / .9 = 71.1 -> 72
    r = power_two_means(0.5, 1.0, power=0.8, attrition=0.1)
    assert (r.n1_analysed, r.n1_enrolled, r.n_enrolled) == (64, 72, 144)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"p1": 0.0, "p2": 0.3, "power": 0.8}, OptionError, "p1 must be strictly between 0 and 1"),
        ({"p1": 0.4, "p2": 1.0, "power": 0.8}, OptionError, "p2 must be strictly between"),
        ({"p1": 0.4, "p2": 0.4, "power": 0.8}, AnalysisError, "no difference to detect"),
        ({"p1": 0.4, "p2": 0.3}, OptionError, "exactly one of n .* or power"),
        ({"p1": 0.4, "p2": 0.3, "n": 100, "power": 0.8}, OptionError, "both given"),
        ({"p1": 0.4, "p2": 0.3, "power": 1.0}, OptionError, "power must be strictly between"),
        ({"p1": 0.4, "p2": 0.3, "power": 0.8, "alpha": 0}, OptionError, "alpha"),
        ({"p1": 0.4, "p2": 0.3, "n": -5}, OptionError, "n must be > 0"),
        ({"p1": 0.4, "p2": 0.3, "power": 0.8, "ratio": 0}, OptionError, "ratio must be > 0"),
        (
            {"p1": 0.4, "p2": 0.3, "power": 0.8, "method": "exact"},
            OptionError,
            "'pooled', 'arcsine'",
        ),
        (
            {"p1": 0.4, "p2": 0.3, "power": 0.8, "alternative": "less"},
            OptionError,
            "'two-sided', 'one-sided'",
        ),
        (
            {"p1": 0.4, "p2": 0.3, "power": 0.8, "icc": 0.05},
            OptionError,
            "cluster_size .* is required",
        ),
        (
            {"p1": 0.4, "p2": 0.3, "power": 0.8, "icc": 1.5, "cluster_size": 10},
            OptionError,
            r"icc must be in \[0, 1\]",
        ),
        (
            {"p1": 0.4, "p2": 0.3, "power": 0.8, "icc": 0.1, "cluster_size": 0.5},
            OptionError,
            "cluster_size .* must be >= 1",
        ),
        (
            {"p1": 0.4, "p2": 0.3, "power": 0.8, "attrition": 1.0},
            OptionError,
            r"attrition .* \[0, 1\)",
        ),
        ({"p1": "0.4", "p2": 0.3, "power": 0.8}, OptionError, "p1 must be a number"),
        ({"p1": float("nan"), "p2": 0.3, "power": 0.8}, OptionError, "p1 must be finite"),
        ({"p1": 0.4, "p2": 0.3, "power": 0.8, "strict": "yes"}, OptionError, "strict must be"),
    ],
)
def test_proportion_validation(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    p1, p2 = kwargs.pop("p1"), kwargs.pop("p2")
    with pytest.raises(error, match=match):
        power_two_proportions(p1, p2, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0.5, 0.0), {"power": 0.8}, OptionError, "sd must be > 0"),
        ((0.5, -1.0), {"power": 0.8}, OptionError, "sd must be > 0"),
        ((0.0, 1.0), {"power": 0.8}, AnalysisError, "no difference to detect"),
        ((0.5, 1.0), {}, OptionError, "neither given"),
        (
            (0.5, 1.0),
            {"n": 3, "icc": 0.5, "cluster_size": 10},
            AnalysisError,
            "at least 2 per group",
        ),
    ],
)
def test_mean_validation(
    args: tuple[float, float], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        power_two_means(*args, **kwargs)


def test_effect_too_small_to_plan_for() -> None:
    with pytest.raises(AnalysisError, match="too small to plan for"):
        power_two_proportions(0.3, 0.3 + 1e-8, power=0.8)
    with pytest.raises(AnalysisError, match="too small to plan for"):
        power_two_means(1e-7, 1.0, power=0.8)


def test_power_below_the_floor_of_the_approximation() -> None:
    # One-sided at alpha .05: any n gives power > .05, so .04 cannot be a design target.
    with pytest.raises(AnalysisError, match="higher power"):
        power_two_proportions(0.4, 0.3, power=0.04, alternative="one-sided")


# ------------------------------------------------------------------------ the result
def test_result_contract() -> None:
    r = power_two_proportions(0.464, 0.343, power=0.8, outcome="composite")
    with pytest.raises(FrozenInstanceError):
        r.power = 0.9  # type: ignore[misc]
    frame = r.to_frame()
    assert frame.shape[0] == 1
    for col in (
        "outcome",
        "method",
        "power",
        "n1",
        "n2",
        "n1_required",
        "design_effect",
        "n1_enrolled",
        "n_enrolled",
        "effect",
        "effect_size",
        "alpha",
        "alternative",
    ):
        assert col in frame.columns
    assert frame.loc[0, "outcome"] == "composite" and frame.loc[0, "n1_required"] == 257
    assert "power.prop.test" in r.summary() and "257 + 257 = 514" in r.summary()
    assert repr(r).startswith("<PowerResult two proportions (pooled): n = 257 + 257")
    assert r._repr_html_().startswith("<pre")
    both = pd.concat([r.to_frame(), power_two_means(0.5, 1, n=50).to_frame()], ignore_index=True)
    assert both["solved_for"].tolist() == ["n", "power"]
    assert both["n1_required"].isna().tolist() == [False, True]


def test_power_mode_summary_shows_steps() -> None:
    r = power_two_means(-0.77, 2.9487, n=150, icc=0.05, cluster_size=10, attrition=0.2)
    text = r.summary()
    assert "enrolled: 150 + 150 = 300" in text
    assert "120 + 120 = 240 analysed" in text  # 150 x .8
    assert "effective n 82.76" in text  # 120 / 1.45
    assert repr(r).startswith("<PowerResult two means (t): power 0.")


# ---------------------------------------------------------------------- published
def test_published_effects_match_the_papers() -> None:
    hcpc = published_effect("hcpc_composite")
    assert (hcpc.p1, hcpc.p2, hcpc.kind) == (0.464, 0.343, "proportions")
    peer = published_effect("peer_hba1c_change")
    assert peer.kind == "means"
    assert peer.delta == pytest.approx(-1.07 + 0.30, abs=1e-12)
    assert peer.sd == pytest.approx(REF["peer_pooled_sd"], rel=1e-12)
    assert 2.8 < peer.sd < 3.1 and round(peer.sd, 1) == 2.9
    table = published_effects()
    assert list(table["key"]) == list(PUBLISHED_EFFECTS)
    assert table["source"].str.len().gt(0).all()


@pytest.mark.parametrize("key", list(PUBLISHED_EFFECTS))
def test_every_published_effect_plans(key: str) -> None:
    effect = published_effect(key)
    r = effect.plan(power=0.8)
    assert r.outcome == effect.label and r.solved_for == "n" and r.n1 > 2
    assert effect.plan(n=math.ceil(r.n1)).power >= 0.8


def test_peer_hba1c_plan_matches_power_t_test() -> None:
    case = MEANS["peer_hba1c_change"]
    r = published_effect("peer_hba1c_change").plan(power=0.8)
    assert r.n1 == pytest.approx(case["t_n_nonstrict"], rel=REL)


def test_unknown_published_effect() -> None:
    with pytest.raises(OptionError, match="'hcpc_composite'"):
        published_effect("composite")


def test_pooled_sd() -> None:
    # sqrt((121 x 7.84 + 113 x 9.61) / 234) = sqrt(2034.57 / 234)
    assert pooled_sd(2.8, 122, 3.1, 114) == pytest.approx(math.sqrt(2034.57 / 234), rel=1e-14)
    assert pooled_sd(2.0, 10, 2.0, 30) == pytest.approx(2.0, rel=1e-15)
    with pytest.raises(OptionError):
        pooled_sd(2.0, 1, 2.0, 1)


# ---------------------------------------------------------------------- power curves
def test_power_curve_values_and_crossing() -> None:
    r = power_two_proportions(0.464, 0.343, power=0.8, outcome="composite")
    curve = power_curve(r, [200, 256, 257])
    assert list(curve.columns) == [
        "label",
        "n1_enrolled",
        "n2_enrolled",
        "n_enrolled",
        "n1",
        "power",
    ]
    assert curve.loc[0, "power"] == pytest.approx(
        PROPS["hcpc_composite"]["pooled_power_nonstrict"], rel=REL
    )
    power = curve["power"].to_numpy()
    assert power[1] < 0.8 <= power[2]  # R's n is 256.88
    grid = power_curve(r)
    assert grid["n1_enrolled"].is_monotonic_increasing and grid["power"].is_monotonic_increasing
    assert grid["n1_enrolled"].min() <= 257 <= grid["n1_enrolled"].max()


def test_power_curve_uses_the_design() -> None:
    r = power_two_means(0.5, 1.0, power=0.8, icc=0.05, cluster_size=10, attrition=0.2, ratio=2)
    curve = power_curve(r, [100.0])
    assert curve.loc[0, "n1"] == pytest.approx(100 * 0.8 / 1.45, rel=1e-14)
    assert curve.loc[0, "n2_enrolled"] == 200.0
    direct = power_two_means(0.5, 1.0, n=100, icc=0.05, cluster_size=10, attrition=0.2, ratio=2)
    assert curve.loc[0, "power"] == pytest.approx(direct.power, rel=1e-14)


def test_power_curve_several_designs_and_errors() -> None:
    a = published_effect("hcpc_composite").plan(power=0.8)
    b = published_effect("hcpc_hba1c_goal").plan(power=0.8)
    curve = power_curve([a, b], points=20)
    assert curve["label"].unique().tolist() == [a.outcome, b.outcome]
    with pytest.raises(OptionError, match="PowerResult"):
        power_curve([])
    with pytest.raises(OptionError, match="> 0"):
        power_curve(a, [0, 10])
    with pytest.raises(AnalysisError, match="fewer than 2"):
        power_curve(power_two_means(0.5, 1, power=0.8), [1, 10])


def test_plot_power_curve() -> None:
    import matplotlib.pyplot as plt

    a = published_effect("hcpc_composite").plan(power=0.8)
    b = published_effect("peer_hba1c_drop").plan(power=0.8)
    frame = power_curve([a, b])
    fig, ax = plt.subplots()
    try:
        out = plot_power_curve(frame, ax=ax, target=0.9, x="n_enrolled")
        assert out is ax
        assert len(ax.get_lines()) == 3  # two curves and the target line
        assert np.asarray(ax.get_lines()[2].get_ydata())[0] == 0.9
        assert ax.get_xlabel() == "Patients enrolled"
        legend = ax.get_legend()
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == [a.outcome, b.outcome]
        assert plot_power_curve(frame, ax=ax).get_xlabel() == "Patients enrolled per group"
        unequal = power_curve(published_effect("hcpc_composite").plan(power=0.8, ratio=2))
        assert plot_power_curve(unequal, ax=ax).get_xlabel() == "Patients enrolled in group 1"
        ax.clear()
        new = plot_power_curve(frame, target=None)
        assert new is not ax and len(new.get_lines()) == 2
        plt.close(new.figure)  # type: ignore[arg-type]
        with pytest.raises(OptionError, match="power_curve"):
            plot_power_curve(frame.drop(columns="power"), ax=ax)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------- properties
probs = st.floats(min_value=0.02, max_value=0.98)
PROPERTY = settings(max_examples=50, deadline=None)


@st.composite
def two_props(draw: st.DrawFn) -> tuple[float, float]:
    p1, p2 = draw(probs), draw(probs)
    assume(abs(p1 - p2) >= 0.02)
    return p1, p2


methods = st.sampled_from(["pooled", "arcsine"])
strictness = st.booleans()
ratios = st.sampled_from([0.5, 1.0, 1.5, 3.0])
alternatives = st.sampled_from(["two-sided", "one-sided"])


@PROPERTY
@given(two_props(), methods, strictness, ratios, st.floats(5, 2000), st.floats(5, 2000))
def test_power_increases_with_n_proportions(
    ps: tuple[float, float], method: str, strict: bool, ratio: float, a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    opts: dict[str, Any] = {"method": method, "strict": strict, "ratio": ratio}
    p_lo = power_two_proportions(*ps, n=lo, **opts).power
    p_hi = power_two_proportions(*ps, n=hi, **opts).power
    assert 0.0 < p_lo <= p_hi + 1e-12 and p_hi <= 1.0


@PROPERTY
@given(st.floats(0.05, 2.0), strictness, ratios, st.floats(4, 500), st.floats(4, 500))
def test_power_increases_with_n_means(
    d: float, strict: bool, ratio: float, a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    p_lo = power_two_means(d, 1.0, n=lo, strict=strict, ratio=ratio).power
    p_hi = power_two_means(d, 1.0, n=hi, strict=strict, ratio=ratio).power
    assert 0.0 < p_lo <= p_hi + 1e-12 and p_hi <= 1.0


@PROPERTY
@given(
    st.floats(0.05, 0.5),
    st.floats(0.01, 0.3),
    st.floats(0.01, 0.3),
    methods,
    strictness,
    ratios,
    st.floats(10, 500),
)
def test_power_increases_with_effect(
    p2: float, step1: float, step2: float, method: str, strict: bool, ratio: float, n: float
) -> None:
    """Power rises with |p1 - p2| (p1 moving away from p2) and with |delta| / sd.

    The pooled approximation's null variance moves with p1, so below the nominal
    level (power < alpha: tiny n, rare outcome, unequal allocation) its power can
    dip as the effect grows, as in statsmodels' power_proportions_2indep; that
    region is no design and is left out.
    """
    small, large = sorted((step1, step2))
    assume(p2 + large < 0.99)
    opts: dict[str, Any] = {"n": n, "method": method, "strict": strict, "ratio": ratio}
    weak = power_two_proportions(p2 + small, p2, **opts).power
    assume(method == "arcsine" or weak >= 0.05)
    assert weak <= power_two_proportions(p2 + large, p2, **opts).power + 1e-12
    assert (
        power_two_means(-small, 0.5, n=n, strict=strict, ratio=ratio).power
        <= power_two_means(-large, 0.5, n=n, strict=strict, ratio=ratio).power + 1e-12
    )


@PROPERTY
@given(
    two_props(),
    methods,
    strictness,
    ratios,
    alternatives,
    st.floats(0.5, 0.95),
    st.sampled_from([0.0, 0.01, 0.1]),
    st.sampled_from([None, 5.0, 40.0]),
    st.sampled_from([0.0, 0.15]),
)
def test_solve_then_power_round_trip_proportions(
    ps: tuple[float, float],
    method: str,
    strict: bool,
    ratio: float,
    alternative: str,
    target: float,
    icc: float,
    size: float | None,
    attrition: float,
) -> None:
    design: dict[str, Any] = {
        "method": method,
        "strict": strict,
        "ratio": ratio,
        "alternative": alternative,
        "icc": icc if size else 0.0,
        "cluster_size": size,
        "attrition": attrition,
    }
    solved = power_two_proportions(*ps, power=target, **design)
    enrolled = solved.n1 * solved.design_effect / (1 - attrition)  # unrounded
    back = power_two_proportions(*ps, n=enrolled, **design)
    assert back.power == pytest.approx(target, abs=1e-9)
    assert back.n1 == pytest.approx(solved.n1, rel=1e-12)
    # the rounded-up chain never loses power and only grows
    assert solved.n_required is not None
    assert solved.n1 <= solved.n_required[0] <= solved.n1_analysed <= solved.n1_enrolled
    assert power_two_proportions(*ps, n=solved.n1_enrolled, **design).power >= target - 1e-12


@PROPERTY
@given(
    st.floats(0.1, 1.5),
    strictness,
    ratios,
    alternatives,
    st.floats(0.5, 0.95),
    st.sampled_from([0.0, 0.05]),
    st.sampled_from([0.0, 0.2]),
)
def test_solve_then_power_round_trip_means(
    d: float, strict: bool, ratio: float, alternative: str, target: float, icc: float, lost: float
) -> None:
    design: dict[str, Any] = {
        "strict": strict,
        "ratio": ratio,
        "alternative": alternative,
        "icc": icc,
        "cluster_size": 12.0,
        "attrition": lost,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PowerWarning)
        solved = power_two_means(d, 1.0, power=target, **design)
    enrolled = solved.n1 * solved.design_effect / (1 - lost)
    back = power_two_means(d, 1.0, n=enrolled, **design)
    if solved.at_minimum:
        assert back.power >= target
    else:
        assert back.power == pytest.approx(target, abs=1e-9)


@PROPERTY
@given(st.floats(0.0, 1.0), st.floats(1.0, 500.0), st.floats(0.0, 2.0))
def test_design_effect_at_least_one(icc: float, size: float, cv: float) -> None:
    de = design_effect(icc, size, cluster_cv=cv)
    assert de >= 1.0
    assert de >= design_effect(icc, size)  # variable cluster sizes never help


@PROPERTY
@given(two_props(), methods, strictness, ratios, st.floats(0.5, 0.95))
def test_swapping_arms_with_reciprocal_ratio_is_the_same_design(
    ps: tuple[float, float], method: ProportionMethod, strict: bool, ratio: float, target: float
) -> None:
    """Relabel the groups (p1 <-> p2, ratio -> 1/ratio): the same patients are needed."""
    a = power_two_proportions(ps[0], ps[1], power=target, ratio=ratio, method=method, strict=strict)
    b = power_two_proportions(
        ps[1], ps[0], power=target, ratio=1 / ratio, method=method, strict=strict
    )
    assert b.n1 == pytest.approx(a.n2, rel=1e-9)
    assert b.effect == -a.effect and b.effect_size == pytest.approx(-a.effect_size, rel=1e-12)


@PROPERTY
@given(st.floats(0.05, 3.0), st.floats(0.1, 5.0), strictness, st.floats(4, 300))
def test_sign_of_delta_does_not_matter(delta: float, sd: float, strict: bool, n: float) -> None:
    a = power_two_means(delta, sd, n=n, strict=strict).power
    b = power_two_means(-delta, sd, n=n, strict=strict).power
    assert a == b
    assert power_two_means(delta * 2, sd * 2, n=n, strict=strict).power == pytest.approx(
        a, rel=1e-12
    )


def test_planning_effect_repr_is_one_line_and_flags_inferred_counts() -> None:
    # the dataclass repr of a published effect ran to ~1,300 characters of nested Origin
    # and Proportion fields; the counts HCPC never printed (90/194 and 61/178 come from its
    # printed 46.4 % and 34.3 % of the analysed patients) were buried in it
    from coachstats.tasks.power import published_effect as effect_of

    text = repr(effect_of("hcpc_composite"))
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<PlanningEffect hcpc_composite: At goal for >= 1 condition")
    assert "46.4 % vs 34.3 %, P .02" in text
    assert "counts 90/194 vs 61/178 inferred, not published" in text
    peer = repr(effect_of("peer_hba1c_change"))  # means as printed: -1.07 (2.8) vs -0.30 (3.1)
    assert "-1.07 (2.8) vs -0.30 (3.1), P .01" in peer and "inferred" not in peer
    # HbA1c < 7.5 %: the paper printed 27 (22.0 %) and 17 (14.9 %); 27/123 and 17/114 are the
    # only n that print as those shares (published.md), and its P = .11 is not the chi-square
    # of these shares (.16): the repr said neither
    below = repr(effect_of("peer_hba1c_below_7_5"))
    assert "27/123 vs 17/114: n computed from the printed count and %" in below
    assert "the printed P is from another analysis than these figures" in below
    assert "another analysis" not in peer


def test_power_result_repr_says_a_published_effect_is_taken_as_the_true_one() -> None:
    # the plan of a published effect rests on one assumption (the trial's estimate is the
    # true effect); the repr, what a notebook shows, named neither the outcome nor that
    from coachstats.tasks.power import published_effect as effect_of

    text = repr(effect_of("hcpc_composite").plan(power=0.8))
    assert "; At goal for >= 1 condition (assumed: the true effect is the published estimate)>" in (
        text
    )
    assert "assumed" not in repr(power_two_proportions(0.3, 0.45, power=0.8))

"""Tests of the number needed to treat and the cost per additional patient at goal.

References: Altman's (1998) published example (BMJ 317:1309, figures 1-2, as
quoted by Newcombe's reply in the BMJ), Barrowman's (CMAJ 2002;166:1676)
worked example, and ``tests/reference/nnt.R`` (epiR ``epi.2by2`` NNTs from the
Wald risk difference; ``boot::boot`` for the stratified percentile bootstrap),
stored in ``tests/reference/nnt.json``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.nnt import (
    NNTResult,
    bootstrap_cost_per_success,
    cost_per_additional_success,
    nnt_from_difference,
    number_needed_to_treat,
)
from coachstats.compare.proportions import ArmCounts, odds_ratio, risk_difference
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.tasks.economics import (
    DEFAULT_HOURLY_WAGE,
    CoachingCost,
    cost_per_additional_patient_at_goal,
    hcpc_coaching_minutes,
)

REF = Path(__file__).parent / "reference"
CLOSED = 1e-9  # closed forms: reciprocals and products of the same Wald limits


@cache
def reference() -> dict[str, Any]:
    with open(REF / "nnt.json") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


def _float(x: Any) -> float:
    return math.inf if x == "Inf" else (math.nan if x is None else float(x))


def _rd(x1: int, n1: int, x2: int, n2: int) -> Any:
    return risk_difference(ArmCounts((x1, n1, x2, n2), ("coaching", "usual_care")), "goal")


# --------------------------------------------------------------------------- published examples


def test_altman_figure_example_crosses_zero() -> None:
    """Altman 1998, figures 1-2: ARR 10 % (95 % CI -5 % to 25 %) -> NNTB 10, NNTB 4 to ∞ to NNTH 20."""
    r = nnt_from_difference(0.10, -0.05, 0.25)
    assert r.nnt == pytest.approx(10.0, rel=1e-12)
    assert r.nnt_limits == pytest.approx((4.0, -20.0), rel=1e-12)
    assert r.crosses_zero and r.direction == "benefit"
    assert r.interval_text() == "NNTB 4.0 to ∞ to NNTH 20.0"
    assert r.text() == "NNTB 10.0 (95% CI NNTB 4.0 to ∞ to NNTH 20.0)"


def test_barrowman_worked_example_significant() -> None:
    """Barrowman 2002: ARR 16.6 % (0.9 % to 32.2 %) -> NNT 6 (3.1 to 111.1)."""
    r = nnt_from_difference(0.166, 0.009, 0.322)
    assert round(r.nnt, 1) == 6.0
    assert [round(x, 1) for x in r.nnt_limits] == [3.1, 111.1]
    assert not r.crosses_zero
    assert r.interval_text() == "NNTB 3.1 to 111.1"


# --------------------------------------------------------------------------- against epiR


@pytest.mark.parametrize("name", list(reference()["nnt"]))
def test_nnt_matches_epir(name: str) -> None:
    ref = reference()["nnt"][name]
    rd = _rd(ref["x1"], ref["n1"], ref["x2"], ref["n2"])
    assert (rd.estimate, rd.conf_low, rd.conf_high) == pytest.approx(
        (ref["difference"], ref["difference_low"], ref["difference_high"]), abs=CLOSED
    )
    r = number_needed_to_treat(rd)
    assert r.nnt == pytest.approx(ref["nnt"], rel=CLOSED)
    # epiR returns the two reciprocals in either order; Altman's interval is their pair
    assert sorted(r.nnt_limits) == pytest.approx(
        sorted([ref["nnt_lower"], ref["nnt_upper"]]), rel=CLOSED
    )
    assert r.crosses_zero == (ref["difference_low"] <= 0 <= ref["difference_high"])


@pytest.mark.parametrize("name", list(reference()["nnt"]))
def test_cost_with_known_cost_matches_r(name: str) -> None:
    ref = reference()["nnt"][name]
    c = cost_per_additional_success(_rd(ref["x1"], ref["n1"], ref["x2"], ref["n2"]), ref["cost"])
    for ours, theirs in (
        (c.estimate, ref["cost_estimate"]),
        (c.conf_low, ref["cost_low"]),
        (c.conf_high, ref["cost_high"]),
    ):
        expected = _float(theirs)
        if math.isnan(expected) or math.isinf(expected):
            assert (math.isnan(ours) and math.isnan(expected)) or ours == expected
        else:
            assert ours == pytest.approx(expected, rel=CLOSED)
    assert c.unbounded == (ref["difference_low"] <= 0)


def test_hcpc_default_cost_is_the_published_minutes_at_the_assumed_wage() -> None:
    ref = reference()["nnt"]["hcpc_composite"]
    assert hcpc_coaching_minutes() == 540.8  # Willard-Grace 2015, Table 1
    c = cost_per_additional_patient_at_goal(_rd(90, 194, 61, 178))
    assert c.cost_per_patient == pytest.approx(540.8 / 60 * 20.19, rel=1e-12)
    assert c.estimate == pytest.approx(ref["cost_estimate"], rel=CLOSED)
    text = c.summary()
    for needle in ("540.8 coaching minutes", "20.19 USD", "BLS", "no benefits or overhead"):
        assert needle in text


# --------------------------------------------------------------------------- against boot


@cache
def hcpc_fixture() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "nnt_hcpc.csv")


def test_bootstrap_matches_r_boot_within_monte_carlo_error() -> None:
    """Percentile limits within the R run's order-statistic band (see nnt.R for the width)."""
    ref = reference()["bootstrap"]
    r = cost_per_additional_patient_at_goal(
        data=hcpc_fixture(), outcome="composite_any", n_boot=ref["B"], seed=11
    )
    # plug-in values are not random
    assert r.estimate == pytest.approx(ref["estimate"], rel=CLOSED)
    assert r.cost_per_patient == pytest.approx(ref["cost_per_patient"], rel=CLOSED)
    assert r.nnt.difference == pytest.approx(ref["difference"], rel=CLOSED)
    low_band = [_float(x) for x in ref["ratio_low_band"]]
    high_band = [_float(x) for x in ref["ratio_high_band"]]
    assert low_band[0] <= r.conf_low <= low_band[1]
    assert high_band[0] <= r.conf_high <= high_band[1]
    d_low, d_high = ref["difference_low_band"], ref["difference_high_band"]
    assert d_low[0] <= r.nnt.conf_low <= d_low[1]
    assert d_high[0] <= r.nnt.conf_high <= d_high[1]
    # share of replicates without benefit: binomial, 5 standard errors of a difference
    p = ref["share_no_benefit"]
    se = math.sqrt(2 * p * (1 - p) / ref["B"])
    assert abs(r.extra["share_no_benefit"] - p) < 5 * se + 1e-12
    assert not any("540.8" in a for a in r.assumptions)  # the minutes were measured


def test_bootstrap_is_reproducible_and_unbounded_without_clear_benefit() -> None:
    rng = np.random.default_rng(4)
    t = (rng.random(80) < 0.35).astype(float)
    c = (rng.random(80) < 0.33).astype(float)
    minutes = rng.gamma(3.0, 180.0, 80)
    a = bootstrap_cost_per_success(t, c, minutes, rate=1.0, n_boot=400, seed=3)
    b = bootstrap_cost_per_success(t, c, minutes, rate=1.0, n_boot=400, seed=3)
    assert a.to_dict() == b.to_dict()
    assert a.unbounded  # the difference's bootstrap interval reaches below 0


def test_bootstrap_with_constant_cost_is_cost_over_rd_quantiles() -> None:
    """With the same minutes for everyone, the ratio's limits are cost / the RD's limits."""
    rng = np.random.default_rng(8)
    t = (rng.random(150) < 0.6).astype(float)
    c = (rng.random(150) < 0.3).astype(float)
    r = bootstrap_cost_per_success(t, c, np.full(150, 120.0), rate=0.5, n_boot=1000, seed=5)
    assert r.cost_per_patient == 60.0
    # type-7 quantiles of a decreasing transform swap ends, exactly when they fall on
    # order statistics; with 1000 replicates 0.025 * 999 is not whole, so compare loosely
    assert r.conf_low == pytest.approx(60.0 / r.nnt.conf_high, rel=0.02)
    assert r.conf_high == pytest.approx(60.0 / r.nnt.conf_low, rel=0.02)


# --------------------------------------------------------------------------- behaviour


def test_adverse_outcome_flips_the_direction() -> None:
    rd = _rd(30, 194, 62, 178)  # fewer events with coaching
    good = number_needed_to_treat(rd)
    bad = number_needed_to_treat(rd, good_outcome=False)
    assert good.direction == "harm" and bad.direction == "benefit"
    assert bad.nnt == pytest.approx(-good.nnt, rel=1e-12)
    assert sorted(bad.nnt_limits) == pytest.approx(sorted(-x for x in good.nnt_limits))


def test_harm_interval_text_runs_from_smaller_to_larger() -> None:
    r = nnt_from_difference(-0.2, -0.3, -0.1)
    assert r.interval_text() == "NNTH 3.3 to 10.0"
    c = cost_per_additional_success(r, 100.0)
    assert math.isnan(c.estimate) and c.text().startswith("not defined")


def test_limit_at_exactly_zero_is_infinite() -> None:
    r = nnt_from_difference(0.1, 0.0, 0.2)
    assert r.nnt_limits == (5.0, math.inf)
    assert r.interval_text() == "NNTB 5.0 to ∞"


def test_needs_a_risk_difference() -> None:
    rows = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 4, "goal": [1, 0] * 4})
    with pytest.raises(AnalysisError, match="risk difference"):
        number_needed_to_treat(odds_ratio(rows, "goal"))
    with pytest.raises(AnalysisError, match="outside its interval"):
        nnt_from_difference(0.3, 0.0, 0.2)


def test_caseload_basis_and_assumptions() -> None:
    c = CoachingCost(basis="caseload", caseload=70, hourly_wage=25.0, overhead=0.3)
    assert c.per_patient() == pytest.approx(2080 * 25.0 * 1.3 / 70, rel=1e-12)
    assumed = " ".join(c.assumptions())
    assert "2080 paid hours" in assumed and "whole 12 months" in assumed
    assert "BLS" not in assumed and "overhead" not in assumed  # wage and overhead were given
    default = CoachingCost(basis="caseload")
    assert default.patients_per_coach == 85 and "70-100" in " ".join(default.assumptions())
    assert DEFAULT_HOURLY_WAGE == 20.19
    with pytest.raises(OptionError):
        CoachingCost(basis="salary")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="hourly_wage"):
        CoachingCost(hourly_wage=0)


def test_a_peer_program_is_told_the_caseload_and_wage_are_not_its_own() -> None:
    # the default bases are a medical assistant's (HCPC); the peer trial's coaches had
    # 148 / 23 = 6.4 patients each (Thom et al. 2013, abstract) and no published pay
    assumed = " ".join(CoachingCost(basis="caseload").assumptions())
    assert "about 6 coached patients each" in assumed
    assert "does not describe a peer program" in assumed
    assert "nor for the peer trial's coaches (set wage=" in assumed
    from coachstats.cli.common import for_the_command_line

    line = for_the_command_line(assumed, ["--cost"])
    assert "--cost wage=15 sets your coaches' own hourly cost" in line
    assert "(--cost caseload=6 sets your own)" in line and "set wage=" not in line
    assert "set caseload=" not in for_the_command_line(assumed, ["--data"])  # no such option


def test_no_benefit_gets_one_reason_not_a_cost_per_basis() -> None:
    from coachstats.tasks.evaluate.impact import program_impact

    worse = risk_difference(ArmCounts((30, 100, 40, 100), ("coaching", "usual_care")), "goal")
    better = risk_difference(ArmCounts((45, 100, 30, 100), ("coaching", "usual_care")), "goal")
    impact = program_impact([("worse", worse), ("better", better)])
    assert impact is not None
    text = impact.rows[0].sentence()
    assert text.startswith("worse: NNTH 10.0")
    assert text.count("no estimated benefit") == 1 and "USD" not in text
    assert "whole salary" in impact.rows[1].sentence()  # a benefit has both costs


def test_effect_or_data_not_both() -> None:
    rd = _rd(90, 194, 61, 178)
    with pytest.raises(AnalysisError, match="either effect"):
        cost_per_additional_patient_at_goal(rd, data=hcpc_fixture(), outcome="composite_any")
    with pytest.raises(AnalysisError, match="seed"):
        cost_per_additional_patient_at_goal(data=hcpc_fixture(), outcome="composite_any")


# --------------------------------------------------------------------------- properties


@st.composite
def differences(draw: st.DrawFn) -> tuple[float, float, float]:
    # risk differences on a 1e-6 grid (a trial's differences are ratios of counts)
    grid = st.integers(-990_000, 990_000).map(lambda k: k / 1e6)
    values = sorted(draw(st.lists(grid, min_size=3, max_size=3)))
    return values[1], values[0], values[2]


@settings(max_examples=200, deadline=None)
@given(differences(), st.floats(1.0, 1e4))
def test_intervals_are_the_images_of_the_difference_interval(
    d: tuple[float, float, float], cost: float
) -> None:
    est, lo, hi = d
    r = NNTResult("y", est, lo, hi)
    a, b = r.nnt_limits
    # the NNT interval is the set {1/x : lo <= x <= hi}: it holds 1/est
    if r.crosses_zero:
        assert math.isinf(r.nnt) or r.nnt >= a or r.nnt <= b
        assert "∞" in r.interval_text()
    else:
        assert min(a, b) <= r.nnt <= max(a, b)
    c = cost_per_additional_success(r, cost)
    assert c.unbounded == (lo <= 0)
    if est > 0:
        assert c.conf_low <= c.estimate <= c.conf_high
        assert c.estimate == pytest.approx(cost * r.nnt)
    else:
        assert math.isnan(c.estimate)

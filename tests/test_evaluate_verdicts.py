"""The verdict rules of an evaluation (issue 17): direction, margin, TOST, adjustment, words.

Each rule of :mod:`coachstats.tasks.evaluate.verdicts` is checked against its
definition written out here (normal tail areas, the TOST interval, Holm's
step-down), and through :func:`coachstats.evaluate.evaluate` where the rule
reaches the user (margins, adjustment, favours, the program's own P).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from coachstats.errors import OptionError
from coachstats.evaluate import BENCHMARKS, evaluate, published_outcome
from coachstats.synthetic import hcpc_cohort, peer_cohort
from coachstats.tasks.evaluate.verdicts import (
    CLINICAL_DIFFERENCES,
    adjust,
    check_margins,
    default_margin,
    judge,
    n_per_arm_needed,
    tost_p,
)
from coachstats.tasks.evaluate.wording import reason_words

Z975 = stats.norm.ppf(0.975)


def test_larger_and_smaller_follow_the_better_direction() -> None:
    # a share at goal: higher is better; an HbA1c change: lower is better
    up = judge(0.15, 0.03, 0.03, margin=0.12, better="higher")
    assert (up.verdict, up.favours) == ("larger", "program")
    down = judge(0.15, 0.03, 0.03, margin=0.12, better="lower")
    assert (down.verdict, down.favours) == ("smaller", "published")
    fall = judge(-0.5, 0.1, 0.1, margin=0.3, better="lower")  # HbA1c fell 0.5 points more
    assert (fall.verdict, fall.favours) == ("larger", "program")
    # the two-sided P of the difference of independent estimates
    se = math.hypot(0.03, 0.03)
    assert up.p_difference == pytest.approx(2 * stats.norm.sf(0.15 / se), rel=1e-12)


def test_similar_needs_equivalence_within_the_margin() -> None:
    j = judge(0.01, 0.02, 0.02, margin=0.12, better="higher")
    assert (j.verdict, j.favours) == ("similar", "neither")
    se = math.hypot(0.02, 0.02)
    lower = stats.norm.sf((0.01 + 0.12) / se)
    upper = stats.norm.cdf((0.01 - 0.12) / se)
    assert j.p_equivalence == pytest.approx(max(lower, upper), rel=1e-12)
    # "not significant" is not "similar": a small program with a zero difference
    k = judge(0.0, 0.2, 0.05, margin=0.12, better="higher")
    assert k.p_difference > 0.05 and k.verdict == "inconclusive"


@settings(max_examples=200, deadline=None)
@given(st.floats(-0.5, 0.5), st.floats(0.005, 0.2), st.floats(0.0, 0.1), st.floats(0.01, 0.4))
def test_tost_is_the_interval_inside_the_margin(
    d: float, se_prog: float, se_pub: float, margin: float
) -> None:
    # TOST at alpha rejects exactly when the 1 - 2 alpha interval lies inside (-m, m)
    se = math.hypot(se_prog, se_pub)
    z = stats.norm.ppf(0.95)
    inside = -margin < d - z * se and d + z * se < margin
    assert (tost_p(d, se, margin) < 0.05) == inside or abs(abs(d) + z * se - margin) < 1e-9
    j = judge(d, se_prog, se_pub, margin=margin, better="higher")
    if j.verdict == "similar":
        assert inside
    if j.verdict in ("larger", "smaller"):
        assert abs(d) > Z975 * se - 1e-12  # the 95 % interval excludes 0


def test_a_difference_beyond_chance_inside_the_margin_keeps_its_direction() -> None:
    j = judge(0.05, 0.005, 0.005, margin=0.12, better="higher")
    assert j.verdict == "larger" and j.within_margin


def test_inconclusive_says_why_and_how_many() -> None:
    j = judge(-0.02, 0.06, 0.052, margin=0.121, better="higher", n_program=150)
    assert j.verdict == "inconclusive" and math.isfinite(j.n_needed)
    # the size at which the 90 % interval of the difference, if the estimate held, just fits
    se_needed = (0.121 - 0.02) / stats.norm.ppf(0.95)
    assert j.n_needed == pytest.approx(150 * 0.06**2 / (se_needed**2 - 0.052**2), rel=1e-9)
    assert "about 510 patients per arm" in reason_words(j, "composite_any", "risk difference")
    # the published SE alone too large: no program size would settle it
    k = judge(-0.02, 0.06, 0.052, margin=0.05, better="higher", n_program=150)
    assert math.isinf(k.n_needed)
    assert "no program size would settle it" in reason_words(k, "composite_any", "risk difference")
    # without a program SE there is nothing to scale
    assert math.isnan(n_per_arm_needed(0.1, 0.0, 0.05, 0.1, 150))


def test_default_margins_and_their_reasons() -> None:
    m = default_margin("composite_any", 0.121)
    assert m.value == 0.121 and m.reason.startswith("the size of the published effect")
    assert default_margin("composite_any", -0.121).value == 0.121
    assert default_margin("composite_any", math.log(1.66), log_scale=True).scale == "log ratio"
    # lab changes: never below the clinically important difference
    for endpoint, (floor, why) in CLINICAL_DIFFERENCES.items():
        small = default_margin(endpoint, floor / 10)
        assert small.value == floor and why in small.reason
    assert default_margin("change_hba1c", -0.77).value == 0.77
    single = default_margin("composite_any", 0.121, single_arm=True)
    assert "as well as usual care lies on the margin" in single.reason
    with pytest.raises(OptionError, match="gives no margin"):
        default_margin("composite_any", 0.0)


def test_user_margins_are_checked() -> None:
    assert check_margins({"composite_any": "0.08"}) == {"composite_any": 0.08}
    with pytest.raises(OptionError, match="8 percentage points"):
        check_margins({"composite_any": 8})  # a share as a proportion
    with pytest.raises(OptionError, match="positive number"):
        check_margins({"change_hba1c": -0.3})
    with pytest.raises(OptionError, match="margin endpoint"):
        check_margins({"composite": 0.1})


def test_adjustments() -> None:
    p = [0.01, 0.04, 0.03, float("nan")]
    holm = adjust(p, "holm")
    assert holm[:3] == pytest.approx([0.03, 0.06, 0.06]) and math.isnan(holm[3])
    assert adjust(p, "bonferroni")[:3] == pytest.approx([0.03, 0.12, 0.09])
    assert adjust(p, "none")[:3] == p[:3]
    with pytest.raises(OptionError):
        adjust(p, "bh")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def program() -> pd.DataFrame:
    return hcpc_cohort(n=1200, seed=13).patients


def test_evaluate_states_and_uses_the_adjustment(program: pd.DataFrame) -> None:
    runs = {
        a: evaluate(program, against="hcpc", adjust=a, standardize=False, tracking=False)
        for a in ("holm", "bonferroni", "none")
    }
    k = 4
    for a, res in runs.items():
        frame = res.to_frame().query("primary")
        p = frame["p_value"].to_numpy()
        want = {
            "none": p,
            "bonferroni": np.minimum(1, k * p),
            "holm": np.asarray(adjust(list(p), "holm")),
        }[a]
        np.testing.assert_allclose(frame["p_adjusted"], want, rtol=1e-12)
        assert set(frame["adjustment"]) == {a}
    assert runs["holm"].adjustment_text() == (
        "P values Holm-adjusted across 4 comparisons, alpha = .05"
    )
    assert runs["none"].adjustment_text().startswith("P values not adjusted")
    assert "Holm-adjusted across 4 comparisons" in runs["holm"].summary()


def test_evaluate_uses_user_margins(program: pd.DataFrame) -> None:
    res = evaluate(
        program, against="hcpc", margins={"composite_any": 0.2}, standardize=False, tracking=False
    )
    row = next(e for e in res.effects if e.target == "composite_any" and e.primary)
    assert row.margin is not None and row.margin.value == 0.2 and row.margin.user
    assert "\N{PLUS-MINUS SIGN}20.0 percentage points" in res.summary()
    assert res.margins == {"composite_any": 0.2}
    other = next(e for e in res.effects if e.target == "composite_all" and e.primary)
    assert other.margin is not None and other.margin.value == pytest.approx(0.093)


def test_the_program_own_effect_against_zero(program: pd.DataFrame) -> None:
    res = evaluate(program, against="hcpc", standardize=False, tracking=False)
    for e in res.effects:
        row = e.to_dict()
        assert e.program is not None
        assert row["program_p_value"] == e.program.p_value  # the program's test against zero
        assert row["program_p_adjusted"] >= row["program_p_value"] - 1e-15
    head = res.headline()
    assert len(head) == 4 and all("with coaching than with usual care" in h for h in head)


def test_a_better_lab_change_is_larger_never_a_failure() -> None:
    # issue 17: a larger LDL or SBP drop than the trial's was marked "below both" / x
    cohort = peer_cohort(n=1600, seed=4).patients
    coached = cohort["arm"] == "coaching"
    cohort.loc[coached, "sbp_6"] = cohort.loc[coached, "sbp_6"] - 12  # a much larger SBP drop
    res = evaluate(
        cohort, against="peer", standardize=False, tracking=False, require_baseline=False
    )
    sbp = next(e for e in res.effects if e.target == "sbp_change")
    assert sbp.verdict == "larger" and sbp.favours == "program" and res.ok
    assert "lower (better) with coaching" in sbp.sentence()
    assert "favours the program" in sbp.sentence()


def test_benchmark_qualifiers_are_in_the_sentence(program: pd.DataFrame) -> None:
    res = evaluate(program, against="hcpc", standardize=False, tracking=False)
    ldl = next(e for e in res.effects if e.target == "ldl_goal_site_a" and e.primary)
    assert "published for the larger site (A) only" in ldl.sentence()
    assert ldl.qualifier == next(b.qualifier for b in BENCHMARKS if b.target == "ldl_goal_site_a")


def test_single_arm_margin_is_the_published_effect() -> None:
    po = published_outcome(BENCHMARKS[0])
    program = hcpc_cohort(n=800, seed=2).patients
    res = evaluate(
        program.loc[program["arm"] == "coaching"],
        against="hcpc",
        standardize=False,
        tracking=False,
        design="single-arm",
    )
    row = next(a for a in res.arms if a.target == "composite_any")
    assert row.margin is not None
    assert row.margin.value == pytest.approx(po.values[0] - po.values[1])
    assert row.arm_se_source == "from the inferred (not published) n of 194"

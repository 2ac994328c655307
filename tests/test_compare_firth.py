"""Firth's penalized logistic regression against R (brglm2 and the profile penalized likelihood).

Reference values come from ``Rscript tests/reference/firth.R`` on the small
fixture of ``tests/reference/make_models_data.py`` (40 patients, a cell below
5), as is and with every coached patient at goal (complete separation), crude
and adjusted for age. Tolerances, relative: 1e-8 on the estimate and the Wald SE
(both sides iterate to 1e-10 or better; observed 2e-12), and 1e-8 on the
penalized LR statistic, its P value and the profile interval (R maximises the
restricted penalized likelihood with BFGS and its analytic gradient, restarted;
observed 1e-14).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coachstats.analysis import AnalysisSpec
from coachstats.compare.models import logistic
from coachstats.errors import AnalysisError, OptionError
from coachstats.stream import analyze

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "firth.json").read_text())
REL = 1e-8


def data(name: str) -> pd.DataFrame:
    d = pd.read_csv(HERE / "data" / "models_small.csv")
    if name == "separated":
        d.loc[(d["arm"] == "coaching") & d["goal"].notna(), "goal"] = 1
    return d


@pytest.mark.parametrize("name", ["small", "separated"])
@pytest.mark.parametrize("key", ["crude", "adjusted"])
def test_firth_matches_r(name: str, key: str) -> None:
    ref = REF[name][key]
    r = logistic(data(name), "goal", covariates=["age"] if key == "adjusted" else [], firth=True)
    assert r.n == ref["n"] and sum(a.events or 0 for a in r.arms) == ref["events"]
    assert r.extra["log_odds_ratio"] == pytest.approx(ref["log_or"], rel=REL)
    assert r.std_error == pytest.approx(ref["log_or_se"], rel=REL)
    assert r.statistic == pytest.approx(ref["lr_chisq"], rel=REL)
    assert r.p_value == pytest.approx(ref["lr_p"], rel=REL)
    assert math.log(r.conf_low) == pytest.approx(ref["log_conf_low"], rel=REL)
    assert math.log(r.conf_high) == pytest.approx(ref["log_conf_high"], rel=REL)
    assert r.df == 1.0 and r.statistic_name == "penalized LR chi-square"


def test_separation_raises_without_firth_and_is_finite_with_it() -> None:
    d = data("separated")
    with pytest.raises(AnalysisError, match="perfect separation"):
        logistic(d, "goal")
    r = logistic(d, "goal", firth=True)
    assert all(math.isfinite(v) for v in (r.estimate, r.conf_low, r.conf_high, r.std_error))
    assert r.conf_low > 1.0 and r.p_value < 0.001


def table_frame(x1: int, n1: int, x2: int, n2: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ["coaching"] * n1 + ["usual_care"] * n2,
            "goal": [1] * x1 + [0] * (n1 - x1) + [1] * x2 + [0] * (n2 - x2),
        }
    )


tables = st.tuples(st.integers(2, 40), st.integers(2, 40)).flatmap(
    lambda n: st.tuples(st.integers(0, n[0]), st.just(n[0]), st.integers(0, n[1]), st.just(n[1]))
)


@settings(max_examples=40, deadline=None)
@given(tables)
@example((1, 40, 0, 2))  # once failed: the profile walked out to where X'WX is singular
@example((1, 4, 0, 2))
def test_two_by_two_firth_is_the_haldane_corrected_odds_ratio(t: tuple[int, int, int, int]) -> None:
    # Firth (1993): in a saturated 2 x 2 logistic model the penalized estimate is the
    # log odds ratio of the table with 1/2 added to every cell
    x1, n1, x2, n2 = t
    if x1 + x2 in (0, n1 + n2):
        return  # an outcome with one value: nothing to model (AnalysisError, tested below)
    r = logistic(table_frame(*t), "goal", firth=True)
    expected = ((x1 + 0.5) / (n1 - x1 + 0.5)) / ((x2 + 0.5) / (n2 - x2 + 0.5))
    assert r.estimate == pytest.approx(expected, rel=1e-8)
    assert r.conf_low <= r.estimate <= r.conf_high and 0.0 <= r.p_value <= 1.0
    # swapping the arms inverts the odds ratio and its interval, and keeps the test
    s = logistic(table_frame(*t), "goal", firth=True, treatment="usual_care")
    assert s.estimate == pytest.approx(1.0 / r.estimate, rel=1e-8)
    assert (s.conf_low, s.conf_high) == pytest.approx((1 / r.conf_high, 1 / r.conf_low), rel=1e-7)
    assert s.p_value == pytest.approx(r.p_value, rel=1e-7, abs=1e-15)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(seed: int) -> None:
    d = data("small")
    a = logistic(d, "goal", covariates=["age"], firth=True)
    b = logistic(d.sample(frac=1.0, random_state=np.random.default_rng(seed)), "goal",
                 covariates=["age"], firth=True)  # fmt: skip
    assert (b.estimate, b.conf_low, b.conf_high, b.p_value) == pytest.approx(
        (a.estimate, a.conf_low, a.conf_high, a.p_value), rel=1e-8
    )


def test_firth_options_are_checked() -> None:
    d = data("small")
    with pytest.raises(OptionError, match="firth=True fits the odds ratio"):
        logistic(d, "goal", firth=True, estimand="risk difference")
    with pytest.raises(OptionError, match="cluster='clinic'"):
        logistic(d, "goal", firth=True, cluster="clinic")
    with pytest.raises(OptionError, match="fixed_effects='clinic'"):
        logistic(d, "goal", firth=True, fixed_effects="clinic")
    with pytest.raises(OptionError, match="firth"):
        logistic(d, "goal", firth="yes")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="no events"):
        logistic(d.assign(goal=0), "goal", firth=True)
    with pytest.raises(OptionError, match="in memory"):
        analyze(d, [AnalysisSpec("goal", "logistic", options={"firth": True})])


def test_profile_follows_the_right_branch_of_a_bimodal_restricted_likelihood() -> None:
    # a reviewer's case: the restricted likelihood has two local maxima near the upper limit;
    # restarting every restricted fit from the estimate locked onto the wrong one, and the
    # limit stayed at 5.655 for every confidence level. The expected limits come from
    # maximizing the restricted penalized likelihood from several starts (Nelder-Mead).
    x = [1.4137220260143424, -0.7511951937810897, -0.3647844359294702, -0.4018174212245956,
         -0.1984731180772436, -1.452248509221688, -0.1353574992704805, 0.07671994416987787,
         -1.3107122352787777, -0.6791376540420634, -0.6195331880781771, 2.1094424780197656,
         -8.375215159010732, -0.07329175103645391, -0.12574197478624913, 3.093470932477134,
         0.45049385767647093, 2.3992492149129045]  # fmt: skip
    arm = [1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0]
    d = pd.DataFrame(
        {"arm": ["coaching" if a else "usual_care" for a in arm], "x": x, "y": [1] + [0] * 17}
    )
    for level, upper in ((0.86, 5.6765866776856), (0.87, 5.8085314592263), (0.88, 5.9503489984015)):
        r = logistic(d, "y", covariates=["x"], firth=True, conf_level=level)
        assert math.log(r.conf_high) == pytest.approx(upper, abs=1e-7)  # brentq xtol 1e-8


def test_separation_by_a_covariate_profiles_without_error() -> None:
    # a reviewer's case: the profile walked out in doubling steps to where the restricted
    # fits did not converge, and raised; the interval is about (-2.380, 10.358) on the log scale
    x = [0.35, 0.82, 0.33, -1.3, 0.91, 0.45, -0.54, 0.58, 0.36, 0.29, 0.03, 0.55, -0.74, -0.16,
         -0.48, 0.6]  # fmt: skip
    d = pd.DataFrame({"arm": ["coaching", "usual_care"] * 8, "x": x, "y": [int(v > 0) for v in x]})
    r = logistic(d, "y", covariates=["x"], firth=True)
    assert (math.log(r.conf_low), math.log(r.conf_high)) == pytest.approx(
        (-2.380, 10.358), abs=1e-3
    )
    with pytest.raises(AnalysisError, match="'x' has 1 infinite value"):
        logistic(d.assign(x=d["x"].replace(0.6, np.inf)), "y", covariates=["x"], firth=True)


def test_a_large_covariate_offset_does_not_move_the_estimate() -> None:
    d = data("small")
    a = logistic(d, "goal", covariates=["age"], firth=True)
    b = logistic(d.assign(age=d["age"] * 300 + 1e6), "goal", covariates=["age"], firth=True)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-9)
    assert (b.conf_low, b.conf_high) == pytest.approx((a.conf_low, a.conf_high), rel=1e-8)


def test_firth_without_convergence_raises_convergence_error() -> None:
    from coachstats.compare.firth import fit_firth
    from coachstats.core.errors import ConvergenceError

    X = np.column_stack([np.ones(6), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert fit_firth(X, y).iterations > 1  # converges with the default budget
    with pytest.raises(ConvergenceError, match="did not converge in 1 iterations"):
        fit_firth(X, y, max_iter=1)

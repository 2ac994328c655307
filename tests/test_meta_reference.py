"""Meta-analysis estimators against R metafor 3.8-1 and mantelhaen.test (tests/reference/meta.json).

Tolerance: relative 1e-8 for every number (absolute 1e-12 near zero). The
closed forms (fixed effect, DL, Mantel-Haenszel, CMH) agree to rounding
error. The iterative ones (REML Fisher scoring, Paule-Mandel and Q-profile
roots) are run here to an absolute tolerance of 1e-12 on tau², and in
meta.R with the same tight controls (threshold = tol = 1e-12), so both sides
report the converged root and 1e-8 holds with margin. Against metafor's
*default* controls (REML threshold 1e-5, uniroot tol 1.2e-4) the estimates
can differ by up to those stopping rules: that comparison has its own looser
tolerance below.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from coachstats.compare.mantel_haenszel import (
    cmh_test,
    mantel_haenszel,
    mh_estimate,
    pool_tables,
)
from coachstats.compare.meta import pool
from coachstats.compare.meta_checks import egger_test, leave_one_out, subgroups

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "meta.json").read_text())
REL = 1e-8
METHODS = {"FE": "fixed", "DL": "DL", "REML": "REML", "PM": "PM"}
SETS = sorted(REF["uni"])


def num(x: Any) -> float:
    return (
        float(x)
        if not isinstance(x, str)
        else {"Inf": math.inf, "-Inf": -math.inf}.get(x, math.nan)
    )


def close(a: float, b: Any, rel: float = REL) -> bool:
    b = num(b)
    if math.isnan(b):
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def check(pairs: list[tuple[float, Any]], where: object) -> None:
    for i, (ours, theirs) in enumerate(pairs):
        assert close(ours, theirs), (where, i, ours, theirs)


# MetaResult field -> metafor's name, for what every rma fit reports
RMA_FIELDS = [
    ("estimate", "estimate"),
    ("std_error", "se"),
    ("statistic", "zval"),
    ("p_value", "pval"),
    ("conf_low", "ci_lb"),
    ("conf_high", "ci_ub"),
    ("q", "QE"),
    ("q_p_value", "QEp"),
    ("h2", "H2"),
]


def check_rma(m: Any, r: dict[str, Any], where: object) -> None:
    """Every field of RMA_FIELDS, and I² (metafor prints percent)."""
    check([(getattr(m, a), r[b]) for a, b in RMA_FIELDS] + [(100 * m.i2, r["I2"])], where)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("key", sorted(REF["uni"]["bcg"]["fits"]))
def test_pool_matches_rma(name: str, key: str) -> None:
    ref = REF["uni"][name]
    r = ref["fits"][key]
    method, test = key.split("_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = pool(ref["yi"], ref["sei"], method=METHODS[method], test=test)  # type: ignore[arg-type]
    check_rma(m, r, (name, key))
    check(
        [
            (m.tau2, r["tau2"]),
            # predict() of a fixed-effect model has no prediction interval: with tau² = 0
            # ours equals the confidence interval
            (m.pi_low, r["pi_lb"] or r["ci_lb"]),
            (m.pi_high, r["pi_ub"] or r["ci_ub"]),
        ],
        (name, key),
    )
    np.testing.assert_allclose(m.weights, r["weights"], rtol=REL)
    assert m.df == (len(ref["yi"]) - 1 if test == "knha" else math.inf)
    if method == "FE":
        assert math.isnan(m.tau2_conf_low)
        return
    # The Q-profile interval does not depend on the tau² estimator, but metafor searches
    # for the upper limit only up to tau2.max = max(100, 10 tau²) and reports that bound
    # (printed as "> bound") when the limit is beyond it. The reference upper limit is
    # the largest over the estimators; a smaller metafor value must be that truncation.
    upper = max(num(ref["fits"][f"{mt}_{test}"]["tau2_ci"][1]) for mt in ("DL", "REML", "PM"))
    if not close(upper, r["tau2_ci"][1]):
        assert close(max(100.0, 10 * num(r["tau2"])), r["tau2_ci"][1]), "not metafor's tau2.max"
        w = 1 / np.asarray(ref["sei"]) ** 2
        vt = (len(w) - 1) / (w.sum() - (w**2).sum() / w.sum())  # metafor's typical variance
        i2_hi, h2_hi = upper / (vt + upper), upper / vt + 1
    else:
        i2_hi, h2_hi = num(r["I2_ci"][1]) / 100, num(r["H2_ci"][1])
    check(
        [
            (m.tau2_conf_low, r["tau2_ci"][0]),
            (m.tau2_conf_high, upper),
            (100 * m.i2_conf_low, r["I2_ci"][0]),
            (m.i2_conf_high, i2_hi),
            (m.h2_conf_low, r["H2_ci"][0]),
            (m.h2_conf_high, h2_hi),
        ],
        (name, key, "confint"),
    )
    for pi_type in ("t", "riley"):
        p = pool(ref["yi"], ref["sei"], method=METHODS[method], test=test, pi_type=pi_type)  # type: ignore[arg-type]
        check([(p.pi_low, r[f"pi_{pi_type}"][0]), (p.pi_high, r[f"pi_{pi_type}"][1])], pi_type)


@pytest.mark.parametrize("name", sorted(REF["defaults"]))
def test_default_metafor_controls_are_within_their_stopping_rule(name: str) -> None:
    """metafor's defaults stop REML at |change| < 1e-5 and uniroot at tol 1.2e-4 (absolute)."""
    ref = REF["uni"][name]
    d = REF["defaults"][name]
    reml = pool(ref["yi"], ref["sei"], method="REML")
    pm = pool(ref["yi"], ref["sei"], method="PM")
    scale = max(1.0, reml.tau2)
    assert abs(reml.tau2 - d["REML"]) < 1e-4 * scale
    assert abs(pm.tau2 - d["PM"]) < 2e-4 * max(1.0, pm.tau2)
    assert abs(reml.tau2_conf_low - d["tau2_ci"][0]) < 2e-4 * scale
    assert abs(reml.tau2_conf_high - d["tau2_ci"][1]) < 2e-4 * max(1.0, reml.tau2_conf_high)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_leave_one_out_matches_leave1out(name: str, test: str) -> None:
    ref = REF["uni"][name]
    r = ref["leave1out"]["fits"][test]
    m = pool(
        ref["yi"], ref["sei"], method=ref["leave1out"]["method"], test=test, labels=ref["study"]
    )  # type: ignore[arg-type]
    frame = leave_one_out(m)
    assert frame["omitted"].tolist() == ref["study"]
    for col, key, scale in [
        ("estimate", "estimate", 1),
        ("std_error", "se", 1),
        ("statistic", "zval", 1),
        ("p_value", "pval", 1),
        ("conf_low", "ci_lb", 1),
        ("conf_high", "ci_ub", 1),
        ("q", "Q", 1),
        ("q_p_value", "Qp", 1),
        ("tau2", "tau2", 1),
        ("i2", "I2", 100),
        ("h2", "H2", 1),
    ]:
        check(list(zip((scale * frame[col]).tolist(), r[key], strict=True)), (name, test, col))


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("key", ["FE_z", "FE_knha", "DL_z", "DL_knha", "REML_z", "REML_knha", "lm"])
def test_egger_matches_regtest(name: str, key: str) -> None:
    ref = REF["uni"][name]
    r = ref["regtest"][key]
    method, test = ("REML", "z") if key == "lm" else key.split("_")
    m = pool(ref["yi"], ref["sei"], method=METHODS[method], test=test)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = egger_test(m, model="lm" if key == "lm" else "rma")
    check(
        [
            (e.statistic, r["zval"]),
            (e.p_value, r["pval"]),
            (e.limit_estimate, r["est"]),
            (e.limit_conf_low, r["ci_lb"]),
            (e.limit_conf_high, r["ci_ub"]),
            (e.df, r["ddf"]),
        ],
        (name, key),
    )


SUB_SETS = [n for n in SETS if "subgroups" in REF["uni"][n]]


@pytest.mark.parametrize("name", SUB_SETS)
@pytest.mark.parametrize("key", ["DL_z", "DL_knha", "REML_z", "REML_knha"])
def test_subgroups_match_metafor(name: str, key: str) -> None:
    ref = REF["uni"][name]
    sg = ref["subgroups"]
    r = sg[key]
    method, test = key.split("_")
    m = pool(ref["yi"], ref["sei"], method=method, test=test)  # type: ignore[arg-type]
    sep = subgroups(m, sg["groups"])
    assert list(sep.groups) == sorted(r["separate"]["groups"])
    for row in sep.rows:
        g = r["separate"]["groups"][row.group]
        check([(row.estimate, g["estimate"]), (row.std_error, g["se"]), (row.tau2, g["tau2"])], row)
    check([(sep.statistic, r["separate"]["QM"]), (sep.p_value, r["separate"]["QMp"])], "separate")
    assert sep.df[0] == r["separate"]["QMdf"]
    com = subgroups(m, sg["groups"], tau2="common")
    check(
        [
            (com.statistic, r["common"]["QM"]),
            (com.p_value, r["common"]["QMp"]),
            (com.tau2, r["common"]["tau2"]),
        ],
        "common",
    )
    assert com.df[0] == r["common"]["QMdf"][0]
    assert com.df[1] == (len(ref["yi"]) - len(sep.groups) if test == "knha" else math.inf)
    # the first group's estimate is the intercept; the others add their coefficient
    coef = r["common"]["coef"]
    check([(com.rows[0].estimate, coef[0]), (com.rows[0].std_error, r["common"]["se"][0])], "c0")
    check([(row.estimate, coef[0] + coef[j]) for j, row in enumerate(com.rows) if j], "cj")


@pytest.mark.parametrize("name", sorted(REF["mh"]))
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_pool_tables_matches_rma_mh(name: str, measure: str) -> None:
    ref = REF["mh"][name]
    r = ref[measure]
    m = pool_tables(
        ref["ai"], ref["bi"], ref["ci"], ref["di"], measure=measure, labels=ref["study"]
    )  # type: ignore[arg-type]
    check_rma(m, r, (name, measure))
    assert m.q_df == r["k_yi"] - 1
    np.testing.assert_allclose(m.weights, r["weights"], rtol=REL, atol=1e-15)
    # the CMH test is the same for every measure (metafor reports it with OR and IRR only)
    mh_or = ref["OR"]
    check([(m.cmh, mh_or["MH"]), (m.cmh_p_value, mh_or["MHp"])], "cmh")
    if measure == "OR":
        check([(m.tarone, r["TA"]), (m.tarone_p_value, r["TAp"])], "tarone")


@pytest.mark.parametrize("name", sorted(REF["mantelhaen"]))
@pytest.mark.parametrize("correct", [True, False])
def test_cmh_matches_mantelhaen_test(name: str, correct: bool) -> None:
    ref = REF["mantelhaen"][name]
    r = ref["correct" if correct else "uncorrected"]
    x2, p = cmh_test(ref["ai"], ref["bi"], ref["ci"], ref["di"], correct=correct)
    log_or, se = mh_estimate(ref["ai"], ref["bi"], ref["ci"], ref["di"], "OR")
    z = 1.959963984540054
    check(
        [
            (x2, r["statistic"]),
            (p, r["p"]),
            (math.exp(log_or), r["estimate"]),
            (math.exp(log_or - z * se), r["ci"][0]),
            (math.exp(log_or + z * se), r["ci"][1]),
        ],
        (name, correct),
    )


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_stratified_comparison_on_patient_rows(measure: str) -> None:
    ref = REF["mantelhaen"]["strata"]
    data = pd.read_csv(HERE / "data" / "meta_strata.csv")
    r = mantel_haenszel(data, "goal", "site", measure=measure)  # type: ignore[arg-type]
    assert r.n_excluded == int(data["goal"].isna().sum()) and "missing goal" in r.excluded_reason
    assert r.extra["strata"] == len(ref["sites"])
    assert r.arms[0].arm == "coaching" and r.arms[0].n == sum(ref["ai"]) + sum(ref["bi"])
    mh = ref["rma_mh"][measure]
    back = (lambda x: x) if measure == "RD" else math.exp
    check(
        [
            (r.estimate, back(mh["estimate"])),
            (r.conf_low, back(mh["ci_lb"])),
            (r.conf_high, back(mh["ci_ub"])),
            (r.std_error, mh["se"]),
            (r.statistic, ref["correct"]["statistic"]),
            (r.p_value, ref["correct"]["p"]),
        ],
        measure,
    )
    if measure == "OR":
        check(
            [(r.estimate, ref["correct"]["estimate"]), (r.conf_low, ref["correct"]["ci"][0])], "R"
        )


def test_repr_gives_the_pooled_estimate_with_its_intervals_and_heterogeneity() -> None:
    # the repr printed the estimate alone ("REML -0.4561"): no CI, P, prediction interval
    # or tau²; metafor's print.rma gives them all. Numbers: R metafor (meta.json).
    from coachstats.tasks.evidence import pool_evidence

    r = REF["uni"]["coaching_hba1c"]["fits"]["REML_knha"]
    text = repr(pool_evidence("hba1c").meta)
    assert "\n" not in text and len(text) < 250
    assert text.startswith("<MetaResult hba1c: REML random effects (Hartung-Knapp), k=9: ")
    assert f"{r['estimate']:.3g} (95% CI {r['ci_lb']:.3g} to {r['ci_ub']:.3g})" in text
    assert "P = .004" in text  # metafor's pval 0.00363
    assert f"95% PI {r['pi_lb']:.3g} to {r['pi_ub']:.3g}" in text
    assert f"tau²={r['tau2']:.3g}, I²={r['I2']:.0f}%, Q={r['QE']:.3g} on 8 df" in text

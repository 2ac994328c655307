"""Evaluating a program against the published trials: published SEs, verdicts, case mix, figures.

Synthetic programs come from the package's generators (:mod:`coachstats.synthetic`)
and the documented transformations of :mod:`coachstats.programs`:

* a program *with the HCPC coaching effect*: an HCPC cohort of 2000 (seed 3);
* a program *without effect*: the same cohort after ``without_effect`` (seed 2);
* a *single-arm program between the arms*: its coached patients plus as many
  usual-care patients relabelled as coached (``usual_care_share=0.5``).

The direct standardization is checked against R (glm/lm, predictions
averaged over a reference population, delta-method SE: tests/reference/evaluate.R).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from coachstats import PEER_GOALS, load_trial
from coachstats.compare.proportions import two_proportions
from coachstats.derive.endpoints import derive_endpoints
from coachstats.errors import AnalysisError, FileFormatError, OptionError, SchemaError
from coachstats.evaluate import (
    BENCHMARKS,
    EvaluationResult,
    analyze,
    case_mix,
    evaluate,
    evaluation_figure,
    forest_frame,
    plot_evaluation,
    position,
    program_plan,
    published_outcome,
    se_from_p,
    standardize,
    trial_name,
)
from coachstats.goals import HCPC_GOALS
from coachstats.plots.consort import consort_boxes
from coachstats.programdata import load_program, read_mapping
from coachstats.programs import single_arm_program, without_effect
from coachstats.synthetic import hcpc_cohort, peer_cohort

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "evaluate.json").read_text())
CLOSED = 1e-8  # closed forms
ITER, ITER_SE = 1e-6, 1e-4  # logistic fits (Newton): estimates and SEs


def bench(target: str):  # type: ignore[no-untyped-def]
    return next(b for b in BENCHMARKS if b.target == target)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort(n=2000, seed=3).patients


@pytest.fixture(scope="module")
def with_effect(cohort: pd.DataFrame) -> EvaluationResult:
    return evaluate(cohort, against="hcpc")


@pytest.fixture(scope="module")
def no_effect(cohort: pd.DataFrame) -> EvaluationResult:
    return evaluate(without_effect(cohort, seed=2), against="hcpc", tracking=False)


@pytest.fixture(scope="module")
def mixture(cohort: pd.DataFrame) -> EvaluationResult:
    # a single-arm program is analysed only when asked (issue 20)
    program = single_arm_program(cohort, usual_care_share=0.5, seed=2)
    return evaluate(program, against="all", design="single-arm")


# --------------------------------------------------------------------------- published side


def test_published_outcomes_parse_the_registry() -> None:
    hcpc = published_outcome(bench("composite_any"))
    assert hcpc.values == (0.464, 0.343) and hcpc.n is None and hcpc.p == ".02"
    assert hcpc.inferred_counts == ((90, 194), (61, 178))
    drop = published_outcome(bench("hba1c_drop"))
    assert drop.events == (60, 34) and drop.n == (121, 108) and drop.counts_source == "printed"
    # "27 (22.0 %)" and "17 (14.9 %)": n = round(100 x / %), checked against the printed %
    lt = published_outcome(bench("hba1c_lt_7_5"))
    assert lt.events == (27, 17) and lt.n == (123, 114)
    assert round(100 * 27 / 123, 1) == 22.0 and round(100 * 17 / 114, 1) == 14.9
    change = published_outcome(bench("hba1c_change"))
    assert change.values == (-1.07, -0.30) and change.sds == (2.8, 3.1) and change.n == (122, 114)
    assert published_outcome(bench("ldl_change")).n == (107, 96)
    assert published_outcome(bench("sbp_change")).arm_text(0) == "+1.4"
    assert trial_name("hcpc") == "HCPC 2015"


def test_se_from_p_and_its_rounding_range() -> None:
    se, lo, hi = se_from_p(0.121, ".02")
    assert se == pytest.approx(0.121 / 2.3263478740408408, rel=CLOSED)  # z(0.99)
    # .02 is printed for .015 <= P < .025
    assert lo == pytest.approx(0.121 / 2.4323790585844463, rel=CLOSED)
    assert hi == pytest.approx(0.121 / 2.241402727604947, rel=CLOSED)
    top, zero, top2 = se_from_p(-0.5, "< .001")
    assert zero == 0.0 and top == top2 == pytest.approx(0.5 / 3.2905267314919255, rel=CLOSED)
    with pytest.raises(AnalysisError, match="not significant"):
        se_from_p(0.1, "not significant")
    with pytest.raises(AnalysisError, match="estimate of 0"):
        se_from_p(0.0, ".04")


def test_published_effect_sources() -> None:
    drop = published_outcome(bench("hba1c_drop"))
    ref = two_proportions(60, 121, 34, 108)
    rd = drop.effect("risk difference")
    assert (
        rd.estimate == ref.estimate
        and rd.std_error == ref.std_error
        and "printed counts" in rd.se_method
    )
    oratio = drop.effect("odds ratio")
    assert oratio.log_scale and oratio.estimate == pytest.approx((60 * 74) / (61 * 34), rel=CLOSED)
    assert oratio.std_error == pytest.approx(
        math.sqrt(1 / 60 + 1 / 61 + 1 / 34 + 1 / 74), rel=CLOSED
    )
    hcpc = published_outcome(bench("composite_any"))
    p_route = hcpc.effect("risk difference")
    assert p_route.estimate == pytest.approx(0.121) and "printed P = .02" in p_route.se_method
    assert p_route.std_error_low < p_route.std_error < p_route.std_error_high
    inferred = hcpc.effect("risk difference", se_source="counts")
    assert inferred.std_error == pytest.approx(
        two_proportions(90, 194, 61, 178).std_error, rel=CLOSED
    )
    assert "inferred (not published)" in inferred.se_method
    change = published_outcome(bench("hba1c_change"))
    means = change.effect("mean difference")
    assert means.std_error == pytest.approx(math.sqrt(2.8**2 / 122 + 3.1**2 / 114), rel=CLOSED)
    pval = change.effect("mean difference", se_source="p_value")
    assert pval.std_error == pytest.approx(0.77 / 2.5758293035489004, rel=CLOSED)  # P = .01
    with pytest.raises(OptionError):
        change.effect("odds ratio")


# --------------------------------------------------------------------------- two-arm verdicts


def test_program_with_the_hcpc_effect(with_effect: EvaluationResult) -> None:
    # issue 17: the generator reproduces the published rates, so the program's own effect is
    # the published one, stated first, against zero; the comparison with HCPC is judged by a
    # margin, and HCPC's own uncertainty (SE 5.2 points on the composite) is part of it
    assert with_effect.design == "two-arm" and with_effect.ok
    frame = with_effect.to_frame()
    assert len(frame) == 8  # 4 outcomes x RD, OR
    assert set(frame["verdict"]) <= {"similar", "inconclusive"}  # never larger or smaller
    rd = frame.loc[frame["estimand"] == "risk difference"].set_index("target")
    assert rd.loc["composite_any", "program_estimate"] == pytest.approx(0.121, abs=0.01)
    assert rd.loc["hba1c_goal", "program_estimate"] == pytest.approx(0.21, abs=0.01)
    # the program's own effect against zero: an effect of 12 points among ~850 patients
    assert rd.loc["composite_any", "program_p_value"] < 0.001
    assert (rd["program_p_adjusted"] >= rd["program_p_value"] - 1e-15).all()
    assert (rd["p_value"] > 0.5).all() and (rd["favours"] == "neither").all()
    # margins: the size of each published effect, said with its reason
    assert rd["margin"].tolist() == pytest.approx(rd["published_estimate"].tolist())
    assert rd["margin_reason"].str.startswith("the size of the published effect").all()
    head = with_effect.headline()[0]
    assert head.startswith("at goal for >= 1 condition: 1") and "more patients in 100" in head


def test_own_effect_words_agree_with_the_p_printed_beside_them() -> None:
    # The bundled HCPC cohort: composite P = .02 (printed), Holm-adjusted over the 4 outcomes
    # .05 or more. "P = .02; not clearly different from no effect" without the reason
    # contradicted itself: the sentence must name the adjustment and give the adjusted P.
    res = evaluate(hcpc_cohort().patients, against="hcpc", tracking=False)
    rows = [r for r in res.effects if r.primary and r.program is not None]
    assert rows
    for r in rows:
        text = r.program_sentence()
        raw, adjusted = r.program.p_value, r.program_p_adjusted
        if adjusted < r.alpha:
            assert "not clearly different" not in text
        elif raw < r.alpha:
            assert "once adjusted for the several outcomes compared (Holm-adjusted P = ." in text
        else:
            assert text.endswith("; not clearly different from no effect")
    composite = next(r for r in rows if r.target == "composite_any")
    assert composite.program.p_value < 0.05 <= composite.program_p_adjusted  # the case itself


def test_program_without_effect_is_never_similar(no_effect: EvaluationResult) -> None:
    # issue 17: a null program was "consistent with HCPC" (no margin, P >= .05); now it is
    # smaller or inconclusive on the composite, and the words say so
    frame = no_effect.to_frame()
    rd = frame.loc[frame["estimand"] == "risk difference"].set_index("target")
    assert ((rd["program_conf_low"] < 0.05) & (rd["program_conf_high"] > -0.05)).all()
    assert "similar" not in set(rd["verdict"])
    assert rd.loc["composite_any", "verdict"] in ("smaller", "inconclusive")
    for r in rd.to_dict("records"):
        if r["verdict"] == "smaller":
            assert r["favours"] == "published" and r["difference"] < 0 and r["p_adjusted"] < 0.05
        elif r["verdict"] == "inconclusive":
            assert "per arm" in r["reason"] or "no program size" in r["reason"]
    sentence = next(e for e in no_effect.effects if e.target == "composite_any").sentence()
    assert ("smaller than HCPC 2015's effect" in sentence) or ("inconclusive" in sentence)
    # the Holm adjustment across the evaluation never lowers a P value
    assert (rd["p_adjusted"] >= rd["p_value"] - 1e-15).all()
    assert (rd["p_equivalence_adjusted"] >= rd["p_equivalence"] - 1e-15).all()


def test_reprs_are_one_short_line(no_effect: EvaluationResult) -> None:
    # a reviewer's case: the dataclass repr of an evaluation ran to 26,570 characters
    text = repr(no_effect)
    assert "\n" not in text and len(text) < 300
    assert text.startswith("<EvaluationResult: ") and no_effect.verdict_line() in text
    # a DataFrame's evaluation named its source "<DataFrame>", a repr inside the repr
    assert text.startswith("<EvaluationResult: in-memory data: two-arm program")
    effect = no_effect.effects[0]
    assert repr(effect) == f"<EffectComparison: {effect.sentence()}>"
    difference = effect.difference
    assert difference is not None and difference.n == 0
    assert "n = 0" not in repr(difference)  # a difference of two published effects: no count


def test_verdicts_follow_the_difference_and_equivalence_tests(no_effect: EvaluationResult) -> None:
    for e in no_effect.effects:
        j, d = e.judgement, e.difference
        assert j is not None and d is not None and e.margin is not None
        assert j.p_difference == pytest.approx(d.p_value, rel=1e-9)
        se = d.std_error
        lower = 1 - stats.norm.cdf((d.estimate + e.margin.value) / se)
        upper = stats.norm.cdf((d.estimate - e.margin.value) / se)
        assert j.p_equivalence == pytest.approx(max(lower, upper), rel=1e-9)


def test_rounding_range_of_the_printed_p(no_effect: EvaluationResult) -> None:
    for e in no_effect.effects:
        row = e.to_dict()
        assert row["p_value_low"] <= row["p_value"] <= row["p_value_high"]
        # a verdict that changes over the rounding of the printed P is flagged, and says to what
        if e.borderline:
            assert e.borderline.startswith("the verdict would be ")
            assert f"[borderline: {e.borderline}]" in e.sentence()


def test_swapping_arm_labels_flips_the_program_effect(cohort: pd.DataFrame) -> None:
    swapped = cohort.assign(
        arm=cohort["arm"].map({"coaching": "usual_care", "usual_care": "coaching"})
    )
    a = evaluate(cohort, against="hcpc", standardize=False, tracking=False).to_frame()
    b = evaluate(swapped, against="hcpc", standardize=False, tracking=False).to_frame()
    rd = a["estimand"] == "risk difference"
    np.testing.assert_allclose(
        b.loc[rd, "program_estimate"], -a.loc[rd, "program_estimate"], atol=1e-12
    )
    np.testing.assert_allclose(
        b.loc[~rd, "program_estimate"], 1 / a.loc[~rd, "program_estimate"], rtol=1e-12
    )


def test_row_order_does_not_matter(cohort: pd.DataFrame) -> None:
    a = evaluate(cohort, against="hcpc", standardize=False, tracking=False).to_frame()
    shuffled = cohort.sample(frac=1.0, random_state=5)
    b = evaluate(shuffled, against="hcpc", standardize=False, tracking=False).to_frame()
    num = a.select_dtypes("number").columns
    np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), rtol=1e-12)


def test_peer_program_with_effect_and_cluster_fallback() -> None:
    p = peer_cohort(n=1500, seed=3).patients
    res = evaluate(p, against="peer", tracking=False, standardize=False, require_baseline=False)
    # the peer effects as published: never smaller; HbA1c outcomes not far from the trial's
    assert res.ok and {e.verdict for e in res.effects} <= {"similar", "inconclusive", "larger"}
    change = next(e for e in res.effects if e.target == "hba1c_change")
    assert change.program is not None and "mixed model" in change.program.method
    # without the clinic column the trial's mixed model cannot run: Welch t test, noted
    res2 = evaluate(
        p.drop(columns="site"),
        against="peer",
        tracking=False,
        standardize=False,
        require_baseline=False,
    )
    change2 = next(e for e in res2.effects if e.target == "hba1c_change")
    assert change2.program is not None and change2.program.method.startswith("Welch")
    assert "clustered by 'site'" in change2.note


def test_program_measuring_only_hba1c(cohort: pd.DataFrame) -> None:
    only = cohort[["patient_id", "arm", "diabetes", "hba1c_0", "hba1c_12"]]
    res = evaluate(only, against="hcpc", tracking=False)
    rows = {e.target: e for e in res.effects if e.primary}
    assert "its composite is narrower" in rows["composite_any"].note
    ldl = rows["ldl_goal_site_a"]
    assert ldl.verdict == "not analysed" and "at_goal_ldl" in ldl.sentence()
    assert "available columns" not in ldl.sentence()
    std = {s.target: s for s in res.standardized}
    # age is absent and every analysed patient has diabetes and one condition: nothing to adjust for
    assert (
        std["composite_any"].result is None
        and "not standardized" in std["composite_any"].sentence()
    )
    assert std["hba1c_goal"].result is not None and std["hba1c_goal"].result.adjusted_for == (
        "hba1c_0",
    )


def test_followup_and_population_notes(with_effect: EvaluationResult, cohort: pd.DataFrame) -> None:
    res = evaluate(cohort, against="peer", tracking=False, standardize=False)
    assert any("follow-up is month 6" in n and "month 12 is used" in n for n in res.notes)
    assert any("with baseline HbA1c \u2265 8.0" in n for n in res.notes)
    everyone = evaluate(
        cohort, against="peer", tracking=False, standardize=False, eligible_only=False
    )
    n_elig = next(e for e in res.effects if e.target == "hba1c_change").program
    n_all = next(e for e in everyone.effects if e.target == "hba1c_change").program
    assert n_elig is not None and n_all is not None and n_all.n > n_elig.n


# --------------------------------------------------------------------------- single arm


def test_single_arm_mixture_lands_between_the_arms(mixture: EvaluationResult) -> None:
    assert mixture.design == "single-arm"
    arms = {(a.trial, a.target): a for a in mixture.arms}
    for target in ("composite_any", "composite_all", "hba1c_goal"):
        a = arms[("hcpc", target)]
        assert a.position == "between"
        assert a.program is not None
        assert min(a.published.values) < a.program.estimate < max(a.published.values)
        # half the trial's effect: below the coaching arm, never "similar" to it
        assert a.verdict in ("smaller", "inconclusive") and a.judgement is not None
        assert a.judgement.difference < 0
    sentence = arms[("hcpc", "composite_any")].sentence()
    assert sentence.startswith("at goal for >= 1 condition: 4")
    assert "before-after, without a concurrent control group" in sentence
    assert (
        "coaching 46.4 %, usual care 34.3 %; the program's figure lies between the published arms"
        in sentence
    )
    mark = {"smaller": "-", "inconclusive": "?"}[arms[("hcpc", "composite_any")].verdict]
    assert f"  {mark} {sentence}" in mixture.summary()  # marked by its verdict
    frame = mixture.to_frame()
    assert {"p_vs_coaching", "p_exact_vs_coaching", "p_vs_usual_care", "position", "caveat"} <= set(
        frame.columns
    )
    assert (frame["caveat"].str.contains("without a concurrent control group")).all()


def test_single_arm_coached_only_matches_the_coaching_arm(cohort: pd.DataFrame) -> None:
    res = evaluate(
        single_arm_program(cohort),
        against="hcpc",
        standardize=False,
        tracking=False,
        design="single-arm",
    )
    a = next(x for x in res.arms if x.target == "composite_any")
    assert a.position == "coaching" and a.verdict in ("similar", "inconclusive")
    assert a.favours == "neither" and res.ok
    assert "Against the coaching arm of HCPC 2015 (coaching 46.4 %" in a.sentence()


def test_single_arm_p_values_match_onesample(mixture: EvaluationResult) -> None:
    a = next(x for x in mixture.arms if x.target == "composite_any")
    assert a.program is not None
    x, n = a.program.arms[0].events, a.program.arms[0].n
    assert x is not None
    from scipy import stats

    assert a.tests["coaching exact"].p_value == pytest.approx(
        stats.binomtest(x, n, 0.464).pvalue, rel=1e-12
    )
    z2 = (x - n * 0.343) ** 2 / (n * 0.343 * 0.657)
    assert a.tests["usual_care"].p_value == pytest.approx(stats.chi2.sf(z2, 1), rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-5, 5),
    st.floats(0.01, 3),
    st.floats(0.01, 3),
    st.floats(-5, 5),
    st.floats(-5, 5),
)
def test_position_properties(est: float, down: float, up: float, c: float, u: float) -> None:
    lo, hi = est - down, est + up
    p = position(est, lo, hi, c, u)
    swapped = position(est, lo, hi, u, c)
    assert swapped == {"coaching": "usual care", "usual care": "coaching"}.get(p, p)
    if p == "between":
        assert min(c, u) < lo and hi < max(c, u)
    if p == "covers both":
        assert lo <= min(c, u) and max(c, u) <= hi


def test_position_examples() -> None:
    assert position(0.41, 0.36, 0.46, 0.464, 0.343) == "between"
    assert position(0.6, 0.55, 0.65, 0.464, 0.343) == "above both"
    assert position(0.34, 0.30, 0.38, 0.464, 0.343) == "usual care"
    assert position(0.40, 0.30, 0.50, 0.464, 0.343) == "covers both"


# --------------------------------------------------------------------------- case mix and standardization


@pytest.mark.parametrize(
    ("name", "outcome", "arm", "rel", "rel_se"),
    [
        ("logistic_single", "goal", None, ITER, ITER_SE),
        ("logistic_two_arm", "goal", "arm", ITER, ITER_SE),
        ("linear_single", "change", None, CLOSED, CLOSED),
        ("linear_two_arm", "change", "arm", CLOSED, CLOSED),
    ],
)
def test_standardize_matches_r(
    name: str, outcome: str, arm: str | None, rel: float, rel_se: float
) -> None:
    prog = pd.read_csv(HERE / "data" / "evaluate_std_program.csv")
    ref = pd.read_csv(HERE / "data" / "evaluate_std_reference.csv")
    r = standardize(prog, ref, outcome, covariates=["age", "hba1c_0"], arm=arm)
    want = REF["standardization"][name]
    assert r.estimate == pytest.approx(want["estimate"], rel=rel)
    assert r.std_error == pytest.approx(want["se"], rel=rel_se)
    assert r.conf_low < r.estimate < r.conf_high and r.adjusted_for == ("age", "hba1c_0")
    assert r.extra["reference_n"] == len(ref)


def test_standardizing_to_the_program_itself_gives_the_crude_figure() -> None:
    prog = pd.read_csv(HERE / "data" / "evaluate_std_program.csv")
    for outcome, tol in (("change", 1e-10), ("goal", 1e-8)):
        r = standardize(prog, prog, outcome, covariates=["age", "hba1c_0"])
        assert r.estimate == pytest.approx(
            r.extra["crude"], abs=tol
        )  # score equations of the intercept


def test_standardize_errors_and_constant_covariates() -> None:
    prog = pd.DataFrame(
        {"y": [1.0, 2.0, 3.0, 4.0], "x": [1.0, 1.0, 1.0, 1.0], "z": [0.5, 1.5, 2.5, 4.0]}
    )
    r = standardize(prog, pd.DataFrame({"x": [1.0], "z": [2.0]}), "y", covariates=["x", "z"])
    assert r.adjusted_for == ("z",)
    with pytest.raises(AnalysisError, match="varies in the program"):
        standardize(prog, prog, "y", covariates=["x"])
    with pytest.raises(AnalysisError, match="numeric or boolean"):
        standardize(prog.assign(x=list("abcd")), prog, "y", covariates=["x"])


def test_case_mix_flags_material_differences(cohort: pd.DataFrame) -> None:
    older = cohort.assign(age=cohort["age"] + 8)
    items = {i.characteristic: i for i in case_mix(older, "hcpc")}
    age = items["Age, mean (SD)"]
    assert age.difference == pytest.approx((older["age"].mean() - 52.7) / 11.1, rel=CLOSED)
    assert age.material and not items["Female"].material
    female = items["Female"]
    h = 2 * math.asin(math.sqrt(female.program_value)) - 2 * math.asin(math.sqrt(0.553))
    assert female.metric == "Cohen's h" and female.difference == pytest.approx(h, rel=CLOSED)
    assert items["Diabetes"].source.startswith("assumed")
    assert "differs materially" in age.sentence()


def test_case_mix_peer_combines_the_printed_arms(cohort: pd.DataFrame) -> None:
    items = {i.characteristic: i for i in case_mix(cohort, "peer")}
    base = items["Baseline HbA1c %, mean (SD)"]
    n1, n2, m1, m2, s = 122, 114, 10.05, 9.85, 2.0
    mean = (n1 * m1 + n2 * m2) / (n1 + n2)
    sd = math.sqrt(
        ((n1 - 1) * s**2 + (n2 - 1) * s**2 + n1 * n2 / (n1 + n2) * (m1 - m2) ** 2) / (n1 + n2 - 1)
    )
    assert base.published_value == pytest.approx(mean) and base.published_sd == pytest.approx(sd)
    # every Peer patient has diabetes (eligibility), and so does every eligible program
    # patient: a row of 100 % vs 100 % says nothing and is left out (evaluator review)
    assert "Diabetes" not in items
    everyone = {i.characteristic: i for i in case_mix(cohort, "peer", eligible_only=False)}
    assert everyone["Diabetes"].published_value == 1.0 and everyone["Diabetes"].program_value < 1


def test_standardized_rows_in_the_evaluation(with_effect: EvaluationResult) -> None:
    assert len(with_effect.standardized) == 4
    s = next(x for x in with_effect.standardized if x.target == "composite_any")
    assert s.result is not None and s.comparison is not None
    assert s.result.estimand == "standardized risk difference"
    assert s.result.adjusted_for == ("age", "diabetes", "n_uncontrolled")
    # the program is drawn like the trial: standardizing barely moves the estimate
    assert s.result.estimate == pytest.approx(s.crude, abs=0.02)
    assert "standardized to HCPC 2015's baseline" in s.sentence()


# --------------------------------------------------------------------------- outputs and figures


def test_tables_json_and_report_data(with_effect: EvaluationResult) -> None:
    tables = with_effect.tables()
    assert set(tables) == {"outcomes", "case_mix", "standardized", "tracking"}
    assert len(tables["case_mix"]) == 11 and not tables["tracking"].empty
    doc = json.loads(with_effect.to_json())
    assert doc["ok"] is True and len(doc["outcomes"]) == 8 and doc["design"] == "two-arm"
    for row in doc["outcomes"]:
        assert {"program_estimate", "program_conf_low", "program_conf_high"} <= set(row)
        assert {"program_p_value", "margin", "favours", "verdict", "sentence"} <= set(row)
        assert row["verdict"] in ("larger", "similar", "smaller", "inconclusive")
    assert doc["adjustment"] == "holm" and doc["verdict_counts"]["smaller"] == 0
    data = with_effect.report_data()
    assert data["against"] == ["HCPC 2015"] and callable(data["figures"]["forest"])
    assert "<pre" in with_effect._repr_html_() and "Verdict against" in with_effect.summary()
    assert "Case mix" in with_effect.summary() and "Program tracking" in with_effect.summary()


def test_forest_frame_and_figures(no_effect: EvaluationResult, mixture: EvaluationResult) -> None:
    frame = forest_frame(no_effect, estimand="risk difference")
    assert frame["source"].tolist()[:2] == ["HCPC 2015", "Your program"] and len(frame) == 8
    ax = plot_evaluation(no_effect)
    assert len(ax.get_yticklabels()) == 8
    ax = plot_evaluation(no_effect, estimand="odds ratio")
    assert ax.get_xscale() == "log"
    fig = evaluation_figure(mixture)
    # proportions (HCPC and peer binary outcomes), then one panel per mean change (HbA1c, LDL, SBP)
    assert len(fig.axes) == 4
    single = forest_frame(mixture, estimand="proportion")
    assert {"Your program", "HCPC 2015 coaching", "HCPC 2015 usual care"} <= set(single["source"])
    # peer arms with printed counts have Wilson intervals; HCPC arms (no printed n) have none
    peer_arm = single.loc[single["source"] == "Peer 2013 coaching"]
    assert peer_arm["conf_low"].notna().all()
    assert single.loc[single["source"] == "HCPC 2015 coaching", "conf_low"].isna().all()
    with pytest.raises(AnalysisError, match="nothing to plot"):
        plot_evaluation(no_effect, estimand="mean difference")
    plt.close("all")


# --------------------------------------------------------------------------- analyze, loading, mapping


def test_analyze_two_arm_and_single_arm(cohort: pd.DataFrame) -> None:
    res = analyze(hcpc_cohort().patients)
    table = res.to_frame().set_index("label")
    assert table.loc["at goal for >= 1 condition", ["events1", "n1", "events2", "n2"]].astype(
        int
    ).tolist() == [90, 194, 61, 178]
    assert "Health coaching group: 46.4%" in res.to_brief() and res.tracking is not None
    single = analyze(single_arm_program(cohort), goals="peer", design="single-arm")
    assert single.design == "single-arm"
    frame = single.to_frame().set_index("label")
    assert {"estimate", "conf_low", "conf_high"} <= set(frame.columns)
    assert "95% CI" in single.to_brief() and "single-arm" in single.summary()
    assert single.to_dict()["design"] == "single-arm"
    assert [s.outcome for s in program_plan("hcpc")][:2] == ["composite_any", "composite_all"]


def test_load_program_designs_and_invalid_rows() -> None:
    raw = pd.DataFrame(
        {
            "MRN": [1, 2, 3, 4],
            "Group": ["Program", "Program", "Program", "Program"],
            "A1c": [9.4, 99.0, 8.8, "pending"],
            "A1c 12m": [8.0, 7.5, 9.1, 8.0],
        }
    )
    cols = {"MRN": "patient_id", "Group": "arm", "A1c": "hba1c_0", "A1c 12m": "hba1c_12"}
    # one arm label: refused unless the single-arm design is asked for (issue 20)
    with pytest.raises(SchemaError, match=r"one label \('Program'\).*--single-arm"):
        load_program(raw, columns=cols)
    with pytest.raises(SchemaError) as err:
        load_program(raw, columns=cols, design="single-arm")
    text = str(err.value)
    assert "[rows: 2]" in text and "[rows: 4]" in text  # every bad row listed, by patient id
    td = load_program(raw, columns=cols, design="single-arm", on_invalid="exclude")
    assert td.n == 2 and set(td.patients["arm"]) == {"coaching"}
    excluded = [n for n in td.notes if n.startswith("excluded")]
    # patient 2: impossible HbA1c; patient 4: text, hence also no baseline with a follow-up
    assert any("impossible" in n and "patients: 2" in n for n in excluded)
    assert any("non-numeric" in n and "patients: 4" in n for n in excluded)
    assert any("2 patient row(s) excluded" in n for n in td.notes)
    assert any("one label ('Program')" in n for n in td.notes)
    # a problem of the whole file is never "excluded"
    with pytest.raises(SchemaError, match="required column missing"):
        load_program(
            raw.drop(columns="MRN"),
            columns={k: v for k, v in cols.items() if k != "MRN"},
            design="single-arm",
            on_invalid="exclude",
        )
    two = load_program(
        pd.DataFrame(
            {"patient_id": [1, 2], "arm": ["coaching", "usual_care"], "hba1c_0": [9.0, 9.5]}
        )
    )
    assert set(two.patients["arm"]) == {"coaching", "usual_care"}
    with pytest.raises(SchemaError, match="unknown arm label"):  # never excluded row by row
        load_program(raw, columns=cols, design="two-arm", on_invalid="exclude")


def test_rows_excluded_as_invalid_stay_in_the_flow() -> None:
    raw = pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4],
            "arm": ["coaching", "usual_care", "coaching", "usual_care"],
            "hba1c_0": [9.0, 99.0, 8.6, 9.4],
            "hba1c_12": [7.5, 8.0, 8.0, 9.0],
        }
    )
    td = load_program(raw, on_invalid="exclude")
    flow = td.flow_for(PEER_GOALS)
    assert (flow.total, flow.entered, dict(flow.excluded_on_load)) == (3, 4, {"invalid data": 1})
    top = consort_boxes(flow, "change_hba1c")[0].lines
    assert top == ("Enrolled (n = 4)", "Excluded on loading: invalid data (n = 1)")
    first, second = flow.summary().splitlines()[:2]
    assert first == "Enrolled: 4; excluded on loading: invalid data 1"
    assert second == "Included: Health coaching 2, Usual care 1 (total 3)"


def test_single_arm_program_of_usual_care_is_refused() -> None:
    # a reviewer's case: only 'Waitlist', mapped to usual care, was evaluated as if coached
    raw = pd.DataFrame(
        {"ID": [1, 2, 3], "Group": ["Waitlist"] * 3, "A1c": [9.0, 9.5, 8.8], "A1c 12": [8, 9, 8]}
    )
    cols = {"ID": "patient_id", "Group": "arm", "A1c": "hba1c_0", "A1c 12": "hba1c_12"}
    with pytest.raises(SchemaError, match="only arm maps to 'usual_care'") as err:
        load_program(raw, columns=cols, arms={"Waitlist": "usual_care"}, design="single-arm")
    assert err.value.failures["column"].tolist() == ["Group"]
    # a single label is the coached arm of a single-arm program, when that design is asked for
    single = load_program(raw, columns=cols, design="single-arm")
    assert set(single.patients["arm"]) == {"coaching"}


def test_program_flow_says_enrolled_not_randomized() -> None:
    raw = pd.DataFrame(
        {
            "patient_id": [1, 2, 3],
            "arm": ["coaching", "usual_care", "coaching"],
            "hba1c_0": [9.0, 9.5, 8.6],
            "hba1c_12": [7.5, None, 8.0],
        }
    )
    program, trial = load_program(raw), load_trial(raw)
    assert (program.flow.entry, trial.flow.entry) == ("Enrolled", "Randomized")
    full = program.flow_for(PEER_GOALS)  # rebuilt per endpoint, keeps the label
    assert full.entry == "Enrolled"
    assert full.summary().splitlines()[0] == "Enrolled: Health coaching 2, Usual care 1 (total 3)"
    assert consort_boxes(full, "change_hba1c")[0].lines == ("Enrolled (n = 3)",)
    assert trial.flow_for(PEER_GOALS).summary().startswith("Randomized: ")


def test_read_mapping_files(tmp_path: Path) -> None:
    y = tmp_path / "map.yaml"
    y.write_text(
        "columns:\n  patient_id: MRN\n  arm: Group\n  hba1c_0: A1c baseline\n"
        "arms:\n  HC: coaching\n  UC: usual_care\nunits:\n  hba1c: mmol/mol\nsheet: Patients\n"
    )
    m = read_mapping(y)
    assert dict(m.columns) == {"MRN": "patient_id", "Group": "arm", "A1c baseline": "hba1c_0"}
    assert dict(m.arms) == {"HC": "coaching", "UC": "usual_care"} and m.sheet == "Patients"
    flat = tmp_path / "flat.toml"
    flat.write_text('MRN = "patient_id"\nGroup = "arm"\n')  # the other orientation
    assert dict(read_mapping(flat).columns) == {"MRN": "patient_id", "Group": "arm"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"foo": "bar"}')
    with pytest.raises(SchemaError, match="schema_name: your_column"):
        read_mapping(bad)
    with pytest.raises(FileFormatError, match=r"use \.yaml"):
        (tmp_path / "m.txt").write_text("x")
        read_mapping(tmp_path / "m.txt")
    with pytest.raises(FileFormatError, match="cannot parse"):
        (tmp_path / "broken.json").write_text("{")
        read_mapping(tmp_path / "broken.json")


def test_evaluate_options_are_validated(cohort: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match="'hcpc', 'peer', 'all'"):
        evaluate(cohort, against="nope")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="'auto', 'counts', 'p_value'"):
        evaluate(cohort, published_se="guess")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="alpha"):
        evaluate(cohort, alpha=1.5)


def test_extrapolated_standardization_is_flagged_in_the_text(cohort: pd.DataFrame) -> None:
    # a program of patients under 50 standardized to trials of all ages: the caveat must
    # reach the terminal, not only the JSON and HTML (evaluator review)
    program = single_arm_program(cohort, usual_care_share=0.5, seed=2).drop(columns="arm")
    res = evaluate(
        program[program["age"] < 50], against="hcpc", tracking=False, design="single-arm"
    )
    assert res.standardized
    for s in res.standardized:
        assert "extrapolation" in s.note
        assert f"[caution: {s.note}]" in s.sentence()
        assert s.sentence() in res.summary()


def test_standardization_never_extrapolates_beyond_the_program() -> None:
    # issue 17: a single-arm LDL-at-goal figure moved from a crude 0.27 to 0.62 when
    # standardized. The defect: a program without patients of one diabetes status had the
    # diabetes term dropped (it is constant), and the reference's other patients -- whose LDL
    # goal is another (100 vs 160 mg/dL) -- were predicted along the program's logit at
    # baseline LDL values the program never had (39 % of the reference, outside its range).
    cohort = hcpc_cohort(n=3000, seed=9).patients
    program = single_arm_program(cohort, seed=1)
    program = program.loc[~program["diabetes"]].copy()  # a program without diabetes patients
    rng = np.random.default_rng(1)
    program["ldl_12"] = np.round(program["ldl_0"] + 5 + rng.normal(0, 15, len(program)))
    res = evaluate(program, against="hcpc", tracking=False, design="single-arm")
    row = next(s for s in res.standardized if s.target == "ldl_goal_site_a")
    # the old computation on the same data: the whole reference, raw baseline LDL
    from coachstats.tasks.evaluate.casemix import above_goal

    prog = derive_endpoints(program, HCPC_GOALS)
    # the crude figure is the program's own share at goal (counted here by hand)
    at_goal = prog["at_goal_ldl"].dropna()
    assert row.result is not None and row.crude == pytest.approx(at_goal.sum() / len(at_goal))
    ref = derive_endpoints(hcpc_cohort().patients, HCPC_GOALS)
    ref = ref.loc[ref["at_goal_ldl"].notna()]
    old = standardize(prog, ref, "at_goal_ldl", covariates=["age", "diabetes", "ldl_0"])
    assert old.adjusted_for == ("age", "ldl_0") and old.estimate - old.extra["crude"] > 0.2
    # now: the distance above the patient's own goal, and only the reference patients the
    # program can speak for (those without diabetes), said in the note and the sentence
    assert row.result.adjusted_for == ("age", "ldl_above_goal")
    assert abs(row.result.estimate - row.crude) < 0.05
    assert "diabetes False" in row.note and "extrapolation" in row.note
    assert f"[caution: {row.note}]" in row.sentence()
    assert row.result.extra["reference_n"] < len(ref)
    assert above_goal(ref, HCPC_GOALS, "ldl").min() >= 0  # uncontrolled: at or above the goal


def test_single_arm_regression_to_the_mean_is_estimated() -> None:
    # issue 17: a program of patients enrolled for a high HbA1c improves without any effect.
    # Here nothing changes at all: two measurements of the same true HbA1c, with within-person
    # SD 0.77 (the documented 8.3 % CV at the selected patients' level). The before-after
    # figures are then pure regression to the mean, and the estimate must account for them.
    rng = np.random.default_rng(11)
    n, sw = 20000, 0.77
    true = rng.normal(8.0, 1.4, n)

    def measured() -> np.ndarray:  # a lab value (the far lower tail clipped into range)
        return np.clip(np.round(true + rng.normal(0, sw, n), 1), 3.5, 19.0)

    base = measured()
    program = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "diabetes": True,
            "age": 55.0,
            "hba1c_0": base,
            "hba1c_6": measured(),
            "hba1c_12": measured(),
        }
    )
    res = evaluate(program, against="all", standardize=False, tracking=False, design="single-arm")
    rows = {a.target: a for a in res.arms}
    goal = rows["hba1c_goal"]  # HCPC: at goal (<= 8.0) among those > 8.0 at entry
    assert goal.regression is not None and goal.program is not None
    assert goal.regression.selection == "HbA1c > 8 %"
    assert goal.regression.expected == pytest.approx(goal.program.estimate, abs=0.02)
    change = rows["hba1c_change"]  # peer: mean change among those >= 8.0 at entry
    assert change.regression is not None and change.program is not None
    assert change.program.estimate < -0.2  # a clear "improvement" from nothing
    assert change.regression.expected == pytest.approx(change.program.estimate, abs=0.04)
    beyond, lo, hi = change.adjusted_for_regression()
    assert lo < 0 < hi and abs(beyond) < 0.04
    for key in ("hba1c_drop", "hba1c_lt_7_5"):
        r = rows[key]
        assert r.regression is not None and r.program is not None
        assert r.regression.expected == pytest.approx(r.program.estimate, abs=0.02)
    # said in the sentence, with the figure without it; the source of the CV is cited
    text = change.sentence()
    assert "would be expected from regression to the mean alone" in text and "Gough" in text
    assert "beyond it" in text and "without a concurrent control group" in text
    # composites and measures without a documented within-person variation say so
    assert "not estimated for a composite" in rows["composite_any"].regression_note
    everyone = evaluate(
        program,
        against="peer",
        eligible_only=False,
        standardize=False,
        tracking=False,
        design="single-arm",
    )
    drop = next(a for a in everyone.arms if a.target == "hba1c_change")
    assert drop.regression is None and "not all selected" in drop.regression_note

"""Tests of coachstats.reproduce -- the acceptance test of the package's main job.

Every registry target must be reproduced by the public pipeline (load -> endpoints
-> compare, through run_plan) on the bundled synthetic cohorts; a perturbed data
set must make the run fail. The verdict rules are tested on hand-made results.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from coachstats.errors import DataWarning, OptionError
from coachstats.reproduce import (
    FRAME_COLUMNS,
    ReproductionResult,
    evaluate_target,
    load_bundled,
    reproduce,
)
from coachstats.results import ArmSummary, ComparisonResult
from coachstats.trials import AnalysisSpec, Target, get_trial, list_trials


@pytest.fixture(scope="module")
def everything() -> ReproductionResult:
    # the bundled adherence file has rows for other conditions; the published method
    # leaves them out, and the run says how many
    with pytest.warns(DataWarning, match="excluded 672 medication row"):
        return reproduce()


@pytest.fixture(scope="module")
def by_target(everything: ReproductionResult) -> pd.DataFrame:
    """The reproduction table indexed by (trial, target)."""
    return everything.to_frame().set_index(["trial", "target"])


def _ids(res: ReproductionResult) -> list[tuple[str, str]]:
    return [(t.trial, t.target.id) for t in res.targets]


# --------------------------------------------------------------------------- acceptance


def test_every_target_is_reproduced(everything: ReproductionResult) -> None:
    """THE acceptance test: no figure differs and no analysis fails on the bundled cohorts."""
    failures = everything.failures()
    assert failures.empty, (
        "\n"
        + failures[
            ["trial", "target", "published_p", "reproduced_p", "verdict", "note"]
        ].to_string()
    )
    assert everything.ok


def test_every_registry_target_is_in_the_table(everything: ReproductionResult) -> None:
    expected = [(name, t.id) for name in list_trials() for t in get_trial(name).targets]
    assert _ids(everything) == expected
    frame = everything.to_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert len(frame) == len(expected)


def test_unreachable_figures_are_listed_with_reasons(by_target: pd.DataFrame) -> None:
    for name in list_trials():
        for t in get_trial(name).targets:
            row = by_target.loc[(name, t.id)]
            if row["verdict"].startswith("not reproducible"):
                assert "(" in row["verdict"] and row["note"], (name, t.id)
                assert t.unreachable, f"{name}/{t.id} is not reproducible without a declared reason"


def test_reasons_are_whole_sentences(by_target: pd.DataFrame) -> None:
    # issue 20: "...(14.9 - 6.1), i.e)" -- the reason was cut at the "i.e." of its sentence
    verdict = by_target.loc[("peer", "hba1c_lt_7_5"), "verdict"]
    assert verdict == (
        "not reproducible (difference: The printed 9.1 is arithmetic on printed percentages "
        "with different denominators: (22.0 - 4.1) - (14.9 - 6.1), i.e. "
        "(27/123 - 5/122) - (17/114 - 7/114))"
    )
    for name in list_trials():
        for t in get_trial(name).targets:
            for reason in t.unreachable.values():
                shown = by_target.loc[(name, t.id), "verdict"]
                # the verdict holds a prefix of the reason that ends where a sentence ends
                head = shown.split(": ", 1)[1][:-1]
                assert reason.startswith(head), (name, t.id)
                rest = reason[len(head) :]
                assert rest in ("", ".") or rest.startswith(". "), (name, t.id, rest[:20])


def test_groups_other_than_the_arms_are_named(everything: ReproductionResult) -> None:
    # issue 20: the "by site" figures sat under the Coaching / Usual care headers
    text = everything.summary()
    assert (
        "Randomized by site: published Site A: 332 vs Site B: 109; reproduced Site A: 332 vs "
        "Site B: 109 -> match"
    ) in text
    assert "Age, mean (SD): published All patients: 52.7 (11.1);" in text
    markdown = everything.to_markdown()
    assert "| Randomized by site | Site A: 332 | Site B: 109 |  |  | Site A: 332 |" in markdown
    assert "| Randomized | 224 | 217 |" in markdown  # the arms' own figures stay bare


def test_hcpc_primary_outcomes(by_target: pd.DataFrame) -> None:
    rows = {
        "composite_any": ("46.4 %", "34.3 %", ".02"),
        "composite_all": ("34.0 %", "24.7 %", ".05"),
        "hba1c_goal": ("48.6 %", "27.6 %", ".01"),
        "ldl_goal_site_a": ("41.8 %", "25.4 %", ".04"),
    }
    for tid, (c, u, p) in rows.items():
        row = by_target.loc[("hcpc", tid)]
        assert (row["reproduced_coaching"], row["reproduced_usual_care"], row["reproduced_p"]) == (
            c,
            u,
            p,
        )
        assert row["verdict"] == "match"
    assert by_target.loc[("hcpc", "sbp_goal"), "reproduced_p"] == "not significant"


def test_peer_primary_outcomes(by_target: pd.DataFrame) -> None:
    row = by_target.loc[("peer", "hba1c_change")]
    assert (row["reproduced_coaching"], row["reproduced_usual_care"]) == (
        "-1.07 (2.8)",
        "-0.30 (3.1)",
    )
    assert (row["reproduced_difference"], row["reproduced_p"]) == ("-0.77", ".01")
    adj = by_target.loc[("peer", "hba1c_change_adj")]
    assert (adj["reproduced_difference"], adj["reproduced_p"], adj["adjusted"]) == (
        "-0.69",
        ".01",
        True,
    )
    drop = by_target.loc[("peer", "hba1c_drop")]
    assert drop["reproduced_coaching"] == "60/121 (49.6 %)" and drop["reproduced_p"] == ".005"


def test_brief_presentation(everything: ReproductionResult) -> None:
    brief = everything.to_brief()
    assert (
        "One clinical goal:\n  Health coaching group: 46.4%\n  Usual care group: 34.3% (P = .02)"
        in brief
    )
    assert "HbA1c drop >= 1.0 point, adjusted:\n  P = .001, adjusted" in brief
    assert "Randomized:" not in brief  # design rows are not part of the brief


def test_summary_text(everything: ReproductionResult) -> None:
    text = everything.summary()
    assert (
        "One clinical goal: published 46.4 % vs 34.3 %, P .02; reproduced 46.4 % vs 34.3 %, P .02 -> match"
        in text
    )
    assert text.rstrip().endswith("OK")
    assert repr(everything).startswith("<ReproductionResult")


# --------------------------------------------------------------------------- perturbation


def test_perturbed_data_fails() -> None:
    tables = dict(load_bundled("hcpc"))
    patients = tables["patients"].copy()
    # two coached patients who met their HbA1c goal get a 12-month value above 8.0
    met = patients.index[
        (patients["arm"] == "coaching")
        & (patients["hba1c_12"] <= 8.0)
        & (patients["hba1c_0"] > 8.0)
    ][:2]
    patients.loc[met, "hba1c_12"] = 9.5
    tables["patients"] = patients
    res = reproduce("hcpc", data=tables)
    assert not res.ok
    row = res.to_frame().set_index("target").loc["hba1c_goal"]
    assert row["verdict"] == "differs"
    assert row["reproduced_coaching"] == "45.7 %"  # 32/70
    assert "hba1c_goal" in res.failures()["target"].tolist()
    assert res.summary().rstrip().endswith("FAILED: some figures differ or could not be computed")


def test_missing_table_is_not_hidden() -> None:
    """Data without visit ratings: the clinician figures are listed as failures."""
    tables = dict(load_bundled("hcpc"))
    tables["visit_ratings"] = None
    res = reproduce("hcpc_clinician", data=tables)
    assert not res.ok
    frame = res.to_frame().set_index("target")
    on_visits = [
        t.id for t in get_trial("hcpc_clinician").targets if t.analysis.table == "visit_ratings"
    ]
    assert len(on_visits) == 4
    assert all(
        v.startswith("not reproducible (analysis failed") for v in frame.loc[on_visits, "verdict"]
    )
    # the clinicians of the patient table (17) do not need the visit ratings
    assert frame.loc["clinicians", "verdict"] == "match"


def test_user_dataframe_and_bad_input() -> None:
    res = reproduce("peer", data=load_bundled("peer")["patients"])
    assert res.ok and res.source == "<DataFrame>"
    with pytest.raises(OptionError, match="data must be"):
        reproduce("peer", data=42)
    with pytest.raises(OptionError, match="choose one of"):
        reproduce("nope")


def test_sensitivity_table() -> None:
    # the clinic-clustered variant: on the bundled cohort the clinics are no more alike
    # than the whole sample, so the exchangeable GEE falls back to independence, and says so
    with pytest.warns(DataWarning, match="working correlation not estimable"):
        res = reproduce("hcpc", sensitivity=True)
    sens = res.sensitivity
    assert sens is not None
    variants = set(sens["analysis"])
    assert {
        "as published",
        "Yates continuity correction",
        "Missing follow-up = not at goal",
        "Multiple imputation (m = 20)",
    } <= variants
    composite = sens.loc[sens["target"] == "composite_any"].set_index("analysis")
    published = composite.loc["as published"]
    assert published["p"] == ".02"
    yates = composite.loc["Yates continuity correction"]
    assert yates["p_value"] > published["p_value"]  # the correction is conservative
    failure = composite.loc["Missing follow-up = not at goal"]
    assert failure["coaching"].startswith("90/224")  # every randomized coaching patient
    assert reproduce("peer", sensitivity=True).sensitivity is not None


# --------------------------------------------------------------------------- verdict rules


def _target(**kw: object) -> Target:
    base: dict[str, object] = {
        "id": "t",
        "label": "T",
        "analysis": AnalysisSpec("y", "chi_square"),
        "values": ("46.4 %", "34.3 %"),
        "p": ".01",
    }
    base.update(kw)
    return Target(**base)  # type: ignore[arg-type]


def _result(
    p: float, c: tuple[int, int] = (90, 194), u: tuple[int, int] = (61, 178)
) -> ComparisonResult:
    return ComparisonResult(
        outcome="y",
        method="m",
        estimand="risk difference",
        estimate=c[0] / c[1] - u[0] / u[1],
        p_value=p,
        arms=(
            ArmSummary("coaching", c[1], events=c[0], value=c[0] / c[1]),
            ArmSummary("usual_care", u[1], events=u[0], value=u[0] / u[1]),
        ),
    )


@pytest.mark.parametrize(
    ("p", "verdict"),
    [(0.009, "match"), (0.0149, "match"), (0.0151, "differs"), (0.004, "differs")],
)
def test_p_at_printed_precision(p: float, verdict: str) -> None:
    tr = evaluate_target("x", _target(), _result(p), _result(p))
    assert tr.verdict == verdict
    assert tr.acceptable is (verdict == "match")


def test_values_tolerance_and_unreachable() -> None:
    res = _result(0.01, c=(91, 194))  # 46.9 %
    assert evaluate_target("x", _target(), res, res).verdict == "differs"
    tol = evaluate_target("x", _target(tolerance={"values": 0.5}), res, res)
    assert tol.verdict == "within tolerance" and tol.acceptable
    why = "printed value contradicts the paper. More detail."
    unr = evaluate_target("x", _target(unreachable={"values": why}), res, res)
    assert (
        unr.verdict == "not reproducible (values (coaching): printed value contradicts the paper)"
    )
    assert unr.acceptable and why in unr.note()


def test_failed_analysis_is_not_acceptable() -> None:
    tr = evaluate_target("x", _target(), None, None, "ColumnNotFoundError: column 'y' not found")
    assert tr.verdict.startswith("not reproducible (analysis failed: ColumnNotFoundError")
    assert not tr.acceptable
    assert math.isnan(tr.p_value)


def test_difference_from_values_and_estimate() -> None:
    t = _target(
        values=("60/121 (49.6 %)", "34/108 (31.5 %)"),
        difference="18.1",
        difference_source="values",
        percent_points=True,
        p=".005",
    )
    res = _result(0.0054, c=(60, 121), u=(34, 108))
    tr = evaluate_target("x", t, res, res)
    assert tr.difference == "18.1" and tr.verdict == "match"
    est = ComparisonResult(
        outcome="y", method="m", estimand="mean difference", estimate=-0.6921, p_value=0.007
    )
    t2 = _target(values=("", ""), difference="-0.69", p=".01", adjusted=True)
    tr2 = evaluate_target("x", t2, est, est)
    assert (tr2.difference, tr2.p, tr2.verdict) == ("-0.69", ".01", "match")


def test_timing(everything: ReproductionResult) -> None:
    """Every trial on the bundled cohorts in a few seconds."""
    assert everything.elapsed < 20.0
    assert np.isfinite(everything.elapsed)


def test_frame_is_tidy(everything: ReproductionResult) -> None:
    frame = everything.to_frame()
    assert (
        frame["verdict"]
        .map(lambda v: v.split(" (")[0])
        .isin(["match", "within tolerance", "differs", "not reproducible"])
        .all()
    )
    assert pd.api.types.is_float_dtype(frame["p_value"])


def test_reproduction_doc_lists_every_target() -> None:
    """docs/reproduction.md documents every target (id) and both unreachable figures."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "reproduction.md").read_text("utf-8")
    for name in list_trials():
        for t in get_trial(name).targets:
            assert f"`{t.id}`" in doc, (name, t.id)
    assert "trust_change" in doc and "hba1c_lt_7_5" in doc


R_PEER = {
    "change_hba1c": "hba1c_change", "change_hba1c_adj": "hba1c_change_adj",
    "lt75_change": "hba1c_lt_7_5", "lt75_change_adj": "hba1c_lt_7_5_adj",
    "change_ldl": "ldl_change", "change_ldl_adj": "ldl_change_adj",
    "change_sbp": "sbp_change", "change_sbp_adj": "sbp_change_adj",
    "change_bmi": "bmi_change", "change_bmi_adj": "bmi_change_adj",
    "drop": "hba1c_drop", "drop_adj": "hba1c_drop_adj",
}  # fmt: skip


def test_peer_reproduction_agrees_with_r(everything: ReproductionResult) -> None:
    """lme4/lmerTest and glm on the bundled file give the same P values and estimates.

    Reference: tests/reference/peer_reproduce.R (regenerate with
    ``Rscript tests/reference/peer_reproduce.R``). Iterative fits: estimates to 1e-6,
    SEs and P values to 1e-4 relative.
    """
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "reference" / "peer_reproduce.json").read_text())
    assert ref["R.version"].startswith("R version")
    got = {t.target.id: t for t in everything.targets if t.trial == "peer"}
    for key, tid in R_PEER.items():
        res = got[tid].result
        assert res is not None, tid
        assert res.p_value == pytest.approx(ref[key]["p_value"], rel=1e-4), tid
        if "estimate" in ref[key]:
            est = math.log(res.estimate) if res.estimand == "odds ratio" else res.estimate
            assert est == pytest.approx(ref[key]["estimate"], rel=1e-6, abs=1e-9), tid
            assert res.std_error == pytest.approx(ref[key]["std_error"], rel=1e-4), tid
        # R's P printed at the published precision is the published P
        assert get_trial("peer").target(tid).printed_p().matches(ref[key]["p_value"]), tid
    arms = {a.arm: (a.events, a.n) for a in got["hba1c_drop"].result.arms}  # type: ignore[union-attr]
    assert arms == {a: (ref["drop"]["events"][a], ref["drop"]["n"][a]) for a in arms}

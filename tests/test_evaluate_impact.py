"""The number needed to coach, the cost per additional patient and the tipping points in
``analyze`` and ``evaluate`` (Python, CLI text, JSON and the HTML report).

The numbers themselves are checked against R in test_compare_nnt.py and
test_compare_sensitivity.py; here the bundled HCPC cohort, whose complete-case
composite is the published 90/194 vs 61/178, must give the same numbers
through the program pipeline (epiR's NNT from tests/reference/nnt.json, R's
chi-square grid from tests/reference/sensitivity.json).
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
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.compare.sensitivity import tipping_point_counts
from coachstats.core.goals import HCPC_GOALS
from coachstats.data.programdata import load_program
from coachstats.present.report import build_report, report_from_analysis
from coachstats.programs import single_arm_program
from coachstats.tasks.economics import hcpc_coaching_minutes
from coachstats.tasks.evaluate import analyze, evaluate
from coachstats.tasks.evaluate.missingness import landmarks

ROOT = Path(__file__).resolve().parents[1]
HCPC = ROOT / "data" / "synthetic" / "hcpc_patients.csv"
REF = Path(__file__).parent / "reference"
runner = CliRunner()


@cache
def reference(name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((REF / f"{name}.json").read_text())
    return out


@cache
def hcpc_analysis() -> Any:
    return analyze(HCPC, sensitivity=True, tracking=False)


def test_analyze_reports_the_nnt_and_cost_of_each_goal() -> None:
    res = hcpc_analysis()
    assert res.impact is not None
    rows = {r.label: r for r in res.impact.rows}
    composite = rows["at goal for >= 1 condition"]
    ref = reference("nnt")["nnt"]["hcpc_composite"]
    assert composite.minutes.nnt.nnt == pytest.approx(ref["nnt"], rel=1e-9)
    assert sorted(composite.minutes.nnt.nnt_limits) == pytest.approx(
        sorted([ref["nnt_lower"], ref["nnt_upper"]]), rel=1e-9
    )
    # the cohort has per-patient coaching minutes: the program's own mean is the time basis
    minutes = pd.read_csv(HCPC).query("arm == 'coaching'")["coaching_minutes"].mean()
    assert composite.minutes.cost_per_patient == pytest.approx(minutes / 60 * 20.19, rel=1e-12)
    assert "mean coaching minutes of the 224 coached patients" in res.impact.time_basis
    assert not any("540.8" in a for a in res.impact.assumptions)  # measured, not assumed
    assert any("BLS" in a for a in res.impact.assumptions)
    # changes have no NNT
    assert all("change" not in label for label in rows)
    text = res.summary()
    assert "Number needed to coach" in text and "assumed: hourly wage 20.19 USD" in text


def test_without_minutes_the_published_hcpc_time_is_assumed() -> None:
    data = pd.read_csv(HCPC).drop(columns=["coaching_minutes"])
    res = analyze(data, tracking=False)
    assert res.impact is not None
    assert res.impact.rows[0].minutes.cost_per_patient == pytest.approx(
        hcpc_coaching_minutes() / 60 * 20.19, rel=1e-12
    )
    assert any("540.8 coaching minutes" in a for a in res.impact.assumptions)
    assert res.sensitivity is None  # not asked for


def test_analyze_sensitivity_matches_the_direct_enumeration_and_r() -> None:
    res = hcpc_analysis()
    assert res.sensitivity is not None
    label, tp = res.sensitivity.results[0]
    assert label == "at goal for >= 1 condition"
    direct = tipping_point_counts(pd.read_csv(REF / "data" / "nnt_hcpc.csv"), "composite_any")
    pd.testing.assert_frame_equal(tp.grid, direct.grid)
    ref = reference("sensitivity")["counts"]
    np.testing.assert_allclose(
        tp.grid.set_index(["delta_treatment", "delta_control"])
        .loc[list(zip(ref["k_t"], ref["k_c"], strict=True)), "p_value"]
        .to_numpy(),
        ref["p_value"],
        rtol=1e-10,
    )
    marks = landmarks(tp)
    assert marks["complete_case"] == "significantly higher with coaching"
    assert marks["missing_as_failure"] == "significantly higher with coaching"
    assert marks["worst_case"] == "no significant difference"


def test_per_condition_denominators_count_only_the_eligible_missing() -> None:
    """HbA1c goal: only patients uncontrolled on HbA1c at baseline count as missing."""
    res = hcpc_analysis()
    assert res.sensitivity is not None
    tp = dict(res.sensitivity.results)["HbA1c at goal"]
    data = pd.read_csv(HCPC)
    eligible = data["hba1c_0"] > 8.0
    lost = data["hba1c_12"].isna()
    expected = tuple(
        int((eligible & lost & (data["arm"] == arm)).sum()) for arm in ("coaching", "usual_care")
    )
    assert tp.n_missing == expected


def test_single_arm_programs_have_no_nnt_and_say_why() -> None:
    prog = single_arm_program(pd.read_csv(HCPC), seed=1)
    res = analyze(prog, tracking=False, sensitivity=True, design="single-arm")
    assert res.impact is None and res.sensitivity is None
    assert any("needs two arms" in n for n in res.notes)


def test_evaluate_carries_impact_and_sensitivity_and_json_has_no_infinity() -> None:
    res = evaluate(HCPC, against="all", standardize=False, tracking=False, sensitivity=True)
    assert res.impact is not None and res.sensitivity is not None
    labels = [r.label for r in res.impact.rows]
    # the program's own NNT on the trial's outcome, not the trial's NNT (said in the label)
    assert (
        "at goal for >= 1 condition (your program; the outcome as HCPC 2015 defines it)" in labels
    )
    payload = res.to_json()
    assert (
        "Infinity" not in payload and "NaN" not in payload.split('"notes"')[0].split('"impact"')[1]
    )
    rows = json.loads(payload)["impact"]["rows"]
    unbounded = [r for r in rows if r["unbounded"]]
    assert unbounded and all(r["cost_time_conf_high"] is None for r in unbounded)
    assert "Sensitivity to the missing outcomes" in res.summary()


def test_report_sections(tmp_path: Path) -> None:
    res = hcpc_analysis()
    td = load_program(HCPC)
    html = build_report(
        report_from_analysis(
            td,
            res.plan,
            goals=HCPC_GOALS,
            impact=res.impact,
            sensitivity=res.sensitivity,
            figures=True,
        )
    )
    assert 'id="impact"' in html and 'id="sensitivity"' in html
    assert "NNTB 8.2 (95% CI NNTB 4.5 to 44.8)" in html
    assert "Assumed: hourly wage 20.19 USD" in html
    assert "Tipping point: at goal for &gt;= 1 condition" in html
    plain = build_report(report_from_analysis(td, res.plan, goals=HCPC_GOALS, figures=False))
    assert 'id="impact"' not in plain and 'id="sensitivity"' not in plain


def test_cli_analyze_and_evaluate_sensitivity(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    report = tmp_path / "a.html"
    res = runner.invoke(
        app, ["analyze", str(HCPC), "--sensitivity", "--out", str(out), "--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    assert "Number needed to coach" in res.output and "worst case for coaching" in res.output
    data = json.loads(out.read_text())
    assert data["impact"]["rows"][0]["nnt_text"] == "NNTB 8.2 (95% CI NNTB 4.5 to 44.8)"
    assert data["sensitivity"]["rows"][0]["worst_case"] == "no significant difference"
    html = report.read_text()
    assert 'id="sensitivity"' in html
    res = runner.invoke(app, ["evaluate", str(HCPC), "--against", "hcpc"])
    assert res.exit_code == 0, res.output
    assert "Number needed to coach" in res.output and "Sensitivity to" not in res.output
    assert math.isfinite(hcpc_coaching_minutes())

"""Differences of shares in percentage points, with the unit stated, in every human output
(issue 20); machine outputs keep proportions and say so.

The defect: ``coachstats evaluate`` printed HCPC's composite effect as ``0.121`` in its
outcome table and its standardized sentences, under verdict sentences and next to
tables that print ``12.1`` percentage points; the reproduction report printed the
mean change of a 0/1 value (recommending the PCP, HbA1c < 7.5 %) as ``0.13``. The
checks go over every row of each output, not one example.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from coachstats.compare.proportions import two_proportions
from coachstats.core.results import ArmSummary, ComparisonResult
from coachstats.present.report import build_report, report_from_reproduction
from coachstats.present.report.sections import SHARE_MEAN_DIFFERENCE
from coachstats.present.tables import format_difference, format_value
from coachstats.tasks.evaluate import EvaluationResult
from coachstats.tasks.evaluate.result import outcome_rows
from coachstats.tasks.reproduce import reproduce
from coachstats.tasks.schemas import schema

#: A difference of shares printed as a fraction: 0.121, -0.05, 0.2 (one or more decimals,
#: below 1 in size). Matched only where a difference or share of the rows is printed.
FRACTION = re.compile(r"(?<![\d.])-?0\.\d+\b")


def _block(text: str, head: str) -> str:
    return text.split(head, 1)[1].split("\n\n", 1)[0]


@pytest.mark.parametrize("design", ["evaluated_two_arm", "evaluated_single_arm"])
def test_outcome_table_prints_shares_in_percent(
    design: str, request: pytest.FixtureRequest
) -> None:
    res: EvaluationResult = request.getfixturevalue(design)
    tidy = res.to_frame()
    shown = outcome_rows(tidy, res.design)
    for r, s in zip(tidy.to_dict("records"), shown.to_dict("records"), strict=True):
        estimand = r["estimand"]
        if estimand in ("risk difference", "proportion"):
            assert s["unit"] == ("percentage points" if estimand == "risk difference" else "%")
            value = float(s["program (95% CI)"].split(" ")[0])
            assert value == pytest.approx(round(100 * r["program_estimate"], 1), abs=1e-9)
            assert float(s["margin"].lstrip("\u00b1")) == pytest.approx(
                round(100 * r["margin"], 1), abs=1e-9
            )
        elif estimand == "odds ratio":
            assert s["unit"] == "ratio" and s["margin"].startswith("ratio ")
        else:
            assert s["unit"] in ("points", "mm Hg", "mg/dL")
    text = _block(res.summary(), "\nOutcomes (")
    assert "risk differences and their margins in percentage points" in text.splitlines()[0]
    lines = text.splitlines()[2:]
    assert len(lines) == len(shown)
    for line, s in zip(lines, shown.to_dict("records"), strict=True):
        assert s["program (95% CI)"] in line and s["unit"] in line


def test_standardized_sentences_print_shares_in_percent(
    evaluated_two_arm: EvaluationResult, evaluated_single_arm: EvaluationResult
) -> None:
    for row in evaluated_two_arm.standardized:
        text = row.sentence().split(" [caution")[0]
        if row.estimand == "risk difference":
            assert re.search(r"standardized to .+'s baseline, \d+\.\d (more|fewer) in 100", text)
            assert re.search(r"Raw \d+\.\d (more|fewer) in 100", text)
            assert "percentage points" in text
    for row in evaluated_single_arm.standardized:
        if row.estimand == "proportion":
            assert re.search(r"baseline, \d+\.\d %", row.sentence()), row.sentence()
    summary = evaluated_two_arm.summary()
    assert "0.121" not in summary and "Raw 0.1" not in summary


def test_machine_outputs_keep_proportions_and_say_so(evaluated_two_arm: EvaluationResult) -> None:
    doc = json.loads(evaluated_two_arm.to_json())
    for r in doc["outcomes"] + doc["standardized"]:
        if "risk difference" in r["estimand"]:
            assert r["scale"] == "proportion"
            assert abs(r.get("program_estimate", r.get("standardized")) or 0) < 1
    described = schema("evaluate")["properties"]["outcomes"]["items"]["properties"]
    assert "0.121 = 12.1 percentage points" in described["program_estimate"]["description"]
    assert "scale" in schema("evaluate")["properties"]["outcomes"]["items"]["required"]
    analyze = schema("analyze")["properties"]["outcomes"]["items"]["properties"]
    assert "percentage points" in analyze["estimate"]["description"]


def test_reproduction_text_says_percentage_points() -> None:
    res = reproduce("peer")
    assert "diff 18.1 percentage points, P .005" in res.summary()
    assert "Difference (percentage points): 18.1 (P = .005)" in res.to_brief()
    assert "| 18.1 percentage points | .005 |" in res.to_markdown()
    # a difference printed with its own sign of a unit, or of a mean, is left as printed
    assert "diff -0.77, P .01" in res.summary()


def test_mean_change_of_a_share_is_shown_in_percentage_points() -> None:
    r = ComparisonResult(
        "x",
        "mixed",
        SHARE_MEAN_DIFFERENCE,
        0.128,
        conf_low=0.02,
        conf_high=0.236,
        arms=(ArmSummary("coaching", 190, value=0.163, sd=0.563),
              ArmSummary("usual_care", 176, value=0.04, sd=0.482)),
    )  # fmt: skip
    assert format_difference(r) == (
        "Mean difference in proportions, % points",
        "12.8 (2.0 to 23.6)",
    )
    assert format_value(r, 0) == "16.3 (56.3)"
    # a share with counts keeps n (%)
    assert format_value(two_proportions(90, 194, 61, 178), 0) == "90 (46.4%)"


def test_reproduction_report_shows_every_share_in_percent() -> None:
    """Every outcome row of the reproduction report whose published figures are shares (or
    that analyses the same values as one) reads in percentage points: the estimate, its
    interval and the arms' means are 100 times the result's."""
    import lxml.html

    from coachstats.trials.registry import get_trial

    res = reproduce()
    doc = lxml.html.document_fromstring(build_report(report_from_reproduction(res, seed=7)))
    rows = []
    for table in doc.xpath("//section[@id='outcomes']//table"):
        rows += [  # a cell's text without its footnote letters (<sup>)
            ["".join(c.xpath(".//text()[not(ancestor::sup)]")).strip() for c in tr.xpath("./td")]
            for tr in table.xpath(".//tbody/tr")
        ]
    by_label = {r[0]: r for r in rows if r}
    # the mean changes of shares: recommending the PCP, the medication shares, HbA1c < 7.5 %
    expected = {
        (
            "hcpc_trust",
            "recommend_pcp_change",
        ): "Would highly recommend their PCP (change) (adjusted)",
        ("hcpc_adherence", "concordant"): "Medications completely concordant (change)",
        ("peer", "hba1c_lt_7_5"): "HbA1c < 7.5 %",
        ("peer", "hba1c_lt_7_5_adj"): "HbA1c < 7.5 %, adjusted",
    }
    for (trial, target), label in expected.items():
        spec_label = get_trial(trial).target(target).analysis.label
        plan = res.plan_results[trial]
        result = plan.results[[s.label for s in plan.specs].index(spec_label)]
        cells = by_label[label]
        assert "Mean difference in proportions, % points" in cells, cells
        effect = cells[cells.index("Mean difference in proportions, % points") + 1]
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d", effect)]
        want = [100 * result.estimate, 100 * result.conf_low, 100 * result.conf_high]
        assert numbers == pytest.approx(want, abs=0.051), (effect, want)  # one decimal shown
        a = result.arms[0]
        arm = [float(x) for x in re.findall(r"-?\d+\.\d", cells[3])]
        assert arm == pytest.approx([100 * a.value, 100 * a.sd], abs=0.051), cells
    for cells in rows:  # no fraction left in a row read in percentage points
        if cells and "% points" in " ".join(cells):
            numbers = [c for c in cells[3:] if re.fullmatch(r"-?\d+\.\d+ \(.*\)", c)]
            assert all(not FRACTION.fullmatch(c.split(" ")[0]) for c in numbers), cells


def test_percent_rows_frame_is_not_changed_by_display(evaluated_two_arm: EvaluationResult) -> None:
    before = evaluated_two_arm.to_frame().copy()
    outcome_rows(before, evaluated_two_arm.design)
    pd.testing.assert_frame_equal(before, evaluated_two_arm.to_frame())

"""The standardized rows of an evaluation carry verdicts in the same words as the others (issue 20).

Before, a standardized figure was printed with a bare P against the published figure
("vs published 0.12: P = .99") -- read as "similar" -- while every other row had a
verdict by direction and margin (issue 17). Now each standardized figure is judged
against the published figure like its primary row: same scale, same margin, same
better direction, the standardized rows adjusted as their own family. The verdicts are
recomputed here from the rows' own numbers with the textbook formulas (z test of two
independent estimates, TOST, Holm), not with the code under test.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from coachstats.core.vocabulary import BETTER, VERDICTS
from coachstats.tasks.evaluate import EvaluationResult
from coachstats.tasks.evaluate.comparisons import judge_standardized
from coachstats.tasks.evaluate.result import MARKS
from tests.formulas import holm


def _expected_verdicts(res: EvaluationResult) -> list[str]:
    primary = {(r.trial, r.target): r for r in res.rows}
    d, se, m = [], [], []
    for s in res.standardized:
        row = primary[(s.trial, s.target)]
        if res.design == "two-arm":
            published, se_pub = row.published.estimate, row.published.std_error
        else:
            published, se_pub = row.published.values[0], row.arm_std_error
        assert s.result is not None
        d.append(s.result.estimate - published)
        se.append(math.hypot(s.result.std_error, se_pub))
        m.append(row.margin.value)
    p_diff = [2 * stats.norm.sf(abs(x) / e) for x, e in zip(d, se, strict=True)]
    p_eq = [
        max(stats.norm.sf((x + mm) / e), stats.norm.cdf((x - mm) / e))
        for x, e, mm in zip(d, se, m, strict=True)
    ]
    out = []
    for s, x, pd_, pe in zip(res.standardized, d, holm(p_diff), holm(p_eq), strict=True):
        better = BETTER[s.outcome] == "higher"
        if pd_ < res.alpha:
            out.append("larger" if (x > 0) == better else "smaller")
        elif pe < res.alpha:
            out.append("similar")
        else:
            out.append("inconclusive")
    return out


@pytest.mark.parametrize("design", ["evaluated_two_arm", "evaluated_single_arm"])
def test_standardized_verdicts_follow_the_rule_of_their_primary_rows(
    design: str, request: pytest.FixtureRequest
) -> None:
    res: EvaluationResult = request.getfixturevalue(design)
    assert len(res.standardized) == len(res.rows) == 9
    primary = {(r.trial, r.target): r for r in res.rows}
    for s in res.standardized:
        assert s.verdict in VERDICTS
        assert s.margin == primary[(s.trial, s.target)].margin  # the same margin
        assert s.favours == {"larger": "program", "smaller": "published"}.get(s.verdict, "neither")
    assert [s.verdict for s in res.standardized] == _expected_verdicts(res)
    # not every verdict alike: the single-arm program gets similar, larger and inconclusive
    if design == "evaluated_single_arm":
        assert {"similar", "inconclusive", "larger"} <= {s.verdict for s in res.standardized}


@pytest.mark.parametrize("design", ["evaluated_two_arm", "evaluated_single_arm"])
def test_standardized_rows_are_worded_like_the_others(
    design: str, request: pytest.FixtureRequest
) -> None:
    res: EvaluationResult = request.getfixturevalue(design)
    block = res.summary().split("Standardized to each trial's baseline")[1].split("\n\n")[0]
    assert "P values Holm-adjusted across 9 comparisons" in block.splitlines()[0]
    lines = block.splitlines()[1:]
    for line, s in zip(lines, res.standardized, strict=True):
        assert line.startswith(f"  {MARKS[s.verdict]} {s.label}: standardized to ")
        sentence = s.sentence()
        against = "Against the coaching arm of " if design == "evaluated_single_arm" else "Against "
        assert against in sentence
        verdict_part = sentence.split("): ", 1)[1] if "): " in sentence else sentence
        assert s.verdict in verdict_part
        assert ": P = ." not in sentence.split(" Against ")[0]  # no bare P before the verdict
    rows = res.tables()["standardized"]
    assert rows["verdict"].tolist() == [s.verdict for s in res.standardized]
    assert {"margin", "favours", "p_adjusted", "p_equivalence_adjusted", "scale"} <= set(rows)


def test_a_standardized_figure_without_its_primary_comparison_has_no_verdict(
    evaluated_two_arm: EvaluationResult,
) -> None:
    rows = judge_standardized(evaluated_two_arm.standardized, [])  # no primary rows to follow
    assert {r.verdict for r in rows} == {"no verdict"}
    text = rows[0].sentence()
    assert "descriptive, no verdict: its primary comparison was not analysed" in text
    assert rows[0].to_dict()["reason"].startswith("its primary comparison was not analysed")
    assert MARKS.get("no verdict", " ") == " "


def test_standardized_rows_do_not_change_the_exit_code(evaluated_two_arm: EvaluationResult) -> None:
    # ok (and the CLI's exit code) reads the primary rows only
    assert evaluated_two_arm.ok == (not any(r.verdict == "smaller" for r in evaluated_two_arm.rows))

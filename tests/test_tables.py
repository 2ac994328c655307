"""Publication tables (coachstats.tables): the numbers are the result objects' numbers."""

from __future__ import annotations

import math
import re

import pytest
from scipy import stats

from coachstats.compare.proportions import two_proportions
from coachstats.errors import AnalysisError, OptionError
from coachstats.present.journal import RULE, JournalTable
from coachstats.results import ArmSummary, ComparisonResult
from coachstats.tables import (
    COLUMNS,
    format_difference,
    journal_table,
    publication_table,
    to_latex,
    to_markdown,
    to_text,
)

ARMS = ("coaching", "usual_care")


def _binary() -> ComparisonResult:
    return two_proportions(90, 194, 61, 178, labels=ARMS, outcome="composite_any")


def _mean(adjusted: bool = False) -> ComparisonResult:
    return ComparisonResult(
        outcome="change_hba1c",
        method="mixed",
        estimand="mean difference",
        estimate=-0.7512,
        conf_low=-1.3451,
        conf_high=-0.1573,
        p_value=0.0131,
        arms=(
            ArmSummary("coaching", 122, value=-1.07, sd=2.8297),
            ArmSummary("usual_care", 114, value=-0.30, sd=3.1265),
        ),
        adjusted_for=("age", "insulin") if adjusted else (),
    )


def _odds_ratio() -> ComparisonResult:
    return two_proportions(
        60, 121, 34, 108, labels=ARMS, estimand="odds ratio", outcome="hba1c_drop_ge1"
    )


def test_binary_row_equals_result() -> None:
    r = _binary()
    row = publication_table(r).iloc[0]
    assert list(publication_table(r).columns) == list(COLUMNS)
    assert (row["n1"], row["n2"]) == (194, 178)
    assert row["value1"] == "90 (46.4%)" and row["value2"] == "61 (34.3%)"
    # risk difference in percentage points, and its CI, equal the result's to the printed decimal
    est, lo, hi = map(float, re.findall(r"-?\d+\.\d", row["difference"]))
    assert est == round(100 * r.estimate, 1)
    assert (lo, hi) == (round(100 * r.conf_low, 1), round(100 * r.conf_high, 1))
    assert row["effect"] == "Risk difference, % points"
    # Pearson chi-square without correction, written out: P = .017 -> ".02"
    chi2 = stats.chi2_contingency([[90, 104], [61, 117]], correction=False)[1]
    assert r.p_value == pytest.approx(chi2, rel=1e-10)
    assert row["p"] == ".02"


def test_mean_and_adjusted_rows() -> None:
    t = publication_table([_mean(), _mean(adjusted=True)], labels=["HbA1c change", "HbA1c change"])
    assert t["outcome"].tolist() == ["HbA1c change", "HbA1c change (adjusted)"]
    assert t.loc[0, "value1"] == "-1.07 (2.83)" and t.loc[0, "value2"] == "-0.30 (3.13)"
    assert t.loc[0, "difference"] == "-0.75 (-1.35 to -0.16)"
    assert t.loc[0, "p"] == ".01"
    assert t.attrs["arms"] == ARMS and t.attrs["conf_level"] == 0.95
    # a label that already says adjusted is not marked twice
    again = publication_table(_mean(adjusted=True), labels=["HbA1c change, adjusted"])
    assert again.loc[0, "outcome"] == "HbA1c change, adjusted"


def test_ratio_and_missing_numbers() -> None:
    r = _odds_ratio()
    effect, text = format_difference(r)
    assert effect == "Odds ratio"
    est, lo, hi = map(float, re.findall(r"\d+\.\d\d", text))
    assert (est, lo, hi) == (round(r.estimate, 2), round(r.conf_low, 2), round(r.conf_high, 2))
    # Woolf: log OR +- 1.96 sqrt(1/a + 1/b + 1/c + 1/d)
    log_or = math.log(60 * 74 / (61 * 34))
    half = stats.norm.ppf(0.975) * math.sqrt(1 / 60 + 1 / 61 + 1 / 34 + 1 / 74)
    assert r.conf_low == pytest.approx(math.exp(log_or - half), rel=1e-8)
    bare = ComparisonResult(
        "x",
        "describe",
        "difference in mean",
        2.0,
        arms=(ArmSummary("coaching", 3, value=5.0), ArmSummary("usual_care", 4, value=3.0)),
    )
    row = publication_table(bare).iloc[0]
    assert (row["value1"], row["difference"], row["p"]) == ("5.00", "2.00", "")
    nothing = bare.replace(estimate=math.nan)
    assert format_difference(nothing) == ("", "")


def test_every_ratio_estimand_gets_ratio_decimals() -> None:
    # "relative risk" has no "ratio" in its name: it is a ratio all the same
    # (core.formatting.is_ratio_estimand), printed with two decimals whatever ``digits``
    for estimand in ("relative risk", "risk ratio", "odds ratio"):
        r = ComparisonResult("x", "m", estimand, 1.23456, conf_low=1.0, conf_high=1.5)
        assert format_difference(r, digits=4)[1] == "1.23 (1.00 to 1.50)"
    diff = ComparisonResult("x", "m", "mean difference", 1.23456, conf_low=1.0, conf_high=1.5)
    assert format_difference(diff, digits=4)[1] == "1.2346 (1.0000 to 1.5000)"


def test_markdown() -> None:
    md = to_markdown([_binary(), _mean(adjusted=True)], labels={"change_hba1c": "HbA1c change"})
    lines = md.splitlines()
    assert len(lines) == 4
    assert all(line.count("|") == 9 for line in lines)
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == [
        "Outcome",
        "n, Health coaching group",
        "n, Usual care group",
        "Health coaching group",
        "Usual care group",
        "Effect",
        "Difference (95% CI)",
        "P",
    ]
    cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert cells[0] == "HbA1c change (adjusted)" and cells[1:3] == ["122", "114"]
    assert cells[-1] == ".01"


def test_markdown_escapes_pipes() -> None:
    md = to_markdown(_binary(), labels=["a | b"])
    assert "a \\| b" in md


def test_latex() -> None:
    tex = to_latex(
        [_binary(), _mean()], caption="Outcomes at 12 months & 6 months", label="tab:out"
    )
    assert tex.startswith("\\begin{table}[htbp]")
    assert "\\caption{Outcomes at 12 months \\& 6 months}" in tex
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "\\begin{tabular}{lrrrrrrr}" in tex
    assert "90 (46.4\\%)" in tex and "Difference (95\\% CI)" in tex
    assert "$\\geq$ 1 goal" in tex
    # every body row has 8 cells
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0].strip().splitlines()
    assert len(body) == 2 and all(line.count("&") == 7 for line in body)
    small_p = _binary().replace(p_value=0.0004)
    assert "$<$ .001" in to_latex(small_p)
    assert not to_latex(_binary()).startswith("\\begin{table}")


def test_errors() -> None:
    with pytest.raises(AnalysisError, match="empty"):
        publication_table([])
    with pytest.raises(OptionError, match="ComparisonResult"):
        publication_table(["x"])  # type: ignore[list-item]
    with pytest.raises(OptionError, match="2 entries for 1"):
        publication_table(_binary(), labels=["a", "b"])
    one = ComparisonResult(
        "age", "describe", "mean", 52.0, arms=(ArmSummary("all", 10, value=52.0),)
    )
    with pytest.raises(AnalysisError, match="two groups"):
        publication_table(one)
    sites = _binary().replace(arms=(ArmSummary("A", 5, 1, 0.2), ArmSummary("B", 5, 1, 0.2)))
    with pytest.raises(OptionError, match="different groups"):
        publication_table([_binary(), sites])


# --------------------------------------------------------------------------- text (issue 20)


def _rules(text: str) -> list[int]:
    """The lines that are whole rules (as wide as the table)."""
    lines = text.splitlines()
    width = max(len(line) for line in lines if set(line) == {RULE})
    return [i for i, line in enumerate(lines) if line == RULE * width]


def test_text_table_is_a_journal_table() -> None:
    results = [_binary(), _mean(adjusted=True), _odds_ratio()]
    text = to_text(results, labels=["One clinical goal", "HbA1c change", "HbA1c drop"])
    lines = text.splitlines()
    # a caption, then three rules: above the headers, under them, under the last row
    rules = _rules(text)
    assert len(rules) == 3 and rules[0] == 1
    header, body = lines[rules[1] - 1], lines[rules[1] + 1 : rules[2]]
    # the arms are column groups over their n and value, with a short rule under each
    assert "Health coaching group" in lines[2] and "Usual care group" in lines[2]
    assert set(lines[3].strip()) <= {RULE, " "} and " " in lines[3].strip()
    assert header.split()[:2] == ["Outcome", "n"]
    assert len(body) == 3
    first = body[0]
    assert first.startswith("One clinical goal (a)") and first.endswith(".02")
    assert "194" in first and "90 (46.4%)" in first and "12.1 (2.2 to 22.0)" in first
    assert body[1].split()[-1] == ".01" and "-0.75 (-1.35 to -0.16)" in body[1]
    assert "(adjusted)" in body[1]
    # numbers are right-aligned: the P values end in one column
    assert len({len(line) for line in body}) == 1
    # every method once, as a lettered footnote (the two chi-square rows share theirs)
    assert body[2].startswith("HbA1c drop (a)") and "(b)" in body[1]
    notes = lines[rules[2] + 1 :]
    assert [n[:2] for n in notes if n[:2] in ("a ", "b ", "c ")] == ["a ", "b "]
    assert not re.search(r"\d\.\d+e-\d", text)  # no scientific notation


def test_text_table_names_one_effect_in_the_header_and_drops_empty_columns() -> None:
    table = journal_table([_binary(), _binary()], labels=["a", "b"])
    assert "Effect" not in table.headers
    assert table.headers[-2] == "Risk difference, % points (95% CI)"
    assert all(any(r[j] for r in table.rows) for j in range(len(table.headers)))
    small = ComparisonResult("x", "m", "mean difference", 1.0, p_value=0.00001137,
        arms=(ArmSummary("coaching", 5, value=2.0), ArmSummary("usual_care", 5, value=1.0)))  # fmt: skip
    lines = to_text([small]).splitlines()
    row = next(line for line in lines if line.startswith("x "))
    assert row.endswith("< .001")  # journal style, not 1.137e-05


def test_journal_table_without_empty_columns_and_errors() -> None:
    t = JournalTable(("a", "b", "c"), (("x", "", "1"),), numeric=(False, True, True))
    assert t.without_empty_columns().headers == ("a", "c")
    with pytest.raises(OptionError, match="cells"):
        JournalTable(("a", "b"), (("x",),))
    with pytest.raises(OptionError, match="span"):
        JournalTable(("a", "b"), (("x", "1"),), spans=(("g", 1, 3),))

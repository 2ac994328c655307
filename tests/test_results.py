"""The result contract: journal-style P values, tidy rows, the brief's text."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from coachstats.results import ArmSummary, ComparisonResult, format_p, p_phrase, tidy


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.017, ".02"),  # AMA style: two decimals, no leading zero
        (0.05, ".05"),
        (0.0496, ".05"),
        (0.47, ".47"),
        (0.0092, ".009"),  # three decimals below .01
        (0.00996, ".01"),  # rounds into the two-decimal band
        (0.001, ".001"),
        (0.00099, "< .001"),
        (0.0, "< .001"),
        (0.999, "> .99"),
        (1.0, "> .99"),
    ],
)
def test_format_p(p: float, text: str) -> None:
    assert format_p(p) == text


def test_format_p_rejects_out_of_range_and_handles_nan() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        format_p(1.2)
    assert format_p(math.nan) == "NA"


def test_p_phrase() -> None:
    assert (
        p_phrase(0.0004) == "P < .001"
        and p_phrase(0.02) == "P = .02"
        and p_phrase("< .001") == "P < .001"
    )


def composite() -> ComparisonResult:
    return ComparisonResult(
        outcome="composite_any",
        method="Pearson chi-square",
        estimand="risk difference",
        estimate=90 / 194 - 61 / 178,
        std_error=0.05,
        conf_low=0.02,
        conf_high=0.22,
        statistic=5.66,
        statistic_name="X-squared",
        df=1.0,
        p_value=0.0174,
        arms=(
            ArmSummary("coaching", 194, 90, 90 / 194),
            ArmSummary("usual_care", 178, 61, 61 / 178),
        ),
        n_excluded=69,
        excluded_reason="missing composite_any (69)",
    )


def test_brief_matches_the_practice_brief() -> None:
    assert (
        composite().to_brief() == "Health coaching group: 46.4%\nUsual care group: 34.3% (P = .02)"
    )
    adj = composite().replace(p_value=0.0004, adjusted_for=("age",))
    assert adj.to_brief("One clinical goal").endswith(
        "Usual care group: 34.3% (P < .001, adjusted)"
    )


def test_tidy_row_and_stack() -> None:
    row = composite().to_frame()
    assert row.shape[0] == 1
    assert (
        row.loc[0, "n1"] == 194 and row.loc[0, "events2"] == 61 and row.loc[0, "n_excluded"] == 69
    )
    both = tidy([composite(), composite().replace(outcome="composite_all")])
    assert both["outcome"].tolist() == ["composite_any", "composite_all"]
    assert isinstance(tidy([]), pd.DataFrame) and tidy([]).empty


def test_text_forms() -> None:
    r = composite()
    assert r.n == 372 and not r.adjusted
    assert "P = .02" in repr(r) and "excluded: 69" in r.summary()
    assert r._repr_html_().startswith("<pre")

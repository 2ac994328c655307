"""The result contract: journal-style P values, tidy rows, the brief's text."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=300, deadline=None)
@given(
    p=st.floats(0.001, 1.0, allow_nan=False),
    alpha=st.sampled_from([0.05, 1 - 0.95, 0.01, 1 - 0.99, 0.1, 1 - 0.9, 0.025]),
)
def test_a_p_read_against_alpha_prints_on_its_side(p: float, alpha: float) -> None:
    """A printed P never reads as alpha itself, nor on the other side of it (AMA near .05)."""
    text = format_p(p, alpha=alpha)
    if abs(p - alpha) < 1e-6 or text.startswith(">"):  # alpha itself (up to float noise)
        return
    shown = float("0" + text)
    assert abs(shown - alpha) > 1e-12  # never printed as alpha
    assert (shown < alpha) == (p < alpha)  # and on its own side


def test_a_result_reads_its_p_against_its_own_level() -> None:
    r = ComparisonResult("x", "m", "risk difference", 0.09, p_value=0.0496, conf_level=0.95)
    assert r.format_p() == ".0496"  # not ".05" beside an interval that excludes 0
    assert r.replace(conf_level=0.99).format_p() == ".05"  # far from .01: journal style
    assert r.format_p(alpha=None) == ".05"

"""Tests of coachstats.plots: the artists carry the numbers of the results.

Figures are checked by inspecting their artists (bar heights, error-bar ends,
annotation texts, axis scales) against values worked out here by hand or with
an independent implementation (scipy's Wilson interval and t quantile), and against published numbers (HCPC brief: 46.4 % vs 34.3 %,
P = .02; Newcombe 1998 Wilson intervals). Three figures are also compared
pixel by pixel with committed baseline images.

Regenerate the baselines (after an intended visual change) with

    COACHSTATS_UPDATE_BASELINES=1 python -m pytest tests/test_plots.py -k baseline

and look at them before committing.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_rgba
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.patches import Rectangle
from matplotlib.testing.compare import compare_images
from scipy import stats

from coachstats.endpoints import derive_endpoints
from coachstats.errors import AnalysisError, ColumnNotFoundError, OptionError
from coachstats.flow import Flow
from coachstats.goals import PEER_GOALS
from coachstats.plots import (
    ARM_COLORS,
    adherence_summary,
    journal_style,
    mean_limits,
    plot_adherence,
    plot_adherent_days,
    plot_by_arm,
    plot_change,
    plot_changes,
    plot_consort,
    plot_forest,
    plot_published_vs_reproduced,
    save_figure,
    use_style,
    wilson_limits,
)
from coachstats.results import ArmSummary, ComparisonResult, tidy

BASELINE_DIR = Path(__file__).parent / "baseline_images"
UPDATE_BASELINES = os.environ.get("COACHSTATS_UPDATE_BASELINES") == "1"
# Pixel tolerance (RMS difference of 0-255 grey levels) for the baseline images.
# Same machine and matplotlib build: the RMS is 0. The slack absorbs font
# rasterization (antialiasing, hinting) differences between FreeType versions.
# test_baseline_tolerance_detects_changes shows what still fails at this
# tolerance: a bar 1 percentage point off (RMS 8.5), missing value labels (34).
# A single changed digit moves the RMS by < 2, so exact texts and numbers are
# asserted on the artists, not on pixels.
BASELINE_TOL = 5.0
# Fonts and hinting fixed as in matplotlib's own image tests (matplotlib.testing.setup).
TEST_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "text.hinting": "none",
    "svg.hashsalt": "coachstats-test",
}
BLUE, ORANGE = to_rgba(ARM_COLORS["coaching"]), to_rgba(ARM_COLORS["usual_care"])


@pytest.fixture(autouse=True)
def _style(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Journal style + fixed fonts; plt.show must never be called; close figures after."""

    def no_show(*args: object, **kwargs: object) -> None:
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", no_show)
    with journal_style(), mpl.rc_context(TEST_RC):
        yield
    plt.close("all")


# ----------------------------------------------------------------------------- fixtures


def binary(
    outcome: str, x1: int, n1: int, x2: int, n2: int, p: float, adjusted: tuple[str, ...] = ()
) -> ComparisonResult:
    return ComparisonResult(
        outcome=outcome,
        method="Pearson chi-square",
        estimand="risk difference",
        estimate=x1 / n1 - x2 / n2,
        p_value=p,
        adjusted_for=adjusted,
        arms=(
            ArmSummary("coaching", n1, events=x1, value=x1 / n1),
            ArmSummary("usual_care", n2, events=x2, value=x2 / n2),
        ),
    )


def change(
    outcome: str,
    arm1: tuple[float, float, int],
    arm2: tuple[float, float, int],
    diff: float,
    p: float,
    adjusted: tuple[str, ...] = (),
) -> ComparisonResult:
    return ComparisonResult(
        outcome=outcome,
        method="linear mixed model",
        estimand="mean difference",
        estimate=diff,
        p_value=p,
        adjusted_for=adjusted,
        arms=(
            ArmSummary("coaching", arm1[2], value=arm1[0], sd=arm1[1]),
            ArmSummary("usual_care", arm2[2], value=arm2[0], sd=arm2[1]),
        ),
    )


# The inferred HCPC counts that reproduce every printed % and P (published.md, section 1),
# with the SBP goal (published only as "n.s.") made up for the figure.
HCPC_COUNTS = [
    ("composite_any", 90, 194, 61, 178, 0.017),
    ("composite_all", 66, 194, 44, 178, 0.050),
    ("at_goal_hba1c", 34, 70, 21, 76, 0.009),
    ("at_goal_ldl", 33, 79, 16, 63, 0.041),
    ("at_goal_sbp", 50, 120, 45, 115, 0.60),
]


@pytest.fixture
def hcpc() -> list[ComparisonResult]:
    return [binary(*row) for row in HCPC_COUNTS]


@pytest.fixture
def peer_changes() -> list[ComparisonResult]:
    # Thom et al. 2013, Table 2: HbA1c, SBP, LDL change by arm (mean, SD, n)
    return [
        change("change_hba1c", (-1.07, 2.8, 122), (-0.30, 3.1, 114), -0.77, 0.01),
        change("change_sbp", (1.4, 22.3, 128), (-4.3, 26.0, 123), 3.4, 0.19, ("age", "bmi")),
        change("change_ldl", (-3.9, 41.4, 107), (-3.0, 52.7, 96), -0.9, 0.83),
    ]


@pytest.fixture
def flow() -> Flow:
    # 10 patients: coaching has one missing baseline and two lost (no follow-up at all)
    df = pd.DataFrame(
        {
            "patient_id": range(1, 11),
            "arm": ["coaching"] * 6 + ["usual_care"] * 4,
            "hba1c_0": [9.0, 10.0, None, 8.5, 9.9, 11.0, 9.5, None, 8.2, 10.1],
            "hba1c_6": [7.0, None, 8.0, 8.0, None, 9.0, 9.0, 8.0, None, 9.5],
        }
    )
    return Flow.from_endpoints(derive_endpoints(df, PEER_GOALS, with_status=True))


def texts(ax: plt.Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text()]


def flat_texts(ax: plt.Axes) -> list[str]:
    """Texts with their line breaks (from wrapping to the box width) as spaces."""
    return [t.replace("\n", " ") for t in texts(ax)]


def bar_containers(ax: plt.Axes) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def errorbar_containers(ax: plt.Axes) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def legend_texts(ax: plt.Axes) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def proportion_confint(
    x: int | list[int], n: int | list[int], alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Independent reference: scipy's Wilson score interval (binomtest(...).proportion_ci)."""
    xs, ns = np.atleast_1d(x), np.atleast_1d(n)
    cis = [
        stats.binomtest(int(k), int(m)).proportion_ci(confidence_level=1 - alpha, method="wilson")
        for k, m in zip(xs, ns, strict=True)
    ]
    return np.array([c.low for c in cis]), np.array([c.high for c in cis])


def errorbar_segments(container: ErrorbarContainer) -> list[np.ndarray]:
    """The (x, y) end points of each error bar of a container."""
    return [np.asarray(s) for s in container.lines[2][0].get_segments()]


# ----------------------------------------------------------------------------- Wilson limits


def test_wilson_limits_match_newcombe_1998_table() -> None:
    # Newcombe RG, Stat Med 1998;17:857-872, Table I, method 3 (Wilson score)
    lo, hi = wilson_limits([81, 15, 0, 1], [263, 148, 20, 29])
    np.testing.assert_allclose(lo, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5)
    np.testing.assert_allclose(hi, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5)


def test_wilson_limits_hand_worked_hcpc_composite() -> None:
    # 90/194, z = 1.959964, z^2 = 3.841459:
    #   centre     (90 + 1.920729) / (194 + 3.841459) = 91.920729 / 197.841459 = 0.464618
    #   half-width 1.959964 * sqrt(90 * 104 / 194 + 0.960365) / 197.841459
    #            = 1.959964 * sqrt(49.207787) / 197.841459 = 1.959964 * 7.014826 / 197.841459
    #            = 0.069494
    #   -> (0.395124, 0.534112)
    lo, hi = wilson_limits(90, 194)
    assert lo[0] == pytest.approx(0.395124, abs=2e-6)
    assert hi[0] == pytest.approx(0.534112, abs=2e-6)


def test_wilson_limits_conf_level_agrees_with_scipy() -> None:
    lo, hi = wilson_limits([3, 40], [17, 41], conf_level=0.9)
    ref_lo, ref_hi = proportion_confint([3, 40], [17, 41], alpha=0.1)
    np.testing.assert_allclose(lo, ref_lo, rtol=1e-10)
    np.testing.assert_allclose(hi, ref_hi, rtol=1e-10)


# ----------------------------------------------------------------------------- plot_by_arm


def test_by_arm_bars_count_heights_and_colours(hcpc: list[ComparisonResult]) -> None:
    ax = plot_by_arm(hcpc)
    coaching, usual = bar_containers(ax)
    assert len(coaching) == len(usual) == 5
    np.testing.assert_allclose(
        [b.get_height() for b in coaching], [100 * r[1] / r[2] for r in HCPC_COUNTS], rtol=1e-12
    )
    np.testing.assert_allclose(
        [b.get_height() for b in usual], [100 * r[3] / r[4] for r in HCPC_COUNTS], rtol=1e-12
    )
    assert all(b.get_facecolor() == BLUE for b in coaching)
    assert all(b.get_facecolor() == ORANGE for b in usual)
    # coaching on the left of usual care in every group
    assert all(c.get_x() < u.get_x() for c, u in zip(coaching, usual, strict=True))
    assert legend_texts(ax) == ["Health coaching", "Usual care"]


def test_by_arm_value_and_p_labels_as_in_the_brief(hcpc: list[ComparisonResult]) -> None:
    ax = plot_by_arm(hcpc, labels=["≥ 1 goal", "All goals", "HbA1c", "LDL (site A)", "SBP"])
    # the brief: "Health coaching group: 46.4% / Usual care group: 34.3% (P = .02)"
    assert texts(ax) == [
        "46.4%", "34.3%", "P = .02",
        "34.0%", "24.7%", "P = .05",
        "48.6%", "27.6%", "P = .009",
        "41.8%", "25.4%", "P = .04",
        "41.7%", "39.1%", "P = .60",
    ]  # fmt: skip
    assert [t.get_text() for t in ax.get_xticklabels()][3] == "LDL (site A)"


def test_by_arm_labels_sit_above_their_bars(hcpc: list[ComparisonResult]) -> None:
    ax = plot_by_arm(hcpc[:1])
    bars = [b for c in bar_containers(ax) for b in c]
    v1, v2, p = ax.texts
    for label, bar in zip((v1, v2), bars, strict=True):
        assert label.xy == pytest.approx((bar.get_x() + bar.get_width() / 2, bar.get_height()))
    # the P value is centred over the pair, above the taller bar and above the value labels
    assert p.xy == pytest.approx((0.0, 100 * 90 / 194))
    assert p.xyann[1] > v1.xyann[1]
    top = ax.get_ylim()[1]
    assert top > 100 * 90 / 194


def test_by_arm_adjusted_label() -> None:
    r = binary("hba1c_drop_ge1", 60, 121, 34, 108, 0.001, adjusted=("age", "insulin"))
    ax = plot_by_arm(r)
    assert texts(ax)[-1] == "P = .001\n(adjusted)"
    r2 = binary("hba1c_drop_ge1", 60, 121, 34, 108, 0.0004)
    assert texts(plot_by_arm(r2))[-1] == "P < .001"


def test_by_arm_ci_error_bars_are_wilson_limits(hcpc: list[ComparisonResult]) -> None:
    ax = plot_by_arm(hcpc, ci=True)
    ebars = errorbar_containers(ax)
    assert len(ebars) == 2
    for container, (x_col, n_col) in zip(ebars, ((1, 2), (3, 4)), strict=True):
        x = [r[x_col] for r in HCPC_COUNTS]
        n = [r[n_col] for r in HCPC_COUNTS]
        ref_lo, ref_hi = proportion_confint(x, n)
        segments = errorbar_segments(container)
        np.testing.assert_allclose([s[:, 1].min() for s in segments], 100 * ref_lo, rtol=1e-9)
        np.testing.assert_allclose([s[:, 1].max() for s in segments], 100 * ref_hi, rtol=1e-9)
    # value labels then sit on top of the error bars
    hi = 100 * proportion_confint(90, 194)[1]
    assert ax.texts[0].xy[1] == pytest.approx(hi)


def test_by_arm_ci_uses_the_result_conf_level() -> None:
    r = binary("composite_any", 90, 194, 61, 178, 0.017).replace(conf_level=0.9)
    ax = plot_by_arm(r, ci=True)
    ebar = errorbar_containers(ax)[0]
    lo, hi = proportion_confint(90, 194, alpha=0.1)
    np.testing.assert_allclose(
        errorbar_segments(ebar)[0][:, 1], [100 * lo[0], 100 * hi[0]], rtol=1e-9
    )


def test_by_arm_tidy_frame_gives_the_same_figure(hcpc: list[ComparisonResult]) -> None:
    from_objects = plot_by_arm(hcpc)
    from_frame = plot_by_arm(tidy(hcpc))
    heights = [[b.get_height() for b in c] for c in bar_containers(from_objects)]
    assert heights == [[b.get_height() for b in c] for c in bar_containers(from_frame)]
    assert texts(from_objects) == texts(from_frame)


def test_by_arm_draws_on_the_given_axes(hcpc: list[ComparisonResult]) -> None:
    _, ax = plt.subplots()
    before = plt.get_fignums()
    assert plot_by_arm(hcpc, ax=ax) is ax
    assert plt.get_fignums() == before
    assert len(ax.patches) == 10


def test_by_arm_errors(hcpc: list[ComparisonResult], peer_changes: list[ComparisonResult]) -> None:
    with pytest.raises(AnalysisError, match="use plot_change"):
        plot_by_arm(peer_changes)
    with pytest.raises(OptionError, match="tidy DataFrame"):
        plot_by_arm(["composite_any"])  # type: ignore[list-item]
    with pytest.raises(OptionError, match="5 label"):
        plot_by_arm(hcpc, labels=["a", "b"])
    with pytest.raises(ColumnNotFoundError, match="events1"):
        plot_by_arm(tidy(hcpc).drop(columns="events1"))
    with pytest.raises(AnalysisError, match="no results"):
        plot_by_arm([])


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 400),
    st.integers(1, 400),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_by_arm_property_heights_inside_their_ci(
    n1: int, n2: int, f1: float, f2: float, p: float
) -> None:
    x1, x2 = round(f1 * n1), round(f2 * n2)
    with journal_style(), mpl.rc_context(TEST_RC):
        ax = plot_by_arm(binary("x", x1, n1, x2, n2, p), ci=True)
        heights = [b.get_height() for c in bar_containers(ax) for b in c]
        assert heights == pytest.approx([100 * x1 / n1, 100 * x2 / n2])
        ends = [s[:, 1] for c in errorbar_containers(ax) for s in errorbar_segments(c)]
        for h, seg in zip(heights, ends, strict=True):
            assert 0 <= seg.min() <= h + 1e-9 and h - 1e-9 <= seg.max() <= 100
        assert ax.get_ylim()[1] >= max(seg.max() for seg in ends)
        plt.close(ax.figure)


# ----------------------------------------------------------------------------- plot_change


def test_mean_limits_hand_worked_and_against_scipy() -> None:
    # t(3, .975) = 3.1824 (Student's t table); 10 +/- 3.1824 * 2 / sqrt(4)
    lo, hi = mean_limits(10.0, 2.0, 4)
    assert (lo, hi) == pytest.approx((6.8176, 13.1824), abs=1e-4)
    ref = stats.t.interval(0.9, 121, loc=-1.07, scale=2.8 / math.sqrt(122))
    assert mean_limits(-1.07, 2.8, 122, conf_level=0.9) == pytest.approx(ref, rel=1e-12)
    assert all(math.isnan(v) for v in mean_limits(1.0, float("nan"), 10))
    assert all(math.isnan(v) for v in mean_limits(1.0, 2.0, 1))


def test_change_points_ci_and_annotation(peer_changes: list[ComparisonResult]) -> None:
    ax = plot_change(peer_changes[0])
    ebars = errorbar_containers(ax)
    assert len(ebars) == 2
    for c, (mean, sd, n), colour in zip(
        ebars, ((-1.07, 2.8, 122), (-0.30, 3.1, 114)), (BLUE, ORANGE), strict=True
    ):
        line = c.lines[0]
        assert line.get_ydata()[0] == pytest.approx(mean)
        assert to_rgba(line.get_color()) == colour
        seg = errorbar_segments(c)[0][:, 1]
        ref = stats.t.interval(0.95, n - 1, loc=mean, scale=sd / math.sqrt(n))
        assert (seg.min(), seg.max()) == pytest.approx(ref, rel=1e-12)
    assert texts(ax) == ["Difference −0.77\nP = .01"]
    assert ax.get_title(loc="left") == "HbA1c (%)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Coaching", "Usual\ncare"]
    # the zero line and the annotation's headroom
    assert any(list(line.get_ydata()) == [0, 0] for line in ax.lines)
    assert ax.get_ylim()[1] > max(
        stats.t.interval(0.95, 113, loc=-0.30, scale=3.1 / math.sqrt(114))
    )


def test_change_adjusted_annotation(peer_changes: list[ComparisonResult]) -> None:
    ax = plot_change(peer_changes, outcome="change_sbp", digits=1)
    assert texts(ax) == ["Difference 3.4\nP = .19\n(adjusted)"]


def test_changes_one_panel_per_outcome(peer_changes: list[ComparisonResult]) -> None:
    axs = plot_changes(peer_changes, digits=[2, 1, 1])
    assert len(axs) == 3 and len({id(a.figure) for a in axs}) == 1
    assert [a.get_title(loc="left") for a in axs] == ["HbA1c (%)", "SBP (mm Hg)", "LDL (mg/dL)"]
    assert [texts(a)[0].split("\n")[0] for a in axs] == [
        "Difference −0.77",
        "Difference 3.4",
        "Difference −0.9",
    ]
    assert axs[0].get_ylabel() == "Mean change from baseline" and axs[1].get_ylabel() == ""
    _, own = plt.subplots(1, 3)
    assert plot_changes(tidy(peer_changes), axes=list(own)) == list(own)


def test_change_errors(peer_changes: list[ComparisonResult], hcpc: list[ComparisonResult]) -> None:
    with pytest.raises(AnalysisError, match="plot_changes"):
        plot_change(peer_changes)
    with pytest.raises(OptionError, match="change_bmi"):
        plot_change(peer_changes, outcome="change_bmi")
    with pytest.raises(AnalysisError, match="use plot_by_arm"):
        plot_change(hcpc[0])
    with pytest.raises(OptionError, match="3 ints"):
        plot_changes(peer_changes, digits=[1, 2])
    with pytest.raises(OptionError, match="3 Axes"):
        plot_changes(peer_changes, axes=[plt.subplots()[1]])


# ----------------------------------------------------------------------------- plot_forest


def forest_frame(estimand: str, est: list[float], lo: list[float], hi: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial": ["HCPC", "HCPC", "Peer"],
            "outcome": ["composite_any", "at_goal_hba1c", "hba1c_drop_ge1"],
            "estimand": [estimand] * 3,
            "estimate": est,
            "conf_low": lo,
            "conf_high": hi,
            "conf_level": [0.95] * 3,
        }
    )


def odds_ratios() -> pd.DataFrame:
    """Three made-up odds ratios, for tests that need any ratio forest."""
    return forest_frame("odds ratio", [1.5, 2.0, 3.0], [1.0, 1.1, 1.2], [2.0, 3.0, 4.0])


def published_odds_ratios() -> pd.DataFrame:
    """The odds ratios of the HCPC and peer papers: 1.66, 2.47 and 2.14 with their CIs."""
    return forest_frame("odds ratio", [1.66, 2.47, 2.14], [1.09, 1.24, 1.24], [2.52, 4.93, 3.69])


def test_forest_ratio_on_log_axis_with_reference_at_one() -> None:
    ax = plot_forest(published_odds_ratios())
    assert ax.get_xscale() == "log"
    assert any(list(line.get_xdata()) == [1, 1] for line in ax.lines)  # axvline at 1
    assert texts(ax) == [
        "OR (95% CI)",
        "1.66 (1.09 to 2.52)",
        "2.47 (1.24 to 4.93)",
        "2.14 (1.24 to 3.69)",
        # issue 20: the sides of the line of no effect (being at goal: higher is better)
        "← Favours usual care",
        "Favours coaching →",
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "HCPC: ≥ 1 goal",
        "HCPC: HbA1c",
        "Peer: HbA1c drop ≥ 1",
    ]
    # squares at the estimates, top row first; CI lines span the limits
    squares = next(line for line in ax.lines if line.get_marker() == "s")
    assert list(squares.get_xdata()) == [1.66, 2.47, 2.14]
    assert list(squares.get_ydata()) == [2.0, 1.0, 0.0]
    segs = ax.collections[0].get_segments()
    assert [tuple(s[:, 0]) for s in segs] == [(1.09, 2.52), (1.24, 4.93), (1.24, 3.69)]
    lo, hi = ax.get_xlim()
    assert lo < 1.0 and hi > 4.93
    assert {float(t) for t in ax.get_xticks()} >= {1.0, 2.0}


def test_forest_difference_linear_with_minus_signs(peer_changes: list[ComparisonResult]) -> None:
    rs = [r.replace(conf_low=r.estimate - 0.5, conf_high=r.estimate + 0.5) for r in peer_changes]
    ax = plot_forest(rs, digits=1)
    assert ax.get_xscale() == "linear"
    assert any(list(line.get_xdata()) == [0, 0] for line in ax.lines)
    assert texts(ax)[0] == "MD (95% CI)"
    assert texts(ax)[1] == "−0.8 (−1.3 to −0.3)"
    assert ax.get_xlabel() == "Mean difference (95% CI)"
    assert plot_forest(odds_ratios(), log=False).get_xscale() == "linear"


def test_forest_errors() -> None:
    mixed = odds_ratios()
    mixed.loc[0, "estimand"] = "risk difference"
    with pytest.raises(AnalysisError, match="ratios and differences"):
        plot_forest(mixed)
    rd = forest_frame("risk difference", [0.1, -0.2, 0.3], [0.0, -0.4, 0.1], [0.2, 0.0, 0.5])
    with pytest.raises(AnalysisError, match="log axis"):
        plot_forest(rd, log=True)
    with pytest.raises(ColumnNotFoundError, match="conf_high"):
        plot_forest(rd.drop(columns="conf_high"))


def _favours_texts(ax: plt.Axes) -> list[str]:
    return [t for t in texts(ax) if "←" in t or "→" in t]


def test_forest_risk_differences_in_percentage_points() -> None:
    # issue 20: the axis showed 0.29 where the tables print 28.9 (percentage points)
    rd = forest_frame(
        "risk difference", [0.121, 0.209, 0.181], [0.022, 0.055, 0.056], [0.22, 0.364, 0.306]
    )
    ax = plot_forest(rd)
    squares = next(line for line in ax.lines if line.get_marker() == "s")
    np.testing.assert_allclose(squares.get_xdata(), [12.1, 20.9, 18.1])
    segs = ax.collections[0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segs], [[2.2, 22.0], [5.5, 36.4], [5.6, 30.6]])
    assert texts(ax)[:4] == [
        "RD (95% CI)",
        "12.1 (2.2 to 22.0)",
        "20.9 (5.5 to 36.4)",
        "18.1 (5.6 to 30.6)",
    ]
    assert ax.get_xlabel() == "Risk difference, percentage points (95% CI)"
    assert max(ax.get_xticks()) >= 30  # ticks in points, not proportions
    # the same numbers as the publication table of the same result
    r = binary("composite_any", 90, 194, 61, 178, 0.017).replace(conf_low=0.0223, conf_high=0.2201)
    assert texts(plot_forest([r]))[1] == "12.1 (2.2 to 22.0)"
    # proportions in percent; percent=False keeps the proportion scale
    prop = forest_frame("proportion", [0.464, 0.343, 0.5], [0.4, 0.3, 0.45], [0.53, 0.4, 0.55])
    assert plot_forest(prop).get_xlabel() == "Proportion, % (95% CI)"
    assert texts(plot_forest(rd, percent=False))[1] == "0.12 (0.02 to 0.22)"


def test_forest_favours_labels_follow_the_outcome_direction(
    peer_changes: list[ComparisonResult],
) -> None:
    # at goal: higher is better, so right of 0 favours coaching
    rd = forest_frame("risk difference", [0.1, -0.2, 0.3], [0.0, -0.4, 0.1], [0.2, 0.0, 0.5])
    assert _favours_texts(plot_forest(rd)) == ["← Favours usual care", "Favours coaching →"]
    # a fall in HbA1c is better: left of 0 favours coaching
    hba1c = [peer_changes[0].replace(conf_low=-1.5, conf_high=-0.04)]
    ax = plot_forest(hba1c)
    assert _favours_texts(ax) == ["← Favours coaching", "Favours usual care →"]
    # the labels sit under the axis, each on its side of the line of no effect
    left, right = (t for t in ax.texts if "←" in t.get_text() or "→" in t.get_text())
    assert (
        left.xy[0] == right.xy[0] == 0.0 and left.get_ha() == "right" and right.get_ha() == "left"
    )
    # outcomes without a known better direction: which arm is higher, not which is favoured
    pacic = [hba1c[0].replace(outcome="pacic_12")]
    assert _favours_texts(plot_forest(pacic)) == [
        "← Higher with usual care",
        "Higher with coaching →",
    ]
    # your own labels, or none; proportions compare nothing and get none
    mine = plot_forest(rd, favours=("better without", "better with"))
    assert _favours_texts(mine) == ["← better without", "better with →"]
    assert _favours_texts(plot_forest(rd, favours=None)) == []
    prop = forest_frame("proportion", [0.464, 0.343, 0.5], [0.4, 0.3, 0.45], [0.53, 0.4, 0.55])
    assert _favours_texts(plot_forest(prop)) == []
    with pytest.raises(OptionError, match="favours"):
        plot_forest(rd, favours="left")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- plot_consort


def test_consort_boxes_carry_the_flow_numbers(flow: Flow) -> None:
    ax = plot_consort(flow, endpoint="change_hba1c")
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 1 + 2 * 4  # randomized; allocated, lost, excluded, analysed per arm
    got = flat_texts(ax)
    assert got[0] == "Randomized (n = 10)"
    assert "Health coaching Allocated (n = 6)" in got
    assert "Usual care Allocated (n = 4)" in got
    assert "Lost to follow-up (n = 2) (no follow-up measurement)" in got
    assert "Lost to follow-up (n = 1) (no follow-up measurement)" in got
    analysed = flow.analysed("change_hba1c")
    assert f"Analysed (n = {analysed['coaching']})" in got
    assert f"Analysed (n = {analysed['usual_care']})" in got
    # the lost patients (no follow-up at all) are in the lost box only, not excluded again
    excluded = [t for t in got if t.startswith("Excluded")]
    assert excluded == [
        "Excluded from analysis (n = 1) Missing baseline value: 1",
        "Excluded from analysis (n = 1) Missing baseline value: 1",
    ]
    # every column adds up: allocated = lost + excluded + analysed (issue 20)
    assert flow.randomized == {
        "coaching": 2 + 1 + analysed["coaching"],
        "usual_care": 1 + 1 + analysed["usual_care"],
    }
    assert ax.get_title(loc="left") == "HbA1c (%)"
    # each box's text is inside its box
    for t in ax.texts:
        if t.get_text():
            x, y = t.get_position()
            assert any(b.contains_point(ax.transData.transform((x, y))) for b in boxes)


def test_consort_without_endpoints_and_errors(flow: Flow) -> None:
    base = Flow.from_patients(
        pd.DataFrame(
            {"arm": ["coaching", "usual_care"], "hba1c_0": [9.0, 9.0], "hba1c_6": [8.0, None]}
        )
    )
    ax = plot_consort(base)
    assert flat_texts(ax) == [
        "Randomized (n = 2)",
        "Health coaching Allocated (n = 1)",
        "Usual care Allocated (n = 1)",
        "Lost to follow-up (n = 0) (no follow-up measurement)",
        "Lost to follow-up (n = 1) (no follow-up measurement)",
    ]
    with pytest.raises(AnalysisError, match="choose one with endpoint="):
        plot_consort(flow)
    with pytest.raises(AnalysisError, match="not in the flow"):
        plot_consort(flow, endpoint="composite_any_12")


def test_consort_counted_as_failure_is_shown() -> None:
    table = pd.DataFrame(
        {
            "endpoint": ["x"] * 4,
            "arm": ["coaching", "coaching", "usual_care", "usual_care"],
            "status": ["analysed", "missing follow-up (counted as failure)"] * 2,
            "n": [8, 2, 9, 0],
        }
    )
    ax = plot_consort(
        Flow({"coaching": 10, "usual_care": 9}, {"coaching": 2, "usual_care": 0}, table)
    )
    assert "Analysed (n = 10) incl. 2 missing follow-up counted as not at goal" in flat_texts(ax)
    assert "Analysed (n = 9)" in flat_texts(ax)


# ----------------------------------------------------------------------------- adherence


@pytest.fixture
def concordance_frame() -> pd.DataFrame:
    # proportions per patient-month, by hand; patient 5 has no target medication at month 12
    return pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5],
            "month": [0] * 5 + [12] * 5,
            "arm": ["coaching", "coaching", "usual_care", "usual_care", "usual_care"] * 2,
            "n_meds": [2, 4, 1, 2, 3, 2, 4, 1, 2, 0],
            "n_concordant": [1, 2, 1, 0, 1, 2, 3, 0, 1, 0],
            "n_listed_not_taken": [1, 1, 0, 2, 1, 0, 0, 1, 1, 0],
            "n_taken_not_listed": [0, 1, 0, 0, 1, 0, 1, 0, 0, 0],
        }
    ).assign(
        prop_concordant=lambda d: d["n_concordant"] / d["n_meds"].where(d["n_meds"] > 0),
        prop_listed_not_taken=lambda d: (
            d["n_listed_not_taken"] / d["n_meds"].where(d["n_meds"] > 0)
        ),
        prop_taken_not_listed=lambda d: (
            d["n_taken_not_listed"] / d["n_meds"].where(d["n_meds"] > 0)
        ),
    )


def test_adherence_stacked_heights(concordance_frame: pd.DataFrame) -> None:
    ax = plot_adherence(concordance_frame)
    conc, listed, taken = bar_containers(ax)
    # bars: (month 0, coaching), (0, usual care), (12, coaching), (12, usual care)
    # month 0 coaching: concordant mean(1/2, 2/4) = 50 %; usual care mean(1, 0, 1/3) = 44.4 %
    # month 12 coaching: mean(1, 3/4) = 87.5 %; usual care mean(0, 1/2) = 25 % (patient 5 left out)
    np.testing.assert_allclose([b.get_height() for b in conc], [50, 400 / 9, 87.5, 25])
    np.testing.assert_allclose([b.get_height() for b in listed], [37.5, 400 / 9, 0, 75])
    np.testing.assert_allclose([b.get_height() for b in taken], [12.5, 100 / 9, 12.5, 0])
    tops = [b.get_y() + b.get_height() for b in taken]
    np.testing.assert_allclose(tops, 100.0)
    assert [to_rgba(conc[0].get_facecolor())] != [to_rgba(listed[0].get_facecolor())]
    assert [t for t in texts(ax) if t.startswith("n = ")] == ["n = 2", "n = 3", "n = 2", "n = 2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Coaching", "Usual\ncare"] * 2
    legend = legend_texts(ax)
    assert legend == ["Completely concordant", "Listed, not taken", "Taken, not listed"]


def test_adherence_pooled_summary(concordance_frame: pd.DataFrame) -> None:
    table = adherence_summary(concordance_frame, summary="pooled")
    # month 0 usual care pools 1 + 0 + 1 concordant of 1 + 2 + 3 medications
    row = table[(table["month"] == 0) & (table["arm"] == "usual_care")].iloc[0]
    assert row["prop_concordant"] == pytest.approx(100 * 2 / 6)
    assert table["n_no_meds"].tolist() == [0, 0, 0, 1]


def test_adherent_days_distribution() -> None:
    d = pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6],
            "month": [0] * 6 + [12] * 6,
            "arm": ["coaching"] * 3 + ["usual_care"] * 3 + ["coaching"] * 3 + ["usual_care"] * 3,
            "adherent_days_7": [3, 7, 7, 0, 2, None, 7, 7, 6, 1, 7, 2],
        }
    )
    ax = plot_adherent_days(d, month=0)
    coaching, usual = bar_containers(ax)
    assert len(coaching) == len(usual) == 8  # 0..7 days
    expected_c = np.zeros(8)
    expected_c[[3, 7]] = [100 / 3, 200 / 3]
    expected_u = np.zeros(8)
    expected_u[[0, 2]] = 50.0
    np.testing.assert_allclose([b.get_height() for b in coaching], expected_c)
    np.testing.assert_allclose([b.get_height() for b in usual], expected_u)
    assert coaching[0].get_facecolor() == BLUE and usual[0].get_facecolor() == ORANGE
    assert legend_texts(ax) == [
        "Health coaching (n = 3, mean 5.7)",
        "Usual care (n = 2, mean 1.0; 1 missing)",
    ]
    with pytest.raises(AnalysisError, match="month="):
        plot_adherent_days(d)
    with pytest.raises(AnalysisError, match="months found"):
        plot_adherent_days(d, month=6)
    with pytest.raises(AnalysisError, match="whole numbers"):
        plot_adherent_days(d.assign(adherent_days_7=2.5), month=0)
    with pytest.raises(ColumnNotFoundError, match="group"):
        plot_adherent_days(d, arm="group", month=0)
    with pytest.raises(ColumnNotFoundError, match="arm"):
        plot_adherence(d.drop(columns="arm"))


# ----------------------------------------------------------------------------- published vs reproduced


@pytest.fixture
def targets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial": ["HCPC", "HCPC", "HCPC", "Peer"],
            "target": ["≥ 1 goal, coaching", "≥ 1 goal, usual care", "SBP goal", "HbA1c change"],
            "paper": [46.4, 34.3, "n.s.", -1.07],
            "ours": [46.39, 34.27, 41.7, -1.05],
        }
    )


def paper_vs_ours(targets: pd.DataFrame, **options: Any) -> plt.Axes:
    """plot_published_vs_reproduced on the columns of the ``targets`` fixture."""
    return plot_published_vs_reproduced(
        targets, published="paper", reproduced="ours", label="target", **options
    )


def test_published_vs_reproduced_paired(targets: pd.DataFrame) -> None:
    ax = paper_vs_ours(targets)
    pub, rep = (line for line in ax.lines if line.get_marker() == "o")
    np.testing.assert_allclose(pub.get_xdata(), [46.4, 34.3, np.nan, -1.07])
    np.testing.assert_allclose(rep.get_xdata(), [46.39, 34.27, 41.7, -1.05])
    assert texts(ax) == [
        "Published / reproduced",
        "46.4 / 46.39",
        "34.3 / 34.27",
        "n.s. / 41.7",
        "−1.07 / −1.05",
    ]
    assert ax.get_yticklabels()[0].get_text() == "HCPC: ≥ 1 goal, coaching"
    fixed = paper_vs_ours(targets.assign(paper=[46.4, 34.0, "n.s.", -1.07]), digits=1)
    assert texts(fixed)[1:] == ["46.4 / 46.4", "34.0 / 34.3", "n.s. / 41.7", "−1.1 / −1.1"]


def test_published_vs_reproduced_scatter(targets: pd.DataFrame) -> None:
    ax = paper_vs_ours(targets, kind="scatter", scale="symlog")
    assert ax.get_xscale() == ax.get_yscale() == "symlog"
    identity = ax.lines[0]
    assert list(identity.get_xdata()) == list(identity.get_ydata())
    hcpc, peer = ax.collections
    np.testing.assert_allclose(hcpc.get_offsets().data[:2], [[46.4, 46.39], [34.3, 34.27]])
    np.testing.assert_allclose(peer.get_offsets().data, [[-1.07, -1.05]])
    assert legend_texts(ax) == ["Identity", "HCPC", "Peer"]


def test_published_vs_reproduced_errors(targets: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError, match="published_value"):
        plot_published_vs_reproduced(targets)
    with pytest.raises(AnalysisError, match="symlog"):
        paper_vs_ours(targets, scale="log")
    with pytest.raises(OptionError, match="'paired', 'scatter'"):
        paper_vs_ours(targets, kind="bars")


# ----------------------------------------------------------------------------- style and export


def test_journal_style_is_scoped_and_use_style_applies() -> None:
    with mpl.rc_context({"axes.spines.top": True, "font.size": 10.0}):
        with journal_style():
            assert mpl.rcParams["axes.spines.top"] is False
            assert mpl.rcParams["figure.figsize"] == [3.5, 2.6]
        assert mpl.rcParams["axes.spines.top"] is True
        use_style()
        assert mpl.rcParams["font.size"] == 8.0
        assert mpl.rcParams["pdf.fonttype"] == 42


def test_new_figures_are_journal_sized(hcpc: list[ComparisonResult]) -> None:
    ax = plot_by_arm(hcpc[:3])
    assert tuple(ax.figure.get_size_inches()) == pytest.approx((3.5, 2.6))
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()


def test_importing_coachstats_does_not_import_heavy_packages() -> None:
    # issue 9: matplotlib, statsmodels and dask load lazily, on first use
    heavy = ("matplotlib", "statsmodels", "dask")
    code = (
        "import sys, coachstats, coachstats.plots, coachstats.compare; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"imported eagerly: {done.stdout}"


def all_figures(
    hcpc: list[ComparisonResult],
    peer_changes: list[ComparisonResult],
    flow: Flow,
    concordance_frame: pd.DataFrame,
    targets: pd.DataFrame,
) -> list[plt.Axes]:
    return [
        plot_by_arm(hcpc, ci=True),
        plot_changes(peer_changes)[0],
        plot_forest(odds_ratios()),
        plot_consort(flow, endpoint="change_hba1c"),
        plot_adherence(concordance_frame),
        plot_adherent_days(concordance_frame.assign(d=1), days="d", month=0),
        paper_vs_ours(targets),
    ]


def test_every_figure_saves_to_png_svg_pdf(
    tmp_path: Path,
    hcpc: list[ComparisonResult],
    peer_changes: list[ComparisonResult],
    flow: Flow,
    concordance_frame: pd.DataFrame,
    targets: pd.DataFrame,
) -> None:
    # every figure in one format, the formats in turn (each format for two or three
    # kinds of figure); drawing is the slow part (~0.25 s a file), so not all 21 pairs
    magic = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}
    figures = all_figures(hcpc, peer_changes, flow, concordance_frame, targets)
    formats: tuple[Literal["png", "svg", "pdf"], ...] = ("png", "svg", "pdf")
    files = []
    for i, ax in enumerate(figures):
        files += save_figure(ax, tmp_path / f"fig{i}", formats=[formats[i % 3]], dpi=50)
    assert [f.suffix for f in files] == [".png", ".svg", ".pdf", ".png", ".svg", ".pdf", ".png"]
    for f in files:
        assert f.read_bytes().startswith(magic[f.suffix]), f
    svg = (tmp_path / "fig1.svg").read_text()
    assert "<svg" in svg and "<text" not in svg  # text as paths: renders the same anywhere
    assert b"/FontFile2" in (tmp_path / "fig2.pdf").read_bytes()  # TrueType embedded (type 42)


def test_save_figure_is_reproducible_and_checks_the_format(tmp_path: Path) -> None:
    # the same figure code gives byte-identical files (fixed SVG ids, no dates)
    frame = odds_ratios()
    first = save_figure(plot_forest(frame), tmp_path / "a.svg")[0]
    again = save_figure(plot_forest(frame).figure, tmp_path / "b.svg")[0]
    assert first.read_bytes() == again.read_bytes()
    ax = plot_forest(frame)
    pdf = save_figure(ax, tmp_path / "a.pdf")[0].read_bytes()
    assert b"/CreationDate" not in pdf and b"/Producer" in pdf
    with pytest.raises(OptionError, match="'png', 'svg', 'pdf'"):
        save_figure(ax, tmp_path / "a.jpg")
    # a plain savefig, outside the style, works too
    ax.figure.savefig(tmp_path / "plain.png", dpi=30)
    assert (tmp_path / "plain.png").read_bytes().startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- baseline images


def _baseline_figures(
    hcpc: list[ComparisonResult], flow: Flow
) -> dict[str, tuple[plt.Figure, plt.Axes]]:
    """The figures compared with baselines, drawn into axes made under TEST_RC (DejaVu Sans)."""
    figs = {"by_arm": _by_arm_figure(hcpc)}
    fig, ax = plt.subplots(figsize=(3.5, 1.6), layout="constrained")
    plot_forest(published_odds_ratios(), ax=ax)
    figs["forest"] = (fig, ax)
    fig, ax = plt.subplots(figsize=(3.5, 3.6), layout="constrained")
    plot_consort(flow, endpoint="change_hba1c", ax=ax)
    figs["consort"] = (fig, ax)
    return figs


def _by_arm_figure(results: list[ComparisonResult], **options: Any) -> tuple[plt.Figure, plt.Axes]:
    """The by-arm baseline figure (CI bars, 5.25 x 2.6 inches), with changed ``options``."""
    fig, ax = plt.subplots(figsize=(5.25, 2.6), layout="constrained")
    plot_by_arm(results, ci=True, ax=ax, **options)
    return fig, ax


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=100, metadata={"Software": None})


@pytest.mark.parametrize("name", ["by_arm", "forest", "consort"])
def test_baseline_images(
    name: str, tmp_path: Path, hcpc: list[ComparisonResult], flow: Flow
) -> None:
    fig, _ = _baseline_figures(hcpc, flow)[name]
    actual = tmp_path / f"{name}.png"
    _save(fig, actual)
    expected = BASELINE_DIR / f"{name}.png"
    if UPDATE_BASELINES:
        BASELINE_DIR.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"missing baseline {expected}; see the module docstring"
    result = compare_images(str(expected), str(actual), tol=BASELINE_TOL, in_decorator=True)
    assert result is None, result


def test_baseline_tolerance_detects_changes(
    tmp_path: Path, hcpc: list[ComparisonResult], flow: Flow
) -> None:
    """A bar 1 point off, or missing value labels, fail the comparison at BASELINE_TOL."""
    expected = BASELINE_DIR / "by_arm.png"
    off_by_one = [binary("composite_any", 88, 194, 61, 178, 0.017), *hcpc[1:]]  # 45.4 %, not 46.4 %
    for results, options in ((off_by_one, {}), (hcpc, {"value_labels": False})):
        fig, _ = _by_arm_figure(results, **options)
        actual = tmp_path / "wrong.png"
        _save(fig, actual)
        result = compare_images(str(expected), str(actual), tol=BASELINE_TOL, in_decorator=True)
        assert result is not None and result["rms"] > BASELINE_TOL


def test_forest_highlight_sets_rows_apart() -> None:
    frame = pd.DataFrame(
        {
            "trial": ["HCPC", "Program"],
            "outcome": ["at_goal_hba1c"] * 2,
            "estimand": ["risk difference"] * 2,
            "estimate": [0.21, 0.15],
            "conf_low": [0.05, 0.02],
            "conf_high": [0.36, 0.28],
        }
    )
    ax = plot_forest(frame, highlight=[False, True])
    diamonds = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    # issue 20: risk differences in percentage points, as in the tables
    assert len(diamonds) == 1 and list(diamonds[0].get_xdata()) == [15.0]
    assert mpl.colors.to_hex(diamonds[0].get_color()) == mpl.colors.to_hex(ARM_COLORS["coaching"])
    weights = [t.get_fontweight() for t in ax.get_yticklabels()]
    assert weights[1] == "bold" and weights[0] != "bold"
    plt.close(ax.figure)
    with pytest.raises(OptionError, match="one flag per row"):
        plot_forest(frame, highlight=[True])


def test_by_arm_group_labels_do_not_touch(hcpc: list[ComparisonResult]) -> None:
    # a reviewer's case: "HbA1c drop >= 1 point (Peer 2013)" ran into its neighbour
    labels = [f"a rather long outcome label number {i} (Trial 2013)" for i in range(len(hcpc))]
    fig, ax = plt.subplots(figsize=(5.0, 2.6), layout="constrained")
    plot_by_arm(hcpc, ci=True, labels=labels, ax=ax)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in pairwise(boxes))
    assert max(len(line) for t in ax.get_xticklabels() for line in t.get_text().split("\n")) < 14
    plt.close(fig)

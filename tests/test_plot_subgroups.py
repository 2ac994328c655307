"""plot_subgroups: the subgroup forest plot draws the table it is given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from coachstats.compare import subgroup_effects
from coachstats.core.errors import AnalysisError
from coachstats.present.plots import plot_subgroups


def cohort(seed: int = 4, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "arm": rng.choice(["coaching", "usual_care"], n),
            "insulin": rng.random(n) < 0.4,
            "sex": rng.choice(["female", "male"], n),
        }
    )
    p = np.where(d["arm"] == "coaching", 0.5, 0.3)
    d["goal"] = (rng.random(n) < p).astype(int)
    d["change"] = -0.5 * (d["arm"] == "coaching") + rng.normal(0, 1, n)
    return d


def test_rows_labels_numbers_and_reference_line() -> None:
    res = subgroup_effects(cohort(), "change", by=["insulin", "sex"])
    fig, ax = plt.subplots()
    out = plot_subgroups(res, names={"insulin": "Insulin use"}, ax=ax)
    assert out is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "All patients",
        "Insulin use",
        "    False",
        "    True",
        "sex",
        "    female",
        "    male",
    ]
    texts = [t.get_text() for t in ax.texts]
    frame = res.to_frame()
    assert texts[0] == "MD (95% CI)"
    assert f"interaction P = {res.format_interaction_p('insulin')}" in texts
    # the numbers column, then the two sides of the line of no effect (issue 20): "change"
    # has no known better direction, so they say which arm is higher
    assert len(texts) == 1 + len(labels) + 2
    assert texts[-2:] == ["← Higher with usual care", "Higher with coaching →"]
    # one estimate per row with an estimate: the overall diamond and 4 squares
    points = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    drawn = sum(int(np.isfinite(np.asarray(line.get_xdata(), float)).sum()) for line in points)
    assert drawn == len(frame)
    assert ax.get_xscale() == "linear"
    plt.close(fig)


def test_odds_ratios_on_a_log_axis_and_errors() -> None:
    res = subgroup_effects(cohort(), "goal", by="sex", method="logistic")
    ax = plot_subgroups(res)
    assert ax.get_xscale() == "log"
    assert ax.texts[0].get_text() == "OR (95% CI)"
    plt.close("all")
    overall_only = res.to_frame().iloc[:1]
    with pytest.raises(AnalysisError, match="no subgroup rows"):
        plot_subgroups(overall_only)


def test_risk_differences_in_points_and_the_favoured_arm() -> None:
    # issue 20: the axis and the numbers in percentage points, as the tables print them,
    # and which side favours coaching (being at goal: higher is better)
    data = cohort().rename(columns={"goal": "composite_any"})
    res = subgroup_effects(
        data, "composite_any", by="sex", method="logistic", estimand="risk difference"
    )
    ax = plot_subgroups(res)
    frame = res.to_frame()
    texts = [t.get_text() for t in ax.texts]
    overall = frame.iloc[0]
    assert texts[0] == "RD (95% CI)"
    shown = texts[1].replace("\u2212", "-")
    assert shown == (
        f"{100 * overall['estimate']:.1f} ({100 * overall['conf_low']:.1f} to "
        f"{100 * overall['conf_high']:.1f})"
    )
    assert ax.get_xlabel() == "Risk difference, percentage points (95% CI)"
    assert texts[-2:] == ["← Favours usual care", "Favours coaching →"]
    assert max(abs(x) for x in ax.get_xlim()) > 1  # the axis is in points, not proportions
    plt.close("all")

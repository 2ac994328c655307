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
    assert len(texts) == 1 + len(labels)
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

"""Forest plot with a pooled diamond, prediction interval and favours labels; the funnel plot."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Polygon

from coachstats.compare.meta import MetaResult, pool
from coachstats.core.errors import AnalysisError, DataWarning
from coachstats.present.plots import journal_style, plot_forest, plot_funnel

REF = json.loads((Path(__file__).parent / "reference" / "meta.json").read_text())["uni"]


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    with journal_style():
        yield
    plt.close("all")


def bcg() -> tuple[pd.DataFrame, MetaResult]:
    d = REF["bcg"]
    y, s = np.array(d["yi"]), np.array(d["sei"])
    frame = pd.DataFrame(
        {
            "trial": d["study"],
            "outcome": "tb",
            "estimand": "relative risk",
            "estimate": np.exp(y),
            "conf_low": np.exp(y - 1.959964 * s),
            "conf_high": np.exp(y + 1.959964 * s),
        }
    )
    m = pool(y, s, method="REML", test="knha", transform="exp", estimand="relative risk")
    return frame, m


def test_forest_draws_the_pooled_diamond_and_prediction_interval() -> None:
    frame, m = bcg()
    ax = plot_forest(frame, labels=list(frame["trial"]), pooled=m, favours=("vaccine", "control"))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-2:] == ["Pooled (random effects, k = 13)", "  Prediction interval"]
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == 1
    xs = diamonds[0].get_xy()[:, 0]
    # the diamond spans the CI and peaks at the estimate (reporting scale)
    assert min(xs) == pytest.approx(math.exp(m.conf_low))
    assert max(xs) == pytest.approx(math.exp(m.conf_high))
    assert any(math.isclose(x, math.exp(m.estimate)) for x in xs)
    texts = [t.get_text() for t in ax.texts]
    assert "\u2190 vaccine" in texts and "control \u2192" in texts
    pi = f"{math.exp(m.pi_low):.2f} to {math.exp(m.pi_high):.2f}"
    assert pi in texts
    # the prediction interval is wider than the CI and inside the x range
    lo, hi = ax.get_xlim()
    assert lo < math.exp(m.pi_low) < math.exp(m.conf_low) and math.exp(m.pi_high) < hi


def test_forest_without_heterogeneity_has_no_prediction_row() -> None:
    frame = pd.DataFrame(
        {
            "outcome": ["x", "x"],
            "estimand": "mean difference",
            "estimate": [0.1, 0.11],
            "conf_low": [0.0, 0.01],
            "conf_high": [0.2, 0.21],
        }
    )
    m = pool([0.1, 0.11], [0.05, 0.05], method="REML")
    assert m.tau2 == 0
    # favours=None: no labels (the default labels the sides since issue 20)
    ax = plot_forest(frame, pooled=m, favours=None)
    assert len(ax.get_yticklabels()) == 3 and not any("\u2192" in t.get_text() for t in ax.texts)


def test_forest_pooled_scale_must_match_rows() -> None:
    frame, _ = bcg()
    diff = pool([0.1, 0.2], [0.05, 0.05])
    with pytest.raises(AnalysisError, match="another scale"):
        plot_forest(frame, pooled=diff)


def test_forest_on_given_axes_keeps_global_state() -> None:
    frame, m = bcg()
    before = dict(mpl.rcParams)
    _fig, ax = plt.subplots()
    assert plot_forest(frame, pooled=[m, m], ax=ax) is ax
    assert dict(mpl.rcParams) == before
    assert len([p for p in ax.patches if isinstance(p, Polygon)]) == 2


def test_funnel() -> None:
    d = REF["hackshaw1998"]
    m = pool(d["yi"], d["sei"], method="REML", transform="exp", estimand="odds ratio")
    ax = plot_funnel(m)
    assert ax.yaxis_inverted() and ax.get_xscale() == "log"
    points = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(points[:, 0], np.exp(d["yi"]))
    np.testing.assert_allclose(points[:, 1], d["sei"])
    assert ax.get_xlabel() == "Odds ratio" and "k = 37" in ax.get_title(loc="left")
    # the funnel is centred on the pooled estimate
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(math.exp(m.estimate))


def test_funnel_warns_below_ten_studies() -> None:
    m = pool([0.1, 0.3, 0.2], [0.05, 0.05, 0.1])
    with pytest.warns(DataWarning, match="cannot show asymmetry"):
        ax = plot_funnel(m)
    assert ax.get_xscale() == "linear"

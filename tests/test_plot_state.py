"""Plotting leaves the session as it found it (issue 20, item 7).

A coachstats figure applies its style through a context (or to the figure it
makes), so after any ``plot_*`` call matplotlib's ``rcParams`` are what they
were, interactive mode is unchanged (in a notebook, switching it off stops every
later figure from being shown inline), and the only new figure is the one the
call made (none when it was given an Axes, whose figure stays the current one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachstats.core.goals import PEER_GOALS
from coachstats.core.results import ArmSummary, ComparisonResult
from coachstats.data.flow import Flow
from coachstats.derive.endpoints import derive_endpoints
from coachstats.present.plots import (
    journal_style,
    plot_by_arm,
    plot_change,
    plot_consort,
    plot_forest,
    plot_published_vs_reproduced,
)


def _same(a: Any, b: Any) -> bool:
    """Equality of two rcParams values (NaN equals NaN; arrays and cyclers compare by value)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except ValueError:  # numpy arrays
        return bool((a == b).all())


def _snapshot() -> dict[str, Any]:
    return {k: v for k, v in mpl.rcParams.items() if k != "backend"}


@st.composite
def binary_results(draw: st.DrawFn) -> ComparisonResult:
    n1, n2 = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    x1, x2 = draw(st.integers(0, n1)), draw(st.integers(0, n2))
    d = x1 / n1 - x2 / n2
    return ComparisonResult(
        outcome=draw(st.sampled_from(["composite_any", "at_goal_hba1c", "my_outcome"])),
        method="Pearson chi-square",
        estimand="risk difference",
        estimate=d,
        conf_low=d - 0.1,
        conf_high=d + 0.1,
        p_value=draw(st.floats(0, 1)),
        arms=(
            ArmSummary("coaching", n1, events=x1, value=x1 / n1),
            ArmSummary("usual_care", n2, events=x2, value=x2 / n2),
        ),
    )


@st.composite
def change_results(draw: st.DrawFn) -> ComparisonResult:
    means = st.floats(-20, 20, allow_nan=False)
    sds = st.floats(0.1, 30, allow_nan=False)
    m1, m2 = draw(means), draw(means)
    return ComparisonResult(
        outcome="change_hba1c",
        method="Welch t test",
        estimand="mean difference",
        estimate=m1 - m2,
        conf_low=m1 - m2 - 1,
        conf_high=m1 - m2 + 1,
        p_value=draw(st.floats(0, 1)),
        arms=(
            ArmSummary("coaching", draw(st.integers(2, 200)), value=m1, sd=draw(sds)),
            ArmSummary("usual_care", draw(st.integers(2, 200)), value=m2, sd=draw(sds)),
        ),
    )


def _flow(missing: list[bool]) -> Flow:
    n = len(missing)
    df = pd.DataFrame(
        {
            "patient_id": range(n),
            "arm": ["coaching", "usual_care"] * (n // 2) + ["coaching"] * (n % 2),
            "hba1c_0": [9.0 + 0.1 * i for i in range(n)],
            "hba1c_6": [None if m else 8.0 for m in missing],
        }
    )
    return Flow.from_endpoints(derive_endpoints(df, PEER_GOALS, with_status=True))


@st.composite
def plot_calls(draw: st.DrawFn) -> Callable[[Any], Any]:
    """One plot call, as a function of the Axes to draw on (None: a new figure)."""
    kind = draw(st.sampled_from(["by_arm", "change", "forest", "consort", "published"]))
    if kind == "by_arm":
        results = draw(st.lists(binary_results(), min_size=1, max_size=3))
        ci = draw(st.booleans())
        return lambda ax: plot_by_arm(results, ci=ci, ax=ax)
    if kind == "change":
        result = draw(change_results())
        return lambda ax: plot_change(result, ax=ax)
    if kind == "forest":
        results = draw(st.lists(binary_results(), min_size=1, max_size=4))
        return lambda ax: plot_forest(results, ax=ax)
    if kind == "consort":
        flow = _flow(draw(st.lists(st.booleans(), min_size=4, max_size=12)))
        return lambda ax: plot_consort(flow, endpoint="change_hba1c", ax=ax)
    values = draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=5))
    frame = pd.DataFrame(
        {
            "outcome": [f"t{i}" for i in range(len(values))],
            "published_value": values,
            "reproduced_value": [v + 0.1 for v in values],
        }
    )
    kind_ = draw(st.sampled_from(["paired", "scatter"]))
    return lambda ax: plot_published_vs_reproduced(frame, group=None, kind=kind_, ax=ax)


# Drawing is the slow part (~0.1-0.3 s a figure): 30 examples cover each kind of plot
# with and without a given Axes and in both interactive modes several times.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    call=plot_calls(),
    own_axes=st.booleans(),
    interactive=st.booleans(),
    with_style=st.booleans(),
)
def test_plotting_changes_no_global_state(
    call: Callable[[Any], Any], own_axes: bool, interactive: bool, with_style: bool
) -> None:
    was = mpl.is_interactive()
    plt.close("all")
    try:
        mpl.interactive(interactive)
        # the user's own figure, made before (and, with_style, inside journal_style)
        if with_style:
            with journal_style():
                fig, ax = plt.subplots()
        else:
            fig, ax = plt.subplots()
        before = _snapshot()
        figures = plt.get_fignums()
        call(ax if own_axes else None)
        after = _snapshot()
        changed = sorted(k for k in before if not _same(before[k], after[k]))
        assert not changed, f"rcParams changed: {changed}"
        assert mpl.is_interactive() is interactive
        if own_axes:
            assert plt.get_fignums() == figures
            assert plt.gcf() is fig
        else:
            assert len(plt.get_fignums()) == len(figures) + 1
    finally:
        plt.close("all")
        mpl.interactive(was)


def test_interactive_mode_switched_on_inside_the_style_stays_on() -> None:
    # what the inline backend does when the session's first figure is made inside the style
    was = mpl.is_interactive()
    size = mpl.rcParams["figure.figsize"]
    try:
        mpl.interactive(False)
        with journal_style():
            assert mpl.rcParams["figure.figsize"] == [3.5, 2.6]
            mpl.interactive(True)
        assert mpl.is_interactive()
        with journal_style():
            mpl.interactive(False)
        assert not mpl.is_interactive()
        assert mpl.rcParams["figure.figsize"] == size  # the rest of the style is undone
    finally:
        mpl.interactive(was)

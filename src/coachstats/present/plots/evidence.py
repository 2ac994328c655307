"""The evidence forest: each registered trial, the pooled diamond and the prediction interval.

Examples
--------
>>> from coachstats.tasks.evidence import pool_evidence
>>> ax = plot_evidence(pool_evidence("hba1c"))
>>> [t.get_text() for t in ax.get_yticklabels()][-2:]
['Pooled (random effects, k = 9)', '  Prediction interval']
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coachstats.present.plots.common import axes_for
from coachstats.present.plots.forest import plot_forest
from coachstats.present.plots.style import DOUBLE_COLUMN

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from coachstats.tasks.evidence import EvidenceSummary

__all__ = ["plot_evidence"]


def plot_evidence(summary: EvidenceSummary, *, ax: Axes | None = None) -> Axes:
    """Forest plot of :func:`coachstats.tasks.evidence.pool_evidence`: trials, pooled diamond, PI.

    Rows are labelled ``"trial (coach, months)"`` (CHW: community health
    worker; MA: medical assistant); the sides of the line of no
    effect read "favours coaching" and "favours control" in the outcome's
    better direction (lower HbA1c, SBP and LDL favour coaching).
    """
    from coachstats.core.vocabulary import BETTER

    e = summary.effects
    frame = e.assign(
        outcome=summary.outcome,
        estimand="mean difference",
        conf_level=summary.meta.conf_level,
    )
    short = {"community health worker": "CHW", "medical assistant": "MA"}
    labels = [
        f"{trial} ({short.get(str(coach), str(coach))}, {months} mo)"
        for trial, coach, months in zip(e["trial"], e["coach"], e["months"], strict=True)
    ]
    sides = ("favours coaching", "favours control")
    favours = sides if BETTER[summary.outcome] == "lower" else sides[::-1]
    n = len(frame) + 2
    with axes_for(ax, (DOUBLE_COLUMN, 1.1 + 0.24 * n)) as ax:
        plot_forest(frame, labels=labels, pooled=summary.meta, favours=favours, ax=ax)
    return ax

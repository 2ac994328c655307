"""The evidence forest: each registered trial, the pooled diamond and the prediction interval.

A program placed against the evidence (``coachstats evaluate --against evidence``) is drawn
as one more row under the prediction interval, set apart and labelled as not pooled.

Examples
--------
>>> from coachstats.tasks.evidence import pool_evidence, position_against_evidence
>>> s = pool_evidence("hba1c")
>>> ax = plot_evidence(s)
>>> [t.get_text() for t in ax.get_yticklabels()][-2:]
['Pooled (random effects, k = 9)', '  Prediction interval']
>>> ax = plot_evidence(s, program=position_against_evidence(-0.58, 0.32, evidence=s))
>>> [t.get_text() for t in ax.get_yticklabels()][-2:]
['  Prediction interval', 'Your program (not pooled)']
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from coachstats.present.plots.common import axes_for, numbers_column
from coachstats.present.plots.forest import estimate_text, plot_forest
from coachstats.present.plots.style import DOUBLE_COLUMN, arm_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from coachstats.tasks.evidence import EvidencePosition, EvidenceSummary

__all__ = ["PROGRAM_ROW", "plot_evidence"]

#: The label of a program's row on the evidence forest.
PROGRAM_ROW = "Your program (not pooled)"


def plot_evidence(
    summary: EvidenceSummary,
    *,
    program: EvidencePosition | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of :func:`coachstats.tasks.evidence.pool_evidence`: trials, pooled diamond, PI.

    Rows are labelled ``"trial (coach, months)"`` (CHW: community health
    worker; MA: medical assistant); the sides of the line of no
    effect read "favours coaching" and "favours control" in the outcome's
    better direction (lower HbA1c, SBP and LDL favour coaching).

    ``program`` (:func:`~coachstats.tasks.evidence.position_against_evidence`)
    adds the program's effect with its confidence interval as a last row, under
    a rule below the prediction interval, drawn as a circle in the coaching
    colour and labelled :data:`PROGRAM_ROW`: it is shown against the pooled
    trials, not pooled with them.
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
    n = len(frame) + 2 + (2 if program is not None else 0)
    with axes_for(ax, (DOUBLE_COLUMN, 1.1 + 0.24 * n)) as ax:
        plot_forest(frame, labels=labels, pooled=summary.meta, favours=favours, ax=ax)
        if program is not None:
            _program_row(ax, program)
    return ax


def _program_row(ax: Axes, p: EvidencePosition) -> None:
    """The program's row under the pooled rows: a rule, then its estimate and CI, set apart."""
    y = -1.5  # the pooled rows end at 0; the rule at -0.75 separates the program from them
    color = arm_color("coaching", 0)
    ax.axhline(-0.75, color="0.45", lw=0.6, ls=":")
    ax.hlines(y, p.conf_low, p.conf_high, color=color, lw=1.2)
    ax.plot([p.estimate], [y], "o", color=color, markersize=5)
    ticks = [*ax.get_yticks(), y]
    names = [*(t.get_text() for t in ax.get_yticklabels()), PROGRAM_ROW]
    ax.set_yticks(ticks, names)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.get_yticklabels()[-1].set_color(color)
    ax.set_ylim(y - 0.7, ax.get_ylim()[1])
    numbers_column(ax, "", [estimate_text(p.estimate, p.conf_low, p.conf_high)], np.array([y]))

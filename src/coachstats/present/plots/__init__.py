"""Figures of coachstats: the trial results the way the trial reports present them.

Every function draws on ``ax`` (default: a new figure in the journal style),
returns the Axes, never calls ``plt.show()`` and computes no statistics beyond
what it draws (per-arm intervals from the arm's counts or mean and SD). The
result figures accept one :class:`~coachstats.core.results.ComparisonResult`, a
sequence of them, or the tidy DataFrame of :func:`coachstats.core.results.tidy`.

================================  ==============================================
:func:`plot_by_arm`               % at goal by arm, values and P above each pair
:func:`plot_change`               mean change by arm with CI, difference and P
:func:`plot_changes`              :func:`plot_change` for several outcomes
:func:`plot_forest`               estimates with CIs; log axis for ratios; pooled diamond
:func:`plot_funnel`               study estimates against their SEs (small-study effects)
:func:`plot_evidence`             the evidence base: trials, pooled diamond, prediction interval
:func:`plot_subgroups`            subgroup forest plot with the P for interaction
:func:`plot_consort`              CONSORT flow of one endpoint from a ``Flow``
:func:`plot_adherence`            concordance categories by arm and time point
:func:`plot_adherent_days`        distribution of adherent days by arm
:func:`plot_published_vs_reproduced`  published vs reproduced targets
:func:`plot_tipping_point`        where an MNAR shift changes the conclusion
:func:`journal_style`             the style (context manager); :func:`use_style`
:func:`save_figure`               PNG / SVG / PDF export, reproducible files
================================  ==============================================

matplotlib is imported only when a function draws, so ``import
coachstats.present.plots`` is cheap (and ``import coachstats`` does not import it).

Examples
--------
>>> import sys, coachstats.present.plots
>>> callable(coachstats.present.plots.plot_by_arm)
True
"""

from __future__ import annotations

from coachstats.present.plots.adherence import adherence_summary, plot_adherence, plot_adherent_days
from coachstats.present.plots.bars import plot_by_arm, wilson_limits
from coachstats.present.plots.change import mean_limits, plot_change, plot_changes
from coachstats.present.plots.consort import consort_boxes, plot_consort
from coachstats.present.plots.evidence import plot_evidence
from coachstats.present.plots.forest import plot_forest
from coachstats.present.plots.funnel import plot_funnel
from coachstats.present.plots.reproduction import plot_published_vs_reproduced
from coachstats.present.plots.style import (
    ARM_COLORS,
    ARM_LABELS,
    journal_style,
    save_figure,
    use_style,
)
from coachstats.present.plots.subgroups import plot_subgroups, subgroup_rows
from coachstats.present.plots.tipping import plot_tipping_point

__all__ = [
    "ARM_COLORS",
    "ARM_LABELS",
    "adherence_summary",
    "consort_boxes",
    "journal_style",
    "mean_limits",
    "plot_adherence",
    "plot_adherent_days",
    "plot_by_arm",
    "plot_change",
    "plot_changes",
    "plot_consort",
    "plot_evidence",
    "plot_forest",
    "plot_funnel",
    "plot_published_vs_reproduced",
    "plot_subgroups",
    "plot_tipping_point",
    "save_figure",
    "subgroup_rows",
    "use_style",
    "wilson_limits",
]

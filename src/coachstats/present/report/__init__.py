"""HTML report: one self-contained file with the design, flow, tables, figures and methods.

A :class:`Report` holds what the report shows -- result objects, not text --
and :func:`build_report` renders it with the jinja2 template
``coachstats/present/report/templates/report.html.j2`` (autoescaped: every column name, site
name or label from the data is escaped). The file is self-contained: the
figures of :mod:`coachstats.present.plots` are embedded as base64 PNG (or SVG)
``data:`` URIs and the style sheet is inline; there are no scripts and no
external URLs, so it opens offline and can be attached to an e-mail.

Sections
--------
========================  ====================================================
Trial design              the registry's design and citation (reproduction) or
                          the design read from the data (analysis, evaluation)
CONSORT flow              :func:`~coachstats.present.plots.plot_consort` and the
                          :class:`~coachstats.data.flow.Flow` table per endpoint
Baseline characteristics  Table 1 by arm with SMDs (:mod:`coachstats.present.table1`)
Outcomes                  :func:`coachstats.present.tables.publication_table`
Figures                   :func:`~coachstats.present.plots.plot_by_arm`,
                          :func:`~coachstats.present.plots.plot_changes`,
                          :func:`~coachstats.present.plots.plot_forest`
Published vs reproduced   :meth:`ReproductionResult.to_frame` with verdicts,
                          and the sensitivity table when it was run
Program vs published      :meth:`EvaluationResult.tables`: the program's effect
                          vs each trial with the difference test and verdict
                          (two-arm) or beside the published arms (single-arm),
                          the plain-language verdicts, the forest plot
                          (:func:`~coachstats.tasks.evaluate.evaluation_figure`), the
                          pooled Q and I², case mix, standardized comparison
                          and tracking metrics
Evidence base             :func:`~coachstats.tasks.evidence.pool_evidence`: the pooled
                          estimate, CI, prediction interval, tau², I², the
                          forest plot, the trials pooled (figures as printed,
                          where, how each SE was obtained) and not pooled
Methods                   one sentence per :class:`~coachstats.plan.AnalysisSpec`
Provenance                package versions, data files with SHA-256, seeds
========================  ====================================================

Four entry points build a :class:`Report`: :func:`report_from_reproduction`
(``coachstats reproduce --report``), :func:`report_from_analysis`
(``coachstats analyze --report``), :func:`report_from_evaluation`
(``coachstats evaluate --report``) and :func:`report_from_evidence`
(``coachstats evidence --report``; no data sections, the evidence only);
:func:`write_report` writes it atomically.

Modules
-------
==============  ==============================================================
``model``       :class:`Report`, :class:`DataSection`, :class:`Figure`: what a report shows
``sections``    the entry points: task results -> sections (design, flow, Table 1, results,
                files, seeds)
``methods``     the methods text (:func:`methods_sentence`, :func:`methods_text`, and the
                methods of an evaluation)
``figures``     the figures drawn for the report and embedded as ``data:`` URIs
``formats``     how the report prints an estimate with its interval
``evaluation``  the evaluation's tables, forest plot and verdict for the template
``evidence``    the pooled evidence's tables, forest plot, methods and registry files
``context``     the template context of a whole report
``render``      :func:`build_report` (jinja2) and :func:`write_report`
==============  ==============================================================

Everything a user needs is imported here; ``coachstats.report`` (the old name) is this package.

Examples
--------
>>> import coachstats.report
>>> coachstats.report is coachstats.present.report, coachstats.report.write_report.__module__
(True, 'coachstats.present.report.render')
"""

from __future__ import annotations

from coachstats.present.report.methods import methods_sentence, methods_text
from coachstats.present.report.model import IMAGE_FORMATS, DataSection, Figure, ImageFormat, Report
from coachstats.present.report.render import build_report, render_report, write_report
from coachstats.present.report.sections import (
    BASELINE_VARIABLES,
    report_from_analysis,
    report_from_evaluation,
    report_from_evidence,
    report_from_reproduction,
)

__all__ = [
    "BASELINE_VARIABLES",
    "IMAGE_FORMATS",
    "DataSection",
    "Figure",
    "ImageFormat",
    "Report",
    "build_report",
    "methods_sentence",
    "methods_text",
    "render_report",
    "report_from_analysis",
    "report_from_evaluation",
    "report_from_evidence",
    "report_from_reproduction",
    "write_report",
]

"""Rendering a report to HTML (jinja2, autoescaped) and writing it, as HTML or Word, atomically.

The template is ``templates/report.html.j2`` of this package; the Word report is
:mod:`coachstats.present.report.word`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from coachstats.core.errors import OptionError
from coachstats.present.report.context import template_context
from coachstats.present.report.model import Report

__all__ = ["build_report", "write_report"]


def build_report(report: Report) -> str:
    """Render a :class:`Report` to one self-contained HTML document (jinja2, autoescaped).

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats import load_trial
    >>> from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan
    >>> from coachstats.present.report import report_from_analysis
    >>> td = load_trial(pd.DataFrame({"patient_id": range(6), "arm": ["coaching", "usual_care"] * 3,
    ...     "hba1c_0": [9.0, 9.5, 10.0, 8.8, 9.9, 9.4], "hba1c_6": [7.9, 9.4, 8.6, 9.0, 8.8, 9.3]}))
    >>> plan = run_plan(td, AnalysisPlan([AnalysisSpec("change_hba1c", "t_test")], goals="peer"))
    >>> html = build_report(report_from_analysis(td, plan, goals="peer", figures=False))
    >>> html.startswith("<!DOCTYPE html>"), "<script" in html, 'id="outcomes"' in html
    (True, False, True)
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("coachstats.present.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**template_context(report))


def write_report(
    path: str | Path,
    report: Report,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Render ``report`` and write it atomically with :func:`coachstats.data.outputs.write_atomic`:
    HTML for a path ending in ``.html`` (:func:`build_report`), Word for ``.docx``
    (:func:`coachstats.present.report.word.build_docx`).

    Raises
    ------
    OptionError
        ``path`` ends in neither ``.html`` nor ``.docx``.
    OutputError
        ``path`` exists and ``force`` is False, or ``path`` is one of ``inputs``.
    """
    from coachstats.data.outputs import write_atomic

    suffix = Path(path).suffix.lower()
    if suffix == ".docx":
        from coachstats.present.report.word import write_docx

        return write_docx(path, report, force=force, inputs=inputs)
    if suffix not in (".html", ".htm"):
        raise OptionError(
            f"a report is HTML or Word; give a path ending in .html or .docx, got {path}"
        )
    return write_atomic(path, build_report(report), force=force, inputs=inputs)

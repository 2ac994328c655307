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

__all__ = ["build_report", "render_report", "write_report"]


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


def render_report(report: Report, path: str | Path) -> str | bytes:
    """The file of ``report`` for ``path``: the HTML text (:func:`build_report`) for a path
    ending in ``.html``, the Word document's bytes
    (:func:`coachstats.present.report.word.build_docx`) for ``.docx``.

    Raises
    ------
    OptionError
        ``path`` ends in neither ``.html`` nor ``.docx``.

    Examples
    --------
    >>> from coachstats.present.report import DataSection, Report
    >>> r = Report("T", sections=(DataSection("Your data"),), figures=False)
    >>> render_report(r, "r.html")[:15], render_report(r, "r.docx")[:2]
    ('<!DOCTYPE html>', b'PK')
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".docx":
        from coachstats.present.docx import to_bytes
        from coachstats.present.report.word import build_docx

        return to_bytes(build_docx(report))
    if suffix not in (".html", ".htm"):
        raise OptionError(
            f"a report is HTML or Word; give a path ending in .html or .docx, got {path}"
        )
    return build_report(report)


def write_report(
    path: str | Path,
    report: Report,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Render ``report`` (:func:`render_report`: HTML for ``.html``, Word for ``.docx``) and
    write it atomically with :func:`coachstats.data.outputs.write_atomic`.

    Raises
    ------
    OptionError
        ``path`` ends in neither ``.html`` nor ``.docx``.
    OutputError
        ``path`` exists and ``force`` is False, or ``path`` is one of ``inputs``.
    """
    from coachstats.data.outputs import write_atomic

    content = render_report(report, path)
    return write_atomic(path, content, force=force, inputs=inputs)

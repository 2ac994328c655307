"""The report in Word: the HTML report's sections, tables and figures as a ``.docx`` file.

:func:`build_docx` writes the same :class:`~coachstats.present.report.model.Report` as
:func:`~coachstats.present.report.build_report`, from the same template context
(:func:`~coachstats.present.report.context.template_context`), so every number in the
Word file is the HTML report's: the design, the CONSORT figure and flow tables, Table 1,
the outcome table, the figures, the published-vs-reproduced tables, the comparison with
the published trials, the methods and the provenance. Tables are set as a journal sets
them (:mod:`coachstats.present.docx`: three rules, no vertical lines); what the HTML
shows as a tooltip (why a figure is not reproduced, how a published SE was rebuilt) and
each outcome's method become lettered footnotes under the table; figures are embedded
as PNG.

:func:`evaluation_docx` writes the comparison with the published trials alone (the
evaluation table and its notes, optionally the forest plot).

Examples
--------
>>> from coachstats.present.report import DataSection, Report
>>> doc = build_docx(Report("T", sections=(DataSection("Your data"),), figures=False))
>>> [p.text for p in doc.paragraphs if p.style.name == "Heading 1"][:3]
['1. Trial design', '2. CONSORT flow', '3. Baseline characteristics']
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coachstats.present.docx import (
    add_figure,
    add_note,
    add_table,
    landscape,
    new_document,
    save_document,
)
from coachstats.present.journal import JournalTable, footnote_marks
from coachstats.present.report.context import template_context
from coachstats.present.report.model import Report
from coachstats.present.tables import journal_table, single_group_table

if TYPE_CHECKING:
    from docx.document import Document

    from coachstats.tasks.evaluate import EvaluationResult

__all__ = [
    "build_docx",
    "context_table",
    "evaluation_docx",
    "for_word",
    "reproduction_table",
    "sensitivity_table",
]


def for_word(text: str) -> str:
    """``text`` of the HTML report as the Word report says it: what the HTML shows as a
    tooltip is a lettered footnote in Word.

    Examples
    --------
    >>> for_word("The tooltip of a margin gives its reason (the tooltip says why).")
    'The footnote of a margin gives its reason (the footnote says why).'
    """
    return text.replace("tooltip", "footnote")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` of a dict, else ``obj.key`` (the contexts hold both kinds of part)."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _is_number_cell(cell: Any) -> bool:
    return bool(_get(cell, "num", False)) or "num" in str(_get(cell, "classes", "")).split()


def context_table(table: Any) -> JournalTable:
    """A table of the template context (caption, headers, rows of cells, notes) as a
    :class:`JournalTable`: the cells' text as shown, right-aligned where the HTML aligns
    them, and each cell's tooltip (why, how) as a lettered footnote of its row.

    The table is read by its keys or attributes (``caption``, ``headers``,
    ``rows[i].cells[j].text``, ``.num`` or ``.classes``, ``.title``, ``notes``), so it
    follows what the HTML shows (the evaluation's tables and the NNT / sensitivity parts).
    """
    headers = tuple(str(h) for h in _get(table, "headers", ()))
    rows_in = [list(_get(row, "cells", ())) for row in _get(table, "rows", ())]
    rows = [tuple(str(_get(c, "text", "")) for c in cells) for cells in rows_in]
    numeric = tuple(
        any(_is_number_cell(cells[j]) for cells in rows_in) for j in range(len(headers))
    )
    notes: list[str] = []
    tips = [
        "; ".join(
            dict.fromkeys(
                f"{headers[j]}: {_get(c, 'title')}"
                for j, c in enumerate(cells)
                if _get(c, "title", "") and _get(c, "title") != _get(c, "text")
            )
        )
        for cells in rows_in
    ]
    marks = footnote_marks(notes, tips)
    return JournalTable(
        headers=headers,
        rows=tuple(rows),
        caption=str(_get(table, "caption", "")),
        numeric=numeric if rows else (),
        marks=tuple(marks),
        notes=(*(for_word(str(n)) for n in _get(table, "notes", ())), *notes),
    )


def _png_report(report: Report) -> Report:
    """``report`` with its figures drawn as PNG (Word embeds no SVG)."""
    return (
        report if report.image_format == "png" else dataclasses.replace(report, image_format="png")
    )


def _figure(doc: Document, figure: Any, *, width_cm: float = 16.0) -> None:
    add_figure(doc, base64.b64decode(figure.data), figure.title, figure.caption, width_cm=width_cm)


def _heading(doc: Document, text: str, level: int) -> None:
    doc.add_heading(text, level=level)


def _bullets(doc: Document, items: Iterable[str]) -> None:
    for item in items:
        doc.add_paragraph(for_word(str(item)), style="List Bullet")


def _counts_table(
    arms: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    caption: str,
    first: Sequence[tuple[str, str]],
) -> JournalTable:
    """A flow table: the ``first`` columns (header, key) of each row, its per-arm cells, the total."""
    return JournalTable(
        headers=(*(h for h, _ in first), *arms, "Total"),
        rows=tuple(
            (*(str(r[k]) for _, k in first), *(str(c) for c in r["cells"]), str(r["total"]))
            for r in rows
        ),
        caption=caption,
        numeric=(*(False for _ in first), *(True for _ in arms), True),
    )


def _design(doc: Document, sections: Sequence[Mapping[str, Any]]) -> None:
    _heading(doc, "1. Trial design", 1)
    for s in sections:
        _heading(doc, s["name"], 2)
        for what, value in s["design"]:
            paragraph = doc.add_paragraph()
            paragraph.paragraph_format.space_after = 0
            paragraph.add_run(f"{what}: ").bold = True
            paragraph.add_run(str(value))


def _flow(doc: Document, sections: Sequence[Mapping[str, Any]]) -> None:
    _heading(doc, "2. CONSORT flow", 1)
    for s in sections:
        _heading(doc, s["name"], 2)
        flow = s["flow"]
        if not flow:
            add_note(doc, "No patient-level data: the flow is not available.")
            continue
        if s["consort_figure"] is not None:
            _figure(doc, s["consort_figure"], width_cm=11.0)
        what = f"; analysis of {flow['endpoint']}" if flow["endpoint"] else ""
        caption = f"Patient flow ({flow['total']} {flow['entry']}{what})"
        add_table(doc, _counts_table(flow["arms"], flow["stages"], caption, [("Stage", "label")]))
        if flow["endpoints"]:
            add_table(
                doc,
                _counts_table(
                    flow["arms"],
                    flow["endpoints"],
                    "Analysed and not analysed, per endpoint",
                    [("Endpoint", "endpoint"), ("Status", "status")],
                ),
            )
        for n in flow["notes"]:
            add_note(doc, n)


def _absent(doc: Document, report: Report, single_arm: str, otherwise: str) -> None:
    """Say why a part is absent: ``single_arm`` for a single-arm evaluation, else ``otherwise``."""
    single = report.evaluation is not None and report.evaluation.design != "two-arm"
    add_note(doc, single_arm if single else otherwise)


def _baseline(doc: Document, report: Report, sections: Sequence[Mapping[str, Any]]) -> None:
    _heading(doc, "3. Baseline characteristics", 1)
    for data, s in zip(report.sections, sections, strict=True):
        _heading(doc, s["name"], 2)
        if data.baseline is not None:
            add_table(doc, data.baseline.to_journal_table())
        elif data.single_group:
            doc.add_paragraph(
                "A single-arm program has no Table 1 by arm; coachstats evaluate --single-arm "
                "sets its case mix beside each published trial's."
            )
        else:
            _absent(
                doc,
                report,
                "A single-arm program has no Table 1 by arm: the case mix, with the comparison "
                "with the published trials, sets its baseline beside each trial's.",
                "Not available.",
            )


def _outcomes(doc: Document, report: Report, sections: Sequence[Mapping[str, Any]]) -> None:
    _heading(doc, "4. Outcomes", 1)
    for data, s in zip(report.sections, sections, strict=True):
        _heading(doc, s["name"], 2)
        if s["outcomes"] and not data.results:  # a single-arm program's own outcomes
            table = single_group_table(
                list(data.single_group), labels=list(data.single_group_labels)
            )
            add_table(doc, table)
            if data.single_group_note:
                doc.add_paragraph(data.single_group_note)
        elif s["outcomes"]:  # each method a footnote (tables.methods_note)
            caption = "Comparisons of coaching vs usual care"
            add_table(
                doc, journal_table(list(data.results), labels=list(data.labels), caption=caption)
            )
            if s["outcomes"]["adjusted_note"]:
                add_note(doc, s["outcomes"]["adjusted_note"])
        else:
            _absent(
                doc,
                report,
                "A single-arm program has no comparison of arms: its outcomes are set beside the "
                "published arms in the comparison with the published trials.",
                "No two-arm comparison was run on these data.",
            )
        if s["failures"]:
            doc.add_paragraph().add_run("Analyses that could not be run:").bold = True
            _bullets(doc, (f"{label}: {error}" for label, error in s["failures"]))


def _figures(doc: Document, report: Report, sections: Sequence[Mapping[str, Any]]) -> None:
    _heading(doc, "5. Figures", 1)
    for s in sections:
        _heading(doc, s["name"], 2)
        for f in s["figures"]:
            _figure(doc, f)
        if not s["figures"]:
            add_note(
                doc,
                "No figures"
                + (
                    " of the program by arm; the forest plot is with the comparison with the "
                    "published trials"
                    if report.evaluation is not None
                    else ""
                )
                + ".",
            )


def reproduction_table(trial: Mapping[str, Any]) -> JournalTable:
    """One trial's published-vs-reproduced table of the template context: the published and
    reproduced figures as column groups, the verdict, the provenance (how the bundled cohort
    holds the figure; empty on data of your own), and why a figure is not reproduced (or
    what was inferred) as a lettered footnote."""
    notes: list[str] = []
    marks = footnote_marks(notes, [str(r["note"]) for r in trial["rows"]])
    return JournalTable(
        headers=(
            "Outcome",
            *(("Coaching", "Usual care", "Difference", "P") * 2),
            "Verdict",
            "Provenance",
        ),
        rows=tuple(
            (r["outcome"], *r["published"], *r["reproduced"], r["verdict"], r["provenance"])
            for r in trial["rows"]
        ),
        caption=f"{trial['title']}. {trial['citation']}",
        spans=(("Published", 1, 5), ("Reproduced", 5, 9)),
        numeric=(False, *(True,) * 8, False, False),
        marks=tuple(marks),
        notes=(
            *(
                (
                    "Figures of other groups than the arms (the sites, all patients, a month) "
                    "name their group in the cell.",
                )
                if any(r["other_groups"] for r in trial["rows"])
                else ()
            ),
            *notes,
        ),
    )


def sensitivity_table(rows: Sequence[Mapping[str, Any]]) -> JournalTable:
    """The sensitivity rows of the template context as a journal table: the analyses'
    notes (what a rule assumed) as footnotes of the analysis; the trial named in the
    caption when there is one."""
    notes: list[str] = []
    marks = footnote_marks(notes, [str(r["note"]) for r in rows])
    trials = list(dict.fromkeys(str(r["trial"]) for r in rows))
    keys: tuple[str, ...] = ("target", "analysis", "coaching", "usual_care", "estimate", "p")
    if len(trials) > 1:
        keys = ("trial", *keys)
    names = {
        "trial": "Trial",
        "target": "Outcome",
        "analysis": "Analysis",
        "coaching": "Coaching",
        "usual_care": "Usual care",
        "estimate": "Estimate (95% CI)",
        "p": "P",
    }
    of = f" of {trials[0]}" if len(trials) == 1 else ""
    return JournalTable(
        headers=tuple(names[k] for k in keys),
        rows=tuple(tuple(str(r[k]) for k in keys) for r in rows),
        caption=f"Sensitivity of the main outcomes{of} to the analysis choices",
        numeric=tuple(k in ("coaching", "usual_care", "estimate", "p") for k in keys),
        marks=tuple(marks),
        notes=tuple(notes),
        mark_column=keys.index("analysis"),
    )


def _reproduction(doc: Document, reproduction: Mapping[str, Any], number: int) -> None:
    _heading(doc, f"{number}. Published vs reproduced", 1)
    summary = f"{reproduction['summary']}: {reproduction['verdict']}."
    doc.add_paragraph().add_run(summary).bold = True
    if reproduction["provenance_key"]:
        key = doc.add_paragraph("Provenance: how the bundled synthetic cohort holds each figure.")
        last = len(reproduction["provenance_key"]) - 1
        for i, (term, meaning) in enumerate(reproduction["provenance_key"]):
            key.add_run(" ")
            key.add_run(term).italic = True
            key.add_run(f": {meaning}{'.' if i == last else ';'}")
    doc.add_paragraph(reproduction["rule"])
    with landscape(doc):  # ten columns
        for trial in reproduction["trials"]:
            add_table(doc, reproduction_table(trial).without_empty_columns())
        if reproduction["sensitivity"]:
            add_table(doc, sensitivity_table(reproduction["sensitivity"]))


def _part_table(part: Any) -> JournalTable | None:
    return context_table(part.table) if part.table is not None else None


def _evaluation_part(
    doc: Document, part: Any, table: JournalTable | None, level: int, *, number: int | None = None
) -> None:
    """A part of the context (heading, introduction, table, list, figure, notes)."""
    _heading(doc, f"{number}. {part.heading}" if number is not None else part.heading, level)
    if part.intro:
        doc.add_paragraph(for_word(part.intro))
    if table is not None:
        add_table(doc, table)
    _bullets(doc, part.items)
    if part.figure is not None:
        _figure(doc, part.figure)
    for n in part.notes:
        add_note(doc, for_word(n))


def _evaluation_parts(doc: Document, evaluation: Mapping[str, Any], level: int) -> None:
    """Each part of the evaluation context; a part with a wide table on landscape pages."""
    for part in evaluation["parts"]:
        table = _part_table(part)
        if table is not None and len(table.headers) > 8:
            with landscape(doc):
                _evaluation_part(doc, part, table, level)
        else:
            _evaluation_part(doc, part, table, level)


def _evaluation(doc: Document, evaluation: Mapping[str, Any], number: int) -> None:
    _heading(doc, f"{number}. Program vs published trials", 1)
    doc.add_paragraph(evaluation["header"])
    doc.add_paragraph().add_run(f"Verdict: {evaluation['verdict']}.").bold = True
    _evaluation_parts(doc, evaluation, 2)


def _evidence(doc: Document, evidence: Mapping[str, Any], number: int) -> None:
    _heading(doc, f"{number}. {evidence['heading']}", 1)
    _evaluation_parts(doc, evidence, 2)


def _methods(doc: Document, context: Mapping[str, Any], number: int) -> None:
    _heading(doc, f"{number}. Methods", 1)
    for s in context["sections"]:
        _heading(doc, s["name"], 2)
        _bullets(doc, s["methods"])
    if context["evidence"] is not None:
        _heading(doc, context["evidence"]["heading"], 2)
        _bullets(doc, context["evidence"]["methods"])
    add_note(doc, context["methods_note"])


def _provenance(doc: Document, context: Mapping[str, Any], number: int) -> None:
    _heading(doc, f"{number}. Provenance", 1)
    add_table(
        doc,
        JournalTable(
            ("Software", "Version"),
            tuple((str(a), str(b)) for a, b in context["versions"]),
            caption="Software",
            numeric=(False, False),
        ),
    )
    files = [
        row
        for s in context["sections"]
        for row in (
            [(s["name"], str(name), str(sha)) for name, sha in s["files"]]
            or [(s["name"], context["in_memory"], "")]
        )
    ]
    if context["evidence"] is not None:
        files += [
            ("Evidence registry", str(n), str(sha)) for n, sha in context["evidence"]["files"]
        ]
    add_table(
        doc,
        JournalTable(
            ("Data set", "File", "SHA-256"),
            tuple(files),
            caption="Data files (SHA-256 of the bytes read)",
            numeric=(False, False, False),
        ),
    )
    seeds = tuple((str(w), str(seed)) for w, seed in context["seeds"])
    if seeds:
        add_table(doc, JournalTable(("What", "Seed"), seeds, caption="Seeds"))
    else:
        add_note(doc, "Seeds: no random step was involved.")
    for s in context["sections"]:
        for n in s["notes"]:
            add_note(doc, f"{s['name']}: {n}")


def build_docx(report: Report) -> Document:
    """The report as a Word document (see the module): the HTML report's sections, numbered.

    Returns
    -------
    docx.document.Document
        Save with :func:`~coachstats.present.report.write_report` (a ``.docx`` path) or
        ``document.save(path)``.
    """
    report = _png_report(report)
    context = template_context(report)
    sections = context["sections"]
    doc = new_document(context["title"])
    number = 1
    if sections:  # a report of the evidence alone has no data sections (as the HTML)
        _design(doc, sections)
        _flow(doc, sections)
        _baseline(doc, report, sections)
        _outcomes(doc, report, sections)
        _figures(doc, report, sections)
        number = 6
    if context["reproduction"] is not None:
        _reproduction(doc, context["reproduction"], number)
        number += 1
    if context["evaluation"] is not None:
        _evaluation(doc, context["evaluation"], number)
        number += 1
    if context["evidence"] is not None:
        _evidence(doc, context["evidence"], number)
        number += 1
    for s in sections:  # the number needed to coach and cost, the sensitivity to missing data
        for part in s.get("extras", ()):
            _evaluation_part(doc, part, _part_table(part), 1, number=number)
            number += 1
    _methods(doc, context, number)
    _provenance(doc, context, number + 1)
    return doc


def evaluation_docx(
    result: EvaluationResult,
    path: str | Path | None = None,
    *,
    figures: bool = True,
    document: Document | None = None,
) -> Document:
    """The comparison of a program with the published trials in Word: the evaluation table(s)
    of the HTML report (the program's effect vs each trial with the difference test and
    verdict, or the single-arm comparison with the published arms; pooled estimates, case
    mix, standardized comparison, tracking), their notes, and the forest plot (``figures``).

    Parameters
    ----------
    result : EvaluationResult
        What :func:`coachstats.tasks.evaluate.evaluate` returned.
    path : str or Path, optional
        Save the document here (``.docx``).
    figures : bool
        Embed the forest plot.
    document : docx.document.Document, optional
        Add to this document; default a new one.
    """
    from coachstats.present.report.evaluation import evaluation_context

    report = Report(
        f"Program vs published trials: {result.source}",
        sections=(),
        evaluation=result,
        figures=figures,
    )
    context = evaluation_context(report, result)
    doc = document if document is not None else new_document(report.title)
    doc.add_paragraph(context["header"])
    doc.add_paragraph().add_run(f"Verdict: {context['verdict']}.").bold = True
    _evaluation_parts(doc, context, 1)
    if path is not None:
        save_document(doc, path)
    return doc

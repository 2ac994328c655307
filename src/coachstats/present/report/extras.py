"""The report's parts beyond the outcome table: number needed to coach and cost, sensitivity, tracking.

:func:`extras_context` lays out a section's
:class:`~coachstats.tasks.evaluate.impact.ProgramImpact` (the NNT with Altman's interval
and the coaching cost per additional patient at goal, with every assumption) and
:class:`~coachstats.tasks.evaluate.missingness.ProgramSensitivity` (tipping points of the
binary outcomes, with the map of the first one) and
:class:`~coachstats.tasks.tracking.ProgramMetrics` (the practice brief's tracking
indicators) as parts for the template: a heading, an introduction, a table, a figure and
notes. The template renders them as the sections "Number needed to coach and cost",
"Sensitivity to missing outcomes" and "Program tracking".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coachstats.core.errors import CoachstatsError
from coachstats.present.report.figures import embed_figure
from coachstats.present.report.model import DataSection, Figure, ImageFormat

if TYPE_CHECKING:
    from coachstats.tasks.evaluate.impact import ProgramImpact
    from coachstats.tasks.evaluate.missingness import ProgramSensitivity
    from coachstats.tasks.tracking import ProgramMetrics

__all__ = ["ExtraPart", "extras_context", "part_table", "table_cell"]


@dataclass(frozen=True)
class ExtraPart:
    """A section of the report: heading, introduction, table, list, figure and notes.

    (A dataclass, not a dict: the template reads ``part.items``, which on a dict
    would be its method.)
    """

    id: str
    heading: str
    intro: str = ""
    table: dict[str, Any] | None = None
    items: tuple[str, ...] = ()
    items_cls: str = ""
    figure: Figure | None = None
    notes: tuple[str, ...] = ()


def table_cell(text: str, num: bool = False, title: str = "") -> dict[str, Any]:
    """A cell of a :class:`ExtraPart` table: its text, right-aligned when ``num``, a tooltip."""
    return {"text": text, "classes": "num" if num else "", "title": title}


def part_table(cls: str, caption: str, headers: tuple[str, ...], rows: list[list[dict[str, Any]]],
               notes: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    """A table of an :class:`ExtraPart`: CSS class, caption, headers, rows of :func:`table_cell`, notes."""
    return {
        "cls": cls,
        "caption": caption,
        "headers": headers,
        "rows": [{"cells": r, "data": {}} for r in rows],
        "notes": notes,
    }


def _money(x: float, currency: str) -> str:
    if math.isnan(x):
        return "not defined"
    return "∞" if math.isinf(x) else f"{x:,.0f} {currency}"


def _impact_part(impact: ProgramImpact) -> ExtraPart:
    rows = []
    for r in impact.rows:
        cur = r.minutes.currency
        cells = [table_cell(r.label), table_cell(r.minutes.nnt.text(), num=True)]
        for c in (r.minutes, r.caseload):
            cells.append(table_cell(_money(c.estimate, cur), num=True))
            cells.append(
                table_cell(f"{_money(c.conf_low, cur)} to {_money(c.conf_high, cur)}", num=True)
            )
        rows.append(cells)
    table = part_table(
        "impact",
        "Number needed to coach (NNT, Altman's 95% CI) and coaching cost per additional patient "
        "reaching the outcome",
        (
            "Outcome",
            "NNT (95% CI)",
            "Cost: coaching time",
            "95% CI",
            "Cost: whole salary",
            "95% CI",
        ),
        rows,
    )
    return ExtraPart(
        id="impact",
        heading="Number needed to coach and cost",
        intro=(
            "NNTB: coach this many patients for one more to reach the outcome; NNTH: for one "
            "more to do worse. When the effect's interval includes no difference, the NNT "
            "interval runs through infinity and the cost interval has no upper bound. Costs per "
            f"coached patient: coaching time, {impact.time_basis}; whole salary, "
            f"{impact.caseload_basis}. Intervals: the cost taken as known, times the NNT "
            "interval (Altman 1998)."
        ),
        table=table,
        items=tuple(f"Assumed: {a}" for a in impact.assumptions),
        items_cls="assumptions",
    )


def _sensitivity_part(
    sensitivity: ProgramSensitivity, fmt: ImageFormat, figures: bool
) -> ExtraPart:
    from coachstats.tasks.evaluate.missingness import LANDMARKS

    frame = sensitivity.to_frame()
    rows = []
    for r in frame.to_dict("records"):
        rows.append(
            [
                table_cell(str(r["outcome"])),
                table_cell(f"{r['missing_coaching']} / {r['missing_comparison']}", num=True),
                *[table_cell(str(r[key])) for key, _ in LANDMARKS],
                table_cell(f"{100 * r['share_same_conclusion']:.0f}%", num=True),
            ]
        )
    headers = (
        "Outcome",
        "Missing (coaching / comparison)",
        *[text[:1].upper() + text[1:] for _, text in LANDMARKS],
        "Completions keeping the conclusion",
    )
    figure = None
    notes = list(sensitivity.notes)
    if figures and sensitivity.results:
        label = sensitivity.results[0][0]
        try:
            fig = sensitivity.figure()
            if fig is not None:
                figure = embed_figure(
                    fig,
                    fmt,
                    f"Tipping point: {label}",
                    "Each cell is one way the missing outcomes could have turned out (successes "
                    "among the missing coached patients across, among the missing comparison "
                    "patients up), coloured by the conclusion of the chi-square test on the "
                    "completed table; the dot is the completion at each arm's observed rate.",
                )
        except CoachstatsError as exc:
            notes.append(f"tipping-point figure not drawn: {exc}")
    return ExtraPart(
        id="sensitivity",
        heading="Sensitivity to missing outcomes",
        intro=(
            "The outcome table analyses the patients seen at follow-up (complete case). Here the "
            "missing outcomes are filled in every possible way, from every missing patient a "
            "failure to every one a success, and the chi-square test is repeated on each "
            "completed table (tipping-point analysis; Yan, Lee & Li 2009). Columns: the "
            "conclusion at each landmark."
        ),
        table=part_table(
            "sensitivity-tipping", "Tipping points of the binary outcomes", headers, rows
        ),
        figure=figure,
        notes=tuple(notes),
    )


def _tracking_part(metrics: ProgramMetrics) -> ExtraPart:
    """The practice brief's indicators, each with its interval, yardstick and reading."""
    rows = []
    for m in metrics.metrics:
        value = m.format_value(m.value)
        if math.isfinite(m.conf_low):
            value += f" ({m.format_value(m.conf_low)} to {m.format_value(m.conf_high)})"
        rows.append(
            [
                table_cell(m.label),
                table_cell(value, num=True),
                table_cell(str(m.n) if m.n else "", num=True),
                table_cell(m.benchmark_text),
                table_cell(m.status_text() or "not judged", title=m.note),
            ]
        )
    table = part_table(
        "tracking",
        "Program tracking: the practice brief's indicators next to their yardsticks",
        ("Indicator", "Program (95% CI)", "n", "Yardstick", "Reading"),
        rows,
        notes=tuple(f"{m.label}: {m.note}" for m in metrics.metrics if m.note),
    )
    items = [line.strip() for line in metrics.summary().splitlines()[1:]]
    extra = [x for x in items if not any(x == f"{m.text()}" for m in metrics.metrics)]
    return ExtraPart(
        id="tracking",
        heading="Program tracking",
        intro=(
            "The indicators the practice brief asks a coaching program to track, each beside "
            "the yardstick it is read against (the brief's range or the trial's figure). A "
            "share or mean is 'similar' when its 90% CI lies within the margin of the "
            "yardstick, 'above' or 'below' when its 95% CI excludes it, and 'inconclusive' "
            "otherwise; a caseload is read against the brief's range."
        ),
        table=table,
        items=tuple(extra),
    )


def extras_context(section: DataSection, fmt: ImageFormat, figures: bool) -> list[ExtraPart]:
    """The parts of ``section`` beyond the outcome table (empty when it has none).

    Examples
    --------
    >>> extras_context(DataSection("Your data"), "png", figures=False)
    []
    """
    parts: list[ExtraPart] = []
    if section.impact is not None:
        parts.append(_impact_part(section.impact))
    if section.sensitivity is not None:
        parts.append(_sensitivity_part(section.sensitivity, fmt, figures))
    if section.tracking is not None and section.tracking.metrics:
        parts.append(_tracking_part(section.tracking))
    return parts

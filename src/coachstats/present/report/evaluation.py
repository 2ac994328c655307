"""The evaluation part of a report: the comparison tables, the forest plot and the verdict.

:func:`evaluation_context` lays out what :meth:`EvaluationResult.report_data
<coachstats.tasks.evaluate.EvaluationResult.report_data>` holds as subsections of tables
(cells with their tooltip and CSS class), lists, figures and notes, for the template: the
program's own effect, its verdict against each trial (two-arm: effects; single-arm: the
before-after figures against the coaching arms), the forest plot with its favours sides, the
case mix, the standardized comparison and the tracking metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from coachstats.compare.standardization import INTERVAL_LABELS, N_BOOT
from coachstats.compare.standardization_interval import EPV_DELTA, EXPECTED_DELTA
from coachstats.core.errors import CoachstatsError
from coachstats.core.formatting import format_number, format_p, is_number, join_words
from coachstats.present.report.evidence import evaluation_evidence_parts
from coachstats.present.report.extras import ExtraPart
from coachstats.present.report.figures import embed_figure
from coachstats.present.report.formats import interval_text, value_text
from coachstats.present.report.model import Figure, ImageFormat, Report
from coachstats.tasks.tracking import TRACKING_NOTE

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult
    from coachstats.tasks.tracking import Metric, ProgramMetrics

__all__ = ["evaluation_context", "verdict_class"]


@dataclass(frozen=True)
class _Cell:
    """A table cell: its text, right-aligned when a number, an optional tooltip and CSS class."""

    text: str
    num: bool = False
    title: str = ""
    cls: str = ""

    @property
    def classes(self) -> str:
        return " ".join(c for c in ("num" if self.num else "", self.cls) if c)


@dataclass(frozen=True)
class _HtmlRow:
    cells: tuple[_Cell, ...]
    data: Mapping[str, str] = field(default_factory=dict)  # data-* attributes


@dataclass(frozen=True)
class _HtmlTable:
    cls: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[_HtmlRow, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Part:
    """A subsection of the evaluation: a table, a list, a figure and notes (each optional)."""

    id: str
    heading: str
    intro: str = ""
    table: _HtmlTable | None = None
    items: tuple[str, ...] = ()
    items_cls: str = ""
    figure: Figure | None = None
    notes: tuple[str, ...] = ()


def _num_cell(text: str, **kw: Any) -> _Cell:
    """A right-aligned cell."""
    return _Cell(text, num=True, **kw)


def _p_cell(p: Any, alpha: float | None = None) -> _Cell:
    """A P value's cell (:func:`~coachstats.core.formatting.format_p`; empty when missing);
    ``alpha`` when a verdict rests on it (the digit that decides is shown)."""
    return _num_cell(format_p(p, missing="", alpha=alpha))


def _count(x: Any) -> str:
    """A count, empty when missing."""
    return format_number(x, 0, missing="")


def _row_notes(frame: pd.DataFrame, trial_name: Any) -> tuple[str, ...]:
    """The distinct notes of a table's rows: ``"<outcome> (<trial>): <note>"``."""
    return tuple(
        dict.fromkeys(
            f"{r['outcome']} ({trial_name(r['trial'])}): {r['note']}"
            for r in frame.to_dict("records")
            if r["note"]
        )
    )


def _verdict_cell(r: Mapping[Any, Any], trial: str) -> _Cell:
    """The verdict, coloured by what it means (a better result is never a failure)."""
    verdict = str(r["verdict"])
    title = str(r.get("reason") or "") or str(r.get("note") or "")
    return _Cell(verdict, title=title, cls="verdict-" + verdict.replace(" ", "-"))


def _favours_cell(r: Mapping[Any, Any], trial: str) -> _Cell:
    favours = str(r.get("favours") or "")
    text = {"program": "the program", "published": trial, "neither": "neither"}.get(favours, "")
    return _Cell(text)


def _margin_cell(r: Mapping[Any, Any], estimand: str) -> _Cell:
    if not is_number(r.get("margin")):
        return _Cell("")
    m = float(r["margin"])
    text = (
        f"ratio {format_number(1 / math.exp(m), 2)} to {format_number(math.exp(m), 2)}"
        if r.get("margin_scale") == "log ratio"
        else "\N{PLUS-MINUS SIGN}" + value_text(m, estimand)
    )
    return _num_cell(text, title=str(r.get("margin_reason") or ""))


_VERDICT_NOTE = (
    "Verdicts, judged in each outcome's better direction: larger / smaller when the adjusted "
    "P of the difference is below alpha (favours the program / the published trial); similar "
    "when the adjusted P of the equivalence test (TOST) within the margin is below alpha; "
    "inconclusive otherwise (the tooltip says why and about how many patients would settle "
    "it: per arm for a two-arm program). The tooltip of a margin gives its reason."
)


def _effects_table(frame: pd.DataFrame, adjustment: str, alpha: float | None = None) -> _HtmlTable:
    """Two-arm: the program's effect, the published one, the difference, margin and verdict."""
    from coachstats.tasks.evaluate import trial_name

    rows, borderline = [], False
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        diff_est = est if r["difference_scale"] == "difference" else "ratio"
        p_cell = _p_cell(r["p_adjusted"], alpha)
        if r["borderline"]:
            borderline = True
            p_cell = _num_cell(p_cell.text + " \N{DAGGER}", title=str(r["borderline"]))
        name = trial_name(r["trial"])
        cells = (
            _Cell(name),
            _Cell(str(r["outcome"])),
            _Cell(est),
            _num_cell(f"{_count(r['program_n1'])} vs {_count(r['program_n2'])}"),
            _num_cell(
                interval_text(
                    r["program_estimate"], r["program_conf_low"], r["program_conf_high"], est
                )
            ),
            _p_cell(r["program_p_adjusted"], alpha),
            _num_cell(
                interval_text(
                    r["published_estimate"], r["published_conf_low"], r["published_conf_high"], est
                ),
                title=str(r["published_se_method"]),
            ),
            _num_cell(
                interval_text(
                    r["difference"], r["difference_conf_low"], r["difference_conf_high"], diff_est
                )
            ),
            p_cell,
            _margin_cell(r, est),
            _p_cell(r["p_equivalence_adjusted"], alpha),
            _verdict_cell(r, name),
            _favours_cell(r, name),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"], "target": r["target"], "estimand": est}))
    notes = [
        "Risk differences, and differences between them, in percentage points; odds ratios "
        "and their ratio (program / published); mean differences, and differences between "
        "them, in the outcome's unit. The program's effect is its coaching arm against its "
        "usual-care arm. The tooltip of a published figure says how its standard error was "
        "reconstructed.",
        _VERDICT_NOTE,
        f"{adjustment}.",
    ]
    if borderline:
        notes.append(
            "\N{DAGGER} Borderline: the verdict changes within the rounding range of the printed P "
            "(the tooltip says how)."
        )
    return _HtmlTable(
        "comparison",
        "The program's effect against its usual care, and against each published effect",
        (
            "Trial",
            "Outcome",
            "Estimand",
            "n (coaching vs usual care)",
            "Program effect (95% CI)",
            "P (adjusted)",
            "Published effect (95% CI)",
            "Difference or ratio (95% CI)",
            "P (adjusted)",
            "Margin",
            "Equivalence P (adjusted)",
            "Verdict",
            "Favours",
        ),
        tuple(rows),
        (*notes, *_row_notes(frame, trial_name)),
    )


def _arms_table(frame: pd.DataFrame, adjustment: str, alpha: float | None = None) -> _HtmlTable:
    """Single-arm: the before-after figure, regression to the mean, and the verdict."""
    from coachstats.tasks.evaluate import trial_name

    rows = []
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        name = trial_name(r["trial"])
        cells = (
            _Cell(name),
            _Cell(str(r["outcome"])),
            _num_cell(_count(r["n"])),
            _num_cell(
                interval_text(
                    r["program_estimate"], r["program_conf_low"], r["program_conf_high"], est
                ),
                title=str(r["caveat"]),
            ),
            _num_cell(value_text(r["regression_expected"], est), title=str(r["regression_note"])),
            _num_cell(
                value_text(r["published_coaching"], est),
                title=f"SE {r['published_coaching_se_source']!s}",
            ),
            _num_cell(value_text(r["published_usual_care"], est)),
            _num_cell(value_text(r["difference"], est)),
            _p_cell(r["p_adjusted"], alpha),
            _margin_cell(r, est),
            _p_cell(r["p_equivalence_adjusted"], alpha),
            _verdict_cell(r, name),
            _favours_cell(r, f"{name} coaching arm"),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"], "target": r["target"]}))
    caveats = [str(c) for c in frame["caveat"].dropna().unique()] if "caveat" in frame else []
    return _HtmlTable(
        "arm-comparison",
        "The program's before-after figures (every patient coached) against the published "
        "coaching arms",
        (
            "Trial",
            "Outcome",
            "n",
            "Program (95% CI)",
            "Expected from regression to the mean",
            "Published coaching",
            "Published usual care",
            "Difference from coaching",
            "P (adjusted)",
            "Margin",
            "Equivalence P (adjusted)",
            "Verdict",
            "Favours",
        ),
        tuple(rows),
        (
            *(f"Every figure is {c}." for c in caveats),
            "Proportions and differences in percent, means in the outcome's unit. Expected from "
            "regression to the mean: the figure patients selected for a high HbA1c would show "
            "with no effect and no trend (blank where the entry threshold or the within-person "
            "variation is not known; the tooltip says which).",
            _VERDICT_NOTE,
            f"{adjustment}.",
            *_row_notes(frame, trial_name),
        ),
    )


def _case_mix_table(frame: pd.DataFrame) -> _HtmlTable:
    from coachstats.tasks.evaluate import trial_name

    rows = []
    for r in frame.to_dict("records"):
        share = r["metric"] != "SMD"
        value = (
            f"{100 * r['program_value']:.1f} %"
            if share
            else f"{r['program_value']:.1f}"
            + (f" (SD {r['program_sd']:.1f})" if is_number(r["program_sd"]) else "")
        )
        cells = (
            _Cell(trial_name(r["trial"])),
            _Cell(str(r["characteristic"])),
            _num_cell(value),
            _num_cell(_count(r["program_n"])),
            _num_cell(str(r["published_text"])),
            _Cell(str(r["metric"])),
            _num_cell(f"{r['difference']:+.2f}" if is_number(r["difference"]) else ""),
            _Cell("material" if r["material"] else "", cls="failed" if r["material"] else ""),
            _Cell(str(r["source"])),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"]}))
    return _HtmlTable(
        "case-mix",
        "Baseline of the program vs each trial's published baseline",
        (
            "Trial",
            "Characteristic",
            "Program",
            "n",
            "Published",
            "Metric",
            "Difference",
            "Material",
            "Published figure",
        ),
        tuple(rows),
    )


def _standardized_table(frame: pd.DataFrame, adjustment: str) -> _HtmlTable:
    from coachstats.tasks.evaluate import trial_name

    rows = []
    for r in frame.to_dict("records"):
        est = str(r["estimand"])
        name = trial_name(r["trial"])
        cells = (
            _Cell(name),
            _Cell(str(r["outcome"])),
            _Cell(est),
            _num_cell(value_text(r["crude"], est)),
            _num_cell(value_text(r["adjusted"], est) if "difference" in est else ""),
            _num_cell(interval_text(r["standardized"], r["conf_low"], r["conf_high"], est)),
            _Cell(INTERVAL_LABELS.get(str(r["interval_method"]), "")),
            _Cell(str(r["covariates"])),
            _num_cell(_count(r["reference_n"])),
            _num_cell(value_text(r["published"], est)),
            _p_cell(r["difference_p_value"]),
            _Cell(str(r["position"])),
            _p_cell(r["p_adjusted"]),
            _margin_cell(r, est),
            _p_cell(r["p_equivalence_adjusted"]),
            _verdict_cell(r, name),
        )
        rows.append(_HtmlRow(cells, {"trial": r["trial"], "target": r["target"]}))
    return _HtmlTable(
        "standardized",
        "The program's figures standardized to each trial's baseline distribution",
        (
            "Trial",
            "Outcome",
            "Estimand",
            "Raw (no model)",
            "Adjusted (program's case mix)",
            "Standardized (95% CI)",
            "Interval",
            "Adjusted for",
            "Reference n",
            "Published",
            "P vs published",
            "Position",
            "P (adjusted)",
            "Margin",
            "Equivalence P (adjusted)",
            "Verdict",
        ),
        tuple(rows),
        (
            "Proportions and risk differences, and their margins, in percent; the reference is "
            "the patients of the trial's synthetic cohort with the outcome, taken as fixed (the "
            "intervals carry the program's sampling error only).",
            "Raw: the program's patients as they are, no model. Adjusted: the standardization's "
            "model averaged over the program's own patients (for a difference of means it equals "
            "the standardized figure: the model has the same difference at every baseline). "
            "Standardized: the same model averaged over the trial's case mix.",
            f"Interval: delta method; t (linear model); percentile bootstrap ({N_BOOT:,} "
            "resamples within arm, fixed seed) where the delta method is not trusted (fewer than "
            f"{EPV_DELTA:g} patients with or without the outcome per coefficient, or fewer than "
            f"{EXPECTED_DELTA:g} expected per arm at the trial's case mix); a row without a "
            "figure says why.",
            "A sensitivity analysis of the verdicts above: each standardized figure is judged "
            "against the published figure as its row above, with the same margin. " + _VERDICT_NOTE,
            f"{adjustment}, the standardized rows as a family of their own.",
            *_row_notes(frame, trial_name),
        ),
    )


def _tracking_table(metrics: ProgramMetrics) -> _HtmlTable:
    def fmt(m: Metric, x: float) -> str:
        return m.format_value(x) if is_number(x) else ""

    rows = []
    for m in metrics.metrics:
        value = fmt(m, m.value)
        if is_number(m.conf_low) and is_number(m.conf_high):
            value += f" ({fmt(m, m.conf_low)} to {fmt(m, m.conf_high)})"
        cells = (
            _Cell(m.label),
            _num_cell(value),
            _num_cell(str(m.n) if m.n else ""),
            _Cell(m.benchmark_text),
            _Cell(m.margin_text(), title=m.margin_reason),
            _Cell(m.status, title=m.status_text()),
            _Cell(m.note),
        )
        rows.append(_HtmlRow(cells, {"key": m.key}))
    extra = metrics.encounters.summary().splitlines() if metrics.encounters is not None else []
    return _HtmlTable(
        "tracking",
        "Program tracking: the practice brief's indicators",
        ("Indicator", "Value (95% CI)", "n", "Yardstick", "Margin", "Status", "Note"),
        tuple(rows),
        (TRACKING_NOTE, *extra, *metrics.notes),
    )


def _forest_part(result: EvaluationResult, make: Any, fmt: ImageFormat) -> _Part:
    """The forest figure of :func:`coachstats.tasks.evaluate.evaluation_figure`, embedded."""
    caption = (
        "Each outcome's effect in the published trial(s) and in the program, with 95% CIs: the "
        "risk differences in one panel, each mean difference in its own (their units differ). "
        "Under each panel, the side of the line of no effect that favours coaching and the side "
        "that favours usual care (higher shares at goal and larger falls in a lab value are "
        "better)."
        if result.design == "two-arm"
        else "Each outcome's published coaching and usual-care figures and the program's, with "
        "95% CIs (a published arm without a printed n has none): the proportions in one panel, "
        "each mean in its own. These are before-after figures, not effects: there is no line of "
        "no effect, and no side favours coaching or usual care."
    )
    try:
        figure = embed_figure(
            make(), fmt, "Forest plot: the program and the published trials", caption
        )
    except CoachstatsError as exc:
        return _Part("forest", "Forest plot", notes=(f"not drawn: {exc}",))
    return _Part("forest", "Forest plot", figure=figure)


def verdict_class(result: EvaluationResult) -> str:
    """The colour of the verdict line: ``failed`` (red) when a comparison is smaller, ``ok``
    (green) when every one is larger or similar, ``unsettled`` (amber) otherwise -- a program
    whose comparisons are all inconclusive is not shown as a success.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> rows = lambda *v: NS(ok="smaller" not in v, rows=[NS(verdict=x) for x in v])
    >>> [verdict_class(rows(*v)) for v in (("larger", "similar"), ("similar", "inconclusive"), ("smaller",))]
    ['ok', 'unsettled', 'failed']
    """
    if not result.ok:
        return "failed"
    if all(r.verdict in ("larger", "similar") for r in result.rows):
        return "ok"
    return "unsettled"


def evaluation_context(report: Report, result: EvaluationResult) -> dict[str, Any]:
    """The evaluation section: the program's effect, verdicts, comparison table, forest, case mix.

    Parameters
    ----------
    report : Report
        The report (whether to draw figures, and how to embed them).
    result : EvaluationResult
        The evaluation shown.

    Returns
    -------
    dict
        ``header``, ``single_arm``, ``ok``, ``verdict`` and ``parts``: the subsections, each a
        table (cells with their tooltip and CSS class), a list, a figure and notes.
    """
    data = result.report_data()
    tables: Mapping[str, pd.DataFrame] = data["tables"]
    two_arm = result.design == "two-arm"
    verdict = f"{data['verdict_line']}; {data['adjustment']}"
    parts: list[_Part | ExtraPart] = []
    if data["headline"]:
        parts.append(
            _Part(
                "own-effect",
                "The program's own effect" if two_arm else "The program's before-after figures",
                intro="Coaching against the program's usual-care arm."
                if two_arm
                else "Every patient was coached: each figure is before-after, without a "
                "concurrent control group.",
                items=tuple(data["headline"]),
                items_cls="headline",
            )
        )
    outcomes = tables["outcomes"]
    if not outcomes.empty:
        table = (
            _effects_table(outcomes, data["adjustment"], result.alpha)
            if two_arm
            else _arms_table(outcomes, data["adjustment"], result.alpha)
        )
        parts.append(
            _Part(
                "comparison",
                "Comparison with the published trials",
                table=table,
                # the comparisons with the evidence base have their own part
                items=tuple(r.sentence() for r in result.rows if r.trial in result.trials),
                items_cls="verdicts",
            )
        )
    parts += evaluation_evidence_parts(result, report.image_format, report.figures)
    if report.figures and (result.effects or result.arms):
        parts.append(_forest_part(result, data["figures"]["forest"], report.image_format))
    if result.case_mix:
        material = list(dict.fromkeys(c.characteristic for c in result.case_mix if c.material))
        intro = (
            "The program's baseline differs materially on " + join_words(material) + "; see the "
            "standardized comparison."
            if material
            else "No baseline characteristic differs materially."
        )
        parts.append(
            _Part(
                "case-mix",
                "Case mix",
                intro=intro,
                table=_case_mix_table(tables["case_mix"]),
                items=tuple(c.sentence() for c in result.case_mix),
                items_cls="case-mix-notes",
            )
        )
    if result.standardized:
        parts.append(
            _Part(
                "standardized",
                "Standardized to each trial's baseline",
                table=_standardized_table(
                    tables["standardized"], result.standardized_adjustment_text()
                ),
                items=tuple(s.sentence() for s in result.standardized),
                items_cls="standardized-notes",
            )
        )
    if result.tracking is not None:
        parts.append(_Part("tracking", "Program tracking", table=_tracking_table(result.tracking)))
    if result.notes:
        parts.append(_Part("evaluation-notes", "Notes", items=result.notes, items_cls="notes"))
    return {
        "header": result.sentence(),
        "single_arm": not two_arm,
        "ok": result.ok,
        "verdict_class": verdict_class(result),
        "verdict": verdict,
        "parts": parts,
    }

"""The evidence part of a report: the trials, the pooled estimate, the forest plot, what was left out.

:func:`evidence_context` lays out an :class:`~coachstats.tasks.evidence.EvidenceSummary`
(``coachstats evidence --report``) for the template, as parts of the report (a heading, an
introduction, a table, a figure and notes; :class:`~coachstats.present.report.extras.ExtraPart`):

- the pooled estimate with its confidence interval, the prediction interval, tau² and I²
  with their Q-profile intervals, Cochran's Q and k;
- the forest plot (:func:`~coachstats.present.plots.plot_evidence`): each trial, the pooled
  diamond and the prediction interval, with the favours labels;
- the pooled trials: design, the figures as printed with where they were printed, the
  effect and its SE with how each was obtained (printed or computed), and the weight;
- the trials not pooled, with the reason;
- small-study effects: Egger's test and the funnel plot when there are at least 10 trials,
  otherwise why they cannot be judged;
- the references: each trial's citation and the page its figures were checked against.

It also gives the methods sentences and the registry files (with their SHA-256) behind
the numbers, for the report's Methods and Provenance sections.

:func:`evaluation_evidence_parts` lays out a program placed against the evidence
(``coachstats evaluate --against evidence --report``): per outcome compared, the program's
effect with its CI, the pooled estimate with its CI, the prediction interval, where the
program lies against it, the difference and the verdict; the sentences; what the prediction
interval means and what it rests on; the outcomes not compared and why; and the forest plot
with the program as a last row, not pooled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coachstats.core.formatting import format_number, format_p, p_phrase
from coachstats.core.vocabulary import BETTER, MEASURE_LABELS
from coachstats.present.report.extras import ExtraPart, part_table, table_cell
from coachstats.present.report.figures import embed_figure
from coachstats.present.report.model import ImageFormat

if TYPE_CHECKING:
    from coachstats.compare.meta import MetaResult
    from coachstats.tasks.evaluate import EvaluationResult
    from coachstats.tasks.evaluate.against_evidence import EvidenceComparison
    from coachstats.tasks.evidence import EvidencePosition, EvidenceSummary

__all__ = ["evaluation_evidence_parts", "evidence_context", "evidence_methods"]

_TAU2 = {
    "REML": "restricted maximum likelihood (REML)",
    "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel",
}


def _label(outcome: str) -> str:
    return MEASURE_LABELS.get(outcome, outcome)


def _signed(x: float) -> str:
    return format_number(x, 2, signed=True)


def _interval(lo: float, hi: float) -> str:
    return f"{_signed(lo)} to {_signed(hi)}"


def _pooled_part(s: EvidenceSummary) -> ExtraPart:
    from coachstats.tasks.evidence import effect_unit

    m, unit = s.meta, effect_unit(s.outcome)
    pct = f"{100 * m.conf_level:g} %"
    rows = [
        ("Pooled difference, coaching minus control", f"{_signed(m.estimate)} {unit}"),
        (f"{pct} confidence interval", _interval(m.conf_low, m.conf_high)),
        (f"{pct} prediction interval", _interval(m.pi_low, m.pi_high)),
        ("P (pooled difference = 0)", format_p(m.p_value)),
        (
            f"τ² ({pct} Q-profile CI)",
            f"{m.tau2:.3f} ({m.tau2_conf_low:.3f} to {m.tau2_conf_high:.3f})",
        ),
        (
            f"I² ({pct} CI)",
            f"{100 * m.i2:.0f} % ({100 * m.i2_conf_low:.0f} to {100 * m.i2_conf_high:.0f} %)",
        ),
        ("Cochran's Q", f"{m.q:.2f} on {m.q_df} df, {p_phrase(m.q_p_value)}"),
        ("Trials pooled (k)", str(m.k)),
    ]
    table = part_table(
        "evidence-pooled",
        f"Pooled {_label(s.outcome)} ({m.method_name})",
        ("", "Value"),
        [[table_cell(what), table_cell(value, num=True)] for what, value in rows],
    )
    intro = (
        f"{m.k} randomized trials of health coaching pooled by {m.method_name}. The pooled "
        f"difference is the average effect of these coaching programs: {_signed(m.estimate)} "
        f"{unit} ({pct} CI {_interval(m.conf_low, m.conf_high)}). The {pct} prediction interval, "
        f"{_interval(m.pi_low, m.pi_high)}, is where the true effect of a new comparable coaching "
        "program is expected to lie: it is wider because the programs' effects differ "
        f"(τ² = {m.tau2:.3f})."
    )
    return ExtraPart("evidence-pooled", "Pooled estimate", intro=intro, table=table)


def _forest_part(s: EvidenceSummary, fmt: ImageFormat) -> ExtraPart:
    from coachstats.present.plots.evidence import plot_evidence

    better = "Lower" if BETTER[s.outcome] == "lower" else "Higher"
    caption = (
        f"Each trial's difference (coaching minus control) with its "
        f"{100 * s.meta.conf_level:g} % CI, the pooled diamond ({s.meta.method_name}) and the "
        f"prediction interval (grey bar). {better} values favour coaching."
    )
    figure = embed_figure(plot_evidence(s), fmt, f"Forest plot: {_label(s.outcome)}", caption)
    return ExtraPart("evidence-forest", "Forest plot", figure=figure)


def _trials_part(s: EvidenceSummary) -> ExtraPart:
    from coachstats.tasks.evidence import design_line
    from coachstats.trials.evidence import get_evidence

    headers = (
        "Trial",
        "Design",
        "As printed (where)",
        "Difference (95 % CI)",
        "SE",
        "How the effect and SE were obtained",
        "Weight",
    )
    rows = []
    for r, w in zip(s.effects.to_dict("records"), s.meta.weights, strict=True):
        trial = get_evidence(str(r["key"]))
        o = trial.outcome(s.outcome)
        how = f"Estimate {r['estimate_origin']}. SE {r['se_origin']}." + (
            f" {o.note}" if o.note else ""
        )
        estimate = f"{_signed(r['estimate'])} ({_interval(r['conf_low'], r['conf_high'])})"
        rows.append(
            [
                table_cell(trial.label),
                table_cell(design_line(trial)),
                table_cell(f"{o.printed} ({o.location})"),
                table_cell(estimate, num=True),
                table_cell(f"{r['std_error']:.3f}", num=True),
                table_cell(how),
                table_cell(f"{100 * w:.1f} %", num=True),
            ]
        )
    notes = (
        "Differences are coaching minus control, as printed or computed from the printed "
        "figures; nothing derived was typed in. A CI that was not printed is the estimate "
        "± 1.96 SE. Weights are those of the pooled model.",
    )
    caption = f"Each trial's effect on {_label(s.outcome)}, coaching minus control"
    table = part_table("evidence-trials", caption, headers, rows, notes)
    return ExtraPart("evidence-trials", "Trials pooled", table=table)


def _excluded_part(s: EvidenceSummary) -> ExtraPart:
    from coachstats.trials.evidence import get_evidence

    rows = []
    for r in s.excluded.to_dict("records"):
        o = get_evidence(str(r["key"])).outcome(s.outcome)
        rows.append(
            [
                table_cell(str(r["trial"])),
                table_cell(f"{o.printed} ({o.location})"),
                table_cell(str(r["reason"])),
            ]
        )
    if not rows:
        return ExtraPart(
            "evidence-excluded",
            "Trials not pooled",
            intro="Every registered trial that reports this outcome is pooled.",
        )
    table = part_table(
        "evidence-excluded",
        "Registered trials that report the outcome but are not pooled",
        ("Trial", "As printed (where)", "Why it is not pooled"),
        rows,
    )
    return ExtraPart("evidence-excluded", "Trials not pooled", table=table)


def _small_study_part(s: EvidenceSummary, fmt: ImageFormat, figures: bool) -> ExtraPart:
    from coachstats.compare.meta_checks import EGGER_MIN_K, egger_test

    m = s.meta
    if m.k < EGGER_MIN_K:
        return ExtraPart(
            "evidence-small-studies",
            "Small-study effects",
            intro=f"Egger's test and the funnel plot need at least {EGGER_MIN_K} trials; with "
            f"k = {m.k}, small-study effects (such as publication bias) cannot be judged.",
        )
    from coachstats.present.plots.funnel import plot_funnel

    egger = egger_test(m)
    figure = (
        embed_figure(
            plot_funnel(m),
            fmt,
            "Funnel plot",
            "Each trial's difference against its standard error, with the pseudo "
            "95 % confidence funnel around the pooled estimate.",
        )
        if figures
        else None
    )
    return ExtraPart(
        "evidence-small-studies", "Small-study effects", intro=egger.summary() + ".", figure=figure
    )


def _references_part(s: EvidenceSummary) -> ExtraPart:
    from coachstats.trials.evidence import get_evidence

    items = []
    for key in [*s.effects["key"], *s.excluded["key"]]:
        t = get_evidence(str(key))
        source = t.outcome(s.outcome).source or t.citation.checked
        items.append(
            f"{t.label}: {t.citation.text()}" + (f" Figures from: {source}" if source else "")
        )
    return ExtraPart("evidence-references", "References", items=tuple(items))


def evidence_methods(s: EvidenceSummary) -> list[str]:
    """The methods of the pooled evidence, one sentence each, for the report's Methods section.

    Examples
    --------
    >>> from coachstats.tasks.evidence import pool_evidence
    >>> evidence_methods(pool_evidence("hba1c"))[1][:60]
    'Random effects: tau² estimated by restricted maximum likelih'
    """
    m: MetaResult = s.meta
    pct = f"{100 * m.conf_level:g} %"
    comparators = sorted(set(s.effects["comparator"]))
    out = [
        f"Each trial's effect on {_label(s.outcome)} is the difference coaching minus control "
        "as printed, or computed from the printed per-arm figures; its standard error comes "
        "from the printed CI ((upper - lower) / (2 × 1.96)), an exact printed two-sided P "
        "(|difference| / z(1 - P/2)) or the per-arm SDs and n. Comparators pooled: "
        f"{', '.join(comparators)}.",
    ]
    if m.method == "fixed":
        out.append("Common (fixed) effect, inverse-variance weights.")
    else:
        ci = (
            f"the {pct} CI by Hartung-Knapp-Sidik-Jonkman (t on {m.k - 1} df)"
            if m.test == "knha"
            else f"a Wald {pct} CI (normal)"
        )
        crit = f"t on {m.k - 1} df" if m.test == "knha" else "the normal quantile"
        out.append(
            f"Random effects: tau² estimated by {_TAU2.get(m.method, m.method)}, {ci}; "
            f"the {pct} prediction interval is the estimate ± {crit} × √(SE² + tau²); the "
            "CIs of tau² and I² are by the Q-profile method."
        )
    out.append(
        "Every estimator is checked against R metafor (rma, predict, confint) to a relative "
        "1e-8 on the registry's own data and on metafor's example data sets."
    )
    return out


def evidence_context(
    s: EvidenceSummary, fmt: ImageFormat, figures: bool, *, forest_note: str = ""
) -> dict[str, Any]:
    """The template context of the evidence: its parts, methods and registry files.

    ``forest_note`` replaces the forest plot by a note (in an evaluation's report, the forest
    with the program's row is drawn with the comparison, and the note says where).

    Examples
    --------
    >>> from coachstats.tasks.evidence import pool_evidence
    >>> ctx = evidence_context(pool_evidence("hba1c"), "png", figures=False)
    >>> [p.id for p in ctx["parts"]][:3], len(ctx["files"]) >= 9
    (['evidence-pooled', 'evidence-trials', 'evidence-excluded'], True)
    """
    from coachstats.trials.evidence import get_evidence

    parts = [_pooled_part(s)]
    if forest_note:
        parts.append(ExtraPart("evidence-forest", "Forest plot", intro=forest_note))
    elif figures:
        parts.append(_forest_part(s, fmt))
    parts += [
        _trials_part(s),
        _excluded_part(s),
        _small_study_part(s, fmt, figures),
        _references_part(s),
    ]
    keys = dict.fromkeys([*s.effects["key"], *s.excluded["key"]])
    trials = [get_evidence(str(k)) for k in keys]
    return {
        "heading": f"Evidence base: {_label(s.outcome)}",
        "parts": parts,
        "methods": evidence_methods(s),
        "files": [(t.file, t.sha256) for t in trials if t.file],
    }


_RANGE = {
    ("inside", True): "inside",
    ("inside", False): "inside; its CI reaches beyond",
    ("beyond", True): "beyond: a larger benefit",
    ("beyond", False): "beyond: a larger benefit; its CI overlaps the range",
    ("short", True): "short: a smaller benefit",
    ("short", False): "short: a smaller benefit; its CI overlaps the range",
}
#: What a verdict favours, said after it in the table (larger / smaller only).
_FAVOURS = {"program": ": favours the program", "published": ": favours the average program"}


def _p(p: float, alpha: float | None = None) -> dict[str, Any]:
    return table_cell(format_p(p, missing="", alpha=alpha), num=True)


def _comparison_row(e: EvidenceComparison, pos: EvidencePosition) -> list[dict[str, Any]]:
    j, p = e.judgement, e.program
    verdict = e.verdict
    margin = f"\N{PLUS-MINUS SIGN}{format_number(e.margin.value, 2)}" if e.margin else ""
    return [
        table_cell(e.label, title=e.population),
        table_cell(" vs ".join(str(a.n) for a in p.arms) if p else "", num=True),
        table_cell(f"{_signed(pos.estimate)} ({_interval(pos.conf_low, pos.conf_high)})", num=True),
        table_cell(
            f"{_signed(pos.pooled_estimate)} ({_interval(pos.pooled_conf_low, pos.pooled_conf_high)})",
            num=True,
        ),
        table_cell(_interval(pos.pi_low, pos.pi_high), num=True, title=f"{pos.k} trials pooled"),
        table_cell(_RANGE[(pos.range_position, pos.range_certain)]),
        table_cell(
            f"{_signed(pos.difference)} ({_interval(pos.difference_low, pos.difference_high)})",
            num=True,
        ),
        _p(j.p_difference_adjusted if j else float("nan"), e.alpha),
        table_cell(margin, num=True, title=e.margin.reason if e.margin else ""),
        _p(j.p_equivalence_adjusted if j else float("nan"), e.alpha),
        {
            **table_cell(f"{verdict}{_FAVOURS.get(e.favours, '')}", title=e.reason()),
            "classes": "verdict-" + verdict.replace(" ", "-"),
        },
    ]


def evaluation_evidence_parts(
    result: EvaluationResult, fmt: ImageFormat, figures: bool
) -> list[ExtraPart]:
    """The parts of an evaluation's report that place the program against the evidence base.

    A table (one row per outcome compared), the sentences, what each prediction interval
    means and rests on, the outcomes not compared with the reason; then, with ``figures``,
    one forest plot per outcome compared, the program drawn as a last row, not pooled.
    Empty when the evaluation was not run against the evidence base.

    Examples
    --------
    >>> from coachstats.tasks.evaluate import evaluate
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=441, seed=5).patients, against="evidence", tracking=False)
    >>> [p.id for p in evaluation_evidence_parts(res, "png", figures=False)]
    ['evidence-comparison', 'evidence-not-compared']
    """
    if not result.evidence:
        return []
    compared = [e for e in result.evidence if e.compared]
    rows = [_comparison_row(e, e.position) for e in compared if e.position is not None]
    failed = [f"{e.label}: not analysed ({e.reason()})" for e in compared if e.position is None]
    meanings = list(
        dict.fromkeys(f"{e.label}: {e.evidence.meaning()}" for e in compared if e.evidence)
    )

    together = (
        " The comparisons with the evidence base are adjusted together with those with the "
        "published trials."
        if result.trials
        else ""
    )
    notes = (
        "Effects are coaching minus control (the program: minus its own usual-care arm), in "
        "the outcome's unit (HbA1c: percentage points). "
        + " ".join(
            dict.fromkeys(
                f"The program's effect on {e.label} is on the {e.population}." for e in compared
            )
        )
        + " The program is set beside the pooled "
        "trials, never pooled with them. Against the range: where the program's estimate lies "
        "against the prediction interval (beyond: a larger benefit than the range; short: a "
        "smaller one); when its confidence interval reaches across the range's end, chance may "
        "explain where it lies.",
        "The difference from the pooled estimate treats the two as independent estimates: SE = "
        "√(SE program² + SE pooled²), the pooled SE being the one its Hartung-Knapp interval "
        "implies. Verdicts, in the outcome's better direction: larger / smaller (favours the "
        "program / the average program) when the adjusted P of the difference is below alpha; "
        "similar when the adjusted P of the equivalence test within the margin is below alpha; "
        "inconclusive otherwise (the tooltip says why). The margin is the smallest difference "
        "that matters clinically (its tooltip gives the reason).",
        f"{result.adjustment_text()}.{together}",
    )
    table = (
        part_table(
            "evidence-comparison",
            "The program's effect against the pooled evidence and its prediction interval",
            (
                "Outcome",
                "n (coaching vs usual care)",
                "Program effect (95% CI)",
                "Pooled effect (95% CI)",
                "95% prediction interval",
                "Against the range",
                "Difference from pooled (95% CI)",
                "P (adjusted)",
                "Margin",
                "Equivalence P (adjusted)",
                "Verdict",
            ),
            rows,
            notes,
        )
        if rows
        else None
    )
    intro = (
        "Your program's effect set beside the registered randomized trials of health coaching, "
        "pooled by random effects (coachstats evidence): against the range where comparable "
        "programs' true effects are expected to fall (the prediction interval), and against the "
        "average coaching program (the pooled estimate). " + " ".join(meanings)
    )
    parts = [
        ExtraPart(
            "evidence-comparison",
            "Against the evidence base",
            intro=intro,
            table=table,
            items=tuple(e.sentence() for e in compared),
            items_cls="verdicts",
            notes=tuple(failed),
        )
    ]
    missing = result.not_compared()
    if missing:
        parts.append(
            ExtraPart(
                "evidence-not-compared",
                "Not compared with the evidence base",
                intro="The program's other outcomes, and why each is not compared:",
                items=tuple(f"{label}: {reason}" for label, reason in missing),
                items_cls="notes",
            )
        )
    if figures:
        from coachstats.present.plots.evidence import PROGRAM_ROW, plot_evidence

        for e in compared:
            if e.evidence is None or e.position is None:
                continue
            better = "Lower" if BETTER[e.outcome] == "lower" else "Higher"
            caption = (
                f"Each pooled trial's difference (coaching minus control) with its 95 % CI, the "
                f"pooled diamond ({e.evidence.meta.method_name}) and the 95 % prediction interval "
                "(grey bar: where comparable programs' true effects are expected to fall). Under "
                f"the dotted rule, '{PROGRAM_ROW}': your program's effect ({e.population}) with "
                "its 95 % CI, which also carries its sampling error; it is shown against the "
                f"trials, not pooled with them. {better} values favour coaching."
            )
            figure = embed_figure(
                plot_evidence(e.evidence, program=e.position),
                fmt,
                f"Forest plot: {e.label} against the evidence base",
                caption,
            )
            parts.append(
                ExtraPart(f"evidence-forest-{e.outcome}", f"Forest plot: {e.label}", figure=figure)
            )
    return parts

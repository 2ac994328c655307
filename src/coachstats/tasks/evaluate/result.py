"""The result of an evaluation: :class:`EvaluationResult`, its text, tables and JSON.

What a reader sees first is the program's own effect (two-arm: against its
usual-care arm; single-arm: the before-after figure, with its caveat), then
each comparison with a published trial by its verdict
(:data:`~coachstats.core.vocabulary.VERDICTS`), with the multiplicity
adjustment stated. ``ok`` -- and the CLI's exit code -- is False when a
primary comparison is ``smaller``: a program doing better than the published
trial is never a failure.

:func:`table_text`, :func:`join_parts`, :func:`extras_dict` and :func:`extras_text`
are the text and JSON helpers shared with :class:`~coachstats.tasks.evaluate.ProgramAnalysis`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from coachstats.core.formatting import format_number, format_p, is_number, is_percent_estimand
from coachstats.core.goals import GoalSet
from coachstats.core.vocabulary import VERDICTS, arm_label
from coachstats.data.source import IN_MEMORY
from coachstats.tasks.evaluate.against_evidence import (
    EVIDENCE,
    EVIDENCE_NAME,
    EvidenceComparison,
)
from coachstats.tasks.evaluate.arms import ArmComparison
from coachstats.tasks.evaluate.forest import evaluation_figure
from coachstats.tasks.evaluate.impact import ProgramImpact
from coachstats.tasks.evaluate.missingness import ProgramSensitivity
from coachstats.tasks.evaluate.published import trial_name
from coachstats.tasks.evaluate.rows import (
    ALPHA,
    NOT_ANALYSED,
    CaseMixItem,
    EffectComparison,
    SentenceRow,
    StandardizedComparison,
)
from coachstats.tasks.evaluate.verdicts import Margin, adjustment_text
from coachstats.tasks.evaluate.wording import CAVEAT, unit_of
from coachstats.tasks.schemas import json_records, stamp
from coachstats.tasks.tracking import ProgramMetrics

__all__ = [
    "MARKS",
    "EvaluationResult",
    "against_name",
    "extras_dict",
    "extras_text",
    "join_parts",
    "outcome_rows",
    "table_text",
]

#: The mark of each verdict in the terminal summary.
MARKS: Mapping[str, str] = {
    "larger": "+",
    "similar": "=",
    "smaller": "-",
    "inconclusive": "?",
    NOT_ANALYSED: " ",
}


def extras_dict(
    impact: ProgramImpact | None, sensitivity: ProgramSensitivity | None
) -> dict[str, Any]:
    """The NNT / cost and tipping-point parts of a result's plain data."""
    return {
        "impact": impact.to_dict() if impact else None,
        "sensitivity": json.loads(json.dumps(sensitivity.to_dict(), default=str))
        if sensitivity
        else None,
    }


def extras_text(impact: ProgramImpact | None, sensitivity: ProgramSensitivity | None) -> list[str]:
    """The NNT / cost and tipping-point blocks of a result's summary."""
    return [x.summary() for x in (impact, sensitivity) if x is not None]


def join_parts(parts: list[str], tracking: ProgramMetrics | None, notes: Sequence[str]) -> str:
    """A summary's blocks, then the tracking summary and the notes, blank-line separated."""
    if tracking is not None:
        parts.append(tracking.summary())
    if notes:
        parts.append("\n".join(f"note: {n}" for n in notes))
    return "\n\n".join(parts)


def table_text(frame: pd.DataFrame) -> str:
    """A table as fixed-width text (floats to 4 significant digits, missing values blank)."""
    if frame.empty:
        return "(no rows)"
    shown = frame.copy()
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c].dtype):
            shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:.4g}")
    return str(shown.to_string(index=False, max_colwidth=48))


def outcome_rows(frame: pd.DataFrame, design: str, alpha: float | None = None) -> pd.DataFrame:
    """The outcome table as a reader reads it (the terminal summary): shares in percent and
    risk differences, and their margins, in percentage points, ratios as ratios, mean
    differences in the outcome's unit, each row's unit stated, P in journal style. The tidy
    table (:meth:`EvaluationResult.to_frame`, the JSON and CSV) keeps proportions.

    Examples
    --------
    >>> tidy = pd.DataFrame([{"trial": "hcpc", "outcome": "at goal", "endpoint": "composite_any",
    ...     "estimand": "risk difference", "program_estimate": 0.121, "program_conf_low": 0.022,
    ...     "program_conf_high": 0.22, "published_estimate": 0.121, "difference": 0.0,
    ...     "p_adjusted": 1.0, "p_equivalence_adjusted": 0.38, "margin": 0.121,
    ...     "margin_scale": "difference", "verdict": "inconclusive", "favours": "neither"}])
    >>> row = outcome_rows(tidy, "two-arm").loc[0]
    >>> row[["unit", "program (95% CI)", "published", "margin"]].tolist()
    ['percentage points', '12.1 (2.2 to 22.0)', '12.1', '±12.1']
    """
    single = design == "single-arm"
    rows = []
    for r in frame.to_dict("records"):
        est, endpoint = str(r["estimand"]), str(r["endpoint"])
        pct = is_percent_estimand(est)
        ratio = "ratio" in est
        k, digits = (100.0, 1) if pct else (1.0, 2)

        def num(x: Any, k: float = k, digits: int = digits) -> str:
            return format_number(k * float(x), digits) if is_number(x) else ""

        if pct:
            unit = "%" if single else "percentage points"
        else:
            unit = "ratio" if ratio else unit_of(endpoint, "mean difference")
        program = num(r["program_estimate"])
        if program and is_number(r["program_conf_low"]):
            program += f" ({num(r['program_conf_low'])} to {num(r['program_conf_high'])})"
        if r.get("margin_scale") == "log ratio" and is_number(r["margin"]):
            margin = Margin(float(r["margin"]), "", "log ratio").text()
        else:
            margin = f"\N{PLUS-MINUS SIGN}{num(r['margin'])}" if is_number(r["margin"]) else ""
        row: dict[str, Any] = {"trial": trial_name(str(r["trial"])), "outcome": r["outcome"]}
        if single:
            row |= {
                "n": "" if pd.isna(r["n"]) else str(r["n"]),
                "unit": unit,
                "program (95% CI)": program,
                "expected from regression to the mean": num(r["regression_expected"]),
                "published coaching": num(r["published_coaching"]),
                "published usual care": num(r["published_usual_care"]),
            }
        else:
            row |= {
                "estimand": est,
                "unit": unit,
                "program (95% CI)": program,
                "published": num(r["published_estimate"]),
                "difference or ratio": num(r["difference"]),
            }
        row |= {
            "P (adj.)": format_p(r["p_adjusted"], missing="", alpha=alpha),
            "equivalence P (adj.)": format_p(r["p_equivalence_adjusted"], missing="", alpha=alpha),
            "margin": margin,
            "verdict": r["verdict"],
            "favours": r["favours"],
        }
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


@dataclass(frozen=True, repr=False)
class EvaluationResult(SentenceRow):
    """A program evaluated against the published trials (see :func:`~coachstats.tasks.evaluate.evaluate`).

    ``effects`` (two-arm) or ``arms`` (single-arm) hold the per-outcome
    comparisons, each with its verdict; ``case_mix`` the baseline comparison;
    ``standardized`` the comparisons standardized to each trial's baseline;
    ``tracking`` the practice brief's indicators. ``adjustment`` names the
    multiplicity adjustment of the verdicts and ``margins`` the margins set by
    the user (the others are each row's default). ``goals`` is the goal set
    of the program's own endpoints (its tracking metrics and flow): the first
    trial's. Each trial's comparisons use that trial's goal set. The program
    is never pooled with a trial it is compared with. Two-arm programs get
    ``impact`` (number needed to coach, cost per additional patient at goal)
    and, when asked, ``sensitivity`` (tipping points of the program's own
    binary outcomes). With ``"evidence"`` in ``against``, ``evidence`` holds one
    :class:`~coachstats.tasks.evaluate.against_evidence.EvidenceComparison` per
    outcome of the program: those the evidence base pools are placed against
    it (and are among the primary comparisons, :attr:`rows`), the others say
    why they are not compared.
    """

    source: str
    design: str
    against: tuple[str, ...]
    effects: tuple[EffectComparison, ...] = ()
    arms: tuple[ArmComparison, ...] = ()
    case_mix: tuple[CaseMixItem, ...] = ()
    standardized: tuple[StandardizedComparison, ...] = ()
    tracking: ProgramMetrics | None = None
    n: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    alpha: float = ALPHA
    adjustment: str = "holm"
    margins: Mapping[str, float] = field(default_factory=dict)
    impact: ProgramImpact | None = None
    sensitivity: ProgramSensitivity | None = None
    goals: GoalSet = field(kw_only=True)
    evidence: tuple[EvidenceComparison, ...] = ()

    @property
    def rows(self) -> tuple[EffectComparison | ArmComparison | EvidenceComparison, ...]:
        """The primary comparisons: risk or mean differences (two-arm), the figures (single-arm),
        then the comparisons with the evidence base."""
        compared = tuple(e for e in self.evidence if e.compared)
        if self.design == "two-arm":
            return (*(e for e in self.effects if e.primary), *compared)
        return (*self.arms, *compared)

    @property
    def trials(self) -> tuple[str, ...]:
        """The published trials compared with (``against`` without the evidence base)."""
        return tuple(t for t in self.against if t != EVIDENCE)

    def not_compared(self) -> list[tuple[str, str]]:
        """The program's outcomes not compared with the evidence base: (label, reason)."""
        return [(e.label, e.error) for e in self.evidence if not e.compared]

    @property
    def ok(self) -> bool:
        """No primary comparison is ``smaller`` than the published trial (after adjustment)."""
        return not any(r.verdict == "smaller" for r in self.rows)

    def verdict_counts(self) -> dict[str, int]:
        """How many primary comparisons got each verdict (``not analysed`` when any)."""
        counts: dict[str, int] = {v: 0 for v in VERDICTS}
        for r in self.rows:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        return counts

    def findings(self) -> list[str]:
        """The comparisons where the program's effect is smaller than published, as sentences."""
        return [r.sentence() for r in self.rows if r.verdict == "smaller"]

    def verdicts(self) -> list[str]:
        """One plain-language sentence per primary comparison."""
        return [r.sentence() for r in self.rows]

    def headline(self) -> list[str]:
        """The program's own effect on each outcome, in words (once per outcome)."""
        seen: dict[str, str] = {}
        for r in self.rows:
            if r.program is not None and r.outcome not in seen:
                seen[r.outcome] = f"{r.label}: {r.program_sentence()}"
        return list(seen.values())

    def adjustment_text(self) -> str:
        """The multiplicity adjustment of the verdicts, in words."""
        k = sum(1 for r in self.rows if r.judgement is not None)
        return adjustment_text(self.adjustment, k, self.alpha)  # type: ignore[arg-type]

    def standardized_adjustment_text(self) -> str:
        """The multiplicity adjustment of the standardized rows (a family of their own)."""
        k = sum(1 for s in self.standardized if s.judgement is not None)
        return adjustment_text(self.adjustment, k, self.alpha)  # type: ignore[arg-type]

    def verdict_line(self) -> str:
        """``"larger 1, similar 0, smaller 1, inconclusive 2 (of 4 comparisons)"``."""
        counts = self.verdict_counts()
        parts = [f"{v} {counts[v]}" for v in counts if counts[v] or v in VERDICTS]
        return f"{', '.join(parts)} (of {len(self.rows)} comparisons)"

    def to_frame(self) -> pd.DataFrame:
        """The main tidy table: effects (two-arm) or before-after figures (single-arm)."""
        rows: Sequence[SentenceRow] = self.effects if self.design == "two-arm" else self.arms
        if not rows:
            return pd.DataFrame()
        return pd.concat([r.to_frame() for r in rows], ignore_index=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table: ``outcomes``, ``case_mix``, ``standardized``, ``tracking``, and
        ``evidence`` when the evaluation was run against the evidence base."""

        def stack(rows: Sequence[Any]) -> pd.DataFrame:
            return (
                pd.concat([r.to_frame() for r in rows], ignore_index=True)
                if rows
                else pd.DataFrame()
            )

        out = {
            "outcomes": self.to_frame(),
            "case_mix": stack(self.case_mix),
            "standardized": stack(self.standardized),
            "tracking": self.tracking.to_frame() if self.tracking else pd.DataFrame(),
        }
        if self.evidence:
            out["evidence"] = self.evidence_frame()
        return out

    def evidence_frame(self) -> pd.DataFrame:
        """The outcomes compared with the evidence base, one row each (empty when none)."""
        rows = [e for e in self.evidence if e.compared]
        return (
            pd.concat([r.to_frame() for r in rows], ignore_index=True) if rows else pd.DataFrame()
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (schema ``evaluate.schema.json``): every table as records, words, notes."""
        return stamp(
            "evaluate",
            {
                "source": self.source,
                "design": self.design,
                "against": list(self.against),
                "n": dict(self.n),
                "ok": self.ok,
                "caveat": CAVEAT if self.design == "single-arm" else "",
                "adjustment": self.adjustment,
                "adjustment_text": self.adjustment_text(),
                "alpha": self.alpha,
                "margins": dict(self.margins),
                "verdict_counts": self.verdict_counts(),
                "headline": self.headline(),
                "verdicts": self.verdicts(),
                **{k: json_records(v) for k, v in self.tables().items()},
                "evidence": json_records(self.evidence_frame()),
                "evidence_not_compared": [
                    {"endpoint": e.outcome, "outcome": e.label, "reason": e.error}
                    for e in self.evidence
                    if not e.compared
                ],
                **extras_dict(self.impact, self.sensitivity),
                "notes": list(self.notes),
            },
        )

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def sentence(self) -> str:
        """Header line."""
        sizes = ", ".join(f"{arm_label(k, 'plain')} {v}" for k, v in self.n.items())
        names = ", ".join(against_name(t) for t in self.against)
        source = "in-memory data" if self.source == IN_MEMORY else self.source
        return f"{source}: {self.design} program ({sizes}) evaluated against {names}"

    def __repr__(self) -> str:
        return f"<EvaluationResult: {self.sentence()}; {self.verdict_line()}>"

    def summary(self) -> str:
        """Text: header, the program's own effects, the verdicts, the table, case mix, tracking."""
        parts = [self.sentence()]
        own = (
            "The program's own effects (coaching against its usual-care arm):"
            if self.design == "two-arm"
            else "The program's before-after figures:"
        )
        if self.headline():
            parts.append(own + "\n" + "\n".join(f"  - {h}" for h in self.headline()))
        against = (
            "the published trials"
            if not self.evidence
            else (f"the published trials and {EVIDENCE_NAME}" if self.trials else EVIDENCE_NAME)
        )
        parts.append(
            f"Verdict against {against} ({self.adjustment_text()}): "
            f"{self.verdict_line()}\n"
            + "\n".join(f"  {MARKS.get(r.verdict, ' ')} {r.sentence()}" for r in self.rows)
            + "\n  (+ larger, = similar, - smaller, ? inconclusive; judged in each outcome's "
            "better direction)"
        )
        by_reason: dict[str, list[str]] = {}
        for r in self.rows:
            if r.margin is not None:
                by_reason.setdefault(r.margin.reason, []).append(
                    f"{r.label} {r.margin.text(_unit(r))}"
                )
        if by_reason:
            parts.append(
                "Margins of 'similar' (set with margins= / --margin endpoint=value):\n"
                + "\n".join(f"  - {'; '.join(v)}: {k}" for k, v in by_reason.items())
            )
        if self.evidence:
            parts.append(self.evidence_text())
        frame = self.to_frame()
        if not frame.empty:
            parts.append(
                "Outcomes (shares in %, risk differences and their margins in percentage points, "
                "mean differences in the outcome's unit; the JSON and CSV keep proportions):\n"
                + table_text(outcome_rows(frame, self.design, self.alpha))
            )
        if self.case_mix:
            lines = [f"  - {c.sentence()}" for c in self.case_mix]
            material = [c.characteristic for c in self.case_mix if c.material]
            head = "Case mix (|SMD| or |h| > 0.2 = material difference):"
            if material:
                head += (
                    f" the program's baseline differs materially on {', '.join(material)}; "
                    "see the standardized comparison"
                )
            parts.append(head + "\n" + "\n".join(lines))
        if self.standardized:
            parts.append(
                "Standardized to each trial's baseline (direct standardization over the "
                "trial's synthetic cohort, calibrated to the published baseline figures: how "
                "the covariates go together, and any share the paper did not print, are the "
                "cohort's assumptions, and it is taken as fixed, so each interval carries the "
                "program's sampling error only; raw = the program's patients as they are, "
                "adjusted = the same model at the program's own case mix; a figure the "
                "program's data cannot support is withheld, with the reason; a sensitivity "
                "analysis of the verdicts above, judged the same way with the same margins, "
                f"{self.standardized_adjustment_text()}):\n"
                + "\n".join(
                    f"  {MARKS.get(s.verdict, ' ')} {s.sentence()}" for s in self.standardized
                )
            )
        parts += extras_text(self.impact, self.sensitivity)
        return join_parts(parts, self.tracking, self.notes)

    def evidence_text(self) -> str:
        """What the comparison with the evidence base rests on: the pooled trials and what the
        prediction interval means, and the outcomes not compared, with the reason."""
        lines = [
            "The evidence base (pooled randomized trials of coaching; the program is not pooled "
            "with them):"
        ]
        seen: set[str] = set()
        for e in self.evidence:
            if e.evidence is not None and e.evidence_outcome not in seen:
                seen.add(e.evidence_outcome)
                lines.append(f"  - {e.label}: {e.evidence.meaning()}")
        missing = self.not_compared()
        if missing:
            lines.append("  Not compared with the evidence base:")
            lines += [f"    - {label}: {reason}" for label, reason in missing]
        return "\n".join(lines)

    def report_data(self) -> dict[str, Any]:
        """What an HTML report needs: title, tables (DataFrames), words, notes, figure makers."""
        return {
            "title": f"Program evaluation: {self.source}",
            "design": self.design,
            "against": [against_name(t) for t in self.against],
            "ok": self.ok,
            "headline": self.headline(),
            "verdicts": self.verdicts(),
            "verdict_line": self.verdict_line(),
            "adjustment": self.adjustment_text(),
            "tables": self.tables(),
            "notes": list(self.notes),
            "figures": {"forest": lambda: evaluation_figure(self)},
        }


def _unit(row: EffectComparison | ArmComparison | EvidenceComparison) -> str:
    return unit_of(row.outcome, row.estimand)


def against_name(against: str) -> str:
    """How a value of ``against`` is named: ``"HCPC 2015"``, ``"the evidence base"``.

    Examples
    --------
    >>> against_name("peer"), against_name("evidence")
    ('Peer 2013', 'the evidence base')
    """
    return EVIDENCE_NAME if against == EVIDENCE else trial_name(against)

"""Single-arm rows: a program's before-after figure next to a trial's published arms.

A single-arm program has no concurrent control, so its figures are
before-after changes (the share at goal among patients uncontrolled at
entry; a mean change): :class:`ArmComparison` says so in every sentence and
row (:data:`~coachstats.tasks.evaluate.wording.CAVEAT`), estimates the share
of the change that regression to the mean alone would produce where the
entry threshold is known (:class:`RegressionEstimate`), and compares the
figure with the published coaching arm -- like with like, since that arm
was selected and followed in the same way -- with the verdict vocabulary of
:mod:`coachstats.tasks.evaluate.verdicts`.

Examples
--------
>>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
>>> po = published_outcome(BENCHMARKS[0])
>>> coaching_arm_se(po)
(0.0358..., 'from the inferred (not published) n of 194')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from coachstats.compare.regression_to_mean import RegressionToMean
from coachstats.core.formatting import format_number, p_phrase
from coachstats.core.results import ComparisonResult
from coachstats.tasks.evaluate.published import Kind, PublishedOutcome, trial_name
from coachstats.tasks.evaluate.rows import (
    ALPHA,
    POSITION_TEXT,
    Judged,
    SentenceRow,
    among_words,
    position,
    short_error,
    verdict_fields,
    verdict_text,
)
from coachstats.tasks.evaluate.verdicts import Judgement, Margin
from coachstats.tasks.evaluate.wording import (
    CAVEAT,
    chance_words,
    unit_of,
    value_words,
)

__all__ = ["ArmComparison", "RegressionEstimate", "coaching_arm_se"]


def coaching_arm_se(po: PublishedOutcome) -> tuple[float, str]:
    """The SE of the published coaching arm's figure, and where its n comes from.

    Proportions: :math:`\\sqrt{p(1-p)/n}` with the printed n, else the n the
    registry infers (labelled so); means: SD / sqrt(n) when both are printed.
    Without an n the arm is treated as exact (SE 0, said so).
    """
    p = po.values[0]
    if po.kind == "binary":
        if po.n is not None:
            return math.sqrt(p * (1 - p) / po.n[0]), f"from the printed n of {po.n[0]}"
        if po.inferred_counts is not None:
            n = po.inferred_counts[0][1]
            return math.sqrt(p * (1 - p) / n), f"from the inferred (not published) n of {n}"
    elif po.n is not None and math.isfinite(po.sds[0]):
        return po.sds[0] / math.sqrt(po.n[0]), f"from the printed SD and n of {po.n[0]}"
    return 0.0, "no published n: the arm's figure is treated as exact"


@dataclass(frozen=True)
class RegressionEstimate:
    """What regression to the mean alone would produce in a single-arm figure.

    ``expected`` is the figure (share or mean change) expected with no effect
    and no trend, from ``model`` (:func:`coachstats.compare.regression_to_mean.regression_to_mean`);
    ``selection`` says how the patients were selected (``"HbA1c > 8.0 %"``),
    ``cv`` and ``source`` the documented within-person variation used.
    """

    expected: float
    model: RegressionToMean
    selection: str
    cv: float
    source: str

    def text(self, endpoint: str, estimand: str) -> str:
        """The sentence's clause: the expected figure and where it comes from."""
        why = (
            f"patients entered with {self.selection}; within-person CV {100 * self.cv:.1f} % "
            f"({self.source}), test-retest correlation {self.model.reliability:.2f}"
        )
        return (
            f"{value_words(endpoint, estimand, self.expected)} would be expected from regression "
            f"to the mean alone ({why})"
        )


@dataclass(frozen=True, repr=False)
class ArmComparison(Judged, SentenceRow):
    """A single-arm program's before-after figure on one outcome next to one trial's arms.

    ``program`` is the figure (Wilson interval for a share, t interval for a
    mean change); ``program_test`` the test of a mean change against no
    change; ``tests`` the one-sample tests against each published arm
    (``"coaching"`` / ``"usual_care"``, and ``"... exact"`` binomial tests
    for shares), descriptive; ``judgement`` the verdict against the coaching
    arm (its SE ``arm_std_error``, from ``arm_se_source``); ``regression``
    what regression to the mean alone would produce; ``population`` the program's
    patients the figure is on when they are not all of them (said with the figure).
    """

    trial: str
    target: str
    outcome: str
    label: str
    kind: Kind
    program: ComparisonResult | None
    published: PublishedOutcome
    tests: Mapping[str, ComparisonResult] = field(default_factory=dict)
    program_test: ComparisonResult | None = None
    arm_std_error: float = 0.0
    arm_se_source: str = ""
    margin: Margin | None = None
    judgement: Judgement | None = None
    regression: RegressionEstimate | None = None
    regression_note: str = ""
    program_p_adjusted: float = math.nan
    adjustment: str = "holm"
    alpha: float = ALPHA
    conf_level: float = 0.95
    qualifier: str = ""
    population: str = ""
    note: str = ""
    error: str = ""
    caveat: str = CAVEAT

    @property
    def estimand(self) -> str:
        """``"proportion"`` or ``"mean"``."""
        return "proportion" if self.kind == "binary" else "mean"

    @property
    def position(self) -> str:
        """Where the program's interval lies among the published arms (:func:`position`)."""
        if self.program is None:
            return ""
        p = self.program
        return position(p.estimate, p.conf_low, p.conf_high, *self.published.values)

    @property
    def program_p_value(self) -> float:
        """P of a mean change against no change (NaN for shares: no test against 0 %)."""
        return self.program_test.p_value if self.program_test is not None else math.nan

    def adjusted_for_regression(self) -> tuple[float, float, float]:
        """The figure without the part regression to the mean explains (estimate, CI).

        The expected figure is subtracted and treated as known (its own
        uncertainty, from the test-retest correlation, is not added). NaN
        without an estimate.
        """
        p, r = self.program, self.regression
        if p is None or r is None:
            return math.nan, math.nan, math.nan
        return p.estimate - r.expected, p.conf_low - r.expected, p.conf_high - r.expected

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        p, j = self.program, self.judgement
        nan = math.nan

        def pv(key: str) -> float:
            t = self.tests.get(key)
            return t.p_value if t is not None else nan

        adj = self.adjusted_for_regression()
        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": self.estimand,
            "n": p.arms[0].n if p else pd.NA,
            "events": p.arms[0].events if p and p.arms[0].events is not None else pd.NA,
            "program_estimate": p.estimate if p else nan,
            "program_conf_low": p.conf_low if p else nan,
            "program_conf_high": p.conf_high if p else nan,
            "program_p_value": self.program_p_value,
            "program_p_adjusted": self.program_p_adjusted,
            "caveat": self.caveat,
            "regression_expected": self.regression.expected if self.regression else nan,
            "regression_reliability": self.regression.model.reliability if self.regression else nan,
            "program_beyond_regression": adj[0],
            "program_beyond_regression_conf_low": adj[1],
            "program_beyond_regression_conf_high": adj[2],
            "regression_note": self.regression_note,
            "population": self.population,
            "published_coaching": self.published.values[0],
            "published_usual_care": self.published.values[1],
            "published_coaching_std_error": self.arm_std_error,
            "published_coaching_se_source": self.arm_se_source,
            "published_text": f"{self.published.texts[0]} vs {self.published.texts[1]}",
            "p_vs_coaching": pv("coaching"),
            "p_exact_vs_coaching": pv("coaching exact"),
            "p_vs_usual_care": pv("usual_care"),
            "p_exact_vs_usual_care": pv("usual_care exact"),
            "position": self.position,
            "difference": j.difference if j else nan,
            "p_value": j.p_difference if j else nan,
            **verdict_fields(self),
            "sentence": self.sentence(),
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def program_sentence(self) -> str:
        """The before-after figure, its caveat and what regression to the mean explains."""
        p = self.program
        if p is None:
            return f"{self.label}: not analysed ({short_error(self.error)})"
        level = f"{100 * self.conf_level:g} % CI"
        lo, hi = (
            value_words(self.outcome, self.estimand, x, unit=False)
            for x in (p.conf_low, p.conf_high)
        )
        text = (
            f"{value_words(self.outcome, self.estimand, p.estimate)} ({level} {lo} to {hi}; "
            f"n = {p.arms[0].n}"
        )
        if self.program_test is not None:
            text += f"; {p_phrase(self.program_p_value)} against no change"
        text += ")"
        if self.program_test is not None:
            text += chance_words(
                self.program_p_value, self.program_p_adjusted, self.alpha, self.adjustment
            )
        text += among_words(self.population, p, with_n=False)
        text += f" \N{EM DASH} {self.caveat}"
        r = self.regression
        if r is not None:
            beyond, blo, bhi = self.adjusted_for_regression()
            scale = 100.0 if self.kind == "binary" else 1.0
            unit = "percentage points" if self.kind == "binary" else unit_of(self.outcome, "mean")
            digits = 1 if self.kind == "binary" else 2
            text += (
                f"; about {r.text(self.outcome, self.estimand)}, leaving "
                f"{format_number(scale * beyond, digits, signed=True)} {unit} ({level} "
                f"{format_number(scale * blo, digits, signed=True)} to "
                f"{format_number(scale * bhi, digits, signed=True)}) beyond it"
            )
        elif self.regression_note:
            text += f"; {self.regression_note}"
        return text

    def sentence(self) -> str:
        """The figure with its caveat, then the verdict against the published coaching arm."""
        j = self.judgement
        if self.program is None or j is None or self.margin is None:
            return f"{self.label}: not analysed ({short_error(self.error)})"
        name = trial_name(self.trial)
        po = self.published
        qual = f"{self.qualifier}; " if self.qualifier else ""
        arms = f"coaching {po.arm_text(0)}, usual care {po.arm_text(1)}"
        verdict = verdict_text(self, f"the coaching arm of {name}", self.conf_level)
        where = POSITION_TEXT.get(self.position, "")
        return (
            f"{self.label}: {self.program_sentence()}. Against the coaching arm of {name} "
            f"({qual}{arms}; {where}): {verdict}"
        )

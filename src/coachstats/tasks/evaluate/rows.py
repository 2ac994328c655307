"""Result rows of an evaluation: one comparison each, as a tidy row and a plain-language sentence.

:class:`EffectComparison` (a two-arm program's effect next to a published
effect), :class:`ArmComparison` (a single-arm program's figure next to a
trial's two arms, placed by :func:`position`), :class:`CaseMixItem` (one
baseline characteristic) and :class:`StandardizedComparison` (the program's
figure standardized to a trial's baseline). Each is a :class:`SentenceRow`:
``to_frame()`` gives its tidy row, ``summary()`` and ``repr()`` its sentence.
The numbers are computed in :mod:`coachstats.tasks.evaluate.comparisons` and
:mod:`coachstats.tasks.evaluate.casemix`.

Examples
--------
>>> position(0.41, 0.36, 0.46, 0.464, 0.343)
'between'
>>> item = CaseMixItem("hcpc", "Age, mean (SD)", 61.2, 9.0, 120, 52.7, 11.1,
...     "52.7 (11.1)", "SMD", (61.2 - 52.7) / 11.1)
>>> item.material
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from coachstats.core.formatting import format_number, format_p, p_phrase
from coachstats.core.results import ComparisonResult, TidyResult
from coachstats.tasks.evaluate.published import (
    Kind,
    PublishedEffect,
    PublishedOutcome,
    trial_name,
)

__all__ = [
    "ALPHA",
    "CASE_MIX_THRESHOLD",
    "PROGRAM",
    "ArmComparison",
    "CaseMixItem",
    "EffectComparison",
    "SentenceRow",
    "StandardizedComparison",
    "position",
]

#: A standardized difference (SMD or Cohen's h) above this flags a material case-mix difference.
CASE_MIX_THRESHOLD = 0.2
#: Significance level of the verdicts.
ALPHA = 0.05
#: The program's name in rows, tables and figures.
PROGRAM = "Your program"


class SentenceRow(TidyResult):
    """A result row whose :meth:`summary` is its plain-language :meth:`sentence`.

    The base of every row and result of :mod:`coachstats.tasks.evaluate`: a
    subclass defines :meth:`sentence` and ``to_dict`` (the tidy row).
    """

    def sentence(self) -> str:  # pragma: no cover - every row class overrides it
        """One line of plain language."""
        raise NotImplementedError

    def summary(self) -> str:
        """One line of text (the sentence)."""
        return self.sentence()

    def __repr__(self) -> str:
        """``<ClassName: the sentence>``: one line, however many results it holds."""
        return f"<{type(self).__name__}: {self.sentence()}>"


def _short(error: str) -> str:
    """An error message without the list of available columns."""
    return error.split("; available")[0] if error else "no result"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


@dataclass(frozen=True, repr=False)
class EffectComparison(SentenceRow):
    """A two-arm program's effect on one outcome next to one trial's published effect."""

    trial: str
    target: str
    outcome: str
    label: str
    estimand: str
    primary: bool
    program: ComparisonResult | None
    published: PublishedEffect
    difference: ComparisonResult | None
    p_value_low: float = math.nan
    p_value_high: float = math.nan
    p_holm: float = math.nan
    alpha: float = ALPHA
    note: str = ""
    error: str = ""

    @property
    def verdict(self) -> str:
        """``"consistent"``, ``"differs"`` or ``"not analysed"``."""
        if self.difference is None:
            return "not analysed"
        return "differs" if self.difference.p_value < self.alpha else "consistent"

    @property
    def borderline(self) -> bool:
        """The verdict would flip within the rounding range of the printed P."""
        lo, hi = self.p_value_low, self.p_value_high
        return math.isfinite(lo) and math.isfinite(hi) and min(lo, hi) < self.alpha <= max(lo, hi)

    @property
    def direction(self) -> str:
        """``"lower"``/``"higher"``: the program's effect relative to the published one."""
        if self.difference is None:
            return ""
        return "lower" if self.difference.estimate < 0 else "higher"

    def _t(self, x: float) -> float:
        return math.exp(x) if self.published.log_scale else x

    def to_dict(self) -> dict[str, Any]:
        """One tidy row (ratios on the ratio scale; the difference of ratios as their ratio)."""
        p, d = self.program, self.difference
        nan = math.nan
        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": self.estimand,
            "primary": self.primary,
            "program_estimate": p.estimate if p else nan,
            "program_conf_low": p.conf_low if p else nan,
            "program_conf_high": p.conf_high if p else nan,
            "program_std_error": p.std_error if p else nan,
            "program_n1": p.arms[0].n if p else pd.NA,
            "program_n2": p.arms[1].n if p and len(p.arms) > 1 else pd.NA,
            "program_method": p.method if p else "",
            "published_estimate": self.published.estimate,
            "published_conf_low": self.published.conf_low,
            "published_conf_high": self.published.conf_high,
            "published_std_error": self.published.std_error,
            "published_se_method": self.published.se_method,
            "difference": self._t(d.estimate) if d else nan,
            "difference_conf_low": self._t(d.conf_low) if d else nan,
            "difference_conf_high": self._t(d.conf_high) if d else nan,
            "difference_scale": "ratio" if self.published.log_scale else "difference",
            "z": d.statistic if d else nan,
            "p_value": d.p_value if d else nan,
            "p_value_low": self.p_value_low,
            "p_value_high": self.p_value_high,
            "p_holm": self.p_holm,
            "verdict": self.verdict,
            "borderline": self.borderline,
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def sentence(self) -> str:
        """Plain language, e.g. ``"... consistent with HCPC 2015 (difference ...; P = .41)"``."""
        name = trial_name(self.trial)
        head = f"{self.label} ({self.estimand})"
        if self.program is None or self.difference is None:
            return f"{head}: not analysed ({_short(self.error)})"
        p, d, pub = self.program, self.difference, self.published
        what = "ratio" if pub.log_scale else "difference"
        text = (
            f"{head}: program {format_number(p.estimate)} (95% CI {format_number(p.conf_low)} to {format_number(p.conf_high)}) "
            f"vs {name} {format_number(pub.estimate)} ({format_number(pub.conf_low)} to {format_number(pub.conf_high)}); "
        )
        body = (
            f"{what} {format_number(self._t(d.estimate))} (95% CI {format_number(self._t(d.conf_low))} to "
            f"{format_number(self._t(d.conf_high))}), {p_phrase(d.p_value)}"
        )
        if self.verdict == "consistent":
            text += f"consistent with {name} ({body})"
        else:
            text += f"differs from {name}: the program's effect is {self.direction} ({body})"
        if self.borderline:
            text += (
                f" -- borderline: P is {format_p(min(self.p_value_low, self.p_value_high))} to "
                f"{format_p(max(self.p_value_low, self.p_value_high))} over the rounding of the printed P"
            )
        return text


def position(
    estimate: float, conf_low: float, conf_high: float, coaching: float, usual_care: float
) -> str:
    """Where a program's interval lies relative to the published coaching and usual-care values.

    ``"above both"`` / ``"below both"`` (the interval excludes both, on one
    side); ``"covers both"``; ``"coaching"`` / ``"usual care"`` (it covers
    only that arm's value); ``"between"`` (it lies strictly between them).

    Examples
    --------
    >>> position(0.41, 0.36, 0.46, 0.464, 0.343)
    'between'
    >>> position(0.46, 0.41, 0.51, 0.464, 0.343), position(0.2, 0.15, 0.25, 0.464, 0.343)
    ('coaching', 'below both')
    """
    lo_arm, hi_arm = min(coaching, usual_care), max(coaching, usual_care)
    if conf_low > hi_arm:
        return "above both"
    if conf_high < lo_arm:
        return "below both"
    has_c = conf_low <= coaching <= conf_high
    has_u = conf_low <= usual_care <= conf_high
    if has_c and has_u:
        return "covers both"
    if has_c:
        return "coaching"
    if has_u:
        return "usual care"
    return "between"


_POSITION_TEXT = {
    "between": "between the published coaching ({c}) and usual care ({u}) arms of {t}",
    "coaching": "consistent with the published coaching arm of {t} ({c}; usual care {u})",
    "usual care": "consistent with the published usual care arm of {t} ({u}), not the coaching arm ({c})",
    "above both": "above both published arms of {t} (coaching {c}, usual care {u})",
    "below both": "below both published arms of {t} (coaching {c}, usual care {u})",
    "covers both": "the interval covers both published arms of {t} (coaching {c}, usual care {u}): too few patients to tell",
}


@dataclass(frozen=True, repr=False)
class ArmComparison(SentenceRow):
    """A single-arm program's figure on one outcome next to one trial's two arms.

    ``tests`` maps ``"coaching"`` / ``"usual_care"`` to the one-sample test
    against that arm (score test or t test) and ``"coaching exact"`` /
    ``"usual_care exact"`` to the exact binomial test (proportions).
    """

    trial: str
    target: str
    outcome: str
    label: str
    kind: Kind
    program: ComparisonResult | None
    published: PublishedOutcome
    tests: Mapping[str, ComparisonResult] = field(default_factory=dict)
    alpha: float = ALPHA
    note: str = ""
    error: str = ""

    @property
    def position(self) -> str:
        """See :func:`position` (empty when not analysed)."""
        if self.program is None:
            return ""
        p = self.program
        return position(p.estimate, p.conf_low, p.conf_high, *self.published.values)

    @property
    def differs(self) -> bool:
        """The program differs from the published coaching arm (P < alpha)."""
        t = self.tests.get("coaching")
        return t is not None and t.p_value < self.alpha

    @property
    def verdict(self) -> str:
        """The plain-language verdict (see :meth:`sentence`)."""
        return self.sentence()

    def _value_text(self) -> str:
        p = self.program
        if p is None:
            return "not analysed"
        if self.kind == "binary":
            return f"{_pct(p.estimate)} % (95 % CI {_pct(p.conf_low)}-{_pct(p.conf_high)})"
        return f"{format_number(p.estimate)} (95 % CI {format_number(p.conf_low)} to {format_number(p.conf_high)})"

    def sentence(self) -> str:
        """E.g. ``"at goal for >= 1 condition: 41 % (95 % CI 36-46), between ..."``."""
        if self.program is None:
            return f"{self.label}: not analysed ({_short(self.error)})"
        text = _POSITION_TEXT[self.position].format(
            c=self.published.arm_text(0), u=self.published.arm_text(1), t=trial_name(self.trial)
        )
        test = self.tests.get("coaching")
        if self.differs and test is not None:
            side = "higher" if self.program.estimate > self.published.values[0] else "lower"
            text += (
                f"; differs from the coaching arm: the program's value is {side} "
                f"({p_phrase(test.format_p())})"
            )
        return f"{self.label}: {self._value_text()}, {text}"

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        p = self.program
        nan = math.nan

        def pv(key: str) -> float:
            t = self.tests.get(key)
            return t.p_value if t is not None else nan

        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": "proportion" if self.kind == "binary" else "mean",
            "n": p.arms[0].n if p else pd.NA,
            "events": p.arms[0].events if p and p.arms[0].events is not None else pd.NA,
            "estimate": p.estimate if p else nan,
            "conf_low": p.conf_low if p else nan,
            "conf_high": p.conf_high if p else nan,
            "published_coaching": self.published.values[0],
            "published_usual_care": self.published.values[1],
            "published_text": f"{self.published.texts[0]} vs {self.published.texts[1]}",
            "p_vs_coaching": pv("coaching"),
            "p_exact_vs_coaching": pv("coaching exact"),
            "p_vs_usual_care": pv("usual_care"),
            "p_exact_vs_usual_care": pv("usual_care exact"),
            "position": self.position,
            "verdict": self.sentence(),
            "differs_from_coaching": self.differs,
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }


@dataclass(frozen=True, repr=False)
class CaseMixItem(SentenceRow):
    """One baseline characteristic of the program next to the trial's.

    ``difference`` is the standardized difference: SMD for means, Cohen's h
    for shares; ``material`` when its absolute value exceeds ``threshold``.
    """

    trial: str
    characteristic: str
    program_value: float
    program_sd: float
    program_n: int
    published_value: float
    published_sd: float
    published_text: str
    metric: str
    difference: float
    source: str = "printed"
    threshold: float = CASE_MIX_THRESHOLD
    percent: bool = False

    @property
    def material(self) -> bool:
        """``|difference| > threshold``."""
        return math.isfinite(self.difference) and abs(self.difference) > self.threshold

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        return {
            "trial": self.trial,
            "characteristic": self.characteristic,
            "program_value": self.program_value,
            "program_sd": self.program_sd,
            "program_n": self.program_n,
            "published_value": self.published_value,
            "published_sd": self.published_sd,
            "published_text": self.published_text,
            "metric": self.metric,
            "difference": self.difference,
            "material": self.material,
            "source": self.source,
        }

    def sentence(self) -> str:
        """E.g. ``"Age: program 61.2 (SD 9.0) vs HCPC 2015 52.7 (11.1): SMD 0.77 -- differs materially"``."""
        if self.percent:
            prog = f"{100 * self.program_value:.1f} %"
        else:
            prog = f"{self.program_value:.1f}" + (
                f" (SD {self.program_sd:.1f})" if math.isfinite(self.program_sd) else ""
            )
        flag = " -- differs materially" if self.material else ""
        src = "" if self.source == "printed" else f" [{self.source}]"
        return (
            f"{self.characteristic}: program {prog} (n = {self.program_n}) vs {trial_name(self.trial)} "
            f"{self.published_text}{src}: {self.metric} {self.difference:+.2f}{flag}"
        )


@dataclass(frozen=True, repr=False)
class StandardizedComparison(SentenceRow):
    """The program's figure standardized to the trial's baseline distribution."""

    trial: str
    target: str
    outcome: str
    label: str
    crude: float
    result: ComparisonResult | None
    published: PublishedOutcome
    comparison: ComparisonResult | None = None
    note: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """One tidy row."""
        r, c = self.result, self.comparison
        nan = math.nan
        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": r.estimand if r else "",
            "crude": self.crude,
            "standardized": r.estimate if r else nan,
            "conf_low": r.conf_low if r else nan,
            "conf_high": r.conf_high if r else nan,
            "std_error": r.std_error if r else nan,
            "covariates": ", ".join(r.adjusted_for) if r else "",
            "reference_n": r.extra.get("reference_n", pd.NA) if r else pd.NA,
            "published": self._published_value(),
            "difference_p_value": c.p_value if c else nan,
            "position": self._position(),
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def _published_value(self) -> float:
        v = self.published.values
        if self.result is not None and "difference" in self.result.estimand:
            return v[0] - v[1]
        return v[0]

    def _position(self) -> str:
        r = self.result
        if r is None or "difference" in r.estimand:
            return ""
        return position(r.estimate, r.conf_low, r.conf_high, *self.published.values)

    def sentence(self) -> str:
        """E.g. ``"at goal ...: crude 0.41, standardized to HCPC 2015 0.44 (95% CI ...)"``."""
        if self.result is None:
            return f"{self.label}: not standardized ({_short(self.error)})"
        r = self.result
        text = (
            f"{self.label}: crude {format_number(self.crude)}, standardized to {trial_name(self.trial)}'s "
            f"baseline {format_number(r.estimate)} (95% CI {format_number(r.conf_low)} to {format_number(r.conf_high)}; "
            f"adjusted for {', '.join(r.adjusted_for)})"
        )
        if self.comparison is not None:
            text += f"; vs published {format_number(self._published_value())}: {p_phrase(self.comparison.p_value)}"
        elif self._position():
            text += f"; {self._position()}"
        if "extrapolation" in self.note:  # the caveat belongs next to the number it qualifies
            text += f" [caution: {self.note}]"
        return text

"""Result rows of an evaluation: one comparison each, as a tidy row and a plain-language sentence.

:class:`EffectComparison` (a two-arm program's effect next to a published
effect), :class:`CaseMixItem` (one baseline characteristic) and
:class:`StandardizedComparison` (the program's figure standardized to a
trial's baseline); the single-arm rows are in
:mod:`coachstats.tasks.evaluate.arms`. Each is a :class:`SentenceRow`:
``to_frame()`` gives its tidy row, ``summary()`` and ``repr()`` its sentence.
The numbers are computed in :mod:`coachstats.tasks.evaluate.comparisons` and
:mod:`coachstats.tasks.evaluate.casemix`.

Examples
--------
>>> item = CaseMixItem("hcpc", "Age, mean (SD)", 61.2, 9.0, 120, 52.7, 11.1,
...     "52.7 (11.1)", "SMD", (61.2 - 52.7) / 11.1)
>>> item.material
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from coachstats.core.formatting import join_words, without_column_list
from coachstats.core.results import ComparisonResult, TidyResult
from coachstats.core.vocabulary import MEASURE_LABELS, column_phrase
from coachstats.tasks.evaluate.published import PublishedOutcome, interval_source, trial_name
from coachstats.tasks.evaluate.verdicts import Judgement, Margin
from coachstats.tasks.evaluate.wording import (
    CAVEAT,
    amount,
    chance_words,
    effect_words,
    published_words,
    reason_words,
    scale_of,
    unit_of,
    value_words,
    verdict_words,
)
from coachstats.trials import Estimate

__all__ = [
    "ALPHA",
    "CASE_MIX_THRESHOLD",
    "NOT_ANALYSED",
    "POSITION_TEXT",
    "PROGRAM",
    "CaseMixItem",
    "EffectComparison",
    "Judged",
    "JudgedRow",
    "OwnEffectRow",
    "SentenceRow",
    "StandardizedComparison",
    "among_words",
    "own_effect_words",
    "position",
    "program_fields",
    "short_error",
    "verdict_fields",
    "verdict_text",
]

#: A standardized difference (SMD or Cohen's h) above this flags a material case-mix difference.
CASE_MIX_THRESHOLD = 0.2
#: Significance level of the verdicts.
ALPHA = 0.05
#: The program's name in rows, tables and figures.
PROGRAM = "Your program"
#: The verdict of a comparison that could not be made.
NOT_ANALYSED = "not analysed"


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


def short_error(error: str) -> str:
    """An error message without the list of available columns ("no result" when empty)."""
    return without_column_list(error) if error else "no result"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


class JudgedRow(Protocol):
    """What :func:`verdict_fields` reads of a row: its verdict and what the verdict rests on."""

    @property
    def outcome(self) -> str:
        """The endpoint compared."""
        ...

    @property
    def judgement(self) -> Judgement | None:
        """The verdict and what it rests on."""
        ...

    @property
    def margin(self) -> Margin | None:
        """The margin of ``similar``."""
        ...

    @property
    def adjustment(self) -> str:
        """The multiplicity adjustment."""
        ...

    @property
    def error(self) -> str:
        """Why the row was not analysed (empty otherwise)."""
        ...

    @property
    def estimand(self) -> str:
        """The scale compared."""
        ...

    @property
    def verdict(self) -> str:
        """The verdict, or ``not analysed``."""
        ...

    @property
    def favours(self) -> str:
        """The side the verdict favours."""
        ...


class Judged:
    """The ``verdict`` and ``favours`` of a row with a ``judgement`` (None: not analysed)."""

    judgement: Judgement | None

    @property
    def verdict(self) -> str:
        """``larger``, ``similar``, ``smaller``, ``inconclusive`` or ``not analysed``."""
        return self.judgement.verdict if self.judgement is not None else NOT_ANALYSED

    @property
    def favours(self) -> str:
        """``program``, ``published`` or ``neither`` (empty when not analysed)."""
        return self.judgement.favours if self.judgement is not None else ""


class OwnEffectRow(Protocol):
    """What :func:`own_effect_words` reads of a row: the outcome, the estimand, the adjusted
    P of the program's own effect and the levels."""

    @property
    def outcome(self) -> str:
        """The endpoint."""
        ...

    @property
    def estimand(self) -> str:
        """The scale of the effect."""
        ...

    @property
    def program_p_adjusted(self) -> float:
        """The program's own P, adjusted with the evaluation's family."""
        ...

    @property
    def alpha(self) -> float:
        """The significance level."""
        ...

    @property
    def conf_level(self) -> float:
        """The confidence level."""
        ...

    @property
    def adjustment(self) -> str:
        """The multiplicity adjustment of the program's P."""
        ...


def program_fields(program: ComparisonResult | None, p_adjusted: float) -> dict[str, Any]:
    """The tidy fields of a two-arm program's own effect (``program_estimate``, its CI, P,
    adjusted P, SE, the arms' n and the method); missing when it was not analysed."""
    p, nan = program, math.nan
    return {
        "program_estimate": p.estimate if p else nan,
        "program_conf_low": p.conf_low if p else nan,
        "program_conf_high": p.conf_high if p else nan,
        "program_p_value": p.p_value if p else nan,
        "program_p_adjusted": p_adjusted,
        "program_std_error": p.std_error if p else nan,
        "program_n1": p.arms[0].n if p else pd.NA,
        "program_n2": p.arms[1].n if p and len(p.arms) > 1 else pd.NA,
        "program_method": p.method if p else "",
    }


def own_effect_words(row: OwnEffectRow, program: ComparisonResult) -> str:
    """A two-arm program's own effect against its usual care, in words
    (:func:`~coachstats.tasks.evaluate.wording.effect_words`), with "not clearly different
    from no effect" when its adjusted P is not below alpha."""
    words = effect_words(
        row.outcome,
        row.estimand,
        program.estimate,
        program.conf_low,
        program.conf_high,
        program.p_value,
        conf_level=row.conf_level,
    )
    return words + chance_words(program.p_value, row.program_p_adjusted, row.alpha, row.adjustment)


def among_words(population: str, program: ComparisonResult, *, with_n: bool = True) -> str:
    """``"; among the patients with ..., n 70 vs 76"``: the patients a program's figure is
    on, when they are not all its patients (empty ``population``: nothing to say).

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> among_words("patients with baseline HbA1c ≥ 8.0", two_proportions(30, 70, 20, 76))
    '; among the patients with baseline HbA1c ≥ 8.0, n 70 vs 76'
    >>> among_words("", two_proportions(30, 70, 20, 76))
    ''
    """
    if not population:
        return ""
    n = f", n {' vs '.join(str(a.n) for a in program.arms)}" if with_n else ""
    return f"; among the {population}{n}"


def verdict_text(row: JudgedRow, against: str, conf_level: float) -> str:
    """A row's verdict in words (:func:`~coachstats.tasks.evaluate.wording.verdict_words`).

    Empty when the row has no verdict.
    """
    j, m = row.judgement, row.margin
    if j is None or m is None:
        return ""
    return verdict_words(
        j,
        against=against,
        endpoint=row.outcome,
        estimand=row.estimand,
        margin_text=m.text(unit_of(row.outcome, row.estimand)),
        adjustment=row.adjustment,
        conf_level=conf_level,
    )


def verdict_fields(row: JudgedRow) -> dict[str, Any]:
    """The tidy fields of a row's verdict: adjusted P values, margin, the scale of the row's
    numbers (:func:`~coachstats.tasks.evaluate.wording.scale_of`), verdict, favours, reason.

    One place for the two-arm and the single-arm rows (their ``to_dict``).
    """
    j, m, nan = row.judgement, row.margin, math.nan
    return {
        "p_adjusted": j.p_difference_adjusted if j else nan,
        "p_equivalence": j.p_equivalence if j else nan,
        "p_equivalence_adjusted": j.p_equivalence_adjusted if j else nan,
        "adjustment": row.adjustment,
        "margin": m.value if m else nan,
        "margin_scale": m.scale if m else "",
        "margin_reason": m.reason if m else "",
        "scale": scale_of(row.outcome, row.estimand),
        "verdict": row.verdict,
        "favours": row.favours,
        "reason": reason_words(j, row.outcome, row.estimand) if j else short_error(row.error),
        "n_per_arm_needed": j.n_needed if j else nan,
    }


@dataclass(frozen=True, repr=False)
class EffectComparison(Judged, SentenceRow):
    """A two-arm program's effect on one outcome next to one trial's published effect.

    ``program`` is the program's effect against usual care (its own P against
    zero); ``difference`` the z test of program minus published;
    ``judgement`` the verdict (:mod:`coachstats.tasks.evaluate.verdicts`),
    set once the family's P values are adjusted (``adjustment``);
    ``qualifier`` what qualifies the published figure (said in the sentence);
    ``population`` the program's patients the effect is on when they are not all of them
    (:func:`~coachstats.tasks.evaluate.plans.population_text`, said with the effect).
    """

    trial: str
    target: str
    outcome: str
    label: str
    estimand: str
    primary: bool
    program: ComparisonResult | None
    published: Estimate
    difference: ComparisonResult | None
    margin: Margin | None = None
    judgement: Judgement | None = None
    p_value_low: float = math.nan
    p_value_high: float = math.nan
    program_p_adjusted: float = math.nan
    adjustment: str = "holm"
    borderline: str = ""
    alpha: float = ALPHA
    conf_level: float = 0.95
    qualifier: str = ""
    population: str = ""
    note: str = ""
    error: str = ""

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
            **program_fields(p, self.program_p_adjusted),
            "population": self.population,
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
            **verdict_fields(self),
            "borderline": self.borderline,
            "sentence": self.sentence(),
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def program_sentence(self) -> str:
        """The program's own effect against usual care, in words."""
        if self.program is None:
            return f"{self.label}: not analysed ({short_error(self.error)})"
        return own_effect_words(self, self.program) + among_words(self.population, self.program)

    def sentence(self) -> str:
        """The program's effect, then the verdict against the published effect, in words."""
        head = self.label if self.primary else f"{self.label} ({self.estimand})"
        j, pub = self.judgement, self.published
        if self.program is None or j is None or self.margin is None:
            return f"{head}: not analysed ({short_error(self.error)})"
        name = trial_name(self.trial)
        level = f"{100 * self.conf_level:g} % CI"
        qual = f"{self.qualifier}; " if self.qualifier else ""
        words = published_words(
            self.outcome, self.estimand, pub.estimate, pub.conf_low, pub.conf_high, level
        )
        source = interval_source(pub)  # the papers print P values, not these intervals
        published = f"{name} ({qual}{words}{', ' + source if source else ''})"
        verdict = verdict_text(self, f"{name}'s effect", self.conf_level)
        text = f"{head}: {self.program_sentence()}. Against {published}: {verdict}"
        if self.borderline:
            text += f" [borderline: {self.borderline}]"
        return text


#: How :func:`position` reads in a sentence about a single-arm figure and the published arms.
POSITION_TEXT = {
    "between": "the program's figure lies between the published arms",
    "coaching": "the program's interval covers the published coaching figure, not the usual-care one",
    "usual care": "the program's interval covers the published usual-care figure, not the coaching one",
    "above both": "the program's figure lies above both published arms",
    "below both": "the program's figure lies below both published arms",
    "covers both": "the program's interval covers both published arms",
}


def position(
    estimate: float, conf_low: float, conf_high: float, coaching: float, usual_care: float
) -> str:
    """Where a program's interval lies relative to the published coaching and usual-care values.

    ``"above both"`` / ``"below both"`` (the interval excludes both, on one
    side); ``"covers both"``; ``"coaching"`` / ``"usual care"`` (it covers
    only that arm's value); ``"between"`` (it lies strictly between them).
    A description of where the figure lies, not a verdict.

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
class StandardizedComparison(Judged, SentenceRow):
    """The program's figure standardized to the trial's baseline distribution, with a verdict.

    ``result`` is the standardized figure (two-arm: the effect; single-arm: the
    before-after figure), ``crude`` the same figure unstandardized. The verdict
    (``judgement``, set by :func:`~coachstats.tasks.evaluate.comparisons.judge_standardized`)
    compares it with the published figure exactly as its primary row compares the crude one
    -- same scale, same margin (``margin``), the published SE of that row -- with the
    standardized rows adjusted as a family of their own: a sensitivity analysis of the
    primary verdicts, which it does not replace. ``reference`` is the published effect it was
    compared with (two-arm). A row without a primary comparison to follow gets no verdict,
    and its sentence says why. ``headline`` is the primary row's own figure (its method may
    be another model, on other patients): the sentence names each figure for what it is --
    raw (no model), adjusted (the standardization's model at the program's own case mix),
    standardized (at the trial's) -- and how its interval was computed.
    """

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
    margin: Margin | None = None
    judgement: Judgement | None = None
    reference: Estimate | None = None
    arm_std_error: float = math.nan
    adjustment: str = "holm"
    alpha: float = ALPHA
    conf_level: float = 0.95
    no_verdict: str = ""
    two_arm: bool = True
    headline: ComparisonResult | None = None

    @property
    def estimand(self) -> str:
        """The scale compared: ``risk difference`` / ``mean difference`` (two-arm),
        ``proportion`` / ``mean`` (single-arm); for a row not standardized, the scale it
        would have had (from the design, ``two_arm``, and the outcome's kind)."""
        if self.result is not None:
            return self.result.estimand.removeprefix("standardized ")
        binary = self.published.kind == "binary"
        if self.two_arm:
            return "risk difference" if binary else "mean difference"
        return "proportion" if binary else "mean"

    @property
    def verdict(self) -> str:
        """As every row's, and ``no verdict`` for a standardized figure without a comparison."""
        if self.judgement is not None:
            return self.judgement.verdict
        return "no verdict" if self.result is not None else NOT_ANALYSED

    @property
    def single_arm(self) -> bool:
        """The figure is a single-arm program's before-after figure (not an effect)."""
        return self.estimand in ("proportion", "mean")

    def to_dict(self) -> dict[str, Any]:
        """One tidy row (shares and risk differences as proportions, like every row)."""
        r, c, j, h = self.result, self.comparison, self.judgement, self.headline
        nan = math.nan
        means = tuple(r.extra.get("arm_means", ())) if r else ()
        return {
            "trial": self.trial,
            "target": self.target,
            "outcome": self.label,
            "endpoint": self.outcome,
            "estimand": r.estimand if r else f"standardized {self.estimand}",
            "crude": self.crude,
            "adjusted": float(r.extra.get("adjusted", nan)) if r else nan,
            "standardized": r.estimate if r else nan,
            "conf_low": r.conf_low if r else nan,
            "conf_high": r.conf_high if r else nan,
            "std_error": r.std_error if r else nan,
            "interval_method": str(r.extra.get("interval_kind", "")) if r else "",
            "interval": str(r.extra.get("interval", "")) if r else "",
            "interval_reason": str(r.extra.get("interval_reason", "")) if r else "",
            "standardized_coaching": means[0] if len(means) == 2 else nan,
            "standardized_usual_care": means[1] if len(means) == 2 else nan,
            "assumption": str(r.extra.get("assumption", "")) if r else "",
            "headline": h.estimate if h else nan,
            "headline_method": h.method if h else "",
            "covariates": ", ".join(column_phrase(x) for x in r.adjusted_for) if r else "",
            "reference_n": r.extra.get("reference_n", pd.NA) if r else pd.NA,
            "method": r.method if r else "",  # names the reference: the trial's synthetic cohort
            "published": self._published_value(),
            "difference": j.difference if j else nan,
            "difference_p_value": j.p_difference if j else (c.p_value if c else nan),
            **verdict_fields(self),
            **({"reason": self.no_verdict} if j is None and r is not None else {}),
            "position": self._position(),
            "sentence": self.sentence(),
            "note": "; ".join(x for x in (self.note, self.error) if x),
        }

    def _published_value(self) -> float:
        """The published figure on the row's scale: the effect (two-arm), the coaching arm's
        figure (single-arm), also for a row that could not be standardized."""
        v = self.published.values
        if "difference" in self.estimand:
            return v[0] - v[1]
        return v[0]

    def _position(self) -> str:
        r = self.result
        if r is None or "difference" in r.estimand:
            return ""
        return position(r.estimate, r.conf_low, r.conf_high, *self.published.values)

    def _words(self, x: float) -> str:
        """A figure of the row on its scale: a share or mean (single-arm), a signed difference."""
        if self.single_arm:
            return value_words(self.outcome, self.estimand, x)
        return amount(self.outcome, self.estimand, x)

    def _figure_words(self, r: ComparisonResult) -> str:
        """The standardized figure with its CI and how the CI was computed; for a risk
        difference, the two arms' standardized shares it is the difference of."""
        est, level = self.estimand, f"{100 * self.conf_level:g} % CI"
        how = str(r.extra.get("interval", "delta method"))
        if self.single_arm:
            lo, hi = (
                value_words(self.outcome, est, x, unit=False) for x in (r.conf_low, r.conf_high)
            )
            return f"{self._words(r.estimate)} ({level} {lo} to {hi}; {how})"
        text = published_words(self.outcome, est, r.estimate, r.conf_low, r.conf_high, level)
        text += f" ({how})"
        means = tuple(r.extra.get("arm_means", ()))
        if est == "risk difference" and len(means) == 2:
            coached, usual = (value_words(self.outcome, "proportion", x) for x in means)
            text += f": {coached} with coaching vs {usual} with usual care at the trial's case mix"
        return text

    def _other_figures(self, r: ComparisonResult) -> str:
        """The raw figure, the adjusted one and the headline above, each saying what it is."""
        parts = [
            f"raw {self._words(self.crude)} (the program's {r.n} patients as they are, no model)"
        ]
        adjusted = float(r.extra.get("adjusted", math.nan))
        if not self.single_arm and math.isfinite(adjusted):
            same = (
                ""
                if self.estimand == "risk difference"
                else ": a difference of means is the same at every case mix in this model, so "
                "standardizing does not move it; the adjustment does"
            )
            parts.append(
                f"adjusted {self._words(adjusted)} (the same model at the program's own case "
                f"mix{same})"
            )
        h = self.headline
        if (
            h is not None
            and math.isfinite(h.estimate)
            and self._words(h.estimate) != self._words(self.crude)
        ):
            parts.append(
                f"the headline figure above, {self._words(h.estimate)}, is another "
                f"estimate: {h.method} (n = {h.n})"
            )
        return "; ".join(parts)

    def _baseline_words(self, r: ComparisonResult) -> str:
        """For a single-arm change standardized on its own baseline: what moving it does."""
        measure = self.outcome.removeprefix("change_")
        if measure == self.outcome or f"{measure}_0" not in r.adjusted_for:
            return ""
        return (
            f"; the model's dependence on baseline {MEASURE_LABELS.get(measure, measure)} "
            "includes that regression to the mean, so moving the program's patients to the "
            "trial's baselines moves it too"
        )

    def sentence(self) -> str:
        """The standardized figure, then its verdict against the published figure, in words.

        Every figure says what it is: standardized (with its interval's method), raw (no
        model), adjusted (the same model at the program's own case mix; risk differences),
        and the headline figure above when it differs from the raw one (another model, or
        other patients). E.g. ``"at goal for >= 1 condition: standardized to HCPC 2015's
        baseline, 12.1 more in 100, 95 % CI 2.5 to 21.6 more (delta method): 45.0 % with
        coaching vs 32.9 % with usual care at the trial's case mix. Raw 12.1 more in 100
        (...); adjusted 12.3 more in 100 (...). Model adjusted for age, diabetes and conditions
        uncontrolled at baseline; assumed: the same odds ratio ... Against HCPC 2015 (...):
        inconclusive (...)"``.
        """
        if self.result is None:
            return f"{self.label}: not standardized ({short_error(self.error)})"
        r, name = self.result, trial_name(self.trial)
        covariates = join_words([column_phrase(x) for x in r.adjusted_for])
        other = self._other_figures(r)
        assumption = str(r.extra.get("assumption", ""))
        text = (
            f"{self.label}: standardized to {name}'s baseline, {self._figure_words(r)}. "
            f"{other[0].upper()}{other[1:]}. Model adjusted for {covariates}"
            + (f"; assumed: {assumption}" if assumption else "")
        )
        level = f"{100 * self.conf_level:g} % CI"
        if self.single_arm:
            po = self.published
            where = POSITION_TEXT.get(self._position(), "")
            against = f"the coaching arm of {name}"
            published = f"coaching {po.arm_text(0)}, usual care {po.arm_text(1)}; {where}"
        else:
            against = f"{name}'s effect"
            ref = self.reference
            published = (
                published_words(
                    self.outcome, self.estimand, ref.estimate, ref.conf_low, ref.conf_high, level
                )
                if ref is not None
                else ""
            )
        verdict = verdict_text(self, against, self.conf_level)
        if verdict:
            head = "the coaching arm of " + name if self.single_arm else name
            text += f". Against {head} ({published}): {verdict}"
        else:
            text += f"; descriptive, no verdict: {self.no_verdict or 'no comparison to follow'}"
        if self.single_arm:  # standardized, it is still a before-after figure
            text += f" \N{EM DASH} {CAVEAT}{self._baseline_words(r)}"
        if self.note:  # the caveat belongs next to the number it qualifies
            text += f" [caution: {self.note}]"
        return text

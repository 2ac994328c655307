"""The evidence base pooled per outcome, and a program's effect placed against it.

:func:`effects` collects, for one outcome, the effect of every registered
trial that can be pooled (:mod:`coachstats.trials.evidence`: the seed trials
and the published trials beyond them), with the origin of each number.
:func:`pool_evidence` pools them by random effects: REML with
Hartung-Knapp-Sidik-Jonkman intervals by default, which keep their coverage
with few, heterogeneous trials (IntHout et al. 2014), and the prediction
interval: where the true effect of a new comparable coaching program is
expected to lie, with 95 % probability. Trials against an active comparator
are left out unless asked for, and every trial not pooled is listed with the
reason.

:func:`position_against_evidence` is what ``coachstats evaluate --against
evidence`` (issue 17) calls: it places one program's effect, with its
standard error, against the pooled estimate and the prediction interval, and
says so in words, worded by direction and uncertainty.

Examples
--------
>>> s = pool_evidence("hba1c")
>>> s.meta.k >= 9, s.meta.estimate < 0, s.meta.method_name
(True, True, 'REML random effects (Hartung-Knapp)')
>>> p = position_against_evidence(-0.45, 0.18, "hba1c", evidence=s)
>>> p.range_position, p.verdict
('inside', 'inconclusive')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from coachstats.compare.meta import MetaResult, pool
from coachstats.compare.meta_fit import Method, Test, critical_value
from coachstats.core.errors import AnalysisError, OptionError, check_option
from coachstats.core.formatting import format_number, join_words
from coachstats.core.results import TidyResult
from coachstats.core.vocabulary import (
    BETTER,
    CLINICAL_DIFFERENCES,
    MEASURE_LABELS,
    MEASURE_UNITS,
    Verdict,
)
from coachstats.trials.evidence import EVIDENCE_OUTCOMES, EvidenceTrial, get_evidence, list_evidence
from coachstats.trials.registry import get_trial, list_trials
from coachstats.trials.values import FROM_PRINTED_P

__all__ = [
    "DEFAULT_MARGINS",
    "MAIN_COMPARATORS",
    "ORIGIN_MARKS",
    "EvidencePosition",
    "EvidenceSummary",
    "design_line",
    "effect_unit",
    "effects",
    "excluded",
    "origin_marks",
    "pool_evidence",
    "position_against_evidence",
    "range_words",
    "trial_table",
]

MAIN_COMPARATORS: tuple[str, ...] = ("usual care", "enhanced usual care", "attention control")
"""Comparators of the main pooled estimates; trials against an active intervention are left out."""
DEFAULT_MARGINS: Mapping[str, float] = MappingProxyType(
    {m: CLINICAL_DIFFERENCES[m][0] for m in EVIDENCE_OUTCOMES if m in CLINICAL_DIFFERENCES}
)
"""Equivalence margins for "similar", on the outcome's scale.

The smallest difference that matters clinically
(:data:`coachstats.core.vocabulary.CLINICAL_DIFFERENCES`): HbA1c 0.3 percentage points
(the non-inferiority margin of glucose-lowering trials), SBP 5 mm Hg, LDL 10 mg/dL.
An outcome without one (the shares of ``composite_all``) needs ``margin``. The better
direction of each pooled outcome is :data:`coachstats.core.vocabulary.BETTER`, the
verdicts those of :data:`coachstats.core.vocabulary.VERDICTS`.
"""


#: How the coaches of the pooled trials are counted in words: (one, many).
_COACH_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "medical assistant": ("a medical assistant", "medical assistants"),
        "nurse": ("a nurse", "nurses"),
        "peer": ("a peer", "peers"),
        "community health worker": ("a community health worker", "community health workers"),
        "lay": ("a lay coach", "lay coaches"),
    }
)


def effect_unit(outcome: str) -> str:
    """The unit of a pooled difference: ``"percentage points"`` for HbA1c, else the measure's unit.

    Examples
    --------
    >>> effect_unit("hba1c"), effect_unit("sbp")
    ('percentage points', 'mm Hg')
    """
    return "percentage points" if outcome == "hba1c" else MEASURE_UNITS.get(outcome, "")


def _num(x: float, digits: int = 2, sign: bool = False) -> str:
    """:func:`~coachstats.core.formatting.format_number` with a typographic minus sign."""
    return format_number(x, digits, signed=sign).replace("-", "\u2212")


#: Marks of a trial's line whose figures were computed from what the paper printed.
ORIGIN_MARKS: Mapping[str, str] = MappingProxyType(
    {
        "*": "interval computed from the printed P value (SE = |estimate| / z)",
        "†": "difference computed from the printed per-arm figures",
    }
)


def origin_marks(estimate_origin: str, se_origin: str) -> str:
    """The :data:`ORIGIN_MARKS` of one trial's effect, from its origins in :func:`effects`.

    Examples
    --------
    >>> origin_marks("printed", "computed: SE = (upper - lower) / (2 z) from the printed CI")
    ''
    >>> origin_marks("computed: from the printed per-arm changes",
    ...              "computed: SE = |estimate| / z(1 - P/2) from the printed P = .02")
    '*†'
    """
    marks = "*" if FROM_PRINTED_P in se_origin else ""
    return marks + ("†" if estimate_origin.startswith("computed") else "")


def effects(
    outcome: str = "hba1c", *, comparators: tuple[str, ...] = MAIN_COMPARATORS
) -> pd.DataFrame:
    """The poolable effects of the registered trials on ``outcome`` (coaching minus control).

    Returns
    -------
    DataFrame
        One row per trial: ``key``, ``trial``, ``estimate``, ``std_error``,
        ``conf_low``, ``conf_high``, ``months``, ``coach``, ``comparator``,
        ``allocation``, ``n_coaching``, ``n_control``, ``estimate_origin``,
        ``se_origin`` (``printed``, or ``computed: how``), ``location``, ``doi``.
        Ordered by coach type, then label.
    """
    check_option("outcome", outcome, tuple(EVIDENCE_OUTCOMES))
    rows = []
    for key in list_evidence():
        t = get_evidence(key)
        if t.design.comparator not in comparators:
            continue
        for o in t.outcomes:
            if o.outcome != outcome or not o.poolable:
                continue
            e = o.effect()
            origin = {
                k: v.derivation + (f": {v.detail}" if v.detail else "")
                for k, v in e.origins.items()
            }
            rows.append(
                {
                    "key": key,
                    "trial": t.label,
                    "estimate": e.estimate,
                    "std_error": e.std_error,
                    "conf_low": e.conf_low,
                    "conf_high": e.conf_high,
                    "months": o.months,
                    "coach": t.design.coach,
                    "comparator": t.design.comparator,
                    "allocation": t.design.allocation,
                    "n_coaching": o.coaching.n,
                    "n_control": o.control.n,
                    "estimate_origin": origin["estimate"],
                    "se_origin": origin["std_error"],
                    "location": o.location,
                    "doi": t.citation.doi or "",
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["coach", "trial"], ignore_index=True)


def excluded(
    outcome: str = "hba1c", *, comparators: tuple[str, ...] = MAIN_COMPARATORS
) -> pd.DataFrame:
    """Registered trials that report ``outcome`` but are not pooled, with the reason (``trial``, ``reason``)."""
    check_option("outcome", outcome, tuple(EVIDENCE_OUTCOMES))
    rows = []
    for key in list_evidence():
        t = get_evidence(key)
        for o in t.outcomes:
            if o.outcome != outcome:
                continue
            if not o.poolable:
                rows.append({"key": key, "trial": t.label, "reason": o.why_not_poolable})
            elif t.design.comparator not in comparators:
                rows.append(
                    {
                        "key": key,
                        "trial": t.label,
                        "reason": "active comparator, not usual care: "
                        + (t.design.comparator_detail or "another intervention"),
                    }
                )
    return pd.DataFrame(rows, columns=["key", "trial", "reason"])


def design_line(t: EvidenceTrial) -> str:
    """A trial's design in one line: allocation, n per arm, months, coach vs comparator, setting.

    Examples
    --------
    >>> design_line(get_evidence("long2012"))[:60]
    'individual RCT, n 39 coaching / 39 control, 6 months; peer c'
    """
    d = t.design
    arms = (
        f"n {d.randomized['coaching']} coaching / {d.randomized['control']} control"
        if d.randomized
        else (f"n {d.total} in all" if d.total else "n not recorded")
    )
    cluster = f" of {d.clusters} clusters" if d.clusters else ""
    return (
        f"{d.allocation} RCT{cluster}, {arms}, {d.months} months; {d.coach} coaching vs "
        f"{d.comparator}; {d.setting}, {d.country}"
    )


def trial_table() -> pd.DataFrame:
    """Every registered trial with its citation: the evidence base, then the seed registry's papers.

    Columns ``key``, ``trial``, ``kind`` (``"evidence"``: published summary
    figures; ``"seed paper"``: reproduced from patient-level data by
    ``coachstats reproduce``), ``citation``, ``design``, ``outcomes``.

    Examples
    --------
    >>> t = trial_table()
    >>> int((t["kind"] == "evidence").sum()) >= 14, "hcpc_24" in set(t["key"])
    (True, True)
    """
    rows = []
    for key in list_evidence():
        t = get_evidence(key)
        outcomes = "; ".join(
            o.outcome + ("" if o.poolable else f" (not pooled: {o.why_not_poolable or 'events'})")
            for o in t.outcomes
        )
        rows.append(
            {
                "key": key,
                "trial": t.label,
                "kind": "evidence",
                "citation": t.citation.text(),
                "design": design_line(t),
                "outcomes": outcomes,
            }
        )
    for name in list_trials():
        trial = get_trial(name)
        rows.append(
            {
                "key": name,
                "trial": trial.title,
                "kind": "seed paper",
                "citation": trial.citation.text(),
                "design": trial.design.description,
                "outcomes": f"{len(trial.targets)} published figures, reproduced by "
                f"'coachstats reproduce {name}'",
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class EvidenceSummary(TidyResult):
    """The pooled evidence on one outcome: the trials, the random-effects pool, and what was left out."""

    outcome: str
    effects: pd.DataFrame
    meta: MetaResult
    excluded: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """The pooled row (see :meth:`MetaResult.to_dict`)."""
        return {**self.meta.to_dict(), "outcome": self.outcome}

    @property
    def comparison_std_error(self) -> float:
        """The pooled estimate's SE as its confidence interval implies it on the normal scale.

        Half the width of the pooled CI over :math:`z_{1-\\alpha/2}`. With
        Hartung-Knapp intervals (the default) the CI uses :math:`t` on
        :math:`k - 1` df, so this is :math:`t_{k-1}/z` times ``meta.std_error``:
        a program compared with the pooled estimate by a normal test then
        carries the pooled estimate's small-k uncertainty, as its printed CI
        does. With Wald intervals it equals ``meta.std_error``.

        Examples
        --------
        >>> s = pool_evidence("hba1c")
        >>> s.comparison_std_error > s.meta.std_error
        True
        """
        m = self.meta
        return (m.conf_high - m.conf_low) / (2.0 * critical_value(m.conf_level))

    def coach_words(self) -> str:
        """The coaches of the pooled trials, counted: ``"6 by community health workers, 2 by peers
        and 1 by a nurse"``.

        Examples
        --------
        >>> pool_evidence("hba1c").coach_words().startswith("6 by community health workers")
        True
        """
        counts = self.effects["coach"].value_counts()
        parts = []
        for coach, n in zip(counts.index, counts.to_numpy(), strict=True):
            one, many = _COACH_WORDS.get(str(coach), (f"a {coach} coach", f"{coach} coaches"))
            parts.append(f"{int(n)} by {one if n == 1 else many}")
        return join_words(parts)

    def meaning(self) -> str:
        """What the prediction interval means, and what it does not, in words (k, coaches, comparators).

        Examples
        --------
        >>> text = pool_evidence("hba1c").meaning()
        >>> "true effect of a new coaching program" in text, "not a confidence interval" in text
        (True, True)
        """
        m, unit = self.meta, effect_unit(self.outcome)
        pct = f"{100 * m.conf_level:g} %"
        e = self.effects
        comparators = join_words(sorted(set(e["comparator"])))
        months = sorted({int(x) for x in e["months"]})
        span = f"{months[0]} to {months[-1]}" if len(months) > 1 else f"{months[0]}"
        return (
            f"The {pct} prediction interval, {_num(m.pi_low, 2, True)} to {_num(m.pi_high, 2, True)} "
            f"{unit}, is where the true effect of a new coaching program like those pooled is "
            f"expected to lie, with {pct} probability: {m.k} randomized trials of coaching, "
            f"{self.coach_words()}, against {comparators}, followed for {span} months. It is about "
            "programs' true effects: a program's own estimate also carries its sampling error, so "
            "its confidence interval is shown with it. It is not a confidence interval for a "
            "program's effect, nor a target to reach, and it says nothing about programs unlike "
            "those pooled (other coaches, patients, comparators or follow-up). The pooled "
            f"estimate, {_num(m.estimate, 2, True)} {unit} ({pct} CI {_num(m.conf_low, 2, True)} "
            f"to {_num(m.conf_high, 2, True)}), is the average of those true effects."
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per trial, then the pooled estimate (with the prediction interval)."""
        cols = ["trial", "coach", "comparator", "months", "estimate", "conf_low", "conf_high"]
        trials = self.effects[cols].assign(weight=list(self.meta.weights))
        m = self.meta
        pooled = {
            "trial": f"Pooled ({m.method_name}, k = {m.k})",
            "estimate": m.estimate,
            "conf_low": m.conf_low,
            "conf_high": m.conf_high,
            "weight": 1.0,
            "pi_low": m.pi_low,
            "pi_high": m.pi_high,
            "tau2": m.tau2,
            "i2": m.i2,
        }
        return pd.concat([trials, pd.DataFrame([pooled])], ignore_index=True)

    def summary(self) -> str:
        """Text: the trial table, the pooled estimate with PI, tau², I², and the trials not pooled."""
        m = self.meta
        unit = effect_unit(self.outcome)
        pct = f"{100 * m.conf_level:g}"
        lines = [f"{EVIDENCE_OUTCOMES[self.outcome]}, coaching minus control ({unit})", ""]
        width = max(len(t) for t in self.effects["trial"])
        marked: dict[str, list[str]] = {mark: [] for mark in ORIGIN_MARKS}
        for r in self.effects.to_dict("records"):
            est, lo, hi = (float(r[c]) for c in ("estimate", "conf_low", "conf_high"))
            marks = origin_marks(str(r["estimate_origin"]), str(r["se_origin"]))
            for mark in marks:
                marked[mark].append(str(r["trial"]))
            lines.append(
                f"  {r['trial']:<{width}}  {_num(est, 2, True):>7} "
                f"({_num(lo, 2, True)} to {_num(hi, 2, True)}){marks:<2} "
                f"{r['coach']}, {r['months']} mo, {r['comparator']}"
            )
        notes = [
            f"  {mark} {ORIGIN_MARKS[mark]}: {', '.join(trials)}"
            for mark, trials in marked.items()
            if trials
        ]
        if notes:
            lines += ["", "Not printed as shown (the registry has how each was computed):", *notes]
        lines += [
            "",
            f"Pooled ({m.method_name}, k = {m.k}): {_num(m.estimate, 2, True)} "
            f"({pct}% CI {_num(m.conf_low, 2, True)} to {_num(m.conf_high, 2, True)})",
            f"{pct}% prediction interval (a new comparable program's true effect): "
            f"{_num(m.pi_low, 2, True)} to {_num(m.pi_high, 2, True)}",
            f"tau² = {m.tau2:.3f} ({pct}% CI {m.tau2_conf_low:.3f} to {m.tau2_conf_high:.3f}); "
            f"I² = {100 * m.i2:.0f}% ({pct}% CI {100 * m.i2_conf_low:.0f} to "
            f"{100 * m.i2_conf_high:.0f}%); Cochran's Q = {m.q:.2f} on {m.q_df} df",
        ]
        if not self.excluded.empty:
            lines += ["", "Not pooled:"]
            lines += [f"  {r.trial}: {r.reason}" for r in self.excluded.itertuples()]
        return "\n".join(lines)


def pool_evidence(
    outcome: str = "hba1c",
    *,
    method: Method = "REML",
    test: Test = "knha",
    include_active: bool = False,
    conf_level: float = 0.95,
) -> EvidenceSummary:
    """Pool the registered trials' effects on ``outcome`` by random effects (see the module docstring).

    Raises
    ------
    AnalysisError
        Fewer than 2 poolable trials for the outcome.
    """
    comparators = (*MAIN_COMPARATORS, "active") if include_active else MAIN_COMPARATORS
    frame = effects(outcome, comparators=comparators)
    skipped = excluded(outcome, comparators=comparators)
    if len(frame) < 2:
        listed = ", ".join(skipped["trial"]) or "none"
        raise AnalysisError(
            f"the evidence base has {len(frame)} poolable trial(s) for {outcome!r}; at least 2 are "
            f"needed (registered but not poolable: {listed}); try 'coachstats evidence hba1c'"
        )
    meta = pool(
        frame["estimate"],
        frame["std_error"],
        method=method,
        test=test,
        conf_level=conf_level,
        labels=list(frame["trial"]),
        outcome=outcome,
        estimand="mean difference",
    )
    return EvidenceSummary(outcome, frame, meta, skipped)


@dataclass(frozen=True)
class EvidencePosition:
    """Where one program's effect sits against the pooled evidence (coaching minus control).

    ``verdict`` compares the program with the average coaching program, in
    the outcome's better direction: ``larger`` (a larger benefit; the CI of
    the difference excludes 0), ``smaller``, ``similar`` (the
    :math:`1 - 2\\alpha` CI of the difference lies within ``±margin``: TOST)
    or ``inconclusive``. It is the verdict of this comparison alone, at
    :math:`\\alpha = 1 -` ``conf_level``; an evaluation that makes other
    comparisons adjusts it with them (:mod:`coachstats.tasks.evaluate.against_evidence`).
    ``range_position`` places the program's estimate against the prediction
    interval: ``inside``, ``beyond`` (better than the range) or ``short``
    (worse than the range); ``range_certain`` is True when the program's whole
    CI is on that side (or inside). ``favours`` is ``program``, ``published``
    or ``neither`` (from the verdict). ``pooled_std_error`` is the pooled SE
    the difference uses (:attr:`EvidenceSummary.comparison_std_error`),
    ``pooled_conf_low`` / ``pooled_conf_high`` the pooled estimate's CI.
    """

    outcome: str
    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    pooled_estimate: float
    pooled_std_error: float
    pooled_conf_low: float
    pooled_conf_high: float
    pi_low: float
    pi_high: float
    k: int
    difference: float
    difference_low: float
    difference_high: float
    margin: float
    verdict: Verdict
    favours: str
    range_position: Literal["inside", "beyond", "short"]
    range_certain: bool
    conf_level: float
    sentence: str = ""

    def __post_init__(self) -> None:
        if not self.sentence:
            object.__setattr__(self, "sentence", self.describe())

    def describe(
        self,
        *,
        verdict: Verdict | None = None,
        p_text: str = "",
        equivalence_text: str = "",
        alpha: float | None = None,
        within_margin: bool = False,
        reason: str = "",
    ) -> str:
        """The position in words: the effect against the prediction interval, then against the
        pooled estimate.

        By default with this position's own verdict (``sentence``). An evaluation
        passes the verdict its multiplicity adjustment gave, the words of the
        difference's P (``p_text``) and of the equivalence P (``equivalence_text``),
        its ``alpha`` (the interval of ``similar`` is :math:`1 - 2\\alpha`;
        default ``1 - conf_level``), whether a direction verdict lies within the
        margin, and why an inconclusive comparison did not settle (``reason``).

        Examples
        --------
        >>> p = position_against_evidence(-0.45, 0.18, evidence=pool_evidence("hba1c"))
        >>> p.describe(p_text="P = .98")[:57]
        'Your HbA1c effect, \u22120.45 percentage points (95 % CI \u22120.80'
        >>> "the difference is +0.01 (95 % CI \u22120.43 to +0.44; P = .98)" in p.describe(p_text="P = .98")
        True
        """
        label, unit = MEASURE_LABELS.get(self.outcome, self.outcome), effect_unit(self.outcome)
        pct = f"{100 * self.conf_level:g} %"
        head = (
            f"Your {label} effect, {_num(self.estimate, 2, True)} {unit} ({pct} CI "
            f"{_num(self.conf_low, 2, True)} to {_num(self.conf_high, 2, True)})"
        )
        pooled = (
            f"the pooled effect of {_num(self.pooled_estimate, 2, True)} {unit} ({pct} CI "
            f"{_num(self.pooled_conf_low, 2, True)} to {_num(self.pooled_conf_high, 2, True)})"
        )
        d, lo, hi = self.difference, self.difference_low, self.difference_high
        diff = (
            f"the difference is {_num(d, 2, True)} ({pct} CI {_num(lo, 2, True)} to "
            f"{_num(hi, 2, True)}" + (f"; {p_text}" if p_text else "") + ")"
        )
        margin = f"\N{PLUS-MINUS SIGN}{_num(self.margin, 2)} {unit}"
        tost_level = 1.0 - 2.0 * (1.0 - self.conf_level if alpha is None else alpha)
        half = critical_value(tost_level) * (hi - lo) / (2.0 * critical_value(self.conf_level))
        v = self.verdict if verdict is None else verdict
        less = f", though by less than the margin of {margin}" if within_margin else ""
        tail = {
            "larger": f"a larger benefit than the average coaching program{less}",
            "smaller": f"a smaller benefit than the average coaching program{less}",
            "similar": f"similar to the average coaching program (the {100 * tost_level:g} % CI of "
            f"the difference, {_num(d - half, 2, True)} to {_num(d + half, 2, True)}, lies within "
            f"{margin}" + (f"; equivalence {equivalence_text}" if equivalence_text else "") + ")",
            "inconclusive": "too uncertain to tell whether it differs from the average coaching "
            f"program by more than {margin}" + (f"; {reason}" if reason else ""),
        }[v]
        return f"{head} {range_words(self)}. Against {pooled}, {diff}: {tail}."


def position_against_evidence(
    estimate: float,
    std_error: float,
    outcome: str = "hba1c",
    *,
    evidence: EvidenceSummary | None = None,
    margin: float | None = None,
    conf_level: float = 0.95,
    conf_int: tuple[float, float] | None = None,
) -> EvidencePosition:
    """Place a program's effect (coaching minus control) against the pooled evidence.

    The difference from the pooled estimate has the SE
    :math:`\\sqrt{SE^2 + SE_{pooled}^2}` (independent estimates), with the
    pooled SE of :attr:`EvidenceSummary.comparison_std_error` (the one its
    Hartung-Knapp CI implies).

    Parameters
    ----------
    estimate, std_error : float
        The program's effect and its SE, on the outcome's scale (HbA1c in
        percentage points).
    outcome : str
        ``"hba1c"``, ``"sbp"`` or ``"ldl"``.
    evidence : EvidenceSummary, optional
        Default: :func:`pool_evidence` of ``outcome``.
    margin : float, optional
        Equivalence margin of ``similar``; default :data:`DEFAULT_MARGINS`.
    conf_level : float
        Level of the intervals (TOST uses :math:`1 - 2\\alpha`).
    conf_int : (float, float), optional
        The program's own confidence interval at ``conf_level``, as its
        analysis gives it (e.g. a Welch t interval); default
        ``estimate`` :math:`\\pm z_{1-\\alpha/2}` ``std_error``. It is what the
        sentence prints and what ``range_certain`` reads; the difference from
        the pooled estimate always uses the SEs.

    Returns
    -------
    EvidencePosition
        With a plain-words ``sentence``.

    Raises
    ------
    OptionError
        No margin for the outcome, or a non-positive SE.

    Examples
    --------
    >>> p = position_against_evidence(-1.6, 0.2, "hba1c")
    >>> p.range_position, p.verdict, p.favours
    ('beyond', 'larger', 'program')
    """
    check_option("outcome", outcome, tuple(EVIDENCE_OUTCOMES))
    if not (math.isfinite(estimate) and math.isfinite(std_error) and std_error > 0):
        raise OptionError(
            f"the program's effect needs a finite estimate and an SE > 0, got {estimate} and {std_error}"
        )
    if margin is None:
        if outcome not in DEFAULT_MARGINS:
            raise OptionError(f"no default margin for {outcome!r}: pass margin= (on its scale)")
        margin = DEFAULT_MARGINS[outcome]
    if margin <= 0:
        raise OptionError(f"margin must be > 0, got {margin}")
    ev = evidence if evidence is not None else pool_evidence(outcome, conf_level=conf_level)
    if ev.outcome != outcome:
        raise OptionError(f"the evidence is for {ev.outcome!r}, not {outcome!r}")
    if not math.isclose(ev.meta.conf_level, conf_level):
        raise OptionError(
            f"the evidence was pooled at conf_level={ev.meta.conf_level:g}, not {conf_level:g}: "
            f"pool it with pool_evidence({outcome!r}, conf_level={conf_level:g})"
        )
    m = ev.meta
    sign = -1.0 if BETTER[outcome] == "lower" else 1.0  # benefit = sign * effect
    z = critical_value(conf_level)
    lo, hi = (
        conf_int if conf_int is not None else (estimate - z * std_error, estimate + z * std_error)
    )
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= estimate <= hi):
        raise OptionError(
            f"the program's confidence interval must contain its estimate {estimate}, got {lo} to {hi}"
        )
    d = estimate - m.estimate
    se_pooled = ev.comparison_std_error
    se_d = math.hypot(std_error, se_pooled)
    d_lo, d_hi = d - z * se_d, d + z * se_d
    z_tost = critical_value(1.0 - 2.0 * (1.0 - conf_level))
    benefit_lo, benefit_hi = sorted((sign * d_lo, sign * d_hi))
    verdict: Verdict
    if benefit_lo > 0:
        verdict = "larger"
    elif benefit_hi < 0:
        verdict = "smaller"
    elif abs(d) + z_tost * se_d < margin:
        verdict = "similar"
    else:
        verdict = "inconclusive"
    favours = {"larger": "program", "smaller": "published"}.get(verdict, "neither")
    b_est = sign * estimate
    b_pi = sorted((sign * m.pi_low, sign * m.pi_high))
    b_ci = sorted((sign * lo, sign * hi))
    position: Literal["inside", "beyond", "short"]
    if b_est > b_pi[1]:
        position, certain = "beyond", b_ci[0] > b_pi[1]
    elif b_est < b_pi[0]:
        position, certain = "short", b_ci[1] < b_pi[0]
    else:
        position, certain = "inside", b_pi[0] <= b_ci[0] and b_ci[1] <= b_pi[1]
    return EvidencePosition(
        outcome=outcome,
        estimate=estimate,
        std_error=std_error,
        conf_low=lo,
        conf_high=hi,
        pooled_estimate=m.estimate,
        pooled_std_error=se_pooled,
        pooled_conf_low=m.conf_low,
        pooled_conf_high=m.conf_high,
        pi_low=m.pi_low,
        pi_high=m.pi_high,
        k=m.k,
        difference=d,
        difference_low=d_lo,
        difference_high=d_hi,
        margin=margin,
        verdict=verdict,
        favours=favours,
        range_position=position,
        range_certain=certain,
        conf_level=conf_level,
    )


def range_words(p: EvidencePosition) -> str:
    """Where a program's effect lies against the prediction interval, in words.

    ``p.range_position`` says on which side, ``p.range_certain`` whether its whole
    confidence interval is there too (if not, the words say that chance may explain it).

    Examples
    --------
    >>> range_words(position_against_evidence(-1.2, 0.5, evidence=pool_evidence("hba1c")))[:60]
    'lies outside the range where 95 % of comparable coaching pro'
    """
    pct = f"{100 * p.conf_level:g} %"
    rng = (
        f"the range where {pct} of comparable coaching programs' true effects are expected to fall "
        f"({_num(p.pi_low, 2, True)} to {_num(p.pi_high, 2, True)}; {p.k} trials)"
    )
    if p.range_position == "inside":
        return f"lies inside {rng}" + (
            "" if p.range_certain else ", though its confidence interval reaches beyond that range"
        )
    side = "a larger" if p.range_position == "beyond" else "a smaller"
    return f"lies outside {rng}, on the side of {side} benefit" + (
        ""
        if p.range_certain
        else ", but its confidence interval overlaps the range, so chance may explain it"
    )

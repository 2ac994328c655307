"""One published target and its reproduction: the figures compared at the printed precision.

:func:`evaluate_target` formats the reproduced figures like the printed ones and
gives each compared field a verdict (:data:`VERDICTS`); :class:`TargetResult`
holds them with the target's provenance (how the bundled cohort holds the figure);
:func:`brief_block` lays one target out as the practice brief prints it, the
published figures exactly as printed and anything else marked as reproduced.
:mod:`coachstats.tasks.reproduce` runs the plans and collects these.

Examples
--------
>>> from coachstats.core.results import ArmSummary, ComparisonResult
>>> from coachstats.trials import get_trial
>>> t = get_trial("hcpc").target("composite_any")
>>> res = ComparisonResult(outcome="composite_any", method="chi-square", estimand="risk difference",
...     estimate=0.121, p_value=0.017, arms=(ArmSummary("coaching", 194, events=90, value=90 / 194),
...     ArmSummary("usual_care", 178, events=61, value=61 / 178)))
>>> tr = evaluate_target("hcpc", t, res, res)
>>> tr.values, tr.p, tr.verdict, tr.provenance
(('46.4 %', '34.3 %'), '.02', 'match', 'construction')
>>> print(brief_block(tr))
One clinical goal:
  Health coaching group: 46.4%
  Usual care group: 34.3% (P = .02)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from coachstats.core.errors import OptionError
from coachstats.core.formatting import first_sentence, without_column_list
from coachstats.core.results import ARM_DISPLAY, ArmSummary, ComparisonResult, p_phrase
from coachstats.trials.registry import PrintedP, PrintedValue, Target

__all__ = [
    "BUILT_IN",
    "BUILT_IN_MATCH",
    "DIFFERS",
    "GROUP_DISPLAY",
    "MATCH",
    "NOT_REPRODUCIBLE",
    "VERDICTS",
    "WITHIN",
    "Check",
    "TargetResult",
    "brief_block",
    "difference_unit",
    "evaluate_target",
    "match_groups",
]

MATCH, WITHIN, DIFFERS, NOT_REPRODUCIBLE = (
    "match",
    "within tolerance",
    "differs",
    "not reproducible",
)
VERDICTS: tuple[str, ...] = (MATCH, WITHIN, DIFFERS, NOT_REPRODUCIBLE)
_RANK = {MATCH: 0, WITHIN: 1, NOT_REPRODUCIBLE: 2, DIFFERS: 3}
#: The provenances of a figure the bundled cohort was given (:data:`~coachstats.trials.PROVENANCES`
#: except "held-out"): the analysis recovering it checks the pipeline, it is no reproduction.
BUILT_IN: tuple[str, ...] = ("construction", "moment-matched", "tuned")
#: How a matched built-in figure's verdict is shown in the tables people read.
BUILT_IN_MATCH = "match (built in)"
#: How a group is named where it is not an arm's column (sites, all patients, months).
GROUP_DISPLAY = {**ARM_DISPLAY, "all": "All patients", "A": "Site A", "B": "Site B"}


@dataclass(frozen=True)
class Check:
    """One compared field of a target: printed, reproduced, verdict."""

    field: str
    published: str
    reproduced: str
    verdict: str
    reason: str = ""


@dataclass(frozen=True)
class TargetResult:
    """A published target and its reproduction.

    ``values``, ``difference`` and ``p`` are the reproduced figures formatted
    at the printed precision; ``checks`` lists every compared field.
    ``bundled`` is True when the figures were computed on the bundled synthetic
    cohort, whose :attr:`provenance` (how the cohort holds the figure) then applies.
    ``cohort_only`` names the fields whose reproduced figure has no printed
    counterpart (the paper printed "n.s."): the cohort's own values, never a
    published one.
    """

    trial: str
    target: Target
    result: ComparisonResult | None
    values_result: ComparisonResult | None
    values: tuple[str, ...]
    n: tuple[int | None, ...]
    difference: str
    p: str
    checks: tuple[Check, ...]
    error: str | None = None
    bundled: bool = True
    cohort_only: tuple[str, ...] = ()

    @property
    def provenance(self) -> str:
        """How the bundled cohort holds the figure (:data:`~coachstats.trials.PROVENANCES`);
        ``""`` on data of your own."""
        return self.target.provenance if self.bundled else ""

    @property
    def built_in(self) -> bool:
        """A figure the bundled cohort was built, moment-matched or tuned to hold
        (:data:`BUILT_IN`): recovering it checks the pipeline, it reproduces nothing."""
        return self.provenance in BUILT_IN

    @property
    def held_out(self) -> bool:
        """A held-out figure on the bundled cohort: no calibration step read it."""
        return self.provenance == "held-out"

    @property
    def reproduced(self) -> bool:
        """Matched at the printed precision or within the target's tolerance."""
        return self.error is None and self.verdict in (MATCH, WITHIN)

    @property
    def verdict(self) -> str:
        """Worst field verdict, with the reason when not reproducible."""
        if self.error is not None:
            return f"{NOT_REPRODUCIBLE} (analysis failed: {_short(self.error)})"
        if not self.checks:
            return MATCH
        worst = max(self.checks, key=lambda c: _RANK[c.verdict])
        if worst.verdict == NOT_REPRODUCIBLE:
            return f"{NOT_REPRODUCIBLE} ({worst.field}: {first_sentence(worst.reason)})"
        return worst.verdict

    @property
    def acceptable(self) -> bool:
        """Matched, within tolerance, or declared unreachable (not an unexpected failure)."""
        if self.error is not None:
            return False
        return all(c.verdict != DIFFERS for c in self.checks)

    @property
    def passes(self) -> bool:
        """Acceptable, or a held-out figure whose analysis ran: a held-out miss is reported
        (its verdict, its note), never a failure of the run."""
        return self.acceptable or (self.held_out and self.error is None)

    @property
    def p_value(self) -> float:
        """The reproduced P value (NaN without a test)."""
        return self.result.p_value if self.result is not None else math.nan

    def differs_how(self) -> str:
        """How a figure that differs differs, in words: on which side of .05 each P lies
        (significant as published but not as reproduced, or the reverse), and a difference
        or an order of the two groups that is reversed. Empty when nothing differs.

        Examples
        --------
        >>> import warnings
        >>> from coachstats.tasks.reproduce import reproduce
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     run = reproduce()
        >>> goal_24 = next(t for t in run.targets if t.target.id == "hba1c_goal_24")
        >>> goal_24.differs_how()  # doctest: +ELLIPSIS
        'P below .05 as published (.03), not as reproduced (.7...); the two groups are in the opposite order'
        """
        differing = {c.field.split(" ")[0] for c in self.checks if c.verdict == DIFFERS}
        parts: list[str] = []
        if "p" in differing and math.isfinite(self.p_value):
            printed = PrintedP.parse(self.target.p)
            published = _below_05(printed)
            p = self.p_value
            # enough decimals to show the side of .05 (a reproduced .0497 prints as .05)
            exact = f"{p:.{4 if abs(p - 0.05) < 0.0005 else 3}f}".removeprefix("0")
            if published is not None:
                side = "below" if published else "at or above"
                both = published == (p < 0.05)
                parts.append(
                    f"P {side} .05 both as published ({printed.text}) and as reproduced ({exact})"
                    if both
                    else f"P {side} .05 as published ({printed.text}), not as reproduced ({exact})"
                )
        if "difference" in differing:
            signs = {_sign(self.target.difference), _sign(self.difference)}
            if signs == {-1, 1}:
                parts.append("the difference changes sign")
        if "values" in differing and len(self.target.values) == 2 and len(self.values) == 2:
            published_order = _sign(self.target.values[0], self.target.values[1])
            reproduced_order = _sign(self.values[0], self.values[1])
            if {published_order, reproduced_order} == {-1, 1}:
                parts.append("the two groups are in the opposite order")
        return "; ".join(parts)

    def note(self) -> str:
        """Why a figure is not reproduced, what differs, the cohort's own values, the inferred values."""
        parts = [f"{c.field}: {c.reason}" for c in self.checks if c.verdict == NOT_REPRODUCIBLE]
        if self.cohort_only:
            shown = " vs ".join(v for v in self.values if v)
            printed = " vs ".join(v for v in self.target.values if v)
            parts.append(
                f"{', '.join(self.cohort_only)} not published (printed {printed}): "
                f"reproduced {shown} are the cohort's own values, not the trial's"
            )
        parts += [
            f"{c.field} differs: published {c.published}, reproduced {c.reproduced}"
            for c in self.checks
            if c.verdict in (DIFFERS, WITHIN)
        ]
        how = self.differs_how()
        if how:
            parts.append(how)
        inferred = self.target.inferred
        if inferred.get("values") and self.values_result is not None:
            got = [_counts(a) for a in self._arms()]
            want = [str(v) for v in inferred["values"]]
            if got != want:
                parts.append(f"inferred counts {' vs '.join(want)}; reproduced {' vs '.join(got)}")
        if self.result is not None and "p" in inferred and math.isfinite(self.p_value):
            parts.append(f"P = {self.p_value:.3f} (inferred {inferred['p']})")
        if self.held_out and not self.reproduced and self.error is None:
            parts.append("held-out figure: no calibration step read it, and it was not re-tuned")
        return "; ".join(parts)

    def display_row(self) -> dict[str, Any]:
        """:meth:`row` for the tables people read: a reproduced value the paper did not
        print is marked ``"47.5 % (reproduced; published: n.s.)"``, and the match of a
        figure built into the bundled cohort reads ``"match (built in)"``
        (:data:`BUILT_IN_MATCH`), never a bare ``"match"``."""
        row = self.row()
        if self.built_in and row["verdict"] == MATCH:
            row["verdict"] = BUILT_IN_MATCH
        for side, group, printed in zip(
            ("reproduced_coaching", "reproduced_usual_care"),
            self.target.groups,
            self.target.values,
            strict=False,
        ):
            if f"values ({group})" in self.cohort_only:
                row[side] = f"{row[side]} (reproduced; published: {printed})"
        for side in ("published", "reproduced"):
            row[f"{side}_difference"] = difference_unit(
                str(row[f"{side}_difference"] or ""), self.target
            )
        return row

    def _arms(self) -> list[ArmSummary | None]:
        return match_groups(self.values_result, self.target.groups)

    def row(self) -> dict[str, Any]:
        """One row of :meth:`ReproductionResult.to_frame`."""
        t = self.target
        pub = list(t.values) + [""] * (2 - len(t.values))
        rep = list(self.values) + [""] * (2 - len(self.values))
        n = list(self.n) + [None] * (2 - len(self.n))
        return {
            "trial": self.trial,
            "target": t.id,
            "outcome": t.label,
            "groups": " / ".join(t.groups),
            "published_coaching": pub[0],
            "published_usual_care": pub[1],
            "published_difference": t.difference,
            "published_p": t.p,
            "reproduced_coaching": rep[0],
            "reproduced_usual_care": rep[1],
            "reproduced_difference": self.difference,
            "reproduced_p": self.p,
            "p_value": self.p_value,
            "verdict": self.verdict,
            "provenance": self.provenance,
            "adjusted": t.adjusted,
            "n_coaching": n[0],
            "n_usual_care": n[1],
            "analysis": t.analysis.describe_rule(),
            "note": self.note(),
        }


def _below_05(printed: PrintedP) -> bool | None:
    """Whether a printed P lies below .05 (None: no P, or a bound that does not say)."""
    if printed.kind == "not_significant":
        return False
    if printed.kind == "below":
        return printed.value() <= 0.05 or None
    if printed.kind == "value":
        return printed.value() < 0.05
    return None


def _sign(a: str, b: str = "0") -> int:
    """The sign of ``a - b``, two printed figures (0 when either is not a number)."""
    try:
        x, y = (PrintedValue.parse(v).number() for v in (a, b))
    except OptionError:
        return 0
    if not (math.isfinite(x) and math.isfinite(y)) or x == y:
        return 0
    return 1 if x > y else -1


def difference_unit(text: str, target: Target) -> str:
    """A printed difference as a reader should read it: with "percentage points" when it is a
    difference of shares the paper printed without a unit (the peer trial's "18.1").

    Examples
    --------
    >>> from coachstats.trials.registry import get_trial
    >>> drop = get_trial("peer").target("hba1c_drop")
    >>> difference_unit("18.1", drop), difference_unit("", drop)
    ('18.1 percentage points', '')
    """
    if text and "%" not in text and (target.percent_points or target.printed_difference().percent):
        return f"{text} percentage points"
    return text


def _short(text: str) -> str:
    """The first sentence of an error message, whole (without the list of available columns)."""
    return first_sentence(without_column_list(text))


def _counts(arm: ArmSummary | None) -> str:
    if arm is None:
        return "NA"
    return f"{arm.events}/{arm.n}" if arm.events is not None else str(arm.n)


def match_groups(result: ComparisonResult | None, groups: Sequence[str]) -> list[ArmSummary | None]:
    """The result's group summaries in the target's group order (None when absent)."""
    if result is None:
        return [None] * len(groups)
    by_label = {a.arm: a for a in result.arms}
    return [by_label.get(g) for g in groups]


def _verdict(
    target: Target, name: str, published: str, reproduced: str, equal: bool, distance: float
) -> Check:
    """Verdict of one field: match, within its tolerance, declared unreachable, or differs."""
    if equal:
        return Check(name, published, reproduced, MATCH)
    key = name.split(" ")[0]  # "values (coaching)" -> "values"
    tol = target.tolerance.get(key)
    if tol is not None and math.isfinite(distance) and distance <= float(tol) + 1e-12:
        return Check(name, published, reproduced, WITHIN, f"tolerance {tol}")
    reason = target.unreachable.get(key)
    if reason:
        return Check(name, published, reproduced, NOT_REPRODUCIBLE, reason)
    return Check(name, published, reproduced, DIFFERS)


def _check_value(
    target: Target, name: str, published: str, reproduced: str, pv: PrintedValue
) -> Check:
    try:
        distance = abs(PrintedValue.parse(reproduced).number() - pv.number())
    except OptionError:
        distance = math.nan
    return _verdict(target, name, published, reproduced, pv.matches(reproduced), distance)


def _default_format(arm: ArmSummary) -> str:
    """A reproduced value whose printed counterpart is not a number (e.g. ``n.s.``)."""
    if arm.events is not None:
        return f"{100 * arm.value:.1f} %"
    return f"{arm.value:.2f}"


def _difference(target: Target, result: ComparisonResult, values: ComparisonResult) -> float:
    pv = target.printed_difference()
    scale = 100.0 if (pv.percent or target.percent_points) else 1.0
    if target.difference_source == "values":
        arms = match_groups(values, target.groups)
        if len(arms) != 2 or arms[0] is None or arms[1] is None:
            return math.nan
        return scale * (arms[0].value - arms[1].value)
    return scale * result.estimate


def evaluate_target(
    trial: str,
    target: Target,
    result: ComparisonResult | None,
    values_result: ComparisonResult | None,
    error: str | None = None,
    *,
    bundled: bool = True,
) -> TargetResult:
    """Format the reproduced figures at the printed precision and compare them.

    ``bundled``: the figures come from the bundled synthetic cohort (the target's
    provenance applies).
    """
    if result is None or values_result is None:
        return TargetResult(
            trial,
            target,
            result,
            values_result,
            (),
            (),
            "",
            "",
            (),
            error or "no result",
            bundled=bundled,
        )
    checks: list[Check] = []
    arms = match_groups(values_result, target.groups)
    values: list[str] = []
    cohort_only: list[str] = []
    for group, printed, pv, arm in zip(
        target.groups, target.values, target.printed_values(), arms, strict=False
    ):
        if not pv.printed:
            # not printed: "" (shown elsewhere) stays blank; "n.s." shows the reproduced value,
            # marked as the cohort's own (TargetResult.cohort_only)
            if pv.text and arm is not None:
                values.append(_default_format(arm))
                cohort_only.append(f"values ({group})")
            else:
                values.append("")
            continue
        rep = pv.format_arm(arm) if arm is not None else "NA"
        values.append(rep)
        checks.append(_check_value(target, f"values ({group})", printed, rep, pv))
    n_arms = match_groups(result, target.groups)
    for group, printed, pv, arm in zip(
        target.groups, target.n, target.printed_n(), n_arms, strict=False
    ):
        rep = str(arm.n) if arm is not None else "NA"
        checks.append(_check_value(target, f"n ({group})", printed, rep, pv))
    difference = ""
    pdiff = target.printed_difference()
    if pdiff.printed:
        diff = _difference(target, result, values_result)
        difference = pdiff.format_number(diff / 100.0 if pdiff.percent else diff)
        checks.append(_check_value(target, "difference", target.difference, difference, pdiff))
    p_text = ""
    pp = target.printed_p()
    if pp.printed:
        p_text = pp.format(result.p_value)
        distance = abs(result.p_value - pp.value())
        check = _verdict(target, "p", target.p, p_text, pp.matches(result.p_value), distance)
        inferred_p = str(target.inferred.get("p", ""))
        if check.verdict == NOT_REPRODUCIBLE and inferred_p:
            # a printed P declared wrong (".47" for .047): show the reproduced P at the
            # precision of the value inferred in its place, not rounded to the misprint's
            p_text = PrintedP.parse(inferred_p).format(result.p_value)
            check = replace(check, reproduced=p_text)
        checks.append(check)
    n_tuple = tuple(a.n if a is not None else None for a in n_arms)
    return TargetResult(
        trial,
        target,
        result,
        values_result,
        tuple(values),
        n_tuple,
        difference,
        p_text,
        tuple(checks),
        bundled=bundled,
        cohort_only=tuple(cohort_only),
    )


def brief_block(tr: TargetResult) -> str:
    """One outcome as the practice brief prints it: the published figures exactly as printed.

    A reproduced figure is shown in their place only where it equals the printed one.
    Everything else the reproduction computed is on a last line marked as reproduced:
    the cohort's own values where the paper printed none ("n.s."), and reproduced
    figures that differ from the printed ones (with the reason when declared).
    """
    t = tr.target
    lines = [f"{t.label}:"]
    adjusted = ", adjusted" if t.adjusted else ""
    tail = ""
    if t.p == "not significant":
        tail = f" (not significant{adjusted})"
    elif t.p:
        tail = f" ({p_phrase(t.p)}{adjusted})"
    elif t.adjusted:
        tail = " (adjusted)"
    rows = [
        (GROUP_DISPLAY.get(g, g.capitalize()), v.replace(" %", "%"))
        for g, v in zip(t.groups, t.values, strict=False)
        if v
    ]
    if t.difference:  # as printed; the unit the paper left out goes with the name
        unit = difference_unit(t.difference, t)[len(t.difference) :].strip()
        name = f"Difference ({unit})" if unit else "Difference"
        rows.append((name, t.difference.replace(" %", "%")))
    if not rows:  # only a P value was printed (e.g. an adjusted model)
        text = tail.strip()[1:-1] if tail else "no figure printed"
        lines.append(f"  {text[0].upper()}{text[1:]}")
    for i, (name, value) in enumerate(rows):
        end = tail if i == len(rows) - 1 else ""
        lines.append(f"  {name}: {value}{end}")
    if tr.error is not None:
        lines.append(f"  (not reproduced: {_short(tr.error)})")
    else:
        lines += _brief_remarks(tr)
    return "\n".join(lines)


def _brief_remarks(tr: TargetResult) -> list[str]:
    """The marked lines of a brief block: the cohort's own values, and figures that differ."""
    out: list[str] = []
    if tr.cohort_only:
        values = " vs ".join(v.replace(" %", "%") for v in tr.values if v)
        p = f", {p_phrase(tr.p_value)}" if math.isfinite(tr.p_value) else ""
        out.append(f"  Reproduced, not published (the cohort's own values): {values}{p}")
    for c in tr.checks:
        if c.verdict == MATCH:
            continue
        name = "P" if c.field == "p" else c.field
        shown = p_phrase(c.reproduced) if c.field == "p" else f"{name} {c.reproduced}"
        if c.verdict == NOT_REPRODUCIBLE:
            why = f"not reproducible: {first_sentence(c.reason)}"
        elif c.verdict == WITHIN:
            why = f"within the tolerance of {c.reason.removeprefix('tolerance ')}"
        else:
            why = "differs" + ("; a held-out figure, not re-tuned" if tr.held_out else "")
        out.append(f"  Reproduced: {shown.replace(' %', '%')} (published {c.published}; {why})")
    return out

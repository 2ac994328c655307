"""The words of an evaluation: effects and verdicts as a board member reads them.

A risk difference reads as patients in 100 ("16.8 more patients in 100
reached goal on at least one condition with coaching than with usual care
(95 % CI 1.0 to 32.7 more)"); a difference in changes by its direction and
whether that is better ("the change in HbA1c was 0.77 points lower (better)
with coaching than with usual care"); an interval that crosses zero names
both sides ("from 3.0 fewer to 9.5 more"). Verdicts
(:mod:`coachstats.tasks.evaluate.verdicts`) say on which side the comparison
came down, or why it did not.

Examples
--------
>>> effect_words("composite_any", "risk difference", 0.168, 0.010, 0.327, 0.04)
'16.8 more patients in 100 reached goal on at least one condition with coaching than with usual care (95 % CI 1.0 to 32.7 more; P = .04)'
>>> effect_words("change_hba1c", "mean difference", -0.77, -1.5, 0.05, 0.07)
'the change in HbA1c was 0.77 points lower (better) with coaching than with usual care (95 % CI from 1.50 lower to 0.05 higher; P = .07)'
"""

from __future__ import annotations

import math

from coachstats.compare.proportions import normal_quantile
from coachstats.core.formatting import format_number, format_p, p_phrase
from coachstats.core.vocabulary import BETTER, MEASURE_LABELS
from coachstats.tasks.evaluate.verdicts import Judgement, round_up

__all__ = [
    "CAVEAT",
    "amount",
    "chance_words",
    "effect_words",
    "interval_words",
    "p_words",
    "published_words",
    "reason_words",
    "scale_of",
    "unit_of",
    "value_words",
    "verdict_words",
]

#: What every single-arm figure is, said with it (and the ``caveat`` field of its row).
CAVEAT = (
    "before-after, without a concurrent control group: usual care, secular trends and "
    "regression to the mean are not separated from the effect of coaching"
)

_REACHED = {
    "composite_any": "reached goal on at least one condition",
    "composite_all": "reached goal on every condition uncontrolled at entry",
    "at_goal_hba1c": "reached the HbA1c goal",
    "at_goal_ldl": "reached the LDL goal",
    "at_goal_sbp": "reached the blood-pressure goal",
    "hba1c_drop_ge1": "lowered HbA1c by at least 1 point",
    "hba1c_lt_7_5": "reached HbA1c below 7.5 %",
}
_UNITS = {"hba1c": "points", "sbp": "mm Hg", "ldl": "mg/dL", "bmi": "kg/m\N{SUPERSCRIPT TWO}"}
_DIGITS = {"hba1c": 2, "sbp": 1, "ldl": 1, "bmi": 1}


def _measure(endpoint: str) -> str | None:
    return endpoint.removeprefix("change_") if endpoint.startswith("change_") else None


def unit_of(endpoint: str, estimand: str) -> str:
    """The unit a difference of ``endpoint`` is read in: ``"percentage points"``, ``"mm Hg"``...

    Examples
    --------
    >>> unit_of("composite_any", "risk difference"), unit_of("change_hba1c", "mean difference")
    ('percentage points', 'points')
    """
    if estimand in ("risk difference", "proportion"):
        return "percentage points"
    if estimand == "odds ratio":
        return ""
    m = _measure(endpoint)
    return _UNITS.get(m, "") if m else ""


def scale_of(endpoint: str, estimand: str) -> str:
    """The scale of a row's numbers in the tidy (machine) outputs: ``"proportion"`` for risk
    differences and shares (0.121 is 12.1 percentage points), ``"ratio"`` for odds ratios,
    else the outcome's unit.

    Examples
    --------
    >>> scale_of("composite_any", "risk difference"), scale_of("change_ldl", "mean difference")
    ('proportion', 'mg/dL')
    """
    e = estimand.removeprefix("standardized ")
    if e in ("risk difference", "proportion"):
        return "proportion"
    if e == "odds ratio":
        return "ratio"
    return unit_of(endpoint, "mean difference") or "outcome's unit"


def _digits(endpoint: str) -> int:
    m = _measure(endpoint)
    return _DIGITS.get(m, 2) if m else 1


def interval_words(lo: float, hi: float, digits: int, up: str, down: str) -> str:
    """An interval by its sides: ``"1.0 to 32.7 more"``, ``"from 3.0 fewer to 9.5 more"``.

    Examples
    --------
    >>> interval_words(-3.0, 9.5, 1, "more", "fewer"), interval_words(-5, -1, 1, "more", "fewer")
    ('from 3.0 fewer to 9.5 more', '1.0 to 5.0 fewer')
    """

    def f(x: float) -> str:
        return format_number(abs(x), digits)

    if lo >= 0:
        return f"{f(lo)} to {f(hi)} {up}"
    if hi <= 0:
        return f"{f(hi)} to {f(lo)} {down}"
    return f"from {f(lo)} {down} to {f(hi)} {up}"


def amount(endpoint: str, estimand: str, x: float) -> str:
    """A signed effect in words: ``"16.8 more in 100"``, ``"0.77 points lower"``, ``"OR 1.52"``.

    Examples
    --------
    >>> amount("composite_any", "risk difference", -0.03), amount("change_sbp", "mean difference", 5.7)
    ('3.0 fewer in 100', '5.7 mm Hg higher')
    """
    if not math.isfinite(x):
        return "not estimated"
    if estimand == "odds ratio":
        return f"odds ratio {format_number(x, 2)}"
    if estimand == "risk difference":
        return f"{format_number(abs(100 * x), 1)} {'more' if x >= 0 else 'fewer'} in 100"
    unit = unit_of(endpoint, estimand)
    return f"{format_number(abs(x), _digits(endpoint))} {unit} {'higher' if x >= 0 else 'lower'}"


def _good(endpoint: str, x: float) -> str:
    better = BETTER.get(endpoint)
    if better is None or x == 0:
        return ""
    return " (better)" if (x > 0) == (better == "higher") else " (worse)"


def effect_words(
    endpoint: str,
    estimand: str,
    estimate: float,
    conf_low: float,
    conf_high: float,
    p_value: float,
    *,
    conf_level: float = 0.95,
) -> str:
    """The program's own effect against usual care, in words, with its CI and P."""
    level = f"{100 * conf_level:g} % CI"
    p = p_phrase(p_value) if math.isfinite(p_value) else "P not computed"
    if estimand == "risk difference":
        what = _REACHED.get(endpoint, f"had {endpoint}")
        n = format_number(abs(100 * estimate), 1)
        side = "more" if estimate >= 0 else "fewer"
        ci = interval_words(100 * conf_low, 100 * conf_high, 1, "more", "fewer")
        return f"{n} {side} patients in 100 {what} with coaching than with usual care ({level} {ci}; {p})"
    if estimand == "odds ratio":
        return (
            f"odds ratio {format_number(estimate, 2)} with coaching against usual care "
            f"({level} {format_number(conf_low, 2)} to {format_number(conf_high, 2)}; {p})"
        )
    m = _measure(endpoint)
    name = MEASURE_LABELS.get(m, m or endpoint) if m else endpoint
    d = _digits(endpoint)
    unit = unit_of(endpoint, estimand)
    side = "higher" if estimate >= 0 else "lower"
    ci = interval_words(conf_low, conf_high, d, "higher", "lower")
    return (
        f"the change in {name} was {format_number(abs(estimate), d)} {unit} {side}"
        f"{_good(endpoint, estimate)} with coaching than with usual care ({level} {ci}; {p})"
    )


def chance_words(p_value: float, p_adjusted: float, alpha: float, adjustment: str) -> str:
    """``"; not clearly different from no effect"`` when the adjusted P is not below alpha.

    When only the adjustment for the several outcomes compared makes it so (the
    P printed beside it is below alpha), the sentence says so and gives the
    adjusted P: a reader who sees "P = .02" must not be told "not clearly
    different from no effect" without the reason.

    Examples
    --------
    >>> chance_words(0.62, 0.62, 0.05, "holm"), chance_words(0.001, 0.004, 0.05, "holm")
    ('; not clearly different from no effect', '')
    >>> chance_words(0.02, 0.06, 0.05, "holm")
    '; not clearly different from no effect once adjusted for the several outcomes compared (Holm-adjusted P = .06)'
    >>> chance_words(0.02, 0.0512, 0.05, "holm")[-24:]
    '(Holm-adjusted P = .051)'
    """
    if not (math.isfinite(p_adjusted) and p_adjusted >= alpha):
        return ""
    if math.isfinite(p_value) and p_value < alpha:
        name = adjustment.capitalize()
        shown = p_phrase(format_p(p_adjusted, alpha=alpha))  # .051, not .05
        return (
            "; not clearly different from no effect once adjusted for the several outcomes "
            f"compared ({name}-adjusted {shown})"
        )
    return "; not clearly different from no effect"


def value_words(endpoint: str, estimand: str, x: float, *, unit: bool = True) -> str:
    """A single-arm figure: ``"41.0 %"``, ``"-0.91 points"`` (``unit=False``: the number only).

    Examples
    --------
    >>> value_words("composite_any", "proportion", 0.41), value_words("change_ldl", "mean", -4.25)
    ('41.0 %', '-4.2 mg/dL')
    """
    if estimand == "proportion":
        return f"{format_number(100 * x, 1)}" + (" %" if unit else "")
    text = format_number(x, _digits(endpoint))
    return f"{text} {unit_of(endpoint, 'mean difference')}".strip() if unit else text


def published_words(
    endpoint: str, estimand: str, x: float, lo: float, hi: float, level: str
) -> str:
    """A published effect with its CI: ``"12.1 more in 100, 95 % CI 1.9 to 22.3 more"``.

    Examples
    --------
    >>> published_words("change_hba1c", "mean difference", -0.77, -1.53, -0.01, "95 % CI")
    '0.77 points lower, 95 % CI 0.01 to 1.53 lower'
    """
    if estimand == "odds ratio":
        return f"{amount(endpoint, estimand, x)}, {level} {format_number(lo, 2)} to {format_number(hi, 2)}"
    if estimand == "risk difference":
        ci = interval_words(100 * lo, 100 * hi, 1, "more", "fewer")
    else:
        ci = interval_words(lo, hi, _digits(endpoint), "higher", "lower")
    return f"{amount(endpoint, estimand, x)}, {level} {ci}"


def reason_words(
    j: Judgement, endpoint: str, estimand: str, *, figure: str = "the published figure"
) -> str:
    """Why an ``inconclusive`` comparison did not settle, and what would (empty otherwise).

    ``figure`` names what the program is compared with (``"the pooled estimate"``).

    Examples
    --------
    >>> from coachstats.tasks.evaluate.verdicts import judge
    >>> j = judge(-0.02, 0.06, 0.052, margin=0.121, better="higher", n_program=150)
    >>> reason_words(j, "composite_any", "risk difference")
    'the program is too small to tell; about 510 patients per arm would be needed if the estimate held'
    >>> reason_words(j, "composite_any", "proportion")  # a single-arm program
    'the program is too small to tell; about 510 patients would be needed if the estimate held'
    """
    if j.verdict != "inconclusive":
        return ""
    if math.isinf(j.n_needed):
        if estimand == "odds ratio":
            se = f"SE {j.std_error_published:.2f} on the log scale"
        elif estimand in ("risk difference", "proportion"):
            se = f"SE {100 * j.std_error_published:.1f} percentage points"
        else:
            se = f"SE {j.std_error_published:.2f} {unit_of(endpoint, estimand)}"
        return (
            f"no program size would settle it: {figure}'s own uncertainty ({se}) "
            "is too large to show similarity within the margin, or a difference of the size seen"
        )
    if math.isnan(j.n_needed):
        return "the program's estimate has no standard error"
    # a single-arm program's figure (a proportion or a mean) has no arms to count per
    per = "" if estimand in ("proportion", "mean") else " per arm"
    return (
        f"the program is too small to tell; about {round_up(j.n_needed):,} patients{per} "
        "would be needed if the estimate held"
    )


def p_words(p: float, adjusted: float, adjustment: str, alpha: float | None = None) -> str:
    """A P value with its adjusted value when they differ: ``"P = .02, Holm-adjusted .06"``;
    with ``alpha`` (the verdict's level) the P the verdict rests on shows the digit that
    decides (:func:`~coachstats.core.formatting.format_p`).

    Examples
    --------
    >>> p_words(0.02, 0.06, "holm"), p_words(0.02, 0.02, "none")
    ('P = .02, Holm-adjusted .06', 'P = .02')
    >>> p_words(0.011, 0.0455, "holm", alpha=0.05)
    'P = .01, Holm-adjusted .045'
    """
    if adjustment == "none" or not math.isfinite(adjusted) or adjusted == p:
        return p_phrase(format_p(p, alpha=alpha) if math.isfinite(p) else p)
    name = {"holm": "Holm", "bonferroni": "Bonferroni"}.get(adjustment, adjustment)
    return f"{p_phrase(p)}, {name}-adjusted {format_p(adjusted, alpha=alpha)}"


def verdict_words(
    j: Judgement,
    *,
    against: str,
    endpoint: str,
    estimand: str,
    margin_text: str,
    adjustment: str,
    conf_level: float = 0.95,
) -> str:
    """The verdict of a comparison in words (``against``: "HCPC 2015's effect", ...).

    Differences are printed on the scale compared: points of risk difference, the outcome's
    unit, or a ratio of odds ratios.
    """
    ratio = estimand == "odds ratio"
    z = normal_quantile(conf_level)

    def num(x: float) -> str:
        if ratio:
            return format_number(math.exp(x), 2)
        if estimand in ("risk difference", "proportion"):
            return format_number(100 * x, 1, signed=True)
        return format_number(x, _digits(endpoint), signed=True)

    what = "ratio" if ratio else "difference"
    unit = "" if ratio else f" {unit_of(endpoint, estimand)}"
    d, se = j.difference, j.std_error
    ci = f"{100 * conf_level:g} % CI {num(d - z * se)} to {num(d + z * se)}"
    body = f"{what} {num(d)}{unit}, {ci}; {p_words(j.p_difference, j.p_difference_adjusted, adjustment, j.alpha)}"
    if j.verdict == "larger":
        text = f"larger than {against} ({body}) \N{EM DASH} favours the program"
        if j.within_margin:
            text += f", though by less than the margin ({margin_text})"
        return text
    if j.verdict == "smaller":
        text = f"smaller than {against} ({body}) \N{EM DASH} favours the published trial"
        if j.within_margin:
            text += f", though by less than the margin ({margin_text})"
        return text
    tost_level = f"{100 * (1 - 2 * j.alpha):g} % CI"
    zt = normal_quantile(1 - 2 * j.alpha)
    tost_ci = f"{tost_level} {num(d - zt * se)} to {num(d + zt * se)}"
    if j.verdict == "similar":
        return (
            f"similar to {against}: the {what} ({num(d)}{unit}; {tost_ci}) lies within the "
            f"margin of {margin_text} (equivalence "
            f"{p_words(j.p_equivalence, j.p_equivalence_adjusted, adjustment, j.alpha)})"
        )
    return (
        f"inconclusive ({body}; neither a difference from {against} nor similarity within "
        f"{margin_text} is shown): {reason_words(j, endpoint, estimand)}"
    )

r"""Verdicts: how a program's effect compares with a published one, by direction and margin.

Every comparison ends in one of :data:`~coachstats.core.vocabulary.VERDICTS`,
judged in the outcome's better direction (:data:`~coachstats.core.vocabulary.BETTER`):

* ``larger`` / ``smaller``: the program's effect is larger / smaller than the
  published one beyond chance -- the two-sided test of the difference has an
  adjusted P below :math:`\alpha` (without adjustment: its :math:`1-\alpha`
  interval excludes 0);
* ``similar``: the two effects are equivalent within the margin :math:`m` --
  the two one-sided tests (TOST; Schuirmann 1987) of :math:`H_0: d \le -m`
  and :math:`H_0: d \ge m` both reject, i.e. the TOST P
  :math:`\max(p_-, p_+)`, adjusted, is below :math:`\alpha` (without
  adjustment: the :math:`1-2\alpha` interval of the difference lies inside
  :math:`(-m, m)`);
* ``inconclusive``: neither, and the sentence says why and about how many
  patients per arm would settle it (:func:`n_per_arm_needed`).

``larger`` and ``smaller`` take precedence over ``similar`` (a difference
beyond chance but inside the margin is reported as the direction, "by less
than the margin"). ``larger`` favours the program, ``smaller`` the published
trial, the others neither: a better result is never a failure.

**Margins** (:func:`default_margin`). By default the margin is the size of
the published effect itself, :math:`m = |\hat\theta_{pub}|` on the scale
compared (risk difference, log odds ratio, mean difference): "similar" then
means that the program's effect is closer to the published effect than the
published effect is to no effect. A program without any effect lies on the
margin, so the TOST keeps its chance of being called similar at or below
:math:`\alpha` at any sample size. For changes in a lab value the margin is
never below the smallest difference that matters clinically
(:data:`CLINICAL_DIFFERENCES`: HbA1c 0.3 points, SBP 5 mm Hg, LDL 10 mg/dL),
so a published effect near zero is not turned into an impossibly narrow
margin. ``margins=`` (``--margin``) sets any of them.

**Multiplicity** (:func:`adjust`). The P values of a family of comparisons --
the primary comparisons of an evaluation -- are adjusted together, Holm by
default (:data:`ADJUSTMENTS`): the difference tests, the TOST P values and the
program's own P values each as a family.

References
----------
Schuirmann DJ. A comparison of the two one-sided tests procedure and the power
approach for assessing the equivalence of average bioavailability. J
Pharmacokinet Biopharm 1987;15:657-680.
Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat
1979;6:65-70.

Examples
--------
A program 28.9 points better than usual care against HCPC's 12.1 (SE 5.2):

>>> j = judge(0.289 - 0.121, 0.05, 0.052, margin=0.121, better="higher")
>>> j.verdict, j.favours, round(j.p_difference, 3)
('larger', 'program', 0.02)
>>> [judge(0.0 - 0.121, se, 0.052, margin=0.121, better="higher").verdict for se in (0.05, 0.02)]
['inconclusive', 'smaller']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

import numpy as np
from scipy import special

from coachstats.compare.multiplicity import adjust_pvalues
from coachstats.core.errors import OptionError, check_option
from coachstats.core.formatting import format_p
from coachstats.core.vocabulary import BETTER, Favours, Verdict
from coachstats.core.vocabulary import CLINICAL_DIFFERENCES as MEASURE_CLINICAL_DIFFERENCES

__all__ = [
    "ADJUSTMENTS",
    "CLINICAL_DIFFERENCES",
    "POWER",
    "Adjustment",
    "Judgement",
    "Margin",
    "adjust",
    "adjustment_text",
    "check_margins",
    "default_margin",
    "judge",
    "n_per_arm_needed",
    "round_up",
    "tost_p",
]

Adjustment = Literal["holm", "bonferroni", "none"]
#: Multiplicity adjustments of the verdicts (``"none"``: each comparison at alpha on its own).
ADJUSTMENTS: tuple[str, ...] = get_args(Adjustment)
#: Power assumed by :func:`n_per_arm_needed`: 0.5, the size at which the present estimate,
#: if it held, would just settle the comparison (a higher power needs more).
POWER = 0.5

#: Smallest differences that matter clinically, per change endpoint (floor of the default
#: margin): :data:`coachstats.core.vocabulary.CLINICAL_DIFFERENCES` of each measure.
CLINICAL_DIFFERENCES: Mapping[str, tuple[float, str]] = MappingProxyType(
    {f"change_{m}": value for m, value in MEASURE_CLINICAL_DIFFERENCES.items()}
)


@dataclass(frozen=True)
class Margin:
    """An equivalence margin: ``value`` (> 0) on the scale compared, and why it was chosen.

    ``scale`` is ``"difference"`` or ``"log ratio"`` (odds ratios are compared on the log
    scale: a margin of ``log(1.5)`` accepts ratios of odds ratios from 1/1.5 to 1.5).
    """

    value: float
    reason: str
    scale: str = "difference"
    user: bool = False

    def text(self, unit: str = "") -> str:
        """The margin as read: ``"±12.1 percentage points"``, ``"ratio 0.67 to 1.50"``."""
        if self.scale == "log ratio":
            hi = math.exp(self.value)
            return f"ratio {1 / hi:.2f} to {hi:.2f}"
        if unit == "percentage points":
            return f"\N{PLUS-MINUS SIGN}{100 * self.value:.1f} percentage points"
        return f"\N{PLUS-MINUS SIGN}{self.value:.3g}" + (f" {unit}" if unit else "")


def default_margin(
    endpoint: str, published: float, *, log_scale: bool = False, single_arm: bool = False
) -> Margin:
    """The default equivalence margin of a comparison with a published effect (module docstring).

    Parameters
    ----------
    endpoint : str
        The endpoint compared (``composite_any``, ``change_hba1c``...).
    published : float
        The published effect on the scale compared (log odds ratio with ``log_scale``).
    log_scale : bool
        The comparison is of log odds ratios.
    single_arm : bool
        The comparison is of a single-arm figure with the published coaching
        arm; ``published`` is then the effect between the published arms.

    Examples
    --------
    >>> m = default_margin("composite_any", 0.121)
    >>> m.value, m.reason.split(":")[0]
    (0.121, 'the size of the published effect')
    >>> default_margin("change_ldl", -0.9).value
    10.0
    """
    size = abs(float(published))
    reason = (
        "the size of the published effect: a program within it is closer to the published "
        "effect than the published effect is to none, and a program without effect lies on the "
        "margin, so it is called similar in at most alpha of evaluations"
        if not single_arm
        else "the published effect (coaching minus usual care): a program within it is closer to "
        "the coaching arm than the coaching arm is to usual care, and a program doing as well as "
        "usual care lies on the margin, so it is called similar in at most alpha of evaluations"
    )
    floor = CLINICAL_DIFFERENCES.get(endpoint)
    if floor is not None and not log_scale and floor[0] > size:
        return Margin(
            floor[0],
            f"the smallest difference that matters clinically, {floor[1]}, larger "
            f"than the published effect ({size:.3g})",
        )
    if not math.isfinite(size) or size == 0.0:
        raise OptionError(
            f"{endpoint}: the published effect is {published!r}, so it gives no margin; set one "
            f"with margins={{'{endpoint}': ...}} (--margin {endpoint}=...)"
        )
    return Margin(size, reason, "log ratio" if log_scale else "difference")


def check_margins(margins: Mapping[str, float] | None) -> dict[str, float]:
    """Validate user margins: endpoint names with a better direction, positive finite values.

    Binary endpoints take the margin as a proportion (0.08 for 8 percentage points).

    Raises
    ------
    OptionError
        An unknown endpoint, or a value that is not a positive number (below 1 for shares).

    Examples
    --------
    >>> check_margins({"composite_any": 0.08, "change_hba1c": 0.4})
    {'composite_any': 0.08, 'change_hba1c': 0.4}
    """
    out: dict[str, float] = {}
    for key, value in (margins or {}).items():
        check_option("margin endpoint", key, tuple(BETTER))
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        share = not key.startswith("change_")
        if not math.isfinite(v) or v <= 0 or (share and v >= 1):
            what = (
                "a proportion between 0 and 1 (0.08 for 8 percentage points)"
                if share
                else ("a positive number in the outcome's unit")
            )
            raise OptionError(f"margin for {key}: {value!r} must be {what}")
        out[key] = v
    return out


def tost_p(difference: float, std_error: float, margin: float) -> float:
    r"""P value of the two one-sided tests of equivalence within ``(-margin, margin)``.

    :math:`\max\{1 - \Phi((d + m)/SE),\ \Phi((d - m)/SE)\}`.

    Examples
    --------
    >>> round(tost_p(0.0, 0.05, 0.121), 4)
    0.0078
    """
    if not (std_error > 0 and math.isfinite(std_error)):
        return math.nan
    lower = float(special.ndtr(-(difference + margin) / std_error))
    upper = float(special.ndtr((difference - margin) / std_error))
    return max(lower, upper)


def adjust(pvalues: Sequence[float], method: Adjustment = "holm") -> list[float]:
    """Adjusted P values of one family (NaN stays NaN and does not count).

    Examples
    --------
    >>> adjust([0.01, 0.04, float("nan")]), adjust([0.01, 0.04], "none")
    ([0.02, 0.04, nan], [0.01, 0.04])
    """
    check_option("adjust", method, ADJUSTMENTS)
    p = [float(x) for x in pvalues]
    if method == "none" or not p:
        return p
    return [float(x) for x in adjust_pvalues(np.asarray(p), method=method)]


def adjustment_text(method: Adjustment, k: int, alpha: float) -> str:
    """How the verdicts were adjusted, for the output: ``"Holm-adjusted across 4 comparisons"``.

    Examples
    --------
    >>> adjustment_text("holm", 4, 0.05)
    'P values Holm-adjusted across 4 comparisons, alpha = .05'
    """
    a = format_p(alpha)
    if method == "none" or k <= 1:
        return f"P values not adjusted for multiplicity, alpha = {a}"
    name = {"holm": "Holm", "bonferroni": "Bonferroni"}[method]
    return f"P values {name}-adjusted across {k} comparisons, alpha = {a}"


@dataclass(frozen=True)
class Judgement:
    """The verdict of one comparison and what it rests on.

    ``difference`` is program minus published on the scale compared, ``std_error`` its SE;
    ``p_difference`` / ``p_equivalence`` the two-sided difference test and the TOST P, and
    ``*_adjusted`` the same after the family's adjustment. For an ``inconclusive``
    verdict ``n_needed`` is about how many patients per arm would settle it
    (:func:`n_per_arm_needed`; infinite when no size would: the published SE
    ``std_error_published`` alone is too large).
    """

    verdict: Verdict
    favours: Favours
    difference: float
    std_error: float
    margin: float
    p_difference: float
    p_equivalence: float
    p_difference_adjusted: float
    p_equivalence_adjusted: float
    alpha: float
    better: Literal["higher", "lower"]
    std_error_published: float = math.nan
    n_needed: float = math.nan

    @property
    def within_margin(self) -> bool:
        """The equivalence test also rejects (a ``larger``/``smaller`` verdict inside the margin)."""
        return self.p_equivalence_adjusted < self.alpha


def judge(
    difference: float,
    std_error_program: float,
    std_error_published: float,
    *,
    margin: float,
    better: Literal["higher", "lower"],
    alpha: float = 0.05,
    p_difference_adjusted: float | None = None,
    p_equivalence_adjusted: float | None = None,
    n_program: float = math.nan,
    alpha_needed: float | None = None,
) -> Judgement:
    """The verdict of a program-minus-published ``difference`` (module docstring).

    Parameters
    ----------
    difference : float
        Program minus published effect, on the scale compared.
    std_error_program, std_error_published : float
        The two (independent) standard errors; the difference's SE is their root sum of squares.
    margin : float
        Equivalence margin (> 0), same scale.
    better : {"higher", "lower"}
        The outcome's better direction: a difference in that direction is ``larger``.
    alpha : float
        Significance level.
    p_difference_adjusted, p_equivalence_adjusted : float, optional
        The adjusted P values (default: the unadjusted ones).
    n_program : float
        Patients per arm behind ``std_error_program`` (for :func:`n_per_arm_needed`).
    alpha_needed : float, optional
        The level :func:`n_per_arm_needed` plans for (default ``alpha``; with an
        adjustment, the strictest level it may ask).
    """
    se = math.hypot(std_error_program, std_error_published)
    if se > 0 and math.isfinite(se) and math.isfinite(difference):
        p_diff = float(2 * special.ndtr(-abs(difference) / se))
    else:
        p_diff = math.nan
    p_eq = tost_p(difference, se, margin)
    pd_adj = p_diff if p_difference_adjusted is None else p_difference_adjusted
    pe_adj = p_eq if p_equivalence_adjusted is None else p_equivalence_adjusted
    sign = 1.0 if better == "higher" else -1.0
    oriented = sign * difference
    verdict: Verdict
    if pd_adj < alpha:
        verdict = "larger" if oriented > 0 else "smaller"
    elif pe_adj < alpha:
        verdict = "similar"
    else:
        verdict = "inconclusive"
    favours: Favours = {"larger": "program", "smaller": "published"}.get(verdict, "neither")  # type: ignore[assignment]
    n_needed = math.nan
    if verdict == "inconclusive":
        n_needed = n_per_arm_needed(
            difference,
            std_error_program,
            std_error_published,
            margin,
            n_program,
            alpha if alpha_needed is None else alpha_needed,
        )
    return Judgement(
        verdict,
        favours,
        float(difference),
        se,
        float(margin),
        p_diff,
        p_eq,
        float(pd_adj),
        float(pe_adj),
        float(alpha),
        better,
        float(std_error_published),
        n_needed,
    )


def n_per_arm_needed(
    difference: float,
    std_error_program: float,
    std_error_published: float,
    margin: float,
    n_program: float,
    alpha: float = 0.05,
    power: float = POWER,
) -> float:
    r"""About how many patients per arm would settle an inconclusive comparison.

    Assuming the difference stays at its estimate :math:`d`: equivalence needs
    :math:`SE_d \le (m - |d|)/(z_{1-\alpha} + z_{power})` (when :math:`|d| < m`),
    a difference :math:`SE_d \le |d|/(z_{1-\alpha/2} + z_{power})`; the easier
    of the two is taken. The program's SE shrinks as :math:`1/\sqrt{n}` from
    its present ``n_program`` per arm; the published SE does not shrink, so
    when it alone exceeds the target the answer is infinite (no program size
    would do). NaN without a present size.

    Examples
    --------
    >>> round(n_per_arm_needed(-0.02, 0.06, 0.052, 0.121, 150))
    506
    >>> n_per_arm_needed(-0.02, 0.06, 0.052, 0.05, 150)
    inf
    """
    if not (math.isfinite(n_program) and n_program > 0 and std_error_program > 0):
        return math.nan
    z_pow = float(special.ndtri(power))
    d = abs(difference)
    targets = [d / (float(special.ndtri(1 - alpha / 2)) + z_pow)] if d > 0 else []
    if d < margin:
        targets.append((margin - d) / (float(special.ndtri(1 - alpha)) + z_pow))
    target = max(targets) if targets else 0.0
    room = target**2 - std_error_published**2
    if room <= 0:
        return math.inf
    return float(n_program * std_error_program**2 / room)


def round_up(n: float) -> int:
    """A patient count for a sentence: up to two significant digits (1105 -> 1200), at least 10.

    Examples
    --------
    >>> round_up(1105), round_up(3.2)
    (1200, 10)
    """
    n = max(n, 10.0)
    step = 10 ** max(math.floor(math.log10(n)) - 1, 0)
    return int(math.ceil(n / step) * step)

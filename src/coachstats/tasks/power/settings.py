"""Options of the power calculations: test settings, design inflation, rounding.

The checks every solver shares (:func:`check_settings`, :func:`check_design`)
in the order their errors are reported, the constants that name the methods,
and :func:`ceil_count`, the rounding up of each stage of a sample size.

Examples
--------
>>> s = check_settings(None, 0.8, 0.05, 1.0, "two-sided", None, "pooled", PROPORTION_METHODS)
>>> s.alpha, s.sides, s.strict
(0.05, 2, False)
>>> check_design(0.05, 10, 0.0, 0.2).effect
1.45
>>> ceil_count(257.0000000001)
257
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from coachstats.compare.clustering import design_effect
from coachstats.core.errors import CoachstatsWarning, OptionError, check_number, check_option

__all__ = [
    "ALTERNATIVES",
    "CLUSTERED",
    "METHOD_TEXT",
    "N_MAX",
    "PROPORTION_METHODS",
    "ROUND_SLACK",
    "STRICT_DEFAULT",
    "Alternative",
    "Clustered",
    "Design",
    "PowerWarning",
    "ProportionMethod",
    "Settings",
    "ceil_count",
    "check_design",
    "check_settings",
    "open_unit",
    "positive",
    "sides_of",
]

Alternative = Literal["two-sided", "one-sided"]
ProportionMethod = Literal["pooled", "arcsine"]
Clustered = Literal["both", "group 1"]

ALTERNATIVES: tuple[str, ...] = ("two-sided", "one-sided")
PROPORTION_METHODS: tuple[str, ...] = ("pooled", "arcsine")
#: Which groups are clustered: both (cluster-randomized or coached in both arms) or group 1
#: only (a partially nested design: coaches in the coaching arm, none in usual care).
CLUSTERED: tuple[str, ...] = ("both", "group 1")

METHOD_TEXT = {
    "pooled": "normal approximation, pooled variance under H0 (as R power.prop.test)",
    "arcsine": "arcsine transformation, Cohen's h (as pwr::pwr.2p2n.test)",
    "t": "noncentral t (as R power.t.test and pwr::pwr.t2n.test)",
}
# The reference implementation's default for counting the far tail of a two-sided test.
STRICT_DEFAULT = {"pooled": False, "arcsine": True, "t": False}

#: Beyond this many patients per group a design is not a design.
N_MAX = 1e12  # beyond this many patients per group a design is not a design
#: Relative slack that absorbs floating-point error before rounding up.
ROUND_SLACK = 1e-9  # relative; absorbs floating-point error before rounding up


class PowerWarning(CoachstatsWarning):
    """The requested power is reached at the smallest sample the test allows."""


def open_unit(name: str, value: object) -> float:
    """``value`` as a float strictly between 0 and 1 (:class:`OptionError` otherwise).

    A value between 1 and 100 is probably a percentage: the error says so.

    Examples
    --------
    >>> open_unit("p1", 0.46)
    0.46
    >>> open_unit("p1", 46)
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: p1 must be strictly between 0 and 1 (a proportion), got 46; did you mean 0.46 (46 %)?
    """
    x = check_number(name, value)
    if not 0.0 < x < 1.0:
        hint = f"; did you mean {x / 100:g} ({x:g} %)?" if 1.0 < x < 100.0 else ""
        raise OptionError(
            f"{name} must be strictly between 0 and 1 (a proportion), got {value!r}{hint}"
        )
    return x


def positive(name: str, value: object) -> float:
    """``value`` as a float > 0 (:class:`OptionError` otherwise)."""
    x = check_number(name, value)
    if x <= 0.0:
        raise OptionError(f"{name} must be > 0, got {value!r}")
    return x


class Settings(NamedTuple):
    """The test settings both designs share (the tail of
    :class:`~coachstats.tasks.power.engines.PowerTest`'s fields)."""

    alpha: float
    sides: int
    strict: bool
    ratio: float


def sides_of(alternative: str) -> int:
    """2 for a two-sided test, 1 for a one-sided one."""
    return 2 if alternative == "two-sided" else 1


def check_settings(
    n: object,
    power: object,
    alpha: object,
    ratio: object,
    alternative: str,
    strict: bool | None,
    method: str,
    methods: Sequence[str],
) -> Settings:
    """Check the options both designs share, in the order the errors are reported.

    ``methods`` are the allowed values of ``method`` (``("t",)`` for two means).
    """
    if (n is None) == (power is None):
        given = "both" if n is not None else "neither"
        raise OptionError(
            f"give exactly one of n (to compute the power) or power (to compute the sample "
            f"size); {given} given"
        )
    check_option("method", method, methods)
    check_option("alternative", alternative, ALTERNATIVES)
    a = open_unit("alpha", alpha)
    r = positive("ratio", ratio)
    if strict is not None and not isinstance(strict, (bool, np.bool_)):
        raise OptionError(f"strict must be True, False or None, got {strict!r}")
    s = STRICT_DEFAULT[method] if strict is None else bool(strict)
    return Settings(a, sides_of(alternative), s, r)


@dataclass(frozen=True)
class Design:
    """Inflation from the effective sample to patients analysed and enrolled."""

    icc: float = 0.0
    cluster_size: float | None = None
    cluster_cv: float = 0.0
    attrition: float = 0.0
    effect: float = 1.0  # the design effect
    clustered: str = "both"
    variance_ratio: float = 1.0  # group 2's outcome variance over group 1's (partial nesting)

    @property
    def partial(self) -> bool:
        """Only group 1 is clustered (the design effect applies to it alone)."""
        return self.clustered == "group 1"

    def group_effects(self) -> tuple[float, float]:
        """Analysed patients per effective patient in each group.

        Both groups clustered: the design effect for each. Group 1 only: the
        design effect for group 1; for group 2 the ratio of its outcome
        variance to group 1's (1 for proportions), which puts both groups on
        group 1's variance scale.
        """
        if self.partial:
            return self.effect, self.variance_ratio
        return self.effect, self.effect

    def effective_ratio(self, ratio: float) -> float:
        """Effective :math:`n_2/n_1` of the test for ``ratio`` analysed patients."""
        de1, de2 = self.group_effects()
        return ratio * de1 / de2


def check_design(
    icc: object,
    cluster_size: object,
    cluster_cv: object,
    attrition: object,
    clustered: str = "both",
    variance_ratio: float = 1.0,
) -> Design:
    """Check the design options and compute the design effect (1 without clustering).

    ``clustered="group 1"`` (a partially nested design) applies it to group 1
    only; ``variance_ratio`` is then group 2's outcome variance over group 1's.
    """
    check_option("clustered", clustered, CLUSTERED)
    rho = check_number("icc", icc)
    cv = check_number("cluster_cv", cluster_cv)
    lost = check_number("attrition", attrition)
    if not 0.0 <= lost < 1.0:
        raise OptionError(
            f"attrition (share lost to follow-up) must be in [0, 1), got {attrition!r}"
        )
    if cluster_size is None:
        if rho != 0.0 or cv != 0.0:
            raise OptionError(
                "cluster_size (mean analysed patients per cluster, e.g. a coach's caseload) is "
                "required when icc or cluster_cv is given"
            )
        if clustered != "both":
            raise OptionError(
                f"clustered={clustered!r} needs cluster_size and icc (the clustered group's "
                "coaches or clinics)"
            )
        return Design(rho, None, cv, lost, 1.0)
    size = check_number("cluster_size", cluster_size)
    de = design_effect(rho, size, cluster_cv=cv)
    return Design(rho, size, cv, lost, de, clustered, variance_ratio)


def ceil_count(x: float) -> int:
    """Round up, taking values within floating-point error of an integer as that integer."""
    return math.ceil(x - ROUND_SLACK * max(1.0, abs(x)))

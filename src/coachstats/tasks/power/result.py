"""The result of a power calculation, and the step that produces it from a test and a design.

:class:`PowerResult` holds the sample size or the power with each stage of
the inflation (effective, analysed after the design effect, enrolled after
attrition); :func:`solve_design` solves a
:class:`~coachstats.tasks.power.engines.PowerTest` for n or power and applies
the design.

Examples
--------
>>> from coachstats.tasks.power.engines import proportion_test
>>> from coachstats.tasks.power.settings import Settings, check_design
>>> test = proportion_test(0.464, 0.343, "pooled", Settings(0.05, 2, False, 1.0))
>>> r = solve_design(test, None, 0.8, check_design(0.05, 10, 0.0, 0.2), outcome="",
...                  effect=0.121, effect_size=0.2458, p1=0.464, p2=0.343)
>>> r.n_required, r.n1_enrolled
((257, 257), 467)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from coachstats.core.errors import AnalysisError
from coachstats.core.results import TidyResult
from coachstats.tasks.power.engines import PowerTest
from coachstats.tasks.power.settings import (
    METHOD_TEXT,
    N_MAX,
    Design,
    ceil_count,
    open_unit,
    positive,
)

__all__ = ["PowerResult", "solve_design"]


@dataclass(frozen=True)
class PowerResult(TidyResult):
    """Sample size or power of a two-group comparison, with its design inflation.

    Attributes
    ----------
    test : str
        ``"two proportions"`` or ``"two means"``.
    method : str
        ``"pooled"``, ``"arcsine"`` or ``"t"`` (see :data:`METHOD_TEXT`).
    solved_for : str
        ``"n"`` (``power`` was given) or ``"power"`` (``n`` was given).
    power : float
        The target power, or the computed one.
    n1, n2 : float
        Effective size of each group: what an individually randomized trial with
        complete follow-up needs (unrounded; R's ``n``). ``n2 = ratio * n1``.
    n1_analysed, n2_analysed, n1_enrolled, n2_enrolled : float
        Patients analysed (after the design effect) and enrolled (after
        attrition) per group. When solving for n they are whole numbers, each
        stage rounded up from the previous one's rounded value; when ``n`` was
        given, ``n1_enrolled`` is that n and the rest follow unrounded.
    clusters1, clusters2 : float
        Clusters per group, ``n_analysed / cluster_size`` (rounded up when
        solving for n); NaN without ``cluster_size``.
    alpha, alternative, strict, ratio
        Test settings: ``strict`` counts the far tail of a two-sided test.
    effect, effect_name, effect_size, effect_size_name
        The raw effect (risk difference or mean difference, group 1 minus
        group 2) and the standardized one (Cohen's h or d).
    p1, p2, delta, sd : float
        Inputs (NaN when not applicable).
    icc, cluster_size, cluster_cv, design_effect, attrition
        Design inputs and the design effect.
    at_minimum : bool
        The target power is reached at the smallest sample the test allows
        (a :class:`PowerWarning` was raised).
    outcome : str
        Label of the outcome (e.g. from :func:`published_effect`).
    basis : tuple of str
        Where the inputs come from and what they assume, printed under them by
        :meth:`summary` (a published effect: the paper, how the inputs follow from
        its printed figures, and that the plan takes its estimate as the true effect).
    """

    test: str
    method: str
    solved_for: str
    power: float
    n1: float
    n2: float
    n1_analysed: float
    n2_analysed: float
    n1_enrolled: float
    n2_enrolled: float
    clusters1: float
    clusters2: float
    alpha: float
    alternative: str
    strict: bool
    ratio: float
    effect: float
    effect_name: str
    effect_size: float
    effect_size_name: str
    p1: float = math.nan
    p2: float = math.nan
    delta: float = math.nan
    sd: float = math.nan
    icc: float = 0.0
    cluster_size: float | None = None
    cluster_cv: float = 0.0
    design_effect: float = 1.0
    attrition: float = 0.0
    at_minimum: bool = False
    outcome: str = ""
    clustered: str = "both"
    sd2: float = math.nan
    basis: tuple[str, ...] = ()

    @property
    def n_required(self) -> tuple[int, int] | None:
        """Effective n per group rounded up (before any inflation); None when n was given."""
        if self.solved_for != "n":
            return None
        return ceil_count(self.n1), ceil_count(self.n2)

    @property
    def n_enrolled(self) -> float:
        """Patients to enrol in both groups."""
        return self.n1_enrolled + self.n2_enrolled

    @property
    def label(self) -> str:
        """The outcome label, or a description of the effect."""
        if self.outcome:
            return self.outcome
        if self.test == "two proportions":
            return f"{_pct(self.p1)} vs {_pct(self.p2)}"
        return f"difference {self.delta:.3g} (SD {self.sd:.3g})"

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the tidy row of :meth:`to_frame`."""
        req = self.n_required
        return {
            "outcome": self.outcome,
            "test": self.test,
            "method": self.method,
            "solved_for": self.solved_for,
            "p1": self.p1,
            "p2": self.p2,
            "delta": self.delta,
            "sd": self.sd,
            "effect_name": self.effect_name,
            "effect": self.effect,
            "effect_size_name": self.effect_size_name,
            "effect_size": self.effect_size,
            "alpha": self.alpha,
            "alternative": self.alternative,
            "strict": self.strict,
            "power": self.power,
            "ratio": self.ratio,
            "n1": self.n1,
            "n2": self.n2,
            "n1_required": req[0] if req else pd.NA,
            "n2_required": req[1] if req else pd.NA,
            "icc": self.icc,
            "cluster_size": self.cluster_size if self.cluster_size is not None else math.nan,
            "cluster_cv": self.cluster_cv,
            "design_effect": self.design_effect,
            "n1_analysed": self.n1_analysed,
            "n2_analysed": self.n2_analysed,
            "clusters1": self.clusters1,
            "clusters2": self.clusters2,
            "clustered": self.clustered,
            "sd2": self.sd2,
            "attrition": self.attrition,
            "n1_enrolled": self.n1_enrolled,
            "n2_enrolled": self.n2_enrolled,
            "n_enrolled": self.n_enrolled,
        }

    def summary(self) -> str:
        """Human-readable multi-line summary (the inflation steps shown one per line)."""
        head = "Sample size" if self.solved_for == "n" else "Power"
        lines = [f"{head}: {self.test}, {METHOD_TEXT[self.method]}"]
        if self.outcome:
            lines.append(f"  outcome: {self.outcome}")
        if self.test == "two proportions":
            inputs = f"p1 = {self.p1:.4g}, p2 = {self.p2:.4g}"
        else:
            inputs = f"difference = {self.delta:.4g}, SD = {self.sd:.4g}"
            if not math.isnan(self.sd2):
                inputs += f" (group 2: {self.sd2:.4g})"
        lines.append(
            f"  {inputs}: {self.effect_name} {self.effect:.4g}, "
            f"{self.effect_size_name} {self.effect_size:.4g}"
        )
        lines += [f"  {line}" for line in self.basis]
        tails = " (far tail counted)" if self.strict and self.alternative == "two-sided" else ""
        lines.append(
            f"  alpha = {self.alpha:g}, {self.alternative}{tails}; "
            f"allocation 1:{self.ratio:g} (group 2 = {self.ratio:g} x group 1)"
        )
        clustered = self.cluster_size is not None
        cluster_text = self._design_effect_text() if clustered else ""
        req = self.n_required
        if req is not None:
            lines.append(f"  power = {self.power:.4g}")
            lines.append(f"  n per group (unrounded): {self.n1:.2f} and {self.n2:.2f}")
            lines.append(f"  required, rounded up: {_pair(*req)}")
            if clustered:
                where = (
                    f"in {self.clusters1:.0f} clusters in group 1, group 2 unclustered"
                    if self.clustered == "group 1"
                    else f"in {self.clusters1:.0f} + {self.clusters2:.0f} clusters"
                )
                lines.append(
                    f"  {cluster_text}: {_pair(self.n1_analysed, self.n2_analysed)} analysed, "
                    f"{where}"
                )
            if self.attrition:
                lines.append(
                    f"  attrition {100 * self.attrition:g}%: "
                    f"{_pair(self.n1_enrolled, self.n2_enrolled)} enrolled"
                )
            if self.at_minimum:
                lines.append(
                    "  (the target power is reached at the smallest sample the test allows)"
                )
        else:
            lines.append(f"  enrolled: {_pair(self.n1_enrolled, self.n2_enrolled)}")
            if self.attrition:
                lines.append(
                    f"  attrition {100 * self.attrition:g}%: "
                    f"{_pair(self.n1_analysed, self.n2_analysed)} analysed"
                )
            if clustered:
                lines.append(f"  {cluster_text}: effective n {_pair(self.n1, self.n2)}")
            lines.append(f"  power = {self.power:.4f}")
        return "\n".join(lines)

    def _design_effect_text(self) -> str:
        m, rho, de = self.cluster_size, self.icc, self.design_effect
        where = " on group 1 only (partially nested)" if self.clustered == "group 1" else ""
        if self.cluster_cv:
            return (
                f"design effect{where} 1 + ((1 + {self.cluster_cv:g}^2) x {m:g} - 1) x {rho:g} "
                f"= {de:.4g}"
            )
        return f"design effect{where} 1 + ({m:g} - 1) x {rho:g} = {de:.4g}"

    def __repr__(self) -> str:
        if self.solved_for == "n":
            what = f"n = {_pair(self.n1_enrolled, self.n2_enrolled)} enrolled"
            if self.design_effect != 1.0 or self.attrition:
                req = self.n_required or (0, 0)
                what += f" ({_pair(*req)} before inflation)"
            what += f" for power {self.power:.3g}"
        else:
            what = (
                f"power {self.power:.4f} with {_pair(self.n1_enrolled, self.n2_enrolled)} enrolled"
            )
        assumed = next((b for b in self.basis if b.startswith("assumed: ")), "")
        effect = f"; {self.outcome}" if self.outcome else ""
        if assumed:  # a published effect: the plan's one assumption, said where it is used
            effect += f" ({assumed.partition('(')[0].strip()})"
        return (
            f"<PowerResult {self.test} ({self.method}): {what}; "
            f"{self.effect_size_name} {self.effect_size:.3g}, alpha {self.alpha:g} "
            f"{self.alternative}{effect}>"
        )


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def _pair(a: float, b: float) -> str:
    return f"{_num(a)} + {_num(b)} = {_num(a + b)}"


# the test, its effect and its standardized effect, by design
_NAMES = {
    "proportions": ("two proportions", "risk difference", "Cohen's h"),
    "means": ("two means", "mean difference", "Cohen's d"),
}


def solve_design(
    test: PowerTest,
    n: object,
    power: object,
    design: Design,
    *,
    outcome: str,
    effect: float,
    effect_size: float,
    **inputs: float,
) -> PowerResult:
    """Solve ``test`` for n or power, and apply the design effect and attrition.

    ``effect`` (raw) and ``effect_size`` (standardized) are named after the
    test; ``inputs`` are the design's own (``p1``, ``p2`` or ``delta``, ``sd``).
    """
    kind, effect_name, effect_size_name = _NAMES["means" if test.method == "t" else "proportions"]
    de = design.effect
    de1, de2 = design.group_effects()
    keep = 1.0 - design.attrition
    ratio = test.ratio  # effective n2 / n1 of the test
    size = design.cluster_size
    if power is not None:
        target = open_unit("power", power)
        n1, at_min = test.solve(target)
        if n1 > N_MAX:
            raise AnalysisError(
                f"{n1:.3g} patients per group would be needed; the effect is too small to plan for"
            )
        n2 = ratio * n1
        analysed: list[float] = [ceil_count(ceil_count(n1) * de1), ceil_count(ceil_count(n2) * de2)]
        enrolled: list[float] = [ceil_count(x / keep) for x in analysed]
        clusters: list[float] = [
            ceil_count(x / size) if size is not None else math.nan for x in analysed
        ]
        if design.partial:
            clusters[1] = math.nan
        solved, value = "n", target
    else:
        given = positive("n", n)
        enrolled = [given, ratio * de2 / de1 * given]
        analysed = [x * keep for x in enrolled]
        n1, n2 = analysed[0] / de1, analysed[1] / de2
        if test.method == "t" and min(n1, n2) < 2.0:
            raise AnalysisError(
                f"n={given:g} enrolled in group 1 leaves an effective {n1:.3g} + {n2:.3g} "
                "patients after attrition and the design effect; the t test needs at least 2 "
                "per group"
            )
        clusters = [x / size if size is not None else math.nan for x in analysed]
        if design.partial:
            clusters[1] = math.nan
        solved, value, at_min = "power", float(test.power(n1)), False
    return PowerResult(
        test=kind,
        method=test.method,
        solved_for=solved,
        power=value,
        n1=float(n1),
        n2=float(n2),
        n1_analysed=analysed[0],
        n2_analysed=analysed[1],
        n1_enrolled=enrolled[0],
        n2_enrolled=enrolled[1],
        clusters1=clusters[0],
        clusters2=clusters[1],
        alpha=test.alpha,
        alternative="two-sided" if test.sides == 2 else "one-sided",
        strict=test.strict,
        ratio=ratio * de2 / de1,
        icc=design.icc,
        cluster_size=design.cluster_size,
        cluster_cv=design.cluster_cv,
        design_effect=de,
        attrition=design.attrition,
        clustered=design.clustered,
        at_minimum=at_min,
        effect=effect,
        effect_name=effect_name,
        effect_size=effect_size,
        effect_size_name=effect_size_name,
        outcome=outcome,
        p1=inputs.get("p1", math.nan),
        p2=inputs.get("p2", math.nan),
        delta=inputs.get("delta", math.nan),
        sd=inputs.get("sd", math.nan),
        sd2=inputs.get("sd2", math.nan),
    )

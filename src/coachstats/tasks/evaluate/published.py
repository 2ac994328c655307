r"""The published side of an evaluation: benchmarks and the figures rebuilt from the registry.

A :class:`Benchmark` names a published outcome used as a yardstick (and how
the program is analysed for it); :func:`published_outcome` reads its printed
per-arm figures from the trial registry (:mod:`coachstats.trials`) into a
:class:`PublishedOutcome`, whose :meth:`~PublishedOutcome.effect` rebuilds the
published effect and its standard error -- from printed counts, from printed
means, SDs and sizes, or from the printed P value (:func:`se_from_p`); see
:mod:`coachstats.tasks.evaluate` for the order of the sources.

Examples
--------
>>> po = published_outcome(BENCHMARKS[0])
>>> po.label, po.texts
('at goal for >= 1 condition', ('46.4 %', '34.3 %'))
>>> e = po.effect("risk difference")
>>> round(e.estimate, 3), round(e.std_error, 3)
(0.121, 0.052)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from scipy import stats

from coachstats.compare.proportions import normal_quantile, two_proportions
from coachstats.core.errors import AnalysisError, CoachstatsError, OptionError, check_option
from coachstats.core.results import p_phrase
from coachstats.trials.registry import PrintedP, PrintedValue, Trial, get_trial

__all__ = [
    "BENCHMARKS",
    "SE_SOURCES",
    "Benchmark",
    "Kind",
    "PublishedEffect",
    "PublishedOutcome",
    "SESource",
    "printed_mean_sd",
    "printed_share",
    "published_outcome",
    "se_from_p",
    "trial_name",
]

SESource = Literal["auto", "counts", "p_value"]
SE_SOURCES: tuple[str, ...] = get_args(SESource)
Kind = Literal["binary", "continuous"]


@dataclass(frozen=True)
class Benchmark:
    """A published outcome used as a yardstick, and how the program is analysed for it.

    ``spec`` holds field changes applied to the target's analysis spec for the
    program (e.g. dropping a site subset); ``n_target`` names the registry
    target whose printed values are this outcome's per-arm sizes.
    """

    trial: str
    target: str
    kind: Kind
    label: str
    n_target: str | None = None
    spec: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("hcpc", "composite_any", "binary", "at goal for >= 1 condition"),
    Benchmark("hcpc", "composite_all", "binary", "at goal for all conditions"),
    Benchmark("hcpc", "hba1c_goal", "binary", "HbA1c at goal (<= 8.0 %)"),
    Benchmark(
        "hcpc",
        "ldl_goal_site_a",
        "binary",
        "LDL at goal",
        spec={"subset": None},
        note="published for the larger site (A) only; the program's figure covers all its patients",
    ),
    Benchmark("peer", "hba1c_change", "continuous", "HbA1c change (%)", n_target="complete_case"),
    Benchmark("peer", "hba1c_drop", "binary", "HbA1c drop >= 1 point"),
    Benchmark(
        "peer",
        "hba1c_lt_7_5",
        "binary",
        "HbA1c < 7.5 %",
        spec={
            "method": "chi_square",
            "change_from": None,
            "cluster": None,
            "options": {"correct": False},
        },
        note="the printed P (.11) does not test these proportions; the published SE comes "
        "from the printed events and percentages",
    ),
    Benchmark("peer", "ldl_change", "continuous", "LDL change (mg/dL)"),
    Benchmark("peer", "sbp_change", "continuous", "SBP change (mm Hg)"),
)


def trial_name(trial: str | Trial) -> str:
    """Short display name with year: ``"HCPC 2015"``, ``"Peer 2013"``.

    Examples
    --------
    >>> trial_name("hcpc"), trial_name("peer")
    ('HCPC 2015', 'Peer 2013')
    """
    t = get_trial(trial)
    name = t.name.upper() if len(t.name) <= 5 and t.name != "peer" else t.name.capitalize()
    return f"{name} {t.citation.year}"


def se_from_p(estimate: float, p: str | PrintedP) -> tuple[float, float, float]:
    r"""Standard error from a printed two-sided P value and its estimate.

    :math:`SE = |\hat\theta| / z_{1-P/2}` for a Wald-type test of
    :math:`\hat\theta` (on the scale tested: log for ratios). A P printed with
    :math:`d` decimals lies in :math:`[P - \tfrac12 10^{-d}, P + \tfrac12 10^{-d})`;
    the SE at both ends is returned too. ``"< .001"`` gives the largest SE
    compatible with it (the bound; the lower end is 0).

    Returns
    -------
    (se, se_low, se_high) : tuple of float

    Raises
    ------
    AnalysisError
        No usable P (``"not significant"``, empty) or a zero estimate.

    Examples
    --------
    >>> [round(v, 4) for v in se_from_p(0.121, ".02")]
    [0.052, 0.0497, 0.054]
    """
    printed = p if isinstance(p, PrintedP) else PrintedP.parse(p)
    if printed.kind not in ("value", "below") or not math.isfinite(printed.value()):
        raise AnalysisError(
            f"no usable printed P value ({printed.text!r}) to derive a standard error"
        )
    est = abs(float(estimate))
    if est == 0.0 or not math.isfinite(est):
        raise AnalysisError(
            f"a standard error cannot be derived from P for an estimate of {estimate}"
        )

    def se_at(pv: float) -> float:
        if pv >= 1.0:
            return math.inf
        return est / float(stats.norm.isf(pv / 2.0))

    value = printed.value()
    if printed.kind == "below":
        top = se_at(value)
        return top, 0.0, top
    half = 0.5 * 10.0 ** (-printed.decimals)
    return se_at(value), se_at(max(value - half, 1e-300)), se_at(value + half)


@dataclass(frozen=True)
class PublishedEffect:
    """A published effect with its (reconstructed) standard error.

    ``std_error`` is on the scale of the test: log for odds ratios
    (``log_scale``). ``std_error_low``/``std_error_high`` bracket it when it
    comes from a rounded P (equal to ``std_error`` otherwise).
    """

    estimand: str
    estimate: float
    std_error: float
    std_error_low: float
    std_error_high: float
    conf_low: float
    conf_high: float
    se_method: str
    log_scale: bool = False

    @property
    def scaled(self) -> float:
        """The estimate on the test scale (log for ratios)."""
        return math.log(self.estimate) if self.log_scale else self.estimate


@dataclass(frozen=True)
class PublishedOutcome:
    """The published figures of one outcome, parsed from the registry.

    ``values`` are the coaching and usual-care proportions (0-1) or means;
    ``texts`` the printed figures. ``n``/``events`` are set when printed (or,
    with ``counts_source="inferred ..."``, inferred in the registry).
    """

    trial: str
    target: str
    label: str
    outcome: str
    kind: Kind
    values: tuple[float, float]
    texts: tuple[str, str]
    sds: tuple[float, float] = (math.nan, math.nan)
    n: tuple[int, int] | None = None
    events: tuple[int, int] | None = None
    counts_source: str = ""
    inferred_counts: tuple[tuple[int, int], tuple[int, int]] | None = None
    p: str = ""
    months: int = 0
    note: str = ""

    def estimands(self) -> tuple[str, ...]:
        """``("risk difference", "odds ratio")`` or ``("mean difference",)``."""
        return ("risk difference", "odds ratio") if self.kind == "binary" else ("mean difference",)

    def effect(
        self, estimand: str, *, se_source: SESource = "auto", conf_level: float = 0.95
    ) -> PublishedEffect:
        """The published effect and its SE (see the module docstring for the order of sources).

        Examples
        --------
        >>> po = published_outcome(next(b for b in BENCHMARKS if b.target == "hba1c_drop"))
        >>> e = po.effect("risk difference")
        >>> round(e.estimate, 4), round(e.std_error, 4), e.se_method
        (0.1811, 0.0637, 'Wald SE from the printed counts 60/121 vs 34/108')
        """
        check_option("se_source", se_source, SE_SOURCES)
        check_option("estimand", estimand, self.estimands())
        z = normal_quantile(conf_level)
        log_scale = estimand == "odds ratio"
        counts = self._counts(se_source)
        est: float
        use_counts = counts is not None and (se_source != "p_value" or not self._p_usable())
        if self.kind == "binary":
            if use_counts and counts is not None:
                (x1, n1), (x2, n2), source = counts
                r = two_proportions(
                    x1, n1, x2, n2, estimand=cast(Any, estimand), outcome=self.outcome
                )
                return PublishedEffect(
                    estimand,
                    r.estimate,
                    r.std_error,
                    r.std_error,
                    r.std_error,
                    r.conf_low,
                    r.conf_high,
                    f"{'Woolf' if log_scale else 'Wald'} SE from the {source} counts {x1}/{n1} vs {x2}/{n2}",
                    log_scale,
                )
            p1, p2 = self.values
            est = p1 - p2 if not log_scale else (p1 / (1 - p1)) / (p2 / (1 - p2))
        else:
            m1, m2 = self.values
            est = m1 - m2
            if (
                self.n is not None
                and all(math.isfinite(s) for s in self.sds)
                and (se_source != "p_value" or not self._p_usable())
            ):
                (n1, n2), (s1, s2) = self.n, self.sds
                se = math.sqrt(s1**2 / n1 + s2**2 / n2)
                return PublishedEffect(
                    estimand,
                    est,
                    se,
                    se,
                    se,
                    est - z * se,
                    est + z * se,
                    f"SE from the printed means, SDs and n (sqrt(s1^2/n1 + s2^2/n2); n {n1} vs {n2})",
                )
        scaled = math.log(est) if log_scale else est
        se, lo, hi = se_from_p(scaled, self.p)
        ci = (scaled - z * se, scaled + z * se)
        if log_scale:
            ci = (math.exp(ci[0]), math.exp(ci[1]))
        what = "log odds ratio" if log_scale else "estimate"
        return PublishedEffect(
            estimand,
            est,
            se,
            lo,
            hi,
            ci[0],
            ci[1],
            f"SE = |{what}| / z(1 - P/2) from the printed {p_phrase(self.p)} "
            f"(rounding range {lo:.4g} to {hi:.4g})",
            log_scale,
        )

    def _p_usable(self) -> bool:
        try:
            return PrintedP.parse(self.p).kind in ("value", "below")
        except CoachstatsError:
            return False

    def _counts(self, se_source: SESource) -> tuple[tuple[int, int], tuple[int, int], str] | None:
        if self.n is not None and self.events is not None:
            return (self.events[0], self.n[0]), (self.events[1], self.n[1]), "printed"
        if se_source == "counts" and self.inferred_counts is not None:
            a, b = self.inferred_counts
            return a, b, "inferred (not published)"
        return None

    def arm_text(self, index: int) -> str:
        """The printed figure of arm ``index`` as a short text (``"46.4 %"``, ``"-1.07"``)."""
        text = self.texts[index]
        pv = PrintedValue.parse(text)
        if pv.percent:
            return f"{pv.number():.{pv.decimals}f} %"
        if pv.kind == "fraction":
            return f"{pv.number():.1f} %"
        return text.split(" (")[0].strip()


def _fraction(text: str) -> tuple[int, int] | None:
    m = re.match(r"^(\d+)/(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _events_pct(pv: PrintedValue) -> tuple[int, int] | None:
    """Events and the n implied by a printed ``"27 (22.0 %)"`` (checked at the printed precision)."""
    events = int(pv.text.split(" ")[0])
    pct = pv.number()
    if pct <= 0:
        return None
    n = round(100 * events / pct)
    if n < events or round(100 * events / n, pv.decimals) != round(pct, pv.decimals):
        return None
    return events, n


def printed_share(pv: PrintedValue) -> float:
    """A printed percentage as a proportion, without binary noise (46.4 % -> 0.464).

    Examples
    --------
    >>> printed_share(PrintedValue.parse("46.4 %"))
    0.464
    """
    return round(pv.number() / 100.0, pv.decimals + 2)


def printed_mean_sd(text: str) -> tuple[float, float]:
    """Mean and SD of a printed ``"-1.07 (2.8)"`` (SD NaN when not printed).

    Raises
    ------
    OptionError
        The text does not start with a number.

    Examples
    --------
    >>> printed_mean_sd("-1.07 (2.8)"), printed_mean_sd("52.7")
    ((-1.07, 2.8), (52.7, nan))
    """
    m = re.match(
        r"^\s*([+-]?\d+(?:\.\d+)?)(?:\s*\((\d+(?:\.\d+)?)\))?", text.replace("\u2212", "-")
    )
    if m is None:
        raise OptionError(f"cannot read a mean (SD) from the printed value {text!r}")
    return float(m.group(1)), float(m.group(2)) if m.group(2) else math.nan


def published_outcome(benchmark: Benchmark) -> PublishedOutcome:
    """Parse a benchmark's printed figures from the trial registry.

    Examples
    --------
    >>> po = published_outcome(BENCHMARKS[0])
    >>> po.values, po.texts, po.p, po.n
    ((0.464, 0.343), ('46.4 %', '34.3 %'), '.02', None)
    >>> published_outcome(next(b for b in BENCHMARKS if b.target == "hba1c_lt_7_5")).n
    (123, 114)
    """
    trial = get_trial(benchmark.trial)
    target = trial.target(benchmark.target)
    printed = target.printed_values()
    if len(printed) != 2 or not all(v.printed for v in printed):
        raise OptionError(
            f"target {trial.name}:{target.id} has no printed per-arm values to compare with"
        )
    texts = (str(target.values[0]), str(target.values[1]))
    n: tuple[int, int] | None = None
    events: tuple[int, int] | None = None
    sds = (math.nan, math.nan)
    if benchmark.kind == "binary":
        values = (printed_share(printed[0]), printed_share(printed[1]))
        fr = [_fraction(t) for t in texts]
        ep = [_events_pct(v) if v.kind == "events_pct" else None for v in printed]
        if fr[0] is not None and fr[1] is not None:
            events, n = (fr[0][0], fr[1][0]), (fr[0][1], fr[1][1])
        elif ep[0] is not None and ep[1] is not None:
            events, n = (ep[0][0], ep[1][0]), (ep[0][1], ep[1][1])
    else:
        (m1, s1), (m2, s2) = (printed_mean_sd(v.text) for v in printed)
        values, sds = (m1, m2), (s1, s2)
        n_texts = target.n or (
            trial.target(benchmark.n_target).values if benchmark.n_target else ()
        )
        if len(n_texts) == 2:
            n = (int(n_texts[0]), int(n_texts[1]))
    inferred = target.inferred.get("values")
    inf_counts = None
    if inferred and len(inferred) == 2:
        a, b = _fraction(str(inferred[0])), _fraction(str(inferred[1]))
        if a is not None and b is not None:
            inf_counts = (a, b)
    return PublishedOutcome(
        trial=trial.name,
        target=target.id,
        label=benchmark.label,
        outcome=target.analysis.outcome,
        kind=benchmark.kind,
        values=(float(values[0]), float(values[1])),
        texts=texts,
        sds=sds,
        n=n,
        events=events,
        counts_source="printed" if n is not None else "",
        inferred_counts=inf_counts,
        p=target.p,
        months=trial.design.months,
        note=benchmark.note,
    )

r"""The published side of an evaluation: benchmarks and their figures, read from the registry.

A :class:`Benchmark` names a published outcome used as a yardstick (and how
the program is analysed for it); :func:`published_outcome` gives its
published figures as a :class:`PublishedOutcome`: the registry's structured
effect (:meth:`coachstats.trials.Trial.effect`: events and n, means with SD
and n, the printed P, each number with its origin) with the benchmark's
label and notes. :meth:`PublishedOutcome.effect` is the published effect
with its standard error (:meth:`coachstats.trials.PublishedEffect.estimate`:
from the printed counts, from the printed means, SDs and sizes, or from the
printed P value; see :mod:`coachstats.tasks.evaluate` for the order of the
sources). Nothing here parses a printed string.

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from coachstats.trials import SE_SOURCES, Estimate, SESource
from coachstats.trials import PublishedEffect as RegistryEffect
from coachstats.trials.printed import PrintedP
from coachstats.trials.registry import Trial, get_trial

__all__ = [
    "BENCHMARKS",
    "SE_SOURCES",
    "Benchmark",
    "Kind",
    "PublishedOutcome",
    "SESource",
    "interval_source",
    "published_outcome",
    "se_from_p",
    "trial_name",
]

Kind = Literal["binary", "continuous"]


@dataclass(frozen=True)
class Benchmark:
    """A published outcome used as a yardstick, and how the program is analysed for it.

    ``spec`` holds field changes applied to the target's analysis spec for the
    program (e.g. dropping a site subset). The per-arm sizes of the published
    figures are the registry's (a target's ``n_target``).
    ``qualifier`` is what a reader must know about the published figure to
    read a comparison with it (said in every verdict sentence); ``note`` a
    methods note (shown with the row's notes).
    """

    trial: str
    target: str
    kind: Kind
    label: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    qualifier: str = ""


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
        qualifier="published for the larger site (A) only; the program's figure covers all its "
        "patients",
    ),
    Benchmark("peer", "hba1c_change", "continuous", "HbA1c change (%)"),
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


#: What a computed published interval comes from, by the words of its SE's method
#: (:attr:`coachstats.trials.Estimate.se_method`), in the order they are looked for.
_INTERVAL_SOURCES = (
    ("printed P", "its printed P"),
    ("counts", "its printed counts"),
    ("means, SDs", "its printed means and SDs"),
)


def interval_source(effect: Estimate) -> str:
    """``"computed from its printed P"``: where a published effect's interval comes from when
    the paper did not print it (empty when it did, or has none).

    Examples
    --------
    >>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
    >>> interval_source(published_outcome(BENCHMARKS[0]).effect("risk difference"))
    'computed from its printed P'
    """
    origin = effect.origins.get("ci")
    if origin is None or origin.derivation == "printed":
        return ""
    method = effect.se_method
    what = next((w for key, w in _INTERVAL_SOURCES if key in method), "the printed figures")
    return f"computed from {what}"


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
    r"""Standard error from a printed two-sided P value and its estimate, with its rounding range.

    :math:`SE = |\hat\theta| / z_{1-P/2}` (:meth:`coachstats.trials.printed.PrintedP.std_errors`,
    where the rule is written).

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
    return printed.std_errors(float(estimate))


@dataclass(frozen=True)
class PublishedOutcome:
    """The published figures of one benchmark: the registry's effect, with the benchmark's words.

    ``source`` is the structured effect of the registry
    (:class:`coachstats.trials.PublishedEffect`); ``values`` are the coaching
    and usual-care proportions (0-1) or means, ``texts`` the printed figures,
    ``n`` / ``events`` the printed (or computed from printed) counts and
    ``inferred_counts`` those inferred in the registry (not published).
    """

    label: str
    source: RegistryEffect
    note: str = ""
    qualifier: str = ""

    @property
    def trial(self) -> str:
        """The trial's registry name."""
        return self.source.trial

    @property
    def target(self) -> str:
        """The target's id."""
        return self.source.target

    @property
    def outcome(self) -> str:
        """The endpoint compared."""
        return self.source.outcome

    @property
    def kind(self) -> Kind:
        """``"binary"`` (proportions) or ``"continuous"`` (means)."""
        return "binary" if self.source.kind == "proportions" else "continuous"

    @property
    def values(self) -> tuple[float, float]:
        """Coaching and usual-care proportions (0-1) or means."""
        return self.source.values

    @property
    def texts(self) -> tuple[str, str]:
        """The arms' figures as printed."""
        return self.source.texts

    @property
    def sds(self) -> tuple[float, float]:
        """The arms' printed SDs (NaN when not printed)."""
        return self.source.sds

    @property
    def n(self) -> tuple[int, int] | None:
        """The arms' n when printed (or computed from printed figures)."""
        return self.source.n

    @property
    def events(self) -> tuple[int, int] | None:
        """The arms' events when printed (or computed from printed figures)."""
        return self.source.events

    @property
    def counts_source(self) -> str:
        """``"printed"`` when the arms' n are known from the paper, else empty."""
        return "printed" if self.n is not None else ""

    @property
    def inferred_counts(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """Counts inferred in the registry (not published), when no counts were printed."""
        return self.source.inferred_counts

    @property
    def p(self) -> str:
        """The P value as printed."""
        return self.source.p.text

    @property
    def months(self) -> int:
        """The trial's follow-up month."""
        return self.source.months

    def estimands(self) -> tuple[str, ...]:
        """``("risk difference", "odds ratio")`` or ``("mean difference",)``."""
        return self.source.estimands()

    def effect(
        self, estimand: str, *, se_source: SESource = "auto", conf_level: float = 0.95
    ) -> Estimate:
        """The published effect and its SE (:meth:`coachstats.trials.PublishedEffect.estimate`).

        Examples
        --------
        >>> po = published_outcome(next(b for b in BENCHMARKS if b.target == "hba1c_drop"))
        >>> e = po.effect("risk difference")
        >>> round(e.estimate, 4), round(e.std_error, 4), e.se_method
        (0.1811, 0.0637, 'Wald SE from the printed counts 60/121 vs 34/108')
        """
        return self.source.estimate(estimand, se_source=se_source, conf_level=conf_level)

    def arm_text(self, index: int) -> str:
        """The printed figure of arm ``index`` as a short text (``"46.4 %"``, ``"-1.07"``)."""
        return self.source.arms[index].short


def published_outcome(benchmark: Benchmark) -> PublishedOutcome:
    """A benchmark's published figures, from the registry's structured values.

    Raises
    ------
    OptionError
        The target does not compare the two arms with printed proportions or means.

    Examples
    --------
    >>> po = published_outcome(BENCHMARKS[0])
    >>> po.values, po.texts, po.p, po.n
    ((0.464, 0.343), ('46.4 %', '34.3 %'), '.02', None)
    >>> published_outcome(next(b for b in BENCHMARKS if b.target == "hba1c_lt_7_5")).n
    (123, 114)
    """
    effect = get_trial(benchmark.trial).effect(benchmark.target)
    return PublishedOutcome(benchmark.label, effect, benchmark.note, benchmark.qualifier)

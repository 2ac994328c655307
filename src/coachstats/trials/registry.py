"""The registry of published trials: citations, designs, goal sets and targets, as data.

Each trial (or paper) is one TOML file in ``coachstats/trials/data/``; adding a
trial means adding a file, not code. A file holds the citation, the design, the
name of the :class:`~coachstats.core.goals.GoalSet`, and a list of targets. A
target records

* the outcome's label and the per-group values **exactly as printed**
  (``"46.4 %"``, ``"-1.07 (2.8)"``, ``"60/121 (49.6 %)"``), the printed
  difference and the P value as printed (``".02"``, ``"< .001"``);
* whether the published figure was adjusted;
* the :class:`~coachstats.plan.AnalysisSpec` that produces it (test or
  model, covariates, clustering, subset, missing-data rule), and optionally a
  second spec for the per-group values when they come from another summary
  than the test;
* what was **not published** and the assumption made in its place, the values
  inferred from the printed ones (e.g. HCPC counts from the chi-square
  arithmetic), fields known to be unreachable with the reason, and per-field
  tolerances;
* where each field was printed (``location``: ``"Table 2"``, ``"abstract"``),
  where it is known; which target's counts are this one's per-group n
  (``n_target``); and, for a two-arm effect offered as a planning input, its
  key and label (``effect_key``, ``effect_label``).

Printed values are parsed by :class:`PrintedValue` and :class:`PrintedP`
(:mod:`coachstats.trials.printed`), which also format a reproduced number at
the printed precision, so that published and reproduced figures are compared
as the reader sees them. The same values in structured form (events and n,
mean/SD/n, estimate with CI and P, each number marked printed, inferred or
computed; :mod:`coachstats.trials.values`) come from
:meth:`Trial.published_values`, :meth:`Target.published_difference` and, for
a two-arm comparison, :meth:`Trial.effect` (:mod:`coachstats.trials.effects`).

Examples
--------
>>> trial = get_trial("hcpc")
>>> trial.citation.text()
'Willard-Grace R, et al. Ann Fam Med 2015;13:130-138. doi:10.1370/afm.1768 PMID 25755034'
>>> t = trial.target("composite_any")
>>> t.values, t.p, t.analysis.method
(('46.4 %', '34.3 %'), '.02', 'chi_square')
>>> PrintedP.parse(".01").matches(0.009)
True
>>> coaching, usual = get_trial("peer").published_values("hba1c_change")
>>> coaching.mean, coaching.sd, coaching.n, coaching.origins["n"].detail
(-1.07, 2.8, 122, "printed as target 'complete_case'")
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from coachstats.core.errors import OptionError, check_option
from coachstats.core.goals import GoalSet
from coachstats.plan import AnalysisPlan, AnalysisSpec, resolve_goals
from coachstats.trials.effects import PublishedEffect
from coachstats.trials.printed import PrintedP, PrintedValue
from coachstats.trials.records import Citation, Design, check_keys
from coachstats.trials.values import (
    Count,
    Estimate,
    Mean,
    Origin,
    Proportion,
    PublishedValue,
    combined,
    printed_estimate,
    published_value,
)

__all__ = [
    "PROVENANCES",
    "AnalysisSpec",
    "Citation",
    "Design",
    "PrintedP",
    "PrintedValue",
    "PublishedEffect",
    "Sensitivity",
    "Target",
    "Trial",
    "UnreachableTarget",
    "Variant",
    "check_keys",
    "get_trial",
    "iter_targets",
    "list_trials",
    "load_trial_file",
    "published_effect",
    "published_effects",
]

DifferenceSource = Literal["estimate", "values"]
FIELDS: tuple[str, ...] = ("values", "n", "difference", "p")

#: How the bundled synthetic cohort holds a target's figure (``Target.provenance``):
#:
#: * ``"construction"`` -- fixed by the cohort's design (counts, sizes, exact shares);
#: * ``"moment-matched"`` -- means and SDs matched by the generator;
#: * ``"tuned"`` -- a model result (P value, adjusted estimate) hit by a seeded search;
#: * ``"held-out"`` -- read by no calibration step: the cohort was built without it, so
#:   reproducing it is a test of the cohort and the pipeline, not a property built in.
#:
#: A target held several ways carries the strongest: tuned over moment-matched over
#: construction (a figure whose means are matched and whose P was searched for is tuned).
PROVENANCES: tuple[str, ...] = ("construction", "moment-matched", "tuned", "held-out")


# --------------------------------------------------------------------------- registry objects


def _duplicates(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted."""
    return sorted(name for name, k in Counter(names).items() if k > 1)


@dataclass(frozen=True)
class Target:
    """One published figure (a row of a results table) and how it is reproduced.

    ``values`` are the per-group figures as printed, one per ``groups`` entry
    (arms by default; ``"A"``/``"B"`` for sites; ``"month 12"``/``"month 24"``
    for paired comparisons; ``"all"`` for a single figure). ``p`` and
    ``difference`` are as printed ("" when not printed). ``analysis`` produces
    the P value and the difference; ``values_analysis`` (default: the same)
    produces the per-group values. ``difference_source="values"`` compares the
    printed difference with the difference of the reproduced group values
    (for unadjusted differences printed as the difference of printed means);
    ``"estimate"`` with the analysis estimate. ``percent_points`` scales a
    difference of proportions by 100 when it is printed without a ``%``.
    ``unreachable`` maps a field (``values``, ``n``, ``difference``, ``p``)
    to the reason it cannot be reproduced; ``tolerance`` maps a field to an
    absolute tolerance on the printed scale (default: exact at printed
    precision). ``inferred`` holds values worked out from the printed ones
    (not published), shown for information. ``ci`` holds the two printed
    bounds of the difference's confidence interval (95 % unless
    ``conf_level``), when printed.

    ``location`` maps a field to where it was printed (``"Table 2"``,
    ``"abstract"``, ``"p. 134"``; a single string in the TOML applies to every
    field); fields whose location the registry does not know are left out.
    ``n_target`` names the target of the same trial whose printed counts are
    this target's per-group n (e.g. the complete cases), when they are printed
    there rather than here. ``effect_key`` lists a two-arm target among the
    planning inputs (:func:`published_effect`) under that key, with
    ``effect_label`` (default: ``label``).

    ``provenance`` says how the bundled synthetic cohort holds the figure (one of
    :data:`PROVENANCES`: ``"construction"``, ``"moment-matched"``, ``"tuned"``,
    ``"held-out"``); every registered target has one. A trial file of your own
    may leave it empty (the figure is then not calibrated into any bundled cohort).
    """

    id: str
    label: str
    analysis: AnalysisSpec
    values: tuple[str, ...] = ()
    groups: tuple[str, ...] = ("coaching", "usual_care")
    values_analysis: AnalysisSpec | None = None
    n: tuple[str, ...] = ()
    difference: str = ""
    difference_source: DifferenceSource = "estimate"
    percent_points: bool = False
    p: str = ""
    adjusted: bool = False
    brief: bool = True
    not_published: str = ""
    assumption: str = ""
    unreachable: Mapping[str, str] = field(default_factory=dict)
    inferred: Mapping[str, Any] = field(default_factory=dict)
    tolerance: Mapping[str, float] = field(default_factory=dict)
    ci: tuple[str, ...] = ()
    conf_level: float = 0.95
    location: Mapping[str, str] = field(default_factory=dict)
    n_target: str = ""
    effect_key: str = ""
    effect_label: str = ""
    provenance: str = ""

    def __post_init__(self) -> None:
        check_option("difference_source", self.difference_source, get_args(DifferenceSource))
        if self.provenance:
            check_option(f"target {self.id!r}: provenance", self.provenance, PROVENANCES)
        for name in ("values", "groups", "n", "ci"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))
        if isinstance(self.location, str):
            object.__setattr__(self, "location", dict.fromkeys(FIELDS, self.location))
        for name in ("unreachable", "inferred", "tolerance", "location"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        if self.ci and (len(self.ci) != 2 or not self.difference):
            raise OptionError(
                f"target {self.id!r}: ci holds the two printed bounds of the printed difference; "
                f"got {list(self.ci)} for difference {self.difference!r}"
            )
        if self.n and self.n_target:
            raise OptionError(
                f"target {self.id!r}: give the per-group n either as n or as n_target, not both"
            )
        if self.values and len(self.values) != len(self.groups):
            raise OptionError(
                f"target {self.id!r}: {len(self.values)} printed values for "
                f"{len(self.groups)} groups {list(self.groups)}"
            )
        if self.n and len(self.n) != len(self.groups):
            raise OptionError(
                f"target {self.id!r}: n has {len(self.n)} entries, groups {len(self.groups)}"
            )
        for name, mapping in (
            ("unreachable", self.unreachable),
            ("tolerance", self.tolerance),
            ("location", self.location),
        ):
            bad = sorted(set(mapping) - set(FIELDS))
            if bad:
                raise OptionError(f"target {self.id!r}: {name} keys {bad}; allowed: {list(FIELDS)}")
        # parse eagerly: a malformed printed string fails when the registry loads
        self.printed_values()
        self.printed_difference()
        self.printed_p()
        self.published_difference()
        if self.analysis.label != self.id:
            object.__setattr__(self, "analysis", replace(self.analysis, label=self.id))
        if self.values_analysis is not None and self.values_analysis.label != f"{self.id} (values)":
            object.__setattr__(
                self, "values_analysis", replace(self.values_analysis, label=f"{self.id} (values)")
            )

    def printed_values(self) -> tuple[PrintedValue, ...]:
        """The printed per-group values, parsed."""
        return tuple(PrintedValue.parse(v) for v in self.values)

    def printed_n(self) -> tuple[PrintedValue, ...]:
        """The printed per-group n, parsed (empty when not printed)."""
        return tuple(PrintedValue.parse(v) for v in self.n)

    def printed_difference(self) -> PrintedValue:
        """The printed difference, parsed (kind ``"none"`` when not printed)."""
        return PrintedValue.parse(self.difference)

    def printed_p(self) -> PrintedP:
        """The printed P, parsed."""
        return PrintedP.parse(self.p)

    def published_values(self, n_from: Target | None = None) -> tuple[PublishedValue | None, ...]:
        """The printed per-group values in structured form, one per group (None: not printed).

        Events and n for proportions, mean/SD/n for means, counts as counts;
        each number with its :class:`~coachstats.trials.values.Origin`. The n
        comes from the printed value, the target's ``n``, or ``n_from`` (the
        target named by ``n_target``: :meth:`Trial.published_values` passes
        it); inferred counts (``inferred.values``) fill in events and n not
        printed, marked ``"inferred"``.

        Raises
        ------
        OptionError
            The target has an ``n_target`` and ``n_from`` is not that target.

        Examples
        --------
        >>> t = get_trial("hcpc").target("composite_any")
        >>> c, u = t.published_values()
        >>> c.share, c.counts(), c.counts(inferred=True), c.origins["n"].derivation
        (0.464, None, (90, 194), 'inferred')
        """
        if self.n_target and (n_from is None or n_from.id != self.n_target):
            raise OptionError(
                f"target {self.id!r} takes its n from target {self.n_target!r}: call "
                "Trial.published_values, which looks it up"
            )
        where = self.location.get("values", "")
        sizes: list[tuple[int, Origin] | None] = [None] * len(self.groups)
        if self.n:
            origin = Origin("printed", self.location.get("n", ""))
            sizes = [(int(PrintedValue.parse(v).number()), origin) for v in self.n]
        elif n_from is not None:
            origin = Origin(
                "printed", n_from.location.get("values", ""), f"printed as target {n_from.id!r}"
            )
            if len(n_from.values) != len(self.groups):
                raise OptionError(
                    f"target {self.id!r}: n_target {n_from.id!r} has {len(n_from.values)} "
                    f"values for {len(self.groups)} groups"
                )
            sizes = [(int(PrintedValue.parse(v).number()), origin) for v in n_from.values]
        inferred = [str(v) for v in self.inferred.get("values", ())]
        return tuple(
            published_value(
                text,
                location=where,
                n=size[0] if size else None,
                n_origin=size[1] if size else None,
                inferred=inferred[i] if i < len(inferred) else None,
            )
            for i, (text, size) in enumerate(zip(self.values, sizes, strict=False))
        )

    def published_difference(self) -> Estimate | None:
        """The printed difference with its P (and CI when printed), None when not printed.

        On the proportion scale for percentages and percentage points; the SE
        is computed from the printed CI, else from the printed P.

        Examples
        --------
        >>> e = get_trial("hcpc_adherence").target("concordant").published_difference()
        >>> e.estimate, e.p.text, round(e.std_error, 4)
        (0.1, '.05', 0.051)
        """
        return printed_estimate(
            self.difference,
            self.p,
            ci=self.ci,
            percent_points=self.percent_points,
            conf_level=self.conf_level,
            location=self.location,
        )

    @property
    def held_out(self) -> bool:
        """True when no calibration step of the bundled cohort reads this figure."""
        return self.provenance == "held-out"

    @property
    def specs(self) -> tuple[AnalysisSpec, ...]:
        """The analysis spec, then the values spec when there is one."""
        return (self.analysis,) + ((self.values_analysis,) if self.values_analysis else ())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """Build a target from a TOML table."""
        check_keys(cls, data, f"target {data.get('id')!r}")
        d = dict(data)
        for key in ("analysis", "values_analysis"):
            if key in d:
                d[key] = _spec(d[key])
        if "analysis" not in d:
            raise OptionError(f"target {d.get('id')!r} has no analysis")
        return cls(**d)


def _spec(data: Mapping[str, Any]) -> AnalysisSpec:
    d = dict(data)
    if d.get("by") == "":
        d["by"] = None
    return AnalysisSpec.from_dict(d)


@dataclass(frozen=True)
class Variant:
    """A sensitivity-analysis variant: field changes applied to a target's analysis.

    ``changes`` override spec fields; ``options`` are merged into the
    target's, unless the variant changes the method (then they replace them).
    An empty string removes a field whose default is None (``cluster = ""``:
    no clustering; TOML has no null).
    """

    label: str
    changes: Mapping[str, Any]
    skip: tuple[str, ...] = ()

    def apply(self, spec: AnalysisSpec) -> AnalysisSpec:
        """The target's spec with this variant's changes.

        Examples
        --------
        >>> v = Variant("Yates", {"options": {"correct": True}})
        >>> v.apply(AnalysisSpec("composite_any", "chi_square",
        ...                      options={"correct": False})).options["correct"]
        True
        """
        changes = dict(self.changes)
        for name in ("cluster", "subset", "change_from"):
            if changes.get(name) == "":
                changes[name] = None
        if "covariates" in changes:
            changes["covariates"] = tuple(changes["covariates"])
        opts = dict(changes.pop("options", {}))
        if "method" not in changes or changes["method"] == spec.method:
            opts = {**spec.options, **opts}
        return replace(spec, options=opts, label=f"{spec.label} | {self.label}", **changes)


@dataclass(frozen=True)
class Sensitivity:
    """Which targets the sensitivity analyses rerun, the variants, and the analyses left out.

    ``dropped`` holds ``(label, reason)`` pairs: an alternative a reader would expect
    that is deliberately not run, with the reason (shown in the sensitivity table).
    """

    targets: tuple[str, ...]
    variants: tuple[Variant, ...]
    dropped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class UnreachableTarget:
    """A published figure the bundled cohort cannot reproduce at all, with the reason.

    Kept in the registry (TOML ``[[unreachable_targets]]``) so that what was
    published is listed next to what is reproduced: ``p`` and ``values`` as
    printed, ``source`` the paper (when not the trial's own citation),
    ``reason`` why no analysis of the cohort can give it (e.g. the cohort has
    no such variable).
    """

    id: str
    label: str
    reason: str
    p: str = ""
    values: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(str(v) for v in self.values))
        if not self.reason.strip():
            raise OptionError(f"unreachable target {self.id!r} needs a reason")
        PrintedP.parse(self.p)  # a malformed printed P fails when the registry loads


@dataclass(frozen=True)
class Trial:
    """One trial or paper of the registry.

    Examples
    --------
    >>> t = get_trial("peer")
    >>> t.design.arms["coaching"], t.design.n_randomized, t.goals.name
    (148, 299, 'peer')
    >>> len(t.plan()) >= len(t.targets)
    True
    """

    name: str
    title: str
    citation: Citation
    design: Design
    targets: tuple[Target, ...]
    goals: GoalSet | None = None
    cohort: str | None = None
    notes: str = ""
    order: int = 100
    sensitivity: Sensitivity | None = None
    unreachable_targets: tuple[UnreachableTarget, ...] = ()

    def __post_init__(self) -> None:
        ids = [t.id for t in self.targets] + [t.id for t in self.unreachable_targets]
        dups = _duplicates(ids)
        if dups:
            raise OptionError(f"trial {self.name!r}: duplicate target ids {dups}")
        for t in self.targets:
            if t.n_target and t.n_target not in ids:
                raise OptionError(
                    f"trial {self.name!r}: target {t.id!r} has n_target {t.n_target!r}, "
                    f"which is not a target; ids: {ids}"
                )
            # structure eagerly: an inconsistent printed value fails when the registry loads
            self.published_values(t.id)
            if t.effect_key:
                self.effect(t.id)
        if self.sensitivity:
            unknown = sorted(set(self.sensitivity.targets) - set(ids))
            if unknown:
                raise OptionError(f"trial {self.name!r}: sensitivity targets {unknown} not found")

    def target(self, target_id: str) -> Target:
        """The target with this id."""
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(
            f"trial {self.name!r} has no target {target_id!r}; ids: {[t.id for t in self.targets]}"
        )

    def coached_per_coach(self) -> tuple[int, int]:
        """Patients randomized to coaching and the coaches who coached them (target ``coaches``).

        Examples
        --------
        >>> get_trial("peer").coached_per_coach()
        (148, 23)
        """
        coaches = self.target("coaches").published_values()[0]
        if not isinstance(coaches, Count):
            raise OptionError(f"trial {self.name!r}: its 'coaches' target is not a count")
        return int(self.design.arms["coaching"]), coaches.n

    def published_values(self, target_id: str) -> tuple[PublishedValue | None, ...]:
        """A target's printed per-group values in structured form (see :meth:`Target.published_values`).

        Examples
        --------
        >>> v = get_trial("peer").published_values("hba1c_lt_7_5")[0]
        >>> v.events, v.n, v.origins["n"].derivation
        (27, 123, 'computed')
        """
        t = self.target(target_id)
        return t.published_values(self.target(t.n_target) if t.n_target else None)

    def published_combined(self, target_id: str) -> PublishedValue:
        """A target's printed value for all its groups together (computed when printed per group).

        Examples
        --------
        >>> m = get_trial("peer").published_combined("baseline_hba1c")
        >>> round(m.mean, 2), round(m.sd, 2), m.n
        (9.95, 2.0, 236)
        """
        t = self.target(target_id)
        return combined(self.published_values(target_id), texts=t.values)

    def effect(self, target_id: str) -> PublishedEffect:
        """A two-arm target as a :class:`~coachstats.trials.effects.PublishedEffect`.

        Raises
        ------
        OptionError
            The target does not compare the two arms with printed proportions
            or means.

        Examples
        --------
        >>> e = get_trial("peer").effect("hba1c_change")
        >>> round(e.delta, 2), round(e.sd, 3), e.n
        (-0.77, 2.949, (122, 114))
        """
        t = self.target(target_id)
        values = self.published_values(target_id)
        arms = tuple(self.design.arms)
        kinds = {type(v) for v in values}
        if tuple(t.groups) != arms or len(kinds) != 1 or not kinds <= {Proportion, Mean}:
            raise OptionError(
                f"target {self.name}:{t.id} is not a two-arm comparison of printed proportions "
                f"or means (groups {list(t.groups)}, values {list(t.values)})"
            )
        return PublishedEffect(
            key=t.effect_key or f"{self.name}:{t.id}",
            label=t.effect_label or t.label,
            trial=self.name,
            target=t.id,
            outcome=t.analysis.outcome,
            kind="proportions" if Proportion in kinds else "means",
            arms=values,  # type: ignore[arg-type]  # checked above: two of one kind
            p=t.printed_p(),
            difference=t.published_difference(),
            p_tests_values=t.values_analysis is None,
            p_location=t.location.get("p", ""),
            citation=self.citation.text(),
            months=self.design.months,
        )

    def plan(self) -> AnalysisPlan:
        """Every target's analysis (and values) spec as one :class:`AnalysisPlan`."""
        specs = [s for t in self.targets for s in t.specs]
        return AnalysisPlan(specs, goals=self.goals, name=self.name)

    def sensitivity_plan(self) -> AnalysisPlan:
        """The sensitivity variants of the chosen targets (empty when the trial has none)."""
        if self.sensitivity is None:
            return AnalysisPlan([], goals=self.goals, name=f"{self.name} sensitivity")
        specs = []
        for tid in self.sensitivity.targets:
            base = self.target(tid).analysis
            specs.append(replace(base, label=f"{base.label} | as published"))
            specs += [v.apply(base) for v in self.sensitivity.variants if tid not in v.skip]
        return AnalysisPlan(specs, goals=self.goals, name=f"{self.name} sensitivity")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        """Build a trial from a parsed TOML document."""
        check_keys(cls, data, f"trial {data.get('name')!r}")
        d = dict(data)
        d["citation"] = Citation(**d["citation"])
        d["design"] = Design(**d["design"])
        d["targets"] = tuple(Target.from_dict(t) for t in d.get("targets", ()))
        d["goals"] = resolve_goals(d.get("goals") or None)
        d["cohort"] = d.get("cohort") or None
        sens = d.get("sensitivity")
        if sens is not None:
            variants = tuple(
                Variant(v["label"], v.get("changes", {}), tuple(v.get("skip", ())))
                for v in sens.get("variants", ())
            )
            dropped = tuple((str(x["label"]), str(x["reason"])) for x in sens.get("dropped", ()))
            d["sensitivity"] = Sensitivity(tuple(sens.get("targets", ())), variants, dropped)
        unreachable = []
        for u in d.get("unreachable_targets", ()):
            check_keys(UnreachableTarget, u, f"unreachable target {u.get('id')!r}")
            unreachable.append(UnreachableTarget(**u))
        d["unreachable_targets"] = tuple(unreachable)
        return cls(**d)


# --------------------------------------------------------------------------- loading


def load_trial_file(path: str | Path) -> Trial:
    """Read one trial from a TOML file (the registry's format; see ``trials/data``).

    Examples
    --------
    >>> from importlib import resources
    >>> f = resources.files("coachstats.trials") / "data" / "peer.toml"
    >>> load_trial_file(str(f)).citation.doi
    '10.1370/afm.1443'
    """
    with open(path, "rb") as fh:
        return Trial.from_dict(tomllib.load(fh))


@lru_cache(maxsize=1)
def _registry() -> Mapping[str, Trial]:
    folder = resources.files("coachstats.trials").joinpath("data")
    trials: list[Trial] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            trials.append(Trial.from_dict(tomllib.loads(entry.read_text(encoding="utf-8"))))
    trials.sort(key=lambda t: (t.order, t.name))
    dups = _duplicates(t.name for t in trials)
    if dups:
        raise OptionError(f"duplicate trial names in the registry: {dups}")
    keys = _duplicates(t.effect_key for trial in trials for t in trial.targets if t.effect_key)
    if keys:
        raise OptionError(f"duplicate effect keys in the registry: {keys}")
    return MappingProxyType({t.name: t for t in trials})


def list_trials(cohort: str | None = None) -> list[str]:
    """Names of the registered trials (optionally those using one bundled cohort).

    Examples
    --------
    >>> list_trials()
    ['hcpc', 'hcpc_adherence', 'hcpc_trust', 'hcpc_pacic', 'hcpc_clinician', 'hcpc_24', 'peer']
    >>> list_trials(cohort="peer")
    ['peer']
    """
    return [n for n, t in _registry().items() if cohort is None or t.cohort == cohort]


def get_trial(name: str | Path | Trial) -> Trial:
    """A registered trial by name, or one read from a TOML file path.

    Examples
    --------
    >>> get_trial("hcpc_pacic").target("pacic_12").p
    '< .001'
    >>> get_trial("nope")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: trial='nope' is not allowed; choose one of 'hcpc', \
'hcpc_adherence', 'hcpc_trust', 'hcpc_pacic', 'hcpc_clinician', 'hcpc_24', 'peer'
    """
    if isinstance(name, Trial):
        return name
    text = str(name)
    if text.endswith(".toml") and Path(text).is_file():
        return load_trial_file(text)
    registry = _registry()
    check_option("trial", text, tuple(registry))
    return registry[text]


def iter_targets(trials: Iterable[str] | None = None) -> Iterable[tuple[Trial, Target]]:
    """Every (trial, target) pair, in registry order."""
    for name in trials if trials is not None else list_trials():
        trial = get_trial(name)
        for target in trial.targets:
            yield trial, target


def published_effects() -> tuple[PublishedEffect, ...]:
    """The two-arm effects listed as planning inputs (targets with an ``effect_key``), in order.

    Examples
    --------
    >>> [e.key for e in published_effects()][:2]
    ['hcpc_composite', 'hcpc_all_goals']
    """
    return tuple(trial.effect(t.id) for trial, t in iter_targets() if t.effect_key)


def published_effect(key: str) -> PublishedEffect:
    """The published effect listed under ``key`` (see :func:`published_effects`).

    Examples
    --------
    >>> e = published_effect("hcpc_composite")
    >>> e.p1, e.p2, e.arms[0].origins["share"].derivation
    (0.464, 0.343, 'printed')
    >>> published_effect("hcpc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: key='hcpc' is not allowed; choose one of 'hcpc_composite', ...
    """
    effects = {e.key: e for e in published_effects()}
    check_option("key", key, tuple(effects))
    return effects[key]

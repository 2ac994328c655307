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
  tolerances.

Printed values are parsed by :class:`PrintedValue` and :class:`PrintedP`, which
also format a reproduced number at the printed precision, so that published
and reproduced figures are compared as the reader sees them.

Examples
--------
>>> trial = get_trial("hcpc")
>>> trial.citation.text()
'Willard-Grace R, et al. Ann Fam Med 2015;13:130-138. doi:10.1370/afm.1768'
>>> t = trial.target("composite_any")
>>> t.values, t.p, t.analysis.method
(('46.4 %', '34.3 %'), '.02', 'chi_square')
>>> PrintedP.parse(".01").matches(0.009)
True
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from coachstats.core.errors import OptionError, check_option
from coachstats.core.formatting import format_number
from coachstats.core.goals import GoalSet
from coachstats.core.results import ArmSummary, format_p
from coachstats.plan import AnalysisPlan, AnalysisSpec, resolve_goals

__all__ = [
    "AnalysisSpec",
    "Citation",
    "Design",
    "PrintedP",
    "PrintedValue",
    "Sensitivity",
    "Target",
    "Trial",
    "Variant",
    "get_trial",
    "iter_targets",
    "list_trials",
    "load_trial_file",
]

DifferenceSource = Literal["estimate", "values"]
ValueKind = Literal["none", "count", "fraction", "events_pct", "percent", "mean_sd", "number"]
FIELDS: tuple[str, ...] = ("values", "n", "difference", "p")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})


# --------------------------------------------------------------------------- printed values


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def _normalize(text: str) -> str:
    """Canonical form for comparing printed numbers: ASCII minus, no '+', no '-0'."""
    t = text.translate(_MINUS).replace("+", "").strip()
    return re.sub(r"(?<![\d.])-(?=0(\.0*)?(?![\d.]*[1-9]))", "", t)


_FRACTION = re.compile(r"^(?P<events>\d+)/(?P<n>\d+) \((?P<pct>\d+(?:\.\d+)?) ?%\)$")
_PLAIN_FRACTION = re.compile(r"^(?P<events>\d+)/(?P<n>\d+)$")
_EVENTS_PCT = re.compile(r"^(?P<events>\d+) \((?P<pct>\d+(?:\.\d+)?) ?%\)$")
_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>\d+(?:\.\d+)?)(?: \((?P<sd>\d+(?:\.\d+)?)\))?(?P<pct> ?%)?$"
)
_NOT_PRINTED = ("", "n.s.", "ns", "-")


@dataclass(frozen=True)
class PrintedValue:
    """A per-group value or difference as printed, and how to print a reproduced one.

    Kinds: ``"none"`` (not printed, e.g. ``"n.s."``), ``"count"`` (``"224"``),
    ``"fraction"`` (``"60/121 (49.6 %)"`` or ``"290/441"``), ``"events_pct"`` (``"27 (22.0 %)"``),
    ``"percent"`` (``"46.4 %"``, ``"+16.3 %"``), ``"mean_sd"``
    (``"-1.07 (2.8)"``) and ``"number"`` (``"3.82"``, ``"+3.9"``).

    Examples
    --------
    >>> v = PrintedValue.parse("-1.07 (2.8)")
    >>> v.kind, v.decimals, v.sd_decimals
    ('mean_sd', 2, 1)
    >>> v.format_arm(ArmSummary("coaching", 122, value=-1.0712, sd=2.8349))
    '-1.07 (2.8)'
    >>> PrintedValue.parse("60/121 (49.6 %)").format_arm(
    ...     ArmSummary("coaching", 121, events=60, value=60 / 121))
    '60/121 (49.6 %)'
    >>> PrintedValue.parse("+16.3 %").format_number(0.1634)
    '+16.3 %'
    """

    text: str
    kind: ValueKind
    decimals: int = 0
    sd_decimals: int = 0
    signed: bool = False
    percent: bool = False
    space: str = " "

    @classmethod
    def parse(cls, text: str) -> PrintedValue:
        """Parse a printed value; raise :class:`OptionError` when it has no known form."""
        t = str(text).translate(_MINUS).strip()
        if t.lower() in _NOT_PRINTED:
            return cls(t, "none")
        if m := _FRACTION.match(t):
            return cls(t, "fraction", _decimals(m["pct"]), percent=True, space=_space(t))
        if _PLAIN_FRACTION.match(t):
            return cls(t, "fraction")
        if m := _EVENTS_PCT.match(t):
            return cls(t, "events_pct", _decimals(m["pct"]), percent=True, space=_space(t))
        if m := _NUMBER.match(t):
            signed = m["sign"] == "+"
            if m["sd"] is not None:
                return cls(t, "mean_sd", _decimals(m["num"]), _decimals(m["sd"]), signed)
            if m["pct"]:
                return cls(
                    t,
                    "percent",
                    _decimals(m["num"]),
                    signed=signed,
                    percent=True,
                    space=m["pct"][:-1],
                )
            kind: ValueKind = "count" if "." not in m["num"] and not m["sign"] else "number"
            return cls(t, kind, _decimals(m["num"]), signed=signed)
        raise OptionError(
            f"printed value {text!r} has no known form; expected e.g. '46.4 %', '-1.07 (2.8)', "
            "'60/121 (49.6 %)', '27 (22.0 %)', '224', '+3.9' or 'n.s.'"
        )

    @property
    def printed(self) -> bool:
        """False for values that were not printed (``"n.s."``, empty)."""
        return self.kind != "none"

    def number(self) -> float:
        """The main printed number (percent for percentages), NaN when not printed."""
        t = self.text
        if self.kind == "fraction" and not self.percent:
            events, n = t.split("/")
            return 100 * int(events) / int(n)
        if self.kind in ("fraction", "events_pct"):
            return float(t[t.index("(") + 1 : t.index("%")])
        if self.kind == "none":
            return math.nan
        m = _NUMBER.match(t)
        if m is None:  # pragma: no cover - parse() accepted it
            return math.nan
        return float(m["sign"] + m["num"])

    def format_number(self, x: float, sd: float = math.nan) -> str:
        """Print ``x`` (a proportion when the printed value is a percentage) like this value."""
        if self.kind == "none":
            return ""
        if self.percent:
            body = format_number(100 * x, self.decimals, signed=self.signed)
            return f"{body}{self.space}%"
        if self.kind == "mean_sd":
            return f"{format_number(x, self.decimals, signed=self.signed)} ({format_number(sd, self.sd_decimals)})"
        if self.kind == "count":
            return format_number(x, 0)
        return format_number(x, self.decimals, signed=self.signed)

    def format_arm(self, arm: ArmSummary) -> str:
        """Print one group's reproduced summary in this value's form."""
        pct = format_number(100 * arm.value, self.decimals)
        if self.kind == "fraction" and not self.percent:
            return f"{arm.events}/{arm.n}"
        if self.kind == "fraction":
            return f"{arm.events}/{arm.n} ({pct}{self.space}%)"
        if self.kind == "events_pct":
            return f"{arm.events} ({pct}{self.space}%)"
        return self.format_number(arm.value, arm.sd)

    def matches(self, reproduced: str) -> bool:
        """Equal at the printed precision (signs and minus glyphs normalized)."""
        return _normalize(self.text) == _normalize(reproduced)


def _space(text: str) -> str:
    return " " if " %" in text else ""


@dataclass(frozen=True)
class PrintedP:
    """A P value as printed, and the rule for matching a reproduced one.

    ``".02"`` is matched by any P that rounds to .02 at 2 decimals (a
    reproduced .009 matches a printed ``".01"``); ``"< .001"`` by P < .001;
    ``"not significant"`` by P >= .05.

    Examples
    --------
    >>> p = PrintedP.parse("< .001")
    >>> p.format(0.0004), p.matches(0.0004), p.format(0.0021)
    ('< .001', True, '.002')
    >>> PrintedP.parse("not significant").format(0.31)
    'not significant'
    >>> PrintedP.parse(".013").format(0.01349)
    '.013'
    """

    text: str
    kind: Literal["none", "value", "below", "not_significant"]
    decimals: int = 2
    threshold: float = math.nan

    @classmethod
    def parse(cls, text: str) -> PrintedP:
        """Parse ``".02"``, ``"< .001"``, ``"p = .013"``, ``"not significant"`` or ``""``."""
        t = str(text).strip().lower()
        t = re.sub(r"^p\s*=\s*", "", t)
        if t == "":
            return cls(str(text), "none")
        if t in ("not significant", "n.s.", "ns"):
            return cls(str(text), "not_significant", threshold=0.05)
        if m := re.match(r"^(?:p\s*)?<\s*(0?\.\d+)$", t):
            num = m.group(1)
            return cls(str(text), "below", _decimals(num), float(num))
        if re.match(r"^(0|1)?\.\d+$", t):
            return cls(str(text), "value", _decimals(t), float(t))
        raise OptionError(
            f"printed P {text!r} has no known form; expected e.g. '.02', '.013', '< .001', "
            "'not significant' or ''"
        )

    @property
    def printed(self) -> bool:
        """False when no P was printed."""
        return self.kind != "none"

    def value(self) -> float:
        """The printed P as a number (the threshold for ``"< .001"``; NaN otherwise)."""
        return self.threshold

    def format(self, p: float) -> str:
        """Print a reproduced P at this value's precision and in its style."""
        if not math.isfinite(p):
            return "NA"
        if self.kind == "below" and p < self.threshold:
            return "< " + f"{self.threshold:.{self.decimals}f}".lstrip("0")
        if self.kind == "not_significant":
            return "not significant" if p >= self.threshold else format_p(p)
        decimals = self.decimals if self.kind == "value" else max(self.decimals, 2)
        floor = 10.0**-decimals
        if p < floor / 2:  # would print as .000: say how small instead
            return "< " + f"{floor:.{decimals}f}".lstrip("0")
        return f"{p:.{decimals}f}".lstrip("0")

    def matches(self, p: float) -> bool:
        """The reproduced P prints as this P."""
        if self.kind == "none":
            return True
        if self.kind == "not_significant":
            return math.isfinite(p) and p >= self.threshold
        return self.format(p) == _normalize(self.text).lower().replace("p = ", "")


# --------------------------------------------------------------------------- registry objects


def _duplicates(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted."""
    return sorted(name for name, k in Counter(names).items() if k > 1)


def _check_keys(cls: type, data: Mapping[str, Any], what: str) -> None:
    """Raise :class:`OptionError` naming the keys of ``data`` that are not fields of ``cls``."""
    allowed = {f.name for f in fields(cls)}
    bad = sorted(set(data) - allowed)
    if bad:
        raise OptionError(f"{what}: unknown key(s) {bad}; allowed: {sorted(allowed)}")


@dataclass(frozen=True)
class Citation:
    """Where the published figures come from (DOIs only where the sources print them)."""

    authors: str
    journal: str
    year: int
    volume: str | None = None
    pages: str | None = None
    doi: str | None = None
    title: str | None = None
    registration: str | None = None

    def text(self) -> str:
        """Vancouver-style one-line reference."""
        ref = f"{self.authors} {self.journal} {self.year}"
        if self.volume:
            ref += f";{self.volume}"
        if self.pages:
            ref += f":{self.pages}"
        ref += "."
        if self.doi:
            ref += f" doi:{self.doi}"
        if self.registration:
            ref += f" {self.registration}"
        return ref


@dataclass(frozen=True)
class Design:
    """Arms and n randomized, sites, follow-up months."""

    arms: Mapping[str, int]
    months: int
    sites: Mapping[str, int] = field(default_factory=dict)
    n_sites: int | None = None
    description: str = ""
    eligibility: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", MappingProxyType(dict(self.arms)))
        object.__setattr__(self, "sites", MappingProxyType(dict(self.sites)))
        if self.n_sites is None:
            object.__setattr__(self, "n_sites", len(self.sites) or None)

    @property
    def n_randomized(self) -> int:
        """Total randomized."""
        return int(sum(self.arms.values()))


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
    (not published), shown for information.
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

    def __post_init__(self) -> None:
        check_option("difference_source", self.difference_source, get_args(DifferenceSource))
        for name in ("values", "groups", "n"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))
        for name in ("unreachable", "inferred", "tolerance"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        if self.values and len(self.values) != len(self.groups):
            raise OptionError(
                f"target {self.id!r}: {len(self.values)} printed values for "
                f"{len(self.groups)} groups {list(self.groups)}"
            )
        if self.n and len(self.n) != len(self.groups):
            raise OptionError(
                f"target {self.id!r}: n has {len(self.n)} entries, groups {len(self.groups)}"
            )
        for name, mapping in (("unreachable", self.unreachable), ("tolerance", self.tolerance)):
            bad = sorted(set(mapping) - set(FIELDS))
            if bad:
                raise OptionError(f"target {self.id!r}: {name} keys {bad}; allowed: {list(FIELDS)}")
        # parse eagerly: a malformed printed string fails when the registry loads
        self.printed_values()
        self.printed_difference()
        self.printed_p()
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

    @property
    def specs(self) -> tuple[AnalysisSpec, ...]:
        """The analysis spec, then the values spec when there is one."""
        return (self.analysis,) + ((self.values_analysis,) if self.values_analysis else ())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """Build a target from a TOML table."""
        _check_keys(cls, data, f"target {data.get('id')!r}")
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
        if "covariates" in changes:
            changes["covariates"] = tuple(changes["covariates"])
        opts = dict(changes.pop("options", {}))
        if "method" not in changes or changes["method"] == spec.method:
            opts = {**spec.options, **opts}
        return replace(spec, options=opts, label=f"{spec.label} | {self.label}", **changes)


@dataclass(frozen=True)
class Sensitivity:
    """Which targets the sensitivity analyses rerun, and the variants."""

    targets: tuple[str, ...]
    variants: tuple[Variant, ...]


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

    def __post_init__(self) -> None:
        ids = [t.id for t in self.targets]
        dups = _duplicates(ids)
        if dups:
            raise OptionError(f"trial {self.name!r}: duplicate target ids {dups}")
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
        _check_keys(cls, data, f"trial {data.get('name')!r}")
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
            d["sensitivity"] = Sensitivity(tuple(sens.get("targets", ())), variants)
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

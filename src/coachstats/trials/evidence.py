"""The evidence base: published coaching RCTs beyond the seed trials, as summary figures.

The seed trials (HCPC, peer coaching) are reproduced from patient-level data
(:mod:`coachstats.trials.registry`). The trials here carry only what their
papers print: one TOML file per trial in ``coachstats/trials/data/evidence/``
with

- the citation (DOI, PMID, PMCID and trial registration where they exist)
  and ``checked``, where the figures were verified;
- the design: individual or cluster allocation, n randomized per arm, months
  of follow-up, coach type, comparator (usual care, enhanced usual care,
  attention control, or an active intervention), setting and country;
- per outcome (``hba1c``, ``sbp``, ``ldl`` as mean differences, coaching
  minus control; ``composite_all`` as events and n) the numbers **exactly as
  printed**, each with its location (``"abstract"``, ``"Table 2"``), in one
  of four forms: an estimated difference with its CI and/or P
  (``kind = "difference"``), per-arm changes (``"arm_changes"``), per-arm
  means with SD and n (``"arm_means"``), or per-arm events and n
  (``"events"``).

Nothing derived is typed in. :meth:`ReportedOutcome.effect` computes the
difference and its standard error from the printed figures and tags every
number ``read`` (printed) or ``derived``, saying how: a difference of
printed arm changes; an SE from a 95 % CI, :math:`(U - L)/(2 z_{0.975})`;
from a two-sided P, :math:`|d| / z_{1 - P/2}`; or from per-arm SDs,
:math:`\\sqrt{s_1^2/n_1 + s_2^2/n_2}`. An outcome that cannot give an SE
(a P printed only as "< .01", no P at all) is kept with the reason it is
not poolable (``why_not_poolable``).

Examples
--------
>>> t = get_evidence("long2012")
>>> t.citation.doi, t.design.coach, t.design.comparator
('10.7326/0003-4819-156-6-201203200-00004', 'peer', 'usual care')
>>> e = t.outcome("hba1c").effect()
>>> e.estimate, round(e.std_error, 4), e.origins["std_error"].kind
(-1.07, 0.3903, 'derived')
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from coachstats.compare.proportions import normal_quantile
from coachstats.core.errors import OptionError, check_option
from coachstats.core.vocabulary import MEASURE_LABELS, MEASURE_UNITS
from coachstats.trials.registry import Citation, PrintedP, PrintedValue, Trial, get_trial

__all__ = [
    "ALLOCATIONS",
    "COACHES",
    "COMPARATORS",
    "EVIDENCE_OUTCOMES",
    "KINDS",
    "ArmFigures",
    "Effect",
    "EvidenceCitation",
    "EvidenceDesign",
    "EvidenceTrial",
    "Provenance",
    "ReportedOutcome",
    "get_evidence",
    "list_evidence",
    "load_evidence_file",
    "se_from_ci",
    "se_from_p",
]

Kind = Literal["difference", "arm_changes", "arm_means", "events"]
KINDS: tuple[str, ...] = get_args(Kind)
"""How an outcome's figures are printed (see the module docstring)."""
COACHES: tuple[str, ...] = ("medical assistant", "nurse", "peer", "community health worker", "lay")
"""Coach types in scope of the evidence base."""
COMPARATORS: tuple[str, ...] = ("usual care", "enhanced usual care", "attention control", "active")
"""Comparators; ``"active"`` (another intervention) is left out of the main pooled estimates."""
ALLOCATIONS: tuple[str, ...] = ("individual", "cluster")
EVIDENCE_OUTCOMES: Mapping[str, str] = MappingProxyType(
    {
        "hba1c": f"{MEASURE_LABELS['hba1c']} ({MEASURE_UNITS['hba1c']}), difference in change",
        "sbp": f"{MEASURE_LABELS['sbp']} ({MEASURE_UNITS['sbp']}), difference in change",
        "ldl": f"{MEASURE_LABELS['ldl']} ({MEASURE_UNITS['ldl']}), difference in change",
        "composite_all": "all goals reached (events / n)",
    }
)
"""The outcomes the evidence base records, with what their numbers mean."""


def se_from_ci(conf_low: float, conf_high: float, conf_level: float = 0.95) -> float:
    """Standard error behind a symmetric Wald interval: :math:`(U - L) / (2 z_{1-\\alpha/2})`.

    Examples
    --------
    >>> round(se_from_ci(-1.84, -0.31), 4)
    0.3903
    """
    if not conf_low < conf_high:
        raise OptionError(
            f"the interval must have conf_low < conf_high, got {conf_low} to {conf_high}"
        )
    return (conf_high - conf_low) / (2.0 * normal_quantile(conf_level))


def se_from_p(estimate: float, p: float) -> float:
    """Standard error behind a two-sided Wald P value: :math:`|d| / z_{1-P/2}`.

    Examples
    --------
    >>> round(se_from_p(-0.7, 0.02), 4)
    0.3009
    """
    if not 0.0 < p < 1.0:
        raise OptionError(f"a P value in (0, 1) is needed to recover an SE, got {p}")
    return abs(estimate) / normal_quantile(1.0 - p)


@dataclass(frozen=True)
class Provenance:
    """Where one number comes from: ``kind`` is ``"read"`` (printed) or ``"derived"`` (computed here).

    ``location`` is where it, or the figures it was computed from, was printed;
    ``detail`` says how a derived number was derived.
    """

    kind: Literal["read", "derived"]
    location: str = ""
    detail: str = ""


@dataclass(frozen=True)
class EvidenceCitation(Citation):
    """A :class:`~coachstats.trials.registry.Citation` with PubMed identifiers and where it was checked."""

    issue: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    checked: str = ""

    def text(self) -> str:
        """Vancouver-style reference followed by PMID (and PMCID)."""
        ref = super().text()
        ids = [f"PMID {self.pmid}" if self.pmid else "", self.pmcid or ""]
        return " ".join([ref, *[i for i in ids if i]])


@dataclass(frozen=True)
class EvidenceDesign:
    """How the trial was run; ``randomized`` maps ``coaching``/``control`` to n (empty when not printed)."""

    allocation: str
    months: int
    coach: str
    comparator: str
    setting: str
    country: str
    total: int | None = None
    randomized: Mapping[str, int] = field(default_factory=dict)
    randomized_location: str = ""
    clusters: int | None = None
    coach_detail: str = ""
    comparator_detail: str = ""
    condition: str = "type 2 diabetes"

    def __post_init__(self) -> None:
        check_option("allocation", self.allocation, ALLOCATIONS)
        check_option("coach", self.coach, COACHES)
        check_option("comparator", self.comparator, COMPARATORS)
        object.__setattr__(self, "randomized", MappingProxyType(dict(self.randomized)))
        bad = sorted(set(self.randomized) - {"coaching", "control"})
        if bad:
            raise OptionError(
                f"design.randomized: unknown arm(s) {bad}; use 'coaching' and 'control'"
            )


@dataclass(frozen=True)
class ArmFigures:
    """One arm's printed figures for an outcome (NaN / None where not printed)."""

    n: int | None = None
    change: float = math.nan
    baseline: float = math.nan
    followup: float = math.nan
    mean: float = math.nan
    sd: float = math.nan
    events: int | None = None

    @property
    def change_or_difference(self) -> float:
        """The printed change, or follow-up minus baseline when only those are printed."""
        if not math.isnan(self.change):
            return self.change
        return self.followup - self.baseline


@dataclass(frozen=True)
class Effect:
    """A trial's effect on one outcome (coaching minus control), ready to pool.

    ``origins`` has the keys ``estimate`` and ``std_error`` (and ``ci`` when
    printed), each a :class:`Provenance`.
    """

    trial: str
    outcome: str
    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    months: int
    n_coaching: int | None
    n_control: int | None
    origins: Mapping[str, Provenance]


@dataclass(frozen=True)
class ReportedOutcome:
    """One outcome of one trial, as printed (see the module docstring for ``kind``)."""

    outcome: str
    kind: str
    months: int
    location: str
    source: str = ""
    estimate: float = math.nan
    conf_low: float = math.nan
    conf_high: float = math.nan
    std_error: float = math.nan
    p: str = ""
    coaching: ArmFigures = field(default_factory=ArmFigures)
    control: ArmFigures = field(default_factory=ArmFigures)
    se_from: str = ""
    adjusted: str = ""
    note: str = ""
    why_not_poolable: str = ""

    def __post_init__(self) -> None:
        check_option("outcome", self.outcome, tuple(EVIDENCE_OUTCOMES))
        check_option("kind", self.kind, KINDS)
        check_option("se_from", self.se_from, ("", "ci", "se", "p", "sd"))
        if self.kind == "difference" and math.isnan(self.estimate):
            raise OptionError(f"{self.outcome}: kind 'difference' needs the printed estimate")

    @property
    def poolable(self) -> bool:
        """True when an effect with an SE can be derived (see :attr:`why_not_poolable`)."""
        return not self.why_not_poolable and self.kind != "events"

    def effect(self, trial: str = "") -> Effect:
        """The difference (coaching minus control) and its SE, every number tagged read or derived.

        Raises
        ------
        OptionError
            The outcome is not poolable (the message gives the reason).
        """
        if not self.poolable:
            raise OptionError(
                f"{trial or 'this trial'}: {self.outcome} cannot be pooled: "
                + (self.why_not_poolable or "events and n are pooled with Mantel-Haenszel")
            )
        at = self.location
        if self.kind == "difference":
            est, est_origin = self.estimate, Provenance("read", at)
        elif self.kind == "arm_changes":
            est = round(self.coaching.change_or_difference - self.control.change_or_difference, 10)
            how = (
                "printed per-arm changes"
                if not math.isnan(self.coaching.change)
                else ("printed per-arm baseline and follow-up means")
            )
            est_origin = Provenance("derived", at, f"coaching minus control, from the {how}")
        else:
            est = round(self.coaching.mean - self.control.mean, 10)
            est_origin = Provenance("derived", at, "difference of the printed per-arm means")
        se, se_origin = self._std_error(est, at)
        origins = {"estimate": est_origin, "std_error": se_origin}
        if math.isnan(self.conf_low):
            z = normal_quantile(0.95)
            lo, hi = est - z * se, est + z * se
        else:
            lo, hi = self.conf_low, self.conf_high
            origins["ci"] = Provenance("read", at)
        return Effect(
            trial=trial,
            outcome=self.outcome,
            estimate=est,
            std_error=se,
            conf_low=lo,
            conf_high=hi,
            months=self.months,
            n_coaching=self.coaching.n,
            n_control=self.control.n,
            origins=MappingProxyType(origins),
        )

    def _std_error(self, est: float, at: str) -> tuple[float, Provenance]:
        source = self.se_from or self._default_se_source()
        if source == "ci":
            return se_from_ci(self.conf_low, self.conf_high), Provenance(
                "derived", at, f"from the printed 95% CI {self.conf_low} to {self.conf_high}"
            )
        if source == "se":
            return self.std_error, Provenance("read", at)
        if source == "p":
            p = PrintedP.parse(self.p)
            if p.kind != "value":
                raise OptionError(f"{self.outcome}: the P value {self.p!r} is not an exact value")
            return se_from_p(est, p.threshold), Provenance(
                "derived", at, f"from the printed two-sided P = {self.p} (normal approximation)"
            )
        a, b = self.coaching, self.control
        if a.n is None or b.n is None:
            raise OptionError(f"{self.outcome}: per-arm n are needed for an SE from the SDs")
        se = math.sqrt(a.sd**2 / a.n + b.sd**2 / b.n)
        return se, Provenance("derived", at, "from the printed per-arm SDs and n")

    def _default_se_source(self) -> str:
        if not math.isnan(self.conf_low):
            return "ci"
        if not math.isnan(self.std_error):
            return "se"
        if self.p:
            return "p"
        return "sd"


@dataclass(frozen=True)
class EvidenceTrial:
    """One published trial of the evidence base."""

    key: str
    label: str
    title: str
    citation: EvidenceCitation
    design: EvidenceDesign
    outcomes: tuple[ReportedOutcome, ...]
    notes: str = ""
    seed: str = ""

    def outcome(self, name: str) -> ReportedOutcome:
        """The trial's figures for ``name``; :class:`OptionError` when it reports none."""
        for o in self.outcomes:
            if o.outcome == name:
                return o
        raise OptionError(
            f"{self.label} reports no {name!r}; it reports {[o.outcome for o in self.outcomes]}"
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvidenceTrial:
        """Build from a parsed TOML file, rejecting unknown keys.

        A seed trial (``seed = "peer"``) takes its citation, arm sizes,
        months and outcome figures from the registry
        (:func:`coachstats.trials.registry.get_trial`); its file adds only
        what the registry does not hold (coach type, comparator, setting),
        and each outcome names the registry target it comes from
        (``from_target``, with ``n_target`` for the analysed n).
        """
        allowed = {"key", "label", "title", "citation", "design", "outcomes", "notes", "seed"}
        _check(data, allowed, "trial")
        key = str(data["key"])
        seed = get_trial(str(data["seed"])) if "seed" in data else None
        des = dict(data["design"])
        _check(des, _field_names(EvidenceDesign), f"{key}: design")
        if seed is not None:
            arms = seed.design.arms
            des.setdefault("total", seed.design.n_randomized)
            des.setdefault(
                "randomized", {"coaching": arms["coaching"], "control": arms["usual_care"]}
            )
            des.setdefault("randomized_location", f"seed registry ({seed.name})")
            des.setdefault("months", seed.design.months)
            cit = {f: getattr(seed.citation, f) for f in _field_names(Citation)}
            cit["checked"] = f"seed registry ({seed.name}): ../shared/published.md"
        else:
            cit = dict(data["citation"])
            _check(cit, _field_names(EvidenceCitation), f"{key}: citation")
        outcomes = [
            _seed_outcome(seed, dict(raw), key) if seed is not None else _outcome(dict(raw), key)
            for raw in data.get("outcomes", [])
        ]
        names = [o.outcome for o in outcomes]
        if len(set(names)) != len(names):
            raise OptionError(f"{key}: an outcome is listed twice: {names}")
        return cls(
            key=key,
            label=str(data["label"]),
            title=str(data.get("title", seed.title if seed is not None else "")),
            citation=EvidenceCitation(**cit),
            design=EvidenceDesign(**des),
            outcomes=tuple(outcomes),
            notes=str(data.get("notes", "")),
            seed=seed.name if seed is not None else "",
        )


def _outcome(o: dict[str, Any], key: str) -> ReportedOutcome:
    _check(o, _field_names(ReportedOutcome), f"{key}: outcome")
    for arm in ("coaching", "control"):
        if arm in o:
            _check(o[arm], _field_names(ArmFigures), f"{key}: {o.get('outcome')} {arm}")
            o[arm] = ArmFigures(**o[arm])
    return ReportedOutcome(**o)


def _seed_outcome(seed: Trial, o: dict[str, Any], key: str) -> ReportedOutcome:
    """An outcome of a seed trial, read from its registry targets (printed per-arm changes)."""
    _check(o, {"outcome", "months", "from_target", "n_target", "note"}, f"{key}: seed outcome")
    target = seed.target(str(o["from_target"]))
    counts = seed.target(str(o["n_target"])).values if "n_target" in o else ("", "")
    arms = [
        ArmFigures(
            n=int(PrintedValue.parse(c).number()) if c else None,
            change=PrintedValue.parse(v).number(),
        )
        for v, c in zip(target.values, counts, strict=True)
    ]
    printed = PrintedValue.parse(target.difference) if target.difference else None
    return ReportedOutcome(
        outcome=str(o["outcome"]),
        kind="difference" if printed is not None and printed.printed else "arm_changes",
        estimate=printed.number() if printed is not None and printed.printed else math.nan,
        months=int(o.get("months", seed.design.months)),
        location=f"{seed.citation.text()}: {target.label}, as printed in the seed registry "
        f"({seed.name}, target {target.id})",
        p=target.p,
        coaching=arms[0],
        control=arms[1],
        note=str(o.get("note", "")),
    )


def _field_names(cls: type) -> set[str]:
    return set(cls.__dataclass_fields__)  # type: ignore[attr-defined]


def _check(data: Mapping[str, Any], allowed: set[str], what: str) -> None:
    bad = sorted(set(data) - allowed)
    if bad:
        raise OptionError(f"{what}: unknown key(s) {bad}; allowed: {sorted(allowed)}")


def load_evidence_file(path: str | Path) -> EvidenceTrial:
    """Read and validate one evidence TOML file."""
    with open(path, "rb") as fh:
        return EvidenceTrial.from_dict(tomllib.load(fh))


@lru_cache(maxsize=1)
def _evidence() -> Mapping[str, EvidenceTrial]:
    folder = resources.files("coachstats.trials").joinpath("data", "evidence")
    trials = [
        EvidenceTrial.from_dict(tomllib.loads(f.read_text(encoding="utf-8")))
        for f in sorted(folder.iterdir(), key=lambda p: p.name)
        if f.name.endswith(".toml")
    ]
    keys = [t.key for t in trials]
    if len(set(keys)) != len(keys):
        raise OptionError(f"evidence keys are not unique: {keys}")
    return MappingProxyType({t.key: t for t in trials})


def list_evidence() -> list[str]:
    """Keys of the evidence trials, in file order.

    Examples
    --------
    >>> "dialbest2015" in list_evidence()
    True
    """
    return list(_evidence())


def get_evidence(key: str) -> EvidenceTrial:
    """One evidence trial by key; :class:`OptionError` listing the keys when unknown."""
    trials = _evidence()
    if key not in trials:
        raise OptionError(f"no evidence trial {key!r}; choose one of {sorted(trials)}")
    return trials[key]

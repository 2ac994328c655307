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
  minus control; ``composite_all`` as events and n) the figures **exactly as
  printed**, as text (``difference = "-1.07"``, ``ci = ["-1.84", "-0.31"]``,
  ``p = ".54"``, per arm ``change = "-0.51"``, ``mean = "7.9 (1.2)"``,
  ``events = "61 (21.9 %)"``, with the arm's ``n``), with where they were
  printed (``location``: ``"abstract (Results)"``, ``"Table 2"``), in one of
  four forms (``kind``): a printed difference with its CI and/or P
  (``"difference"``), per-arm changes or baseline and follow-up means
  (``"arm_changes"``), per-arm follow-up means with SD and n
  (``"arm_means"``), or per-arm events and n (``"events"``).

The printed figures become the published values of the seed registry
(:mod:`coachstats.trials.values`: :class:`~coachstats.trials.values.Mean`,
:class:`~coachstats.trials.values.Proportion`,
:class:`~coachstats.trials.values.Estimate`), every number with its
:class:`~coachstats.trials.values.Origin`: ``printed`` (read from the paper)
or ``computed`` here, with where it was printed and how it was computed.
Nothing derived is typed in. :meth:`ReportedOutcome.effect` gives the
difference and its standard error: a difference of the printed arm changes
(or of follow-up minus baseline); an SE from a 95 % CI, from an exact
two-sided P, or from per-arm SDs and n, by the functions of
:mod:`coachstats.compare.summaries`. An outcome that cannot give an SE (a P
printed only as "< .01", no P at all) is kept with the reason it is not
poolable (``why_not_poolable``).

Examples
--------
>>> t = get_evidence("long2012")
>>> t.citation.doi, t.design.coach, t.design.comparator
('10.7326/0003-4819-156-6-201203200-00004', 'peer', 'usual care')
>>> e = t.outcome("hba1c").effect()
>>> e.estimate, round(e.std_error, 4), e.origins["std_error"].derivation
(-1.07, 0.3903, 'computed')
>>> e.origins["std_error"].detail
'SE = (upper - lower) / (2 z) from the printed CI'
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from coachstats.compare.proportions import normal_quantile
from coachstats.core.errors import OptionError, check_option
from coachstats.core.vocabulary import MEASURE_LABELS, MEASURE_UNITS
from coachstats.trials.printed import PrintedP, PrintedValue
from coachstats.trials.records import Citation, check_keys
from coachstats.trials.registry import Trial, get_trial
from coachstats.trials.values import (
    CI_FROM_SE,
    Estimate,
    Mean,
    Origin,
    Proportion,
    printed_estimate,
    published_value,
    std_error_from_ci,
    std_error_from_p,
    std_error_from_sds,
)

__all__ = [
    "ALLOCATIONS",
    "ARM_FIGURES",
    "COACHES",
    "COMPARATORS",
    "EVIDENCE_OUTCOMES",
    "KINDS",
    "SE_SOURCES",
    "ArmFigures",
    "EvidenceCitation",
    "EvidenceDesign",
    "EvidenceTrial",
    "ReportedOutcome",
    "get_evidence",
    "list_evidence",
    "load_evidence_file",
]

Kind = Literal["difference", "arm_changes", "arm_means", "events"]
KINDS: tuple[str, ...] = get_args(Kind)
"""How an outcome's figures are printed (see the module docstring)."""
COACHES: tuple[str, ...] = ("medical assistant", "nurse", "peer", "community health worker", "lay")
"""Coach types in scope of the evidence base."""
COMPARATORS: tuple[str, ...] = ("usual care", "enhanced usual care", "attention control", "active")
"""Comparators; ``"active"`` (another intervention) is left out of the main pooled estimates."""
ALLOCATIONS: tuple[str, ...] = ("individual", "cluster")
SE_SOURCES: tuple[str, ...] = ("", "ci", "se", "p", "sd")
"""Where an outcome's SE comes from (``se_from``; empty: the first printed, in this order)."""
EVIDENCE_OUTCOMES: Mapping[str, str] = MappingProxyType(
    {
        "hba1c": f"{MEASURE_LABELS['hba1c']} ({MEASURE_UNITS['hba1c']}), difference in change",
        "sbp": f"{MEASURE_LABELS['sbp']} ({MEASURE_UNITS['sbp']}), difference in change",
        "ldl": f"{MEASURE_LABELS['ldl']} ({MEASURE_UNITS['ldl']}), difference in change",
        "composite_all": "all goals reached (events / n)",
    }
)
"""The outcomes the evidence base records, with what their numbers mean."""


@dataclass(frozen=True)
class EvidenceCitation(Citation):
    """A :class:`~coachstats.trials.registry.Citation` with PubMed identifiers and where it was checked."""

    issue: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    checked: str = ""

    def text(self) -> str:
        """Vancouver-style reference followed by PMID (and PMCID), each once.

        Examples
        --------
        >>> c = EvidenceCitation("Long JA, et al.", "Ann Intern Med", 2012, "156", "416-424",
        ...                      pmid="22431674", pmcid="PMC3475415")
        >>> c.text()
        'Long JA, et al. Ann Intern Med 2012;156:416-424. PMID 22431674 PMC3475415'
        """
        ref = super().text()  # its identifiers already hold the PMID
        return f"{ref} {self.pmcid}" if self.pmcid else ref


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


ARM_FIGURES: tuple[str, ...] = ("change", "baseline", "followup", "mean", "events")
"""The figures an arm may print for an outcome (as text, exactly as printed)."""


@dataclass(frozen=True)
class ArmFigures:
    """One arm's printed figures for an outcome, as published values (None where not printed).

    ``change``, ``baseline``, ``followup`` and ``mean`` (the follow-up mean,
    with its SD when printed) are :class:`~coachstats.trials.values.Mean`;
    ``events`` is a :class:`~coachstats.trials.values.Proportion`. Each
    carries the arm's n when it was printed, and the origin of each number.
    """

    change: Mean | None = None
    baseline: Mean | None = None
    followup: Mean | None = None
    mean: Mean | None = None
    events: Proportion | None = None

    @property
    def n(self) -> int | None:
        """The arm's n, when printed."""
        return next((v.n for v in self._values() if v.n is not None), None)

    @property
    def change_from_baseline(self) -> Mean | None:
        """The printed change, or follow-up minus baseline (computed) when only those are printed.

        Examples
        --------
        >>> arm = get_evidence("palmas2014").outcome("hba1c").coaching
        >>> c = arm.change_from_baseline
        >>> round(c.mean, 2), c.origins["mean"].derivation, c.origins["mean"].detail
        (-0.37, 'computed', 'follow-up 8.40 minus baseline 8.77')
        """
        if self.change is not None or self.baseline is None or self.followup is None:
            return self.change
        b, f = self.baseline, self.followup
        at = b.origins["mean"].location
        how = f"follow-up {f.text} minus baseline {b.text}"
        return Mean(
            f.mean - b.mean,
            f"{f.mean - b.mean:.2f} ({how})",
            n=self.n,
            origins={"mean": Origin("computed", at, how)}
            | ({"n": b.origins["n"]} if "n" in b.origins else {}),
        )

    @property
    def printed(self) -> str:
        """The arm's figures as printed: ``"-0.51"``, ``"8.77 to 8.40"``, ``"61 (21.9 %) of 278"``."""
        if self.events is not None:
            e = self.events
            return e.text + (f" of {e.n}" if e.n is not None and "/" not in e.text else "")
        if self.mean is not None:
            return self.mean.text
        if self.change is not None:
            return self.change.text
        if self.baseline is not None and self.followup is not None:
            return f"{self.baseline.text} to {self.followup.text}"
        return ""

    def _values(self) -> list[Mean | Proportion]:
        return [v for v in (self.change, self.mean, self.events, self.baseline, self.followup) if v]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], location: str, what: str) -> ArmFigures:
        """Parse ``{n = 145, baseline = "9.09", change = "-0.51"}`` (figures as printed text)."""
        check_keys({"n", *ARM_FIGURES}, data, what)
        n = int(data["n"]) if "n" in data else None
        out: dict[str, Mean | Proportion] = {}
        for name in ARM_FIGURES:
            if name not in data:
                continue
            text = data[name]
            if not isinstance(text, str):
                raise OptionError(
                    f"{what}: {name} = {text!r} must be the figure as printed, in quotes "
                    f'(e.g. {name} = "{text}")'
                )
            value = published_value(
                text, location=location, n=n, n_origin=Origin("printed", location)
            )
            want = Proportion if name == "events" else Mean
            if not isinstance(value, want):
                raise OptionError(
                    f"{what}: {name} = {text!r} is not printed as a "
                    + (
                        "count with its share, e.g. '61 (21.9 %)'"
                        if want is Proportion
                        else "mean, e.g. '-0.51' or '7.9 (1.2)'"
                    )
                )
            out[name] = value
        if n is not None and not out:
            raise OptionError(f"{what}: n = {n} without a figure; give the arm's printed figures")
        return cls(**out)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReportedOutcome:
    """One outcome of one trial, as printed (see the module docstring for ``kind``).

    ``difference``, ``ci`` (its two bounds), ``p`` and ``se`` (of the
    difference) are text exactly as printed; the arms' figures are published
    values (:class:`ArmFigures`). :meth:`printed_difference` and
    :meth:`effect` give them in structured form.
    """

    outcome: str
    kind: str
    months: int
    location: str
    source: str = ""
    difference: str = ""
    ci: tuple[str, ...] = ()
    p: str = ""
    se: str = ""
    coaching: ArmFigures = field(default_factory=ArmFigures)
    control: ArmFigures = field(default_factory=ArmFigures)
    se_from: str = ""
    adjusted: str = ""
    note: str = ""
    why_not_poolable: str = ""

    def __post_init__(self) -> None:
        check_option("outcome", self.outcome, tuple(EVIDENCE_OUTCOMES))
        check_option("kind", self.kind, KINDS)
        check_option("se_from", self.se_from, SE_SOURCES)
        object.__setattr__(self, "ci", tuple(str(b) for b in self.ci))
        if self.kind == "difference" and not PrintedValue.parse(self.difference).printed:
            raise OptionError(f"{self.outcome}: kind 'difference' needs the printed difference")
        if "%" in self.difference:
            raise OptionError(
                f"{self.outcome}: difference {self.difference!r}: give the difference in the "
                "outcome's unit without '%' (HbA1c in percentage points, e.g. '-0.51')"
            )
        if self.ci and (len(self.ci) != 2 or not self.difference):
            raise OptionError(
                f"{self.outcome}: ci holds the two printed bounds of the printed difference; "
                f"got {list(self.ci)} for difference {self.difference!r}"
            )
        if self.difference and self.kind != "difference":
            raise OptionError(
                f"{self.outcome}: a printed difference ({self.difference!r}) goes with "
                f"kind = 'difference', not {self.kind!r}"
            )
        if self.se:
            PrintedValue.parse(self.se).number()
        self.printed_difference()  # a malformed printed number fails when the file loads

    @property
    def poolable(self) -> bool:
        """True when an effect with an SE can be derived (see :attr:`why_not_poolable`)."""
        return not self.why_not_poolable and self.kind != "events"

    @property
    def printed_p(self) -> PrintedP:
        """The printed P, parsed."""
        return PrintedP.parse(self.p)

    def printed_difference(self) -> Estimate | None:
        """The printed difference with its CI and P (:func:`~coachstats.trials.values.printed_estimate`).

        None when no difference was printed.
        """
        where = {"difference": self.location, "p": self.location}
        return printed_estimate(self.difference, self.p, ci=self.ci, location=where)

    @property
    def printed(self) -> str:
        """The figures as printed, in one line (``"-1.07 (95 % CI -1.84 to -0.31)"``).

        Examples
        --------
        >>> get_evidence("nelson2017").outcome("hba1c").printed
        '-0.51 vs -0.33 (coaching vs control), P = .54'
        """
        if self.difference:
            text = self.difference + (f" (95 % CI {self.ci[0]} to {self.ci[1]})" if self.ci else "")
        else:
            text = f"{self.coaching.printed} vs {self.control.printed} (coaching vs control)"
        extra = [f"SE {self.se}" if self.se else "", f"P = {self.p}" if self.p else ""]
        if self.printed_p.kind == "below":
            extra[1] = f"P {self.p}"
        return ", ".join([text, *[e for e in extra if e]])

    def effect(self) -> Estimate:
        """The difference (coaching minus control) and its SE, every number with its origin.

        The estimate is the printed difference, or computed from the arms'
        printed changes (or baseline and follow-up) or follow-up means; the SE
        comes from (``se_from``, by default the first printed) the CI, the
        printed SE, an exact printed P or the arms' SDs and n. A CI that was
        not printed is estimate ± z SE.

        Raises
        ------
        OptionError
            The outcome is not poolable (the message gives the reason).
        """
        if not self.poolable:
            raise OptionError(
                f"{self.outcome} cannot be pooled: "
                + (self.why_not_poolable or "events and n are pooled with Mantel-Haenszel")
            )
        at = self.location
        d = self.printed_difference()
        if d is not None:
            est, text, est_origin = d.estimate, d.text, d.origins["estimate"]
        else:
            est, est_origin = self._computed_difference()
            text = ""
        source = self.se_from or self._default_se_source()
        if (source == "ci" and not self.ci) or (source == "se" and not self.se):
            raise OptionError(f"{self.outcome}: se_from = {source!r} but no {source} was printed")
        se_low = se_high = math.nan
        if source == "ci" and d is not None:
            se, se_origin = std_error_from_ci(d.conf_low, d.conf_high, location=at)
        elif source == "se":
            se, se_origin = PrintedValue.parse(self.se).number(), Origin("printed", at)
        elif source == "p":
            if self.printed_p.kind != "value":
                raise OptionError(f"{self.outcome}: the P value {self.p!r} is not an exact value")
            (se, se_low, se_high), se_origin = std_error_from_p(est, self.printed_p, location=at)
        else:
            a, b = (arm.mean or arm.change_from_baseline for arm in (self.coaching, self.control))
            if a is None or b is None:
                raise OptionError(f"{self.outcome}: no CI, SE, P or per-arm SDs to derive an SE")
            se, se_origin = std_error_from_sds(a, b, location=at)
        origins = {"estimate": est_origin, "std_error": se_origin}
        if d is not None and self.ci:
            lo, hi, origins["ci"] = d.conf_low, d.conf_high, d.origins["ci"]
        else:
            z = normal_quantile(0.95)
            lo, hi, origins["ci"] = est - z * se, est + z * se, CI_FROM_SE
        if self.p:
            origins["p"] = Origin("printed", at)
        return Estimate(
            "mean difference",
            est,
            text,
            lo,
            hi,
            0.95,
            self.printed_p,
            se,
            se if math.isnan(se_low) else se_low,
            se if math.isnan(se_high) else se_high,
            origins=origins,
        )

    def _computed_difference(self) -> tuple[float, Origin]:
        """Coaching minus control from the arms' printed changes or follow-up means."""
        at = self.location
        if self.kind == "arm_changes":
            a, b = self.coaching.change_from_baseline, self.control.change_from_baseline
            how = (
                "printed per-arm changes"
                if self.coaching.change is not None
                else "printed per-arm baseline and follow-up means"
            )
            detail = f"coaching minus control, from the {how}"
        else:
            a, b = self.coaching.mean, self.control.mean
            detail = "difference of the printed per-arm means"
        if a is None or b is None:
            raise OptionError(f"{self.outcome}: kind {self.kind!r} needs both arms' figures")
        return round(a.mean - b.mean, 10), Origin("computed", at, detail)

    def _default_se_source(self) -> str:
        if self.ci:
            return "ci"
        if self.se:
            return "se"
        if self.p:
            return "p"
        return "sd"


@dataclass(frozen=True)
class EvidenceTrial:
    """One published trial of the evidence base.

    ``file`` and ``sha256`` name the TOML file it was read from and the
    SHA-256 of its bytes (empty for a trial built with :meth:`from_dict`).
    """

    key: str
    label: str
    title: str
    citation: EvidenceCitation
    design: EvidenceDesign
    outcomes: tuple[ReportedOutcome, ...]
    notes: str = ""
    seed: str = ""
    file: str = ""
    sha256: str = ""

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
        (``from_target``).
        """
        allowed = {"key", "label", "title", "citation", "design", "outcomes", "notes", "seed"}
        check_keys(allowed, data, "trial")
        key = str(data["key"])
        seed = get_trial(str(data["seed"])) if "seed" in data else None
        des = dict(data["design"])
        check_keys(EvidenceDesign, des, f"{key}: design")
        if seed is not None:
            arms = seed.design.arms
            des.setdefault("total", seed.design.n_randomized)
            des.setdefault(
                "randomized", {"coaching": arms["coaching"], "control": arms["usual_care"]}
            )
            des.setdefault("randomized_location", f"seed registry ({seed.name})")
            des.setdefault("months", seed.design.months)
            cit = {f.name: getattr(seed.citation, f.name) for f in fields(Citation)}
            cit["checked"] = f"seed registry ({seed.name}): ../shared/published.md"
        else:
            cit = dict(data["citation"])
            check_keys(EvidenceCitation, cit, f"{key}: citation")
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
    check_keys(ReportedOutcome, o, f"{key}: outcome")
    for name in ("difference", "p", "se"):
        if name in o and not isinstance(o[name], str):
            raise OptionError(
                f"{key}: {o.get('outcome')} {name} = {o[name]!r} must be the number as printed, "
                f'in quotes (e.g. {name} = "{o[name]}")'
            )
    at = str(o.get("location", ""))
    for arm in ("coaching", "control"):
        if arm in o:
            o[arm] = ArmFigures.from_dict(o[arm], at, f"{key}: {o.get('outcome')} {arm}")
    return ReportedOutcome(**o)


def _seed_outcome(seed: Trial, o: dict[str, Any], key: str) -> ReportedOutcome:
    """An outcome of a seed trial, read from its registry target (the printed per-arm changes).

    The arms' values, their n (the target's ``n_target`` there) and the
    printed difference, CI and P are the registry's (:meth:`~coachstats.trials.registry.Trial.published_values`).
    """
    check_keys({"outcome", "months", "from_target", "note"}, o, f"{key}: seed outcome")
    target = seed.target(str(o["from_target"]))
    arms = seed.published_values(target.id)
    if not all(isinstance(v, Mean) for v in arms) or len(arms) != 2:
        raise OptionError(f"{key}: seed target {target.id!r} does not print two arms' means")
    return ReportedOutcome(
        outcome=str(o["outcome"]),
        kind="difference" if target.printed_difference().printed else "arm_changes",
        difference=target.difference,
        ci=target.ci,
        p=target.p,
        months=int(o.get("months", seed.design.months)),
        location=f"{seed.citation.text()}: {target.label}, as printed in the seed registry "
        f"({seed.name}, target {target.id})",
        coaching=ArmFigures(change=arms[0]),  # type: ignore[arg-type]  # checked above
        control=ArmFigures(change=arms[1]),  # type: ignore[arg-type]
        note=str(o.get("note", "")),
    )


def _from_bytes(data: bytes, name: str) -> EvidenceTrial:
    trial = EvidenceTrial.from_dict(tomllib.loads(data.decode("utf-8")))
    return replace(trial, file=name, sha256=hashlib.sha256(data).hexdigest())


def load_evidence_file(path: str | Path) -> EvidenceTrial:
    """Read and validate one evidence TOML file (its name and SHA-256 kept as provenance)."""
    return _from_bytes(Path(path).read_bytes(), Path(path).name)


@lru_cache(maxsize=1)
def _evidence() -> Mapping[str, EvidenceTrial]:
    folder = resources.files("coachstats.trials").joinpath("data", "evidence")
    trials = [
        _from_bytes(f.read_bytes(), f"coachstats/trials/data/evidence/{f.name}")
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

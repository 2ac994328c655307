"""The known answers of the bundled fixtures: every published figure as a checkable target.

Each registry target (:mod:`coachstats.trials`) becomes one or more *check
targets*, the unit that ``coachstats check`` compares and that the fixture
manifest lists:

* one per printed group value, id ``<trial>.<target>.<group>``
  (``hcpc.composite_any.coaching``), or ``<trial>.<target>`` when the target
  is a single figure (``hcpc.age``); the estimate is the value as printed
  (a percentage on the 0-100 scale, a count, or a mean with its SD);
* one for the comparison, id ``<trial>.<target>``, when a difference or a P
  value is printed: the estimate is the printed difference (first group minus
  second, e.g. coaching minus usual care), the P value the printed one.

**Tolerances** follow from how each figure is printed (the fixtures are
calibrated to reproduce the figures *at the printed precision*, nothing
finer):

* a value printed with *d* decimals: +/- half a unit of its last digit
  (``46.4 %`` accepts 46.35 to 46.45), plus any tolerance the registry gives
  for that field;
* a count or a printed n: exact;
* a P value printed with *d* decimals: any P that rounds to it (``.02``
  accepts .015 to .025); ``< .001``: below .001; ``not significant``:
  .05 or more.

Fields the registry declares unreachable (with its reason) and values not
printed (``n.s.``) are not checked; they are listed under ``not_checked``. So
are the figures of a **held-out** target (provenance ``"held-out"``): no
calibration step of the fixtures reads them, so the fixtures are not built to
give them (``coachstats reproduce`` reports whether they do).

Examples
--------
>>> targets = {t.id: t for t in check_targets(["hcpc"])}
>>> t = targets["hcpc.composite_any.coaching"]
>>> t.estimate.low, t.estimate.high, t.n.value
(46.35, 46.45, 194.0)
>>> targets["hcpc.composite_any"].p.reason
'printed as .02 (2 decimals): any P that rounds to .02'
>>> targets["hcpc.age"].sd.printed
'11.1'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from coachstats.core.vocabulary import ARM_NAMES, outcome_label
from coachstats.plan import AnalysisSpec
from coachstats.trials.registry import PrintedP, PrintedValue, Target, Trial, iter_targets

__all__ = [
    "FIELDS",
    "PROVENANCES",
    "UNCLASSIFIED",
    "Bound",
    "CheckTarget",
    "check_targets",
    "target_id",
]

#: The checked fields of a result row, in order.
FIELDS: tuple[str, ...] = ("estimate", "sd", "n", "p")
#: What a target's provenance can be (issue 18); ``unclassified`` until the registry says.
UNCLASSIFIED = "unclassified"
PROVENANCES: tuple[str, ...] = ("construction", "moment-matched", "tuned", "held-out", UNCLASSIFIED)
Kind = Literal["group", "comparison"]
_EPS = 1e-9  # float noise at the interval's ends (e.g. 46.35 computed as 46.349999...)


@dataclass(frozen=True)
class Bound:
    """An expected number: as printed, the interval a computed value must fall in, and why.

    ``value`` is the printed number (None for ``< .001`` and ``not significant``);
    ``tolerance`` the half-width of the interval around it (None when the
    interval is one-sided).

    Examples
    --------
    >>> b = Bound("46.4 %", 46.4, 46.35, 46.45, "printed to 1 decimal")
    >>> b.contains(46.39), b.contains(46.5), b.tolerance
    (True, False, 0.05)
    """

    printed: str
    value: float | None
    low: float
    high: float
    reason: str

    @property
    def tolerance(self) -> float | None:
        """Half the interval's width when it is centred on ``value``."""
        if self.value is None:
            return None
        return _round(max(self.value - self.low, self.high - self.value))

    def contains(self, x: float) -> bool:
        """``low <= x <= high`` (ends included, up to float noise)."""
        return math.isfinite(x) and self.low - _EPS <= x <= self.high + _EPS

    def describe(self) -> str:
        """``46.4 (46.35 to 46.45)``, ``< .001``, ``exactly 194``."""
        if self.value is not None and self.low == self.high:
            return f"exactly {_num(self.value)}"
        if self.value is not None:
            return f"{_num(self.value)} ({_num(self.low)} to {_num(self.high)})"
        if self.low <= 0:
            return f"below {_num(self.high)}"
        return f"{_num(self.low)} or more"

    def to_dict(self) -> dict[str, Any]:
        """The manifest's form."""
        return {
            "printed": self.printed,
            "value": self.value,
            "tolerance": self.tolerance,
            "low": self.low,
            "high": self.high,
            "reason": self.reason,
        }


def _round(x: float) -> float:
    return round(x, 10)


def _num(x: float) -> str:
    return f"{x:.10g}"


@dataclass(frozen=True)
class CheckTarget:
    """One checkable figure of a fixture: what it is, its expected values and their tolerances.

    :meth:`to_dict` is its form in the fixture manifest and :meth:`from_dict` reads it back.
    """

    id: str
    trial: str
    target: str
    group: str | None
    kind: Kind
    label: str
    statistic: str
    scale: str
    definition: Mapping[str, Any]
    provenance: str
    estimate: Bound | None = None
    sd: Bound | None = None
    n: Bound | None = None
    p: Bound | None = None
    not_checked: Mapping[str, str] = field(default_factory=dict)

    def expected(self) -> dict[str, Bound]:
        """The checked fields and their bounds."""
        out = {name: getattr(self, name) for name in FIELDS}
        return {k: v for k, v in out.items() if v is not None}

    @property
    def required(self) -> tuple[str, ...]:
        """Fields a result row must give: the estimate and the P value when they are expected."""
        return tuple(f for f in ("estimate", "p") if getattr(self, f) is not None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckTarget:
        """Read a target back from its manifest form."""
        expected = data.get("expected") or {}
        bounds = {
            name: Bound(
                **{k: expected[name][k] for k in ("printed", "value", "low", "high", "reason")}
            )
            for name in FIELDS
            if name in expected
        }
        return cls(
            id=data["id"],
            trial=data["trial"],
            target=data["target"],
            group=data.get("group"),
            kind=data["kind"],
            label=data["label"],
            statistic=data["statistic"],
            scale=data["scale"],
            definition=data.get("definition") or {},
            provenance=data.get("provenance") or UNCLASSIFIED,
            not_checked=data.get("not_checked") or {},
            **bounds,
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest's form of this target."""
        return {
            "id": self.id,
            "trial": self.trial,
            "target": self.target,
            "group": self.group,
            "kind": self.kind,
            "label": self.label,
            "statistic": self.statistic,
            "scale": self.scale,
            "definition": dict(self.definition),
            "expected": {k: v.to_dict() for k, v in self.expected().items()},
            "required": list(self.required),
            "not_checked": dict(self.not_checked),
            "provenance": self.provenance,
        }


def target_id(trial: str, target: str, group: str | None = None) -> str:
    """The check id of a figure: ``trial.target`` or ``trial.target.group`` (group slugged).

    Examples
    --------
    >>> target_id("hcpc_24", "hba1c_goal_24", "month 12")
    'hcpc_24.hba1c_goal_24.month_12'
    """
    base = f"{trial}.{target}"
    if group is None:
        return base
    return f"{base}.{re.sub(r'[^a-z0-9]+', '_', group.lower()).strip('_')}"


# --------------------------------------------------------------------------- bounds


def _half_unit(decimals: int) -> float:
    return 0.5 * 10.0**-decimals


def _printed_bound(
    printed: str, value: float, decimals: int, extra: float | None, what: str
) -> Bound:
    """Half a unit of the last printed digit, plus the registry's tolerance for the field."""
    if decimals == 0 and extra is None and what == "count":
        return Bound(printed, value, value, value, "a count: exact")
    half = _half_unit(decimals)
    digits = "1 decimal" if decimals == 1 else f"{decimals} decimals"
    reason = f"printed as {printed!r} ({digits}): +/- {_num(half)}, half a unit of the last digit"
    if extra:
        half += float(extra)
        reason += f", plus the registry's tolerance of {_num(float(extra))} for this figure"
    return Bound(printed, value, _round(value - half), _round(value + half), reason)


def _exact(printed: str, value: float, reason: str) -> Bound:
    return Bound(printed, value, value, value, reason)


def _p_bound(pp: PrintedP, extra: float | None) -> Bound:
    if pp.kind == "below":
        return Bound(
            pp.text, None, 0.0, pp.threshold, f"printed as {pp.text}: P below {pp.text[1:].strip()}"
        )
    if pp.kind == "not_significant":
        return Bound(pp.text, None, pp.threshold, 1.0, f"printed as {pp.text!r}: P of .05 or more")
    half = _half_unit(pp.decimals)
    printed = pp.text.strip()
    reason = f"printed as {printed} ({pp.decimals} decimals): any P that rounds to {printed}"
    if extra:
        half += float(extra)
        reason += f", plus the registry's tolerance of {_num(float(extra))}"
    low, high = max(0.0, pp.threshold - half), min(1.0, pp.threshold + half)
    return Bound(pp.text, pp.threshold, _round(low), _round(high), reason)


def _value_bounds(
    pv: PrintedValue, extra: float | None
) -> tuple[str, str, Bound, Bound | None, Bound | None]:
    """(statistic, scale, estimate, sd, n) of one printed group value."""
    text = pv.text
    if pv.kind == "count":
        return "count", "count", _printed_bound(text, pv.number(), 0, extra, "count"), None, None
    if pv.kind == "fraction" and not pv.percent:
        events, total = (int(x) for x in text.split("/"))
        est = _exact(text, float(events), "a count: exact")
        return "count", "count", est, None, _exact(text, float(total), "a printed n: exact")
    if pv.percent:
        head = text.split("(")[1].rstrip(")") if "(" in text else text
        est = _printed_bound(head.strip(), pv.number(), pv.decimals, extra, "percent")
        n: Bound | None = None
        if pv.kind == "fraction":
            n_value = float(text.split("/")[1].split(" ")[0])
            n = _exact(text.split(" ")[0], n_value, "a printed n: exact")
        return "percent", "percent (0-100)", est, None, n
    if pv.kind == "mean_sd":
        mean_text, sd_text = text.split(" (")
        sd_text = sd_text.rstrip(")")
        est = _printed_bound(mean_text, pv.number(), pv.decimals, extra, "mean")
        sd = _printed_bound(sd_text, float(sd_text), pv.sd_decimals, None, "sd")
        return "mean", "units of the endpoint", est, sd, None
    return (
        "mean",
        "units of the endpoint",
        _printed_bound(text, pv.number(), pv.decimals, extra, "mean"),
        None,
        None,
    )


# --------------------------------------------------------------------------- definitions


def _group_label(group: str, spec: AnalysisSpec) -> str:
    if group in ARM_NAMES["long"]:
        return ARM_NAMES["long"][group]
    if group == "all":
        return "all patients"
    if spec.by and spec.by != "arm":
        return f"{spec.by} {group}"
    return group


def _definition(target: Target, spec: AnalysisSpec) -> dict[str, Any]:
    """Endpoint, population and analysis of a figure, from the registry's spec."""
    population: dict[str, Any] = {
        "table": spec.table,
        "groups": list(target.groups),
        "grouped_by": spec.by,
        "subset": spec.subset,
        "complete_on": list(spec.complete_on),
        "missing": spec.missing,
        "followup_month": spec.followup,
        "timepoints": list(spec.timepoints) if spec.timepoints else None,
    }
    return {
        "endpoint": {"column": spec.outcome, "label": outcome_label(spec.outcome)},
        "population": population,
        "analysis": {
            "method": spec.method,
            "rule": spec.describe_rule(),
            "adjusted": target.adjusted,
            "covariates": list(spec.covariates),
            "cluster": spec.cluster,
            "options": {k: v for k, v in spec.options.items() if k != "impute"},
        },
        "not_published": target.not_published,
        "assumption": target.assumption,
        "location": dict(target.location),
    }


#: Why a held-out target's figures are not expected values of the fixtures.
HELD_OUT = (
    "held out (provenance 'held-out'): no calibration step of the fixtures reads this figure, so "
    "the fixtures are not built to give it; `coachstats reproduce` reports whether they do"
)


def _held_out(target: Target, fields: Mapping[str, Bound | None]) -> dict[str, str]:
    """``not_checked`` entries for the printed fields of a held-out target (none otherwise)."""
    if target.provenance != "held-out":
        return {}
    return {name: HELD_OUT for name, bound in fields.items() if bound is not None}


def _provenance(target: Target, name: str) -> str:
    """The target's provenance (issue 18), per field when the registry gives a mapping."""
    value = getattr(target, "provenance", None)
    if isinstance(value, Mapping):
        value = value.get(name) or value.get("target")
    return str(value) if value else UNCLASSIFIED


def _inferred_n(target: Target) -> list[Bound | None]:
    """The per-group n worked out from the printed figures (registry ``inferred.values``)."""
    values = target.inferred.get("values") or []
    out: list[Bound | None] = []
    for text in values:
        parts = str(text).split("/")
        if len(parts) != 2:
            out.append(None)
            continue
        reason = (
            f"not printed: {text} is inferred from the printed percentage and P value "
            "(registry 'inferred'), and the fixture is built with it; exact"
        )
        out.append(_exact(str(text), float(parts[1]), reason))
    return out


def _shared_n(trial: Trial, target: Target) -> list[Bound]:
    """The per-group n printed with another target (registry ``n_target``, e.g. complete cases)."""
    if not target.n_target:
        return []
    other = trial.target(target.n_target)
    if other.groups != target.groups:
        return []
    reason = f"printed as the n of {trial.name}.{other.id} ({other.label}): exact"
    return [_exact(v.text, v.number(), reason) for v in other.printed_values() if v.kind == "count"]


# --------------------------------------------------------------------------- targets


def _group_targets(trial: Trial, target: Target) -> Iterator[CheckTarget]:
    spec = target.values_analysis or target.analysis
    printed_n = target.printed_n()
    inferred_n = _inferred_n(target)
    shared_n = _shared_n(trial, target)
    single = target.groups == ("all",)
    definition = _definition(target, spec)
    for i, (group, pv) in enumerate(zip(target.groups, target.printed_values(), strict=True)):
        if not pv.printed:
            continue
        statistic, scale, est_bound, sd, n = _value_bounds(pv, target.tolerance.get("values"))
        est: Bound | None = est_bound
        not_checked: dict[str, str] = {}
        if "values" in target.unreachable:
            not_checked["estimate"] = target.unreachable["values"]
            est, sd = None, None
        if i < len(printed_n) and printed_n[i].printed:
            n = _exact(printed_n[i].text, printed_n[i].number(), "a printed n: exact")
        elif n is None and i < len(shared_n):
            n = shared_n[i]
        elif n is None and i < len(inferred_n):
            n = inferred_n[i]
        if n is not None and "n" in target.unreachable:
            not_checked["n"] = target.unreachable["n"]
            n = None
        held = _held_out(target, {"estimate": est, "sd": sd, "n": n})
        if held:
            not_checked.update(held)
            est, sd, n = None, None, None
        shown = _group_label(group, spec)
        label = target.label if single else f"{target.label}: {shown}"
        slug = group if group in ARM_NAMES["long"] else shown
        yield CheckTarget(
            id=target_id(trial.name, target.id, None if single else slug),
            trial=trial.name,
            target=target.id,
            group=group,
            kind="group",
            label=label,
            statistic=statistic,
            scale=scale,
            definition=definition,
            provenance=_provenance(target, "values"),
            estimate=est,
            sd=sd,
            n=n,
            not_checked=not_checked,
        )


def _comparison_target(trial: Trial, target: Target) -> CheckTarget | None:
    pdiff, pp = target.printed_difference(), target.printed_p()
    if not (pdiff.printed or pp.printed):
        return None
    not_checked: dict[str, str] = {}
    estimate = None
    scale = "units of the endpoint"
    if pdiff.printed:
        scale = "percentage points" if (pdiff.percent or target.percent_points) else scale
        text = pdiff.text.replace("%", "").strip()
        estimate = _printed_bound(
            text, pdiff.number(), pdiff.decimals, target.tolerance.get("difference"), "difference"
        )
        if target.difference_source == "values":
            estimate = Bound(
                estimate.printed,
                estimate.value,
                estimate.low,
                estimate.high,
                estimate.reason + "; the printed difference is that of the printed group values",
            )
        if "difference" in target.unreachable:
            not_checked["estimate"] = target.unreachable["difference"]
            estimate = None
    p = _p_bound(pp, target.tolerance.get("p")) if pp.printed else None
    if p is not None and "p" in target.unreachable:
        not_checked["p"] = target.unreachable["p"]
        p = None
    held = _held_out(target, {"estimate": estimate, "p": p})
    if held:
        not_checked.update(held)
        estimate, p = None, None
    groups = target.groups or (("coaching", "usual_care") if target.analysis.by == "arm" else ())
    label = target.label + (" (adjusted)" if target.adjusted and "adj" not in target.label else "")
    if len(groups) == 2:
        shown = [ARM_NAMES["plain"].get(g, g) for g in groups]
        label += f": {shown[0]} vs {shown[1].lower()}"
    return CheckTarget(
        id=target_id(trial.name, target.id),
        trial=trial.name,
        target=target.id,
        group=None,
        kind="comparison",
        label=label,
        statistic=f"difference ({groups[0]} - {groups[1]})" if len(groups) == 2 else "difference",
        scale=scale,
        definition=_definition(target, target.analysis),
        provenance=_provenance(target, "p" if p is not None else "difference"),
        estimate=estimate,
        p=p,
        not_checked=not_checked,
    )


def check_targets(trials: Iterable[str] | None = None) -> list[CheckTarget]:
    """Every checkable figure of the registry's trials (all of them by default), in order.

    Examples
    --------
    >>> ids = [t.id for t in check_targets(["hcpc"])]
    >>> ids[:3]
    ['hcpc.randomized.coaching', 'hcpc.randomized.usual_care', 'hcpc.randomized_by_site.site_a']
    >>> "hcpc.sbp_goal" in ids and "hcpc.sbp_goal.coaching" not in ids  # printed only "n.s."
    True
    """
    out: list[CheckTarget] = []
    for trial, target in iter_targets(list(trials) if trials is not None else None):
        out += _group_targets(trial, target)
        comparison = _comparison_target(trial, target)
        if comparison is not None:
            out.append(comparison)
    return out

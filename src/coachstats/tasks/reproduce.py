"""Reproduce the published trials: published and reproduced figures side by side.

:func:`reproduce` runs each registered trial's analysis plan
(:mod:`coachstats.trials`) through :func:`coachstats.plan.run_plan` on
patient-level data -- by default the bundled synthetic cohorts in
``data/synthetic`` -- and compares every target with the figure as printed.

**Tolerances** (per target, documented in the registry and in
``docs/reproduction.md``):

* per-group values (percentages, counts, means, SDs) and differences must be
  equal **at the printed precision**: the reproduced figure is formatted like
  the printed one (``"46.4 %"``, ``"-1.07 (2.8)"``, ``"60/121 (49.6 %)"``) and
  the strings are compared;
* P values must be equal at the printed precision: the reproduced P is
  rounded to the printed number of decimals (a reproduced .009 matches a
  printed ``".01"``); ``"< .001"`` needs P < .001; ``"not significant"`` needs
  P >= .05;
* a target may give an absolute ``tolerance`` per field on the printed scale;
  a figure within it but not equal is ``"within tolerance"``.

**Verdicts**: ``"match"``; ``"within tolerance"``; ``"differs"``; and
``"not reproducible (reason)"`` for figures the registry declares unreachable
(with the reason, e.g. a printed P that contradicts the paper) or whose
analysis cannot run on the data. :attr:`ReproductionResult.ok` is False when
any figure differs or an analysis fails; the declared unreachable figures are
listed, never hidden, and do not make the run fail.

Examples
--------
>>> res = reproduce("hcpc")
>>> row = res.to_frame().set_index("target").loc["composite_any"]
>>> row["published_coaching"], row["reproduced_coaching"], row["reproduced_p"], row["verdict"]
('46.4 %', '46.4 %', '.02', 'match')
>>> res.ok
True
>>> print(res.to_brief().split("\\n\\n")[1])
One clinical goal:
  Health coaching group: 46.4%
  Usual care group: 34.3% (P = .02)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload

import pandas as pd

from coachstats.core.errors import CoachstatsError, OptionError
from coachstats.core.formatting import first_sentence
from coachstats.core.paths import bundled_table
from coachstats.core.results import ARM_DISPLAY, ArmSummary, ComparisonResult, format_p, p_phrase
from coachstats.data.trialdata import TrialData
from coachstats.plan import PlanResult, derive_scores, run_plan
from coachstats.tasks.schemas import json_records, stamp
from coachstats.trials.registry import (
    PROVENANCES,
    PrintedP,
    PrintedValue,
    Target,
    Trial,
    get_trial,
    list_trials,
)

__all__ = [
    "MATCH",
    "NOT_REPRODUCIBLE",
    "VERDICTS",
    "ReproductionResult",
    "TargetResult",
    "group_cells",
    "load_bundled",
    "reproduce",
]

MATCH, WITHIN, DIFFERS, NOT_REPRODUCIBLE = (
    "match",
    "within tolerance",
    "differs",
    "not reproducible",
)
VERDICTS: tuple[str, ...] = (MATCH, WITHIN, DIFFERS, NOT_REPRODUCIBLE)
_RANK = {MATCH: 0, WITHIN: 1, NOT_REPRODUCIBLE: 2, DIFFERS: 3}
_TRIAL_TABLES = ("patients", "medications", "adherent_days")  # the tables of a TrialData
_TABLES = (*_TRIAL_TABLES, "visit_ratings")
_GROUP_DISPLAY = {**ARM_DISPLAY, "all": "All patients", "A": "Site A", "B": "Site B"}
#: The groups of most targets, which the tables' value columns are headed with.
ARM_GROUPS: tuple[str, str] = ("coaching", "usual_care")

FRAME_COLUMNS: tuple[str, ...] = (
    "trial",
    "target",
    "outcome",
    "groups",
    "published_coaching",
    "published_usual_care",
    "published_difference",
    "published_p",
    "reproduced_coaching",
    "reproduced_usual_care",
    "reproduced_difference",
    "reproduced_p",
    "p_value",
    "verdict",
    "provenance",
    "adjusted",
    "n_coaching",
    "n_usual_care",
    "analysis",
    "note",
)


# --------------------------------------------------------------------------- one target


@dataclass(frozen=True)
class Check:
    """One compared field of a target: printed, reproduced, verdict."""

    field: str
    published: str
    reproduced: str
    verdict: str
    reason: str = ""


@dataclass(frozen=True)
class TargetResult:
    """A published target and its reproduction.

    ``values``, ``difference`` and ``p`` are the reproduced figures formatted
    at the printed precision; ``checks`` lists every compared field.
    ``bundled`` is True when the figures were computed on the bundled synthetic
    cohort, whose :attr:`provenance` (how the cohort holds the figure) then applies.
    ``cohort_only`` names the fields whose reproduced figure has no printed
    counterpart (the paper printed "n.s."): the cohort's own values, never a
    published one.
    """

    trial: str
    target: Target
    result: ComparisonResult | None
    values_result: ComparisonResult | None
    values: tuple[str, ...]
    n: tuple[int | None, ...]
    difference: str
    p: str
    checks: tuple[Check, ...]
    error: str | None = None
    bundled: bool = True
    cohort_only: tuple[str, ...] = ()

    @property
    def provenance(self) -> str:
        """How the bundled cohort holds the figure (:data:`~coachstats.trials.PROVENANCES`);
        ``""`` on data of your own."""
        return self.target.provenance if self.bundled else ""

    @property
    def held_out(self) -> bool:
        """A held-out figure on the bundled cohort: no calibration step read it."""
        return self.provenance == "held-out"

    @property
    def reproduced(self) -> bool:
        """Matched at the printed precision or within the target's tolerance."""
        return self.error is None and self.verdict in (MATCH, WITHIN)

    @property
    def verdict(self) -> str:
        """Worst field verdict, with the reason when not reproducible."""
        if self.error is not None:
            return f"{NOT_REPRODUCIBLE} (analysis failed: {_short(self.error)})"
        if not self.checks:
            return MATCH
        worst = max(self.checks, key=lambda c: _RANK[c.verdict])
        if worst.verdict == NOT_REPRODUCIBLE:
            return f"{NOT_REPRODUCIBLE} ({worst.field}: {first_sentence(worst.reason)})"
        return worst.verdict

    @property
    def acceptable(self) -> bool:
        """Matched, within tolerance, or declared unreachable (not an unexpected failure)."""
        if self.error is not None:
            return False
        return all(c.verdict != DIFFERS for c in self.checks)

    @property
    def p_value(self) -> float:
        """The reproduced P value (NaN without a test)."""
        return self.result.p_value if self.result is not None else math.nan

    def note(self) -> str:
        """Why a figure is not reproduced, what differs, the cohort's own values, the inferred values."""
        parts = [f"{c.field}: {c.reason}" for c in self.checks if c.verdict == NOT_REPRODUCIBLE]
        if self.cohort_only:
            shown = " vs ".join(v for v in self.values if v)
            printed = " vs ".join(v for v in self.target.values if v)
            parts.append(
                f"{', '.join(self.cohort_only)} not published (printed {printed}): "
                f"reproduced {shown} are the cohort's own values, not the trial's"
            )
        parts += [
            f"{c.field} differs: published {c.published}, reproduced {c.reproduced}"
            for c in self.checks
            if c.verdict in (DIFFERS, WITHIN)
        ]
        inferred = self.target.inferred
        if inferred.get("values") and self.values_result is not None:
            got = [_counts(a) for a in self._arms()]
            want = [str(v) for v in inferred["values"]]
            if got != want:
                parts.append(f"inferred counts {' vs '.join(want)}; reproduced {' vs '.join(got)}")
        if self.result is not None and "p" in inferred and math.isfinite(self.p_value):
            parts.append(f"P = {self.p_value:.3f} (inferred {inferred['p']})")
        if self.held_out and not self.reproduced and self.error is None:
            parts.append("held-out figure: no calibration step read it, and it was not re-tuned")
        return "; ".join(parts)

    def display_row(self) -> dict[str, Any]:
        """:meth:`row` for the tables people read: a reproduced value the paper did not
        print is marked ``"47.5 % (reproduced; published: n.s.)"``."""
        row = self.row()
        for side, group, printed in zip(
            ("reproduced_coaching", "reproduced_usual_care"),
            self.target.groups,
            self.target.values,
            strict=False,
        ):
            if f"values ({group})" in self.cohort_only:
                row[side] = f"{row[side]} (reproduced; published: {printed})"
        return row

    def _arms(self) -> list[ArmSummary | None]:
        return _match_groups(self.values_result, self.target.groups)

    def row(self) -> dict[str, Any]:
        """One row of :meth:`ReproductionResult.to_frame`."""
        t = self.target
        pub = list(t.values) + [""] * (2 - len(t.values))
        rep = list(self.values) + [""] * (2 - len(self.values))
        n = list(self.n) + [None] * (2 - len(self.n))
        return {
            "trial": self.trial,
            "target": t.id,
            "outcome": t.label,
            "groups": " / ".join(t.groups),
            "published_coaching": pub[0],
            "published_usual_care": pub[1],
            "published_difference": t.difference,
            "published_p": t.p,
            "reproduced_coaching": rep[0],
            "reproduced_usual_care": rep[1],
            "reproduced_difference": self.difference,
            "reproduced_p": self.p,
            "p_value": self.p_value,
            "verdict": self.verdict,
            "provenance": self.provenance,
            "adjusted": t.adjusted,
            "n_coaching": n[0],
            "n_usual_care": n[1],
            "analysis": t.analysis.describe_rule(),
            "note": self.note(),
        }


def _short(text: str) -> str:
    """The first sentence of an error message, whole (without the list of available columns)."""
    return first_sentence(text.split("; available columns")[0])


def group_cells(groups: Sequence[str] | str, values: Sequence[str]) -> list[str]:
    """The value cells of a target, labelled with their group unless it is coaching vs usual care.

    The published-vs-reproduced tables head their two value columns *Coaching* and *Usual
    care*; a target of other groups (the two sites, all patients, months 12 and 24) names
    its group in each cell, so that no figure reads as an arm's.

    Parameters
    ----------
    groups : sequence of str, or str
        The target's groups (:attr:`Target.groups`), or the ``groups`` column of
        :meth:`ReproductionResult.to_frame` (joined with ``" / "``).
    values : sequence of str
        The formatted values, one per group (empty: none printed).

    Examples
    --------
    >>> group_cells("A / B", ["332", "109"])
    ['Site A: 332', 'Site B: 109']
    >>> group_cells(("all",), ["52.7 (11.1)", ""]), group_cells("coaching / usual_care", ["46.4 %", "34.3 %"])
    (['All patients: 52.7 (11.1)', ''], ['46.4 %', '34.3 %'])
    """
    names = [g for g in (groups.split(" / ") if isinstance(groups, str) else groups) if g]
    cells = [str(v) for v in values]
    if not names or tuple(names) == ARM_GROUPS[: len(names)]:
        return cells
    return [
        f"{_GROUP_DISPLAY.get(g, g[:1].upper() + g[1:])}: {v}" if v and g else v
        for g, v in zip([*names, *[""] * len(cells)], cells, strict=False)
    ]


def _counts(arm: ArmSummary | None) -> str:
    if arm is None:
        return "NA"
    return f"{arm.events}/{arm.n}" if arm.events is not None else str(arm.n)


def _match_groups(
    result: ComparisonResult | None, groups: Sequence[str]
) -> list[ArmSummary | None]:
    """The result's group summaries in the target's group order (None when absent)."""
    if result is None:
        return [None] * len(groups)
    by_label = {a.arm: a for a in result.arms}
    return [by_label.get(g) for g in groups]


def _verdict(
    target: Target, name: str, published: str, reproduced: str, equal: bool, distance: float
) -> Check:
    """Verdict of one field: match, within its tolerance, declared unreachable, or differs."""
    if equal:
        return Check(name, published, reproduced, MATCH)
    key = name.split(" ")[0]  # "values (coaching)" -> "values"
    tol = target.tolerance.get(key)
    if tol is not None and math.isfinite(distance) and distance <= float(tol) + 1e-12:
        return Check(name, published, reproduced, WITHIN, f"tolerance {tol}")
    reason = target.unreachable.get(key)
    if reason:
        return Check(name, published, reproduced, NOT_REPRODUCIBLE, reason)
    return Check(name, published, reproduced, DIFFERS)


def _check_value(
    target: Target, name: str, published: str, reproduced: str, pv: PrintedValue
) -> Check:
    try:
        distance = abs(PrintedValue.parse(reproduced).number() - pv.number())
    except OptionError:
        distance = math.nan
    return _verdict(target, name, published, reproduced, pv.matches(reproduced), distance)


def _default_format(arm: ArmSummary) -> str:
    """A reproduced value whose printed counterpart is not a number (e.g. ``n.s.``)."""
    if arm.events is not None:
        return f"{100 * arm.value:.1f} %"
    return f"{arm.value:.2f}"


def _difference(target: Target, result: ComparisonResult, values: ComparisonResult) -> float:
    pv = target.printed_difference()
    scale = 100.0 if (pv.percent or target.percent_points) else 1.0
    if target.difference_source == "values":
        arms = _match_groups(values, target.groups)
        if len(arms) != 2 or arms[0] is None or arms[1] is None:
            return math.nan
        return scale * (arms[0].value - arms[1].value)
    return scale * result.estimate


def evaluate_target(
    trial: str,
    target: Target,
    result: ComparisonResult | None,
    values_result: ComparisonResult | None,
    error: str | None = None,
    *,
    bundled: bool = True,
) -> TargetResult:
    """Format the reproduced figures at the printed precision and compare them.

    ``bundled``: the figures come from the bundled synthetic cohort (the target's
    provenance applies).
    """
    if result is None or values_result is None:
        return TargetResult(
            trial,
            target,
            result,
            values_result,
            (),
            (),
            "",
            "",
            (),
            error or "no result",
            bundled=bundled,
        )
    checks: list[Check] = []
    arms = _match_groups(values_result, target.groups)
    values: list[str] = []
    cohort_only: list[str] = []
    for group, printed, pv, arm in zip(
        target.groups, target.values, target.printed_values(), arms, strict=False
    ):
        if not pv.printed:
            # not printed: "" (shown elsewhere) stays blank; "n.s." shows the reproduced value,
            # marked as the cohort's own (TargetResult.cohort_only)
            if pv.text and arm is not None:
                values.append(_default_format(arm))
                cohort_only.append(f"values ({group})")
            else:
                values.append("")
            continue
        rep = pv.format_arm(arm) if arm is not None else "NA"
        values.append(rep)
        checks.append(_check_value(target, f"values ({group})", printed, rep, pv))
    n_arms = _match_groups(result, target.groups)
    for group, printed, pv, arm in zip(
        target.groups, target.n, target.printed_n(), n_arms, strict=False
    ):
        rep = str(arm.n) if arm is not None else "NA"
        checks.append(_check_value(target, f"n ({group})", printed, rep, pv))
    difference = ""
    pdiff = target.printed_difference()
    if pdiff.printed:
        diff = _difference(target, result, values_result)
        difference = pdiff.format_number(diff / 100.0 if pdiff.percent else diff)
        checks.append(_check_value(target, "difference", target.difference, difference, pdiff))
    p_text = ""
    pp = target.printed_p()
    if pp.printed:
        p_text = pp.format(result.p_value)
        distance = abs(result.p_value - pp.value())
        check = _verdict(target, "p", target.p, p_text, pp.matches(result.p_value), distance)
        inferred_p = str(target.inferred.get("p", ""))
        if check.verdict == NOT_REPRODUCIBLE and inferred_p:
            # a printed P declared wrong (".47" for .047): show the reproduced P at the
            # precision of the value inferred in its place, not rounded to the misprint's
            p_text = PrintedP.parse(inferred_p).format(result.p_value)
            check = replace(check, reproduced=p_text)
        checks.append(check)
    n_tuple = tuple(a.n if a is not None else None for a in n_arms)
    return TargetResult(
        trial,
        target,
        result,
        values_result,
        tuple(values),
        n_tuple,
        difference,
        p_text,
        tuple(checks),
        bundled=bundled,
        cohort_only=tuple(cohort_only),
    )


# --------------------------------------------------------------------------- data


def load_bundled(cohort: str) -> dict[str, pd.DataFrame | None]:
    """Load a bundled synthetic cohort's tables (``data/synthetic/<cohort>_<table>.csv``).

    The tables of :func:`load_bundled_trial`, by name.

    Examples
    --------
    >>> tables = load_bundled("hcpc")
    >>> len(tables["patients"])
    441
    """
    td = load_bundled_trial(cohort)
    return {**_trial_tables(td), "visit_ratings": td.visit_ratings}


def load_bundled_trial(cohort: str) -> TrialData:
    """A bundled synthetic cohort as a :class:`~coachstats.data.trialdata.TrialData`.

    The patient table goes through :func:`coachstats.load_trial` (validation,
    dtypes), exactly as a user's file would; the medication and adherent-days
    tables through its side-table validation; the clinicians' visit ratings,
    when the cohort has them, are read as they are.

    Examples
    --------
    >>> td = load_bundled_trial("hcpc")
    >>> td.n, td.source.endswith("hcpc_patients.csv"), len(td.visit_ratings) > 0
    (441, True, True)
    """
    from coachstats.data.io import load_trial, read_table

    patients = bundled_table(f"{cohort}_patients")
    if patients is None:
        raise CoachstatsError(
            f"no bundled cohort {cohort!r} (expected {cohort}_patients.csv in data/synthetic); "
            "regenerate with `python -m coachstats.synthetic data/synthetic`"
        )
    meds = bundled_table(f"{cohort}_medications")
    days = bundled_table(f"{cohort}_adherent_days")
    if meds is not None and len(read_table(meds).index) == 0:
        meds = days = None  # the generator wrote an empty table: no adherence data
    # require_baseline=False: a follow-up value without a baseline (the peer trial's one
    # coaching patient without a baseline HbA1c) is excluded per endpoint, and counted
    td = load_trial(patients, medications=meds, adherent_days=days, require_baseline=False)
    visits = bundled_table(f"{cohort}_visit_ratings")
    ratings = read_table(visits) if visits is not None else None
    if ratings is not None and len(ratings) == 0:
        ratings = None
    return replace(td, visit_ratings=ratings)


def _trial_tables(td: Any) -> dict[str, pd.DataFrame | None]:
    """The patient, medication and adherent-days tables of a loaded :class:`TrialData`."""
    return {name: getattr(td, name) for name in _TRIAL_TABLES}


def _user_data(data: Any) -> TrialData | Mapping[str, pd.DataFrame | None]:
    """Your data as a TrialData (a file is loaded once, here), or as the tables given."""
    from coachstats.data.io import load_trial

    if isinstance(data, (str, Path)):
        return load_trial(data, require_baseline=False)
    if isinstance(data, TrialData):
        return data
    if isinstance(data, pd.DataFrame):
        return {"patients": data}
    if isinstance(data, Mapping):
        return data
    patients = getattr(data, "patients", None)
    if isinstance(patients, pd.DataFrame):
        return {name: getattr(data, name, None) for name in _TABLES}
    raise OptionError(
        "data must be a path, a DataFrame, a TrialData or a mapping of tables, "
        f"got {type(data).__name__}"
    )


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class ReproductionResult:
    """Published vs reproduced for one or more trials.

    Attributes
    ----------
    targets : tuple of TargetResult
        Every target, in registry order.
    trials : tuple of str
        The trials run.
    source : str
        ``"bundled synthetic cohorts"`` or the user's data.
    sensitivity : DataFrame or None
        With ``sensitivity=True``: the main HCPC outcomes under each variant.
    elapsed : float
        Seconds taken.
    plan_results : mapping of trial -> PlanResult
        Each trial's plan result (with its plan, goal set, flow and data source).
    data : mapping of str -> TrialData
        The data the plans ran on, loaded once: by cohort name for the bundled
        cohorts, under ``"data"`` for data of your own given as a file or
        TrialData (reports read the flow and Table 1 from here).
    """

    targets: tuple[TargetResult, ...]
    trials: tuple[str, ...]
    source: str
    sensitivity: pd.DataFrame | None = None
    elapsed: float = 0.0
    plan_results: Mapping[str, PlanResult] = field(default_factory=dict, repr=False)
    data: Mapping[str, TrialData] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when no analysis failed and no figure differs, held-out figures aside.

        A held-out figure (provenance ``"held-out"``, on the bundled cohort) was read
        by no calibration step: whether it is reproduced tests the cohort's
        assumptions, not the pipeline. A miss is reported (:meth:`figures_line`,
        the verdict ``"differs"``, the note) and never re-tuned away, and it does
        not make the run fail; its analysis must still run.
        """
        return all(_passes(t) for t in self.targets)

    def counts(self) -> dict[str, int]:
        """Targets per verdict category."""
        out = dict.fromkeys(VERDICTS, 0)
        for t in self.targets:
            out[t.verdict.split(" (")[0]] += 1
        return out

    def provenance_counts(self) -> dict[str, int]:
        """Targets per provenance (:data:`~coachstats.trials.PROVENANCES`; ``""``: none stated).

        Empty on data of your own, where the bundled cohort's provenance does not apply.
        """
        out = dict.fromkeys(PROVENANCES, 0)
        for t in self.targets:
            if t.bundled:
                out[t.provenance] = out.get(t.provenance, 0) + 1
        return out if any(t.bundled for t in self.targets) else {}

    def held_out(self) -> tuple[int, int]:
        """(reproduced, total) of the held-out figures (matched or within tolerance)."""
        held = [t for t in self.targets if t.held_out]
        return sum(t.reproduced for t in held), len(held)

    def figures_line(self) -> str:
        """How many figures, how the cohort holds them, and how many held-out ones reproduce.

        Examples
        --------
        >>> reproduce("hcpc_pacic").figures_line()
        '6 figures: 2 by construction, 2 moment-matched, 2 tuned; no held-out figure'
        """
        n = len(self.targets)
        counts = self.provenance_counts()
        if not counts:
            return f"{n} figures on {self.source} (the bundled cohorts' provenance does not apply)"
        parts = [
            f"{counts['construction']} by construction",
            f"{counts['moment-matched']} moment-matched",
            f"{counts['tuned']} tuned",
        ]
        if counts.get(""):
            parts.append(f"{counts['']} with no stated provenance")
        got, total = self.held_out()
        held = f"held-out {got} of {total} reproduced" if total else "no held-out figure"
        return f"{n} figures: {', '.join(parts)}; {held}"

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per target (columns :data:`FRAME_COLUMNS`)."""
        rows = [t.row() for t in self.targets]
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))

    def failures(self) -> pd.DataFrame:
        """The rows that make the run fail: a figure that differs (held-out ones aside) or an
        analysis that failed."""
        frame = self.to_frame()
        bad = [not _passes(t) for t in self.targets]
        return frame.loc[bad].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (schema ``reproduce.schema.json``): verdict, counts and every target's row.

        Examples
        --------
        >>> d = reproduce("hcpc_24").to_dict()
        >>> d["schema_version"], d["ok"], d["targets"][0]["target"], d["sensitivity"]
        ('1.0', True, 'seen_both', None)
        """
        sens = self.sensitivity
        return stamp(
            "reproduce",
            {
                "ok": self.ok,
                "trials": list(self.trials),
                "source": self.source,
                "counts": self.counts(),
                "targets": json_records(self.to_frame()),
                "sensitivity": json_records(sens) if sens is not None else None,
            },
        )

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON (``coachstats reproduce --format json``)."""
        return json.dumps(self.to_dict(), indent=2)

    def summary(self) -> str:
        """A text table per trial, then the verdict counts and what is not reproduced."""
        lines: list[str] = []
        for name in self.trials:
            trial = get_trial(name)
            lines += [f"{trial.title}", f"  {trial.citation.text()}"]
            for t in self.targets:
                if t.trial == name:
                    lines.append("  - " + _summary_line(t.display_row()))
            for u in trial.unreachable_targets:
                p = f" (published {p_phrase(u.p)})" if u.p else ""
                lines.append(f"  - {u.label}{p}: not reproducible from this cohort: {u.reason}")
            lines.append("")
        lines.append(self.figures_line())
        counts = self.counts()
        missed = sum(t.held_out and not t.reproduced for t in self.targets)
        verdicts = ", ".join(f"{v} {k}" for k, v in counts.items())
        if missed:
            verdicts += f" ({missed} held-out figure{'s' if missed > 1 else ''} not reproduced)"
        lines.append(f"Verdicts: {verdicts} ({self.source}; {self.elapsed:.1f} s)")
        if missed:
            lines.append(
                "Held-out figures that differ are reported, not re-tuned: they test the "
                "cohort's assumptions, not the pipeline, and do not fail the run."
            )
        lines.append("OK" if self.ok else "FAILED: some figures differ or could not be computed")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The published-vs-reproduced table as Markdown, one section per trial.

        Examples
        --------
        >>> md = reproduce("hcpc_24").to_markdown().splitlines()
        >>> print(md[6])
        | Seen at both 12 and 24 months | All patients: 290/441 |  |  |  | All patients: 290/441 |  |  |  | match | construction |
        >>> md[-1]
        '*3 figures: 1 by construction, 0 moment-matched, 0 tuned; held-out 0 of 2 reproduced*'
        """
        lines: list[str] = []
        head = (
            "| outcome | published: coaching | usual care | difference | P "
            "| reproduced: coaching | usual care | difference | P | verdict | provenance |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|"
        )
        for name in self.trials:
            trial = get_trial(name)
            lines += [f"### {trial.title}", "", f"{trial.citation.text()}", "", head]
            for t in self.targets:
                if t.trial != name:
                    continue
                r = t.display_row()
                label = r["outcome"]
                if r["adjusted"] and "adjusted" not in label:
                    label += " (adjusted)"
                cells = [label]
                for side in ("published", "reproduced"):
                    cells += group_cells(r["groups"], [r[f"{side}_{g}"] for g in ARM_GROUPS])
                    cells += [r[f"{side}_{c}"] for c in ("difference", "p")]
                cells += [r["verdict"], r["provenance"]]
                lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
            lines.append("")
        lines.append(f"*{self.figures_line()}*")
        return "\n".join(lines).rstrip() + "\n"

    def to_brief(self) -> str:
        """The practice brief's presentation of the published figures, one block per outcome.

        Per-group values and the P value exactly as printed, in the brief's style;
        adjusted results are marked ``(P = .001, adjusted)``. Nothing the paper did
        not print is shown as published: the cohort's values behind an "n.s." and
        any reproduced figure that differs from the printed one are on a line
        marked "Reproduced".
        """
        blocks: list[str] = []
        for name in self.trials:
            trial = get_trial(name)
            targets = [t for t in self.targets if t.trial == name and t.target.brief]
            if not targets:
                continue
            blocks.append(f"{trial.title} ({trial.citation.text()})")
            blocks += [_brief_block(t) for t in targets]
        return "\n\n".join(blocks)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items() if v)
        return f"<ReproductionResult {list(self.trials)}: {counts}; ok={self.ok}>"


def _passes(t: TargetResult) -> bool:
    """Acceptable, or a held-out figure whose analysis ran (its miss is reported, not a failure)."""
    return t.acceptable or (t.held_out and t.error is None)


def _summary_line(r: Mapping[str, Any]) -> str:
    """``outcome: published ...; reproduced ... -> verdict``."""
    texts = []
    for side in ("published", "reproduced"):
        cells = group_cells(r["groups"], [str(r[f"{side}_{g}"]) for g in ARM_GROUPS])
        text = " vs ".join(v for v in cells if v)
        if r["published_difference"]:
            text += (" diff " if text else "diff ") + str(r[f"{side}_difference"])
        if r["published_p"]:
            text += (", P " if text else "P ") + str(r[f"{side}_p"])
        texts.append(text)
    adj = " (adjusted)" if r["adjusted"] and "adjusted" not in str(r["outcome"]) else ""
    held = f" [{r['provenance']}]" if r.get("provenance") else ""
    return (
        f"{r['outcome']}{adj}: published {texts[0]}; reproduced {texts[1]} -> {r['verdict']}{held}"
    )


def _brief_block(tr: TargetResult) -> str:
    """One outcome as the practice brief prints it: the published figures exactly as printed.

    A reproduced figure is shown in their place only where it equals the printed one.
    Everything else the reproduction computed is on a last line marked as reproduced:
    the cohort's own values where the paper printed none ("n.s."), and reproduced
    figures that differ from the printed ones (with the reason when declared).
    """
    t = tr.target
    lines = [f"{t.label}:"]
    adjusted = ", adjusted" if t.adjusted else ""
    tail = ""
    if t.p == "not significant":
        tail = f" (not significant{adjusted})"
    elif t.p:
        tail = f" ({p_phrase(t.p)}{adjusted})"
    elif t.adjusted:
        tail = " (adjusted)"
    rows = [
        (_GROUP_DISPLAY.get(g, g.capitalize()), v.replace(" %", "%"))
        for g, v in zip(t.groups, t.values, strict=False)
        if v
    ]
    if t.difference:
        rows.append(("Difference", t.difference.replace(" %", "%")))
    if not rows:  # only a P value was printed (e.g. an adjusted model)
        text = tail.strip()[1:-1] if tail else "no figure printed"
        lines.append(f"  {text[0].upper()}{text[1:]}")
    for i, (name, value) in enumerate(rows):
        end = tail if i == len(rows) - 1 else ""
        lines.append(f"  {name}: {value}{end}")
    if tr.error is not None:
        lines.append(f"  (not reproduced: {_short(tr.error)})")
    else:
        lines += _brief_remarks(tr)
    return "\n".join(lines)


def _brief_remarks(tr: TargetResult) -> list[str]:
    """The marked lines of a brief block: the cohort's own values, and figures that differ."""
    out: list[str] = []
    if tr.cohort_only:
        values = " vs ".join(v.replace(" %", "%") for v in tr.values if v)
        p = f", {p_phrase(tr.p_value)}" if math.isfinite(tr.p_value) else ""
        out.append(f"  Reproduced, not published (the cohort's own values): {values}{p}")
    for c in tr.checks:
        if c.verdict == MATCH:
            continue
        name = "P" if c.field == "p" else c.field
        shown = p_phrase(c.reproduced) if c.field == "p" else f"{name} {c.reproduced}"
        if c.verdict == NOT_REPRODUCIBLE:
            why = f"not reproducible: {_first_sentence(c.reason)}"
        elif c.verdict == WITHIN:
            why = f"within the tolerance of {c.reason.removeprefix('tolerance ')}"
        else:
            why = "differs" + ("; a held-out figure, not re-tuned" if tr.held_out else "")
        out.append(f"  Reproduced: {shown.replace(' %', '%')} (published {c.published}; {why})")
    return out


# --------------------------------------------------------------------------- sensitivity


def _sensitivity_table(name: str, result: PlanResult) -> pd.DataFrame:
    rows = []
    for spec, res, err in zip(result.specs, result.results, result.errors, strict=True):
        target, _, variant = spec.label.partition(" | ")
        row: dict[str, Any] = {
            "trial": name,
            "target": target,
            "analysis": variant,
            "rule": spec.describe_rule(),
        }
        if res is None:
            row.update(
                {
                    "coaching": "",
                    "usual_care": "",
                    "estimand": "",
                    "estimate": math.nan,
                    "conf_low": math.nan,
                    "conf_high": math.nan,
                    "p_value": math.nan,
                    "p": "",
                    "significant": "",
                    "note": err or "",
                }
            )
        else:
            arms = _match_groups(res, ("coaching", "usual_care"))
            row.update(
                {
                    "coaching": _arm_text(arms[0]),
                    "usual_care": _arm_text(arms[1]),
                    "estimand": res.estimand,
                    "estimate": res.estimate,
                    "conf_low": res.conf_low,
                    "conf_high": res.conf_high,
                    "p_value": res.p_value,
                    "p": format_p(res.p_value),
                    "significant": "yes" if res.p_value < 0.05 else "no",
                    "note": res.missing if res.missing != "complete case" else "",
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _arm_text(arm: ArmSummary | None) -> str:
    if arm is None:
        return ""
    pct = f"{100 * arm.value:.1f} %"
    if arm.events is None:
        return f"{pct} (n = {arm.n})"
    return f"{arm.events}/{arm.n} ({pct})"


# --------------------------------------------------------------------------- reproduce


def _targets_of(trial: Trial, plan_result: PlanResult, *, bundled: bool) -> list[TargetResult]:
    by_label = {s.label: i for i, s in enumerate(plan_result.specs)}
    out = []
    for target in trial.targets:
        i = by_label[target.analysis.label]
        res, err = plan_result.results[i], plan_result.errors[i]
        vres, verr = res, err
        if target.values_analysis is not None:
            j = by_label[target.values_analysis.label]
            vres, verr = plan_result.results[j], plan_result.errors[j]
        out.append(evaluate_target(trial.name, target, res, vres, err or verr, bundled=bundled))
    return out


def reproduce(
    trial: str | Sequence[str] | None = None,
    *,
    data: Any = None,
    sensitivity: bool = False,
) -> ReproductionResult:
    """Reproduce published figures through the public pipeline.

    Parameters
    ----------
    trial : str, list of str or None
        Registry names (:func:`coachstats.trials.list_trials`), or TOML file
        paths of your own trials; None runs every registered trial.
    data : path, DataFrame, TrialData or mapping of tables, optional
        Run the plans on this data instead of the bundled synthetic cohorts
        (the same data for every trial requested).
    sensitivity : bool
        Also rerun the main HCPC outcomes under the sensitivity variants
        (missing = failure, multiple imputation, Yates, site-adjusted and
        clustered models); the table is in :attr:`ReproductionResult.sensitivity`.

    Returns
    -------
    ReproductionResult
        ``.to_frame()`` (tidy table), ``.summary()``, ``.to_brief()``, ``.ok``.

    Examples
    --------
    >>> r = reproduce("peer")
    >>> r.to_frame().set_index("target").loc["hba1c_drop", ["reproduced_coaching", "reproduced_p"]].tolist()
    ['60/121 (49.6 %)', '.005']
    """
    start = time.perf_counter()
    names: list[str | Path | Trial]
    if trial is None:
        names = list(list_trials())
    elif isinstance(trial, (str, Path, Trial)):
        names = [trial]
    else:
        names = list(trial)
    trials = [get_trial(n) for n in names]
    user = _user_data(data) if data is not None else None
    loaded: dict[str, TrialData] = {}
    results: list[TargetResult] = []
    plans: dict[str, PlanResult] = {}
    sens_frames: list[pd.DataFrame] = []
    if user is not None:
        user = _scored(user)
        if isinstance(user, TrialData):
            loaded["data"] = user
    for tr in trials:
        tables: TrialData | Mapping[str, pd.DataFrame | None]
        if user is not None:
            tables = user
        else:
            if tr.cohort is None:
                raise OptionError(f"trial {tr.name!r} has no bundled cohort; pass data=")
            if tr.cohort not in loaded:
                loaded[tr.cohort] = _scored(load_bundled_trial(tr.cohort))
            tables = loaded[tr.cohort]
        plan_result = run_plan(tables, tr.plan(), errors="record")
        plans[tr.name] = plan_result
        results += _targets_of(tr, plan_result, bundled=user is None)
        if sensitivity and tr.sensitivity is not None:
            sres = run_plan(tables, tr.sensitivity_plan(), errors="record")
            sens_frames.append(_sensitivity_table(tr.name, sres))
    sens = pd.concat(sens_frames, ignore_index=True) if sens_frames else None
    if sensitivity and sens is None:
        sens = pd.DataFrame()
    return ReproductionResult(
        targets=tuple(results),
        trials=tuple(t.name for t in trials),
        source="bundled synthetic cohorts" if data is None else _describe_source(data),
        sensitivity=sens,
        elapsed=time.perf_counter() - start,
        plan_results=plans,
        data=loaded,
    )


@overload
def _scored(data: TrialData) -> TrialData: ...
@overload
def _scored(data: Mapping[str, pd.DataFrame | None]) -> dict[str, pd.DataFrame | None]: ...
def _scored(
    data: TrialData | Mapping[str, pd.DataFrame | None],
) -> TrialData | dict[str, pd.DataFrame | None]:
    """Questionnaire scores computed once per data set, shared by the trials that use it."""
    if isinstance(data, TrialData):
        return replace(data, patients=derive_scores(data.patients))
    out = dict(data)
    patients = out.get("patients")
    if patients is not None:
        out["patients"] = derive_scores(patients)
    return out


def _describe_source(data: Any) -> str:
    if isinstance(data, (str, Path)):
        return str(data)
    return f"<{type(data).__name__}>"

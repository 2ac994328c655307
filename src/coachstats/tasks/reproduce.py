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
from coachstats.core.formatting import join_words
from coachstats.core.paths import bundled_table
from coachstats.core.results import ArmSummary, format_p, p_phrase
from coachstats.core.vocabulary import column_phrase
from coachstats.data.trialdata import TrialData
from coachstats.plan import PlanResult, derive_scores, run_plan
from coachstats.tasks.reproduce_targets import (
    GROUP_DISPLAY,
    MATCH,
    NOT_REPRODUCIBLE,
    VERDICTS,
    TargetResult,
    brief_block,
    evaluate_target,
    match_groups,
)
from coachstats.tasks.schemas import json_records, stamp
from coachstats.trials.registry import PROVENANCES, Trial, get_trial, list_trials

__all__ = [
    "ARM_GROUPS",
    "FRAME_COLUMNS",
    "MATCH",
    "NOT_REPRODUCIBLE",
    "VERDICTS",
    "ReproductionResult",
    "TargetResult",
    "evaluate_target",
    "group_cells",
    "load_bundled",
    "reproduce",
]

_TRIAL_TABLES = ("patients", "medications", "adherent_days")  # the tables of a TrialData
_TABLES = (*_TRIAL_TABLES, "visit_ratings")
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
        f"{GROUP_DISPLAY.get(g, g[:1].upper() + g[1:])}: {v}" if v and g else v
        for g, v in zip([*names, *[""] * len(cells)], cells, strict=False)
    ]


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
        return all(t.passes for t in self.targets)

    def counts(self) -> dict[str, int]:
        """Targets per verdict category."""
        return _count_verdicts(self.targets)

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
        '5 figures: 2 by construction, 2 moment-matched, 1 tuned; no held-out figure'
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

    def verdicts_line(self) -> str:
        """The verdict counts, the figures built into the bundled cohort apart from the held-out ones.

        A match of a figure the cohort was built, moment-matched or tuned to hold shows that
        the analysis recovers what the cohort was given; only the held-out figures test the
        reproduction. On data of your own (no provenance) every figure is counted together.

        Examples
        --------
        >>> print(reproduce("hcpc_24").verdicts_line())
        Verdicts: figures built into the cohort (1; recovering them checks the pipeline, it is not an independent reproduction): 1 match; held-out figures (2; the only independent test): 2 differs
        """
        if not self.provenance_counts():
            return f"Verdicts: {_verdict_counts(self.targets)}"
        built = [t for t in self.targets if t.built_in]
        held = [t for t in self.targets if t.held_out]
        parts = [
            f"figures built into the cohort ({len(built)}; recovering them checks the pipeline, "
            f"it is not an independent reproduction): {_verdict_counts(built)}",
            f"held-out figures ({len(held)}; the only independent test): {_verdict_counts(held)}",
        ]
        other = [t for t in self.targets if not (t.built_in or t.held_out)]
        if other:
            parts.append(f"no stated provenance ({len(other)}): {_verdict_counts(other)}")
        return "Verdicts: " + "; ".join(parts)

    def match_rule(self) -> str:
        """How a reproduced figure is judged against the printed one, said next to the verdicts.

        Examples
        --------
        >>> print(reproduce("hcpc_24").match_rule())  # doctest: +NORMALIZE_WHITESPACE
        'match': the reproduced figure, rounded to the printed precision, equals the printed one
        (a P value rounded to the printed decimals; '< .001' needs P < .001, 'not significant'
        P >= .05); no figure has a wider tolerance, so anything else 'differs' (or is 'not
        reproducible', with the reason); 'match (built in)': a match of a figure the bundled
        cohort was built, moment-matched or tuned to hold, which checks the pipeline and is not
        an independent reproduction
        """
        wider = [
            f"{t.target.label} ({', '.join(f'{k} {v:g}' for k, v in t.target.tolerance.items())})"
            for t in self.targets
            if t.target.tolerance
        ]
        tol = (
            "'within tolerance': not equal, but within the absolute tolerance stated for "
            + "; ".join(wider)
            if wider
            else "no figure has a wider tolerance, so anything else 'differs' (or is 'not "
            "reproducible', with the reason)"
        )
        built = (
            "; 'match (built in)': a match of a figure the bundled cohort was built, "
            "moment-matched or tuned to hold, which checks the pipeline and is not an "
            "independent reproduction"
            if any(t.built_in for t in self.targets)
            else ""
        )
        return (
            "'match': the reproduced figure, rounded to the printed precision, equals the "
            "printed one (a P value rounded to the printed decimals; '< .001' needs P < .001, "
            f"'not significant' P >= .05); {tol}{built}"
        )

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per target (columns :data:`FRAME_COLUMNS`); the counts are integers
        (missing where a target has one group), not floats."""
        rows = [t.row() for t in self.targets]
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        return frame.astype({"n_coaching": "Int64", "n_usual_care": "Int64"})

    def failures(self) -> pd.DataFrame:
        """The rows that make the run fail: a figure that differs (held-out ones aside) or an
        analysis that failed."""
        frame = self.to_frame()
        bad = [not t.passes for t in self.targets]
        return frame.loc[bad].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (schema ``reproduce.schema.json``): verdict, counts and every target's row.

        Examples
        --------
        >>> d = reproduce("hcpc_24").to_dict()
        >>> d["schema_version"], d["ok"], d["targets"][0]["target"], d["sensitivity"]
        ('2.0', True, 'seen_both', None)
        >>> d["targets"][0]["provenance"], d["held_out"]
        ('construction', {'reproduced': 0, 'total': 2})
        """
        sens = self.sensitivity
        return stamp(
            "reproduce",
            {
                "ok": self.ok,
                "trials": list(self.trials),
                "source": self.source,
                "counts": self.counts(),
                "figures": self.figures_line(),
                "provenance": self.provenance_counts(),
                "held_out": dict(zip(("reproduced", "total"), self.held_out(), strict=True)),
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
                    how = t.differs_how()
                    lines.append(
                        "  - "
                        + _summary_line(t.display_row())
                        + _assumed_adjustment(t.target)
                        + (f" ({how})" if how else "")
                    )
            for u in trial.unreachable_targets:
                p = f" (published {p_phrase(u.p)})" if u.p else ""
                lines.append(f"  - {u.label}{p}: not reproducible from this cohort: {u.reason}")
            lines.append("")
        lines.append(self.figures_line())
        missed = sum(t.held_out and not t.reproduced for t in self.targets)
        lines.append(f"{self.verdicts_line()} ({self.source}; {self.elapsed:.1f} s)")
        lines.append(f"How a figure is judged: {self.match_rule()}.")
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
        | Seen at both 12 and 24 months | All patients: 290/441 |  |  |  | All patients: 290/441 |  |  |  | match (built in) | construction |
        >>> print(md[-3])
        *3 figures: 1 by construction, 0 moment-matched, 0 tuned; held-out 0 of 2 reproduced. Verdicts: figures built into the cohort (1; recovering them checks the pipeline, it is not an independent reproduction): 1 match; held-out figures (2; the only independent test): 2 differs.*
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
        lines.append(f"*{self.figures_line()}. {self.verdicts_line()}.*")
        lines += ["", f"*How a figure is judged: {self.match_rule()}.*"]
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
            blocks += [brief_block(t) for t in targets]
        return "\n\n".join(blocks)

    def __repr__(self) -> str:
        """One line: the trials, how the cohort holds the figures (built, matched or tuned to
        them, or held out), the verdicts, and whether the run passes (a held-out figure that
        differs is reported, not a failure).

        Examples
        --------
        >>> reproduce("hcpc_pacic")
        <ReproductionResult hcpc_pacic: 5 figures: 2 by construction, 2 moment-matched, 1 tuned; no held-out figure; verdicts 5 match; OK>
        """
        counts = ", ".join(f"{v} {k}" for k, v in self.counts().items() if v) or "none"
        return (
            f"<ReproductionResult {', '.join(self.trials) or 'no trial'}: {self.figures_line()}; "
            f"verdicts {counts}; {'OK' if self.ok else 'FAILED'}>"
        )


def _count_verdicts(targets: Sequence[TargetResult]) -> dict[str, int]:
    """Targets per verdict category (every category, zeros included)."""
    out = dict.fromkeys(VERDICTS, 0)
    for t in targets:
        out[t.verdict.split(" (")[0]] += 1
    return out


def _verdict_counts(targets: Sequence[TargetResult]) -> str:
    """``"53 match, 2 not reproducible"``: the verdicts of some targets (those that occur)."""
    counts = _count_verdicts(targets)
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "none"


def _assumed_adjustment(target: Any) -> str:
    """For a figure the paper does not call adjusted, reproduced with covariates: say so."""
    covariates = target.analysis.covariates if target.analysis is not None else ()
    if target.adjusted or not covariates:
        return ""
    names = join_words([column_phrase(c) for c in covariates])
    return f" (reproduced adjusted for {names}: assumed, the paper does not say)"


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


# --------------------------------------------------------------------------- sensitivity


def _sensitivity_row(name: str, target: str, analysis: str, rule: str, note: str) -> dict[str, Any]:
    """A sensitivity row without a result (the analysis failed or was not run)."""
    return {
        "trial": name,
        "target": target,
        "analysis": analysis,
        "rule": rule,
        "coaching": "",
        "usual_care": "",
        "estimand": "",
        "estimate": math.nan,
        "conf_low": math.nan,
        "conf_high": math.nan,
        "p_value": math.nan,
        "p": "",
        "significant": "",
        "note": note,
    }


def _sensitivity_table(
    name: str, result: PlanResult, dropped: Sequence[tuple[str, str]] = ()
) -> pd.DataFrame:
    """One row per target and variant; then one row per analysis not run, with the reason."""
    rows = []
    for spec, res, err in zip(result.specs, result.results, result.errors, strict=True):
        target, _, variant = spec.label.partition(" | ")
        row = _sensitivity_row(name, target, variant, spec.describe_rule(), err or "")
        if res is not None:
            arms = match_groups(res, ("coaching", "usual_care"))
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
    rows += [_sensitivity_row(name, "(all)", label, "not run", why) for label, why in dropped]
    return pd.DataFrame(rows)


def _arm_text(arm: ArmSummary | None) -> str:
    """An arm's figures in the sensitivity table: events/n (%) of a binary outcome, the mean
    (and SD) of a continuous one (a mean is not a percentage).

    Examples
    --------
    >>> _arm_text(ArmSummary("coaching", 194, events=90, value=90 / 194))
    '90/194 (46.4 %)'
    >>> _arm_text(ArmSummary("coaching", 122, value=-1.0749, sd=2.849))
    'mean -1.07 (SD 2.85), n = 122'
    """
    if arm is None:
        return ""
    if arm.events is None:
        sd = f" (SD {arm.sd:.2f})" if arm.sd is not None and math.isfinite(arm.sd) else ""
        return f"mean {arm.value:.2f}{sd}, n = {arm.n}"
    return f"{arm.events}/{arm.n} ({100 * arm.value:.1f} %)"


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
        Also rerun each trial's main outcomes under its sensitivity variants
        (HCPC: Yates, missing = failure, multiple imputation, site-adjusted and
        clinician-clustered models; peer: multiple imputation, missing = failure,
        other handlings of the clustering by clinic); the table is in
        :attr:`ReproductionResult.sensitivity`, with a row per analysis left out
        and its reason.

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
            sens_frames.append(_sensitivity_table(tr.name, sres, tr.sensitivity.dropped))
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
    if isinstance(data, TrialData):  # a loaded file keeps its name
        return data.source
    return f"<{type(data).__name__}>"

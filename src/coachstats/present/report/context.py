"""The template context of a report: what ``report.html.j2`` shows, as plain rows and cells.

:func:`template_context` draws the figures (when the report asks for them) and lays out each
section's design, CONSORT flow, Table 1, outcome table, methods and provenance, the
published-vs-reproduced tables, the evaluation (:mod:`coachstats.present.report.evaluation`)
and the pooled evidence (:mod:`coachstats.present.report.evidence`).
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from coachstats.core.vocabulary import column_phrase, outcome_label
from coachstats.present.report.evaluation import evaluation_context
from coachstats.present.report.evidence import evidence_context
from coachstats.present.report.extras import extras_context
from coachstats.present.report.figures import consort_figure, section_figures
from coachstats.present.report.formats import estimate_text
from coachstats.present.report.methods import methods_text
from coachstats.present.report.model import DataSection, Report
from coachstats.present.tables import (
    headers,
    journal_table,
    publication_table,
    single_group_table,
)

if TYPE_CHECKING:
    from coachstats.tasks.reproduce import ReproductionResult

__all__ = [
    "IN_MEMORY_FILE",
    "PROVENANCE_KEY",
    "REPRODUCTION_VERDICTS",
    "methods_note",
    "sensitivity_rows",
    "template_context",
]

#: What the published-vs-reproduced summary says when every figure is reproduced (True)
#: or not (False), in the HTML and the Word report.
REPRODUCTION_VERDICTS: dict[bool, str] = {
    True: "every figure built into the cohort (by construction, moment-matched or tuned) is "
    "recovered by the analysis or declared unreachable with its reason, which checks the "
    "pipeline and is not an independent reproduction; held-out figures, which no calibration "
    "step read, are the only independent test and are reported as they come out",
    False: "some figures differ or could not be computed",
}

#: What the provenance table says of data given in memory (the HTML and the Word report).
IN_MEMORY_FILE = "in-memory data (no file hash)"

#: The key of the provenance column of a reproduction on the bundled cohorts: (term, meaning).
PROVENANCE_KEY: tuple[tuple[str, str], ...] = (
    ("construction", "fixed by the cohort's design (counts, sizes)"),
    ("moment-matched", "means and SDs matched by the generator"),
    ("tuned", "a model result hit by a seeded search"),
    (
        "held-out",
        "read by no calibration step, so reproducing it tests the cohort and the pipeline",
    ),
)


def _flow_context(section: DataSection) -> dict[str, Any] | None:
    """The flow tables: the CONSORT stages of the drawn endpoint, and every endpoint's statuses."""
    from coachstats.present.plots.consort import REASON_LABELS
    from coachstats.present.plots.style import ARM_LABELS

    flow = section.flow
    if flow is None:
        return None
    arms = list(flow.randomized)

    def row(label: str, counts: Mapping[str, int]) -> dict[str, Any]:
        cells = [int(counts.get(a, 0)) for a in arms]
        return {"label": label, "cells": cells, "total": sum(cells)}

    stages = [
        # excluded before their arm was known: a total, no per-arm cells
        {"label": f"Excluded on loading: {why}", "cells": [""] * len(arms), "total": n}
        for why, n in flow.excluded_on_load.items()
    ]
    ep = section.flow_endpoint
    has_endpoint = ep is not None and not flow.endpoints.empty
    stages += [
        row(flow.entry if not stages else "Included", flow.randomized),
        row(
            "Lost to follow-up (no follow-up measurement)",
            flow.lost(ep) if has_endpoint and ep is not None else flow.lost_to_followup,
        ),
    ]
    endpoints = []
    if has_endpoint and ep is not None:
        excluded = flow.excluded(ep)
        for reason_key, grp in excluded.groupby("status", sort=False, observed=True):
            status = str(reason_key)
            reason = REASON_LABELS.get(status, status.capitalize())
            stages.append(row(f"Excluded from analysis: {reason}", _arm_counts(grp)))
        stages.append(row("Analysed", flow.analysed(ep)))
        used = {s.outcome for s in section.specs} | set(section.outcomes)
        t = flow.endpoints
        t = t[t["endpoint"].astype(str).isin(used) & (t["n"] > 0)]
        for keys, grp in t.groupby(["endpoint", "status"], sort=False, observed=True):
            name, status = (str(k) for k in keys)
            endpoints.append(
                {"endpoint": outcome_label(name), "status": status, **row("", _arm_counts(grp))}
            )
    return {
        "arms": [ARM_LABELS.get(a, a) for a in arms],
        "total": flow.entered,
        "entry": flow.entry.lower(),
        "endpoint": outcome_label(ep) if ep is not None else None,
        "stages": stages,
        "endpoints": endpoints,
        "notes": list(flow.notes),
    }


def _arm_counts(rows: pd.DataFrame) -> dict[str, int]:
    """``{arm: n}`` of rows of :attr:`Flow.endpoints`."""
    return {str(a): int(n) for a, n in zip(rows["arm"], rows["n"], strict=True)}


def _outcome_context(section: DataSection) -> dict[str, Any] | None:
    if not section.results and section.single_group:
        table = single_group_table(
            list(section.single_group), labels=list(section.single_group_labels)
        )
        return {
            "caption": table.caption,
            "headers": list(table.headers),
            "rows": [list(r) for r in table.rows],
            "marks": list(table.marks),  # the letters of the methods in the note
            "adjusted_note": "",
            "note": " ".join([section.single_group_note, *table.notes]).strip(),
        }
    if not section.results:
        return None
    frame = publication_table(list(section.results), labels=list(section.labels))
    # each row's method (and a CI that disagrees with its P) as a lettered footnote, as the
    # text and Word tables give it: a model's difference need not be that of the arms' means
    lettered = journal_table(list(section.results), labels=list(section.labels))
    return {
        "caption": "Comparisons of coaching vs usual care",
        "headers": headers(frame.attrs["arms"], frame.attrs["conf_level"]),
        "rows": [[str(v) for v in row] for row in frame.itertuples(index=False)],
        "marks": list(lettered.marks),
        "adjusted_note": _adjusted_note(
            sorted({column_phrase(c) for r in section.results for c in r.adjusted_for})
        ),
        "note": " ".join(lettered.notes),
    }


def _adjusted_note(phrases: list[str]) -> str:
    """What the adjusted analyses of an outcome table are adjusted for (empty: none is)."""
    if not phrases:
        return ""
    return f"Adjusted analyses are adjusted for {', '.join(phrases)} (see Methods)."


def _baseline_context(section: DataSection) -> dict[str, Any] | None:
    if section.baseline is None:
        return None
    table = section.baseline.to_journal_table()
    rows = [
        {"level": level, "cells": list(cells)}
        for cells, level in zip(table.rows, table.indented, strict=True)
    ]
    return {
        "caption": table.caption,
        "headers": list(table.headers),
        "rows": rows,
        "notes": list(table.notes),
    }


def _reproduction_context(result: ReproductionResult) -> dict[str, Any]:
    from coachstats.tasks.reproduce import ARM_GROUPS, group_cells
    from coachstats.trials.registry import get_trial

    trials = []
    for name in result.trials:
        trial = get_trial(name)
        rows = []
        for r in (t.display_row() for t in result.targets if t.trial == name):
            label = str(r["outcome"])
            if r["adjusted"] and "adjusted" not in label:
                label += " (adjusted)"
            verdict = str(r["verdict"])
            groups = [g for g in str(r["groups"]).split(" / ") if g]
            rows.append(
                {
                    "other_groups": bool(groups) and tuple(groups) != ARM_GROUPS[: len(groups)],
                    "target": str(r["target"]),
                    "outcome": label,
                    **{
                        side: [
                            *group_cells(r["groups"], [str(r[f"{side}_{g}"]) for g in ARM_GROUPS]),
                            *(str(r[f"{side}_{c}"]) for c in ("difference", "p")),
                        ]
                        for side in ("published", "reproduced")
                    },
                    "verdict": verdict,
                    "verdict_class": verdict.split(" (")[0].replace(" ", "-"),
                    "provenance": str(r["provenance"]),
                    "note": str(r["note"]),
                }
            )
        trials.append({"title": trial.title, "citation": trial.citation.text(), "rows": rows})
    sens = None
    if result.sensitivity is not None and not result.sensitivity.empty:
        sens = sensitivity_rows(result.sensitivity)
    return {
        "trials": trials,
        "summary": f"{result.figures_line()}. {result.verdicts_line()} ({result.source})",
        "rule": f"How a figure is judged: {result.match_rule()}.",
        "ok": result.ok,
        "verdict": REPRODUCTION_VERDICTS[result.ok],
        "provenance_key": PROVENANCE_KEY if result.provenance_counts() else (),
        "sensitivity": sens,
    }


def sensitivity_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The rows of a reproduction's sensitivity table as the report shows them (the estimate
    with its interval on the scale it is read, risk differences in percentage points).

    Examples
    --------
    >>> row = {"trial": "hcpc", "target": "composite_any", "analysis": "as published",
    ...     "coaching": "90/194", "usual_care": "61/178", "estimand": "risk difference",
    ...     "estimate": 0.1221, "conf_low": 0.0232, "conf_high": 0.221, "p": ".02", "note": ""}
    >>> shown = sensitivity_rows(pd.DataFrame([row]))[0]
    >>> shown["trial"], shown["target"], shown["estimate"]
    ('HCPC 2015', 'One clinical goal', 'risk difference, % points 12.2 (2.3 to 22.1)')
    """
    from coachstats.tasks.evaluate import trial_name
    from coachstats.trials.registry import get_trial

    def target_label(trial: str, target: str) -> str:
        labels = {t.id: t.label for t in get_trial(trial).targets}
        return labels.get(target, target)

    return [
        {
            "trial": trial_name(str(r["trial"])),
            "target": target_label(str(r["trial"]), str(r["target"])),
            "analysis": str(r["analysis"]),
            "coaching": str(r["coaching"]),
            "usual_care": str(r["usual_care"]),
            "estimate": estimate_text(r),
            "p": str(r["p"]),
            "note": str(r["note"]),
        }
        for r in frame.to_dict("records")
    ]


def _versions() -> list[tuple[str, str]]:
    """(package, version) of coachstats, Python and the numerical libraries."""
    import coachstats

    rows = [("coachstats", coachstats.__version__), ("Python", platform.python_version())]
    for mod in ("numpy", "pandas", "scipy", "matplotlib"):
        try:
            rows.append((mod, str(importlib.import_module(mod).__version__)))
        except ImportError:  # pragma: no cover - all are dependencies
            continue
    return rows


def template_context(report: Report) -> dict[str, Any]:
    """What ``report.html.j2`` renders: title, one dict per section, the reproduction and
    evaluation parts, package versions and seeds (the figures are drawn here when
    ``report.figures``).

    Examples
    --------
    >>> from coachstats.present.report import DataSection, Report
    >>> ctx = template_context(Report("T", sections=(DataSection("Your data"),), figures=False))
    >>> ctx["title"], ctx["sections"][0]["flow"], ctx["versions"][0][0]
    ('T', None, 'coachstats')
    """
    sections = []
    for s in report.sections:
        consort = consort_figure(s, report.image_format) if report.figures else None
        sections.append(
            {
                "name": s.name,
                "single_arm": bool(s.single_group),
                "design": [list(r) for r in s.design],
                "flow": _flow_context(s),
                "consort_figure": consort,
                "baseline": _baseline_context(s),
                "outcomes": _outcome_context(s),
                "figures": (
                    section_figures(s, report.image_format, forests=report.evaluation is None)
                    if report.figures
                    else []
                ),
                "methods": [*methods_text(s.specs, labels=s.spec_labels), *s.methods],
                "extras": extras_context(s, report.image_format, report.figures),
                "failures": [list(f) for f in s.failures],
                "files": [list(f) for f in s.files],
                "notes": list(s.notes),
            }
        )
    return {
        "title": report.title,
        "sections": sections,
        "reproduction": (
            _reproduction_context(report.reproduction) if report.reproduction is not None else None
        ),
        "evaluation": (
            evaluation_context(report, report.evaluation) if report.evaluation is not None else None
        ),
        "evidence": (
            evidence_context(
                report.evidence,
                report.image_format,
                report.figures,
                forest_note=_evidence_forest_note(report),
            )
            if report.evidence is not None
            else None
        ),
        "versions": _versions(),
        "seeds": [list(s) for s in report.seeds],
        "methods_note": methods_note(bool(report.sections)),
        "in_memory": IN_MEMORY_FILE,
    }


def methods_note(plans: bool) -> str:
    """The closing note of the methods: intervals, P values and where the formulas are
    (``plans``: the report ran analyses through :func:`coachstats.plan.run_plan`).

    Examples
    --------
    >>> methods_note(False).endswith("the R function each method matches are in the coachstats documentation.")
    True
    """
    where = (
        "Every comparison runs through coachstats.plan.run_plan; the formulas and the R "
        "function each method matches are in the coachstats documentation."
        if plans
        else "The formulas and the R function each method matches are in the coachstats "
        "documentation."
    )
    return (
        "Confidence intervals are 95%. P values are two-sided, printed in journal style (no "
        f'leading zero; "< .001" below .001). {where}'
    )


def _evidence_forest_note(report: Report) -> str:
    """In an evaluation against the evidence, where the evidence's forest plot is (with the program)."""
    if report.evaluation is None or not report.figures:
        return ""
    if not any(e.position is not None for e in report.evaluation.evidence):
        return ""
    return (
        "The forest plot of these trials, with your program as a last row (not pooled), is "
        "under 'Against the evidence base' in the evaluation above."
    )

"""Accounting and the shared runner: one analysis set per outcome, every exclusion counted.

:func:`account` counts, per arm, every row left out and the first reason
that applies; :func:`questionnaire_flow` shows that table;
:func:`analyse` runs the analyses of one outcome on the rows kept and
attaches the exclusions to every result.

Examples
--------
>>> compare_options(None, 0.9, corr="exchangeable")
{'corr': 'exchangeable', 'conf_level': 0.9}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.compare.prepare import require_columns, resolve_arms
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan, spec_columns
from coachstats.tasks.questionnaires.result import QuestionnaireAnalyses, Role
from coachstats.tasks.questionnaires.scoring import source_items

__all__ = [
    "Accounting",
    "account",
    "analyse",
    "check_months",
    "compare_options",
    "questionnaire_flow",
]


BoolArray = npt.NDArray[np.bool_]

_NO_ARM = "no arm"


@dataclass(frozen=True)
class Accounting:
    """What :func:`account` found: the flow table, the rows kept, and the exclusions in words."""

    flow: pd.DataFrame
    keep: BoolArray
    n_excluded: int
    excluded_reason: str


def _missing_reasons(data: pd.DataFrame, column: str) -> list[tuple[str, BoolArray]]:
    """Why ``column`` is missing, row by row: not answered, too few items, or just missing."""
    missing = data[column].isna().to_numpy()
    source = source_items(column, list(data.columns))
    if source is None or not missing.any():
        return [(f"missing {column}", missing)]
    label, month, items = source
    answered = data[items].notna().to_numpy().sum(axis=1)
    if len(items) == 1:
        none_reason = f"{items[0]} not answered"
    else:
        none_reason = f"no {label} items answered at month {month}"
    return [
        (none_reason, missing & (answered == 0)),
        (
            f"too few {label} items answered at month {month}",
            missing & (answered > 0) & (answered < len(items)),
        ),
        (f"missing {column}", missing & (answered == len(items))),
    ]


def account(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    arm: str,
    treatment: str | None,
    scored: Sequence[str],
    unit: str,
    verb: str,
) -> Accounting:
    """Count every row of ``data`` once, per arm: under the first of ``columns`` it misses, or kept.

    The work behind :func:`questionnaire_flow` (see there); ``verb`` labels the
    ``scored`` rows (``"scored"`` or ``"rated"``).
    """
    require_columns(data, [arm, *columns])
    arm_values = data[arm]
    has_arm = arm_values.notna().to_numpy()
    arm_text = arm_values.astype(object).where(has_arm, None).astype(str).to_numpy()
    labels = resolve_arms(pd.Series(arm_text[has_arm], name=arm), treatment)
    codes = np.where(has_arm, np.where(arm_text == labels[0], 0, 1), 2)
    names = [*labels, _NO_ARM]

    def counts(mask: BoolArray) -> npt.NDArray[np.int64]:
        return np.bincount(codes[mask], minlength=3)

    rows: list[tuple[str, str, npt.NDArray[np.int64]]] = [
        (unit, "", counts(np.ones(len(data), dtype=bool)))
    ]
    rows += [(verb, c, counts(data[c].notna().to_numpy())) for c in scored]
    already = ~has_arm
    excluded: list[tuple[str, npt.NDArray[np.int64]]] = []
    if already.any():
        excluded.append((f"missing {arm}", counts(already)))
    for column in dict.fromkeys(columns):
        for reason, mask in _missing_reasons(data, column):
            new = mask & ~already
            if new.any():
                excluded.append((reason, counts(new)))
                already = already | new
    rows += [("excluded", reason, n) for reason, n in excluded]
    rows.append(("analysed", "", counts(~already)))
    table = pd.DataFrame(
        [[step, reason, *(int(v) for v in n)] for step, reason, n in rows],
        columns=["step", "reason", *names],
    )
    if not (~has_arm).any():
        table = table.drop(columns=_NO_ARM)
    table["total"] = table[[c for c in table.columns if c in names]].sum(axis=1)
    reason = ", ".join(f"{r} ({int(n.sum())})" for r, n in excluded)
    return Accounting(table, ~already, int(already.sum()), reason)


def questionnaire_flow(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    arm: str = "arm",
    treatment: str | None = None,
    scored: Sequence[str] = (),
    unit: str = "randomized",
) -> pd.DataFrame:
    """Who was analysed on ``columns``, and why the others were not, per arm.

    Each row of ``data`` (one per randomized patient, or per rated visit) is
    counted once: under the first of ``columns`` it is missing, with the
    reason, or as analysed. For a score column whose items are in ``data``
    (``trust_<m>``, ``pacic_<m>``, ``pacic_<subscale>_<m>``,
    ``recommend_definitely_<m>``...; the names of
    :func:`coachstats.plan.derive_scores`) the reason says whether no item
    was answered (questionnaire not returned, item skipped) or too few for a
    score; otherwise it is ``missing <column>``. A row with no arm is counted
    in a ``no arm`` column.

    Parameters
    ----------
    data : DataFrame
        The table, with the columns already scored.
    columns : sequence of str
        Every column the analyses use besides the arm, in the order the
        reasons are checked.
    arm : str
        The arm column.
    treatment : str, optional
        The treatment arm's label (default ``"coaching"``), listed first.
    scored : sequence of str
        Columns whose non-missing counts are shown as ``scored`` rows.
    unit : str
        Label of the first row (``"randomized"``, ``"visits rated"``).

    Returns
    -------
    DataFrame
        Columns ``step`` (``unit``, then ``scored`` with the column in
        ``reason``, ``excluded`` with the reason, and ``analysed``; the visit
        analyses write ``rated`` for ``scored``), ``reason``, one per arm
        (treatment first) and ``total``. Per arm, the first row equals the
        ``excluded`` rows plus ``analysed``.

    Examples
    --------
    Four patients; one skipped the 12-month questionnaire, one answered only
    eight trust items at baseline (fewer than 9 of 11: no score):

    >>> import pandas as pd
    >>> from coachstats.derive import scales
    >>> from coachstats.tasks.questionnaires.scoring import score_questionnaires
    >>> items0 = scales.item_columns("trust", 11, 0)
    >>> items12 = scales.item_columns("trust", 11, 12)
    >>> rows = [[3] * 22, [3] * 11 + [None] * 11, [3] * 8 + [None] * 3 + [3] * 11, [3] * 22]
    >>> df = pd.DataFrame(rows, columns=items0 + items12)
    >>> df["arm"] = ["coaching", "coaching", "usual_care", "usual_care"]
    >>> flow = questionnaire_flow(score_questionnaires(df), ["trust_0", "trust_12"])
    >>> flow[["step", "reason", "coaching", "usual_care"]].to_numpy().tolist()
    [['randomized', '', 2, 2], ['excluded', 'too few trust items answered at month 0', 0, 1], \
['excluded', 'no trust items answered at month 12', 1, 0], ['analysed', '', 1, 1]]
    """
    return account(
        data, columns, arm=arm, treatment=treatment, scored=scored, unit=unit, verb="scored"
    ).flow


def check_months(baseline: int, followup: int) -> None:
    """:class:`OptionError` unless both months are integers >= 0 and differ."""
    for name, value in (("baseline", baseline), ("followup", followup)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise OptionError(f"{name}={value!r} is not allowed; give a month as an integer >= 0")
    if baseline == followup:
        raise OptionError(f"baseline and followup are the same month ({baseline})")


def compare_options(treatment: str | None, conf_level: float, **more: Any) -> dict[str, Any]:
    """Options of the compare functions (the default ``conf_level`` left out of the rule text)."""
    out: dict[str, Any] = {**more}
    if conf_level != 0.95:
        out["conf_level"] = conf_level
    if treatment is not None:
        out["treatment"] = treatment
    return out


def analyse(
    data: pd.DataFrame,
    outcome: str,
    specs: Sequence[tuple[AnalysisSpec, Role]],
    *,
    arm: str,
    treatment: str | None,
    scored: Sequence[str],
    table: Literal["patients", "visit_ratings"] = "patients",
) -> tuple[QuestionnaireAnalyses, pd.DataFrame]:
    """Account for every row, run the specs on the analysis set, attach the exclusions."""
    used = [c for spec, _ in specs for c in spec_columns(spec)]
    needed = list(dict.fromkeys([*scored, *used]))  # the scores' reasons first, baseline first
    first = "randomized" if table == "patients" else "visits rated"
    verb = "scored" if table == "patients" else "rated"
    acc = account(data, needed, arm=arm, treatment=treatment, scored=scored, unit=first, verb=verb)
    if not acc.keep.any():
        raise AnalysisError(f"{outcome}: no rows left to analyse ({acc.excluded_reason})")
    analysed = data.loc[acc.keep]
    tables = {"patients": analysed} if table == "patients" else {"visit_ratings": analysed}
    plan = run_plan(tables, AnalysisPlan([s for s, _ in specs]))
    results = []
    for r in plan.results:
        if r is None:  # pragma: no cover - run_plan raises in its default mode
            raise AnalysisError(f"{outcome}: an analysis failed")
        reason = ", ".join(x for x in (acc.excluded_reason, r.excluded_reason) if x)
        results.append(r.replace(n_excluded=acc.n_excluded + r.n_excluded, excluded_reason=reason))
    out = QuestionnaireAnalyses(
        outcome=outcome,
        specs=plan.specs,
        results=tuple(results),
        roles=tuple(role for _, role in specs),
        flow=acc.flow,
    )
    return out, analysed

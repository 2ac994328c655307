"""The tables a plan runs on, derived once per run: :class:`PlanContext`.

The patient table gets its questionnaire scores and the adherence changes
when a spec uses one, and the endpoints of the plan's goal set (at each follow-up
month and missing-data rule a spec asks for), each computed once and shared
by every spec of the run -- in memory by :func:`coachstats.plan.execute.run_plan`
and chunk by chunk by :mod:`coachstats.engines.stream`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import pandas as pd

from coachstats.core.errors import CoachstatsError, ColumnNotFoundError, OptionError
from coachstats.core.goals import GOAL_SETS, GoalSet
from coachstats.core.vocabulary import is_goal_endpoint, parse_item_column
from coachstats.derive.endpoints import derive_endpoints, followup_month, measure_months
from coachstats.plan.spec import AnalysisSpec

__all__ = ["PlanContext", "add_adherence", "derive_scores", "plan_tables", "score_names"]


def plan_tables(data: Any) -> dict[str, pd.DataFrame | None]:
    """The named tables of ``data``: a DataFrame (patients), TrialData or a mapping."""
    if isinstance(data, pd.DataFrame):
        return {"patients": data}
    if isinstance(data, Mapping):
        out = dict(data)
        if "patients" not in out and "visit_ratings" not in out:
            raise OptionError(
                f"a mapping of tables needs 'patients' and/or 'visit_ratings'; got {sorted(out)}"
            )
        for k, v in out.items():
            if v is not None and not isinstance(v, pd.DataFrame):
                raise OptionError(f"table {k!r} must be a DataFrame, got {type(v).__name__}")
        return out
    patients = getattr(data, "patients", None)
    if isinstance(patients, pd.DataFrame):
        return {
            name: getattr(data, name, None)
            for name in ("patients", "medications", "adherent_days", "visit_ratings")
        }
    raise OptionError(
        "data must be a DataFrame (patients), a TrialData or a mapping of tables, "
        f"got {type(data).__name__}"
    )


def score_names(columns: Iterable[object]) -> dict[str, str]:
    """The scores :func:`derive_scores` adds to a table with ``columns``: name -> kind.

    The kind is ``"trust"``, ``"pacic"``, ``"recommend"`` or ``"recommend_pcp"``;
    a score whose column is already present is not listed.

    Examples
    --------
    >>> score_names(["recommend_12", "recommend_definitely_0", "recommend_0"])
    {'recommend_definitely_12': 'recommend'}
    """
    from coachstats.derive import scales

    cols = set(map(str, columns))
    months: dict[str, set[str]] = {}
    for c in cols:
        parsed = parse_item_column(c)
        if parsed is not None:
            months.setdefault(parsed[0], set()).add(parsed[1])
    out: dict[str, str] = {}
    for month in sorted(months.get("trust", ()), key=int):
        items = scales.item_columns("trust", scales.TRUST_N_ITEMS, month)
        if set(items) <= cols and f"trust_{month}" not in cols:
            out[f"trust_{month}"] = "trust"
    for month in sorted(months.get("pacic", ()), key=int):
        items = scales.item_columns("pacic", scales.PACIC_N_ITEMS, month)
        if set(items) <= cols and f"pacic_{month}" not in cols:
            out[f"pacic_{month}"] = "pacic"
            for sub in scales.PACIC_SUBSCALES:
                out[f"pacic_{sub}_{month}"] = "pacic"
    for item in ("recommend", "recommend_pcp"):
        for month in sorted(months.get(item, ()), key=int):
            name = f"{item}_definitely_{month}"
            if name not in cols:
                out[name] = item
    return out


def derive_scores(patients: pd.DataFrame) -> pd.DataFrame:
    """Add questionnaire scores for every month whose item columns are all present.

    ``trust_<m>`` (:func:`coachstats.derive.scales.score_trust` on ``trust_q1_<m>`` ..
    ``trust_q11_<m>``), ``pacic_<m>`` and ``pacic_<subscale>_<m>``
    (:func:`coachstats.derive.scales.score_pacic`), and the "definitely recommend"
    binaries ``recommend_definitely_<m>`` / ``recommend_pcp_definitely_<m>``
    from the 4-point items ``recommend_<m>`` / ``recommend_pcp_<m>`` (4 =
    definitely). Columns already present are not recomputed
    (:func:`score_names` lists what is added).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"recommend_12": [4, 3, None]})
    >>> derive_scores(df)["recommend_definitely_12"].tolist()
    [True, False, <NA>]
    """
    from coachstats.derive import scales

    new: dict[str, pd.Series] = {}
    for name, kind in score_names(patients.columns).items():
        if name in new:
            continue
        month = name.rsplit("_", 1)[1]
        if kind == "trust":
            items = scales.item_columns("trust", scales.TRUST_N_ITEMS, month)
            new[name] = scales.score_trust(patients, items)
        elif kind == "pacic":
            items = scales.item_columns("pacic", scales.PACIC_N_ITEMS, month)
            scored = scales.score_pacic(patients, items)
            new[f"pacic_{month}"] = scored["pacic"]
            for sub in scales.PACIC_SUBSCALES:
                new[f"pacic_{sub}_{month}"] = scored[f"pacic_{sub}"]
        else:
            new[name] = scales.recommend_binary(
                patients, f"{kind}_{month}", levels=4, cut=4, name=name
            )
    if not new:
        return patients
    out = patients.copy(deep=False)  # copy-on-write: the patient columns are shared
    for k, v in new.items():
        out[k] = v
    return out


def add_adherence(
    patients: pd.DataFrame,
    meds: pd.DataFrame | None,
    days: pd.DataFrame | None,
    followup: int | None,
) -> pd.DataFrame:
    """Merge the per-patient adherence changes (:func:`coachstats.derive.adherence.adherence_change`)."""
    if meds is None or "patient_id" not in patients.columns:
        return patients
    from coachstats.derive import adherence

    months = sorted(pd.unique(meds["month"]).tolist())
    later = [m for m in months if m > 0]
    fu = followup if followup in later else (later[0] if later else None)
    if fu is None:
        return patients
    change = adherence.adherence_change(
        meds, days, baseline=0, followup=int(fu), patients=patients["patient_id"].tolist()
    )
    change = change.drop(columns=["missing_reason"], errors="ignore")
    keep = [c for c in change.columns if c not in patients.columns or c == "patient_id"]
    change = change[keep]
    if "patient_id" not in change.columns:
        change = change.rename_axis("patient_id").reset_index()
    merged = patients.merge(change, on="patient_id", how="left", validate="one_to_one")
    merged.index = patients.index
    return merged


_ADHERENCE_COLUMN = re.compile(
    r"^(n_meds_\d+|prop_\w+_\d+|adherent_days_\d+|change_prop_\w+|change_adherent_days)$"
)


class PlanContext:
    """Derived tables of one :func:`run_plan` call, computed once and cached.

    The patient table gets its questionnaire scores only when a spec uses one
    (scoring a million patients' items costs seconds), and the adherence
    columns only when a spec uses one (deriving them reads the medication
    table). The endpoints of each such table are derived once per follow-up
    month and missing-data rule.
    """

    def __init__(self, data: Any, goals: GoalSet | None) -> None:
        self.tables = plan_tables(data)
        self.goals = goals
        # a TrialData keeps its derived endpoints: shared with the other analyses of a run
        self._trial = data if callable(getattr(data, "derived_endpoints", None)) else None
        self._base: dict[tuple[bool, bool], pd.DataFrame] = {}
        self._derived: dict[tuple[int | None, str, tuple[bool, bool]], pd.DataFrame] = {}

    def base(
        self, table: str, followup: int | None = None, needed: Sequence[str] = ()
    ) -> pd.DataFrame:
        frame = self.tables.get(table)
        if frame is None:
            raise ColumnNotFoundError(
                f"the analysis needs the {table!r} table, which the data does not have "
                f"(tables: {sorted(k for k, v in self.tables.items() if v is not None)})"
            )
        if table != "patients":
            return frame
        return self._base[self._base_key(frame, followup, needed)]

    def _base_key(
        self, frame: pd.DataFrame, followup: int | None, needed: Sequence[str]
    ) -> tuple[bool, bool]:
        """(scored, with adherence) of the patient table ``needed`` asks for; built once each."""
        missing = [c for c in needed if c not in frame.columns]
        scored = bool(missing) and any(c in score_names(frame.columns) for c in missing)
        if (scored, False) not in self._base:
            self._base[(scored, False)] = derive_scores(frame) if scored else frame
        base = self._base[(scored, False)]
        if not self._wants_adherence(base, needed):
            return (scored, False)
        if (scored, True) not in self._base:
            self._base[(scored, True)] = add_adherence(
                base, self.tables.get("medications"), self.tables.get("adherent_days"), followup
            )
        return (scored, True)

    @staticmethod
    def _wants_adherence(scored: pd.DataFrame, needed: Sequence[str]) -> bool:
        return any(c not in scored.columns and _ADHERENCE_COLUMN.match(c) for c in needed)

    def frame(self, spec: AnalysisSpec, needed: Sequence[str]) -> pd.DataFrame:
        """The table a spec runs on: raw when it has every needed column, else derived."""
        base = self.base(spec.table, spec.followup, needed)
        if spec.table != "patients":
            return base
        failure = spec.missing == "failure" and is_goal_endpoint(spec.outcome)
        if not failure and all(c in base.columns for c in needed):
            return base
        return self.derived(base, spec.followup, "failure" if failure else "exclude")

    def derived(self, base: pd.DataFrame, followup: int | None, rule: str) -> pd.DataFrame:
        """``base`` with the endpoints of the plan's goal set (and statuses), derived once.

        Follow-up None is the earliest month, so both name one derivation.
        """
        if self.goals is None:
            raise OptionError(
                "this analysis uses derived endpoints, so the plan needs a goal set "
                f"(goals= one of {sorted(GOAL_SETS)} or a GoalSet)"
            )
        if self._trial is not None and base is self._trial.patients:
            return cast(
                pd.DataFrame,
                self._trial.derived_endpoints(self.goals, followup=followup, missing=rule),
            )
        which = next((k for k, b in self._base.items() if b is base), (False, False))
        try:
            month: int | None = followup_month(measure_months(base.columns), followup)
        except CoachstatsError:  # no follow-up: derive_endpoints says so, with the columns
            month = followup
        key = (month, rule, which)
        if key not in self._derived:
            # with statuses: the run's CONSORT flow is counted from this same table
            self._derived[key] = derive_endpoints(
                base, self.goals, followup=month, missing=cast(Any, rule), with_status=True
            )
        return self._derived[key]

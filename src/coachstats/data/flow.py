"""CONSORT-style accounting of every randomized patient.

A :class:`Flow` counts, per arm, who was randomized (allocated), who has no
follow-up measurement at all (lost to follow-up), and, for every endpoint,
how many patients were analysed and why the others were not. Per endpoint
and arm every patient is in exactly one box:

    allocated = lost to follow-up + excluded from analysis (by reason) + analysed

where "lost to follow-up" counts the patients with no follow-up on any
measure who are eligible for the endpoint and not analysed, and "excluded"
the others who are not analysed (not eligible: controlled at baseline or
outside the endpoint's population, even when lost; missing baseline; missing
this endpoint's follow-up value). No patient is in two boxes. With ``missing="failure"`` a lost patient may be analysed (counted
as not at goal): then it is in "analysed", and :meth:`Flow.counted_as_failure`
says how many. :meth:`Flow.check` verifies every sum; :meth:`Flow.to_dict`
gives the structure for JSON outputs.

Examples
--------
>>> import pandas as pd
>>> from coachstats.derive.endpoints import derive_endpoints
>>> from coachstats.core.goals import PEER_GOALS
>>> df = pd.DataFrame({"patient_id": [1, 2, 3, 4], "arm": ["coaching", "coaching", "usual_care", "usual_care"],
...                    "hba1c_0": [9.0, 10.0, 8.5, 9.9], "hba1c_6": [7.0, None, 8.0, 9.0]})
>>> flow = Flow.from_endpoints(derive_endpoints(df, PEER_GOALS, with_status=True))
>>> flow.analysed("change_hba1c"), flow.lost("change_hba1c")
({'coaching': 1, 'usual_care': 2}, {'coaching': 1, 'usual_care': 0})
>>> flow.check()
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError
from coachstats.core.vocabulary import (
    ANALYSED_STATUSES,
    EXCLUDED_STATUSES,
    LOST,
    STATUS,
    arm_label,
    outcome_label,
)
from coachstats.derive.endpoints import lost_to_followup

__all__ = ["Flow", "arm_codes"]


def arm_codes(arms: pd.Series, labels: Sequence[str]) -> np.ndarray:
    """Each row's position of its arm in ``labels`` (-1 for a missing or other label).

    The labels are matched once per distinct value, not once per row.

    Examples
    --------
    >>> arm_codes(pd.Series(["b", "a", None, "b"], dtype="string"), ["a", "b"]).tolist()
    [1, 0, -1, 1]
    """
    codes, uniques = pd.factorize(arms)
    where = {str(a): i for i, a in enumerate(labels)}
    position = np.array([where.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return position[codes]


@dataclass(frozen=True)
class Flow:
    """Who was randomized, lost, excluded (with reason) and analysed, per arm.

    Attributes
    ----------
    randomized : mapping arm -> int
    lost_to_followup : mapping arm -> int
        Patients with no follow-up value on any measure.
    endpoints : DataFrame
        Long table with columns ``endpoint``, ``arm``, ``status``, ``n`` (all
        statuses of :data:`coachstats.derive.endpoints.STATUS`, zeros included).
    notes : tuple of str
        What happened on load (blank rows skipped, unit conversions...).
    entry : str
        How patients entered: ``"Randomized"`` for a trial, ``"Enrolled"`` for a
        program's data (:func:`coachstats.load_program`). It heads the text flow,
        the CONSORT diagram and the report's flow table. The counts stay in
        :attr:`randomized` either way.
    excluded_on_load : mapping reason -> int
        Patients left out while loading, before the arms were known (a
        program's invalid rows with ``on_invalid="exclude"``). They are counted
        in :attr:`entered`, not in :attr:`randomized`.
    """

    randomized: Mapping[str, int]
    lost_to_followup: Mapping[str, int]
    endpoints: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["endpoint", "arm", "status", "n"])
    )
    notes: tuple[str, ...] = ()
    entry: str = "Randomized"
    excluded_on_load: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_patients(
        cls,
        patients: pd.DataFrame,
        *,
        followup: int | None = None,
        notes: tuple[str, ...] = (),
        entry: str = "Randomized",
    ) -> Flow:
        """Randomized and lost-to-follow-up counts from a validated patient table."""
        arms = patients["arm"].astype("string")
        randomized = {str(k): int(v) for k, v in arms.value_counts().sort_index().items()}
        lost_mask = lost_to_followup(patients, followup)
        codes = arm_codes(arms, list(randomized))
        per_arm = np.bincount(codes[lost_mask & (codes >= 0)], minlength=len(randomized))
        lost = {a: int(per_arm[i]) for i, a in enumerate(randomized)}
        return cls(randomized, lost, notes=notes, entry=entry)

    @property
    def entered(self) -> int:
        """Every patient of the input: :attr:`total` plus :attr:`excluded_on_load`."""
        return self.total + int(sum(self.excluded_on_load.values()))

    @classmethod
    def from_endpoints(
        cls, derived: pd.DataFrame, *, notes: tuple[str, ...] = (), entry: str = "Randomized"
    ) -> Flow:
        """Full flow from the output of ``derive_endpoints(..., with_status=True)``."""
        status_cols = [c for c in derived.columns if str(c).startswith("status_")]
        if not status_cols:
            raise AnalysisError("no status_* columns: call derive_endpoints(..., with_status=True)")
        base = cls.from_patients(
            derived, followup=derived.attrs.get("followup"), notes=notes, entry=entry
        )
        arm_labels = list(base.randomized)
        by_arm = arm_codes(derived["arm"].astype("string"), arm_labels)
        rows = []
        k = len(STATUS)
        for col in status_cols:
            st = pd.Categorical(derived[col], categories=list(STATUS)).codes
            counts = np.bincount(by_arm * k + st, minlength=len(arm_labels) * k)
            for ai, a in enumerate(arm_labels):
                for si, s in enumerate(STATUS):
                    rows.append((str(col)[len("status_") :], a, s, int(counts[ai * k + si])))
        table = pd.DataFrame(rows, columns=["endpoint", "arm", "status", "n"])
        return replace(base, endpoints=table)

    @property
    def total(self) -> int:
        """All randomized (or enrolled, see :attr:`entry`) patients."""
        return int(sum(self.randomized.values()))

    def _by(self, endpoint: str, statuses: tuple[str, ...]) -> dict[str, int]:
        t = self.endpoints
        if endpoint not in set(t["endpoint"]):
            raise AnalysisError(
                f"endpoint {endpoint!r} not in the flow; have {sorted(set(t['endpoint']))}"
            )
        sub = t[(t["endpoint"] == endpoint) & t["status"].isin(statuses)]
        return {a: int(sub.loc[sub["arm"] == a, "n"].sum()) for a in self.randomized}

    def analysed(self, endpoint: str) -> dict[str, int]:
        """Patients analysed for ``endpoint``, per arm."""
        return self._by(endpoint, ANALYSED_STATUSES)

    def lost(self, endpoint: str) -> dict[str, int]:
        """Patients lost to follow-up (no follow-up on any measure), eligible and not analysed, per arm."""
        return self._by(endpoint, (LOST,))

    def counted_as_failure(self, endpoint: str) -> dict[str, int]:
        """Analysed patients whose missing follow-up counted as not at goal, per arm."""
        return self._by(endpoint, ("missing follow-up (counted as failure)",))

    def excluded(self, endpoint: str) -> pd.DataFrame:
        """Patients excluded from the analysis of ``endpoint`` (not the lost): arm x reason, n > 0."""
        t = self.endpoints
        sub = t[(t["endpoint"] == endpoint) & t["status"].isin(EXCLUDED_STATUSES) & (t["n"] > 0)]
        return sub.reset_index(drop=True)

    def check(self) -> None:
        """Raise :class:`AnalysisError` unless every box adds up.

        Per endpoint and arm: allocated = lost + excluded + analysed, every
        patient in exactly one status, and no more lost for an endpoint than lost
        to follow-up in the arm.
        """
        if self.endpoints.empty:
            return
        for ep in pd.unique(self.endpoints["endpoint"]):
            endpoint = str(ep)
            lost, analysed = self.lost(endpoint), self.analysed(endpoint)
            excluded = self.excluded(endpoint).groupby("arm")["n"].sum()
            for arm, allocated in self.randomized.items():
                boxes = lost[arm] + int(excluded.get(arm, 0)) + analysed[arm]
                if boxes != allocated:
                    raise AnalysisError(
                        f"flow does not add up for {endpoint}, arm {arm}: lost {lost[arm]} + "
                        f"excluded {int(excluded.get(arm, 0))} + analysed {analysed[arm]} = "
                        f"{boxes}, but {allocated} were allocated"
                    )
                if lost[arm] > self.lost_to_followup.get(arm, 0):
                    raise AnalysisError(
                        f"flow for {endpoint}, arm {arm}: {lost[arm]} lost to follow-up, more "
                        f"than the {self.lost_to_followup.get(arm, 0)} without any follow-up"
                    )
        unknown = set(self.endpoints["status"]) - set(STATUS)
        if unknown:
            raise AnalysisError(f"flow has unknown statuses {sorted(unknown)}; allowed: {STATUS}")

    def to_dict(self) -> dict[str, Any]:
        """The flow as plain data (JSON outputs): per arm, and per endpoint and arm, every box.

        Examples
        --------
        >>> flow = Flow({"coaching": 3}, {"coaching": 1}, pd.DataFrame(
        ...     {"endpoint": ["x", "x", "x"], "arm": ["coaching"] * 3,
        ...      "status": ["analysed", "lost to follow-up", "not eligible"], "n": [1, 1, 1]}))
        >>> flow.to_dict()["endpoints"]["x"]["coaching"]
        {'allocated': 3, 'lost': 1, 'excluded': {'not eligible': 1}, 'analysed': 1, 'counted_as_failure': 0}
        """
        endpoints: dict[str, Any] = {}
        if not self.endpoints.empty:
            for ep in pd.unique(self.endpoints["endpoint"]):
                e = str(ep)
                lost, analysed = self.lost(e), self.analysed(e)
                failed = self.counted_as_failure(e)
                excluded = self.excluded(e)
                endpoints[e] = {
                    a: {
                        "allocated": n,
                        "lost": lost[a],
                        "excluded": {
                            str(s): int(k)
                            for s, k in excluded.loc[
                                excluded["arm"] == a, ["status", "n"]
                            ].to_numpy()
                        },
                        "analysed": analysed[a],
                        "counted_as_failure": failed[a],
                    }
                    for a, n in self.randomized.items()
                }
        return {
            "entry": self.entry,
            "entered": self.entered,
            "excluded_on_load": dict(self.excluded_on_load),
            "arms": {
                a: {"allocated": n, "lost_to_followup": self.lost_to_followup.get(a, 0)}
                for a, n in self.randomized.items()
            },
            "endpoints": endpoints,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Wide table: one row per endpoint x status, one column per arm, plus a total."""
        if self.endpoints.empty:
            return pd.DataFrame(
                {"randomized": self.randomized, "lost_to_followup": self.lost_to_followup}
            ).T
        wide = self.endpoints.pivot_table(
            index=["endpoint", "status"],
            columns="arm",
            values="n",
            aggfunc="sum",
            observed=True,
            sort=False,
        )
        wide["total"] = wide.sum(axis=1)
        return wide

    def summary(self) -> str:
        """Text CONSORT flow, the arms by their names (:func:`~coachstats.core.vocabulary.arm_label`)
        and the endpoints by their labels.

        Examples
        --------
        >>> flow = Flow({"coaching": 3, "usual_care": 2}, {"coaching": 1, "usual_care": 0},
        ...     pd.DataFrame({"endpoint": ["change_ldl"] * 4, "arm": ["coaching"] * 2 + ["usual_care"] * 2,
        ...                   "status": ["analysed", "lost to follow-up"] * 2, "n": [2, 1, 2, 0]}),
        ...     entry="Enrolled")
        >>> print(flow.summary())
        Enrolled: Health coaching 3, Usual care 2 (total 5)
        No follow-up measurement: Health coaching 1, Usual care 0
        LDL change (mg/dL): analysed Health coaching 2, Usual care 2
            lost to follow-up: Health coaching 1, Usual care 0
        """
        arms = list(self.randomized)

        def per_arm(counts: Mapping[str, int]) -> str:
            return ", ".join(f"{arm_label(a, 'plain')} {counts.get(a, 0)}" for a in arms)

        head = f"{self.entry}: "
        lines = []
        if self.excluded_on_load:
            lines.append(
                f"{self.entry}: {self.entered}; excluded on loading: "
                + ", ".join(f"{why} {n}" for why, n in self.excluded_on_load.items())
            )
            head = "Included: "
        lines += [
            head + per_arm(self.randomized) + f" (total {self.total})",
            "No follow-up measurement: " + per_arm(self.lost_to_followup),
        ]
        if not self.endpoints.empty:
            for ep in pd.unique(self.endpoints["endpoint"]):
                e = str(ep)
                lines.append(f"{outcome_label(e)}: analysed " + per_arm(self.analysed(e)))
                lost = self.lost(e)
                if any(lost.values()):
                    lines.append("    lost to follow-up: " + per_arm(lost))
                excluded = self.excluded(e)
                for status in pd.unique(excluded["status"]):
                    rows = excluded[excluded["status"] == status]
                    counts = {str(a): int(n) for a, n in zip(rows["arm"], rows["n"], strict=True)}
                    lines.append(f"    excluded ({status}): " + per_arm(counts))
                failed = self.counted_as_failure(e)
                if any(failed.values()):
                    lines.append(
                        "    analysed with missing follow-up counted as not at goal: "
                        + per_arm(failed)
                    )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        eps = self.endpoints["endpoint"].nunique() if not self.endpoints.empty else 0
        return (
            f"Flow(randomized={dict(self.randomized)}, lost_to_followup={dict(self.lost_to_followup)}, "
            f"endpoints={eps})"
        )

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"

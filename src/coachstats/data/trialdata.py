"""TrialData: a validated patient table with its CONSORT flow and side tables."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import pandas as pd

from coachstats.core.goals import GoalSet
from coachstats.data.flow import Flow
from coachstats.data.source import DataSource
from coachstats.derive.endpoints import (
    MissingRule,
    derive_endpoints,
    followup_month,
    measure_months,
)

__all__ = ["Intake", "TrialData"]


@dataclass(frozen=True)
class Intake:
    """How the records of the input became patients: every record counted, none lost silently.

    Attributes
    ----------
    records : int
        Records in the source: the data rows of a CSV (its lines after the
        header, a row whose quoted cells hold line breaks counted once), of
        a sheet (to its last non-empty row) or of a table or DataFrame.
    blank : int
        Records with every cell empty, skipped (not patients).
    patients : int
        The patients the other records make: one per record in wide data;
        the distinct ids of the records in long data.
    long : bool
        Whether the records were long data (one per patient x month x measure).

    Examples
    --------
    >>> Intake(records=42, blank=2, patients=40).rows
    40
    """

    records: int
    blank: int
    patients: int
    long: bool = False

    @property
    def rows(self) -> int:
        """The records that are not blank: each belongs to one patient."""
        return self.records - self.blank

    def check(self, flow: Flow) -> None:
        """Raise ``RuntimeError`` (a bug, not bad input) unless the counts add up with ``flow``.

        Every non-blank record belongs to exactly one patient, and every
        patient is in the flow: included (:attr:`Flow.total`) or excluded on
        loading (:attr:`Flow.excluded_on_load`).
        """
        one_each = self.patients == self.rows if not self.long else 0 < self.patients <= self.rows
        if self.blank < 0 or not one_each or self.patients != flow.entered:
            raise RuntimeError(
                f"record accounting does not add up: {self.records} record(s), {self.blank} "
                f"blank, {self.patients} patient(s), {flow.entered} in the flow"
            )


@dataclass(frozen=True)
class TrialData:
    """Validated trial data, as returned by :func:`coachstats.load_trial`.

    Attributes
    ----------
    patients : DataFrame
        One row per randomized patient, schema column names, canonical units.
    flow : Flow
        Randomized and lost-to-follow-up counts, plus load notes.
    medications, adherent_days : DataFrame or None
        Optional side tables (see :mod:`coachstats.derive.adherence`).
    visit_ratings : DataFrame or None
        Optional side table of clinicians' post-visit ratings (one row per visit),
        for the plans whose specs read the ``"visit_ratings"`` table.
    followup : int or None
        The follow-up month used by default (earliest after baseline).
    source : str
        File path, or ``"<DataFrame>"``.
    sha256 : str or None
        Hash of the input file's bytes (for the report).
    notes : tuple of str
        What loading did (renamed columns, unit conversions, blank rows).
    load_options : mapping
        The loader's keyword arguments as given (mapping, arms, units, sheet...);
        with ``source`` and ``sha256`` they make :attr:`data_source`.
    intake : Intake or None
        Records read, blank records skipped and the patients they made
        (checked against the flow on loading).

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats import load_trial, PEER_GOALS
    >>> td = load_trial(pd.DataFrame({"patient_id": [1, 2], "arm": ["coaching", "usual_care"],
    ...                               "hba1c_0": [9.0, 9.5], "hba1c_6": [8.0, 9.6]}))
    >>> td
    TrialData(n=2, arms={'coaching': 1, 'usual_care': 1}, followup=6, source='<DataFrame>')
    >>> td.endpoints(PEER_GOALS)["change_hba1c"].round(2).tolist()
    [-1.0, 0.1]
    """

    patients: pd.DataFrame
    flow: Flow
    medications: pd.DataFrame | None = None
    adherent_days: pd.DataFrame | None = None
    followup: int | None = None
    source: str = "<DataFrame>"
    sha256: str | None = None
    notes: tuple[str, ...] = ()
    load_options: Mapping[str, Any] = field(default_factory=dict)
    visit_ratings: pd.DataFrame | None = None
    intake: Intake | None = None
    #: Endpoint tables derived from ``patients`` (see :meth:`derived_endpoints`), kept.
    _derived: list[tuple[tuple[GoalSet, int, str], pd.DataFrame]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "load_options", MappingProxyType(dict(self.load_options)))

    @property
    def data_source(self) -> DataSource:
        """Where the data came from: file, hash and loader options."""
        return DataSource(self.source, self.sha256, self.load_options)

    @property
    def n(self) -> int:
        """Number of randomized patients."""
        return len(self.patients)

    def endpoints(
        self, goals: GoalSet, *, missing: MissingRule = "exclude", with_status: bool = True
    ) -> pd.DataFrame:
        """Patient table with derived endpoints (see :func:`coachstats.derive_endpoints`)."""
        if with_status:  # from the kept derivation (a new frame: adding columns is safe)
            kept = self.derived_endpoints(goals, followup=self.followup, missing=missing)
            return kept.copy(deep=False)
        return derive_endpoints(
            self.patients, goals, followup=self.followup, missing=missing, with_status=with_status
        )

    def derived_endpoints(
        self, goals: GoalSet, *, followup: int | None = None, missing: MissingRule = "exclude"
    ) -> pd.DataFrame:
        """The patient table with its endpoints and statuses, derived once and kept.

        :func:`coachstats.derive_endpoints` with ``with_status=True``, computed
        the first time a goal set, follow-up month (None: the earliest, as
        there) and missing-data rule are asked for, then returned from memory:
        every analysis of a run (the plan, the flow, standardization, case mix,
        tracking) shares one derivation. The table must not be changed in place.

        Examples
        --------
        >>> import pandas as pd
        >>> from coachstats import load_trial, PEER_GOALS
        >>> td = load_trial(pd.DataFrame({"patient_id": [1, 2], "arm": ["coaching", "usual_care"],
        ...                               "hba1c_0": [9.0, 9.5], "hba1c_6": [8.0, 9.6]}))
        >>> td.derived_endpoints(PEER_GOALS) is td.derived_endpoints(PEER_GOALS, followup=6)
        True
        """
        fu = followup_month(measure_months(self.patients.columns), followup)
        for (g, month, rule), table in self._derived:
            if month == fu and rule == missing and g == goals:
                return table
        table = derive_endpoints(
            self.patients, goals, followup=fu, missing=missing, with_status=True
        )
        self._derived.append(((goals, fu, missing), table))
        return table

    def flow_for(self, goals: GoalSet, *, missing: MissingRule = "exclude") -> Flow:
        """The full CONSORT flow, with per-endpoint analysed/excluded counts."""
        return self.flow_from(self.endpoints(goals, missing=missing))

    def flow_from(self, derived: pd.DataFrame) -> Flow:
        """The full flow from endpoints already derived with statuses (``with_status=True``).

        For callers that hold the derived table already, so the endpoints are
        not derived a second time; :meth:`flow_for` derives them itself.
        """
        flow = replace(
            Flow.from_endpoints(derived, notes=self.flow.notes, entry=self.flow.entry),
            excluded_on_load=self.flow.excluded_on_load,
        )
        flow.check()
        return flow

    def __repr__(self) -> str:
        return (
            f"TrialData(n={self.n}, arms={dict(self.flow.randomized)}, followup={self.followup}, "
            f"source={self.source!r})"
        )

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        return (
            f"<p>{head}</p><pre>{html.escape(self.flow.summary())}</pre>"
            + self.patients.head(10).to_html()
        )

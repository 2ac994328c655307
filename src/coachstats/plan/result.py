"""The result of running a plan: :class:`PlanResult`, with what made it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from coachstats.core.errors import AnalysisError, NotAnalysableError
from coachstats.core.goals import GoalSet
from coachstats.core.results import ComparisonResult, tidy
from coachstats.data.flow import Flow
from coachstats.data.source import DataSource
from coachstats.plan.spec import AnalysisPlan, AnalysisSpec

__all__ = ["PlanResult"]


@dataclass(frozen=True)
class PlanResult:
    """The results of :func:`run_plan`, aligned with the plan's specs.

    ``results[i]`` is the :class:`~coachstats.core.results.ComparisonResult` of
    ``specs[i]``, or None when it failed under ``errors="record"`` (then
    ``errors[i]`` holds the message).

    A result carries what made it: the :class:`~coachstats.plan.spec.AnalysisPlan`
    (``plan``), the :class:`~coachstats.core.goals.GoalSet` the endpoints were
    derived with (``goals``), the CONSORT :class:`~coachstats.data.flow.Flow` of
    the data when they came as a :class:`~coachstats.data.trialdata.TrialData`
    (``flow``), where the data came from (``source``), and the patient-level
    endpoint table the flow was counted from (``endpoints``: the patients with
    their derived endpoints and statuses at the data's follow-up month).
    Reports, tracking and the CLI read these here instead of resolving,
    deriving or loading them again.
    """

    specs: tuple[AnalysisSpec, ...]
    results: tuple[ComparisonResult | None, ...]
    errors: tuple[str | None, ...]
    plan: AnalysisPlan | None = None
    goals: GoalSet | None = None
    flow: Flow | None = None
    source: DataSource | None = None
    endpoints: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @classmethod
    def collect(
        cls,
        plan: AnalysisPlan,
        outcomes: Sequence[ComparisonResult | BaseException],
        *,
        flow: Flow | None = None,
        source: DataSource | None = None,
        endpoints: pd.DataFrame | None = None,
    ) -> PlanResult:
        """Assemble the result of a run: each spec's result, or the exception it raised.

        Every engine ends here (in memory, streamed, Dask), so failures are
        recorded alike: ``"<ExceptionType>: <message>"`` in :attr:`errors`.
        """
        results: list[ComparisonResult | None] = []
        messages: list[str | None] = []
        for value in outcomes:
            if isinstance(value, NotAnalysableError):  # a state of the data, said as such
                results.append(None)
                messages.append(str(value))
            elif isinstance(value, BaseException):
                results.append(None)
                messages.append(f"{type(value).__name__}: {value}")
            else:
                results.append(value)
                messages.append(None)
        return cls(
            plan.specs,
            tuple(results),
            tuple(messages),
            plan=plan,
            goals=plan.goals,
            flow=flow,
            source=source,
            endpoints=endpoints,
        )

    @property
    def ok(self) -> bool:
        """True when every spec produced a result."""
        return all(e is None for e in self.errors)

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, key: int | str) -> ComparisonResult:
        if isinstance(key, str):
            labels = [s.label for s in self.specs]
            if key not in labels:
                raise KeyError(f"no analysis labelled {key!r}; labels: {labels}")
            key = labels.index(key)
        result = self.results[key]
        if result is None:
            raise AnalysisError(f"analysis {self.specs[key].label!r} failed: {self.errors[key]}")
        return result

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per spec: ``label``, ``rule``, the result columns and ``error``."""
        rows = []
        for spec, result, error in zip(self.specs, self.results, self.errors, strict=True):
            row = (
                tidy([result]) if result is not None else pd.DataFrame([{"outcome": spec.outcome}])
            )
            row.insert(0, "label", spec.label)
            row.insert(1, "rule", spec.describe_rule())
            row["error"] = error or ""
            rows.append(row)
        if not rows:
            return tidy([]).assign(label=pd.Series(dtype=object), error=pd.Series(dtype=object))
        return pd.concat(rows, ignore_index=True)

    def __repr__(self) -> str:
        """One line a notebook can read: how many analyses, which failed, the goals and source.

        Examples
        --------
        >>> from coachstats.plan.spec import AnalysisSpec
        >>> PlanResult((AnalysisSpec("x", "describe"),), (None,), ("no column 'x'",))
        <PlanResult: 1 analysis, 1 failed (x); .to_frame() for the results>
        """
        n = len(self.specs)
        failed = [s.label for s, e in zip(self.specs, self.errors, strict=True) if e is not None]
        parts = [f"{n} analys{'is' if n == 1 else 'es'}"]
        if failed:
            shown = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
            parts.append(f"{len(failed)} failed ({shown})")
        if self.goals is not None:
            parts.append(f"goals {self.goals.name}")
        if self.source is not None:
            parts.append(f"data {self.source.path}")
        return f"<PlanResult: {', '.join(parts)}; .to_frame() for the results>"

    def summary(self) -> str:
        """Text: each result's summary, or its error."""
        parts = []
        for spec, result, error in zip(self.specs, self.results, self.errors, strict=True):
            body = result.summary() if result is not None else f"  failed: {error}"
            parts.append(f"[{spec.label}]\n{body}")
        return "\n\n".join(parts)

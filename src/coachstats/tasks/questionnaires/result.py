"""The result of the questionnaire analyses: the published analysis and its alternatives.

Examples
--------
>>> ROLES
('published', 'alternative')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from coachstats.core.results import ComparisonResult, TidyResult
from coachstats.plan import (
    AnalysisSpec,
    PlanResult,
)

__all__ = [
    "CORRELATIONS",
    "ROLES",
    "Correlation",
    "QuestionnaireAnalyses",
    "Role",
]


Correlation = Literal["exchangeable", "independence"]
#: GEE working correlations the questionnaire analyses accept.
CORRELATIONS: tuple[str, ...] = get_args(Correlation)
Role = Literal["published", "alternative"]
#: Role of each analysis: the model of the paper, or an alternative to it.
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True, eq=False)
class QuestionnaireAnalyses(TidyResult):
    """The published analysis of one outcome and its alternatives, on one analysis set.

    Attributes
    ----------
    outcome : str
        What was analysed (``"trust"``, ``"pacic"``, ``"recommend"``, or the
        visit-rating item).
    specs : tuple of AnalysisSpec
        The analyses, as data (method, covariates, clustering...); the first is
        the published one.
    results : tuple of ComparisonResult
        One per spec; ``n_excluded`` / ``excluded_reason`` count everyone not
        analysed.
    roles : tuple of str
        ``"published"`` or ``"alternative"`` per spec (see :data:`ROLES`).
    flow : DataFrame
        The accounting (:func:`questionnaire_flow`): ``step``, ``reason``, one
        column per arm and ``total``.
    design : mapping of str to float
        Clustering summary for the clinician ratings (ICC, cluster sizes,
        design effects); empty otherwise.
    """

    outcome: str
    specs: tuple[AnalysisSpec, ...]
    results: tuple[ComparisonResult, ...]
    roles: tuple[str, ...]
    flow: pd.DataFrame
    design: Mapping[str, float] = field(default_factory=dict)

    @property
    def published(self) -> ComparisonResult:
        """The result of the published analysis."""
        return self.results[self.roles.index("published")]

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels of the analyses, in order."""
        return tuple(s.label for s in self.specs)

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[ComparisonResult]:
        return iter(self.results)

    def __getitem__(self, key: int | str) -> ComparisonResult:
        if isinstance(key, str):
            if key not in self.labels:
                raise KeyError(f"no analysis labelled {key!r}; labels: {list(self.labels)}")
            key = self.labels.index(key)
        return self.results[key]

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per analysis.

        Columns: ``label``, ``role``, ``rule`` (the analysis in words), the
        :meth:`~coachstats.core.results.ComparisonResult.to_frame` columns, then
        ``se_ratio`` and ``p_ratio`` (each row's SE and P divided by those of
        the published analysis: how far they move; ``inf`` if the published P
        underflows to 0) and the :attr:`design` entries.
        """
        plan = PlanResult(self.specs, tuple(self.results), (None,) * len(self.results))
        out = plan.to_frame().drop(columns="error")
        out.insert(1, "role", list(self.roles))
        ref = self.published
        out["se_ratio"] = out["std_error"].to_numpy(dtype=float) / ref.std_error
        with np.errstate(divide="ignore"):
            out["p_ratio"] = out["p_value"].to_numpy(dtype=float) / ref.p_value
        for key, value in self.design.items():
            out[key] = value
        return out

    def summary(self) -> str:
        """Text: the accounting, then one line per analysis."""
        arms = [c for c in self.flow.columns if c not in ("step", "reason", "total")]
        lines = [f"{self.outcome}: {len(self)} analyses on one analysis set"]
        for row in self.flow.to_dict("records"):
            what = row["step"] if not row["reason"] else f"{row['step']}: {row['reason']}"
            counts = ", ".join(f"{a} {int(row[a])}" for a in arms)
            lines.append(f"  {what}: {counts} (total {int(row['total'])})")
        for spec, role, r in zip(self.specs, self.roles, self.results, strict=True):
            pct = round(100 * r.conf_level)
            p = r.format_p()
            p_text = f"P {p}" if p.startswith(("<", ">")) else f"P = {p}"
            lines.append(
                f"  [{role}] {spec.label}: {r.estimand} {r.estimate:.4g} "
                f"({pct}% CI {r.conf_low:.4g} to {r.conf_high:.4g}), SE {r.std_error:.4g}, "
                f"{p_text} (p = {r.p_value:.3g}); {spec.describe_rule()}"
            )
        for key, value in self.design.items():
            lines.append(f"  {key}: {value:.4g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<QuestionnaireAnalyses {self.outcome}: {', '.join(self.labels)}; "
            f"published P = {self.published.format_p()}, n = {self.published.n}>"
        )

"""Result objects shared by every comparison.

Every comparison in :mod:`coachstats.compare` returns a :class:`ComparisonResult`:
a frozen dataclass with the estimate, its standard error and confidence
interval, the test statistic, degrees of freedom and P value, per-arm
summaries, and how the analysis was done (method, estimand, adjustment,
clustering, missing-data rule, exclusions). ``to_frame()`` gives one tidy row,
like R's ``broom::tidy``; many results combine with :func:`tidy`. The
journal-style P values :func:`format_p` and :func:`p_phrase` live in
:mod:`coachstats.core.formatting` and are re-exported here.

Examples
--------
>>> r = ComparisonResult(outcome="composite_any", method="Pearson chi-square",
...     estimand="risk difference", estimate=0.121, std_error=0.05,
...     conf_low=0.022, conf_high=0.22, statistic=5.7, df=1.0, p_value=0.017,
...     arms=(ArmSummary("coaching", 194, events=90, value=90 / 194),
...           ArmSummary("usual_care", 178, events=61, value=61 / 178)))
>>> r.format_p()
'.02'
>>> print(r.to_brief())
Health coaching group: 46.4%
Usual care group: 34.3% (P = .02)
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from coachstats.core.coefficients import ModelOutput
from coachstats.core.errors import OptionError
from coachstats.core.formatting import format_p, p_phrase
from coachstats.core.vocabulary import ARM_NAMES

__all__ = [
    "ArmSummary",
    "ComparisonResult",
    "Exclusion",
    "TidyResult",
    "format_p",
    "no_rows_left",
    "p_phrase",
    "tidy",
]

#: How the two schema arms are named in tables and briefs (:data:`coachstats.core.vocabulary.ARM_NAMES`).
ARM_DISPLAY = ARM_NAMES["long"]


class TidyResult:
    """Base of the result objects: the tidy row and the notebook view from two methods.

    A subclass (usually a frozen dataclass) defines :meth:`to_dict` (one flat
    row) and :meth:`summary` (multi-line text); it inherits :meth:`to_frame`
    and the ``_repr_html_`` that Jupyter shows.
    """

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every result class overrides it
        """Flat dict: the tidy row of :meth:`to_frame`."""
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - every result class overrides it
        """Human-readable multi-line summary."""
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """One tidy row, column names as in R's ``broom::tidy`` where they exist.

        Combine many with ``pd.concat([r.to_frame() for r in results])`` (or :func:`tidy`).
        """
        return pd.DataFrame([self.to_dict()])

    def _repr_html_(self) -> str:
        return f"<pre class='coachstats-result'>{html.escape(self.summary())}</pre>"


@dataclass(frozen=True)
class ArmSummary:
    """What one arm contributed to a comparison.

    ``value`` is the proportion (binary outcomes) or the mean (continuous ones).
    """

    arm: str
    n: int
    events: int | None = None
    value: float = math.nan
    sd: float = math.nan


@dataclass(frozen=True)
class Exclusion:
    """Rows left out of an analysis for one reason: the reason, how many, and which.

    ``ids`` are the patients' ids (``patient_id``, else the row labels) in the
    order of the data; an engine that streams the rows may count without
    keeping them (then ``ids`` is empty and ``count`` still holds).

    Examples
    --------
    >>> e = Exclusion("missing baseline hba1c", 2, ("P1", "P7"))
    >>> str(e), e.count
    ('missing baseline hba1c (2)', 2)
    """

    reason: str
    count: int
    ids: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.reason} ({self.count})"


def no_rows_left(label: str, exclusions: Iterable[Exclusion]) -> str:
    """The message when every row was left out: the label, then each reason and its count.

    Examples
    --------
    >>> no_rows_left("LDL goal (larger site)", [Exclusion("outside the analysed subgroup site == 'A'", 40)])
    "'LDL goal (larger site)': no rows left; excluded: outside the analysed subgroup site == 'A' (40)"
    """
    return f"{label!r}: no rows left; excluded: {'; '.join(str(e) for e in exclusions)}"


@dataclass(frozen=True)
class ComparisonResult(TidyResult):
    """One comparison of two arms (or one estimate), in tidy form.

    The contract of ../shared/DESIGN.md: ``estimate``, ``std_error``,
    ``conf_low``/``conf_high`` at ``conf_level``, ``statistic`` (named in
    ``statistic_name``), ``df`` (NaN when the reference distribution is normal
    or chi-square with its df given in ``df``), ``p_value``; per-arm
    summaries in ``arms`` (first the arm whose effect is estimated, usually
    coaching); ``adjusted_for`` covariates; ``cluster`` variable;
    ``n_excluded`` with ``excluded_reason`` (every row left out, in words);
    ``exclusions`` (the rows an analysis plan left out before the comparison --
    outside a subset, not eligible, incomplete -- as :class:`Exclusion` data,
    included in ``n_excluded``); ``missing`` (the missing-data
    rule); ``extra`` holds method-specific numbers (ICC, working
    correlation, fraction of missing information...). The model-based
    comparisons also keep their whole fit in ``model``
    (:class:`~coachstats.core.coefficients.ModelOutput`): every coefficient
    (:meth:`to_frame` with ``terms="all"``), the fit statistics
    (:meth:`glance`), the adjusted means by arm (:meth:`adjusted_means`) and
    the marginal contrasts (:meth:`marginal_effects`).
    """

    outcome: str
    method: str
    estimand: str
    estimate: float
    std_error: float = math.nan
    conf_low: float = math.nan
    conf_high: float = math.nan
    conf_level: float = 0.95
    statistic: float = math.nan
    statistic_name: str = ""
    df: float = math.nan
    p_value: float = math.nan
    arms: tuple[ArmSummary, ...] = ()
    adjusted_for: tuple[str, ...] = ()
    cluster: str | None = None
    n_excluded: int = 0
    excluded_reason: str = ""
    missing: str = "complete case"
    extra: Mapping[str, Any] = field(default_factory=dict)
    exclusions: tuple[Exclusion, ...] = ()
    model: ModelOutput | None = None

    @property
    def adjusted(self) -> bool:
        """True when the estimate is adjusted for covariates."""
        return len(self.adjusted_for) > 0

    @property
    def n(self) -> int:
        """Patients analysed (all arms)."""
        return int(sum(a.n for a in self.arms))

    def format_p(self, **kwargs: Any) -> str:
        """Journal-style P value; see :func:`format_p`.

        Read against the result's own level (``alpha = 1 - conf_level``): a P
        that would round to it shows the digit that decides its side (.0496 is
        ".0496", not ".05" beside an interval that excludes no effect), as the
        AMA style asks near the threshold.
        """
        kwargs.setdefault("alpha", round(1.0 - self.conf_level, 10))
        return format_p(self.p_value, **kwargs)

    def to_frame(self, terms: str = "arm") -> pd.DataFrame:
        """The result as a tidy DataFrame.

        Parameters
        ----------
        terms : {"arm", "all"}
            ``"arm"`` (default): one row, the arm effect with the arm
            summaries (:meth:`to_dict`). ``"all"``: one row per coefficient of
            the model (``term``, ``estimate``, ``std_error``, ``statistic``,
            ``df``, ``p_value``, ``conf_low``, ``conf_high``), like
            ``broom::tidy(fit, conf.int = TRUE)``, on the model's scale (log
            odds for logistic and binomial GEE); model-based comparisons only.

        Raises
        ------
        OptionError
            ``terms="all"`` on a result that has no model (a test such as the
            chi-square).
        """
        if terms not in ("arm", "all"):
            raise OptionError(f"terms={terms!r} is not allowed; choose 'arm' or 'all'")
        if terms == "arm":
            return pd.DataFrame([self.to_dict()])
        frame = self._model("to_frame(terms='all')").coefficient_frame()
        frame.insert(0, "outcome", self.outcome)
        return frame

    def _model(self, what: str) -> ModelOutput:
        if self.model is None:
            raise OptionError(
                f"{what} needs a fitted model; this result comes from {self.method!r}, which "
                "has none: use compare.linear, logistic, gee or mixed"
            )
        return self.model

    def glance(self) -> pd.DataFrame:
        """One row of model statistics, like ``broom::glance``.

        Columns: ``outcome``, ``nobs``, ``n_clusters``, ``loglik``, ``aic``,
        ``bic``, ``df`` (estimated parameters), ``df_residual``, ``deviance``,
        ``sigma``, ``converged``, ``iterations``, ``estimation``; see
        :class:`~coachstats.core.coefficients.FitStatistics`.
        """
        model = self._model("glance()")
        return pd.DataFrame([{"outcome": self.outcome, **model.fit.to_dict()}])

    def adjusted_means(self) -> pd.DataFrame:
        """Adjusted mean (or probability) of the outcome in each arm, with its interval.

        The average over the analysed patients of the model's prediction with
        every patient set to the arm (g-computation; covariates as observed),
        on the outcome's scale: a mean for linear and mixed models, a
        probability for logistic and binomial GEE. For a linear model this is
        ``emmeans(fit, ~ arm, weights = "proportional")`` (the plain
        ``emmeans`` when no covariate is categorical); for logistic it is
        ``marginaleffects::avg_predictions(fit, variables = "arm")``.
        """
        return self._model("adjusted_means()").means_frame()

    def marginal_effects(self) -> pd.DataFrame:
        """Contrasts of the adjusted means: difference, and ratio for binary outcomes.

        Rows ``"mean difference"`` (continuous outcomes) or ``"risk
        difference"`` and ``"risk ratio"`` (binary), treatment versus
        control, with delta-method SEs, z or t tests and intervals, as
        ``marginaleffects::avg_comparisons(fit, variables = "arm")`` (the
        ratio with ``comparison = "lnratioavg", transform = "exp"``: the
        interval and test are on the log scale and ``std_error`` is that of
        the log ratio).
        """
        return self._model("marginal_effects()").marginal_frame()

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the tidy row of :meth:`to_frame`."""
        row: dict[str, Any] = {
            "outcome": self.outcome,
            "method": self.method,
            "estimand": self.estimand,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
            "conf_level": self.conf_level,
            "statistic": self.statistic,
            "statistic_name": self.statistic_name,
            "df": self.df,
            "p_value": self.p_value,
        }
        for i, a in enumerate(self.arms[:2], start=1):
            row[f"arm{i}"] = a.arm
            row[f"n{i}"] = a.n
            row[f"events{i}"] = a.events if a.events is not None else pd.NA
            row[f"estimate{i}"] = a.value
            row[f"sd{i}"] = a.sd
        row["adjusted_for"] = ", ".join(self.adjusted_for)
        row["cluster"] = self.cluster or ""
        row["missing"] = self.missing
        row["n_excluded"] = self.n_excluded
        row["excluded_reason"] = self.excluded_reason
        for k, v in self.extra.items():
            if isinstance(v, (int, float, str, np.floating, np.integer)):
                row[k] = v
        return row

    def to_brief(self, label: str | None = None) -> str:
        """The practice brief's presentation: one line per arm, then the P value.

        Proportions print as percentages with one decimal; means with two.
        Adjusted results are marked ``(P = .001, adjusted)``.
        """
        lines = [f"{label}:"] if label else []
        indent = "  " if label else ""
        binary = all(a.events is not None for a in self.arms)
        for i, a in enumerate(self.arms):
            name = ARM_DISPLAY.get(a.arm, a.arm)
            val = f"{100 * a.value:.1f}%" if binary else f"{a.value:.2f}"
            tail = ""
            if i == len(self.arms) - 1:
                tail = f" ({p_phrase(self.format_p())}{', adjusted' if self.adjusted else ''})"
            lines.append(f"{indent}{name}: {val}{tail}")
        return "\n".join(lines)

    def summary(self) -> str:
        """Human-readable multi-line summary."""
        pct = round(100 * self.conf_level)
        lines = [
            f"{self.method}: {self.outcome}",
            f"  {self.estimand} = {self.estimate:.4g} "
            f"({pct}% CI {self.conf_low:.4g} to {self.conf_high:.4g}), SE {self.std_error:.4g}",
        ]
        stat = f"  {self.statistic_name or 'statistic'} = {self.statistic:.4g}"
        if not math.isnan(self.df):
            stat += f", df = {self.df:.4g}"
        # an exact 0 is a P below the smallest double, not a P of zero
        exact = f"p = {self.p_value:.4g}" if self.p_value != 0 else "p < 1e-300"
        lines.append(stat + f", {p_phrase(self.format_p())} ({exact})")
        for a in self.arms:
            desc = f"    {a.arm}: n = {a.n}"
            if a.events is not None:
                desc += f", events = {a.events} ({100 * a.value:.1f}%)"
            elif not math.isnan(a.value):
                desc += f", mean = {a.value:.4g}"
                if not math.isnan(a.sd):
                    desc += f" (SD {a.sd:.4g})"
            lines.append(desc)
        if self.adjusted_for:
            lines.append(f"  adjusted for: {', '.join(self.adjusted_for)}")
        if self.cluster:
            lines.append(f"  clustered by: {self.cluster}")
        lines.append(f"  missing data: {self.missing}")
        if self.n_excluded:
            lines.append(f"  excluded: {self.n_excluded} ({self.excluded_reason})")
        for k, v in self.extra.items():
            lines.append(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<ComparisonResult {self.outcome}: {self.estimand} {self.estimate:.4g} "
            f"[{self.conf_low:.4g}, {self.conf_high:.4g}], {p_phrase(self.format_p())} "
            f"({self.method}{f', n = {self.n}' if self.n else ''})>"
        )

    def replace(self, **changes: Any) -> ComparisonResult:
        """A copy with some fields changed."""
        return replace(self, **changes)


def tidy(results: Iterable[ComparisonResult]) -> pd.DataFrame:
    """Stack results into one tidy DataFrame (one row each).

    Examples
    --------
    >>> r = ComparisonResult(outcome="x", method="m", estimand="risk difference", estimate=0.1)
    >>> tidy([r, r]).shape[0]
    2
    """
    frames = [r.to_frame() for r in results]
    if not frames:
        return pd.DataFrame(
            columns=list(
                ComparisonResult(outcome="", method="", estimand="", estimate=math.nan).to_dict()
            )
        )
    return pd.concat(frames, ignore_index=True)

"""Forest plots of an evaluation: the plotted rows (:func:`forest_frame`) and the figures.

For each outcome the published trial(s), then the program: effects for a
two-arm program, with "favours coaching / favours usual care" on each side of
the line of no effect (:func:`favours_sides`: by the outcome's better
direction), proportions or means (with each published arm) for a single-arm
one. :func:`plot_evaluation` draws one estimand with
:func:`coachstats.present.plots.plot_forest`; :func:`evaluation_figure` puts
every panel in one figure (``coachstats evaluate --plot``). matplotlib is
imported only when a figure is drawn.

Examples
--------
>>> from coachstats.tasks.evaluate import evaluate
>>> from coachstats.synthetic import hcpc_cohort
>>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False, tracking=False)
>>> forest_frame(res)["source"].unique().tolist()
['HCPC 2015', 'Your program']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from coachstats.compare.onesample import one_sample_mean, one_sample_proportion
from coachstats.core.errors import AnalysisError
from coachstats.core.results import ComparisonResult
from coachstats.core.vocabulary import BETTER
from coachstats.tasks.evaluate.against_evidence import EvidenceComparison
from coachstats.tasks.evaluate.arms import ArmComparison
from coachstats.tasks.evaluate.published import trial_name
from coachstats.tasks.evaluate.rows import PROGRAM, EffectComparison

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "EFFECT_ESTIMANDS",
    "FAVOURS_HIGHER",
    "FAVOURS_LOWER",
    "ForestSource",
    "evaluation_figure",
    "favours_sides",
    "forest_frame",
    "plot_evaluation",
]

#: The estimands of a two-arm forest (effects of coaching against usual care).
EFFECT_ESTIMANDS = ("risk difference", "odds ratio", "mean difference")


class ForestSource(Protocol):
    """What the forest plots read of an evaluation: an :class:`~coachstats.tasks.evaluate.EvaluationResult`.

    ``design`` (``"two-arm"`` or ``"single-arm"``), the two-arm ``effects``
    and the single-arm ``arms``.
    """

    @property
    def design(self) -> str:
        """``"two-arm"`` or ``"single-arm"``."""
        ...

    @property
    def effects(self) -> Sequence[EffectComparison]:
        """The two-arm comparisons."""
        ...

    @property
    def arms(self) -> Sequence[ArmComparison]:
        """The single-arm comparisons."""
        ...

    @property
    def evidence(self) -> Sequence[EvidenceComparison]:
        """The comparisons with the evidence base (``against="evidence"``)."""
        ...


def forest_frame(
    result: ForestSource, *, estimand: str | None = None, outcome: str | None = None
) -> pd.DataFrame:
    """The rows of the forest plot: for each outcome, the published trial(s), then the program.

    Two-arm: the effects of ``estimand`` (default: every primary estimand);
    single-arm: proportions or means (the program and each published arm;
    published arms without a printed n have no interval). ``outcome``
    restricts to one endpoint.

    Examples
    --------
    >>> from coachstats.tasks.evaluate import evaluate
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False, tracking=False)
    >>> forest_frame(res, estimand="risk difference")["label"].tolist()[:2]
    ['at goal for >= 1 condition: HCPC 2015', 'at goal for >= 1 condition: Your program']
    """
    rows = []
    if result.design == "two-arm":
        for e in result.effects:
            if (estimand is None and not e.primary) or (
                estimand is not None and e.estimand != estimand
            ):
                continue
            if outcome is not None and e.outcome != outcome:
                continue
            pub = e.published
            base = {"outcome": e.outcome, "estimand": e.estimand, "conf_level": 0.95}
            rows.append(
                {
                    **base,
                    "label": f"{e.label}: {trial_name(e.trial)}",
                    "estimate": pub.estimate,
                    "conf_low": pub.conf_low,
                    "conf_high": pub.conf_high,
                    "source": trial_name(e.trial),
                }
            )
            if e.program is not None:
                rows.append(_program_row(base, e.label, e.program))
    else:
        for a in result.arms:
            if outcome is not None and a.outcome != outcome:
                continue
            est = "proportion" if a.kind == "binary" else "mean"
            if estimand is not None and est != estimand:
                continue
            base = {"outcome": a.outcome, "estimand": est, "conf_level": 0.95}
            po = a.published
            for i, arm in enumerate(("coaching", "usual care")):
                lo = hi = math.nan
                if po.n is not None and po.events is not None:
                    r = one_sample_proportion(po.events[i], po.n[i])
                    lo, hi = r.conf_low, r.conf_high
                elif po.n is not None and math.isfinite(po.sds[i]):
                    r = one_sample_mean(po.values[i], po.sds[i], po.n[i])
                    lo, hi = r.conf_low, r.conf_high
                rows.append(
                    {
                        **base,
                        "label": f"{a.label}: {trial_name(a.trial)} {arm}",
                        "estimate": po.values[i],
                        "conf_low": lo,
                        "conf_high": hi,
                        "source": f"{trial_name(a.trial)} {arm}",
                    }
                )
            if a.program is not None:
                rows.append(_program_row(base, a.label, a.program))
    return pd.DataFrame(
        rows,
        columns=[
            "outcome",
            "estimand",
            "label",
            "estimate",
            "conf_low",
            "conf_high",
            "conf_level",
            "source",
        ],
    )


def _program_row(base: dict[str, Any], label: str, program: ComparisonResult) -> dict[str, Any]:
    """The program's row of an outcome in :func:`forest_frame`."""
    return {
        **base,
        "label": f"{label}: {PROGRAM}",
        "estimate": program.estimate,
        "conf_low": program.conf_low,
        "conf_high": program.conf_high,
        "source": PROGRAM,
    }


#: The sides of a forest of effects (coaching minus usual care), left then right.
FAVOURS_HIGHER = ("favours usual care", "favours coaching")
FAVOURS_LOWER = ("favours coaching", "favours usual care")


def favours_sides(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The "favours" labels of a panel of effects, from its outcomes' better direction.

    Left then right of the line of no effect: ``("favours usual care", "favours
    coaching")`` when higher is better (shares at goal), the reverse for lab
    changes. None for a panel of single-arm figures (no line of no effect) or
    of outcomes whose better directions differ.

    Examples
    --------
    >>> favours_sides(pd.DataFrame({"outcome": ["change_hba1c"], "estimand": ["mean difference"]}))
    ('favours coaching', 'favours usual care')
    """
    if frame.empty or not set(frame["estimand"]) <= set(EFFECT_ESTIMANDS):
        return None
    sides = {BETTER.get(str(o)) for o in frame["outcome"]}
    if sides == {"higher"}:
        return FAVOURS_HIGHER
    if sides == {"lower"}:
        return FAVOURS_LOWER
    return None


def _is_program(frame: pd.DataFrame) -> list[bool]:
    """The program's rows of a :func:`forest_frame` (set apart in the plot)."""
    return (frame["source"] == PROGRAM).tolist()


def _panels(result: ForestSource) -> list[pd.DataFrame]:
    frame = forest_frame(result)
    if frame.empty:
        raise AnalysisError("nothing to plot: no outcome was analysed")
    panels = []
    for est in pd.unique(frame["estimand"]):
        sub = frame.loc[frame["estimand"] == est]
        if est in ("risk difference", "proportion"):
            panels.append(sub)
        else:  # means and mean differences have each outcome's own unit
            panels += [sub.loc[sub["outcome"] == o] for o in pd.unique(sub["outcome"])]
    return [p.reset_index(drop=True) for p in panels]


def plot_evaluation(
    result: ForestSource,
    *,
    estimand: str | None = None,
    outcome: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of the program and the trials for one estimand (and optionally one outcome).

    Draws :func:`forest_frame` with :func:`coachstats.present.plots.plot_forest`.
    Default estimand: risk difference (two-arm) or proportion (single-arm).

    Examples
    --------
    >>> from coachstats.tasks.evaluate import evaluate
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="hcpc", standardize=False, tracking=False)
    >>> ax = plot_evaluation(res)
    >>> len(ax.get_yticklabels())
    8
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    from coachstats.present.plots import plot_forest

    est = estimand or ("risk difference" if result.design == "two-arm" else "proportion")
    frame = forest_frame(result, estimand=est, outcome=outcome)
    if frame.empty:
        raise AnalysisError(
            f"nothing to plot for estimand {est!r}"
            + (f" and outcome {outcome!r}" if outcome else "")
        )
    return plot_forest(
        frame,
        labels=frame["label"].tolist(),
        highlight=_is_program(frame),
        favours=favours_sides(frame),
        ax=ax,
    )


def evaluation_figure(result: ForestSource) -> Figure:
    """Every forest panel of an evaluation in one figure (one panel per estimand; one per
    continuous outcome, whose units differ), then, against the evidence base, one evidence
    forest per outcome compared (:func:`~coachstats.present.plots.plot_evidence`: the pooled
    trials, the pooled diamond, the prediction interval and the program's row, not pooled).

    Examples
    --------
    >>> from coachstats.tasks.evaluate import evaluate
    >>> from coachstats.synthetic import hcpc_cohort
    >>> res = evaluate(hcpc_cohort(n=800, seed=5).patients, against="all", standardize=False, tracking=False)
    >>> fig = evaluation_figure(res)
    >>> len(fig.axes)  # risk differences, then HbA1c, LDL and SBP changes
    4
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt

    from coachstats.present.plots import plot_forest
    from coachstats.present.plots.evidence import plot_evidence
    from coachstats.present.plots.style import journal_style

    evidence = [e for e in result.evidence if e.evidence is not None and e.position is not None]
    panels = _panels(result) if result.effects or result.arms or not evidence else []
    heights = [len(p) + 1.5 for p in panels]
    heights += [e.evidence.meta.k + 5.5 for e in evidence if e.evidence is not None]
    with journal_style():
        fig = plt.figure(figsize=(6.5, 0.25 * sum(heights) + 0.4), layout="constrained")
        grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
        for i, frame in enumerate(panels):
            plot_forest(
                frame,
                labels=frame["label"].tolist(),
                highlight=_is_program(frame),
                favours=favours_sides(frame),
                ax=fig.add_subplot(grid[i]),
            )
        for i, e in enumerate(evidence, start=len(panels)):
            if e.evidence is not None:
                ax = plot_evidence(e.evidence, program=e.position, ax=fig.add_subplot(grid[i]))
                ax.set_title(
                    f"{e.label} against the evidence base ({e.population})",
                    fontsize="small",
                    loc="left",
                    pad=16,  # above the numbers column's header
                )
    return fig

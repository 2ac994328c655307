"""CONSORT flow diagram of one endpoint, drawn from a :class:`~coachstats.data.flow.Flow`.

Boxes, top to bottom: randomized; allocated per arm; lost to follow-up (no
follow-up measurement at all, not analysed); excluded from the endpoint's
analysis, with the reasons; analysed. The numbers are the flow's own, and no
patient is in two boxes, so each column adds up: allocated = lost + excluded +
analysed (:meth:`~coachstats.data.flow.Flow.check`). With
``missing="failure"``, lost patients who are analysed (counted as not at goal)
are in the analysed box, which says how many.

Examples
--------
>>> import pandas as pd
>>> from coachstats.data.flow import Flow
>>> flow = Flow({"coaching": 224, "usual_care": 217}, {"coaching": 25, "usual_care": 30},
...     pd.DataFrame({"endpoint": ["composite_any"] * 4, "arm": ["coaching"] * 2 + ["usual_care"] * 2,
...                   "status": ["analysed", "lost to follow-up"] * 2, "n": [194, 30, 178, 39]}))
>>> ax = plot_consort(flow)
>>> ax.get_title(loc="left"), ax.texts[0].get_text()
('≥ 1 goal', 'Randomized (n = 441)')
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coachstats.core.errors import AnalysisError
from coachstats.data.flow import Flow
from coachstats.present.plots.common import OUTCOME_LABELS, axes_for, tick_fontsize
from coachstats.present.plots.style import SINGLE_COLUMN, arm_label, root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["REASON_LABELS", "consort_boxes", "plot_consort"]

REASON_LABELS: dict[str, str] = {
    "not eligible": "Not eligible for this endpoint",
    "missing baseline": "Missing baseline value",
    "missing follow-up": "Missing follow-up value",
}
"""Display text of the exclusion statuses of :data:`coachstats.derive.endpoints.STATUS`."""

_PAD = 0.45  # box padding, in lines
_GAP = 1.3  # vertical gap between rows (room for the arrows), in lines
_BOX = 0.92  # box width as a fraction of a column
_LINE = 1.3  # line height in font sizes
_CHAR = 0.52  # average character width in font sizes (Arial / DejaVu Sans, mixed text)
_KEEP = "\x00"  # stands for a space that must not break a line (inside "n = 25")


@dataclass(frozen=True)
class ConsortBox:
    """One box of the diagram: its stage, arm (``None`` for the randomized box) and text lines."""

    stage: str
    arm: str | None
    lines: tuple[str, ...]


def _resolve_endpoint(flow: Flow, endpoint: str | None) -> str | None:
    if flow.endpoints.empty:
        if endpoint is not None:
            raise AnalysisError(
                f"endpoint {endpoint!r}: the flow has no endpoint counts "
                "(build it with Flow.from_endpoints)"
            )
        return None
    have = [str(e) for e in dict.fromkeys(flow.endpoints["endpoint"])]
    if endpoint is None:
        if len(have) > 1:
            raise AnalysisError(
                f"the flow counts {len(have)} endpoints; choose one with endpoint= "
                f"({', '.join(have)})"
            )
        return have[0]
    if endpoint not in have:
        raise AnalysisError(f"endpoint {endpoint!r} is not in the flow; have {', '.join(have)}")
    return endpoint


def consort_boxes(flow: Flow, endpoint: str | None = None) -> list[ConsortBox]:
    """The text of every box of :func:`plot_consort`, top to bottom, arm by arm.

    Stages: ``randomized``, ``allocated``, ``lost``, then for an endpoint
    ``excluded`` and ``analysed``.

    Examples
    --------
    >>> import pandas as pd
    >>> flow = Flow({"coaching": 10, "usual_care": 12}, {"coaching": 1, "usual_care": 2},
    ...     pd.DataFrame({"endpoint": ["x"] * 4, "arm": ["coaching"] * 2 + ["usual_care"] * 2,
    ...                   "status": ["analysed", "not eligible"] * 2, "n": [8, 2, 12, 0]}))
    >>> for box in consort_boxes(flow, "x")[-4:]:
    ...     print(box.arm, box.stage, box.lines)
    coaching excluded ('Excluded from analysis (n = 2)', 'Not eligible for this endpoint: 2')
    usual_care excluded ('Excluded from analysis (n = 0)',)
    coaching analysed ('Analysed (n = 8)',)
    usual_care analysed ('Analysed (n = 12)',)
    """
    ep = _resolve_endpoint(flow, endpoint)
    arms = list(flow.randomized)
    on_load = [f"Excluded on loading: {why} (n = {n})" for why, n in flow.excluded_on_load.items()]
    top = (f"{flow.entry} (n = {flow.entered})", *on_load)
    boxes = [ConsortBox("randomized", None, top)]
    boxes += [
        ConsortBox("allocated", a, (arm_label(a), f"Allocated (n = {flow.randomized[a]})"))
        for a in arms
    ]
    lost = dict(flow.lost_to_followup) if ep is None else flow.lost(ep)
    boxes += [
        ConsortBox(
            "lost",
            a,
            (f"Lost to follow-up (n = {lost.get(a, 0)})", "(no follow-up measurement)"),
        )
        for a in arms
    ]
    if ep is None:
        return boxes
    analysed = flow.analysed(ep)
    excluded = flow.excluded(ep)
    failures = flow.counted_as_failure(ep)
    for a in arms:
        rows = excluded[excluded["arm"] == a]
        reasons = tuple(
            f"{REASON_LABELS.get(str(s), str(s).capitalize())}: {int(k)}"
            for s, k in zip(rows["status"], rows["n"], strict=True)
        )
        total = int(rows["n"].sum())
        boxes.append(ConsortBox("excluded", a, (f"Excluded from analysis (n = {total})", *reasons)))
    for a in arms:
        lines: tuple[str, ...] = (f"Analysed (n = {analysed[a]})",)
        k = failures[a]
        if k:
            lines += (f"incl. {k} missing follow-up counted as not at goal",)
        boxes.append(ConsortBox("analysed", a, lines))
    return boxes


def _wrap(line: str, chars: int) -> list[str]:
    """Wrap one line of box text, never inside ``"n = 25"``."""
    kept = line.replace(" = ", f"{_KEEP}={_KEEP}")
    return [w.replace(_KEEP, " ") for w in textwrap.wrap(kept, chars)] or [""]


def plot_consort(
    flow: Flow,
    *,
    endpoint: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the CONSORT flow of one endpoint with matplotlib patches and arrows.

    Parameters
    ----------
    flow : Flow
        From :meth:`Flow.from_endpoints` (or :meth:`Flow.from_patients`, which
        draws randomized, allocated and lost only).
    endpoint : str, optional
        The endpoint whose exclusions and analysed counts are drawn; required
        when the flow counts several.
    title : str, optional
        Title; default the endpoint's label (e.g. ``"≥ 1 goal"``).
    ax : Axes, optional
        Where to draw; default a new single-column figure as tall as the
        diagram needs. In an Axes of your own, the font shrinks to fit.

    Returns
    -------
    Axes

    Raises
    ------
    AnalysisError
        ``endpoint`` missing while the flow counts several, or unknown.

    References
    ----------
    Schulz KF, Altman DG, Moher D, for the CONSORT Group. CONSORT 2010
    statement: updated guidelines for reporting parallel group randomised
    trials. BMJ 2010;340:c332.

    Examples
    --------
    >>> import pandas as pd
    >>> flow = Flow({"coaching": 10, "usual_care": 12}, {"coaching": 1, "usual_care": 2})
    >>> ax = plot_consort(flow)
    >>> [t.get_text() for t in ax.texts if t.get_text()][-1]
    'Lost to follow-up (n = 2)\\n(no follow-up measurement)'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    boxes = consort_boxes(flow, endpoint)
    ep = _resolve_endpoint(flow, endpoint)
    arms = list(flow.randomized)
    ncol = max(len(arms), 1)
    heading = title if title is not None else (OUTCOME_LABELS.get(ep, ep) if ep else "")
    own = ax is None
    with axes_for(ax, (SINGLE_COLUMN if ncol <= 2 else SINGLE_COLUMN * ncol / 2, 4.0)) as ax:
        fig = root_figure(ax)
        size = tick_fontsize()
        # with the axis off, a layout engine gives the axes more room: measure after it
        ax.set_axis_off()
        if heading:
            ax.set_title(heading, loc="left")
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.execute(fig)
        width_pts = float(ax.bbox.width) * 72.0 / float(fig.dpi)
        chars = max(12, int(_BOX * width_pts / ncol / (_CHAR * size)) - 2)
        wrapped = [
            ConsortBox(b.stage, b.arm, tuple(w for line in b.lines for w in _wrap(line, chars)))
            for b in boxes
        ]
        stages = list(dict.fromkeys(b.stage for b in wrapped))
        heights = {s: max(len(b.lines) for b in wrapped if b.stage == s) + 2 * _PAD for s in stages}
        tops: dict[str, float] = {}
        y = 0.0
        for s in stages:
            tops[s] = y
            y += heights[s] + _GAP
        total = y - _GAP
        line_pts = _LINE * size
        if own:
            extra = 0.35 if heading else 0.1
            fig.set_size_inches(fig.get_size_inches()[0], total * line_pts / 72.0 + extra)
        else:
            height_pts = float(ax.bbox.height) * 72.0 / float(fig.dpi)
            size = min(size, height_pts / (total * _LINE))
        _draw(ax, wrapped, tops, heights, arms, size)
        ax.set_xlim(0.0, ncol)
        ax.set_ylim(total + 0.05, -0.05)
    return ax


def _draw(
    ax: Axes,
    boxes: list[ConsortBox],
    tops: dict[str, float],
    heights: dict[str, float],
    arms: list[str],
    size: float,
) -> None:
    from matplotlib.patches import Rectangle

    ncol = max(len(arms), 1)
    centers = {a: i + 0.5 for i, a in enumerate(arms)}
    width = _BOX
    line: dict[str, Any] = {"color": "black", "lw": 0.6}
    for b in boxes:
        x = ncol / 2.0 if b.arm is None else centers[b.arm]
        top, h = tops[b.stage], heights[b.stage]
        ax.add_patch(Rectangle((x - width / 2, top), width, h, fc="white", ec="black", lw=0.6))
        ax.text(
            x,
            top + h / 2,
            "\n".join(b.lines),
            ha="center",
            va="center",
            multialignment="center" if b.stage != "excluded" else "left",
            fontsize=size,
            linespacing=1.2,
        )
    stages = list(tops)
    arrow: dict[str, Any] = {
        "arrowstyle": "-|>",
        "lw": 0.6,
        "color": "black",
        "shrinkA": 0,
        "shrinkB": 0,
        "mutation_scale": 6,
    }
    # randomized -> allocation: a bracket, then one arrow per arm
    bottom = tops[stages[0]] + heights[stages[0]]
    mid = bottom + _GAP / 2
    xs = [centers[a] for a in arms]
    ax.plot([ncol / 2.0, ncol / 2.0], [bottom, mid], **line)
    ax.plot([min(xs), max(xs)], [mid, mid], **line)
    for x in xs:
        ax.annotate("", xy=(x, tops[stages[1]]), xytext=(x, mid), arrowprops=arrow)
    # column arrows between the following stages
    for upper, lower in itertools.pairwise(stages[1:]):
        for x in xs:
            ax.annotate(
                "", xy=(x, tops[lower]), xytext=(x, tops[upper] + heights[upper]), arrowprops=arrow
            )

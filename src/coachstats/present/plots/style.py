"""The coachstats journal style, the colour palette, and figure export.

One palette for every figure: the arms keep their colours everywhere
(:data:`ARM_COLORS`), taken from the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies and in greyscale
(blue is dark, orange is light). The style (``coachstats.mplstyle``, bundled
with the package) sizes text for a single journal column (3.5 in) and drops
chart junk: no top/right spines, no grid, no legend frame.

matplotlib is imported only when a function here is called, so importing this
module (and :mod:`coachstats`) stays fast.

References
----------
Okabe M, Ito K. Color universal design (CUD): how to make figures and
presentations that are friendly to colorblind people. 2008.
https://jfly.uni-koeln.de/color/

Examples
--------
>>> arm_color("coaching"), arm_color("usual_care")
('#0072B2', '#E69F00')
>>> arm_label("usual_care")
'Usual care'
>>> STYLE_FILE.name
'coachstats.mplstyle'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from coachstats.core.errors import check_option
from coachstats.core.vocabulary import ARM_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ARM_COLORS",
    "ARM_LABELS",
    "ARM_SHORT_LABELS",
    "DOUBLE_COLUMN",
    "OKABE_ITO",
    "SINGLE_COLUMN",
    "STYLE_FILE",
    "arm_color",
    "arm_label",
    "journal_style",
    "root_figure",
    "save_figure",
    "use_style",
]

STYLE_FILE = Path(__file__).with_name("coachstats.mplstyle")
"""The bundled style sheet; also usable as ``plt.style.use("coachstats.present.plots.coachstats")``."""

SINGLE_COLUMN = 3.5
"""Width in inches of a single journal column."""
DOUBLE_COLUMN = 7.0
"""Width in inches of a full page (two columns)."""

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
"""The Okabe-Ito colour-blind-safe palette, in the order of the style's colour cycle."""

ARM_COLORS: dict[str, str] = {"coaching": OKABE_ITO[0], "usual_care": OKABE_ITO[1]}
"""The one palette of the arms: coaching blue, usual care orange, in every figure."""

ARM_LABELS: Mapping[str, str] = ARM_NAMES["plain"]
"""Display names of the arms in legends."""

ARM_SHORT_LABELS: Mapping[str, str] = ARM_NAMES["short"]
"""Short display names of the arms, for tick labels under narrow panels."""

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[Format, ...] = ("png", "svg", "pdf")


def arm_color(arm: str, index: int = 0) -> str:
    """Colour of ``arm``: :data:`ARM_COLORS`, else the palette colour at ``index``.

    Arms other than ``coaching`` / ``usual_care`` take the Okabe-Ito colours
    that no standard arm uses, in order, so they never collide with them.

    Examples
    --------
    >>> arm_color("group A", 0), arm_color("group B", 1)
    ('#009E73', '#D55E00')
    """
    if arm in ARM_COLORS:
        return ARM_COLORS[arm]
    spare = [c for c in OKABE_ITO if c not in ARM_COLORS.values()]
    return spare[index % len(spare)]


def arm_label(arm: str, *, short: bool = False) -> str:
    """Display name of ``arm`` (:data:`ARM_LABELS` or :data:`ARM_SHORT_LABELS`, else ``arm``).

    Examples
    --------
    >>> arm_label("coaching"), arm_label("coaching", short=True), arm_label("peer coaching")
    ('Health coaching', 'Coaching', 'peer coaching')
    """
    return (ARM_SHORT_LABELS if short else ARM_LABELS).get(arm, arm)


def root_figure(artist: Figure | Axes) -> Figure:
    """The top-level :class:`~matplotlib.figure.Figure` of an Axes (or of a (sub)figure).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> root_figure(ax) is fig
    True
    >>> plt.close(fig)
    """
    from matplotlib.figure import Figure

    obj: Any = artist
    while not isinstance(obj, Figure):  # Axes -> (sub)figure -> root figure
        obj = obj.figure
    return obj


def use_style() -> None:
    """Apply the coachstats style to matplotlib's global ``rcParams``.

    Prefer :func:`journal_style` in library code: it restores the previous
    settings afterwards.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> with mpl.rc_context():
    ...     use_style()
    ...     mpl.rcParams["axes.spines.top"], mpl.rcParams["font.size"]
    (False, 8.0)
    """
    import matplotlib.style

    matplotlib.style.use(str(STYLE_FILE))


@contextmanager
def journal_style() -> Iterator[None]:
    """Context manager: the coachstats style inside the block, the old settings after.

    Figures made by the ``plot_*`` functions with ``ax=None`` are created and
    drawn inside it. Axes you create yourself keep your own style unless you
    create them inside this block too.

    The session's interactive mode is not the style's business and is left as
    the block leaves it. Restoring the old ``rcParams`` wholesale would undo it:
    in Jupyter the inline backend is loaded, and interactive mode switched on,
    when the first figure of the session is made, and if that happens inside
    this block a plain restore switches it off again, after which no figure of
    the session is shown inline any more.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> with journal_style():
    ...     mpl.rcParams["figure.figsize"]
    [3.5, 2.6]
    >>> mpl.rcParams["axes.spines.right"]
    True
    >>> was = mpl.is_interactive()
    >>> with journal_style():
    ...     mpl.interactive(True)  # what loading the inline backend does
    >>> mpl.is_interactive()
    True
    >>> mpl.interactive(was)
    """
    import matplotlib as mpl
    import matplotlib.style

    interactive = mpl.is_interactive()
    try:
        with matplotlib.style.context(str(STYLE_FILE)):
            try:
                yield
            finally:
                interactive = mpl.is_interactive()
    finally:
        mpl.interactive(interactive)


def save_figure(
    figure: Figure | Axes,
    path: str | Path,
    *,
    formats: Sequence[Format] | None = None,
    dpi: float | None = None,
) -> list[Path]:
    """Save a figure in the journal style's export settings, reproducibly.

    Saves under :func:`journal_style` (tight bounding box, 300 dpi raster,
    TrueType fonts in PDF, text as paths in SVG) with the creation date left
    out of PDF and SVG metadata and a fixed SVG id salt, so the same figure
    code gives the same file, run after run (no spurious diffs in docs images).

    Parameters
    ----------
    figure : Figure or Axes
        The figure, or any of its Axes (what the ``plot_*`` functions return).
    path : str or Path
        Target file. With ``formats=None`` its suffix picks the format;
        otherwise the suffix is replaced by each format in turn.
    formats : sequence of {"png", "svg", "pdf"}, optional
        Formats to write.
    dpi : float, optional
        Raster resolution (PNG); default the style's 300.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile, matplotlib.pyplot as plt
    >>> fig = plt.figure()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.suffix for p in save_figure(fig, Path(d) / "fig", formats=["png", "pdf"])]
    ['.png', '.pdf']
    >>> plt.close(fig)
    """
    import matplotlib as mpl

    fig = root_figure(figure)
    target = Path(path)
    if formats is None:
        fmt = target.suffix.lstrip(".").lower()
        check_option("format (file suffix)", fmt, FORMATS)
        todo: list[tuple[Path, str]] = [(target, fmt)]
    else:
        for f in formats:
            check_option("formats", f, FORMATS)
        todo = [(target.with_suffix("." + f), f) for f in formats]
    metadata = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": {}}
    written = []
    with journal_style(), mpl.rc_context({"svg.hashsalt": "coachstats"}):
        for file, fmt in todo:
            fig.savefig(file, format=fmt, dpi=dpi, metadata=metadata[fmt])
            written.append(file)
    return written

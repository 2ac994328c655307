"""What a report shows: :class:`Report`, its :class:`DataSection` per data set, embedded :class:`Figure`.

These hold result objects, not text: :mod:`coachstats.present.report.sections` builds them
from the task results and :func:`coachstats.present.report.build_report` renders them.

Examples
--------
>>> Report("Title", sections=(DataSection("Your data"),)).image_format
'png'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from coachstats.core.errors import check_option
from coachstats.core.results import ComparisonResult
from coachstats.data.flow import Flow
from coachstats.plan import AnalysisSpec
from coachstats.present.table1 import BaselineTable

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult
    from coachstats.tasks.evaluate.impact import ProgramImpact
    from coachstats.tasks.evaluate.missingness import ProgramSensitivity
    from coachstats.tasks.evidence import EvidenceSummary
    from coachstats.tasks.reproduce import ReproductionResult
    from coachstats.tasks.tracking import ProgramMetrics
    from coachstats.trials.registry import Trial

__all__ = ["IMAGE_FORMATS", "DataSection", "Figure", "ImageFormat", "Report"]

#: How figures are embedded.
ImageFormat = Literal["png", "svg"]
IMAGE_FORMATS: tuple[str, ...] = get_args(ImageFormat)


@dataclass(frozen=True)
class Figure:
    """An embedded figure: title, caption, MIME type and base64 data."""

    title: str
    caption: str
    mime: str
    data: str

    @property
    def uri(self) -> str:
        """The ``data:`` URI of the image."""
        return f"data:{self.mime};base64,{self.data}"


@dataclass(frozen=True)
class DataSection:
    """One data set of a report and what was run on it.

    Attributes
    ----------
    name : str
        Heading (e.g. ``"HCPC cohort"``).
    design : tuple of (str, str)
        Facts of the trial design (what, value).
    trials : tuple of Trial
        Registry trials whose design and citation are shown.
    flow : Flow or None
        CONSORT flow (with per-endpoint counts when available).
    flow_endpoint : str or None
        The endpoint drawn in the CONSORT figure.
    baseline : BaselineTable or None
        Table 1.
    results : tuple of ComparisonResult
        The comparisons of the outcome table and figures.
    labels : tuple of str
        Display names of ``results``.
    specs : tuple of AnalysisSpec
        Every analysis run (for the methods text).
    spec_labels : mapping
        Spec label -> display name.
    failures : tuple of (str, str)
        Analyses that failed: (label, error).
    files : tuple of (str, str)
        Data files and their SHA-256.
    notes : tuple of str
        What loading did, and why a section is missing.
    outcomes : tuple of str
        Endpoints analysed beyond those of ``specs`` (an evaluation's), for the
        per-endpoint flow table.
    methods : tuple of str
        Methods sentences beyond those written from ``specs``.
    impact : ProgramImpact or None
        Number needed to coach and cost per additional patient at goal.
    sensitivity : ProgramSensitivity or None
        Tipping points of the binary outcomes.
    tracking : ProgramMetrics or None
        The practice brief's tracking indicators next to their yardsticks.
    single_group : tuple of ComparisonResult
        A single-arm program's outcomes (proportion or mean with its CI), shown in
        place of the comparison of arms; ``single_group_labels`` names them and
        ``single_group_note`` says what they cannot separate (no concurrent control).
    """

    name: str
    design: tuple[tuple[str, str], ...] = ()
    trials: tuple[Trial, ...] = ()
    flow: Flow | None = None
    flow_endpoint: str | None = None
    baseline: BaselineTable | None = None
    results: tuple[ComparisonResult, ...] = ()
    labels: tuple[str, ...] = ()
    specs: tuple[AnalysisSpec, ...] = ()
    spec_labels: Mapping[str, str] = field(default_factory=dict)
    failures: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    impact: ProgramImpact | None = None
    sensitivity: ProgramSensitivity | None = None
    tracking: ProgramMetrics | None = None
    single_group: tuple[ComparisonResult, ...] = ()
    single_group_labels: tuple[str, ...] = ()
    single_group_note: str = ""


@dataclass(frozen=True)
class Report:
    """Everything a report shows; render with :func:`build_report`.

    Attributes
    ----------
    title : str
        The page title.
    sections : tuple of DataSection
        One per data set (none for a report of the evidence alone).
    reproduction : ReproductionResult or None
        Published vs reproduced (for :func:`report_from_reproduction`).
    evaluation : EvaluationResult or None
        A program against the published trials (for :func:`report_from_evaluation`).
    evidence : EvidenceSummary or None
        The pooled evidence on one outcome (for :func:`report_from_evidence`).
    seeds : tuple of (str, int)
        Every seed behind the numbers (what, seed).
    image_format : {"png", "svg"}
        How figures are embedded.
    figures : bool
        Draw the figures (False: tables only, faster).
    """

    title: str
    sections: tuple[DataSection, ...]
    reproduction: ReproductionResult | None = None
    evaluation: EvaluationResult | None = None
    evidence: EvidenceSummary | None = None
    seeds: tuple[tuple[str, int], ...] = ()
    image_format: ImageFormat = "png"
    figures: bool = True

    def __post_init__(self) -> None:
        check_option("image_format", self.image_format, IMAGE_FORMATS)

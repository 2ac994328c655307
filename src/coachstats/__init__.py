"""coachstats: analysis of randomized health-coaching trials in primary care.

Load patient-level data, derive the published endpoints, compare arms with
methods checked against R, and reproduce the San Francisco HCPC and
peer-coaching trials.

Examples
--------
>>> import coachstats
>>> coachstats.format_p(0.017)
'.02'
"""

from __future__ import annotations

from coachstats.endpoints import derive_endpoints
from coachstats.errors import (
    AnalysisError,
    CoachstatsError,
    ColumnNotFoundError,
    FileFormatError,
    OptionError,
    SchemaError,
    UnitError,
)
from coachstats.flow import Flow
from coachstats.goals import HCPC_GOALS, PEER_GOALS, GoalSet, Threshold
from coachstats.io import load_trial
from coachstats.results import ComparisonResult, format_p, tidy
from coachstats.trialdata import TrialData

__version__ = "0.1.0"

__all__ = [
    "HCPC_GOALS",
    "PEER_GOALS",
    "AnalysisError",
    "CoachstatsError",
    "ColumnNotFoundError",
    "ComparisonResult",
    "FileFormatError",
    "Flow",
    "GoalSet",
    "OptionError",
    "SchemaError",
    "Threshold",
    "TrialData",
    "UnitError",
    "__version__",
    "derive_endpoints",
    "format_p",
    "load_trial",
    "tidy",
]

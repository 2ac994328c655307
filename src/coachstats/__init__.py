"""coachstats: analysis of randomized health-coaching trials in primary care.

Load patient-level data, derive the published endpoints, compare arms with
methods checked against R, and reproduce the San Francisco HCPC and
peer-coaching trials.

Examples
--------
>>> import coachstats
>>> coachstats.format_p(0.017)
'.02'

The task modules load on first use, so ``import coachstats`` stays fast:
``coachstats.evaluate`` (:func:`coachstats.evaluate.evaluate`,
:func:`coachstats.evaluate.analyze`), ``coachstats.reproduce``,
``coachstats.compare``, ``coachstats.plots``, ``coachstats.report``, ... and
:func:`load_program` (:mod:`coachstats.programdata`).

>>> coachstats.load_program.__module__
'coachstats.programdata'
>>> coachstats.evaluate.evaluate.__name__
'evaluate'
"""

from __future__ import annotations

from typing import Any

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

#: Submodules loaded on first attribute access (``coachstats.evaluate.evaluate(...)``).
_LAZY_MODULES = frozenset(
    {
        "adherence",
        "analysis",
        "compare",
        "dask_support",
        "evaluate",
        "metaanalysis",
        "onesample",
        "outputs",
        "plots",
        "power",
        "programdata",
        "programs",
        "questionnaires",
        "report",
        "reproduce",
        "scales",
        "stream",
        "synthetic",
        "table1",
        "tables",
        "tracking",
        "trials",
        "units",
    }
)
#: Functions of those modules offered at the top level, loaded on first use.
_LAZY_FUNCTIONS = {"load_program": "programdata"}


def __getattr__(name: str) -> Any:
    """Load a task module (or a function of one) on first use: PEP 562."""
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"coachstats.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(f"coachstats.{_LAZY_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module 'coachstats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_FUNCTIONS))


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
    "load_program",
    "load_trial",
    "tidy",
]

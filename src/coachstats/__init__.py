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
``coachstats.tasks.evaluate`` (:func:`coachstats.tasks.evaluate.evaluate`,
:func:`coachstats.tasks.evaluate.analyze`), ``coachstats.tasks.reproduce``,
``coachstats.compare``, ``coachstats.present.plots``, ``coachstats.present.report``, ... and
:func:`load_program` (:mod:`coachstats.data.programdata`).

>>> coachstats.load_program.__module__
'coachstats.data.programdata'
>>> coachstats.tasks.evaluate.evaluate.__name__
'evaluate'
"""

from __future__ import annotations

from typing import Any

from coachstats import compat
from coachstats.core import frames
from coachstats.core.errors import (
    AnalysisError,
    CoachstatsError,
    ColumnNotFoundError,
    FileFormatError,
    OptionError,
    SchemaError,
    UnitError,
)
from coachstats.core.goals import DBP_GOAL, HCPC_GOALS, PEER_GOALS, GoalSet, Threshold
from coachstats.core.results import ComparisonResult, format_p, tidy
from coachstats.data.flow import Flow
from coachstats.data.io import load_trial
from coachstats.data.trialdata import TrialData
from coachstats.derive.endpoints import derive_endpoints

__version__ = "0.1.0"

compat.install()
#: Dask DataFrames run through the streamed engine (only imported when one is analysed).
frames.register_engine(("dask", "dask_expr"), "coachstats.engines.stream:compare_frame")

#: Packages and moved module names loaded on first attribute access (``coachstats.evaluate.evaluate(...)``).
_LAZY_MODULES = frozenset(
    {
        "cli",
        "compare",
        "core",
        "data",
        "derive",
        "engines",
        "plan",
        "present",
        "synthetic",
        "tasks",
        "trials",
        *compat.MOVED,
    }
)
#: Functions of those modules offered at the top level, loaded on first use.
_LAZY_FUNCTIONS = {"load_program": "data.programdata"}


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
    "DBP_GOAL",
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

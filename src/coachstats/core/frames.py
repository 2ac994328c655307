"""Data frames other than pandas: which engine runs a comparison on them.

The comparisons of :mod:`coachstats.compare` compute on pandas DataFrames.
A frame of another library (a Dask DataFrame) is handed to an *engine*
registered here by the top-level name of the module its type comes from and
the dotted path of a function ``engine(method, data, outcome, *args, **options)``.
The registry holds names only, so :mod:`coachstats.compare` depends on no
engine; ``import coachstats`` registers the built-in Dask engine
(:func:`coachstats.engines.stream.compare_frame`), and other packages can
register theirs.

Examples
--------
>>> import pandas as pd
>>> engine_for(pd.DataFrame()) is None
True
>>> frame_library(pd.DataFrame())
'pandas'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["engine_for", "frame_library", "register_engine"]

_ENGINES: dict[str, str] = {}


def frame_library(data: object) -> str:
    """The top-level package a frame's type comes from (``"dask"``, ``"pandas"``...)."""
    return type(data).__module__.split(".")[0]


def register_engine(libraries: Iterable[str], target: str) -> None:
    """Run comparisons on frames of ``libraries`` with ``target`` (``"package.module:function"``)."""
    module, _, function = target.partition(":")
    if not module or not function:
        raise ValueError(f"engine target must be 'module:function', got {target!r}")
    for name in libraries:
        _ENGINES[name] = target


def engine_for(data: object) -> Callable[..., Any] | None:
    """The engine registered for ``data``'s frame library, imported on first use; else None."""
    target = _ENGINES.get(frame_library(data))
    if target is None or not hasattr(data, "columns"):
        return None
    module, _, function = target.partition(":")
    engine: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return engine

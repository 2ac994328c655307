"""Stable import paths for the modules that moved into the stage packages.

The code is grouped by pipeline stage (``core``, ``data``, ``derive``,
``compare``, ``plan``, ``engines``, ``trials``, ``tasks``, ``present``; see
docs/architecture.md). The flat module names that README, docs, notebooks and
users' code import keep working: ``import coachstats.analysis`` gives the very
module object of :mod:`coachstats.plan`, not a copy, so identities, isinstance
checks and monkeypatching behave as on the new path. :data:`MOVED` is the one
table of these names; :func:`install` (called by ``import coachstats``) puts
its finder on :data:`sys.meta_path`. Nothing is imported until a moved name is
used, so ``import coachstats`` stays fast.

Examples
--------
>>> import coachstats.analysis, coachstats.plan
>>> coachstats.analysis is coachstats.plan
True
>>> from coachstats.plots.consort import consort_boxes
>>> consort_boxes.__module__
'coachstats.present.plots.consort'
>>> new_name("coachstats.plots.consort")
'coachstats.present.plots.consort'
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType, ModuleType

__all__ = ["MOVED", "install", "new_name"]

#: Old module name (below ``coachstats.``) -> where it lives now. A moved
#: package carries its submodules along (``plots.style`` -> ``present.plots.style``).
MOVED: Mapping[str, str] = MappingProxyType(
    {
        "errors": "core.errors",
        "results": "core.results",
        "goals": "core.goals",
        "units": "core.units",
        "io": "data.io",
        "readers": "data.readers",
        "parsing": "data.parsing",
        "schema": "data.schema",
        "flow": "data.flow",
        "outputs": "data.outputs",
        "trialdata": "data.trialdata",
        "programdata": "data.programdata",
        "endpoints": "derive.endpoints",
        "adherence": "derive.adherence",
        "scales": "derive.scales",
        "metaanalysis": "compare.meta",
        "onesample": "compare.onesample",
        "analysis": "plan",
        "stream": "engines.stream",
        "dask_support": "engines.dask",
        "reproduce": "tasks.reproduce",
        "evaluate": "tasks.evaluate",
        "power": "tasks.power",
        "questionnaires": "tasks.questionnaires",
        "tracking": "tasks.tracking",
        "programs": "synthetic.programs",
        "plots": "present.plots",
        "report": "present.report",
        "tables": "present.tables",
        "table1": "present.table1",
    }
)
_PREFIX = "coachstats."


def new_name(fullname: str) -> str | None:
    """The current name of a moved module (or of a module inside a moved package), else None.

    Examples
    --------
    >>> new_name("coachstats.evaluate"), new_name("coachstats.compare.models")
    ('coachstats.tasks.evaluate', None)
    """
    if not fullname.startswith(_PREFIX):
        return None
    rest = fullname[len(_PREFIX) :]
    head, _, tail = rest.partition(".")
    if head not in MOVED:
        return None
    return _PREFIX + MOVED[head] + ("." + tail if tail else "")


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old name to the module object already imported under its new name."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        target_name = new_name(fullname)
        if target_name is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=target_name)

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(str(spec.origin))
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the import system stamped the alias's spec on the real module: put its own back
        for alias, spec in list(self._specs.items()):
            if spec is not None and spec.name == module.__name__:
                module.__spec__ = spec
                del self._specs[alias]


_FINDER = _MovedModuleFinder()


def install() -> None:
    """Put the finder of the old names first on :data:`sys.meta_path` (idempotent)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)

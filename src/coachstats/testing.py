"""pytest plugin: the versioned coachstats fixtures in your own tests.

Installed with coachstats (entry point ``pytest11``, name
``coachstats.testing``), so in any project where coachstats is installed the
fixtures below are available without a ``conftest.py``:

.. code-block:: python

    from coachstats.testing import assert_matches_published

    def test_my_pipeline_reproduces_hcpc(hcpc_cohort):
        results = my_pipeline(hcpc_cohort.patients)    # the raw CSV as a DataFrame
        assert_matches_published(results, trial="hcpc")

Fixtures
--------
``coachstats_fixtures`` (session)
    The fixtures of every registered trial written once per test session by
    :func:`coachstats.tasks.fixtures.write_fixtures` into a temporary
    directory: ``.directory``, ``.files``, ``.manifest``, ``.version``.
``hcpc_cohort``, ``peer_cohort``
    A :class:`Cohort`: ``.patients`` (a fresh DataFrame of the CSV on each
    access), ``.table("medications")``, ``.path("patients")`` or
    ``.path("patients", "parquet")`` (file paths, for a pipeline that reads
    files), ``.paths``, ``.directory``, ``.manifest`` and ``.fixture_version``.

``assert_matches_published(results, trial=..., only=...)`` raises ``AssertionError`` with a readable
diff (each failing target with expected, got and the tolerance's reason);
it takes the results format of ``coachstats check`` (docs/ci.md).

Turn the plugin off with ``pytest -p no:coachstats.testing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pandas as pd

    from coachstats.tasks.fixtures import FixtureSet

__all__ = [
    "Cohort",
    "coachstats_fixtures",
    "hcpc_cohort",
    "peer_cohort",
]


@lru_cache(maxsize=16)
def _read_csv(path: str) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(path)


@dataclass(frozen=True)
class Cohort:
    """One bundled cohort as written by ``coachstats fixtures``: its files, tables and manifest."""

    name: str
    directory: Path
    manifest: Mapping[str, Any]

    @property
    def fixture_version(self) -> str:
        """The fixture version of the files."""
        return str(self.manifest["fixture_version"])

    @property
    def paths(self) -> dict[str, Path]:
        """Table name -> CSV path (``patients``, and e.g. ``medications`` for HCPC)."""
        return {
            f["table"]: self.directory / f["path"]
            for f in self.manifest["files"]
            if f["cohort"] == self.name and f["format"] == "csv"
        }

    def path(self, table: str = "patients", fmt: str = "csv") -> Path:
        """The file of one table, as CSV or Parquet."""
        for f in self.manifest["files"]:
            if f["cohort"] == self.name and f["table"] == table and f["format"] == fmt:
                return self.directory / f["path"]
        tables = sorted({f["table"] for f in self.manifest["files"] if f["cohort"] == self.name})
        raise KeyError(f"cohort {self.name!r} has no {fmt} table {table!r}; tables: {tables}")

    def table(self, name: str = "patients") -> pd.DataFrame:
        """One table read from its CSV with ``pandas.read_csv`` (a fresh copy each call)."""
        return _read_csv(str(self.path(name))).copy()

    @property
    def patients(self) -> pd.DataFrame:
        """The patient table (a fresh copy each access, so a test may modify it)."""
        return self.table("patients")


@pytest.fixture(scope="session")
def coachstats_fixtures(tmp_path_factory: pytest.TempPathFactory) -> FixtureSet:
    """Every trial's fixtures and ``manifest.json``, written once per session."""
    from coachstats.tasks.fixtures import write_fixtures

    return write_fixtures(tmp_path_factory.mktemp("coachstats_fixtures"))


@pytest.fixture
def hcpc_cohort(coachstats_fixtures: FixtureSet) -> Cohort:
    """The HCPC cohort: ``.patients`` (DataFrame), ``.path("patients")`` (file), ``.manifest``."""
    return Cohort("hcpc", coachstats_fixtures.directory, coachstats_fixtures.manifest)


@pytest.fixture
def peer_cohort(coachstats_fixtures: FixtureSet) -> Cohort:
    """The peer-trial cohort: ``.patients`` (DataFrame), ``.path("patients")`` (file), ``.manifest``."""
    return Cohort("peer", coachstats_fixtures.directory, coachstats_fixtures.manifest)


def __getattr__(name: str) -> Any:
    """``assert_matches_published`` (:func:`coachstats.tasks.check.assert_matches_published`), loaded on first use.

    The plugin loads with every pytest run of a project that has coachstats
    installed, so the checking machinery is imported only when a test uses it.
    """
    if name == "assert_matches_published":
        from coachstats.tasks.check import assert_matches_published

        return assert_matches_published
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The pytest plugin ``coachstats.testing`` (issue 24) in a fresh project.

A temporary project with only a test file (no conftest, no configuration) is
run by a separate pytest process: the fixtures ``hcpc_cohort`` and
``peer_cohort`` give DataFrames and file paths, ``assert_matches_published``
passes on right figures and fails with a readable diff on wrong ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROJECT_TESTS = """
import pandas as pd
import pytest

from coachstats.testing import Cohort, assert_matches_published


def test_cohorts_as_frames_and_paths(hcpc_cohort: Cohort, peer_cohort: Cohort) -> None:
    assert isinstance(hcpc_cohort.patients, pd.DataFrame) and len(hcpc_cohort.patients) == 441
    assert len(peer_cohort.patients) == 299
    assert hcpc_cohort.path("patients").name == "hcpc_patients.csv"
    assert pd.read_parquet(hcpc_cohort.path("patients", "parquet")).shape[0] == 441
    assert set(hcpc_cohort.paths) >= {"patients", "medications", "adherent_days"}
    assert hcpc_cohort.fixture_version == peer_cohort.fixture_version == "2"
    frame = hcpc_cohort.patients
    frame["arm"] = "changed"
    assert (hcpc_cohort.patients["arm"] != "changed").all()  # each access is a fresh copy


def test_right_figures_pass(peer_cohort: Cohort) -> None:
    df = peer_cohort.patients
    results = pd.DataFrame(
        {
            "target": ["peer.randomized.coaching", "peer.randomized.usual_care", "peer.clinics"],
            "estimate": [(df.arm == "coaching").sum(), (df.arm == "usual_care").sum(), df.site.nunique()],
        }
    )
    report = assert_matches_published(results, trial="peer", only=["peer.randomized.*", "peer.clinics"])
    assert report.ok


def test_wrong_figures_fail_readably(hcpc_cohort: Cohort) -> None:
    df = hcpc_cohort.patients
    assert_matches_published(
        {"hcpc.randomized.coaching": int((df.arm == "coaching").sum()) - 1, "hcpc.female": 0.553},
        trial="hcpc",
        only=["hcpc.randomized.coaching", "hcpc.female"],
    )
"""


def run_project(tmp_path: Path, *plugin_args: str) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_pipeline.py").write_text(textwrap.dedent(PROJECT_TESTS), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin_args, "."]
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)


def test_fixtures_and_assertion_in_a_fresh_project(tmp_path: Path) -> None:
    # `-p coachstats.testing` is the plugin the entry point registers (same name), so this runs
    # the same whether or not this environment's coachstats was installed with the entry point
    proc = run_project(tmp_path, "-p", "coachstats.testing")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # exactly the deliberately wrong test fails
    assert "2 passed" in out and "1 failed" in out and "test_wrong_figures_fail_readably" in out
    assert "2 of 2 targets do not match (fixture version 2):" in out
    assert "estimate: expected exactly 224, got 223 [a count: exact]" in out
    assert "this looks like a proportion: give percentages (0-100)" in out


def test_entry_point_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    plugins = project["project"]["entry-points"]["pytest11"]
    assert plugins == {"coachstats.testing": "coachstats.testing"}


def test_entry_point_is_registered_when_installed(tmp_path: Path) -> None:
    """With coachstats installed from this tree (CI: pip install -e .), pytest finds the plugin."""
    found = [
        ep for ep in metadata.entry_points(group="pytest11") if ep.value == "coachstats.testing"
    ]
    if not found:
        if os.environ.get("CI"):
            pytest.fail("the pytest11 entry point of coachstats is not installed")
        pytest.skip("this environment's coachstats was installed before the entry point existed")
    proc = run_project(tmp_path)  # no -p: the entry point loads the plugin
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "2 passed" in out and "1 failed" in out, out

"""Results carry what made them, and the pipeline uses it (issue 16).

``coachstats analyze --goals peer --report`` resolves the goal set by name
once and reads the file once: the report takes the data, goal set and flow
from the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core import goals as goals_module
from coachstats.core.goals import PEER_GOALS, GoalSet
from coachstats.core.paths import bundled_table
from coachstats.data import io as data_io
from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan
from coachstats.tasks.evaluate import analyze
from coachstats.tasks.reproduce import reproduce


class _Counting(Mapping[str, GoalSet]):
    """The goal-set registry, recording each lookup by name."""

    def __init__(self, inner: Mapping[str, GoalSet]) -> None:
        self.inner = inner
        self.names: list[str] = []

    def __getitem__(self, name: str) -> GoalSet:
        self.names.append(name)
        return self.inner[name]

    def __contains__(self, name: object) -> bool:  # a membership test is not a lookup
        return name in self.inner

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


def test_analyze_report_resolves_the_goal_set_once_and_reads_the_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _Counting(goals_module.GOAL_SETS)
    monkeypatch.setattr(goals_module, "GOAL_SETS", registry)
    reads: list[Any] = []
    real_read = data_io.read_table

    def counting_read(path: Any, **kwargs: Any) -> Any:
        reads.append(path)
        return real_read(path, **kwargs)

    monkeypatch.setattr(data_io, "read_table", counting_read)
    source = bundled_table("hcpc_patients")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["analyze", str(source), "--goals", "peer", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and "CONSORT" in out.read_text(encoding="utf-8")
    assert registry.names == ["peer"]
    assert reads == [source]


def test_results_carry_plan_goals_flow_and_source() -> None:
    res = analyze(str(bundled_table("hcpc_patients")), goals="hcpc")
    plan_result = res.plan
    assert plan_result.plan is not None and plan_result.goals is res.goals
    assert plan_result.flow is res.flow and plan_result.flow is not None
    assert plan_result.source is not None and plan_result.source.sha256
    assert plan_result.source.path.endswith("hcpc_patients.csv")
    assert res.data is not None and plan_result.source == res.data.data_source
    # the flow in the JSON is structured, and adds up
    flow = res.to_dict()["flow"]
    counts = flow["endpoints"]["composite_any"]["coaching"]
    assert (
        counts["allocated"]
        == counts["lost"] + sum(counts["excluded"].values()) + counts["analysed"]
    )
    # the endpoint table the flow came from is the one the tracking metrics used
    assert plan_result.endpoints is not None and len(plan_result.endpoints) == res.data.n


def test_reproduce_loads_each_cohort_once_and_keeps_it() -> None:
    r = reproduce(["hcpc", "hcpc_24"])
    assert set(r.data) == {"hcpc"}
    td = r.data["hcpc"]
    for name in ("hcpc", "hcpc_24"):
        assert r.plan_results[name].source == td.data_source
        assert r.plan_results[name].flow is not None


def test_a_renamed_goal_set_keeps_its_own_endpoints_in_the_plan_result() -> None:
    from dataclasses import replace

    import pandas as pd

    mine = replace(PEER_GOALS, name="hcpc")  # a peer copy carrying another set's name
    df = pd.DataFrame(
        {
            "arm": ["coaching", "usual_care"] * 3,
            "hba1c_0": [8.0, 8.5, 9.0, 8.0, 8.2, 9.9],
            "hba1c_6": [7.9, 8.4, 8.6, 9.0, 7.0, 9.3],
        }
    )
    res = run_plan(
        df,
        AnalysisPlan(
            [AnalysisSpec("at_goal_hba1c", "describe", options={"stat": "n"})], goals=mine
        ),
    )
    assert res.goals is mine
    # peer: uncontrolled is >= 8.0, so all six are eligible (HCPC's > 8.0 would leave out two)
    assert res[0].n == 6 and res[0].n_excluded == 0

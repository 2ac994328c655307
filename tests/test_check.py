"""``coachstats check`` (issue 24): another pipeline's results against the fixtures' known answers.

The independent pipeline is ``examples/hcpc_pipeline.py`` (pandas and
statsmodels only): it must pass, and fail with a JUnit report listing the
failure once one of its figures is perturbed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pandas as pd
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.errors import FixtureError, SchemaError
from coachstats.tasks.check import check_results, read_results
from coachstats.tasks.fixtures import write_fixtures
from coachstats.tasks.schemas import schema

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hcpc_pipeline.py"


@pytest.fixture(scope="module")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixtures(tmp_path_factory.mktemp("fixtures"), "hcpc").directory


@pytest.fixture(scope="module")
def example_results(fixtures_dir: Path) -> Path:
    """The example pipeline's results, run as a user would (its own process)."""
    out = fixtures_dir.parent / "example_results.csv"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), str(fixtures_dir), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def junit_cases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {c.get("name", ""): c for c in root.iter("testcase")}


def test_example_pipeline_is_independent_of_coachstats() -> None:
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    imported = {
        (n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    assert imported <= {"__future__", "sys", "pathlib", "numpy", "pandas", "statsmodels"}


def test_example_pipeline_passes(example_results: Path, tmp_path: Path) -> None:
    junit = tmp_path / "check.xml"
    res = runner.invoke(
        app, ["check", str(example_results), "--against", "hcpc", "--junit", str(junit)]
    )
    assert res.exit_code == 0, res.output
    assert "42 pass, 0 fail, 0 missing, 0 unknown" in res.output and "\nOK\n" in res.output
    cases = junit_cases(junit)
    assert len(cases) == 42 and "hcpc.composite_any.coaching" in cases
    assert not any(c.find("failure") is not None for c in cases.values())


def test_a_perturbed_result_fails_with_junit(example_results: Path, tmp_path: Path) -> None:
    table = pd.read_csv(example_results)
    at = table["target"] == "hcpc.hba1c_goal.coaching"
    table.loc[at, "estimate"] = 48.8  # printed 48.6 %
    table = table[table["target"] != "hcpc.composite_all"]  # missing
    bad = tmp_path / "perturbed.csv"
    table.to_csv(bad, index=False)
    junit = tmp_path / "check.xml"
    res = runner.invoke(app, ["check", str(bad), "--against", "hcpc", "--junit", str(junit)])
    assert res.exit_code == 1, res.output
    assert "estimate: expected 48.6 (48.55 to 48.65), got 48.8" in res.output
    assert "hcpc.composite_all (All clinical goals: Health coaching vs usual care): missing" in (
        res.output
    )
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("42", "2")
    cases = junit_cases(junit)
    failure = cases["hcpc.hba1c_goal.coaching"].find("failure")
    assert failure is not None and failure.get("type") == "mismatch"
    assert "48.55 to 48.65" in failure.get("message", "")
    missing = cases["hcpc.composite_all"].find("failure")
    assert missing is not None and missing.get("type") == "missing"


def test_json_report_validates_and_lists_the_failure(example_results: Path, tmp_path: Path) -> None:
    table = pd.read_csv(example_results)
    table.loc[table["target"] == "hcpc.composite_any", "p"] = 0.03
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    res = runner.invoke(app, ["check", str(bad), "--against", "hcpc", "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    jsonschema.validate(doc, schema("check"), cls=jsonschema.Draft202012Validator)
    assert doc["ok"] is False and doc["counts"]["fail"] == 1
    (row,) = [t for t in doc["targets"] if t["status"] == "fail"]
    (field,) = [f for f in row["fields"] if f["status"] == "fail"]
    assert row["id"] == "hcpc.composite_any" and field["field"] == "p"
    assert field["expected"]["low"] == 0.015 and field["got"] == 0.03


def test_unknown_ids_outside_selection_and_suggestions() -> None:
    rows = [
        {"target": "hcpc.composit_any", "estimate": 1.0},  # typo: unknown, fails
        {"target": "peer.clinics", "estimate": 6},  # another trial: outside, not failing
        {"target": "hcpc.randomized.coaching", "estimate": 224},
        {"target": "hcpc.randomized.usual_care", "estimate": 217},
    ]
    report = check_results(rows, "hcpc", only=["hcpc.randomized.*"])
    assert report.counts() == {
        "pass": 2,
        "fail": 0,
        "missing": 0,
        "unknown": 1,
        "outside selection": 1,
    }
    assert not report.ok
    assert "unknown target 'hcpc.composit_any': did you mean 'hcpc.composite_any'" in (
        report.summary()
    )
    assert check_results(rows[1:], "hcpc", only=["hcpc.randomized.*"]).ok


def test_fields_tolerances_and_hints() -> None:
    only = [
        "hcpc.composite_any*",
        "hcpc_pacic.pacic_12",
        "hcpc.sbp_goal",
        "hcpc_trust.trust_change",
    ]

    def run(**rows: dict[str, float]) -> dict[str, str]:
        base = {
            "hcpc.composite_any.coaching": {"estimate": 46.35, "n": 194},  # at the interval's end
            "hcpc.composite_any.usual_care": {"estimate": 34.3},
            "hcpc.composite_any": {"estimate": 12.1, "p": 0.0171},
            "hcpc_pacic.pacic_12": {"estimate": 0.7, "p": 0.0009},
            "hcpc.sbp_goal": {"estimate": 4.3, "p": 0.5},
            "hcpc_trust.trust_change": {"estimate": 2.4, "p": 0.047},
        }
        base.update(rows)
        report = check_results(base, "all", only=only)
        return {c.target.id: c.status for c in report.checks} | {"": report.summary()}

    assert set(run().values()) - {run()[""]} == {"pass", "not checked"}
    assert run()["hcpc_trust.trust_change"] == "not checked"  # its printed P is unreachable
    out = run(**{"hcpc.composite_any.coaching": {"estimate": 0.464, "n": 194}})
    assert out["hcpc.composite_any.coaching"] == "fail"
    assert "this looks like a proportion: give percentages (0-100)" in out[""]
    out = run(**{"hcpc.composite_any.coaching": {"estimate": 46.4, "n": 193}})
    assert "n: expected exactly 194, got 193" in out[""]
    assert run(**{"hcpc_pacic.pacic_12": {"p": 0.0011}})["hcpc_pacic.pacic_12"] == "fail"
    assert run(**{"hcpc.sbp_goal": {"p": 0.049}})["hcpc.sbp_goal"] == "fail"
    out = run(**{"hcpc.composite_any": {"estimate": 12.1}})  # P required where one is printed
    assert out["hcpc.composite_any"] == "fail" and "p: not given" in out[""]
    out = run(
        **{"hcpc.composite_any": {"estimate": 12.1, "conf_low": 13, "conf_high": 20, "p": 0.017}}
    )
    assert (
        out["hcpc.composite_any"] == "fail" and "must be two limits around the estimate" in out[""]
    )


def test_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,estimate,p_value\nhcpc.age,52.7,\nhcpc.age,abc,0.2\n", encoding="utf-8")
    res = runner.invoke(app, ["check", str(bad)])
    assert res.exit_code == 2
    for text in ("column 'id'", "rename it to 'target'", "rename it to 'p'", "not a number"):
        assert text in res.output
    dup = tmp_path / "dup.csv"
    dup.write_text("target,estimate,p\nhcpc.age,52.7,\nhcpc.age,52.7,1.5\n", encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        read_results(dup)
    assert "duplicated target id [rows: 1, 2]" in str(err.value)
    assert "P value outside 0 to 1 [rows: 2]" in str(err.value)
    assert runner.invoke(app, ["check", str(tmp_path / "none.csv")]).exit_code == 2
    res = runner.invoke(app, ["check", str(dup), "--against", "hcpc3"])
    assert res.exit_code == 2 and "choose all or one of hcpc" in res.output
    res = runner.invoke(app, ["check", str(dup), "--junit", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and "--junit" in res.output


def test_results_json_and_a_pinned_manifest(fixtures_dir: Path, tmp_path: Path) -> None:
    doc = {
        "fixture_version": "2",
        "pipeline": "test",
        "results": [{"target": "hcpc.randomized.coaching", "estimate": 224, "n": None}],
    }
    jsonschema.validate(doc, schema("results"), cls=jsonschema.Draft202012Validator)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    manifest = fixtures_dir / "manifest.json"
    args = ["check", str(path), "--manifest", str(manifest), "--only", "hcpc.randomized.coaching"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert f"expected values from {manifest}" in res.output
    res = runner.invoke(app, [*args, "--against", "peer"])  # the manifest has only hcpc
    assert res.exit_code == 2 and "no such trial" in res.output
    doc["fixture_version"] = "0"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(FixtureError, match="computed on fixture version 0"):
        check_results(path)
    assert runner.invoke(app, args).exit_code == 2


def test_an_only_pattern_that_matches_no_target_exits_2(example_results: Path) -> None:
    # a typo in --only used to check nothing and print OK with exit 0: a green CI build
    res = runner.invoke(
        app,
        [
            "check",
            str(example_results),
            "--against",
            "hcpc",
            "--only",
            "hcpc.composite_*",
            "--only",
            "hcpc.compsite_any",
            "--only",
            "zzz*",
        ],
    )
    assert res.exit_code == 2, res.output
    assert "--only: 2 pattern(s) match no target of hcpc" in res.output
    assert "'hcpc.compsite_any' (did you mean 'hcpc.composite_any'" in res.output
    assert "'zzz*'" in res.output and "'hcpc.composite_*'" not in res.output
    # a pattern of a trial outside --against matches nothing of the selection either
    res = runner.invoke(
        app, ["check", str(example_results), "--against", "peer", "--only", "hcpc.*"]
    )
    assert res.exit_code == 2 and "match no target of peer" in res.output
    ok = runner.invoke(
        app, ["check", str(example_results), "--against", "hcpc", "--only", "hcpc.composite_*"]
    )
    assert ok.exit_code == 0 and "OK" in ok.output

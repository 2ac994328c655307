"""Every JSON output validates against its published schema (issue 24).

The schemas live in ``coachstats/tasks/schemas`` and carry their version; the
outputs of ``reproduce``, ``analyze`` and ``evaluate`` are generated here and
validated (``check`` and the fixture manifest in test_check.py and
test_fixtures.py). A change of an output that its schema does not allow fails
here: update the schema and its version as docs/schemas.md says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.programs import single_arm_program
from coachstats.synthetic import hcpc_cohort
from coachstats.tasks.schemas import SCHEMAS, schema, schema_version, stamp

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs" / "schemas.md"
KEEP = ["patient_id", "arm", "site", "coach_id", "diabetes", "age", "sex", "bmi_0", "pcp_visits",
        "coach_contacts", "hba1c_0", "hba1c_12", "sbp_0", "sbp_12", "ldl_0", "ldl_12"]  # fmt: skip


def validate(doc: object, name: str) -> None:
    jsonschema.validate(doc, schema(name), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_and_versioned(name: str) -> None:
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$id"].endswith(f"/{name}.schema.json")
    assert re.fullmatch(r"\d+\.\d+", schema_version(name))
    assert stamp(name, {})["schema_version"] == schema_version(name)


def test_docs_list_every_schema_and_its_version() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in SCHEMAS:
        assert f"| `{name}.schema.json` | {schema_version(name)} |" in text, name


def test_a_wrong_version_or_a_missing_field_is_rejected() -> None:
    doc = {"schema_version": "0.9", "ok": True}
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, "check")


@pytest.mark.parametrize("args", [["hcpc_24"], ["hcpc", "--sensitivity"]])
def test_reproduce_json(args: list[str]) -> None:
    res = runner.invoke(app, ["reproduce", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output[res.output.index("{") :])
    validate(doc, "reproduce")
    assert doc["ok"] is True and doc["targets"]
    assert (doc["sensitivity"] is None) == ("--sensitivity" not in args)


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("programs")
    cohort = hcpc_cohort(n=800, seed=11).patients[KEEP]
    two, single = d / "two.csv", d / "single.csv"
    cohort.to_csv(two, index=False)
    mix = single_arm_program(cohort, usual_care_share=0.5, seed=2).drop(columns="arm")
    mix.to_csv(single, index=False)
    return {"two": two, "single": single}


@pytest.mark.parametrize("design", ["two", "single"])
def test_analyze_and_evaluate_json(programs: dict[str, Path], tmp_path: Path, design: str) -> None:
    extra = ["--single-arm"] if design == "single" else []
    out = tmp_path / "analyze.json"
    res = runner.invoke(app, ["analyze", str(programs[design]), *extra, "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    validate(doc, "analyze")
    assert doc["design"] == ("two-arm" if design == "two" else "single-arm")
    out = tmp_path / "evaluate.json"
    res = runner.invoke(
        app, ["evaluate", str(programs[design]), *extra, "--against", "all", "--out", str(out)]
    )
    assert res.exit_code in (0, 1), res.output  # 1: an outcome differs (a finding, not an error)
    doc = json.loads(out.read_text())
    validate(doc, "evaluate")
    assert doc["outcomes"] and isinstance(pd.DataFrame(doc["outcomes"]), pd.DataFrame)

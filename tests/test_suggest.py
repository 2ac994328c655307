"""Columns that look like a missing one are named with the fix (a messy export, end to end)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.paths import bundled_table
from coachstats.data.suggest import arm_candidates, id_candidates, measure_candidates


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """An EHR export: MRN, Group (Intervention/Control), HbA1c as 'A1C baseline' / 'A1C 12m'."""
    df = pd.read_csv(bundled_table("hcpc_patients")).head(120)
    df = df.drop(columns=["hba1c_24"]).rename(
        columns={
            "patient_id": "MRN",
            "arm": "Group",
            "hba1c_0": "A1C baseline",
            "hba1c_12": "A1C 12m",
        }
    )
    df["Group"] = df["Group"].map({"coaching": "Intervention", "usual_care": "Control"})
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False)
    return path


def test_missing_id_and_arm_name_the_columns_to_map(export: Path) -> None:
    code, text = run("analyze", str(export))
    assert code == 2, text
    assert (
        "column 'MRN' looks like it (120 distinct values in 120 rows): --map patient_id=MRN" in text
    )
    assert "column 'Group' looks like it (2 values: 'Control', 'Intervention')" in text
    assert "--map arm=Group --arms Control=usual_care,Intervention=coaching" in text
    assert "columns found" not in text  # the hint replaces the list of every column


def test_the_printed_fix_works_and_unread_measures_are_named(export: Path) -> None:
    fix = (
        "--map",
        "patient_id=MRN,arm=Group",
        "--arms",
        "Control=usual_care,Intervention=coaching",
    )
    code, text = run("analyze", str(export), *fix)
    assert code == 0, text
    hint = 'e.g. --map "hba1c_0=A1C baseline,hba1c_12=A1C 12m"'
    assert "columns not read that look like HbA1c: 'A1C baseline', 'A1C 12m'" in text
    assert hint in text
    mapped = "patient_id=MRN,arm=Group,hba1c_0=A1C baseline,hba1c_12=A1C 12m"
    code, text = run("analyze", str(export), "--map", mapped, "--arms", fix[3])
    assert code == 0, text
    assert "columns not read" not in text
    assert "HbA1c at goal" in text


def test_a_file_with_the_schema_names_gets_no_hints() -> None:
    df = pd.read_csv(bundled_table("hcpc_patients")).head(50)
    assert measure_candidates(df) == [] and arm_candidates(df) == []
    assert id_candidates(df) == []  # patient_id is the schema's own column


@settings(max_examples=50, deadline=None)
@given(st.permutations(["MRN", "Group", "A1C baseline", "age", "site"]))
def test_hints_do_not_depend_on_column_order(order: list[str]) -> None:
    base = pd.DataFrame(
        {
            "MRN": ["a", "b", "c", "d"],
            "Group": ["HC", "UC", "HC", "UC"],
            "A1C baseline": [9.1, 8.4, 10.2, 9.9],
            "age": [50, 61, 47, 70],
            "site": ["A", "A", "B", "B"],
        }
    )
    df = base[order]
    assert arm_candidates(df) == [("Group", ["HC", "UC"])]
    assert id_candidates(df) == [("MRN", 4)]
    assert measure_candidates(df) == [("A1C baseline", "hba1c", 0)]

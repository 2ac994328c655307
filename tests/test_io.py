"""load_trial: formats, mapping, long data, blank rows, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coachstats.io as cio
from coachstats import HCPC_GOALS, load_trial
from coachstats.errors import FileFormatError, SchemaError
from tests.strategies import patient_tables


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4],
            "arm": ["coaching", "usual_care", "coaching", "usual_care"],
            "diabetes": [True, True, False, True],
            "hba1c_0": [9.5, 8.5, np.nan, 10.1],
            "hba1c_12": [7.5, 8.4, np.nan, np.nan],
            "sbp_0": [150.0, 135.0, 142.0, 128.0],
            "sbp_12": [128.0, 131.0, 139.0, np.nan],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".xlsx", ".dta", ".sav", ".xpt"])
def test_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    df = frame()
    path = tmp_path / f"trial{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        df.to_parquet(path)
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        out = df.assign(diabetes=df.diabetes.astype(int))
        writer = {
            ".dta": pyreadstat.write_dta,
            ".sav": pyreadstat.write_sav,
            ".xpt": pyreadstat.write_xport,
        }
        writer[suffix](out, str(path))
    td = load_trial(path)
    assert td.n == 4 and td.followup == 12 and td.sha256 is not None
    pd.testing.assert_series_equal(td.patients["hba1c_0"], df["hba1c_0"], check_names=False)
    assert td.patients["diabetes"].tolist() == [True, True, False, True]


def test_stata_value_labels(tmp_path: Path) -> None:
    path = tmp_path / "labelled.dta"
    df = frame().assign(arm=[1, 2, 1, 2], diabetes=[1, 1, 0, 1])
    pyreadstat.write_dta(
        df, str(path), variable_value_labels={"arm": {1: "Coaching", 2: "Usual care"}}
    )
    td = load_trial(path)
    assert td.patients["arm"].tolist() == ["coaching", "usual_care", "coaching", "usual_care"]


def test_sas7bdat_dispatches_to_pyreadstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pyreadstat cannot write sas7bdat, so check the dispatch with a stand-in reader.
    path = tmp_path / "trial.sas7bdat"
    path.write_bytes(b"not really sas")
    seen = {}

    def fake(p: str, **kw: object) -> tuple[pd.DataFrame, None]:
        seen["path"] = p
        return frame(), None

    monkeypatch.setattr(pyreadstat, "read_sas7bdat", fake)
    assert load_trial(path).n == 4 and seen["path"] == str(path)


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="not found"):
        load_trial(tmp_path / "nope.csv")
    p = tmp_path / "data.json"
    p.write_text("{}")
    with pytest.raises(FileFormatError, match="supported"):
        load_trial(p)
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 truncated")
    with pytest.raises(FileFormatError, match="cannot read"):
        load_trial(bad)


def test_column_mapping_and_case() -> None:
    raw = frame().rename(columns={"patient_id": "ID", "arm": "Group", "hba1c_0": "HbA1c_0"})
    td = load_trial(raw, columns={"ID": "patient_id", "Group": "arm"})
    assert "hba1c_0" in td.patients and td.n == 4
    with pytest.raises(SchemaError, match="did you mean") as info:
        load_trial(raw, columns={"Groop": "arm", "ID": "patient_id"})
    assert info.value.failures.iloc[0]["column"] == "Groop"


def test_long_data_pivots() -> None:
    wide = frame()
    long = wide.melt(id_vars=["patient_id", "arm", "diabetes"], var_name="col", value_name="value")
    long[["measure", "month"]] = long["col"].str.rsplit("_", n=1, expand=True)
    long = long.drop(columns="col").dropna(subset=["value"])
    td = load_trial(long.sample(frac=1, random_state=1))
    got = td.patients.set_index("patient_id").sort_index()
    for c in ("hba1c_0", "hba1c_12", "sbp_0", "sbp_12"):
        np.testing.assert_allclose(got[c].to_numpy(), wide.set_index("patient_id")[c].to_numpy())
    dup = pd.concat([long, long.iloc[[0]]])
    with pytest.raises(SchemaError, match="duplicate patient x month x measure"):
        load_trial(dup)


def test_blank_rows_skipped_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    text = frame().to_csv(index=False)
    lines = text.splitlines()
    path.write_text("\n".join([lines[0], lines[1], ",,,,,,", lines[2], lines[3], lines[4]]) + "\n")
    td = load_trial(path)
    assert td.n == 4 and any("1 blank row" in n for n in td.notes)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("patient_id,arm,hba1c_0\n")
    with pytest.raises(SchemaError, match="no rows"):
        load_trial(path)


def test_flow_from_load() -> None:
    td = load_trial(frame())
    assert td.flow.randomized == {"coaching": 2, "usual_care": 2}
    # patient 3 still has a 12-month SBP; patient 4 has no follow-up value at all
    assert td.flow.lost_to_followup == {"coaching": 0, "usual_care": 1}
    flow = td.flow_for(HCPC_GOALS)
    # 1 and 3 (coaching) and 2 (usual care) have follow-up on every uncontrolled condition
    assert flow.analysed("composite_any") == {"coaching": 2, "usual_care": 1}
    assert "TrialData(n=4" in repr(td)


@settings(max_examples=30, deadline=None)
@given(patient_tables(min_size=2), st.integers(0, 3))
def test_no_patient_lost_between_load_and_flow(df: pd.DataFrame, extra_blank: int) -> None:
    if df["arm"].nunique() < 2:
        df.loc[df.index[0], "arm"] = "usual_care" if df["arm"].iloc[0] == "coaching" else "coaching"
    blanks = pd.DataFrame(np.nan, index=range(extra_blank), columns=df.columns)
    td = load_trial(pd.concat([df, blanks], ignore_index=True))
    assert td.n == len(df)
    flow = td.flow_for(HCPC_GOALS)
    flow.check()
    assert flow.total == len(df)
    assert set(td.patients["patient_id"]) == set(df["patient_id"])


def test_formats_table_complete() -> None:
    assert set(cio.FORMATS.values()) == {
        "csv",
        "tsv",
        "parquet",
        "excel",
        "stata",
        "sas",
        "xport",
        "spss",
    }


def test_workbook_sheets_are_found_or_listed(tmp_path: Path) -> None:
    # a reviewer's case: an 'info' sheet first, and a mistyped --sheet, gave errors about columns
    path = tmp_path / "export.xlsx"
    patients = pd.DataFrame(
        {"patient_id": [1, 2], "arm": ["coaching", "usual_care"], "hba1c_0": [9.0, 8.5]}
    )
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"info": ["exported 2026-11-01"]}).to_excel(
            book, sheet_name="info", index=False
        )
        patients.to_excel(book, sheet_name="Patients", index=False)
    td = load_trial(path)
    assert td.n == 2
    assert any("read sheet 'Patients' of 'info', 'Patients'" in n for n in td.notes)
    assert load_trial(path, sheet="Patients").n == 2 and load_trial(path, sheet=1).n == 2
    for wrong in ("Patiens", 5):
        with pytest.raises(FileFormatError, match="its sheets: 'info', 'Patients'"):
            load_trial(path, sheet=wrong)


def test_empty_lines_are_counted_as_blank_rows(tmp_path: Path) -> None:
    # a reviewer's case: two blank lines, one of them bare, were reported as one
    path = tmp_path / "p.csv"
    path.write_text(
        "patient_id,arm,hba1c_0\n1,coaching,9.0\n\n2,usual_care,8.5\n,,\n3,coaching,9.9\n"
    )
    td = load_trial(path)
    assert td.n == 3 and "2 blank row(s) skipped" in td.notes

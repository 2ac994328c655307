"""Hostile real-world files (issue 23): nothing lost, nothing crashes, nothing silently changed.

Each kind of damage gets a file built by :mod:`tests.hostile`; the loader
must load it correctly (every record accounted for, with a note) or refuse
it with a ``CoachstatsError`` that names what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coachstats import HCPC_GOALS, load_trial
from coachstats.cli import app
from coachstats.core.paths import bundled_table
from coachstats.data.programdata import load_program, read_mapping
from coachstats.errors import FileFormatError, SchemaError
from tests import hostile

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output
    return res.exit_code, res.output


# --------------------------------------------------------------------------- patients vanish


def test_an_unbalanced_quote_that_swallows_rows_is_an_error_naming_the_lines(
    tmp_path: Path,
) -> None:
    path = hostile.unbalanced_quote(tmp_path / "quote.csv", n=40, opened=10, closed=14)
    with pytest.raises(FileFormatError, match="quote") as info:
        load_trial(path)
    # row 10 (0-based) is on line 12; its site cell runs to line 16
    assert "line 12 runs to line 16" in str(info.value) and "'site'" in str(info.value)
    code, text = cli("analyze", str(path))
    assert code == 2 and "quote" in text


def test_a_quote_never_closed_is_an_error(tmp_path: Path) -> None:
    rows = hostile.clean_rows(5)
    rows[2][2] = '"North'
    with pytest.raises(FileFormatError, match="never closed"):
        load_trial(hostile.write_rows(tmp_path / "open.csv", rows))


def test_line_breaks_inside_quotes_are_one_row_and_noted(tmp_path: Path) -> None:
    td = load_trial(hostile.quoted_line_breaks(tmp_path / "notes.csv", n=6))
    assert td.n == 6 and td.intake is not None and td.intake.records == 6
    assert any("1 row(s) hold line breaks inside quoted cells" in n for n in td.notes)


def test_every_record_is_counted_blank_rows_included(tmp_path: Path) -> None:
    rows = hostile.clean_rows(8)
    rows.insert(3, [""] * len(hostile.HEADER))
    td = load_trial(hostile.write_rows(tmp_path / "b.csv", rows))
    assert td.intake is not None
    assert (td.intake.records, td.intake.blank, td.intake.patients) == (9, 1, 8)
    assert td.flow.entered == 8


def test_long_rows_without_an_id_are_reported_with_their_lines(tmp_path: Path) -> None:
    long = hostile.long_rows(4)
    long.loc[5, "patient_id"] = None
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    with pytest.raises(SchemaError, match="without a patient id") as info:
        load_trial(path)
    assert info.value.failures.iloc[0]["rows"] == [7]  # row 5 is on line 7 (after the header)


def test_exclude_invalid_on_long_data_counts_patients(tmp_path: Path) -> None:
    long = hostile.long_rows(4)
    long.loc[long["patient_id"] == "P002", "value"] = ["99", "8.0", "150"]  # impossible HbA1c
    td = load_program(long, on_invalid="exclude")
    assert td.n == 3 and dict(td.flow.excluded_on_load) == {"invalid data": 1}
    assert any("1 patient(s) (3 rows of long data) excluded" in n for n in td.notes)
    assert td.intake is not None and td.intake.records == 12 and td.intake.patients == 4


# --------------------------------------------------------------------------- identifiers


def test_ids_and_site_codes_keep_their_exact_text(tmp_path: Path) -> None:
    td = load_trial(hostile.ids_as_text(tmp_path / "ids.csv"))
    assert td.patients["patient_id"].tolist() == ["007", "7", "1e3", "1000", "00001", "P1"]
    assert td.patients["site"].tolist() == ["01", "1", "01", "1", "001", "A"]
    out = tmp_path / "ep.csv"
    code, text = cli("endpoints", str(tmp_path / "ids.csv"), "--out", str(out))
    assert code == 0, text
    assert pd.read_csv(out, dtype=str)["patient_id"].tolist()[:5] == [
        "007",
        "7",
        "1e3",
        "1000",
        "00001",
    ]


def test_ids_that_differ_only_by_spaces_are_flagged(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="differ only by spaces") as info:
        load_trial(hostile.space_variant_ids(tmp_path / "sp.csv"))
    assert "'P1 '" in str(info.value)
    rows = hostile.clean_rows(4)
    rows[0][2], rows[1][2] = "North ", "North"
    with pytest.raises(SchemaError, match=r"site.*differ only by spaces"):
        load_trial(hostile.write_rows(tmp_path / "site.csv", rows))


def test_arm_and_site_are_never_numbers(tmp_path: Path) -> None:
    rows = hostile.clean_rows(4)
    for r, site in zip(rows, ["1", "2", "1", "2"], strict=True):
        r[2] = site
    td = load_trial(hostile.write_rows(tmp_path / "s.csv", rows), arms=None)
    assert td.patients["site"].tolist() == ["1", "2", "1", "2"]
    assert td.patients["patient_id"].map(type).eq(str).all()


# --------------------------------------------------------------------------- values silently missing


def test_infinite_values_are_reported(tmp_path: Path) -> None:
    rows = hostile.clean_rows(4)
    rows[1][6] = "inf"
    header = hostile.HEADER
    with pytest.raises(SchemaError, match="infinite") as info:
        load_trial(hostile.write_rows(tmp_path / "inf.csv", rows, header))
    assert info.value.failures.iloc[0]["rows"] == ["P002"]
    frame = pd.DataFrame(
        {"patient_id": [1, 2], "arm": ["coaching", "usual_care"], "coach_contacts": [np.inf, 3.0]}
    )
    with pytest.raises(SchemaError, match="infinite"):
        load_trial(frame)


def test_spreadsheet_errors_in_a_csv_are_reported_not_missing(tmp_path: Path) -> None:
    rows = hostile.clean_rows(4)
    rows[0][4], rows[2][5] = "#DIV/0!", "#N/A"
    with pytest.raises(SchemaError, match="spreadsheet error") as info:
        load_trial(hostile.write_rows(tmp_path / "err.csv", rows))
    problems = info.value.failures
    spread = problems[problems["problem"].str.contains("spreadsheet error")]
    assert sorted(r for rows_ in spread["rows"] for r in rows_) == ["P001", "P003"]


def test_mixed_encodings_beyond_64_kib_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="mixes text encodings") as info:
        load_trial(hostile.mixed_encoding(tmp_path / "mixed.csv"))
    assert "line 2 is UTF-8" in str(info.value) and "line 2003 is not" in str(info.value)


def test_windows_1252_beyond_64_kib_is_decoded_whole(tmp_path: Path) -> None:
    rows = hostile.clean_rows(2002)
    rows[-1][2] = "Peña"
    path = tmp_path / "cp.csv"
    path.write_bytes(
        ("\n".join(",".join(r) for r in [hostile.HEADER, *rows]) + "\n").encode("cp1252")
    )
    td = load_trial(path)
    assert td.patients["site"].iloc[-1] == "Peña" and any("cp1252" in n for n in td.notes)


def test_a_header_longer_than_64_kib_is_read_whole(tmp_path: Path) -> None:
    td = load_trial(hostile.long_header(tmp_path / "long.csv", columns=3000))
    assert td.n == 4 and "questionnaire_item_with_a_long_name_2999" in td.patients.columns


# --------------------------------------------------------------------------- Excel honesty


def test_formula_cells_without_results_are_an_error_naming_them(tmp_path: Path) -> None:
    path = hostile.workbook(tmp_path / "f.xlsx", formulas=True)
    with pytest.raises(FileFormatError, match="10 formula cell") as info:
        load_trial(path)
    assert "'hba1c_12': cells F2, F3" in str(info.value) and "+5 more" in str(info.value)


def test_error_cells_in_a_workbook_are_reported_with_the_patient(tmp_path: Path) -> None:
    path = hostile.workbook(tmp_path / "e.xlsx", errors=True)
    with pytest.raises(SchemaError, match="spreadsheet error") as info:
        load_trial(path)
    assert info.value.failures.iloc[0]["rows"] == ["P004"]
    assert info.value.failures.iloc[0]["values"] == ["#DIV/0!"]


def test_a_hidden_stale_sheet_is_skipped_unless_named(tmp_path: Path) -> None:
    path = hostile.workbook(tmp_path / "h.xlsx", hidden=True)
    td = load_trial(path)
    assert td.n == 10 and any("skipped hidden sheet(s) 'Old export'" in n for n in td.notes)
    old = load_trial(path, sheet="Old export")
    assert old.n == 3 and any("read hidden sheet 'Old export'" in n for n in old.notes)


def test_a_truncated_workbook_is_a_file_error(tmp_path: Path) -> None:
    good = hostile.workbook(tmp_path / "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError, match=r"not a valid \.xlsx"):
        load_trial(bad)
    code, _ = cli("analyze", str(bad))
    assert code == 2


def test_a_legacy_xls_loads_with_text_ids_and_hidden_sheets_skipped(tmp_path: Path) -> None:
    pytest.importorskip("xlwt", reason="xlwt writes the test workbook (the test extra has it)")
    td = load_trial(hostile.legacy_xls(tmp_path / "old.xls"))
    assert td.n == 6 and td.patients["patient_id"].iloc[0] == "007"
    assert any("skipped hidden sheet(s) 'Old'" in n for n in td.notes)
    assert td.patients["hba1c_0"].notna().all()


# --------------------------------------------------------------------------- missing measures


def test_a_baseline_only_measure_is_a_state_not_a_crash(tmp_path: Path) -> None:
    path = hostile.baseline_only(tmp_path / "base.csv")
    td = load_trial(path)
    assert td.n == 20
    out = tmp_path / "o.csv"
    code, text = cli("analyze", str(path), "--out", str(out))
    assert code == 0, text
    assert "hba1c: no month-12 column, so no endpoints on it" in text  # tracking says it too
    errors = pd.read_csv(out).set_index("outcome")["error"]
    assert (
        errors["at_goal_hba1c"]
        == "cannot be analysed: no follow-up (at_goal_hba1c needs hba1c_12 values)"
    )
    assert errors["change_sbp"] != errors["change_sbp"]  # analysed: no error


def test_a_follow_up_only_measure_loads_and_says_no_baseline(tmp_path: Path) -> None:
    rows = [[r[0], r[1], r[3], r[5], r[6], r[7]] for r in hostile.clean_rows(10)]
    path = hostile.write_rows(
        tmp_path / "fu.csv", rows, ["patient_id", "arm", "diabetes", "hba1c_12", "sbp_0", "sbp_12"]
    )
    td = load_trial(path)
    assert any("no baseline values (hba1c_0)" in n for n in td.notes)
    out = tmp_path / "o.csv"
    code, text = cli("analyze", str(path), "--out", str(out))
    assert code == 0, text
    errors = pd.read_csv(out).set_index("outcome")["error"]
    assert (
        errors["change_hba1c"]
        == "cannot be analysed: no baseline (change_hba1c needs hba1c_0 values)"
    )


def test_an_all_missing_measure_loads_and_says_no_values(tmp_path: Path) -> None:
    rows = hostile.clean_rows(10)
    for r in rows:
        r[4] = r[5] = ""
    path = hostile.write_rows(tmp_path / "none.csv", rows)
    assert load_trial(path).flow_for(HCPC_GOALS).analysed("at_goal_hba1c") == {
        "coaching": 0,
        "usual_care": 0,
    }
    out = tmp_path / "o.csv"
    code, text = cli("analyze", str(path), "--out", str(out))
    assert code == 0, text
    errors = pd.read_csv(out).set_index("outcome")["error"]
    assert errors["at_goal_hba1c"].startswith("cannot be analysed: no hba1c values")


# --------------------------------------------------------------------------- long format


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        ("fractional month", "whole number"),
        ("case duplicate", "once case is ignored"),
        ("wide next to long", "given both as a column and as measure/month/value rows"),
        ("huge month", "whole number from 0"),
    ],
)
def test_long_format_damage_is_an_error(tmp_path: Path, damage: str, match: str) -> None:
    long = hostile.long_rows(4)
    if damage == "fractional month":
        long["month"] = long["month"].astype(float)
        long.loc[1, "month"] = 6.5
    elif damage == "case duplicate":
        long["Value"] = long["value"]
    elif damage == "wide next to long":
        long["hba1c_0"] = 9.0
    else:
        long["month"] = long["month"].astype(float)
        long.loc[1, "month"] = 1e300
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=match):
        load_trial(path)
    code, _ = cli("endpoints", str(path))
    assert code == 2


# --------------------------------------------------------------------------- programs and mappings


def test_a_usual_care_only_file_is_refused(tmp_path: Path) -> None:
    rows = hostile.clean_rows(10)
    for r in rows:
        r[1] = "Usual care"
    path = hostile.write_rows(tmp_path / "uc.csv", rows)
    with pytest.raises(SchemaError, match="only arm maps to 'usual_care'"):
        load_program(path, design="single-arm")
    with pytest.raises(SchemaError, match="one label"):  # not two-arm: refused (issue 20)
        load_program(path)
    for extra in ((), ("--single-arm",)):
        code, text = cli("analyze", str(path), *extra)
        assert code == 2 and "Health coaching group" not in text


def test_a_yaml_alias_bomb_is_refused_quickly_with_a_short_message(tmp_path: Path) -> None:
    path = hostile.alias_bomb(tmp_path / "bomb.yaml")
    assert path.stat().st_size < 1000
    with pytest.raises(FileFormatError, match="more than 10,000 YAML nodes") as info:
        read_mapping(path)
    assert len(str(info.value)) < 400
    data = hostile.write_rows(tmp_path / "d.csv", hostile.clean_rows(4))
    code, text = cli("analyze", str(data), "--columns", str(path))
    assert code == 2 and len(text) < 1000


def test_recursive_yaml_and_nested_values_are_refused(tmp_path: Path) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text("columns: &c {arm: *c}\n")
    with pytest.raises(FileFormatError, match=r"recursive|list or a mapping"):
        read_mapping(rec)
    nested = tmp_path / "nested.yaml"
    nested.write_text("columns:\n  arm: [Group, Arm]\n")
    with pytest.raises(FileFormatError, match="'arm' must name a column"):
        read_mapping(nested)


def test_a_huge_cell_is_not_echoed(tmp_path: Path) -> None:
    rows = hostile.clean_rows(4)
    rows[1][4] = "9" * 8_000_000 + "x"  # an 8 MB cell (the fuzz run uses 64 MB)
    with pytest.raises(SchemaError) as info:
        load_trial(hostile.write_rows(tmp_path / "big.csv", rows))
    assert len(str(info.value)) < 2000 and "(+7999941 characters)" in str(info.value)


# --------------------------------------------------------------------------- wide files


def test_wide_files_are_loaded_with_a_bounded_number_of_column_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work per column is constant: no per-column write into the growing frame.

    Writing one column into a DataFrame costs time proportional to its width,
    so a per-column loop of writes grows quadratically; the loader builds
    tables in one go and writes only the schema's columns it converts.
    """
    counts = {}
    real = pd.DataFrame.__setitem__
    calls: list[object] = []

    def counting(self: pd.DataFrame, key: object, value: object) -> None:
        calls.append(key)
        real(self, key, value)

    for columns in (500, 2000):
        calls.clear()
        monkeypatch.setattr(pd.DataFrame, "__setitem__", counting)
        td = load_trial(hostile.wide(tmp_path / f"w{columns}.csv", columns))
        monkeypatch.undo()
        assert td.patients.shape[1] >= columns
        counts[columns] = len(calls)
    assert counts[500] == counts[2000] < 50


def test_a_mapping_file_over_1_mb_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "map.json"
    big.write_text('{"columns": {"arm": "' + "x" * 1_100_000 + '"}}')
    with pytest.raises(FileFormatError, match="is it the data file"):
        read_mapping(big)


def test_an_infinite_value_is_one_problem_not_two() -> None:
    df = pd.read_csv(bundled_table("hcpc_patients")).head(30)
    df.loc[3, "hba1c_12"] = np.inf
    with pytest.raises(SchemaError) as info:
        load_program(df)
    assert len(info.value.failures) == 1
    assert "infinite" in info.value.failures.loc[0, "problem"]

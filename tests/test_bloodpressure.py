"""Blood pressure given as "142/88" readings (issue 20 item 9): split on load, never guessed.

Every rule of :mod:`coachstats.data.bloodpressure` has a test here, in wide
and long data and through the file formats; the invariants (splitting then
joining gives the reading back; a row's reading never lands in another row)
are property tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coachstats import load_trial
from coachstats.cli import app
from coachstats.core.errors import SchemaError
from coachstats.data.bloodpressure import parse_readings, split_blood_pressure
from coachstats.data.programdata import load_program

runner = CliRunner()

MAP = {"MRN": "patient_id", "Group": "arm", "Blood Pressure": "bp_0", "BP 12m": "bp_12"}


def clinic(bp0: list[object], bp12: list[object] | None = None) -> pd.DataFrame:
    n = len(bp0)
    return pd.DataFrame(
        {
            "MRN": [f"P{i}" for i in range(1, n + 1)],
            "Group": ["coaching", "usual_care"] * (n // 2) + ["coaching"] * (n % 2),
            "Blood Pressure": bp0,
            "BP 12m": bp12 if bp12 is not None else ["130/80"] * n,
        }
    )


def problems(err: SchemaError) -> list[tuple[str, list[object], list[object], str]]:
    return [
        (f.column, list(f.rows), list(f.values), f.problem)
        for f in err.failures.itertuples(index=False)
    ]


# --------------------------------------------------------------------------- readings that load


def test_readings_are_split_into_sbp_and_dbp_with_a_note() -> None:
    td = load_trial(clinic(["142/88", " 130 / 79 ", None, "150/95.5"]), columns=MAP)
    p = td.patients
    assert "bp_0" not in p and "bp_12" not in p
    assert p["sbp_0"].tolist()[:2] == [142.0, 130.0] and np.isnan(p.loc[2, "sbp_0"])
    assert p["dbp_0"].tolist()[:2] == [88.0, 79.0] and p.loc[3, "dbp_0"] == 95.5
    assert p["sbp_12"].tolist() == [130.0] * 4 and p["dbp_12"].tolist() == [80.0] * 4
    assert (
        "bp_0: 3 blood pressure reading(s) ('systolic/diastolic') split into sbp_0 and dbp_0"
        in td.notes
    )


def test_decimal_commas_units_and_blank_cells() -> None:
    td = load_trial(clinic(["142,5/88", "", "120/80,5 mmHg", "  ", "131/77 mm Hg"]), columns=MAP)
    assert td.patients["sbp_0"].tolist()[0] == 142.5
    assert td.patients["dbp_0"].tolist()[2] == 80.5
    assert td.patients.loc[4, ["sbp_0", "dbp_0"]].tolist() == [131.0, 77.0]
    assert td.patients["sbp_0"].isna().tolist() == [False, True, False, True, False]


def test_a_column_already_named_bp_month_needs_no_mapping() -> None:
    raw = clinic(["142/88", "120/80"]).rename(
        columns={"MRN": "patient_id", "Group": "arm", "Blood Pressure": "BP_0", "BP 12m": "bp_12"}
    )
    td = load_trial(raw)
    assert td.patients["sbp_0"].tolist() == [142.0, 120.0]
    assert td.patients["dbp_12"].tolist() == [80.0, 80.0]


# --------------------------------------------------------------------------- unreadable cells


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("88/142", "first number (systolic) is not above its second"),
        ("120/120", "first number (systolic) is not above its second"),
        ("142", "one number where a blood pressure reading"),
        ("142/", "missing one of its two numbers"),
        ("/88", "missing one of its two numbers"),
        ("/", "missing one of its two numbers"),
        ("high", "not a blood pressure reading"),
        ("142/88/70", "not a blood pressure reading"),
        ("142-88", "not a blood pressure reading"),
        ("142/88 kPa", "not a blood pressure reading"),
    ],
)
def test_unreadable_readings_are_errors_naming_the_patient_and_the_cell(
    cell: str, problem: str
) -> None:
    with pytest.raises(SchemaError) as info:
        load_trial(clinic(["142/88", cell, "120/80", "118/76"]), columns=MAP)
    [(column, rows, values, text)] = problems(info.value)
    assert column == "bp_0" and rows == ["P2"] and values == [cell]
    assert problem in text
    assert "column 'bp_0' (your 'Blood Pressure')" in str(info.value)


def test_a_swapped_reading_is_never_swapped_back() -> None:
    with pytest.raises(SchemaError, match="never swaps") as info:
        load_trial(clinic(["88/142", "142/88", "70/120", "130/80"]), columns=MAP)
    [(_, rows, values, _)] = problems(info.value)
    assert rows == ["P1", "P3"] and values == ["88/142", "70/120"]


def test_every_problem_is_listed_at_once() -> None:
    raw = clinic(["88/142", "142", "high", "130/80"], ["130/80", "", "142/", "x"])
    with pytest.raises(SchemaError) as info:
        load_trial(raw, columns=MAP)
    found = {(c, tuple(r)) for c, r, _, _ in problems(info.value)}
    assert found == {
        ("bp_0", ("P1",)),
        ("bp_0", ("P2",)),
        ("bp_0", ("P3",)),
        ("bp_12", ("P3",)),
        ("bp_12", ("P4",)),
    }


def test_readings_outside_the_plausible_range_name_the_reading() -> None:
    with pytest.raises(SchemaError) as info:
        load_trial(clinic(["350/90", "140/20", "130/80", "120/70"]), columns=MAP)
    found = {c: (r, v, p) for c, r, v, p in problems(info.value)}
    assert found["sbp_0"][:2] == (["P1"], [350.0])
    assert "the first (systolic) numbers of the bp_0 readings" in found["sbp_0"][2]
    assert found["dbp_0"][:2] == (["P2"], [20.0])
    assert "30 to 200 mmHg" in found["dbp_0"][2]
    assert "column 'sbp_0' (your 'Blood Pressure')" in str(info.value)


def test_separate_sbp_and_dbp_columns_must_have_systolic_above_diastolic() -> None:
    raw = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "arm": ["coaching", "usual_care", "coaching"],
            "sbp_0": [140.0, 80.0, 120.0],
            "dbp_0": [90.0, 120.0, None],
        }
    )
    with pytest.raises(SchemaError, match="systolic pressure not above the diastolic") as info:
        load_trial(raw)
    assert problems(info.value)[0][:3] == ("sbp_0", ["b"], ["80/120"])


def test_a_date_in_a_workbook_is_reported_as_a_date(tmp_path: Path) -> None:
    raw = clinic(["142/88", "120/80"]).astype(object)
    raw.loc[1, "Blood Pressure"] = dt.datetime(2024, 12, 8)  # "12/8" turned into a date
    path = tmp_path / "dates.xlsx"
    raw.to_excel(path, index=False)
    with pytest.raises(SchemaError, match="a date where a blood pressure reading") as info:
        load_trial(path, columns=MAP)
    assert problems(info.value)[0][1] == ["P2"]


# --------------------------------------------------------------------------- given both ways


def test_a_reading_equal_to_a_separate_column_is_kept_once() -> None:
    raw = clinic(["142/88", "120/80", None]).assign(sbp_0=[142.0, None, 150.0])
    td = load_trial(raw, columns=MAP)
    assert td.patients["sbp_0"].tolist() == [142.0, 120.0, 150.0]
    assert td.patients["dbp_0"].tolist()[:2] == [88.0, 80.0]
    assert any(
        "also given as column(s) of their own: sbp_0 (1 with both, equal)" in n for n in td.notes
    )


def test_a_reading_that_differs_from_a_separate_column_is_an_error_naming_both() -> None:
    raw = clinic(["142/88", "120/80", "130/85"]).assign(dbp_0=[88.0, 82.0, None])
    with pytest.raises(SchemaError) as info:
        load_trial(raw, columns=MAP)
    [(column, rows, values, text)] = problems(info.value)
    assert column == "bp_0" and rows == ["P2"] and values == ["120/80 vs dbp_0 82"]
    assert "differs from column 'dbp_0'" in text and "'bp_0' and 'dbp_0'" in text


# --------------------------------------------------------------------------- long data, formats


def long_table(measure: str = "Blood pressure") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b", "b", "b"],
            "arm": ["coaching"] * 3 + ["usual_care"] * 3,
            "measure": [measure, measure, "HbA1c", measure, "sbp", "hba1c"],
            "month": [0, 12, 0, 0, 12, 0],
            "value": ["142/88", "130 / 80", "9.1", "150/95", "141", "8.5"],
        }
    )


@pytest.mark.parametrize("name", ["Blood pressure", "BP", "bp", "SBP/DBP", " blood_pressure "])
def test_long_data_readings_are_split_per_patient(name: str) -> None:
    td = load_trial(long_table(name))
    p = td.patients.set_index("patient_id")
    assert p.loc["a", ["sbp_0", "dbp_0", "sbp_12", "dbp_12"]].tolist() == [142, 88, 130, 80]
    assert p.loc["b", ["sbp_0", "dbp_0", "sbp_12"]].tolist() == [150, 95, 141]
    assert np.isnan(p.loc["b", "dbp_12"])


def test_long_data_reading_and_sbp_row_that_differ_are_an_error() -> None:
    long = pd.concat(
        [long_table(), long_table().iloc[[4]].assign(measure="bp", value="150/90")],
        ignore_index=True,
    )
    with pytest.raises(SchemaError, match="differs from column 'sbp_12'") as info:
        load_trial(long)
    assert problems(info.value)[0][1:3] == (["b"], ["150/90 vs sbp_12 141"])


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".dta"])
def test_every_format_splits_the_readings(tmp_path: Path, suffix: str) -> None:
    raw = clinic(["142/88", "", "130 / 79", "118/76"])
    path = tmp_path / f"clinic{suffix}"
    if suffix == ".csv":
        raw.to_csv(path, index=False)
    elif suffix == ".xlsx":
        raw.to_excel(path, index=False)
    elif suffix == ".parquet":
        raw.to_parquet(path)
    else:
        raw.rename(columns=lambda c: c.replace(" ", "_")).to_stata(path, write_index=False)
    cols = {k.replace(" ", "_") if suffix == ".dta" else k: v for k, v in MAP.items()}
    td = load_trial(path, columns=cols)
    assert td.patients["sbp_0"].tolist()[::2] == [142.0, 130.0]
    assert td.patients["dbp_0"].tolist()[::2] == [88.0, 79.0]
    assert td.patients["sbp_0"].isna().tolist() == [False, True, False, False]


def test_an_unmapped_column_of_readings_gets_a_note_with_the_fix() -> None:
    raw = clinic(["142/88", "120/80"]).drop(columns=["BP 12m"])
    td = load_trial(raw, columns={"MRN": "patient_id", "Group": "arm"})
    assert "sbp_0" not in td.patients
    [note] = [n for n in td.notes if "holds blood pressure readings" in n]
    assert "--map bp_0='Blood Pressure'" in note and "not analysed" in note


def test_exclude_invalid_excludes_the_patients_with_unreadable_readings() -> None:
    raw = clinic(["142/88", "88/142", "high", "120/80"])
    td = load_program(raw, columns=MAP, on_invalid="exclude")
    assert td.patients["patient_id"].tolist() == ["P1", "P4"]
    assert sum("excluded 1 row(s) with 'bp_0'" in n for n in td.notes) == 2


# --------------------------------------------------------------------------- properties

_reading = st.tuples(
    st.integers(min_value=61, max_value=300), st.integers(min_value=30, max_value=200)
).filter(lambda t: t[0] > t[1])
_space = st.sampled_from(["", " ", "  "])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.tuples(_reading, _space, _space)), min_size=1, max_size=30))
def test_splitting_then_joining_gives_the_readings_back(
    cells: list[tuple[tuple[int, int], str, str] | None],
) -> None:
    text = [None if c is None else f"{c[1]}{c[0][0]}{c[2]}/{c[1]}{c[0][1]}{c[2]}" for c in cells]
    p = parse_readings(pd.Series(text, dtype=object))
    assert not p.problems
    joined = [
        None if np.isnan(s) else f"{s:g}/{d:g}"
        for s, d in zip(p.systolic, p.diastolic, strict=True)
    ]
    assert joined == [None if c is None else f"{c[0][0]}/{c[0][1]}" for c in cells]


_cell = st.one_of(
    st.none(),
    _reading.map(lambda t: f"{t[0]}/{t[1]}"),
    st.sampled_from(["88/142", "142", "142/", "high", "", "120 / 80"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_cell, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_a_rows_reading_never_lands_in_another_row(cells: list[str | None], rnd: object) -> None:
    ids = [f"id{i}" for i in range(len(cells))]
    frame = pd.DataFrame({"patient_id": ids, "bp_6": cells})
    order = list(range(len(cells)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = frame.iloc[order].reset_index(drop=True)
    out = split_blood_pressure(shuffled, shuffled["patient_id"])
    bad = {r for f in out.failures for r in f["rows"]}
    for pid, cell, s, d in zip(
        shuffled["patient_id"],
        shuffled["bp_6"],
        out.frame["sbp_6"],
        out.frame["dbp_6"],
        strict=True,
    ):
        own = cell.replace(" ", "").split("/") if isinstance(cell, str) else []
        readable = len(own) == 2 and all(x.isdigit() for x in own) and int(own[0]) > int(own[1])
        if readable:
            assert (s, d) == (float(own[0]), float(own[1])) and pid not in bad
        else:
            assert np.isnan(s) and np.isnan(d)
            assert (pid in bad) == (isinstance(cell, str) and cell.strip() != "")


# --------------------------------------------------------------------------- as a user would


def test_analyze_and_endpoints_split_a_messy_export(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 40
    s0 = rng.integers(125, 175, n)
    s12 = s0 - rng.integers(0, 25, n)
    raw = pd.DataFrame(
        {
            "MRN": [f"M{i:03d}" for i in range(n)],
            "Group": ["Coaching", "Usual care"] * (n // 2),
            "Diabetic": rng.choice(["Y", "N"], n),
            "A1c": rng.normal(8.8, 1.0, n).round(1),
            "A1c 12m": rng.normal(8.3, 1.0, n).round(1),
            "Blood Pressure": [f"{s}/{s // 2 + 15}" for s in s0],
            "BP 12m": [f"{s} / {s // 2 + 12}" if i % 9 else "" for i, s in enumerate(s12)],
        }
    )
    path = tmp_path / "export.csv"
    raw.to_csv(path, index=False)
    mapping = (
        "patient_id=MRN,arm=Group,diabetes=Diabetic,hba1c_0=A1c,hba1c_12=A1c 12m,"
        "bp_0=Blood Pressure,bp_12=BP 12m"
    )
    res = runner.invoke(app, ["analyze", str(path), "--map", mapping])
    assert res.exit_code == 0, res.output
    assert "DBP change (mm Hg)" in res.output and "SBP change (mm Hg)" in res.output
    assert "bp_12: 35 blood pressure reading(s)" in res.output
    res = runner.invoke(app, ["endpoints", str(path), "--map", mapping])
    assert res.exit_code == 0, res.output
    assert "change_dbp" in res.output and "bp_0: 40 blood pressure reading(s)" in res.output
    raw.loc[3, "Blood Pressure"] = "80/150"
    raw.to_csv(path, index=False)
    res = runner.invoke(app, ["analyze", str(path), "--map", mapping])
    assert res.exit_code == 2
    assert "column 'bp_0' (your 'Blood Pressure')" in res.output
    assert "[rows: M003] [values: '80/150']" in res.output

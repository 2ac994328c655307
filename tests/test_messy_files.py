"""Messy real-world exports: each either loads correctly (with a note) or fails with a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachstats import load_trial
from coachstats.errors import CoachstatsError, FileFormatError, SchemaError

HEADER = "patient_id,arm,diabetes,hba1c_0,hba1c_12"
ROWS = ["1,Coaching,yes,9.5,7.9", "2,Usual care,no,8.4,8.6", "3,coaching,yes,10.1,9.0"]


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_utf8_bom(tmp_path: Path) -> None:
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join([HEADER, *ROWS]).encode())
    td = load_trial(p)
    assert td.patients.columns[0] == "patient_id" and td.n == 3
    assert any("utf-8-sig" in n for n in td.notes)


def test_latin1_encoding(tmp_path: Path) -> None:
    text = "\n".join([HEADER + ",site", *[r + ",Clínica Señora" for r in ROWS]])
    td = load_trial(write(tmp_path, text, "latin-1"))
    assert td.patients["site"].iloc[0] == "Clínica Señora"
    assert any("cp1252" in n for n in td.notes)


def test_semicolon_and_decimal_commas(tmp_path: Path) -> None:
    text = "\n".join(
        ["patient_id;arm;hba1c_0;hba1c_12", "1;coaching;9,5;7,9", "2;usual_care;8,4;8,6"]
    )
    td = load_trial(write(tmp_path, text))
    np.testing.assert_allclose(td.patients["hba1c_0"], [9.5, 8.4])
    assert any("decimal commas" in n for n in td.notes) and any("';'" in n for n in td.notes)


def test_header_in_a_later_row(tmp_path: Path) -> None:
    text = "\n".join(["Coaching program export", "Generated 2024-05-01", "", HEADER, *ROWS])
    td = load_trial(write(tmp_path, text))
    assert td.n == 3 and any("header found on line 4" in n for n in td.notes)


def test_duplicate_columns(tmp_path: Path) -> None:
    text = "\n".join([HEADER + ",hba1c_0", *[r + ",9.9" for r in ROWS]])
    with pytest.raises(SchemaError, match="appears 2 times"):
        load_trial(write(tmp_path, text))


@pytest.mark.parametrize(
    ("rule", "expected", "flags"),
    [
        ("limit", [7.0, 8.6, 14.0], ["<", "", ">"]),
        ("missing", [np.nan, 8.6, np.nan], ["<", "", ">"]),
    ],
)
def test_censored_lab_strings(
    tmp_path: Path, rule: str, expected: list[float], flags: list[str]
) -> None:
    text = "\n".join(
        [HEADER, "1,coaching,yes,9.5,<7.0", "2,usual_care,no,8.4,8.6", "3,coaching,yes,15,>14"]
    )
    p = write(tmp_path, text)
    with pytest.raises(SchemaError, match="censored='limit'") as info:
        load_trial(p)
    assert info.value.failures.iloc[0]["rows"] == ["1", "3"]  # ids are text, as in the file
    td = load_trial(p, censored=rule)  # type: ignore[arg-type]
    np.testing.assert_allclose(td.patients["hba1c_12"], expected)
    assert td.patients["hba1c_12_censored"].fillna("").tolist() == flags


def test_dates_instead_of_numbers(tmp_path: Path) -> None:
    text = "\n".join([HEADER, "1,coaching,yes,2023-04-05,7.9", "2,usual_care,no,8.4,8.6"])
    with pytest.raises(SchemaError, match="a date where a number is expected") as info:
        load_trial(write(tmp_path, text))
    assert info.value.failures.iloc[0]["values"] == ["2023-04-05"]
    xl = tmp_path / "dates.xlsx"
    pd.DataFrame(
        {
            "patient_id": [1, 2],
            "arm": ["coaching", "usual_care"],
            "hba1c_0": pd.to_datetime(["2023-01-09", "2023-01-08"]),
        }
    ).to_excel(xl, index=False)
    with pytest.raises(SchemaError, match="date"):
        load_trial(xl)


def test_one_arm_empty_names_the_labels(tmp_path: Path) -> None:
    text = "\n".join([HEADER, "1,coaching,yes,9.5,7.9", "2,coaching,no,8.4,8.6"])
    with pytest.raises(SchemaError, match=r"exactly 2 arm\(s\), found 1: \['coaching'\]"):
        load_trial(write(tmp_path, text))


def test_binary_garbage_is_a_file_error(tmp_path: Path) -> None:
    p = tmp_path / "garbage.csv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FileFormatError, match="binary"):
        load_trial(p)


def test_truncated_parquet(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pd.DataFrame({"patient_id": [1, 2], "arm": ["coaching", "usual_care"]}).to_parquet(good)
    data = good.read_bytes()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="cannot read"):
        load_trial(bad)


# ------------------------------------------------------------------ fuzzing
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(tmp_path: Path, blob: bytes) -> None:
    p = tmp_path / "fuzz.csv"
    p.write_bytes(blob)
    try:
        td = load_trial(p)
    except CoachstatsError as exc:  # the only failure allowed, and it must say something
        assert str(exc)
        return
    assert td.flow.total == td.n == len(td.patients)


cell = st.one_of(
    st.sampled_from(
        ["", "NA", "coaching", "usual_care", "yes", "no", "<7", "9,5", "2023-01-01", "x"]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-1000, 1000).map(str),
    st.text(max_size=5),
)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                "patient_id",
                "arm",
                "diabetes",
                "hba1c_0",
                "hba1c_12",
                "sbp_0",
                "sbp_12",
                "ldl_0",
                "age",
                "junk",
            ]
        ),
        min_size=1,
        max_size=7,
    ),
    st.lists(st.lists(cell, min_size=7, max_size=7), max_size=8),
    st.sampled_from([",", ";", "\t"]),
)
def test_fuzz_random_csv(
    tmp_path: Path, header: list[str], rows: list[list[str]], sep: str
) -> None:
    lines = [sep.join(header)] + [
        sep.join(c.replace(sep, " ").replace("\n", " ") for c in r[: len(header)]) for r in rows
    ]
    p = tmp_path / "fuzz.csv"
    p.write_bytes("\n".join(lines).encode("utf-8", errors="replace"))
    try:
        td = load_trial(p)
    except CoachstatsError:
        return
    assert td.n == len(td.patients) and td.flow.total == td.n


def test_hashed_ids_in_error_messages(tmp_path: Path) -> None:
    from coachstats.io import ID_SALT
    from coachstats.outputs import hash_ids

    text = "\n".join([HEADER, "MRN123,coaching,yes,99,7.9", "MRN456,usual_care,no,8.4,8.6"])
    p = write(tmp_path, text)
    with pytest.raises(SchemaError) as plain:
        load_trial(p)
    assert "MRN123" in str(plain.value)
    with pytest.raises(SchemaError) as hashed:
        load_trial(p, hash_ids=True)
    assert "MRN123" not in str(hashed.value)
    assert hash_ids(["MRN123"], salt=ID_SALT)[0] in str(hashed.value)


def test_large_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big export is read by pandas once; the hash streams bytes (nothing held twice)."""
    import coachstats.readers as readers

    n = 50_000
    rows = [
        f"{i},{'coaching' if i % 2 else 'usual_care'},yes,9.{i % 10},8.{i % 7}" for i in range(n)
    ]
    p = write(tmp_path, "\n".join([HEADER, *rows]))
    calls = []
    real = pd.read_csv

    def counting(*args: object, **kwargs: object) -> pd.DataFrame:
        calls.append(args[0])
        return real(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(readers.pd, "read_csv", counting)
    td = load_trial(p)
    assert td.n == n and len(calls) == 1


# random column mappings: a result or a CoachstatsError, nothing else
SCHEMA_TARGETS = [
    "patient_id",
    "arm",
    "diabetes",
    "hba1c_0",
    "hba1c_12",
    "age",
    "site",
    "nonsense_col",
]


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["patient_id", "arm", "diabetes", "hba1c_0", "hba1c_12", "x"]),
        st.sampled_from(SCHEMA_TARGETS),
        max_size=5,
    )
)
def test_fuzz_random_mappings(tmp_path: Path, mapping: dict[str, str]) -> None:
    p = write(tmp_path, "\n".join([HEADER, *ROWS]))
    try:
        td = load_trial(p, columns=mapping)
    except CoachstatsError as exc:
        assert str(exc)
        return
    assert td.n == 3 and td.flow.total == 3


def test_endpoint_with_every_value_missing(tmp_path: Path) -> None:
    """Loads (patients are all accounted for), and the comparison says why it cannot run."""
    from coachstats import HCPC_GOALS
    from coachstats.compare import chi_square
    from coachstats.errors import AnalysisError

    text = "\n".join(
        [HEADER, "1,coaching,yes,9.5,", "2,usual_care,yes,8.4,", "3,coaching,yes,10.1,"]
    )
    td = load_trial(write(tmp_path, text))
    flow = td.flow_for(HCPC_GOALS)
    assert flow.analysed("at_goal_hba1c") == {"coaching": 0, "usual_care": 0}
    # nobody has a follow-up value: all three are lost to follow-up, not also "excluded"
    assert flow.lost("at_goal_hba1c") == {"coaching": 2, "usual_care": 1}
    assert int(flow.excluded("at_goal_hba1c")["n"].sum()) == 0
    with pytest.raises(AnalysisError, match="no complete rows"):
        chi_square(td.endpoints(HCPC_GOALS), "at_goal_hba1c")

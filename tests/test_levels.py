"""Category levels (sex, language, ethnicity): the schema's mapping, and the case mix it feeds.

Issue 17: sex coded F/M gave "Female: program 0.0 % ... differs materially" while Table 1 of the
same report showed F 58.4 %. Levels now go through :mod:`coachstats.data.levels`; a level that
matches nothing is named, never counted as 0 %.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.cli.common import parse_levels
from coachstats.data.levels import CATEGORY_LEVELS, canonical_levels, normalize_levels
from coachstats.data.schema import validate_patients
from coachstats.errors import DataWarning, OptionError, SchemaError
from coachstats.evaluate import case_mix, case_mix_with_notes
from coachstats.programdata import load_program, read_mapping
from coachstats.synthetic import hcpc_cohort


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (["F", "M", "f", "m"], ["female", "male", "female", "male"]),
        (["Female", "male", " FEMALE ", "Male"], ["female", "male", "female", "male"]),
        (["woman", "man", "Unknown", None], ["female", "male", pd.NA, pd.NA]),
    ],
)
def test_sex_spellings(raw: list[object], want: list[object]) -> None:
    got, unmatched = normalize_levels(pd.Series(raw, dtype=object), "sex")
    assert got.tolist() == want and unmatched == []


def test_language_and_ethnicity_spellings() -> None:
    lang, bad = normalize_levels(pd.Series(["Spanish", "Español", "ES", "English"]), "language")
    assert lang.tolist() == ["spanish", "spanish", "spanish", "english"] and bad == []
    eth, bad = normalize_levels(
        pd.Series(["Hispanic", "Latina", "Black", "Black or African American", "White"]),
        "ethnicity",
    )
    assert eth.tolist() == ["latino", "latino", "african_american", "african_american", "white"]
    assert bad == []


def test_numeric_codes_are_not_guessed_but_can_be_mapped() -> None:
    values = pd.Series([1, 2, 2, 1.0])
    got, bad = normalize_levels(values, "sex")
    assert got.tolist() == ["1", "2", "2", "1"] and bad == ["1", "2"]
    got, bad = normalize_levels(values, "sex", {"1": "male", "2": "female"})
    assert got.tolist() == ["male", "female", "female", "male"] and bad == []
    with pytest.raises(SchemaError, match="allowed levels of sex: female, male, other"):
        normalize_levels(values, "sex", {"1": "man"})


def test_every_canonical_level_names_itself() -> None:
    for column, levels in CATEGORY_LEVELS.items():
        got, bad = normalize_levels(pd.Series(list(levels)), column)
        assert got.tolist() == list(canonical_levels(column)) and bad == []


def test_validation_maps_levels_and_notes_the_unmatched() -> None:
    raw = pd.DataFrame(
        {"patient_id": [1, 2, 3], "arm": ["coaching"] * 3, "sex": ["F", "M", "9"], "hba1c_0": 9.0}
    )
    clean, notes = validate_patients(raw, n_arms=1)
    assert clean["sex"].tolist() == ["female", "male", "9"]
    assert any("sex: level(s) '9' not recognised" in n and "--levels sex=" in n for n in notes)
    clean, _ = validate_patients(raw, n_arms=1, levels={"sex": {"9": "other"}})
    assert clean["sex"].tolist() == ["female", "male", "other"]
    with pytest.raises(SchemaError, match="levels= names 'marital_status'"):
        validate_patients(raw, n_arms=1, levels={"marital_status": {"1": "married"}})


def test_mapping_file_levels_section(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("columns:\n  patient_id: MRN\nlevels:\n  sex:\n    1: male\n    2: female\n")
    assert read_mapping(path).levels == {"sex": {"1": "male", "2": "female"}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  patient_id: MRN\nlevels:\n  sex: male\n")
    with pytest.raises(Exception, match="levels of 'sex' must map"):
        read_mapping(bad)


def test_cli_levels_option() -> None:
    assert parse_levels(["sex=1:male,2:female"]) == {"sex": {"1": "male", "2": "female"}}
    with pytest.raises(OptionError, match="column=yours:level"):
        parse_levels(["sex=1-male"])


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort(n=600, seed=6).patients


def test_case_mix_counts_the_real_female_share(cohort: pd.DataFrame) -> None:
    truth = float((cohort["sex"] == "female").mean())
    coded = cohort.assign(sex=cohort["sex"].map({"female": "F", "male": "M"}))
    td = load_program(coded)
    female = next(i for i in case_mix(td, "hcpc") if i.characteristic == "Female")
    assert female.program_value == pytest.approx(truth)
    # language and ethnicity through the same mapping
    recoded = td.patients.assign(
        language=cohort["language"].map({"spanish": "Español", "english": "EN"}).to_numpy(),
        ethnicity=cohort["ethnicity"]
        .replace({"latino": "Hispanic", "african_american": "Black"})
        .to_numpy(),
    )
    items = {i.characteristic: i for i in case_mix(load_program(recoded), "hcpc")}
    assert items["Spanish-speaking"].program_value == pytest.approx(
        float((cohort["language"] == "spanish").mean())
    )
    assert items["Latino"].program_value == pytest.approx(
        float((cohort["ethnicity"] == "latino").mean())
    )


def test_unmatched_levels_are_named_never_zero(cohort: pd.DataFrame) -> None:
    coded = cohort.assign(sex=cohort["sex"].map({"female": 2, "male": 1}))
    items, notes = case_mix_with_notes(coded, "hcpc")
    assert "Female" not in {i.characteristic for i in items}
    assert any("Female not compared" in n and "'1', '2'" in n for n in notes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case_mix(coded, "hcpc")
    assert any(issubclass(w.category, DataWarning) and "Female" in str(w.message) for w in caught)


_CELLS = st.one_of(
    st.sampled_from(["F", "female", " Male ", "m", "unknown", "", "Hispanic", "2", "x", "other"]),
    st.sampled_from([1, 2, 0, 1.0, 2.0, 2.5, True, False, None, np.nan]),
    st.text(max_size=4),
)


@given(st.lists(_CELLS, max_size=30), st.sampled_from(["sex", "language", "ethnicity"]))
@settings(max_examples=200, deadline=None)
def test_a_column_is_mapped_as_each_of_its_values_alone(values: list[object], column: str) -> None:
    """Each distinct value is mapped once (issue 22): the same as mapping the rows one by one."""
    out, unmatched = normalize_levels(pd.Series(values, dtype=object), column)
    one_by_one = [normalize_levels(pd.Series([v], dtype=object), column) for v in values]
    assert out.tolist() == [o.iloc[0] for o, _ in one_by_one]
    assert str(out.dtype) == "string"
    expected: list[str] = []
    for _, u in one_by_one:
        expected += [x for x in u if x not in expected]
    assert unmatched == expected

"""Program tracking metrics: caseload, contacts, retention, referrals, CPT encounters, dates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.errors import AnalysisError, ColumnNotFoundError
from coachstats.programs import synthetic_encounters
from coachstats.synthetic import hcpc_cohort
from coachstats.tracking import (
    FULL_TIME_CASELOAD,
    HCPC_CONTACTS,
    caseload,
    count_encounters,
    parse_dates,
    program_metrics,
)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort().patients


def test_parse_dates_excel_serials_text_and_datetimes() -> None:
    values = pd.Series(
        [45292, "45293", 45294.0, "2024-01-05", "01/06/2024", "Jan 7 2024", "soon", None, ""]
    )
    dates, bad = parse_dates(values)
    shown = [str(d.date()) if pd.notna(d) else None for d in dates]
    # Excel's day 45292 is 2024-01-01 (1900 date system, origin 1899-12-30)
    assert shown[:6] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-05",
        "2024-01-06",
        "2024-01-07",
    ]
    assert bad.tolist() == [False] * 6 + [True, False, True]
    dt = pd.Series(pd.to_datetime(["2024-02-01", None]))
    d2, bad2 = parse_dates(dt)
    assert d2.iloc[0] == pd.Timestamp("2024-02-01") and not bad2.any()


def test_count_encounters_kinds_and_problems() -> None:
    enc = pd.DataFrame(
        {
            "pid": ["a", "a", "a", "a", "b", "b", "c", "z"],
            "when": [45292, 45300, "2024-02-15", 45400, 45310, "not a date", 45320, 45330],
            "code": ["0591T", "0592T", " 0592t ", "0593T", "0592T", "0592T", "99213", "0591T"],
        }
    )
    c = count_encounters(
        enc, patient="pid", date="when", cpt="code", patients=pd.Series(["a", "b", "c", "d"])
    )
    per = c.per_patient.set_index("patient_id")
    assert per.loc["a", ["initial", "follow_up", "group", "total"]].tolist() == [1, 2, 1, 4]
    assert per.loc["b", ["initial", "follow_up", "total"]].tolist() == [0, 2, 2]
    assert per.loc["c", "total"] == 0 and per.loc["d", "total"] == 0  # unknown code; never seen
    assert not per.loc["z", "in_patient_table"] and per.loc["a", "in_patient_table"]
    # 45292 (2024-01-01) to 45400 (2024-04-18): 108 days
    assert per.loc["a", "months_engaged"] == pytest.approx(108 / (365.25 / 12))
    problems = dict(
        zip(c.problems["problem"].str.split(";").str[0], c.problems["rows"], strict=True)
    )
    assert problems["unknown CPT code(s), not counted as coaching sessions"] == [6]
    assert problems["unreadable date(s)"] == [5]
    assert any("not in the patient table" in p for p in c.problems["problem"])
    no_initial = c.problems.loc[c.problems["problem"].str.contains("no initial")]
    assert no_initial["rows"].iloc[0] == ["b"]
    assert "problem" in c.summary()


def test_count_encounters_without_dates_or_patients() -> None:
    enc = pd.DataFrame({"patient_id": [1, 1, 2], "cpt": ["0591T", "0592T", "0591T"]})
    c = count_encounters(enc)
    assert c.per_patient["total"].tolist() == [2, 1] and c.per_patient["first_date"].isna().all()
    with pytest.raises(ColumnNotFoundError):
        count_encounters(enc, cpt="code")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_encounter_counts_ignore_row_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    enc = pd.DataFrame(
        {
            "patient_id": rng.integers(0, 8, n),
            "date": rng.integers(45000, 45400, n),
            "cpt": rng.choice(["0591T", "0592T", "0593T", "G0108"], n),
        }
    )
    a = count_encounters(enc).per_patient.sort_values("patient_id").reset_index(drop=True)
    b = count_encounters(enc.sample(frac=1, random_state=seed % 1000)).per_patient
    b = b.sort_values("patient_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert (a["total"] == a[["initial", "follow_up", "group"]].sum(axis=1)).all()


def test_caseload_per_fte() -> None:
    df = pd.DataFrame({"coach_id": ["a"] * 60 + ["b"] * 45 + [None] * 3})
    table = caseload(df, fte={"a": 1.0, "b": 0.5})
    rows = table.set_index("coach")
    assert rows.loc["a", "status"] == "below" and rows.loc["b", "per_fte"] == 90.0
    assert rows.loc["b", "status"] == "within" and rows.loc["<none>", "patients"] == 3
    with pytest.raises(AnalysisError, match=r"coach\(es\) \['b'\]"):
        caseload(df, fte={"a": 1.0})
    with pytest.raises(AnalysisError, match="> 0"):
        caseload(df, fte=0.0)


def test_program_metrics_on_the_hcpc_cohort(cohort: pd.DataFrame) -> None:
    m = program_metrics(cohort)
    coached = cohort.loc[cohort["arm"] == "coaching"]
    # 224 coached patients and 3 coaches: about 75 each, inside 70-100
    assert m["caseload"].value == pytest.approx(224 / 3) and m["caseload"].status == "within"
    assert FULL_TIME_CASELOAD == (70, 100)
    # contacts are calibrated to the published 12.4 (7.4)
    assert m["contacts"].value == pytest.approx(coached["coach_contacts"].mean())
    assert round(m["contacts"].value, 1) == HCPC_CONTACTS[0] and m["contacts"].status == "similar"
    # 194 of 224 coached patients have a 12-month lab (30 lost in the design)
    assert (m["retention"].n, m["retention"].value) == (224, pytest.approx(194 / 224))
    assert (
        m["uncontrolled_at_referral"].value == 1.0
        and m["uncontrolled_at_referral"].status == "similar"
    )
    unc = m["uncontrolled_hba1c"]
    dm = coached.loc[coached["diabetes"] & coached["hba1c_0"].notna()]
    assert unc.n == len(dm) and unc.value == pytest.approx((dm["hba1c_0"] > 8.0).mean())
    frame = m.to_frame()
    assert {"caseload", "contacts", "retention", "uncontrolled_at_referral"} <= set(frame["key"])
    assert "Program tracking" in m.summary() and "<pre" in m._repr_html_()
    assert m.to_dict()["caseload"] == m["caseload"].value and "contacts" in m


def test_program_metrics_from_encounters(cohort: pd.DataFrame) -> None:
    coached = cohort.loc[cohort["arm"] == "coaching"]
    enc = synthetic_encounters(coached, seed=3)
    m = program_metrics(cohort, encounters=enc)
    assert m["contacts"].value == pytest.approx(coached["coach_contacts"].mean())
    assert m["sessions_initial"].value == pytest.approx((coached["coach_contacts"] > 0).mean())
    assert m.encounters is not None and m.encounters.n_rows == len(enc)
    assert m["engaged"].value == pytest.approx((coached["coach_contacts"] > 0).mean())


def test_program_metrics_single_arm_and_missing_columns() -> None:
    df = pd.DataFrame(
        {
            "patient_id": range(6),
            "hba1c_0": [9.0, 7.0, 10.5, None, 8.5, 11.0],
            "hba1c_12": [8.0, None, 9.0, None, 8.9, None],
            "diabetes": True,
        }
    )
    m = program_metrics(df)
    assert "caseload" not in m and "contacts" not in m
    assert any("coach_id" in n for n in m.notes) and any("contacts" in n for n in m.notes)
    assert m["retention"].value == pytest.approx(3 / 5) and m["retention"].n == 5
    # HbA1c > 8.0 among the 5 with a baseline: 9.0, 10.5, 8.5, 11.0
    assert m["uncontrolled_at_referral"].value == pytest.approx(4 / 5)
    with pytest.raises(AnalysisError, match="no coached"):
        program_metrics(df.assign(arm="usual_care"))


def test_metric_text() -> None:
    df = pd.DataFrame(
        {"patient_id": range(4), "coach_id": "a", "coach_contacts": [1, 2, 3, math.nan]}
    )
    m = program_metrics(df)
    assert "1 missing" in m["contacts"].note and m["caseload"].status == "below"
    assert "yardstick 70-100" in m["caseload"].text()


def test_retention_note_says_what_its_numbers_count() -> None:
    # issue 20: "134/154 with a baseline lab" read as 134 with a baseline lab; 134 were
    # the patients with a follow-up lab among the 154 with a baseline one
    df = pd.DataFrame(
        {
            "patient_id": range(6),
            "hba1c_0": [9.0, 7.0, 10.5, None, 8.5, 11.0],
            "hba1c_12": [8.0, None, 9.0, None, 8.9, None],
            "ldl_0": [150.0, 120.0, 170.0, 160.0, 140.0, 180.0],
            "diabetes": True,
        }
    )
    m = program_metrics(df)
    # 6 with a baseline lab (HbA1c or LDL); 3 of them with a month-12 lab
    assert m["retention"].note == "3 of the 6 with a baseline lab had one at month 12"
    referral = m["uncontrolled_at_referral"]
    x = round(referral.value * referral.n)
    assert referral.note == f"{x} of the 6 with a baseline lab; 0 without one"
    # LDL has a baseline but no follow-up column: no crash, its referral share is left out
    assert "uncontrolled_ldl" not in m and m["uncontrolled_hba1c"].label == (
        "Uncontrolled on HbA1c at referral"
    )


# ------------------------------------------------------------ statuses (issue 20, issue 17's words)
STATUSES = {"above", "below", "similar", "inconclusive", "within", ""}


def _contacts(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_id": range(len(values)), "coach_id": "a", "coach_contacts": values}
    )


def test_an_interval_covering_the_yardstick_is_not_similar() -> None:
    # 6 patients, mean 13.5: the 95 % CI covers 12.4, but nothing shows it is close to it
    m = program_metrics(_contacts([6, 9, 12, 15, 18, 21]))["contacts"]
    assert m.conf_low < HCPC_CONTACTS[0] < m.conf_high
    assert m.status == "inconclusive"
    assert "not clearly different from the yardstick" in m.text()
    assert "±1.48" in m.text() and "similar" not in m.text().split("[")[1]


def test_similar_needs_the_90_percent_interval_inside_the_margin() -> None:
    values = [5.0, 12.4, 19.8] * 700  # mean 12.4, SD 6.0: the 90 % CI is 12.4 +- 0.2
    m = program_metrics(_contacts(values))["contacts"]
    assert m.status == "similar" and m.margin == pytest.approx(0.2 * 7.4)
    assert "90% CI lies within ±1.48" in m.text()
    # the same data with a margin narrower than its 90 % interval: no longer similar
    narrow = program_metrics(_contacts(values), margins={"contacts": 0.05})["contacts"]
    assert narrow.status == "inconclusive" and narrow.margin_reason == "set by the user"
    frame = program_metrics(_contacts(values)).to_frame().set_index("key")
    assert frame.loc["contacts", "margin"] == pytest.approx(1.48)
    with pytest.raises(AnalysisError, match="positive"):
        program_metrics(_contacts(values), margins={"contacts": -1})


def test_statuses_of_every_indicator_use_the_verdict_words(cohort: pd.DataFrame) -> None:
    small = cohort.sample(60, random_state=1)
    for data in (cohort, small):
        m = program_metrics(data)
        assert {x.status for x in m.metrics} <= STATUSES
        for x in m.metrics:  # "similar" only where a margin was stated
            assert x.status != "similar" or math.isfinite(x.margin)
    # a small program: retention and referrals are not shown close to the trial's
    m = program_metrics(small)
    assert m["retention"].status in ("inconclusive", "above", "below")


@settings(max_examples=200, deadline=None)
@given(
    st.floats(5, 20),
    st.floats(0.5, 15),
    st.integers(3, 3000),
)
def test_yardstick_status_matches_its_definition(mean: float, sd: float, n: int) -> None:
    from coachstats.compare.onesample import one_sample_mean
    from coachstats.tasks.tracking import yardstick_status

    b, margin = HCPC_CONTACTS[0], 1.48
    r95 = one_sample_mean(mean, sd, n, conf_level=0.95)
    r90 = one_sample_mean(mean, sd, n, conf_level=0.90)
    status = yardstick_status(
        (r95.conf_low, r95.conf_high), (r90.conf_low, r90.conf_high), b, margin
    )
    if r95.conf_high < b:
        assert status == "below"
    elif r95.conf_low > b:
        assert status == "above"
    elif b - margin < r90.conf_low and r90.conf_high < b + margin:
        assert status == "similar"
    else:
        assert status == "inconclusive"


def test_repr_gives_each_indicator_with_its_interval_and_status(cohort: pd.DataFrame) -> None:
    # the repr printed bare values ("retention=0.866, uncontrolled_at_referral=1"): no CI,
    # no status against the yardstick, shares not in percent, NaN as "nan"
    from coachstats.tracking import Metric, ProgramMetrics

    m = program_metrics(cohort)
    text = repr(m)
    assert "\n" not in text and len(text) < 400
    r = m["retention"]  # 194 of 224 coached patients: 86.6 %
    assert f"retention 87 % (95% CI {100 * r.conf_low:.0f} % to {100 * r.conf_high:.0f} %; " in text
    assert "caseload 74.7 (within)" in text  # 224 / 3 coaches, inside 70-100
    assert "similar" in text.split("contacts 12.4 (95% CI")[1].split(")")[0]
    empty = ProgramMetrics((Metric("contacts", "Contacts per patient", math.nan),))
    assert repr(empty) == "<ProgramMetrics: contacts n/a>"
    assert repr(ProgramMetrics(())) == "<ProgramMetrics: no indicator>"

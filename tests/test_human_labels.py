"""Human labels instead of column names and arm codes in what a reader sees (issue 20).

The methods sentences (reports, ``analyze``, ``evaluate``), the CONSORT flow text and
the evaluation's header name columns and arms by the labels of
:mod:`coachstats.core.vocabulary`: ``baseline HbA1c``, not ``hba1c_0``; ``Health
coaching``, not ``coaching``. The checks run over every registered trial's plan and
every column the schema and the endpoints define, not over one example.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.compare.proportions import two_proportions
from coachstats.core.vocabulary import (
    GOAL_MEASURES,
    MEASURES,
    OUTCOME_LABELS,
    arm_label,
    column_phrase,
    condition_words,
    humanize_names,
)
from coachstats.data.io import load_trial
from coachstats.data.schema import PATIENT_SCHEMA
from coachstats.goals import HCPC_GOALS, PEER_GOALS
from coachstats.plan import AnalysisSpec
from coachstats.present.report.methods import evaluation_methods, methods_sentence, methods_text
from coachstats.present.tables import methods_note
from coachstats.tasks.evaluate import EvaluationResult
from coachstats.tasks.reproduce import bundled_table
from coachstats.trials.registry import get_trial, list_trials

#: A column name as code writes it: lower-case words joined by underscores.
RAW_NAME = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
#: The one code name the methods may print: the function every analysis runs through.
CODE_NAMES = {"run_plan"}
#: Raw arm codes followed by a count, as a flow line would print them.
RAW_ARM = re.compile(r"(?<!Health )\b(coaching|usual_care) \d")


def raw_names(text: str) -> list[str]:
    return [t for t in RAW_NAME.findall(text) if t not in CODE_NAMES]


def _schema_columns() -> list[str]:
    columns = []
    for spec in PATIENT_SCHEMA:
        if spec.per_month:
            columns += [f"{spec.name}_0", f"{spec.name}_6", f"{spec.name}_12"]
        elif spec.name not in ("patient_id", "arm"):
            columns.append(spec.name)
    return [c for c in columns if not c.startswith("bp_")]  # split into sbp/dbp on load


def _endpoint_columns() -> list[str]:
    return [
        *OUTCOME_LABELS,
        *(f"{m}_above_goal" for m in GOAL_MEASURES),
        *(f"uncontrolled_{m}" for m in MEASURES),
        "hba1c_lt_7_5_0",
        "trust_0",
        "pacic_12",
        "recommend_pcp_definitely_0",
    ]


@pytest.mark.parametrize("column", _schema_columns() + _endpoint_columns())
def test_every_schema_and_endpoint_column_has_a_phrase(column: str) -> None:
    phrase = column_phrase(column)
    assert "_" not in phrase, (column, phrase)
    assert phrase.strip() == phrase and phrase


@given(
    st.sampled_from(_schema_columns() + _endpoint_columns()),
    st.sampled_from(["==", "!=", ">=", "<=", ">", "<"]),
    st.one_of(st.floats(0, 500, allow_nan=False).map(lambda x: f"{x:g}"), st.just("True")),
)
def test_conditions_read_as_words(column: str, op: str, value: str) -> None:
    """Any comparison of a known column reads as words that follow "patients"."""
    words = condition_words(f"{column} {op} {value}")
    assert not raw_names(words), words
    assert words.split(" ", 1)[0] in ("with", "without", "in", "at")


def test_conditions_name_arms_and_sites_and_join_parts() -> None:
    assert condition_words("arm == 'usual_care'") == "in the usual care arm"
    assert condition_words("(hba1c_0 >= 8.0) & (site == 'B')") == (
        "with baseline HbA1c \u2265 8.0 and at site B"
    )
    assert condition_words("uncontrolled_sbp == False") == "without SBP uncontrolled at baseline"


def test_a_column_of_your_own_keeps_its_name() -> None:
    assert column_phrase("my_score") == "my_score"
    assert humanize_names("missing my_score (3)") == "missing my_score (3)"


@pytest.mark.parametrize("trial", list_trials())
def test_methods_of_every_registered_trial_name_no_column(trial: str) -> None:
    """The report's methods text of each trial (its targets labelled, as the report does)."""
    t = get_trial(trial)
    labels = {x.analysis.label: x.label for x in t.targets}
    labels |= {x.values_analysis.label: x.label for x in t.targets if x.values_analysis}
    sentences = methods_text(t.plan().specs, labels=labels)
    assert sentences
    for s in sentences:
        assert not raw_names(s), s


def test_methods_sentence_of_an_unlabelled_spec_uses_the_outcome_label() -> None:
    spec = AnalysisSpec(
        "change_hba1c",
        "linear",
        covariates=("hba1c_0", "marital_status", "n_uncontrolled"),
        cluster="clinician_id",
        subset="uncontrolled_hba1c == True",
        complete_on=("hba1c_12",),
    )
    text = methods_sentence(spec)
    assert text.startswith("HbA1c change (%): linear regression, adjusted for baseline HbA1c")
    assert "among patients with HbA1c uncontrolled at baseline" in text
    assert not raw_names(text), text


def test_methods_note_names_exclusions_covariates_and_clusters() -> None:
    r = two_proportions(30, 60, 20, 60, labels=("coaching", "usual_care"), outcome="at_goal_ldl")
    r = r.replace(
        n_excluded=7,
        excluded_reason="outside the analysed subgroup hba1c_0 >= 8.0 (4), missing at_goal_ldl (3)",
        adjusted_for=("age", "ldl_above_goal"),
        cluster="coach_id",
    )
    text = methods_note(r)
    assert "missing LDL at goal (3)" in text and "baseline HbA1c >= 8.0" in text
    assert "adjusted for age and baseline LDL above the patient's goal" in text
    assert "clustered by coach" in text
    assert not raw_names(text), text


def test_evaluation_methods_name_no_column(evaluated_two_arm: EvaluationResult) -> None:
    res = evaluated_two_arm
    methods = evaluation_methods(res)
    assert any("missing at goal for >= 1 condition" in m for m in methods)
    for m in methods:
        # p_published is a formula's symbol (Cohen's h), not a column
        assert not [t for t in raw_names(m) if t != "p_published"], m
    assert not [t for n in res.notes for t in raw_names(n)], res.notes
    assert res.sentence().split(": ", 1)[1].startswith("two-arm program (Health coaching 3")


@pytest.mark.parametrize(("cohort", "goals"), [("hcpc", HCPC_GOALS), ("peer", PEER_GOALS)])
def test_flow_text_names_the_arms(cohort: str, goals: object) -> None:
    td = load_trial(bundled_table(f"{cohort}_patients"), require_baseline=False)
    text = td.flow_for(goals).summary()  # type: ignore[arg-type]
    assert not RAW_ARM.search(text), text
    for arm, n in td.flow.randomized.items():
        assert f"{arm_label(arm, 'plain')} {n}" in text.splitlines()[0]


def test_analyze_output_names_the_arms() -> None:
    path = str(bundled_table("hcpc_patients"))
    out = CliRunner().invoke(app, ["analyze", path])
    assert out.exit_code == 0, out.output
    assert not RAW_ARM.search(out.output)
    assert "Enrolled: Health coaching 224, Usual care 217 (total 441)" in out.output

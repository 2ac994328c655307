"""What a researcher reads in a notebook: the documented examples print what they say.

Each test reproduces one reading of the Python API (README's "In a notebook",
docs/quickstart.md) and checks the number or wording a paper would take from it.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

import coachstats as cs
from coachstats.core.errors import DataWarning
from coachstats.core.paths import bundled_table

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_plan() -> tuple[object, object]:
    from coachstats.analysis import AnalysisPlan, AnalysisSpec, run_plan

    trial = cs.load_trial(bundled_table("hcpc_patients"))
    plan = AnalysisPlan(
        [
            AnalysisSpec("composite_any", "chi_square", label="One clinical goal"),
            AnalysisSpec(
                "at_goal_hba1c", "logistic", covariates=("age", "site"), label="HbA1c goal"
            ),
            AnalysisSpec(
                "change_hba1c",
                "linear",
                covariates=("age",),
                cluster="clinician_id",
                options={"cluster_vcov": "CR2"},
                label="HbA1c change",
            ),
            AnalysisSpec(
                "composite_any",
                "chi_square",
                missing="failure",
                label="One clinical goal, missing = failure",
            ),
        ],
        goals="hcpc",
    )
    return plan, run_plan(trial, plan)


def test_quickstart_outcome_table_is_the_one_the_plan_prints() -> None:
    """docs/quickstart.md shows the table of step 5: every row is the code's, as printed.

    The doc table is compared with ``to_markdown`` of the plan the page runs (the
    page's own example); a stale row (other n, other odds ratio) would be
    copied into a paper as the bundled cohort's result.
    """
    from coachstats.tables import to_markdown

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # the page's plan is one a reader can copy
        plan, results = _quickstart_plan()
    printed = to_markdown(list(results.results), labels=[s.label for s in plan.specs])
    page = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    doc_rows = [ln for ln in page.splitlines() if re.match(r"^\| (One clinical|HbA1c)", ln)]
    code_rows = [ln for ln in printed.splitlines() if re.match(r"^\| (One clinical|HbA1c)", ln)]
    assert len(code_rows) == 4
    assert doc_rows == code_rows


def _hcpc_endpoints():  # type: ignore[no-untyped-def]
    return cs.load_trial(bundled_table("hcpc_patients")).endpoints(cs.HCPC_GOALS)


def test_cr1_on_two_clusters_says_its_interval_is_too_narrow() -> None:
    """README's ``logistic(df, ..., cluster="site")`` on the bundled cohort (2 sites).

    The CR1 sandwich on 2 clusters gives OR 1.63 (1.62 to 1.64), P < .001: an
    interval 100 times narrower than the unclustered one, read as certainty. The
    estimator is R's (sandwich::vcovCL), so the number stays; the result must
    say that CR1 is biased downwards with few clusters, with a Python fix.
    """
    from coachstats.compare.models import linear, logistic

    df = _hcpc_endpoints()
    with pytest.warns(DataWarning, match=r"2 clusters"):
        r = logistic(df, "composite_any", covariates=["age"], cluster="site")
    note = r.extra["note"]
    assert "2 clusters" in note and "too narrow" in note
    assert "gee(" in note and 'small_sample="MD"' in note
    assert "note" in r.to_dict() and "too narrow" in r.summary()
    with pytest.warns(DataWarning, match=r"17 clusters"):
        lin = linear(df, "change_hba1c", covariates=["age"], cluster="clinician_id")
    assert 'cluster_vcov="CR2"' in lin.extra["note"]
    # CR2 is the small-sample fix itself: no warning, no note
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        cr2 = linear(
            df, "change_hba1c", covariates=["age"], cluster="clinician_id", cluster_vcov="CR2"
        )
    assert "note" not in cr2.extra


def test_an_unrecognised_level_warns_in_a_notebook_and_is_noted_once_on_the_command_line(
    tmp_path: Path,
) -> None:
    """review 4: 'zz' in the sex column was kept silently (only in TrialData.notes)."""
    from typer.testing import CliRunner

    from coachstats.cli import app
    from coachstats.core.errors import NotedWarning

    df = pd.read_csv(bundled_table("hcpc_patients"))
    df.loc[9, "sex"] = "zz"
    with pytest.warns(NotedWarning, match="sex: level\\(s\\) 'zz' not recognised"):
        trial = cs.load_trial(df)
    assert any("'zz' not recognised" in n for n in trial.notes)  # and kept in the notes
    path = tmp_path / "zz.csv"
    df.to_csv(path, index=False)
    out = CliRunner().invoke(app, ["analyze", str(path)]).output
    assert out.count("'zz' not recognised") == 1  # the result's note, not a second warning


def test_reproduction_counts_are_integers_in_the_tidy_frame() -> None:
    """review 4: n_usual_care printed 217.0 (a float column, because one target has one group)."""
    from coachstats.tasks.reproduce import reproduce

    frame = reproduce("hcpc").to_frame()
    assert str(frame["n_coaching"].dtype) == "Int64" and str(frame["n_usual_care"].dtype) == "Int64"
    first = frame.set_index("target").loc["randomized"]
    assert (first["n_coaching"], first["n_usual_care"]) == (224, 217)
    assert frame.set_index("target").loc["coaches", "n_usual_care"] is pd.NA


def test_a_plan_result_reads_in_one_line() -> None:
    """review 4: the repr dumped every AnalysisSpec (over 1,500 characters for 4 specs)."""
    _, results = _quickstart_plan()
    text = repr(results)
    assert text.startswith("<PlanResult: 4 analyses, goals hcpc, data ") and len(text) < 200
    assert "hcpc_patients.csv" in text and "AnalysisSpec" not in text

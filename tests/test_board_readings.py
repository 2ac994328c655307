"""What a board member, a researcher or a CI job reads must mean what it says.

Defects found by reading the outputs as their users do (a review of the CLI, the
HTML/Word reports and the JSON), each pinned by the meaning the output must
have, computed here from the published figures, never from the code's own output.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from coachstats.present.report.formats import value_text
from coachstats.tasks.evaluate.rows import StandardizedComparison

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult


def _not_standardized(result: EvaluationResult, target: str) -> StandardizedComparison:
    """The evaluation's standardized HCPC row of ``target`` as a row whose model had no
    estimate (as a separated logistic fit gives)."""
    row = next(s for s in result.standardized if s.trial == "hcpc" and s.target == target)
    return replace(row, result=None, error="no estimate", judgement=None, crude=math.nan)


def test_row_not_standardized_shows_the_published_effect_in_percentage_points(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # HCPC printed 34.0 % vs 24.7 % at goal for every condition: its effect is 9.3 points.
    # A two-arm row that could not be standardized showed 0.34 (the coaching arm's share,
    # as a fraction) in the report's "Published" column, next to 12.1, 21.0 and 16.4.
    row = _not_standardized(evaluated_two_arm, "composite_all").to_dict()
    assert row["published"] == pytest.approx(0.340 - 0.247)
    assert row["estimand"] == "standardized risk difference"
    assert value_text(row["published"], row["estimand"]) == "9.3"
    assert row["verdict"] == "not analysed"


def test_single_arm_row_not_standardized_shows_the_published_coaching_arm(
    evaluated_single_arm: EvaluationResult,
) -> None:
    row = _not_standardized(evaluated_single_arm, "composite_all").to_dict()
    assert row["published"] == pytest.approx(0.340)
    assert value_text(row["published"], row["estimand"]) == "34.0"


def _small_program() -> pd.DataFrame:
    """40 patients with diabetes; one coached patient, no usual-care one, at every goal."""
    rng = np.random.default_rng(7)
    n = 40
    arm = np.where(np.arange(n) % 2 == 0, "coaching", "usual_care")
    a1c0 = np.round(rng.normal(9.0, 1.0, n), 1)
    a1c12 = np.round(a1c0 - rng.normal(0.5, 0.8, n), 1)
    return pd.DataFrame(
        {
            "patient_id": [f"M{i:03d}" for i in range(n)],
            "arm": arm,
            "age": rng.integers(35, 75, n),
            "diabetes": True,
            "hypertension": True,
            "hyperlipidemia": False,
            "hba1c_0": np.maximum(a1c0, 8.1),
            "hba1c_12": a1c12,
            "sbp_0": np.round(rng.normal(150, 10, n)),
            "sbp_12": np.round(rng.normal(146, 10, n)),
        }
    )


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_separated_standardization_gives_no_advice_evaluate_does_not_offer() -> None:
    # The logistic fit's advice ("remove or coarsen the separating covariate") cannot be
    # followed: evaluate fixes the standardization's covariates. The row says why it has no
    # figure, and still shows the published effect on its own scale.
    from coachstats.tasks.evaluate import evaluate

    data = _small_program()
    both = (data["hba1c_12"] <= 8.0) & (data["sbp_12"] < 140)
    data.loc[both & (data["arm"] == "usual_care"), "sbp_12"] = 150
    data.loc[data.index[both & (data["arm"] == "coaching")][1:], "sbp_12"] = 150
    res = evaluate(data, against="hcpc", tracking=False)
    row = next(s for s in res.standardized if s.target == "composite_all")
    assert row.result is None
    assert "coarsen" not in row.sentence() and "remove" not in row.sentence()
    assert "no estimate" in row.sentence()
    assert row.to_dict()["published"] == pytest.approx(0.340 - 0.247)


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_single_arm_program_is_not_told_a_size_per_arm() -> None:
    # A single-arm program has one group: "about 180 patients per arm would be needed" asked
    # a board for twice the patients it needs (or for a control arm it does not plan).
    from coachstats.tasks.evaluate import evaluate

    data = _small_program().drop(columns=["arm"])
    res = evaluate(data, against="hcpc", tracking=False, standardize=False, design="single-arm")
    sized = [a for a in res.arms if a.judgement is not None and math.isfinite(a.judgement.n_needed)]
    assert sized, "expected an inconclusive comparison a larger program would settle"
    for a in sized:
        assert "patients would be needed" in a.sentence()
        assert "per arm" not in a.sentence()


def test_evaluate_without_follow_up_lists_each_outcome_once(tmp_path: Path) -> None:
    # Each outcome is compared on two scales (risk difference, odds ratio): its failure was
    # listed twice, and with no follow-up column the month read "month-None".
    from typer.testing import CliRunner

    from coachstats.cli import app

    path = tmp_path / "baseline_only.csv"
    _small_program().drop(columns=["hba1c_12", "sbp_12"]).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["evaluate", str(path), "--against", "hcpc"])
    assert res.exit_code == 2
    lines = [ln.strip() for ln in res.output.splitlines() if "cannot be analysed" in ln]
    assert lines and len(lines) == len(set(lines))
    assert {ln.split(":")[0] for ln in lines} == {
        "at goal for >= 1 condition (hcpc)",
        "at goal for all conditions (hcpc)",
        "HbA1c at goal (<= 8.0 %) (hcpc)",
        "LDL at goal (hcpc)",
    }
    assert "None" not in res.output


def test_each_trial_citation_names_its_pmid_once() -> None:
    # `coachstats trials` printed "PMID 25125508 PMID 25125508" for every evidence trial.
    from coachstats.tasks.evidence import trial_table

    table = trial_table()
    for citation in table["citation"]:
        pmids = re.findall(r"PMID (\d+)", citation)
        assert len(pmids) == len(set(pmids)), citation
    assert any("PMID" in c for c in table.loc[table["kind"] == "evidence", "citation"])


def test_power_from_a_published_effect_says_where_it_comes_from_and_what_it_assumes() -> None:
    # The peer trial printed SDs of 2.8 and 3.1 for the HbA1c change, not the 2.949 the plan
    # uses: the pooling, the paper and the planning assumption are said where the SD is used.
    from typer.testing import CliRunner

    from coachstats.cli import app

    res = CliRunner().invoke(app, ["power", "--published", "peer_hba1c_change"])
    assert res.exit_code == 0
    out = res.output
    expected_sd = math.sqrt((121 * 2.8**2 + 113 * 3.1**2) / 234)
    assert f"SD = {expected_sd:.4g}" in out
    assert "Thom DH" in out and "Ann Fam Med 2013" in out
    assert "2.8 (n 122) and 3.1 (n 114)" in out
    assert "assumed: the true effect is the published estimate" in out


def test_power_names_the_option_that_was_mistyped() -> None:
    from typer.testing import CliRunner

    from coachstats.cli import app

    res = CliRunner().invoke(app, ["power", "--published", "peer_hba1c"])
    assert res.exit_code == 2
    assert "--published='peer_hba1c'" in res.output and "key=" not in res.output


def test_standardized_figures_say_their_reference_is_a_synthetic_cohort(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # "standardized to HCPC 2015's baseline" averages over coachstats' synthetic cohort (its
    # diabetes share is not published; how age and baseline labs go together is assumed):
    # the text says so where the standardized figures are printed, and each JSON row names it.
    block = evaluated_two_arm.summary().split("Standardized to each trial's baseline")[1]
    assert "synthetic cohort" in block.split("\n")[0]
    rows = [s.to_dict() for s in evaluated_two_arm.standardized if s.result is not None]
    assert rows and all("synthetic" in r["method"] for r in rows)


def test_a_single_arm_figure_standardized_is_still_called_before_after(
    evaluated_single_arm: EvaluationResult,
) -> None:
    # A single-arm SBP change standardized to the peer trial's baseline (higher SBP than the
    # program's) moved from -5.4 to -15.3 mm Hg and was read "larger ... favours the program"
    # with no word that it is a before-after figure: the model's slope on baseline SBP is
    # mostly regression to the mean, which the standardization carries to the trial's
    # baselines. Every single-arm standardized sentence says what the figure is.
    from coachstats.tasks.evaluate.wording import CAVEAT

    rows = [s for s in evaluated_single_arm.standardized if s.result is not None]
    assert rows
    for row in rows:
        assert CAVEAT in row.sentence()
    changes = [r for r in rows if r.outcome.startswith("change_")]
    assert changes
    for row in changes:
        measure = row.outcome.removeprefix("change_")
        if f"{measure}_0" in row.result.adjusted_for:  # type: ignore[union-attr]
            assert "regression to the mean, so moving the program's patients" in row.sentence()


def _six_month_program() -> pd.DataFrame:
    data = _small_program().rename(columns={"hba1c_12": "hba1c_6", "sbp_12": "sbp_6"})
    data["hba1c_6"] = data["hba1c_6"] - np.where(data["arm"] == "coaching", 0.8, 0.0)
    return data


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_six_month_program_pays_for_six_months_of_coaching() -> None:
    # The peer trial's outcomes are at 6 months; the cost per additional patient at goal took
    # a whole year of the coach's salary (and HCPC's 12-month coaching minutes) for them.
    from coachstats.tasks.evaluate import evaluate

    res = evaluate(_six_month_program(), against="peer", tracking=False, standardize=False)
    assert res.impact is not None and res.impact.rows
    salary_per_patient = 2080 * 20.19 * 6 / 12 / 85  # BLS median MA wage, 85 per coach
    minutes_per_patient = 540.8 * 6 / 12 / 60 * 20.19  # HCPC's 540.8 min over 12 months
    for row in res.impact.rows:
        nnt = row.caseload.nnt.nnt
        assert row.caseload.estimate == pytest.approx(nnt * salary_per_patient, rel=1e-3)
        assert row.minutes.estimate == pytest.approx(nnt * minutes_per_patient, rel=1e-3)
    assert "6/12 months" in res.impact.caseload_basis
    assert "every patient coached for the whole 6 months" in res.impact.assumptions


def _wide_tables_without_compact_type(html: str) -> tuple[list[str], list[str]]:
    """The classes of the report's tables of 12 or more header cells, and those of them that
    no rule of the report's style sets in a smaller type."""
    import lxml.html

    parsed = lxml.html.document_fromstring(html)
    style = " ".join(s.text_content() for s in parsed.xpath("//style"))
    compact = {
        sel.strip()
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style)
        if "font-size" in body
        for sel in selectors.split(",")
    }
    wide = [
        str(t.get("class")) for t in parsed.xpath("//table") if len(t.xpath("./thead/tr/th")) >= 12
    ]
    return wide, [c for c in wide if f"table.{c}" not in compact]


def test_every_wide_evaluation_table_keeps_its_verdict_column_on_the_page(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # The standardized table (14 columns) kept the report's normal type: printed, its Verdict
    # column fell off the page. Every table of 12 or more columns gets the compact type
    # (screen and print) that the comparison tables already had.
    from coachstats.present.report import build_report, report_from_evaluation

    html = build_report(report_from_evaluation(evaluated_two_arm, figures=False))
    wide, loose = _wide_tables_without_compact_type(html)
    assert "standardized" in wide
    assert loose == []


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_reproduction_tables_keep_verdict_and_provenance_on_the_page() -> None:
    # Printed, the reproduction tables lost their Verdict and Provenance columns: the column
    # that says a match was built into the cohort ("construction") fell off the page.
    from coachstats.present.report import build_report, report_from_reproduction
    from coachstats.tasks.reproduce import reproduce

    html = build_report(report_from_reproduction(reproduce(["hcpc"]), figures=False))
    wide, loose = _wide_tables_without_compact_type(html)
    assert "reproduction" in wide
    assert loose == []


def test_advice_for_unmatched_sex_codes_does_not_map_every_code_to_female() -> None:
    # Sex coded 1/2: the note advised "--levels sex=1:female,2:female", which, copied as it
    # stood, made every patient female (a 100 % female case mix).
    from coachstats.data.schema import validate_patients

    raw = pd.DataFrame(
        {"patient_id": ["a", "b", "c"], "arm": ["coaching"] * 3, "sex": [1, 2, 2], "hba1c_0": 9.0}
    )
    _, notes = validate_patients(raw, n_arms=1)
    (note,) = [n for n in notes if n.startswith("sex:")]
    advice = re.search(r"--levels sex=(\S+?),? each", note)
    assert advice is not None, note
    targets = [pair.split(":")[1] for pair in advice.group(1).rstrip(",").split(",")]
    assert len(targets) == 2
    assert not set(targets) & {"female", "male", "other"}, note  # no meaning guessed
    assert "one of female, male, other" in note


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_single_arm_analysis_says_its_changes_have_no_control() -> None:
    # `analyze` printed a single-arm program's HbA1c change (-0.73, 95 % CI -1.06 to -0.39)
    # with nothing saying it is a before-after change without a control group, which
    # `evaluate` says of the same figure.
    from coachstats.tasks.evaluate import analyze

    res = analyze(_small_program().drop(columns=["arm"]), design="single-arm", tracking=False)
    text = res.summary()
    table_end = text.index("As the practice brief presents them")
    under_table = text[:table_end]
    assert "without a concurrent control group" in under_table
    assert "regression to the mean" in under_table
    assert any("without a concurrent control group" in n for n in res.to_dict()["notes"])


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_figures_not_reproducible_on_a_file_name_the_missing_column_not_all_columns(
    tmp_path: Path,
) -> None:
    # reproduce --data printed, for each figure needing a column the file lacks, the whole list
    # of the file's columns ("; available: patient_id, arm, ..." ~40 names), twelve times over.
    from typer.testing import CliRunner

    from coachstats.cli import app

    path = tmp_path / "program.csv"
    _small_program().to_csv(path, index=False)
    res = CliRunner().invoke(app, ["reproduce", "hcpc", "--data", str(path)])
    assert res.exit_code == 1  # on --data every figure counts, and these differ
    failed = [ln for ln in res.output.splitlines() if "analysis failed" in ln]
    assert any("'coach_id'" in ln for ln in failed)
    assert not [ln for ln in failed if "available" in ln]


def test_a_follow_up_mismatch_is_said_in_each_verdict_sentence() -> None:
    # The HCPC cohort has months 12 and 24; the peer trial's effects are at month 6. The
    # comparison uses month 12, which must be said where the verdict is read, not only in
    # a note at the end.
    from coachstats.synthetic import hcpc_cohort
    from coachstats.tasks.evaluate import evaluate

    res = evaluate(hcpc_cohort().patients, against="all", tracking=False, standardize=False)
    mismatch = "the published effect is at month 6, the program's at month 12"
    peer = [e for e in res.effects if e.trial == "peer" and e.primary]
    hcpc = [e for e in res.effects if e.trial == "hcpc" and e.primary]
    assert peer and hcpc
    assert all(mismatch in e.sentence() for e in peer)
    assert not any("the published effect is at month" in e.sentence() for e in hcpc)


def test_a_row_whose_interval_and_p_disagree_says_so() -> None:
    # 11/20 vs 5/20: the Wald interval of the difference excludes 0, Pearson's P is above .05
    # (computed here by hand); a reader who sees both must be told they disagree.
    from coachstats.compare.proportions import two_proportions
    from coachstats.present.tables import DISAGREE_NOTE, journal_table

    p1, p2 = 11 / 20, 5 / 20
    wald_low = (p1 - p2) - 1.959963984540054 * math.sqrt(p1 * (1 - p1) / 20 + p2 * (1 - p2) / 20)
    pooled = 16 / 40
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 20))
    p_chi = math.erfc(abs(z) / math.sqrt(2))
    assert wald_low > 0 and p_chi > 0.05  # the case itself, by hand
    odd = two_proportions(11, 20, 5, 20, outcome="composite_any")
    plain = two_proportions(90, 194, 61, 178, outcome="composite_all")
    table = journal_table([odd, plain], labels=["odd", "plain"])
    assert table.marks[0] != table.marks[1]
    odd_note = next(n for n in table.notes if n.startswith(f"{table.marks[0]} "))
    plain_note = next(n for n in table.notes if n.startswith(f"{table.marks[1]} "))
    assert DISAGREE_NOTE in odd_note and DISAGREE_NOTE not in plain_note


def test_a_peer_program_is_not_judged_on_the_full_time_caseload() -> None:
    # The bundled peer cohort has the peer trial's own 148 coached patients and 23 peer
    # coaches (6.4 each); judged on the 70-100 per full-time medical assistant it read
    # "below the yardstick's range".
    from coachstats.synthetic import peer_cohort
    from coachstats.tasks.tracking import program_metrics

    m = program_metrics(peer_cohort().patients, goals="peer")
    load = m["caseload"]
    assert load.status == "" and "not judged" in load.benchmark_text
    assert load.benchmark == pytest.approx(148 / 23)
    assert "below" not in load.text() and "full time" not in " ".join(m.notes)
    hcpc = program_metrics(load_hcpc(), goals="hcpc")["caseload"]
    assert hcpc.status in ("below", "within", "above")


def load_hcpc() -> pd.DataFrame:
    from coachstats.synthetic import hcpc_cohort

    return hcpc_cohort().patients

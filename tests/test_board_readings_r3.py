"""What a board member or a statistician reads must mean what it says (a third review).

Defects found by reading the CLI, the HTML reports and the JSON as their users do;
each test pins the meaning the output must have, computed here from the data or
the published figures, never copied from the code's own output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult


def test_peer_comparisons_say_they_are_on_the_patients_with_baseline_hba1c_8_or_more(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # Against the peer trial only the program's patients with baseline HbA1c >= 8.0 are
    # compared (the trial's entry criterion). "The program's own effects" printed their SBP
    # and LDL changes as the program's effect, with nothing saying they are on that subgroup
    # (a note at the very end), while `analyze` gives the same outcomes on every patient.
    patients = evaluated_two_arm_patients()
    eligible = patients[patients["hba1c_0"] >= 8.0]
    peer = [e for e in evaluated_two_arm.effects if e.trial == "peer" and e.program is not None]
    hcpc = [e for e in evaluated_two_arm.effects if e.trial == "hcpc" and e.program is not None]
    assert peer and hcpc
    for e in peer:
        n1, n2 = (a.n for a in e.program.arms)
        assert n1 + n2 <= len(eligible)
        said = "patients with baseline HbA1c ≥ 8.0"
        assert said in e.program_sentence(), e.program_sentence()
        assert f"n {n1} vs {n2}" in e.program_sentence()
        assert said in e.to_dict()["population"]
    assert not any("baseline HbA1c ≥ 8.0" in e.program_sentence() for e in hcpc)
    headline = {h.split(":")[0]: h for h in evaluated_two_arm.headline()}
    assert "baseline HbA1c ≥ 8.0" in headline["SBP change (mm Hg)"]
    assert "baseline HbA1c ≥ 8.0" not in headline["at goal for >= 1 condition"]
    # the cost per additional patient at goal is computed on the same patients
    assert evaluated_two_arm.impact is not None
    peer_costs = [r.label for r in evaluated_two_arm.impact.rows if "Peer 2013" in r.label]
    assert peer_costs and all("baseline HbA1c ≥ 8.0" in o for o in peer_costs)


def test_single_arm_peer_figures_say_which_patients_they_are_on(
    evaluated_single_arm: EvaluationResult,
) -> None:
    peer = [a for a in evaluated_single_arm.arms if a.trial == "peer" and a.program is not None]
    hcpc = [a for a in evaluated_single_arm.arms if a.trial == "hcpc" and a.program is not None]
    assert peer and hcpc
    assert all("patients with baseline HbA1c ≥ 8.0" in a.program_sentence() for a in peer)
    assert not any("baseline HbA1c ≥ 8.0" in a.program_sentence() for a in hcpc)


def evaluated_two_arm_patients() -> pd.DataFrame:
    """The patients of the ``evaluated_two_arm`` fixture (tests/conftest.py)."""
    from coachstats.synthetic import hcpc_cohort

    return hcpc_cohort(n=600, seed=4).patients


def test_one_test_of_the_program_gets_one_adjusted_p(evaluated_two_arm: EvaluationResult) -> None:
    # The risk-difference and odds-ratio rows of an outcome carry the same test of the
    # program's own effect (Pearson's chi-square, P = .0174 on the bundled cohort), yet the
    # report's "P (adjusted)" column showed .14 on one row and .09 on the next: the odds
    # ratios were adjusted as a family of their own, smaller than the outcomes compared.
    effects = [e for e in evaluated_two_arm.effects if e.program is not None]
    primary = {(e.trial, e.target): e for e in effects if e.primary}
    pairs = [(primary[(e.trial, e.target)], e) for e in effects if not e.primary]
    assert pairs
    for first, second in pairs:
        assert second.program is not None and first.program is not None
        assert second.program.p_value == pytest.approx(first.program.p_value, rel=1e-9)
        assert second.program_p_adjusted == pytest.approx(first.program_p_adjusted, rel=1e-9)
        rows = (first.to_dict(), second.to_dict())
        assert rows[0]["program_p_adjusted"] == pytest.approx(rows[1]["program_p_adjusted"])
    # Holm over the outcomes compared (one P per outcome), by hand
    ps = sorted(e.program.p_value for e in primary.values() if e.program is not None)
    k = len(ps)
    holm, running = [], 0.0
    for i, p in enumerate(ps):
        running = max(running, min(1.0, (k - i) * p))
        holm.append(running)
    smallest = min(primary.values(), key=lambda e: e.program.p_value if e.program else 1.0)
    assert smallest.program_p_adjusted == pytest.approx(holm[0])


def test_a_row_without_a_patient_id_is_named_by_the_line_a_spreadsheet_shows(
    tmp_path: Path,
) -> None:
    # "missing patient id (row numbers shown) [rows: 2]" named the row's position counted
    # from 0 after the blank rows were skipped: in the file below it is line 5 (row 5 of a
    # spreadsheet), and row 2 is patient A1's.
    from coachstats.core.errors import SchemaError
    from coachstats.data.io import load_trial

    lines = [
        "patient_id,arm,diabetes,hba1c_0,hba1c_12",  # line 1
        "A1,coaching,yes,9.0,8.0",  # line 2
        ",,,,",  # line 3: blank, skipped
        "A2,usual_care,yes,9.1,8.5",  # line 4
        ",usual_care,yes,9.5,9.0",  # line 5: no id
        "A3,coaching,yes,10.0,7.0",  # line 6
    ]
    path = tmp_path / "program.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        load_trial(path)
    (row,) = [f for f in info.value.failures.to_dict("records") if f["column"] == "patient_id"]
    assert list(row["rows"]) == [5]
    assert "file line" in row["problem"]

    book = tmp_path / "program.xlsx"
    pd.DataFrame(
        {"patient_id": ["A1", None, "A2"], "arm": ["coaching", "usual_care", "coaching"]}
    ).assign(hba1c_0=9.0, hba1c_12=8.0).to_excel(book, index=False)
    with pytest.raises(SchemaError) as info:
        load_trial(book)
    (row,) = [f for f in info.value.failures.to_dict("records") if f["column"] == "patient_id"]
    assert list(row["rows"]) == [3]  # header on row 1, A1 on row 2


def test_a_data_frame_row_without_a_patient_id_is_named_by_its_position() -> None:
    from coachstats.core.errors import SchemaError
    from coachstats.data.schema import validate_patients

    raw = pd.DataFrame({"patient_id": ["a", None, "c"], "arm": ["coaching"] * 3, "hba1c_0": 9.0})
    with pytest.raises(SchemaError) as info:
        validate_patients(raw, n_arms=1)
    (row,) = [f for f in info.value.failures.to_dict("records") if f["column"] == "patient_id"]
    assert list(row["rows"]) == [1] and "from 0" in row["problem"]


def test_without_an_id_column_a_bad_cell_is_named_by_its_file_line(tmp_path: Path) -> None:
    # Before the id column is mapped, problems name rows by number: '#VALUE!' on line 4 of
    # the file was reported as "[rows: 2]".
    from coachstats.core.errors import SchemaError
    from coachstats.data.io import load_trial

    path = tmp_path / "program.csv"
    path.write_text(
        "MRN,arm,age,hba1c_0,hba1c_12\n"
        "A1,coaching,50,9.0,8.0\n"
        "A2,usual_care,51,9.1,8.5\n"
        "A3,usual_care,#VALUE!,9.5,9.0\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as info:
        load_trial(path)
    (row,) = [f for f in info.value.failures.to_dict("records") if f["column"] == "age"]
    assert list(row["rows"]) == [4]


def test_an_adjusted_p_that_decides_a_verdict_shows_the_digit_that_decides(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # An equivalence P of .0455 after Holm's adjustment makes a comparison "similar" at
    # alpha = .05; the tables printed it as ".05", which a reader takes for "not below .05"
    # next to the verdict it produced. The sentences already showed .046 for the program's own
    # P; every adjusted P printed beside a verdict does.
    from dataclasses import replace as swap

    from coachstats.core.formatting import format_p
    from coachstats.present.report import build_report, report_from_evaluation

    shown = format_p(0.0455, alpha=0.05)
    assert shown != ".05" and float(shown) < 0.05
    assert format_p(0.0499, alpha=0.05) == ".0499"  # .050 would still read as alpha
    assert format_p(0.0501, alpha=0.05) == ".0501"
    assert float(format_p(0.054, alpha=0.05)) > 0.05
    assert format_p(0.05, alpha=0.05) == ".05" and format_p(0.02, alpha=0.05) == ".02"
    assert format_p(0.0455) == ".05"  # journal style where no verdict rests on it

    row = next(e for e in evaluated_two_arm.effects if e.primary and e.judgement is not None)
    assert row.judgement is not None
    j = swap(row.judgement, verdict="similar", p_equivalence_adjusted=0.0455)
    res = swap(
        evaluated_two_arm,
        effects=tuple(swap(e, judgement=j) if e is row else e for e in evaluated_two_arm.effects),
    )
    table = res.summary().split("Outcomes (shares in %")[1].split("\n\n")[0]
    assert f" {shown} " in table
    html = build_report(report_from_evaluation(res, figures=False))
    assert f">{shown}<" in html.replace(" ", "")


def test_the_peer_trial_is_not_a_100_percent_yardstick_for_patients_uncontrolled_at_referral() -> (
    None
):
    # The peer trial enrolled on a screening HbA1c >= 8.0 %, yet 5 of its 122 coached
    # complete cases had a baseline HbA1c below 7.5 % (printed): its own share uncontrolled at
    # baseline was below 100 %. Judged against "100 % (trial eligibility)", the bundled peer
    # cohort -- the trial's own figures -- read "below the yardstick".
    from coachstats.synthetic import hcpc_cohort, peer_cohort
    from coachstats.tasks.tracking import program_metrics

    m = program_metrics(peer_cohort().patients, goals="peer")["uncontrolled_at_referral"]
    assert m.status == ""
    assert "not judged" in m.benchmark_text
    assert "5 of" in m.benchmark_text and "122" in m.benchmark_text
    assert "below the yardstick" not in m.text()
    hcpc = program_metrics(hcpc_cohort().patients, goals="hcpc")["uncontrolled_at_referral"]
    assert hcpc.status == "similar"  # HCPC's eligibility is judged as before


@pytest.mark.filterwarnings("ignore::coachstats.core.errors.DataWarning")
def test_each_outcome_row_of_the_html_report_names_its_method() -> None:
    # The peer trial's LDL change: -3.90 vs -3.00 in the arms, and a "Mean difference" of
    # +1.19 -- the mixed model's within-clinic estimate, opposite in sign to the difference of
    # the arms' means. The text and Word tables letter each row's method (a footnote says
    # "linear mixed model ... random intercept"); the HTML table said nothing of it.
    import lxml.html

    from coachstats.present.report import build_report, report_from_reproduction
    from coachstats.tasks.reproduce import reproduce

    html = build_report(report_from_reproduction(reproduce(["peer"]), figures=False))
    doc = lxml.html.document_fromstring(html)
    (table,) = doc.xpath("//section[@id='outcomes']//table[contains(@class, 'outcomes')]")
    note = table.getnext().text_content()
    (tr,) = [tr for tr in table.xpath("./tbody/tr") if tr.xpath("./td")[0].text == "LDL change"]
    cells = [td.text_content() for td in tr.xpath("./td")]
    arms = [float(cells[k].split(" (")[0]) for k in (3, 4)]
    difference = float(cells[6].split(" (")[0])
    assert (difference > 0) != (arms[0] - arms[1] > 0)  # the case itself: signs disagree
    marks = tr.xpath("./td[1]/sup/text()")
    assert marks, cells[0]
    (sentence,) = [
        n for n in re.split(r"(?<=\.) (?=[a-z]+ )", note) if n.startswith(marks[0] + " ")
    ]
    assert "mixed model" in sentence.lower() and "site" in sentence


def test_a_published_interval_the_paper_did_not_print_says_it_was_computed(
    evaluated_two_arm: EvaluationResult,
) -> None:
    # "Against HCPC 2015 (12.1 more in 100, 95 % CI 1.9 to 22.3 more)": HCPC printed 46.4 %
    # vs 34.3 %, P = .02, and no interval; the peer trial printed means, SDs and P = .01,
    # and the interval shown (0.01 to 1.53 lower) is the SDs', which a reader would cite as
    # the trial's own (and which its printed P contradicts). The sentence says where it comes
    # from.
    rows = {(e.trial, e.target): e for e in evaluated_two_arm.effects if e.primary}
    hcpc = rows[("hcpc", "composite_any")].sentence()
    assert "95 % CI 1.9 to 22.3 more, computed from its printed P" in hcpc
    peer = rows[("peer", "hba1c_change")].sentence()
    assert "computed from its printed means and SDs" in peer
    drop = rows[("peer", "hba1c_drop")].sentence()
    assert "computed from its printed counts" in drop


def test_unknown_arm_labels_are_told_the_commands_own_arms_option() -> None:
    # Arms coded 0/1: the fix offered was "on the command line, in the mapping file's arms:
    # section", though every command that reads a patient file takes --arms; the labels to
    # map are named, their meaning is not guessed.
    from coachstats.core.errors import SchemaError
    from coachstats.data.schema import validate_patients

    raw = pd.DataFrame({"patient_id": ["a", "b", "c"], "arm": [0, 1, 1], "hba1c_0": 9.0})
    with pytest.raises(SchemaError) as info:
        validate_patients(raw)
    (problem,) = [f["problem"] for f in info.value.failures.to_dict("records")]
    advice = re.search(r"--arms (\S+)", problem)
    assert advice is not None, problem
    pairs = dict(pair.split("=") for pair in advice.group(1).rstrip(",;)").split(","))
    assert set(pairs) == {"0", "1"}
    assert not set(pairs.values()) & {"coaching", "usual_care"}  # no meaning guessed


def test_evaluate_help_says_what_the_default_compares_with_and_its_exit_code() -> None:
    # The command list read "Compare a program with the published trials and the pooled
    # evidence: its own effect," (cut there): the evidence base is compared only with
    # --against evidence, and the exit code fell off the summary.
    from coachstats.cli.program import evaluate

    summary, _, details = (evaluate.__doc__ or "").strip().partition("\n\n")
    assert "\n" not in summary
    assert "exit 1" in summary
    assert "evidence" not in summary or "--against evidence" in summary
    assert "--against evidence" in details


def test_a_unit_mix_up_shows_the_median_as_a_reader_would_write_it() -> None:
    # LDL in mmol/L with an even number of values: "[values: 2.9850000000000003]".
    from coachstats.core.errors import SchemaError
    from coachstats.data.schema import validate_patients

    raw = pd.DataFrame(
        {"patient_id": ["a", "b"], "arm": ["coaching", "usual_care"], "ldl_0": [2.98, 2.99]}
    )
    with pytest.raises(SchemaError) as info:
        validate_patients(raw)
    (row,) = [f for f in info.value.failures.to_dict("records") if f["column"] == "ldl_0"]
    assert row["values"] == [2.985]
    assert "2.985]" in str(info.value) and "2.98500" not in str(info.value)


def test_the_exclusion_note_names_the_option_the_command_line_user_gave(tmp_path: Path) -> None:
    # "excluded as invalid (on_invalid='exclude')": the Python argument, on a command line
    # where the user typed --exclude-invalid (the baseline note already names both).
    from typer.testing import CliRunner

    from coachstats.cli import app

    path = tmp_path / "program.csv"
    path.write_text(
        "patient_id,arm,diabetes,age,hba1c_0,hba1c_12\n"
        "A1,coaching,yes,50,9.0,8.0\nA2,usual_care,yes,-4,9.1,8.5\n"
        "A3,usual_care,yes,60,9.5,9.0\nA4,coaching,yes,55,10.0,7.0\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["endpoints", str(path), "--exclude-invalid"])
    assert res.exit_code == 0, res.output
    (line,) = [ln for ln in res.output.splitlines() if "excluded as invalid" in ln]
    assert "--exclude-invalid" in line


def test_a_row_without_a_patient_id_is_excluded_and_no_patient_in_its_place(
    tmp_path: Path,
) -> None:
    """--exclude-invalid: the row with a blank id goes; patient 5 (whose id is that row's
    file line) stays. Before, a blank id was a problem of the whole file (exit 2)."""
    from coachstats.data.programdata import load_program

    path = tmp_path / "ids.csv"
    path.write_text(
        "patient_id,arm,diabetes,hba1c_0,hba1c_12,sbp_0,sbp_12,ldl_0,ldl_12\n"
        "1,coaching,True,9.1,8.0,150,140,170,150\n"
        "2,usual care,True,9.5,9.0,145,142,165,160\n"
        "3,coaching,False,,,160,150,180,150\n"
        ",usual care,True,9.0,8.8,150,151,170,168\n"  # file line 5
        "5,coaching,True,8.5,7.5,145,135,150,130\n"
        "6,usual care,True,9.9,9.5,155,150,175,170\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match=r"missing patient id \(file lines shown\) \[rows: 5\]"):
        load_program(path)
    td = load_program(path, on_invalid="exclude")
    assert sorted(td.patients["patient_id"].astype(str)) == ["1", "2", "3", "5", "6"]
    assert "excluded 1 row(s) without a patient id [file lines: 5]" in td.notes
    assert "1 patient row(s) excluded as invalid" in " ".join(td.notes)


def test_the_arms_advice_is_one_shell_word_when_a_label_has_a_space(tmp_path: Path) -> None:
    """review 4: '--arms Group 3=ARM,Group 4=ARM' would split in a shell; it is quoted now,
    and the quoted form is what --arms parses."""
    from typer.testing import CliRunner

    from coachstats.cli import app

    path = tmp_path / "groups.csv"
    path.write_text(
        "patient_id,arm,diabetes,hba1c_0,hba1c_12\n"
        "1,Group 3,True,9.1,8.0\n2,Group 4,True,9.5,9.0\n"
        "3,Group 3,True,9.0,8.1\n4,Group 4,True,9.9,9.5\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    out = runner.invoke(app, ["endpoints", str(path)]).output
    assert '--arms "Group 3=ARM,Group 4=ARM"' in out
    fixed = runner.invoke(
        app, ["endpoints", str(path), "--arms", "Group 3=coaching,Group 4=usual_care"]
    )
    assert fixed.exit_code == 0, fixed.output

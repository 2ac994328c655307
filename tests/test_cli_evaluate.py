"""``coachstats analyze`` and ``coachstats evaluate`` end to end on synthetic programs.

Programs come from the package's generators: an HCPC cohort (the coaching
effect as published), the same cohort with the effect removed
(:func:`coachstats.programs.without_effect`), a single-arm mixture of both arms
(:func:`coachstats.programs.single_arm_program`), and a messy real-world
export of an HCPC cohort (other column names, HbA1c in mmol/mol, extra
columns, bad rows, a blank row, Excel dates, a cover sheet) with CPT
encounter rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.programs import single_arm_program, synthetic_encounters, without_effect
from coachstats.synthetic import hcpc_cohort

runner = CliRunner()
KEEP = ["patient_id", "arm", "site", "coach_id", "diabetes", "age", "sex", "bmi_0", "pcp_visits",
        "coach_contacts", "hba1c_0", "hba1c_12", "sbp_0", "sbp_12", "ldl_0", "ldl_12"]  # fmt: skip


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort(n=2000, seed=3).patients[KEEP]


@pytest.fixture(scope="module")
def files(cohort: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("programs")
    paths = {
        "effect": d / "effect.csv",
        "null": d / "null.csv",
        "single": d / "single.csv",
    }
    cohort.to_csv(paths["effect"], index=False)
    without_effect(cohort, seed=2).to_csv(paths["null"], index=False)
    mix = single_arm_program(cohort, usual_care_share=0.5, seed=2).drop(columns="arm")
    mix.to_csv(paths["single"], index=False)
    return paths


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output
    return res.exit_code, res.output


# --------------------------------------------------------------------------- evaluate verdicts


def test_program_with_the_effect(files: dict[str, Path], tmp_path: Path) -> None:
    out, fig = tmp_path / "res.json", tmp_path / "forest.png"
    code, text = run(
        "evaluate", str(files["effect"]), "--against", "hcpc", "--out", str(out), "--plot", str(fig)
    )
    assert code == 0, text  # nothing is smaller than published
    assert "The program's own effects (coaching against its usual-care arm):" in text
    assert "Verdict against the published trials (P values Holm-adjusted across 4" in text
    verdicts = text.split("Verdict against the published trials")[1].split("\n\n")[0]
    assert verdicts.count("Against HCPC 2015 (") == 4  # one verdict sentence per comparison
    doc = json.loads(out.read_text())
    primary = [r for r in doc["outcomes"] if r["primary"]]
    assert doc["ok"] is True and {r["verdict"] for r in primary} <= {"similar", "inconclusive"}
    assert all(r["program_p_value"] < 0.05 for r in primary)  # the effect is there
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_program_without_effect_is_not_called_similar(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "null.csv"
    code, text = run("evaluate", str(files["null"]), "--against", "hcpc", "--out", str(out))
    table = pd.read_csv(out)
    rd = table.loc[table["estimand"] == "risk difference"].set_index("target")
    assert rd.loc["composite_any", "verdict"] in ("smaller", "inconclusive")
    assert "similar" not in set(rd["verdict"])
    # exit 1 only when an outcome is smaller than published
    assert code == (1 if (rd["verdict"] == "smaller").any() else 0), text
    assert (rd["program_conf_low"] < 0.05).all()


def test_single_arm_program_lands_between_the_arms(files: dict[str, Path], tmp_path: Path) -> None:
    # without --single-arm a file with no arm column is refused (issue 20)
    code, text = run("evaluate", str(files["single"]), "--against", "hcpc")
    assert code == 2 and "--single-arm" in text, text
    out = tmp_path / "single.json"
    code, text = run(
        "evaluate", str(files["single"]), "--against", "hcpc", "--single-arm", "--out", str(out)
    )
    assert "single-arm program" in text and "The program's before-after figures:" in text
    assert (
        "coaching 46.4 %, usual care 34.3 %; the program's figure lies between the published arms"
        in text
    )
    # every sentence: the 8 outcome rows and the 4 standardized ones (still before-after)
    assert text.count("before-after, without a concurrent control group") == 12
    assert "at goal for >= 1 condition: 4" in text
    doc = json.loads(out.read_text())
    verdicts = [r["verdict"] for r in doc["outcomes"]]
    assert "larger" not in verdicts and "similar" not in verdicts[:3]  # half the effect
    assert all("without a concurrent control group" in r["caveat"] for r in doc["outcomes"])
    assert doc["caveat"] and code == (1 if "smaller" in verdicts else 0), text
    code2, text2 = run(
        "evaluate", str(files["single"]), "--against", "hcpc", "--single-arm",
        "--fail-on", "inconclusive",
    )  # fmt: skip
    assert code2 == 1  # half the trial's effect: not shown to match the coaching arm
    # the exit code says why (it came with no line naming the verdicts that set it)
    verdicts = [r["verdict"] for r in doc["outcomes"]]
    k = sum(v in ("smaller", "inconclusive") for v in verdicts)
    assert k > 0 and f"inconclusive of {len(verdicts)} comparisons (--fail-on inconclusive" in text2
    assert text2.rstrip().splitlines()[-1].startswith("exit 1: ")


def test_against_all_and_outputs_need_force(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    code, text = run("evaluate", str(files["effect"]), "--out", str(out))
    assert code in (0, 1), text  # an HCPC-like program need not match the peer trial
    assert "Peer 2013" in text and set(pd.read_csv(out)["trial"]) == {"hcpc", "peer"}
    code, text = run("evaluate", str(files["effect"]), "--out", str(out))
    assert code == 2 and "--force" in text
    code, _ = run(
        "evaluate", str(files["effect"]), "--against", "hcpc", "--out", str(out), "--force"
    )
    assert code == 0 and set(pd.read_csv(out)["trial"]) == {"hcpc"}
    code, text = run("evaluate", str(files["effect"]), "--out", str(files["effect"]), "--force")
    assert code == 2 and "refusing to overwrite the input" in text


def test_report_is_written_and_not_overwritten(tmp_path: Path) -> None:
    """``--report`` writes the HTML report before exit 1 (a single-arm program with half the
    trial's effect is not shown to match the published coaching arm: ``--fail-on
    inconclusive``) and refuses to overwrite it without ``--force``."""
    data, page = tmp_path / "program.csv", tmp_path / "report.html"
    cohort = hcpc_cohort(n=441, seed=4).patients[KEEP]
    single_arm_program(cohort, usual_care_share=0.5, seed=3).drop(columns="arm").to_csv(
        data, index=False
    )
    args = (
        "evaluate", str(data), "--against", "hcpc", "--single-arm", "--report", str(page),
        "--fail-on", "inconclusive",
    )  # fmt: skip
    code, text = run(*args)
    assert code == 1, text
    assert f"wrote {page}" in text
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html.lower()
    assert 'id="evaluation"' in html and 'id="forest"' in html and "data:image/png;base64," in html
    assert (
        "coaching 46.4 %, usual care 34.3 %; the program&#39;s figure lies between the published arms"
        in html
    )
    assert hashlib.sha256(data.read_bytes()).hexdigest() in html  # the file's provenance
    page.write_text("an earlier report")
    code, text = run(*args)
    assert code == 2 and "--force" in text
    assert page.read_text() == "an earlier report"
    code, text = run(*args, "--force")
    assert code == 1, text
    assert 'id="evaluation"' in page.read_text(encoding="utf-8")


def test_bad_options_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    code, text = run("evaluate", str(files["effect"]), "--against", "nope")
    assert code == 2 and "'hcpc', 'peer', 'all'" in text
    code, text = run("evaluate", str(files["effect"]), "--out", str(tmp_path / "x.xlsx"))
    assert code == 2 and ".csv" in text
    code, text = run("evaluate", str(tmp_path / "missing.csv"))
    assert code == 2 and "file not found" in text
    code, text = run("analyze", str(files["effect"]), "--units", "hba1c")
    assert code == 2 and "--units expects" in text
    # a reviewer's case: a --map entry naming no schema column was accepted silently
    code, text = run("analyze", str(files["effect"]), "--map", "a1c_base=A1c baseline")
    assert code == 2 and "--map" in text and "a1c_base" in text and "schema columns" in text
    # issue 17: the verdict options say what they accept
    effect = str(files["effect"])
    code, text = run("evaluate", effect, "--margin", "composite_any=8")
    assert code == 2 and "0.08 for 8 percentage points" in text
    code, text = run("evaluate", effect, "--margin", "composite=0.1")
    assert code == 2 and "composite_any" in text
    code, text = run("evaluate", effect, "--adjust", "fdr")
    assert code == 2 and "'holm', 'bonferroni', 'none'" in text
    code, text = run("evaluate", effect, "--fail-on", "similar")
    assert code == 2 and "'smaller', 'inconclusive'" in text
    code, text = run("evaluate", effect, "--levels", "sex=1male")
    assert code == 2 and "--levels expects" in text
    code, text = run("evaluate", effect, "--levels", "sex=1:man")
    assert code == 2 and "allowed levels of sex" in text


def test_margin_and_adjust_reach_the_output(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "res.json"
    code, text = run(
        "evaluate", str(files["effect"]), "--against", "hcpc", "--out", str(out),
        "--margin", "composite_any=0.2", "--adjust", "bonferroni",
    )  # fmt: skip
    assert code == 0, text
    assert "Bonferroni-adjusted across 4 comparisons" in text and "±20.0 percentage points" in text
    doc = json.loads(out.read_text())
    row = next(r for r in doc["outcomes"] if r["target"] == "composite_any" and r["primary"])
    assert row["margin"] == 0.2 and row["margin_reason"] == "set by the user"
    assert doc["adjustment"] == "bonferroni" and doc["margins"] == {"composite_any": 0.2}


def test_output_paths_are_checked_before_any_work(files: dict[str, Path], tmp_path: Path) -> None:
    # a reviewer's case: --out was written, then --plot refused, and no report followed
    out, plot, page = tmp_path / "new.csv", tmp_path / "old.png", tmp_path / "new.html"
    plot.write_bytes(b"an earlier figure")
    args = ["evaluate", str(files["effect"]), "--out", str(out), "--plot", str(plot)]
    code, text = run(*args, "--report", str(page))
    assert code == 2 and "--plot" in text and "--force" in text
    assert "Evaluation" not in text  # refused before loading: nothing analysed or printed
    assert not out.exists() and not page.exists() and plot.read_bytes() == b"an earlier figure"
    for bad, option in ((tmp_path / "x.jpg", "--plot"), (tmp_path / "x.txt", "--report")):
        code, text = run("evaluate", str(files["effect"]), option, str(bad))
        assert code == 2 and f"{option} {bad}: give a path ending in" in text
    code, text = run("analyze", str(files["effect"]), "--out", str(tmp_path / "x.xlsx"))
    assert code == 2 and "--out" in text and "Health coaching" not in text


# --------------------------------------------------------------------------- analyze


def test_analyze_prints_the_table_and_the_brief(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "outcomes.json"
    code, text = run("analyze", str(files["effect"]), "--out", str(out))
    assert code == 0, text
    assert "As the practice brief presents them:" in text and "Health coaching group: " in text
    assert "Usual care group: " in text and "(P = " in text and "Program tracking" in text
    doc = json.loads(out.read_text())
    assert doc["design"] == "two-arm" and len(doc["outcomes"]) == 8
    code, text = run(
        "analyze",
        str(files["single"]),
        "--goals",
        "peer",
        "--single-arm",  # asked for: a single-arm program is never assumed (issue 20)
        "--out",
        str(tmp_path / "s.csv"),
    )
    assert code == 0, text
    assert "single-arm" in text
    table = pd.read_csv(tmp_path / "s.csv")
    assert {"label", "estimate", "conf_low", "conf_high"} <= set(table.columns)


def test_analyze_with_map_and_units(cohort: pd.DataFrame, tmp_path: Path) -> None:
    raw = cohort.rename(
        columns={"patient_id": "id", "arm": "group", "hba1c_0": "a1c_base", "hba1c_12": "a1c_12"}
    )
    raw["a1c_base"] = np.round((raw["a1c_base"] - 2.15) * 10.929)
    raw["a1c_12"] = np.round((raw["a1c_12"] - 2.15) * 10.929)
    path = tmp_path / "mapped.csv"
    raw.to_csv(path, index=False)
    code, text = run("analyze", str(path))
    assert code == 2 and "required column missing" in text
    code, text = run(
        "analyze", str(path), "--map", "patient_id=id,arm=group,hba1c_0=a1c_base,hba1c_12=a1c_12",
        "--units", "hba1c=mmol/mol",
    )  # fmt: skip
    assert code == 0, text
    assert text.count("hba1c_0: converted from mmol/mol") == 1  # once, not once per section


# --------------------------------------------------------------------------- a messy real-world file


MAPPING = """\
# exported from the clinic's registry
sheet: Patients
columns:
  patient_id: MRN
  arm: Program group
  site: Clinic
  coach_id: Coach
  diabetes: DM (Y/N)
  age: Age (yrs)
  coach_contacts: Visits w/ coach
  hba1c_0: A1c baseline (mmol/mol)
  hba1c_12: A1c 12 mo (mmol/mol)
  sbp_0: SBP base
  sbp_12: SBP 12m
  ldl_0: LDL base
  ldl_12: LDL 12m
arms:
  Coached: coaching
  Waitlist: usual_care
units:
  hba1c: mmol/mol
"""


@pytest.fixture(scope="module")
def messy(cohort: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("messy")
    p = cohort.iloc[:900].copy()
    out = pd.DataFrame(
        {
            "MRN": [f"MRN-{i:05d}" for i in range(len(p))],
            "Program group": p["arm"]
            .map({"coaching": "Coached", "usual_care": "Waitlist"})
            .to_numpy(),
            "Clinic": p["site"].to_numpy(),
            "Coach": p["coach_id"].to_numpy(dtype=object),
            "DM (Y/N)": np.where(p["diabetes"], "Y", "N"),
            "Age (yrs)": p["age"].to_numpy(),
            "Visits w/ coach": p["coach_contacts"].to_numpy(dtype=object),
            "A1c baseline (mmol/mol)": np.round((p["hba1c_0"].to_numpy() - 2.15) * 10.929),
            "A1c 12 mo (mmol/mol)": np.round((p["hba1c_12"].to_numpy() - 2.15) * 10.929),
            "SBP base": p["sbp_0"].to_numpy(),
            "SBP 12m": p["sbp_12"].to_numpy(),
            "LDL base": p["ldl_0"].to_numpy(),
            "LDL 12m": p["ldl_12"].to_numpy(),
            # extra columns: free text, a date cell, and dates exported as Excel serial numbers
            "Notes": ["called twice" if i % 7 == 0 else "" for i in range(len(p))],
            "Referral date": pd.Timestamp("2023-01-02")
            + pd.to_timedelta(np.arange(len(p)) % 90, unit="D"),
            "Last A1c (Excel date)": 45000 + np.arange(len(p)) % 300,
        }
    ).astype({"A1c baseline (mmol/mol)": object, "SBP 12m": object, "LDL base": object})
    # bad rows: text in a lab column, an impossible blood pressure, a unit typo
    diabetic = np.flatnonzero(p["diabetes"].to_numpy() & p["hba1c_0"].notna().to_numpy())
    out.loc[diabetic[0], "A1c baseline (mmol/mol)"] = "pending"
    out.loc[3, "SBP 12m"] = 1400
    out.loc[5, "LDL base"] = "see chart"
    bad = [out.loc[diabetic[0], "MRN"], out.loc[3, "MRN"], out.loc[5, "MRN"]]
    blank = pd.DataFrame([[None] * out.shape[1]], columns=out.columns)
    out = pd.concat([out.iloc[:10], blank, out.iloc[10:]], ignore_index=True)
    book = d / "program.xlsx"
    with pd.ExcelWriter(book) as xl:
        pd.DataFrame({"About": ["Coaching program export", "Generated by the registry"]}).to_excel(
            xl, sheet_name="README", index=False
        )
        out.to_excel(xl, sheet_name="Patients", index=False)
    coached = cohort.iloc[:900].assign(patient_id=[f"MRN-{i:05d}" for i in range(900)])
    enc = synthetic_encounters(coached.loc[coached["arm"] == "coaching"], seed=5)
    enc = pd.concat(
        [
            enc,
            pd.DataFrame(
                {
                    "patient_id": [bad[1], "MRN-99999"],
                    "date": ["??", 45100],
                    "cpt": ["0592T", "99213"],
                }
            ),
        ],
        ignore_index=True,
    ).rename(columns={"patient_id": "patient_id", "date": "date", "cpt": "cpt"})
    enc_path = d / "encounters.csv"
    enc.to_csv(enc_path, index=False)
    mapping = d / "mapping.yaml"
    mapping.write_text(MAPPING)
    (d / "bad_ids.json").write_text(json.dumps(bad))
    return {"book": book, "encounters": enc_path, "mapping": mapping, "bad": d / "bad_ids.json"}


def test_messy_file_without_a_mapping_gives_clear_errors(messy: dict[str, Path]) -> None:
    code, text = run("evaluate", str(messy["book"]), "--sheet", "Patients")
    assert code == 2
    assert "column 'patient_id': required column missing" in text and "MRN" in text
    assert "column 'arm': required column missing" in text  # not silently read as single-arm
    code, text = run("evaluate", str(messy["book"]))  # the first sheet is the cover sheet
    assert code == 2 and "About" in text


def test_messy_file_with_a_mapping_lists_every_bad_row(messy: dict[str, Path]) -> None:
    bad = json.loads(messy["bad"].read_text())
    code, text = run("evaluate", str(messy["book"]), "--columns", str(messy["mapping"]))
    assert code == 2
    for mrn in bad:
        assert mrn in text
    assert "non-numeric text" in text and "impossible value" in text


def test_messy_file_with_a_mapping_and_exclusions_works(
    messy: dict[str, Path], tmp_path: Path
) -> None:
    bad = json.loads(messy["bad"].read_text())
    out = tmp_path / "messy.json"
    code, text = run(
        "evaluate", str(messy["book"]), "--columns", str(messy["mapping"]), "--exclude-invalid",
        "--against", "hcpc", "--encounters", str(messy["encounters"]), "--out", str(out),
    )  # fmt: skip
    assert code in (0, 1), text
    assert "two-arm program" in text and "3 patient row(s) excluded as invalid" in text
    for mrn in bad:  # reported, not dropped silently
        assert mrn in text
    assert "1 blank row(s) skipped" in text and "converted from mmol/mol" in text
    assert "Coaching sessions per patient (CPT 0591T-0593T)" in text
    assert "unknown CPT code" in text and "unreadable date" in text
    doc = json.loads(out.read_text())
    assert sum(doc["n"].values()) == 900 - 3
    hba1c = next(r for r in doc["case_mix"] if r["characteristic"].startswith("Baseline HbA1c"))
    assert hba1c["program_value"] == pytest.approx(9.9, abs=0.15)  # back in %, from mmol/mol
    assert any("excluded" in n for n in doc["notes"])
    # the excluded patients are in the flow, not only in the notes (evaluator review)
    code, text = run(
        "analyze", str(messy["book"]), "--columns", str(messy["mapping"]), "--exclude-invalid"
    )
    assert code == 0, text
    assert "Enrolled: 900; excluded on loading: invalid data 3" in text
    assert "Included: Health coaching" in text and "(total 897)" in text


def test_analyze_table_is_a_journal_table(
    files: dict[str, Path], cohort: pd.DataFrame, tmp_path: Path
) -> None:
    # issue 20: not a raw pandas print (n1/estimate1, p = 1.137e-05, an empty error column)
    code, text = run("analyze", str(files["effect"]))
    assert code == 0, text
    table = text.split("As the practice brief presents them:")[0]
    for raw in ("n1", "estimate1", "conf_low", "p_value", "error"):
        assert raw not in table
    assert not re.search(r"\d\.\d+e-\d", table)
    lines = table.splitlines()
    assert lines[2] == "Outcomes at month 12"
    assert sum(1 for line in lines if line and set(line) == {"\u2500"}) == 3
    row = next(line for line in lines if line.startswith("At goal for >= 1 condition"))
    p = row.split()[-1]
    assert re.fullmatch(r"(< \.001|\.\d{2,3}|> \.99)", p) or row.endswith("< .001"), row
    assert "Not computed" not in table
    # an outcome that cannot be computed is named under the table, not in an empty column
    path = tmp_path / "no_ldl.csv"
    cohort.drop(columns=["ldl_12"]).to_csv(path, index=False)
    code, text = run("analyze", str(path))
    assert code == 0, text
    failed = text.split("Not computed:")[1].split("As the practice brief")[0]
    assert "LDL at goal:" in failed and "LDL change (mg/dL):" in failed
    single = run("analyze", str(files["single"]), "--single-arm")[1]
    assert "% or mean (95% CI)" in single and "n1" not in single.split("As the practice")[0]

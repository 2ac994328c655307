"""Issue 17's held-out cases, run as an evaluator runs them:
``coachstats evaluate FILE --against hcpc --out result.json``.

The three program files are built here from the bundled HCPC cohort, by the
generators below (seeded), not by the package's own program generators:

* :func:`null_program`: the cohort's usual-care patients only, randomly split
  into two arms -- a program with no effect at all;
* :func:`better_program`: the cohort's coaching arm as generated (the
  published effect), against a usual-care arm from which most patients who
  reached a goal were dropped -- a program whose effect on the composite is
  about 30 points, far beyond HCPC's 12.1;
* :func:`fm_program`: the cohort with sex coded ``F`` / ``M`` (and a copy
  coded ``1`` / ``2``, which must not be guessed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.derive.endpoints import derive_endpoints
from coachstats.goals import HCPC_GOALS
from coachstats.synthetic import hcpc_cohort

runner = CliRunner()
KEEP = ["patient_id", "arm", "site", "diabetes", "age", "sex", "bmi_0", "pcp_visits",
        "coach_contacts", "hba1c_0", "hba1c_12", "sbp_0", "sbp_12", "ldl_0", "ldl_12"]  # fmt: skip


def null_program(cohort: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Usual-care patients only, randomly split into a "coaching" and a "usual_care" arm."""
    usual = cohort.loc[cohort["arm"] == "usual_care"].reset_index(drop=True)
    coached = np.random.default_rng(seed).permutation(len(usual)) < len(usual) // 2
    return usual.assign(arm=np.where(coached, "coaching", "usual_care"))


def better_program(cohort: pd.DataFrame, seed: int, drop: float = 0.65) -> pd.DataFrame:
    """The coaching arm as generated; usual care without ``drop`` of its patients at any goal."""
    at_goal = derive_endpoints(cohort, HCPC_GOALS)["composite_any"].fillna(False).to_numpy(bool)
    usual = (cohort["arm"] == "usual_care").to_numpy()
    removed = usual & at_goal & (np.random.default_rng(seed).random(len(cohort)) < drop)
    return cohort.loc[~removed].reset_index(drop=True)


def fm_program(cohort: pd.DataFrame, codes: tuple[str, str] = ("F", "M")) -> pd.DataFrame:
    """The cohort with sex coded as a registry export codes it."""
    return cohort.assign(sex=cohort["sex"].map({"female": codes[0], "male": codes[1]}))


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort(n=2400, seed=21).patients[KEEP]


def evaluate_file(frame: pd.DataFrame, folder: Path, *extra: str) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    data, out = folder / "program.csv", folder / "result.json"
    frame.to_csv(data, index=False)
    res = runner.invoke(
        app, ["evaluate", str(data), "--against", "hcpc", "--out", str(out), *extra]
    )
    assert "Traceback" not in res.output
    return res.exit_code, res.output, json.loads(out.read_text())


def _row(doc: dict, target: str) -> dict:  # type: ignore[type-arg]
    return next(r for r in doc["outcomes"] if r["target"] == target and r["primary"])


def test_null_program_is_smaller_or_inconclusive_never_similar(
    cohort: pd.DataFrame, tmp_path: Path
) -> None:
    program = null_program(cohort, seed=5)
    assert program["arm"].value_counts().min() > 500
    code, text, doc = evaluate_file(program, tmp_path)
    row = _row(doc, "composite_any")
    assert row["verdict"] in ("smaller", "inconclusive")
    assert all(r["verdict"] != "similar" for r in doc["outcomes"] if r["primary"])
    # the program's own effect is about nothing, and is said so
    assert abs(row["program_estimate"]) < 0.07 and row["program_p_value"] > 0.05
    # ... and in words: the verdict says where the program falls short, or why it cannot tell
    sentence = row["sentence"]
    if row["verdict"] == "smaller":
        assert "smaller than HCPC 2015's effect" in sentence and row["favours"] == "published"
        assert code == 1, text
    else:
        assert "inconclusive" in sentence and row["reason"] in sentence
        assert "per arm" in row["reason"] or "no program size" in row["reason"]
    assert sentence in text


def test_clearly_better_program_is_larger_and_favours_the_program(
    cohort: pd.DataFrame, tmp_path: Path
) -> None:
    program = better_program(cohort, seed=3)
    code, text, doc = evaluate_file(program, tmp_path)
    row = _row(doc, "composite_any")
    assert row["program_estimate"] > 0.25  # about 30 points, against HCPC's 12.1
    assert row["verdict"] == "larger" and row["favours"] == "program"
    assert row["p_adjusted"] < 0.05 and row["difference"] > 0
    assert "larger than HCPC 2015's effect" in row["sentence"]
    assert "favours the program" in row["sentence"]
    # a better result is never a failure: no "smaller" anywhere, exit 0
    assert code == 0, text
    assert all(r["verdict"] != "smaller" for r in doc["outcomes"] if r["primary"])


def test_sex_coded_f_m_shows_the_real_female_share(cohort: pd.DataFrame, tmp_path: Path) -> None:
    truth = float((cohort["sex"] == "female").mean())
    _, text, doc = evaluate_file(fm_program(cohort), tmp_path)
    female = next(c for c in doc["case_mix"] if c["characteristic"] == "Female")
    assert female["program_value"] == pytest.approx(truth, abs=1e-9)  # JSON keeps 10 digits
    assert 0.5 < female["program_value"] < 0.6 and not female["material"]
    assert f"Female: program {100 * truth:.1f} %" in text


def test_sex_coded_1_2_is_not_counted_as_0_percent(cohort: pd.DataFrame, tmp_path: Path) -> None:
    # numbers are not guessed (1 is male under ISO/IEC 5218, female in many exports): the share
    # is left out with a note that says how to map them, never shown as 0 %
    program = fm_program(cohort, ("2", "1"))
    _, text, doc = evaluate_file(program, tmp_path)
    assert not [c for c in doc["case_mix"] if c["characteristic"] == "Female"]
    assert any("Female not compared" in n and "--levels sex=" in n for n in doc["notes"])
    assert "Female: program 0.0 %" not in text
    # with the mapping, the real share
    mapped = tmp_path / "mapped"
    mapped.mkdir()
    _, text, doc = evaluate_file(program, mapped, "--levels", "sex=1:male,2:female")
    female = next(c for c in doc["case_mix"] if c["characteristic"] == "Female")
    assert female["program_value"] == pytest.approx(float((cohort["sex"] == "female").mean()))

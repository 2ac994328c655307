"""``evaluate --against evidence``: a two-arm program placed against the pooled evidence.

The numbers are checked against computations that do not use the code under test:

* the pooled estimate, its CI and the prediction interval against R metafor
  (``rma(method = "REML", test = "knha")`` and ``predict``) on the registry's own HbA1c set,
  stored in ``tests/reference/meta.json`` (``uni.coaching_hba1c``; written by
  ``tests/reference/meta.R``). Tolerance: relative 1e-8, as in ``test_evidence.py`` (REML is
  solved to 1e-12 on both sides);
* the program's effect by hand from the bundled CSV with pandas and scipy's t quantile
  (Welch's t on the change in HbA1c among patients with diabetes and HbA1c > 8.0 % at
  baseline). Tolerance 1e-10: the same closed form, summed in another order;
* the difference from the pooled estimate by hand: the pooled SE is half the width of
  metafor's Hartung-Knapp CI over z(.975), the difference's SE the root sum of squares, its
  P and the TOST P from the normal distribution. Tolerance 1e-8 (it inherits the pooled CI's).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.errors import DesignError, OptionError
from coachstats.programs import single_arm_program
from coachstats.synthetic import hcpc_cohort
from coachstats.tasks.evaluate import EvaluationResult, against_list, evaluate
from coachstats.tasks.evaluate.against_evidence import EvidenceComparison
from coachstats.tasks.evidence import pool_evidence, position_against_evidence
from coachstats.tasks.schemas import schema, schema_version
from tests.formulas import holm

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "synthetic" / "hcpc_patients.csv"
REF = json.loads((ROOT / "tests" / "reference" / "meta.json").read_text())["uni"]["coaching_hba1c"]
KNHA = REF["fits"]["REML_knha"]
Z975 = stats.norm.ppf(0.975)
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def bundled() -> EvaluationResult:
    return evaluate(BUNDLED, against="evidence", standardize=False, tracking=False)


def _row(result: EvaluationResult) -> EvidenceComparison:
    (row,) = [e for e in result.evidence if e.compared]
    return row


def _by_hand(patients: pd.DataFrame) -> dict[str, float]:
    """Welch's t of the 12-month change in HbA1c, coaching minus usual care, among the patients
    with diabetes above 8.0 % at baseline (the HCPC goal's entry rule)."""
    d = patients.loc[patients["diabetes"].astype(bool) & (patients["hba1c_0"] > 8.0)]
    change = (d["hba1c_12"] - d["hba1c_0"]).dropna()
    arm = d.loc[change.index, "arm"]
    a, b = change[arm == "coaching"], change[arm == "usual_care"]
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    est = a.mean() - b.mean()
    half = stats.t.ppf(0.975, df) * se
    return {
        "estimate": est,
        "se": se,
        "low": est - half,
        "high": est + half,
        "n1": len(a),
        "n2": len(b),
    }


# --------------------------------------------------------------------------- numbers
def test_numbers_against_metafor_and_by_hand(bundled: EvaluationResult) -> None:
    row = _row(bundled)
    pos, ev = row.position, row.evidence
    assert (
        pos is not None and ev is not None and row.program is not None and row.judgement is not None
    )
    # the pooled evidence is metafor's
    assert pos.pooled_estimate == pytest.approx(KNHA["estimate"], rel=1e-8)
    assert (pos.pooled_conf_low, pos.pooled_conf_high) == pytest.approx(
        (KNHA["ci_lb"], KNHA["ci_ub"]), rel=1e-8
    )
    assert (pos.pi_low, pos.pi_high) == pytest.approx((KNHA["pi_lb"], KNHA["pi_ub"]), rel=1e-8)
    assert pos.k == len(REF["yi"]) == 9
    # the program's effect by hand from the CSV
    hand = _by_hand(pd.read_csv(BUNDLED))
    assert (row.program.arms[0].n, row.program.arms[1].n) == (hand["n1"], hand["n2"]) == (70, 76)
    assert pos.estimate == pytest.approx(hand["estimate"], rel=1e-10)
    assert pos.std_error == pytest.approx(hand["se"], rel=1e-10)
    assert (pos.conf_low, pos.conf_high) == pytest.approx((hand["low"], hand["high"]), rel=1e-10)
    # the difference from the pooled estimate by hand
    se_pooled = (KNHA["ci_ub"] - KNHA["ci_lb"]) / (2 * Z975)
    d = hand["estimate"] - KNHA["estimate"]
    se_d = math.hypot(hand["se"], se_pooled)
    assert pos.pooled_std_error == pytest.approx(se_pooled, rel=1e-8)
    assert pos.difference == pytest.approx(d, rel=1e-8)
    assert (pos.difference_low, pos.difference_high) == pytest.approx(
        (d - Z975 * se_d, d + Z975 * se_d), rel=1e-8
    )
    j = row.judgement
    assert j.std_error == pytest.approx(se_d, rel=1e-8)
    assert j.p_difference == pytest.approx(2 * stats.norm.sf(abs(d) / se_d), rel=1e-8)
    tost = max(stats.norm.cdf(-(d + 0.3) / se_d), stats.norm.cdf((d - 0.3) / se_d))
    assert j.p_equivalence == pytest.approx(tost, rel=1e-8)
    # inside the prediction interval, but the program's CI reaches below its lower end
    assert KNHA["pi_lb"] < hand["estimate"] < KNHA["pi_ub"] and hand["low"] < KNHA["pi_lb"]
    assert (pos.range_position, pos.range_certain) == ("inside", False)
    # not significant and not shown equivalent: inconclusive, never "similar"
    assert j.p_difference > 0.05 and j.p_equivalence > 0.05
    assert row.verdict == pos.verdict == "inconclusive" and row.favours == "neither"


def test_api_result_carries_what_made_it(bundled: EvaluationResult) -> None:
    row = _row(bundled)
    assert bundled.against == ("evidence",) and bundled.trials == () and bundled.effects == ()
    assert bundled.rows == (row,) and bundled.ok
    assert row.evidence is not None and row.evidence.meta.k == 9  # the pooled evidence itself
    assert row.program is not None and row.program.method == "Welch two-sample t test"
    assert row.population == "patients above the HbA1c goal at baseline (> 8 %, with diabetes)"
    assert row.followup == 12 and row.margin is not None and row.margin.value == 0.3
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.label = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundled.evidence = ()  # type: ignore[misc]
    # what every statement rests on is said with it
    text = row.sentence()
    assert text.startswith("HbA1c change (%), patients above the HbA1c goal at baseline")
    assert "lies inside the range where 95 % of comparable coaching programs' true effects" in text
    assert "though its confidence interval reaches beyond that range" in text
    assert "(−1.01 to +0.10; 9 trials)" in text and "pooled effect of −0.46" in text
    meaning = row.evidence.meaning()
    assert "9 randomized trials of coaching, 6 by community health workers" in meaning
    assert "followed for 6 to 24 months" in meaning and "not a confidence interval" in meaning
    # the outcomes without pooled evidence are listed with the reason
    missing = dict(bundled.not_compared())
    assert missing["at goal for >= 1 condition"] == (
        "the evidence base records no trial results on this outcome"
    )
    assert "Blackberry 2013 (PEACH)" in missing["SBP change (mm Hg)"]
    assert "0 poolable trial(s)" in missing["LDL change (mg/dL)"]
    assert "HbA1c change (%)" not in missing


def test_against_values() -> None:
    assert against_list("all") == ("hcpc", "peer")  # "all" is the published trials
    assert against_list(["hcpc", "evidence", "hcpc"]) == ("hcpc", "evidence")
    with pytest.raises(OptionError, match="against"):
        against_list("evidense")


def test_user_margin_and_the_family_of_comparisons() -> None:
    res = evaluate(
        BUNDLED,
        against=["hcpc", "evidence"],
        margins={"change_hba1c": 0.8},
        standardize=False,
        tracking=False,
    )
    row = _row(res)
    assert row.margin is not None and row.margin.user and row.margin.reason == "set by the user"
    j = row.judgement
    assert j is not None
    # judged with HCPC's four primary comparisons: Holm over five P values, by hand
    assert "Holm-adjusted across 5 comparisons" in res.adjustment_text()
    judged = [r.judgement for r in res.rows if r.judgement is not None]
    assert len(judged) == 5
    for name in ("p_difference", "p_equivalence"):
        ps = [getattr(x, name) for x in judged]
        assert getattr(j, f"{name}_adjusted") == pytest.approx(holm(ps)[judged.index(j)], rel=1e-12)
    # alone, the 90 % CI of the difference lies within ±0.8: similar ...
    z95 = stats.norm.ppf(0.95)
    lo, hi = j.difference - z95 * j.std_error, j.difference + z95 * j.std_error
    assert lo > -0.8 and hi < 0.8 and j.p_equivalence < 0.05
    assert row.position is not None and row.position.verdict == "similar"
    alone = _row(
        evaluate(BUNDLED, against="evidence", margins={"change_hba1c": 0.8}, tracking=False)
    )
    assert alone.verdict == "similar" and "equivalence P = ." in alone.sentence()
    assert (
        f"the 90 % CI of the difference, {_signed(lo)} to {_signed(hi)}, lies within ±0.80"
        in alone.sentence()
    )
    # ... but judged with HCPC's comparisons, its Holm-adjusted equivalence P is not below .05
    assert j.p_equivalence_adjusted >= 0.05
    assert row.verdict == "inconclusive" and "Holm-adjusted" in row.sentence()


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "\u2212")


# --------------------------------------------------------------------------- direction
@settings(max_examples=40, deadline=None)
@given(st.floats(0.1, 3.0), st.floats(0.01, 1.0), st.booleans())
def test_wording_flips_with_direction(offset: float, se_share: float, better: bool) -> None:
    """An HbA1c effect far below the prediction interval (lower is better) reads as better than
    the range and larger than the average program; far above, as worse and smaller."""
    ev = _HBA1C
    m = ev.meta
    se = se_share * offset / 2.5  # the whole CI stays beyond the interval's end
    est = m.pi_low - offset if better else m.pi_high + offset
    p = position_against_evidence(est, se, evidence=ev)
    if better:
        assert (p.range_position, p.range_certain, p.verdict) == ("beyond", True, "larger")
        assert "on the side of a larger benefit" in p.sentence
        assert "a larger benefit than the average coaching program" in p.sentence
        assert "smaller benefit" not in p.sentence and p.favours == "program"
    else:
        assert (p.range_position, p.range_certain, p.verdict) == ("short", True, "smaller")
        assert "on the side of a smaller benefit" in p.sentence
        assert "a smaller benefit than the average coaching program" in p.sentence
        assert "larger benefit" not in p.sentence and p.favours == "published"
    assert "chance may explain it" not in p.sentence


_HBA1C = pool_evidence("hba1c")


def _shifted(tmp: Path, shift: float) -> Path:
    """The bundled cohort with the coached patients' 12-month HbA1c moved by ``shift``."""
    df = pd.read_csv(BUNDLED)
    coached = df["arm"] == "coaching"
    df.loc[coached, "hba1c_12"] = (df.loc[coached, "hba1c_12"] + shift).clip(4.0, 18.0).round(1)
    path = tmp / f"shift{shift:+.1f}.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("shift", "position", "verdict", "words", "code"),
    [
        (-2.0, "beyond", "larger", "on the side of a larger benefit", 0),
        (1.5, "short", "smaller", "on the side of a smaller benefit", 1),
    ],
)
def test_cli_far_better_and_far_worse_programs(
    tmp_path: Path, shift: float, position: str, verdict: str, words: str, code: int
) -> None:
    path = _shifted(tmp_path, shift)
    res = evaluate(path, against="evidence", standardize=False, tracking=False)
    row = _row(res)
    assert row.position is not None and row.position.range_position == position
    assert row.verdict == verdict and words in row.sentence()
    assert res.ok == (verdict != "smaller")
    # exit 1 only for a smaller benefit: a better program is never a failure
    exit_code, out = run("evaluate", str(path), "--against", "evidence")
    assert exit_code == code, out
    assert ("+ HbA1c change" if verdict == "larger" else "- HbA1c change") in out


# --------------------------------------------------------------------------- CLI
def test_cli_text_on_the_bundled_cohort() -> None:
    code, out = run("evaluate", str(BUNDLED), "--against", "evidence")
    assert code == 0, out
    assert "evaluated against the evidence base" in out
    assert (
        "Verdict against the evidence base (P values not adjusted for multiplicity, alpha = .05): "
        "larger 0, similar 0, smaller 0, inconclusive 1 (of 1 comparisons)"
    ) in out
    assert "? HbA1c change (%), patients above the HbA1c goal at baseline" in out
    assert "The 95 % prediction interval, −1.01 to +0.10 percentage points" in out
    assert "Not compared with the evidence base:" in out
    assert "at goal for >= 1 condition: the evidence base records no trial results" in out
    # the comparison is inconclusive: --fail-on inconclusive makes it exit 1
    code, _ = run("evaluate", str(BUNDLED), "--against", "evidence", "--fail-on", "inconclusive")
    assert code == 1
    # any case, comma-separated, with the trials
    code, out = run("evaluate", str(BUNDLED), "--against", "HCPC, Evidence")
    assert code == 0, out
    assert "evaluated against HCPC 2015, the evidence base" in out
    assert "Verdict against the published trials and the evidence base" in out


def test_cli_json_on_the_bundled_cohort(tmp_path: Path) -> None:
    code, out = run("evaluate", str(BUNDLED), "--against", "evidence", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    jsonschema.validate(doc, schema("evaluate"), cls=jsonschema.Draft202012Validator)
    assert doc["schema_version"] == schema_version("evaluate") and doc["against"] == ["evidence"]
    (row,) = doc["evidence"]
    assert row["endpoint"] == "change_hba1c" and row["verdict"] == "inconclusive"
    assert row["pi_low"] == pytest.approx(KNHA["pi_lb"], rel=1e-8)
    assert row["pooled_estimate"] == pytest.approx(KNHA["estimate"], rel=1e-8)
    assert (row["range_position"], row["range_certain"], row["k"]) == ("inside", False, 9)
    assert row["program_n1"] == 70 and "true effect of a new coaching program" in row["meaning"]
    assert {r["endpoint"] for r in doc["evidence_not_compared"]} == {
        "composite_any", "composite_all", "at_goal_hba1c", "at_goal_sbp", "at_goal_ldl",
        "change_sbp", "change_ldl",
    }  # fmt: skip
    # --out x.json writes the same document
    out_file = tmp_path / "e.json"
    code, _ = run("evaluate", str(BUNDLED), "--against", "evidence", "--out", str(out_file))
    assert code == 0 and json.loads(out_file.read_text())["evidence"] == doc["evidence"]
    # without the evidence base the fields are there and empty
    code, out = run("evaluate", str(BUNDLED), "--against", "hcpc", "--format", "json")
    other = json.loads(out)
    jsonschema.validate(other, schema("evaluate"), cls=jsonschema.Draft202012Validator)
    assert other["evidence"] == [] and other["evidence_not_compared"] == []


def test_cli_report_and_plot_on_the_bundled_cohort(tmp_path: Path) -> None:
    html, png = tmp_path / "report.html", tmp_path / "forest.png"
    code, out = run(
        "evaluate", str(BUNDLED), "--against", "hcpc,evidence", "--report", str(html),
        "--plot", str(png),
    )  # fmt: skip
    assert code == 0, out
    assert png.read_bytes()[:4] == b"\x89PNG"
    text = html.read_text()
    hand = _by_hand(pd.read_csv(BUNDLED))

    def f(x: float) -> str:
        return f"{x:+.2f}"

    program = f"{f(hand['estimate'])} ({f(hand['low'])} to {f(hand['high'])})"
    pooled = f"{f(KNHA['estimate'])} ({f(KNHA['ci_lb'])} to {f(KNHA['ci_ub'])})"
    for piece in (
        'id="evidence-comparison"',
        "Against the evidence base",
        "The program&#39;s effect against the pooled evidence and its prediction interval",
        program,  # the program with its CI
        pooled,  # the pooled estimate with its CI
        f"{f(KNHA['pi_lb'])} to {f(KNHA['pi_ub'])}",  # the prediction interval
        'id="evidence-not-compared"',
        'id="evidence-forest-change_hba1c"',
        "Your program (not pooled)",  # the figure's caption names the program's row
        "not pooled with them",
        'id="evidence"',  # the pooled evidence's own section: trials, methods, files
        "Evidence registry",
    ):
        assert piece in text, piece
    assert text.count("<img") >= 2


def test_single_arm_is_refused(tmp_path: Path) -> None:
    single = single_arm_program(hcpc_cohort(n=441, seed=5).patients, seed=2)
    for against in ("evidence", ["hcpc", "evidence"]):
        with pytest.raises(DesignError, match=r"a single-arm program .* has no effect of coaching"):
            evaluate(single, against=against, design="single-arm", tracking=False)
    path = tmp_path / "single.csv"
    single.to_csv(path, index=False)
    code, out = run("evaluate", str(path), "--single-arm", "--against", "evidence")
    assert code == 2
    assert "cannot be placed against the evidence base" in out
    assert "Leave 'evidence' out of --against" in out and "--against hcpc, peer or all" in out
    code, _ = run("evaluate", str(path), "--single-arm", "--against", "hcpc")
    assert code in (0, 1)  # the fix the message names works


def test_no_hba1c_follow_up_is_not_analysed_not_invented(tmp_path: Path) -> None:
    df = pd.read_csv(BUNDLED).drop(columns=["hba1c_12", "hba1c_24"])
    path = tmp_path / "no_a1c.csv"
    df.to_csv(path, index=False)
    res = evaluate(path, against=["hcpc", "evidence"], standardize=False, tracking=False)
    row = _row(res)
    assert row.program is None and row.position is None and row.verdict == "not analysed"
    assert "hba1c" in row.error.lower() and np.isnan(row.to_dict()["difference"])


def test_docs_quote_the_real_output(bundled: EvaluationResult) -> None:
    """docs/evaluate.md and docs/evidence.md paste the bundled cohort's output: keep them true."""
    row = _row(bundled)
    assert row.evidence is not None

    def flat(text: str) -> str:
        return " ".join(text.replace("> ", " ").split())

    sentence = flat(row.sentence().split("month 12: ", 1)[1])
    for page in ("evaluate.md", "evidence.md"):
        assert sentence in flat((ROOT / "docs" / page).read_text(encoding="utf-8")), page
    evaluate_md = flat((ROOT / "docs" / "evaluate.md").read_text(encoding="utf-8"))
    assert flat(row.evidence.meaning()) in evaluate_md
    assert flat(row.program_sentence()) in evaluate_md

"""The command line: exit codes (0 ok, 1 finding, 2 bad input), no tracebacks, outputs."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from coachstats.cli import app

runner = CliRunner()


def small_csv(tmp_path: Path) -> Path:
    df = pd.DataFrame(
        {
            "ID": [1, 2, 3, 4],
            "Group": ["Coaching", "Usual care", "Coaching", "Usual care"],
            "diabetes": [True, True, False, True],
            "hba1c_0": [9.5, 8.5, 7.0, 10.1],
            "hba1c_12": [7.5, 8.4, 7.2, 9.0],
            "sbp_0": [150, 135, 142, 128],
            "sbp_12": [128, 131, 139, 126],
        }
    )
    path = tmp_path / "program.csv"
    df.to_csv(path, index=False)
    return path


def test_endpoints_with_map(tmp_path: Path) -> None:
    out = tmp_path / "ep.csv"
    res = runner.invoke(
        app,
        [
            "endpoints",
            str(small_csv(tmp_path)),
            "--map",
            "patient_id=ID,arm=Group",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    # endpoints reads files with the one program loader of every command (issue 20): "Enrolled"
    assert "Enrolled: Health coaching 2, Usual care 2" in res.output
    table = pd.read_csv(out)
    # 1: A1c and SBP at goal; 2: neither (8.4 > 8.0, 131 >= 130); 3: SBP 139 < 140; 4: A1c 9.0 > 8.0
    assert table["composite_any"].tolist() == [True, False, True, False]


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    res = runner.invoke(app, ["endpoints", str(small_csv(tmp_path))])
    assert res.exit_code == 2
    assert "required column missing" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["endpoints", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "file not found" in res.output
    res = runner.invoke(app, ["endpoints", str(small_csv(tmp_path)), "--map", "patient_id"])
    assert res.exit_code == 2 and "--map expects" in res.output


def test_power_command(tmp_path: Path) -> None:
    res = runner.invoke(app, ["power", "--published", "hcpc_composite"])
    assert res.exit_code == 0, res.output
    # 46.4 % vs 34.3 %, 80 % power, alpha .05: 257 per group (R power.prop.test gives 256.9)
    assert "257 + 257 = 514" in res.output
    fig = tmp_path / "curve.png"
    res = runner.invoke(
        app, ["power", "--delta", "0.77", "--sd", "2.95", "--n", "120", "--plot", str(fig)]
    )
    assert res.exit_code == 0 and fig.stat().st_size > 1000
    res = runner.invoke(app, ["power", "--p1", "0.4"])
    assert res.exit_code == 2


def test_power_command_partially_nested() -> None:
    args = ["power", "--published", "hcpc_composite", "--icc", "0.05", "--cluster-size", "10"]
    both = runner.invoke(app, args)
    assert both.exit_code == 0 and "373 + 373 = 746 analysed, in 38 + 38 clusters" in both.output
    part = runner.invoke(app, [*args, "--coached-arm-only"])
    assert part.exit_code == 0, part.output
    assert "design effect on group 1 only (partially nested)" in part.output
    assert "315 + 314 = 629 analysed, in 32 clusters in group 1, group 2 unclustered" in part.output
    res = runner.invoke(app, ["power", "--published", "hcpc_composite", "--coached-arm-only"])
    assert res.exit_code == 2 and "needs cluster_size and icc" in res.output


def test_debug_shows_traceback(tmp_path: Path) -> None:
    res = runner.invoke(app, ["--debug", "endpoints", str(tmp_path / "missing.csv")])
    assert res.exit_code != 0 and res.exception is not None


def test_reproduce_command_passes_on_bundled_cohorts() -> None:
    res = runner.invoke(app, ["reproduce", "hcpc", "--format", "csv"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.output))
    assert set(table["verdict"]) <= {"match", "within tolerance"}
    text = runner.invoke(app, ["reproduce", "hcpc"]).output
    assert "Health coaching group: 46.4%\n  Usual care group: 34.3% (P = .02)" in text


def test_reproduce_exits_1_when_a_figure_differs(tmp_path: Path) -> None:
    from coachstats.reproduce import load_bundled

    tables = load_bundled("hcpc")
    patients = tables["patients"].copy()
    # Perturb: every usual-care patient reaches SBP goal, which changes the composite.
    uc = patients["arm"] == "usual_care"
    patients.loc[uc, "sbp_12"] = 110
    path = tmp_path / "perturbed.csv"
    patients.to_csv(path, index=False)
    res = runner.invoke(app, ["reproduce", "hcpc", "--data", str(path), "--format", "csv"])
    assert res.exit_code == 1, res.output


def test_reproduce_writes_a_report_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["reproduce", "peer", "--report", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "Published vs reproduced" in html and "<script" not in html
    again = runner.invoke(app, ["reproduce", "peer", "--report", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["reproduce", "peer", "--report", str(out), "--force"]).exit_code == 0


def test_analyze_writes_a_report(tmp_path: Path) -> None:
    from coachstats.reproduce import load_bundled

    data = tmp_path / "program.csv"
    load_bundled("hcpc")["patients"].to_csv(data, index=False)
    out = tmp_path / "analysis.html"
    res = runner.invoke(app, ["analyze", str(data), "--report", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "CONSORT" in html and "<script" not in html


def test_reproduce_sensitivity_is_a_journal_table() -> None:
    # issue 20: the sensitivity table was a raw pandas print (0.122111, trial and target ids)
    res = runner.invoke(app, ["reproduce", "hcpc", "--sensitivity", "--no-brief"])
    assert res.exit_code == 0, res.output
    table = res.output.split("Sensitivity of the main outcomes of HCPC 2015")[1]
    assert re.search(r"\nOne clinical goal +Missing follow-up = not at goal \(a\) ", table)
    assert "risk difference, % points 12.1 (2.2 to 22.0)" in table  # the unit stated
    assert "0.122" not in table and "composite_any" not in table
    assert sum(1 for line in table.splitlines() if line and set(line) == {"\u2500"}) == 3

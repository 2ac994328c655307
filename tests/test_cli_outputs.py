"""One output guard for every command, exit codes 0/1/2/3, and no formulas in CSV outputs (issue 23).

Every output path is checked before any work (suffix, an existing folder that
takes a file, not an input, ``--force`` for an existing file); outputs are
written all together or not at all; text cells that a spreadsheet would run as
a formula are neutralised; any exception that is not a ``CoachstatsError``
exits 3 with one line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.data.outputs import OutputSet, csv_text, neutralise_formulas
from coachstats.errors import OutputError

runner = CliRunner()


def patients(tmp_path: Path, site: str = "North") -> Path:
    df = pd.DataFrame(
        {
            "patient_id": ["00001", "007", "7", "P4"],
            "arm": ["coaching", "usual_care", "coaching", "usual_care"],
            "site": [site, "01", "1", "South"],
            "diabetes": ["yes"] * 4,
            "hba1c_0": [9.5, 8.5, 9.0, 10.1],
            "hba1c_12": [7.5, 8.4, 7.2, 9.0],
        }
    )
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


def invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output
    return res.exit_code, res.output


# --------------------------------------------------------------------------- one guard


def test_every_command_is_guarded() -> None:
    names = set()
    for command in app.registered_commands:
        assert getattr(command.callback, "guarded", False), command.name
        names.add(command.name or command.callback.__name__)  # type: ignore[union-attr]
    assert {"reproduce", "analyze", "evaluate", "power", "endpoints", "synth"} <= names


def test_endpoints_never_overwrites_its_input_or_an_existing_file(tmp_path: Path) -> None:
    data = patients(tmp_path)
    before = data.read_bytes()
    code, text = invoke("endpoints", str(data), "--out", str(data), "--force")
    assert code == 2 and "refusing to overwrite the input file" in text
    assert data.read_bytes() == before
    out = tmp_path / "ep.csv"
    out.write_text("earlier")
    code, text = invoke("endpoints", str(data), "--out", str(out))
    assert code == 2 and "--force" in text and out.read_text() == "earlier"
    assert "Randomized" not in text  # refused before loading
    code, text = invoke("endpoints", str(data), "--out", str(out), "--force")
    assert code == 0, text
    assert "earlier" not in out.read_text()


def test_power_plot_needs_force(tmp_path: Path) -> None:
    fig = tmp_path / "curve.png"
    fig.write_bytes(b"an earlier figure")
    args = ["power", "--delta", "0.77", "--sd", "2.95", "--n", "120", "--plot", str(fig)]
    code, text = invoke(*args)
    assert code == 2 and "--force" in text and fig.read_bytes() == b"an earlier figure"
    assert "Power" not in text  # refused before computing
    code, text = invoke(*args, "--force")
    assert code == 0, text
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("where", ["parent is a file", "missing folder", "is a folder"])
def test_unwritable_paths_are_refused_before_any_work(tmp_path: Path, where: str) -> None:
    data = patients(tmp_path)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    target = {
        "parent is a file": blocker / "out.csv",
        "missing folder": tmp_path / "nope" / "out.csv",
        "is a folder": tmp_path / "folder.csv",
    }[where]
    if where == "is a folder":
        target.mkdir()
    for command in ("endpoints", "analyze"):
        code, text = invoke(command, str(data), "--out", str(target))
        assert code == 2, text
        assert "--out" in text and "Randomized" not in text and "Health coaching" not in text


def test_a_folder_that_refuses_files_is_found_by_a_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # permission bits say nothing for root: the guard creates (and removes) a probe file
    import tempfile

    real = tempfile.mkstemp

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        if str(kwargs.get("suffix")) == ".probe":
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code, text = invoke("endpoints", str(patients(tmp_path)), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "cannot write in" in text and "Permission denied" in text


def test_no_partial_outputs_when_a_later_output_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a reviewer's case: with two outputs, the first was left written and the second failed
    from coachstats.reproduce import load_bundled

    data = tmp_path / "program.csv"
    load_bundled("hcpc")["patients"].to_csv(data, index=False)
    out, fig = tmp_path / "res.csv", tmp_path / "forest.png"
    import coachstats.tasks.evaluate as ev

    def broken(result: object) -> object:
        raise RuntimeError("the figure could not be drawn")

    monkeypatch.setattr(ev, "evaluation_figure", broken)
    code, text = invoke(
        "evaluate", str(data), "--against", "hcpc", "--out", str(out), "--plot", str(fig)
    )
    assert code == 3 and "internal error: please report" in text
    assert not out.exists() and not fig.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["program.csv"]  # no temporary files left


def test_output_set_writes_all_or_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.html"
    outs = OutputSet()
    outs.add(a, option="--out", suffixes=(".csv",))
    outs.add(b, option="--report", suffixes=(".html",))
    with pytest.raises(ValueError, match="boom"), outs:
        outs.write(a, "x\n")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []
    with outs:
        outs.write(a, "x\n")
        outs.write(b, "<p>")
    assert a.read_text() == "x\n" and b.read_text() == "<p>" and outs.written == [a, b]
    again = OutputSet(force=True)
    again.add(a, option="--out", suffixes=(".csv",))
    with pytest.raises(OutputError, match="--out writes the same file"):
        again.add(tmp_path / "." / "a.csv", option="--plot", suffixes=(".csv",))
    with pytest.raises(OutputError, match="not checked"):
        OutputSet().write(tmp_path / "c.csv", "x")


def test_synth_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    code, text = invoke("synth", str(out), "--trial", "peer", "--n", "60", "--seed", "2")
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == ["peer_patients.csv", "peer_patients.parquet"]
    first = (out / "peer_patients.csv").read_bytes()
    code, text = invoke("synth", str(out), "--trial", "peer", "--n", "80", "--seed", "2")
    assert code == 2 and "--force" in text
    assert (out / "peer_patients.csv").read_bytes() == first
    code, text = invoke("synth", str(out), "--trial", "peer", "--n", "80", "--seed", "2", "--force")
    assert code == 0 and (out / "peer_patients.csv").read_bytes() != first
    assert sorted(p.name for p in out.iterdir()) == ["peer_patients.csv", "peer_patients.parquet"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, text = invoke("synth", str(afile), "--trial", "peer", "--n", "60")
    assert code == 2 and "is a file" in text and afile.read_text() == "x"


# --------------------------------------------------------------------------- spreadsheet formulas


def test_formulas_in_user_text_are_neutralised_in_csv_outputs(tmp_path: Path) -> None:
    data = patients(tmp_path, site='=HYPERLINK("http://evil.example","click")')
    out = tmp_path / "ep.csv"
    code, text = invoke("endpoints", str(data), "--out", str(out))
    assert code == 0, text
    table = pd.read_csv(out, dtype=str)
    assert table["site"].iloc[0] == '\'=HYPERLINK("http://evil.example","click")'
    # ids and site codes keep their exact text in the output
    assert table["patient_id"].tolist() == ["00001", "007", "7", "P4"]
    assert table["site"].tolist()[1:] == ["01", "1", "South"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised(start: str) -> None:
    frame = pd.DataFrame({start + "col": [start + "cmd|' /C calc'!A0", "ok"], "n": [-1.5, 2.0]})
    safe = neutralise_formulas(frame)
    assert safe.columns[0] == "'" + start + "col"
    assert safe.iloc[0, 0] == "'" + start + "cmd|' /C calc'!A0" and safe.iloc[1, 0] == "ok"
    assert safe["n"].tolist() == [-1.5, 2.0]  # numbers stay numbers
    assert "'" + start + "cmd" in csv_text(frame)


def test_plain_numbers_as_text_are_not_changed() -> None:
    frame = pd.DataFrame({"x": ["-1.5", "+3", "-2e3", "-x", pd.NA]}, dtype=object)
    assert neutralise_formulas(frame)["x"].tolist()[:4] == ["-1.5", "+3", "-2e3", "'-x"]


# --------------------------------------------------------------------------- exit codes


def test_a_bug_exits_3_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coachstats.tasks.power as pw

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("uncontrolled_hba1c")

    monkeypatch.setattr(pw, "power_two_means", broken)
    res = runner.invoke(app, ["power", "--delta", "0.5", "--sd", "1"])
    assert res.exit_code == 3
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines == [
        "internal error: please report: KeyError: 'uncontrolled_hba1c' "
        "(rerun with --debug for the traceback)"
    ]
    res = runner.invoke(app, ["--debug", "power", "--delta", "0.5", "--sd", "1"])
    assert isinstance(res.exception, KeyError)


def test_bad_input_messages_are_bounded(tmp_path: Path) -> None:
    # a 1 MB cell and 5,000 bad rows: the message names them, cut, with the counts left out
    big = "x" * 1_000_000
    rows = [f"{i},coaching,{big if i == 0 else 'high'},8" for i in range(5000)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(["patient_id,arm,hba1c_0,hba1c_12", *rows, "5000,usual_care,9,8"]))
    code, text = invoke("endpoints", str(path))
    assert code == 2
    assert len(text) < 5_000 and "(+999940 characters)" in text and "(+4990 more)" in text


def test_a_report_made_on_the_command_line_gives_command_line_advice(tmp_path: Path) -> None:
    # an evaluator who ran `coachstats analyze --report` reads '--fte', not Python's 'fte='
    from coachstats.core.paths import bundled_table

    out = tmp_path / "r.html"
    code, _ = invoke("analyze", str(bundled_table("hcpc_patients")), "--report", str(out))
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert "pass --fte otherwise" in html and "pass fte= otherwise" not in html
    assert "--cost overhead=0.3 adds 30 %" in html and "set overhead=" not in html
    assert "--cost wage=15 sets your coaches&#39; own hourly cost" in html


def test_a_word_report_made_on_the_command_line_gives_command_line_advice(tmp_path: Path) -> None:
    from docx import Document

    from coachstats.core.paths import bundled_table

    out = tmp_path / "r.docx"
    code, _ = invoke("analyze", str(bundled_table("hcpc_patients")), "--report", str(out))
    assert code == 0
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "pass --fte otherwise" in text and "pass fte= otherwise" not in text
    assert "--cost wage=15 sets your coaches' own hourly cost" in text and "set wage=" not in text

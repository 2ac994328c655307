"""One set of loading options on every command, advice that exists, honest exits (issue 20)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.paths import bundled_table

SRC = Path(__file__).resolve().parents[1] / "src" / "coachstats"
#: The commands that read a patient file, and the loading options each must offer.
DATA_COMMANDS = ("analyze", "evaluate", "endpoints", "reproduce")
LOADING = (
    "--columns",
    "--map",
    "--arms",
    "--sheet",
    "--units",
    "--single-arm",
    "--exclude-invalid",
    "--require-baseline",
    "--censored",
)
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _commands() -> dict[str, Any]:
    """The commands of the ``coachstats`` group (typer's own click)."""
    commands: dict[str, Any] = get_command(app).commands  # type: ignore[attr-defined]
    return commands


def _options(command: str) -> dict[str, str]:
    """Every option name of ``command`` -> its help text."""
    cmd = _commands()[command]
    return {
        name: getattr(p, "help", "") or ""
        for p in cmd.params
        for name in (*p.opts, *p.secondary_opts)
        if name.startswith("--")
    }


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_every_data_command_has_the_same_loading_options() -> None:
    helps = {command: _options(command) for command in DATA_COMMANDS}
    for command, options in helps.items():
        missing = [o for o in LOADING if o not in options]
        assert not missing, f"{command} lacks {missing}"
    for option in LOADING:  # the same words everywhere
        assert len({helps[c][option] for c in DATA_COMMANDS}) == 1, option


def _message_literals(path: Path) -> list[str]:
    """The string constants of a module outside its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def test_advice_in_the_loaders_messages_exists_on_every_data_command() -> None:
    """Every ``--option`` a loader message gives as a fix exists on every command that loads."""
    options = {c: set(_options(c)) for c in DATA_COMMANDS}
    seen = set()
    for path in (SRC / "data").glob("*.py"):
        for text in _message_literals(path):
            for option in OPTION.findall(text):
                seen.add(option)
                lacking = [c for c in DATA_COMMANDS if option not in options[c]]
                assert not lacking, f"{path.name} advises {option}; {lacking} lack it"
    assert {"--sheet", "--require-baseline", "--single-arm", "--map", "--arms"} <= seen


def test_advice_anywhere_exists_on_some_command() -> None:
    every = {o for c in _commands() for o in _options(c)}
    for path in SRC.rglob("*.py"):
        if "cli" in path.parts:
            continue
        for text in _message_literals(path):
            for option in OPTION.findall(text):
                assert option in every, f"{path.relative_to(SRC)} mentions {option}"


@pytest.fixture
def group_file(tmp_path: Path) -> Path:
    """A two-arm file whose arm column is called ``group`` (HC/UC) and was not mapped."""
    df = pd.read_csv(bundled_table("hcpc_patients")).head(40)
    df = df.rename(columns={"arm": "group"})
    df["group"] = df["group"].map({"coaching": "HC", "usual_care": "UC"})
    path = tmp_path / "program.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["analyze", "evaluate", "endpoints"])
def test_an_unmapped_group_column_is_refused_with_the_fix(command: str, group_file: Path) -> None:
    code, text = run(command, str(group_file))
    assert code == 2, text
    assert "'group'" in text and "--map arm=group" in text
    assert "--arms HC=coaching,UC=usual_care" in text and "--single-arm" in text
    assert "Health coaching group" not in text
    for option in OPTION.findall(text):  # every piece of advice exists on this command
        assert option in _options(command), option
    code, text = run(
        command, str(group_file), "--map", "arm=group", "--arms", "HC=coaching,UC=usual_care"
    )
    assert code in (0, 1), text
    # both arms are analysed: the flow (or the evaluation's verdicts) name usual care
    assert "usual_care" in text or "usual care" in text.lower()
    assert "single-arm" not in text


def test_one_arm_label_is_refused_unless_single_arm(tmp_path: Path) -> None:
    df = pd.read_csv(bundled_table("hcpc_patients")).head(30).assign(arm="coaching")
    path = tmp_path / "one.csv"
    df.to_csv(path, index=False)
    code, text = run("analyze", str(path))
    assert code == 2 and "one label" in text and "--single-arm" in text, text
    code, text = run("analyze", str(path), "--single-arm")
    assert code == 0 and "single-arm" in text, text


def test_a_run_that_computes_nothing_exits_2(tmp_path: Path) -> None:
    # the --map pairs given the wrong way round: nothing can be computed
    df = pd.read_csv(bundled_table("hcpc_patients")).head(40)
    df = df.rename(columns={"patient_id": "MRN", "arm": "Study Arm"})
    keep = ["MRN", "Study Arm", "site", "diabetes", "age"]
    path = tmp_path / "wrong.csv"
    df[keep].to_csv(path, index=False)
    code, text = run("analyze", str(path), "--map", "patient_id=MRN,arm=Study Arm")
    assert code == 2, text
    assert "no outcome could be computed" in text


def test_choices_ignore_case_and_names_suggest_the_closest() -> None:
    code, text = run("reproduce", "PEER", "--format", "CSV")
    assert code == 0 and text.startswith("trial,target"), text[:200]
    code, text = run("power", "--published", "hcpc_composit")
    assert code == 2 and "did you mean 'hcpc_composite'" in text
    code, text = run("power", "--p1", "46", "--p2", "34")
    assert code == 2 and "did you mean 0.46" in text


def test_every_bad_choice_is_named_in_one_error() -> None:
    # evaluate and evidence named only the first bad value: a user fixed one, ran, met the next
    data = str(bundled_table("hcpc_patients"))
    code, text = run(
        "evaluate",
        data,
        "--against",
        "hcpc,pear",
        "--format",
        "xml",
        "--adjust",
        "fdr",
        "--fail-on",
        "never",
        "--published-se",
        "auto",
    )
    assert code == 2, text
    assert "4 value(s) not allowed" in text
    for bad in (
        "--against='pear'",
        "did you mean 'peer'",
        "--format='xml'",
        "--adjust='fdr'",
        "--fail-on='never'",
    ):
        assert bad in text, bad
    assert "--published-se=" not in text  # a good value is not listed
    code, text = run("evidence", "a1c", "--method", "ML", "--test", "t", "--format", "xml")
    assert code == 2, text
    assert "4 value(s) not allowed" in text
    for bad in ("OUTCOME='a1c'", "--method='ML'", "--test='t'", "--format='xml'"):
        assert bad in text, bad
    assert "method='ML'" not in text.replace("--method='ML'", "")  # the option, not the keyword
    code, text = run("evidence", "HBA1C", "--method", "dl", "--test", "Z")  # any case
    assert code == 0 and "DerSimonian-Laird" in text, text[:300]


def test_the_bundled_peer_cohort_passes_its_own_cli(tmp_path: Path) -> None:
    peer = str(bundled_table("peer_patients"))
    out = tmp_path / "peer.csv"
    code, text = run("analyze", peer, "--goals", "peer", "--out", str(out))
    assert code == 0, text
    table = pd.read_csv(out).set_index("label")
    sbp = next(i for i in table.index if "SBP" in i)
    assert (table.loc[sbp, "n1"], table.loc[sbp, "n2"]) == (128, 123)  # as published
    assert "P0276" in text  # the patient without a baseline HbA1c is named, not dropped
    code, text = run("endpoints", peer, "--goals", "peer")
    assert code == 0, text


def test_endpoints_takes_units(tmp_path: Path) -> None:
    df = pd.read_csv(bundled_table("peer_patients"))
    for col in ("hba1c_0", "hba1c_6"):
        df[col] = (df[col] - 2.15) * 10.929  # % (NGSP) -> mmol/mol (IFCC)
    path = tmp_path / "mmol.csv"
    df.to_csv(path, index=False)
    code, text = run("endpoints", str(path), "--goals", "peer")
    assert code == 2 and "--units hba1c=mmol/mol" in text
    code, text = run("endpoints", str(path), "--goals", "peer", "--units", "hba1c=mmol/mol")
    assert code == 0, text


def test_synth_writes_a_file_when_given_a_file_name(tmp_path: Path) -> None:
    target = tmp_path / "cohort.csv"
    code, text = run("synth", str(target), "--trial", "peer", "--n", "200")
    assert code == 0, text
    assert target.is_file() and len(pd.read_csv(target)) == 200
    code, text = run("synth", str(tmp_path / "cohort.parquet"), "--n", "120")
    assert code == 0 and (tmp_path / "cohort.parquet").is_file()
    assert "other tables" in text  # HCPC has side tables: said, not silently dropped


def test_python_advice_is_translated_for_the_command_line() -> None:
    """Each Python fix the CLI rewrites is still worded so in the library, and its
    command-line form names options that exist (issue 20: advice that exists)."""
    from coachstats.cli.common import CLI_ADVICE

    every = {o for c in _commands() for o in _options(c)}
    literals = " ".join(t for path in SRC.rglob("*.py") for t in _message_literals(path))
    for python, command_line in CLI_ADVICE.items():
        assert python in literals, f"no message says {python!r} any more"
        options = OPTION.findall(command_line)
        assert options and set(options) <= every, command_line


def _small_file(tmp_path: Path, censor: bool) -> Path:
    """40 HCPC patients (expected counts below 5), two HbA1c values given as bounds."""
    df = pd.read_csv(bundled_table("hcpc_patients")).head(40)
    if censor:
        df["hba1c_12"] = df["hba1c_12"].astype(object)
        df.loc[[2, 8], "hba1c_12"] = ["<7.0", ">14"]
    path = tmp_path / "small.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", DATA_COMMANDS)
def test_censored_lab_values_are_refused_with_the_command_line_fix(
    command: str, tmp_path: Path
) -> None:
    path = _small_file(tmp_path, censor=True)
    args = ["reproduce", "--data", str(path)] if command == "reproduce" else [command, str(path)]
    code, text = run(*args)
    assert code == 2, text
    assert "'<7.0'" in text and "--censored limit" in text and "--censored missing" in text
    assert "censored='limit'" not in text  # the Python keyword is not a fix on the command line
    code, text = run(*args, "--censored", "limit")
    assert code in (0, 1), text
    assert "2 censored lab value(s) (limit), flagged" in text


def test_small_tables_advise_an_option_that_analyze_has(tmp_path: Path) -> None:
    path = _small_file(tmp_path, censor=False)
    code, text = run("analyze", str(path))
    assert code == 0, text
    assert "consider --exact (Fisher's exact test)" in text and "test='fisher'" not in text
    code, text = run("analyze", str(path), "--exact")
    assert code == 0, text
    assert "smallest expected count" not in text
    assert "Fisher's exact test, Newcombe hybrid score interval" in text
    assert "Risk difference, % points" in text  # the published effect measure is kept


def test_advice_a_command_lacks_is_left_out(tmp_path: Path) -> None:
    """reproduce runs the published chi-square plans: it has no --exact to advise."""
    code, text = run("reproduce", "--data", str(_small_file(tmp_path, censor=False)))
    assert code in (0, 1), text
    assert "the chi-square approximation may be incorrect" in text
    assert "--exact" not in text and "test='fisher'" not in text


def test_fte_and_cost_reach_the_caseload_and_the_cost() -> None:
    path = str(bundled_table("hcpc_patients"))
    code, text = run("analyze", path)
    assert code == 0, text
    assert "caseload assumes every coach is full time (pass --fte otherwise)" in text
    assert "fte=" not in text and "overhead=0.3 adds 30 %" in text
    code, text = run("analyze", path, "--fte", "0.5", "--cost", "wage=30,overhead=0.3,caseload=75")
    assert code == 0, text
    assert "full time" not in text  # the FTE was given: nothing assumed about it
    # 540.8 minutes x 30 x 1.3 USD/hour; the whole salary over 75 patients per coach
    assert "540.8 coaching minutes per patient x 39.00 USD/hour" in text
    assert "/ 75 patients per coach" in text and "no benefits or overhead" not in text
    # 224 coached / 3 coaches at 0.5 FTE each
    assert "Coached patients per full-time coach: 149" in text
    code, text = run("analyze", path, "--cost", "wag=30")
    assert code == 2 and "did you mean 'wage'" in text
    code, text = run("analyze", path, "--fte", "x")
    assert code == 2 and "--fte 0.5" in text


def test_advice_after_a_command_is_not_cut_to_that_commands_options() -> None:
    from coachstats.cli.common import for_the_command_line

    assert run("trials")[0] == 0  # trials has no --fte
    # the command has ended: the advice is translated, not dropped as an option trials lacks
    assert for_the_command_line("(pass fte= otherwise)") == "(pass --fte otherwise)"


def test_power_refuses_options_it_would_ignore() -> None:
    # --power beside --n, and --p1 beside --published, were ignored without a word (exit 0);
    # --icc without --cluster-size named Python keywords (cluster_size, cluster_cv)
    code, text = run(
        "power",
        "--published",
        "hcpc_composite",
        "--p1",
        "0.1",
        "--n",
        "100",
        "--power",
        "0.9",
        "--icc",
        "0.03",
    )
    assert code == 2, text
    assert "3 problem(s)" in text
    assert "give --n (solve for power) or --power (solve for n), not both" in text
    assert "--published takes the effect from the trial: leave out --p1" in text
    assert "--icc 0.03 needs --cluster-size" in text and "cluster_cv" not in text
    code, text = run("power", "--p1", "0.3", "--p2", "0.5", "--delta", "1", "--sd", "2")
    assert code == 2 and "proportions (--p1 and --p2) or a mean difference" in text
    code, text = run("power", "--published", "hcpc_composite", "--n", "200")
    assert code == 0 and "enrolled: 200 + 200" in text and "power = " in text  # n given: power


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("analyze", "{folder}"), "file"),
        (("evaluate", "{folder}"), "file"),
        (("endpoints", "{folder}"), "file"),
        (("analyze", "{data}", "--columns", "{folder}"), "mapping file"),
        (("evaluate", "{data}", "--encounters", "{folder}"), "file"),
        (("check", "{folder}"), "results file"),
    ],
)
def test_a_folder_given_as_a_file_is_named_a_folder(
    tmp_path: Path, args: tuple[str, ...], what: str
) -> None:
    # a folder was reported as "file not found": it exists, and the fix is another path
    folder = tmp_path / "patients.csv"
    folder.mkdir()
    data = str(bundled_table("hcpc_patients"))
    code, text = run(*(a.format(folder=folder, data=data) for a in args))
    assert code == 2, text
    assert f"{what} {folder} is a folder, not a file" in text
    assert "not found" not in text


def test_a_header_only_file_says_it_has_no_rows(tmp_path: Path) -> None:
    # it was refused as "the arm column has one label (none) ... --single-arm": a wrong fix
    df = pd.read_csv(bundled_table("hcpc_patients"))
    header = tmp_path / "header.csv"
    df.head(0).to_csv(header, index=False)
    for command in ("analyze", "evaluate", "endpoints"):
        code, text = run(command, str(header))
        assert code == 2, text
        assert "the data has no rows (no patients)" in text and "--single-arm" not in text
    blank = tmp_path / "blank_arm.csv"
    df.head(20).assign(arm=None).to_csv(blank, index=False)
    code, text = run("analyze", str(blank))
    assert code == 2 and "column 'arm': the arm column is blank in every row" in text, text
    assert "one label" not in text

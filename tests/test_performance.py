"""Work that does not scale with the data when it need not (issue 22), checked without timing.

Timings live in ``benchmarks/``; here the properties behind them are counted:
how many times endpoints are derived in one run, which columns are read and
copied, and that the faster paths give the same results as the plain ones.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import coachstats.derive.endpoints as endpoints_module
from coachstats.cli.common import Steps, show_progress
from coachstats.core.errors import DataWarning, SchemaError
from coachstats.core.goals import HCPC_GOALS
from coachstats.core.results import Exclusion
from coachstats.data import io as data_io
from coachstats.data.io import read_parquet_frame, schema_columns
from coachstats.data.programdata import load_program
from coachstats.plan import AnalysisSpec, analysed_columns, run_plan, select_rows
from coachstats.synthetic import hcpc_cohort
from coachstats.synthetic.tables import format_column, write_source
from coachstats.tasks.evaluate import analyze, evaluate


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic HCPC cohort with its questionnaire items, as Parquet."""
    path = tmp_path_factory.mktemp("perf") / "hcpc.parquet"
    hcpc_cohort(n=600, seed=5).patients.to_parquet(path)
    return path


def count_derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count derive_endpoints calls on more than 500 rows (the program's, not the reference cohort's)."""
    calls: list[int] = []
    real = endpoints_module.derive_endpoints

    def counting(data: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
        rows = len(getattr(data, "patients", data))
        if rows > 500:
            calls.append(rows)
        return real(data, *args, **kwargs)

    for module in (
        "coachstats.derive.endpoints",
        "coachstats.plan.context",
        "coachstats.data.trialdata",
        "coachstats.tasks.evaluate.casemix",
        "coachstats.tasks.tracking",
    ):
        monkeypatch.setattr(f"{module}.derive_endpoints", counting)
    return calls


def test_parquet_read_in_column_groups_equals_pandas(tmp_path: Path) -> None:
    df = pd.DataFrame({f"c{i}": np.arange(5) * i for i in range(40)})
    df["text"] = ["a", None, "c", "d", "e"]
    df["nullable"] = pd.array([1, None, 3, 4, 5], dtype="Int64")
    df.index = pd.Index(["p", "q", "q", "r", "s"], name="key")  # a stored index, with a repeat
    path = tmp_path / "wide.parquet"
    df.to_parquet(path)
    got = read_parquet_frame(path)
    want = pd.read_parquet(path)
    pd.testing.assert_frame_equal(got, want)


def test_analyze_reads_only_schema_columns_with_the_same_results(cohort_file: Path) -> None:
    whole = analyze(cohort_file)
    schema = analyze(cohort_file, read_columns="schema")
    kept = schema.data.patients.columns
    assert not any(str(c).startswith(("trust_q", "pacic_q")) for c in kept)
    assert any(n.startswith("66 of 95 column(s) not read") for n in schema.notes)
    pd.testing.assert_frame_equal(schema.to_frame(), whole.to_frame())
    pd.testing.assert_frame_equal(schema.flow.endpoints, whole.flow.endpoints)
    assert schema.flow.randomized == whole.flow.randomized


def test_a_record_blank_in_the_schema_columns_only_is_read_whole(tmp_path: Path) -> None:
    """The columns left out could hold the record's only value: then the file is read whole."""
    df = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", None, "P4"],
            "arm": ["coaching", "usual_care", None, "usual_care"],
            "hba1c_0": [9.0, 9.5, None, 8.8],
            "hba1c_12": [8.0, 9.1, None, 8.0],
            "trust_q1_0": [3.0, 4.0, 5.0, None],
        }
    )
    path = tmp_path / "row.parquet"
    df.to_parquet(path)
    notes: list[str] = []
    raw = data_io.read_table(path, keep=schema_columns(), notes=notes)
    assert list(raw.columns) == list(df.columns) and not notes
    # not a blank record (its questionnaire item has a value): a record without an id
    with pytest.raises(SchemaError, match="missing patient id"):
        load_program(path, read_columns="schema")
    df.loc[2, "trust_q1_0"] = None  # now blank everywhere: skipped, as when read whole
    df.to_parquet(path)
    notes = load_program(path, read_columns="schema").notes
    assert notes == load_program(path).notes == ("1 blank row(s) skipped",)


def test_evaluate_derives_each_endpoint_table_once(
    cohort_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plans, flow, standardization, case mix and tracking share one derivation per goal set."""
    calls = count_derivations(monkeypatch)
    evaluate(cohort_file)
    # HCPC at month 12 and peer at month 12 (its plan's follow-up): one derivation each; the
    # analysis plan's flow at the data's follow-up (month 12 too) is one of them
    assert len(calls) == 2


def test_analyze_derives_endpoints_once(cohort_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_derivations(monkeypatch)
    analyze(cohort_file)
    assert len(calls) == 1


def test_questionnaire_scores_only_when_a_spec_uses_them(cohort_file: Path) -> None:
    data = load_program(cohort_file)
    plain = run_plan(data, [AnalysisSpec("composite_any", "chi_square")], goals="hcpc")
    assert "trust_12" not in plain.endpoints.columns
    scored = run_plan(
        data,
        [AnalysisSpec("composite_any", "chi_square"), AnalysisSpec("trust_12", "t_test")],
        goals="hcpc",
    )
    assert scored.ok and scored[1].arms[0].n > 0


def test_row_selection_copies_only_the_columns_a_spec_reads() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d"],
            "arm": ["coaching", "usual_care"] * 2,
            "site": ["A", "A", "B", "B"],
            "clinic": ["x", "y", "x", "y"],
            "x": [1.0, 2.0, None, 4.0],
            "unused": [0, 0, 0, 0],
        }
    )
    spec = AnalysisSpec(
        "x", "linear", subset="site == 'A' or x > 3", options={"fixed_effects": "clinic"}
    )
    cols = analysed_columns(df, spec)
    assert cols == ["patient_id", "arm", "site", "clinic", "x"]
    narrow = select_rows(df, spec, columns=cols)
    whole = select_rows(df, spec)
    assert list(narrow.frame.columns) == cols
    pd.testing.assert_frame_equal(narrow.frame, whole.frame[cols])
    assert (
        narrow.exclusions
        == whole.exclusions
        == (Exclusion("outside the analysed subgroup site == 'A' or x > 3", 1, ("c",)),)
    )
    # multiple imputation imputes from the measurement columns: nothing is narrowed
    assert analysed_columns(df, AnalysisSpec("x", "t_test", missing="mi")) is None


def test_plan_results_are_the_same_on_a_wide_table(cohort_file: Path) -> None:
    """The selection narrowed to the spec's columns gives the results of the whole table."""
    data = load_program(cohort_file)
    narrow_table = data.patients[[c for c in data.patients.columns if schema_columns()(c)]]
    plan = [
        AnalysisSpec("composite_any", "chi_square"),
        AnalysisSpec("at_goal_ldl", "chi_square", subset="site == 'A'"),
        AnalysisSpec("change_hba1c", "t_test"),
    ]
    a = run_plan(data.patients, plan, goals=HCPC_GOALS).to_frame()
    b = run_plan(narrow_table, plan, goals=HCPC_GOALS).to_frame()
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_never_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert show_progress(_Tty()) and not show_progress(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not show_progress(_Tty())
    monkeypatch.setenv("CI", "0")
    assert show_progress(_Tty())


def test_progress_stages_and_bars_on_a_terminal() -> None:
    from rich.console import Console
    from rich.progress import Progress

    out = _Tty()
    with Progress(console=Console(file=out, force_terminal=True), transient=False) as bar:
        steps = Steps("synth", bar)
        steps("generating")
        steps.advance("hcpc_patients.csv", 3, 12)
        (task,) = bar.tasks
        assert (task.description, task.completed, task.total) == ("synth: hcpc_patients.csv", 3, 12)
    Steps("quiet")("nothing is shown without a display")  # the callback of a pipe: a no-op


def test_synth_tells_the_rows_written(tmp_path: Path) -> None:
    told: list[tuple[str, int, int]] = []
    cohort = hcpc_cohort(n=441)
    cohort.write(
        tmp_path, formats=("csv",), progress=lambda f, done, total: told.append((f, done, total))
    )
    last = {f: (done, total) for f, done, total in told}
    assert last == {
        "hcpc_patients.csv": (441, 441),
        "hcpc_medications.csv": (len(cohort.medications),) * 2,
        "hcpc_adherent_days.csv": (len(cohort.adherent_days),) * 2,
        "hcpc_visit_ratings.csv": (len(cohort.visit_ratings),) * 2,
    }


def test_synth_writes_in_chunks_the_bytes_of_the_whole_frame(tmp_path: Path) -> None:
    """Chunked writing (a table never built whole) gives the files of the one-frame writer."""
    cohort = hcpc_cohort(n=700, seed=4)
    src = cohort.sources["hcpc_patients"]
    write_source(src, tmp_path / "chunks", "p", decimals=cohort.decimals, chunk_rows=64)
    frame = src.frame()
    text = pd.DataFrame(
        {c: format_column(frame[c], cohort.decimals.get(c)) for c in frame.columns}
    ).to_csv(index=False, lineterminator="\n")
    assert (tmp_path / "chunks" / "p.csv").read_text() == text
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "chunks" / "p.parquet"), frame)


def test_csv_and_parquet_written_together_are_those_written_alone(tmp_path: Path) -> None:
    """One pass writes both files (Parquet in a second thread): the bytes of each written alone."""
    import pyarrow.parquet as pq

    cohort = hcpc_cohort(n=300, seed=5)
    src = cohort.sources["hcpc_medications"]
    dec = {c: v for c, v in cohort.decimals.items() if c in src.columns}
    both = write_source(src, tmp_path / "both", "m", decimals=dec, chunk_rows=100)
    alone = [
        write_source(src, tmp_path / fmt, "m", decimals=dec, formats=(fmt,), chunk_rows=100)[0]
        for fmt in ("csv", "parquet")
    ]
    assert [p.name for p in both] == ["m.csv", "m.parquet"]
    assert [p.read_bytes() for p in both] == [p.read_bytes() for p in alone]
    meta = pq.ParquetFile(both[1]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [100] * (src.n // 100) + ([src.n % 100] if src.n % 100 else [])
    pd.testing.assert_frame_equal(pd.read_parquet(both[1]), src.frame().reset_index(drop=True))


def _synth_stderr(tmp_path: Path, *, terminal: bool, ci: bool) -> bytes:
    """What ``coachstats synth`` writes to its stderr: a terminal (a pty) or a pipe."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"), *sys.path])
    if ci:
        env["CI"] = "true"
    tmp_path.mkdir()
    args = [sys.executable, "-m", "coachstats.cli", "synth", str(tmp_path / "out"), "--n", "300"]
    if not terminal:
        return subprocess.run(args, capture_output=True, env=env, check=True).stderr
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the command closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait() == 0
    return b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
def test_synth_shows_its_stages_on_a_terminal_only(tmp_path: Path) -> None:
    """The command's progress reaches a terminal, never a pipe or a CI log (issue 22)."""
    shown = _synth_stderr(tmp_path / "tty", terminal=True, ci=False)
    assert b"synth: generating 300 patients" in shown
    assert b"synth: hcpc_patients.csv, hcpc_patients.parquet" in shown
    for text in (
        _synth_stderr(tmp_path / "pipe", terminal=False, ci=False),
        _synth_stderr(tmp_path / "ci", terminal=True, ci=True),
    ):
        assert b"synth:" not in text
        assert b"\x1b[" not in text  # no cursor movement or colour either


def test_a_fit_from_the_designs_centred_columns_is_the_fit_without_them() -> None:
    """fit_logistic / fit_linear reuse build_design's group centring: the same numbers, exactly.

    A logistic fit's design is built with the fit's first working weights (as
    :func:`coachstats.compare.regression.logistic` does), which weight the
    Gram matrix that its first pass reads.
    """
    from coachstats.compare.design import GroupIndex, build_design
    from coachstats.compare.glm import first_pass_weights, fit_linear, fit_logistic

    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame(
        {
            "age": rng.normal(55, 10, n).round(),
            "hba1c_0": rng.normal(9, 1.5, n),
            "clinic": rng.choice([f"c{i}" for i in range(12)], n),
        }
    )
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.3 + 0.1 * treated).astype(float)
    for groups in (GroupIndex.from_values(frame["clinic"]), None):
        for fit in (fit_logistic, fit_linear):
            weights = None
            if groups is not None and fit is fit_logistic:
                weights = first_pass_weights(groups.sums(y), groups.counts)
            design = build_design(
                frame, treated, ["age", "hba1c_0"], groups=groups, group_weights=weights
            )
            assert design.centred is not None
            a = fit(design.X, y, groups)
            b = fit(design.X, y, groups, centred=design.centred)
            assert np.array_equal(a.coef, b.coef) and np.array_equal(a.group_coef, b.group_coef)
            assert np.array_equal(a.bread, b.bread) and a.deviance == b.deviance


def test_analyze_and_evaluate_do_not_import_scipy_stats() -> None:
    """scipy.stats takes about 0.5 s to import: the commands' modules load it on first use only."""
    import os
    import subprocess

    code = (
        "import sys, coachstats.tasks.evaluate, coachstats.cli.program; "
        "print('scipy.stats' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("background", [False, True])
def test_grouping_columns_are_coded_once_by_prepare_in_either_thread(
    monkeypatch: pytest.MonkeyPatch, background: bool
) -> None:
    """prepare codes clusters / fixed effects (a second thread on large frames); models reuse them.

    The codes are those of GroupIndex.from_values on the analysed rows, the
    fits are the same numbers in both threads, and rows dropped later (all-0
    clinics of a fixed-effects logit) are coded again, not read stale.
    """
    from coachstats.compare import prepare as prep
    from coachstats.compare.design import GroupIndex
    from coachstats.compare.modelbase import drop_degenerate_groups, model_setup, setup_groups
    from coachstats.compare.models import logistic

    monkeypatch.setattr(prep, "BACKGROUND_ROWS", 0 if background else 10**9)
    rng = np.random.default_rng(3)
    n = 4000
    d = pd.DataFrame(
        {
            "arm": rng.choice(["coaching", "usual care"], n),
            "clinic": rng.choice([f"c{i}" for i in range(15)], n),
            "age": np.where(rng.random(n) < 0.05, np.nan, rng.normal(55, 10, n)),
        }
    )
    d["goal"] = (rng.random(n) < 0.4).astype(float)
    d.loc[d["clinic"] == "c3", "goal"] = 0.0  # dropped by the fixed-effects fit
    prepared = prep.prepare(d, ["goal", "age", "clinic"], arm="arm", groups=["clinic", "clinic"])
    want = GroupIndex.from_values(prepared.frame["clinic"])
    got = prepared.groups["clinic"]
    assert np.array_equal(got.codes, want.codes) and list(got.labels) == list(want.labels)
    assert np.array_equal(got.counts, want.counts)
    setup = model_setup(
        d,
        "goal",
        arm="arm",
        covariates=["age"],
        formula=None,
        groups=[None, "clinic"],
        binary=True,
        treatment=None,
        control=None,
    )
    assert setup_groups(setup, "clinic") is setup.prepared.groups["clinic"]
    with pytest.warns(DataWarning, match="dropped 1 clinic level"):
        kept, fe = drop_degenerate_groups(setup, "clinic", "goal")
    assert kept.frame is not setup.frame and "c3" not in list(fe.labels)
    again = setup_groups(kept, "clinic")
    assert len(again.codes) == len(kept.frame) and "c3" not in list(again.labels)
    with pytest.warns(DataWarning):
        r = logistic(d, "goal", covariates=["age"], fixed_effects="clinic", cluster="clinic")
    monkeypatch.setattr(prep, "BACKGROUND_ROWS", 10**9 if background else 0)
    with pytest.warns(DataWarning):
        other = logistic(d, "goal", covariates=["age"], fixed_effects="clinic", cluster="clinic")
    assert (r.estimate, r.std_error, r.p_value) == (other.estimate, other.std_error, other.p_value)

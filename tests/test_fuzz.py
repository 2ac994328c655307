"""Fuzzing the loader and the CLI with mutated patient files (issue 23).

A clean wide file is mutated the way exports break: columns dropped or
renamed, bytes injected, rows shuffled, duplicated or blanked, quotes left
open, ids padded with spaces, cells re-encoded. For every generated file:

* only a ``CoachstatsError`` escapes the loader (anything else is a bug);
* when it loads, the records add up: records = blank + rows, one patient
  per row, every patient in the flow, and, when no byte that changes the
  line structure was injected, the records are exactly the data lines
  written and the patients are exactly the ids written (as text);
* the CLI exits 0, 1 or 2, never 3 (an internal error) and never with a traceback.

The suite runs a short budget; ``pytest -m fuzz`` runs the long one (nightly).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coachstats import load_trial
from coachstats.cli import app
from coachstats.errors import CoachstatsError
from tests import hostile

MUTATIONS = (
    "drop column",
    "rename column",
    "inject bytes",
    "shuffle rows",
    "duplicate row",
    "blank row",
    "open quote",
    "pad id",
    "cp1252 row",
    "long cell",
    "formula cell",
    "spreadsheet error",
    "case header",
)


def mutate(
    rows: list[list[str]], header: list[str], ops: list[tuple[str, int]]
) -> tuple[bytes, bool]:
    """The file's bytes after ``ops``; and whether its line structure may have changed."""
    header, rows = list(header), [list(r) for r in rows]
    tail: bytes = b""
    structural = False
    for op, k in ops:
        rnd = random.Random(k)
        if op == "drop column" and len(header) > 1:
            j = rnd.randrange(len(header))
            header.pop(j)
            for r in rows:
                r.pop(j)
        elif op == "rename column":
            header[rnd.randrange(len(header))] = rnd.choice(["Group", "id", "A1c", "hba1c_0", ""])
        elif op == "shuffle rows":
            rnd.shuffle(rows)
        elif op == "duplicate row" and rows:
            rows.insert(rnd.randrange(len(rows) + 1), list(rnd.choice(rows)))
        elif op == "blank row":
            rows.insert(rnd.randrange(len(rows) + 1), [""] * len(header))
        elif op == "open quote" and rows and header:
            rows[rnd.randrange(len(rows))][rnd.randrange(len(header))] = '"' + "x"
            structural = True
        elif op == "pad id" and rows and header:
            r = rnd.randrange(len(rows))
            rows[r][0] = rows[r][0] + " "
        elif op == "long cell" and rows and header:
            rows[rnd.randrange(len(rows))][rnd.randrange(len(header))] = "9" * rnd.randrange(
                10, 5000
            )
        elif op == "formula cell" and rows and header:
            rows[rnd.randrange(len(rows))][rnd.randrange(len(header))] = "=HYPERLINK(1)"
        elif op == "spreadsheet error" and rows and header:
            rows[rnd.randrange(len(rows))][rnd.randrange(len(header))] = "#DIV/0!"
        elif op == "case header" and header:
            j = rnd.randrange(len(header))
            header[j] = header[j].upper()
        elif op == "cp1252 row" and rows and header:
            rows[rnd.randrange(len(rows))][min(2, len(header) - 1)] = "\x00PEÑA"  # marker
        elif op == "inject bytes":
            tail += bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
            structural = True
    lines = [",".join(header), *(",".join(r) for r in rows)]
    data = b""
    for line in lines:
        if "\x00PEÑA" in line:  # one row in another encoding
            data += line.replace("\x00", "").encode("cp1252") + b"\n"
        else:
            data += line.encode("utf-8") + b"\n"
    if tail:
        cut = random.Random(len(data)).randrange(len(data) + 1)
        data = data[:cut] + tail + data[cut:]
    return data, structural


plans = st.lists(
    st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 10_000)), min_size=0, max_size=5
)


def check_file(tmp: Path, n: int, ops: list[tuple[str, int]]) -> None:
    rows, header = hostile.clean_rows(n), list(hostile.HEADER)
    data, structural = mutate(rows, header, ops)
    path = tmp / "fuzz.csv"
    path.write_bytes(data)
    try:
        td = load_trial(path)
    except CoachstatsError as exc:
        assert str(exc)  # the only failure allowed, and it says something
        return
    intake = td.intake
    assert intake is not None
    assert intake.records == intake.blank + intake.rows
    assert intake.patients == intake.rows == td.n == td.flow.entered == len(td.patients)
    if not structural:
        written = data.decode("utf-8", errors="replace").splitlines()[1:]
        assert intake.records == len(written)
        cells = [line.split(",") for line in written]
        ids = {c[0].lstrip() for c in cells if any(x.strip() for x in c)}  # blank rows: no id
        assert set(td.patients["patient_id"]) == ids


def check_cli(tmp: Path, n: int, ops: list[tuple[str, int]]) -> None:
    data, _ = mutate(hostile.clean_rows(n), list(hostile.HEADER), ops)
    path = tmp / "fuzz.csv"
    path.write_bytes(data)
    runner = CliRunner()
    for command in (["endpoints", str(path)], ["analyze", str(path)]):
        res = runner.invoke(app, command)
        assert res.exit_code in (0, 1, 2), (command, res.output)
        assert "Traceback" not in res.output and "internal error" not in res.output


SHORT = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every CI run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG = settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SHORT
@given(st.integers(2, 30), plans)
def test_fuzz_loader(tmp_path: Path, n: int, ops: list[tuple[str, int]]) -> None:
    check_file(tmp_path, n, ops)


@settings(SHORT, max_examples=15)
@given(st.integers(4, 30), plans)
def test_fuzz_cli(tmp_path: Path, n: int, ops: list[tuple[str, int]]) -> None:
    check_cli(tmp_path, n, ops)


@pytest.mark.fuzz
@LONG
@given(st.integers(2, 200), plans)
def test_fuzz_loader_long(tmp_path: Path, n: int, ops: list[tuple[str, int]]) -> None:
    check_file(tmp_path, n, ops)


@pytest.mark.fuzz
@settings(LONG, max_examples=300)
@given(st.integers(4, 100), plans)
def test_fuzz_cli_long(tmp_path: Path, n: int, ops: list[tuple[str, int]]) -> None:
    check_cli(tmp_path, n, ops)


@pytest.mark.fuzz
def test_a_64_mb_cell_is_loaded_or_refused_with_a_short_message(tmp_path: Path) -> None:
    rows = hostile.clean_rows(4)
    rows[1][2] = "x" * (64 << 20)  # a 64 MB site name: text, loaded as it is
    rows[2][4] = "9" * (64 << 20)  # a 64 MB HbA1c: an impossible value, echoed cut
    with pytest.raises(CoachstatsError) as info:
        load_trial(hostile.write_rows(tmp_path / "huge.csv", rows))
    assert len(str(info.value)) < 2000


@pytest.mark.fuzz
def test_a_100_000_column_file_loads(tmp_path: Path) -> None:
    td = load_trial(hostile.wide(tmp_path / "wide.csv", 100_000))
    assert td.patients.shape[1] >= 100_000 and td.n == 4

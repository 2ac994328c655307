"""The operating-characteristics simulation (tools/operating_characteristics.py) on a tiny grid.

The full run (2,000 runs per cell; its table is in docs/evaluate.md) takes minutes; CI runs
a few cells with few runs: the code path, the seeding, the table, and the bound the defaults
are chosen for (a null two-arm program is called similar to HCPC in at most 5 % of runs at
500 per arm).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tools.operating_characteristics import (
    END,
    RESULTS,
    START,
    markdown,
    simulate,
    write_docs,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "evaluate.md"


def test_tiny_grid() -> None:
    cells = simulate(runs=30, seed=4, effects=(0.0, 2.0), sizes=(500,), designs=("two-arm",))
    null, double = cells
    assert (null.effect, double.effect, null.n, null.runs) == (0.0, 2.0, 500, 30)
    for c in cells:
        assert sum(c.shares.values()) == pytest.approx(1.0)
    # a null program is never similar, and never larger; a double-size one never smaller
    assert null.shares["similar"] == 0.0 and null.similar_any <= 0.05
    assert null.shares["larger"] == 0.0 and double.shares["smaller"] == 0.0
    # seeded: the same grid gives the same shares
    again = simulate(runs=30, seed=4, effects=(0.0, 2.0), sizes=(500,), designs=("two-arm",))
    assert [c.row() for c in again] == [c.row() for c in cells]


def test_single_arm_null_is_smaller_at_large_n() -> None:
    (cell,) = simulate(runs=20, seed=5, effects=(0.0,), sizes=(2000,), designs=("single-arm",))
    # as good as usual care, 2,000 patients: smaller than the coaching arm in (nearly) every run
    assert cell.shares["smaller"] >= 0.9 and cell.shares["similar"] == 0.0


def test_table_and_docs_markers(tmp_path: Path) -> None:
    cells = simulate(runs=10, seed=1, effects=(0.0,), sizes=(150,), designs=("two-arm",))
    table = markdown(cells, seed=1)
    assert "| two-arm | null (0x) | 150 |" in table
    page = tmp_path / "page.md"
    page.write_text(f"# x\n\n{START}\nold\n{END}\n\nafter\n")
    write_docs(table, page)
    text = page.read_text()
    assert "old" not in text and table in text and text.endswith("after\n")


def test_docs_hold_the_recorded_table() -> None:
    # the table in docs/evaluate.md is the one the recorded run printed
    recorded = json.loads(RESULTS.read_text())
    text = DOCS.read_text(encoding="utf-8")
    table = text.split(START, 1)[1].split(END, 1)[0]
    assert f"seed {recorded['seed']}" in table
    for cell in recorded["cells"]:
        if cell["design"] == "two-arm" and cell["effect"] == 0.0 and cell["n"] == 500:
            assert cell["similar"] <= 0.05 and cell["similar_any"] <= 0.05
    rows = [
        line
        for line in table.splitlines()
        if line.startswith("| two-arm") or line.startswith("| single-arm")
    ]
    assert len(rows) == len(recorded["cells"]) == 24

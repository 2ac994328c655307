"""The example notebooks run from top to bottom, with the command they document, and show
every figure.

Each ``notebooks/*.py`` (jupytext percent format, the reviewed source) documents the command
that runs it; the test copies the source to a temporary folder and runs that command there,
in a shell, as a user would after the README install (``pip install -e ".[test]"``): a
fresh Jupyter kernel with the inline backend (the kernel's default: MPLBACKEND is removed
from its environment). A cell that raises fails the test; every cell that draws must show
its figure (issue 20: after the first coachstats figure no figure was shown any more).

A second test runs every coachstats figure in a real kernel, each followed by a plain
matplotlib figure, and checks that each cell shows exactly its one figure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

jupytext = pytest.importorskip("jupytext", reason="needs jupytext (pip install coachstats[test])")
nbclient = pytest.importorskip("nbclient", reason="needs nbclient (pip install coachstats[test])")
nbformat = pytest.importorskip("nbformat", reason="needs nbformat (pip install coachstats[test])")
pytest.importorskip("ipykernel", reason="needs ipykernel (pip install coachstats[test])")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
#: The documented command: "Run it with `...`" in the notebook's introduction.
COMMAND = re.compile(r"`(jupytext --to notebook [^`]+)`")
#: A cell that draws: a coachstats plot function or a plain matplotlib figure.
DRAWS = re.compile(r"\b(plot_\w+|plt\.subplots|plt\.figure)\(")


def documented_command(path: Path) -> str:
    commands = COMMAND.findall(" ".join(path.read_text(encoding="utf-8").split()))
    assert len(commands) == 1, f"{path.name} must document one command to run it: {commands}"
    return str(commands[0])


def kernel_env() -> dict[str, str]:
    """The environment of a user's shell: this interpreter's scripts first, no MPLBACKEND."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def images(cell: Any) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def test_notebooks_found() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert "01_reproduce_hcpc.py" in names and "02_peer_trial.py" in names


def test_the_documented_commands_agree() -> None:
    # the notebooks and the quick start document the same command
    commands = {p.name: documented_command(p) for p in NOTEBOOKS}
    for name, command in commands.items():
        stem = name.removesuffix(".py")
        assert command == (
            f"jupytext --to notebook notebooks/{stem}.py && "
            f"jupyter execute --inplace notebooks/{stem}.ipynb"
        )
        assert "--execute" not in command  # jupytext's --execute needs nbconvert
    quickstart = " ".join((ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8").split())
    assert commands["01_reproduce_hcpc.py"] in quickstart


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    notebook = jupytext.read(path)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert code and markdown and notebook.cells[0].cell_type == "markdown"
    assert all(not c.get("outputs") for c in code)  # the source holds no outputs
    (tmp_path / "notebooks").mkdir()
    shutil.copy(path, tmp_path / "notebooks" / path.name)
    done = subprocess.run(
        ["bash", "-c", documented_command(path)],
        cwd=tmp_path,
        env=kernel_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]  # a cell that raises stops the command
    executed = nbformat.read(tmp_path / "notebooks" / f"{path.stem}.ipynb", as_version=4)
    cells = [c for c in executed.cells if c.cell_type == "code"]
    assert len(cells) == len(code)
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # every cell that draws shows its figure (the inline backend's PNG output)
    drawing = [c for c in cells if DRAWS.search(c.source)]
    assert drawing
    blank = [c.source.splitlines()[0] for c in drawing if images(c) == 0]
    assert not blank, f"cells that draw but show no figure: {blank}"


KERNEL_CELLS = [
    "import matplotlib, matplotlib.pyplot as plt\n"
    "import pandas as pd\n"
    "from coachstats.core.results import ArmSummary, ComparisonResult\n"
    "from coachstats.plots import (plot_by_arm, plot_change, plot_consort, plot_forest,\n"
    "    plot_published_vs_reproduced, journal_style)\n"
    "from coachstats import PEER_GOALS, Flow, derive_endpoints\n"
    "rd = ComparisonResult('composite_any', 'chi-square', 'risk difference', 0.121,\n"
    "    conf_low=0.022, conf_high=0.22, p_value=0.017,\n"
    "    arms=(ArmSummary('coaching', 194, events=90, value=90 / 194),\n"
    "          ArmSummary('usual_care', 178, events=61, value=61 / 178)))\n"
    "md = ComparisonResult('change_hba1c', 'Welch', 'mean difference', -0.77,\n"
    "    conf_low=-1.5, conf_high=-0.04, p_value=0.01,\n"
    "    arms=(ArmSummary('coaching', 122, value=-1.07, sd=2.8),\n"
    "          ArmSummary('usual_care', 114, value=-0.3, sd=3.1)))\n"
    "df = pd.DataFrame({'patient_id': range(6), 'arm': ['coaching', 'usual_care'] * 3,\n"
    "    'hba1c_0': [9.0, 9.5, 10.0, 8.8, 9.9, 9.4], 'hba1c_6': [7.9, None, 8.6, 9.0, 8.8, 9.3]})\n"
    "flow = Flow.from_endpoints(derive_endpoints(df, PEER_GOALS, with_status=True))\n"
    "targets = pd.DataFrame({'outcome': ['a', 'b'], 'published_value': [46.4, 34.3],\n"
    "    'reproduced_value': [46.4, 34.2]})",
    "ax = plot_by_arm([rd], ci=True)",
    "ax = plot_change(md)",
    "ax = plot_forest([rd])",
    "ax = plot_consort(flow, endpoint='change_hba1c')",
    "ax = plot_published_vs_reproduced(targets, group=None)",
    "with journal_style():\n    fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])",
]
PLAIN = "fig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])"


def test_every_figure_shows_in_a_kernel_and_so_do_the_next() -> None:
    # the session's first figure is a coachstats one (the case of the notebooks), then
    # each coachstats figure is followed by a plain matplotlib one
    sources = [KERNEL_CELLS[0]]
    for cell in KERNEL_CELLS[1:]:
        sources += [cell, PLAIN]
    sources.append("print(matplotlib.is_interactive())")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute(env=kernel_env())  # the kernel's environment: no MPLBACKEND
    cells = notebook.cells
    assert images(cells[0]) == 0
    shown = [(c.source.splitlines()[0], images(c)) for c in cells[1:-1]]
    assert shown == [(s.splitlines()[0], 1) for s in sources[1:-1]]
    assert cells[-1].outputs[0]["text"].strip() == "True"  # interactive mode still on

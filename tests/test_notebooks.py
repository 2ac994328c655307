"""The example notebooks run from top to bottom.

Each ``notebooks/*.py`` (jupytext percent format, the reviewed source) is converted to a
notebook with jupytext and executed with nbclient in a fresh kernel, from the notebooks
folder; a cell that raises fails the test. The generated ``.ipynb`` files are not kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="needs jupytext (pip install coachstats[test])")
nbclient = pytest.importorskip("nbclient", reason="needs nbclient (pip install coachstats[test])")
pytest.importorskip("ipykernel", reason="needs ipykernel (pip install coachstats[test])")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))


def test_notebooks_found() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert "01_reproduce_hcpc.py" in names and "02_peer_trial.py" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py sets MPLBACKEND=Agg; the kernel inherits the environment, and a
    # notebook user has the inline backend, which shows each figure under its cell
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = jupytext.read(path)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert code and markdown and notebook.cells[0].cell_type == "markdown"
    assert all(not c.get("outputs") for c in code)  # the source holds no outputs
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    # the figures were drawn (matplotlib's inline backend shows them as PNG outputs)
    images = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images

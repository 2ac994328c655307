"""Safe outputs: atomic writes, no overwrite without force, never the input file."""

from __future__ import annotations

from pathlib import Path

import pytest

from coachstats.errors import OutputError
from coachstats.outputs import hash_ids, write_atomic


def test_refuses_existing_without_force(tmp_path: Path) -> None:
    p = write_atomic(tmp_path / "r.html", "<p>1</p>")
    with pytest.raises(OutputError, match="--force"):
        write_atomic(p, "<p>2</p>")
    write_atomic(p, "<p>2</p>", force=True)
    assert p.read_text() == "<p>2</p>"
    assert [x.name for x in tmp_path.iterdir()] == ["r.html"]  # no temp files left


def test_never_overwrites_input(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("patient_id\n1\n")
    with pytest.raises(OutputError, match="input file"):
        write_atomic(tmp_path / "." / "data.csv", "x", force=True, inputs=[data])
    assert data.read_text() == "patient_id\n1\n"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(TypeError):  # fails inside the write, after the temp file exists
        write_atomic(target, 12345)  # type: ignore[arg-type]
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_hash_ids_stable_and_salted() -> None:
    a = hash_ids(["MRN1", "MRN2"], salt="x")
    assert a == hash_ids(["MRN1", "MRN2"], salt="x")
    assert a != hash_ids(["MRN1", "MRN2"], salt="y")
    assert len(set(a)) == 2 and all(len(h) == 12 for h in a)


def test_written_file_has_the_usual_permissions(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        p = write_atomic(tmp_path / "r.csv", "x")
    finally:
        os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o644

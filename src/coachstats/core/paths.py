"""Where the bundled synthetic cohorts live, installed or in a source checkout.

An installed wheel carries ``data/synthetic`` as ``coachstats/_data/synthetic``
(``[tool.hatch.build.targets.wheel.force-include]`` in ``pyproject.toml``); a
source checkout (editable install, tests) has it at the repository root.

Examples
--------
>>> (bundled_data_dir() / "hcpc_patients.csv").is_file()
True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from coachstats.core.errors import CoachstatsError, FileFormatError, shorten

__all__ = ["bundled_data_dir", "bundled_table", "require_file"]

#: the installed package ``coachstats/`` (this file is ``coachstats/core/paths.py``)
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def bundled_data_dir() -> Path:
    """The directory of the bundled synthetic cohorts.

    Raises
    ------
    CoachstatsError
        When neither location exists (a broken installation).
    """
    installed = resources.files("coachstats").joinpath("_data", "synthetic")
    candidates = [Path(str(installed)), _PACKAGE_DIR.parents[1] / "data" / "synthetic"]
    for path in candidates:
        if path.is_dir():
            return path
    raise CoachstatsError(
        "the bundled synthetic cohorts were not found (looked in "
        + ", ".join(str(p) for p in candidates)
        + "); regenerate them with `python -m coachstats.synthetic data/synthetic`"
    )


def bundled_table(name: str) -> Path | None:
    """The CSV file of one bundled table (e.g. ``"hcpc_patients"``), or None if absent.

    Examples
    --------
    >>> bundled_table("hcpc_patients").name
    'hcpc_patients.csv'
    >>> bundled_table("no_such_table") is None
    True
    """
    path = bundled_data_dir() / f"{name}.csv"
    return path if path.is_file() else None


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path`; :class:`FileFormatError` unless it is an existing file.

    A folder is named as a folder (not "not found"): it exists, and the fix is another name.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> require_file(folder, "results file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coachstats.core.errors.FileFormatError: results file ... is a folder, not a file; give the path of a file in it
    >>> require_file(folder + "/none.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coachstats.core.errors.FileFormatError: file not found: .../none.csv
    """
    p = Path(path)
    if p.is_dir():
        raise FileFormatError(
            f"{what} {shorten(p, 200)} is a folder, not a file; give the path of a file in it"
        )
    if not p.is_file():
        raise FileFormatError(f"{what} not found: {shorten(p, 200)}")
    return p

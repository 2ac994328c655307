"""Writing outputs safely, and hiding patient identifiers.

* :func:`write_atomic` writes to a temporary file in the target folder and
  renames it into place, so a crash never leaves a half-written report or
  CSV. It refuses to overwrite an existing file unless ``force=True`` and
  never overwrites one of the ``inputs`` (the data being analysed), even with
  ``force``.
* :func:`hash_ids` replaces patient identifiers by salted SHA-256 prefixes, for
  logs and error messages that must not carry identifiers.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(d / "out.csv", "a,b\\n1,2\\n").name
'out.csv'
>>> try:
...     write_atomic(d / "out.csv", "again")
... except OutputError as e:
...     print("refused")
refused
>>> hash_ids(["MRN001", "MRN002"], salt="s")[0] != "MRN001"
True
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from coachstats.core.errors import OutputError

__all__ = ["check_output", "hash_ids", "write_atomic"]


def check_output(
    path: str | Path | None,
    *,
    option: str,
    suffixes: Iterable[str],
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> None:
    """Refuse an output path before any work: wrong suffix, an input file, or an existing file.

    The command-line tools call this for every output option before they load
    and analyse, so a long run never ends in a refusal with some outputs
    written and others not. :func:`write_atomic` checks again when it writes.

    Raises
    ------
    OutputError
        As :func:`write_atomic`, or a suffix not in ``suffixes`` (lower case,
        with the dot).

    Examples
    --------
    >>> check_output(None, option="--out", suffixes=(".csv",))
    >>> try:
    ...     check_output("table.txt", option="--out", suffixes=(".csv", ".json"))
    ... except OutputError as e:
    ...     print(e)
    --out table.txt: give a path ending in .csv or .json
    """
    if path is None:
        return
    target = Path(path)
    allowed = tuple(suffixes)
    if target.suffix.lower() not in allowed:
        raise OutputError(f"{option} {target}: give a path ending in {' or '.join(allowed)}")
    _refuse_target(target, inputs, force, f"{option}: ")


def _refuse_target(target: Path, inputs: Iterable[str | Path], force: bool, prefix: str) -> None:
    """Raise :class:`OutputError` if ``target`` is an input, or exists and ``force`` is False."""
    resolved = target.resolve()
    for inp in inputs:
        if Path(inp).resolve() == resolved:
            raise OutputError(
                f"{prefix}refusing to overwrite the input file {target}; choose another output path"
            )
    if target.exists() and not force:
        raise OutputError(f"{prefix}{target} exists; pass --force (force=True) to overwrite it")


def write_atomic(
    path: str | Path,
    content: str | bytes,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    encoding: str = "utf-8",
) -> Path:
    """Write ``content`` to ``path`` atomically (temporary file, then rename).

    Raises
    ------
    OutputError
        ``path`` is one of ``inputs``, or exists and ``force`` is False.
    """
    target = Path(path)
    _refuse_target(target, inputs, force, "")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode(encoding) if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def hash_ids(ids: Iterable[object], *, salt: str, length: int = 12) -> list[str]:
    """Salted SHA-256 prefixes of identifiers (stable for a given salt)."""
    return [hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:length] for i in ids]

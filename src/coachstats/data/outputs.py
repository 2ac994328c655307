"""Writing outputs safely, and hiding patient identifiers.

* :func:`write_atomic` writes to a temporary file in the target folder and
  renames it into place, so a crash never leaves a half-written report or
  CSV. It refuses to overwrite an existing file unless ``force=True`` and
  never overwrites one of the ``inputs`` (the data being analysed), even with
  ``force``.
* :class:`OutputSet` is the one guard of a run with several outputs: every
  path is checked before any work (suffix, an existing folder that can be
  written, not an input, ``force`` for an existing file), each output is
  staged in a temporary file beside its target, and either all are renamed
  into place or none is.
* :func:`neutralise_formulas` and :func:`csv_text` keep spreadsheet formulas
  out of tabular outputs: a text cell beginning with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a leading apostrophe (OWASP
  CSV-injection guidance), so a site named ``=HYPERLINK(...)`` is shown as
  text by Excel, never run.
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
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from coachstats.core.errors import OutputError

__all__ = [
    "OutputSet",
    "check_output",
    "csv_text",
    "hash_ids",
    "neutralise_formulas",
    "write_atomic",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


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
    if allowed and target.suffix.lower() not in allowed:
        raise OutputError(f"{option} {target}: give a path ending in {' or '.join(allowed)}")
    _refuse_target(target, inputs, force, f"{option}: ")
    _check_writable(target, f"{option}: ")


def _refuse_target(target: Path, inputs: Iterable[str | Path], force: bool, prefix: str) -> None:
    """Raise :class:`OutputError` if ``target`` is an input, or exists and ``force`` is False."""
    resolved = target.resolve()
    for inp in inputs:
        if Path(inp).resolve() == resolved:
            raise OutputError(
                f"{prefix}refusing to overwrite the input file {target}; choose another output path"
            )
    if target.is_dir():
        raise OutputError(f"{prefix}{target} is a folder; give a file name")
    if target.exists() and not force:
        raise OutputError(f"{prefix}{target} exists; pass --force (force=True) to overwrite it")


def _check_writable(target: Path, prefix: str) -> None:
    """Raise :class:`OutputError` unless a file can be created beside ``target`` now.

    The folder must exist (a typo must not create folders), be a folder, and
    take a new file: a probe file is created and removed, which is what the
    write will do (permission bits alone say nothing for root or ACLs).
    """
    parent = target.parent
    if not parent.exists():
        raise OutputError(f"{prefix}the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(f"{prefix}{parent} is a file, not a folder; {target} cannot be written")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".probe", dir=parent)
    except OSError as exc:
        raise OutputError(f"{prefix}cannot write in {parent}: {exc.strerror or exc}") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


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
    tmp = _stage(target, content, encoding)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _stage(target: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``content`` to a temporary file beside ``target`` (synced, usual permissions)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode(encoding) if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


class OutputSet:
    """The outputs of one run: checked before any work, then written all together or not at all.

    :meth:`add` checks a path at once (see :func:`check_output`: suffix, not
    an input, ``force`` for an existing file, a folder that takes a new file).
    :meth:`write` stages content in a temporary file beside its target;
    :meth:`commit` renames every staged file into place; :meth:`discard` (or
    leaving a ``with`` block by an exception) removes them all, so a run that
    fails half-way leaves no output at all.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> outs = OutputSet(force=False)
    >>> outs.add(d / "table.csv", option="--out", suffixes=(".csv",))
    >>> outs.add(d / "report.html", option="--report", suffixes=(".html",))
    >>> with outs:  # the report was not produced: only the table is written
    ...     outs.write(d / "table.csv", "a,b\\n1,2\\n")
    >>> sorted(p.name for p in d.iterdir())
    ['table.csv']
    """

    def __init__(self, *, force: bool = False, inputs: Iterable[str | Path] = ()) -> None:
        self.force = force
        self.inputs = [Path(p) for p in inputs]
        self._planned: dict[Path, str] = {}
        self._staged: dict[Path, Path] = {}
        #: The paths :meth:`commit` wrote, in order.
        self.written: list[Path] = []

    def add(self, path: str | Path | None, *, option: str, suffixes: Iterable[str] = ()) -> None:
        """Check one output path now; None (an option not given) is skipped."""
        if path is None:
            return
        target = Path(path)
        key = target.resolve()
        if key in self._planned:
            raise OutputError(
                f"{option} {target}: {self._planned[key]} writes the same file; give another path"
            )
        check_output(target, option=option, suffixes=suffixes, force=self.force, inputs=self.inputs)
        self._planned[key] = option

    def write(self, path: str | Path, content: str | bytes) -> None:
        """Stage ``content`` for ``path`` (one of the added paths)."""
        target = Path(path)
        if target.resolve() not in self._planned:
            raise OutputError(f"{target} was not checked before the work (OutputSet.add)")
        try:
            self._staged[target] = _stage(target, content)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None

    def adopt(self, path: str | Path, produced: str | Path) -> None:
        """Stage a file another writer produced (in the same folder as ``path``) for ``path``."""
        target = Path(path)
        if target.resolve() not in self._planned:
            raise OutputError(f"{target} was not checked before the work (OutputSet.add)")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.replace(produced, tmp)
        self._staged[target] = Path(tmp)

    def commit(self) -> list[Path]:
        """Rename every staged file into place; return the paths written."""
        done: list[Path] = []
        try:
            for target, tmp in self._staged.items():
                os.replace(tmp, target)
                done.append(target)
        except OSError as exc:
            self.discard()
            raise OutputError(
                f"cannot write {target}: {exc.strerror or exc}"
                + (f" (already written: {', '.join(map(str, done))})" if done else "")
            ) from None
        self._staged = {}
        self.written += done
        return done

    def discard(self) -> None:
        """Remove every staged file; nothing is written."""
        for tmp in self._staged.values():
            tmp.unlink(missing_ok=True)
        self._staged = {}

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot run as spreadsheet formulas.

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading apostrophe (OWASP CSV-injection guidance); numbers, and
    text that is a plain number (``"-1.5"``), are left as they are.

    Examples
    --------
    >>> df = pd.DataFrame({"site": ["=HYPERLINK(\\"http://x\\")", "North", "-2"], "d": [-1.5, 2, 3]})
    >>> neutralise_formulas(df)["site"].tolist()
    ['\\'=HYPERLINK("http://x")', 'North', '-2']
    >>> neutralise_formulas(df)["d"].tolist()
    [-1.5, 2.0, 3.0]
    """
    columns = {}
    for i in range(frame.shape[1]):  # built once: linear in the number of columns
        series = frame.iloc[:, i]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            series = series.map(_neutral, na_action="ignore")
        columns[i] = series
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = pd.Index([_neutral(c) for c in frame.columns])
    return out


def _neutral(value: Any) -> Any:
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame, **kwargs: Any) -> str:
    """``frame`` as CSV text, formulas neutralised (:func:`neutralise_formulas`), no index.

    Examples
    --------
    >>> csv_text(pd.DataFrame({"site": ["@SUM(A1)"]}))
    "site\\n'@SUM(A1)\\n"
    """
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\n", **kwargs)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def hash_ids(ids: Iterable[object], *, salt: str, length: int = 12) -> list[str]:
    """Salted SHA-256 prefixes of identifiers (stable for a given salt)."""
    return [hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:length] for i in ids]

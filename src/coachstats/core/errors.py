"""Exception and warning classes.

Every error coachstats raises on purpose derives from :class:`CoachstatsError`,
and also from the built-in class a caller would expect (``ValueError`` for bad
values, ``KeyError`` for missing names), so ``except ValueError`` keeps working.

Examples
--------
>>> from coachstats.core.errors import SchemaError, CoachstatsError
>>> issubclass(SchemaError, ValueError) and issubclass(SchemaError, CoachstatsError)
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "AnalysisError",
    "CoachstatsError",
    "CoachstatsWarning",
    "ColumnNotFoundError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataWarning",
    "DesignError",
    "FileFormatError",
    "FixtureError",
    "NotAnalysableError",
    "NotedWarning",
    "OptionError",
    "OutputError",
    "SchemaError",
    "SeparationError",
    "UnitError",
    "UnitWarning",
    "check_conf_level",
    "check_number",
    "check_option",
    "choose",
    "choose_all",
    "did_you_mean",
    "failure_from_mask",
    "list_some",
    "raise_if_failures",
    "shorten",
]


class CoachstatsError(Exception):
    """Base class of every error raised on purpose by coachstats."""


class OptionError(CoachstatsError, ValueError):
    """An option has a value outside its allowed set."""


class ColumnNotFoundError(CoachstatsError, KeyError):
    """A named column is not in the data."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class FileFormatError(CoachstatsError, ValueError):
    """A file cannot be found, read or recognised."""


class OutputError(CoachstatsError, ValueError):
    """An output cannot be written safely (it exists, or it is the input file)."""


class FixtureError(CoachstatsError, ValueError):
    """The bundled fixtures are not a released fixture version (their bytes differ)."""


class AnalysisError(CoachstatsError, ValueError):
    """A comparison cannot be computed on this data (one arm, no events, separation...)."""


class ConvergenceError(AnalysisError):
    """An iterative fit did not converge, so it has no estimate.

    Raised by logistic regression (also inside GEE and the streamed engines)
    and Firth's penalized logistic regression when the iterations stop before
    the convergence criterion is met. A subclass of :class:`AnalysisError`,
    so ``except AnalysisError`` catches it too. (An iterative fit that returns
    an estimate despite stopping early warns with :class:`ConvergenceWarning`
    instead.)

    Examples
    --------
    >>> issubclass(ConvergenceError, AnalysisError) and issubclass(ConvergenceError, ValueError)
    True
    """


class SeparationError(AnalysisError):
    """The outcome is perfectly separated by the arm: every patient of one arm has the same value.

    The odds ratio is then infinite or zero and ordinary logistic regression
    has no estimate; Firth's penalized likelihood (``firth=True``) or an exact
    test has one. A subclass of :class:`AnalysisError`.

    Examples
    --------
    >>> issubclass(SeparationError, AnalysisError)
    True
    """


class NotAnalysableError(AnalysisError):
    """An endpoint cannot be analysed at all: its measure has no follow-up, no baseline or no values.

    A state of the data, not a failure: results show its message alone
    (``"cannot be analysed: no follow-up (...)"``), without the class name.
    """


class DesignError(AnalysisError):
    """The analysis asked for needs a study design the data does not have.

    E.g. a single-arm program (every patient coached) has no comparative
    effect, so it cannot be placed against pooled effects of coaching against
    a control group. The message names what the design allows instead. A
    subclass of :class:`AnalysisError`.

    Examples
    --------
    >>> issubclass(DesignError, AnalysisError) and issubclass(DesignError, ValueError)
    True
    """


FAILURE_COLUMNS = ["column", "rows", "values", "problem"]


#: The most characters of one value (a cell, a column name) that a message echoes.
ECHO_CHARS = 60
#: The most items of a list (rows, values, columns) that a message echoes.
ECHO_ITEMS = 10
#: The most problems a :class:`SchemaError` message lists (``.failures`` keeps them all).
ECHO_PROBLEMS = 50


def shorten(value: object, limit: int = ECHO_CHARS) -> str:
    """``str(value)``, cut to ``limit`` characters with the number left out.

    Messages echo what the user gave; a 64 MB cell must not become a 64 MB message.

    Examples
    --------
    >>> shorten("x" * 100, 10)
    'xxxxxxxxxx... (+90 characters)'
    >>> shorten(7)
    '7'
    """
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... (+{len(text) - limit} characters)"


def list_some(items: Iterable[Any], limit: int = ECHO_ITEMS, *, each: int = ECHO_CHARS) -> str:
    """The first ``limit`` items joined by commas, each shortened, then ``+N more``.

    Examples
    --------
    >>> list_some(range(25), 3)
    '0, 1, 2, ... (+22 more)'
    >>> list_some(["a" * 80], each=5)
    'aaaaa... (+75 characters)'
    """
    seq = items if isinstance(items, Sequence) and not isinstance(items, str) else list(items)
    shown = ", ".join(shorten(x, each) for x in seq[:limit])
    more = len(seq) - limit
    return shown + (f", ... (+{more} more)" if more > 0 else "")


class SchemaError(CoachstatsError, ValueError):
    """Input data violates the schema.

    All problems found are collected before raising, so one error lists every
    problem. ``failures`` is a DataFrame with columns ``column``, ``rows`` (a
    list of patient ids or row numbers), ``values`` (a list of offending values)
    and ``problem`` (what is wrong and what is allowed).
    """

    def __init__(
        self,
        failures: pd.DataFrame | Iterable[dict[str, Any]],
        title: str = "",
        *,
        source_names: Mapping[str, str] | None = None,
    ) -> None:
        frame = failures if isinstance(failures, pd.DataFrame) else pd.DataFrame(list(failures))
        for col in FAILURE_COLUMNS:
            if col not in frame.columns:
                frame[col] = [[] for _ in range(len(frame))] if col in ("rows", "values") else ""
        self.failures: pd.DataFrame = frame[FAILURE_COLUMNS].reset_index(drop=True)
        self.title = title or f"{len(self.failures)} problem(s) found in the input data"
        #: schema name -> the user's column name, shown next to the schema name
        self.source_names: dict[str, str] = dict(source_names or {})
        super().__init__(self._message())

    def with_source_names(self, source_names: Mapping[str, str]) -> SchemaError:
        """The same error, naming each mapped column as the user's file does too.

        Examples
        --------
        >>> e = SchemaError([{"column": "hba1c_0", "problem": "impossible value(s)"}])
        >>> print(e.with_source_names({"hba1c_0": "A1c baseline"}))
        1 problem(s) found in the input data:
          1. column 'hba1c_0' (your 'A1c baseline'): impossible value(s)
        """
        names = {k: v for k, v in source_names.items() if k != v}
        return type(self)(self.failures, self.title, source_names={**self.source_names, **names})

    def _message(self) -> str:
        """Every problem up to :data:`ECHO_PROBLEMS`, each value and list cut (bounded size)."""
        lines = [shorten(self.title, 4 * ECHO_CHARS) + ":"]
        shown = self.failures.iloc[:ECHO_PROBLEMS]
        for i, f in enumerate(shown.itertuples(index=False), start=1):
            rows: list[Any] = list(f.rows) if isinstance(f.rows, (list, tuple)) else []
            values: list[Any] = list(f.values) if isinstance(f.values, (list, tuple)) else []
            yours = self.source_names.get(str(f.column))
            named = f"'{shorten(f.column)}'" + (f" (your '{shorten(yours)}')" if yours else "")
            line = f"  {i}. column {named}: {shorten(f.problem, 8 * ECHO_CHARS)}"
            if rows:
                line += f" [rows: {list_some(rows)}]"
            if values:
                echoed = [_echo(v) for v in values[:ECHO_ITEMS]]
                more = len(values) - len(echoed)
                line += f" [values: {', '.join(echoed)}" + (
                    f", ... (+{more} more)]" if more else "]"
                )
            lines.append(line)
        if len(self.failures) > ECHO_PROBLEMS:
            lines.append(
                f"  ... (+{len(self.failures) - ECHO_PROBLEMS} more problem(s); "
                "in Python, the error's .failures lists them all)"
            )
        return "\n".join(lines)


def failure_from_mask(
    column: str,
    problem: str,
    mask: Any,
    ids: pd.Series | pd.Index,
    values: pd.Series | None = None,
) -> dict[str, Any]:
    """One row of :attr:`SchemaError.failures`: the ids and distinct values where ``mask`` holds.

    ``mask``, ``ids`` and ``values`` are aligned by position (array-likes of
    the same length); ``rows`` and ``values`` keep their first-seen order.

    Examples
    --------
    >>> f = failure_from_mask("sbp_0", "outside 60-300 mm Hg", [False, True, True],
    ...                       pd.Index(["a", "b", "c"]), pd.Series([120, 900, 900]))
    >>> f["rows"], f["values"]
    (['b', 'c'], [900])
    """
    keep = np.asarray(mask, dtype=bool)
    rows = pd.unique(np.asarray(ids, dtype=object)[keep]).tolist()
    vals = [] if values is None else pd.unique(np.asarray(values, dtype=object)[keep]).tolist()
    return {"column": column, "rows": rows, "values": vals, "problem": problem}


def raise_if_failures(failures: list[dict[str, Any]], what: str) -> None:
    """Raise one :class:`SchemaError` listing ``failures`` (if any) found in ``what``.

    Examples
    --------
    >>> raise_if_failures([], "medication table")
    >>> try:
    ...     raise_if_failures([{"column": "month", "problem": "not a number"}], "medication table")
    ... except SchemaError as e:
    ...     print(e.title)
    1 problem(s) found in the medication table
    """
    if failures:
        raise SchemaError(failures, title=f"{len(failures)} problem(s) found in the {what}")


def _echo(value: object) -> str:
    """A value as a message shows it: its ``repr``, cut (a long string is cut before ``repr``)."""
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return repr(value[:ECHO_CHARS]) + f"... (+{len(value) - ECHO_CHARS} characters)"
    return shorten(repr(value))


class UnitError(SchemaError):
    """Values look like they are in another unit than the one declared or assumed."""


class CoachstatsWarning(UserWarning):
    """Base class of coachstats warnings."""


class DataWarning(CoachstatsWarning):
    """Suspicious but valid data."""


class UnitWarning(DataWarning):
    """Values are plausible in the declared unit but unusual."""


class NotedWarning(DataWarning):
    """Suspicious but valid data that the result also lists in its notes.

    Raised for a notebook, which shows warnings but not a loaded table's
    notes; the command line prints the notes with the result, so it does not
    print these warnings again.
    """


class ConvergenceWarning(CoachstatsWarning):
    """An iterative fit stopped before meeting its convergence criterion."""


def did_you_mean(value: object, allowed: Iterable[object]) -> str:
    """``"; did you mean 'x'?"`` naming the allowed values closest to ``value``, or ``""``.

    Examples
    --------
    >>> did_you_mean("hcpc_composit", ["hcpc_composite", "peer_hba1c_change"])
    "; did you mean 'hcpc_composite'?"
    >>> did_you_mean("zzz", ["hcpc", "peer"])
    ''
    """
    import difflib

    names = {str(a).lower(): a for a in allowed}
    close = difflib.get_close_matches(str(value).lower(), list(names), n=2, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(names[c]) for c in close) + "?"


def check_option(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise :class:`OptionError` when ``value`` is not one of ``allowed`` (with a did-you-mean).

    Examples
    --------
    >>> check_option("missing", "exclude", ("exclude", "failure"))
    >>> check_option("missing", "exlude", ("exclude", "failure"))
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: missing='exlude' is not allowed; choose one of 'exclude', 'failure'; did you mean 'exclude'?
    """
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise OptionError(
            f"{name}={value!r} is not allowed; choose one of {choices}{did_you_mean(value, allowed)}"
        )


def choose(name: str, value: str, allowed: Iterable[str]) -> str:
    """The allowed value ``value`` names, matched without regard to case (command-line choices).

    Examples
    --------
    >>> choose("--against", "HCPC", ("hcpc", "peer", "all"))
    'hcpc'
    >>> choose("--against", "hcp", ("hcpc", "peer", "all"))
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: --against='hcp' is not allowed; choose one of 'hcpc', 'peer', 'all'; did you mean 'hcpc'?
    """
    allowed = tuple(allowed)
    folded = {a.lower(): a for a in allowed}
    key = str(value).strip().lower()
    if key in folded:
        return folded[key]
    check_option(name, value, allowed)
    return value  # pragma: no cover - check_option raised


def choose_all(*choices: tuple[str, str, Iterable[str]]) -> list[str]:
    """Each ``(option, value, allowed)`` matched as :func:`choose`
    does; every value that is not allowed is named in one :class:`OptionError`, not only the
    first.

    Examples
    --------
    >>> choose_all(("--format", "JSON", ("text", "json")), ("--adjust", "holm", ("holm", "none")))
    ['json', 'holm']
    >>> choose_all(("--format", "xml", ("text", "json")), ("--adjust", "hom", ("holm", "none")))
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: 2 value(s) not allowed:
      1. --format='xml' is not allowed; choose one of 'text', 'json'
      2. --adjust='hom' is not allowed; choose one of 'holm', 'none'; did you mean 'holm'?
    """
    chosen, problems = [], []
    for option, value, allowed in choices:
        try:
            chosen.append(choose(option, value, allowed))
        except OptionError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise OptionError(problems[0])
    if problems:
        listed = "\n".join(f"  {i}. {p}" for i, p in enumerate(problems, 1))
        raise OptionError(f"{len(problems)} value(s) not allowed:\n{listed}")
    return chosen


def check_conf_level(conf_level: object) -> None:
    """Raise :class:`OptionError` unless ``0 < conf_level < 1`` (every interval's one check).

    Examples
    --------
    >>> check_conf_level(0.95)
    >>> check_conf_level(95)
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: conf_level=95 is not allowed; choose a number in (0, 1)
    """
    if isinstance(conf_level, bool) or not (
        isinstance(conf_level, (int, float, np.integer, np.floating))
        and 0.0 < float(conf_level) < 1.0
    ):
        raise OptionError(f"conf_level={conf_level!r} is not allowed; choose a number in (0, 1)")


def check_number(name: str, value: object) -> float:
    """``value`` as a float; :class:`OptionError` unless it is a finite real number (not a bool).

    Examples
    --------
    >>> check_number("icc", 0.05)
    0.05
    >>> check_number("icc", "0.05")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: icc must be a number, got '0.05'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise OptionError(f"{name} must be finite, got {value!r}")
    return x

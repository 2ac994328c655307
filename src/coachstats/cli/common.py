"""What every command shares: exit codes, error guard, notes, progress, options, outputs.

Exit codes: 0 success; 1 an analysis finding (e.g. a reproduced figure
differs from the published one); 2 bad input (the error lists every
problem); 3 an internal error (a bug in coachstats: any exception that is
not a :class:`~coachstats.core.errors.CoachstatsError`; please report it);
141 (128 + SIGPIPE, as Unix tools killed by a closed pipe) when the reader of the
output closed it before the command finished (``coachstats reproduce | head -3``):
the command stops quietly, without a message, and without having finished its work
(so not 0). Tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer

EXIT_OK, EXIT_FINDING, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
#: The exit code when the output's reader closed the pipe early (128 + SIGPIPE, as a shell
#: reports a Unix tool stopped by a closed pipe).
EXIT_CLOSED_PIPE = 141
#: The most characters of an error message the CLI prints (the rest is counted, not shown).
MESSAGE_CHARS = 20_000
F = TypeVar("F", bound=Callable[..., Any])
#: Global options of the running command (``--debug``).
STATE: dict[str, Any] = {"debug": False, "command": None}


def guard(func: F) -> F:
    """Run a command: coachstats errors exit 2, any other exception exits 3 (internal error).

    A :class:`~coachstats.core.errors.CoachstatsError` is bad input: its message
    (at most :data:`MESSAGE_CHARS` characters) and exit 2. Any other exception
    is a bug: one line, ``internal error: please report ...``, and exit 3, so
    that exit 1 always means an analysis finding and exit 2 always bad input.
    Typer's own exits and usage errors pass through; ``--debug`` re-raises
    everything with its traceback. A closed output pipe (the reader, such as
    ``head``, has read enough) is not an error: the command stops quietly
    (:func:`closed_pipe_exit`).
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import click

        from coachstats.core.errors import CoachstatsError

        previous, STATE["command"] = STATE["command"], func  # whose options advice may name
        try:
            return func(*args, **kwargs)
        except (
            typer.Exit,
            typer.Abort,
            click.exceptions.Exit,
            click.exceptions.Abort,
            click.ClickException,
        ):
            raise
        except BrokenPipeError:
            closed_pipe_exit()
        except CoachstatsError as exc:
            if STATE["debug"]:
                raise
            typer.echo(f"error: {bounded(for_the_command_line(str(exc)))}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:
            if STATE["debug"]:
                raise
            typer.echo(internal_error_line(exc), err=True)
            raise typer.Exit(EXIT_INTERNAL) from None
        finally:  # advice printed after the command (a test, a notebook) is not cut to its options
            STATE["command"] = previous

    wrapper.guarded = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def silence_stdout() -> None:
    """Point standard output at the null device, after its reader closed the pipe, so that
    Python's own flush at exit does not fail on the closed pipe again ("Exception ignored")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind stdout (an embedding host)
        pass


def stdout_identity() -> tuple[int, tuple[int, int] | None]:
    """What standard output is: the ``sys.stdout`` object and the device and inode behind its
    file descriptor. It changes when a closed pipe was silenced (here, by click or by rich)."""
    try:
        st = os.fstat(sys.stdout.fileno())
        device: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except (OSError, ValueError):  # no file descriptor behind stdout (a test runner's buffer)
        device = None
    return id(sys.stdout), device


def closed_pipe_exit(exit_type: type[BaseException] = typer.Exit) -> NoReturn:
    """Stop quietly because the reader of the output closed it: exit :data:`EXIT_CLOSED_PIPE`.

    A ``BrokenPipeError`` in a command is taken to be its output's reader going away (no
    command writes to another pipe or socket). ``exit_type`` is ``typer.Exit`` inside a
    command, ``SystemExit`` outside click.
    """
    silence_stdout()
    raise exit_type(EXIT_CLOSED_PIPE)


def bounded(message: str, limit: int = MESSAGE_CHARS) -> str:
    """``message`` cut to ``limit`` characters, saying how much was left out.

    Examples
    --------
    >>> bounded("abc" * 10, 9)
    'abcabcabc ... (+21 characters not shown)'
    """
    if len(message) <= limit:
        return message
    return f"{message[:limit]} ... (+{len(message) - limit} characters not shown)"


def internal_error_line(exc: BaseException) -> str:
    """The one line printed for an exception that is a bug (exit 3).

    Examples
    --------
    >>> internal_error_line(KeyError("uncontrolled_hba1c"))
    "internal error: please report: KeyError: 'uncontrolled_hba1c' (rerun with --debug for the traceback)"
    """
    from coachstats.core.errors import shorten

    text = str(exc).strip().splitlines()
    first = shorten(text[0], 200) if text else ""
    return (
        f"internal error: please report: {type(exc).__name__}"
        + (f": {first}" if first else "")
        + " (rerun with --debug for the traceback)"
    )


#: Advice that the library words for Python callers, and the same fix on the command line.
#: Every message the CLI prints passes through :func:`for_the_command_line`, so a note or an
#: error never advises a keyword that the command does not have (a test checks each option
#: exists on the commands that can print it).
CLI_ADVICE: Mapping[str, str] = MappingProxyType(
    {
        "pass censored='limit' to use the bound (flagged) or censored='missing' to treat it as "
        "missing": "pass --censored limit to use the bound (flagged) or --censored missing to "
        "treat it as missing",
        "consider test='fisher'": "consider --exact (Fisher's exact test)",
        "use ci='newcombe'": "use --exact (Fisher's exact test, Newcombe's interval)",
        "(pass fte= otherwise)": "(pass --fte otherwise)",
        "(set overhead= to add them, e.g. 0.3)": "(--cost overhead=0.3 adds 30 %)",
        "(set caseload= to your own)": "(--cost caseload=6 sets your own)",
        "(set wage= to your coaches' own hourly cost, e.g. a peer coach's stipend per hour)": (
            "(--cost wage=15 sets your coaches' own hourly cost, e.g. a peer coach's stipend "
            "per hour)"
        ),
    }
)


def for_the_command_line(text: str, options: Iterable[str] | None = None) -> str:
    """``text`` with the Python advice of :data:`CLI_ADVICE` in its command-line form.

    ``options`` are the running command's options (default: those of the command
    click is running, or every option when none is). Advice whose command-line
    form needs an option the command lacks is left out (after a semicolon), not
    shown as a fix the user cannot apply.

    Examples
    --------
    >>> note = "smallest expected count 2 < 5; consider test='fisher'"
    >>> for_the_command_line(note, ["--exact"])
    "smallest expected count 2 < 5; consider --exact (Fisher's exact test)"
    >>> for_the_command_line(note, ["--data"])
    'smallest expected count 2 < 5'
    """
    return _advise(text, options, str)


def _advise(text: str, options: Iterable[str] | None, shown: Callable[[str], str]) -> str:
    """:func:`for_the_command_line` on ``text`` in which each phrase reads as ``shown(phrase)``
    (``str`` for plain text, HTML escaping for a rendered page)."""
    have = set(_running_options() if options is None else options)
    for python, command_line in CLI_ADVICE.items():
        phrase = shown(python)
        if phrase not in text:
            continue
        if have and not set(re.findall(r"--[a-z][a-z-]+", command_line)) <= have:
            text = text.replace(f"; {phrase}", "").replace(phrase, "")
        else:
            text = text.replace(phrase, shown(command_line))
    return text


def report_for_the_command_line(content: str | bytes) -> str | bytes:
    """A rendered report with the Python advice of :data:`CLI_ADVICE` in its command-line
    form: HTML text (on the escaped text), or a Word document's bytes (run by run, each
    piece of advice is written as one run).

    Examples
    --------
    >>> report_for_the_command_line("<li>note: caseload (pass fte= otherwise)</li>")
    '<li>note: caseload (pass --fte otherwise)</li>'
    """
    if not isinstance(content, str):
        return _word_for_the_command_line(content)
    from markupsafe import escape

    return _advise(content, None, lambda phrase: str(escape(phrase)))


def _word_for_the_command_line(content: bytes) -> bytes:
    """:func:`report_for_the_command_line` of a Word document (its paragraphs and table cells)."""
    import io

    from docx import Document

    doc = Document(io.BytesIO(content))
    paragraphs = list(doc.paragraphs)
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                paragraphs += cell.paragraphs
    changed = False
    for paragraph in paragraphs:
        for run in paragraph.runs:
            text = for_the_command_line(run.text)
            if text != run.text:
                run.text, changed = text, True
    if not changed:
        return content
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _running_options() -> list[str]:
    """The long options of the command :func:`guard` is running (empty outside a command)."""
    func = STATE["command"]
    return [] if func is None else command_options(func)


def command_options(func: Callable[..., Any]) -> list[str]:
    """The long options of a command function, read from its typer annotations.

    Examples
    --------
    >>> def demo(data: Path, force: ForceOption = False, units: UnitsOption = None) -> None: ...
    >>> command_options(demo)
    ['--force', '--units']
    >>> fmt = Annotated[str, typer.Option("--format", help="text or json")]
    >>> def demo2(fmt: fmt = "text", censored: CensoredOption = None) -> None: ...
    >>> command_options(demo2)
    ['--format', '--censored']
    """
    import inspect
    from typing import get_args, get_type_hints

    from typer.models import OptionInfo

    hints = get_type_hints(func, include_extras=True)
    out = []
    for name in inspect.signature(func).parameters:
        for info in get_args(hints.get(name))[1:]:
            if isinstance(info, OptionInfo):
                # typer.Option("--format") puts the name in ``default`` when annotated
                named = (info.default,) if isinstance(info.default, str) else ()
                decls = [d for d in (*named, *(info.param_decls or ())) if d.startswith("--")]
                out += decls or ["--" + name.strip("_").replace("_", "-")]
    return out


@contextmanager
def notes() -> Iterator[None]:
    """Show coachstats warnings once each, as short notes on stderr after the work."""
    from coachstats.core.errors import CoachstatsWarning, NotedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CoachstatsWarning)
        yield
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, NotedWarning):
            continue  # printed with the result's notes
        if issubclass(w.category, CoachstatsWarning) and text not in seen:
            seen.add(text)
            typer.echo(f"note: {for_the_command_line(text)}", err=True)
        elif not issubclass(w.category, CoachstatsWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def split_pairs(text: str, expects: str) -> list[tuple[str, str]]:
    """``"a=b,c=d"`` -> ``[("a", "b"), ("c", "d")]``; an item without ``=`` raises."""
    from coachstats.core.errors import OptionError

    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    bad = [p[0] for p in pairs if len(p) != 2]
    if bad:
        raise OptionError(f"{expects} pairs separated by commas; cannot parse {bad}")
    return [(k.strip(), v.strip()) for k, v in pairs]


def parse_map(text: str | None) -> dict[str, str] | None:
    """``--map schema=yours,...`` -> ``{yours: schema}``; a name outside the schema raises."""
    if not text:
        return None
    from coachstats.data.programdata import orient_columns

    return orient_columns(dict(split_pairs(text, "--map expects schema=yours")), "--map")


def parse_pairs(text: str | None, option: str) -> dict[str, str]:
    """``"a=b,c=d"`` -> ``{"a": "b", "c": "d"}`` (``--units``)."""
    if not text:
        return {}
    return dict(split_pairs(text, f"{option} expects key=value"))


def parse_levels(items: list[str] | None) -> dict[str, dict[str, str]]:
    """``--levels sex=1:male,2:female`` (repeatable) -> ``{"sex": {"1": "male", "2": "female"}}``.

    Examples
    --------
    >>> parse_levels(["sex=1:male,2:female", "language=ES:spanish"])
    {'sex': {'1': 'male', '2': 'female'}, 'language': {'ES': 'spanish'}}
    """
    from coachstats.core.errors import OptionError

    out: dict[str, dict[str, str]] = {}
    for item in items or []:
        column, _, rest = item.partition("=")
        pairs = [p.split(":", 1) for p in rest.split(",") if p.strip()]
        if not column.strip() or not pairs or any(len(p) != 2 for p in pairs):
            raise OptionError(
                f"--levels expects column=yours:level,yours:level (e.g. sex=1:male,2:female); "
                f"cannot parse {item!r}"
            )
        out.setdefault(column.strip(), {}).update({k.strip(): v.strip() for k, v in pairs})
    return out


#: The parameter names of the loading options, as every data command declares them.
LOADING_PARAMETERS: tuple[str, ...] = (
    "columns",
    "map_",
    "arms",
    "sheet",
    "units",
    "single_arm",
    "exclude_invalid",
    "require_baseline",
    "levels",
    "censored",
)


def loading(
    options: Mapping[str, Any], read_columns: Literal["all", "schema"] = "all"
) -> dict[str, Any]:
    """:func:`program_load` of a command's loading options, taken by name from ``options``
    (the command's ``locals()``), so that an option added to the set is passed everywhere.

    Examples
    --------
    >>> opts = dict.fromkeys(LOADING_PARAMETERS) | {"single_arm": False,
    ...     "exclude_invalid": True, "require_baseline": False, "map_": "arm=group"}
    >>> load = loading(opts)
    >>> load["columns"], load["on_invalid"], load["censored"]
    ({'group': 'arm'}, 'exclude', 'error')
    """
    return program_load(
        **{name: options[name] for name in LOADING_PARAMETERS}, read_columns=read_columns
    )


def program_load(
    *,
    columns: Path | None,
    map_: str | None,
    arms: str | None,
    sheet: str | None,
    units: str | None,
    single_arm: bool,
    exclude_invalid: bool,
    require_baseline: bool,
    levels: list[str] | None = None,
    censored: str | None = None,
    read_columns: Literal["all", "schema"] = "all",
) -> dict[str, Any]:
    """The :func:`coachstats.data.programdata.load_program` keywords from the loading options.

    Every command that reads patient data takes the same options (``--columns``,
    ``--map``, ``--arms``, ``--sheet``, ``--units``, ``--levels``, ``--single-arm``,
    ``--exclude-invalid``, ``--require-baseline``, ``--censored``); ``--map``, ``--arms``,
    ``--units`` and ``--levels`` add to (and override) the mapping file's entries. ``analyze``
    and ``evaluate`` analyse schema columns only, so they pass ``read_columns="schema"``:
    a Parquet file's other columns are not read.

    Examples
    --------
    >>> load = program_load(columns=None, map_="arm=group", arms="HC=coaching,UC=usual_care",
    ...     sheet="0", units=None, single_arm=False, exclude_invalid=False, require_baseline=True)
    >>> load["columns"], load["arms"], load["sheet"], load["require_baseline"]
    ({'group': 'arm'}, {'HC': 'coaching', 'UC': 'usual_care'}, 0, True)
    """
    from coachstats.core.errors import choose
    from coachstats.data.programdata import MappingFile, read_mapping

    rule = "error" if censored is None else choose("--censored", censored, ("limit", "missing"))
    spec = read_mapping(columns) if columns is not None else MappingFile()
    mapping = {**spec.columns, **(parse_map(map_) or {})}
    sheet_value: str | int | None = spec.sheet
    if sheet is not None:
        sheet_value = int(sheet) if sheet.isdigit() else sheet
    return {
        "columns": mapping or None,
        "arms": {**spec.arms, **parse_pairs(arms, "--arms")} or None,
        "units": {**spec.units, **parse_pairs(units, "--units")} or None,
        "levels": _merge_levels(spec.levels, parse_levels(levels)) or None,
        "sheet": sheet_value,
        "design": "single-arm" if single_arm else "auto",
        "on_invalid": "exclude" if exclude_invalid else "error",
        "require_baseline": require_baseline,
        "censored": rule,
        "read_columns": read_columns,
    }


def _merge_levels(
    first: Mapping[str, Mapping[str, str]], second: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    out = {k: dict(v) for k, v in first.items()}
    for k, v in second.items():
        out.setdefault(k, {}).update(v)
    return out


class Steps:
    """The stages of a running command on a rich progress display (see :func:`progress`).

    Calling it with a text starts a stage (a spinner and the time it has
    taken); :meth:`advance` shows how far a stage with a known size is (a bar
    and the share done). It is the ``progress=`` callback of the Python API
    (``analyze``, ``evaluate``, ``reproduce``, ``HcpcCohort.write``). Without
    a terminal it does nothing.
    """

    def __init__(self, label: str, bar: Any = None) -> None:
        self.label = label
        self._bar = bar
        self._task: Any = None

    def __call__(self, step: str) -> None:
        """Start the stage ``step`` (its size unknown)."""
        if self._bar is None:
            return
        if self._task is None:
            self._task = self._bar.add_task(f"{self.label}: {step}", total=None)
        else:
            self._bar.reset(self._task, total=None, description=f"{self.label}: {step}")

    def advance(self, step: str, done: int, total: int) -> None:
        """``done`` of ``total`` units of the stage ``step`` (e.g. rows written)."""
        if self._bar is None:
            return
        text = f"{self.label}: {step}"
        if self._task is None:
            self._task = self._bar.add_task(text, total=total, completed=done)
        else:
            self._bar.update(self._task, description=text, total=total, completed=done)


def show_progress(stream: Any = None) -> bool:
    """Progress is shown on a terminal, never in a pipe, a file or CI (``CI`` set, as CI services do).

    Examples
    --------
    >>> import io
    >>> show_progress(io.StringIO())
    False
    """
    import os
    import sys

    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


@contextmanager
def progress(label: str) -> Iterator[Steps]:
    """A rich progress display of the command's stages on stderr (a terminal only, not in CI).

    Yields a :class:`Steps`: ``step("loading")`` starts a stage (spinner and
    elapsed time), ``step.advance("writing", done, total)`` shows a bar. The
    display disappears when the block ends, before the command's output.
    """
    if not show_progress():
        yield Steps(label)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        yield Steps(label, bar)


OUTPUT_SUFFIXES = {
    "--out": (".csv", ".json"),
    "--plot": (".png", ".svg", ".pdf"),
    "--report": (".html", ".htm", ".docx"),
}


def plan_outputs(
    force: bool,
    inputs: list[Path | None],
    *,
    out: Path | None = None,
    plot: Path | None = None,
    report: Path | None = None,
    out_suffixes: tuple[str, ...] = OUTPUT_SUFFIXES["--out"],
) -> Any:
    """The one output guard of every command: check every path before the work starts.

    Returns a :class:`coachstats.data.outputs.OutputSet`; the command stages
    each output with ``write`` and, in :func:`writing`, all are written or none.
    ``inputs`` (the data, encounter and mapping files; None entries skipped)
    are never overwritten, even with ``--force``.
    """
    from coachstats.data.outputs import OutputSet

    outs = OutputSet(force=force, inputs=[p for p in inputs if p is not None])
    outs.add(out, option="--out", suffixes=out_suffixes)
    outs.add(plot, option="--plot", suffixes=OUTPUT_SUFFIXES["--plot"])
    outs.add(report, option="--report", suffixes=OUTPUT_SUFFIXES["--report"])
    return outs


@contextmanager
def writing(outs: Any) -> Iterator[Any]:
    """Stage outputs in the block; at its end write them all (or none on an error), then say so."""
    with outs:
        yield outs
    for path in outs.written:
        typer.echo(f"wrote {path}", err=True)


def table_content(out: Path, frame: Any, payload: str | None = None) -> str:
    """The tidy table as CSV (formulas neutralised), or ``payload`` (the full result) for .json."""
    from coachstats.data.outputs import csv_text

    if out.suffix.lower() == ".json" and payload is not None:
        return payload
    return csv_text(frame)


def figure_content(figure: Any, suffix: str) -> bytes:
    """A figure (or the figure of an Axes) rendered by ``save_figure``, as bytes, then closed."""
    import tempfile

    import matplotlib.pyplot as plt

    from coachstats.present.plots.style import save_figure

    figure = getattr(figure, "figure", figure)  # an Axes -> its Figure
    try:
        with tempfile.TemporaryDirectory() as tmp:
            (rendered,) = save_figure(figure, Path(tmp) / f"figure{suffix}")
            return rendered.read_bytes()
    finally:
        plt.close(figure)


MapFileOption = Annotated[
    Path | None,
    typer.Option(
        "--columns",
        help="Mapping file (YAML, JSON or TOML): 'schema_name: your_column' lines, or sections "
        "columns/arms/units/levels/sheet.",
    ),
]
MapOption = Annotated[
    str | None, typer.Option("--map", help="schema=yours pairs, e.g. arm=group,hba1c_0=a1c_base")
]
SheetOption = Annotated[str | None, typer.Option(help="Excel sheet (name or 0-based number).")]
UnitsOption = Annotated[
    str | None, typer.Option(help="measure=unit pairs, e.g. hba1c=mmol/mol,ldl=mmol/L")
]
ArmsOption = Annotated[
    str | None,
    typer.Option(
        "--arms",
        help="your_label=coaching|usual_care pairs, e.g. HC=coaching,UC=usual_care "
        "(common spellings such as Control or Intervention are recognised without it).",
    ),
]
LevelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--levels",
        help="Category levels of your file, e.g. sex=1:male,2:female (repeat per column: sex, "
        "language, ethnicity). F/M, Female/male, Hispanic... need none.",
    ),
]
SingleArmOption = Annotated[
    bool,
    typer.Option(
        "--single-arm",
        help="Every patient is coached (no comparison group); without it a file with no arm "
        "column, or one arm label, is refused.",
    ),
]
RequireBaselineOption = Annotated[
    bool,
    typer.Option(
        "--require-baseline",
        help="A follow-up value without its baseline is an error (default: that patient is "
        "left out of the measure's endpoints that need the baseline, with a note).",
    ),
]
CensoredOption = Annotated[
    str | None,
    typer.Option(
        "--censored",
        help="Lab values given as a bound ('<7.0', '>14'): limit = use the bound (flagged), "
        "missing = treat as missing (default: refused, each listed).",
    ),
]
ExcludeOption = Annotated[
    bool,
    typer.Option(
        "--exclude-invalid",
        help="Exclude rows that fail validation (each listed, with its reason) instead of stopping.",
    ),
]
FteOption = Annotated[
    str | None,
    typer.Option(
        "--fte",
        help="Coaches' full-time equivalents for the caseload: one number for every coach "
        "(0.5), or coach_id=fte pairs (C1=0.5,C2=1). Default: every coach full time (said).",
    ),
]


CostOption = Annotated[
    str | None,
    typer.Option(
        "--cost",
        help="Your program's cost inputs for the cost per additional patient at goal, "
        "key=value pairs: wage (hourly, USD), overhead (share of the wage, e.g. 0.3), caseload "
        "(patients per full-time coach). What is not given is assumed, and said so.",
    ),
]


def _number(text: str) -> float:
    """``text`` as a float, NaN when it is not a number (each option then says what it takes)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def parse_cost(text: str | None) -> dict[str, float] | None:
    """The ``--cost`` pairs as numbers (keys checked by the analysis).

    Examples
    --------
    >>> parse_cost("wage=28.5,overhead=0.3")
    {'wage': 28.5, 'overhead': 0.3}
    """
    from coachstats.core.errors import OptionError

    if text is None:
        return None
    out = {}
    for key, value in parse_pairs(text, "--cost").items():
        number = _number(value)
        if not (number >= 0 and number != math.inf):
            raise OptionError(
                f"--cost: {key}={value!r} is not a number of 0 or more (e.g. --cost "
                "wage=28.5,overhead=0.3,caseload=80)"
            )
        out[key.strip().lower()] = number
    return out


def parse_fte(text: str | None) -> float | dict[str, float] | None:
    """The ``--fte`` value: one number, or ``coach=fte`` pairs.

    Examples
    --------
    >>> parse_fte("0.5"), parse_fte("C1=0.5,C2=1"), parse_fte(None)
    (0.5, {'C1': 0.5, 'C2': 1.0}, None)
    """
    from coachstats.core.errors import OptionError

    if text is None:
        return None
    pairs = parse_pairs(text, "--fte") if "=" in text else {"": text}
    out: dict[str, float] = {}
    for coach, value in pairs.items():
        number = _number(value)
        if not 0 < number <= 1.5:
            raise OptionError(
                f"--fte: {value!r} is not a full-time equivalent (a number above 0, e.g. 0.5 "
                "or 1); give one for every coach (--fte 0.5) or coach_id=fte pairs "
                "(--fte C1=0.5,C2=1)"
            )
        out[coach] = number
    return out.get("", out)


ForceOption = Annotated[bool, typer.Option(help="Overwrite existing output files.")]
GoalsOption = Annotated[str, typer.Option(help="Goal set: hcpc or peer (any case).")]


def require_computed(labels: list[str], errors: list[str | None], what: str) -> list[str]:
    """The outcomes that could not be computed; raise (exit 2) when none could.

    A run in which no outcome was computed is a failure, not a result (a file
    mapped the wrong way round gives one "column not found" per outcome): it
    raises :class:`~coachstats.core.errors.AnalysisError` saying why each
    failed. Otherwise it returns one line per outcome that failed, for the summary.

    Examples
    --------
    >>> require_computed(["a", "b"], [None, "ColumnNotFoundError: no hba1c_12"], "analyze")
    ['b: ColumnNotFoundError: no hba1c_12']
    >>> require_computed(["a", "b", "b"], [None, "no follow-up", "no follow-up"], "evaluate")
    ['b: no follow-up']
    """
    from coachstats.core.errors import AnalysisError

    pairs = list(zip(labels, errors, strict=True))
    # an outcome compared on two scales (risk difference and odds ratio) fails once, not twice
    failed = list(dict.fromkeys(f"{label}: {error}" for label, error in pairs if error))
    if labels and all(error for _, error in pairs):
        shown = "\n  ".join(failed[:10]) + (
            f"\n  (+{len(failed) - 10} more)" if len(failed) > 10 else ""
        )
        raise AnalysisError(
            f"{what}: no outcome could be computed; check the column mapping (--map, --columns) "
            f"and the data:\n  {shown}"
        )
    return failed


ReportOption = Annotated[
    Path | None,
    typer.Option(help="Also write a report here: self-contained HTML (.html) or Word (.docx)."),
]

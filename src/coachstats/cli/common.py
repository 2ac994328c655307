"""What every command shares: exit codes, error guard, notes, progress, options, outputs.

Exit codes: 0 success; 1 an analysis finding (e.g. a reproduced figure
differs from the published one); 2 bad input (the error lists every
problem). Tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

EXIT_OK, EXIT_FINDING, EXIT_BAD_INPUT = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])
#: Global options of the running command (``--debug``).
STATE = {"debug": False}


def guard(func: F) -> F:
    """Turn coachstats errors into a message and exit code 2 (traceback only with --debug)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from coachstats.core.errors import CoachstatsError

        try:
            return func(*args, **kwargs)
        except CoachstatsError as exc:
            if STATE["debug"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def notes() -> Iterator[None]:
    """Show coachstats warnings once each, as short notes on stderr after the work."""
    from coachstats.core.errors import CoachstatsWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CoachstatsWarning)
        yield
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, CoachstatsWarning) and text not in seen:
            seen.add(text)
            typer.echo(f"note: {text}", err=True)
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


def program_load(
    columns: Path | None,
    map_: str | None,
    sheet: str | None,
    units: str | None,
    single_arm: bool,
    exclude_invalid: bool,
) -> dict[str, Any]:
    """The :func:`coachstats.data.programdata.load_program` keywords from the CLI options.

    ``--map`` and ``--units`` add to (and override) the mapping file's entries.
    """
    from coachstats.data.programdata import MappingFile, read_mapping

    spec = read_mapping(columns) if columns is not None else MappingFile()
    mapping = {**spec.columns, **(parse_map(map_) or {})}
    sheet_value: str | int | None = spec.sheet
    if sheet is not None:
        sheet_value = int(sheet) if sheet.isdigit() else sheet
    return {
        "columns": mapping or None,
        "arms": dict(spec.arms) or None,
        "units": {**spec.units, **parse_pairs(units, "--units")} or None,
        "sheet": sheet_value,
        "design": "single-arm" if single_arm else "auto",
        "on_invalid": "exclude" if exclude_invalid else "error",
    }


@contextmanager
def progress(label: str) -> Iterator[Callable[[str], None]]:
    """A rich spinner with the current step on stderr (silent when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda step: bar.update(task, description=f"{label}: {step}")


OUTPUT_SUFFIXES = {
    "--out": (".csv", ".json"),
    "--plot": (".png", ".svg", ".pdf"),
    "--report": (".html", ".htm"),
}


def check_outputs(
    force: bool,
    inputs: list[Path],
    *,
    out: Path | None = None,
    plot: Path | None = None,
    report: Path | None = None,
) -> None:
    """Check every output path before the work starts (:func:`coachstats.data.outputs.check_output`)."""
    from coachstats.data.outputs import check_output

    given = {"--out": out, "--plot": plot, "--report": report}
    for option, path in given.items():  # their suffixes differ, so they never name one file
        check_output(
            path, option=option, suffixes=OUTPUT_SUFFIXES[option], force=force, inputs=inputs
        )


def write_result(out: Path, frame: Any, payload: str, *, force: bool, inputs: list[Path]) -> None:
    """Write the tidy table (``.csv``) or the full result (``.json``) atomically."""
    from coachstats.core.errors import OptionError
    from coachstats.data.outputs import write_atomic

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise OptionError(f"--out {out.name}: use a .csv (the outcome table) or .json (everything)")
    content = frame.to_csv(index=False) if suffix == ".csv" else payload
    typer.echo(f"wrote {write_atomic(out, content, force=force, inputs=inputs)}", err=True)


def write_figure(figure: Any, path: Path, *, force: bool, inputs: list[Path]) -> None:
    """Render a figure with :func:`coachstats.present.plots.save_figure`, then write it atomically."""
    import tempfile

    from coachstats.data.outputs import write_atomic
    from coachstats.present.plots.style import save_figure

    with tempfile.TemporaryDirectory() as tmp:
        (rendered,) = save_figure(figure, Path(tmp) / f"figure{path.suffix}")
        data = rendered.read_bytes()
    typer.echo(f"wrote {write_atomic(path, data, force=force, inputs=inputs)}", err=True)


MapFileOption = Annotated[
    Path | None,
    typer.Option(
        "--columns",
        help="Mapping file (YAML, JSON or TOML): 'schema_name: your_column' lines, or sections "
        "columns/arms/units/sheet.",
    ),
]
MapOption = Annotated[
    str | None, typer.Option("--map", help="schema=yours pairs, e.g. arm=group,hba1c_0=a1c_base")
]
SheetOption = Annotated[str | None, typer.Option(help="Excel sheet (name or 0-based number).")]
UnitsOption = Annotated[
    str | None, typer.Option(help="measure=unit pairs, e.g. hba1c=mmol/mol,ldl=mmol/L")
]
SingleArmOption = Annotated[
    bool, typer.Option("--single-arm", help="Every patient is coached (no comparison group).")
]
ExcludeOption = Annotated[
    bool,
    typer.Option(
        "--exclude-invalid",
        help="Exclude rows that fail validation (each listed, with its reason) instead of stopping.",
    ),
]
ForceOption = Annotated[bool, typer.Option(help="Overwrite existing output files.")]
ReportOption = Annotated[
    Path | None, typer.Option(help="Also write a self-contained HTML report here.")
]

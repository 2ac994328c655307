"""Command-line interface: ``coachstats reproduce | endpoints | synth``.

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

app = typer.Typer(
    name="coachstats",
    help="Analyse randomized health-coaching trials and reproduce the published San Francisco trials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FINDING, EXIT_BAD_INPUT = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])
_state = {"debug": False}


def _guard(func: F) -> F:
    """Turn coachstats errors into a message and exit code 2 (traceback only with --debug)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from coachstats.core.errors import CoachstatsError

        try:
            return func(*args, **kwargs)
        except CoachstatsError as exc:
            if _state["debug"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _state["debug"] = debug


@contextmanager
def _notes() -> Iterator[None]:
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


def _split_pairs(text: str, expects: str) -> list[tuple[str, str]]:
    """``"a=b,c=d"`` -> ``[("a", "b"), ("c", "d")]``; an item without ``=`` raises."""
    from coachstats.core.errors import OptionError

    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    bad = [p[0] for p in pairs if len(p) != 2]
    if bad:
        raise OptionError(f"{expects} pairs separated by commas; cannot parse {bad}")
    return [(k.strip(), v.strip()) for k, v in pairs]


def _parse_map(text: str | None) -> dict[str, str] | None:
    """``--map schema=yours,...`` -> ``{yours: schema}``; a name outside the schema raises."""
    if not text:
        return None
    from coachstats.data.programdata import orient_columns

    return orient_columns(dict(_split_pairs(text, "--map expects schema=yours")), "--map")


@app.command()
@_guard
def reproduce(
    trials: Annotated[
        list[str] | None, typer.Argument(help="Trials to run (default: all); see --list.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Run the published analysis plans on your own file.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, csv, json or markdown.")] = "text",
    sensitivity: Annotated[
        bool, typer.Option(help="Also rerun the main HCPC outcomes under alternatives.")
    ] = False,
    brief: Annotated[
        bool, typer.Option(help="Also print the practice brief's presentation.")
    ] = True,
    list_: Annotated[
        bool, typer.Option("--list", help="List the registered trials and exit.")
    ] = False,
    report: _Report = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
) -> None:
    """Reproduce every published figure from patient-level data; exit 1 if any differs."""
    from coachstats.core.errors import check_option

    check_option("--format", fmt, ("text", "csv", "json", "markdown"))
    _check_outputs(force, [data] if data else [], report=report)
    if list_:
        from coachstats.trials import get_trial, list_trials

        for name in list_trials():
            typer.echo(f"{name}: {get_trial(name).title}")
        return
    from coachstats.tasks.reproduce import reproduce as run

    with _notes():
        result = run(trials or None, data=data, sensitivity=sensitivity)
    if fmt == "text":
        typer.echo(result.summary())
        if brief:
            typer.echo("\nAs the practice brief presents them:\n")
            typer.echo(result.to_brief())
        if sensitivity and result.sensitivity is not None:
            typer.echo("\nSensitivity of the main HCPC outcomes:\n")
            typer.echo(result.sensitivity.to_string(index=False))
    elif fmt == "csv":
        typer.echo(result.to_frame().to_csv(index=False), nl=False)
    elif fmt == "json":
        typer.echo(result.to_frame().to_json(orient="records", indent=2))
    else:
        typer.echo(result.to_markdown())
    if report is not None:
        from coachstats.present.report import report_from_reproduction, write_report

        with _notes():
            written = write_report(
                report, report_from_reproduction(result), force=force, inputs=[data] if data else []
            )
        typer.echo(f"wrote {written}", err=True)
    if not result.ok:
        raise typer.Exit(EXIT_FINDING)


@app.command()
@_guard
def endpoints(
    data: Annotated[
        Path, typer.Argument(help="Patient file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    goals: Annotated[str, typer.Option(help="Goal set: hcpc or peer.")] = "hcpc",
    map_: Annotated[
        str | None, typer.Option("--map", help="schema=yours pairs, e.g. arm=group,hba1c_0=a1c")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the endpoint table to this CSV.")] = None,
) -> None:
    """Load a patient file, validate it and print its per-patient endpoint table and flow."""
    from coachstats import HCPC_GOALS, PEER_GOALS, load_trial
    from coachstats.core.errors import check_option

    check_option("--goals", goals, ("hcpc", "peer"))
    gs = HCPC_GOALS if goals == "hcpc" else PEER_GOALS
    td = load_trial(data, columns=_parse_map(map_))
    table = td.endpoints(gs, with_status=False)
    typer.echo(td.flow_for(gs).summary())
    cols = [
        c
        for c in table.columns
        if c == "patient_id"
        or c == "arm"
        or c.startswith(
            (
                "uncontrolled_",
                "at_goal_",
                "composite_",
                "change_",
                "n_uncontrolled",
                "hba1c_drop",
                "hba1c_lt",
            )
        )
    ]
    typer.echo(table[cols].to_string(max_rows=20))
    if out is not None:
        table.to_csv(out, index=False)
        typer.echo(f"wrote {out}")


@app.command()
@_guard
def power(
    published: Annotated[
        str | None, typer.Option(help="Use a published effect, e.g. hcpc_composite (see --list).")
    ] = None,
    p1: Annotated[float | None, typer.Option(help="Proportion in the coached group.")] = None,
    p2: Annotated[float | None, typer.Option(help="Proportion in the comparison group.")] = None,
    delta: Annotated[
        float | None, typer.Option(help="Mean difference (coaching - comparison).")
    ] = None,
    sd: Annotated[float | None, typer.Option(help="Outcome SD (with --delta).")] = None,
    n: Annotated[
        int | None, typer.Option(help="Patients enrolled in the coached group (solve for power).")
    ] = None,
    target: Annotated[
        float | None, typer.Option("--power", help="Target power (solve for n); default 0.8.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    ratio: Annotated[float, typer.Option(help="Comparison group size / coached group size.")] = 1.0,
    icc: Annotated[float, typer.Option(help="Intraclass correlation within clinics.")] = 0.0,
    cluster_size: Annotated[
        float | None, typer.Option(help="Mean patients per clinic (with --icc).")
    ] = None,
    attrition: Annotated[float, typer.Option(help="Expected share lost to follow-up.")] = 0.0,
    list_: Annotated[
        bool, typer.Option("--list", help="List the published effects and exit.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write a power curve figure (PNG/SVG/PDF).")
    ] = None,
) -> None:
    """Sample size or power for a coaching program, from the published effects or your own."""
    from coachstats.core.errors import OptionError
    from coachstats.tasks import power as pw

    if list_:
        typer.echo(
            pw.published_effects()[["key", "label", "p1", "p2", "delta", "sd"]].to_string(
                index=False
            )
        )
        return
    opts: dict[str, Any] = {
        "alpha": alpha,
        "ratio": ratio,
        "icc": icc,
        "cluster_size": cluster_size,
        "attrition": attrition,
    }
    if n is not None:
        opts["n"] = n
    else:
        opts["power"] = 0.8 if target is None else target
    if published is not None:
        result = pw.published_effect(published).plan(**opts)
    elif p1 is not None and p2 is not None:
        result = pw.power_two_proportions(p1, p2, **opts)
    elif delta is not None and sd is not None:
        result = pw.power_two_means(delta, sd, **opts)
    else:
        raise OptionError(
            "give --published KEY, or --p1 and --p2, or --delta and --sd (see --list)"
        )
    typer.echo(result.summary())
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from coachstats.present.plots.style import save_figure

        save_figure(pw.plot_power_curve(pw.power_curve(result)), plot)
        typer.echo(f"wrote {plot}")


@app.command()
@_guard
def synth(
    out: Annotated[Path, typer.Argument(help="Directory to write the cohort files into.")],
    trial: Annotated[str, typer.Option(help="hcpc or peer.")] = "hcpc",
    n: Annotated[
        int | None,
        typer.Option(help="Patients (default: the trial's own size, calibrated exactly)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed (default: the bundled cohort's seed).")
    ] = None,
) -> None:
    """Generate a seeded synthetic cohort (raw measurements only) as CSV and Parquet."""
    from coachstats import synthetic
    from coachstats.core.errors import check_option

    check_option("--trial", trial, ("hcpc", "peer"))
    gen = synthetic.hcpc_cohort if trial == "hcpc" else synthetic.peer_cohort
    kwargs: dict[str, Any] = {}
    if n is not None:
        kwargs["n"] = n
    if seed is not None:
        kwargs["seed"] = seed
    for path in gen(**kwargs).write(out):
        typer.echo(str(path))


# --------------------------------------------------------------------------- analyze / evaluate


def _parse_pairs(text: str | None, option: str) -> dict[str, str]:
    """``"a=b,c=d"`` -> ``{"a": "b", "c": "d"}`` (``--units``)."""
    if not text:
        return {}
    return dict(_split_pairs(text, f"{option} expects key=value"))


def _program_load(
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
    mapping = {**spec.columns, **(_parse_map(map_) or {})}
    sheet_value: str | int | None = spec.sheet
    if sheet is not None:
        sheet_value = int(sheet) if sheet.isdigit() else sheet
    return {
        "columns": mapping or None,
        "arms": dict(spec.arms) or None,
        "units": {**spec.units, **_parse_pairs(units, "--units")} or None,
        "sheet": sheet_value,
        "design": "single-arm" if single_arm else "auto",
        "on_invalid": "exclude" if exclude_invalid else "error",
    }


@contextmanager
def _progress(label: str) -> Iterator[Callable[[str], None]]:
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


_OUTPUT_SUFFIXES = {
    "--out": (".csv", ".json"),
    "--plot": (".png", ".svg", ".pdf"),
    "--report": (".html", ".htm"),
}


def _check_outputs(
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
            path, option=option, suffixes=_OUTPUT_SUFFIXES[option], force=force, inputs=inputs
        )


def _write_result(out: Path, frame: Any, payload: str, *, force: bool, inputs: list[Path]) -> None:
    """Write the tidy table (``.csv``) or the full result (``.json``) atomically."""
    from coachstats.core.errors import OptionError
    from coachstats.data.outputs import write_atomic

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise OptionError(f"--out {out.name}: use a .csv (the outcome table) or .json (everything)")
    content = frame.to_csv(index=False) if suffix == ".csv" else payload
    typer.echo(f"wrote {write_atomic(out, content, force=force, inputs=inputs)}", err=True)


def _write_figure(figure: Any, path: Path, *, force: bool, inputs: list[Path]) -> None:
    """Render a figure with :func:`coachstats.present.plots.save_figure`, then write it atomically."""
    import tempfile

    from coachstats.data.outputs import write_atomic
    from coachstats.present.plots.style import save_figure

    with tempfile.TemporaryDirectory() as tmp:
        (rendered,) = save_figure(figure, Path(tmp) / f"figure{path.suffix}")
        data = rendered.read_bytes()
    typer.echo(f"wrote {write_atomic(path, data, force=force, inputs=inputs)}", err=True)


_MapFile = Annotated[
    Path | None,
    typer.Option(
        "--columns",
        help="Mapping file (YAML, JSON or TOML): 'schema_name: your_column' lines, or sections "
        "columns/arms/units/sheet.",
    ),
]
_Map = Annotated[
    str | None, typer.Option("--map", help="schema=yours pairs, e.g. arm=group,hba1c_0=a1c_base")
]
_Sheet = Annotated[str | None, typer.Option(help="Excel sheet (name or 0-based number).")]
_Units = Annotated[
    str | None, typer.Option(help="measure=unit pairs, e.g. hba1c=mmol/mol,ldl=mmol/L")
]
_SingleArm = Annotated[
    bool, typer.Option("--single-arm", help="Every patient is coached (no comparison group).")
]
_Exclude = Annotated[
    bool,
    typer.Option(
        "--exclude-invalid",
        help="Exclude rows that fail validation (each listed, with its reason) instead of stopping.",
    ),
]
_Force = Annotated[bool, typer.Option(help="Overwrite existing output files.")]
_Report = Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report here.")]


@app.command()
@_guard
def analyze(
    data: Annotated[
        Path, typer.Argument(help="Program file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    columns: _MapFile = None,
    map_: _Map = None,
    sheet: _Sheet = None,
    goals: Annotated[str, typer.Option(help="Goal set: hcpc or peer.")] = "hcpc",
    units: _Units = None,
    single_arm: _SingleArm = False,
    exclude_invalid: _Exclude = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the outcome table (.csv) or the whole result (.json)."),
    ] = None,
    report: _Report = None,
    force: _Force = False,
) -> None:
    """Analyse a program's patient file: outcome table, the brief's presentation, flow, tracking."""
    from coachstats.core.errors import check_option
    from coachstats.tasks.evaluate import analyze as run

    check_option("--goals", goals, ("hcpc", "peer"))
    _check_outputs(force, [data], out=out, report=report)
    load = _program_load(columns, map_, sheet, units, single_arm, exclude_invalid)
    with _notes(), _progress("analyze") as step:
        result = run(data, goals=goals, progress=step, **load)
    typer.echo(result.summary())
    if out is not None:
        import json

        payload = json.dumps(result.to_dict(), indent=2, default=str)
        _write_result(out, result.to_frame(), payload, force=force, inputs=[data])
    if report is not None:
        from coachstats.core.goals import HCPC_GOALS, PEER_GOALS
        from coachstats.data.programdata import load_program
        from coachstats.present.report import report_from_analysis, write_report

        with _notes():
            trial_data = load_program(data, **load)
            doc = report_from_analysis(
                trial_data, result.plan, goals=HCPC_GOALS if goals == "hcpc" else PEER_GOALS
            )
            written = write_report(report, doc, force=force, inputs=[data])
        typer.echo(f"wrote {written}", err=True)


@app.command()
@_guard
def evaluate(
    data: Annotated[
        Path, typer.Argument(help="Program file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    against: Annotated[str, typer.Option(help="Published trial(s): hcpc, peer or all.")] = "all",
    single_arm: _SingleArm = False,
    columns: _MapFile = None,
    map_: _Map = None,
    sheet: _Sheet = None,
    units: _Units = None,
    exclude_invalid: _Exclude = False,
    encounters: Annotated[
        Path | None,
        typer.Option(help="Coaching encounters (patient_id, date, cpt: 0591T/0592T/0593T)."),
    ] = None,
    published_se: Annotated[
        str, typer.Option(help="Published SE from: auto, counts (also inferred) or p_value.")
    ] = "auto",
    out: Annotated[
        Path | None,
        typer.Option(help="Write the comparison table (.csv) or every table (.json)."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the forest plot (PNG, SVG or PDF).")
    ] = None,
    report: _Report = None,
    force: _Force = False,
) -> None:
    """Compare a program with the published trials; exit 1 if an outcome differs from them."""
    from coachstats.core.errors import check_option
    from coachstats.data.io import read_table
    from coachstats.data.programdata import load_program
    from coachstats.tasks.evaluate import evaluate as run
    from coachstats.tasks.evaluate import evaluation_figure

    check_option("--against", against, ("hcpc", "peer", "all"))
    check_option("--published-se", published_se, ("auto", "counts", "p_value"))
    _check_outputs(
        force, [p for p in (data, encounters) if p is not None], out=out, plot=plot, report=report
    )
    load = _program_load(columns, map_, sheet, units, single_arm, exclude_invalid)
    enc = read_table(encounters) if encounters is not None else None
    with _notes(), _progress("evaluate") as step:
        step("loading and validating")
        trial_data = load_program(data, **load)  # once: evaluated, and the report's flow and hash
        result = run(
            trial_data,
            against=against,
            published_se=published_se,  # type: ignore[arg-type]
            encounters=enc,
            progress=step,
            **load,
        )
    typer.echo(result.summary())
    inputs = [p for p in (data, encounters) if p is not None]
    if out is not None:
        _write_result(out, result.to_frame(), result.to_json(), force=force, inputs=inputs)
    if plot is not None or report is not None:
        import matplotlib

        matplotlib.use("Agg")
    if plot is not None:
        import matplotlib.pyplot as plt

        figure = evaluation_figure(result)
        try:
            _write_figure(figure, plot, force=force, inputs=inputs)
        finally:
            plt.close(figure)
    if report is not None:
        from coachstats.present.report import report_from_evaluation, write_report

        with _notes():
            doc = report_from_evaluation(
                result, trial_data=trial_data, files=[encounters] if encounters else ()
            )
            written = write_report(report, doc, force=force, inputs=inputs)
        typer.echo(f"wrote {written}", err=True)
    if not result.ok:
        raise typer.Exit(EXIT_FINDING)


def main() -> None:
    """Entry point of the ``coachstats`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

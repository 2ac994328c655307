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
        from coachstats.errors import CoachstatsError

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
    from coachstats.errors import CoachstatsWarning

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


def _parse_map(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    from coachstats.errors import OptionError

    bad = [p[0] for p in pairs if len(p) != 2]
    if bad:
        raise OptionError(
            f"--map expects schema=yours pairs separated by commas; cannot parse {bad}"
        )
    return {yours.strip(): schema.strip() for schema, yours in pairs}


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
    report: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML report here.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
) -> None:
    """Reproduce every published figure from patient-level data; exit 1 if any differs."""
    from coachstats.errors import check_option

    check_option("--format", fmt, ("text", "csv", "json", "markdown"))
    if list_:
        from coachstats.trials import get_trial, list_trials

        for name in list_trials():
            typer.echo(f"{name}: {get_trial(name).title}")
        return
    from coachstats.reproduce import reproduce as run

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
        from coachstats.report import report_from_reproduction, write_report

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
    from coachstats.errors import check_option

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
    from coachstats import power as pw
    from coachstats.errors import OptionError

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
        from coachstats.plots.style import save_figure

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
    from coachstats.errors import check_option

    check_option("--trial", trial, ("hcpc", "peer"))
    gen = synthetic.hcpc_cohort if trial == "hcpc" else synthetic.peer_cohort
    kwargs: dict[str, Any] = {}
    if n is not None:
        kwargs["n"] = n
    if seed is not None:
        kwargs["seed"] = seed
    for path in gen(**kwargs).write(out):
        typer.echo(str(path))


def main() -> None:
    """Entry point of the ``coachstats`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

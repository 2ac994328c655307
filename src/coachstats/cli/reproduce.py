"""``coachstats reproduce``: every published figure, recomputed from patient-level data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    EXIT_FINDING,
    ReportOption,
    check_outputs,
    guard,
    notes,
)


@app.command()
@guard
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
    report: ReportOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
) -> None:
    """Reproduce every published figure from patient-level data; exit 1 if any differs."""
    from coachstats.core.errors import check_option

    check_option("--format", fmt, ("text", "csv", "json", "markdown"))
    check_outputs(force, [data] if data else [], report=report)
    if list_:
        from coachstats.trials import get_trial, list_trials

        for name in list_trials():
            typer.echo(f"{name}: {get_trial(name).title}")
        return
    from coachstats.tasks.reproduce import reproduce as run

    with notes():
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

        with notes():
            written = write_report(
                report, report_from_reproduction(result), force=force, inputs=[data] if data else []
            )
        typer.echo(f"wrote {written}", err=True)
    if not result.ok:
        raise typer.Exit(EXIT_FINDING)

"""``coachstats reproduce``: every published figure, recomputed from patient-level data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    EXIT_FINDING,
    ArmsOption,
    CensoredOption,
    ExcludeOption,
    LevelsOption,
    MapFileOption,
    MapOption,
    ReportOption,
    RequireBaselineOption,
    SheetOption,
    SingleArmOption,
    UnitsOption,
    guard,
    loading,
    notes,
    plan_outputs,
    progress,
    report_for_the_command_line,
    writing,
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
    columns: MapFileOption = None,
    map_: MapOption = None,
    arms: ArmsOption = None,
    sheet: SheetOption = None,
    units: UnitsOption = None,
    levels: LevelsOption = None,
    single_arm: SingleArmOption = False,
    exclude_invalid: ExcludeOption = False,
    require_baseline: RequireBaselineOption = False,
    censored: CensoredOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, csv, json or markdown (any case).")
    ] = "text",
    sensitivity: Annotated[
        bool, typer.Option(help="Also rerun each trial's main outcomes under alternatives.")
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
    """Reproduce every published figure from patient-level data; exit 1 if one differs.

    Held-out figures that differ are reported, not failures; on --data every figure counts.
    """
    from coachstats.core.errors import choose

    fmt = choose("--format", fmt, ("text", "csv", "json", "markdown"))
    outs = plan_outputs(force, [data, columns], report=report)
    if list_:
        from coachstats.trials import get_trial, list_trials

        for name in list_trials():
            typer.echo(f"{name}: {get_trial(name).title}")
        return
    from coachstats.tasks.reproduce import reproduce as run
    from coachstats.trials import list_trials

    known = tuple(list_trials())
    # registry names in any case; anything else (a TOML file of your own) as given
    names = [t.lower() if t.lower() in known else t for t in trials or ()]
    with notes(), progress("reproduce") as step:
        own = None
        if data is not None:  # your file, read with the same loading options as every command
            from coachstats.data.programdata import load_program

            step(f"loading {data.name}")
            own = load_program(
                data,
                **loading(locals()),
            )
        step("recomputing the published figures")
        result = run(names or None, data=own, sensitivity=sensitivity)
    for note in own.notes if own is not None else ():  # what loading your file did
        typer.echo(f"note: {note}", err=True)
    if fmt == "text":
        typer.echo(result.summary())
        if brief:
            typer.echo(
                "\nAs the practice brief presents them (the published figures as printed; "
                "what the reproduction computed otherwise is marked 'Reproduced'):\n"
            )
            typer.echo(result.to_brief())
        if sensitivity and result.sensitivity is not None:
            from coachstats.present.report.context import sensitivity_rows
            from coachstats.present.report.word import sensitivity_table

            table = sensitivity_table(sensitivity_rows(result.sensitivity))
            typer.echo("\n" + table.to_text())
    elif fmt == "csv":
        from coachstats.data.outputs import csv_text

        typer.echo(csv_text(result.to_frame()), nl=False)
    elif fmt == "json":
        typer.echo(result.to_json())
    else:
        typer.echo(result.to_markdown())
    if report is not None:
        from coachstats.present.report import render_report, report_from_reproduction

        with notes(), writing(outs):
            with progress("reproduce") as step:
                step("drawing the report")
                content = report_for_the_command_line(
                    render_report(report_from_reproduction(result), report)
                )
            outs.write(report, content)
    if not result.ok:
        raise typer.Exit(EXIT_FINDING)

"""``coachstats analyze`` and ``coachstats evaluate``: a program's own data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    EXIT_FINDING,
    ExcludeOption,
    ForceOption,
    MapFileOption,
    MapOption,
    ReportOption,
    SheetOption,
    SingleArmOption,
    UnitsOption,
    check_outputs,
    guard,
    notes,
    program_load,
    progress,
    write_figure,
    write_result,
)


@app.command()
@guard
def analyze(
    data: Annotated[
        Path, typer.Argument(help="Program file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    columns: MapFileOption = None,
    map_: MapOption = None,
    sheet: SheetOption = None,
    goals: Annotated[str, typer.Option(help="Goal set: hcpc or peer.")] = "hcpc",
    units: UnitsOption = None,
    single_arm: SingleArmOption = False,
    exclude_invalid: ExcludeOption = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the outcome table (.csv) or the whole result (.json)."),
    ] = None,
    report: ReportOption = None,
    force: ForceOption = False,
) -> None:
    """Analyse a program's patient file: outcome table, the brief's presentation, flow, tracking."""
    from coachstats.core.errors import check_option
    from coachstats.tasks.evaluate import analyze as run

    check_option("--goals", goals, ("hcpc", "peer"))
    check_outputs(force, [data], out=out, report=report)
    load = program_load(columns, map_, sheet, units, single_arm, exclude_invalid)
    with notes(), progress("analyze") as step:
        result = run(data, goals=goals, progress=step, **load)
    typer.echo(result.summary())
    if out is not None:
        import json

        payload = json.dumps(result.to_dict(), indent=2, default=str)
        write_result(out, result.to_frame(), payload, force=force, inputs=[data])
    if report is not None and result.data is not None:
        from coachstats.present.report import report_from_analysis, write_report

        # the data, goal set and flow come from the result: nothing is loaded or resolved again
        with notes():
            doc = report_from_analysis(result.data, result.plan)
            written = write_report(report, doc, force=force, inputs=[data])
        typer.echo(f"wrote {written}", err=True)


@app.command()
@guard
def evaluate(
    data: Annotated[
        Path, typer.Argument(help="Program file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    against: Annotated[str, typer.Option(help="Published trial(s): hcpc, peer or all.")] = "all",
    single_arm: SingleArmOption = False,
    columns: MapFileOption = None,
    map_: MapOption = None,
    sheet: SheetOption = None,
    units: UnitsOption = None,
    exclude_invalid: ExcludeOption = False,
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
    report: ReportOption = None,
    force: ForceOption = False,
) -> None:
    """Compare a program with the published trials; exit 1 if an outcome differs from them."""
    from coachstats.core.errors import check_option
    from coachstats.data.io import read_table
    from coachstats.data.programdata import load_program
    from coachstats.tasks.evaluate import evaluate as run
    from coachstats.tasks.evaluate import evaluation_figure

    check_option("--against", against, ("hcpc", "peer", "all"))
    check_option("--published-se", published_se, ("auto", "counts", "p_value"))
    check_outputs(
        force, [p for p in (data, encounters) if p is not None], out=out, plot=plot, report=report
    )
    load = program_load(columns, map_, sheet, units, single_arm, exclude_invalid)
    enc = read_table(encounters) if encounters is not None else None
    with notes(), progress("evaluate") as step:
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
        write_result(out, result.to_frame(), result.to_json(), force=force, inputs=inputs)
    if plot is not None or report is not None:
        import matplotlib

        matplotlib.use("Agg")
    if plot is not None:
        import matplotlib.pyplot as plt

        figure = evaluation_figure(result)
        try:
            write_figure(figure, plot, force=force, inputs=inputs)
        finally:
            plt.close(figure)
    if report is not None:
        from coachstats.present.report import report_from_evaluation, write_report

        with notes():
            doc = report_from_evaluation(
                result, trial_data=trial_data, files=[encounters] if encounters else ()
            )
            written = write_report(report, doc, force=force, inputs=inputs)
        typer.echo(f"wrote {written}", err=True)
    if not result.ok:
        raise typer.Exit(EXIT_FINDING)

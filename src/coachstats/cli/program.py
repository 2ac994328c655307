"""``coachstats analyze`` and ``coachstats evaluate``: a program's own data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    EXIT_FINDING,
    ArmsOption,
    CensoredOption,
    CostOption,
    ExcludeOption,
    ForceOption,
    FteOption,
    GoalsOption,
    LevelsOption,
    MapFileOption,
    MapOption,
    ReportOption,
    RequireBaselineOption,
    SheetOption,
    SingleArmOption,
    UnitsOption,
    figure_content,
    for_the_command_line,
    guard,
    loading,
    notes,
    parse_cost,
    parse_fte,
    parse_pairs,
    plan_outputs,
    progress,
    report_for_the_command_line,
    require_computed,
    table_content,
    writing,
)

SensitivityOption = Annotated[
    bool,
    typer.Option(
        "--sensitivity",
        help="Also compute tipping points of the binary outcomes (missing outcomes filled in "
        "every possible way); printed and added to --report.",
    ),
]

ExactOption = Annotated[
    bool,
    typer.Option(
        "--exact",
        help="Compare the goal outcomes with Fisher's exact test instead of Pearson's chi-square "
        "(for small programs: an expected count below 5 makes the chi-square P unreliable).",
    ),
]


@app.command()
@guard
def analyze(
    data: Annotated[
        Path, typer.Argument(help="Program file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    columns: MapFileOption = None,
    map_: MapOption = None,
    arms: ArmsOption = None,
    sheet: SheetOption = None,
    goals: GoalsOption = "hcpc",
    units: UnitsOption = None,
    levels: LevelsOption = None,
    single_arm: SingleArmOption = False,
    exclude_invalid: ExcludeOption = False,
    require_baseline: RequireBaselineOption = False,
    censored: CensoredOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the outcome table (.csv) or the whole result (.json)."),
    ] = None,
    report: ReportOption = None,
    sensitivity: SensitivityOption = False,
    exact: ExactOption = False,
    fte: FteOption = None,
    cost: CostOption = None,
    force: ForceOption = False,
) -> None:
    """Analyse a program's patient file: outcome table, the brief's presentation, flow, tracking."""
    from coachstats.core.errors import choose
    from coachstats.tasks.evaluate import analyze as run

    goals = choose("--goals", goals, ("hcpc", "peer"))
    outs = plan_outputs(force, [data, columns], out=out, report=report)
    load = loading(locals(), read_columns="schema")
    with notes(), progress("analyze") as step:
        result = run(
            data,
            goals=goals,
            sensitivity=sensitivity,
            exact=exact,
            fte=parse_fte(fte),
            cost=parse_cost(cost),
            progress=step,
            **load,
        )
    failed = require_computed(
        [s.label for s in result.plan.specs], list(result.plan.errors), "analyze"
    )
    typer.echo(for_the_command_line(result.summary()))
    if failed:  # listed under the outcome table by the summary
        typer.echo(
            f"\n{len(failed)} outcome(s) not computed (listed under the outcome table); "
            "exit 0: the other outcomes stand"
        )
    with writing(outs):
        if out is not None:
            import json

            payload = json.dumps(result.to_dict(), indent=2, default=str)
            outs.write(out, table_content(out, result.to_frame(), payload))
        if report is not None and result.data is not None:
            from coachstats.present.report import render_report, report_from_analysis
            from coachstats.tasks.evaluate.driver import SINGLE_ARM_NOTE

            # the data, goal set and flow come from the result: nothing is loaded or resolved again
            with notes(), progress("analyze") as step:
                step("writing the report")
                single = result.design == "single-arm"
                doc = report_from_analysis(
                    result.data,
                    result.plan,
                    impact=result.impact,
                    sensitivity=result.sensitivity,
                    single_group=result.summaries if single else None,
                    single_group_note=SINGLE_ARM_NOTE if single else "",
                    tracking=result.tracking,
                )
                outs.write(report, report_for_the_command_line(render_report(doc, report)))


@app.command()
@guard
def evaluate(
    data: Annotated[
        Path, typer.Argument(help="Program file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    against: Annotated[
        str,
        typer.Option(
            help="What to compare with, comma-separated (any case): hcpc, peer, all (both "
            "trials), evidence (the pooled evidence base; two-arm programs), e.g. hcpc,evidence."
        ),
    ] = "all",
    single_arm: SingleArmOption = False,
    columns: MapFileOption = None,
    map_: MapOption = None,
    arms: ArmsOption = None,
    sheet: SheetOption = None,
    units: UnitsOption = None,
    levels: LevelsOption = None,
    exclude_invalid: ExcludeOption = False,
    require_baseline: RequireBaselineOption = False,
    censored: CensoredOption = None,
    encounters: Annotated[
        Path | None,
        typer.Option(help="Coaching encounters (patient_id, date, cpt: 0591T/0592T/0593T)."),
    ] = None,
    published_se: Annotated[
        str, typer.Option(help="Published SE from: auto, counts (also inferred) or p_value.")
    ] = "auto",
    margin: Annotated[
        str | None,
        typer.Option(
            help="Margins of 'similar', endpoint=value pairs: shares as proportions, changes in "
            "their unit, e.g. composite_any=0.08,change_hba1c=0.4 (default: each outcome's, "
            "docs/evaluate.md)."
        ),
    ] = None,
    adjust: Annotated[
        str,
        typer.Option(help="Multiplicity adjustment of the verdicts: holm, bonferroni or none."),
    ] = "holm",
    alpha: Annotated[float, typer.Option(help="Significance level of the verdicts.")] = 0.05,
    fail_on: Annotated[
        str,
        typer.Option(
            help="Exit 1 when a comparison is 'smaller' (default), or also when one is "
            "'inconclusive'."
        ),
    ] = "smaller",
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="What to print: text (default) or json (every table, as --out x.json writes).",
        ),
    ] = "text",
    out: Annotated[
        Path | None,
        typer.Option(help="Write the comparison table (.csv) or every table (.json)."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the forest plot (PNG, SVG or PDF).")
    ] = None,
    report: ReportOption = None,
    sensitivity: SensitivityOption = False,
    fte: FteOption = None,
    cost: CostOption = None,
    force: ForceOption = False,
) -> None:
    """Compare a program with the published trials; exit 1 if a comparison is 'smaller'.

    Its own effect, then larger / similar / smaller / inconclusive against each published effect; with --against evidence also against the pooled trials (the average coaching program).
    """
    from coachstats.core.errors import choose_all
    from coachstats.data.io import read_table
    from coachstats.data.programdata import load_program
    from coachstats.tasks.evaluate import evaluate as run
    from coachstats.tasks.evaluate import evaluation_figure

    targets = ("hcpc", "peer", "all", "evidence")
    named = [a for a in against.split(",") if a.strip()] or [against]
    *chosen, fmt, published_se, adjust, fail_on = choose_all(  # every bad value in one error
        *(("--against", a, targets) for a in named),
        ("--format", fmt, ("text", "json")),
        ("--published-se", published_se, ("auto", "counts", "p_value")),
        ("--adjust", adjust, ("holm", "bonferroni", "none")),
        ("--fail-on", fail_on, ("smaller", "inconclusive")),
    )
    margins = parse_pairs(margin, "--margin")
    outs = plan_outputs(force, [data, encounters, columns], out=out, plot=plot, report=report)
    load = loading(locals(), read_columns="schema")
    enc = read_table(encounters) if encounters is not None else None
    with notes(), progress("evaluate") as step:
        step("loading and validating")
        trial_data = load_program(data, **load)  # once: evaluated, and the report's flow and hash
        result = run(
            trial_data,
            against=chosen,
            published_se=published_se,  # type: ignore[arg-type]
            adjust=adjust,  # type: ignore[arg-type]
            alpha=alpha,
            margins=margins,  # type: ignore[arg-type]
            encounters=enc,
            fte=parse_fte(fte),
            cost=parse_cost(cost),
            sensitivity=sensitivity,
            progress=step,
            **load,
        )
    rows = [(e.label, e.trial, e.error, e.program) for e in result.effects]
    rows += [(a.label, a.trial, a.error, a.program) for a in result.arms]
    rows += [(e.label, "evidence base", e.error, e.program) for e in result.evidence if e.compared]
    failed = require_computed(
        [f"{label} ({trial})" for label, trial, _, _ in rows],
        [error or ("not computed" if program is None else None) for _, _, error, program in rows],
        "evaluate",
    )
    if fmt == "json":
        typer.echo(result.to_json())
    else:
        typer.echo(for_the_command_line(result.summary()))
        if failed:
            typer.echo("\nNot computed (the other outcomes stand):\n  " + "\n  ".join(failed))
    if plot is not None or report is not None:
        import matplotlib

        matplotlib.use("Agg")
    with writing(outs):
        if out is not None:
            outs.write(out, table_content(out, result.to_frame(), result.to_json()))
        if plot is not None:
            outs.write(plot, figure_content(evaluation_figure(result), plot.suffix))
        if report is not None:
            from coachstats.present.report import render_report, report_from_evaluation

            with notes(), progress("evaluate") as step:
                step("writing the report")
                doc = report_from_evaluation(
                    result, trial_data=trial_data, files=[encounters] if encounters else ()
                )
                outs.write(report, report_for_the_command_line(render_report(doc, report)))
    failing = {"smaller"} if fail_on == "smaller" else {"smaller", "inconclusive"}
    found = [r.verdict for r in result.rows if r.verdict in failing]
    if found:  # the exit code says why, on the line a CI log ends with
        sys.stdout.flush()  # after the summary, whole, when both streams go to one log
        counts = ", ".join(
            f"{found.count(v)} {v}" for v in ("smaller", "inconclusive") if v in found
        )
        typer.echo(
            f"exit {EXIT_FINDING}: {counts} of {len(result.rows)} comparisons "
            f"(--fail-on {fail_on} fails on {' or '.join(sorted(failing, reverse=True))})",
            err=True,
        )
        raise typer.Exit(EXIT_FINDING)

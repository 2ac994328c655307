"""``coachstats evidence`` and ``coachstats trials``: the evidence base and every registered trial."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    OUTPUT_SUFFIXES,
    ForceOption,
    ReportOption,
    figure_content,
    guard,
    notes,
    plan_outputs,
    writing,
)


@app.command()
@guard
def evidence(
    outcome: Annotated[
        str, typer.Argument(help="Outcome to pool: hba1c (default), sbp or ldl.")
    ] = "hba1c",
    method: Annotated[str, typer.Option(help="tau² estimator: REML, DL, PM or fixed.")] = "REML",
    test: Annotated[
        str, typer.Option(help="knha (Hartung-Knapp, default) or z (Wald) intervals.")
    ] = "knha",
    include_active: Annotated[
        bool, typer.Option(help="Also pool trials against an active comparator.")
    ] = False,
    by_coach: Annotated[
        bool, typer.Option(help="Also pool by coach type and test the subgroup differences.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text, csv or json.")] = "text",
    plot: Annotated[Path | None, typer.Option(help="Write the forest plot (PNG/SVG/PDF).")] = None,
    funnel: Annotated[
        Path | None, typer.Option(help="Write a funnel plot (needs at least 10 trials).")
    ] = None,
    report: ReportOption = None,
    force: ForceOption = False,
) -> None:
    """Pool the registered coaching trials on one outcome (random effects, prediction interval).

    Each trial, the random-effects estimate, its CI, the prediction interval, tau² and I², and the trials not pooled. --report writes all of it (with the forest plot, each figure as printed and where, and the methods) as one self-contained HTML page or a Word document.
    """
    from coachstats.compare.meta_fit import METHODS, TESTS
    from coachstats.core.errors import choose_all
    from coachstats.trials.evidence import EVIDENCE_OUTCOMES

    outcome, method, test, fmt = choose_all(  # every bad value in one error
        ("OUTCOME", outcome, tuple(EVIDENCE_OUTCOMES)),
        ("--method", method, METHODS),
        ("--test", test, TESTS),
        ("--format", fmt, ("text", "csv", "json")),
    )
    outs = plan_outputs(force, [], plot=plot, report=report)
    outs.add(funnel, option="--funnel", suffixes=OUTPUT_SUFFIXES["--plot"])
    from coachstats.compare.meta_checks import EGGER_MIN_K, egger_test, subgroups
    from coachstats.core.errors import OptionError
    from coachstats.tasks.evidence import pool_evidence

    with notes():
        result = pool_evidence(
            outcome,
            method=method,  # type: ignore[arg-type]
            test=test,  # type: ignore[arg-type]
            include_active=include_active,
        )
    k = result.meta.k
    if funnel is not None and k < EGGER_MIN_K:
        raise OptionError(
            f"--funnel: a funnel plot needs at least {EGGER_MIN_K} trials, the evidence has {k}; "
            "add --include-active or leave --funnel out"
        )
    if fmt == "text":
        typer.echo(result.summary())
        if by_coach:
            typer.echo(
                "\nBy coach type:\n"
                + subgroups(result.meta, list(result.effects["coach"])).summary()
            )
        if k >= EGGER_MIN_K:
            typer.echo("\n" + egger_test(result.meta).summary())
        else:
            typer.echo(
                f"\nEgger's test and the funnel plot need at least {EGGER_MIN_K} trials (k = {k}): "
                "small-study effects cannot be judged."
            )
    elif fmt == "csv":
        typer.echo(result.to_frame().to_csv(index=False), nl=False)
    else:
        typer.echo(result.to_frame().to_json(orient="records", indent=2))
    if plot is not None or funnel is not None or report is not None:
        import matplotlib

        matplotlib.use("Agg")
        from coachstats.present.plots.evidence import plot_evidence
        from coachstats.present.plots.funnel import plot_funnel
        from coachstats.present.report import render_report, report_from_evidence

        with writing(outs):  # every file is written, or none
            if plot is not None:
                outs.write(plot, figure_content(plot_evidence(result), plot.suffix))
            if funnel is not None:
                outs.write(funnel, figure_content(plot_funnel(result.meta), funnel.suffix))
            if report is not None:
                outs.write(report, render_report(report_from_evidence(result), report))


@app.command()
@guard
def trials(
    fmt: Annotated[str, typer.Option("--format", help="text or csv.")] = "text",
) -> None:
    """List every registered trial (seed trials and the evidence base) with its citation."""
    from coachstats.core.errors import check_option

    check_option("--format", fmt, ("text", "csv"))
    from coachstats.tasks.evidence import trial_table

    table = trial_table()
    if fmt == "csv":
        typer.echo(table.to_csv(index=False), nl=False)
        return
    heads = {
        "evidence": "Evidence base: {n} trials, published summary figures, pooled by "
        "'coachstats evidence'",
        "seed paper": "Seed papers: {n} papers of the two San Francisco trials, reproduced from "
        "patient-level data by 'coachstats reproduce'",
    }
    seeds = set(table.loc[table["kind"] == "seed paper", "key"])
    for kind, head in heads.items():
        part = table.loc[table["kind"] == kind]
        typer.echo(("\n" if kind != "evidence" else "") + head.format(n=len(part)))
        for r in part.to_dict("records"):
            outcomes = r["outcomes"] or (
                f"none the evidence base pools; its figures are among the seed papers ([{r['key']}])"
                if r["key"] in seeds
                else "none recorded"
            )
            typer.echo(f"  {r['trial']} [{r['key']}]: {r['citation']}")
            typer.echo(f"    {r['design']}")
            typer.echo(f"    outcomes: {outcomes}")

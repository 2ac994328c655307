"""``coachstats check``: results another pipeline computed on the fixtures, against their known answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import EXIT_FINDING, ForceOption, guard, writing


@app.command()
@guard
def check(
    results: Annotated[
        Path, typer.Argument(help="Your results: CSV or JSON with target, estimate[, p, n, ...].")
    ],
    against: Annotated[
        str, typer.Option(help="Trial(s) to check: hcpc, peer, all, or a trial name (comma list).")
    ] = "all",
    only: Annotated[
        list[str] | None,
        typer.Option(help="Check only target ids matching this glob, e.g. 'hcpc.composite_*'."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Expected values from this manifest.json (a pinned fixture version)."),
    ] = None,
    fixture_version: Annotated[
        str | None, typer.Option(help="The fixture version your results were computed on.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    junit: Annotated[
        Path | None, typer.Option(help="Also write a JUnit XML report (one test per target).")
    ] = None,
    force: ForceOption = False,
) -> None:
    """Check another pipeline's results on the fixtures; exit 1 if any differs or is missing."""
    from coachstats.core.errors import check_option
    from coachstats.data.outputs import OutputSet
    from coachstats.tasks.check import check_results

    check_option("--format", fmt, ("text", "json"))
    outs = OutputSet(force=force, inputs=[p for p in (results, manifest) if p is not None])
    outs.add(junit, option="--junit", suffixes=(".xml",))
    report = check_results(
        results, against, only=only, manifest=manifest, fixture_version=fixture_version
    )
    typer.echo(report.summary() if fmt == "text" else report.to_json())
    with writing(outs):
        if junit is not None:
            outs.write(junit, report.to_junit())
    if not report.ok:
        raise typer.Exit(EXIT_FINDING)

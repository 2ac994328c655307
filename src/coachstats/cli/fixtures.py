"""``coachstats fixtures``: the bundled cohorts with their manifest of known answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coachstats.cli.app import app
from coachstats.cli.common import ForceOption, guard


@app.command()
@guard
def fixtures(
    outdir: Annotated[Path, typer.Argument(help="Directory to write the fixtures into.")],
    trial: Annotated[
        list[str] | None,
        typer.Option(help="Trial(s) whose cohorts and targets to write (default: all)."),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Write the versioned fixtures, manifest.json (expected values, tolerances) and its schema."""
    from coachstats.tasks.fixtures import write_fixtures

    written = write_fixtures(outdir, trial or None, force=force)
    for path in written.files:
        typer.echo(str(path))
    n_targets = len(written.manifest["targets"])
    typer.echo(
        f"fixture version {written.version}: {len(written.files)} files, {n_targets} targets "
        f"(manifest {written.directory / 'manifest.json'})",
        err=True,
    )

"""The ``coachstats`` Typer application and its global options.

Each command lives in a module of :mod:`coachstats.cli` named after what it
does; importing :mod:`coachstats.cli` registers them all.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coachstats.cli.common import STATE

app = typer.Typer(
    name="coachstats",
    help="Analyse randomized health-coaching trials and reproduce the published San Francisco trials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    STATE["debug"] = debug

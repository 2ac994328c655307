"""Command-line interface: ``coachstats reproduce | endpoints | synth``.

Exit codes: 0 success; 1 an analysis finding (e.g. a reproduced figure
differs from the published one); 2 bad input (the error lists every
problem). Tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

from collections.abc import Callable
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


def main() -> None:
    """Entry point of the ``coachstats`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

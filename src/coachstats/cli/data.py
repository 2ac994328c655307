"""``coachstats endpoints`` and ``coachstats synth``: a file's endpoint table, and synthetic cohorts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    ForceOption,
    guard,
    parse_map,
    plan_outputs,
    table_content,
    writing,
)


@app.command()
@guard
def endpoints(
    data: Annotated[
        Path, typer.Argument(help="Patient file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    goals: Annotated[str, typer.Option(help="Goal set: hcpc or peer.")] = "hcpc",
    map_: Annotated[
        str | None, typer.Option("--map", help="schema=yours pairs, e.g. arm=group,hba1c_0=a1c")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the endpoint table to this CSV.")] = None,
    force: ForceOption = False,
) -> None:
    """Load a patient file, validate it and print its per-patient endpoint table and flow."""
    from coachstats import HCPC_GOALS, PEER_GOALS, load_trial
    from coachstats.core.errors import check_option

    check_option("--goals", goals, ("hcpc", "peer"))
    outs = plan_outputs(force, [data], out=out, out_suffixes=(".csv",))
    gs = HCPC_GOALS if goals == "hcpc" else PEER_GOALS
    td = load_trial(data, columns=parse_map(map_))
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
    with writing(outs):
        if out is not None:
            outs.write(out, table_content(out, table))


@app.command()
@guard
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
    force: ForceOption = False,
) -> None:
    """Generate a seeded synthetic cohort (raw measurements only) as CSV and Parquet."""
    import shutil
    import tempfile

    from coachstats import synthetic
    from coachstats.core.errors import OutputError, check_option
    from coachstats.data.outputs import OutputSet, check_output
    from coachstats.synthetic.hcpc import HcpcCohort
    from coachstats.synthetic.peer import PeerCohort

    check_option("--trial", trial, ("hcpc", "peer"))
    gen = synthetic.hcpc_cohort if trial == "hcpc" else synthetic.peer_cohort
    names = (HcpcCohort if trial == "hcpc" else PeerCohort).TABLE_NAMES
    files = [out / f"{name}.{ext}" for name in names for ext in ("csv", "parquet")]
    if out.exists() and not out.is_dir():
        raise OutputError(f"OUT {out} is a file; synth writes its tables into a folder")
    made = not out.exists()
    outs = OutputSet(force=force)
    if made:  # the folder is created only when the tables are written
        check_output(out, option="OUT", suffixes=())
    else:
        for path in files:
            outs.add(path, option="OUT")
    kwargs: dict[str, Any] = {}
    if n is not None:
        kwargs["n"] = n
    if seed is not None:
        kwargs["seed"] = seed
    cohort = gen(**kwargs)
    out.mkdir(exist_ok=True)
    for path in files if made else ():
        outs.add(path, option="OUT")
    scratch = Path(tempfile.mkdtemp(prefix=".synth.", dir=out))
    try:
        with writing(outs):
            for produced in cohort.write(scratch):
                outs.adopt(out / produced.name, produced)
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

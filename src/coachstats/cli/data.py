"""``coachstats endpoints`` and ``coachstats synth``: a file's endpoint table, and synthetic cohorts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    ArmsOption,
    CensoredOption,
    ExcludeOption,
    ForceOption,
    GoalsOption,
    LevelsOption,
    MapFileOption,
    MapOption,
    RequireBaselineOption,
    SheetOption,
    SingleArmOption,
    UnitsOption,
    guard,
    loading,
    notes,
    plan_outputs,
    progress,
    table_content,
    writing,
)


@app.command()
@guard
def endpoints(
    data: Annotated[
        Path, typer.Argument(help="Patient file (CSV, Parquet, Excel, Stata, SAS, SPSS).")
    ],
    goals: GoalsOption = "hcpc",
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
    out: Annotated[Path | None, typer.Option(help="Write the endpoint table to this CSV.")] = None,
    force: ForceOption = False,
) -> None:
    """Load a patient file, validate it and print its per-patient endpoint table and flow."""
    from coachstats.core.errors import choose
    from coachstats.core.goals import GOAL_SETS
    from coachstats.data.flow import Flow
    from coachstats.data.programdata import load_program

    gs = GOAL_SETS[choose("--goals", goals, tuple(GOAL_SETS))]
    outs = plan_outputs(force, [data, columns], out=out, out_suffixes=(".csv",))
    load = loading(locals())
    with notes():
        td = load_program(data, **load)
        table = td.endpoints(gs)  # with statuses: the flow is counted from this same table
    flow: Flow = td.flow_from(table)
    typer.echo(flow.summary())
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
    out: Annotated[
        Path,
        typer.Argument(
            help="A folder to write every table into (CSV and Parquet), or a file name ending "
            "in .csv or .parquet to write the patient table only."
        ),
    ],
    trial: Annotated[str, typer.Option(help="hcpc or peer (any case).")] = "hcpc",
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
    from coachstats.core.errors import OutputError, choose
    from coachstats.data.outputs import OutputSet, check_output
    from coachstats.synthetic.hcpc import HcpcCohort
    from coachstats.synthetic.peer import PeerCohort

    trial = choose("--trial", trial, ("hcpc", "peer"))
    gen = synthetic.hcpc_cohort if trial == "hcpc" else synthetic.peer_cohort
    names = (HcpcCohort if trial == "hcpc" else PeerCohort).TABLE_NAMES
    one_file = out.suffix.lower() in (".csv", ".parquet")
    outs = OutputSet(force=force)
    made = False
    if one_file:  # a file name: the patient table, in that format (never a folder so named)
        files = [out]
        outs.add(out, option="OUT", suffixes=(".csv", ".parquet"))
    else:
        files = [out / f"{name}.{ext}" for name in names for ext in ("csv", "parquet")]
        if out.exists() and not out.is_dir():
            raise OutputError(
                f"OUT {out} is a file; give a folder for every table, or a name ending in "
                ".csv or .parquet for the patient table"
            )
        made = not out.exists()
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
    with progress("synth") as step:
        step(f"generating {n or 'the published'} patients")
        cohort = gen(**kwargs)
    folder = out.parent if one_file else out
    folder.mkdir(exist_ok=True)
    for path in files if made else ():
        outs.add(path, option="OUT")
    scratch = Path(tempfile.mkdtemp(prefix=".synth.", dir=folder))
    try:
        with writing(outs), progress("synth") as step:
            if one_file:
                fmt = out.suffix.lower().lstrip(".")
                produced = cohort.write(
                    scratch,
                    formats=(fmt,),  # type: ignore[arg-type]
                    progress=step.advance,
                )
                outs.adopt(out, next(p for p in produced if p.stem == names[0]))
            else:
                for produced_file in cohort.write(scratch, progress=step.advance):
                    outs.adopt(out / produced_file.name, produced_file)
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if one_file and len(names) > 1:
        typer.echo(
            f"note: the patient table only; the {trial} cohort's other tables "
            f"({', '.join(names[1:])}) are written when OUT is a folder",
            err=True,
        )

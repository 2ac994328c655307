"""``coachstats power``: sample size or power from the published effects or your own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from coachstats.cli.app import app
from coachstats.cli.common import (
    ForceOption,
    figure_content,
    guard,
    plan_outputs,
    writing,
)


@app.command()
@guard
def power(
    published: Annotated[
        str | None, typer.Option(help="Use a published effect, e.g. hcpc_composite (see --list).")
    ] = None,
    p1: Annotated[float | None, typer.Option(help="Proportion in the coached group.")] = None,
    p2: Annotated[float | None, typer.Option(help="Proportion in the comparison group.")] = None,
    delta: Annotated[
        float | None, typer.Option(help="Mean difference (coaching - comparison).")
    ] = None,
    sd: Annotated[float | None, typer.Option(help="Outcome SD (with --delta).")] = None,
    n: Annotated[
        int | None, typer.Option(help="Patients enrolled in the coached group (solve for power).")
    ] = None,
    target: Annotated[
        float | None, typer.Option("--power", help="Target power (solve for n); default 0.8.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    ratio: Annotated[float, typer.Option(help="Comparison group size / coached group size.")] = 1.0,
    icc: Annotated[float, typer.Option(help="Intraclass correlation within clinics.")] = 0.0,
    cluster_size: Annotated[
        float | None, typer.Option(help="Mean patients per clinic (with --icc).")
    ] = None,
    attrition: Annotated[float, typer.Option(help="Expected share lost to follow-up.")] = 0.0,
    coached_arm_only: Annotated[
        bool,
        typer.Option(
            "--coached-arm-only",
            help="Only the coached group is clustered (coaches in the coaching arm, usual care "
            "unclustered): the design effect applies to it alone (with --icc, --cluster-size).",
        ),
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the published effects and exit.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write a power curve figure (PNG/SVG/PDF).")
    ] = None,
    force: ForceOption = False,
) -> None:
    """Sample size or power for a coaching program, from the published effects or your own."""
    from coachstats.core.errors import OptionError
    from coachstats.tasks import power as pw

    outs = plan_outputs(force, [], plot=plot)
    if list_:
        typer.echo(
            pw.published_effects()[["key", "label", "p1", "p2", "delta", "sd"]].to_string(
                index=False
            )
        )
        return
    conflicts = power_conflicts(
        {"--published": published, "--p1": p1, "--p2": p2, "--delta": delta, "--sd": sd},
        n=n,
        target=target,
        icc=icc,
        cluster_size=cluster_size,
    )
    if conflicts:
        raise OptionError(
            f"{len(conflicts)} problem(s) with the options:\n"
            + "\n".join(f"  {i}. {c}" for i, c in enumerate(conflicts, 1))
        )
    opts: dict[str, Any] = {
        "alpha": alpha,
        "ratio": ratio,
        "icc": icc,
        "cluster_size": cluster_size,
        "attrition": attrition,
    }
    if coached_arm_only:
        opts["clustered"] = "group 1"
    if n is not None:
        opts["n"] = n
    else:
        opts["power"] = 0.8 if target is None else target
    if published is not None:
        from coachstats.core.errors import check_option

        check_option("--published", published, tuple(pw.PUBLISHED_EFFECTS))  # named as typed
        result = pw.published_effect(published).plan(**opts)
    elif p1 is not None and p2 is not None:
        result = pw.power_two_proportions(p1, p2, **opts)
    elif delta is not None and sd is not None:
        result = pw.power_two_means(delta, sd, **opts)
    else:
        raise OptionError(
            "give --published KEY, or --p1 and --p2, or --delta and --sd (see --list)"
        )
    typer.echo(result.summary())
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        with writing(outs):
            outs.write(
                plot, figure_content(pw.plot_power_curve(pw.power_curve(result)), plot.suffix)
            )


def power_conflicts(
    effect: dict[str, Any],
    *,
    n: int | None,
    target: float | None,
    icc: float,
    cluster_size: float | None,
) -> list[str]:
    """The options of ``power`` given together that cannot all be used (one would be ignored).

    Examples
    --------
    >>> power_conflicts({"--published": "hcpc_composite", "--p1": 0.3}, n=100, target=0.9,
    ...     icc=0.0, cluster_size=None)  # doctest: +NORMALIZE_WHITESPACE
    ['--n 100 and --power 0.9: give --n (solve for power) or --power (solve for n), not both',
     '--published takes the effect from the trial: leave out --p1']
    >>> power_conflicts({"--p1": 0.3, "--p2": 0.5}, n=None, target=None, icc=0.02,
    ...     cluster_size=None)
    ['--icc 0.02 needs --cluster-size (mean patients per clinic, e.g. a coach caseload)']
    """
    out = []
    if n is not None and target is not None:
        out.append(
            f"--n {n} and --power {target:g}: give --n (solve for power) or --power (solve for "
            "n), not both"
        )
    given = [k for k, v in effect.items() if v is not None and k != "--published"]
    if effect.get("--published") is not None and given:
        out.append(f"--published takes the effect from the trial: leave out {', '.join(given)}")
    elif {"--p1", "--p2"} & set(given) and {"--delta", "--sd"} & set(given):
        out.append(
            f"{', '.join(given)}: give proportions (--p1 and --p2) or a mean difference "
            "(--delta and --sd), not both"
        )
    if icc and cluster_size is None:
        out.append(
            f"--icc {icc:g} needs --cluster-size (mean patients per clinic, e.g. a coach caseload)"
        )
    return out

"""Regenerate the tables of docs/performance.md from the results in benchmarks/results/.

Each table sits between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
in the page and is rewritten whole from ``benchmarks/results/NAME.json``: the
figures, the command that produced them, the date and the load averages
they were taken under. Nothing in a table is typed by hand.

    python benchmarks/run.py --docs
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "performance.md"

STAGE_NAMES = {
    "endpoints": "endpoints",
    "chisq": "chi-square",
    "logit_adj": "logistic + 40 clinic fixed effects",
    "logit_cluster": "cluster-robust logistic",
    "gee_exch": "GEE exchangeable",
    "ancova": "ANCOVA",
    "four analyses": "**the four model fits**",
    "TOTAL": "**whole analysis**",
}


def seconds(x: float | None) -> str:
    """Seconds to three significant digits (``-`` when missing)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def ratio(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def diff(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return "0" if x == 0 else f"{x:.1e}"


def mib(x: float | None) -> str:
    """Memory in GiB (and MiB): binary units, as the process reports them."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x / 1024:.2f} GiB ({x:,.0f} MiB)"


def loads(rows: list[dict[str, Any]]) -> str:
    """The range of the 1-minute load averages recorded with ``rows``."""
    values = [r[k] for r in rows for k in ("load_before", "load_after") if k in r]
    if not values:
        return "not recorded"
    lo, hi = min(values), max(values)
    return f"{lo:.1f}" if lo == hi else f"{lo:.1f} to {hi:.1f}"


def footer(payload: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    reps = {r.get("reps") for r in rows if r.get("reps")}
    rep = f"; fastest of {max(reps)} interleaved repetitions" if reps else ""
    return (
        f"`{payload.get('command', '?')}` ({payload.get('date', 'date not recorded')}; "
        f"load average {loads(rows)} on 2 cores{rep})"
    )


def speed_table(payload: dict[str, Any]) -> str:
    rows = payload["rows"]
    n = rows[0]["n"]
    out = [
        f"{n:,} patients, {40} clinics.",
        "",
        "| step | coachstats (s) | pandas + statsmodels (s) | ratio | max rel. diff |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["stage"] not in STAGE_NAMES:
            continue
        out.append(
            f"| {STAGE_NAMES[r['stage']]} | {seconds(r['coachstats_s'])} | "
            f"{seconds(r.get('baseline_s'))} | {ratio(r.get('ratio'))} | {diff(r.get('max_rel_diff'))} |"
        )
    peers = [r for r in rows if r["stage"].startswith("pyfixest: ")]
    if peers:
        out += [
            "",
            "| step, against pyfixest (absorbed FE) | coachstats (s) | pyfixest (s) | ratio | max rel. diff |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in peers:
            stage = r["stage"].removeprefix("pyfixest: ")
            out.append(
                f"| {STAGE_NAMES.get(stage, stage)} | {seconds(r['coachstats_s'])} | "
                f"{seconds(r.get('baseline_s'))} | {ratio(r.get('ratio'))} | {diff(r.get('max_rel_diff'))} |"
            )
    bound = [r for r in rows if "bound" in r["stage"]]
    for r in bound:
        out += [
            "",
            f"FE logit against its sufficient-statistics bound: {seconds(r['coachstats_s'])} s "
            f"from the DataFrame to the result, against {seconds(r['bound_s'])} s for its "
            f"{int(r['passes'])} passes of sufficient statistics alone: "
            f"**{r['times_bound']:.2f} times the bound**.",
        ]
    out += ["", footer(payload, rows)]
    return "\n".join(out)


def growth_table(payload: dict[str, Any]) -> str:
    rows = payload["rows"]
    out = [
        "| patients | endpoints (s) | µs per patient | whole analysis (s) | pandas + statsmodels (s) | ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    by_n: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_n.setdefault(int(r["n"]), {})[r["stage"]] = r
    for n, stages in sorted(by_n.items()):
        ep, tot = stages["endpoints"], stages["TOTAL"]
        out.append(
            f"| {n:,} | {seconds(ep['coachstats_s'])} | {1e6 * ep['coachstats_s'] / n:.3f} | "
            f"{seconds(tot['coachstats_s'])} | {seconds(tot.get('baseline_s'))} | {ratio(tot.get('ratio'))} |"
        )
    out += ["", footer(payload, rows)]
    return "\n".join(out)


def cli_table(payload: dict[str, Any]) -> str:
    rows = payload["rows"]
    out = [
        "| command | seconds | peak memory | exit | statsmodels pipeline (s) | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| `{r['command']}` | {seconds(r['coachstats_s'])} | {mib(r.get('peak_mib'))} | "
            f"{r.get('exit', '-')} | {seconds(r.get('baseline_s'))} | {ratio(r.get('ratio'))} |"
        )
    notes = [r["note"] for r in rows if r.get("note")]
    out += ["", *(f"{n}." for n in notes), "", footer(payload, rows)]
    return "\n".join(out)


def parquet_table(payload: dict[str, Any]) -> str:
    rows = payload["rows"]
    out = [
        "| run | seconds | peak memory | largest rel. diff vs in memory |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['stage']} | {seconds(r['coachstats_s'])} | {mib(r['peak_rss_mb'])} | "
            f"{diff(r.get('max_rel_diff'))} |"
        )
    stream = next((r for r in rows if "streamed" in r["stage"]), None)
    memory = next((r for r in rows if "in memory" in r["stage"]), None)
    if stream and memory:
        out += [
            "",
            f"Streamed / in memory: **{stream['coachstats_s'] / memory['coachstats_s']:.2f}** "
            f"times the time, {stream['peak_rss_mb'] / memory['peak_rss_mb']:.2f} times the memory.",
        ]
    out += ["", footer(payload, rows)]
    return "\n".join(out)


def clusters_table(payload: dict[str, Any]) -> str:
    rows = payload["rows"]
    out = [
        "| model | patients | clinics | coachstats (s) | reference (s) | ratio | max rel. diff |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['stage']} | {r['n']:,} | {r['clinics']:,} | {seconds(r['coachstats_s'])} | "
            f"{seconds(r.get('baseline_s'))} | {ratio(r.get('ratio'))} | {diff(r.get('max_rel_diff'))} |"
        )
    notes = [f"{r['stage']}: {r['note']}" for r in rows if r.get("note")]
    out += ["", *(f"- {n}." for n in notes), "", footer(payload, rows)]
    return "\n".join(out)


def wide_table(payload: dict[str, Any]) -> str:
    rows = payload["rows"]
    out = ["| columns | seconds | µs per column |", "|---:|---:|---:|"]
    for r in rows:
        out.append(
            f"| {r['columns']:,} | {seconds(r['seconds'])} | {1e6 * r['seconds'] / r['columns']:.0f} |"
        )
    out += ["", footer(payload, rows)]
    return "\n".join(out)


def startup_table(payload: dict[str, Any]) -> str:
    from statistics import median

    base = median(payload["import_numpy_pandas"])
    full = median(payload["import_with_coachstats"])
    api = payload["runs"]
    out = [
        "| measurement | seconds (median) |",
        "|---|---:|",
        f"| `import numpy, pandas` | {base:.2f} |",
        f"| `import numpy, pandas, coachstats` | {full:.2f} |",
        f"| what `import coachstats` adds | **{payload['import_added_median']:.2f}** |",
        f"| `reproduce()` in Python: import, then the {int(api[0]['targets'])} targets | "
        f"{median(r['import'] for r in api):.2f} + {median(r['reproduce'] for r in api):.2f} |",
        f"| the `coachstats reproduce` command, start to exit | **{payload['command_median']:.2f}** |",
    ]
    rows = [payload]
    invocation = payload.get("invocation", "python benchmarks/reproduce_time.py")
    out += ["", footer({**payload, "command": invocation}, rows)]
    return "\n".join(out)


TABLES: dict[str, Callable[[dict[str, Any]], str]] = {
    "speed": speed_table,
    "growth": growth_table,
    "cli": cli_table,
    "parquet": parquet_table,
    "clusters": clusters_table,
    "wide": wide_table,
    "startup": startup_table,
}


def regenerate(page: Path = PAGE, results: Path = RESULTS) -> list[str]:
    """Rewrite every marked table of ``page`` whose results exist; returns the names rewritten."""
    text = page.read_text(encoding="utf-8")
    done = []
    for name, make in TABLES.items():
        source = results / f"{name}.json"
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(\n<!-- /bench:{name} -->)", re.S)
        if not source.is_file() or not pattern.search(text):
            continue
        table = make(json.loads(source.read_text(encoding="utf-8")))
        text = pattern.sub(lambda m, t=table: m.group(1) + t + m.group(2), text)
        done.append(name)
    page.write_text(text, encoding="utf-8")
    return done


if __name__ == "__main__":
    print("rewrote:", ", ".join(regenerate()) or "nothing")

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
    "select": "selecting the analysed rows",
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


def compared(r: dict[str, Any]) -> str:
    """The cells ``ours | theirs | ratio | max rel. diff`` of a compared row."""
    return (
        f"{seconds(r['coachstats_s'])} | {seconds(r.get('baseline_s'))} | "
        f"{ratio(r.get('ratio'))} | {diff(r.get('max_rel_diff'))}"
    )


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
    lo, hi = f"{min(values):.1f}", f"{max(values):.1f}"
    return lo if lo == hi else f"{lo} to {hi}"


def footer(payload: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    reps = {r.get("reps") for r in rows if r.get("reps")}
    rep = f"; fastest of {max(reps)} repetitions" if reps else ""
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
        out.append(f"| {STAGE_NAMES[r['stage']]} | {compared(r)} |")
    peers = [r for r in rows if r["stage"].startswith("pyfixest: ")]
    if peers:
        out += [
            "",
            "| step, against pyfixest (absorbed FE) | coachstats (s) | pyfixest (s) | ratio | max rel. diff |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in peers:
            stage = r["stage"].removeprefix("pyfixest: ")
            out.append(f"| {STAGE_NAMES.get(stage, stage)} | {compared(r)} |")
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
        "| patients | endpoints (s) | µs per patient | selecting the analysed rows (s) "
        "| whole analysis (s) | pandas + statsmodels (s) | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_n: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_n.setdefault(int(r["n"]), {})[r["stage"]] = r
    for n, stages in sorted(by_n.items()):
        ep, tot = stages["endpoints"], stages["TOTAL"]
        select = stages.get("select", {}).get("coachstats_s")
        out.append(
            f"| {n:,} | {seconds(ep['coachstats_s'])} | {1e6 * ep['coachstats_s'] / n:.3f} | "
            f"{seconds(select)} | {seconds(tot['coachstats_s'])} | "
            f"{seconds(tot.get('baseline_s'))} | {ratio(tot.get('ratio'))} |"
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
        out.append(f"| {r['stage']} | {r['n']:,} | {r['clinics']:,} | {compared(r)} |")
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


def added(x: float) -> str:
    """Seconds an import adds; a negative median difference is noise, said so."""
    return f"{x:.2f}" if x >= 0 else f"under the noise ({x:.2f})"


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
        f"| what `import coachstats` adds | **{added(payload['import_added_median'])}** |",
        f"| `reproduce()` in Python: import, then the {int(api[0]['targets'])} targets | "
        f"{median(r['import'] for r in api):.2f} + {median(r['reproduce'] for r in api):.2f} |",
        f"| the `coachstats reproduce` command, start to exit | **{payload['command_median']:.2f}** |",
    ]
    rows = [payload]
    invocation = payload.get("invocation", "python benchmarks/reproduce_time.py")
    out += ["", footer({**payload, "command": invocation}, rows)]
    return "\n".join(out)


#: 1.5 GB, the memory target of issue 22, in MiB (the unit of the results): 1.5e9 bytes.
GB_1_5_MIB = 1.5e9 / 2**20


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**not met**")


def _cli_row(cli: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    return next((r for r in (cli or {}).get("rows", []) if r.get("key") == key), None)


def _stage(payload: dict[str, Any] | None, stage: str) -> dict[str, Any] | None:
    return next((r for r in (payload or {}).get("rows", []) if r["stage"] == stage), None)


def targets_table(results: dict[str, dict[str, Any]]) -> str:
    """The targets of issue 22, each with the measured figure, its load average and met or not."""
    speed, cli = results.get("speed"), results.get("cli")
    growth, parquet = results.get("growth"), results.get("parquet")
    lines = [
        "| target | measured | load average | result |",
        "|---|---|---:|---|",
    ]

    def add(target: str, measured: str, rows: list[dict[str, Any]], ok: bool | None) -> None:
        lines.append(f"| {target} | {measured} | {loads(rows)} | {_verdict(ok)} |")

    four = _stage(speed, "four analyses")
    if four and four.get("ratio") is not None:
        add(
            "the four analyses at 1e6: at least 20 times the statsmodels pipeline",
            f"{ratio(four['ratio'])} times ({seconds(four['coachstats_s'])} s against "
            f"{seconds(four['baseline_s'])} s; estimates agree to {diff(four['max_rel_diff'])})",
            [four],
            four["ratio"] >= 20,
        )
    for r in (speed or {}).get("rows", []):
        if r["stage"].startswith("pyfixest: "):
            step = STAGE_NAMES.get(r["stage"].removeprefix("pyfixest: "), r["stage"])
            add(
                f"{step} at 1e6: at least 5 times pyfixest (absorbed FE), at the same numbers (1e-6)",
                f"{ratio(r['ratio'])} times ({seconds(r['coachstats_s'])} s against "
                f"{seconds(r['baseline_s'])} s; agree to {diff(r['max_rel_diff'])})",
                [r],
                r["ratio"] >= 5 and r["max_rel_diff"] <= 1e-6,
            )
    bound = _stage(speed, "logit_adj / sufficient-statistics bound")
    if bound:
        add(
            "the FE logit within 2 times its sufficient-statistics bound",
            f"{bound['times_bound']:.2f} times ({seconds(bound['coachstats_s'])} s against "
            f"{seconds(bound['bound_s'])} s for its {int(bound['passes'])} passes)",
            [bound],
            bound["times_bound"] <= 2,
        )
    limits = {"analyze": 8.0, "evaluate": 10.0, "synth": 15.0}
    for key, limit in limits.items():
        r = _cli_row(cli, key)
        if r is None:
            add(f"`coachstats {key}` at 1e6: under {limit:.0f} s, under 1.5 GB", "-", [], None)
            continue
        add(
            f"`coachstats {key}` at 1e6: under {limit:.0f} s (quiet machine)",
            f"{seconds(r['coachstats_s'])} s",
            [r],
            r["coachstats_s"] < limit,
        )
        add(
            f"`coachstats {key}` at 1e6: peak under 1.5 GB ({GB_1_5_MIB:,.0f} MiB)",
            mib(r.get("peak_mib")),
            [r],
            r["peak_mib"] < GB_1_5_MIB,
        )
    r = _cli_row(cli, "analyze_baseline")
    if r is not None:
        add(
            "`coachstats analyze` at 1e6 from the CLI: at most a third of the statsmodels "
            "pipeline's time",
            f"{seconds(r['coachstats_s'])} s against {seconds(r['baseline_s'])} s: "
            f"{1 / r['ratio']:.2f} of it",
            [r],
            r["ratio"] >= 3,
        )
    if growth:
        ep = {int(x["n"]): x for x in growth["rows"] if x["stage"] == "endpoints"}
        steps = [(a, b) for a, b in zip(sorted(ep), sorted(ep)[1:], strict=False) if a >= 100_000]
        factors = [ep[b]["coachstats_s"] / ep[a]["coachstats_s"] for a, b in steps]
        text = "; ".join(
            f"{a:,} to {b:,}: {f:.1f} times" for (a, b), f in zip(steps, factors, strict=True)
        )
        add(
            "endpoints linear from 1e5 to 1e7 (each tenfold step at most 15 times the time)",
            text or "-",
            [ep[b] for _, b in steps],
            bool(factors) and max(ep) >= 10_000_000 and all(f <= 15 for f in factors),
        )
    if parquet:
        stream = next((x for x in parquet["rows"] if "streamed" in x["stage"]), None)
        memory = next((x for x in parquet["rows"] if "in memory" in x["stage"]), None)
        if stream and memory:
            times = stream["coachstats_s"] / memory["coachstats_s"]
            add(
                f"streaming within 2 times in memory at {int(stream['n']):,} patients",
                f"{times:.2f} times ({seconds(stream['coachstats_s'])} s against "
                f"{seconds(memory['coachstats_s'])} s)",
                [stream, memory],
                times <= 2,
            )
            add(
                f"streaming at {int(stream['n']):,} patients: peak under 1.5 GB "
                f"({GB_1_5_MIB:,.0f} MiB)",
                mib(stream["peak_rss_mb"]),
                [stream],
                stream["peak_rss_mb"] < GB_1_5_MIB,
            )
    return "\n".join(lines)


def machine_table(payload: dict[str, Any]) -> str:
    """The machine and versions a result was measured with."""
    m = payload.get("machine", {})
    soft = ", ".join(
        f"{k} {m[k]}"
        for k in ("python", "numpy", "pandas", "scipy", "statsmodels", "pyarrow", "pyfixest")
        if k in m
    )
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            f"| CPU | {m.get('cpu', '?')}, {m.get('nproc', '?')} cores (shared with other jobs) |",
            f"| memory | {m.get('mem_gb', '?')} GiB |",
            f"| software | {soft} |",
        ]
    )


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
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in results.glob("*.json")}
    derived = {"targets": targets_table(found)}
    if "speed" in found:
        derived["machine"] = machine_table(found["speed"])
    tables = dict(derived)
    for name, make in TABLES.items():
        if name in found:
            tables[name] = make(found[name])
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n)(?:.*?\n)?(<!-- /bench:{name} -->)", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
            done.append(name)
    page.write_text(text, encoding="utf-8")
    return done


if __name__ == "__main__":
    print("rewrote:", ", ".join(regenerate()) or "nothing")

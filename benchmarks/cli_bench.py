"""The command line as users run it: ``coachstats analyze``, ``evaluate`` and ``synth`` at 1e6.

Each command runs in a fresh process, start to exit (interpreter, imports,
reading the file, the analysis, printing), its peak memory the process's
``VmHWM``. Two comparisons, repeated and interleaved (the fastest of each
kept, the load average recorded):

- ``analyze`` on the statsmodels pipeline's own data (the baseline script's
  generator and seed, written to Parquet with the schema's names; the few
  impossible lab values of its normal draws, LDL below 10 mg/dL, written as
  missing, which the loader would refuse) against that pipeline (``../shared/bench/statsmodels_baseline.py``,
  its printed total: the analysis steps only, without generating the data or
  importing);
- ``synth --n N``, then ``analyze`` and ``evaluate`` on the cohort it wrote
  (every column, questionnaire items included).

    python benchmarks/run.py --cli 1e6          # about 10 minutes under load
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def baseline_script() -> Path:
    """``shared/bench/statsmodels_baseline.py`` beside the checkout (or ``COACHSTATS_BASELINE``)."""
    given = os.environ.get("COACHSTATS_BASELINE")
    if given:
        return Path(given)
    for parent in ROOT.parents:
        candidate = parent / "shared" / "bench" / "statsmodels_baseline.py"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "shared/bench/statsmodels_baseline.py not found: set COACHSTATS_BASELINE"
    )


# Runs the CLI in this process and reports its peak memory on exit (any exit code).
_RUN_CLI = """
import atexit, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("PEAK_KB " + line.split()[1] + "\\n")
atexit.register(peak)
from coachstats.cli import main
sys.argv = ["coachstats", *sys.argv[1:]]
main()
"""


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def run_cli(*args: str) -> dict[str, Any]:
    """One command in a fresh process: wall seconds, peak MiB, exit code."""
    env = {**os.environ, "CI": "1"}  # no progress display in the measurements
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RUN_CLI, *args], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - t0
    peaks = re.findall(r"PEAK_KB (\d+)", done.stderr)
    return {
        "seconds": seconds,
        "peak_mib": int(peaks[-1]) / 1024 if peaks else float("nan"),
        "exit": done.returncode,
        "stderr": done.stderr[-500:] if done.returncode not in (0, 1) else "",
    }


def run_baseline_script(n: int) -> dict[str, Any]:
    """The statsmodels pipeline in a fresh process: its printed total of the analysis steps."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(baseline_script()), str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    total = float(re.search(r"total=([0-9.]+)s", done.stdout).group(1))  # type: ignore[union-attr]
    return {"seconds": total, "process_seconds": wall}


def write_baseline_parquet(n: int, path: Path) -> None:
    """The baseline script's data (same generator and seed) with the schema's column names."""
    sys.path.insert(0, str(Path(__file__).parent))
    from run import make_data

    from coachstats.data.schema import column_spec

    df = make_data(n).rename(columns={"a1c_0": "hba1c_0", "a1c_12": "hba1c_12"})
    df["diabetes"] = df["diabetes"].astype(bool)
    for c in df.columns:  # the normal draws' impossible lab values (LDL below 10) as missing
        spec = column_spec(c)
        if spec is not None and spec.dtype == "float" and spec.minimum is not None:
            hi = spec.maximum if spec.maximum is not None else float("inf")
            df[c] = df[c].where(df[c].between(spec.minimum, hi))
    df["patient_id"] = "P" + df["patient_id"].astype(str)
    df.to_parquet(path, index=False)


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run, with every run's seconds."""
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "all_seconds": [r["seconds"] for r in runs]}


def run_cli_bench(n: int, reps: int = 3, workdir: Path | None = None) -> list[dict[str, Any]]:
    """The rows of the CLI table (see the module docstring)."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="coachstats_cli_"))
    data = tmp / "baseline.parquet"
    write_baseline_parquet(n, data)
    rows: list[dict[str, Any]] = []
    before = load()
    analyze_runs, pipeline_runs = [], []
    for _ in range(reps):  # interleaved: both see the same load
        analyze_runs.append(run_cli("analyze", str(data)))
        pipeline_runs.append(run_baseline_script(n))
    ana, pipe = fastest(analyze_runs), fastest(pipeline_runs)
    common = {"n": n, "reps": reps, "load_before": before, "load_after": load()}
    rows.append(
        {
            "key": "analyze_baseline",
            "command": f"coachstats analyze baseline.parquet ({n:,} patients)",
            "coachstats_s": ana["seconds"],
            "peak_mib": ana["peak_mib"],
            "exit": ana["exit"],
            "baseline_s": pipe["seconds"],
            "ratio": pipe["seconds"] / ana["seconds"],
            "note": "baseline: the statsmodels pipeline's analysis steps (its printed total); "
            "the generator's impossible lab values (LDL below 10 mg/dL) are written as missing",
            **common,
        }
    )
    cohort = tmp / "cohort"
    before = load()
    synth = fastest([run_cli("synth", str(cohort), "--n", str(n), "--force") for _ in range(reps)])
    rows.append(
        {
            "key": "synth",
            "command": f"coachstats synth OUT --n {n}",
            "coachstats_s": synth["seconds"],
            "peak_mib": synth["peak_mib"],
            "exit": synth["exit"],
            "n": n,
            "reps": reps,
            "load_before": before,
            "load_after": load(),
        }
    )
    patients = cohort / "hcpc_patients.parquet"
    import pyarrow.parquet as pq

    width = len(pq.ParquetFile(patients).schema_arrow.names)
    for command in ("analyze", "evaluate"):
        before = load()
        best = fastest([run_cli(command, str(patients)) for _ in range(reps)])
        rows.append(
            {
                "key": command,
                "command": f"coachstats {command} hcpc_patients.parquet "
                f"(synth, {n:,} patients, {width} columns)",
                "coachstats_s": best["seconds"],
                "peak_mib": best["peak_mib"],
                "exit": best["exit"],
                "n": n,
                "reps": reps,
                "load_before": before,
                "load_after": load(),
            }
        )
    return rows


if __name__ == "__main__":
    print(json.dumps(run_cli_bench(int(float(sys.argv[1]))), indent=2))

"""Startup cost: ``import coachstats`` and the cold ``coachstats reproduce`` command.

Issue 9 sets two startup targets: importing coachstats adds under 0.2 s to
importing numpy and pandas, and ``coachstats reproduce`` (every registered
trial on its bundled cohort) runs cold in under 3 s. Every measurement runs in
a fresh Python process, so it includes importing the package and reading the
bundled files, as a user typing the command would see:

    python benchmarks/reproduce_time.py                # 5 runs of each, medians
    python benchmarks/reproduce_time.py --sensitivity --runs 1 --json out.json

Three measurements:

- ``import``: median wall time of ``import numpy, pandas`` and of
  ``import numpy, pandas, coachstats`` in fresh interpreters; the difference is
  what coachstats adds;
- ``api``: ``from coachstats.tasks.reproduce import reproduce; reproduce()`` timed
  inside a fresh process (import and run separately);
- ``command``: wall time of the ``coachstats reproduce`` console script, start
  to exit (interpreter start-up, the CLI, the run and printing the table).

Reference (2 shared cores, quiet, Python 3.11, 2026-12-05): coachstats adds
0.02 s to numpy + pandas (0.32 s); the API run takes 0.3 s to import and 0.7 s
to reproduce the 60 targets of the 7 registered papers; the command takes
1.2 s. ``--sensitivity`` (multiple imputation with m = 20 and 10 iterations for
each of the five main HCPC outcomes) adds about 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import json, time
t0 = time.perf_counter()
from coachstats.tasks.reproduce import reproduce
t1 = time.perf_counter()
res = reproduce(sensitivity={sens})
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "reproduce": t2 - t1, "total": t2 - t0,
                  "targets": len(res.targets), "ok": res.ok}}))
"""

IMPORT = "import time; t = time.perf_counter(); import {mods}; print(time.perf_counter() - t)"


def run_api(sensitivity: bool) -> dict[str, float]:
    """One cold API run in a child process; returns its timings."""
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CHILD.format(sens=sensitivity)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def import_seconds(mods: str) -> float:
    """Wall time of importing ``mods`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORT.format(mods=mods)], check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def command_seconds(sensitivity: bool) -> float:
    """Wall time of the ``coachstats reproduce`` console script, start to exit."""
    script = Path(sys.executable).with_name("coachstats")
    cmd = [str(script), "reproduce", *(["--sensitivity"] if sensitivity else [])]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Measure, print a line per run and the medians, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sensitivity", action="store_true")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)

    base: list[float] = []
    full: list[float] = []
    for _ in range(args.runs):  # interleaved: both see the same load
        base.append(import_seconds("numpy, pandas"))
        full.append(import_seconds("numpy, pandas, coachstats"))
    added = statistics.median(full) - statistics.median(base)
    print(
        f"import numpy, pandas: {statistics.median(base):.3f} s; "
        f"with coachstats: {statistics.median(full):.3f} s; coachstats adds {added:.3f} s"
    )

    runs = [run_api(args.sensitivity) for _ in range(args.runs)]
    for i, r in enumerate(runs, 1):
        print(
            f"api run {i}: import {r['import']:.2f} s, reproduce {r['reproduce']:.2f} s, "
            f"total {r['total']:.2f} s ({int(r['targets'])} targets, ok={bool(r['ok'])})"
        )
    median = statistics.median(r["total"] for r in runs)
    print(f"api median total: {median:.2f} s")

    command = [command_seconds(args.sensitivity) for _ in range(args.runs)]
    print(
        "command `coachstats reproduce`: "
        + ", ".join(f"{c:.2f}" for c in command)
        + f" s; median {statistics.median(command):.2f} s"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "import_numpy_pandas": base,
                    "import_with_coachstats": full,
                    "import_added_median": added,
                    "runs": runs,
                    "median_total": median,
                    "command": command,
                    "command_median": statistics.median(command),
                    "sensitivity": args.sensitivity,
                    "invocation": "python benchmarks/"
                    + " ".join(
                        [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]
                    ),
                    "date": time.strftime("%Y-%m-%d"),
                    "load_before": load_before,
                    "load_after": round(os.getloadavg()[0], 2),
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cold-start time of ``coachstats reproduce`` (every registered trial, bundled cohorts).

Each measurement runs in a fresh Python process, so it includes importing the
package and reading the bundled files, as a user typing the command would see:

    python benchmarks/reproduce_time.py            # 3 runs, median
    python benchmarks/reproduce_time.py --sensitivity --runs 1 --json out.json

Reference (2 shared cores, Python 3.11): about 0.5 s to import and 1.6 s to
reproduce the 60 targets of the 7 registered papers (2.1 s in all, cold);
about 10 s more with ``--sensitivity`` (multiple imputation with m = 20 and
10 iterations for each of the five main HCPC outcomes).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys

CHILD = """
import json, time
t0 = time.perf_counter()
from coachstats.reproduce import reproduce
t1 = time.perf_counter()
res = reproduce(sensitivity={sens})
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "reproduce": t2 - t1, "total": t2 - t0,
                  "targets": len(res.targets), "ok": res.ok}}))
"""


def run_once(sensitivity: bool) -> dict[str, float]:
    """One cold run in a child process; returns its timings."""
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CHILD.format(sens=sensitivity)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    """Measure, print a line per run and the median, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sensitivity", action="store_true")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    runs = [run_once(args.sensitivity) for _ in range(args.runs)]
    for i, r in enumerate(runs, 1):
        print(
            f"run {i}: import {r['import']:.2f} s, reproduce {r['reproduce']:.2f} s, "
            f"total {r['total']:.2f} s ({int(r['targets'])} targets, ok={bool(r['ok'])})"
        )
    median = statistics.median(r["total"] for r in runs)
    print(f"median total: {median:.2f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "runs": runs,
                    "median_total": median,
                    "sensitivity": args.sensitivity,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: loading wide files (issue 23), 1,000 to 100,000 columns.

A file with one column per questionnaire item or per day can be very wide.
Each step of the loader is linear in the number of columns (no per-column
write into a growing frame, duplicates found with a counter), so the time
per column stays flat as the width grows. The suite checks the property by
counting column writes (tests/test_hostile_files.py); this script times it.

    python benchmarks/wide_files.py                 # 1e3, 1e4, 1e5 columns
    python benchmarks/wide_files.py --columns 2e5   # one width

Timings are wall clock, the fastest of ``--reps`` loads; the load average is
recorded before and after each width, and the rows are written to
``benchmarks/results/wide.json`` (the docs' table, ``run.py --docs``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coachstats import load_trial  # noqa: E402
from tests import hostile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=float, action="append")
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "wide.json"))
    args = parser.parse_args()
    widths = [int(c) for c in args.columns] if args.columns else [1_000, 10_000, 100_000]
    print(f"{'columns':>10} {'seconds':>9} {'us/column':>10}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width in widths:
            path = hostile.wide(Path(tmp) / f"w{width}.csv", width, rows=args.rows)
            before = round(os.getloadavg()[0], 2)
            took = float("inf")
            for _ in range(args.reps):
                start = time.perf_counter()
                td = load_trial(path)
                took = min(took, time.perf_counter() - start)
                if td.patients.shape[1] < width:
                    raise SystemExit(f"{width} columns read as {td.patients.shape[1]}")
            print(f"{width:>10,} {took:>9.2f} {1e6 * took / width:>10.1f}")
            rows.append(
                {
                    "columns": width,
                    "seconds": took,
                    "reps": args.reps,
                    "load_before": before,
                    "load_after": round(os.getloadavg()[0], 2),
                }
            )
    payload = {
        "mode": "wide",
        "command": "python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }
    Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()

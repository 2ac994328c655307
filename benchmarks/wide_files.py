"""Benchmark: loading wide files (issue 23), 1,000 to 100,000 columns.

A file with one column per questionnaire item or per day can be very wide.
Each step of the loader is linear in the number of columns (no per-column
write into a growing frame, duplicates found with a counter), so the time
per column stays flat as the width grows. The suite checks the property by
counting column writes (tests/test_hostile_files.py); this script times it.

    python benchmarks/wide_files.py                 # 1e3, 1e4, 1e5 columns
    python benchmarks/wide_files.py --columns 2e5   # one width

Timings are wall clock; on a shared machine run it alone.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    widths = [int(c) for c in args.columns] if args.columns else [1_000, 10_000, 100_000]
    print(f"{'columns':>10} {'seconds':>9} {'us/column':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for width in widths:
            path = hostile.wide(Path(tmp) / f"w{width}.csv", width, rows=args.rows)
            start = time.perf_counter()
            td = load_trial(path)
            took = time.perf_counter() - start
            assert td.patients.shape[1] >= width
            print(f"{width:>10,} {took:>9.2f} {1e6 * took / width:>10.1f}")


if __name__ == "__main__":
    main()

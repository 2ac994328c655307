"""Operating characteristics of the evaluator's verdicts: how often each verdict is given.

A seeded simulation of programs evaluated against HCPC 2015 with the
evaluator's own code: each run draws a program's outcome counts, builds its
rows with :func:`coachstats.tasks.evaluate.comparisons.effect_comparisons`
(two-arm) or :func:`~coachstats.tasks.evaluate.comparisons.arm_comparison`
(single-arm) and judges them with
:func:`~coachstats.tasks.evaluate.comparisons.judge_rows` -- the defaults of
``coachstats evaluate``: margins, Holm across the four HCPC outcomes, alpha
.05, the published SE from the printed P.

The programs, for each of HCPC's four goal outcomes (at goal on >= 1 / all
conditions, HbA1c, LDL at goal):

* effect ``k`` times the published one, k = 0 (null), 0.5, 1 (published size)
  and 2 (double, proportions capped at 0.98): the usual-care share is the
  published usual-care arm's, the coaching share ``p_uc + k (p_c - p_uc)``;
* two-arm: ``n`` analysed patients per arm and outcome, events binomial;
  single-arm: ``n`` coached patients, the share ``p_uc + k (p_c - p_uc)`` (a
  null program does as well as usual care);
* n = 150, 500 and 2,000 per arm; outcomes drawn independently (the Holm
  adjustment is valid whatever their correlation; the shares of each verdict
  on the composite depend on it only through the adjustment).

The table gives, per design, effect and size, the share of runs in which the
primary composite (at goal on >= 1 condition) is called larger / similar /
smaller / inconclusive, and the share in which any of the four outcomes is
called similar. Monte Carlo SE of a share p over R runs: sqrt(p (1 - p) / R),
at most 1.1 points with the default 2,000 runs.

Run from the repository root::

    python -m tools.operating_characteristics                 # 2,000 runs per cell, prints
    python -m tools.operating_characteristics --write-docs    # also the table in docs/evaluate.md

The docs table sits between the ``<!-- operating-characteristics -->``
markers of docs/evaluate.md; ``--write-docs`` rewrites it and the JSON in
``benchmarks/results/operating_characteristics.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coachstats.compare.proportions import two_proportions
from coachstats.core.results import ArmSummary, ComparisonResult
from coachstats.core.vocabulary import VERDICTS
from coachstats.tasks.evaluate.comparisons import arm_comparison, effect_comparisons, judge_rows
from coachstats.tasks.evaluate.published import (
    BENCHMARKS,
    Benchmark,
    PublishedOutcome,
    published_outcome,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "evaluate.md"
RESULTS = ROOT / "benchmarks" / "results" / "operating_characteristics.json"
START, END = "<!-- operating-characteristics -->", "<!-- /operating-characteristics -->"

EFFECTS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
SIZES: tuple[int, ...] = (150, 500, 2000)
DESIGNS: tuple[str, ...] = ("two-arm", "single-arm")
EFFECT_NAMES = {0.0: "null", 0.5: "half", 1.0: "published", 2.0: "double"}
PRIMARY = "composite_any"


@dataclass(frozen=True)
class Cell:
    """One cell of the grid and the share of each verdict on the composite."""

    design: str
    effect: float
    n: int
    runs: int
    shares: dict[str, float]
    similar_any: float

    def row(self) -> dict[str, object]:
        return {
            "design": self.design,
            "effect": self.effect,
            "n": self.n,
            "runs": self.runs,
            **{v: self.shares[v] for v in VERDICTS},
            "similar_any": self.similar_any,
        }


def _benchmarks() -> list[tuple[Benchmark, PublishedOutcome]]:
    return [(b, published_outcome(b)) for b in BENCHMARKS if b.trial == "hcpc"]


def _share(po: PublishedOutcome, k: float) -> tuple[float, float]:
    p_c, p_u = po.values
    return min(p_u + k * (p_c - p_u), 0.98), p_u


def _two_arm_run(
    items: Sequence[tuple[Benchmark, PublishedOutcome]], k: float, n: int, rng: np.random.Generator
) -> list[str]:
    rows = []
    for b, po in items:
        p_c, p_u = _share(po, k)
        x1, x2 = int(rng.binomial(n, p_c)), int(rng.binomial(n, p_u))
        result = two_proportions(x1, n, x2, n, outcome=po.outcome)
        rows += effect_comparisons(b, po, result, None, "", "auto", 0.95, 0.05)
    return [r.verdict for r in judge_rows(rows) if r.primary]


def _single_arm_run(
    items: Sequence[tuple[Benchmark, PublishedOutcome]], k: float, n: int, rng: np.random.Generator
) -> list[str]:
    rows = []
    for b, po in items:
        p, _ = _share(po, k)
        x = int(rng.binomial(n, p))
        described = ComparisonResult(
            outcome=po.outcome,
            method="describe",
            estimand="proportion",
            estimate=x / n,
            arms=(ArmSummary("coaching", n, events=x, value=x / n),),
        )
        rows.append(arm_comparison(b, po, described, None, "", 0.95, 0.05))
    return [r.verdict for r in judge_rows(rows)]


def simulate(
    *,
    runs: int = 2000,
    seed: int = 2017,
    effects: Iterable[float] = EFFECTS,
    sizes: Iterable[int] = SIZES,
    designs: Iterable[str] = DESIGNS,
) -> list[Cell]:
    """The share of each verdict in every cell of the grid (seeded: each cell its own stream)."""
    items = _benchmarks()
    primary = next(i for i, (b, _) in enumerate(items) if b.target == PRIMARY)
    cells = []
    grid = [(d, k, n) for d in designs for k in effects for n in sizes]
    streams = np.random.SeedSequence(seed).spawn(len(grid))
    for (design, k, n), stream in zip(grid, streams, strict=True):
        rng = np.random.default_rng(stream)
        run = _two_arm_run if design == "two-arm" else _single_arm_run
        counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
        similar_any = 0
        for _ in range(runs):
            verdicts = run(items, k, n, rng)
            counts[verdicts[primary]] += 1
            similar_any += "similar" in verdicts
        shares = {v: c / runs for v, c in counts.items()}
        cells.append(Cell(design, k, n, runs, shares, similar_any / runs))
    return cells


def markdown(cells: Sequence[Cell], *, seed: int) -> str:
    """The table of docs/evaluate.md (percent of runs)."""
    runs = cells[0].runs if cells else 0
    lines = [
        f"Share of {runs:,} seeded runs per row (seed {seed}; `python -m "
        "tools.operating_characteristics`), against HCPC 2015 with the default margins and "
        "Holm across its four outcomes. Effect: the program's effect as a multiple of the "
        "published one (single-arm: its share lies that far from usual care towards the "
        "published coaching arm). n: patients analysed per arm and outcome.",
        "",
        "| design | effect | n per arm | larger | similar | smaller | inconclusive | similar on any outcome |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        pct = [f"{100 * c.shares[v]:.1f} %" for v in VERDICTS]
        lines.append(
            f"| {c.design} | {EFFECT_NAMES.get(c.effect, c.effect)} ({c.effect:g}x) | {c.n:,} | "
            + " | ".join(pct)
            + f" | {100 * c.similar_any:.1f} % |"
        )
    return "\n".join(lines)


def write_docs(table: str, path: Path = DOCS) -> None:
    """Replace the table between the markers of ``path``."""
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path}: the markers {START} ... {END} are missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    cells = simulate(runs=args.runs, seed=args.seed)
    table = markdown(cells, seed=args.seed)
    print(table)
    print(f"\n{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.write_docs:
        write_docs(table)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps({"seed": args.seed, "cells": [c.row() for c in cells]}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Generate the CSV fixtures read by ``standardization.R`` (a logistic standardization at the edge).

Run from the repository root::

    python tests/reference/make_standardization_data.py
    Rscript tests/reference/standardization.R   # then regenerate standardization.json

The program is fixed by its seed, so rerunning rewrites the same files byte for
byte. Fixtures (under ``tests/reference/data/``):

- ``standardization_edge_program.csv``: a small two-arm program (``arm, age,
  hba1c_0, goal``; 80 patients, 40 per arm) whose patients mostly start just
  above the HbA1c entry threshold (8.0 to 8.8 %) and a few far above it (9.5
  to 13.5 %), where almost no one reaches the goal: the model of the goal
  falls steeply with baseline HbA1c;
- ``standardization_edge_reference.csv``: a reference population of 300
  (``age, hba1c_0``) whose baseline HbA1c is higher (mean 10, clipped to the
  program's range): at its case mix the usual-care arm's predicted share is
  about 20 %, fewer than 10 expected patients at goal in an arm of 40, so
  coachstats does not trust the delta method there (a percentile bootstrap);
- ``standardization_edge_resamples.csv``: resamples of the program's rows
  within arm, one per line (``resample``, its number among coachstats' 2,000;
  ``p1 ... p80``, the row at each position, numbered from 1 for R), drawn by
  :func:`coachstats.compare.standardization_interval.stratified_resamples`
  with coachstats' seed: the first 200, and every later one on which
  coachstats' refit failed (R refits them all and judges each failure on its
  own).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coachstats.compare.standardization import N_BOOT, SEED
from coachstats.compare.standardization_interval import logistic_replicates, stratified_resamples

OUT = Path(__file__).resolve().parent / "data"
#: Resamples written for R to refit: the first 200 of coachstats' 2,000 (and the failed ones).
N_RESAMPLES = 200


def edge() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The program and the reference (seed 11)."""
    rng = np.random.default_rng(11)
    n = 80
    arm = np.where(np.arange(n) % 2 == 0, "coaching", "usual_care")
    age = np.round(rng.normal(55, 10, n))
    high = rng.random(n) < 0.3
    hba1c = np.round(np.where(high, rng.uniform(9.5, 13.5, n), rng.uniform(8.0, 8.8, n)), 1)
    eta = 1.0 + 0.6 * (arm == "coaching") - 1.6 * (hba1c - 8.4) + 0.01 * (age - 55)
    goal = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    program = pd.DataFrame({"arm": arm, "age": age, "hba1c_0": hba1c, "goal": goal})
    m = 300
    reference = pd.DataFrame(
        {
            "age": np.round(rng.normal(52, 11, m)),
            "hba1c_0": np.round(np.clip(rng.normal(10.0, 1.6, m), 8.0, 13.5), 1),
        }
    )
    return program, reference


def resamples(program: pd.DataFrame) -> pd.DataFrame:
    """Resamples coachstats draws for this program, one per line, rows from 1: the first
    :data:`N_RESAMPLES` and every other one its refit fails on."""
    coached = (program["arm"] == "coaching").to_numpy()
    idx = stratified_resamples(coached.astype(int), N_BOOT, SEED)
    design = np.column_stack([coached, program["age"], program["hba1c_0"]]).astype(float)
    _, ok = logistic_replicates(design, program["goal"].to_numpy(float), idx)
    keep = np.union1d(np.arange(N_RESAMPLES), np.flatnonzero(~ok))
    out = pd.DataFrame(idx[keep] + 1, columns=[f"p{k + 1}" for k in range(idx.shape[1])])
    out.insert(0, "resample", keep + 1)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    program, reference = edge()
    program.to_csv(OUT / "standardization_edge_program.csv", index=False)
    reference.to_csv(OUT / "standardization_edge_reference.csv", index=False)
    resamples(program).to_csv(OUT / "standardization_edge_resamples.csv", index=False)


if __name__ == "__main__":
    main()

"""Generate the CSV fixtures read by ``evaluate.R`` (pooling, one-sample tests, standardization).

Run from the repository root::

    python tests/reference/make_evaluate_data.py
    Rscript tests/reference/evaluate.R   # then regenerate evaluate.json

Every fixture is made with its own fixed seed, so rerunning rewrites the same
files byte for byte. Fixtures (under ``tests/reference/data/``):

- ``evaluate_meta.csv``: sets of independent estimates ``yi`` with standard
  errors ``sei`` (``set, study, yi, sei``): two estimates (a program and the
  HCPC composite RD, from its printed P); three homogeneous ones (Q below its
  df, so tau^2 = 0); five heterogeneous ones; twelve random ones (seed 2024);
  log odds ratios of two trials and a program.
- ``evaluate_counts.csv``: one-sample proportions (``name, x, n, p0``),
  including x = 0, x = n, a small n and the HCPC / peer arms as references.
- ``evaluate_means.csv``: samples (``set, value, mu0``) for one-sample t tests,
  including a small sample (n = 5) and a skewed one.
- ``evaluate_std_program.csv`` / ``evaluate_std_reference.csv``: a two-arm
  program (``arm, age, hba1c_0, goal, change``) with 400 patients, and a
  reference population of 300 (``age, hba1c_0``) with a different case mix,
  for the direct standardization (logistic and linear models).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def meta() -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    sets = {
        "two": ([0.02, 0.121], [0.03, 0.0520]),
        "homogeneous": ([0.10, 0.11, 0.12], [0.05, 0.04, 0.06]),
        "heterogeneous": ([-0.20, 0.05, 0.30, 0.45, 0.10], [0.08, 0.10, 0.07, 0.12, 0.05]),
        "random12": (
            np.round(rng.normal(0.2, 0.25, 12), 4).tolist(),
            np.round(rng.uniform(0.05, 0.3, 12), 4).tolist(),
        ),
        "log_or": ([0.5055, 0.9083, 0.1823], [0.2150, 0.3370, 0.0950]),
    }
    rows = [
        {"set": name, "study": f"s{i + 1}", "yi": y, "sei": s}
        for name, (ys, ss) in sets.items()
        for i, (y, s) in enumerate(zip(ys, ss, strict=True))
    ]
    return pd.DataFrame(rows)


def counts() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("hcpc_between", 164, 400, 0.464),
            ("hcpc_usual", 164, 400, 0.343),
            ("peer_drop", 60, 121, 0.315),
            ("small", 3, 7, 0.2),
            ("zero", 0, 15, 0.1),
            ("all", 20, 20, 0.85),
            ("large", 4123, 9876, 0.41),
            ("half", 50, 100, 0.5),
        ],
        columns=["name", "x", "n", "p0"],
    )


def means() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    sets = {
        "hba1c_change": (np.round(rng.normal(-0.9, 2.8, 150), 1), -1.07),
        "small": (np.array([-1.2, 0.4, -2.5, -0.3, -1.1]), -0.30),
        "skewed": (np.round(rng.exponential(5.0, 60) - 6.0, 1), 1.4),
    }
    rows = [
        {"set": name, "value": float(v), "mu0": mu0}
        for name, (vals, mu0) in sets.items()
        for v in vals
    ]
    return pd.DataFrame(rows)


def standardization() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 400
    arm = np.where(rng.random(n) < 0.5, "coaching", "usual_care")
    age = np.round(rng.normal(58, 10, n))
    hba1c = np.round(rng.normal(9.2, 1.2, n), 1)
    eta = -0.4 + 0.6 * (arm == "coaching") + 0.03 * (age - 55) - 0.35 * (hba1c - 9.5)
    goal = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    change = np.round(
        -0.5 - 0.6 * (arm == "coaching") - 0.4 * (hba1c - 9.5) + rng.normal(0, 1.5, n), 1
    )
    program = pd.DataFrame(
        {"arm": arm, "age": age, "hba1c_0": hba1c, "goal": goal, "change": change}
    )
    m = 300
    reference = pd.DataFrame(
        {"age": np.round(rng.normal(52, 11, m)), "hba1c_0": np.round(rng.normal(9.9, 1.5, m), 1)}
    )
    return program, reference


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta().to_csv(OUT / "evaluate_meta.csv", index=False)
    counts().to_csv(OUT / "evaluate_counts.csv", index=False)
    means().to_csv(OUT / "evaluate_means.csv", index=False)
    program, reference = standardization()
    program.to_csv(OUT / "evaluate_std_program.csv", index=False)
    reference.to_csv(OUT / "evaluate_std_reference.csv", index=False)


if __name__ == "__main__":
    main()

"""Write the long-format fixtures read by ``repeated.R`` and ``tests/test_compare_repeated.py``.

Run from the repository root::

    PYTHONPATH=src python tests/reference/make_repeated_data.py
    Rscript tests/reference/repeated.R      # rewrites repeated.json

Fixtures (``tests/reference/data/``), one row per patient and visit, missing
values left out:

- ``repeated_hcpc_<measure>.csv`` for ``sbp``, ``ldl`` and ``hba1c``: the bundled
  synthetic HCPC cohort (``data/synthetic/hcpc_patients.csv``) at 0, 12 and 24
  months: ``patient_id, arm, baseline, month, year, value`` (``baseline`` is the
  month-0 value, missing rows dropped; ``year = month / 12``).
- ``repeated_sim.csv``: 160 patients (80 vs 80), 4 visits (3, 6, 9, 12 months),
  an unstructured covariance, intermittent and monotone missing visits (about
  20 %), covariates ``age`` and ``baseline``; seed 20240610. Values rounded to 0.01.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coachstats.compare.longitudinal import long_format

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "data"


def hcpc() -> None:
    wide = pd.read_csv(ROOT / "data" / "synthetic" / "hcpc_patients.csv")
    for measure in ("sbp", "ldl", "hba1c"):
        w = wide.assign(baseline=wide[f"{measure}_0"])
        long = long_format(
            w,
            {m: f"{measure}_{m}" for m in (0, 12, 24)},
            subject="patient_id",
            keep=["arm", "baseline"],
            value="value",
            visit="month",
        )
        long.insert(4, "year", long["month"] / 12)
        long.to_csv(OUT / f"repeated_hcpc_{measure}.csv", index=False)


def simulated() -> None:
    rng = np.random.default_rng(20240610)
    n = 160
    months = np.array([3, 6, 9, 12])
    treated = np.repeat([True, False], n // 2)
    age = np.round(rng.normal(55, 10, n))
    baseline = np.round(rng.normal(150, 15, n), 2)
    sd = np.array([12.0, 13.0, 15.0, 17.0])
    corr = np.array([[1, 0.6, 0.45, 0.3], [0.6, 1, 0.6, 0.45], [0.45, 0.6, 1, 0.6],
                     [0.3, 0.45, 0.6, 1]])  # fmt: skip
    e = rng.multivariate_normal(np.zeros(4), corr * np.outer(sd, sd), size=n)
    effect = np.where(treated[:, None], [-2.0, -4.0, -5.0, -5.5], 0.0)
    y = 30 + 0.75 * baseline[:, None] + 0.1 * (age[:, None] - 55) + effect + e
    observed = rng.random((n, 4)) > 0.12
    dropout = rng.integers(1, 9, n)  # drop out after visit k (k >= 4: completers)
    observed &= np.arange(4)[None, :] < dropout[:, None]
    rows = [
        (i + 1, "coaching" if treated[i] else "usual_care", age[i], baseline[i], months[v],
         round(float(y[i, v]), 2))
        for i in range(n) for v in range(4) if observed[i, v]
    ]  # fmt: skip
    out = pd.DataFrame(rows, columns=["patient_id", "arm", "age", "baseline", "month", "value"])
    out.insert(5, "year", out["month"] / 12)
    out.to_csv(OUT / "repeated_sim.csv", index=False)


if __name__ == "__main__":
    hcpc()
    simulated()

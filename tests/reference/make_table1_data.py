"""Generate the CSV fixtures read by ``table1.R`` (standardized mean differences of Table 1).

Run from the repository root::

    python tests/reference/make_table1_data.py
    Rscript tests/reference/table1.R   # then regenerate table1.json

Each fixture has its own fixed seed, so rerunning rewrites the same files byte for
byte. Fixtures (``tests/reference/data/table1_<name>.csv``), columns ``arm``, ``age``
(continuous, some missing), ``bmi`` (continuous), ``insulin`` (0/1, some missing),
``sex`` (2 levels), ``ethnicity`` (5 levels, one rare), ``site`` (3 levels) and
``const`` (the same value everywhere: SMD 0):

- ``balanced``: 100 coaching vs 100 usual care;
- ``unbalanced``: 160 coaching vs 70 usual care, arms differing in age and ethnicity;
- ``small``: 14 vs 16, with cells below 5 and a site that has no usual-care patient.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent / "data"
ETHNICITY = ["african_american", "asian", "latino", "other", "white"]


def make(n1: int, n2: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """One fixture: ``n1`` coaching then ``n2`` usual-care patients."""
    rng = np.random.default_rng(seed)
    n = n1 + n2
    arm = np.array(["coaching"] * n1 + ["usual_care"] * n2)
    treated = arm == "coaching"
    age = np.round(rng.normal(52 + shift * treated, 11, n))
    bmi = np.round(rng.normal(31, 6.7, n), 1)
    insulin = (rng.random(n) < np.where(treated, 0.2 + shift / 20, 0.25)).astype(float)
    sex = np.where(rng.random(n) < 0.55, "female", "male")
    probs_t = np.array([0.19, 0.03, 0.70 - shift / 50, 0.03 + shift / 50, 0.05])
    probs_c = np.array([0.19, 0.03, 0.70, 0.03, 0.05])
    eth = np.where(
        treated,
        rng.choice(ETHNICITY, n, p=probs_t / probs_t.sum()),
        rng.choice(ETHNICITY, n, p=probs_c),
    )
    site = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    age[rng.random(n) < 0.08] = np.nan
    insulin[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "arm": arm,
            "age": age,
            "bmi": bmi,
            "insulin": insulin,
            "sex": sex,
            "ethnicity": eth,
            "site": site,
            "const": 1.0,
        }
    )


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    small = make(14, 16, 20240611)
    small.loc[small["arm"] == "usual_care", "site"] = np.where(
        small.loc[small["arm"] == "usual_care", "site"] == "C",
        "A",
        small.loc[small["arm"] == "usual_care", "site"],
    )
    small.loc[0, "site"] = "C"  # keep level C in the coaching arm only
    fixtures = {
        "balanced": make(100, 100, 20240609),
        "unbalanced": make(160, 70, 20240610, shift=4.0),
        "small": small,
    }
    for name, frame in fixtures.items():
        frame.to_csv(HERE / f"table1_{name}.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()

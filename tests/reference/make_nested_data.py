"""Generate the CSV fixtures of ``partially_nested.R``: coaches in the coaching arm only.

Run from the repository root::

    python tests/reference/make_nested_data.py
    Rscript tests/reference/partially_nested.R   # then regenerate partially_nested.json

Each fixture has its own fixed seed. Coaching-arm patients share coaches (a
random coach effect on both outcomes); usual-care patients have no coach
(``coach`` empty). Columns: ``patient_id, arm, coach, age, change, goal``.

- ``nested_many.csv``: 30 coaches with 3 to 12 patients each, 200 usual-care patients.
- ``nested_few.csv``: 6 coaches of unequal caseloads, 60 usual-care patients.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def cohort(seed: int, caseloads: list[int], n_usual: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    coach = np.repeat([f"k{j:02d}" for j in range(len(caseloads))], caseloads)
    n1 = len(coach)
    u = rng.normal(0, 0.6, len(caseloads)).repeat(caseloads)
    age = np.round(rng.normal(55, 10, n1 + n_usual))
    treated = np.r_[np.ones(n1), np.zeros(n_usual)]
    effect = np.r_[u, np.zeros(n_usual)]
    change = -0.6 * treated + 0.02 * (age - 55) + effect + rng.normal(0, 1.2, n1 + n_usual)
    logit = -0.4 + 0.5 * treated + 0.02 * (age - 55) + 1.2 * effect
    goal = (rng.random(n1 + n_usual) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "patient_id": [f"N{seed}-{i:04d}" for i in range(n1 + n_usual)],
            "arm": np.where(treated == 1, "coaching", "usual_care"),
            "coach": np.r_[coach, [""] * n_usual],
            "age": age,
            "change": np.round(change, 2),
            "goal": goal,
        }
    )


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    many = cohort(20260101, list(rng.integers(3, 13, 30)), 200)
    few = cohort(20260102, [4, 9, 15, 22, 6, 12], 60)
    many.to_csv(OUT / "nested_many.csv", index=False)
    few.to_csv(OUT / "nested_few.csv", index=False)


if __name__ == "__main__":
    main()

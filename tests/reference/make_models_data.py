"""Generate the CSV fixtures read by ``models.R`` and the model-based comparison tests.

Run from the repository root::

    python tests/reference/make_models_data.py
    Rscript tests/reference/models.R   # then regenerate models.json

Every fixture has its own fixed seed, so rerunning rewrites the same files byte
for byte. Values are rounded to what a trial records (age in years, BMI and
HbA1c to 0.1), which also keeps the CSV parsing of R and pandas identical.

Columns of every fixture: ``patient_id, arm, clinic, age, bmi, marital,
insulin, goal, hba1c_change``.

- ``arm``: ``coaching`` / ``usual_care``;
- ``clinic``: the cluster (random clinic effect on both outcomes);
- ``age`` (some missing, to exercise complete-case exclusion counting),
  ``bmi``, ``marital`` (categorical: ``married`` / ``single`` / ``widowed``,
  reference ``married``), ``insulin`` (bool, written ``True``/``False``);
- ``goal`` (binary, some missing) and ``hba1c_change`` (continuous, some missing).

Fixtures (all under ``tests/reference/data/``):

- ``models_many.csv``: 60 clinics of very unequal size (one clinic of size 1,
  one of size 2), balanced arms (about 1:1 within clinics), about 900 patients.
- ``models_few.csv``: 6 clinics (as in the peer trial), unbalanced arms (2:1),
  about 300 patients.
- ``models_small.csv``: 40 patients in 5 clinics, goal with a cell below 5
  (few events among usual care).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def cohort(
    seed: int,
    sizes: np.ndarray,
    p_coach: float,
    *,
    icc_logit: float = 0.5,
    base_logit: float = -0.4,
    effect_logit: float = 0.6,
) -> pd.DataFrame:
    """Patients nested in clinics of the given sizes, with clinic random effects."""
    rng = np.random.default_rng(seed)
    n_clinics = len(sizes)
    clinic_idx = np.repeat(np.arange(n_clinics), sizes)
    n = len(clinic_idx)
    treated = rng.random(n) < p_coach
    arm = np.where(treated, "coaching", "usual_care")
    age = np.round(rng.normal(52.7, 11.1, n).clip(18, 75))
    bmi = np.round(rng.normal(31.4, 6.7, n).clip(17, 60), 1)
    marital = rng.choice(["married", "single", "widowed"], size=n, p=[0.45, 0.4, 0.15])
    insulin = rng.random(n) < 0.3
    u_bin = rng.normal(0, icc_logit, n_clinics)[clinic_idx]
    u_lin = rng.normal(0, 0.45, n_clinics)[clinic_idx]
    eta = (
        base_logit
        + effect_logit * treated
        - 0.015 * (age - 52)
        + 0.02 * (bmi - 31)
        + np.select([marital == "single", marital == "widowed"], [-0.2, 0.3], 0.0)
        - 0.3 * insulin
        + u_bin
    )
    goal = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    change = np.round(
        -0.3
        - 0.7 * treated
        + 0.01 * (age - 52)
        - 0.02 * (bmi - 31)
        + np.select([marital == "single", marital == "widowed"], [0.25, -0.1], 0.0)
        + 0.4 * insulin
        + u_lin
        + rng.normal(0, 1.4, n),
        1,
    )
    frame = pd.DataFrame(
        {
            "patient_id": [f"M{seed}-{i:04d}" for i in range(n)],
            "arm": arm,
            "clinic": [f"clinic{c:03d}" for c in clinic_idx],
            "age": age,
            "bmi": bmi,
            "marital": marital,
            "insulin": insulin,
            "goal": goal,
            "hba1c_change": change,
        }
    )
    frame.loc[rng.random(n) < 0.04, "age"] = np.nan
    frame.loc[rng.random(n) < 0.06, "goal"] = np.nan
    frame.loc[rng.random(n) < 0.07, "hba1c_change"] = np.nan
    order = rng.permutation(n)  # clinics interleaved, as in a real extract
    return frame.iloc[order].reset_index(drop=True)


def many() -> pd.DataFrame:
    """60 clinics of very unequal sizes, including clinics of size 1 and 2."""
    rng = np.random.default_rng(11)
    sizes = rng.integers(4, 30, size=60)
    sizes[7] = 1
    sizes[23] = 2
    return cohort(20240611, sizes, 0.5)


def few() -> pd.DataFrame:
    """6 clinics, arms 2:1."""
    return cohort(20240612, np.array([90, 70, 55, 40, 30, 15]), 2 / 3, icc_logit=0.4)


def small() -> pd.DataFrame:
    """40 patients in 5 clinics; usual care has few events (a 2x2 cell below 5)."""
    return cohort(
        20240613,
        np.array([12, 10, 8, 6, 4]),
        0.5,
        icc_logit=0.3,
        base_logit=-1.8,
        effect_logit=1.4,
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    many().to_csv(OUT / "models_many.csv", index=False)
    few().to_csv(OUT / "models_few.csv", index=False)
    small().to_csv(OUT / "models_small.csv", index=False)


if __name__ == "__main__":
    main()

"""Generate the CSV fixtures read by ``missing.R`` and ``tests/test_compare_missing.py``.

Run from the repository root::

    PYTHONPATH=src python tests/reference/make_missing_data.py
    Rscript tests/reference/missing.R   # then regenerate missing.json

Every fixture has its own fixed seed, so rerunning rewrites the same files
(the imputed datasets depend on the coachstats imputation engine: rerun R after
regenerating them). Values are rounded to what a trial records (age in years,
BMI and HbA1c to 0.1).

Incomplete fixtures (columns ``patient_id, arm, age, sex, hba1c_0, bmi,
hba1c_12, goal_met``; ``goal_met`` is 0/1):

- ``missing_mar.csv``: 260 patients, unbalanced arms (150 coaching vs 110 usual
  care). ``bmi`` about 10 % missing, ``hba1c_12`` about 25 % and ``goal_met``
  about 20 % missing, missing at random (the probability depends on arm, age and
  baseline HbA1c; ``goal_met`` tends to be missing where ``hba1c_12`` is).
- ``missing_small.csv``: 60 patients (30 vs 30); ``goal_met`` has few events in
  usual care (a cell below 5) and about 15 % missing.
- ``missing_mcar.csv``: 400 patients (200 vs 200), missing completely at random
  (30 % of ``hba1c_12``, 25 % of ``goal_met``); the complete values are kept in
  ``hba1c_12_full`` and ``goal_full`` for the MCAR sanity check.

Imputed datasets (long format as ``mice::complete(imp, "long")``: ``.imp``
1..m, ``.id`` the row index, then the columns), made by
:func:`coachstats.compare.missing.impute`, on which ``mice::pool`` is checked:

- ``missing_imputed_mar.csv``: ``missing_mar.csv``, m = 5, seed 20240501;
- ``missing_imputed_small.csv``: ``missing_small.csv``, m = 5, seed 20240502.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from coachstats.compare.missing import impute

OUT = Path(__file__).resolve().parent / "data"

#: Columns of the imputation model (the arm is always a complete predictor).
MAR_COLUMNS = ["age", "sex", "hba1c_0", "bmi", "hba1c_12", "goal_met"]
SMALL_COLUMNS = ["age", "hba1c_0", "goal_met"]
IMPUTED = {
    "mar": {"m": 5, "seed": 20240501, "columns": MAR_COLUMNS},
    "small": {"m": 5, "seed": 20240502, "columns": SMALL_COLUMNS},
}


def cohort(
    seed: int, n_coach: int, n_usual: int, *, goal_base: float = -0.6, goal_effect: float = 0.7
) -> tuple[pd.DataFrame, np.random.Generator]:
    """Complete patient-level data of a coaching trial (no missing values yet)."""
    rng = np.random.default_rng(seed)
    n = n_coach + n_usual
    treated = np.r_[np.ones(n_coach, bool), np.zeros(n_usual, bool)]
    age = np.round(rng.normal(52.7, 11.1, n).clip(18, 75))
    sex = rng.choice(["F", "M"], size=n, p=[0.553, 0.447])
    hba1c_0 = np.round(rng.normal(9.9, 1.5, n).clip(8.1, 15), 1)
    bmi = np.round(rng.normal(31.4, 6.7, n).clip(17, 60) + 0.03 * (age - 52.7), 1)
    hba1c_12 = 2.5 + 0.7 * hba1c_0 - 0.8 * treated + 0.01 * (age - 52.7) + rng.normal(0, 1.2, n)
    lp = goal_base + goal_effect * treated - 0.4 * (hba1c_0 - 9.9) + 0.02 * (age - 52.7)
    goal = (rng.random(n) < expit(lp)).astype(int)
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(1, n + 1),
            "arm": np.where(treated, "coaching", "usual_care"),
            "age": age,
            "sex": sex,
            "hba1c_0": hba1c_0,
            "bmi": bmi,
            "hba1c_12": np.round(hba1c_12, 1),
            "goal_met": goal,
        }
    )
    return frame, rng


def mar() -> pd.DataFrame:
    d, rng = cohort(20240411, 150, 110)
    n = len(d)
    treated = (d["arm"] == "coaching").to_numpy()
    age = d["age"].to_numpy()
    a1c0 = d["hba1c_0"].to_numpy()
    p_bmi = expit(-2.4 + 0.04 * (age - 52.7))
    p_a1c = expit(-1.1 - 0.5 * treated - 0.04 * (age - 52.7) + 0.3 * (a1c0 - 9.9))
    miss_a1c = rng.random(n) < p_a1c
    p_goal = np.where(miss_a1c, 0.6, expit(-2.6 + 0.3 * (a1c0 - 9.9)))
    d.loc[rng.random(n) < p_bmi, "bmi"] = np.nan
    d.loc[miss_a1c, "hba1c_12"] = np.nan
    d["goal_met"] = d["goal_met"].astype(float)
    d.loc[rng.random(n) < p_goal, "goal_met"] = np.nan
    return d


def small() -> pd.DataFrame:
    d, rng = cohort(20240412, 30, 30, goal_base=-2.2, goal_effect=1.6)
    d.loc[rng.random(len(d)) < 0.15, "goal_met"] = np.nan
    d["goal_met"] = d["goal_met"].astype(float)
    return d.drop(columns=["bmi", "hba1c_12"])


def mcar() -> pd.DataFrame:
    d, rng = cohort(20240413, 200, 200)
    n = len(d)
    d = d.drop(columns=["bmi"])
    d["hba1c_12_full"] = d["hba1c_12"]
    d["goal_full"] = d["goal_met"]
    d["hba1c_12"] = d["hba1c_12"].mask(rng.random(n) < 0.30)
    d["goal_met"] = d["goal_met"].astype(float).mask(rng.random(n) < 0.25)
    return d


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fixtures = {"mar": mar(), "small": small(), "mcar": mcar()}
    for name, frame in fixtures.items():
        frame.to_csv(OUT / f"missing_{name}.csv", index=False)
    for name, spec in IMPUTED.items():
        data = pd.read_csv(OUT / f"missing_{name}.csv")
        imp = impute(data, spec["columns"], m=spec["m"], seed=spec["seed"])
        imp.long().to_csv(OUT / f"missing_imputed_{name}.csv", index=False)


if __name__ == "__main__":
    main()

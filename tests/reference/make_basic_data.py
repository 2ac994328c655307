"""Generate the CSV fixtures read by ``basic.R`` and the two-arm comparison tests.

Run from the repository root::

    python tests/reference/make_basic_data.py
    Rscript tests/reference/basic.R   # then regenerate basic.json

Every fixture is made with its own fixed seed, so rerunning rewrites the same
files byte for byte. Numbers are rounded to the precision a trial would record
(HbA1c to 0.1 %, age in years), which also keeps the CSV parsing of R and pandas
identical.

Fixtures (all under ``tests/reference/data/``):

- ``basic_balanced.csv``: 100 coaching vs 100 usual care.
- ``basic_unbalanced.csv``: 160 coaching vs 70 usual care.
- ``basic_small.csv``: 14 vs 16, with a 2x2 cell below 5 (expected counts < 5)
  and few discordant pairs (exact McNemar).
  Each has ``patient_id, arm, site, sex, age, insulin`` (covariates), ``goal``
  (binary, some missing), ``hba1c_0, hba1c_12, hba1c_change`` (some follow-up
  missing) and the 24-month paired endpoints ``goal_12, goal_24, hba1c_24``
  (some missing).
- ``basic_counts.csv``: 2x2 tables as counts (``name, x1, n1, x2, n2``): the
  published HCPC and peer-trial counts (../shared/published.md), Newcombe's
  (1998) worked examples, a zero cell and a large table.
- ``basic_pvalues.csv``: P values with ties and missing values for ``p.adjust``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"

COUNTS = [
    # name, x1, n1, x2, n2 (x1/n1 = coaching, x2/n2 = usual care)
    ("hcpc_composite", 90, 194, 61, 178),
    ("hcpc_all_goals", 66, 194, 44, 178),
    ("hcpc_hba1c", 34, 70, 21, 76),
    ("hcpc_ldl_site_a", 33, 79, 16, 63),
    ("peer_hba1c_drop", 60, 121, 34, 108),
    ("newcombe_a", 56, 70, 48, 80),
    ("newcombe_b", 9, 10, 3, 10),
    ("newcombe_c", 6, 7, 2, 7),
    ("newcombe_d", 5, 56, 0, 29),
    ("newcombe_g", 10, 10, 0, 20),
    ("small_cell", 2, 14, 8, 16),
    ("reverse_effect", 3, 40, 11, 35),
    ("large", 45210, 100000, 44020, 98000),
]


def patients(seed: int, n_coach: int, n_usual: int, p_goal: tuple[float, float]) -> pd.DataFrame:
    """One row per patient with binary, continuous and paired endpoints."""
    rng = np.random.default_rng(seed)
    n = n_coach + n_usual
    arm = np.repeat(["coaching", "usual_care"], [n_coach, n_usual])
    treated = arm == "coaching"
    site = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
    sex = rng.choice(["female", "male"], size=n, p=[0.55, 0.45])
    age = np.round(rng.normal(52.7, 11.1, n).clip(18, 75))
    insulin = rng.binomial(1, 0.3, n)
    hba1c_0 = np.round(rng.normal(9.9, 1.5, n).clip(8.1, 15), 1)
    effect = np.where(treated, -0.8, -0.2)
    site_shift = np.select([site == "B", site == "C"], [0.3, -0.2], 0.0)
    hba1c_12 = np.round(
        (
            0.5 * hba1c_0
            + 4.5
            + effect
            + site_shift
            + 0.01 * (age - 50)
            + np.where(treated, rng.normal(0, 1.2, n), rng.normal(0, 1.6, n))
        ).clip(4.5, 16),
        1,
    )
    goal = rng.binomial(1, np.where(treated, p_goal[0], p_goal[1])).astype(float)
    goal_12 = rng.binomial(1, 0.45, n)
    flip = rng.random(n)
    goal_24 = np.where(goal_12 == 1, (flip > 0.25).astype(int), (flip < 0.18).astype(int))
    hba1c_24 = np.round(hba1c_12 + rng.normal(0.2, 0.9, n), 1)
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{seed}-{i:04d}" for i in range(n)],
            "arm": arm,
            "site": site,
            "sex": sex,
            "age": age,
            "insulin": insulin,
            "goal": goal,
            "hba1c_0": hba1c_0,
            "hba1c_12": hba1c_12,
            "goal_12": goal_12.astype(float),
            "goal_24": goal_24.astype(float),
            "hba1c_24": hba1c_24,
        }
    )
    for col, rate in [("goal", 0.08), ("hba1c_12", 0.1), ("goal_24", 0.12), ("hba1c_24", 0.12)]:
        frame.loc[rng.random(n) < rate, col] = np.nan
    frame.loc[rng.random(n) < 0.05, "goal_12"] = np.nan
    frame["hba1c_change"] = np.round(frame["hba1c_12"] - frame["hba1c_0"], 1)
    order = rng.permutation(n)  # arms interleaved, as in a real extract
    return frame.iloc[order].reset_index(drop=True)


def small_patients() -> pd.DataFrame:
    """14 vs 16 patients: goal 2/13 vs 8/15 analysed (a cell < 5), few discordant pairs."""
    frame = patients(seed=20240503, n_coach=14, n_usual=16, p_goal=(0.15, 0.5))
    treated = frame["arm"] == "coaching"
    goal = np.zeros(len(frame))
    goal[np.flatnonzero(treated)[:2]] = 1
    goal[np.flatnonzero(~treated)[:8]] = 1
    goal[np.flatnonzero(treated)[-1]] = np.nan
    goal[np.flatnonzero(~treated)[-1]] = np.nan
    frame["goal"] = goal
    g12 = np.zeros(len(frame))
    g24 = np.zeros(len(frame))
    g12[:9] = 1
    g24[:7] = 1  # rows 7-8: at goal before only (2 discordant pairs)
    g24[9:12] = 1  # rows 9-11: at goal after only (3 discordant pairs)
    g24[27] = np.nan
    frame["goal_12"] = g12
    frame["goal_24"] = g24
    return frame


def pvalues() -> pd.DataFrame:
    """P values with ties, exact zeros/ones and missing values."""
    p = [0.01, 0.04, 0.03, 0.04, np.nan, 0.2, 0.0001, 0.5, 0.04, 1.0, np.nan, 0.0, 0.012, 0.6]
    return pd.DataFrame({"outcome": [f"y{i}" for i in range(len(p))], "p_value": p})


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    patients(seed=20240501, n_coach=100, n_usual=100, p_goal=(0.46, 0.34)).to_csv(
        OUT / "basic_balanced.csv", index=False
    )
    patients(seed=20240502, n_coach=160, n_usual=70, p_goal=(0.49, 0.28)).to_csv(
        OUT / "basic_unbalanced.csv", index=False
    )
    small_patients().to_csv(OUT / "basic_small.csv", index=False)
    pd.DataFrame(COUNTS, columns=["name", "x1", "n1", "x2", "n2"]).to_csv(
        OUT / "basic_counts.csv", index=False
    )
    pvalues().to_csv(OUT / "basic_pvalues.csv", index=False)


if __name__ == "__main__":
    main()

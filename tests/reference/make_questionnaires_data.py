"""Generate the CSV fixtures read by ``questionnaires.R`` and ``tests/test_questionnaires.py``.

Run from the repository root::

    python tests/reference/make_questionnaires_data.py
    Rscript tests/reference/questionnaires.R   # then regenerate questionnaires.json

Every fixture is drawn from the bundled HCPC cohort (``data/synthetic/hcpc_*.csv``)
with its own fixed seed, so rerunning on the same cohort rewrites the same
files byte for byte. The questionnaire items are scored here in Python with
:mod:`coachstats.scales` (through :func:`coachstats.questionnaires.score_questionnaires`),
so the R script only fits models on the score columns.

Patient fixtures (one row per randomized patient): ``patient_id, arm,
clinician_id, pcp_visits`` and the scores ``trust_0, trust_12, pacic_0,
pacic_12`` (blank = no score) and ``recommend_definitely_0,
recommend_definitely_12`` (1/0, blank = not answered).

- ``questionnaires_patients.csv``: all 441 patients (224 vs 217, 17
  clinicians) with item-level missingness added, so that every accounting
  reason occurs: trust items skipped (some still scored, prorated, some with
  too few items), PACIC questionnaires not returned or partly answered, the
  recommend item skipped, PCP visits missing. The item columns
  (``trust_q1_0`` .. ``pacic_q20_12``, ``recommend_0``, ``recommend_12``) are
  kept, so the tests can score them again and check the accounting.
- ``questionnaires_unbalanced.csv``: every coaching patient and 40 % of usual
  care (unbalanced about 2.5:1), each clinician's panel split at random into 4
  clusters (``clinician_id`` = ``C01-1`` ...; many clusters: 67).
- ``questionnaires_small.csv``: 6 clinicians (few clusters), 56 patients;
  fewer than 5 coached patients do not "definitely recommend" at 12 months
  (a cell below 5).

Visit fixtures (one row per rated visit): ``clinician_id, visit_id, arm,
demanding, adequate_time``.

- ``questionnaires_visits.csv``: the 269 bundled visits of 15 clinicians, with
  4 "demanding" and 2 "adequate time" ratings blanked.
- ``questionnaires_visits_few.csv``: the visits of 5 clinicians, with half of
  the coaching visits dropped (unbalanced arms, few clusters).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coachstats import scales
from coachstats.core.paths import bundled_table
from coachstats.questionnaires import score_questionnaires

OUT = Path(__file__).resolve().parent / "data"
SCORES = [
    "trust_0",
    "trust_12",
    "pacic_0",
    "pacic_12",
    "recommend_definitely_0",
    "recommend_definitely_12",
]
KEYS = ["patient_id", "arm", "clinician_id", "pcp_visits"]
ITEMS = [
    *scales.item_columns("trust", scales.TRUST_N_ITEMS, 0),
    *scales.item_columns("trust", scales.TRUST_N_ITEMS, 12),
    *scales.item_columns("pacic", scales.PACIC_N_ITEMS, 0),
    *scales.item_columns("pacic", scales.PACIC_N_ITEMS, 12),
    "recommend_0",
    "recommend_12",
]


def bundled_patients() -> pd.DataFrame:
    """The bundled HCPC patients: keys and questionnaire items (nullable integers)."""
    path = bundled_table("hcpc_patients")
    if path is None:  # pragma: no cover - the cohort ships with the repository
        raise FileNotFoundError("data/synthetic/hcpc_patients.csv is missing")
    raw = pd.read_csv(path)
    out = raw[KEYS].copy()
    for c in ["pcp_visits", *ITEMS]:
        out[c] = raw[c].astype("Int64")
    return out


def _blank(
    df: pd.DataFrame, rng: np.random.Generator, pool: np.ndarray, k: int, items: list[str], n: int
) -> np.ndarray:
    """Blank ``n`` random items of ``items`` for ``k`` random rows of ``pool``; return the rows."""
    rows = rng.choice(pool, size=k, replace=False)
    for r in rows:  # a few dozen fixture rows: clarity over vectorization
        cols = rng.choice(items, size=n, replace=False)
        df.loc[df.index[r], list(cols)] = pd.NA
    return rows


def with_item_missingness(df: pd.DataFrame, seed: int = 1101) -> pd.DataFrame:
    """Skipped items, unreturned questionnaires and missing covariates (every accounting reason)."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    everyone = np.arange(len(out))
    answered_12 = np.flatnonzero(out["trust_q1_12"].notna().to_numpy())
    trust0 = scales.item_columns("trust", scales.TRUST_N_ITEMS, 0)
    trust12 = scales.item_columns("trust", scales.TRUST_N_ITEMS, 12)
    pacic0 = scales.item_columns("pacic", scales.PACIC_N_ITEMS, 0)
    pacic12 = scales.item_columns("pacic", scales.PACIC_N_ITEMS, 12)
    used = _blank(out, rng, everyone, 8, trust0, 3)  # 8 of 11 answered: no score
    rest = np.setdiff1d(everyone, used)
    used = np.union1d(used, _blank(out, rng, rest, 10, trust0, 2))  # 9 answered: prorated
    _blank(out, rng, answered_12, 5, trust12, 4)  # 7 answered at 12 months: no score
    _blank(out, rng, answered_12, 6, trust12, 1)
    _blank(out, rng, everyone, 4, pacic0, 20)  # PACIC not returned at baseline
    _blank(out, rng, everyone, 10, pacic0, 5)
    _blank(out, rng, answered_12, 6, pacic12, 3)
    _blank(out, rng, answered_12, 5, ["recommend_12"], 1)
    _blank(out, rng, everyone, 4, ["pcp_visits"], 1)
    return out


def scored(df: pd.DataFrame) -> pd.DataFrame:
    """Keys plus the six score columns (recommend binaries as 0/1 with <NA>)."""
    out = score_questionnaires(df)
    keep = out[[*KEYS, *SCORES]].copy()
    for c in ("recommend_definitely_0", "recommend_definitely_12"):
        keep[c] = keep[c].astype("Int64")
    return keep


def patients_fixture() -> pd.DataFrame:
    """All 441 patients with added missingness: scores and items."""
    items = with_item_missingness(bundled_patients())
    return pd.concat([scored(items), items[ITEMS]], axis=1)


def unbalanced_fixture(seed: int = 1102) -> pd.DataFrame:
    """All coaching patients, 40 % of usual care, clinicians split into 4 clusters each."""
    rng = np.random.default_rng(seed)
    df = scored(bundled_patients())
    usual = np.flatnonzero((df["arm"] == "usual_care").to_numpy())
    drop = rng.choice(usual, size=round(0.6 * usual.size), replace=False)
    df = df.drop(index=df.index[drop]).reset_index(drop=True)
    panel = rng.integers(1, 5, size=len(df))
    df["clinician_id"] = df["clinician_id"].astype(str) + "-" + pd.Series(panel).astype(str)
    return df


def small_fixture(seed: int = 1103) -> pd.DataFrame:
    """56 patients of 6 clinicians; fewer than 5 coached non-recommenders at 12 months.

    The sample is redrawn until the analysed patients (both answers) have
    every combination of arm, baseline and 12-month answer, so that neither
    the arm nor the baseline answer separates the outcome.
    """
    rng = np.random.default_rng(seed)
    df = scored(bundled_patients())
    pool = df[df["clinician_id"].isin(["C05", "C10", "C11", "C12", "C13", "C17"])]
    for _ in range(1000):
        small = pool.iloc[np.sort(rng.choice(len(pool), size=56, replace=False))]
        both = small.dropna(subset=["recommend_definitely_0", "recommend_definitely_12"])
        cells = both.groupby(["arm", "recommend_definitely_0", "recommend_definitely_12"]).size()
        coached_no = int(cells.loc["coaching"].xs(0, level=1).sum()) if len(cells) == 8 else 0
        if len(cells) == 8 and 0 < coached_no < 5:
            return small.reset_index(drop=True)
    raise RuntimeError("no sample with a cell below 5 and no separation")  # pragma: no cover


def bundled_visits() -> pd.DataFrame:
    path = bundled_table("hcpc_visit_ratings")
    if path is None:  # pragma: no cover
        raise FileNotFoundError("data/synthetic/hcpc_visit_ratings.csv is missing")
    v = pd.read_csv(path)[["clinician_id", "visit_id", "arm", "demanding", "adequate_time"]]
    return v.astype({"demanding": "Int64", "adequate_time": "Int64"})


def visits_fixture(seed: int = 1104) -> pd.DataFrame:
    """The bundled visits with 4 'demanding' and 2 'adequate time' ratings blanked."""
    rng = np.random.default_rng(seed)
    v = bundled_visits()
    rows = rng.choice(len(v), size=6, replace=False)
    v.loc[v.index[rows[:4]], "demanding"] = pd.NA
    v.loc[v.index[rows[4:]], "adequate_time"] = pd.NA
    return v


def visits_few_fixture(seed: int = 1105) -> pd.DataFrame:
    """Visits of 5 clinicians, half of the coaching visits dropped."""
    rng = np.random.default_rng(seed)
    v = bundled_visits()
    v = v[v["clinician_id"].isin(["C01", "C02", "C06", "C09", "C14"])]
    coach = np.flatnonzero((v["arm"] == "coaching").to_numpy())
    drop = rng.choice(coach, size=coach.size // 2, replace=False)
    return v.drop(index=v.index[drop]).reset_index(drop=True)


FIXTURES = {
    "patients": patients_fixture,
    "unbalanced": unbalanced_fixture,
    "small": small_fixture,
    "visits": visits_fixture,
    "visits_few": visits_few_fixture,
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in FIXTURES.items():
        make().to_csv(OUT / f"questionnaires_{name}.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()

"""Generate the CSV fixtures read by ``meta.R`` (stratified 2x2 comparisons, coaching evidence).

Run from the repository root::

    python tests/reference/make_meta_data.py
    Rscript tests/reference/meta.R   # then regenerate meta.json

Fixtures (under ``tests/reference/data/``):

- ``meta_strata.csv``: a patient-level two-arm trial in 5 sites (``arm, site,
  goal``) with site-specific goal rates and a common odds ratio of about 1.8
  (seed 19), some goals missing; for ``mantelhaen.test`` and ``rma.mh``.
- ``meta_coaching_hba1c.csv``: the HbA1c mean differences of the evidence
  registry (``study, yi, sei, coach``), exactly as
  :func:`coachstats.tasks.evidence.effects` derives them from the published
  numbers (SE from a CI or a P value, in code), so that R pools the same inputs.

The metafor data sets (``dat.bcg``, ``dat.hackshaw1998``, ``dat.normand1999``,
``dat.hine1989``, ``dat.nielweise2007``) are read by ``meta.R`` directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def strata() -> pd.DataFrame:
    rng = np.random.default_rng(19)
    rows = []
    for site, (n, base) in enumerate([(60, 0.25), (45, 0.40), (80, 0.30), (30, 0.55), (25, 0.15)]):
        for arm in ("coaching", "usual_care"):
            odds = base / (1 - base) * (1.8 if arm == "coaching" else 1.0)
            p = odds / (1 + odds)
            goal = (rng.random(n) < p).astype(float)
            goal[rng.random(n) < 0.05] = np.nan
            rows.append(pd.DataFrame({"arm": arm, "site": f"site{site + 1}", "goal": goal}))
    return pd.concat(rows, ignore_index=True)


def coaching_hba1c() -> pd.DataFrame:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from coachstats.tasks.evidence import effects

    frame = effects("hba1c")
    return pd.DataFrame(
        {
            "study": frame["trial"],
            "yi": frame["estimate"],
            "sei": frame["std_error"],
            "coach": frame["coach"],
        }
    )


def main() -> None:
    OUT.mkdir(exist_ok=True)
    strata().to_csv(OUT / "meta_strata.csv", index=False, na_rep="NA")
    try:
        coaching = coaching_hba1c()
    except ImportError:  # the evidence registry is not there yet
        return
    coaching.to_csv(OUT / "meta_coaching_hba1c.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()

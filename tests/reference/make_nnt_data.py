"""Write the fixture read by ``nnt.R`` and ``tests/test_compare_nnt.py``.

Run from the repository root::

    PYTHONPATH=src python tests/reference/make_nnt_data.py
    Rscript tests/reference/nnt.R      # rewrites nnt.json

``data/nnt_hcpc.csv``: the bundled synthetic HCPC cohort
(``data/synthetic/hcpc_patients.csv``) reduced to ``patient_id, arm,
composite_any`` (at goal for >= 1 condition at 12 months, HCPC goals; missing
when lost to follow-up) and ``coaching_minutes`` (total coaching minutes of
each coached patient; missing in usual care). The cohort reproduces the
published composite counts (90/194 vs 61/178) and mean coaching time (540.8).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import coachstats as cs

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "data" / "nnt_hcpc.csv"


def main() -> None:
    patients = pd.read_csv(ROOT / "data" / "synthetic" / "hcpc_patients.csv")
    endpoints = cs.derive_endpoints(patients, cs.HCPC_GOALS, followup=12)
    out = endpoints[["patient_id", "arm", "composite_any", "coaching_minutes"]].copy()
    out["composite_any"] = out["composite_any"].astype("Int64")
    out.to_csv(OUT, index=False)


if __name__ == "__main__":
    main()

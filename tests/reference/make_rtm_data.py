"""Generate the CSV fixture read by ``regression_to_mean.R`` (truncated normal fits).

Run from the repository root::

    python tests/reference/make_rtm_data.py
    Rscript tests/reference/regression_to_mean.R   # then regenerate regression_to_mean.json

``data/rtm_selected.csv`` (``set, threshold, value``): baselines above a threshold only,
as a program of patients enrolled for HbA1c >= 8 % holds them -- a large set (normal
8.6, SD 1.7, above 8.0, seed 17) and a small one (n = 60, above 9.0, seed 18). Fixed
seeds, so rerunning rewrites the same file byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def selected() -> pd.DataFrame:
    rows = []
    for name, seed, mean, sd, cut, n in (
        ("large", 17, 8.6, 1.7, 8.0, 4000),
        ("small", 18, 8.4, 1.4, 9.0, 60),
    ):
        rng = np.random.default_rng(seed)
        x = np.empty(0)
        while x.size < n:
            draw = rng.normal(mean, sd, 4 * n)
            x = np.concatenate([x, draw[draw > cut]])
        rows += [{"set": name, "threshold": cut, "value": round(float(v), 4)} for v in x[:n]]
    return pd.DataFrame(rows)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    selected().to_csv(OUT / "rtm_selected.csv", index=False)

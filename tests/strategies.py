"""Hypothesis strategies for random patient tables (shared by the property tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st


@st.composite
def patient_tables(
    draw: st.DrawFn, min_size: int = 1, max_size: int = 40, followup: int = 12
) -> pd.DataFrame:
    """Wide patient tables in canonical units, with random missingness."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    p_miss = draw(st.sampled_from([0.0, 0.1, 0.4]))

    def lab(mean: float, sd: float, lo: float, hi: float, digits: int) -> np.ndarray:
        v = np.clip(rng.normal(mean, sd, n), lo, hi).round(digits)
        return v

    df = pd.DataFrame(
        {
            "patient_id": np.arange(1, n + 1),
            "arm": rng.choice(["coaching", "usual_care"], n),
            "diabetes": rng.random(n) < 0.6,
        }
    )
    for m, (mean, sd, lo, hi, d) in {
        "hba1c": (8.5, 1.5, 4.0, 16.0, 1),
        "sbp": (140.0, 18.0, 90.0, 220.0, 0),
        "ldl": (130.0, 40.0, 30.0, 300.0, 0),
    }.items():
        base = lab(mean, sd, lo, hi, d)
        fu = lab(mean - 0.5 * sd, sd, lo, hi, d)
        fu[rng.random(n) < p_miss] = np.nan
        df[f"{m}_0"] = base
        df[f"{m}_{followup}"] = fu
    return df

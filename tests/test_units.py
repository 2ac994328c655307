"""Unit conversion: published coefficients, round trips (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from coachstats import HCPC_GOALS, load_trial
from coachstats.units import (
    hba1c_to_mmol,
    hba1c_to_percent,
    ldl_to_mgdl,
    ldl_to_mmol,
    looks_like,
    normalize_unit,
)


def test_hba1c_reference_points() -> None:
    # NGSP/IFCC master equation: 48 mmol/mol ~ 6.5 %, 53 ~ 7.0 %, 64 ~ 8.0 % (IFCC/NGSP tables).
    pct = hba1c_to_percent([48.0, 53.0, 64.0])
    np.testing.assert_allclose(
        pct, [0.09148 * 48 + 2.152, 0.09148 * 53 + 2.152, 0.09148 * 64 + 2.152]
    )
    np.testing.assert_allclose(np.round(pct, 1), [6.5, 7.0, 8.0])


def test_ldl_reference_points() -> None:
    # 100 mg/dL = 2.586 mmol/L; 160 mg/dL = 4.138 mmol/L (factor 38.67).
    np.testing.assert_allclose(ldl_to_mmol([100.0, 160.0]), [100 / 38.67, 160 / 38.67])
    np.testing.assert_allclose(ldl_to_mgdl(2.586), 2.586 * 38.67)


@given(st.floats(min_value=3.0, max_value=20.0))
def test_hba1c_round_trip(x: float) -> None:
    assert abs(float(hba1c_to_percent(hba1c_to_mmol(x))) - x) < 1e-12


@given(st.floats(min_value=10.0, max_value=500.0))
def test_ldl_round_trip(x: float) -> None:
    assert abs(float(ldl_to_mgdl(ldl_to_mmol(x))) - x) < 1e-10 * x


def test_unit_guess() -> None:
    assert looks_like("hba1c", [9.1, 10.2, 8.3])[0] is None
    assert looks_like("hba1c", [75, 86, 64])[0] == "mmol/mol"
    assert looks_like("ldl", [3.2, 4.1, 2.5])[0] == "mmol/L"
    guess, mask = looks_like("ldl", [130.0, 4.0, 3.5, 150.0, 160.0])
    assert guess is None and mask.tolist() == [False, True, True, False, False]


def test_normalize_unit_aliases() -> None:
    assert normalize_unit(" mg/dl ") == "mg/dL"
    assert normalize_unit("IFCC") == "mmol/mol"


def test_converted_hba1c_meets_goals_as_its_equivalent_in_percent() -> None:
    # 64 mmol/mol is 8.0 % and 58 mmol/mol is 7.5 % in the IFCC-NGSP tables; the goal
    # flags must not depend on the unit the program recorded (a reviewer's case)
    raw = pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4],
            "arm": ["coaching", "coaching", "usual_care", "usual_care"],
            "diabetes": [True] * 4,
            "hba1c_0": [75.0, 80.0, 75.0, 80.0],
            "hba1c_12": [64.0, 58.0, 65.0, 53.0],
        }
    )
    pct = raw.assign(hba1c_0=[9.0, 9.5, 9.0, 9.5], hba1c_12=[8.0, 7.5, 8.1, 7.0])
    a = load_trial(raw, units={"hba1c": "mmol/mol"}).endpoints(HCPC_GOALS)
    b = load_trial(pct).endpoints(HCPC_GOALS)
    for col in ("at_goal_hba1c", "hba1c_lt_7_5", "change_hba1c"):
        pd.testing.assert_series_equal(a[col], b[col])
    assert a["at_goal_hba1c"].tolist() == [True, True, False, True]

"""Unit conversion and unit detection for the lab measures.

* HbA1c: NGSP/DCCT % and IFCC mmol/mol, related by the master equation
  ``NGSP = 0.09148 * IFCC + 2.152`` (Hoelzel et al., Clin Chem 2004;50:166-174;
  the NGSP converter uses these coefficients).
* LDL cholesterol: mg/dL and mmol/L, ``mg/dL = mmol/L * 38.67``
  (1 mmol/L of cholesterol = 386.65 mg/L; molar mass 386.65 g/mol).
* SBP and DBP (systolic and diastolic blood pressure): mm Hg only.

Examples
--------
>>> round(float(hba1c_to_percent(64.0)), 3)
8.007
>>> float(ldl_to_mgdl(3.0))
116.01
>>> round(float(hba1c_to_mmol(hba1c_to_percent(53.0))), 10)
53.0
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from coachstats.core.vocabulary import GOAL_MEASURES, MEASURE_UNITS

__all__ = [
    "CANONICAL_UNITS",
    "REPORTED_DECIMALS",
    "UNIT_CHOICES",
    "convert_from_canonical",
    "convert_to_canonical",
    "hba1c_to_mmol",
    "hba1c_to_percent",
    "ldl_to_mgdl",
    "ldl_to_mmol",
    "looks_like",
    "to_reported_precision",
]

HBA1C_SLOPE = 0.09148
HBA1C_INTERCEPT = 2.152
LDL_FACTOR = 38.67


#: Decimals a lab reports a converted measure with, in its canonical unit. HbA1c in
#: NGSP % is reported to 0.1 %, and the IFCC-NGSP equivalence tables pair whole
#: mmol/mol with 0.1 % steps (53 -> 7.0 %, 58 -> 7.5 %, 64 -> 8.0 %); unrounded, the
#: master equation puts 64 mmol/mol at 8.0067 %, above an "HbA1c <= 8.0 %" goal, and
#: 58 mmol/mol at 7.458 %, below "< 7.5 %". LDL is not rounded: mmol/L values with two
#: decimals carry more precision than whole mg/dL, and rounding would move 2.58 mmol/L
#: (99.8 mg/dL, under a 100 mg/dL goal) to 100.
REPORTED_DECIMALS: dict[str, int] = {"hba1c": 1}
_ALIASES = {
    "percent": "%",
    "pct": "%",
    "ngsp": "%",
    "dcct": "%",
    "mmol/mol": "mmol/mol",
    "ifcc": "mmol/mol",
    "mg/dl": "mg/dL",
    "mgdl": "mg/dL",
    "mmol/l": "mmol/L",
    "mmoll": "mmol/L",
    "mmhg": "mmHg",
    "mm hg": "mmHg",
}

FloatArray = npt.NDArray[np.float64]


def normalize_unit(unit: str) -> str:
    """Canonical spelling of a unit name (case and common aliases).

    Examples
    --------
    >>> normalize_unit("MMOL/L"), normalize_unit("IFCC"), normalize_unit("%")
    ('mmol/L', 'mmol/mol', '%')
    """
    key = str(unit).strip().lower()
    return _ALIASES.get(key, str(unit).strip())


#: The unit of each goal measure that coachstats works in (the vocabulary's, spelled as
#: ``units=`` accepts it): ``{"hba1c": "%", "sbp": "mmHg", "dbp": "mmHg", "ldl": "mg/dL"}``.
CANONICAL_UNITS: dict[str, str] = {m: normalize_unit(MEASURE_UNITS[m]) for m in GOAL_MEASURES}


def hba1c_to_percent(mmol_mol: npt.ArrayLike) -> FloatArray:
    """IFCC mmol/mol -> NGSP %: ``0.09148 * x + 2.152``."""
    return HBA1C_SLOPE * np.asarray(mmol_mol, dtype=float) + HBA1C_INTERCEPT


def hba1c_to_mmol(percent: npt.ArrayLike) -> FloatArray:
    """NGSP % -> IFCC mmol/mol: ``(x - 2.152) / 0.09148``."""
    return (np.asarray(percent, dtype=float) - HBA1C_INTERCEPT) / HBA1C_SLOPE


def ldl_to_mgdl(mmol_l: npt.ArrayLike) -> FloatArray:
    """mmol/L -> mg/dL: ``x * 38.67``."""
    return np.asarray(mmol_l, dtype=float) * LDL_FACTOR


def ldl_to_mmol(mg_dl: npt.ArrayLike) -> FloatArray:
    """mg/dL -> mmol/L: ``x / 38.67``."""
    return np.asarray(mg_dl, dtype=float) / LDL_FACTOR


def to_reported_precision(measure: str, values: npt.ArrayLike) -> FloatArray:
    """Round converted values to :data:`REPORTED_DECIMALS` (unchanged for other measures).

    Examples
    --------
    >>> to_reported_precision("hba1c", hba1c_to_percent([53.0, 58.0, 64.0])).tolist()
    [7.0, 7.5, 8.0]
    """
    v = np.asarray(values, dtype=float)
    decimals = REPORTED_DECIMALS.get(measure)
    return v if decimals is None else np.round(v, decimals)


#: (measure, other unit) -> (to the canonical unit, back from it)
_CONVERSIONS = {
    ("hba1c", "mmol/mol"): (hba1c_to_percent, hba1c_to_mmol),
    ("ldl", "mmol/L"): (ldl_to_mgdl, ldl_to_mmol),
}
#: The units ``units=`` accepts per measure: the canonical one first, then those converted.
UNIT_CHOICES: dict[str, tuple[str, ...]] = {
    m: (unit, *(u for (measure, u) in _CONVERSIONS if measure == m))
    for m, unit in CANONICAL_UNITS.items()
}


def _convert(measure: str, values: npt.ArrayLike, unit: str, direction: int) -> FloatArray:
    unit = normalize_unit(unit)
    v = np.asarray(values, dtype=float)
    if unit == CANONICAL_UNITS[measure]:
        return v
    pair = _CONVERSIONS.get((measure, unit))
    if pair is None:  # guarded by callers
        raise ValueError(f"no conversion for {measure} between {unit!r} and the canonical unit")
    return pair[direction](v)


def convert_to_canonical(measure: str, values: npt.ArrayLike, unit: str) -> FloatArray:
    """Convert ``values`` of ``measure`` given in ``unit`` to the canonical unit."""
    return _convert(measure, values, unit, 0)


def convert_from_canonical(measure: str, values: npt.ArrayLike, unit: str) -> FloatArray:
    """Convert canonical-unit ``values`` of ``measure`` to ``unit``.

    Examples
    --------
    >>> round(float(convert_from_canonical("hba1c", 8.0, "mmol/mol")), 1)
    63.9
    """
    return _convert(measure, values, unit, 1)


#: Plausible ranges of each measure in each unit, used to guess the unit.
PLAUSIBLE = {
    ("hba1c", "%"): (3.0, 20.0),
    ("hba1c", "mmol/mol"): (20.0, 200.0),
    ("ldl", "mg/dL"): (10.0, 500.0),
    ("ldl", "mmol/L"): (0.25, 13.0),
}


def looks_like(
    measure: Literal["hba1c", "ldl"], values: npt.ArrayLike
) -> tuple[str | None, npt.NDArray[np.bool_]]:
    """Guess which unit the non-missing ``values`` are in.

    Returns the non-canonical unit when most values are plausible only in it
    (else ``None``), and a boolean mask of the values that look like the
    non-canonical unit (to report mixed columns).

    Examples
    --------
    >>> looks_like("hba1c", [64, 75, 58])[0]
    'mmol/mol'
    >>> looks_like("ldl", [120.0, 3.1, 150.0])
    (None, array([False,  True, False]))
    """
    v = np.asarray(values, dtype=float)
    canon = CANONICAL_UNITS[measure]
    other = next(u for u in UNIT_CHOICES[measure] if u != canon)
    lo_c, hi_c = PLAUSIBLE[(measure, canon)]
    lo_o, hi_o = PLAUSIBLE[(measure, other)]
    ok = ~np.isnan(v)
    in_canon = (v >= lo_c) & (v <= hi_c)
    in_other = (v >= lo_o) & (v <= hi_o) & ~in_canon
    n = int(ok.sum())
    if n == 0:
        return None, in_other
    guess = other if in_other.sum() > 0.5 * n else None
    return guess, in_other

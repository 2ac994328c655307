"""How the report prints an estimate: on the scale it is read, with its interval.

Risk differences and proportions in percent with one decimal, everything else (ratios,
means, mean differences) with two; a missing value prints as ``""`` (an empty cell).
The digits themselves come from :func:`coachstats.core.formatting.format_number`.

Examples
--------
>>> interval_text(0.121, 0.022, 0.22, "risk difference")
'12.1 (2.2 to 22.0)'
>>> estimate_text({"estimand": "odds ratio", "estimate": 1.6, "conf_low": 1.1, "conf_high": 2.4})
'odds ratio 1.60 (1.10 to 2.40)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from coachstats.core.formatting import format_number, is_number, is_percent_estimand

__all__ = ["estimate_text", "interval_text", "value_text"]


def value_text(x: Any, estimand: str) -> str:
    """A number as the report prints it: risk differences and proportions in percent (1 decimal),
    everything else (ratios, means, mean differences) with 2 decimals; missing as ``""``.

    Examples
    --------
    >>> value_text(-0.0004, "risk difference"), value_text(1.5, "odds ratio"), value_text(None, "mean")
    ('0.0', '1.50', '')
    """
    if not is_number(x):
        return ""
    if is_percent_estimand(estimand):
        return format_number(100 * float(x), 1)
    return format_number(x, 2)


def interval_text(estimate: Any, low: Any, high: Any, estimand: str) -> str:
    """``"12.1 (2.2 to 22.0)"`` (see :func:`value_text`); the interval only when it is finite."""
    text = value_text(estimate, estimand)
    if text and is_number(low) and is_number(high):
        text += f" ({value_text(low, estimand)} to {value_text(high, estimand)})"
    return text


def estimate_text(row: Mapping[Any, Any]) -> str:
    """``"<estimand> <estimate> (<low> to <high>)"`` of a row with those keys, the unit said
    for differences of shares (``"risk difference, % points 12.1 (2.2 to 22.0)"``) and shares
    (``"proportion, % 46.4 (...)"``); ``""`` without an estimate.

    Examples
    --------
    >>> estimate_text({"estimand": "risk difference", "estimate": 0.121, "conf_low": 0.022,
    ...                "conf_high": 0.22})
    'risk difference, % points 12.1 (2.2 to 22.0)'
    """
    estimand = str(row.get("estimand"))
    text = interval_text(
        row.get("estimate", math.nan), row.get("conf_low"), row.get("conf_high"), estimand
    )
    unit = ""
    if is_percent_estimand(estimand):
        unit = ", % points" if "difference" in estimand else ", %"
    return f"{estimand}{unit} {text}" if text else ""

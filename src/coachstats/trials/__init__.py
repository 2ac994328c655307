"""The published trials as data: citations, designs, goal sets, targets and analysis plans.

See :mod:`coachstats.trials.registry`. Each trial is a TOML file in
``coachstats/trials/data/``; :func:`get_trial` and :func:`list_trials` read them.

Examples
--------
>>> from coachstats.trials import get_trial, list_trials
>>> "peer" in list_trials()
True
>>> get_trial("hcpc").design.arms["coaching"]
224
"""

from __future__ import annotations

from coachstats.trials.registry import (
    AnalysisSpec,
    Citation,
    Design,
    PrintedP,
    PrintedValue,
    Sensitivity,
    Target,
    Trial,
    Variant,
    get_trial,
    iter_targets,
    list_trials,
    load_trial_file,
)

__all__ = [
    "AnalysisSpec",
    "Citation",
    "Design",
    "PrintedP",
    "PrintedValue",
    "Sensitivity",
    "Target",
    "Trial",
    "Variant",
    "get_trial",
    "iter_targets",
    "list_trials",
    "load_trial_file",
]

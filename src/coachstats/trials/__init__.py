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

# The registry module defines the public names (and their list, __all__); this package
# only re-exports them, so that the list is kept in one place.
from coachstats.trials.registry import *  # noqa: F403
from coachstats.trials.registry import __all__ as __all__

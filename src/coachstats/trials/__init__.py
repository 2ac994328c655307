"""The published trials as data: citations, designs, goal sets, targets and analysis plans.

See :mod:`coachstats.trials.registry`. Each trial is a TOML file in
``coachstats/trials/data/``; :func:`get_trial` and :func:`list_trials` read them.
The printed values are parsed by :mod:`coachstats.trials.printed`, given as
numbers with their origin by :mod:`coachstats.trials.values`, and a two-arm
comparison is a :class:`~coachstats.trials.effects.PublishedEffect`.

Examples
--------
>>> from coachstats.trials import get_trial, list_trials
>>> "peer" in list_trials()
True
>>> get_trial("hcpc").design.arms["coaching"]
224
>>> from coachstats.trials import Proportion, published_effect
>>> isinstance(published_effect("peer_hba1c_drop").arms[0], Proportion)
True
"""

from __future__ import annotations

# The modules define the public names (and their lists, __all__); this package only
# re-exports them, so that each list is kept in one place.
from coachstats.trials import effects, printed, registry, values
from coachstats.trials.effects import *  # noqa: F403
from coachstats.trials.printed import *  # noqa: F403
from coachstats.trials.registry import *  # noqa: F403
from coachstats.trials.values import *  # noqa: F403

__all__ = sorted({*registry.__all__, *printed.__all__, *values.__all__, *effects.__all__})

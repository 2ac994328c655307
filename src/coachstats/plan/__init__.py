"""Analysis plans as data and the one executor that runs them (see :mod:`coachstats.plan.analysis`)."""

from coachstats.plan.analysis import *  # noqa: F403
from coachstats.plan.analysis import __all__ as __all__

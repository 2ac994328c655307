"""Seeded synthetic cohorts calibrated to the published trials.

* :func:`hcpc_cohort` -- the HCPC trial (Willard-Grace et al. 2015 and its
  secondary papers), see :mod:`coachstats.synthetic.hcpc`;
* :func:`peer_cohort` -- the peer-coaching trial (Thom et al. 2013), see
  :mod:`coachstats.synthetic.peer`.

Both produce raw patient-level data only (lab values, item responses,
medication lists); the analysis recovers the published figures on its own.
``python -m coachstats.synthetic [DIR]`` rewrites the bundled cohorts in
``data/synthetic/``.

Examples
--------
>>> from coachstats.synthetic import hcpc_cohort
>>> hcpc_cohort().patients.shape[0]
441
"""

from __future__ import annotations

import importlib
import importlib.util

from coachstats.synthetic.hcpc import DEFAULT_SEED as HCPC_SEED
from coachstats.synthetic.hcpc import HcpcCohort, hcpc_cohort

__all__ = ["HCPC_SEED", "HcpcCohort", "hcpc_cohort"]

# peer.py is written by the peer-trial generator; re-export it once it exists (a file
# that exists but fails to import raises, it is not hidden).
if importlib.util.find_spec("coachstats.synthetic.peer") is not None:
    peer_cohort = importlib.import_module("coachstats.synthetic.peer").peer_cohort
    __all__ += ["peer_cohort"]

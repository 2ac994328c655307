r"""Sample size and power for a new coaching program or trial, from the published effects.

Two designs, each solved for the sample size (give ``power``) or for the power
(give ``n``):

- :func:`power_two_proportions` -- a binary endpoint (at goal, HbA1c drop
  :math:`\ge 1`), by the normal approximation of R's ``power.prop.test``
  (``method="pooled"``) or by Cohen's arcsine effect size :math:`h`, as
  ``pwr::pwr.2p.test`` / ``pwr.2p2n.test`` and ``statsmodels``'
  ``NormalIndPower`` (``method="arcsine"``);
- :func:`power_two_means` -- a continuous endpoint (HbA1c change), by the
  noncentral t distribution, as R's ``power.t.test`` and ``pwr::pwr.t2n.test``.

Group 1 is the program (coaching) arm, group 2 the comparison arm; ``n`` is the
size of group 1 and group 2 has ``ratio * n`` patients. Programs delivered by
coaches or clinics are clustered: the sample an individually randomized trial
needs is multiplied by the design effect (:func:`design_effect`) and divided by
the share expected to complete follow-up,

.. math::

    n_{\text{analysed}} = \lceil n \rceil \cdot \mathrm{DE}, \qquad
    \mathrm{DE} = 1 + \big((1 + \mathrm{CV}^2)\,m - 1\big)\,\rho, \qquad
    n_{\text{enrolled}} = \frac{n_{\text{analysed}}}{1 - \text{attrition}},

each stage rounded up (:attr:`PowerResult.n_required`, ``n1_analysed``,
``n1_enrolled``). When ``n`` is given it is the number *enrolled* in group 1,
and the power is that of the effective sample
:math:`n (1 - \text{attrition}) / \mathrm{DE}`.

:func:`published_effect` gives the planning inputs taken from the HCPC and
peer-coaching papers, read from the trial registry (:mod:`coachstats.trials`:
each number is written once, in the trial's TOML file), :func:`power_curve` tabulates
power against enrolment, and :func:`plot_power_curve` draws it.

References
----------
Chow S-C, Shao J, Wang H. Sample Size Calculations in Clinical Research. 2nd ed.
Chapman & Hall/CRC; 2008 (ch. 3-4).
Cohen J. Statistical Power Analysis for the Behavioral Sciences. 2nd ed. Erlbaum; 1988.
Fleiss JL, Levin B, Paik MC. Statistical Methods for Rates and Proportions. 3rd ed.
Wiley; 2003 (ch. 4).
Donner A, Klar N. Design and Analysis of Cluster Randomization Trials in Health
Research. Arnold; 2000.
Eldridge SM, Ashby D, Kerry S. Sample size for cluster randomized trials: effect of
coefficient of variation of cluster size and analysis method. Int J Epidemiol.
2006;35:1292-1300.
Moerbeek M, Wong WK. Sample size formulae for trials comparing group and individual
treatments in a multilevel model. Stat Med. 2008;27:2850-2864 (partially nested designs:
``clustered="group 1"``).

Examples
--------
How many patients per arm would a new trial need to detect the HCPC composite
effect (46.4 % vs 34.3 % at goal) with 80 % power, if coaches each see 10
analysed patients (ICC .05) and 20 % are lost to follow-up?

>>> r = power_two_proportions(0.464, 0.343, power=0.8, icc=0.05, cluster_size=10,
...                           attrition=0.2)
>>> round(r.n1, 2), r.n_required, r.design_effect
(256.88, (257, 257), 1.45)
>>> r.n1_analysed, r.n1_enrolled, r.n_enrolled, r.clusters1
(373, 467, 934, 38)

And the power of a 150 + 150 program for the peer-coaching HbA1c effect:

>>> peer = published_effect("peer_hba1c_change")
>>> round(peer.plan(n=150).power, 3)
0.616
"""

from coachstats.compare.clustering import design_effect
from coachstats.tasks.power.curves import plot_power_curve, power_curve
from coachstats.tasks.power.published import (
    PUBLISHED_EFFECTS,
    PlanningEffect,
    PublishedEffect,
    published_effect,
    published_effects,
)
from coachstats.tasks.power.result import PowerResult
from coachstats.tasks.power.settings import ALTERNATIVES as ALTERNATIVES
from coachstats.tasks.power.settings import CLUSTERED as CLUSTERED
from coachstats.tasks.power.settings import METHOD_TEXT as METHOD_TEXT
from coachstats.tasks.power.settings import PROPORTION_METHODS as PROPORTION_METHODS
from coachstats.tasks.power.settings import STRICT_DEFAULT as STRICT_DEFAULT
from coachstats.tasks.power.settings import Alternative as Alternative
from coachstats.tasks.power.settings import Clustered as Clustered
from coachstats.tasks.power.settings import PowerWarning
from coachstats.tasks.power.settings import ProportionMethod as ProportionMethod
from coachstats.tasks.power.solvers import pooled_sd, power_two_means, power_two_proportions

__all__ = [
    "PUBLISHED_EFFECTS",
    "PlanningEffect",
    "PowerResult",
    "PowerWarning",
    "PublishedEffect",
    "design_effect",
    "plot_power_curve",
    "pooled_sd",
    "power_curve",
    "power_two_means",
    "power_two_proportions",
    "published_effect",
    "published_effects",
]
# Also public as before the split, though not in __all__ (the "X as X" imports above):
# ALTERNATIVES, METHOD_TEXT, PROPORTION_METHODS, STRICT_DEFAULT, Alternative, ProportionMethod,
# and CLUSTERED, Clustered (partially nested designs).

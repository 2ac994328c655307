"""Power of a partially nested design (coaches in the coaching arm only).

- The closed form: with the design effect on group 1 alone, the variance of the
  difference is DE sigma1^2 / n1 + sigma2^2 / n2 (Moerbeek & Wong, Stat Med
  2008;27:2850-64), so the normal-approximation sample size is
  n1 = (z_a s0 + z_b s1)^2 / Delta^2 with s1^2 = p1 q1 DE + p2 q2 / r and
  s0^2 = pbar qbar (DE + 1/r) (pbar weighted by the effective sizes),
  checked to 1e-10.
- Against R: the power of the lmerTest t test of the arm effect in
  lmer(y ~ arm + (0 + coached | coach)), simulated in R from that model
  (tests/reference/partially_nested.R, 2000 replicates each); the computed
  power must lie within 4 Monte Carlo SE of the simulated one (SE about 0.008;
  the planning formula's noncentral t on the effective sizes, with more df
  than the Satterthwaite df of the fit, is a little optimistic with 20-30
  coaches, which the 4 SE allow for and the test reports).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from coachstats.core.errors import OptionError
from coachstats.tasks.power import power_curve, power_two_means, power_two_proportions

REF = json.loads((Path(__file__).parent / "reference" / "partially_nested.json").read_text())


@pytest.mark.parametrize(
    ("p1", "p2", "icc", "m", "r"),
    [(0.464, 0.343, 0.05, 10, 1.0), (0.5, 0.3, 0.1, 20, 2.0), (0.2, 0.35, 0.02, 5, 0.5)],
)
def test_sample_size_matches_the_closed_form(
    p1: float, p2: float, icc: float, m: float, r: float
) -> None:
    res = power_two_proportions(
        p1, p2, power=0.8, icc=icc, cluster_size=m, ratio=r, clustered="group 1"
    )
    de = 1 + (m - 1) * icc
    pbar = (p1 + r * de * p2) / (1 + r * de)
    s0 = math.sqrt(pbar * (1 - pbar) * (de + 1 / r))
    s1 = math.sqrt(p1 * (1 - p1) * de + p2 * (1 - p2) / r)
    n1 = ((norm.isf(0.025) * s0 + norm.ppf(0.8) * s1) / abs(p1 - p2)) ** 2
    assert res.n1 * de == pytest.approx(n1, rel=1e-10)  # analysed in group 1, unrounded
    assert res.n2 == pytest.approx(r * n1, rel=1e-10)  # group 2 unclustered
    assert res.ratio == pytest.approx(r, rel=1e-12)
    assert res.clusters1 == math.ceil(res.n1_analysed / m) and math.isnan(res.clusters2)
    assert "design effect on group 1 only" in res.summary()


@pytest.mark.parametrize("case", range(len(REF["power"])))
def test_power_agrees_with_an_lme4_simulation(case: int) -> None:
    sim = REF["power"][case]
    tau2, sigma2 = sim["tau"] ** 2, sim["sigma"] ** 2
    n1 = sim["coaches"] * sim["cluster_size"]
    res = power_two_means(
        sim["delta"],
        math.sqrt(tau2 + sigma2),
        n=n1,
        ratio=sim["n2"] / n1,
        icc=tau2 / (tau2 + sigma2),
        cluster_size=sim["cluster_size"],
        clustered="group 1",
        sd2=sim["sigma"],  # the lme4 model: usual care has the residual variance only
    )
    mc_se = math.sqrt(sim["power"] * (1 - sim["power"]) / sim["reps"])
    assert abs(res.power - sim["power"]) <= 4 * mc_se, (res.power, sim["power"], mc_se)


@settings(max_examples=40, deadline=None)
@given(icc=st.floats(0.01, 0.3), m=st.integers(2, 40), r=st.floats(0.5, 2.0))
def test_partial_nesting_sits_between_no_and_full_clustering(icc: float, m: int, r: float) -> None:
    kw = {"power": 0.8, "ratio": r}
    none = power_two_means(0.4, 1.0, **kw)
    full = power_two_means(0.4, 1.0, icc=icc, cluster_size=m, **kw)
    part = power_two_means(0.4, 1.0, icc=icc, cluster_size=m, clustered="group 1", **kw)
    assert none.n1_analysed <= part.n1_analysed <= full.n1_analysed
    # the power of the planned enrolment, read back, is the target
    back = power_two_means(
        0.4, 1.0, n=part.n1_enrolled, icc=icc, cluster_size=m, ratio=r, clustered="group 1"
    )
    assert back.power >= 0.8 - 1e-9
    curve = power_curve(back, [part.n1_enrolled])
    assert curve["power"].iloc[0] == pytest.approx(back.power, rel=1e-12)


def test_no_clustering_is_the_unclustered_design_and_errors_are_clear() -> None:
    flat = power_two_means(0.4, 1.0, power=0.8)
    part = power_two_means(0.4, 1.0, power=0.8, icc=0.0, cluster_size=10, clustered="group 1")
    assert part.n1 == pytest.approx(flat.n1, rel=1e-12)
    with pytest.raises(OptionError, match="needs cluster_size and icc"):
        power_two_means(0.4, 1.0, power=0.8, clustered="group 1")
    with pytest.raises(OptionError, match=r"sd2 .* is for a partially nested design"):
        power_two_means(0.4, 1.0, power=0.8, sd2=1.2)
    with pytest.raises(OptionError, match="clustered='group 2' is not allowed"):
        power_two_proportions(0.4, 0.3, power=0.8, icc=0.05, cluster_size=10, clustered="group 2")  # type: ignore[arg-type]

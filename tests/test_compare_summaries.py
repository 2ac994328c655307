"""Statistics from published summaries (coachstats.compare.summaries).

References: the pooled SD against R (tests/reference/power.json, via
test_power.py) and by hand; the combined SD against the SD of the pooled raw
data (numpy, ddof = 1), which it must equal up to floating point (1e-10
relative: sums of squares of up to 400 values); the SEs from a CI or a P by
the closed forms with the normal quantiles written out (R qnorm), to 1e-14
relative; the SE of a difference of means by hand and against the standard
error behind scipy's Welch t test on raw data (1e-10 relative).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from coachstats.compare.summaries import (
    combined_mean_sd,
    pooled_sd,
    se_from_ci,
    se_from_p,
    se_mean_difference,
)
from coachstats.errors import AnalysisError, OptionError

Z975 = 1.959963984540054  # qnorm(0.975)
Z995 = 2.5758293035489004  # qnorm(0.995)


def test_pooled_sd_by_hand() -> None:
    # sqrt((121 x 7.84 + 113 x 9.61) / 234) = sqrt(2034.57 / 234)
    assert pooled_sd(2.8, 122, 3.1, 114) == pytest.approx(math.sqrt(2034.57 / 234), rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(2, 200), min_size=1, max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_combined_sd_is_the_sd_of_the_pooled_data(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = [rng.normal(rng.normal(0, 3), rng.uniform(0.5, 4), k) for k in sizes]
    mean, sd = combined_mean_sd(
        [float(g.mean()) for g in groups], [float(g.std(ddof=1)) for g in groups], sizes
    )
    everyone = np.concatenate(groups)
    assert mean == pytest.approx(float(everyone.mean()), rel=1e-10, abs=1e-12)
    assert sd == pytest.approx(float(everyone.std(ddof=1)), rel=1e-10)


def test_se_from_ci_and_p() -> None:
    assert se_from_ci(-1.4, -0.14) == pytest.approx(1.26 / (2 * Z975), rel=1e-14)
    assert se_from_ci(1.2, 3.0, log_scale=True) == pytest.approx(
        math.log(2.5) / (2 * Z975), rel=1e-14
    )
    assert se_from_ci(0.1, 0.3, 0.99) == pytest.approx(0.2 / (2 * Z995), rel=1e-14)
    assert se_from_p(-0.77, 0.01) == pytest.approx(0.77 / Z995, rel=1e-14)
    assert se_from_p(0.3, 1.0) == math.inf
    # a Wald CI and its P give back the same SE
    se = 0.21
    lo, hi = 0.5 - Z975 * se, 0.5 + Z975 * se
    p = math.erfc(0.5 / se / math.sqrt(2))
    assert se_from_ci(lo, hi) == pytest.approx(se, rel=1e-12)
    assert se_from_p(0.5, p) == pytest.approx(se, rel=1e-10)


def test_se_of_a_difference_of_means() -> None:
    # sqrt(7.84 / 122 + 9.61 / 114), the peer trial's HbA1c changes
    assert se_mean_difference(2.8, 122, 3.1, 114) == pytest.approx(
        math.sqrt(7.84 / 122 + 9.61 / 114), rel=1e-14
    )
    rng = np.random.default_rng(16)
    a, b = rng.normal(-1.0, 2.5, 40), rng.normal(-0.3, 3.2, 55)
    welch = stats.ttest_ind(a, b, equal_var=False)
    se = (a.mean() - b.mean()) / welch.statistic
    ours = se_mean_difference(float(a.std(ddof=1)), 40, float(b.std(ddof=1)), 55)
    assert ours == pytest.approx(float(se), rel=1e-10)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: se_from_ci(0.3, 0.1), OptionError, "conf_low < conf_high"),
        (lambda: se_from_ci(-0.1, 2.0, log_scale=True), OptionError, "positive"),
        (lambda: se_from_ci(0.1, 0.3, 1.5), OptionError, "conf_level"),
        (lambda: se_from_p(0.0, 0.04), AnalysisError, "estimate of 0"),
        (lambda: se_from_p(0.2, 0.0), AnalysisError, r"\(0, 1\]"),
        (lambda: pooled_sd(0.0, 10, 1.0, 10), OptionError, "sd1 must be > 0"),
        (lambda: se_mean_difference(-1.0, 10, 1.0, 10), OptionError, "SDs must be >= 0"),
        (lambda: se_mean_difference(1.0, 0, 1.0, 10), OptionError, "n1 and n2 must be >= 1"),
        (lambda: combined_mean_sd([1.0], [1.0, 2.0], [3]), OptionError, "one mean, SD and size"),
    ],
)
def test_errors(call: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]
